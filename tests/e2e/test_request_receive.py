"""The server's ``requestreceive.RequestReceiver``: a request stream's messages taken on gRPC's polling thread.

Against a small gRPC server of the test's own whose handler receives through a RequestReceiver:
every message in order and whole, an error in the handler's work raised in the handler's thread
(the client gets its status, the server serves on), a client that cancels, a server that stops
mid-stream; and gradwire's Upload on the receiver, or on gRPC's own request iterator where the
layer is missing.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent import futures

import grpc
import numpy as np
import pytest

import gradwire as gw
from gradwire_server import requestreceive
from gradwire_server.requestreceive import RequestReceiver

METHOD = "/test.Receive/Count"
WAIT_S = 10


class ReceivingServer:
    """Answers each call with the number of its messages and the SHA-256 of their bytes joined; the first
    message is taken from gRPC's request iterator, the rest through a RequestReceiver. A message b"fail" makes the
    handler's work raise."""

    def __init__(self):
        self.threads = set()  # the threads the messages after the first were handed over on
        self.received = []  # every message, in the order received, all calls together
        self.outcome = []  # per call: "ok", or the type of exception the receiving raised
        self.handler_done = threading.Event()
        self.started = threading.Event()

        def handler(requests, context):
            try:
                first = next(requests, None)
                messages = [] if first is None else [first]
                self.received.extend(messages)
                receiver = RequestReceiver.of(requests)
                assert receiver is not None, "grpcio's server layer is not what requestreceive expects"

                def take(data):
                    if data == b"fail":
                        raise ValueError("a bad message")
                    self.threads.add(threading.get_ident())
                    messages.append(data)
                    self.received.append(data)
                    self.started.set()

                try:
                    receiver.receive(take)
                except Exception as error:
                    self.outcome.append(type(error))
                    if isinstance(error, ValueError):
                        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
                    raise
                self.outcome.append("ok")
                self.handler_thread = threading.get_ident()
                return _digest(messages)
            finally:
                self.handler_done.set()

        rpc = grpc.stream_unary_rpc_method_handler(handler)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Receive", {"Count": rpc}),))
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()
        self.channel = grpc.insecure_channel(self.address)
        self.call = self.channel.stream_unary(METHOD)

    def stop(self, grace=0):
        self.channel.close()
        self._server.stop(grace).wait(WAIT_S)


def _digest(messages) -> bytes:
    return b"%d:%s" % (len(messages), hashlib.sha256(b"".join(messages)).hexdigest().encode())


@pytest.fixture
def receiving_server():
    server = ReceivingServer()
    yield server
    server.stop()


def _held_open(messages, release: threading.Event):
    """``messages``, then a request stream that stays open until ``release`` is set."""
    yield from messages
    release.wait(WAIT_S)


def test_every_message_arrives_whole_and_in_order(receiving_server):
    messages = [bytes([n % 256]) * (n * 997 % 70_000) for n in range(400)]  # sizes 0 to 70 kB, each its own byte
    reply = receiving_server.call(iter(messages), timeout=WAIT_S)
    assert reply == _digest(messages)
    assert receiving_server.outcome == ["ok"]
    assert receiving_server.handler_thread not in receiving_server.threads  # the work ran on gRPC's thread, not the handler's


def test_a_stream_of_one_message_or_none(receiving_server):
    assert receiving_server.call(iter([b"only"]), timeout=WAIT_S) == _digest([b"only"])
    assert receiving_server.call(iter([]), timeout=WAIT_S) == _digest([])
    assert receiving_server.outcome == ["ok", "ok"]


def test_an_error_in_the_work_reaches_the_client_and_the_server_serves_on(receiving_server):
    release = threading.Event()
    with pytest.raises(grpc.RpcError) as raised:
        receiving_server.call(_held_open([b"a", b"b", b"fail", b"never"], release), timeout=WAIT_S)
    release.set()
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT and raised.value.details() == "a bad message"
    assert receiving_server.outcome == [ValueError]
    assert receiving_server.received == [b"a", b"b"]  # nothing taken after the failing message
    assert receiving_server.call(iter([b"x", b"y"]), timeout=WAIT_S) == _digest([b"x", b"y"])


