"""(d) Device memory comes back: freed graphs and closed sessions return their bytes to CuPy's pool.

Measured with CuPy's default memory pool (``used_bytes()``: the bytes of the blocks
handed out and not yet freed; blocks are 512-byte multiples). The engine keeps the
residuals a backward pass needs in its graph; a backward pass without
``retain_graph`` must free them at once, and a closed session must give back every
byte it held, so that a server's memory stays flat across sessions.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import gradwire as gw
from gradwire_server.engine.graph import Node
from tests.gpu.conftest import pool_round, pool_used_bytes, settled_pool_bytes, wait_for_pool

SLACK = 16 << 10  # bytes of small blocks a reading may be off by (a 0-d array is one 512-byte block)


def _forward(x, params, rows, targets):
    """A two-layer MLP's cross-entropy. Residuals: relu's output (also matmul's input) and log_softmax's output."""
    w1, b1, w2, b2 = params
    h = (x @ w1 + b1).relu()
    logits = h @ w2 + b2
    return -logits.log_softmax(1)[rows, targets].mean()


def _nodes(tensor):
    seen, stack, nodes = set(), [tensor.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or not isinstance(node, Node):
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(node.edges)
    return nodes


def _saved_arrays(tensor, leaves):
    """The distinct arrays the graph behind ``tensor`` holds as residuals, leaves' own arrays left out."""
    leaf_ids = {id(t.array) for t in leaves}
    arrays = {}
    for node in _nodes(tensor):
        for a in node.saved_tensors:
            if hasattr(a, "nbytes") and id(a) not in leaf_ids:
                arrays[id(a)] = a
    return list(arrays.values())


@pytest.fixture
def mlp(cuda_engine):
    e = cuda_engine
    rng = np.random.default_rng(0)
    batch, d, h, c = 512, 256, 512, 10
    x = e.tensor(rng.standard_normal((batch, d)).astype(np.float32))
    params = [
        e.tensor((rng.standard_normal((d, h)) / 16).astype(np.float32), requires_grad=True),
        e.zeros(h, requires_grad=True),
        e.tensor((rng.standard_normal((h, c)) / 16).astype(np.float32), requires_grad=True),
        e.zeros(c, requires_grad=True),
    ]
    rows, targets = e.arange(batch), e.tensor(rng.integers(0, c, batch))
    return x, params, rows, targets, (batch, h, c)


def test_backward_without_retain_graph_gives_the_saved_bytes_back(mlp):
    x, params, rows, targets, (batch, h, c) = mlp
    leaves = [x, *params, rows, targets]
    base = pool_used_bytes()
    loss = _forward(x, params, rows, targets)
    saved = _saved_arrays(loss, leaves)
    saved_bytes, saved_shapes = sum(pool_round(a.nbytes) for a in saved), [a.shape for a in saved]
    del saved  # this list must not keep them alive
    assert saved_bytes >= pool_round(batch * h * 4) + pool_round(batch * c * 4), saved_shapes
    after_forward = pool_used_bytes()
    assert after_forward - base >= saved_bytes, (after_forward - base, saved_bytes)

    loss.backward()
    after = pool_used_bytes()
    grad_bytes = sum(pool_round(p.grad.array.nbytes) for p in params)
    kept = after - base  # the leaves' new .grad arrays and the 0-d loss are all that may remain
    assert kept <= grad_bytes + pool_round(loss.array.nbytes) + SLACK, (
        f"{kept} bytes still in use after backward; the grads take {grad_bytes}, the residuals took {saved_bytes}"
    )
    assert all(node.saved is None for node in _nodes(loss) if node.rules.saves is not None)


def test_retain_graph_keeps_the_saved_bytes_until_the_last_pass(mlp):
    x, params, rows, targets, _ = mlp
    base = pool_used_bytes()
    loss = _forward(x, params, rows, targets)
    saved_bytes = sum(pool_round(a.nbytes) for a in _saved_arrays(loss, [x, *params, rows, targets]))

    loss.backward(retain_graph=True)
    grad_bytes = sum(pool_round(p.grad.array.nbytes) for p in params)
    assert pool_used_bytes() - base >= saved_bytes + grad_bytes  # the residuals are still there
    loss.backward()  # the second pass accumulates into the same .grad arrays and frees the graph
    assert pool_used_bytes() - base <= grad_bytes + pool_round(loss.array.nbytes) + SLACK


def test_a_dropped_graph_gives_its_bytes_back_without_backward(mlp):
    x, params, rows, targets, _ = mlp
    base = pool_used_bytes()
    loss = _forward(x, params, rows, targets)
    assert pool_used_bytes() - base > SLACK
    del loss
    assert pool_used_bytes() - base <= SLACK


# --- through the server --------------------------------------------------------------------------


@pytest.fixture
def gpu_server():
    """A server of its own on the GPU, so that no other test's session shares its memory readings."""
    from tests.servers import start_server

    server = start_server(device="cuda")
    yield server
    server.stop(grace=1.0)


def _train_a_little(s, host, steps=3):
    x_np, y_np, param_arrays = host
    x, y, rows = s.tensor(x_np), s.tensor(y_np), s.arange(len(y_np))
    params = [s.tensor(a, requires_grad=True) for a in param_arrays]
    for _ in range(steps):
        _sgd_step(x, y, rows, params)
    return x, y, rows, params


def _sgd_step(x, y, rows, params):
    """One training step, synced by loss.item() as a training loop does."""
    loss = _forward(x, params, rows, y)
    loss.backward()
    with gw.no_grad():
        for p in params:
            p -= 0.1 * p.grad
    for p in params:
        p.grad = None
    loss.item()


def _host_data(seed=1, batch=1024, d=784, h=256, c=10):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((batch, d)).astype(np.float32),  # 3 MiB: the chunked upload path
        rng.integers(0, c, batch),
        [(rng.standard_normal((d, h)) / 28).astype(np.float32), np.zeros(h, np.float32),
         (rng.standard_normal((h, c)) / 16).astype(np.float32), np.zeros(c, np.float32)],
    )


