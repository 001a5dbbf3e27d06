"""The SDK's channel: plain or TLS, waiting for it with a typed error that says why it failed, and the
session's command stream on it (``RunCall``).

A plain client that reaches a TLS server (or a TLS client a plain one, or a
mutual-TLS server without a client certificate) gets its connection closed at
once, over and over; waiting the whole ``timeout`` for it would look like a hang.
So while the channel is not ready, a fail-fast health probe asks gRPC why the last
attempt failed: a refused connection (no server yet) keeps us waiting up to the
timeout, a connection closed during setup or a failed TLS handshake is raised at once.
"""

from __future__ import annotations

import collections
import queue
import time

import grpc

try:  # RunCall drives the call API under grpc's public one (see there); a grpcio without it gets ThreadedRunCall
    from grpc._cython import cygrpc

    _SEGREGATED = hasattr(cygrpc.Channel, "segregated_call") and hasattr(cygrpc, "SegregatedCall")
except ImportError:  # pragma: no cover (every grpcio to date has it)
    cygrpc, _SEGREGATED = None, False

from . import errors

_HEALTH_CHECK = "/grpc.health.v1.Health/Check"  # open without an API key; b"" is an empty HealthCheckRequest
_POLL_S = 0.25
_CLOSED_DURING_SETUP = ("socket closed", "connection reset", "end of tcp stream", "connection closed")
_HANDSHAKE = ("handshake", "ssl_error", "tsi_", "certificate")  # not "tls": a host name may hold it


def _read(path, what: str) -> bytes:
    with open(path, "rb") as f:  # a missing file is the caller's: FileNotFoundError, as open() raises
        data = f.read()
    if not data.strip():
        raise errors.InvalidArgumentError(f"{what} {path} is empty")
    return data


def open_channel(target: str, options, *, tls=False, tls_ca=None, tls_cert=None, tls_key=None) -> grpc.Channel:
    """A channel to ``target``: TLS when ``tls`` or any ``tls_*`` path is given, else plain text.

    ``tls_ca`` verifies the server (PEM; default: the system's roots); ``tls_cert`` and
    ``tls_key`` (PEM) are this client's certificate and key, for a server that requires them.
    """
    if bool(tls_cert) != bool(tls_key):
        raise errors.InvalidArgumentError("a client certificate needs both tls_cert= and tls_key=")
    if not (tls or tls_ca or tls_cert):
        return grpc.insecure_channel(target, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(tls_ca, "tls_ca") if tls_ca else None,
        private_key=_read(tls_key, "tls_key") if tls_key else None,
        certificate_chain=_read(tls_cert, "tls_cert") if tls_cert else None,
    )
    return grpc.secure_channel(target, credentials, options=options)


