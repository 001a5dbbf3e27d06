"""One optimizer step over a 784-256-256-10 MLP's parameters (float32): gradwire vs torch.optim.

(a) the engine in-process (engine/optim.py on NumPy) against ``torch.optim``'s step, both on
one thread; (b) through an embedded server on loopback: ``opt.step()`` followed by
``session.sync()`` (one command and one round trip) against the same ``torch.optim`` step.
In a training loop the step is not waited for; (b) bounds what it adds when it is.

    python benchmarks/bench_optim.py            # about 5 s
"""

from __future__ import annotations

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "client"), os.path.join(ROOT, "server")]

import numpy as np  # noqa: E402
import torch  # noqa: E402

import gradwire as gw  # noqa: E402
from gradwire_server.engine import Engine  # noqa: E402
from gradwire_server.engine.optim import Group, Optimizer  # noqa: E402

SHAPES = [(256, 784), (256,), (256, 256), (256,), (10, 256), (10,)]
CASES = [("SGD", "sgd", {"lr": 1e-3, "momentum": 0.9}), ("Adam", "adam", {"lr": 1e-3})]


def best_ms(f, repeats=50) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def torch_optimizer(name, options, init):
    params = [torch.tensor(a, requires_grad=True) for a in init]
    for p in params:
        p.grad = torch.ones_like(p)
    opt = getattr(torch.optim, name)(params, **options)
    opt.step()
    return opt


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(np.float32) * 0.05 for s in SHAPES]
    print(f"parameters: {sum(a.size for a in init)} float32 in {len(init)} tensors; torch {torch.__version__}, 1 thread")
    engine = Engine("cpu")
    for name, kind, options in CASES:
        params = [engine.tensor(a.copy(), requires_grad=True) for a in init]
        for p in params:
            p.grad = engine.tensor(np.ones_like(p.array))
        opt, groups = Optimizer(kind, engine.xp), [Group([(i, p) for i, p in enumerate(params)], **options)]
        opt.step(groups)
        ours, theirs = best_ms(lambda: opt.step(groups)), best_ms(torch_optimizer(name, options, init).step)
        print(f"(a) engine  {name:4s}: {ours:.3f} ms   torch.optim {theirs:.3f} ms   ratio {ours / theirs:.2f}")
    with gw.connect(device="cpu") as s:
        for name, _, options in CASES:
            params = [s.tensor(a, requires_grad=True) for a in init]
            sum((p * p).sum() for p in params).backward()
            opt = getattr(gw.optim, name)(params, **options)
            opt.step()
            s.sync()
            ours = best_ms(lambda: (opt.step(), s.sync()))
            theirs = best_ms(torch_optimizer(name, options, init).step)
            print(f"(b) remote  {name:4s}: {ours:.3f} ms   torch.optim {theirs:.3f} ms   ratio {ours / theirs:.2f}  (step + sync)")


if __name__ == "__main__":
    main()
