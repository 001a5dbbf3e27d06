"""Gradients at the edges, against torch through a real server: kinks, ties, zeros, infinities and NaN, where a rule
must pick a side (relu at 0, hardswish at -3 and 3, clamp at its bounds, xlogy at x = 0), and autograd's own
behaviour around them (retained graphs, accumulation, hooks, unused inputs)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

INF, NAN = math.inf, math.nan

# name: (f(lib, t) -> the leaf whose .grad is compared after the code ran, the values of t)
EDGES = {
    "abs": (lambda lib, z: z.abs(), [0.0, -1.0, 2.0]), "sqrt": (lambda lib, z: z.sqrt(), [0.0, 4.0]),
    "norm-zero": (lambda lib, z: z.norm(), [0.0, 0.0, 0.0]), "relu": (lambda lib, z: z.relu(), [0.0, 1.0, -1.0]),
    "clamp-bounds": (lambda lib, z: z.clamp(0, 1), [0.0, 1.0, 2.0, 0.5]), "pow-0": (lambda lib, z: z ** 0, [0.0, 2.0]),
    "pow-2.5": (lambda lib, z: z ** 2.5, [0.0, 2.0]), "reciprocal": (lambda lib, z: 1 / z, [0.0, 2.0]),
    "atan2": (lambda lib, z: lib.atan2(z, z * 0), [0.0, 2.0, -1.0]), "maximum-tie": (lambda lib, z: lib.maximum(z, z.detach() * 0 + 2), [2.0, 1.0, 3.0]),
    "amax-ties": (lambda lib, z: z.amax(), [2.0, 2.0, 1.0]), "max-ties": (lambda lib, z: z.max(), [1.0, 3.0, 3.0]),
    "median": (lambda lib, z: z.median(), [1.0, 2.0, 2.0, 3.0]), "cumprod-zero": (lambda lib, z: z.cumprod(0), [2.0, 0.0, 3.0]),
    "prod-zero": (lambda lib, z: z.prod(), [2.0, 0.0, 3.0]), "prod-two-zeros": (lambda lib, z: z.prod(), [0.0, 0.0, 3.0]),
    "softmax-inf": (lambda lib, z: z.softmax(0)[0], [0.0, -INF]), "norm-inf": (lambda lib, z: z.norm(INF), [1.0, -3.0, 3.0]),
    "dist-zero": (lambda lib, z: lib.dist(z, z.detach()), [1.0, 2.0]), "sign": (lambda lib, z: z.sign(), [0.0, -2.0]),
    "round": (lambda lib, z: z.round(), [0.5, 1.5]), "frac": (lambda lib, z: z.frac(), [0.5, -1.5]), "fmod": (lambda lib, z: z.fmod(2), [5.5, -3.5]),
    "lgamma": (lambda lib, z: z.lgamma(), [0.5, 3.0]), "erfinv": (lambda lib, z: z.erfinv(), [0.0, 0.5, 1.0]),
    "hardtanh": (lambda lib, z: lib.nn.functional.hardtanh(z), [-1.0, 1.0, 0.0, 2.0]),
    "relu6": (lambda lib, z: lib.nn.functional.relu6(z), [0.0, 6.0, 3.0]),
    "leaky_relu": (lambda lib, z: lib.nn.functional.leaky_relu(z, 0.2), [0.0, -1.0]),
    "elu": (lambda lib, z: lib.nn.functional.elu(z), [0.0, -1.0]), "silu": (lambda lib, z: lib.nn.functional.silu(z), [0.0, -1.0]),
    "gelu-tanh": (lambda lib, z: lib.nn.functional.gelu(z, approximate="tanh"), [0.0, -1.0, 2.0]),
    "softplus-threshold": (lambda lib, z: lib.nn.functional.softplus(z, beta=1, threshold=20), [25.0, 20.0, 0.0]),
    "hardsigmoid": (lambda lib, z: lib.nn.functional.hardsigmoid(z), [-3.0, 3.0, 0.0, -3.0001, 3.0001]),
    "hardswish": (lambda lib, z: lib.nn.functional.hardswish(z), [-3.0, 3.0, 0.0, -3.0001, 3.0001, -1.0]),
    "mish": (lambda lib, z: lib.nn.functional.mish(z), [-3.0, 3.0, 0.0]),
    "logsigmoid": (lambda lib, z: lib.nn.functional.logsigmoid(z), [-30.0, 30.0, 0.0]),
    "threshold": (lambda lib, z: lib.nn.functional.threshold(z, 1.0, 0.0), [1.0, 2.0]),
    "celu": (lambda lib, z: lib.nn.functional.celu(z, 0.5), [0.0, -1.0]), "selu": (lambda lib, z: lib.nn.functional.selu(z), [0.0, -1.0]),
    "hardshrink": (lambda lib, z: lib.nn.functional.hardshrink(z, 0.5), [0.5, -1.0, 0.2]),
    "softshrink": (lambda lib, z: lib.nn.functional.softshrink(z, 0.5), [0.5, -1.0, 0.2]),
    "std-one": (lambda lib, z: z.std(), [2.0]), "logsumexp-all-inf": (lambda lib, z: z.logsumexp(0), [-INF, -INF]),
}

Y_VALUES = [0.0, 3.0, -1.0, NAN, INF, 1e-30, -0.5, 1.0, -2.0]


def _grad(lib, session, f, values):
    z = (torch.tensor if lib is torch else session.tensor)(values, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f(lib, z).sum().backward()
    return z.grad.numpy()


@pytest.mark.parametrize("name", sorted(EDGES))
def test_a_gradient_at_its_edges_is_torchs(session, name):
    f, values = EDGES[name]
    np.testing.assert_allclose(_grad(gw, session, f, values), _grad(torch, session, f, values), rtol=1e-5, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_xlogy_gradients_where_x_is_zero_are_torchs(session, name):
    """d/dx is 0 where x is 0 and the log has no finite value, log(y) elsewhere (-inf, NaN included), as torch's."""
    for x in (0.0, 2.0, NAN):
        got = []
        for lib, make in ((torch, torch.tensor), (gw, session.tensor)):
            xs, ys = make([x] * len(Y_VALUES), requires_grad=True), make(Y_VALUES, requires_grad=True)
            getattr(lib.special, name)(xs, ys).sum().backward()
            got.append((xs.grad.numpy(), ys.grad.numpy()))
        for ours, theirs in zip(got[1], got[0]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, equal_nan=True, err_msg=f"x = {x}")
