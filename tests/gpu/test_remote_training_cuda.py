"""(c) A small MLP trained remotely through a server on the GPU, against the same training run locally.

One training function, written once against the API that gradwire's SDK, the
engine and PyTorch share, runs on four sides from the same initial weights and
batch: remotely (the SDK, a server created with ``device="cuda"``), on a local
CuPy engine, on a local NumPy engine, and in PyTorch CUDA. The losses of every
step and the final weights must agree: exactly enough between the remote run and
the local CuPy engine (the same kernels on the same card), to float32 rounding
against NumPy and PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
from gradwire_server import engine as gw_engine

BATCH, SIZES, CLASSES, STEPS, LR = 64, (20, 32, 32), 5, 20, 0.3


def _data(seed=7):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    targets = rng.integers(0, CLASSES, BATCH)
    dims = list(SIZES) + [CLASSES]
    params = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        params.append((rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32))
        params.append((rng.standard_normal(fan_out) * 0.1).astype(np.float32))
    return x, targets, params


def train(make, no_grad, steps=STEPS, lr=LR):
    """SGD on a 20-32-32-5 MLP (ReLU, tanh) with cross-entropy; ``make(array, requires_grad)`` makes a tensor.

    Returns the loss of every step (``loss.item()``, a sync point each step) and the parameters.
    """
    x_np, targets_np, param_arrays = _data()
    x, targets, rows = make(x_np, False), make(targets_np, False), make(np.arange(BATCH), False)
    params = [make(a, True) for a in param_arrays]
    losses = []
    for _ in range(steps):
        w1, b1, w2, b2, w3, b3 = params
        h = (x @ w1 + b1).relu()
        h = (h @ w2 + b2).tanh()
        logits = h @ w3 + b3
        loss = -logits.log_softmax(1)[rows, targets].mean()
        loss.backward()
        with no_grad():
            for p in params:
                p -= lr * p.grad
        for p in params:
            p.grad = None
        losses.append(loss.item())
    return np.array(losses), params


def _host(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") and hasattr(t, "cpu") else t.numpy()


@pytest.fixture(scope="module")
def local_runs():
    """The training run on a local CuPy engine and on a local NumPy engine."""
    runs = {}
    for device in ("cuda", "cpu"):
        engine = gw_engine.Engine(device, seed=0)
        losses, params = train(lambda a, rg: engine.tensor(a, requires_grad=rg), gw_engine.no_grad)
        runs[device] = (losses, [p.detach().numpy() for p in params])
    return runs


def test_remote_training_on_the_gpu_matches_local_runs(session, local_runs):
    assert session.device == "cuda" and session.server_info.device == "cuda"
    losses, params = train(lambda a, rg: session.tensor(a, requires_grad=rg), gw.no_grad)
    remote = [p.detach().numpy() for p in params]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0], f"the loss did not fall: {losses[0]} -> {losses[-1]}"

    cuda_losses, cuda_params = local_runs["cuda"]
    np.testing.assert_allclose(losses, cuda_losses, rtol=1e-6, atol=0, err_msg="remote vs local CuPy engine: losses")
    for k, (r, c) in enumerate(zip(remote, cuda_params)):
        np.testing.assert_allclose(r, c, rtol=1e-6, atol=1e-7, err_msg=f"remote vs local CuPy engine: parameter {k}")

    cpu_losses, cpu_params = local_runs["cpu"]
    np.testing.assert_allclose(losses, cpu_losses, rtol=1e-4, atol=1e-6, err_msg="remote (GPU) vs local NumPy engine: losses")
    for k, (r, c) in enumerate(zip(remote, cpu_params)):
        np.testing.assert_allclose(r, c, rtol=1e-4, atol=1e-5, err_msg=f"remote (GPU) vs local NumPy engine: parameter {k}")


def test_remote_training_on_the_gpu_matches_torch_cuda(session, torch_cuda):
    torch = torch_cuda
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # full float32 matrix products, as CuPy's default
    try:
        t_losses, t_params = train(lambda a, rg: torch.tensor(a, device="cuda", requires_grad=rg), torch.no_grad)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    losses, params = train(lambda a, rg: session.tensor(a, requires_grad=rg), gw.no_grad)
    np.testing.assert_allclose(losses, t_losses, rtol=1e-4, atol=1e-6, err_msg="remote (GPU) vs torch CUDA: losses")
    for k, (p, t) in enumerate(zip(params, t_params)):
        np.testing.assert_allclose(p.detach().numpy(), _host(t), rtol=1e-4, atol=1e-5, err_msg=f"remote vs torch CUDA: parameter {k}")


def test_training_on_the_gpu_runs_in_flat_server_memory(session):
    """After every step the session holds the same tensors and bytes, and no graph (as tests/e2e checks on the CPU)."""
    stats = []

    def make(a, rg):
        return session.tensor(a, requires_grad=rg)

    x_np, targets_np, param_arrays = _data()
    x, targets, rows = make(x_np, False), make(targets_np, False), make(np.arange(BATCH), False)
    params = [make(a, True) for a in param_arrays]
    for _ in range(30):
        w1, b1, w2, b2, w3, b3 = params
        loss = -((((x @ w1 + b1).relu() @ w2 + b2).tanh() @ w3 + b3).log_softmax(1)[rows, targets].mean())
        loss.backward()
        with gw.no_grad():
            for p in params:
                p -= LR * p.grad
        for p in params:
            p.grad = None
        loss.item()
        del loss
        stats.append(session.stats())
    assert all(st["graph_nodes"] == 0 for st in stats), stats
    assert len({(st["tensors"], st["bytes"]) for st in stats[1:]}) == 1, stats


def test_large_tensors_travel_to_and_from_the_gpu(session):
    """Above the inline limit tensors take the chunked streams: up to the GPU and back, bit for bit."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((1024, 1024 + 7)).astype(np.float32)  # about 4 MiB: several chunks
    t = session.tensor(a)
    np.testing.assert_array_equal(t.numpy(), a)
    np.testing.assert_array_equal((t * 2).numpy(), a * 2)
    np.testing.assert_array_equal(t.T.numpy(), a.T)  # a non-contiguous result comes back in C order


