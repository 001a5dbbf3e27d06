"""Ask a server's gRPC health service whether it is SERVING: the container image's HEALTHCHECK.

    python -m gradwire_server.healthcheck [--address HOST:PORT] [--service NAME] [--timeout S]

Exit status 0 when the answer is SERVING, 1 otherwise (NOT_SERVING while a server
drains, or no answer). Without ``--address`` it asks the server this environment
configures: ``GRADWIRE_HEALTH_PORT`` where one is set (the plain-text health port of
a TLS server), else ``GRADWIRE_PORT``, and ``GRADWIRE_HOST`` where that is not a
wildcard address, else loopback, as ``gradwire-server`` itself reads them.
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .config import parse_args

_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


def default_address(environ=None) -> str:
    """Where this environment's server listens, as seen from inside its container."""
    config = parse_args([], environ)
    host = "127.0.0.1" if config.host in _WILDCARDS else config.host
    return f"{host}:{config.health_port if config.health_port > 0 else config.port}"


def check(address: str, service: str = "", timeout: float = 3.0) -> str:
    """The health service's answer for ``service`` ("" is the whole server), by name; raises grpc.RpcError."""
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradwire_server.healthcheck", description=__doc__.splitlines()[0])
    parser.add_argument("--address", default=None, help="HOST:PORT of the server (default: from GRADWIRE_HOST and GRADWIRE_PORT)")
    parser.add_argument("--service", default="", help='service to ask about ("" the whole server; gradwire.v1.Gradwire)')
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer")
    args = parser.parse_args(argv)
    address = args.address or default_address()
    try:
        status = check(address, args.service, args.timeout)
    except grpc.RpcError as error:
        print(f"{address}: no answer: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    print(f"{address}: {status}")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
