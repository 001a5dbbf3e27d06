"""A small MLP trained by plain SGD through the SDK: the workload of the load and fault tests.

Every update is in place (``p -= lr * p.grad``) and every backward accumulates into
``.grad``, so a batch of commands applied twice, or lost, changes the final weights:
comparing them with a run that was never disturbed checks exactly-once delivery.

Also a script, for the load test's client processes:
``python -m tests.training ADDRESS SEED STEPS OUT.npz``.
"""

from __future__ import annotations

import sys

import numpy as np

import gradwire as gw

SIZES = (8, 32, 32, 4)  # inputs, two hidden layers, outputs
ROWS = 64
LR = 0.05


def init(seed: int):
    """The data and initial weights for ``seed``, as NumPy arrays (float32)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((ROWS, SIZES[0])).astype(np.float32)
    y = rng.standard_normal((ROWS, SIZES[-1])).astype(np.float32)
    params = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        params.append((rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32))
        params.append(np.zeros(n_out, dtype=np.float32))
    return x, y, params


def train(session, seed: int, steps: int, after_step=None):
    """Train for ``steps`` SGD steps; return (the final weights as NumPy arrays, the losses read every 50 steps).

    ``after_step(step)``, if given, runs after each step's commands are issued (a fault test cuts the line there).
    """
    x_np, y_np, init_params = init(seed)
    x, y = session.tensor(x_np), session.tensor(y_np)
    params = [session.tensor(p, requires_grad=True) for p in init_params]
    losses = []
    for step in range(steps):
        h = x
        for i in range(0, len(params) - 2, 2):
            h = (h @ params[i] + params[i + 1]).tanh()
        out = h @ params[-2] + params[-1]
        loss = ((out - y) ** 2).mean()
        loss.backward()
        with gw.no_grad():
            for p in params:
                p -= LR * p.grad
        for p in params:
            p.grad = None
        if step % 50 == 49:
            losses.append(loss.item())  # a sync point now and then, as a training loop logs
        if after_step is not None:
            after_step(step)
    return [p.detach().numpy() for p in params], losses


def main(argv):
    address, seed, steps, out = argv[0], int(argv[1]), int(argv[2]), argv[3]
    with gw.connect(address, timeout=30) as session:
        weights, losses = train(session, seed, steps)
    np.savez(out, *weights, losses=np.asarray(losses))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
