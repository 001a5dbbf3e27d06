"""The engine's nn form against PyTorch CPU, in process, one thread: what the server runs for nn models.

Per-op timings (relu, cross_entropy, linear forward and forward+backward with PyTorch's (out, in)
weights, an embedding's, activations' and norms' forward+backward) and whole training steps: linear layers through ``engine.apply("linear", x, w, b)``, relu,
cross_entropy, backward and the server's ``Optimizer`` (SGD, or Adam with ``OPTS="sgd adam"``),
against nn.Linear, F.cross_entropy and torch.optim; the digits example's MLP and CNN with Adam.

Each line: the minimum and the median microseconds of the engine and of torch (the two interleaved,
which goes first swapping every repeat) and the ratio of the minima. For the MLPs, "x @ w.T" is the
engine with linear's small-batch formulation turned off (``nn._SMALL_BATCH = 0``).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_engine_nn.py [micro] [BATCH ...] [digits] [cnn]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gradwire_server.engine import Engine  # noqa: E402
from gradwire_server.engine import nn as engine_nn  # noqa: E402
from gradwire_server.engine.optim import Group, Optimizer  # noqa: E402

torch.set_num_threads(1)
F = torch.nn.functional


def timeit(runners, repeats=15, inner=20):
    """(min, median) microseconds per call of each runner; the runners alternate within every repeat."""
    samples = {name: [] for name in runners}
    for run in runners.values():
        for _ in range(3):
            run()
    for repeat in range(repeats):
        order = list(runners.items())
        for name, run in order if repeat % 2 == 0 else reversed(order):
            start = time.perf_counter()
            for _ in range(inner):
                run()
            samples[name].append((time.perf_counter() - start) / inner * 1e6)
    return {name: (min(s), statistics.median(s)) for name, s in samples.items()}


def report(label, timed):
    engine, theirs = timed["engine"], timed["torch"]
    line = f"{label:40s} engine {engine[0]:8.1f}/{engine[1]:8.1f} us  torch {theirs[0]:8.1f}/{theirs[1]:8.1f} us  ratio(min) {engine[0] / theirs[0]:.2f}"
    if "x @ w.T" in timed:
        plain = timed["x @ w.T"]
        line += f"  x @ w.T {plain[0]:.1f}/{plain[1]:.1f} us ratio {plain[0] / theirs[0]:.2f}"
    print(line)


def check_same_losses(engine_step, torch_step):
    for _ in range(3):
        ours, theirs = engine_step(), torch_step()
        assert abs(ours - theirs) < 1e-3 * max(1, abs(theirs)), (ours, theirs)


def torch_step_of(model, optimizer, x, y):
    def step():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    return step


def mlp(batch, sizes, kind="sgd", lr=0.01):
    """An MLP of nn.Linear layers and ReLU, cross-entropy, ``kind`` (sgd or adam); the same weights on both sides."""
    engine = Engine(device="cpu")
    torch.manual_seed(0)
    layers = [torch.nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes, sizes[1:])]
    model = torch.nn.Sequential(*[module for layer in layers for module in (layer, torch.nn.ReLU())][:-1])
    params = [engine.tensor(p.detach().numpy().copy(), requires_grad=True) for layer in layers for p in (layer.weight, layer.bias)]
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((batch, sizes[0]), dtype=np.float32), rng.integers(0, sizes[-1], batch)
    x_e, y_e = engine.tensor(x), engine.tensor(y)
    optimizer = Optimizer(kind, engine.xp)
    lr = lr if kind == "sgd" else 1e-3
    torch_optimizer = (torch.optim.SGD if kind == "sgd" else torch.optim.Adam)(model.parameters(), lr=lr)

    def engine_step():
        h = x_e
        for layer in range(len(layers)):
            h = engine.apply("linear", h, params[2 * layer], params[2 * layer + 1])
            if layer + 1 < len(layers):
                h = engine.apply("relu", h)
        loss = engine.apply("cross_entropy", h, y_e)
        loss.backward()
        optimizer.step([Group(params=list(enumerate(params)), lr=lr)])
        for p in params:
            p.grad = None
        return loss.item()

    def engine_step_plain():  # linear as x @ w.T at every batch size
        small, engine_nn._SMALL_BATCH = engine_nn._SMALL_BATCH, 0
        try:
            return engine_step()
        finally:
            engine_nn._SMALL_BATCH = small

    torch_step = torch_step_of(model, torch_optimizer, torch.from_numpy(x), torch.from_numpy(y))
    check_same_losses(engine_step, torch_step)
    return timeit({"engine": engine_step, "torch": torch_step, "x @ w.T": engine_step_plain}, inner=max(2, 20 * 64 // batch))


def cnn(batch=32):
    """examples/train_digits.py's CNN (without dropout) on 8x8 images, Adam."""
    engine = Engine(device="cpu")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(128, 10),
    )
    params = [engine.tensor(p.detach().numpy().copy(), requires_grad=True) for p in model.parameters()]
    rng = np.random.default_rng(0)
    x, y = rng.random((batch, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, batch)
    x_e, y_e = engine.tensor(x), engine.tensor(y)
    optimizer = Optimizer("adam", engine.xp)

    def engine_step():
        h = engine.apply("conv2d", x_e, params[0], params[1], padding=1)
        h = engine.apply("max_pool2d", engine.apply("relu", h), kernel_size=2)
        h = engine.apply("conv2d", h, params[2], params[3], padding=1)
        h = engine.apply("max_pool2d", engine.apply("relu", h), kernel_size=2)
        h = engine.apply("linear", h.reshape(batch, -1), params[4], params[5])
        loss = engine.apply("cross_entropy", h, y_e)
        loss.backward()
        optimizer.step([Group(params=list(enumerate(params)), lr=1e-3)])
        for p in params:
            p.grad = None
        return loss.item()

    torch_step = torch_step_of(model, torch.optim.Adam(model.parameters(), lr=1e-3), torch.from_numpy(x), torch.from_numpy(y))
    check_same_losses(engine_step, torch_step)
    return timeit({"engine": engine_step, "torch": torch_step}, inner=20)


def micro():
    engine = Engine(device="cpu")
    rng = np.random.default_rng(0)
    timed = {}
    a = rng.standard_normal((64, 256), dtype=np.float32)
    a_e, a_t = engine.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    timed["relu fwd (64,256)"] = timeit({"engine": lambda: engine.apply("relu", a_e), "torch": lambda: torch.relu(a_t)}, inner=200)

    scores, targets = rng.standard_normal((64, 10), dtype=np.float32), rng.integers(0, 10, 64)
    s_e, s_t = engine.tensor(scores, requires_grad=True), torch.tensor(scores, requires_grad=True)
    y_e, y_t = engine.tensor(targets), torch.from_numpy(targets)
    timed["cross_entropy fwd (64,10)"] = timeit(
        {"engine": lambda: engine.apply("cross_entropy", s_e, y_e), "torch": lambda: F.cross_entropy(s_t, y_t)}, inner=200
    )

    def cross_entropy_engine():
        engine.apply("cross_entropy", s_e, y_e).backward()
        s_e.grad = None

    def cross_entropy_torch():
        F.cross_entropy(s_t, y_t).backward()
        s_t.grad = None

    timed["cross_entropy fwd+bwd (64,10)"] = timeit({"engine": cross_entropy_engine, "torch": cross_entropy_torch}, inner=200)

    for n, n_in, n_out in [(32, 64, 256), (64, 784, 256), (64, 256, 256), (1024, 784, 256)]:
        x = rng.standard_normal((n, n_in), dtype=np.float32)
        w = rng.standard_normal((n_out, n_in), dtype=np.float32)
        b = rng.standard_normal(n_out, dtype=np.float32)
        g = rng.standard_normal((n, n_out), dtype=np.float32)
        x_e, w_e, b_e, g_e = engine.tensor(x), engine.tensor(w, requires_grad=True), engine.tensor(b, requires_grad=True), engine.tensor(g)
        x_t, w_t, b_t, g_t = torch.from_numpy(x), torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True), torch.from_numpy(g)
        xg_e, xg_t = engine.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        inner = max(2, 64 * 50 // n)
        timed[f"linear fwd ({n},{n_in})x({n_out},{n_in})"] = timeit(
            {"engine": lambda: engine.apply("linear", x_e, w_e, b_e), "torch": lambda: F.linear(x_t, w_t, b_t)}, inner=inner
        )

        def linear_engine():
            engine.apply("linear", xg_e, w_e, b_e).backward(g_e)
            xg_e.grad = w_e.grad = b_e.grad = None

        def linear_torch():
            F.linear(xg_t, w_t, b_t).backward(g_t)
            xg_t.grad = w_t.grad = b_t.grad = None

        timed[f"linear fwd+bwd ({n},{n_in})x({n_out},{n_in})"] = timeit({"engine": linear_engine, "torch": linear_torch}, inner=inner)

    # an embedding's forward and backward: a batch of 64 sequences of 50 tokens from a 10,000-word table of width 128
    table = rng.standard_normal((10_000, 128), dtype=np.float32)
    tokens = rng.integers(0, 10_000, (64, 50))
    table_e, table_t = engine.tensor(table, requires_grad=True), torch.tensor(table, requires_grad=True)
    tokens_e, tokens_t = engine.tensor(tokens), torch.from_numpy(tokens)

    def embedding_engine():
        engine.apply("embedding", tokens_e, table_e).sum().backward()
        table_e.grad = None

    def embedding_torch():
        F.embedding(tokens_t, table_t).sum().backward()
        table_t.grad = None

    timed["embedding fwd+bwd (64,50) of (10000,128)"] = timeit({"engine": embedding_engine, "torch": embedding_torch}, inner=10)

    # activations and norms of a transformer block's size (64 x 128 tokens x 256 features) and a CNN's, forward + backward
    h = rng.standard_normal((64, 128, 256), dtype=np.float32)
    image = rng.standard_normal((64, 32, 16, 16), dtype=np.float32)
    affine = [rng.standard_normal(n, dtype=np.float32) for n in (256, 256, 32, 32)]
    cases = {
        "sigmoid": (h, lambda e, x, p: e.apply("sigmoid", x), lambda x, p: torch.sigmoid(x)),
        "silu": (h, lambda e, x, p: e.apply("silu", x), lambda x, p: F.silu(x)),
        "gelu": (h, lambda e, x, p: e.apply("gelu", x), lambda x, p: F.gelu(x)),
        "erf": (h, lambda e, x, p: e.apply("erf", x), lambda x, p: torch.erf(x)),
        "leaky_relu": (h, lambda e, x, p: e.apply("leaky_relu", x, negative_slope=0.01), lambda x, p: F.leaky_relu(x, 0.01)),
        "elu": (h, lambda e, x, p: e.apply("elu", x), lambda x, p: F.elu(x)),
        "softmax(-1)": (h, lambda e, x, p: e.apply("softmax", x, dim=-1), lambda x, p: F.softmax(x, -1)),
        "layer_norm": (h, lambda e, x, p: e.apply("layer_norm", x, p[0], p[1], normalized_shape=(256,)),
                       lambda x, p: F.layer_norm(x, (256,), p[0], p[1])),
        "batch_norm (training)": (image, lambda e, x, p: e.apply("batch_norm", x, p[2], p[3], training=True, affine=True),
                                  lambda x, p: F.batch_norm(x, None, None, p[2], p[3], training=True)),
    }
    for name, (data, ours, theirs) in cases.items():
        x_e, x_t = engine.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        p_e = [engine.tensor(a, requires_grad=True) for a in affine]
        p_t = [torch.tensor(a, requires_grad=True) for a in affine]

        def run_engine(ours=ours, x_e=x_e, p_e=p_e):
            ours(engine, x_e, p_e).sum().backward()
            for leaf in [x_e, *p_e]:
                leaf.grad = None

        def run_torch(theirs=theirs, x_t=x_t, p_t=p_t):
            theirs(x_t, p_t).sum().backward()
            for leaf in [x_t, *p_t]:
                leaf.grad = None

        timed[f"{name} fwd+bwd {tuple(data.shape)}"] = timeit({"engine": run_engine, "torch": run_torch}, repeats=5, inner=2)
    return timed


def main(argv):
    for what in argv or ["micro", "64", "1024", "digits"]:
        if what == "micro":
            for label, timed in micro().items():
                report(label, timed)
        elif what == "cnn":
            report("digits cnn b32 adam", cnn())
        elif what == "digits":
            report("mlp 64-256-10 b32 adam", mlp(32, [64, 256, 10], "adam"))
        else:
            for kind in os.environ.get("OPTS", "sgd").split():
                report(f"mlp nn b{what} {kind}", mlp(int(what), [784, 256, 256, 10], kind))


if __name__ == "__main__":
    main(sys.argv[1:])
