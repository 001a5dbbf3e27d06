"""What an operator sees: the Prometheus endpoint (--metrics-port), JSON logs (--log-format json), the health probe."""

from __future__ import annotations

import io
import json
import logging
import urllib.request

import grpc
import numpy as np
import pytest

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb
from gradwire.v1 import gradwire_pb2_grpc as pb_grpc
from gradwire_server import __version__, healthcheck, logs, metrics
from gradwire_server.app import SERVICE_NAME
from tests.servers import start_server


def scrape(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as reply:
        text = reply.read().decode()
    return {k: float(v) for k, v in (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))}


@pytest.fixture
def metered():
    server = start_server(device="cpu", metrics_port=0)
    server.url = f"http://127.0.0.1:{server.metrics_port}/metrics"
    yield server
    server.stop(grace=1.0)


def test_metrics_are_off_unless_a_port_is_given(server):
    assert server.metrics is metrics.NULL and server.metrics_port is None


def test_the_endpoint_counts_sessions_work_errors_and_bytes(metered):
    m = scrape(metered.url)
    assert m["gradwire_sessions_live"] == 0 and m.get("gradwire_sessions_opened_total") == 0
    assert m[f'gradwire_build_info{{device="cpu",version="{__version__}"}}'] == 1
    with gw.connect(metered.address, timeout=10) as s:
        x = s.randn(300, 1000, requires_grad=True)  # 1.2 MB: held, and downloaded on the chunked stream
        big = s.tensor(np.ones((600, 600), dtype=np.float32))  # 1.44 MB: uploaded on the chunked stream
        w = s.randn(1000, 4, requires_grad=True)
        (x @ w).relu().sum().backward()
        (x @ w).tanh().sum().backward()
        x.detach().numpy()
        with pytest.raises(gw.InvalidArgumentError):
            (w @ w).detach().numpy()  # one error; the fetch that depends on it fails with FAILED_PRECONDITION
        m = scrape(metered.url)
        assert m["gradwire_sessions_live"] == 1 and m["gradwire_sessions_opened_total"] == 1
        assert m["gradwire_tensors_held"] >= 3
        assert m["gradwire_tensor_bytes_held"] >= x.detach().numpy().nbytes + 600 * 600 * 4 + w.detach().numpy().nbytes
        assert m['gradwire_ops_total{op="matmul"}'] == 3
        assert m['gradwire_ops_total{op="relu"}'] == m['gradwire_ops_total{op="tanh"}'] == 1
        assert m['gradwire_commands_total{kind="backward"}'] == 2
        assert m['gradwire_backward_seconds_count{kind="backward"}'] == 2
        assert m['gradwire_backward_seconds_bucket{kind="backward",le="+Inf"}'] == 2
        assert m['gradwire_errors_total{code="INVALID_ARGUMENT"}'] == 1
        assert m['gradwire_transfer_bytes_total{direction="in",path="stream"}'] == 600 * 600 * 4
        assert m['gradwire_transfer_bytes_total{direction="out",path="stream"}'] >= 300 * 1000 * 4
        del big
    m = scrape(metered.url)
    assert m["gradwire_sessions_live"] == 0 and m["gradwire_tensors_held"] == 0 and m["gradwire_tensor_bytes_held"] == 0
    assert m['gradwire_sessions_ended_total{reason="closed"}'] == 1


def test_a_call_refused_as_a_whole_is_counted_by_its_code(metered):
    with grpc.insecure_channel(metered.address) as channel:
        with pytest.raises(grpc.RpcError):
            pb_grpc.GradwireStub(channel).CloseSession(pb.CloseSessionRequest(), metadata=(("gradwire-session", "nobody"),), timeout=10)
    assert scrape(metered.url)['gradwire_errors_total{code="NOT_FOUND"}'] == 1


def test_the_cli_prints_the_metrics_port_it_picked(tmp_path):
    from tests.deploy.proxy import ServerProcess

    process = ServerProcess(tmp_path, "metered")
    try:
        process.wait_ready()
        assert scrape(process.metrics_url)["gradwire_sessions_live"] == 0
    finally:
        process.close()


@pytest.fixture
def json_log():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("json", stream=stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def records(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_logs_carry_the_session_and_request_ids(server, json_log):
    with gw.connect(server.address, timeout=10) as s:
        s.randn(2).numpy()
    with grpc.insecure_channel(server.address) as channel:  # a call that fails, under a proxy's request id
        with pytest.raises(grpc.RpcError):
            pb_grpc.GradwireStub(channel).CloseSession(
                pb.CloseSessionRequest(), metadata=(("gradwire-session", "someone"), ("x-request-id", "req-42")), timeout=10
            )
    lines = records(json_log)
    assert all({"time", "level", "logger", "message", "session_id", "request_id"} <= set(r) for r in lines)
    opened = [r for r in lines if r["message"] == "session opened" and r["session_id"] == s.id]
    ended = [r for r in lines if r["message"] == "session ended: closed by the client" and r["session_id"] == s.id]
    assert len(opened) == len(ended) == 1 and opened[0]["request_id"] and opened[0]["device"] == "cpu"
    (failed,) = [r for r in lines if r.get("rpc") == "CloseSession" and r["session_id"] == "someone"]
    assert failed["request_id"] == "req-42" and failed["code"] == "NOT_FOUND"


def test_the_health_probe_says_serving_then_not_once_draining():
    server = start_server(device="cpu")
    address = server.address
    try:
        assert healthcheck.main(["--address", address]) == 0
        assert healthcheck.main(["--address", address, "--service", SERVICE_NAME]) == 0
        assert healthcheck.check(address, SERVICE_NAME) == "SERVING"
        server.health.enter_graceful_shutdown()  # what SIGTERM does first
        assert healthcheck.check(address) == "NOT_SERVING"
        assert healthcheck.main(["--address", address]) == 1
    finally:
        server.stop(grace=0.5)
    assert healthcheck.main(["--address", address, "--timeout", "1"]) == 1  # nobody answers
