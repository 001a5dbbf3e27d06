"""Every server error reaches the user as a typed gradwire error, and deferred errors name their op and line."""

from __future__ import annotations

import inspect
import logging
import os
import socket
import sys
import threading
import time

import grpc
import numpy as np
import pytest

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb
from gradwire.v1 import gradwire_pb2_grpc as pb_grpc
from gradwire_server.app import create_server
from gradwire_server.config import Config

HERE = os.path.abspath(__file__)


def assert_typed(error: BaseException, cls: type, code: str):
    """A gradwire error of the right class and code; a RuntimeError; never a raw grpc.RpcError."""
    assert type(error) is cls, f"{type(error).__name__}: {error}"
    assert isinstance(error, gw.GradwireError)
    assert isinstance(error, RuntimeError)
    assert not isinstance(error, grpc.RpcError)
    assert error.code == code
    assert str(error), "an error with no message"


@pytest.fixture
def small_server():
    """A server of its own, with a limit of one session, a small batch limit and a small tensor quota."""
    config = Config(host="127.0.0.1", port=0, device="cpu", max_sessions=1, max_batch_commands=50, max_session_bytes=4 << 20)
    server, port = create_server(config)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=0.5)


def test_shape_mismatch_is_invalid_argument(session):
    a, b = session.ones(3), session.ones(4)
    c = a + b  # queued: nothing fails yet
    with pytest.raises(gw.InvalidArgumentError) as info:
        c.numpy()
    assert_typed(info.value, gw.InvalidArgumentError, "INVALID_ARGUMENT")
    assert "(3)" in str(info.value) and "(4)" in str(info.value)


def test_unknown_handle_is_not_found(session):
    ghost = gw.Tensor(session, 10**9, (2,), np.dtype(np.float32))
    with pytest.raises(gw.NotFoundError) as info:
        ghost.numpy()
    assert_typed(info.value, gw.NotFoundError, "NOT_FOUND")
    assert "unknown tensor handle" in str(info.value)


def test_session_closed_by_another_connection_is_not_found(server, session):
    x = session.tensor([1.0, 2.0])
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
    with grpc.insecure_channel(server.address) as channel:  # a second connection closes this session
        pb_grpc.GradwireStub(channel).CloseSession(pb.CloseSessionRequest(), metadata=session._metadata, timeout=10)
    y = x * 2
    with pytest.raises(gw.NotFoundError) as info:
        y.numpy()
    assert_typed(info.value, gw.NotFoundError, "NOT_FOUND")
    assert session.id in str(info.value) and "closed by the client" in str(info.value)
    # a stale token is told the same on a unary call
    with pytest.raises(gw.NotFoundError, match="closed by the client"):
        session._unary(session._stub.CloseSession, pb.CloseSessionRequest(), timeout=10)


def test_calls_on_a_closed_session_raise_a_gradwire_error(session):
    x = session.tensor([1.0])
    session.close()
    assert session.closed
    with pytest.raises(gw.GradwireError, match="closed") as info:
        (x + 1).numpy()
    assert isinstance(info.value, RuntimeError) and not isinstance(info.value, grpc.RpcError)
    with pytest.raises(gw.GradwireError, match="closed"):
        session.tensor([1.0])


def test_freed_graph_is_failed_precondition(session):
    x = session.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    y.backward()
    with pytest.raises(gw.FailedPreconditionError) as info:
        x.grad.numpy()
    assert_typed(info.value, gw.FailedPreconditionError, "FAILED_PRECONDITION")
    assert "retain_graph=True" in str(info.value)
    assert info.value.op == "backward"


def test_unimplemented_method_is_unimplemented(session):
    # No engine op lacks a derivative rule (tests/unit checks the table), so NoDerivative cannot be
    # reached through the SDK; a method this server does not have is the UNIMPLEMENTED a client can meet.
    missing = session._channel.unary_unary(
        "/gradwire.v1.Gradwire/NoSuchMethod",
        request_serializer=pb.ServerInfoRequest.SerializeToString,
        response_deserializer=pb.ServerInfo.FromString,
    )
    with pytest.raises(gw.UnimplementedError) as info:
        session._unary(missing, pb.ServerInfoRequest(), timeout=10)
    assert_typed(info.value, gw.UnimplementedError, "UNIMPLEMENTED")
    assert isinstance(info.value, NotImplementedError)


