"""Double backward (``create_graph=True``): the gradient-check table's rows again, one order up.

For every row of an op in ``traced.TRACEABLE``, in float64: the first gradients are computed with
``create_graph=True``, and the gradient of ``sum(u_i * g_i)`` with respect to every input is compared
with PyTorch's (``torch.autograd.grad(..., create_graph=True)``) and with central differences of the
engine's own first gradient. Ops outside the set refuse a recorded backward in words that name them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradwire_server.engine import Engine, NoDerivative, no_grad
from gradwire_server.engine.traced import TRACEABLE
from tests.conftest import assert_close
from tests.unit.test_op_table import ROWS, engine_inputs, first, make_inputs, numerical_vjp, torch_inputs

TRACED_ROWS = [row for row in ROWS if row.op in TRACEABLE and row.diff and row.numeric]


def test_every_traceable_op_has_a_row():
    missing = sorted(TRACEABLE - {row.op for row in TRACED_ROWS})
    assert not missing, f"ops marked traceable that no row checks one order up: {missing}"


def _first_grads(engine, row, values, cotangent):
    inputs = engine_inputs(engine, row, values)
    out = first(row.run(engine, *inputs))
    wrt = [inputs[i] for i in row.diff]
    return inputs, wrt, engine.grad(out, wrt, grad_outputs=engine.tensor(cotangent), create_graph=True, allow_unused=True)


@pytest.mark.parametrize("row", TRACED_ROWS, ids=lambda row: row.id)
def test_second_order_gradients_match_torch_and_central_differences(row):
    engine = Engine("cpu", seed=0)
    values, rng = make_inputs(row, np.float64)
    with no_grad():
        shape = first(row.run(engine, *engine_inputs(engine, row, values))).shape
    cotangent = rng.standard_normal(shape)
    directions = [rng.standard_normal(np.shape(values[i])) for i in row.diff]

    inputs, wrt, grads = _first_grads(engine, row, values, cotangent)
    t_inputs = torch_inputs(row, values)
    t_out = first(row.ref(*t_inputs))
    t_wrt = [t_inputs[i] for i in row.diff]
    t_grads = torch.autograd.grad(t_out, t_wrt, grad_outputs=torch.from_numpy(cotangent), create_graph=True, allow_unused=True)
    for i, g, t in zip(row.diff, grads, t_grads):  # the recorded first order is the first order
        assert_close(g if g is not None else np.zeros(t.shape), t.detach().numpy(force=True), what=f"{row.id}: recorded first order, input {i}")
    present = [(g, u) for g, u in zip(grads, directions) if g is not None and g.requires_grad]
    if not present:
        pytest.skip("first gradients are constants here: nothing to differentiate again")
    total = None
    for g, u in present:
        term = engine.apply("sum", engine.apply("mul", g, engine.tensor(u)))
        total = term if total is None else engine.apply("add", total, term)
    ours = engine.grad(total, wrt, allow_unused=True)

    t_total = sum((g * torch.from_numpy(u)).sum() for g, u in zip(t_grads, directions) if g is not None and g.requires_grad)
    theirs = torch.autograd.grad(t_total, t_wrt, allow_unused=True)
    for i, a, b in zip(row.diff, ours, theirs):
        if b is None:
            assert a is None or not np.any(a.numpy()), f"{row.id}: d/d input {i}: torch gives none"
            continue
        b = b.detach().numpy(force=True)  # (torch's second derivative of abs or sign is a ZeroTensor)
        a = np.zeros(b.shape) if a is None else a.numpy()
        # 0 ** y: torch's second derivative in y is NaN at x = 0 (log 0 times 0); the engine's is 0, the limit
        # (the central differences below check it)
        finite = ~np.isnan(b) if row.id == "pow-zero-base" else np.ones(b.shape, dtype=bool)
        assert_close(a[finite], b[finite], what=f"{row.id}: second order, d/d input {i}")

    # central differences of the engine's own first gradient, along the same directions
    def first_gradient_along(args):
        _, _, gs = _first_grads(Engine("cpu", seed=0), row, args, cotangent)
        return np.asarray(sum(np.sum(g.numpy() * u) for g, u in zip(gs, directions) if g is not None))

    for k, (i, a) in enumerate(zip(row.diff, ours)):
        expected = numerical_vjp(first_gradient_along, values, i, np.float64(1.0), row.eps)
        got = np.zeros(np.shape(values[i])) if a is None else a.numpy()
        assert_close(got, expected, rtol=1e-4, atol=1e-6, what=f"{row.id}: second order vs central differences, input {i}")


def test_a_recorded_backward_through_an_op_outside_the_set_names_it():
    engine = Engine("cpu", seed=0)
    x = engine.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = engine.apply("sum", engine.apply("cumprod", x, dim=1))
    with pytest.raises(NoDerivative, match=r"double backward \(create_graph=True\) through 'cumprod' \(CumprodBackward0\) is not supported"):
        engine.grad(y, x, create_graph=True)


def test_create_graph_keeps_the_graph_and_records_leaf_grads():
    engine = Engine("cpu", seed=0)
    x = engine.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = engine.apply("sum", engine.apply("pow", x, 3.0))
    engine.backward(y, create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None  # 3 x^2, with its graph
    engine.backward(engine.apply("sum", x.grad))  # d/dx sum(3 x^2) = 6 x, added to .grad out of place
    tx = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float32, requires_grad=True)
    (tx ** 3).sum().backward(create_graph=True)
    tx.grad.sum().backward()
    assert_close(x.grad, tx.grad)
    engine.backward(y)  # the graph was kept (retain_graph follows create_graph)
