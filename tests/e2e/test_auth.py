"""API keys: calls without a valid key refused before any work, sessions bound to their key, keys revoked by SIGHUP."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
import uuid

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb
from gradwire.v1 import gradwire_pb2_grpc as pb_grpc
from gradwire.wire import API_KEY_HEADER, SESSION_HEADER, TOKEN_HEADER
from gradwire_server.app import create_server
from gradwire_server.config import parse_args
from tests.servers import start_server

from .test_cli import ServerProcess

ALPHA, BETA, GAMMA = "alpha-key-0123456789", "beta-key-9876543210", "gamma-key-5555555555"
HASHED = "hashed-key-kept-out-of-the-file"


def keys_file(path, *lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def sha256_line(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch):
    monkeypatch.delenv("GRADWIRE_API_KEY", raising=False)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """A server that takes ALPHA and BETA in clear and HASHED by its digest, from a keys file."""
    path = keys_file(tmp_path_factory.mktemp("keys") / "keys", "# team keys", ALPHA, "", f"  {BETA}  ", sha256_line(HASHED))
    server = start_server(device="cpu", api_keys_file=str(path), max_sessions_per_key=3)
    yield server
    server.stop(grace=1.0)


def token_of(session) -> str:
    return dict(session._metadata)[TOKEN_HEADER]


def metadata(session_id=None, token=None, key=None):
    pairs = ((SESSION_HEADER, session_id), (TOKEN_HEADER, token), (API_KEY_HEADER, key))
    return tuple((name, value) for name, value in pairs if value is not None)


def rpc_error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        result = call()
        if hasattr(result, "__next__"):  # a response stream fails when it is read
            list(result)
    return info.value


def every_rpc(channel, md):
    """One call of each gradwire RPC with metadata ``md``, each with a request that would fail if it were read."""
    stub = pb_grpc.GradwireStub(channel)
    upload = channel.stream_unary("/gradwire.v1.Gradwire/Upload")  # raw bytes, as the SDK sends them
    batch = pb.Batch(seq=1, commands=[pb.Command(id=1, fetch=pb.Fetch(handle=999))])
    return {
        "OpenSession": lambda: stub.OpenSession(pb.OpenSessionRequest(session_id=uuid.uuid4().hex), metadata=md, timeout=10),
        "CloseSession": lambda: stub.CloseSession(pb.CloseSessionRequest(), metadata=md, timeout=10),
        "GetServerInfo": lambda: stub.GetServerInfo(pb.ServerInfoRequest(), metadata=md, timeout=10),
        "Run": lambda: stub.Run(iter([batch]), metadata=md, timeout=10),
        "Upload": lambda: upload(iter([b"\xff not a TensorChunk"]), metadata=md, timeout=10),
        "Download": lambda: stub.Download(pb.DownloadRequest(handle=999), metadata=md, timeout=10),
    }


# --- refused: no key, a wrong key ------------------------------------------------------------


def test_a_connection_without_a_key_is_refused(keyed):
    before = len(keyed.registry.sessions())
    with pytest.raises(gw.UnauthenticatedError, match="requires an API key.*api_key=.*GRADWIRE_API_KEY"):
        gw.connect(keyed.address, timeout=10)
    assert len(keyed.registry.sessions()) == before  # no session was opened


def test_a_wrong_key_is_refused(keyed):
    before = len(keyed.registry.sessions())
    for wrong in ("not-a-key", ALPHA + "x", ALPHA[:-1], sha256_line(HASHED), hashlib.sha256(HASHED.encode()).hexdigest()):
        with pytest.raises(gw.UnauthenticatedError, match="API key is not valid") as info:
            gw.connect(keyed.address, api_key=wrong, timeout=10)
        assert info.value.code == "UNAUTHENTICATED"
    assert len(keyed.registry.sessions()) == before


@pytest.mark.parametrize("key", [None, "wrong-key"], ids=["no key", "wrong key"])
def test_every_gradwire_rpc_is_refused_before_its_request_is_read(keyed, key):
    with gw.connect(keyed.address, api_key=ALPHA, timeout=10) as owner:
        x = owner.tensor([1.0, 2.0])
        owner.sync()
        held = owner.stats()
        # the session's own id and token, with no key or a wrong one: still refused
        with grpc.insecure_channel(keyed.address) as channel:
            for name, call in every_rpc(channel, metadata(owner.id, token_of(owner), key)).items():
                error = rpc_error(call)
                assert error.code() is grpc.StatusCode.UNAUTHENTICATED, (name, error.details())
        assert owner.stats() == held  # nothing was run, released or closed
        np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


def test_health_and_reflection_answer_without_a_key(keyed):
    with grpc.insecure_channel(keyed.address) as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="gradwire.v1.Gradwire"), timeout=10)
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        reply = next(reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(iter([request]), timeout=10))
        assert "gradwire.v1.Gradwire" in {s.name for s in reply.list_services_response.service}


# --- accepted: the right key, in clear or hashed in the file, from the environment --------------


@pytest.mark.parametrize("key", [ALPHA, BETA, HASHED], ids=["clear", "clear with spaces", "hashed in the file"])
def test_the_right_key_works(keyed, key):
    with gw.connect(keyed.address, api_key=key, timeout=10, seed=0) as s:
        x = s.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
        big = np.arange(400_000, dtype=np.float32)  # above inline_bytes: the Upload and Download streams
        np.testing.assert_array_equal(s.tensor(big).numpy(), big)


def test_the_sdk_reads_GRADWIRE_API_KEY(keyed, monkeypatch):
    monkeypatch.setenv("GRADWIRE_API_KEY", BETA)
    with gw.connect(keyed.address, timeout=10) as s:
        assert s.tensor([5.0]).item() == 5.0
    with pytest.raises(gw.UnauthenticatedError):  # an explicit api_key= wins over the variable
        gw.connect(keyed.address, api_key="wrong-key", timeout=10)


def test_keys_from_the_GRADWIRE_API_KEYS_variable():
    config = parse_args(["--port", "0", "--device", "cpu"], environ={"GRADWIRE_API_KEYS": f" {ALPHA} ,{sha256_line(HASHED)},"})
    server, port = create_server(config)
    server.start()
    try:
        for key in (ALPHA, HASHED):
            with gw.connect(f"127.0.0.1:{port}", api_key=key, timeout=10) as s:
                assert s.tensor([2.0]).item() == 2.0
        for key in (None, BETA):
            with pytest.raises(gw.UnauthenticatedError):
                gw.connect(f"127.0.0.1:{port}", api_key=key, timeout=10)
    finally:
        server.stop(grace=1.0)


def test_without_keys_the_server_is_open(server):
    with gw.connect(server.address, api_key="anything", timeout=10) as s:  # a key is ignored, not required
        assert s.tensor([3.0]).item() == 3.0


# --- sessions belong to the key that opened them -------------------------------------------------


def test_a_stolen_session_id_is_refused_as_an_unknown_session(keyed):
    victim = gw.connect(keyed.address, api_key=ALPHA, timeout=10)
    thief = gw.connect(keyed.address, api_key=BETA, timeout=10)
    ended = gw.connect(keyed.address, api_key=ALPHA, timeout=10)
    ended.close()
    secret = victim.tensor([42.0])
    victim.sync()
    try:
        with grpc.insecure_channel(keyed.address) as channel:
            stub = pb_grpc.GradwireStub(channel)
            nobody = uuid.uuid4().hex

            def refusal(md):
                error = rpc_error(lambda: stub.Download(pb.DownloadRequest(handle=secret._handle), metadata=md, timeout=10))
                return error.code(), error.details()

            unknown = refusal(metadata(nobody, token_of(thief), BETA))
            assert unknown == (grpc.StatusCode.NOT_FOUND, f"unknown session {nobody}")
            attempts = {
                "the thief's own token": metadata(victim.id, token_of(thief), BETA),
                "the victim's token too, with the thief's key": metadata(victim.id, token_of(victim), BETA),
                "no token": metadata(victim.id, None, BETA),
                "the victim's key with the thief's token": metadata(victim.id, token_of(thief), ALPHA),
            }
            for what, md in attempts.items():
                assert refusal(md) == (grpc.StatusCode.NOT_FOUND, f"unknown session {victim.id}"), what
            # an ended session: the thief is not told it existed, nor how it ended
            assert refusal(metadata(ended.id, token_of(thief), BETA)) == (grpc.StatusCode.NOT_FOUND, f"unknown session {ended.id}")
            # its rightful owner is
            code, details = refusal(metadata(ended.id, token_of(ended), ALPHA))
            assert code is grpc.StatusCode.NOT_FOUND and "closed by the client" in details
            # closing it with a stolen id and the thief's key does not close it
            error = rpc_error(lambda: stub.CloseSession(pb.CloseSessionRequest(), metadata=metadata(victim.id, token_of(victim), BETA), timeout=10))
            assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, f"unknown session {victim.id}")
        assert secret.item() == 42.0  # the victim is unaffected
    finally:
        victim.close()
        thief.close()


def test_no_request_reaches_another_sessions_tensors(keyed):
    """Handles are per session: another session (same key or not) naming them only ever reaches its own."""
    with gw.connect(keyed.address, api_key=ALPHA, timeout=10) as victim:
        w = victim.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
        (w * w).sum().backward()
        victim.sync()
        g = w.grad  # a handle of its own, kept alive so the count below stays put
        values, grad = w.detach().numpy(), g.detach().numpy()
        held = victim.stats()
        for key in (ALPHA, BETA):
            with gw.connect(keyed.address, api_key=key, timeout=10) as other:
                handles = [w._handle, w._handle + 1, w._handle + 2]  # the victim's handles; the other has none yet
                never_issued = 10_000
                md = other._metadata
                stub = pb_grpc.GradwireStub(other._channel)
                c = iter(range(1, 100))
                commands = [
                    pb.Command(id=next(c), fetch=pb.Fetch(handle=handles[0])),  # read
                    pb.Command(id=next(c), fetch=pb.Fetch(handle=never_issued)),
                    pb.Command(id=next(c), release=pb.Release(handles=handles)),  # release
                    pb.Command(id=next(c), op=pb.Op(name="neg", inputs=[pb.Operand(handle=handles[0])], outputs=[50])),
                    pb.Command(id=next(c), inplace=pb.Inplace(target=handles[0], op="zero", no_grad=True)),  # write
                    pb.Command(id=next(c), set_grad=pb.SetGrad(tensor=handles[0], value=0)),
                    pb.Command(id=next(c), backward=pb.Backward(root=handles[0])),
                    pb.Command(id=next(c), grad_of=pb.GradOf(tensor=handles[0], result=51)),
                ]
                # seq 0: unsequenced, run as it comes (the SDK numbers its own batches from 1 on this session)
                replies = list(stub.Run(iter([pb.Batch(seq=0, commands=commands)]), metadata=md, timeout=10))
                errors = {r.command: r.error for r in replies[0].results if r.HasField("error")}
                assert set(errors) == {cmd.id for cmd in commands}, "every command naming the victim's handles failed"
                assert errors[1].code == errors[2].code == "NOT_FOUND"
                # a handle the victim holds reads exactly as one never issued
                assert errors[1].message.replace(f"handle {handles[0]} ", "handle # ") == errors[2].message.replace(f"handle {never_issued} ", "handle # ")
                # a put under the victim's handle fills the other session's own table
                put = pb.Command(id=1, put=pb.Put(handle=handles[0], tensor=pb.TensorData(dtype="float32", shape=[1], data=np.float32(-1).tobytes())))
                list(stub.Run(iter([pb.Batch(seq=0, commands=[put])]), metadata=md, timeout=10))
                error = rpc_error(lambda: stub.Download(pb.DownloadRequest(handle=handles[1]), metadata=md, timeout=10))
                assert error.code() is grpc.StatusCode.NOT_FOUND
                assert other.stats() == {"tensors": 1, "bytes": 4, "graph_nodes": 0, "generators": 0, "profile_events": 0}  # its put alone: nothing of the victim's
        assert victim.stats() == held
        np.testing.assert_array_equal(w.detach().numpy(), values)
        np.testing.assert_array_equal(w.grad.numpy(), grad)


def test_sessions_per_key_are_limited(keyed):
    limit = keyed.config.max_sessions_per_key
    opened = [gw.connect(keyed.address, api_key=ALPHA, timeout=10) for _ in range(limit)]
    try:
        with pytest.raises(gw.ResourceExhaustedError) as info:
            gw.connect(keyed.address, api_key=ALPHA, timeout=10)
        message = str(info.value)
        assert "max_sessions_per_key" in message and f"holds {limit} open sessions" in message and f"{limit + 1}, above {limit}" in message
        with gw.connect(keyed.address, api_key=BETA, timeout=10) as s:  # another key has its own allowance
            assert s.tensor([1.0]).item() == 1.0
        opened.pop().close()
        opened.append(gw.connect(keyed.address, api_key=ALPHA, timeout=10))  # closing one freed its slot
    finally:
        for s in opened:
            s.close()


# --- revocation --------------------------------------------------------------------------------


def test_reload_revokes_keys_and_ends_their_sessions(tmp_path):
    path = keys_file(tmp_path / "keys", ALPHA, BETA)
    server = start_server(device="cpu", api_keys_file=str(path))
    address = server.address
    opened = []  # closed at the end: an unclosed session outlives the test until a garbage collection, and
    # then a later test's gw.zeros(...) finds two sessions open
    try:
        kept = gw.connect(address, api_key=BETA, timeout=10)
        doomed = gw.connect(address, api_key=ALPHA, timeout=10)
        opened += [kept, doomed]
        w = kept.tensor([1.0, 2.0], requires_grad=True)
        doomed.tensor([3.0]).item()
        # a half-written or malformed file changes nothing
        keys_file(path, BETA, "sha256:not-hex")
        with pytest.raises(ValueError, match="line 2"):
            server.reload_api_keys()
        with gw.connect(address, api_key=ALPHA, timeout=10) as s:
            assert s.tensor([1.0]).item() == 1.0
        keys_file(path, BETA, GAMMA)
        assert server.reload_api_keys() == 1  # doomed's session ended
        with pytest.raises(gw.UnauthenticatedError):
            gw.connect(address, api_key=ALPHA, timeout=10)
        with pytest.raises(gw.NotFoundError, match="API key was revoked"):
            doomed.tensor([4.0]).item()
        with gw.connect(address, api_key=GAMMA, timeout=10) as s:
            assert s.tensor([5.0]).item() == 5.0
        (w * w).sum().backward()  # the still-valid key's session carries on
        np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
        # an emptied file revokes every key; it does not open the server
        keys_file(path, "# nobody")
        server.reload_api_keys()
        for key in (None, BETA):
            with pytest.raises(gw.UnauthenticatedError):
                gw.connect(address, api_key=key, timeout=10)
    finally:
        for opened_session in opened:
            opened_session.close()
        server.stop(grace=1.0)


def wait_for_log(process: ServerProcess, text: str, count: int, timeout: float = 20.0):
    """Wait until the server's log holds ``text`` ``count`` times; fail past ``timeout`` (a hang, not a speed check)."""
    deadline = time.monotonic() + timeout
    while process.logged().count(text) < count:
        if time.monotonic() > deadline or process.proc.poll() is not None:
            pytest.fail(f"{text!r} not logged {count} time(s) within {timeout} s; log: {process.logged()}")
        time.sleep(0.05)