def test_too_many_sessions_is_resource_exhausted(small_server):
    first = gw.connect(small_server, timeout=10)
    try:
        with pytest.raises(gw.ResourceExhaustedError) as info:
            gw.connect(small_server, timeout=10)
        assert_typed(info.value, gw.ResourceExhaustedError, "RESOURCE_EXHAUSTED")
        assert "max_sessions" in str(info.value)
        np.testing.assert_array_equal(first.tensor([3.0]).numpy(), [3.0])  # the open one is untouched
        threads = threading.active_count()
        for _ in range(5):  # a client retrying: each refused connect closes its channel again
            with pytest.raises(gw.ResourceExhaustedError):
                gw.connect(small_server, timeout=10)
        assert threading.active_count() <= threads + 2
    finally:
        first.close()
    second = gw.connect(small_server, timeout=10)  # closing freed the slot
    second.close()


def test_tensor_over_the_session_quota_is_resource_exhausted(small_server):
    with gw.connect(small_server, timeout=10) as s:
        with pytest.raises(gw.ResourceExhaustedError, match="max_session_bytes") as info:
            s.tensor(np.zeros(2 << 20, dtype=np.float32))  # 8 MiB > 4 MiB, on the chunked path
        assert_typed(info.value, gw.ResourceExhaustedError, "RESOURCE_EXHAUSTED")
        np.testing.assert_array_equal(s.tensor([1.0]).numpy(), [1.0])


def test_batch_over_the_command_limit_is_resource_exhausted(small_server):
    s = gw.connect(small_server, timeout=10)
    try:
        x = s.zeros(1)
        for _ in range(60):  # 60 commands: the SDK sends them in batches the server takes (50)
            x = x + 1
        assert x.item() == 60.0
        batch = pb.Batch(seq=0, commands=[pb.Command(id=k, sync=pb.Sync()) for k in range(1, 61)])
        reply = next(s._stub.Run(iter([batch]), metadata=s._metadata, timeout=10))  # a raw client's batch of 60
        assert [r.error.code for r in reply.results] == ["RESOURCE_EXHAUSTED"]
        assert "max_batch_commands limit: a batch of 60 commands exceeds 50" in reply.results[0].error.message
        assert (x + 1).item() == 61.0  # refused whole, the session goes on
    finally:
        s.close()


def test_nothing_listening_is_unavailable():
    with socket.socket() as sock:  # a port that was free a moment ago, now closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(gw.UnavailableError) as info:
        gw.connect(f"127.0.0.1:{port}", timeout=0.5)
    assert_typed(info.value, gw.UnavailableError, "UNAVAILABLE")
    assert str(port) in str(info.value)


def test_every_status_code_maps_to_a_gradwire_error():
    for code in grpc.StatusCode:
        if code is grpc.StatusCode.OK:
            continue
        error = gw.errors.error_for(code.name, "message")
        assert isinstance(error, gw.GradwireError) and isinstance(error, RuntimeError), code
        assert error.code != "UNKNOWN", code


# --- deferred errors --------------------------------------------------------------------------


def test_deferred_error_names_op_file_line_and_shapes(session):
    a = session.randn(3, 4)
    b = session.randn(5, 6)
    line = inspect.currentframe().f_lineno + 1
    bad = a @ b
    c = bad.relu() * 2  # depends on the failed matmul
    d = c.sum()
    with pytest.raises(gw.InvalidArgumentError) as info:
        d.numpy()
    message = str(info.value)
    assert "matmul" in message
    assert f"{HERE}:{line}" in message
    assert "(3, 4)" in message and "(5, 6)" in message
    assert info.value.op == "matmul" and info.value.site == f"{HERE}:{line}"

    # a later fetch of a dependent tensor says it depends on the failed matmul, and where that was
    with pytest.raises(gw.FailedPreconditionError) as later:
        c.numpy()
    assert "depends on matmul" in str(later.value)
    assert f"{HERE}:{line}" in str(later.value)

    # the session stays usable
    e = session.tensor([[1.0, 2.0]]) @ session.tensor([[3.0], [4.0]])
    np.testing.assert_array_equal(e.numpy(), [[11.0]])
    assert session.stats()["tensors"] > 0


