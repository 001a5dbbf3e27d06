"""The gRPC servicer: thin. Decode, call the layer below, encode; errors through ``status``."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import threading
import time

import grpc
import numpy as np

from gradwire.v1 import gradwire_pb2 as pb
from gradwire.v1 import gradwire_pb2_grpc as pb_grpc
from gradwire.wire import API_KEY_HEADER, REPLIES_HEADER, SESSION_HEADER, TOKEN_HEADER, decode_chunk, encode_chunk

from . import __version__, commands, logs
from .auth import ApiKeys
from .config import Config
from .engine import NON_DIFFERENTIABLE, OPS, SUPPORTED_DTYPES, parse_dtype
from .errors import InvalidRequest, QuotaExceeded, Unavailable
from .replysend import ReplySender
from .requestreceive import RequestReceiver
from .runstream import RunStream
from .sessions import Session, SessionRegistry
from .status import describe, status_of

log = logging.getLogger("gradwire.server")
_CANCEL_SEEN_S = 0.05  # how long a request stream that ended early may take to show that the client cancelled it


def _client_gone(context) -> bool:
    """Whether the client ended the call. A stream it cancels can read as ended just before gRPC marks the call
    cancelled: this waits ``_CANCEL_SEEN_S`` for the mark (only on a stream that ended short, an error either way)."""
    deadline = time.monotonic() + _CANCEL_SEEN_S
    while context.is_active():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)
    return True


def _aborts_on_error(method):
    """Turn any error raised by an RPC method into its status code, never a bare UNKNOWN."""

    def abort(self, context, error):
        if isinstance(error, grpc.RpcError) and not context.is_active():
            # the request stream failed because the client cancelled or went away: nobody to tell
            log.info("%s: the client ended the call", method.__name__)
            return
        code = status_of(error)
        if code is grpc.StatusCode.INTERNAL:
            log.exception("internal error in %s", method.__name__)
        else:
            log.info("%s failed: %s", method.__name__, code.name, extra={"rpc": method.__name__, "code": code.name})
        self.registry.metrics.error(code.name)
        context.abort(code, describe(error))

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def stream(self, request, context):
            with logs.call_scope(context):
                try:
                    yield from method(self, request, context)
                except Exception as error:
                    abort(self, context, error)

        return stream

    @functools.wraps(method)
    def unary(self, request, context):
        with logs.call_scope(context):
            try:
                return method(self, request, context)
            except Exception as error:
                abort(self, context, error)

    return unary


def _transfer(method):
    """Count an Upload or Download as work under way for its whole call: ``stop()`` lets it finish."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def stream(self, request, context):
            with self.working():
                yield from method(self, request, context)

        return stream

    @functools.wraps(method)
    def unary(self, request, context):
        with self.working():
            return method(self, request, context)

    return unary


