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
from gradwire_server.engine import traced
from gradwire_server.engine.traced import TRACEABLE
from tests.conftest import assert_close
from tests.unit.test_op_table import ROWS, engine_inputs, first, make_inputs, numerical_vjp, torch_inputs

TRACED_ROWS = [row for row in ROWS if row.op in TRACEABLE and row.diff and row.numeric]


def test_every_traceable_op_has_a_row():
    missing = sorted(TRACEABLE - {row.op for row in TRACED_ROWS})
    assert not missing, f"ops marked traceable that no row checks one order up: {missing}"


def _output(engine_or_torch, out, cubed):
    """The row's output, or its cube: an op linear in its inputs (indexing, sort, scatter, dropout, ...) has
    constant first gradients alone, so it is checked one order up inside a function that is not."""
    out = first(out)
    if not cubed:
        return out
    return out**3 if isinstance(out, torch.Tensor) else engine_or_torch.apply("pow", out, 3.0)


def _first_grads(engine, row, values, cotangent, cubed):
    inputs = engine_inputs(engine, row, values)
    out = _output(engine, row.run(engine, *inputs), cubed)
    wrt = [inputs[i] for i in row.diff]
    return inputs, wrt, engine.grad(out, wrt, grad_outputs=engine.tensor(cotangent), create_graph=True, allow_unused=True)


# torch's double backward of binary_cross_entropy is a closed form of its own; the engine differentiates its
# first-order rule: the same values, rounded differently where p (1 - p) is small
# torch's polygamma(n >= 1) is good to about 1e-9 relative, SciPy's (the engine's) to the last digit
SECOND_ORDER_RTOL = {"binary_cross_entropy": 1e-8, "lgamma": 1e-8, "digamma": 1e-8, "polygamma": 1e-8}


@pytest.mark.parametrize("row", TRACED_ROWS, ids=lambda row: row.id)
def test_second_order_gradients_match_torch_and_central_differences(row):
    if not _check_second_order(row, cubed=False):
        if first(_rows_output_dtype(row)).kind != "f" or not _check_second_order(row, cubed=True):
            pytest.skip("first gradients are constants here, the output cubed too: nothing to differentiate again")


def _rows_output_dtype(row):
    with no_grad():
        out = row.run(Engine("cpu", seed=0), *engine_inputs(Engine("cpu", seed=0), row, make_inputs(row, np.float64)[0]))
    return tuple(o.dtype for o in out) if isinstance(out, tuple) else (out.dtype,)


def _check_second_order(row, cubed):
    """Compare the row's second-order gradients with torch's and with central differences; False where the
    first gradients are constants (nothing to differentiate)."""
    engine = Engine("cpu", seed=0)
    values, rng = make_inputs(row, np.float64)
    with no_grad():
        shape = _output(engine, row.run(engine, *engine_inputs(engine, row, values)), cubed).shape
    cotangent = rng.standard_normal(shape)
    directions = [rng.standard_normal(np.shape(values[i])) for i in row.diff]

    inputs, wrt, grads = _first_grads(engine, row, values, cotangent, cubed)
    t_inputs = torch_inputs(row, values)
    t_out = _output(torch, row.ref(*t_inputs), cubed)
    t_wrt = [t_inputs[i] for i in row.diff]
    t_grads = torch.autograd.grad(t_out, t_wrt, grad_outputs=torch.from_numpy(cotangent), create_graph=True, allow_unused=True)
    for i, g, t in zip(row.diff, grads, t_grads):  # the recorded first order is the first order
        assert_close(g if g is not None else np.zeros(t.shape), t.detach().numpy(force=True), rtol=row.torch_tol[0], atol=row.torch_tol[1],
                     what=f"{row.id}: recorded first order, input {i}")
    present = [(g, u) for g, u in zip(grads, directions) if g is not None and g.requires_grad]
    if not present:
        return False
    total = None
    for g, u in present:
        term = engine.apply("sum", engine.apply("mul", g, engine.tensor(u)))
        total = term if total is None else engine.apply("add", total, term)
    ours = engine.grad(total, wrt, allow_unused=True)

    if all(a is None or not np.any(a.numpy()) for a in ours):
        # piecewise constant first gradients (recorded, tied to what they read, as torch's, but their derivative is 0):
        # nothing to check here but at kinks, where central differences are meaningless; the cube checks them
        return False
    t_total = sum((g * torch.from_numpy(u)).sum() for g, u in zip(t_grads, directions) if g is not None and g.requires_grad)
    # (torch's first gradients may be constants where the engine's are recorded: x ** 0's; then none are due)
    theirs = torch.autograd.grad(t_total, t_wrt, allow_unused=True) if torch.is_tensor(t_total) else [None] * len(t_wrt)
    for i, a, b in zip(row.diff, ours, theirs):
        if b is None:
            assert a is None or not np.any(a.numpy()), f"{row.id}: d/d input {i}: torch gives none"
            continue
        b = b.detach().numpy(force=True)  # (torch's second derivative of abs or sign is a ZeroTensor)
        a = np.zeros(b.shape) if a is None else a.numpy()
        # 0 ** y: torch's second derivative in y is NaN at x = 0 (log 0 times 0); the engine's is 0, the limit
        # (the central differences below check it)
        finite = ~np.isnan(b) if row.id == "pow-zero-base" else np.ones(b.shape, dtype=bool)
        assert_close(a[finite], b[finite], rtol=SECOND_ORDER_RTOL.get(row.op), what=f"{row.id}: second order, d/d input {i}")

    # central differences of the engine's own first gradient, along the same directions
    def first_gradient_along(args):
        _, _, gs = _first_grads(Engine("cpu", seed=0), row, args, cotangent, cubed)
        return np.asarray(sum(np.sum(g.numpy() * u) for g, u in zip(gs, directions) if g is not None))

    for k, (i, a) in enumerate(zip(row.diff, ours)):
        expected = numerical_vjp(first_gradient_along, values, i, np.float64(1.0), row.eps)
        got = np.zeros(np.shape(values[i])) if a is None else a.numpy()
        assert_close(got, expected, rtol=1e-4, atol=1e-6, what=f"{row.id}: second order vs central differences, input {i}")
    return True


def test_a_recorded_backward_through_an_op_outside_the_set_names_it(monkeypatch):
    monkeypatch.setattr(traced, "TRACEABLE", TRACEABLE - {"cumprod"})  # (every op with a rule is in the set today)
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


def test_a_recorded_backward_through_a_freed_graph_says_so_as_torch():
    engine = Engine("cpu", seed=0)
    x = engine.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = engine.apply("sum", engine.apply("exp", x))
    engine.backward(y)  # frees the graph
    tx = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    ty = tx.exp().sum()
    ty.backward()
    with pytest.raises(RuntimeError) as theirs:
        torch.autograd.grad(ty, tx, create_graph=True)
    with pytest.raises(RuntimeError) as ours:
        engine.grad(y, x, create_graph=True)
    assert str(ours.value) == str(theirs.value)