# In the two tests below the cancelled call's last receive can complete before gRPC marks the call cancelled;
# then the stream reads as ended, as it does to gRPC's own request iterator. Either way the handler returns.


def test_a_client_that_cancels_ends_the_handler(receiving_server):
    release = threading.Event()
    call = receiving_server.call.future(_held_open([b"a", b"b"], release))
    assert receiving_server.started.wait(WAIT_S)
    call.cancel()
    assert receiving_server.handler_done.wait(WAIT_S)
    release.set()
    assert receiving_server.outcome in (["ok"], [grpc.RpcError])  # RpcError as gRPC's iterator raises, or the race below
    assert receiving_server.received == [b"a", b"b"]


def test_a_server_that_stops_mid_stream_ends_the_handler(receiving_server):
    release = threading.Event()
    call = receiving_server.call.future(_held_open([b"a"] * 3, release))
    assert receiving_server.started.wait(WAIT_S)
    receiving_server._server.stop(0.2).wait(WAIT_S)  # the grace passes with the stream open: gRPC cancels the call
    release.set()
    assert receiving_server.handler_done.wait(WAIT_S)  # not left waiting for a message that cannot come
    assert receiving_server.outcome in (["ok"], [grpc.RpcError])  # RpcError, or the race below
    with pytest.raises(grpc.RpcError):
        call.result(WAIT_S)


@pytest.fixture
def uploads_seen(monkeypatch):
    """The receivers that gradwire's Upload handler got, one per upload (None: gRPC's own request iterator)."""
    made, of = [], RequestReceiver.of.__func__
    monkeypatch.setattr(RequestReceiver, "of", classmethod(lambda cls, requests: made.append(of(cls, requests)) or made[-1]))
    return made


def _round_trip(session):
    array = np.random.default_rng(3).standard_normal(700_000).astype(np.float32)  # 2.8 MiB: three chunks
    assert array.nbytes > 2 * session.limits.chunk_bytes
    x = session.tensor(array)
    np.testing.assert_array_equal(x.numpy(), array)
    assert (x * 2).sum().item() == pytest.approx(2 * float(array.astype(np.float64).sum()), rel=1e-5)


def test_gradwire_uploads_store_their_chunks_through_the_receiver(session, uploads_seen):
    _round_trip(session)
    assert len(uploads_seen) == 1 and type(uploads_seen[0]) is RequestReceiver  # grpcio's layer as expected here


def test_gradwire_uploads_where_the_receiver_is_missing(session, uploads_seen, monkeypatch):
    # a grpcio whose server layer changed: the chunks come through gRPC's request iterator, the same contract
    monkeypatch.setattr(requestreceive, "_AVAILABLE", False)
    _round_trip(session)
    assert uploads_seen == [None]
    with pytest.raises(gw.InvalidArgumentError, match="chunk out of order"):
        _upload_out_of_order(session)


def test_a_bad_chunk_through_the_receiver_is_a_typed_error(session, uploads_seen):
    with pytest.raises(gw.InvalidArgumentError, match="chunk out of order: expected offset 8, got 12"):
        _upload_out_of_order(session)
    assert type(uploads_seen[0]) is RequestReceiver
    assert (session.ones(2) * 3).sum().item() == 6.0  # the session carries on


def _upload_out_of_order(session):
    from gradwire.v1 import gradwire_pb2 as pb

    head = pb.TensorChunk(handle=97, meta=pb.TensorMeta(dtype="float32", shape=[4]), total_bytes=16, data=b"\0" * 8)
    chunks = [head, pb.TensorChunk(offset=12, data=b"\0" * 4)]
    return session._unary(session._upload_raw, (c.SerializeToString() for c in chunks))
