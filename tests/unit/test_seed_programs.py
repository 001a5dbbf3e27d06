"""The seed article's small programs, run in the engine and in PyTorch side by side."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradwire_server.engine import Engine, no_grad
from tests.conftest import assert_close, to_torch


def test_only_the_tensor_that_requires_grad_gets_one(engine):
    rng = np.random.default_rng(1)
    xs, ys, zs = (rng.standard_normal((3, 4)) for _ in range(3))
    x = engine.tensor(xs, requires_grad=True)
    y, z = engine.tensor(ys), engine.tensor(zs)
    out = (x * y + z).sum()
    out.backward()

    tx = torch.tensor(xs, requires_grad=True)
    ty, tz = torch.tensor(ys), torch.tensor(zs)
    t_out = (tx * ty + tz).sum()
    t_out.backward()

    assert_close(out, t_out)
    assert_close(x.grad, tx.grad)
    assert_close(x.grad, ys)  # d/dx sum(x*y + z) = y
    assert y.grad is None and z.grad is None
    assert not y.requires_grad and not z.requires_grad


def test_product_of_two_scalars(engine):
    x = engine.tensor(1.0, requires_grad=True)
    y = engine.tensor(2.0, requires_grad=True)
    z = x * y
    z.backward()
    assert z.item() == 2.0
    assert x.grad.item() == 2.0 and y.grad.item() == 1.0
    assert x.grad.shape == () and y.grad.shape == ()


def test_chain_rule_against_its_closed_form(engine):
    values = np.array([-1.5, -0.3, 0.0, 0.7, 2.0])
    x = engine.tensor(values, requires_grad=True, dtype="float64")
    ((x**2 + 1) ** 3).sum().backward()
    assert_close(x.grad, 6 * values * (values**2 + 1) ** 2)

    tx = torch.tensor(values, requires_grad=True)
    ((tx**2 + 1) ** 3).sum().backward()
    assert_close(x.grad, tx.grad)


def test_four_weight_network(engine):
    """b = w1*a, c = w2*a, d = w3*b + w4*c, L = 10 - d."""
    a_value, weights = 3.0, [0.5, -1.25, 2.0, 0.75]

    def program(make, a):
        w1, w2, w3, w4 = (make(w) for w in weights)
        b = w1 * a
        c = w2 * a
        d = w3 * b + w4 * c
        return 10 - d, (w1, w2, w3, w4), (b, c)

    loss, ws, (b, c) = program(lambda w: engine.tensor(w, requires_grad=True), engine.tensor(a_value))
    loss.backward()
    t_loss, t_ws, _ = program(lambda w: torch.tensor(w, requires_grad=True), torch.tensor(a_value))
    t_loss.backward()

    assert_close(loss, t_loss)
    for w, tw in zip(ws, t_ws):
        assert_close(w.grad, tw.grad)
    w1, w2, w3, w4 = weights
    expected = [-w3 * a_value, -w4 * a_value, -b.item(), -c.item()]
    assert [w.grad.item() for w in ws] == pytest.approx(expected)
    assert not b.is_leaf and b.grad is None  # non-leaves keep no .grad


def test_requires_grad_propagates_from_any_input(engine):
    x, y = engine.randn(5), engine.randn(5)
    z = engine.randn(5, requires_grad=True)
    a = x + y
    assert a.requires_grad is False
    b = a + z
    assert b.requires_grad is True
    assert engine.tensor([1.0]).requires_grad is False  # the default


def test_leaf_rules(engine):
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    c = engine.tensor([3.0, 4.0])
    assert x.is_leaf and c.is_leaf  # made by the user, with or without grad
    assert (c * 2).is_leaf  # no input requires grad: the output is a leaf too
    assert not (x * 2).is_leaf and (x * 2).grad_fn is not None
    with no_grad():
        assert (x * 2).is_leaf  # nothing is recorded under no_grad

    t = torch.tensor([1.0, 2.0], requires_grad=True)
    assert (torch.tensor([3.0, 4.0]) * 2).is_leaf and not (t * 2).is_leaf


@pytest.mark.parametrize("device", ["cpu", "cpu:0"])
def test_to_the_same_device_or_dtype_returns_the_tensor_itself(engine, device):
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    assert x.to(device) is x
    assert x.to(device=device) is x
    assert x.to("float32") is x and x.to(np.float32) is x
    assert torch.tensor([1.0], requires_grad=True).to("cpu").is_leaf


def test_dtype_change_of_a_leaf_is_not_a_leaf(engine):
    x = engine.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to("float64")
    assert y.dtype == np.float64 and not y.is_leaf and y.requires_grad
    assert y.grad_fn.name == "ToCopyBackward0"
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32  # the gradient comes back in the leaf's own dtype
    assert_close(x.grad, np.array([2.0, -4.0, 6.0], dtype=np.float32))

    t = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    ty = t.to(torch.float64)
    assert not ty.is_leaf and type(ty.grad_fn).__name__ == y.grad_fn.name


def _mlp_data(seed=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, 4)), rng.standard_normal((4, 6)), rng.standard_normal((6, 3))


def _torch_head_grad(x, w1, w2):
    tx, tw1, tw2 = torch.tensor(x), torch.tensor(w1), torch.tensor(w2, requires_grad=True)
    ((tx @ tw1).relu() @ tw2).log_softmax(dim=1).sum().backward()
    return tw2.grad


@pytest.mark.parametrize("freeze", ["requires_grad_false", "no_grad", "detach"])
def test_frozen_backbone_gets_no_gradient(engine, freeze):
    x_values, w1_values, w2_values = _mlp_data()
    x = engine.tensor(x_values, dtype="float64")
    w1 = engine.tensor(w1_values, dtype="float64", requires_grad=freeze != "requires_grad_false")
    w2 = engine.tensor(w2_values, dtype="float64", requires_grad=True)  # the head

    if freeze == "no_grad":
        with no_grad():
            features = (x @ w1).relu()
    else:
        features = (x @ w1).relu()
        if freeze == "detach":
            features = features.detach()
    assert not features.requires_grad and features.is_leaf

    (features @ w2).log_softmax(dim=1).sum().backward()
    assert w1.grad is None
    assert w2.grad is not None
    assert_close(w2.grad, _torch_head_grad(x_values, w1_values, w2_values))
