"""Build, start and stop the server: ``create_server(config) -> (server, port)`` and ``main()``."""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gradwire.v1 import gradwire_pb2 as pb
from gradwire.v1 import gradwire_pb2_grpc as pb_grpc

from .config import Config, parse_args
from .engine import Backend
from .servicer import GradwireServicer
from .sessions import SessionRegistry

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Gradwire"].full_name
log = logging.getLogger("gradwire.server")


class _HandlerCapture:
    """Stands in for a server to collect the generated method handlers."""

    def add_generic_rpc_handlers(self, handlers):
        pass

    def add_registered_method_handlers(self, service, handlers):
        self.handlers = dict(handlers)


def service_handlers(servicer) -> dict:
    """The generated method handlers, with Upload and Download taking raw bytes.

    Their data chunks are encoded and decoded by hand (``wire.encode_chunk`` and
    ``decode_chunk``): one copy of a tensor's bytes instead of three. The bytes on
    the wire are the same TensorChunk messages.
    """
    capture = _HandlerCapture()
    pb_grpc.add_GradwireServicer_to_server(servicer, capture)
    handlers = capture.handlers
    handlers["Upload"] = grpc.stream_unary_rpc_method_handler(
        servicer.Upload, request_deserializer=None, response_serializer=pb.UploadReply.SerializeToString
    )
    handlers["Download"] = grpc.unary_stream_rpc_method_handler(
        servicer.Download, request_deserializer=pb.DownloadRequest.FromString, response_serializer=None
    )
    return handlers


class GradwireServer:
    """A gRPC server with the gradwire service, health and reflection, and the session reaper."""

    def __init__(self, config: Config):
        self.config = config
        self.backend = Backend(config.device)
        self.registry = SessionRegistry(config, self.backend)
        options = [
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
            # a client gone without a word (power cut, a dropped route) is noticed: its stream ends, its worker is freed
            ("grpc.keepalive_time_ms", int(config.keepalive_s * 1000)),
            ("grpc.keepalive_timeout_ms", int(config.keepalive_s * 1000)),
            ("grpc.keepalive_permit_without_calls", 1),
            # and clients may ping as the SDK does (every 30 s) without being told to calm down
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
            ("grpc.http2.max_ping_strikes", 0),
        ]
        self.grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=config.max_workers), options=options)
        self.servicer = GradwireServicer(self.registry, config)
        handlers = service_handlers(self.servicer)
        self.grpc_server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
        self.grpc_server.add_registered_method_handlers(SERVICE_NAME, handlers)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc_server)
        reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.grpc_server)
        self.port = self.grpc_server.add_insecure_port(f"{config.host}:{config.port}")
        if self.port == 0:
            raise OSError(f"could not bind {config.host}:{config.port}")
        self._stopped = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="gradwire-reaper", daemon=True)

    def start(self):
        self.grpc_server.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._reaper.start()
        return self

    def _reap(self):
        interval = min(max(self.config.idle_timeout_s / 4, 0.05), 30.0)
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
        self.health.enter_graceful_shutdown()
        self.registry.drain()
        self.servicer.wait_idle(grace if grace is not None else 1.0)
        self.grpc_server.stop(0).wait()

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


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = parse_args(argv)
    server, port = create_server(config)
    server.start()
    tune_garbage_collector()
    print(f"listening on {config.host}:{port} (device {server.backend.device})", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("shutting down: draining in-flight batches")
    server.stop(config.drain_timeout_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
