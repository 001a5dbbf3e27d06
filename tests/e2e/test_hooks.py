"""Tensor hooks (``register_hook``), as PyTorch runs them: the backward pass runs on the server and stops
where a hooked tensor's gradient is complete; the hooks run here, and what they return goes on in its place."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

X = (np.arange(12, dtype=np.float64).reshape(3, 4) - 5.5) / 3
W = np.linspace(-1.0, 1.5, 20).reshape(4, 5)


def _leaves(lib, session):
    if lib is torch:
        return torch.tensor(X, requires_grad=True), torch.tensor(W, requires_grad=True)
    return session.tensor(X, requires_grad=True), session.tensor(W, requires_grad=True)


def _grads(*tensors):
    return [None if t.grad is None else np.asarray(t.grad.tolist()) for t in tensors]


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(np.asarray(a.tolist() if hasattr(a, "tolist") else a), np.asarray(b.tolist() if hasattr(b, "tolist") else b), rtol=1e-12, atol=1e-12)


# Programs run by both libraries; each returns what to compare.


def _leaf_hook(x, w, lib):
    x.register_hook(lambda g: g * 10)
    ((x @ w).tanh() ** 2).sum().backward()
    return _grads(x, w)


def _activation_hooks_in_a_layer_stack(x, w, lib):
    seen = []
    h = (x @ w).relu()
    h.register_hook(lambda g: g.clamp(-0.05, 0.05))  # clip the activation's gradient on its way back
    h.register_hook(lambda g: seen.append(g.sum().item()))  # sees the first hook's result; returns None
    y = (h * h).sum() + (x @ w).sigmoid().mean()
    y.backward()
    return _grads(x, w) + [np.array(seen)]


def _retained_and_hooked(x, w, lib):
    h = x @ w
    h.retain_grad()
    h.register_hook(lambda g: g + 1)  # .grad gets the hooked value: retains-grad runs last, as in PyTorch
    (h.sin() * 3).sum().backward()
    return _grads(x, w, h)


def _used_twice_called_once(x, w, lib):
    calls = []
    x.register_hook(lambda g: calls.append(g * 1))
    (x * 2 + x.exp()).sum().backward()
    return _grads(x) + [len(calls), calls[0]]


def _root_hook(x, w, lib):
    loss = (x @ w).pow(2).mean()
    loss.register_hook(lambda g: g * 4)
    loss.backward()
    return _grads(x, w)


def _removed(x, w, lib):
    handle = w.register_hook(lambda g: g * 0)
    with x.register_hook(lambda g: g * 0):
        pass  # removed on leaving the block
    handle.remove()
    (x @ w).sum().backward()
    return _grads(x, w)


def _retained_graph_twice(x, w, lib):
    h = x @ w
    h.register_hook(lambda g: -g)
    y = h.cos().sum()
    y.backward(retain_graph=True)
    y.backward()
    return _grads(x, w)


def _functional_grad(x, w, lib):
    h = x @ w
    h.register_hook(lambda g: g * 3)
    x.register_hook(lambda g: g - 1)  # on an input: the captured gradient is the hooked one
    y = (h.tanh() * x.sum()).sum()
    grad = torch.autograd.grad if lib is torch else gw.grad
    return list(grad(y, (x, w, h))) + _grads(x, w)


def _functional_grad_unused(x, w, lib):
    h = x * 2
    h.register_hook(lambda g: g * 5)
    grad = torch.autograd.grad if lib is torch else gw.grad
    return list(grad(h.sum(), (x, w), allow_unused=True))


def _nested_pass_in_a_hook(x, w, lib):
    inner = []

    def hook(g):  # hooks run with grad mode off, as the pass does: a graph of their own needs enable_grad
        v = w.detach().clone().requires_grad_()
        with lib.enable_grad():
            u = v * 2
            u.register_hook(lambda gu: gu * 7)
            (u * g.sum()).sum().backward()
        inner.append(v.grad)
        return g * 2

    h = x @ w
    h.register_hook(hook)
    h.sum().backward()
    return _grads(x, w) + inner


def _hooks_registered_by_a_hook(x, w, lib):
    """A hook on the last activation registers hooks on an earlier one (reached later: it fires in this pass), on
    the leaf x (fires) and on itself (already past: not this pass), as PyTorch runs them."""
    fired = []
    h1 = (x * 3).tanh()
    h2 = h1 @ w

    def late(g):
        fired.append("h2-late")

    def first(g):
        h1.register_hook(lambda g1: fired.append("h1") or g1 * 2)
        x.register_hook(lambda gx: fired.append("x") or gx + 1)
        h2.register_hook(late)
        return g

    h2.register_hook(first)
    h2.sum().backward()
    h2b = (x * 3).tanh() @ w  # a new pass through new tensors: x's hook fires again, h1's and late are not on its way
    h2b.sum().backward()
    return _grads(x, w) + [np.array([fired.count(k) for k in ("h1", "x", "h2-late")], dtype=float)]


PROGRAMS = [
    _leaf_hook, _activation_hooks_in_a_layer_stack, _retained_and_hooked, _used_twice_called_once, _root_hook,
    _removed, _retained_graph_twice, _functional_grad, _functional_grad_unused, _nested_pass_in_a_hook,
    _hooks_registered_by_a_hook,
]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__.strip("_"))
def test_hooks_as_pytorch_runs_them(session, program):
    theirs = program(*_leaves(torch, None), torch)
    ours = program(*_leaves(gw, session), gw)
    _assert_same(ours, theirs)
    session.sync()
    assert session.stats()["graph_nodes"] == 0  # every pass ended: none is left holding its graph


def test_hook_changes_a_layers_gradients_as_in_pytorch(session):
    """Gradient clipping by hook on every parameter of a small model, then one SGD step: weights as torch's."""
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    model = gw.nn.Sequential(gw.nn.Linear(4, 8, session=session), gw.nn.Tanh(), gw.nn.Linear(8, 3, session=session)).double()
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    for params in (reference.parameters(), model.parameters()):
        for p in params:
            p.register_hook(lambda g: g.clamp(-0.02, 0.02))
    x, target = np.random.default_rng(1).normal(size=(6, 4)), np.array([0, 2, 1, 1, 0, 2])
    torch.nn.functional.cross_entropy(reference(torch.tensor(x)), torch.tensor(target)).backward()
    gw.nn.functional.cross_entropy(model(session.tensor(x)), session.tensor(target)).backward()
    torch.optim.SGD(reference.parameters(), lr=0.5).step()
    gw.optim.SGD(model.parameters(), lr=0.5).step()
    for (name, theirs), ours in zip(reference.state_dict().items(), model.state_dict().values()):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
        assert np.abs(dict(reference.named_parameters())[name].grad.numpy()).max() <= 0.02