def test_an_embedded_server_on_the_gpu():
    """``gw.connect(device="cuda")`` starts an embedded server on the GPU and stops it at close."""
    with gw.connect(device="cuda", seed=0) as s:
        assert s.device == "cuda"
        x = s.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.array([2.0, 4.0, 6.0], dtype=np.float32))
        r = s.randn(1000)
        assert r.numpy().shape == (1000,) and abs(float(r.numpy().mean())) < 0.2


def test_sessions_training_at_once_on_their_own_streams_match_training_alone(server, local_runs):
    """Each session's work runs on a CUDA stream of its own; sessions training at the same time
    get exactly what one session training alone gets."""
    import threading

    sessions = [gw.connect(server.address, seed=0, timeout=30) for _ in range(3)]
    try:
        results, failures = [None] * len(sessions), []

        def run(i):
            try:
                losses, params = train(lambda a, rg: sessions[i].tensor(a, requires_grad=rg), gw.no_grad)
                results[i] = (losses, [p.detach().numpy() for p in params])
            except Exception as error:  # reported below, with the thread's session
                failures.append((i, error))

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(sessions))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not failures, failures
        streams = [server.registry.get(s.id, dict(s._metadata)["gradwire-token"]).engine.stream for s in sessions]
        assert len({id(stream) for stream in streams}) == len(sessions)
        if not getattr(gw_engine.Backend("cuda").xp, "NUMPY_STAND_IN", False):
            assert all(stream.ptr != 0 for stream in streams), "a session ran on the shared default stream"
        alone_losses, alone_params = local_runs["cuda"]
        for losses, params in results:
            np.testing.assert_allclose(losses, alone_losses, rtol=1e-6, atol=1e-7)
            for got, want in zip(params, alone_params):
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    finally:
        for s in sessions:
            s.close()


def test_transfers_pass_through_pinned_host_memory(server, session):
    """Uploads and downloads above the inline threshold go through page-locked host buffers."""
    import cupy

    array = np.random.default_rng(3).standard_normal((2048, 1024)).astype(np.float32)  # 8 MiB: chunked, pooled
    t = session.tensor(array)
    np.testing.assert_array_equal((t * 2).numpy(), array * 2)
    np.testing.assert_array_equal(t.numpy(), array)
    buffers = server.registry.host_buffers._buffers
    assert buffers, "no pooled host buffer: the transfers did not go through the pool"
    if not getattr(cupy, "NUMPY_STAND_IN", False):
        kinds = [cupy.cuda.runtime.pointerGetAttributes(b.ctypes.data).type for b in buffers]
        assert kinds == [getattr(cupy.cuda.runtime, "memoryTypeHost", 1)] * len(buffers), kinds  # page-locked host memory
