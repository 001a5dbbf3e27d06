"""The server's ``replysend.ReplySender``: a stream handler's messages sent without waiting for each send.

Against a small gRPC server of the test's own whose handler sends through a ReplySender and yields
nothing: messages in order and whole, a backlog far past gRPC's flow-control windows (each send
waits only for the one before), the call's status after its messages (OK or an error), a client
that cancels, and gradwire's server falling back to gRPC's own sends where the layer is missing.
"""

from __future__ import annotations

import threading

import grpc
import pytest

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb
from gradwire_server import replysend
from gradwire_server.replysend import ReplySender

from tests.e2e._streams import assert_trains_steadily, start_stream_server

METHOD = "/test.Stream/Send"
BACKLOG = 300  # replies of 64 KiB: far more than gRPC's flow-control windows hold


class SendingServer:
    """For each request ``Batch`` with ``seq`` n: n replies of ``payload`` bytes each through a ReplySender;
    then the handler returns, or aborts with ``end_code``. ``on_sent`` counts the sends that completed."""

    def __init__(self, payload=0, end_code=None):
        self.sent = 0
        self.refused = threading.Event()  # a send found the call over
        self.handler_done = threading.Event()
        self.lock = threading.Lock()

        def counted():
            with self.lock:
                self.sent += 1

        def handler(requests, context):
            try:
                sender = ReplySender.of(context)
                assert sender is not None, "grpcio's server layer is not what replysend expects"
                for batch in requests:
                    for n in range(batch.seq):
                        reply = pb.BatchReply(seq=n + 1, results=[pb.Result(command=n, tensor=pb.TensorData(data=b"\1" * payload))])
                        if not sender.send(reply.SerializeToString(), counted):
                            self.refused.set()
                            return
                    sender.wait()
                    if end_code is not None:
                        context.abort(end_code, f"ended after {batch.seq} replies")
            finally:
                self.handler_done.set()
            yield from ()

        self._server, self.address = start_stream_server("test.Stream", "Send", handler)
        self.channel = grpc.insecure_channel(self.address)
        self.call = self.channel.stream_stream(METHOD, pb.Batch.SerializeToString, pb.BatchReply.FromString)

    def stop(self):
        self.channel.close()
        self._server.stop(0)


@pytest.fixture
def sending_server(request):
    servers = []

    def make(**kwargs):
        servers.append(SendingServer(**kwargs))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


def test_messages_arrive_in_order_then_the_status(sending_server):
    server = sending_server()
    replies = list(server.call(iter([pb.Batch(seq=5)]), timeout=10))
    assert [r.seq for r in replies] == [1, 2, 3, 4, 5]
    assert server.handler_done.wait(5) and server.sent == 5  # each send reported done once it had gone


def test_a_backlog_past_the_flow_control_windows_all_arrives(sending_server):
    # the client reads slowly: the handler's sends wait for one another, nothing is lost or reordered
    server = sending_server(payload=64 << 10)
    replies = server.call(iter([pb.Batch(seq=BACKLOG)]), timeout=30)
    first = next(replies)
    assert not server.handler_done.wait(0.2)  # held back by the unread replies, not finished
    rest = list(replies)
    assert [r.seq for r in [first, *rest]] == list(range(1, BACKLOG + 1))
    assert all(len(r.results[0].tensor.data) == 64 << 10 for r in rest)


def test_an_error_status_comes_after_the_messages_before_it(sending_server):
    server = sending_server(end_code=grpc.StatusCode.NOT_FOUND)
    replies = server.call(iter([pb.Batch(seq=3)]), timeout=10)
    assert [next(replies).seq for _ in range(3)] == [1, 2, 3]
    with pytest.raises(grpc.RpcError) as raised:
        next(replies)
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND and raised.value.details() == "ended after 3 replies"


def test_a_client_that_cancels_ends_the_handler(sending_server):
    server = sending_server(payload=64 << 10)
    replies = server.call(iter([pb.Batch(seq=100_000)]), timeout=30)  # more than the windows hold: the sends wait
    assert next(replies).seq == 1
    replies.cancel()
    assert server.handler_done.wait(10) and server.refused.is_set()  # the waiting send found the call over


def test_a_session_runs_where_the_sender_is_missing(server, monkeypatch):
    # a grpcio whose server layer changed: the stream yields its replies to gRPC, the same contract
    monkeypatch.setattr(replysend, "_AVAILABLE", False)
    made, of = [], ReplySender.of.__func__
    monkeypatch.setattr(ReplySender, "of", classmethod(lambda cls, context: made.append(of(cls, context)) or made[-1]))
    with gw.connect(server.address, seed=0, timeout=10) as s:
        assert_trains_steadily(s)
    assert made == [None]  # the session's one stream, on gRPC's own sends


def test_gradwire_streams_send_through_the_sender(server, monkeypatch):
    made, of = [], ReplySender.of.__func__
    monkeypatch.setattr(ReplySender, "of", classmethod(lambda cls, context: made.append(of(cls, context)) or made[-1]))
    with gw.connect(server.address, timeout=10) as s:
        assert (s.ones(3) * 2).sum().item() == 6.0
    assert len(made) == 1 and type(made[0]) is ReplySender  # grpcio's layer as expected here: the fast path runs