def test_hook_errors_as_pytorch_words_them_and_the_session_goes_on(session):
    x = session.tensor(X, requires_grad=True)
    c = session.tensor([1.0])
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        c.register_hook(lambda g: g)

    def shrink(g):
        return g[:2]

    h = x * 2
    h.register_hook(shrink)
    with pytest.raises(RuntimeError, match="hook 'shrink' has changed the size of value"):
        h.sum().backward()
    h = x * 2
    h.register_hook(lambda g: g.float())
    with pytest.raises(RuntimeError, match=r"hook '<lambda>' has changed the type of value \(was torch.DoubleTensor got torch.FloatTensor\)"):
        h.sum().backward()
    h = x * 2
    h.register_hook(lambda g: 3)
    with pytest.raises(TypeError, match="expected Variable, but hook returned 'int'"):
        h.sum().backward()

    def boom(g):
        raise ValueError("boom")

    h = x * 2
    h.register_hook(boom)
    with pytest.raises(ValueError, match="boom"):
        (h.sum() + x.sum()).backward()
    assert x.grad is None  # a leaf with no .grad before a failed pass has none after it
    y = x * 3
    y.sum().backward()  # the session goes on, and no stopped pass is left behind
    np.testing.assert_array_equal(x.grad.numpy(), np.full(X.shape, 3.0))
    del h  # (its node never ran: the pass stopped before it, as PyTorch's does)
    session.sync()
    assert session.stats()["graph_nodes"] == 0