def test_a_deferred_error_inside_modules_names_the_users_line(session):
    # the command is issued a few SDK frames down (Sequential, Linear, F.linear): the site is the user's line
    model = gw.nn.Sequential(gw.nn.Linear(4, 3, session=session), gw.nn.ReLU())
    x = session.randn(2, 5)  # 5 features into a Linear of 4
    line = inspect.currentframe().f_lineno + 1
    out = model(x)
    with pytest.raises(gw.InvalidArgumentError) as info:
        out.sum().item()
    assert info.value.op == "linear" and info.value.site == f"{HERE}:{line}"
    assert f"linear (issued at {HERE}:{line}) failed: " in str(info.value)


def test_each_deferred_error_is_raised_once(session):
    bad = session.ones(2) + session.ones(3)
    with pytest.raises(gw.InvalidArgumentError):
        session.sync()
    session.sync()  # reported already: the next sync point is clean
    assert session.tensor([5.0]).item() == 5.0
    del bad


def _run_streams(session_id):
    """For each server stream of this session (its handler in Run, or RunStream's threads):
    whether it is waiting for the client's next batch."""
    frames = sys._current_frames()
    threads = {t.ident: t.name for t in threading.enumerate()}
    found = []
    for ident, top in frames.items():
        chain, frame = [], top
        while frame is not None:
            chain.append(frame)
            frame = frame.f_back
        if threads.get(ident) == f"gradwire-run-{session_id[:8]}-receive":
            found.append(any(f.f_code.co_name == "_next" and "grpc" in f.f_code.co_filename for f in chain))
        elif threads.get(ident, "").startswith(f"gradwire-run-{session_id[:8]}"):
            found.append(False)  # the worker: still there
        else:
            for frame in chain:
                served = frame.f_locals.get("session") if frame.f_code.co_name == "Run" else None
                if frame.f_code.co_filename.endswith("servicer.py") and getattr(served, "id", None) == session_id:
                    found.append(False)  # the handler: still there
    return found


def _poll(condition, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def test_a_client_dropping_its_stream_is_not_an_internal_error(server, caplog):
    caplog.set_level(logging.INFO, logger="gradwire.server")
    s = gw.connect(server.address, timeout=10)
    try:
        assert s.ones(2).sum().item() == 2.0
        _poll(lambda: True in _run_streams(s.id), "the server never went back to waiting for a batch")
        s._stream.cancel()  # what a client that dies mid-session does to its stream
        _poll(lambda: _run_streams(s.id) == [], "the server never let go of the cancelled stream (its threads)")
        # grpc ends the handler's wait either with an RpcError (most runs: logged at INFO) or as a
        # plain end of stream; neither is an internal error
        errors = [r for r in caplog.records if r.name.startswith("gradwire") and r.levelno >= logging.ERROR]
        assert not errors, [r.getMessage() for r in errors]
    finally:
        s.close()


def test_a_failed_backward_leaves_grad_none_as_torch_does(session):
    w = session.randn(2, 3, requires_grad=True)
    bad = (w @ session.randn(4, 5)).sum()  # fails on the server; the error comes at the next sync
    bad.backward()
    with pytest.raises(gw.InvalidArgumentError, match="matmul"):
        session.sync()
    assert w.grad is None
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 2.0, dtype=np.float32))


def test_a_backward_that_fails_part_way_leaves_no_half_made_grad(session):
    """The pass reaches w's leaf before it fails at floor_divide (no derivative): w had no .grad before, so it has
    none after, on the server as in the SDK, and the next pass gives w exactly its own gradient."""
    w = session.tensor([1.0, 2.0], requires_grad=True)
    x = session.tensor([1.5, 2.5], requires_grad=True)
    with pytest.raises(gw.UnimplementedError, match="derivative for aten::floor_divide is not implemented"):
        (((x * 3) // 1).sum() + (w * 2).sum()).backward()
        session.sync()
    assert w.grad is None and x.grad is None
    (w * 5).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [5.0, 5.0])  # not 7: nothing of the failed pass stays behind
