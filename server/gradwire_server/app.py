"""Build, start and stop the server: ``create_server(config) -> (server, port)`` and ``main()``."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gradwire.v1 import gradwire_pb2 as pb
from gradwire.v1 import gradwire_pb2_grpc as pb_grpc

from . import __version__, compiled, logs, metrics
from .auth import ApiKeys, AuthInterceptor
from .config import Config, parse_args
from .errors import InvalidRequest
from .engine import Backend
from .servicer import GradwireServicer
from .sessions import SessionRegistry
from .status import status_of
from .tls import exposure_warnings, server_credentials

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Gradwire"].full_name
log = logging.getLogger("gradwire.server")


class _HandlerCapture:
    """Stands in for a server to collect the generated method handlers."""

    def add_generic_rpc_handlers(self, handlers):
        pass

    def add_registered_method_handlers(self, service, handlers):
        self.handlers = dict(handlers)


def service_handlers(servicer) -> dict:
    """The generated method handlers, taking raw bytes and parsing them here.

    A request that is not a valid message is INVALID_ARGUMENT naming the RPC
    (grpc's own deserializers would answer INTERNAL). Upload's and Download's
    data chunks are encoded and decoded by hand (``wire.encode_chunk`` and
    ``decode_chunk``): one copy of a tensor's bytes instead of three. The bytes
    on the wire are the same TensorChunk messages.
    """
    capture = _HandlerCapture()
    pb_grpc.add_GradwireServicer_to_server(servicer, capture)
    handlers = capture.handlers
    for method in pb.DESCRIPTOR.services_by_name["Gradwire"].methods:
        if method.name != "Upload":  # Upload parses its chunks itself (servicer._parse_chunk)
            handlers[method.name] = _parsing(handlers[method.name], method.name, getattr(pb, method.input_type.name))
    handlers["Upload"] = grpc.stream_unary_rpc_method_handler(
        servicer.Upload, request_deserializer=None, response_serializer=pb.UploadReply.SerializeToString
    )
    download = handlers["Download"]
    handlers["Download"] = grpc.unary_stream_rpc_method_handler(download.unary_stream, response_serializer=None)
    return handlers


def _parsing(handler, name: str, request_type):
    """``handler`` with its requests parsed from raw bytes: malformed ones are a typed error."""

    def parse(raw):
        try:
            return request_type.FromString(raw)
        except Exception:  # protobuf's DecodeError, whatever the implementation
            raise InvalidRequest(f"{name}: the request is not a valid {request_type.DESCRIPTOR.full_name}") from None

    def parse_unary(raw, context):
        try:
            return parse(raw)
        except InvalidRequest as error:
            context.abort(status_of(error), str(error))

    def parsed(requests):
        for raw in requests:
            yield parse(raw)  # raised inside the servicer's loop: its error mapping applies

    serialize = handler.response_serializer
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(lambda requests, context: handler.stream_stream(parsed(requests), context), response_serializer=serialize)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(lambda requests, context: handler.stream_unary(parsed(requests), context), response_serializer=serialize)
    if handler.response_streaming:

        def unary_stream(raw, context):
            yield from handler.unary_stream(parse_unary(raw, context), context)

        return grpc.unary_stream_rpc_method_handler(unary_stream, response_serializer=serialize)
    return grpc.unary_unary_rpc_method_handler(lambda raw, context: handler.unary_unary(parse_unary(raw, context), context), response_serializer=serialize)


class GradwireServer:
    """A gRPC server with the gradwire service, health and reflection, and the session reaper."""

    def __init__(self, config: Config):
        self.config = config
        self.backend = Backend(config.device)
        self.registry = SessionRegistry(config, self.backend)
        self.api_keys = ApiKeys.from_config(config)
        credentials = server_credentials(config)
        self.registry.metrics = self.metrics = metrics.for_server(config, self.registry, __version__, self.backend.device)
        self.metrics_port = None  # the endpoint's port once started, where --metrics-port asks for one
        options = [
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
            # a client gone without a word (power cut, a dropped route) is noticed: its stream ends, its worker is freed
            ("grpc.keepalive_time_ms", int(config.keepalive_s * 1000)),
            ("grpc.keepalive_timeout_ms", int(config.keepalive_s * 1000)),
            ("grpc.keepalive_permit_without_calls", 1),
            # a keepalive ping sent while another ping (gRPC's own, for flow control) is unanswered waits on
            # that one, whose timeout is this, a minute by default: without it a silent peer was dropped
            # after 60 s whatever keepalive_s said (tests/e2e/test_faults.py, the keepalive test)
            ("grpc.http2.ping_timeout_ms", int(config.keepalive_s * 1000)),
            # and clients may ping as the SDK does (every 30 s) without being told to calm down
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
            ("grpc.http2.max_ping_strikes", 0),
        ]
        self.grpc_server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=config.max_workers), options=options,
            interceptors=[AuthInterceptor(self.api_keys)] if self.api_keys.enabled else [],  # keys cannot be enabled later
        )
        self.servicer = GradwireServicer(self.registry, config, self.api_keys)
        handlers = service_handlers(self.servicer)
        self.grpc_server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
        self.grpc_server.add_registered_method_handlers(SERVICE_NAME, handlers)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc_server)
        reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.grpc_server)
        address = f"{config.host}:{config.port}"
        self.port = self.grpc_server.add_secure_port(address, credentials) if credentials else self.grpc_server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"could not bind {config.host}:{config.port}")
        if config.max_workers <= config.max_sessions:
            log.warning("max_workers %d <= max_sessions %d: with every session's stream open, health checks and transfers wait for a worker",
                        config.max_workers, config.max_sessions)
        modules = compiled.status()
        log.info("hot path: %d of %d modules compiled (Cython), the rest run as Python source",
                 sum(state == "compiled" for state in modules.values()), len(modules))
        for warning in exposure_warnings(address, config.host, self.api_keys.enabled, credentials is not None):
            log.warning("%s", warning)
        # probes (a container's HEALTHCHECK, Kubernetes' grpc: probes) speak plain text: beside a TLS
        # port, a port of its own serves the health service alone, and nothing else
        self.health_server, self.health_port = None, None
        if config.health_port >= 0:
            self.health_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
            health_pb2_grpc.add_HealthServicer_to_server(self.health, self.health_server)
            self.health_port = self.health_server.add_insecure_port(f"{config.host}:{config.health_port}")
            if self.health_port == 0:
                raise OSError(f"could not bind the health port {config.host}:{config.health_port}")
        self._stopped = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="gradwire-reaper", daemon=True)

    def start(self):
        self.metrics_port = self.metrics.serve(self.config.host, self.config.metrics_port)
        self.grpc_server.start()
        if self.health_server is not None:
            self.health_server.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._reaper.start()
        return self

    def reload_api_keys(self) -> int:
        """Read the keys file again (SIGHUP); end the sessions of revoked keys. How many were ended."""
        revoked = self.api_keys.reload()
        return self.registry.end_owned_by(revoked, "closed by the server: its API key was revoked") if revoked else 0

    def _reap(self):
        interval = self.config.reap_interval_s or min(max(self.config.idle_timeout_s / 4, 0.05), 30.0)
        while not self._stopped.wait(interval):
            self.registry.reap_idle()

    def stop(self, grace: float | None = None):
        """Drain: refuse new work, finish in-flight batches, close sessions, stop serving.

        ``grace`` bounds the wait for batches' replies and transfers under way; streams
        that are only waiting for their client's next batch end at once (UNAVAILABLE).
        """
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.registry.draining = True  # first: a batch that comes from now on is refused
        log.info("shutting down: draining in-flight batches")
        self.health.enter_graceful_shutdown()
        self.registry.drain()
        self.servicer.wait_idle(grace if grace is not None else 1.0)
        # a short grace, not 0: the last replies were handed to gRPC, and stop(0) cancels calls
        # at once, which can drop a reply not yet written to the socket; idle streams end then
        self.grpc_server.stop(min(grace, 0.5) if grace is not None else 0.5).wait()
        if self.health_server is not None:
            self.health_server.stop(0).wait()
        self.metrics.stop()

    def wait_for_termination(self, timeout=None):
        return self.grpc_server.wait_for_termination(timeout)


def tune_garbage_collector():
    """Collect cycles rarely, and never scan what was loaded at start.

    The engine makes no reference cycles (leaves hold their AccumulateGrad weakly),
    yet with CPython's default thresholds the cycle collector ran every 700
    allocations over every live tensor, node and module object: half the server's
    time per op on a pipelined chain of small ops. Only the server process does
    this; an embedded server leaves its host program's collector alone.
    """
    gc.freeze()  # what was imported at start stays out of every collection
    gc.set_threshold(50_000, 20, 20)


def create_server(config: Config) -> tuple[GradwireServer, int]:
    """A server bound to ``config.host:config.port`` (port 0 picks one), not yet started."""
    server = GradwireServer(config)
    return server, server.port


class _SignalInbox:
    """The signals ``main`` acts on, in the order they came.

    The kernel hands a process's signal to any of its threads, and Python runs the handler only
    in the main thread, when that thread next runs Python: a main thread asleep in a lock (as in
    ``queue.get()``) sleeps on through a SIGTERM that one of gRPC's threads took. So the main
    thread sleeps reading a pipe that every caught signal writes its number to, on whichever
    thread it lands (``signal.set_wakeup_fd``).
    """

    def __init__(self, signums):
        self._read, write = os.pipe()
        os.set_blocking(write, False)
        signal.set_wakeup_fd(write)
        for signum in signums:
            signal.signal(signum, lambda *_: None)  # caught, so the wakeup byte is written; acted on in next()
        self._pending = []

    def next(self) -> int:
        while not self._pending:
            self._pending.extend(os.read(self._read, 64))
        return self._pending.pop(0)


def main(argv=None):
    config = parse_args(argv)
    logs.configure(config.log_format)
    try:
        server, port = create_server(config)
    except ValueError as error:  # a keys file or TLS files that cannot be used
        print(f"gradwire-server: error: {error}", file=sys.stderr)
        return 2
    server.start()
    tune_garbage_collector()
    signals = _SignalInbox((signal.SIGTERM, signal.SIGINT) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()))
    # ready only now: a supervisor may send SIGTERM as soon as it reads this line
    print(f"listening on {config.host}:{port} (device {server.backend.device})", flush=True)
    if server.metrics_port is not None:
        print(f"metrics on http://{config.host}:{server.metrics_port}/metrics", flush=True)
    if server.health_port is not None:
        print(f"health on {config.host}:{server.health_port} (plain text)", flush=True)
    while signals.next() == getattr(signal, "SIGHUP", None):
        try:
            server.reload_api_keys()
        except ValueError:
            pass  # logged; the previous keys stay in force
    server.stop(config.drain_timeout_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
