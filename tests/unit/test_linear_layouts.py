"""linear computes small batches as (weight @ x.T).T (a faster BLAS kernel) and large ones as x @ weight.T.

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
