"""Double backward through the SDK (``create_graph=True``), against PyTorch: a gradient penalty, Hessian-vector
products, a recorded ``.grad`` differentiated again, hooks in a recorded pass, and the refusal of an op whose
gradient is not recorded."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).normal(size=(6, 3))
W = np.random.default_rng(1).normal(size=(3, 4))


def _close(ours, theirs, what=""):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=what)


def test_a_gradient_penalty_trains_as_in_pytorch(session):
    """WGAN-GP's penalty: the norm of a critic's gradient with respect to its input, pushed towards 1."""
    torch.manual_seed(0)
    critic_t = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.LeakyReLU(0.2), torch.nn.Linear(8, 8), torch.nn.Tanh(),
                                   torch.nn.Linear(8, 1)).double()
    critic = gw.nn.Sequential(gw.nn.Linear(3, 8, session=session), gw.nn.LeakyReLU(0.2), gw.nn.Linear(8, 8, session=session),
                              gw.nn.Tanh(), gw.nn.Linear(8, 1, session=session)).double()
    critic.load_state_dict({k: v.numpy() for k, v in critic_t.state_dict().items()})
    opt_t, opt = torch.optim.Adam(critic_t.parameters(), lr=0.01), gw.optim.Adam(critic.parameters(), lr=0.01)
    for step in range(3):
        data = np.random.default_rng(10 + step).normal(size=(6, 3))
        for lib, model, optimizer in ((torch, critic_t, opt_t), (gw, critic, opt)):
            x = torch.tensor(data, requires_grad=True) if lib is torch else session.tensor(data, requires_grad=True)
            grad = torch.autograd.grad if lib is torch else gw.grad
            (gx,) = grad(model(x).sum(), x, create_graph=True)
            penalty = ((gx.norm(2, dim=1) - 1) ** 2).mean()
            optimizer.zero_grad()
            (model(x).mean() + 10 * penalty).backward()
            optimizer.step()
    for (name, theirs), ours in zip(critic_t.state_dict().items(), critic.state_dict().values()):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def _loss(lib, x, w):
    return ((x @ w).sigmoid() * (x @ w).sin()).sum() + (w ** 3).mean()


def test_hessian_vector_products_match_torch(session):
    v = np.random.default_rng(2).normal(size=W.shape)
    tw = torch.tensor(W, requires_grad=True)
    _, expected = torch.autograd.functional.hvp(lambda w: _loss(torch, torch.tensor(X), w), tw, torch.tensor(v))
    w = session.tensor(W, requires_grad=True)
    (g,) = gw.grad(_loss(gw, session.tensor(X), w), w, create_graph=True)
    assert g.requires_grad and not g.is_leaf
    (hv,) = gw.grad((g * session.tensor(v)).sum(), w)
    _close(hv, expected, "Hv")
    _, ours = gw.autograd.functional.hvp(lambda w: _loss(gw, session.tensor(X), w), w, session.tensor(v))
    _close(ours, expected, "functional.hvp")
    hessian = gw.autograd.functional.hessian(lambda w: _loss(gw, session.tensor(X), w), w)
    _close(hessian, torch.autograd.functional.hessian(lambda w: _loss(torch, torch.tensor(X), w), tw), "functional.hessian")


def test_a_recorded_grad_is_differentiated_again_as_in_pytorch(session):
    results = []
    for lib in (torch, gw):
        x = torch.tensor(X, requires_grad=True) if lib is torch else session.tensor(X, requires_grad=True)
        (x.tanh() ** 3).sum().backward(create_graph=True)
        g = x.grad
        assert g.requires_grad and not g.is_leaf
        (g * g).sum().backward()  # accumulated into the same .grad
        results.append(x.grad)
    _close(results[1], results[0])


def test_leaves_a_recorded_gradient_does_not_reach_keep_no_grad(session):
    """d(x*w)/dx is w alone: a pass from it reaches w but not x, which the server says (x.grad stays None)."""
    for lib in (torch, gw):
        x = torch.tensor(X[:, :1], requires_grad=True) if lib is torch else session.tensor(X[:, :1], requires_grad=True)
        w = torch.tensor(X[:, 1:2], requires_grad=True) if lib is torch else session.tensor(X[:, 1:2], requires_grad=True)
        grad = torch.autograd.grad if lib is torch else gw.grad
        (gx,) = grad((x * w).sum(), x, create_graph=True)
        (gx ** 2).sum().backward()
        assert x.grad is None, lib.__name__
        np.testing.assert_allclose(w.grad.numpy(), 2 * X[:, 1:2])


def test_hooks_in_a_recorded_pass_run_in_grad_mode(session):
    results = []
    for lib in (torch, gw):
        x = torch.tensor(X, requires_grad=True) if lib is torch else session.tensor(X, requires_grad=True)
        w = torch.tensor(W, requires_grad=True) if lib is torch else session.tensor(W, requires_grad=True)
        h = x @ w
        h.register_hook(lambda g: g * h.cos())  # recorded: depends on h, so on x and w
        grad = torch.autograd.grad if lib is torch else gw.grad
        (gw_,) = grad(h.exp().sum(), w, create_graph=True)
        results.append(grad(gw_.sum(), (x, w)))
    for ours, theirs in zip(results[1], results[0]):
        _close(ours, theirs)


def _through_every_kind_of_op(lib, x, w, tensor):
    """einsum, an in-place write into a slice and at integer positions, sort, topk, scatter, prod, cumprod and
    binary_cross_entropy: every kind of op whose recorded gradient is an override or a rewrite."""
    F = torch.nn.functional if lib is torch else gw.nn.functional
    h = lib.einsum("ij,jk->ik", x, w).tanh()
    h = h * 1.0
    h[:, 0] = h[:, 1] * 2.0  # into a view (CopySlices)
    h[[0, 2], 1] = h[[1, 3], 2] ** 2  # at integer positions (IndexPutBackward0)
    values, _ = h.sort(dim=1)
    top, _ = h.topk(2, dim=1)
    index, target = np.array([[3], [0], [1], [2], [0], [3]]), np.random.default_rng(3).uniform(size=(6, 4))
    index, target = tensor(index), tensor(target)
    scattered = h.scatter(1, index, h[:, :1] ** 2)
    return (F.binary_cross_entropy(values.sigmoid(), target) + (top ** 2).sum() + h.prod(1).sum() + h.cumprod(1).sum()
            + (scattered ** 3).sum())


def test_second_order_through_writes_sorts_scatters_and_products_matches_torch(session):
    results = []
    for lib in (torch, gw):
        x = torch.tensor(X, requires_grad=True) if lib is torch else session.tensor(X, requires_grad=True)
        w = torch.tensor(W, requires_grad=True) if lib is torch else session.tensor(W, requires_grad=True)
        grad = torch.autograd.grad if lib is torch else gw.grad
        (gw_,) = grad(_through_every_kind_of_op(lib, x, w, torch.tensor if lib is torch else session.tensor), w, create_graph=True)
        results.append((gw_,) + grad((gw_ ** 2).sum(), (x, w)))
    for what, ours, theirs in zip(("first order", "d/dx", "d/dw"), results[1], results[0]):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-8, atol=1e-10, err_msg=what)


def test_second_order_through_dropout_is_the_kept_elements_scaled(session):
    """Dropout's mask is data: d/dx of the sum of d sum(dropout(x)^3) / dx is 6 dropout(x) scale^2, zero where dropped."""
    session.manual_seed(5)
    x = session.tensor(X, requires_grad=True)
    y = gw.nn.functional.dropout(x, p=0.4)
    (g,) = gw.grad((y ** 3).sum(), x, create_graph=True)
    (second,) = gw.grad(g.sum(), x)
    kept = y.detach().numpy() != 0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(second.numpy(), np.where(kept, 6 * y.detach().numpy() / 0.6**2, 0.0), rtol=1e-12)


