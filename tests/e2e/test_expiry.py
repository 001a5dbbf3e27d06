"""Expiry: idle sessions are reaped with all their memory, and a call on an ended session says which way it
ended, and when: expired, closed by the client, or unknown."""

from __future__ import annotations

import gc
import os
import time
import weakref

import grpc
import numpy as np
import pytest

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb
from gradwire.v1 import gradwire_pb2_grpc as pb_grpc
from gradwire.wire import SESSION_HEADER, TOKEN_HEADER
from tests.servers import start_server

DEVICE = os.environ.get("GRADWIRE_TEST_DEVICE", "cpu")  # cuda: the same checks on a GPU server

IDLE_S = 1.0  # short, with room for a loaded machine between a session's own calls
WHEN = r"\d+ s ago \(at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"


@pytest.fixture
def expiring():
    server = start_server(device=DEVICE, idle_timeout_s=IDLE_S, reap_interval_s=0.05, ended_sessions_kept=3)
    yield server
    server.stop(grace=0.5)


def wait_until_reaped(server, session_id, bound_s=10.0):
    deadline = time.monotonic() + bound_s
    while session_id in {s.id for s in server.registry.sessions()}:
        assert time.monotonic() < deadline, "the idle session was never reaped"
        time.sleep(0.05)


def close_by_hand(address, session_id, token):
    """CloseSession on a channel of its own: a NotFoundError (through the SDK's mapper) or None."""
    with grpc.insecure_channel(address) as channel:
        try:
            pb_grpc.GradwireStub(channel).CloseSession(pb.CloseSessionRequest(), metadata=((SESSION_HEADER, session_id), (TOKEN_HEADER, token)), timeout=10)
        except grpc.RpcError as error:
            return gw.errors.from_rpc_error(error)
    return None


def test_an_idle_session_is_reaped_with_all_its_memory(expiring):
    s = gw.connect(expiring.address, timeout=10)
    x = s.randn(1000, requires_grad=True)
    loss = (x.exp() * x).sum()  # a graph holding saved tensors
    loss.backward(retain_graph=True)
    assert s.stats()["graph_nodes"] > 0
    [session] = [x for x in expiring.registry.sessions() if x.id == s.id]
    held = [weakref.ref(t) for t in session.tensors.values()] + [weakref.ref(x.grad) for x in session.tensors.values() if getattr(x, "grad", None) is not None]
    assert len(held) >= 4
    wait_until_reaped(expiring, s.id)
    gc.collect()
    assert session.tensors == {} and session.failed == {}
    assert [r for r in held if r() is not None] == []  # every tensor, grad and saved residual went
    with pytest.raises(gw.NotFoundError, match=rf"session {s.id}: expired after 1 s idle, {WHEN}"):
        loss.item()
    s.close()  # closing an expired session is quiet


def test_a_session_in_use_is_not_reaped():
    """The reaper's clock passed by hand: no sleeps, and no reaper thread racing a slow machine."""
    server = start_server(device=DEVICE, idle_timeout_s=600, reap_interval_s=600)
    try:
        with gw.connect(server.address, timeout=10) as s:
            x = s.tensor([1.0])
            registry = server.registry
            [session] = [x for x in registry.sessions() if x.id == s.id]
            assert x.item() == 1.0
            used = session.last_used
            assert registry.reap_idle(now=used + 599) == 0  # not yet idle long enough
            assert (x + 1).item() == 2.0  # a call counts as use
            assert session.last_used > used
            settled = time.monotonic() + 10
            while session.lock.locked():  # the server holds it until its reply is on the wire: busy, not idle
                assert time.monotonic() < settled
                time.sleep(0.01)
            assert registry.reap_idle(now=session.last_used + 599) == 0
            assert registry.reap_idle(now=session.last_used + 601) == 1
            with pytest.raises(gw.NotFoundError, match="expired after 600 s idle"):
                x.item()
    finally:
        server.stop(grace=0.5)


def test_expired_closed_and_unknown_are_told_apart(expiring):
    expired = gw.connect(expiring.address, timeout=10)
    expired_token = dict(expired._metadata)[TOKEN_HEADER]
    wait_until_reaped(expiring, expired.id)
    closed = gw.connect(expiring.address, timeout=10)
    closed_token = dict(closed._metadata)[TOKEN_HEADER]
    closed.close()

    messages = {
        "expired": close_by_hand(expiring.address, expired.id, expired_token),
        "closed": close_by_hand(expiring.address, closed.id, closed_token),
        "unknown": close_by_hand(expiring.address, "never-opened", "x"),
    }
    assert all(isinstance(error, gw.NotFoundError) for error in messages.values()), messages
    assert re_match(rf"session {expired.id}: expired after 1 s idle, {WHEN}", messages["expired"])
    assert re_match(rf"session {closed.id}: closed by the client, {WHEN}", messages["closed"])
    assert str(messages["unknown"]) == "unknown session never-opened"
    expired.close()


def test_the_record_of_ended_sessions_is_bounded(expiring):
    ended = []
    for _ in range(5):
        s = gw.connect(expiring.address, timeout=10)
        ended.append((s.id, dict(s._metadata)[TOKEN_HEADER]))
        s.close()
    told = [str(close_by_hand(expiring.address, sid, token)) for sid, token in ended]
    assert told[:2] == [f"unknown session {sid}" for sid, _ in ended[:2]]  # forgotten: only the last 3 are kept
    assert all("closed by the client" in t for t in told[2:]), told


def test_a_stream_open_across_the_expiry_says_so_and_a_new_session_works(expiring):
    s = gw.connect(expiring.address, timeout=10)
    w = s.tensor(np.ones(3, dtype=np.float32))
    assert w.sum().item() == 3.0
    wait_until_reaped(expiring, s.id)
    with pytest.raises(gw.NotFoundError, match="expired after 1 s idle") as info:
        (w * 2).numpy()
    assert s.id in str(info.value)
    with pytest.raises(gw.NotFoundError, match="expired after 1 s idle"):  # and again, without a call
        s.tensor([1.0])
    s.close()
    with gw.connect(expiring.address, timeout=10) as fresh:
        assert fresh.tensor([5.0]).item() == 5.0


def re_match(pattern, error) -> bool:
    import re

    assert re.fullmatch(pattern, str(error)), str(error)
    return True
