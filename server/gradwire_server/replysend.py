"""Send a stream's replies without waiting for each send to finish (gRPC's synchronous server waits).

gRPC's synchronous server sends what a response-streaming handler yields, and holds the
handler's thread until that send has completed: gRPC's polling thread must take the
completion and wake the handler, 0.1-0.2 ms on a small machine while the engine competes
for the GIL. For a Run stream that is the early answer's send, in the middle of a batch,
every training step. ``ReplySender`` starts the send on the call the way gRPC's server
does (the same operations, the same bookkeeping in the call's state, so gRPC finishes the
call only once the send is done), and returns at once; the next send waits for the last
one only if it is still going, as gRPC allows one message send in flight per call.

This reads grpcio's private server state (``grpc._server``). Where that layer is not
what this module expects, ``ReplySender.of`` returns None and the stream yields its
replies to gRPC as usual.
"""

from __future__ import annotations

try:
    from grpc import _server as _grpc_server
    from grpc._cython import cygrpc
except ImportError:  # pragma: no cover - a grpcio without the layer
    _grpc_server = cygrpc = None

_LAYER = ("_send_message", "_is_rpc_state_active", "_get_initial_metadata_operation",
          "_get_send_message_op_flags_from_state", "_reset_per_message_state")
_AVAILABLE = _grpc_server is not None and all(hasattr(_grpc_server, name) for name in _LAYER)
_TOKEN = "gradwire_send_message"  # in the call state's set of operations due, while one of ours is


class ReplySender:
    """Starts each message's send on one server call and returns; ``send`` waits only for the one before."""

    def __init__(self, call, state):
        self._call, self._state = call, state

    @classmethod
    def of(cls, context) -> ReplySender | None:
        """A sender for the call of ``context`` (a handler's ServicerContext), or None where gRPC's layer is not as expected."""
        call = getattr(getattr(context, "_rpc_event", None), "call", None)
        state = getattr(context, "_state", None)
        if not _AVAILABLE or call is None or not hasattr(state, "due") or not hasattr(state, "condition"):
            return None
        return cls(call, state)

    def send(self, data: bytes, on_sent=None) -> bool:
        """Start sending ``data`` (a serialized message); ``on_sent()`` runs once it has gone, on gRPC's polling
        thread. False, and ``on_sent`` never runs, if the call is over (the client cancelled or went away)."""
        state, g = self._state, _grpc_server
        with state.condition:
            while _TOKEN in state.due:  # the last send still going: one message send in flight per call
                state.condition.wait()
            if not g._is_rpc_state_active(state):
                return False
            message = cygrpc.SendMessageOperation(data, g._get_send_message_op_flags_from_state(state))
            if state.initial_metadata_allowed:
                operations = (g._get_initial_metadata_operation(state, None), message)
                state.initial_metadata_allowed = False
            else:
                operations = (message,)
            finish = g._send_message(state, _TOKEN)  # notifies the condition, and lets gRPC finish the call once none is due

            def sent(event):
                if on_sent is not None:
                    on_sent()
                return finish(event)

            self._call.start_server_batch(operations, sent)
            state.due.add(_TOKEN)
            g._reset_per_message_state(state)
            return True

    def wait(self):
        """Until the last send has completed (on a call that ended first, gRPC completes it as failed)."""
        state = self._state
        with state.condition:
            while _TOKEN in state.due:
                state.condition.wait()
