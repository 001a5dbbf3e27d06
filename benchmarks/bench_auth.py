"""What API keys and TLS cost: connect time and pipelined tiny ops, each setup against an open server in the same run.

    python benchmarks/bench_auth.py [--repeats 5] [--ops 3000]

Servers run in this process on loopback (device cpu); certificates are made fresh
(tests/e2e/certs.py). Ratios are setup / open server; below 1 means faster.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import tempfile
import time

import numpy as np

import gradwire as gw
from gradwire_server.app import create_server
from gradwire_server.config import Config

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from certs import CertificateAuthority  # noqa: E402


def setups(directory: pathlib.Path) -> dict:
    ca = CertificateAuthority(directory)
    server, client = ca.issue("server", server=True), ca.issue("client", server=False)
    tls = {"tls_cert": str(server.cert), "tls_key": str(server.key)}
    return {
        "open": ({}, {}),
        "API key": ({"api_keys": "k"}, {"api_key": "k"}),
        "API key + TLS": ({"api_keys": "k", **tls}, {"api_key": "k", "tls_ca": str(ca.path)}),
        "API key + mutual TLS": (
            {"api_keys": "k", **tls, "tls_client_ca": str(ca.path)},
            {"api_key": "k", "tls_ca": str(ca.path), "tls_cert": str(client.cert), "tls_key": str(client.key)},
        ),
    }


def measure(server_settings, client_settings, repeats, ops):
    server, port = create_server(Config(host="127.0.0.1", port=0, device="cpu", **server_settings))
    server.start()
    connects, per_op = [], []
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            s = gw.connect(f"127.0.0.1:{port}", timeout=10, **client_settings)
            connects.append(time.perf_counter() - start)
            x = s.tensor(np.ones(16, np.float32))
            s.sync()
            start = time.perf_counter()
            for _ in range(ops):
                x = x + 1.0
            x.numpy()
            per_op.append((time.perf_counter() - start) / ops)
            s.close()
    finally:
        server.stop(grace=0.5)
    return statistics.median(connects), statistics.median(per_op)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ops", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        results = {name: measure(*pair, args.repeats, args.ops) for name, pair in setups(pathlib.Path(directory)).items()}
    base_connect, base_op = results["open"]
    print(f"{'setup':22s} {'connect':>10s} {'ratio':>6s} {'pipelined add':>14s} {'ratio':>6s}")
    for name, (connect, op) in results.items():
        print(f"{name:22s} {connect * 1e3:7.1f} ms {connect / base_connect:6.2f} {op * 1e6:9.1f} us/op {op / base_op:6.2f}")


if __name__ == "__main__":
    main()
