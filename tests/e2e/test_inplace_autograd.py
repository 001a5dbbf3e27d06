"""In-place ops under autograd, as PyTorch records them: the tensor takes the op's node as its grad_fn,
what was written over passes no gradient back, and a saved tensor changed in place is caught by backward."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

X = (np.arange(12, dtype=np.float64).reshape(3, 4) - 5.5) / 3
Y = np.linspace(-1.0, 2.0, 12).reshape(3, 4)


def _written_row(x, y, lib):
    h = x * 2
    h[0] = y[0] * 3  # CopySlices: row 0 of x gets nothing, y's row 0 gets 3x
    return h


def _accumulated(x, y, lib):
    h = x * 1.5
    h.add_(y)
    h.relu_()
    return h


def _multiplied(x, y, lib):
    h = x + 1
    h.mul_(y)  # y's gradient reads h before the change: a copy is saved, as PyTorch's
    h.div_(y.abs() + 1)
    return h


def _filled_buffer(x, y, lib):
    buf = lib.zeros(3, 4, dtype=lib.float64)  # no grad until a row needs one
    for i in range(3):
        buf[i] = x[i] * (i + 1) + y[2 - i]
    return buf


def _chain(x, y, lib):
    h = x - 0.25
    h.clamp_(-1.0, 1.0)
    h.masked_fill_(h > 0.5, 0.5)
    h += y
    h *= x
    h -= y * 0.5
    h /= 2
    h.pow_(2)
    h.sigmoid_()  # saves its result: nothing changes it after
    return h


def _copied(x, y, lib):
    h = x * 3
    h.copy_(y.tanh())  # CopyBackwards: x gets zeros
    return h * x


def _zeroed(x, y, lib):
    h = x * 2
    h.zero_()
    h[1:, 2] = y[1:, 0]
    return h + y


def _number_into_tensor_with_history(x, y, lib):
    h = x * y
    h[:, 1] = 0.5
    h[2].fill_(2.0) if False else None
    return h.sum(0)


def _views_changed(x, y, lib):
    h = x * 2
    h[1] += y[0]  # Python's x[k] += v: an in-place add on the view h[1], then h[1] = that view
    h[:, 2].mul_(y[:, 3])  # the root takes the change (CopySlices); the view is taken again from it
    h.T[0].relu_()
    return h


def _views_of_a_buffer(x, y, lib):
    buf = lib.zeros(3, 4, dtype=lib.float64)
    first = buf[0]
    first.add_(x[2])
    rest = buf[1:]  # taken after the buffer has a history (see _a_view_taken_before_its_root_had_history)
    rest += y[1:] * x[1]
    flat = buf.view(12)
    flat[::5] = x[0, :3] * 7
    return buf + rest.sum() + first


def _an_overlapping_view_taken_again(x, y, lib):
    h = x * 2
    row, column = h[1], h[:, 0]  # both see h[1, 0]
    row.mul_(y[1])
    return h + column[:, None] * 3


CASES = {f.__name__.lstrip("_"): f for f in (
    _written_row, _accumulated, _multiplied, _filled_buffer, _chain, _copied, _zeroed, _number_into_tensor_with_history,
    _views_changed, _views_of_a_buffer, _an_overlapping_view_taken_again,
)}


@pytest.mark.parametrize("case", CASES)
def test_in_place_ops_record_as_in_torch(session, case):
    f = CASES[case]
    x, y = session.tensor(X, requires_grad=True), session.tensor(Y, requires_grad=True)
    tx, ty = torch.tensor(X, requires_grad=True), torch.tensor(Y, requires_grad=True)
    out, t_out = f(x, y, gw), f(tx, ty, torch)
    assert out.requires_grad and not out.is_leaf
    assert out.grad_fn.name() == t_out.grad_fn.name().replace("torch::autograd::", "")
    (out * session.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape))).sum().backward()
    (t_out * torch.tensor(np.linspace(0.5, 1.5, t_out.numel()).reshape(t_out.shape))).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_in_place_gradients_match_central_differences(session):
    def loss(x_values, y_values):
        with gw.no_grad():
            return float(_chain(session.tensor(x_values), session.tensor(y_values), gw).sum())

    x, y = session.tensor(X, requires_grad=True), session.tensor(Y, requires_grad=True)
    _chain(x, y, gw).sum().backward()
    eps = 1e-6
    for values, grad, other in ((X, x.grad.numpy(), Y), (Y, y.grad.numpy(), X)):
        numeric = np.zeros_like(values)
        for index in np.ndindex(values.shape):
            up, down = values.copy(), values.copy()
            up[index] += eps
            down[index] -= eps
            args_up, args_down = ((up, other), (down, other)) if values is X else ((other, up), (other, down))
            numeric[index] = (loss(*args_up) - loss(*args_down)) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_a_tensor_changed_in_place_after_being_saved_fails_backward_as_in_torch(session):
    x, tx = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    for lib, v in ((gw, x), (torch, tx)):
        h = v.exp()  # exp saves its result
        h.add_(1)
        if lib is torch:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                h.sum().backward()
        else:
            with pytest.raises(gw.FailedPreconditionError, match="modified by an inplace operation"):
                h.sum().backward()
                session.sync()


def test_in_place_on_a_leaf_that_requires_grad_is_refused_at_once(session):
    w, tw = session.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    for v in (w, tw):
        for change in (lambda v: v.relu_(), lambda v: v.add_(1), lambda v: v.__setitem__(0, 2.0), lambda v: v.clamp_(0, 1)):
            with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
                change(v)
    with gw.no_grad():
        w.relu_().mul_(2)[1] = 5.0  # under no_grad: not recorded, as an optimizer's update
    assert w.tolist() == [2.0, 5.0, 2.0] and w.is_leaf and w.grad_fn is None


def test_in_place_ops_without_grad_write_in_place(session):
    x = session.tensor([-1.5, 0.5, 2.5])
    view = x[1:]
    x.relu_().sqrt_()
    x.clamp_(max=1.2).round_(1)
    assert x.tolist() == pytest.approx([0.0, 0.7, 1.2]) and view.tolist() == pytest.approx([0.7, 1.2])
    assert not x.requires_grad and x.is_leaf


def test_copy_casts_to_the_destination_dtype_as_torch(session):
    values = [1.7, -2.5, 3.0]
    for dtype, torch_dtype in ((gw.int64, torch.int64), (gw.bool_, torch.bool), (gw.float32, torch.float32)):
        ours, theirs = session.zeros(3, dtype=dtype), torch.zeros(3, dtype=torch_dtype)
        ours.copy_(session.tensor(values, dtype=gw.float64))
        theirs.copy_(torch.tensor(values, dtype=torch.float64))
        assert ours.dtype == dtype and ours.tolist() == theirs.tolist()


def test_retain_grad_follows_a_tensor_changed_in_place(session):
    x, tx = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    grads = []
    for v in (x, tx):
        h = v * 2
        h.retain_grad()
        h.mul_(3)
        (h * h).sum().backward()
        grads.append(h.grad.numpy() if v is x else h.grad.detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_a_view_taken_before_its_root_had_history_gets_one_too(session):
    x = session.tensor(X, requires_grad=True)
    buf = session.zeros(3, 4, dtype=gw.float64)
    first, rest = buf[0], buf[1:]
    assert not rest.requires_grad
    first.add_(x[2])
    assert buf.requires_grad and not buf.is_leaf and buf.grad_fn.name() == "CopySlices"
    assert rest.requires_grad and rest.grad_fn.name() == "AsStridedBackward0"
    rest.sum().backward()  # (torch 2.13 refuses rest += ... here, as if rest were a leaf; reading it is the same)
    assert x.grad.tolist() == [[0.0] * 4] * 3  # rest holds no part of x[2]


def test_in_place_on_a_view_of_a_leaf_that_requires_grad_is_refused_at_once(session):
    w, tw = session.ones(2, 3, requires_grad=True), torch.ones(2, 3, requires_grad=True)
    for v in (w, tw):
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an in-place operation"):
            v[0].mul_(2)


def test_a_view_changed_by_its_own_sibling_is_caught_as_in_torch(session):
    x, tx = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    for lib, v in ((torch, tx), (gw, x)):
        h = v * 2
        h[:, 2].mul_(h[:, 3])  # the product saved h[:, 3], which the write itself changes (its version moves)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            h.sum().backward()
            session.sync()


INPLACE_ACTIVATIONS = [
    ("relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("silu", {}), ("elu", {"alpha": 0.7}), ("mish", {}),
    ("hardswish", {}), ("hardsigmoid", {}), ("hardtanh", {"min_val": -0.5, "max_val": 0.8}), ("relu6", {}), ("selu", {}),
    ("celu", {"alpha": 1.3}), ("threshold", {"threshold": 0.1, "value": -2.0}),
]


@pytest.mark.parametrize("name, kwargs", INPLACE_ACTIVATIONS, ids=[n for n, _ in INPLACE_ACTIVATIONS])
def test_activations_with_inplace_write_into_their_input_as_pytorchs(session, name, kwargs):
    results = []
    for lib in (torch, gw):
        F = torch.nn.functional if lib is torch else gw.nn.functional
        make = torch.tensor if lib is torch else session.tensor
        x = make(X * 2, requires_grad=True)
        h = x * 1.5  # a non-leaf: changed in place, it takes the activation's history
        out = getattr(F, name)(h, inplace=True, **kwargs)
        assert out is h
        (h * h).sum().backward()
        results.append((h.detach().numpy().copy(), x.grad.numpy().copy()))
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
            getattr(F, name)(make(X, requires_grad=True), inplace=True, **kwargs)
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_modules_with_inplace_true_write_into_their_input_and_say_so(session):
    model = gw.nn.Sequential(gw.nn.Linear(4, 3, session=session), gw.nn.ReLU(inplace=True), gw.nn.Dropout(0.5, inplace=True),
                             gw.nn.LeakyReLU(0.1, inplace=True), gw.nn.ReLU6(inplace=True))
    assert "ReLU(inplace=True)" in repr(model) and "Dropout(p=0.5, inplace=True)" in repr(model)
    assert "LeakyReLU(negative_slope=0.1, inplace=True)" in repr(model) and "ReLU6(inplace=True)" in repr(model)
    assert repr(gw.nn.ReLU()) == "ReLU()" == repr(torch.nn.ReLU())
    h = model[0](session.tensor(X, dtype=gw.float32))  # (a float32 model takes float32 data, as torch's)
    assert model[1](h) is h and model[3](h) is h
    assert (h.detach().numpy() >= 0).all()