def test_an_op_whose_gradient_is_not_recorded_says_so(session, monkeypatch):
    from gradwire_server.engine import traced

    monkeypatch.setattr(traced, "TRACEABLE", traced.TRACEABLE - {"cumprod"})  # (every op with a rule records today)
    x = session.tensor(X, requires_grad=True)
    y = x.cumprod(1).sum()
    with pytest.raises(gw.UnimplementedError, match=r"double backward \(create_graph=True\) through 'cumprod'"):
        gw.grad(y, x, create_graph=True)[0].sum().item()
    (g,) = gw.grad((x * x).sum(), x)  # the session goes on
    np.testing.assert_allclose(g.numpy(), 2 * X)


def test_a_maml_step_through_a_small_cnn_matches_torch(session):
    """Second-order MAML: one inner SGD step taken with recorded gradients, the outer loss differentiated
    through it (convolution, relu, pooling, indexing, linear, cross-entropy)."""
    rng = np.random.default_rng(3)
    x_np, y_np = rng.normal(size=(4, 1, 6, 6)), np.array([0, 1, 2, 1])
    shapes = [(3, 1, 3, 3), (3,), (3, 27), (3,)]  # 6x6 padded, every other row and column: 3x3 per channel
    init = [rng.normal(scale=0.3, size=shape) for shape in shapes]
    grads = []
    for lib in (torch, gw):
        functional = torch.nn.functional if lib is torch else gw.nn.functional
        make = torch.tensor if lib is torch else session.tensor
        params = [make(a, requires_grad=True) for a in init]
        x, y = make(x_np), make(y_np)
        grad = torch.autograd.grad if lib is torch else gw.grad

        def loss(ps):
            h = functional.relu(functional.conv2d(x, ps[0], ps[1], padding=1))
            h = functional.max_pool2d(h, 2) + functional.avg_pool2d(h, 2) + h[:, :, ::2, ::2]  # pooling and indexing
            return functional.cross_entropy(functional.linear(h.reshape(4, -1), ps[2], ps[3]), y)

        inner = grad(loss(params), params, create_graph=True)
        fast = [p - 0.1 * g for p, g in zip(params, inner)]
        loss(fast).backward()
        grads.append([p.grad for p in params])
    for theirs, ours in zip(*grads):
        _close(ours, theirs)


def test_a_recorded_gradient_that_reads_its_input_only_through_a_comparison_requires_grad_as_in_pytorch(session):
    """relu's gradient is g * (x > 0): torch's recorded one requires grad (it read x), and differentiating it gives
    zeros, not an error; a constant one (x * 2's) requires none in either."""
    results = []
    for lib in (torch, gw):
        x = torch.tensor(X, requires_grad=True) if lib is torch else session.tensor(X, requires_grad=True)
        grad = torch.autograd.grad if lib is torch else gw.grad
        (g,) = grad(x.relu().sum(), x, create_graph=True)
        (constant,) = grad((x * 2).sum(), x, create_graph=True)
        (second,) = grad(g.sum(), x)
        results.append((g.requires_grad, constant.requires_grad, second))
    assert results[0][:2] == (True, False)
    assert results[1][0] is True
    np.testing.assert_array_equal(results[1][2].numpy(), results[0][2].numpy())