def wait_ready(channel: grpc.Channel, target: str, timeout: float):
    """Return once ``channel`` is connected; raise ``UnavailableError`` saying why it is not.

    At once for a connection the server closed during setup or a failed TLS handshake;
    after ``timeout`` seconds for a server that does not answer.
    """
    deadline = time.monotonic() + timeout
    # (a health probe, not grpc.channel_ready_future: that one's connectivity thread costs channel.close() 0.2 s)
    probe = channel.unary_unary(_HEALTH_CHECK)  # no serializers: raw bytes both ways
    while True:
        why = _last_failure(probe, deadline - time.monotonic())
        if why is None:
            return  # the probe got through: connected
        lowered = why.lower()
        if any(s in lowered for s in _CLOSED_DURING_SETUP):
            raise errors.UnavailableError(
                f"{target} closed the connection while it was being set up ({why}). A TLS server closes "
                f"plain connections: connect with tls=True (and tls_ca=); a mutual-TLS server closes those "
                f"without a client certificate: pass tls_cert= and tls_key="
            )
        if any(s in lowered for s in _HANDSHAKE):
            raise errors.UnavailableError(
                f"the TLS handshake with {target} failed ({why}); check tls_ca= (the CA that signed the "
                f"server's certificate) and that the server serves TLS"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            last = f" (last error: {why})" if why else ""
            raise errors.UnavailableError(f"no gradwire server answered at {target} within {timeout} s{last}")
        time.sleep(min(remaining, _POLL_S))  # gRPC's reconnect backoff decides when the channel tries again


def _last_failure(probe, remaining: float) -> str | None:
    """Why the channel's last connection attempt failed ("" while still connecting); None if connected."""
    try:
        probe(b"", timeout=min(max(remaining, 0.05), 1.0))
    except grpc.RpcError as error:
        code = error.code() if hasattr(error, "code") else None
        if code is grpc.StatusCode.UNAVAILABLE:
            return error.details() or ""
        if code is grpc.StatusCode.DEADLINE_EXCEEDED:
            return ""
    return None


class _Stream:
    """What both streams share: an exception inside a wait (Ctrl-C) breaks the call, whose sends are then
    dropped and whose ``next()`` raises ``StopIteration``: the session opens a new stream and resends."""

    _broken = False

    def __iter__(self):
        return self

    def __next__(self):
        """The next reply; at the end of the stream ``StopIteration``, or the error that ended it."""
        if self._broken:
            raise StopIteration
        try:
            return self._next_reply()
        except (StopIteration, grpc.RpcError):
            raise
        except BaseException:
            self._broken = True
            raise

    def _unless_broken(self, work):
        if not self._broken:
            try:
                work()
            except BaseException:
                self._broken = True
                raise


class RunCall(_Stream):
    """A bidirectional stream that the thread using it drives itself: ``send()``, ``next()``,
    ``done_writing()``, ``cancel()``.

    gRPC's public stream API moves every message through threads of its own: one takes the
    requests from an iterator and sends them, one polls the channel for completions and wakes the
    reader. Each is a hand-over between threads, and a Run-stream round trip pays several: on a
    guest whose idle vCPUs halt, about 20 us each (a bare echo's round trip 240 us, against 160
    here; benchmarks/RESULTS.md, session 17). This call has a completion queue of its own (gRPC's
    "segregated" call, which its single-threaded unary-stream option uses too), polled by the
    caller while it waits: a sync point sends its batch and sleeps in gRPC until the answer is in.

    One send is outstanding at a time (gRPC's rule): a send that finds the last one still going
    waits for it and reads replies meanwhile, so a server blocked on sending cannot block us. The
    call's end is raised by ``next()`` once the replies before it are read: ``StopIteration`` for
    OK, else a ``grpc.RpcError`` with ``code()`` and ``details()``. An exception inside a wait
    (Ctrl-C) can land between gRPC handing over an event and this object noting it, so it breaks
    the call: later sends are dropped and ``next()`` raises ``StopIteration``, and the session opens
    a new stream and resends what is unacknowledged, as after a cut connection.
    """

    def __init__(self, channel: grpc.Channel, method: str, metadata, deserialize):
        self._deserialize = deserialize
        self._replies = collections.deque()
        self._sending = self._receiving = False
        self._stream_ended = False  # the server sent its last message
        self._status = None  # a _StreamError once the call is over
        operations = (
            ((cygrpc.SendInitialMetadataOperation(metadata, 0),), None),
            ((cygrpc.ReceiveInitialMetadataOperation(0),), None),
            ((cygrpc.ReceiveStatusOnClientOperation(0),), None),
        )
        self._call = channel._channel.segregated_call(
            cygrpc.PropagationConstants.GRPC_PROPAGATE_DEFAULTS, method.encode(), None, None, metadata, None,
            operations, cygrpc.build_census_context(), None,
        )
        self._pending = len(operations)  # operations started and not completed: the queue is polled only while there are some

    def send(self, message) -> None:
        """Send ``message`` (a protobuf); dropped if the call is over or broken (``next()`` says so)."""
        data = message.SerializeToString()

        def send():
            self._settle_send()
            if self._status is None:
                self._sending = self._operate(cygrpc.SendMessageOperation(data, 0))

        self._unless_broken(send)

    def done_writing(self) -> None:
        """No more messages from this side."""

        def close():
            self._settle_send()
            if self._status is None:
                self._operate(cygrpc.SendCloseFromClientOperation(0))

        self._unless_broken(close)

    def _next_reply(self):
        while not self._replies:
            if self._stream_ended or self._status is not None and not self._receiving:
                while self._status is None:  # the last message came: the status follows
                    self._poll()
                if self._status.code() is grpc.StatusCode.OK:
                    raise StopIteration
                raise self._status
            if not self._receiving:
                self._receive()
            self._poll()
        return self._replies.popleft()

    def cancel(self) -> None:
        """End the call now; its outstanding operations complete at once and are collected."""
        if self._status is None:
            self._call.cancel(cygrpc.StatusCode.cancelled, "Cancelled by the client")
        if not self._broken:  # a broken call's count may be off: gRPC frees its queue with the channel
            while self._pending:
                self._poll()

    def _settle_send(self):
        """Wait for the last send to complete, reading replies meanwhile (the server may wait on us to read)."""
        while self._sending and self._status is None:
            if not self._receiving and not self._stream_ended:
                self._receive()
            self._poll()

    def _receive(self):
        self._receiving = self._operate(cygrpc.ReceiveMessageOperation(0))

    def _operate(self, operation) -> bool:
        """Start ``operation``; False if the call is over (gRPC takes no more)."""
        started = bool(self._call.operate((operation,), None))
        self._pending += started
        return started

    def _poll(self):
        event = self._call.next_event()  # Ctrl-C raises in here (gRPC looks for signals while it waits)
        self._pending -= 1
        for operation in event.batch_operations:
            kind = operation.type()
            if kind == cygrpc.OperationType.send_message:
                self._sending = False
            elif kind == cygrpc.OperationType.receive_message:
                self._receiving = False
                data = operation.message()
                if data is None:
                    self._stream_ended = True
                else:
                    self._replies.append(self._deserialize(data))
            elif kind == cygrpc.OperationType.receive_status_on_client:
                self._status = _StreamError(operation.code(), operation.details())


class ThreadedRunCall(_Stream):
    """``RunCall`` on gRPC's public API (its request iterator and reader threads): the fallback for a
    grpcio whose call API underneath has changed. Slower per round trip; the same contract."""

    def __init__(self, channel: grpc.Channel, method: str, metadata, deserialize):
        self._requests = queue.SimpleQueue()
        call = channel.stream_stream(method, request_serializer=lambda m: m.SerializeToString(), response_deserializer=deserialize)
        self._replies = call(iter(self._requests.get, None), metadata=metadata)

    def send(self, message) -> None:
        self._unless_broken(lambda: self._requests.put(message))

    def done_writing(self) -> None:
        self._requests.put(None)

    def _next_reply(self):
        # a read that Ctrl-C cut stays outstanding in gRPC's call: reading it again raises "call error 8" or
        # completes twice, which kills the channel's thread (every later call hangs); so the cut breaks the call
        try:
            return next(self._replies)
        except ValueError:  # "call error 8"
            raise StopIteration from None

    def cancel(self) -> None:
        self._requests.put(None)
        self._replies.cancel()


def open_run_call(channel: grpc.Channel, method: str, metadata, deserialize):
    """The session's command stream: a ``RunCall``, or a ``ThreadedRunCall`` where grpcio lacks what it needs."""
    return (RunCall if _SEGREGATED else ThreadedRunCall)(channel, method, metadata, deserialize)


class _StreamError(grpc.RpcError):
    """How a ``RunCall`` ended, as gRPC's own errors say it."""

    def __init__(self, code, details):
        super().__init__(details)
        self._code = _STATUS_CODES.get(code, grpc.StatusCode.UNKNOWN)
        self._details = details.decode() if isinstance(details, bytes) else details

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return ()

    def __str__(self):
        return f"<RunCall ended with {self._code.name}: {self._details}>"


_STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}