def test_sighup_revokes_a_key_in_a_running_server(tmp_path):
    path = keys_file(tmp_path / "api-keys", "# first keys", ALPHA, sha256_line(BETA))
    process = ServerProcess(tmp_path, "--api-keys-file", str(path))
    try:
        kept = gw.connect(process.address, api_key=BETA, timeout=10, seed=0)
        revoked = gw.connect(process.address, api_key=ALPHA, timeout=10)
        w = kept.randn(3, requires_grad=True)
        before = w.detach().numpy()
        assert revoked.tensor([1.0]).item() == 1.0
        with pytest.raises(gw.UnauthenticatedError):
            gw.connect(process.address, api_key=GAMMA, timeout=10)

        keys_file(path, "# ALPHA revoked, GAMMA added", sha256_line(BETA), GAMMA)
        process.proc.send_signal(signal.SIGHUP)
        wait_for_log(process, "API keys reloaded", 1)

        assert process.proc.poll() is None  # reloaded, not restarted
        with pytest.raises(gw.UnauthenticatedError, match="not valid"):
            gw.connect(process.address, api_key=ALPHA, timeout=10)
        with pytest.raises(gw.NotFoundError, match="API key was revoked"):
            revoked.tensor([2.0]).item()
        with gw.connect(process.address, api_key=GAMMA, timeout=10) as s:
            assert s.tensor([7.0]).item() == 7.0
        np.testing.assert_array_equal(w.detach().numpy(), before)  # the still-valid key's session and its tensors
        (w * 2).sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0, 2.0])
        kept.close()
        revoked.close()
        code, _ = process.terminate_and_wait()
        assert code == 0
    finally:
        process.close()


def test_the_cli_refuses_a_malformed_keys_file(tmp_path):
    path = keys_file(tmp_path / "keys", ALPHA, "sha256:1234")
    result = subprocess.run(
        [sys.executable, "-m", "gradwire_server", "--port", "0", "--device", "cpu", "--api-keys-file", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert f"{path} line 2: a hashed key must be sha256: and 64 hex digits" in result.stderr
