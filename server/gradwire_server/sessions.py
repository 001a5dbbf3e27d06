"""Sessions: each one an engine, a table of handles, and a lock that keeps its commands in order."""

from __future__ import annotations

import logging
import secrets
import threading
import time
import weakref
from collections import OrderedDict

from gradwire.wire import BufferPool

from . import metrics
from .config import Config
from .engine import Backend, Engine, GraphError, Tensor
from .engine.graph import Node
from .engine.optim import Optimizer
from .errors import DependencyFailed, InvalidRequest, QuotaExceeded, SessionNotFound, Unavailable, UnknownHandle
from .quotas import SessionQuota

log = logging.getLogger("gradwire.server")


class GradAlias:
    """A handle that stands for ``owner.grad``, resolved each time it is used (the SDK's ``t.grad``)."""

    __slots__ = ("owner",)

    def __init__(self, owner: Tensor):
        self.owner = owner


class Session:
    """One client's tensors and graph. Commands run under ``lock``, one batch at a time."""

    metrics = metrics.NULL  # the server's, set when the registry opens it
    max_handles = Config.max_session_handles  # the server's limit, set when the registry opens it
    max_profile_events = Config.max_profile_events  # likewise

    def __init__(self, session_id: str, token: str, engine: Engine, owner: str | None = None):
        self.id = session_id
        self.token = token
        self.owner = owner  # owner id of the API key that opened it (auth.owner_of); None on an open server
        self.engine = engine
        self.tensors: dict[int, Tensor] = {}
        self.optimizers: dict[int, Optimizer] = {}  # handle -> an optimizer's state (engine.optim)
        self.generators: dict[int, object] = {}  # handle -> a gw.Generator's random generator (Engine.new_generator)
        self.failed: dict[int, int] = {}  # handle -> id of the command whose failure left it empty
        self.passes: list = []  # backward passes stopped at tensor hooks, the last begun last (commands._Pass)
        self._aliases: dict[int, list[int]] = {}  # id of a tensor -> handles of GradAliases of its .grad
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        self.applied_seq = 0  # the last batch applied: sequence numbers increase by one
        self.replies: OrderedDict[int, object] = OrderedDict()  # seq -> BatchReply of the last batches applied
        self.last_reply = None  # the full reply of the last batch applied (apply_once), for the metrics
        self.last_upload = 0  # handle bound by the last Upload, which a client may resend if its reply was lost
        # tensors a client made a .grad (p.grad = t): backward adds into them. Keyed by id: a WeakSet compares
        # equal-hashed members with ==, which on tensors is elementwise
        self.assigned_grads = weakref.WeakValueDictionary()

    # --- exactly once -----------------------------------------------------------------
    def apply_once(self, batch, run, window: int):
        """Yield the replies of ``run(batch)`` unless this batch was applied already; then its reply, from the window.

        Call under ``lock``. A client resends every batch it has no reply for after a
        reconnect; the ones that did arrive are answered from the last ``window``
        replies, not run again. A batch of seq 0 is unsequenced: it is run as it comes.
        ``run`` may yield an early answer before the full reply: the window keeps the
        full reply with the early results in it, and a caller that stops listening at
        the early answer (a client gone) still gets the whole batch applied, once.
        ``last_reply`` is that kept reply afterwards (None for a resent batch).
        """
        seq = batch.seq
        self.last_reply = None
        replies = self.replies
        while replies and next(iter(replies)) <= batch.acked:  # read by the client: never resent
            replies.popitem(last=False)
        if seq and seq <= self.applied_seq:
            reply = self.replies.get(seq)
            if reply is None:
                raise InvalidRequest(
                    f"batch {seq} of session {self.id} was applied already and its reply has left the window of the last {window} batches"
                )
            yield reply
            return
        if seq and seq != self.applied_seq + 1:
            raise InvalidRequest(f"batch {seq} of session {self.id} is out of order: the next batch is {self.applied_seq + 1}")
        run_replies = run(batch)
        early, final = [], None
        try:
            for reply in run_replies:
                if not reply.partial:
                    final = reply
                    break
                early.extend(reply.results)
                yield reply
        finally:
            if final is None:  # closed at the early answer: apply the rest of the batch all the same
                for reply in run_replies:
                    final = reply
            if final is not None:
                kept = final if not early else type(final)(seq=seq, results=[*early, *final.results])
                self.last_reply = kept
                if seq:
                    self.applied_seq = seq
                    self.replies[seq] = kept
                    while len(self.replies) > window:
                        self.replies.popitem(last=False)
        yield final

    # --- handles --------------------------------------------------------------------
    def tensor(self, handle: int) -> Tensor:
        tensor = self.tensors.get(handle)
        if type(tensor) is Tensor:
            return tensor
        if tensor is None:
            if handle in self.failed:
                raise DependencyFailed(f"tensor {handle} was never computed: command {self.failed[handle]} failed", self.failed[handle])
            raise UnknownHandle(f"unknown tensor handle {handle} in session {self.id}")
        if tensor.owner.grad is None:
            raise GraphError(f"tensor {handle} stands for a .grad that is None")
        return tensor.owner.grad

    def bind(self, handle: int, tensor):
        self._claim(handle, len(self.tensors))  # (the hot path: the tensors alone are counted here)
        self.tensors[handle] = tensor
        if type(tensor) is GradAlias:
            self._aliases.setdefault(id(tensor.owner), []).append(handle)

    def bind_optimizer(self, handle: int, optimizer: Optimizer):
        self._claim(handle, len(self.tensors) + len(self.optimizers) + len(self.generators))
        self.optimizers[handle] = optimizer

    def bind_generator(self, handle: int, generator):
        self._claim(handle, len(self.tensors) + len(self.optimizers) + len(self.generators))
        self.generators[handle] = generator

    def _claim(self, handle: int, held: int):
        """Refuse a handle that is reserved or in use, or one more than the session may hold; else it stands
        for a failure no longer."""
        if handle == 0:
            raise InvalidRequest("handle 0 is reserved")
        if handle in self.tensors or handle in self.optimizers or handle in self.generators:
            raise InvalidRequest(f"handle {handle} is already in use in session {self.id}")
        if held >= self.max_handles:
            self._refuse_handle()
        self.failed.pop(handle, None)

    def _refuse_handle(self):
        held = len(self.tensors) + len(self.optimizers) + len(self.generators)
        raise QuotaExceeded(
            f"max_session_handles limit: session {self.id} holds {held} handles (tensors, optimizers, generators); "
            f"one more would be above {self.max_handles}. Tensors still referenced on the client keep theirs: drop them (del) "
            "or keep fewer alive"
        )

    def generator(self, handle: int):
        generator = self.generators.get(handle)
        if generator is None:
            if handle in self.failed:
                raise DependencyFailed(f"generator {handle} was never created: command {self.failed[handle]} failed", self.failed[handle])
            raise UnknownHandle(f"unknown generator handle {handle} in session {self.id}")
        return generator

    def optimizer(self, handle: int) -> Optimizer:
        optimizer = self.optimizers.get(handle)
        if optimizer is None:
            if handle in self.failed:
                raise DependencyFailed(f"optimizer {handle} was never created: command {self.failed[handle]} failed", self.failed[handle])
            raise UnknownHandle(f"unknown optimizer handle {handle} in session {self.id}")
        return optimizer

    def settle_grad_aliases(self, owner: Tensor):
        """Before ``owner.grad`` is replaced: its aliases keep the grad they stood for, as PyTorch's
        ``g = p.grad`` keeps its tensor after ``p.grad = None``."""
        if owner.grad is None:
            return  # nothing to keep: the aliases go on standing for whatever grad comes next
        for handle in self._aliases.pop(id(owner), ()):
            if type(self.tensors.get(handle)) is GradAlias:
                self.tensors[handle] = owner.grad

    def mark_failed(self, handle: int, command_id: int):
        if handle and handle not in self.tensors and handle not in self.optimizers and handle not in self.generators:  # a live handle stays
            if len(self.failed) >= self.max_handles:  # bounded too: the oldest failure is forgotten (its handle then reads as unknown)
                del self.failed[next(iter(self.failed))]
            self.failed[handle] = command_id

    def release(self, handles):
        unknown = []
        for handle in handles:
            tensor = self.tensors.pop(handle, None)
            if tensor is None and (self.optimizers.pop(handle, None) is not None or self.generators.pop(handle, None) is not None):
                continue
            if tensor is None and self.failed.pop(handle, None) is None:
                unknown.append(handle)
            elif type(tensor) is GradAlias:
                aliases = self._aliases.get(id(tensor.owner), [])
                if handle in aliases:
                    aliases.remove(handle)
                if not aliases:
                    self._aliases.pop(id(tensor.owner), None)
        if unknown:
            raise UnknownHandle(f"release of unknown tensor handle(s) {unknown[:10]} in session {self.id}")

    # --- accounting -------------------------------------------------------------------
    def stats(self) -> dict:
        """Live tensors, the bytes of the distinct arrays they hold (grads included), saved graph nodes."""
        arrays = {}
        for tensor in self.tensors.values():
            if type(tensor) is GradAlias:
                continue
            for t in (tensor, tensor.grad):
                if t is not None:
                    base = t.array.base if t.array.base is not None else t.array
                    arrays[id(base)] = base.nbytes
        for optimizer in self.optimizers.values():
            for state in optimizer.state.values():
                for value in state.values():
                    if not isinstance(value, float):
                        arrays[id(value)] = value.nbytes
        profiler = self.engine.profiler
        return {"tensors": len(self.tensors), "bytes": sum(arrays.values()), "graph_nodes": self._saved_nodes(), "generators": len(self.generators),
                "profile_events": len(profiler.events) if profiler is not None else 0}

    def _saved_nodes(self) -> int:
        seen, stack, holding = set(), [t.grad_fn for t in self.tensors.values() if type(t) is Tensor and t.grad_fn], 0
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen or not isinstance(node, Node):
                continue
            seen.add(id(node))
            holding += bool(node.saved_tensors)
            stack.extend(node.edges)
        return holding

    def clear(self):
        self.tensors.clear()
        self.optimizers.clear()
        self.generators.clear()
        self.replies.clear()
        self.failed.clear()
        self._aliases.clear()
        self.passes.clear()
        self.engine.profiler = None


