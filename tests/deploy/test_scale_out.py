"""Scale-out: three servers behind a real nginx, from the template compose uses, with sessions pinned by id.

Thirty sessions from concurrent clients train through the proxy. Each session's
calls (its Run stream, and the chunked Upload and Download of a tensor over 1 MiB)
land on one replica: every replica's metrics count exactly the sessions and the
work of the sessions its logs say it opened, and no call was refused. Every
gradient equals PyTorch's. Then the replica holding the most sessions is killed
(SIGKILL): its sessions are told they are lost (``gw.SessionLostError``), whether
their next call is on their broken stream or a chunked upload that the proxy sends
to a survivor; the others carry on untouched, and new sessions land on the two survivors.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import gradwire as gw

from .proxy import Nginx, ServerProcess, nginx_available

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(
    not nginx_available(),
    reason="nginx is not installed at /usr/sbin/nginx (.ci/run installs Debian's: apt-get install nginx)",
)

REPLICAS = 3
SESSIONS = 30
LATE_SESSIONS = 6
STEPS = 2  # before the kill; one more after it
ROWS, FEATURES, OUTPUTS = 4096, 80, 3  # X: 1.25 MiB of float32, above the 1 MiB inline limit: the chunked streams
X_BYTES = ROWS * FEATURES * 4
LR = 0.5
TIMEOUT_S = 120  # bound on each phase's threads


class Trainer:
    """One client: a session through the proxy training a tanh regression, and the same training in PyTorch."""

    def __init__(self, address: str, index: int):
        rng = np.random.default_rng(1000 + index)
        self.x = rng.standard_normal((ROWS, FEATURES)).astype(np.float32)
        self.y = rng.uniform(-0.5, 0.5, (ROWS, OUTPUTS)).astype(np.float32)
        w = (rng.standard_normal((FEATURES, OUTPUTS)) * 0.1).astype(np.float32)
        self.session = gw.connect(address, timeout=30)
        s = self.session
        self.X = s.tensor(self.x)  # on the Upload stream
        self.Y = s.tensor(self.y)
        self.W = s.tensor(w, requires_grad=True)
        self.b = s.zeros(OUTPUTS, requires_grad=True)
        self.tw = torch.tensor(w, requires_grad=True)
        self.tb = torch.zeros(OUTPUTS, requires_grad=True)
        np.testing.assert_array_equal(self.X.numpy(), self.x)  # on the Download stream

    def step(self):
        """One SGD step here and in PyTorch; the gradients must agree."""
        loss = ((self.X @ self.W + self.b).tanh() - self.Y).pow(2).mean()
        loss.backward()
        gw_, gb = self.W.grad.numpy(), self.b.grad.numpy()
        tloss = ((torch.from_numpy(self.x) @ self.tw + self.tb).tanh() - torch.from_numpy(self.y)).pow(2).mean()
        tloss.backward()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
        np.testing.assert_allclose(gw_, self.tw.grad.numpy(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(gb, self.tb.grad.numpy(), rtol=1e-4, atol=1e-6)
        with gw.no_grad():
            self.W -= LR * self.W.grad
            self.b -= LR * self.b.grad
        self.W.grad = None
        self.b.grad = None
        with torch.no_grad():
            self.tw -= LR * self.tw.grad
            self.tb -= LR * self.tb.grad
        self.tw.grad = self.tb.grad = None

    def step_or_error(self, upload_first=False):
        try:
            if upload_first:  # a chunked Upload first: a unary call, routed on its own by the proxy
                self.session.tensor(self.x)
            self.step()
            return None
        except gw.GradwireError as error:
            return error


def opened_on(server: ServerProcess) -> set[str]:
    """The ids of the sessions a replica opened, from its JSON log."""
    ids = set()
    for line in server.logged().splitlines():
        record = json.loads(line)
        if record["message"] == "session opened":
            ids.add(record["session_id"])
    return ids


def sample(metrics: dict, name: str, **labels) -> float:
    key = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    return metrics.get(key, 0.0)


def errors_counted(metrics: dict) -> float:
    return sum(v for k, v in metrics.items() if k.startswith("gradwire_errors_total"))


@pytest.fixture
def cluster(tmp_path):
    servers = [ServerProcess(tmp_path, f"replica{i}") for i in range(REPLICAS)]  # started together, then awaited
    nginx = None
    try:
        for server in servers:
            server.wait_ready()
        nginx = Nginx(tmp_path, [server.address for server in servers])
        yield servers, nginx
    finally:
        if nginx is not None:
            nginx.close()
        for server in servers:
            server.close()


def in_threads(fn, items):
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(fn, item) for item in items]
        return [f.result(timeout=TIMEOUT_S) for f in futures]


def test_sessions_stay_on_one_replica_and_a_killed_replica_loses_only_its_own(cluster):
    servers, nginx = cluster

    def train(index):
        trainer = Trainer(nginx.address, index)
        for _ in range(STEPS):
            trainer.step()
        return trainer

    trainers = in_threads(train, list(range(SESSIONS)))
    try:
        # --- each session on exactly one replica, as its metrics count it ---------------------------
        ids = {t.session.id for t in trainers}
        placed = [opened_on(server) for server in servers]
        assert set().union(*placed) == ids and sum(map(len, placed)) == SESSIONS, "a session opened on two replicas, or none"
        for server, mine in zip(servers, placed):
            m = server.metrics()
            n = len(mine)
            assert sample(m, "gradwire_sessions_opened_total") == n, server.name
            assert sample(m, "gradwire_sessions_live") == n, server.name
            assert sample(m, "gradwire_ops_total", op="matmul") == n * STEPS, f"{server.name}: work of another replica's session"
            assert sample(m, "gradwire_commands_total", kind="backward") == n * STEPS, server.name
            assert sample(m, "gradwire_transfer_bytes_total", direction="in", path="stream") == n * X_BYTES, server.name
            assert sample(m, "gradwire_transfer_bytes_total", direction="out", path="stream") == n * X_BYTES, server.name
            assert errors_counted(m) == 0, f"{server.name} refused a call: {m}"
        assert sum(len(p) > 0 for p in placed) >= 2, f"the hash put every session on one replica: {list(map(len, placed))}"

        # --- one replica dies: its sessions are lost, and only they -----------------------------------
        victim = max(range(REPLICAS), key=lambda i: len(placed[i]))
        servers[victim].kill()
        lost_ids = placed[victim]
        outcomes = in_threads(lambda t: t.step_or_error(upload_first=trainers.index(t) % 2 == 1), trainers)
        for index, (trainer, error) in enumerate(zip(trainers, outcomes)):
            sid = trainer.session.id
            if sid in lost_ids:
                assert isinstance(error, gw.SessionLostError), f"session {sid} on the killed replica: {type(error).__name__}: {error}"
                assert f"session {sid} lost" in str(error)
                if index % 2 == 1:  # the upload reached a survivor, which said it never saw the session
                    assert "does not know it" in str(error), str(error)
                assert isinstance(error, gw.UnavailableError) and isinstance(error, gw.NotFoundError)
                with pytest.raises(gw.SessionLostError, match=f"session {sid}"):  # and it stays lost
                    trainer.session.randn(2).numpy()
            else:
                assert error is None, f"session {sid} on a surviving replica failed: {type(error).__name__}: {error}"
        survivors = [s for i, s in enumerate(servers) if i != victim]
        survivor_placed = [p for i, p in enumerate(placed) if i != victim]
        before = [s.metrics() for s in survivors]
        for server, m, mine in zip(survivors, before, survivor_placed):
            assert sample(m, "gradwire_sessions_live") == len(mine), f"{server.name}: its sessions carry on"
            assert sample(m, "gradwire_ops_total", op="matmul") == len(mine) * (STEPS + 1), server.name

        # --- new sessions land on the survivors ---------------------------------------------------------
        def late(index):
            trainer = Trainer(nginx.address, SESSIONS + index)
            trainer.step()
            return trainer

        newcomers = in_threads(late, list(range(LATE_SESSIONS)))
        trainers += newcomers
        after = [s.metrics() for s in survivors]
        opened = [sample(a, "gradwire_sessions_opened_total") - sample(b, "gradwire_sessions_opened_total") for a, b in zip(after, before)]
        assert sum(opened) == LATE_SESSIONS, opened
        new_ids = {t.session.id for t in newcomers}
        assert new_ids <= set().union(*(opened_on(s) for s in survivors))
    finally:
        for trainer in trainers:
            trainer.session.close()
