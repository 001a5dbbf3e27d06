"""A session whose server is gone is told it is lost (gw.SessionLostError), not left with a bare stream error.

Behind a load balancer (tests/deploy/test_scale_out.py) a dead replica's sessions
reach another replica that does not know them; here the same answers come from a
server restarted on the same port, and from no server at all.
"""

from __future__ import annotations

import pytest

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb
from gradwire_server.app import create_server
from gradwire_server.config import Config


def start(port=0):
    server, port = create_server(Config(host="127.0.0.1", port=port, device="cpu"))
    return server.start(), port


def test_a_session_whose_server_stopped_is_lost():
    server, port = start()
    s = gw.connect(f"127.0.0.1:{port}", timeout=10)
    try:
        x = s.randn(3, requires_grad=True)
        x.detach().numpy()
        server.stop(grace=0.2)
        with pytest.raises(gw.SessionLostError, match=f"session {s.id} lost: .*no server answers for it") as info:
            (x * 2).sum().detach().numpy()
        assert isinstance(info.value, gw.UnavailableError) and isinstance(info.value, gw.NotFoundError)
        assert "open a new session" in str(info.value)
        with pytest.raises(gw.SessionLostError, match=f"session {s.id} can no longer be used"):
            s.randn(1)
        s.close()  # after the error: its channel still closes
        with pytest.raises(ValueError, match="closed channel"):
            s._stub.GetServerInfo(pb.ServerInfoRequest())
    finally:
        s.close()
        server.stop(grace=0)


def test_a_session_that_a_restarted_server_does_not_know_is_lost():
    first, port = start()
    s = gw.connect(f"127.0.0.1:{port}", timeout=10)
    second = None
    try:
        s.ones(2).numpy()
        first.stop(grace=0.2)
        second, _ = start(port)  # a replacement on the same address, which never saw the session
        with pytest.raises(gw.SessionLostError, match=f"session {s.id} lost: .*does not know it"):
            s.ones(2).numpy()
        with gw.connect(f"127.0.0.1:{port}", timeout=10) as fresh:  # a new session works there
            assert fresh.ones(2).sum().item() == 2.0
    finally:
        s.close()
        first.stop(grace=0)
        if second is not None:
            second.stop(grace=0)


def test_a_session_closed_by_its_client_is_not_lost(server):
    s = gw.connect(server.address, timeout=10)
    s.close()
    with pytest.raises(gw.FailedPreconditionError, match="is closed"):
        s.ones(1)


def test_an_error_of_a_live_session_is_not_a_loss(session):
    with pytest.raises(gw.InvalidArgumentError) as info:
        (session.ones(2, 3) @ session.ones(2, 3)).numpy()
    assert not isinstance(info.value, gw.SessionLostError)
    assert session.ones(1).item() == 1.0
