"""Prometheus metrics of one server (``--metrics-port``), and the hooks that feed them.

Each server has its own ``Metrics`` (its own prometheus_client registry: an embedded
server beside another in one process counts only its own work) or, with the endpoint
off, ``NULL``, whose hooks do nothing. The hooks are one call each from the layers that
see the events: ``sessions.py`` (sessions opened and ended), ``servicer.py`` (each
batch, the chunked transfers, failed calls) and ``commands.py`` (backward timing). What
sessions hold (tensors, bytes) is read at scrape time, not counted on the hot path.

Names (every counter is exposed with the ``_total`` suffix):

- ``gradwire_sessions_live``, ``gradwire_tensors_held``, ``gradwire_tensor_bytes_held``: gauges
- ``gradwire_sessions_opened_total``, ``gradwire_sessions_ended_total{reason}``
- ``gradwire_commands_total{kind}``, ``gradwire_ops_total{op}``
- ``gradwire_backward_seconds{kind}``: histogram of ``backward`` and functional ``grad`` commands
- ``gradwire_errors_total{code}``: errors sent to clients (command results and failed calls), by gRPC status
- ``gradwire_transfer_bytes_total{direction,path}``: tensor bytes in and out, inline in batches or on the chunked streams
- ``gradwire_build_info{version,device}``
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

BACKWARD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def end_reason(reason: str) -> str:
    """The label of a session's end: closed, expired, shutdown or other (the registry's reasons are sentences)."""
    if reason.startswith("expired"):
        return "expired"
    if "shutdown" in reason:
        return "shutdown"
    if reason.startswith("closed"):
        return "closed"
    return "other"


class NullMetrics:
    """The hooks with the endpoint off: nothing is counted."""

    enabled = False
    port = None

    def session_opened(self):
        pass

    def session_ended(self, reason: str):
        pass

    def batch(self, batch, replies):
        pass

    def transfer(self, direction: str, nbytes: int):
        pass

    def error(self, code: str):
        pass

    def backward(self, kind: str = "backward"):
        return contextlib.nullcontext()

    def serve(self, host: str, port: int) -> int | None:
        return None

    def stop(self):
        pass


NULL = NullMetrics()


class Metrics(NullMetrics):
    """The metrics of one server; ``serve(host, port)`` starts its HTTP endpoint."""

    enabled = True

    def __init__(self, sessions, version: str, device: str):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._opened = Counter("gradwire_sessions_opened", "Sessions opened on this server", registry=r)
        self._ended = Counter("gradwire_sessions_ended", "Sessions ended, by reason", ["reason"], registry=r)
        self._commands = Counter("gradwire_commands", "Commands received in batches, by kind", ["kind"], registry=r)
        self._ops = Counter("gradwire_ops", "Op commands received, by op", ["op"], registry=r)
        self._errors = Counter("gradwire_errors", "Errors sent to clients, by gRPC status code", ["code"], registry=r)
        self._bytes = Counter(
            "gradwire_transfer_bytes", "Tensor bytes received (in) and sent (out), inline in batches or on the chunked streams",
            ["direction", "path"], registry=r,
        )
        self._backward = Histogram(
            "gradwire_backward_seconds", "Time to run a backward or functional grad command on the server",
            ["kind"], buckets=BACKWARD_BUCKETS, registry=r,
        )
        Gauge("gradwire_build_info", "Version and device of this server", ["version", "device"], registry=r).labels(version, device).set(1)
        r.register(_HeldCollector(sessions))
        self._http = None
        self.port = None

    def session_opened(self):
        self._opened.inc()

    def session_ended(self, reason: str):
        self._ended.labels(end_reason(reason)).inc()

    def batch(self, batch, replies):
        """Count a batch's commands, ops and inline bytes, and the errors in its replies (an early one and the full one)."""
        kinds, ops, inline_in = Tally(), Tally(), 0
        for command in batch.commands:
            kind = command.WhichOneof("kind")
            kinds[kind or "none"] += 1
            if kind == "op":
                ops[command.op.name] += 1
            elif kind == "put":
                inline_in += len(command.put.tensor.data)
        codes, inline_out = Tally(), 0
        for result in (result for reply in replies for result in reply.results):
            kind = result.WhichOneof("kind")
            if kind == "error":
                codes[result.error.code] += 1
            elif kind == "tensor":
                inline_out += len(result.tensor.data)
        for kind, n in kinds.items():
            self._commands.labels(kind).inc(n)
        for op, n in ops.items():
            self._ops.labels(op).inc(n)
        for code, n in codes.items():
            self._errors.labels(code).inc(n)
        if inline_in:
            self._bytes.labels("in", "inline").inc(inline_in)
        if inline_out:
            self._bytes.labels("out", "inline").inc(inline_out)

    def transfer(self, direction: str, nbytes: int):
        """Bytes of one tensor on the chunked Upload ("in") or Download ("out") stream."""
        self._bytes.labels(direction, "stream").inc(nbytes)

    def error(self, code: str):
        """A call that failed as a whole (its status code), as opposed to one command of a batch."""
        self._errors.labels(code).inc()

    @contextlib.contextmanager
    def backward(self, kind: str = "backward"):
        start = time.perf_counter()
        try:
            yield
        finally:
            self._backward.labels(kind).observe(time.perf_counter() - start)

    def serve(self, host: str, port: int) -> int:
        """Serve ``/metrics`` over HTTP on ``host:port`` (0 picks a free port); the port bound."""
        self._http, _ = start_http_server(port, addr=host, registry=self.registry)
        self.port = self._http.server_port
        return self.port

    def stop(self):
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None


class _HeldCollector:
    """Live sessions, and the tensors and bytes they hold, read from the session registry at scrape time."""

    def __init__(self, sessions):
        self.sessions = sessions

    def describe(self):
        return []

    def collect(self):
        sessions = self.sessions.sessions()
        tensors = nbytes = 0
        for session in sessions:
            n, b = held(session)
            tensors += n
            nbytes += b
        yield GaugeMetricFamily("gradwire_sessions_live", "Sessions open on this server", value=len(sessions))
        yield GaugeMetricFamily("gradwire_tensors_held", "Tensor handles held by open sessions", value=tensors)
        yield GaugeMetricFamily("gradwire_tensor_bytes_held", "Bytes of the arrays open sessions hold (grads included)", value=nbytes)


def held(session) -> tuple[int, int]:
    """(handles, bytes of distinct arrays) of a session, without its lock.

    A snapshot of the handle table (``list()`` of a dict's values runs without a
    thread switch), so a scrape never waits behind a long batch; it may be a batch old.
    """
    values = list(session.tensors.values())
    arrays = {}
    for tensor in values:
        for t in (tensor, getattr(tensor, "grad", None)):
            array = getattr(t, "array", None)  # a .grad alias has no array of its own
            if array is not None:
                base = array.base if array.base is not None else array
                arrays[id(base)] = base.nbytes
    return len(values), sum(arrays.values())


def for_server(config, sessions, version: str, device: str) -> NullMetrics:
    """``Metrics`` where ``config.metrics_port`` asks for the endpoint (0 or more), else ``NULL``."""
    return Metrics(sessions, version, device) if config.metrics_port >= 0 else NULL
