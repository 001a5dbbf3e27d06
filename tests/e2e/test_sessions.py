"""Sessions: isolated from each other, guarded by their token, expired when idle, embedded on demand."""

from __future__ import annotations

import threading
import time

import grpc
import numpy as np
import pytest

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb
from gradwire.v1 import gradwire_pb2_grpc as pb_grpc
from gradwire.wire import SESSION_HEADER, TOKEN_HEADER
from gradwire_server.app import create_server
from gradwire_server.config import Config


def test_sessions_are_isolated(server):
    with gw.connect(server.address, timeout=10) as a, gw.connect(server.address, timeout=10) as b:
        x = a.tensor([1.0, 2.0], requires_grad=True)
        y = b.tensor([10.0, 20.0], requires_grad=True)
        assert x._handle == y._handle  # each session numbers its own handles
        (x * 3).sum().backward()
        np.testing.assert_array_equal(y.detach().numpy(), [10.0, 20.0])
        assert y.grad is None
        np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
        with pytest.raises(gw.InvalidArgumentError, match="same session"):
            x + y
        assert b.stats() == {"tensors": 1, "bytes": 8, "graph_nodes": 0, "generators": 0, "profile_events": 0}  # y alone: nothing of a's


def test_concurrent_sessions_on_threads(server):
    results, failures = {}, []

    def work(k):
        try:
            with gw.connect(server.address, timeout=10, seed=k) as s:
                w = s.tensor(np.full(4, float(k), dtype=np.float32), requires_grad=True)
                for _ in range(50):
                    loss = (w * w).sum()
                    loss.backward()
                    with gw.no_grad():
                        w -= 0.1 * w.grad
                    w.grad = None
                results[k] = w.detach().numpy()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    for k in range(1, 5):  # w <- 0.8 w, fifty times
        np.testing.assert_allclose(results[k], np.full(4, k * 0.8**50, dtype=np.float32), rtol=1e-5)


def test_a_wrong_token_is_told_unknown_session(server, session):
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.GradwireStub(channel)
        metadata = ((SESSION_HEADER, session.id), (TOKEN_HEADER, "not-the-token"))
        with pytest.raises(grpc.RpcError) as info:
            stub.CloseSession(pb.CloseSessionRequest(), metadata=metadata, timeout=10)
        assert info.value.code() is grpc.StatusCode.NOT_FOUND
        assert f"unknown session {session.id}" in info.value.details()
    assert session.tensor([4.0]).item() == 4.0  # the real owner is unaffected


def test_an_idle_session_expires_and_is_told_so():
    server, port = create_server(Config(host="127.0.0.1", port=0, device="cpu", idle_timeout_s=0.3))
    server.start()
    try:
        s = gw.connect(f"127.0.0.1:{port}", timeout=10)
        x = s.tensor([1.0])
        assert x.item() == 1.0
        deadline = time.monotonic() + 10
        while server.registry.sessions():
            assert time.monotonic() < deadline, "the idle session was never reaped"
            time.sleep(0.02)
        with pytest.raises(gw.NotFoundError, match=r"expired after 0\.3 s idle, \d+ s ago") as info:
            (x + 1).numpy()
        assert s.id in str(info.value)
        s.close()
    finally:
        server.stop(0)


def test_embedded_server_starts_and_stops_with_the_session():
    s = gw.connect(timeout=10)
    host, port = s.target.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    x = s.randn(3, requires_grad=True)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    s.close()
    with pytest.raises(gw.UnavailableError):
        gw.connect(s.target, timeout=0.5)


def test_session_as_context_manager_closes(server):
    with gw.connect(server.address, timeout=10) as s:
        s.ones(1).numpy()
        sid = s.id
    assert s.closed
    assert sid not in {x.id for x in server.registry.sessions()}


def test_seeded_sessions_draw_the_same_numbers(server):
    with gw.connect(server.address, seed=42, timeout=10) as a, gw.connect(server.address, seed=42, timeout=10) as b:
        np.testing.assert_array_equal(a.randn(5).numpy(), b.randn(5).numpy())
        a.manual_seed(7)
        b.manual_seed(7)
        np.testing.assert_array_equal(a.rand(3, 2).numpy(), b.rand(3, 2).numpy())
        assert not np.array_equal(a.rand(4).numpy(), a.rand(4).numpy())


def test_a_program_that_never_closes_its_embedded_session_still_exits(tmp_path):
    """An embedded server's stream workers must not hold the interpreter open at exit."""
    import subprocess
    import sys

    script = tmp_path / "forgetful.py"
    script.write_text(
        "import gradwire as gw\n"
        "s = gw.connect(device='cpu')\n"
        "print((s.ones(3) * 2).sum().item())\n"
        "raise SystemExit(3)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stdout.strip() == "6.0"
