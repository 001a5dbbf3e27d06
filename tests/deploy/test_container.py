"""The CPU image, built and run with the Docker SDK, trained through; skipped where no Docker engine answers."""

from __future__ import annotations

import time
import urllib.request

import numpy as np
import pytest

import gradwire as gw

from .proxy import REPO

docker = pytest.importorskip("docker", reason="the docker SDK is not installed (pip install docker)")
torch = pytest.importorskip("torch")

TAG = "gradwire:test-cpu"
HEALTHY_S = 120.0  # the HEALTHCHECK's start period and first checks
STOP_S = 45  # more than the drain timeout


@pytest.fixture(scope="module")
def engine():
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except docker.errors.DockerException as error:
        pytest.skip(f"no Docker engine answers ({type(error).__name__}: {str(error).splitlines()[0][:200]})")
    yield client
    client.close()


@pytest.fixture(scope="module")
def container(engine):
    engine.images.build(path=str(REPO), dockerfile="deploy/Dockerfile.cpu", tag=TAG, rm=True)
    running = engine.containers.run(
        TAG, detach=True, ports={"50051/tcp": ("127.0.0.1", None), "9090/tcp": ("127.0.0.1", None)},
        environment={"GRADWIRE_MAX_SESSIONS": "8"},
    )
    try:
        deadline = time.monotonic() + HEALTHY_S
        while True:
            running.reload()
            health = running.attrs["State"].get("Health", {}).get("Status")
            if health == "healthy":
                break
            assert running.status == "running", running.logs().decode()[-2000:]
            assert time.monotonic() < deadline, f"not healthy within {HEALTHY_S} s ({health}): {running.logs().decode()[-2000:]}"
            time.sleep(1)
        ports = running.attrs["NetworkSettings"]["Ports"]
        running.grpc = f"127.0.0.1:{ports['50051/tcp'][0]['HostPort']}"
        running.metrics = f"http://127.0.0.1:{ports['9090/tcp'][0]['HostPort']}/metrics"
        yield running
    finally:
        running.remove(force=True)


def test_the_image_runs_as_a_non_root_user_configured_by_environment(engine, container):
    image = engine.images.get(TAG)
    assert image.attrs["Config"]["User"].split(":")[0] not in ("", "0", "root")
    env = dict(item.split("=", 1) for item in image.attrs["Config"]["Env"])
    assert env["GRADWIRE_HOST"] == "0.0.0.0" and env["GRADWIRE_METRICS_PORT"] == "9090"
    exit_code, output = container.exec_run(["python", "-m", "gradwire_server.healthcheck"])
    assert exit_code == 0 and b"SERVING" in output


def test_training_through_the_container_matches_pytorch(container):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    w0 = rng.standard_normal((5, 1)).astype(np.float32)
    with gw.connect(container.grpc, timeout=30) as s:
        assert s.device == "cpu" and s.limits.max_sessions == 8  # GRADWIRE_MAX_SESSIONS reached the server
        X, Y, W = s.tensor(x), s.tensor(y), s.tensor(w0, requires_grad=True)
        tw = torch.tensor(w0, requires_grad=True)
        for _ in range(5):
            ((X @ W - Y) ** 2).mean().backward()
            ((torch.from_numpy(x) @ tw - torch.from_numpy(y)) ** 2).mean().backward()
            np.testing.assert_allclose(W.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-6)
            with gw.no_grad():
                W -= 0.1 * W.grad
            W.grad = None
            with torch.no_grad():
                tw -= 0.1 * tw.grad
            tw.grad = None
        np.testing.assert_allclose(W.numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    with urllib.request.urlopen(container.metrics, timeout=10) as reply:
        text = reply.read().decode()
    assert "gradwire_sessions_opened_total 1.0" in text
    assert 'gradwire_ops_total{op="matmul"} 5.0' in text


def test_the_container_drains_and_exits_cleanly_on_stop(container):
    container.stop(timeout=STOP_S)
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0, container.logs().decode()[-2000:]
    assert b"draining" in container.logs()