class GradwireServicer(pb_grpc.GradwireServicer):
    def __init__(self, registry: SessionRegistry, config: Config, api_keys: ApiKeys | None = None):
        self.registry = registry
        self.config = config
        self.api_keys = api_keys or ApiKeys()  # checked by auth.AuthInterceptor; here: who owns a session
        # a tensor inline in a batch, or one chunk of one, must fit in a message with room to spare
        self.inline_bytes = min(config.inline_bytes, config.max_message_bytes // 2)
        self.chunk_bytes = max(1, min(config.chunk_bytes, config.max_message_bytes // 2))
        self._busy = 0  # batches (until their full reply is sent) and transfers under way; idle streams are not
        self._idle = threading.Condition()
        self.streams = 0  # Run streams whose handler is running (a gRPC thread, and RunStream's receiver each)

    def begin_work(self):
        with self._idle:
            self._busy += 1

    def end_work(self):
        with self._idle:
            self._busy -= 1
            if not self._busy:
                self._idle.notify_all()

    @contextlib.contextmanager
    def working(self):
        self.begin_work()
        try:
            yield
        finally:
            self.end_work()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no batch or transfer is under way (replies sent); False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def _session(self, context) -> Session:
        metadata = dict(context.invocation_metadata())
        owner = self.api_keys.owner(metadata.get(API_KEY_HEADER))
        return self.registry.get(metadata.get(SESSION_HEADER, ""), metadata.get(TOKEN_HEADER, ""), owner)

    def limits(self) -> pb.Limits:
        c = self.config
        return pb.Limits(
            max_session_bytes=c.max_session_bytes, max_tensor_elements=c.max_tensor_elements,
            max_sessions=c.max_sessions, max_batch_commands=c.max_batch_commands,
            inline_bytes=self.inline_bytes, chunk_bytes=self.chunk_bytes, idle_timeout_s=c.idle_timeout_s,
            max_message_bytes=c.max_message_bytes, max_profile_events=c.max_profile_events,
        )

    @_aborts_on_error
    def OpenSession(self, request, context):
        """Open a session under the id the client chose; reply with its secret token."""
        seed = request.seed % 2**64 if request.HasField("seed") else None  # a negative seed wraps around, as torch's
        owner = self.api_keys.owner(dict(context.invocation_metadata()).get(API_KEY_HEADER))
        session = self.registry.open(request.session_id, seed, owner)
        return pb.OpenSessionReply(token=session.token, device=session.engine.device, limits=self.limits())

    @_aborts_on_error
    def CloseSession(self, request, context):
        """Close the caller's session and free everything it holds."""
        self.registry.end(self._session(context), "closed by the client")
        return pb.CloseSessionReply()

    @_aborts_on_error
    def Run(self, request_iterator, context):
        """Apply each batch of the session's stream in order; reply once per batch (and early to a fetch).

        A ``RunStream`` receives the next batch on a thread of its own while this thread
        applies the last one and starts sending its replies (``ReplySender``), so the engine
        never waits for the network.
        """
        session = self._session(context)
        replies_along = REPLIES_HEADER in (context.invocation_metadata() or ())  # a client that reads BatchReply.earlier
        with self._idle:
            self.streams += 1
        try:
            stream = RunStream(
                request_iterator, functools.partial(self._apply_batch, session, context), self.begin_work, self.end_work,
                functools.partial(logs.call_scope, context), name=f"gradwire-run-{session.id[:8]}", replies_along=replies_along,
                sender=ReplySender.of(context),
            )
            yield from stream.replies()
        finally:  # the stream ended, however: its client closed it, vanished, or the server stopped
            with self._idle:
                self.streams -= 1

    def _apply_batch(self, session: Session, context, batch: pb.Batch):
        """A batch's replies, on the stream's worker thread."""
        if self.registry.draining:
            raise Unavailable("server is shutting down")
        with session.lock:
            self._session(context)  # ended while this batch waited? say which way
            # a batch resent after a reconnect is answered from the session's window, not run twice
            yield from session.apply_once(batch, functools.partial(self._run_batch, session), self.config.dedupe_window)
            session.last_used = time.monotonic()
        if session.last_reply is not None:
            self.registry.metrics.batch(batch, (session.last_reply,))

    def _run_batch(self, session: Session, batch: pb.Batch):
        """The replies of one batch; a batch over ``max_batch_commands`` is refused whole and the stream goes on."""
        if len(batch.commands) > self.config.max_batch_commands:
            error = QuotaExceeded(f"max_batch_commands limit: a batch of {len(batch.commands)} commands exceeds {self.config.max_batch_commands}")
            return iter((commands.refuse_batch(session, batch, error),))
        return commands.run_batch(session, batch, inline_bytes=self.inline_bytes)

    @_aborts_on_error
    @_transfer
    def Upload(self, request_iterator, context):
        """Receive one tensor in chunks, in order, and bind it to the handle in the header.

        Requests arrive as raw bytes (see ``app.service_handlers``): data chunks are
        read in place by ``wire.decode_chunk``, without a protobuf copy, and stored
        by gRPC's polling thread as they arrive (``requestreceive``).
        """
        session = self._session(context)
        first = next(request_iterator, None)
        header = _parse_chunk(first) if first is not None else None
        if header is None or not header.HasField("meta"):
            raise InvalidRequest("upload: the first chunk must carry the header (handle, meta, total_bytes)")
        dtype = parse_dtype(header.meta.dtype)
        shape = tuple(header.meta.shape)
        expected = dtype.itemsize * session.quota.check_elements(shape, "an uploaded tensor")
        if header.total_bytes != expected:
            raise InvalidRequest(f"upload: total_bytes {header.total_bytes} does not match dtype {dtype.name} and shape {list(shape)} ({expected} bytes)")
        with session.lock:  # the estimate and the walk behind it are the session's, like its handles
            session.quota.reserve(expected, "an uploaded tensor")
        buffer = self.registry.host_buffers.take(expected)
        filled = 0

        def store(offset, data):
            nonlocal filled
            if offset != filled:
                raise InvalidRequest(f"upload: chunk out of order: expected offset {filled}, got {offset}")
            end = filled + len(data)
            if end > expected:
                raise InvalidRequest(f"upload: {end} bytes sent for a tensor of {expected} bytes")
            buffer[filled:end] = np.frombuffer(data, dtype=np.uint8)
            filled = end

        store(header.offset, header.data)
        receiver = RequestReceiver.of(request_iterator)  # the chunks stored on gRPC's polling thread as they come
        if receiver is not None:
            receiver.receive(lambda raw: store(*_chunk_data(raw)))
        else:
            for raw in request_iterator:
                store(*_chunk_data(raw))
        if filled != expected:
            if _client_gone(context):
                log.info("Upload: the client ended the call after %d of %d bytes", filled, expected)
                return pb.UploadReply()  # (nobody reads it)
            raise InvalidRequest(f"upload: chunks missing: received {filled} of {expected} bytes")
        with session.lock, session.engine.stream:
            self._session(context)  # closed, expired or drained while the chunks arrived? say which way
            tensor = session.engine.adopt(buffer.view(dtype).reshape(shape), requires_grad=header.requires_grad)
            if header.handle and header.handle == session.last_upload:
                session.tensors.pop(header.handle, None)  # the same upload resent, its reply lost: the new copy replaces it
            session.bind(header.handle, tensor)
            session.last_upload = header.handle
        self.registry.metrics.transfer("in", expected)
        return pb.UploadReply(handle=header.handle, bytes=expected)

    @_aborts_on_error
    @_transfer
    def Download(self, request, context):
        """Send one tensor in chunks; the first carries the header. Replies go out as raw bytes."""
        session = self._session(context)
        with session.lock, session.engine.stream:
            tensor = session.tensor(request.handle)
            flat = self.registry.backend.host_bytes(tensor.array, self.registry.host_buffers.take)
            meta = commands.tensor_meta(tensor, chunked=True)
        step = self.chunk_bytes
        head = pb.TensorChunk(handle=request.handle, meta=meta, total_bytes=flat.size, offset=0, data=flat[:step].tobytes())
        yield head.SerializeToString()
        for offset in range(step, flat.size, step):
            yield encode_chunk(offset, flat[offset : offset + step])
        self.registry.metrics.transfer("out", flat.size)

    @_aborts_on_error
    def GetServerInfo(self, request, context):
        """Version, device, limits and capabilities of this server."""
        return pb.ServerInfo(
            version=__version__, device=self.registry.backend.device, limits=self.limits(),
            ops=sorted(OPS), non_differentiable=sorted(NON_DIFFERENTIABLE), dtypes=self.registry.backend.dtypes(),
            features=commands.FEATURES,
        )


def _parse_chunk(raw: bytes) -> pb.TensorChunk:
    try:
        return pb.TensorChunk.FromString(raw)
    except Exception:  # protobuf's DecodeError, whatever the implementation
        raise InvalidRequest("upload: a chunk is not a valid TensorChunk") from None


def _chunk_data(raw: bytes):
    """(offset, data) of one upload chunk; data chunks are read in place."""
    try:
        decoded = decode_chunk(raw)
    except ValueError as error:
        raise InvalidRequest(f"upload: malformed chunk: {error}") from None
    if decoded is None:  # a chunk with header fields: parse it the ordinary way
        chunk = _parse_chunk(raw)
        return chunk.offset, chunk.data
    return decoded

