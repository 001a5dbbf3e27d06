"""The engine's PyTorch-comparison programs again, through the SDK and a real server on loopback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradwire as gw
from gradwire.autograd.functional import jacobian


def close(actual, expected, rtol=1e-5, atol=1e-6):
    """Values (and dtype) of a gradwire Tensor, or a NumPy array, against a torch tensor."""
    a = actual.detach().numpy() if isinstance(actual, gw.Tensor) else np.asarray(actual)
    b = expected.detach().numpy()
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    assert a.dtype == b.dtype, f"dtype {a.dtype} != {b.dtype}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def test_seed_program_only_x_requires_grad(session, rng):
    xa, ya, za = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    x, y, z = session.tensor(xa, requires_grad=True), session.tensor(ya), session.tensor(za)
    out = (x * y + z).sum()
    out.backward()

    tx, ty, tz = torch.tensor(xa, requires_grad=True), torch.tensor(ya), torch.tensor(za)
    tout = (tx * ty + tz).sum()
    tout.backward()

    close(out, tout)
    close(x.grad, tx.grad)
    assert y.grad is None and z.grad is None
    assert out.requires_grad and not y.requires_grad and not z.requires_grad
    assert out.grad_fn.name() == tout.grad_fn.name() == "SumBackward0"


def test_scalar_product_gradients(session):
    x = session.tensor(3.0, requires_grad=True)
    y = session.tensor(-2.0, requires_grad=True)
    z = x * y
    z.backward()
    assert z.item() == -6.0
    assert x.grad.item() == -2.0
    assert y.grad.item() == 3.0
    assert z.grad_fn.name() == "MulBackward0"
    assert z.shape == ()


def test_power_chain_rule(session):
    values = np.array([-1.5, -0.3, 0.0, 0.7, 2.0], dtype=np.float32)
    x = session.tensor(values, requires_grad=True)
    ((x**2 + 1) ** 3).sum().backward()
    expected = 6 * values * (values**2 + 1) ** 2
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5, atol=1e-6)

    tx = torch.tensor(values, requires_grad=True)
    ((tx**2 + 1) ** 3).sum().backward()
    close(x.grad, tx.grad)


def test_four_weight_network(session):
    a_val, weights = 2.0, [0.5, -1.0, 3.0, 0.25]
    a = session.tensor(a_val)
    w1, w2, w3, w4 = (session.tensor(w, requires_grad=True) for w in weights)
    b = w1 * a
    c = w2 * a
    d = w3 * b + w4 * c
    loss = 10 - d
    loss.backward()

    ta = torch.tensor(a_val)
    t1, t2, t3, t4 = (torch.tensor(w, requires_grad=True) for w in weights)
    tloss = 10 - (t3 * (t1 * ta) + t4 * (t2 * ta))
    tloss.backward()

    close(loss, tloss)
    for w, tw in zip((w1, w2, w3, w4), (t1, t2, t3, t4)):
        close(w.grad, tw.grad)
    # by hand: dL/dw1 = -w3*a, dL/dw2 = -w4*a, dL/dw3 = -w1*a, dL/dw4 = -w2*a
    assert w1.grad.item() == pytest.approx(-3.0 * 2.0)
    assert w4.grad.item() == pytest.approx(1.0 * 2.0)
    assert a.grad is None


def test_requires_grad_propagation(session):
    a = session.tensor([1.0, 2.0])
    b = session.tensor([3.0, 4.0], requires_grad=True)
    assert not a.requires_grad and b.requires_grad
    assert not (a * 2).requires_grad
    assert (a + b).requires_grad
    assert (a * b).exp().sum().requires_grad
    assert not (b > 2).requires_grad  # a comparison is not differentiable
    assert not b.argmax().requires_grad
    with gw.no_grad():
        assert not (a + b).requires_grad
    # the server agrees with what the client inferred
    c = a + b
    meta = session._fetch(c, meta_only=True)
    assert meta.requires_grad and not meta.is_leaf and meta.grad_fn == "AddBackward0"


def test_is_leaf_rules(session):
    a = session.tensor([1.0, 2.0])
    b = session.tensor([1.0, 2.0], requires_grad=True)
    c = a * 2
    d = b * 2
    assert a.is_leaf and b.is_leaf
    assert c.is_leaf  # requires_grad=False: a leaf
    assert not d.is_leaf
    assert b.grad_fn is None and a.grad_fn is None and c.grad_fn is None
    assert d.grad_fn.name() == "MulBackward0"
    assert b.detach().is_leaf
    with gw.no_grad():
        assert (b * 2).is_leaf
    for t in (a, b, c, d):
        meta = session._fetch(t, meta_only=True)
        assert meta.is_leaf == t.is_leaf
        assert meta.requires_grad == t.requires_grad


def test_grad_fn_walk_matches_torch(session):
    x = session.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).exp().sum()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = (tx * 3).exp().sum()

    names, tnames = [], []
    node, tnode = y.grad_fn, ty.grad_fn
    while node is not None:
        names.append(node.name())
        tnames.append(tnode.name())
        node = node.next_functions[0][0] if node.next_functions else None
        tnode = tnode.next_functions[0][0] if tnode.next_functions else None
    assert names == tnames == ["SumBackward0", "ExpBackward0", "MulBackward0", "torch::autograd::AccumulateGrad"]
    assert y.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0].variable is x


def test_frozen_backbone(session, rng):
    backbone = rng.standard_normal((4, 3)).astype(np.float32)
    head = rng.standard_normal((3, 2)).astype(np.float32)
    xa = rng.standard_normal((5, 4)).astype(np.float32)

    wb = session.tensor(backbone, requires_grad=True)
    wh = session.tensor(head, requires_grad=True)
    wb.requires_grad_(False)  # freeze
    features = (session.tensor(xa) @ wb).relu()
    assert not features.requires_grad
    loss = (features @ wh).sum()
    loss.backward()

    tb = torch.tensor(backbone)
    th = torch.tensor(head, requires_grad=True)
    tloss = ((torch.tensor(xa) @ tb).relu() @ th).sum()
    tloss.backward()

    close(loss, tloss, rtol=1e-5, atol=1e-5)
    assert wb.grad is None
    close(wh.grad, th.grad, rtol=1e-5, atol=1e-5)


def _mlp_params(rng):
    return [
        rng.standard_normal((4, 8)).astype(np.float32) * 0.5,
        rng.standard_normal((8,)).astype(np.float32) * 0.1,
        rng.standard_normal((8, 3)).astype(np.float32) * 0.5,
        rng.standard_normal((3,)).astype(np.float32) * 0.1,
    ]


def test_mlp_forward_backward(session, rng):
    params = _mlp_params(rng)
    xa = rng.standard_normal((6, 4)).astype(np.float32)
    labels = np.array([0, 2, 1, 1, 0, 2])

    w1, b1, w2, b2 = (session.tensor(p, requires_grad=True) for p in params)
    x = session.tensor(xa)
    logits = (x @ w1 + b1).tanh() @ w2 + b2
    logp = logits.log_softmax(1)
    loss = -logp[np.arange(6), labels].mean()
    loss.backward()

    t1, tb1, t2, tb2 = (torch.tensor(p, requires_grad=True) for p in params)
    tlogits = torch.tanh(torch.tensor(xa) @ t1 + tb1) @ t2 + tb2
    tloss = -tlogits.log_softmax(1)[torch.arange(6), torch.tensor(labels)].mean()
    tloss.backward()

    close(logits, tlogits, rtol=1e-5, atol=1e-5)
    close(loss, tloss, rtol=1e-5, atol=1e-6)
    for p, tp in zip((w1, b1, w2, b2), (t1, tb1, t2, tb2)):
        close(p.grad, tp.grad, rtol=1e-4, atol=1e-6)


def test_max_along_dim_is_a_named_tuple(session, rng):
    a = rng.standard_normal((3, 5)).astype(np.float32)
    x = session.tensor(a, requires_grad=True)
    out = x.max(dim=1)
    assert type(out).__name__ == "max"
    values, indices = out
    assert out.values is values and out.indices is indices
    t = torch.tensor(a, requires_grad=True)
    tout = t.max(dim=1)
    close(out.values, tout.values)
    np.testing.assert_array_equal(out.indices.numpy(), tout.indices.numpy())
    assert out.indices.dtype == np.int64 and not out.indices.requires_grad
    out.values.sum().backward()
    tout.values.sum().backward()
    close(x.grad, t.grad)

    kept = x.min(dim=0, keepdim=True)
    assert type(kept).__name__ == "min"
    close(kept.values, t.min(dim=0, keepdim=True).values)
    assert kept.values.shape == (1, 5)


@pytest.mark.parametrize(
    "key",
    [
        1,
        -1,
        (0, 2),
        slice(1, 3),
        (slice(None), slice(None, None, 2)),
        (None, 1),
        (Ellipsis, 1),
        (1, Ellipsis, None),
        np.array([2, 0, 2]),
        (np.array([0, 1]), np.array([3, 4])),
        (slice(1, None), np.array([4, 0])),
    ],
    ids=repr,
)
def test_indexing_matches_torch(session, rng, key):
    a = rng.standard_normal((3, 5)).astype(np.float32)
    x = session.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    tkey = tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in key) if isinstance(key, tuple) else (
        torch.from_numpy(key) if isinstance(key, np.ndarray) else key
    )
    y, ty = x[key], t[tkey]
    close(y, ty)
    gout = np.arange(1, ty.numel() + 1, dtype=np.float32).reshape(tuple(ty.shape))
    (y * session.tensor(gout)).sum().backward()
    (ty * torch.from_numpy(gout)).sum().backward()
    close(x.grad, t.grad)


def test_indexing_with_tensors_and_masks(session, rng):
    a = rng.standard_normal((4, 3)).astype(np.float32)
    x = session.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)

    idx = session.tensor([3, 1, 3])
    close(x[idx], t[torch.tensor([3, 1, 3])])
    mask = x > 0  # a bool tensor made on the server
    close(x[mask], t[t > 0])
    np_mask = a[:, 0] > 0
    close(x[np_mask], t[torch.from_numpy(np_mask)])

    (x[idx].sum() + (x[mask] * 2).sum()).backward()
    (t[torch.tensor([3, 1, 3])].sum() + (t[t > 0] * 2).sum()).backward()
    close(x.grad, t.grad)


def test_functional_grad_matches_torch_and_leaves_grad_alone(session, rng):
    a = rng.standard_normal(4).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    x = session.tensor(a, requires_grad=True)
    w = session.tensor(b, requires_grad=True)
    y = (x.sin() * w).sum()
    gx, gw_ = gw.grad(y, (x, w))

    tx, tw = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    tgx, tgw = torch.autograd.grad((tx.sin() * tw).sum(), (tx, tw))
    close(gx, tgx)
    close(gw_, tgw)
    assert x.grad is None and w.grad is None
    session.sync()
    assert x.grad is None

    # non-scalar output with grad_outputs
    v = rng.standard_normal(4).astype(np.float32)
    (g,) = gw.grad(x * x, x, grad_outputs=session.tensor(v))
    (tg,) = torch.autograd.grad(tx * tx, tx, grad_outputs=torch.tensor(v))
    close(g, tg)


def test_jacobian_matches_torch(session, rng):
    a = rng.standard_normal(3).astype(np.float32)
    b = rng.standard_normal((2, 3)).astype(np.float32)

    def f(x, m):
        return (m @ x.exp()) * 2

    jx, jm = jacobian(f, (session.tensor(a), session.tensor(b)))
    tjx, tjm = torch.autograd.functional.jacobian(f, (torch.tensor(a), torch.tensor(b)))
    close(jx, tjx)
    close(jm, tjm)
    single = jacobian(lambda x: x**3, session.tensor(a))
    close(single, torch.autograd.functional.jacobian(lambda x: x**3, torch.tensor(a)))
    # an output that depends on no input: zeros, as torch's
    zeros = jacobian(lambda x, m: session.tensor([1.0, 2.0]), (session.tensor(a), session.tensor(b)))
    t_zeros = torch.autograd.functional.jacobian(lambda x, m: torch.tensor([1.0, 2.0]), (torch.tensor(a), torch.tensor(b)))
    for ours, theirs in zip(zeros, t_zeros):
        assert ours.shape == tuple(theirs.shape) and not ours.numpy().any()


def test_vjp_matches_torch(session, rng):
    from gradwire.autograd.functional import vjp

    a = rng.standard_normal(3).astype(np.float32)
    b = rng.standard_normal((2, 3)).astype(np.float32)
    v = rng.standard_normal(2).astype(np.float32)

    def f(x, m):
        return (m @ x.exp()) * 2

    out, (vx, vm) = vjp(f, (session.tensor(a), session.tensor(b)), session.tensor(v))
    t_out, (tvx, tvm) = torch.autograd.functional.vjp(f, (torch.tensor(a), torch.tensor(b)), torch.tensor(v))
    close(out, t_out)
    close(vx, tvx)
    close(vm, tvm)
    assert not out.requires_grad and not vx.requires_grad
    scalar, single = vjp(lambda x: (x**3).sum(), session.tensor(a))
    t_scalar, t_single = torch.autograd.functional.vjp(lambda x: (x**3).sum(), torch.tensor(a))
    close(scalar, t_scalar)
    close(single, t_single)
    with pytest.raises(RuntimeError, match="The vector v can only be None if the user-provided function returns a single Tensor with a single element"):
        vjp(f, (session.tensor(a), session.tensor(b)))
    unused, (ux, um) = vjp(lambda x, m: x * 2, (session.tensor(a), session.tensor(b)), session.tensor(a))
    assert not um.numpy().any() and ux.tolist() == pytest.approx((2 * a).tolist())  # an unused input: zeros, as torch's


def test_no_grad(session):
    x = session.tensor([1.0, 2.0], requires_grad=True)
    with gw.no_grad():
        y = x * 2
        assert gw.is_grad_enabled() is False
    assert gw.is_grad_enabled() is True
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    meta = session._fetch(y, meta_only=True)
    assert not meta.requires_grad and meta.grad_fn == ""
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])
    with pytest.raises(gw.FailedPreconditionError):
        y.sum().backward()

    @gw.no_grad()
    def doubled(t):
        return t * 2

    assert not doubled(x).requires_grad


def test_detach(session):
    x = session.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    np.testing.assert_array_equal(d.numpy(), [1.0, 4.0, 9.0])
    (y * d).sum().backward()  # d is a constant: dy*d/dx = 2x * x^2
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ty = tx * tx
    (ty * ty.detach()).sum().backward()
    close(x.grad, tx.grad)


def test_grad_accumulates_over_two_backward_passes(session):
    x = session.tensor([1.0, -2.0], requires_grad=True)
    y = (x**3).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    tx = torch.tensor([1.0, -2.0], requires_grad=True)
    ty = (tx**3).sum()
    ty.backward(retain_graph=True)
    ty.backward()
    np.testing.assert_allclose(first, 3 * np.array([1.0, 4.0]))
    close(x.grad, tx.grad)


def test_second_backward_without_retain_graph_raises(session):
    x = session.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()
    with pytest.raises(gw.FailedPreconditionError, match="retain_graph") as info:
        session.sync()
    assert isinstance(info.value, RuntimeError)
    # the session is still usable, and the first pass's gradient stands
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_setting_grad_to_none(session):
    x = session.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    x.grad = None
    assert x.grad is None
    (x * x).sum().backward()  # starts from nothing, not from the old 3s
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_sgd_step_under_no_grad_matches_torch(session, rng):
    params = _mlp_params(rng)
    xa = rng.standard_normal((6, 4)).astype(np.float32)
    ya = rng.standard_normal((6, 3)).astype(np.float32)
    lr = 0.1

    ps = [session.tensor(p, requires_grad=True) for p in params]
    ts = [torch.tensor(p, requires_grad=True) for p in params]
    x, target = session.tensor(xa), session.tensor(ya)
    tx, ttarget = torch.tensor(xa), torch.tensor(ya)
    for _ in range(3):
        w1, b1, w2, b2 = ps
        loss = ((((x @ w1 + b1).relu() @ w2 + b2) - target) ** 2).mean()
        loss.backward()
        t1, tb1, t2, tb2 = ts
        tloss = ((((tx @ t1 + tb1).relu() @ t2 + tb2) - ttarget) ** 2).mean()
        tloss.backward()
        close(loss, tloss, rtol=1e-5, atol=1e-6)
        with gw.no_grad():
            for p in ps:
                p -= lr * p.grad
        with torch.no_grad():
            for p in ts:
                p -= lr * p.grad
        for p in ps:
            p.grad = None
        for p in ts:
            p.grad = None
    for p, tp in zip(ps, ts):
        assert p.is_leaf and p.requires_grad
        close(p, tp, rtol=1e-5, atol=1e-6)


def test_inplace_on_leaf_that_requires_grad_raises(session):
    x = session.tensor([1.0], requires_grad=True)
    with pytest.raises(gw.FailedPreconditionError, match="leaf Variable"):
        x += 1


def test_functional_grad_allow_unused_gives_none_as_torch_does(session):
    import torch

    x = session.tensor([1.0, 2.0], requires_grad=True)
    unused = session.tensor([3.0], requires_grad=True)
    gx, gu = gw.grad((x * x).sum(), (x, unused), allow_unused=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    tu = torch.tensor([3.0], requires_grad=True)
    tgx, tgu = torch.autograd.grad((tx * tx).sum(), (tx, tu), allow_unused=True)
    assert gu is None and tgu is None
    np.testing.assert_allclose(gx.numpy(), tgx.numpy())
    with pytest.raises(gw.FailedPreconditionError, match="allow_unused=True"):
        gw.grad((x * 2).sum(), (x, unused))[0].numpy()


def test_a_grad_read_before_it_is_replaced_keeps_what_it_held_as_in_torch(session):
    results = {}
    for name, make in (("gradwire", lambda v, **kw: session.tensor(v, **kw)), ("torch", lambda v, **kw: torch.tensor(v, **kw))):
        p = make([1.0, 2.0], requires_grad=True)
        (p * 3).sum().backward()
        old = p.grad
        p.grad = None
        (p * 5).sum().backward()
        assigned = make([1.0, 1.0])
        p.grad = assigned
        same_object = p.grad is assigned
        (p * 2).sum().backward()  # accumulates into the assigned tensor, in place
        results[name] = (np.asarray(old.tolist()), same_object, np.asarray(assigned.tolist()), np.asarray(p.grad.tolist()))
    for ours, theirs in zip(results["gradwire"], results["torch"]):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(results["torch"][0], [3.0, 3.0])


def test_repr_reads_like_torch(session):
    x = session.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert repr(x) == repr(torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True))
    assert repr(x * 2).endswith("grad_fn=<MulBackward0>)")
