"""Property-based tests: broadcasting and reductions over random shapes, against PyTorch."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from gradwire_server.engine import Engine
from tests.conftest import assert_close, to_torch

FAST = settings(max_examples=50, deadline=None)

BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
}


def _values(seed, shape, away_from_zero=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if away_from_zero:  # a divisor: keep |y| >= 0.5 so the quotient's gradient stays tame
        x = np.sign(x + (x == 0)) * (0.5 + np.abs(x))
    return np.asarray(x)


@FAST
@given(
    op=st.sampled_from(sorted(BINARY)),
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=4),
    seed=st.integers(0, 2**32 - 1),
    swap=st.booleans(),
)
def test_broadcast_binary_matches_torch(op, shapes, seed, swap):
    (a_shape, b_shape), out_shape = shapes.input_shapes, shapes.result_shape
    if swap:
        a_shape, b_shape = b_shape, a_shape
    engine = Engine("cpu", seed=0)
    a_values = _values(seed, a_shape)
    b_values = _values(seed + 1, b_shape, away_from_zero=op == "div")
    a, b = engine.tensor(a_values, requires_grad=True), engine.tensor(b_values, requires_grad=True)
    ta, tb = to_torch(a, requires_grad=True), to_torch(b, requires_grad=True)

    out, t_out = BINARY[op](a, b), BINARY[op](ta, tb)
    assert out.shape == tuple(out_shape)
    assert_close(out, t_out)

    cotangent = _values(seed + 2, out.shape)
    out.backward(engine.tensor(cotangent))
    t_out.backward(torch.from_numpy(cotangent))
    # the gradient of each input is un-broadcast to that input's own shape
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    assert_close(a.grad, ta.grad, what="d/da")
    assert_close(b.grad, tb.grad, what="d/db")


@FAST
@given(
    op=st.sampled_from(sorted(BINARY)),
    shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4),
    scalar=st.floats(0.5, 4.0) | st.integers(1, 4),
    scalar_left=st.booleans(),
)
def test_python_scalars_on_either_side(op, shape, scalar, scalar_left):
    engine = Engine("cpu", seed=0)
    values = _values(len(shape), shape, away_from_zero=True)
    x = engine.tensor(values, requires_grad=True)
    tx = to_torch(x, requires_grad=True)
    args, t_args = ((scalar, x), (scalar, tx)) if scalar_left else ((x, scalar), (tx, scalar))
    out, t_out = BINARY[op](*args), BINARY[op](*t_args)
    assert_close(out, t_out)
    out.sum().backward()
    t_out.sum().backward()
    assert_close(x.grad, tx.grad)


def _reduction_case(draw_shape, data, allow_tuple):
    shape = data.draw(draw_shape, label="shape")
    ndim = len(shape)
    if ndim == 0 or data.draw(st.booleans(), label="over all"):
        return shape, None, data.draw(st.booleans(), label="keepdim") if ndim else False
    axes = st.integers(-ndim, ndim - 1)
    if allow_tuple and data.draw(st.booleans(), label="tuple"):
        picked = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True), label="dims")
        signs = data.draw(st.lists(st.booleans(), min_size=len(picked), max_size=len(picked)), label="negative")
        dim = tuple(d - ndim if neg else d for d, neg in zip(picked, signs))
    else:
        dim = data.draw(axes, label="dim")
    return shape, dim, data.draw(st.booleans(), label="keepdim")


SHAPES = array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4)


@FAST
@given(op=st.sampled_from(["sum", "mean"]), data=st.data())
def test_sum_mean_match_torch(op, data):
    shape, dim, keepdim = _reduction_case(SHAPES, data, allow_tuple=True)
    engine = Engine("cpu", seed=0)
    x = engine.tensor(_values(len(shape) * 7 + 1, shape), requires_grad=True)
    tx = to_torch(x, requires_grad=True)
    if dim is None:
        out, t_out = getattr(x, op)(), getattr(tx, op)()
        if keepdim:
            out = getattr(x, op)(keepdim=True)
            t_out = getattr(torch, op)(tx, dim=tuple(range(len(shape))), keepdim=True)
    else:
        out, t_out = getattr(x, op)(dim=dim, keepdim=keepdim), getattr(tx, op)(dim=dim, keepdim=keepdim)
    assert_close(out, t_out)
    cotangent = _values(3, out.shape)
    out.backward(engine.tensor(cotangent))
    t_out.backward(torch.from_numpy(cotangent))
    assert x.grad.shape == x.shape
    assert_close(x.grad, tx.grad)


@FAST
@given(op=st.sampled_from(["max", "min"]), data=st.data())
def test_max_min_match_torch(op, data):
    shape, dim, keepdim = _reduction_case(SHAPES, data, allow_tuple=False)
    engine = Engine("cpu", seed=0)
    n = int(np.prod(shape))
    rng = np.random.default_rng(n)
    values = (rng.permutation(n) - n / 2).reshape(shape).astype(np.float64)  # distinct: no ties
    x = engine.tensor(values, requires_grad=True)
    tx = to_torch(x, requires_grad=True)
    if dim is None:
        out, t_out = getattr(x, op)(), getattr(tx, op)()
        assert_close(out, t_out)
    else:
        result, t_result = getattr(x, op)(dim=dim, keepdim=keepdim), getattr(tx, op)(dim=dim, keepdim=keepdim)
        assert_close(result.values, t_result.values, what="values")
        assert_close(result.indices, t_result.indices, what="indices")
        out, t_out = result.values, t_result.values
    cotangent = _values(5, out.shape)
    out.backward(engine.tensor(cotangent))
    t_out.backward(torch.from_numpy(cotangent))
    assert x.grad.shape == x.shape
    assert_close(x.grad, tx.grad)
