"""Take a request stream's messages on gRPC's polling thread, without waking the handler for each.

gRPC's synchronous server hands every request message to the handler's thread: the handler
asks for the next message, gRPC's polling thread takes the completion and wakes the handler,
which takes the message, works on it, and only then asks for the next one. That is two
hand-overs between threads per message. ``RequestReceiver`` runs the handler's work on each
message in the completion's callback, on the polling thread, and starts the next receive from
there; the handler's thread sleeps until the stream has ended. For an upload (256 messages of
1 MiB for 256 MiB) that is what lets storing the chunks keep up with a server that only counts
them (benchmarks/RESULTS.md, session 21).

The work done per message must be short and must not block or wait for the handler: it holds
up every other call's completions while it runs. Copying a 1 MiB chunk (NumPy, the GIL
released) costs about what gRPC's own conversion of the message into ``bytes`` costs there.

This reads grpcio's private server state (``grpc._server``), as ``replysend`` does. Where that
layer is not what this module expects, ``RequestReceiver.of`` returns None and the handler
iterates over its requests as usual.
"""

from __future__ import annotations

try:
    from grpc import _server as _grpc_server
    from grpc._cython import cygrpc
except ImportError:  # pragma: no cover - a grpcio without the layer
    _grpc_server = cygrpc = None

_LAYER = ("_possibly_finish_call", "_is_rpc_state_active", "_raise_rpc_error")
_AVAILABLE = _grpc_server is not None and all(hasattr(_grpc_server, name) for name in _LAYER)
_TOKEN = "gradwire_receive_message"  # in the call state's set of operations due, while one of ours is


class RequestReceiver:
    """Receives the rest of one server call's request stream, each message handed to a callback on gRPC's polling thread."""

    def __init__(self, call, state):
        self._call, self._state = call, state
        self._on_message = None  # during receive()
        self._failure = None  # what on_message raised
        self._ended = False  # no receive of ours is outstanding

    @classmethod
    def of(cls, requests) -> RequestReceiver | None:
        """A receiver for ``requests`` (the request iterator gRPC gave a handler), or None where gRPC's layer is not as expected."""
        call, state = getattr(requests, "_call", None), getattr(requests, "_state", None)
        if not _AVAILABLE or not hasattr(call, "start_server_batch") or not all(hasattr(state, name) for name in ("due", "condition")):
            return None
        return cls(call, state)

    def receive(self, on_message) -> None:
        """Call ``on_message(data)`` for each message still to come (``bytes``, in order, on gRPC's polling thread)
        and return after the client's last. An exception from ``on_message`` stops the receiving and is raised
        here; a call that gRPC already knows cancelled raises ``grpc.RpcError``, as gRPC's request iterator does.
        (A cancelled call's last receive can complete before gRPC marks the call cancelled: the stream then
        reads as ended, to gRPC's iterator as here.)"""
        state = self._state
        self._on_message, self._failure, self._ended = on_message, None, False
        with state.condition:
            if _grpc_server._is_rpc_state_active(state) and self._start():
                state.due.add(_TOKEN)  # gRPC finishes the call only once our receive is done too
                while not self._ended:  # gRPC completes every operation it started, a cancelled call's too
                    state.condition.wait()
        self._on_message = None  # what it refers to (an upload's buffer) is not kept with this receiver
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
        if not _grpc_server._is_rpc_state_active(state):
            _grpc_server._raise_rpc_error(state)

    def _start(self) -> bool:
        """Start receiving the next message (under the state's condition); False if gRPC refused (the call is over)."""
        return self._call.start_server_batch((cygrpc.ReceiveMessageOperation(0),), self._received) == 0

    def _received(self, event):
        """A receive's completion, on gRPC's polling thread, which must get its (state, callbacks) back: nothing may raise."""
        data = event.batch_operations[0].message()  # None: the client's stream has ended
        if data is not None:
            try:
                self._on_message(data)
            except BaseException as error:  # noqa: BLE001 (raised in the handler's thread instead)
                self._failure = error
        state = self._state
        with state.condition:
            if data is not None and self._failure is None and _grpc_server._is_rpc_state_active(state) and self._start():
                return None, ()  # the next receive is outstanding: our token stays due
            self._ended = True
            state.condition.notify_all()
            return _grpc_server._possibly_finish_call(state, _TOKEN)
