"""linear computes small batches as (weight @ x.T).T (a faster BLAS kernel) and large ones as x @ weight.T; a
product over a contracted dim of size 1 (an outer product) is a broadcast multiply on NumPy.

Each case runs a linear layer, then one op on its output, then a loss, in the engine and in torch,
and compares the values and the gradients of x, weight and bias, at both batch paths. The output is
C-ordered either way, as PyTorch's, so that a view of it shares its memory.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradwire_server.engine import no_grad
from gradwire_server.engine import nn as engine_nn

from ..conftest import assert_close, to_torch, torch

F = torch.nn.functional

# (name, engine function of the linear output h, torch function of h); each returns a tensor
AFTER = [
    ("relu", lambda e, h: h.relu(), lambda h: h.relu()),
    ("sigmoid", lambda e, h: h.sigmoid(), lambda h: h.sigmoid()),
    ("mul-bias", lambda e, h: h * h + 1.0, lambda h: h * h + 1.0),
    ("reshape", lambda e, h: h.reshape(-1), lambda h: h.reshape(-1)),
    ("transpose", lambda e, h: h.t() @ h, lambda h: h.t() @ h),
    ("rows", lambda e, h: h[1:3], lambda h: h[1:3]),
    ("picked", lambda e, h: h[e.tensor([0, 2, 2]), e.tensor([1, 0, 1])], lambda h: h[torch.tensor([0, 2, 2]), torch.tensor([1, 0, 1])]),
    ("sum-dim0", lambda e, h: h.sum(0), lambda h: h.sum(0)),
    ("mean-dim1", lambda e, h: h.mean(1), lambda h: h.mean(1)),
    ("softmax", lambda e, h: h.softmax(1), lambda h: h.softmax(1)),
    ("log_softmax", lambda e, h: h.log_softmax(1), lambda h: h.log_softmax(1)),
    ("cat", lambda e, h: e.cat([h, h.relu()], 1), lambda h: torch.cat([h, h.relu()], 1)),
    ("linear", lambda e, h: e.apply("linear", h.relu(), e.tensor(np.linspace(-1, 1, 15, dtype=np.float32).reshape(3, 5))),
     lambda h: F.linear(h.relu(), torch.linspace(-1, 1, 15).reshape(3, 5))),
    ("cross_entropy", lambda e, h: e.apply("cross_entropy", h, e.tensor(np.arange(len(h)) % 5)),
     lambda h: F.cross_entropy(h, torch.arange(len(h)) % 5)),
]


@pytest.mark.parametrize("batch", [6, engine_nn._SMALL_BATCH + 2])
@pytest.mark.parametrize("name, ours, theirs", AFTER, ids=[a[0] for a in AFTER])
def test_ops_after_linear_match_torch(engine, batch, name, ours, theirs):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s, dtype=np.float32) for s in ((batch, 4), (5, 4), (5,))]
    mine = [engine.tensor(a, requires_grad=True) for a in arrays]
    ref = [to_torch(a, requires_grad=True) for a in arrays]
    h = engine.apply("linear", *mine)
    assert h.array.flags.c_contiguous
    out, expected = ours(engine, h), theirs(F.linear(*ref))
    assert_close(out, expected, what=name)
    weights = np.linspace(0.5, 2.0, out.numel(), dtype=np.float32).reshape(out.shape)  # a gradient that is not all ones
    (out * engine.tensor(weights)).sum().backward()
    (expected * torch.from_numpy(weights)).sum().backward()
    for m, r, what in zip(mine, ref, ("x", "weight", "bias")):
        assert_close(m.grad, r.grad, rtol=1e-4, atol=1e-5, what=f"{name}: d/d{what}")


@pytest.mark.parametrize("batch", [3, engine_nn._SMALL_BATCH + 2])
def test_a_view_of_a_linear_output_shares_its_memory_as_in_torch(engine, batch):
    x, w = np.ones((batch, 2), np.float32), np.ones((4, 2), np.float32)
    h = engine.apply("linear", engine.tensor(x), engine.tensor(w))
    expected = F.linear(torch.from_numpy(x), torch.from_numpy(w))
    with no_grad():
        h.reshape(-1).__iadd__(1.0)  # h.view(-1) += 1
    with torch.no_grad():
        expected.view(-1).add_(1.0)
    np.testing.assert_array_equal(h.numpy(), expected.numpy())  # 3.0 everywhere, not 2.0


def _outer_cases():
    """(name, op, arrays): products whose contracted dim has size 1, with zeros against negatives, so that a -0.0
    product shows (torch's mm of two matrices keeps it; its matrix-vector products and bmm read 0.0)."""
    x1 = np.array([[-1.5, 0.0, 2.0]], np.float32)  # batch 1
    w = np.array([[0.0, -2.0, 1.0], [3.0, 0.0, -0.5]], np.float32)
    col = np.array([[-1.0], [0.0], [2.0]], np.float32)  # in_features 1
    w1 = np.array([[0.0], [-4.0]], np.float32)
    row = np.array([[0.0, -3.0]], np.float32)
    batched = np.array([[[-1.0], [2.0]], [[0.5], [-0.0]]], np.float32), np.array([[[0.0, 1.0]], [[-2.0, 0.0]]], np.float32)
    return [
        ("linear at batch 1", "linear", (x1, w)),
        ("linear with one input feature", "linear", (col, w1)),
        ("linear at batch 1 with one output", "linear", (x1, w[:1])),
        ("matmul (n, 1) @ (1, m)", "matmul", (col, row)),
        ("matmul (1, 1) @ (1, m)", "matmul", (col[:1], row)),
        ("matmul (n, 1) @ (1, 1)", "matmul", (col, row[:, :1])),
        ("batched matmul (b, n, 1) @ (b, 1, m)", "matmul", batched),
        ("batched matmul (b, n, 1) @ (1, m)", "matmul", (batched[0], row)),
        ("batched matmul (b, n, 1) @ (1, 1)", "matmul", (batched[0], row[:, :1])),
    ]


@pytest.mark.parametrize("name, op, arrays", _outer_cases(), ids=[case[0] for case in _outer_cases()])
def test_outer_products_match_torch_to_the_sign_of_zero(engine, name, op, arrays):
    mine = [engine.tensor(a, requires_grad=True) for a in arrays]
    ref = [to_torch(a, requires_grad=True) for a in arrays]
    ours = engine.apply(op, *mine)
    theirs = (F.linear if op == "linear" else torch.matmul)(*ref)
    g = np.where(np.arange(ours.numel()).reshape(ours.shape) % 2 == 0, -1.0, 0.0).astype(np.float32)  # zeros too
    ours.backward(engine.tensor(g))
    theirs.backward(torch.from_numpy(g))
    for got, expected, what in [(ours, theirs, "output")] + [(m.grad, r.grad, f"d/d{i}") for i, (m, r) in enumerate(zip(mine, ref))]:
        got, expected = got.numpy(), expected.detach().numpy()
        np.testing.assert_array_equal(got, expected, err_msg=f"{name}: {what}")
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected), err_msg=f"{name}: {what}, signs of zero")