def test_a_hook_inside_a_pass_whose_earlier_command_failed(session):
    """A deferred error of an op queued before the pass surfaces at its first stop; the pass is ended, not left."""
    x = session.tensor(X, requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g)
    bad = x @ x  # (3, 4) @ (3, 4): fails on the server
    with pytest.raises(gw.InvalidArgumentError, match="cannot be multiplied"):
        h.sum().backward()
    del bad
    (x * 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(X.shape))


def test_resume_without_a_stopped_pass_is_refused(session):
    with session._lock:
        session._command("resume").resume.gradient = 0
    with pytest.raises(gw.InvalidArgumentError, match="no backward pass is stopped at a hooked tensor"):
        session.sync()


def _module_hooks(lib, session):
    """A model whose layers carry full backward (pre-)hooks: what they see, and the gradients after."""
    nn = lib.nn
    layers = (nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)) if lib is torch else (
        nn.Linear(4, 6, session=session), nn.Tanh(), nn.Linear(6, 3, session=session))
    model = nn.Sequential(*layers).double()
    seen = []
    layers[0].register_full_backward_hook(lambda m, gi, go: seen.append(("first", gi[0], go[0].sum().item())))
    layers[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.5,))
    layers[2].register_full_backward_pre_hook(lambda m, go: (go[0].clamp(-0.1, 0.1),))
    return model, seen


