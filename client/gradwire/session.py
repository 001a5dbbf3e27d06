"""``Session``: the channel, the ordered command stream, handles, and sync points.

Ops are queued as commands with handles the client chose, and sent in batches
on one bidirectional stream without waiting. The client blocks only at a sync
point (``numpy()``, ``item()``, ``sync()``, ...): it then flushes, reads the
replies up to its last batch, and raises the first error any command met,
naming that command's op and the line of user code that issued it.
"""

from __future__ import annotations

import atexit
import hashlib
import math
import os
import secrets
import sys
import threading
import time
import uuid
import weakref

import grpc
import numpy as np

from . import floats
from .floats import is_floating
from . import defaults, errors
from .grad_mode import _anomaly, is_grad_enabled, set_grad_enabled
from .shapes import promote
from .tensor import _CPP_TYPE_NAMES, _TENSOR_TYPE_NAMES, Tensor, _as_int, _check_fill, as_dtype, overflow_error
from .transport import open_channel, open_run_call, wait_ready
from .v1 import gradwire_pb2 as pb
from .v1 import gradwire_pb2_grpc as pb_grpc
from .wire import API_KEY_HEADER, REPLIES_HEADER, SESSION_HEADER, TOKEN_HEADER, BufferPool, decode_chunk, encode_chunk, encode_param, from_tensor_data, put_param, wide_int

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
BATCH_COMMANDS = 1024  # a batch goes out when it holds this many commands (a long stream of ops: the server starts on it sooner)...
BATCH_BYTES = 4 << 20  # ...or this many bytes of inline tensors
RELEASE_EVERY = 32  # handles of collected tensors queue up to this many before a release goes out
_MESSAGE_BYTES = 64 << 20
_FAILED_KEPT = 1000  # sites of failed commands kept, for errors of commands that depend on them
_TRACED_KEPT = 100_000  # sites of ops issued under anomaly detection kept, for a backward's NaN error to name
MAX_IN_FLIGHT = 32  # batches sent and not yet acknowledged; the server keeps more replies than this (dedupe_window)
RECONNECT_BACKOFF_S = (0.05, 1.0)  # first wait between reconnect attempts, and the most; doubled each time
# How a server that is stopping ends its streams: nothing to reconnect to. gRPC's own words, then gradwire's.
_SERVER_STOPPING = ("Cancelling all calls", "server is shutting down")
# A stream reset under the call (a proxy whose upstream died sends RST_STREAM): gRPC reports it as
# INTERNAL, but it says nothing of the session; reconnecting finds out whether it lives on.
_STREAM_RESET = ("Stream removed", "RST_STREAM")
_PROBE_S = 2.0  # after the server stopped: how long to wait for a server's word on the session
_CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", _MESSAGE_BYTES),
    ("grpc.max_receive_message_length", _MESSAGE_BYTES),
    ("grpc.http2.max_pings_without_data", 0),
    # after a cut, the channel tries again within a second, not gRPC's default of up to two minutes
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # a download's chunks are read by the thread that asked for them, from the call's own completion queue, with no
    # hand-over from gRPC's channel thread per chunk (as transport.RunCall does for the Run stream): 256 MiB comes
    # down about 7% faster here (benchmarks/RESULTS.md, session 21). Download is the service's one unary-stream call.
    ("SingleThreadedUnaryStream", 1),  # grpc.experimental.ChannelOptions.SingleThreadedUnaryStream
]


def _channel_options(keepalive: float) -> list:
    """The channel's options, with keepalive pings every ``keepalive`` seconds and as long to answer one.

    A connection that went silent (a server or a route gone without a word) is noticed, not waited
    on forever: the stream breaks and the session reconnects. gRPC's own ping timeout (a minute) is
    set the same, as on the server: a keepalive ping can wait behind another unanswered ping.
    """
    if not isinstance(keepalive, (int, float)) or not 0 < keepalive < float("inf"):
        raise errors.InvalidArgumentError(f"keepalive must be a positive number of seconds, got {keepalive!r}")
    ms = max(1, int(keepalive * 1000))
    return _CHANNEL_OPTIONS + [("grpc.keepalive_time_ms", ms), ("grpc.keepalive_timeout_ms", ms), ("grpc.http2.ping_timeout_ms", ms)]


_open_sessions = weakref.WeakSet()
# NumPy computes a dtype's .name in Python at every read (~2 us): the names of the usual ones, once
_DTYPE_NAMES = {np.dtype(t): np.dtype(t).name for t in ("float16", "float32", "float64", "int32", "int64", "bool", "uint8", "int8", "int16",
                                                         "complex64", "complex128")}
if floats.bfloat16 is not None:
    _DTYPE_NAMES[floats.bfloat16] = "bfloat16"


def open_sessions() -> list:
    """The sessions of this process that are open now."""
    return [s for s in list(_open_sessions) if not s.closed]


def resolve_session(session=None):
    """``session`` when given; otherwise the only open session of this process, for what is made without
    one (a layer's parameters, ``gw.zeros(3)``). With none open, or several, the caller must say which."""
    if session is not None:
        return session
    open_now = open_sessions()
    if len(open_now) == 1:
        return open_now[0]
    if not open_now:
        raise errors.FailedPreconditionError("no gradwire session is open: call gw.connect() first, or pass session=")
    raise errors.InvalidArgumentError(f"{len(open_now)} gradwire sessions are open: pass session= to say which one to use")


def _close_open_sessions():
    for session in list(_open_sessions):
        session.close()


# Close sessions left open when the program ends, before Python joins thread pools: an
# embedded server's workers sit in open streams and would otherwise hold up the exit.
# Exit hooks run newest first, so the thread pools' own hook must be registered before ours.
import concurrent.futures.thread  # noqa: E402,F401  (registers the pools' exit hook now)

try:
    threading._register_atexit(_close_open_sessions)
except AttributeError:  # not in every Python; atexit runs later but still frees the server's side
    atexit.register(_close_open_sessions)


def connect(
    target: str | None = None, *, api_key: str | None = None, tls: bool = False, tls_ca: str | None = None,
    tls_cert: str | None = None, tls_key: str | None = None, timeout: float = 30.0, seed: int | None = None,
    device: str = "auto", reconnect_timeout: float = 10.0, keepalive: float = 30.0,
) -> "Session":
    """Open a session on a gradwire server.

    Parameters
    ----------
    target : "host:port" of a server; None starts an embedded server on a free
        loopback port in this process, stopped again by ``close()``.
    api_key : the key the server expects (default: ``GRADWIRE_API_KEY``).
    tls : connect over TLS, verifying the server against the system's root
        certificates (or ``tls_ca``). Implied by any ``tls_*`` path.
    tls_ca : path of the PEM CA bundle that signed the server's certificate.
    tls_cert, tls_key : paths of this client's PEM certificate and private key,
        for a server that requires client certificates (mutual TLS).
    timeout : seconds to wait for the server to answer when connecting.
    seed : seed of the session's random generator (``rand``, ``randn``); drawn at random when None (``initial_seed()`` tells it).
    device : for an embedded server: "auto", "cpu" or "cuda".
    reconnect_timeout : seconds to keep trying when the session's stream breaks (a cut
        connection, a restarted proxy); batches not yet acknowledged are resent and the
        server applies each exactly once. 0 gives up at once.
    keepalive : seconds between HTTP/2 keepalive pings; a server that leaves one unanswered
        as long again is taken as gone (a dropped route closes nothing), and the session
        reconnects as above. A gradwire server accepts pings at any rate.
    """
    return Session(
        target, api_key=api_key, tls=tls, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key, timeout=timeout, seed=seed,
        device=device, reconnect_timeout=reconnect_timeout, keepalive=keepalive,
    )


def _sdk_files() -> frozenset:
    files = set()
    for root, _, names in os.walk(_PACKAGE_DIR):
        files.update(os.path.join(root, n) for n in names if n.endswith(".py"))
    return frozenset(files)


_SDK_FILES = _sdk_files()


def _user_site() -> tuple:
    """(file, line) of the first frame outside the SDK: the user's line that issued a command."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename in _SDK_FILES:
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("<unknown>", 0)


def _user_stack(limit: int = 32) -> list:
    """The frames outside the SDK that issued a command, innermost first, as torch's profiler writes a stack:
    ``file(line): function``."""
    stack, frame = [], sys._getframe(2)
    while frame is not None and len(stack) < limit:
        code = frame.f_code
        if code.co_filename not in _SDK_FILES:
            stack.append(f"{code.co_filename}({frame.f_lineno}): {code.co_name}")
        frame = frame.f_back
    return stack


def _where(site) -> str:
    return f"{site[0]}:{site[1]}"


def _wrapped_unsigned(data, dtype):
    """``torch.tensor(data, dtype=uint8)`` of Python ints: one within minus the dtype's range wraps (-1 is 255), as
    PyTorch converts it; any other outside the dtype is refused in its words."""
    limit = int(np.iinfo(dtype).max) if dtype.kind == "u" else None
    try:
        wide = np.asarray(data)  # ints only wrap: a negative float (-1.5) is refused, as PyTorch's
        wide = wide.astype(np.int64) if wide.dtype.kind in "iu" else None
    except OverflowError:
        wide = None
    if limit is None or wide is None or not ((wide >= -limit) & (wide <= limit)).all():
        raise errors.InvalidArgumentError(f"value cannot be converted to type {dtype.name} without overflow") from None
    return (wide % (limit + 1)).astype(dtype)


def _refuse_non_numbers(data):
    """PyTorch's refusal of data that holds something other than numbers (and sequences of them)."""
    items = [data]
    while items:
        item = items.pop()
        if isinstance(item, str):
            raise TypeError(f"new(): invalid data type '{type(item).__name__}'")
        if isinstance(item, (list, tuple)):
            items.extend(reversed(item))
        elif not isinstance(item, (bool, int, float, complex, np.generic, np.ndarray)):
            raise errors.InvalidArgumentError(f"Could not infer dtype of {type(item).__name__}")


def _refuse_ragged(data, dim=0):
    """PyTorch's refusal of nested sequences of unequal lengths: the first that differs from its first sibling."""
    if not isinstance(data, (list, tuple)) or not data or not isinstance(data[0], (list, tuple)):
        return
    expected = len(data[0])
    for item in data:
        if isinstance(item, (list, tuple)) and len(item) != expected:
            raise ValueError(f"expected sequence of length {expected} at dim {dim + 1} (got {len(item)})")
    for item in data:
        _refuse_ragged(item, dim + 1)


def _has_big_int(data) -> bool:
    """Whether nested Python data holds an int outside int64 (NumPy makes such data an object array)."""
    if isinstance(data, (list, tuple)):
        return any(_has_big_int(item) for item in data)
    return isinstance(data, int) and not -(1 << 63) <= data < (1 << 63)