class SessionRegistry:
    """Every open session of this server, and a bounded record of ended ones."""

    def __init__(self, config: Config, backend: Backend):
        self.config = config
        self.backend = backend
        self._sessions: dict[str, Session] = {}
        self._ended: OrderedDict[str, tuple[str, float, str, str | None]] = OrderedDict()  # id -> reason, when, token, owner
        self._lock = threading.Lock()
        self.draining = False
        # transfers pass through these (pinned on CUDA): a repeated one of one size reuses the buffer of the last, once free
        self.host_buffers = BufferPool(max_bytes=min(1 << 30, config.max_session_bytes), allocate=backend.host_buffer)
        self.metrics = metrics.NULL  # the server sets its own (metrics.for_server)

    def open(self, session_id: str, seed=None, owner: str | None = None) -> Session:
        if not session_id or len(session_id) > 128:
            raise InvalidRequest("a session id of 1 to 128 characters is required")
        with self._lock:
            if self.draining:
                raise Unavailable("server is shutting down; no new sessions")
            if session_id in self._sessions:
                raise InvalidRequest(f"session {session_id} is already open")
            if len(self._sessions) >= self.config.max_sessions:
                n = len(self._sessions)
                raise QuotaExceeded(f"max_sessions limit: {n} sessions are open; one more would make {n + 1}, above {self.config.max_sessions}")
            if owner is not None:
                held = sum(1 for s in self._sessions.values() if s.owner == owner)
                if held >= self.config.max_sessions_per_key:
                    raise QuotaExceeded(
                        f"max_sessions_per_key limit: this API key holds {held} open sessions; "
                        f"one more would be {held + 1}, above {self.config.max_sessions_per_key}"
                    )
            session = Session(session_id, secrets.token_urlsafe(32), Engine(seed=seed, backend=self.backend), owner)
            session.quota = SessionQuota(session, self.config.max_session_bytes, self.config.max_tensor_elements)
            session.max_handles = self.config.max_session_handles
            session.max_profile_events = self.config.max_profile_events
            self._sessions[session_id] = session
            self._ended.pop(session_id, None)
        session.metrics = self.metrics
        self.metrics.session_opened()
        log.info("session opened", extra={"session_id": session_id, "device": session.engine.device})
        return session

    def get(self, session_id: str, token: str, owner: str | None = None) -> Session:
        """The open session ``session_id`` if ``token`` is its token and ``owner`` the key that opened it.

        A wrong token or another key gets the same answer as an id never opened, for open and
        ended sessions alike: nobody learns which ids exist, nor how an ended one ended.
        """
        session = self._sessions.get(session_id)
        if session is None:
            ended = self._ended.get(session_id)
            if ended is not None and _same_caller(ended[2], ended[3], token, owner):
                reason, when = ended[:2]
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when))
                raise SessionNotFound(f"session {session_id}: {reason}, {time.time() - when:.0f} s ago (at {stamp} UTC)")
            raise SessionNotFound(f"unknown session {session_id}")
        if not _same_caller(session.token, session.owner, token, owner):
            raise SessionNotFound(f"unknown session {session_id}")
        session.last_used = time.monotonic()
        return session

    def end(self, session: Session, reason: str):
        """Close a session and free all it holds, once it has finished its current batch."""
        with self._lock:
            if self._sessions.get(session.id) is not session:
                return
            del self._sessions[session.id]
            self._ended[session.id] = (reason, time.time(), session.token, session.owner)
            while len(self._ended) > self.config.ended_sessions_kept:
                self._ended.popitem(last=False)
        self.metrics.session_ended(reason)
        log.info("session ended: %s", reason, extra={"session_id": session.id})
        with session.lock:
            session.clear()
        self.host_buffers.clear()  # what the session's uploads held goes back to the system

    def sessions(self) -> list[Session]:
        with self._lock:
            return list(self._sessions.values())

    def reap_idle(self, now=None) -> int:
        now = time.monotonic() if now is None else now
        # a session running a batch is not idle, however long ago the batch began
        idle = [s for s in self.sessions() if now - s.last_used > self.config.idle_timeout_s and not s.lock.locked()]
        for session in idle:
            self.end(session, f"expired after {self.config.idle_timeout_s:g} s idle")
        return len(idle)

    def end_owned_by(self, owners, reason: str) -> int:
        """End every session opened with one of ``owners`` (revoked keys); how many were ended."""
        doomed = [s for s in self.sessions() if s.owner is not None and s.owner in owners]
        for session in doomed:
            self.end(session, reason)
        return len(doomed)

    def drain(self):
        """Refuse new work, let in-flight batches finish, and close every session."""
        with self._lock:
            self.draining = True
        for session in self.sessions():
            self.end(session, "closed by a server shutdown")


def _same_caller(token: str, owner: str | None, given_token: str, given_owner: str | None) -> bool:
    """Token and key both match, compared in constant time."""
    same_token = secrets.compare_digest(token.encode(), (given_token or "").encode())
    same_owner = secrets.compare_digest((owner or "").encode(), (given_owner or "").encode())
    return same_token and same_owner