def test_module_backward_hooks_as_pytorch_runs_them(session):
    reference, seen_torch = _module_hooks(torch, None)
    model, seen = _module_hooks(gw, session)
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    x = np.random.default_rng(2).normal(size=(5, 4))
    for data in (x, None):  # an input that needs no gradient (grad_input None), then one that does
        tx = torch.tensor(x, requires_grad=data is None)
        ours = session.tensor(x, requires_grad=data is None)
        (reference(tx) ** 2).sum().backward()
        (model(ours) ** 2).sum().backward()
        for (name, p), q in zip(reference.named_parameters(), model.parameters()):
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
        if data is None:
            np.testing.assert_allclose(ours.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert [s[1] is None for s in seen] == [s[1] is None for s in seen_torch] == [True, False]
    np.testing.assert_allclose(seen[1][1].numpy(), seen_torch[1][1].numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([s[2] for s in seen], [s[2] for s in seen_torch], rtol=1e-12)


def _two_inputs(lib, session):
    """A module of two tensor inputs (a number between them) and two outputs, with full backward (pre-)hooks: what they
    see, and the gradients after the hooks replaced some."""

    class Product(lib.nn.Module):
        def forward(self, a, k, b):
            return a * b * k, (a + b).tanh()

    product, seen = Product(), []

    def hook(module, grad_input, grad_output):
        seen.append(("hook", [None if g is None else g.tolist() for g in grad_input], [None if g is None else g.tolist() for g in grad_output]))
        return grad_input[0] * 10, None, grad_input[2]

    product.register_full_backward_hook(hook)
    product.register_full_backward_pre_hook(lambda m, go: seen.append(("pre", len(go))) or (go[0] * 3, go[1]), prepend=True)
    make = torch.tensor if lib is torch else session.tensor
    a, b = make([1.0, -2.0], requires_grad=True), make([0.5, 3.0], requires_grad=True)
    y, z = product(a, 2.0, b)
    assert type(y.grad_fn).__name__ == "BackwardHookFunctionBackward"
    (y.sum() + (z * z).sum()).backward()
    y, _ = product(a, 2.0, b)
    y.sum().backward()  # the second output unused: its grad_output None
    return seen, a.grad.tolist(), b.grad.tolist()


def test_module_backward_hooks_with_several_inputs_and_outputs_as_pytorch(session):
    seen, *grads = _two_inputs(gw, session)
    t_seen, *t_grads = _two_inputs(torch, None)
    assert [s[0] for s in seen] == [s[0] for s in t_seen] == ["pre", "hook", "pre", "hook"]
    for ours, theirs in zip(seen, t_seen):
        for a, b in zip(ours[1:], theirs[1:]) if ours[0] == "hook" else ():
            assert [g is None for g in a] == [g is None for g in b]
            for g, h in zip(a, b):
                if g is not None:
                    np.testing.assert_allclose(g, h, rtol=1e-6)
    np.testing.assert_allclose(grads, t_grads, rtol=1e-6)


def _forward_hooks(lib, session):
    """Forward (pre-)hooks with kwargs, prepend and always_call, and the global ones, as PyTorch runs them."""

    class Scale(lib.nn.Module):
        def forward(self, x, scale=1.0):
            if scale < 0:
                raise ValueError("negative scale")
            return x * scale

    module, log = Scale(), []
    make = torch.tensor if lib is torch else session.tensor
    global_hooks = lib.nn.modules.module
    handles = [
        global_hooks.register_module_forward_pre_hook(lambda m, args: log.append("global pre")),
        global_hooks.register_module_forward_hook(lambda m, args, kwargs, out: log.append(("global", dict(kwargs))), with_kwargs=True),
        global_hooks.register_module_full_backward_hook(lambda m, gi, go: log.append(("global backward", gi[0].tolist()))),
    ]
    try:
        module.register_forward_pre_hook(lambda m, args, kwargs: (args, {**kwargs, "scale": kwargs.get("scale", 1.0) * 2}), with_kwargs=True)
        module.register_forward_pre_hook(lambda m, args: log.append("first pre"), prepend=True)
        module.register_forward_hook(lambda m, args, kwargs, out: out + kwargs["scale"], with_kwargs=True)
        module.register_forward_hook(lambda m, args, out: log.append(("always", out)), always_call=True)
        x = make([1.0, 2.0], requires_grad=True)
        log.append(module(x, scale=1.5).tolist())
        module(x).sum().backward()
        with pytest.raises(ValueError, match="negative scale"):
            module(x, scale=-1.0)
        with module.register_forward_pre_hook(lambda m, args, kwargs: args, with_kwargs=True):
            with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple of \(new_args, new_kwargs\)"):
                module(x)
    finally:
        for handle in handles:
            handle.remove()
    module(x)  # the global hooks gone
    return [entry if not isinstance(entry, tuple) or entry[0] != "always" else ("always", None if entry[1] is None else entry[1].tolist())
            for entry in log], x.grad.tolist()


def test_forward_hooks_kwargs_prepend_always_call_and_global_as_pytorch(session):
    assert _forward_hooks(gw, session) == _forward_hooks(torch, None)


def _replaced_grad_inputs(lib, session):
    make = torch.tensor if lib is torch else session.tensor
    a, b = make([1.0, 2.0], requires_grad=True), make([3.0, -1.0], requires_grad=True)
    seen = []
    y = a * b
    z = y.exp() + a ** 2  # a gets a gradient past the node too
    a.register_hook(lambda g: seen.append(g.tolist()))  # sees the gradient the node's hook made
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 10, gi[1] + 1))
    z.sum().backward()
    w = a.exp()
    w.grad_fn.register_hook(lambda gi, go: (gi[0] * 2,))
    (w.sum() + a.sum()).backward()
    return seen, a.grad.tolist(), b.grad.tolist()


def test_op_node_hook_replaces_grad_inputs_as_pytorch(session):
    ours, theirs = _replaced_grad_inputs(gw, session), _replaced_grad_inputs(torch, None)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5)