def test_closed_sessions_give_their_device_memory_back(gpu_server, record_property):
    host = _host_data()

    def cycle():
        s = gw.connect(gpu_server.address, seed=0, timeout=30)
        held = _train_a_little(s, host)
        stats = s.stats()  # a sync point; sends the releases of tensors collected so far first
        in_use = pool_used_bytes()
        del held
        s.close()
        return in_use, stats

    cycle()  # warm-up: kernels compiled, per-thread handles made
    base = settled_pool_bytes()
    levels = []
    for _ in range(3):
        in_use, stats = cycle()
        assert in_use - base >= stats["bytes"], (in_use - base, stats)  # the pool holds at least what the session counts
        levels.append(wait_for_pool(lambda used: used <= base + SLACK))
    record_property("pool_bytes_base", base)
    record_property("pool_bytes_open_session", in_use - base)
    record_property("session_stats_bytes", stats["bytes"])
    assert all(level <= base + SLACK for level in levels), f"pool in use after each close: {levels}; before: {base}"


def test_session_bytes_are_the_pools_bytes(gpu_server, record_property):
    """The bytes a session counts (what its quota is measured in) are the device bytes its tensors take."""
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(n).astype(np.float32) for n in (1, 1000, 300_000, 1_000_000)]  # inline and chunked
    with gw.connect(gpu_server.address, seed=0, timeout=30) as s:
        stats_before = s.stats()
        before = settled_pool_bytes()
        tensors = [s.tensor(a) for a in arrays]
        s.sync()
        grown, stats = pool_used_bytes() - before, s.stats()
        counted = stats["bytes"] - stats_before["bytes"]
        record_property("pool_growth", grown)
        record_property("session_counted", counted)
        assert counted == sum(a.nbytes for a in arrays), stats
        assert grown == sum(pool_round(a.nbytes) for a in arrays), (grown, counted)
        del tensors
        gc.collect()
        assert s.stats()["bytes"] == stats_before["bytes"]
        assert wait_for_pool(lambda used: used <= before) <= before


def test_a_training_loop_on_the_gpu_runs_in_flat_device_memory(gpu_server):
    host = _host_data(batch=256)
    with gw.connect(gpu_server.address, seed=0, timeout=30) as s:
        x_np, y_np, param_arrays = host
        x, y, rows = s.tensor(x_np), s.tensor(y_np), s.arange(len(y_np))
        params = [s.tensor(a, requires_grad=True) for a in param_arrays]
        levels = []
        for _ in range(25):
            _sgd_step(x, y, rows, params)
            s.stats()  # sends the releases of the step's collected tensors, and waits for them
            levels.append(pool_used_bytes())
    steady = levels[3:]
    assert max(steady) - min(steady) <= SLACK, f"device memory in use after each step: {levels}"