class Session:
    """A session on a gradwire server: its tensors live there; this object holds handles.

    Use it as a context manager, or call ``close()``.
    """

    def __init__(self, target=None, *, api_key=None, tls=False, tls_ca=None, tls_cert=None, tls_key=None, timeout=30.0, seed=None,
                 device="auto", reconnect_timeout=10.0, keepalive=30.0):
        self._embedded = None
        options = _channel_options(keepalive)  # a bad value is refused before an embedded server starts
        seed = checked_seed(seed) if seed is not None else secrets.randbits(63)  # (drawn here, so that initial_seed() tells it)
        self._transport_shut = False
        if target is None and (tls or tls_ca or tls_cert or tls_key):
            raise errors.InvalidArgumentError("the tls options need a target: an embedded server serves plain text on loopback")
        if target is None:
            from gradwire_server.app import create_server  # the only import of the server: an embedded one
            from gradwire_server.config import Config

            self._embedded, port = create_server(Config(host="127.0.0.1", port=0, device=device))
            self._embedded.start()
            target = f"127.0.0.1:{port}"
        self.target = target
        self.id = uuid.uuid4().hex
        self.reconnect_timeout = float(reconnect_timeout)
        self.reconnects = 0  # times the stream broke and was opened again
        self._channel = open_channel(target, options, tls=tls, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key)
        self._stub = pb_grpc.GradwireStub(self._channel)
        # the chunked streams carry raw bytes: their data chunks are encoded by hand (wire.encode_chunk)
        self._upload_raw = self._channel.stream_unary(
            "/gradwire.v1.Gradwire/Upload", request_serializer=None, response_deserializer=pb.UploadReply.FromString
        )
        self._download_raw = self._channel.unary_stream(
            "/gradwire.v1.Gradwire/Download", request_serializer=pb.DownloadRequest.SerializeToString, response_deserializer=None
        )
        api_key = api_key or os.environ.get("GRADWIRE_API_KEY")
        self._metadata = ((SESSION_HEADER, self.id),) + (((API_KEY_HEADER, api_key),) if api_key else ())
        try:
            wait_ready(self._channel, target, timeout)
        except errors.GradwireError:
            self._shutdown_transport()
            raise
        request = pb.OpenSessionRequest(session_id=self.id, seed=_as_int64(seed))
        try:
            reply = self._unary(self._stub.OpenSession, request, timeout=timeout)
            info = self._unary(self._stub.GetServerInfo, pb.ServerInfoRequest(), timeout=timeout)
        except errors.GradwireError:
            self._shutdown_transport()  # no session (max_sessions, ...): close the channel, and an embedded server
            raise
        self._metadata += ((TOKEN_HEADER, reply.token),)
        self._opened = True
        self.device = reply.device
        self.limits = reply.limits
        self.server_info = info
        self._non_differentiable = frozenset(info.non_differentiable)
        # batches stay within the server's limits: one command of room for a release, half a message of tensors
        self._max_commands = max(1, min(BATCH_COMMANDS, (self.limits.max_batch_commands or BATCH_COMMANDS + 1) - 1))
        self._max_message = self.limits.max_message_bytes or _MESSAGE_BYTES
        self._max_batch_bytes = min(BATCH_BYTES, self._max_message // 2)

        self._lock = threading.RLock()
        self._next_handle = 1
        self._next_command = 1
        self._batch = pb.Batch()
        self._batch_bytes = 0
        self._sites = {}  # command id -> (op, site) for commands not yet acknowledged
        self._batch_ids = {}  # batch seq -> (first command id, last command id)
        self._failed_sites = {}  # command id -> (op, site) of commands that failed
        self._traced_sites = {}  # command id -> (op, site) of ops issued under anomaly detection (Op.trace)
        self._sent = 0
        self._acked = 0
        self._unacked = {}  # seq -> Batch sent and not yet acknowledged: resent after a reconnect
        self._errors = []  # (command id, pb.Error) not yet raised
        self._answers = {}  # command id -> pb.Result for fetches and stats
        self._new_grads = {}  # backward command id -> leaves it gave a .grad, until it is acknowledged
        self._retaining = False  # a tensor called retain_grad(): functional grads may fill .grads too
        self._hooking = False  # a tensor has had a hook (register_hook): passes look for hooked tensors
        self._running_passes = []  # passes whose hooks are running, innermost last: (roots, hooked, hooked meanwhile)
        self._pass_end = {}  # callbacks at the end of each pass that stopped at hooks (register_multi_grad_hook's)
        self._passes_retain = []  # whether each of those keeps its graph (retain_graph): a custom Function's ctx frees its saved tensors if not
        self._passes_checkpoint_ok = []  # whether each is a backward() without inputs (a reentrant checkpoint refuses the others, as PyTorch's)
        self._seed_base, self._forks = seed, 0  # the last manual seed, and the seeds forked from it since (_fork_seed)
        self._released = []  # handles of collected tensors, sent with the next batch
        # `p -= lr * p.grad` as one command (Inplace.scale) where the server understands it: the candidate (a weakref
        # to the product, the mul's _note_mul, the batch and its length then), decided at the next command (_fuse_product)
        self._fuses_products = "scaled_inplace" in info.features
        self._mul = None  # the last mul of a tensor and a number (_note_mul)
        self._fusable = None
        self._closed = False
        self._ended_by = None  # the error that ended the stream, if one did
        self._host_buffers = BufferPool()  # downloads land in these: reused once their arrays are gone
        self._profiler = None  # gw.profiler's collector while a profile records: the time blocked at sync points goes to it
        self._profile_stacks = None  # while a profile with_stack records: command id -> the user's stack that issued it
        self._next_range = 1  # ids of record_function ranges on the server (ProfileRange.id)
        self._open_stream()
        _open_sessions.add(self)

    def _open_stream(self):
        self._stream = open_run_call(self._channel, "/gradwire.v1.Gradwire/Run", self._metadata + (REPLIES_HEADER,), pb.BatchReply.FromString)

    # --- context manager and lifetime ----------------------------------------------------
    def __deepcopy__(self, memo):
        return self  # a deep copy of what holds a session (a model, a state dict) copies its tensors, in this session

    def __reduce_ex__(self, protocol):
        raise TypeError("a gradwire Session is a connection to a server and cannot be pickled")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<gradwire.Session {self.id} on {self.target} ({self.device}){' closed' if self._closed else ''}>"

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self):
        """Close the session: the server frees all its tensors; an embedded server stops."""
        if self._closed:
            if self._ended_by is not None and not self._transport_shut:
                self._shutdown_transport()  # the stream ended with an error: the channel (and an embedded server) still go
            return
        try:
            with self._lock:
                self._flush()
                self._closed = True
                self._stream.done_writing()
                self._drain_replies()
            self._unary(self._stub.CloseSession, pb.CloseSessionRequest(), timeout=30)
        except errors.GradwireError:
            pass  # the server may already be gone; the session is closed either way
        finally:
            self._closed = True
            self._host_buffers.clear()
            self._shutdown_transport()

    def _shutdown_transport(self):
        self._transport_shut = True
        stream = getattr(self, "_stream", None)  # none if the session never opened
        if stream is not None:
            stream.cancel()
        self._channel.close()
        if self._embedded is not None:
            self._embedded.stop(grace=0.5)
            self._embedded = None

    def _drain_replies(self):
        try:
            while self._acked < self._sent:
                self._take_reply(next(self._stream))
        except (grpc.RpcError, StopIteration):
            pass

    # --- handles and commands ----------------------------------------------------------------
    _watch = None  # while gw.func.vmap runs a function: what it checks of each command (func._VmapWatch)

    def _handle(self) -> int:
        handle = self._next_handle
        self._next_handle += 1
        return handle

    def _release(self, handle: int):
        """Called when a Tensor is collected: the server frees the handle with the next batch."""
        if handle and not self._closed:  # 0: a tensor whose op was never sent
            self._released.append(handle)  # list.append is atomic: safe from any thread's GC

    def _command(self, op_label: str) -> pb.Command:
        """Append a command to the open batch; remember which user line issued it."""
        if self._fusable is not None:
            self._fuse_product()
        if self._closed:
            if self._ended_by is not None:  # say why, not only that: the same class and message as then
                raise type(self._ended_by)(f"session {self.id} can no longer be used: {self._ended_by}")
            raise errors.FailedPreconditionError(f"session {self.id} is closed")
        if self._watch is not None:  # inside gw.func.vmap: it refuses random ops in its "error" mode, as torch's
            self._watch.command(op_label)
        if len(self._released) >= RELEASE_EVERY:
            self._queue_releases()
        commands = self._batch.commands
        if len(commands) >= self._max_commands:
            self._flush()
            commands = self._batch.commands
        command = commands.add()
        command.id = cid = self._next_command
        self._next_command = cid + 1
        # the site as (file, line) only: formatting it is left to an error message
        self._sites[cid] = (op_label, _user_site())
        if self._profile_stacks is not None:  # a profile with_stack: the user's stack that issued the command
            self._profile_stacks[cid] = _user_stack()
        return command

    def _queue_releases(self):
        """A release command for the handles of collected tensors, so the server frees them now."""
        if self._fusable is not None:  # (first: a fused product's handle leaves the list)
            self._fuse_product()
        released, self._released = self._released, []
        command = self._batch.commands.add()
        command.id = self._next_command
        self._next_command += 1
        command.release.handles.extend(released)

    def _sent_command(self, command):
        """Send the batch when it is full."""
        if len(self._batch.commands) >= self._max_commands or self._batch_bytes >= self._max_batch_bytes:
            self._flush()

    def _flush(self):
        if self._fusable is not None:
            self._fuse_product()
        if self._released:
            self._queue_releases()
        if not self._batch.commands:
            return
        batch, data_bytes = self._batch, self._batch_bytes
        self._batch, self._batch_bytes = pb.Batch(), 0
        for piece in _within(batch, self._max_message, data_bytes):
            self._sent += 1
            piece.seq = self._sent
            piece.acked = self._acked  # the server may forget the replies read already
            self._batch_ids[piece.seq] = (piece.commands[0].id, piece.commands[-1].id)
            self._unacked[piece.seq] = piece
            self._stream.send(piece)
            while self._sent - self._acked >= MAX_IN_FLIGHT:  # the server's window of replies must cover a resend
                self._take_reply(self._next_reply())

    def _take_reply(self, reply: pb.BatchReply):
        for earlier in reply.earlier:  # full replies of batches before this one, carried along
            self._take_reply(earlier)
        for result in reply.results:
            if result.HasField("error"):
                if result.command in self._failed_sites:
                    continue  # told already, in an early reply whose batch was resent after a reconnect
                self._errors.append((result.command, result.error))
                self._settle_failure(result.command)
            else:
                self._answers[result.command] = result
        if reply.partial:
            return  # an early answer to a fetch: the batch's full reply follows
        first, last = self._batch_ids.pop(reply.seq, (0, -1))
        sites, new_grads = self._sites, self._new_grads
        for cid in range(first, last + 1):
            sites.pop(cid, None)
        for cid in [cid for cid in new_grads if first <= cid <= last]:  # a few backward commands, not every command
            del new_grads[cid]
        while len(self._failed_sites) > _FAILED_KEPT:
            self._failed_sites.pop(next(iter(self._failed_sites)))
        self._unacked.pop(reply.seq, None)
        self._acked = reply.seq

    def _settle_failure(self, cid):
        """Keep a failed command's site for its error message; a failed backward gave its leaves no .grad."""
        site = self._sites.pop(cid, None)
        if site is not None:
            self._failed_sites[cid] = site
        for leaf in self._new_grads.pop(cid, None) or ():
            leaf._has_grad, leaf._grad_alias = False, None

    def _wait(self, answer=None):
        """Flush and read replies until every batch sent is acknowledged, or until command
        ``answer`` is answered (the server answers a fetch early when nothing later in its
        batch can change the tensor); raise the first error known by then."""
        profiler = self._profiler
        if profiler is not None:  # a profile records the time blocked here, the round trips, as an event of its own
            start = time.perf_counter_ns()
            try:
                self._wait_replies(answer)
            finally:
                profiler.waited(start, time.perf_counter_ns())
        else:
            self._wait_replies(answer)
        if self._errors:
            self._raise_first_error()

    def _wait_replies(self, answer):
        self._flush()
        while self._acked < self._sent and answer not in self._answers:
            self._take_reply(self._next_reply())

    # --- a broken stream: reconnect and resend ------------------------------------------
    def _next_reply(self) -> pb.BatchReply:
        """The next reply on the stream; if the stream broke, reopen it and resend what is unacknowledged.

        The server applies each batch once (by its seq) and answers a resent one from its
        window of recent replies. Gives up with the last error after ``reconnect_timeout``
        seconds, or at once for an error that reconnecting cannot mend (an unknown, closed or
        expired session, a refused key, a server that is shutting down).
        """
        deadline, attempts, wait = None, 0, RECONNECT_BACKOFF_S[0]
        while True:
            try:
                return next(self._stream)
            except grpc.RpcError as error:
                failure = error
            except StopIteration:  # the stream ended without the replies owed, or a wait on it was cut (Ctrl-C)
                failure = None
            if not self._retryable(failure):
                raise self._end(failure, attempts)
            now = time.monotonic()
            deadline = now + self.reconnect_timeout if deadline is None else deadline
            if now >= deadline:
                raise self._end(failure, attempts)
            if attempts:
                time.sleep(min(wait, deadline - now))
                wait = min(2 * wait, RECONNECT_BACKOFF_S[1])
            attempts += 1
            self._reconnect()

    def _retryable(self, error) -> bool:
        if self._closed:
            return False
        if error is None:
            return True
        code = error.code() if hasattr(error, "code") else None
        details = error.details() or ""
        if code is grpc.StatusCode.UNAVAILABLE:
            return not details.startswith(_SERVER_STOPPING)
        if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            return any(words in details for words in _STREAM_RESET)  # the transport's, not the server's, error
        return code is grpc.StatusCode.CANCELLED  # not by us (we are not closed): by a proxy or the network

    def _reconnect(self):
        """A new Run stream on the same channel (which reconnects itself), with every unacknowledged batch."""
        self._stream.cancel()
        self._open_stream()  # on a channel still down this fails at once, and says why: the caller waits and tries again
        for seq in sorted(self._unacked):
            self._stream.send(self._unacked[seq])
        self.reconnects += 1

    def _end(self, error, attempts) -> errors.GradwireError:
        """The session is over: remember why, so every later call says the same."""
        self._closed = True
        what = f"the stream of session {self.id} to {self.target}"
        if attempts:
            what += f" broke and {attempts} reconnect attempt(s) over {self.reconnect_timeout:g} s failed"
        else:
            what += " ended"
        code, details = _code_and_details(error) if error is not None else (None, "")
        if error is None:
            self._ended_by = errors.UnavailableError(f"{what}: the server closed it")
        elif code == "UNAVAILABLE" and details.startswith(_SERVER_STOPPING):
            said = "" if details.startswith("server is shutting down") else f" ({details})"
            what = f"{what}: the server is shutting down{said}"
            after = self._ask_after_session()  # nothing to resend to; but is the session gone for good?
            self._ended_by = self._lost(f"{what}, and {after}") if after else errors.UnavailableError(f"{what} (UNAVAILABLE)")
        elif errors.is_unknown_session(code, details, self.id):
            # behind a load balancer: the replica that held it is gone, and another answers for its id
            self._ended_by = self._lost(f"{what}, and the server answering for it at {self.target} does not know it")
        elif attempts and code == "UNAVAILABLE":
            self._ended_by = self._lost(f"{what}: no server answers for it")
        else:
            self._ended_by = errors.from_rpc_error(error, what)
        return self._ended_by

    def _ask_after_session(self) -> str | None:
        """After the server stopped: why the session is lost (no server answers at the target, or
        the one answering now does not know it), or None if that cannot be told. An empty Run
        stream asks: it changes nothing on a server."""
        try:
            for _ in self._stub.Run(iter(()), metadata=self._metadata, timeout=_PROBE_S):
                pass
        except grpc.RpcError as probe:
            code, details = _code_and_details(probe)
            if errors.is_unknown_session(code, details, self.id):
                return f"the server answering for it at {self.target} now does not know it"
            if code in ("UNAVAILABLE", "DEADLINE_EXCEEDED") and not details.startswith(_SERVER_STOPPING):
                return "no server answers for it"
        return None

    def _raise_first_error(self):
        pending, self._errors = self._errors, []
        cid, error = pending[0]
        op, site = self._failed_sites.get(cid, ("command", ("<unknown>", 0)))
        site = _where(site)
        message = f"{op} (issued at {site}) failed: {error.message}"
        if error.caused_by:
            cause_op, cause_site = self._failed_sites.get(error.caused_by, ("command", ("<unknown>", 0)))
            cause_site = _where(cause_site)
            message = f"{op} (issued at {site}) was not run: it depends on {cause_op} (issued at {cause_site}), which failed"
        traced = self._traced_sites.get(error.forward_command) if error.forward_command else None
        if traced is not None:  # anomaly detection: the op whose backward failed, as PyTorch's forward traceback
            message += f"\nError detected in the backward of {traced[0]}, issued at {_where(traced[1])}"
        if len(pending) > 1:
            message += f" ({len(pending) - 1} later command(s) failed too, most because they depended on it)"
        raise errors.error_for(error.code, message, error.type if not error.caused_by else "", op=op, site=site, command=cid)

    def _unary(self, method, request, timeout=None):
        try:
            return method(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as error:
            raise self._call_error(error) from None

    # --- a session lost with its server ------------------------------------------------------
    def _lost(self, why: str) -> errors.SessionLostError:
        return errors.SessionLostError(
            f"session {self.id} lost: {why}; its tensors and graph went with the server that held them: open a new session"
        )

    def _call_error(self, error: grpc.RpcError) -> errors.GradwireError:
        """The error for a failed call: ``SessionLostError`` where the server does not know this open session
        (behind a load balancer: the replica that held it is gone and another answers for its id)."""
        code, details = _code_and_details(error)
        if getattr(self, "_opened", False) and errors.is_unknown_session(code, details, self.id):
            return self._lost(f"the server answering for it at {self.target} does not know it")
        return errors.from_rpc_error(error)

    def _retrying(self, call):
        """``call()``, made again from the start while it fails in a way a reconnect mends (uploads and
        downloads that were cut), for up to ``reconnect_timeout`` seconds."""
        deadline, wait = None, RECONNECT_BACKOFF_S[0]
        while True:
            try:
                return call()
            except grpc.RpcError as error:
                now = time.monotonic()
                deadline = now + self.reconnect_timeout if deadline is None else deadline
                if not self._retryable(error) or now >= deadline:
                    raise self._call_error(error) from None
            time.sleep(min(wait, deadline - now))
            wait = min(2 * wait, RECONNECT_BACKOFF_S[1])

    # --- sync points -------------------------------------------------------------------
    def sync(self):
        """Wait until the server has applied every command issued so far; raise the first error."""
        with self._lock:
            command = self._command("sync")
            command.sync.SetInParent()
            self._wait()
            self._answers.pop(command.id, None)

    def stats(self) -> dict:
        """What the server holds for this session: ``tensors``, ``bytes``, ``graph_nodes``, ``generators`` (live
        ``gw.Generator``s) and ``profile_events`` (events a profile that is on has collected: ``gw.profiler``)."""
        with self._lock:
            self._flush()  # releases of collected tensors go first, so they are not counted
            cid = self._command("stats").id
            self._batch.commands[-1].stats.SetInParent()
            self._wait()
            stats = self._answers.pop(cid).stats
        return {"tensors": stats.tensors, "bytes": stats.bytes, "graph_nodes": stats.graph_nodes, "generators": stats.generators,
                "profile_events": stats.profile_events}

    # --- the profiler (gw.profiler) ---------------------------------------------------------
    def _profile_start(self, collector, record_shapes: bool, device_time: bool, with_stack: bool = False):
        """Start the server's collection, pipelined (no round trip), and send the time blocked at sync points to ``collector``
        (``with_stack``: and the stack of each command issued from now on to ``collector.stacks``)."""
        with self._lock:
            command = self._command("profiler start")
            command.profile_start.record_shapes, command.profile_start.device_time = record_shapes, device_time
            self._sent_command(command)
            self._profiler = collector
            if with_stack:
                self._profile_stacks = collector.stacks = {}

    def _profile_range(self, name: str = "", range_id: int = 0) -> int:
        """Begin a labelled range on the server's track (``name``), or end range ``range_id``; pipelined."""
        with self._lock:
            command = self._command("record_function")
            if range_id:
                command.profile_range.id, command.profile_range.end = range_id, True
            else:
                range_id = self._next_range
                self._next_range += 1
                command.profile_range.id, command.profile_range.name = range_id, name
            self._sent_command(command)
        return range_id

    def _profile_stop(self) -> tuple[pb.ProfileEvents, int]:
        """Stop the server's collection: its events (a ProfileEvents) and the time on this clock (perf_counter_ns) the
        stop ran at on the server's, as well as can be told: the middle of its round trip, made with nothing before it
        left to run (the commands still in flight are waited for first), so that no queue skews the middle."""
        handle = self._handle()
        with self._lock:
            self._profiler = self._profile_stacks = None  # (the waits for the events are the profiler's, not the program's)
            try:
                self._wait()
            except BaseException:  # a command of the program failed: its error goes up, and the server stops collecting all the same
                answer, _ = self._profile_stop_command(handle)
                if answer.chunked:
                    self._release(handle)
                raise
            answer, at = self._profile_stop_command(handle)
        if answer.chunked:  # too many for one reply: they wait in a tensor, fetched on the chunked stream
            try:
                data = self._download(handle)
            finally:
                self._release(handle)
            answer = pb.ProfileEvents.FromString(data.tobytes())
        return answer, at  # (inline: the handle was never bound, and is never used again)

    def _profile_stop_command(self, handle):
        command = self._command("profiler stop")
        command.profile_stop.result = handle
        sent = time.perf_counter_ns()
        try:
            self._wait(answer=command.id)
        finally:
            arrived = time.perf_counter_ns()
            result = self._answers.pop(command.id, None)
        answer = result.profile if result is not None else pb.ProfileEvents()
        return answer, (sent + arrived) // 2

    def _fetch(self, tensor, meta_only=False):
        with self._lock:
            command = self._command("reading the metadata of a tensor" if meta_only else "reading the values of a tensor")
            command.fetch.handle = tensor._handle
            command.fetch.meta_only = meta_only
            self._wait(answer=command.id)
            result = self._answers.pop(command.id)
        if result.HasField("tensor"):
            return from_tensor_data(result.tensor).copy()  # writable, as numpy() is in PyTorch (protobuf's bytes are not)
        if meta_only:
            return result.meta
        return self._download(tensor._handle)

    def _download(self, handle) -> np.ndarray:
        return self._retrying(lambda: self._download_once(handle))

    def _download_once(self, handle) -> np.ndarray:
        try:
            chunks = self._download_raw(pb.DownloadRequest(handle=handle), metadata=self._metadata)
            header = pb.TensorChunk.FromString(next(chunks))
            meta = header.meta
            out = self._host_buffers.take(header.total_bytes)
            out[: len(header.data)] = np.frombuffer(header.data, dtype=np.uint8)
            filled = len(header.data)
            for raw in chunks:
                decoded = decode_chunk(raw)
                offset, data = decoded if decoded is not None else _header_data(raw)
                out[offset : offset + len(data)] = np.frombuffer(data, dtype=np.uint8)
                filled += len(data)
        except StopIteration:  # no header: the stream ended empty
            raise errors.InternalError(f"download of tensor {handle}: the stream ended before its first chunk") from None
        if filled != header.total_bytes:
            raise errors.InternalError(f"download of tensor {handle}: {filled} of {header.total_bytes} bytes arrived")
        return out.view(np.dtype(meta.dtype)).reshape(tuple(meta.shape))

    # --- factories ------------------------------------------------------------------------
    def tensor(self, data, dtype=None, requires_grad=False):
        """A tensor from a list, a scalar or a NumPy array (copied), like ``torch.tensor``."""

        if isinstance(data, Tensor):
            data = data._values()  # torch.tensor(t) copies t's values, requires grad or not
        if dtype is not None:
            try:
                array = np.asarray(data, dtype=as_dtype(dtype))
            except OverflowError:  # a Python int outside the dtype: refused, but a negative one wraps into an unsigned dtype
                array = _wrapped_unsigned(data, as_dtype(dtype))
        elif isinstance(data, np.ndarray) or isinstance(data, np.generic):
            array = np.asarray(data)
            if array.dtype.kind in "USO":
                raise TypeError(f"can't convert np.ndarray of type numpy.{array.dtype.type.__name__}. The only supported types are: "
                                "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint64, uint32, uint16, uint8, and bool.")
        else:  # Python numbers: float -> the default dtype (float32), int -> int64, as PyTorch infers
            try:
                array = np.asarray(data)
            except ValueError:  # ragged nesting ([[1, 2], [3]]): PyTorch's words for where
                _refuse_non_numbers(data)
                _refuse_ragged(data)
                raise
            if array.dtype == np.uint64 or array.dtype == object and _has_big_int(data):  # past int64: PyTorch's refusal
                raise ValueError("Overflow when unpacking long long")
            if array.dtype.kind in "USO":  # strings, None, dicts, ...: refused here, as PyTorch refuses them, not sent
                _refuse_non_numbers(data)
            scalars = _numpy_scalar_dtype(data) if array.dtype.kind in "fiu" and array.ndim else None
            if scalars is not None:  # [np.float64(1.0), 2.0]: float64, as PyTorch promotes the elements' types
                array = array.astype(scalars)
            elif is_floating(array.dtype):
                array = array.astype(defaults.current)
            elif array.dtype.kind in "iu":
                array = array.astype(np.int64)
            elif array.dtype.kind == "c":  # complex numbers: the default float dtype's complex (complex64), as PyTorch infers
                array = array.astype(np.complex128 if defaults.current == np.float64 else np.complex64)
        if requires_grad and not floats.is_inexact(array.dtype):
            raise errors.InvalidArgumentError("Only Tensors of floating point and complex dtype can require gradients")
        if floats.is_bfloat16(array.dtype):
            self._check_dtype(array.dtype)
        array = np.require(array, requirements="C")  # not ascontiguousarray: it makes a 0-d array 1-d
        handle = self._handle()  # its Tensor only once sent: a refused upload leaves no handle to release
        with self._lock:
            if self._released:  # freed first: the server's quota counts what the session holds when this arrives
                self._queue_releases()
            if array.nbytes > self.limits.inline_bytes:
                self._flush()
                self._upload(handle, array, requires_grad)
            else:
                command = self._command("tensor")
                put = command.put
                put.handle = handle
                put.requires_grad = bool(requires_grad)
                put.tensor.dtype = _DTYPE_NAMES.get(array.dtype) or array.dtype.name
                put.tensor.shape.extend(array.shape)
                put.tensor.data = array.tobytes()
                self._batch_bytes += array.nbytes
                self._sent_command(command)
        return Tensor(self, handle, array.shape, array.dtype, bool(requires_grad))

    def _upload(self, handle, array, requires_grad):
        """Send a large tensor on the Upload stream; data chunks are encoded by hand, one copy each."""

        def chunks():
            step = self.limits.chunk_bytes or (1 << 20)
            flat = array.reshape(-1).view(np.uint8)
            meta = pb.TensorMeta(dtype=array.dtype.name, shape=array.shape)
            head = pb.TensorChunk(handle=handle, meta=meta, total_bytes=flat.size, requires_grad=requires_grad, data=flat[:step].tobytes())
            yield head.SerializeToString()
            for offset in range(step, flat.size, step):
                yield encode_chunk(offset, flat[offset : offset + step])

        # cut mid-way, the upload is sent again whole; the server binds the copy that arrives last
        self._retrying(lambda: self._upload_raw(chunks(), metadata=self._metadata))

    def _check_made_here(self, what, elements, dtype):
        """Refuse, before the client computes it, a tensor (``what``: "a linspace tensor") of ``elements`` that the server's
        limits would refuse (linspace, logspace, the windows and the index arrays of interpolate, pad, repeat_interleave
        are computed here, from numbers a user gives), in the server's words."""
        limits = self.limits
        if limits.max_tensor_elements and elements > limits.max_tensor_elements:
            raise errors.ResourceExhaustedError(f"max_tensor_elements limit: {what} of {elements} elements exceeds {limits.max_tensor_elements}")
        if limits.max_session_bytes and elements * dtype.itemsize > limits.max_session_bytes:
            raise errors.ResourceExhaustedError(f"max_session_bytes limit: {what} of {elements * dtype.itemsize} bytes "
                                                f"exceeds the {limits.max_session_bytes} a session may hold")

    def _check_dtype(self, dtype):
        """Refuse a dtype the server does not hold (its ServerInfo's dtypes): bfloat16 on a device whose array module
        has none (CuPy without bfloat16 support), before anything is sent."""
        if floats.is_bfloat16(dtype) and "bfloat16" not in self.server_info.dtypes:
            raise errors.InvalidArgumentError(
                f"BFloat16 is not supported on this session's device ({self.device!r}): the server's array module cannot "
                "hold bfloat16 arrays; use float16 or float32"
            )

    def _factory(self, name, shape, dtype, requires_grad, **params):
        if self._watch is not None:  # (vmap's check, before the handle is taken: a refused command must leave none to release)
            self._watch.command(name)
        if floats.is_bfloat16(dtype):
            self._check_dtype(dtype)
        if requires_grad and not floats.is_inexact(dtype):
            raise errors.InvalidArgumentError("Only Tensors of floating point and complex dtype can require gradients")
        handle = self._handle()  # its Tensor only once filled in: a refused command leaves no handle to release
        with self._lock:
            if self._released:  # as in tensor(): freed before the new one is counted
                self._queue_releases()
            command = self._command(name)
            factory = command.factory
            factory.name = name
            factory.handle = handle
            factory.requires_grad = bool(requires_grad)
            try:
                for key, value in params.items():
                    put_param(factory.params, key, value)
            except BaseException:  # a bad parameter: the half-made command must not go out
                self._unqueue(command)
                raise
            put_param(factory.params, "dtype", _DTYPE_NAMES.get(dtype) or dtype.name)
            self._sent_command(command)
        return Tensor(self, handle, shape, dtype, bool(requires_grad))

    def zeros(self, *size, dtype=None, requires_grad=False):
        """A tensor of zeros (the default dtype, float32, unless ``dtype``)."""
        return self._sized("zeros", size, dtype, requires_grad)

    def ones(self, *size, dtype=None, requires_grad=False):
        """A tensor of ones (the default dtype, float32, unless ``dtype``)."""
        return self._sized("ones", size, dtype, requires_grad)

    def rand(self, *size, generator=None, dtype=None, requires_grad=False):
        """Uniform [0, 1) samples from ``generator`` (a ``gw.Generator``), else the session's seeded generator."""
        return self._sized("rand", size, dtype, requires_grad, generator)

    def randn(self, *size, generator=None, dtype=None, requires_grad=False):
        """Standard normal samples from ``generator`` (a ``gw.Generator``), else the session's seeded generator."""
        return self._sized("randn", size, dtype, requires_grad, generator)

    def _sized(self, name, size, dtype, requires_grad, generator=None):
        size = _size_args(size)
        dtype = as_dtype(dtype) if dtype is not None else defaults.current
        if generator is None:
            return self._factory(name, size, dtype, requires_grad, size=size)
        return self._factory(name, size, dtype, requires_grad, size=size, generator=self._generator_handle(generator))

    def _generator_handle(self, generator) -> int:
        handle = getattr(generator, "_handle", None)
        if handle is None:
            raise TypeError(f"generator must be a gradwire Generator, not {type(generator).__name__}")
        if generator._session is not self:
            raise errors.InvalidArgumentError("the generator belongs to another session")
        return handle

    def full(self, size, fill_value, dtype=None, requires_grad=False):
        """A tensor filled with ``fill_value`` (its dtype inferred from the value, as PyTorch does)."""

        size = _size_args((size,))
        if isinstance(fill_value, Tensor) and fill_value.numel() == 1:  # a one-element tensor is a number here, as in PyTorch
            fill_value = fill_value.item()
        if not isinstance(fill_value, (bool, int, float, complex, np.number, np.bool_)):
            raise TypeError(f"full(): argument 'fill_value' (position 2) must be Number, not {type(fill_value).__name__}")
        if dtype is None:
            dtype = np.bool_ if isinstance(fill_value, bool) else np.int64 if isinstance(fill_value, int) else defaults.current
        if type(fill_value) is int and not -2**63 <= fill_value < 2**63:  # past int64 (the wire's ints)
            wide = wide_int(fill_value)  # (past uint64: PyTorch's OverflowError)
            if as_dtype(dtype).kind in "iu":
                raise overflow_error(as_dtype(dtype))
            fill_value = wide  # (into bool: True, as PyTorch's)
        _check_fill(fill_value, as_dtype(dtype), size)
        return self._factory("full", size, as_dtype(dtype), requires_grad, size=size, fill_value=fill_value)

    def arange(self, start, end=None, step=1, dtype=None, requires_grad=False):
        """Values from ``start`` to ``end`` (exclusive) by ``step``, like ``torch.arange``."""
        start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))  # arange(n): n a tensor
        if end is None:
            start, end = 0, start
        if dtype is None:
            dtype = defaults.current if any(isinstance(v, float) for v in (start, end, step)) else np.int64
        dtype = as_dtype(dtype)
        if not all(math.isfinite(v) for v in (start, end, step)):
            raise errors.InvalidArgumentError(f"unsupported range: {start} -> {end}")
        # PyTorch counts an int64 arange in int64, its bounds and step truncated toward zero (the server's arange_length)
        first, last, by = (int(v) for v in (start, end, step)) if dtype == np.int64 else (start, end, step)
        if by == 0:
            raise errors.InvalidArgumentError("step must be nonzero")
        if (last - first) * by < 0:
            raise errors.InvalidArgumentError("upper bound and lower bound inconsistent with step sign")
        length = max(0, math.ceil((last - first) / by))
        return self._factory("arange", (length,), dtype, requires_grad, start=start, end=end, step=step)

    def logspace(self, start, end, steps, base=10.0, dtype=None, requires_grad=False):
        """``steps`` powers of ``base``, exponents evenly spaced from ``start`` to ``end``, as ``torch.logspace``."""
        from .factories import logspace

        return logspace(start, end, steps, base, dtype, requires_grad, session=self)

    def linspace(self, start, end, steps, dtype=None, requires_grad=False):
        """``steps`` values from ``start`` to ``end`` inclusive, as ``torch.linspace``: PyTorch's formula (the
        first half counted up from ``start``, the second back from ``end``, in the dtype's own precision, each
        value rounded once as its fused multiply-add rounds it), computed here and uploaded."""
        start, end, steps = (v.item() if isinstance(v, Tensor) else v for v in (start, end, steps))
        if steps < 0:
            raise errors.InvalidArgumentError("number of steps must be non-negative")
        dtype = as_dtype(dtype) if dtype is not None else defaults.current
        self._check_made_here("a linspace tensor", steps, dtype)
        if floats.is_bfloat16(dtype) and steps > 1:  # PyTorch's bfloat16 kernel rounds the step, each product and each sum
            wide = np.float32
            first, last = np.float32(start).astype(dtype).astype(wide), np.float32(end).astype(dtype).astype(wide)
            step = ((last - first) / wide(steps - 1)).astype(dtype).astype(wide)
            index = np.arange(steps, dtype=wide)
            up = first + (step * index).astype(dtype).astype(wide)
            down = last - (step * (steps - 1 - index)).astype(dtype).astype(wide)
            return self.tensor(np.where(index < steps // 2, up, down).astype(dtype), requires_grad=requires_grad)
        if is_floating(dtype):
            compute = np.dtype(np.float32) if dtype.itemsize < 4 else dtype  # float16 in float, as PyTorch's opmath
            exact = np.float64 if compute.itemsize <= 4 else np.longdouble  # wide enough for one product and one sum
            first, last = compute.type(start), compute.type(end)
            step = exact((last - first) / compute.type(max(steps - 1, 1)))
            first, last = exact(first), exact(last)
        else:  # integers: the ends truncated to integers, the steps in double, as PyTorch's
            compute, exact, first, last = np.dtype(np.float64), np.longdouble, np.longdouble(int(start)), np.longdouble(int(end))
            step = np.longdouble(np.float64(last - first) / max(steps - 1, 1))
        index = np.arange(steps, dtype=exact)
        values = np.where(index < steps // 2, first + step * index, last - step * (steps - 1 - index)) if steps > 1 else np.full(steps, first)
        values = values.astype(compute)  # rounded once in the computing dtype, as a fused multiply-add rounds
        return self.tensor(values.astype(dtype), requires_grad=requires_grad)

    def empty(self, *size, dtype=None, requires_grad=False):
        """Zeros, as ``torch.empty``'s shape and dtype: no uninitialised memory crosses sessions."""
        return self._sized("zeros", size, dtype, requires_grad)

    def tril_indices(self, row, col, offset=0, dtype=None):
        """``torch.tril_indices``: the (2, N) row and column indices of the lower triangle, row by row (int64)."""
        return self._triangle_indices(np.tril_indices, row, col, offset, dtype)

    def triu_indices(self, row, col, offset=0, dtype=None):
        """``torch.triu_indices``: the (2, N) row and column indices of the upper triangle, row by row (int64)."""
        return self._triangle_indices(np.triu_indices, row, col, offset, dtype)

    def _triangle_indices(self, indices, row, col, offset, dtype):
        if row < 0 or col < 0:
            raise errors.InvalidArgumentError(f"row must be non-negative, got{row}" if row < 0 else f"col must be non-negative, got{col}")
        dtype = as_dtype(dtype) if dtype is not None else np.dtype(np.int64)
        self._check_made_here(f"a {'tril' if indices is np.tril_indices else 'triu'}_indices tensor", 2 * row * col, dtype)  # (at most)
        return self.tensor(np.stack(indices(row, offset, col)).astype(dtype).reshape(2, -1))

    def eye(self, n, m=None, dtype=None, requires_grad=False):
        """The ``n`` x ``m`` identity, as ``torch.eye``, made on the server."""
        for name, size in (("n", n), ("m", m)):
            if size is not None and size < 0:
                raise errors.InvalidArgumentError(f"{name} must be greater or equal to 0, got {size}")
        dtype = as_dtype(dtype) if dtype is not None else defaults.current
        values = (self.arange(n).unsqueeze(1) == self.arange(n if m is None else m)).to(dtype)
        return values.requires_grad_() if requires_grad else values

    def randint(self, low, high=None, size=None, dtype=None, requires_grad=False, *, generator=None):
        """Integers uniform in [low, high) from the session's generator, as ``torch.randint(low=0, high, size)``
        (int64 by default): uniform samples in float64, scaled and floored on the server."""
        if high is None or size is None:  # randint(high, size)
            low, high, size = 0, low, high if size is None else size
        if size is None:
            raise TypeError("randint() missing 1 required positional argument: 'size'")
        if high <= low:
            raise errors.InvalidArgumentError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
        samples = (self.rand(*_size_args((size,)), generator=generator, dtype=np.float64) * float(high - low)).floor() + low
        values = samples.to(as_dtype(dtype) if dtype is not None else np.dtype(np.int64))
        return values.requires_grad_() if requires_grad else values

    def randperm(self, n, dtype=None, requires_grad=False, *, generator=None):
        """A random permutation of 0 .. n-1 from the session's generator, as ``torch.randperm`` (int64 by default):
        the order that sorts n uniform samples."""
        values = self.rand(n, generator=generator, dtype=np.float64).argsort()
        values = values if dtype is None else values.to(as_dtype(dtype))
        return values.requires_grad_() if requires_grad else values

    def manual_seed(self, seed: int):
        """Reseed this session's random generator (PyTorch's seeds: -2**63 to 2**64 - 1, a negative one read modulo 2**64)."""
        seed = checked_seed(seed)
        self._seed_base, self._forks = seed, 0
        self._reseed(seed)

    def initial_seed(self) -> int:
        """The seed this session's generator was last seeded with (at ``connect`` or by ``manual_seed``), as ``torch.initial_seed``."""
        return self._seed_base

    def _reseed(self, seed: int, generator: int = 0):
        with self._lock:
            command = self._command("manual_seed")
            command.manual_seed.seed = _as_int64(seed)
            command.manual_seed.generator = generator

    def _generator_create(self, seed: int) -> int:
        """A ``gw.Generator``'s state on the server: its handle."""
        handle = self._handle()
        with self._lock:
            command = self._command("Generator")
            command.generator_create.generator = handle
            command.generator_create.seed = _as_int64(seed)
        return handle

    def get_rng_state(self, generator: int = 0) -> Tensor:
        """The state of the session's generator (or of a ``gw.Generator``'s handle): a uint8 tensor, as
        ``torch.get_rng_state``'s (its bytes are this server's, not PyTorch's)."""
        out = Tensor(self, self._handle(), None, np.dtype(np.uint8))
        with self._lock:
            command = self._command("get_rng_state")
            command.get_rng_state.generator = generator
            command.get_rng_state.result = out._handle
        return out

    def set_rng_state(self, new_state, generator: int = 0):
        """Restore a state ``get_rng_state`` gave, as ``torch.set_rng_state``."""
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        with self._lock:
            command = self._command("set_rng_state")
            command.set_rng_state.generator = generator
            command.set_rng_state.state = new_state._handle

    def _fork_seed(self) -> int:
        """A fresh seed for a stretch of random ops that must run twice alike (a checkpointed function, run
        again in backward): derived from the last manual seed and a count, so a seeded run stays reproducible."""
        if self._seed_base is None:
            self._seed_base = secrets.randbits(62)
        self._forks += 1
        digest = hashlib.blake2b(f"{self._seed_base}:{self._forks}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") >> 2


    # --- commands that Tensor methods issue ---------------------------------------------------
    def _op(self, name, inputs, params, results, grad_on):
        # the hottest path of the SDK (every op): fields are set in place, tensors' handles directly
        with self._lock:
            command = self._command(name if params is None or "check" not in params else params["check"])  # (the call an index served)
            try:
                self._fill_op(command, name, inputs, params, results, grad_on)
            except BaseException:  # a bad parameter: the half-made command must not go out
                self._unqueue(command)
                raise
            if _anomaly.enabled:
                self._trace(command)
            if name == "mul" and self._fuses_products:
                self._note_mul(command, inputs, params, results)
            if len(self._batch.commands) >= self._max_commands or self._batch_bytes >= self._max_batch_bytes:
                self._flush()  # as _sent_command: a full batch goes out

    def _op_into(self, name, inputs, params, grad_on):
        """Queue op ``name`` with its result written into ``inputs[0]`` (an in-place op): no output handles."""
        if self._watch is not None:  # inside gw.func.vmap: an unbatched tensor changed by a batched one is refused, as torch's
            self._watch.inplace(name, inputs[0], inputs[1:])
        if inputs[0]._bits & _PART or (inputs[0]._view_of is not None and inputs[0]._view_of._bits & _PART):
            _refuse_part_write(name + "_")
        with self._lock:
            command = self._command(name + "_" if params is None or "check" not in params else params["check"])
            try:
                self._fill_op(command, name, inputs, params, (), grad_on)
                command.op.into = inputs[0]._handle
            except BaseException:
                self._unqueue(command)
                raise
            if _anomaly.enabled:
                self._trace(command)
            if len(self._batch.commands) >= self._max_commands or self._batch_bytes >= self._max_batch_bytes:
                self._flush()

    def _unqueue(self, command):
        """Take back a command that failed while being filled: it must not go out half made."""
        commands = self._batch.commands
        if commands and commands[-1].id == command.id:  # (still there: filling it sent nothing)
            del commands[-1]
        self._sites.pop(command.id, None)

    def _trace(self, command):
        """Anomaly detection: the op's nodes keep its command id, and this session its site, for a NaN's error."""
        command.op.trace = command.id
        self._traced_sites[command.id] = self._sites[command.id]
        if len(self._traced_sites) > _TRACED_KEPT:
            self._traced_sites.pop(next(iter(self._traced_sites)))

    @staticmethod
    def _fill_op(command, name, inputs, params, results, grad_on):
        """Set an op command's fields in place (tensors by handle); raises before anything is sent."""
        op = command.op
        op.name = name
        handles = []
        for x in inputs:
            if not isinstance(x, Tensor):  # (Tensor or Parameter)
                break
            handles.append(x._handle)
        else:  # every input a tensor: a packed list of handles, cheap both ways
            op.tensor_inputs.extend(handles)
            handles = None
        if handles is not None:
            add_input = op.inputs.add
            for x in inputs:
                if isinstance(x, Tensor):
                    add_input().handle = x._handle
                else:
                    _set_operand(add_input(), x)
        if params:
            op_params = op.params
            for key, value in params.items():
                if value is not None and value is not False:  # None and False are every op's defaults
                    put_param(op_params, key, value)
        if len(results) == 1:
            op.outputs.append(results[0]._handle)
        else:
            op.outputs.extend([r._handle for r in results])
        if not grad_on:
            op.no_grad = True

    def _backward(self, root, gradient, retain_graph, create_graph=False, inputs=None, more=()):
        """One backward pass from ``root`` (and the (tensor, gradient) pairs of ``more``: ``autograd.backward`` of
        several tensors); ``inputs``: the tensors whose ``.grad`` it fills, alone (None: every leaf it reaches)."""
        pairs = [(root, gradient), *more]
        for i, (tensor, g) in enumerate(pairs):
            if not isinstance(tensor, Tensor):
                raise TypeError(f"backward: element {i} of tensors is not a Tensor but {type(tensor).__name__}")
            if not tensor._requires_grad:  # checked first, as PyTorch does
                raise errors.FailedPreconditionError(f"element {i} of tensors does not require grad and does not have a grad_fn")
            if g is None and tensor._shape is not None and math.prod(tensor._shape) != 1:
                raise errors.InvalidArgumentError("grad can be implicitly created only for scalar outputs")
            if g is None and tensor._dtype is not None and tensor._dtype.kind == "c":
                raise errors.InvalidArgumentError(f"grad can be implicitly created only for real scalar outputs but got torch.{tensor._dtype.name}")
        if inputs is not None:
            inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
            if not inputs:
                raise errors.InvalidArgumentError("`inputs` argument to `backward()` cannot be empty.")
            for i, x in enumerate(inputs):
                if not isinstance(x, Tensor):
                    raise TypeError(f"backward: element {i} of inputs is not a Tensor but {type(x).__name__}")
                if not x._requires_grad:
                    raise errors.FailedPreconditionError(f"One of the differentiated Tensors does not require grad (input {i})")
        pairs = [(t, g if g is None or isinstance(g, Tensor) else self.tensor(np.asarray(g, dtype=t.dtype))) for t, g in pairs]
        roots = tuple(t for t, _ in pairs)
        with self._lock:
            command = self._command("backward")
            body = command.backward
            body.root = root._handle
            body.gradient = pairs[0][1]._handle if pairs[0][1] is not None else 0
            body.more_roots.extend([t._handle for t, _ in pairs[1:]])
            body.more_gradients.extend([g._handle if g is not None else 0 for _, g in pairs[1:]])
            body.retain_graph = bool(retain_graph)
            body.create_graph = bool(create_graph)
            body.detect_anomaly = _anomaly.enabled and _anomaly.check_nan
            hooked = _hooked_on_paths(roots) if self._hooking else None
            if hooked:
                hook_grads = self._stop_at(body, hooked)
            # the leaves this pass reaches have a .grad from now on; if it fails, the ones that had
            # none get None back when its error arrives (_take_reply)
            if inputs is None:
                leaves, uncertain = _leaves_of(roots)
            else:
                body.inputs.extend([x._handle for x in inputs])
                leaves, uncertain = _inputs_reached(roots, inputs)
            newly = [leaf for leaf in leaves if not leaf._has_grad]
            uncertain = uncertain and bool(newly)
            if uncertain:  # the pass runs through a recorded gradient: the server says which leaves it reached
                body.report.extend([leaf._handle for leaf in newly])
            self._sent_command(command)
            for leaf in newly:
                leaf._has_grad = True
            if create_graph:  # a recorded .grad has a graph: reading it gives a tensor that requires grad
                for leaf in leaves:
                    if leaf._is_leaf:
                        leaf._grad_alias, leaf._grad_graph = None, (leaf._grad_graph or ()) + roots
            if newly:
                self._new_grads[command.id] = newly
            if uncertain and not hooked:
                self._wait(command.id)
                missed = set(self._answers.pop(command.id).unused.handles)
            elif body.detect_anomaly and not hooked:
                self._wait()  # anomaly detection: a sync point, so that a NaN raises here, as PyTorch's does
        if hooked:
            missed = set(self._run_hooks(command.id, hooked, hook_grads, newly, create_graph and roots, roots, retain_graph,
                                         checkpoint_ok=inputs is None).unused)
        if uncertain:
            for leaf in newly:
                if leaf._handle in missed:
                    leaf._has_grad, leaf._grad_graph = False, None
        for leaf in leaves:  # register_post_accumulate_grad_hook's, once the pass has accumulated into .grad
            if leaf._post_hooks and leaf._is_leaf and leaf._has_grad:
                for hook in tuple(leaf._post_hooks.values()):
                    with set_grad_enabled(bool(create_graph)):
                        hook(leaf)

    # --- passes that stop at hooked tensors (register_hook) -------------------------------
    def _hook_added(self, tensor):
        """A hook registered while a pass's hooks run: a stop of that pass where the pass may still reach the tensor
        (where it has passed it already, the tensor is not on its way: PyTorch's hook would not fire either)."""
        if not self._running_passes:
            return
        roots, hooked, meanwhile = self._running_passes[-1]
        if any(t is tensor for t in hooked) or any(t is tensor for t in meanwhile):
            return
        if any(t is tensor for t in _hooked_on_paths(roots)):
            meanwhile.append(tensor)

    def _stop_at(self, body, hooked):
        """Name the hooked tensors in a Backward or Grad command; the handles their gradients will have."""
        hook_grads = [self._handle() for _ in hooked]
        body.hooked.extend([t._handle for t in hooked])
        body.hook_grads.extend(hook_grads)
        return hook_grads

    def _run_hooks(self, answer, hooked, hook_grads, newly=(), recorded=(), roots=(), retain=True, checkpoint_ok=True):
        """Drive a pass stopped at hooked tensors: at each stop, that tensor's hooks in the order registered, then a
        Resume with what they made of the gradient. A sync point per stop. The pass's last answer (a HookStop).

        A pass that ends in an error (a hook's, or the server's) leaves ``newly``, the leaves that had no
        ``.grad`` before it, with none: the server's half-made gradients are dropped. ``recorded``: the pass's
        roots, where it records its gradients (create_graph): the hooks then run in grad mode, as PyTorch's. A hook
        registered meanwhile on a tensor the pass may still reach becomes a stop of its own (sent with the Resume).
        ``checkpoint_ok``: a ``backward()`` without ``inputs`` (not ``grad``), which alone a reentrant checkpoint takes."""
        running = (roots, hooked, [])
        self._running_passes.append(running)
        self._passes_retain.append(bool(retain))
        self._passes_checkpoint_ok.append(bool(checkpoint_ok))
        try:
            while True:
                try:
                    self._wait(answer)
                except BaseException:
                    stopped = self._answers.pop(answer, None)
                    if stopped is not None and not stopped.hook_stop.done:  # an earlier command's error: end the pass too
                        self._resume(abort=True)
                    raise
                stop = self._answers.pop(answer).hook_stop
                if stop.done:
                    for finish in list(self._pass_end.values()):
                        finish()
                    return stop
                tensor = hooked[stop.index]
                grad = given = Tensor(self, hook_grads[stop.index], tensor._shape, tensor._dtype)
                if recorded:
                    grad._requires_grad, grad._is_leaf, grad._parents, grad._opaque = True, False, recorded, True
                try:
                    # in the order registered, those that read the final gradient (a custom Function's output) last
                    hooks = sorted((tensor._hooks or {}).values(), key=_hook_order)
                    for hook in hooks:  # (removed meanwhile: none left, the pass goes on)
                        with set_grad_enabled(bool(recorded)):  # as in PyTorch: grad mode is create_graph's
                            result = hook(grad)
                        if result is NO_GRADIENT:  # (a custom Function's input whose backward gave None)
                            grad = NO_GRADIENT
                            break
                        if result is not None:
                            grad = _hook_result(hook, result, grad)
                except BaseException:
                    self._resume(abort=True)
                    raise
                more, running[2][:] = list(running[2]), []
                answer = self._resume(None if grad is given or grad is NO_GRADIENT else grad, drop=grad is NO_GRADIENT,
                                      more=more, hooked=hooked, hook_grads=hook_grads)
        except BaseException:
            if newly and not self._closed:
                for leaf in newly:
                    leaf._has_grad = True  # (so that the command below names it)
                self._set_grads_to_none(newly)
            raise
        finally:
            self._running_passes.pop()
            self._passes_retain.pop()
            self._passes_checkpoint_ok.pop()

    def _resume(self, gradient=None, abort=False, drop=False, more=(), hooked=None, hook_grads=None):
        with self._lock:
            command = self._command("resume")
            command.resume.gradient = gradient._handle if gradient is not None else 0
            command.resume.abort, command.resume.drop = abort, drop
            for tensor in more:  # stops from now on, numbered after the pass's others
                handle = self._handle()
                command.resume.hooked.append(tensor._handle)
                command.resume.hook_grads.append(handle)
                hooked.append(tensor)
                hook_grads.append(handle)
            if abort:
                self._flush()
            return command.id

    def _grad_alias(self, tensor):
        """A handle that stands for ``tensor.grad`` on the server, whatever it is when used."""

        alias = Tensor(self, self._handle(), tensor._shape, tensor._dtype)
        if tensor._grad_graph:  # recorded by create_graph: a non-leaf with a graph the server holds
            alias._requires_grad, alias._is_leaf, alias._parents, alias._opaque = True, False, tensor._grad_graph, True
        with self._lock:
            command = self._command("grad")
            command.grad_of.tensor = tensor._handle
            command.grad_of.result = alias._handle
        return alias

    def _set_grad(self, tensor, value):
        if value is not None and not isinstance(value, Tensor):
            raise errors.InvalidArgumentError(f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}")
        # known here: refused now, as PyTorch does, not at the next sync point (the server checks the rest)
        # (each checked for None: ``None in (dtype, ...)`` is true of float64, which NumPy reads None as)
        if value is not None and tensor._dtype is not None and value._dtype is not None and value._dtype != tensor._dtype:
            raise errors.InvalidArgumentError(
                f"attempting to assign a gradient with dtype '{_CPP_TYPE_NAMES.get(value._dtype, value._dtype.name)}' to a tensor with "
                f"grad_dtype '{_TENSOR_TYPE_NAMES.get(tensor._dtype, tensor._dtype.name)}'. The gradient must match the tensor's "
                "grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute with a specific dtype, or "
                "None to allow any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may break "
                "downstream systems that assume they match.")
        if value is not None and tensor._shape is not None and value._shape is not None and tuple(value._shape) != tuple(tensor._shape):
            raise errors.InvalidArgumentError(
                f"attempting to assign a gradient of size '{list(value._shape)}' to a tensor of size '{list(tensor._shape)}'. Please "
                "ensure that the gradient and the tensor are the same size")
        with self._lock:
            commands = self._batch.commands
            if value is None and commands and not self._closed and self._profiler is None and self._watch is None:
                last = commands[-1]
                if last.WhichOneof("kind") == "set_grad" and not last.set_grad.value:
                    last.set_grad.more.append(tensor._handle)  # `p.grad = None` in a loop: one command, as zero_grad()
                    return
            command = self._command("grad =")
            command.set_grad.tensor = tensor._handle
            command.set_grad.value = value._handle if value is not None else 0

    def _clip_grad(self, tensors, clip_value=None, max_norm=0.0, norm_type=2.0, error_if_nonfinite=False):
        """``clip_grad_value_`` (with ``clip_value``) or ``clip_grad_norm_`` (returns the total norm) as one command."""
        with_grads = [t for t in tensors if t._has_grad]  # PyTorch skips a parameter whose .grad is None
        total = None if clip_value is not None else Tensor(self, self._handle(), (), with_grads[0]._dtype if with_grads else np.dtype(np.float32))
        with self._lock:
            command = self._command("clip_grad_value_" if total is None else "clip_grad_norm_")
            clip = command.clip_grad
            clip.params.extend([t._handle for t in with_grads])
            if total is None:
                clip.by_value, clip.clip_value = True, clip_value
            else:
                clip.max_norm, clip.norm_type, clip.error_if_nonfinite = max_norm, norm_type, error_if_nonfinite
                clip.result = total._handle
            self._sent_command(command)
        return total

    def _unscale_grads(self, tensors, inv_scale):
        """``GradScaler.unscale_``: the tensors' .grads checked for inf/NaN and multiplied by ``inv_scale`` in place,
        as one command; returns found_inf (0-d float32, 1.0 where a grad held an inf or a NaN), not yet fetched."""
        found_inf = Tensor(self, self._handle(), (), np.dtype(np.float32))
        with self._lock:
            command = self._command("GradScaler.unscale_")
            clip = command.clip_grad
            clip.params.extend([t._handle for t in tensors if t._has_grad])
            clip.unscale, clip.inv_scale, clip.result = True, inv_scale, found_inf._handle
            self._sent_command(command)
        return found_inf

    def _set_grads_to_none(self, tensors):
        """``t.grad = None`` for every tensor, as one command (``zero_grad()``)."""
        tensors = [t for t in tensors if t._has_grad]
        if not tensors:
            return
        with self._lock:
            command = self._command("zero_grad")
            command.set_grad.tensor = tensors[0]._handle
            command.set_grad.more.extend([t._handle for t in tensors[1:]])
            self._sent_command(command)
        for t in tensors:
            t._has_grad, t._grad_alias, t._grad_graph = False, None, None

    def _set_requires_grad(self, tensor, requires_grad):
        with self._lock:
            command = self._command("requires_grad_")
            command.set_requires_grad.tensor = tensor._handle
            command.set_requires_grad.requires_grad = requires_grad

    def _retain_grad(self, tensor):
        with self._lock:
            self._retaining = True
            self._command("retain_grad").retain_grad.tensor = tensor._handle

    def _alias(self, tensor, shares_version, keeps_graph=False):
        """detach() (``shares_version``), .data, or (``keeps_graph``) a pin of a non-leaf: a handle of its own at the
        tensor's point of the graph, which a later in-place change to the tensor leaves there (the caller sets what
        the client knows of its graph)."""
        out = Tensor(self, self._handle(), tensor._shape, tensor._dtype)
        out._data_of = None if shares_version else tensor  # for the data setter: p.data -= x went into p
        with self._lock:
            command = self._command("pin" if keeps_graph else "detach" if shares_version else "data")
            command.alias.source = tensor._handle
            command.alias.result = out._handle
            command.alias.shares_version = shares_version
            command.alias.keeps_graph = keeps_graph
        return out

    def _inplace(self, target, op, other, key=None):
        if self._watch is not None:  # (as in _op_into)
            self._watch.inplace(op, target, (other,))
        if target._bits & _PART or (target._view_of is not None and target._view_of._bits & _PART):
            _refuse_part_write("x[...] =" if op == "setitem" else op + "_")
        if op == "setitem" and type(other) is int and not -2**63 <= other < 2**63:
            raise ValueError("Overflow when unpacking long long")  # PyTorch's x[i] = v takes an int64 only
        if isinstance(other, (complex, np.complexfloating)) and op == "setitem" and target._dtype is not None and target._dtype.kind != "c":
            # into a real tensor, as PyTorch's: a bool takes any (nonzero: True), another dtype the real part of one
            # whose imaginary part is 0, refusing the rest in its words
            if target._dtype.kind == "b":
                other = bool(other)
            elif other.imag == 0:
                other = float(other.real)
            else:  # (a half-precision tensor's refusal names double, as PyTorch's)
                raise overflow_error(target._dtype if target._dtype.itemsize > 2 or target._dtype.kind != "f" else np.dtype(np.float64))
        if isinstance(other, (complex, np.complexfloating)):  # a complex number: a 0-d tensor (the wire's numbers are real)
            other = self.tensor(np.asarray(other, dtype=np.complex128 if target._dtype == np.complex128 else np.complex64))
        with self._lock:
            command = self._command(op + "_" if key is None else "x[...] =")
            try:
                inplace = command.inplace
                inplace.target = target._handle
                inplace.op = op
                if other is not None:
                    _set_operand(inplace.other, other)
                if key is not None:
                    inplace.key.CopyFrom(encode_param(key))
            except BaseException:  # a bad operand: the half-made command must not go out
                self._unqueue(command)
                raise
            inplace.no_grad = not is_grad_enabled()
            self._sent_command(command)
            if self._fuses_products and key is None and op in ("add", "sub") and isinstance(other, Tensor) and not other._requires_grad:
                self._note_product(command, other)

    def _note_mul(self, command, inputs, params, results):
        """A mul of a tensor and a number: its command id, the product's handle, the tensor's and the number, for
        ``_note_product`` (``p -= lr * p.grad``); None for any other mul."""
        self._mul = None
        if params or len(results) != 1 or len(inputs) != 2 or _anomaly.enabled:
            return
        tensor, number = inputs if isinstance(inputs[0], Tensor) else inputs[::-1]
        if isinstance(tensor, Tensor) and type(number) in (int, float):  # (bool is not: it is sent as a bool)
            self._mul = (command.id, results[0]._handle, tensor._handle, number)

    def _note_product(self, inplace_command, product):
        """``p -= lr * p.grad``: where ``product`` is the output of the mul command just before this in-place one, a
        tensor times a number, note it; if the product is collected before the next command (a temporary: nothing can
        use it any more), ``_fuse_product`` sends the two as one in-place command with a scale."""
        mul, self._mul = self._mul, None
        if mul is None or mul[1] != product._handle or self._profiler is not None or self._watch is not None:
            return  # (a profile lists the mul, as torch's would; vmap watches every command)
        commands = self._batch.commands
        count = len(commands)
        if count >= 2 and commands[-2].id == mul[0] and commands[-1].id == inplace_command.id:
            self._fusable = (weakref.ref(product), mul, self._batch, count)

    def _fuse_product(self):
        """Carry out what ``_note_product`` noted if its product has been collected: the mul command goes, the
        in-place command takes the mul's tensor and number (the server makes the product as the mul would), and the
        product's handle, never bound, is not released. Else both commands stay as they are."""
        product, (mul_id, product_handle, tensor_handle, number), batch, count = self._fusable
        self._fusable = None
        if product() is not None or batch is not self._batch or len(batch.commands) != count:
            return
        try:  # (one call: another thread's collection may append to the list meanwhile)
            self._released.remove(product_handle)
        except ValueError:  # (its collection did not release it: a closed session) the mul stays
            return
        commands = batch.commands
        inplace = commands[-1].inplace
        inplace.other.handle = tensor_handle
        if type(number) is int:
            inplace.scale.i = number
        else:
            inplace.scale.f = number
        del commands[-2]
        self._sites.pop(mul_id, None)

    def _functional_grad(self, outputs, inputs, grad_outputs, retain_graph, allow_unused=False, create_graph=False):
        handles = [self._handle() for _ in inputs]  # Tensors only for the results that exist (a Tensor releases its handle)
        with self._lock:
            command = self._command("grad")
            grad = command.grad
            grad.outputs.extend([y._handle for y in outputs])
            grad.inputs.extend([x._handle for x in inputs])
            grad.grad_outputs.extend([g._handle if g is not None else 0 for g in grad_outputs])
            grad.retain_graph = bool(retain_graph)
            grad.allow_unused = bool(allow_unused)
            grad.create_graph = bool(create_graph)
            grad.detect_anomaly = _anomaly.enabled and _anomaly.check_nan
            grad.results.extend(handles)
            hooked = _hooked_on_paths(outputs) if self._hooking else None
            if hooked:
                hook_grads = self._stop_at(grad, hooked)
            if self._retaining:  # the non-leaves that retain grad on its paths get a .grad, as in PyTorch
                newly = [t for t in _retained_on_paths(outputs, inputs) if not t._has_grad]
                for t in newly:
                    t._has_grad = True
                if newly:
                    self._new_grads[command.id] = newly
            if (allow_unused or grad.detect_anomaly) and not hooked:
                self._wait()  # which gradients are None only the server knows (anomaly detection: a NaN raises here): a sync point
                unused = set(self._answers.pop(command.id).unused.handles) if allow_unused else ()
            else:
                self._sent_command(command)
                unused = ()
        if hooked:  # a sync point at each stop, and at the end (the answer says which gradients are None)
            unused = set(self._run_hooks(command.id, hooked, hook_grads, (), create_graph and tuple(outputs), tuple(outputs), retain_graph,
                                         checkpoint_ok=False).unused)
        results = [None if h in unused else Tensor(self, h, x._shape, x._dtype) for h, x in zip(handles, inputs)]
        if create_graph:  # recorded: each depends on what the outputs depend on, as far as the client can tell
            for g in results:
                if g is not None:
                    g._requires_grad, g._is_leaf, g._parents, g._opaque = True, False, tuple(outputs), True
        return results


def _within(batch: pb.Batch, max_bytes: int, data_bytes: int) -> list:
    """``batch``, or its commands in order in several batches that each fit in a message of ``max_bytes``.

    ``data_bytes``: the tensor bytes inline in it, so the usual batch needs no sizing.
    """
    room = max_bytes - 64  # the batch's own fields
    if data_bytes + 128 * len(batch.commands) < room // 2 or batch.ByteSize() <= room:
        return [batch]
    pieces, size = [pb.Batch()], 0
    for command in batch.commands:
        n = command.ByteSize() + 8  # field tag and length
        if size + n > room and pieces[-1].commands:
            pieces.append(pb.Batch())
            size = 0
        pieces[-1].commands.append(command)
        size += n
    return pieces


def checked_seed(seed) -> int:
    """A seed as PyTorch takes it: ``int(seed)``, one that fits an int64 or a uint64 (PyTorch's words past that), as
    the unsigned 64-bit number PyTorch's ``initial_seed`` reports."""
    seed = int(seed)
    if not -(2**63) <= seed < 2**64:
        raise ValueError("Overflow when unpacking long long")
    return seed % 2**64


def _as_int64(seed) -> int:
    """A seed as the wire's int64: one of 64 bits or more wraps around (the server takes it modulo 2**64)."""
    seed = int(seed) % 2**64
    return seed - 2**64 if seed >= 2**63 else seed


def _numpy_scalar_dtype(data):
    """The dtype PyTorch infers for a (nested) list holding NumPy scalars: their dtypes promoted with the Python
    numbers' (a float as the default dtype, an int as int64); None where it holds none."""
    kinds = set()

    def collect(items):
        for item in items:
            if isinstance(item, (list, tuple)):
                collect(item)
            else:
                kinds.add(item.dtype if isinstance(item, np.generic) else type(item))

    collect(data)
    if not any(isinstance(k, np.dtype) for k in kinds):
        return None
    dtype = None
    for k in kinds:
        k = k if isinstance(k, np.dtype) else defaults.current if k is float else np.dtype(np.bool_) if k is bool else np.dtype(np.int64)
        dtype = k if dtype is None else promote(dtype, k)
    return dtype


def _size_args(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    size = tuple(_as_int(n) for n in size)  # zeros(n): a one-element integer tensor
    for n in size:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise errors.InvalidArgumentError(f"size must be a tuple of non-negative ints, got {tuple(size)!r}")
        if n < 0:
            raise errors.InvalidArgumentError(f"Trying to create tensor with negative dimension {n}: {[int(k) for k in size]}")
    return tuple(int(n) for n in size)


def _code_and_details(error: grpc.RpcError) -> tuple[str, str]:
    code = error.code() if hasattr(error, "code") else None
    return (code.name if code is not None else "UNKNOWN"), ((error.details() if hasattr(error, "details") else None) or "")


def _header_data(raw):
    chunk = pb.TensorChunk.FromString(raw)
    return chunk.offset, chunk.data


_PART = 4  # Tensor._bits: a copy of a complex tensor's part (x.real, x.imag, view_as_real), where PyTorch's is a view


def _refuse_part_write(what):
    raise errors.InvalidArgumentError(
        f"{what}: this tensor is a copy of a complex tensor's real or imaginary part (x.real, x.imag, view_as_real(x), "
        "view_as_complex(x)), not a view as in PyTorch: a change to it would not reach the complex tensor. Build the new "
        "values out of place, with gw.complex(real, imag).")


def _set_operand(operand, value):
    if isinstance(value, Tensor):  # Tensor or Parameter
        operand.handle = value._handle
    elif isinstance(value, (bool, np.bool_)):
        operand.b = bool(value)
    elif isinstance(value, (int, np.integer)):
        try:
            operand.i = int(value)
        except ValueError:  # past int64: up to 2**64 - 1 goes as its float value, as PyTorch takes it into a float tensor
            operand.f = wide_int(int(value))
    elif isinstance(value, (float, np.floating)):
        operand.f = float(value)
    else:
        raise errors.InvalidArgumentError(f"expected a Tensor or a number, got {type(value).__name__}")


def _leaves(root):
    """What a backward pass from ``root`` fills: the leaves that require grad and the non-leaves that
    retain it (``retain_grad()``), each once, in walk order; and whether the walk met a recorded gradient
    (create_graph), whose parents stand for more than it may reach: then only the server can tell."""
    if root._is_leaf:
        return ([root] if root._requires_grad else []), False
    # walked at every backward(): ids of the nodes met, plain loops, and numbers among the parents skipped by type
    seen, stack, leaves, uncertain = {id(root)}, [root], [root] if root._retains_grad else [], root._opaque
    while stack:
        for x in stack.pop()._parents or ():
            if not isinstance(x, Tensor) or not x._requires_grad or id(x) in seen:
                continue
            seen.add(id(x))
            if x._is_leaf:
                leaves.append(x)
                continue
            if x._retains_grad:
                leaves.append(x)
            if x._opaque:
                uncertain = True
            if x._parents:
                stack.append(x)
    return leaves, uncertain


def _leaves_of(roots):
    """``_leaves`` of several roots: each leaf once; uncertain if any walk is."""
    if len(roots) == 1:
        return _leaves(roots[0])
    found, seen, uncertain = [], set(), False
    for root in roots:
        leaves, unsure = _leaves(root)
        uncertain = uncertain or unsure
        for leaf in leaves:
            if id(leaf) not in seen:
                seen.add(id(leaf))
                found.append(leaf)
    return found, uncertain


def _inputs_reached(roots, inputs):
    """What a pass from ``roots`` with ``inputs=`` fills: the inputs it reaches and the non-leaves that retain grad
    on a path to one; uncertain where a walk meets a recorded gradient (then the server says)."""
    wanted = {id(x) for x in inputs}
    reached, uncertain = set(), False
    for x in _upstream(roots):
        if id(x) in wanted:
            reached.add(id(x))
        uncertain = uncertain or x._opaque
    found = [x for x in dict((id(x), x) for x in inputs).values() if id(x) in reached]
    retained = [t for t in _retained_on_paths(roots, inputs) if id(t) not in wanted]
    return found + retained, uncertain


def _hooked_on_paths(roots):
    """The tensors with hooks (register_hook) that a pass from ``roots`` may reach, the roots too, each once."""
    return [x for x in _upstream(roots) if x._hooks]


def _upstream(roots):
    """The roots and every tensor that requires grad above them in the graph the client knows, each once."""
    seen, stack = set(), []
    for root in roots:
        if id(root) not in seen:
            seen.add(id(root))
            stack.append(root)
    while stack:
        x = stack.pop()
        yield x
        for parent in x._parents or ():
            if isinstance(parent, Tensor) and parent._requires_grad and id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)


_LEGACY_TYPES = {"float16": "torch.HalfTensor", "float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "bfloat16": "torch.BFloat16Tensor"}


NO_GRADIENT = object()  # what an internal hook returns for "no gradient goes on from this tensor" (Resume.drop)


def _hook_order(hook):
    """Where a hook runs among a tensor's: the user's tensor hooks (0), a node's prehooks (1) and hooks (1.5), then a
    custom Function's (``reads_final``: 2), each kind in the order registered."""
    return getattr(hook, "_order", 2 if getattr(hook, "reads_final", False) else 0)


def _hook_result(hook, result, grad):
    """What a hook returned, checked as PyTorch checks it: a Tensor of the gradient's size and type."""
    if not isinstance(result, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
    if result._session is not grad._session:
        raise errors.InvalidArgumentError("a hook returned a tensor of another session")
    name = getattr(hook, "__name__", type(hook).__name__)
    if tuple(result.shape) != tuple(grad.shape):
        raise errors.InvalidArgumentError(f"hook '{name}' has changed the size of value")
    if result.dtype != grad.dtype:
        was, got = (_LEGACY_TYPES.get(t.name, t.name) for t in (grad.dtype, result.dtype))
        raise errors.InvalidArgumentError(f"hook '{name}' has changed the type of value (was {was} got {got})")
    return result


def _retained_on_paths(outputs, inputs):
    """The non-leaves that retain grad whose gradient a functional grad computes: the inputs and
    those on a path from an output down to an input (PyTorch's retains-grad hooks fire for those)."""
    targets = {id(x) for x in inputs}
    reaches, found, stack = {}, [], [(y, False) for y in outputs]  # id -> a path to an input; post-order walk
    while stack:
        t, parents_done = stack.pop()
        if parents_done:
            reaches[id(t)] = hit = id(t) in targets or any(reaches.get(id(p)) for p in t._parents or () if isinstance(p, Tensor))
            if hit and t._retains_grad:
                found.append(t)
        elif id(t) not in reaches:
            reaches[id(t)] = False  # met: walked once
            stack.append((t, True))
            stack.extend((p, False) for p in t._parents or () if isinstance(p, Tensor) and p._requires_grad and id(p) not in reaches)
    return found
