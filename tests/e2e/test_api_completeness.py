"""The rest of PyTorch's API around models and graphs, against torch: Module's state-dict hooks, extra state,
set_submodule/to_empty/type/compile and ``load_state_dict(assign=True)``; Optimizer's step and state-dict hooks;
autograd.Function's torch-2 style (``setup_context``), ctx rules and ``once_differentiable``; graph-node hooks and
``gw.autograd.graph``; and the leftover Tensor methods."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import gradwire as gw
from gradwire import nn

torch = pytest.importorskip("torch")
T_OPTIMIZER = __import__("importlib").import_module("torch.optim.optimizer")  # (torch.optim does not name it)

RNG = np.random.default_rng(9)
X = RNG.standard_normal((4, 5))
Y = RNG.standard_normal((4, 5))


def _raises_like(f_gw, f_torch, match=None):
    """Both raise; gradwire with torch's message."""
    with pytest.raises(Exception) as t_info:
        f_torch()
    with pytest.raises(Exception) as info:
        f_gw()
    assert str(info.value) == str(t_info.value), (str(info.value), str(t_info.value))
    return info.value, t_info.value


def _pair(session):
    """A gradwire and a torch two-layer model with the same weights (float64)."""
    model = nn.Sequential(nn.Linear(3, 4, session=session, dtype="float64"), nn.Tanh(), nn.Linear(4, 2, session=session, dtype="float64"))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return model, reference


# --- Module: state-dict hooks and extra state ------------------------------------------------------------------------
def test_state_dict_hooks_run_in_torch_order_with_torch_arguments(session):
    model, reference = _pair(session)
    calls = {"gw": [], "torch": []}
    for key, m in (("gw", model), ("torch", reference)):
        log = calls[key]
        m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars, log=log: log.append(("pre", type(mod).__name__, prefix, keep_vars)))
        m[0].register_state_dict_pre_hook(lambda mod, prefix, keep_vars, log=log: log.append(("pre", type(mod).__name__, prefix, keep_vars)))
        m[2].register_state_dict_post_hook(lambda mod, sd, prefix, meta, log=log: log.append(("post", prefix, sorted(sd), meta)))
        m.register_state_dict_post_hook(lambda mod, sd, prefix, meta, log=log: log.append(("post", prefix, sorted(sd), meta)))
    sd, t_sd = model.state_dict(keep_vars=True), reference.state_dict(keep_vars=True)
    assert calls["gw"] == calls["torch"] and len(calls["gw"]) == 4
    assert list(sd) == list(t_sd)
    assert sd._metadata == t_sd._metadata
    model.register_state_dict_post_hook(lambda *a: {})
    reference.register_state_dict_post_hook(lambda *a: {})
    _raises_like(model.state_dict, reference.state_dict)


def test_private_state_dict_hook_replaces_the_dict(session):
    model, reference = _pair(session)
    for m in (model, reference):
        m._register_state_dict_hook(lambda mod, sd, prefix, meta: {k.upper(): v for k, v in sd.items()})
    assert list(model.state_dict()) == list(reference.state_dict()) == ["0.WEIGHT", "0.BIAS", "2.WEIGHT", "2.BIAS"]


def test_load_state_dict_hooks(session):
    model, reference = _pair(session)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    state["extra"] = np.zeros(1)
    calls = {"gw": [], "torch": []}
    for key, m in (("gw", model), ("torch", reference)):
        log = calls[key]

        def pre(mod, sd, prefix, meta, strict, missing, unexpected, errs, log=log):
            log.append(("pre", type(mod).__name__, prefix, strict))
            sd.pop(prefix + "bias", None) if prefix == "2." else None

        def post(mod, incompatible, log=log):
            log.append(("post", type(mod).__name__, list(incompatible.missing_keys), list(incompatible.unexpected_keys)))
            if type(mod).__name__ == "Sequential":
                incompatible.unexpected_keys.clear()
                incompatible.missing_keys.clear()

        m.register_load_state_dict_pre_hook(pre)
        m[2].register_load_state_dict_pre_hook(pre)
        m[2].register_load_state_dict_post_hook(post)
        m.register_load_state_dict_post_hook(post)
    t_state = {k: torch.tensor(v) for k, v in state.items()}
    result, t_result = model.load_state_dict(state), reference.load_state_dict(t_state)
    assert calls["gw"] == calls["torch"]
    assert repr(result) == repr(t_result) == "<All keys matched successfully>"
    assert "2.bias" in state and "2.bias" in t_state  # the hooks edit a copy
    # the private form: no module first, unless with_module
    seen = {"gw": [], "torch": []}
    for key, m in (("gw", model), ("torch", reference)):
        m._register_load_state_dict_pre_hook(lambda sd, prefix, *rest, log=seen[key]: log.append((prefix, len(rest))))
        m[0]._register_load_state_dict_pre_hook(lambda mod, sd, prefix, *rest, log=seen[key]: log.append((type(mod).__name__, prefix)), with_module=True)
    model.load_state_dict(state)
    reference.load_state_dict(t_state)
    assert seen["gw"] == seen["torch"] == [("", 5), ("Linear", "0.")]


def test_load_state_dict_errors_and_non_strict_keys(session):
    model, reference = _pair(session)
    bad = {"0.weight": np.zeros((4, 2)), "0.bias": np.zeros(4), "x": np.zeros(1)}
    _raises_like(lambda: model.load_state_dict(bad), lambda: reference.load_state_dict({k: torch.tensor(v) for k, v in bad.items()}))
    good = {k: v for k, v in bad.items() if k != "0.weight"}
    result = model.load_state_dict(good, strict=False)
    t_result = reference.load_state_dict({k: torch.tensor(v) for k, v in good.items()}, strict=False)
    assert repr(result) == repr(t_result)
    assert result.missing_keys == ["0.weight", "2.weight", "2.bias"] and result.unexpected_keys == ["x"]


def test_shared_submodule_is_saved_under_each_name(session):
    shared, t_shared = nn.Linear(2, 2, session=session), torch.nn.Linear(2, 2)
    assert list(nn.Sequential(shared, shared).state_dict()) == list(torch.nn.Sequential(t_shared, t_shared).state_dict())


class _Counter(nn.Module):
    def __init__(self, session):
        super().__init__()
        self.lin = nn.Linear(2, 2, session=session)
        self.count = 3

    def get_extra_state(self):
        return {"count": self.count}

    def set_extra_state(self, state):
        self.count = state["count"]


class _TorchCounter(torch.nn.Module):  # (named _Counter below: the error names the class)
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)
        self.count = 3

    def get_extra_state(self):
        return {"count": self.count}

    def set_extra_state(self, state):
        self.count = state["count"]


def test_extra_state(session):
    model, reference = _Counter(session), _TorchCounter()
    type(reference).__name__ = "_Counter"
    sd, t_sd = model.state_dict(), reference.state_dict()
    assert list(sd) == list(t_sd) == ["_extra_state", "lin.weight", "lin.bias"]
    assert sd["_extra_state"] == {"count": 3}
    sd["_extra_state"] = {"count": 7}
    model.load_state_dict(sd)
    assert model.count == 7
    del sd["_extra_state"]
    t_sd = {k: v for k, v in t_sd.items() if k != "_extra_state"}
    _raises_like(lambda: model.load_state_dict(sd), lambda: reference.load_state_dict(t_sd))
    # a module that only saves it: a load finds the key unexpected
    plain, t_plain = nn.Linear(2, 2, session=session), torch.nn.Linear(2, 2)
    sd2 = {**plain.state_dict(), "_extra_state": 1}
    t_sd2 = {**t_plain.state_dict(), "_extra_state": 1}
    _raises_like(lambda: plain.load_state_dict(sd2), lambda: t_plain.load_state_dict(t_sd2))
    _raises_like(plain.get_extra_state, t_plain.get_extra_state)


def test_load_state_dict_assign(session):
    model, reference = nn.Linear(2, 3, session=session, dtype="float64"), torch.nn.Linear(2, 3).double()
    weight = session.tensor(RNG.standard_normal((3, 2)))
    before = model.weight
    model.load_state_dict({"weight": weight, "bias": np.ones(3)}, assign=True)
    reference.load_state_dict({"weight": torch.tensor(weight.numpy()), "bias": torch.ones(3, dtype=torch.float64)}, assign=True)
    assert model.weight is not before and isinstance(model.weight, nn.Parameter) and model.weight.requires_grad
    assert type(reference.weight) is torch.nn.Parameter and reference.weight.requires_grad
    np.testing.assert_array_equal(model.weight.detach().numpy(), weight.numpy())
    weight.add_(1.0)  # the parameter is weight's memory, as in PyTorch
    np.testing.assert_array_equal(model.weight.detach().numpy(), weight.numpy())


def test_set_submodule_to_empty_type_share_memory_compile(session):
    model = nn.Sequential(nn.Linear(1, 1, session=session))
    reference = torch.nn.Sequential(torch.nn.Linear(1, 1))
    for m, lib in ((model, nn), (reference, torch.nn)):
        m.set_submodule("0", lib.ReLU())
        m.set_submodule("1", lib.Tanh())
    assert repr(model) == repr(reference).replace("torch", "gradwire")
    _raises_like(lambda: model.set_submodule("1", nn.ReLU(), strict=True) or model.set_submodule("2", nn.ReLU(), strict=True),
                 lambda: reference.set_submodule("1", torch.nn.ReLU(), strict=True) or reference.set_submodule("2", torch.nn.ReLU(), strict=True))
    _raises_like(lambda: model.set_submodule("", nn.ReLU()), lambda: reference.set_submodule("", torch.nn.ReLU()))
    _raises_like(lambda: model.set_submodule("0", 3), lambda: reference.set_submodule("0", 3))
    _raises_like(lambda: model.set_submodule("a.b", nn.ReLU()), lambda: reference.set_submodule("a.b", torch.nn.ReLU()))
    lin = nn.Linear(2, 2, session=session)
    weight = lin.weight
    assert lin.to_empty(device="cpu") is lin and lin.weight is weight and lin.weight.shape == (2, 2)
    assert lin.type("float64") is lin and lin.weight.dtype == gw.float64 and lin.bias.dtype == gw.float64
    assert lin.share_memory() is lin
    np.testing.assert_array_equal(lin.weight.detach().numpy(), np.zeros((2, 2)))  # (zeros: PyTorch's are garbage)
    lin = nn.Linear(2, 2, session=session)
    x = session.tensor(RNG.standard_normal((1, 2)), dtype=gw.float32)
    before = lin(x).detach().numpy()
    assert lin.compile() is None and lin.compile(mode="max-autotune") is None
    np.testing.assert_array_equal(lin(x).detach().numpy(), before)
    _raises_like(lambda: lin.compile(mode="fast"), lambda: torch.nn.Linear(2, 2).compile(mode="fast"))


# --- Optimizer hooks ---------------------------------------------------------------------------------------------------
def _opt_pair(session, kind="SGD", **kw):
    w = RNG.standard_normal(3)
    p, t_p = session.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    return p, t_p, getattr(gw.optim, kind)([p], lr=0.1, **kw), getattr(torch.optim, kind)([t_p], lr=0.1, **kw)


def test_optimizer_step_hooks(session):
    p, t_p, opt, t_opt = _opt_pair(session)
    logs = {"gw": [], "torch": []}
    handles = []
    try:
        for key, o, param, lib in (("gw", opt, p, gw), ("torch", t_opt, t_p, torch)):
            log = logs[key]
            module = gw.optim.optimizer if lib is gw else T_OPTIMIZER
            handles.append(module.register_optimizer_step_pre_hook(lambda o, args, kwargs, log=log: log.append(("global pre", len(args), args[0] is o, kwargs))))
            handles.append(module.register_optimizer_step_post_hook(lambda o, args, kwargs, log=log: log.append(("global post",))))
            o.register_step_pre_hook(lambda o, args, kwargs, log=log: log.append(("pre", len(args))))
            o.register_step_post_hook(lambda o, args, kwargs, log=log, param=param: log.append(("post", np.round(param.detach().numpy(), 12).tolist())))
            (param * param).sum().backward()
            o.step()
    finally:  # (the global hooks must not outlive the test)
        for h in handles:
            h.remove()
    assert logs["gw"] == logs["torch"]
    assert logs["gw"][0] == ("global pre", 1, True, {}) and logs["gw"][-1] == ("global post",)
    # a pre hook's (args, kwargs) go to step; anything else is refused
    seen = []
    opt.register_step_pre_hook(lambda o, args, kwargs: (args, {"closure": lambda: seen.append(1) or 5.0}))
    assert opt.step() == 5.0 and seen == [1]
    bad = opt.register_step_pre_hook(lambda o, args, kwargs: 3)
    with pytest.raises(RuntimeError, match="must return None or a tuple of"):
        opt.step()
    bad.remove()


def test_optimizer_step_hooks_on_a_subclass_run_once(session):
    p, _, opt, _ = _opt_pair(session, "LBFGS")
    calls = []
    opt.register_step_pre_hook(lambda *a: calls.append("pre"))
    opt.register_step_post_hook(lambda *a: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert calls == ["pre", "post"]


def test_optimizer_state_dict_hooks(session):
    p, t_p, opt, t_opt = _opt_pair(session, momentum=0.9)
    for param, o in ((p, opt), (t_p, t_opt)):
        (param * param).sum().backward()
        o.step()
    logs = {"gw": [], "torch": []}
    for key, o in (("gw", opt), ("torch", t_opt)):
        log = logs[key]
        o.register_state_dict_pre_hook(lambda o, log=log: log.append("pre"))
        o.register_state_dict_post_hook(lambda o, sd, log=log: log.append(("post", sorted(sd))) or {**sd, "note": 1})
        o.register_state_dict_post_hook(lambda o, sd, log=log: log.append(("first", sorted(sd))), prepend=True)
        o.register_load_state_dict_pre_hook(lambda o, sd, log=log: log.append(("load pre", sorted(sd))) or {k: v for k, v in sd.items() if k != "note"})
        o.register_load_state_dict_post_hook(lambda o, log=log: log.append("load post"))
    sd, t_sd = opt.state_dict(), t_opt.state_dict()
    assert sd["note"] == t_sd["note"] == 1
    opt.load_state_dict(sd)
    t_opt.load_state_dict(t_sd)
    assert logs["gw"] == logs["torch"]


# --- autograd.Function: torch 2's style, ctx rules ----------------------------------------------------------------------
def _functions(lib):
    once = gw.autograd.function.once_differentiable if lib is gw else torch.autograd.function.once_differentiable

    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(x, k):
            return x * k, (x * k).sum()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.k = inputs[1]
            ctx.mark_non_differentiable(output[1])

        @staticmethod
        @once
        def backward(ctx, g, g_sum):
            (x,) = ctx.saved_tensors
            return g * ctx.k + x * 0.0, None

    return Scale


def test_function_setup_context_style(session):
    Scale, TScale = _functions(gw), _functions(torch)
    x, t_x = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    (y, total), (t_y, t_total) = Scale.apply(x, 3.0), TScale.apply(t_x, 3.0)
    assert not total.requires_grad and not t_total.requires_grad
    assert y.grad_fn.name() == t_y.grad_fn.name() == "ScaleBackward"
    assert y.grad_fn.k == t_y.grad_fn.k == 3.0 and y.grad_fn.needs_input_grad == t_y.grad_fn.needs_input_grad == (True, False)
    (y * y).sum().backward()
    (t_y * t_y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t_x.grad.numpy())
    # the saved tensors are freed by that pass: reading them again raises torch's error
    _raises_like(lambda: y.grad_fn.saved_tensors, lambda: t_y.grad_fn.saved_tensors)


def test_function_saved_tensors_kept_with_retain_graph_and_checked(session):
    Scale = _functions(gw)
    x = session.tensor(X, requires_grad=True)
    y, _ = Scale.apply(x, 2.0)
    y.sum().backward(retain_graph=True)
    assert len(y.grad_fn.saved_tensors) == 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(X.shape, 4.0))

    class Bad(gw.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 2

    class TBad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 2

    _raises_like(lambda: Bad.apply(x), lambda: TBad.apply(torch.tensor(X, requires_grad=True)))


def test_once_differentiable_gives_no_graph(session):
    Scale, TScale = _functions(gw), _functions(torch)
    x, t_x = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    (g,) = gw.autograd.grad(Scale.apply(x, 3.0)[0].sum(), x, create_graph=True)
    (t_g,) = torch.autograd.grad(TScale.apply(t_x, 3.0)[0].sum(), t_x, create_graph=True)
    # (torch's g does not require grad; gradwire's says it does, as it cannot tell a recorded gradient without a graph)
    np.testing.assert_allclose(g.detach().numpy(), t_g.numpy())


def test_function_through_vmap(session):
    Scale = _functions(gw)
    x = session.tensor(X, requires_grad=True)
    out = gw.vmap(lambda row: Scale.apply(row, 2.0)[0] ** 2)(x)
    out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), (2 * X) ** 2)
    np.testing.assert_allclose(x.grad.numpy(), 8 * X)
    assert Scale.generate_vmap_rule is torch.autograd.Function.generate_vmap_rule


def _dirty_function(lib):
    class MulAdd(lib.autograd.Function):  # x.mul_(k).add_(y) in place, y's gradient k-free
        @staticmethod
        def forward(ctx, x, y, k):
            x.mul_(k).add_(y)
            ctx.mark_dirty(x)
            ctx.k = k
            return x

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, g, None

    return MulAdd


def test_mark_dirty(session):
    results = {}
    for lib, make in ((gw, session.tensor), (torch, torch.tensor)):
        a, y = make(X, requires_grad=True), make(Y, requires_grad=True)
        x = a * 1.0
        out = _dirty_function(lib).apply(x, y, 3.0)
        assert out is x and x.grad_fn.name() == "MulAddBackward" and not x.is_leaf
        (x * x).sum().backward()
        results[lib.__name__] = (x.detach().numpy(), a.grad.numpy(), y.grad.numpy())
    for ours, theirs in zip(results["gradwire"], results["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    # a plain tensor changed in place by a function of one that requires grad: it takes the graph, as in PyTorch's
    plain, y = session.tensor(X), session.tensor(Y, requires_grad=True)
    t_plain, t_y = torch.tensor(X), torch.tensor(Y, requires_grad=True)
    _dirty_function(gw).apply(plain, y, 2.0).sum().backward()
    _dirty_function(torch).apply(t_plain, t_y, 2.0).sum().backward()
    assert plain.requires_grad and t_plain.requires_grad
    np.testing.assert_allclose(y.grad.numpy(), t_y.grad.numpy())
    _raises_like(lambda: _dirty_function(gw).apply(session.tensor(X, requires_grad=True), y, 2.0),
                 lambda: _dirty_function(torch).apply(torch.tensor(X, requires_grad=True), t_y, 2.0))


# --- graph nodes ------------------------------------------------------------------------------------------------------
def test_node_hooks_order_and_arguments(session):
    logs = {}
    for lib, make in ((gw, session.tensor), (torch, torch.tensor)):
        x, w = make(X, requires_grad=True), make(Y, requires_grad=True)
        y = x * w
        log = logs[lib.__name__] = []
        node = y.grad_fn
        assert isinstance(node, lib.autograd.graph.Node)
        node.metadata["tag"] = 1
        y.register_hook(lambda g, log=log: log.append(("tensor", g.detach().numpy().round(10).tolist())))
        node.register_hook(lambda gi, go, log=log: log.append(("post", [t.numpy().round(10).tolist() for t in gi], go[0].numpy().round(10).tolist())))
        node.register_prehook(lambda go, log=log: log.append(("pre", go[0].numpy().round(10).tolist())) or (go[0] * 2,))
        (y * 3).sum().backward()
        log.append(("grads", x.grad.numpy().round(10).tolist(), w.grad.numpy().round(10).tolist(), y.grad_fn.metadata, node.requires_grad))
    assert logs["gradwire"] == logs["torch"]


def test_op_node_hook_replaces_grad_inputs(session):
    grads = {}
    for lib, make in ((gw, session.tensor), (torch, torch.tensor)):
        x, w = make(X, requires_grad=True), make(Y, requires_grad=True)
        y = x * w
        y.grad_fn.register_hook(lambda gi, go: (gi[0] * 2, gi[1]))
        y.sum().backward()
        grads[lib.__name__] = (x.grad.numpy(), w.grad.numpy())
    for ours, theirs in zip(grads["gradwire"], grads["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    x = session.tensor(X, requires_grad=True)
    z = x * (x * 2)  # one input depends on the other: the node's own input gradients cannot be told apart
    z.grad_fn.register_hook(lambda gi, go: None)
    with pytest.raises(NotImplementedError, match="use register_prehook"):
        z.sum().backward()
    h = x.sin()
    square = h * h  # one input twice: PyTorch gives each a share, a functional grad their sum
    square.grad_fn.register_hook(lambda gi, go: None)
    with pytest.raises(NotImplementedError, match="use register_prehook"):
        square.sum().backward()


def test_node_hook_errors_and_leaf_nodes(session):
    for bad, message in ((lambda go: 3, "expected tuple, but hook returned 'int'"),
                         (lambda go: (go[0], go[0]), "hook '<lambda>' has returned an incorrect number of values (got 2, but expected 1)")):
        x, t_x = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
        y, t_y = x.exp(), t_x.exp()
        y.grad_fn.register_prehook(bad)
        t_y.grad_fn.register_prehook(bad)
        _raises_like(lambda: y.sum().backward(), lambda: t_y.sum().backward())
    logs = {}
    for lib, make in ((gw, session.tensor), (torch, torch.tensor)):
        a = make(X, requires_grad=True)
        acc = (a * 1).grad_fn.next_functions[0][0]
        assert acc is (a * 1).grad_fn.next_functions[0][0]
        log = logs[lib.__name__] = []
        acc.register_prehook(lambda go, log=log: log.append(("pre", go[0].numpy().round(10).tolist())))
        acc.register_hook(lambda gi, go, log=log: log.append(("post", gi, go[0].numpy().round(10).tolist())))
        (a * 2).sum().backward()
        edge = lib.autograd.graph.get_gradient_edge(a)
        log.append((edge.node is acc, edge.output_nr))
    assert logs["gradwire"] == logs["torch"]


def test_function_node_hooks_replace_grads(session):
    logs = {}
    for lib, make in ((gw, session.tensor), (torch, torch.tensor)):
        Scale = _functions(lib)
        x = make(X, requires_grad=True)
        y, _ = Scale.apply(x, 2.0)
        log = logs[lib.__name__] = []
        y.grad_fn.register_prehook(lambda go, log=log: log.append(("pre", len(go), go[1])) or (go[0] * 10, go[1]))
        y.grad_fn.register_hook(lambda gi, go, log=log: log.append(("post", len(gi), len(go), go[1])) or (gi[0] + 1,))
        y.sum().backward()
        log.append(x.grad.numpy().round(10).tolist())
    assert logs["gradwire"] == logs["torch"]


def test_multi_grad_hook(session):
    logs = {}
    for lib, make in ((gw, session.tensor), (torch, torch.tensor)):
        a, b = make(X, requires_grad=True), make(Y[0], requires_grad=True)
        log = logs[lib.__name__] = []
        h = lib.autograd.graph.register_multi_grad_hook((a, b), lambda grads, log=log: log.append([None if g is None else tuple(g.shape) for g in grads]))
        (a.sum() * 2).backward()
        (a.sum() + b.sum()).backward()
        lib.autograd.graph.register_multi_grad_hook((a, b), lambda g, log=log: log.append(("any", tuple(g.shape))), mode="any")
        (b.sum() * 3).backward()
        h.remove()
        (a.sum() * 3).backward()
    assert logs["gradwire"] == logs["torch"]
    _raises_like(lambda: gw.autograd.graph.register_multi_grad_hook([session.tensor(X, requires_grad=True)], print, mode="some"),
                 lambda: torch.autograd.graph.register_multi_grad_hook([torch.tensor(X, requires_grad=True)], print, mode="some"))


def test_saved_tensor_hooks(session):
    x = session.tensor(X, requires_grad=True)
    with gw.autograd.graph.save_on_cpu(pin_memory=True):  # a no-op: the saved tensors are the server's
        y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * X)
    with pytest.raises(NotImplementedError, match="saved_tensors_hooks"):
        with gw.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            pass
    with gw.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with gw.autograd.graph.save_on_cpu():
                pass
    with torch.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with torch.autograd.graph.save_on_cpu():
                pass
    gw.autograd.graph.increment_version(x)
    _raises_like(lambda: gw.autograd.graph.get_gradient_edge(session.tensor(X)), lambda: torch.autograd.graph.get_gradient_edge(torch.tensor(X)))


# --- Tensor leftovers -------------------------------------------------------------------------------------------------
def _same(session, f, *arrays, grad=True):
    ours = [session.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    out, t_out = f(ours), f(theirs)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    assert out.dtype.name == str(t_out.dtype).replace("torch.", "")
    if grad and t_out.requires_grad:
        weights = RNG.standard_normal(tuple(t_out.shape))
        (out * session.tensor(weights)).sum().backward()
        (t_out * torch.tensor(weights)).sum().backward()
        for o, t in zip(ours, theirs):
            if t.grad is not None:
                np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:index_reduce")
def test_tensor_leftover_compositions(session):
    mask = X > 0
    _same(session, lambda a: a[0].broadcast_to((3, 4, 5)), X)
    _same(session, lambda a: a[0].where(a[2], a[1]), X, Y, mask)
    _same(session, lambda a: a[0].hardshrink(0.6), X)
    _same(session, lambda a: a[0].prelu(a[1]), X, np.array([0.25]))
    _same(session, lambda a: a[0].narrow_copy(1, 1, 3), X)
    _same(session, lambda a: a[0].unsafe_chunk(2, 1)[1] * 2, X)
    _same(session, lambda a: a[0].unsafe_split(2, 1)[2] * 2, X)
    _same(session, lambda a: a[0].unsafe_split_with_sizes([1, 4], 1)[1] * 2, X)
    index = np.array([0, 3, 0, 2])
    for reduce in ("prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            _same(session, lambda a: a[0].index_reduce(0, a[2], a[1], reduce, include_self=include_self), X, Y, index)
    _same(session, lambda a: a[0].clone().index_reduce_(1, a[2], a[1][:, :4], "prod"), X, Y, index)
    flat = np.array([0, 7, -1, 3])
    _same(session, lambda a: a[0].put(a[2], a[1][0, :4]), X, Y, flat)
    _same(session, lambda a: a[0].put(a[2], a[1][0, :4], accumulate=True), X, Y, np.array([1, 1, 2, 19]))
    _same(session, lambda a: (a[0] * 1).put_(a[2], a[1][0, :4]), X, Y, flat)
    _raises_like(lambda: session.tensor(X).index_reduce(0, session.tensor(index), session.tensor(Y), "sum"),
                 lambda: torch.tensor(X).index_reduce(0, torch.tensor(index), torch.tensor(Y), "sum"))


def test_fill_diagonal(session):
    for shape, wrap in (((7, 3), True), ((7, 3), False), ((3, 5), False), ((3, 3, 3), False)):
        _same(session, lambda a: (a[0] * 1).fill_diagonal_(-2.0, wrap=wrap), RNG.standard_normal(shape))
    _raises_like(lambda: session.tensor(np.ones((2, 3, 4))).fill_diagonal_(1), lambda: torch.ones(2, 3, 4).fill_diagonal_(1))
    _raises_like(lambda: session.tensor(np.ones(3)).fill_diagonal_(1), lambda: torch.ones(3).fill_diagonal_(1))


def test_bit_shifts(session):
    a, b = np.array([1, -8, 5, 3, 100]), np.array([1, 2, 70, -1, 3])
    x, y, t_x, t_y = session.tensor(a), session.tensor(b), torch.tensor(a), torch.tensor(b)
    for ours, theirs in (((x << y), (t_x << t_y)), ((x >> y), (t_x >> t_y)), ((3 << y.abs()), (3 << t_y.abs())), ((x >> 1), (t_x >> 1)),
                         (x.bitwise_left_shift(2), t_x.bitwise_left_shift(2)), (gw.bitwise_right_shift(x, y), torch.bitwise_right_shift(t_x, t_y)),
                         (x.to("int8") << 2, t_x.to(torch.int8) << 2), (x.to("uint8") >> 9, t_x.to(torch.uint8) >> 9)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    z, t_z = x.clone(), t_x.clone()
    z <<= 2
    t_z <<= 2
    z.bitwise_right_shift_(y.abs())
    t_z.bitwise_right_shift_(t_y.abs())
    np.testing.assert_array_equal(z.numpy(), t_z.numpy())
    _raises_like(lambda: session.tensor(X) << 1, lambda: torch.tensor(X) << 1)
    _raises_like(lambda: session.tensor(X) >> 1, lambda: torch.tensor(X) >> 1)


def test_new_resize_and_memory_methods(session):
    x, t_x = session.tensor(X), torch.tensor(X)
    assert tuple(x.new(2, 3).shape) == tuple(t_x.new(2, 3).shape) and x.new(2, 3).dtype == gw.float64
    np.testing.assert_array_equal(x.new([1, 2]).numpy(), t_x.new([1, 2]).numpy())
    assert tuple(x.new().shape) == tuple(t_x.new().shape) == (0,)
    assert tuple(x.new_empty_strided((2, 3), (1, 2)).shape) == (2, 3)
    for sizes in ((2, 2), (20,), (5, 5)):
        ours, theirs = session.tensor(X).resize_(*sizes), torch.tensor(X).resize_(*sizes)
        assert tuple(ours.shape) == tuple(theirs.shape)
        n = min(X.size, int(np.prod(sizes)))
        np.testing.assert_array_equal(ours.numpy().reshape(-1)[:n], theirs.numpy().reshape(-1)[:n])
    assert tuple(session.tensor(X).resize_as_(session.tensor(Y[:2])).shape) == (2, 5)
    _raises_like(lambda: session.tensor(X, requires_grad=True).resize_(3), lambda: torch.tensor(X, requires_grad=True).resize_(3))
    assert x.pin_memory() is x and not x.is_pinned() and x.share_memory_() is x and x.is_shared()
    assert x.is_inference() == t_x.is_inference() == False  # noqa: E712
    assert (x * 1).output_nr == (t_x * 1).output_nr == 0
    ours, theirs = session.tensor(X), torch.tensor(X)
    ours.apply_(lambda v: v * v + 1)
    theirs.apply_(lambda v: v * v + 1)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    ours.map_(session.tensor(Y[0]), lambda p, q: p - 2 * q)
    theirs.map_(torch.tensor(Y[0]), lambda p, q: p - 2 * q)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    assert ours.map2_(session.tensor(Y[0]), session.tensor(Y), lambda p, q, r: p * q - r) is ours
    theirs.map2_(torch.tensor(Y[0]), torch.tensor(Y), lambda p, q, r: p * q - r)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    _raises_like(lambda: session.tensor(X, requires_grad=True).apply_(abs), lambda: torch.tensor(X, requires_grad=True).apply_(abs))


# --- torch's copying twins of its views (torch.transpose_copy) and its top-level in-place functions (torch.sigmoid_) ---
_COPIES_AND_INPLACE = {
    "alias_copy": lambda m, t: m.alias_copy(t), "detach_copy": lambda m, t: m.detach_copy(t),
    "diagonal_copy": lambda m, t: m.diagonal_copy(t, 0, 1, 2), "expand_copy": lambda m, t: m.expand_copy(t[:, :1], (2, 5, 4)),
    "permute_copy": lambda m, t: m.permute_copy(t, (2, 0, 1)), "select_copy": lambda m, t: m.select_copy(t, 1, 2),
    "slice_copy": lambda m, t: m.slice_copy(t, 2, 1, 4, 2), "slice_copy-whole": lambda m, t: m.slice_copy(t),
    "split_copy": lambda m, t: m.split_copy(t, 2, 2), "split_with_sizes_copy": lambda m, t: m.split_with_sizes_copy(t, [1, 3], 2),
    "squeeze_copy": lambda m, t: m.squeeze_copy(t[:1]), "t_copy": lambda m, t: m.t_copy(t[0]),
    "transpose_copy": lambda m, t: m.transpose_copy(t, 0, 2), "unbind_copy": lambda m, t: m.unbind_copy(t, 1),
    "unfold_copy": lambda m, t: m.unfold_copy(t, 2, 2, 1), "unsqueeze_copy": lambda m, t: m.unsqueeze_copy(t, 1),
    "view_copy": lambda m, t: m.view_copy(t, (6, 4)), "as_strided_copy": lambda m, t: m.as_strided_copy(t, (2, 2), (4, 1), 1),
    "view_as_real_copy": lambda m, t: m.view_as_real_copy(m.complex(t, t)), "view_as_complex_copy": lambda m, t: m.view_as_complex_copy(t[..., :2]),
    "sigmoid_": lambda m, t: m.sigmoid_(t.clone() / 9), "clamp_": lambda m, t: m.clamp_(t.clone(), 2, 5), "zero_": lambda m, t: m.zero_(t.clone()),
    "fill_": lambda m, t: m.fill_(t.clone(), 3), "round_": lambda m, t: m.round_(t.clone() / 7), "square_": lambda m, t: m.square_(t.clone()),
    "exp2_": lambda m, t: m.exp2_(t.clone() / 9), "i0_": lambda m, t: m.i0_(t.clone() / 10), "log1p_": lambda m, t: m.log1p_(t.clone()),
}


@pytest.mark.parametrize("name", sorted(_COPIES_AND_INPLACE))
def test_view_copies_and_top_level_inplace_functions_as_torch(session, name):
    values = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    ours, theirs = _COPIES_AND_INPLACE[name](gw, session.tensor(values)), _COPIES_AND_INPLACE[name](torch, torch.tensor(values))
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for part, expected in zip(ours, theirs):
            np.testing.assert_allclose(part.numpy(), expected.numpy())
    else:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_a_view_copy_is_a_tensor_of_its_own_and_carries_gradients(session):
    x = session.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    copy = gw.transpose_copy(x, 0, 1)
    with gw.no_grad():
        copy[0, 0] = 100.0  # a view would write into x
    assert x[0, 0].item() == 0.0
    (gw.select_copy(x, 1, 2) * session.tensor([2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 2.0], [0.0, 0.0, 3.0]]


_OLD_AND_ATEN = {  # PyTorch's deprecated functions that old code calls, and ATen ops that torch names at the top level
    "range": lambda m, t: m.range(1, 4), "range-float": lambda m, t: m.range(0, 1, 0.1), "range-down": lambda m, t: m.range(3, -2, -1.5),
    "range-int64": lambda m, t: m.range(1, 4, dtype=m.int64), "range-wrong-sign": lambda m, t: m.range(0, 1, -1),
    "range-zero-step": lambda m, t: m.range(0, 1, 0), "chain_matmul": lambda m, t: m.chain_matmul(t, t.T, t),
    "frobenius_norm": lambda m, t: m.frobenius_norm(t, (0,), True), "nuclear_norm": lambda m, t: m.nuclear_norm(t, True),
    "nuclear_norm-dims": lambda m, t: m.nuclear_norm(t, (0, 1)), "constant_pad_nd": lambda m, t: m.constant_pad_nd(t, (1, 1), 2.5),
    "constant_pad_nd-2d": lambda m, t: m.constant_pad_nd(t, (1, 0, 0, 2)),
    "nonzero_static-padded": lambda m, t: m.nonzero_static(m.tensor([0, 3, 0, 5]), size=3),
    "nonzero_static-cut": lambda m, t: m.nonzero_static(m.tensor([0, 3, 0, 5]), size=1, fill_value=-7),
    "nonzero_static-2d": lambda m, t: m.tensor([[0, 1], [2, 0]]).nonzero_static(size=3),
    "nonzero_static-negative": lambda m, t: m.tensor([1]).nonzero_static(size=-1),
    # removed from PyTorch: its error naming the replacement
    "matrix_rank-removed": lambda m, t: m.matrix_rank(t), "lstsq-removed": lambda m, t: m.lstsq(t, t), "eig-removed": lambda m, t: t.eig(),
    "symeig-removed": lambda m, t: m.symeig(t), "solve-removed": lambda m, t: t.solve(t),
    "resize": lambda m, t: t.resize(3, 2), "resize_as": lambda m, t: t.resize_as(t.new_zeros(6)), "resize-count": lambda m, t: t.resize(4),
    "as_strided_scatter": lambda m, t: m.as_strided_scatter(t.reshape(-1), t.new_ones(2, 2) * 7, (2, 2), (1, 2), 1),
    "as_strided_scatter-method": lambda m, t: t.reshape(-1).as_strided_scatter(t.new_ones(3), (3,), (2,)),
}


_ONCE_WARNINGS = {
    "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use torch.linalg.multi_dot instead, which "
    "accepts a list of two or more tensors rather than multiple parameters.",
    "at::frobenius_norm is deprecated and it is just left for JIT compatibility. It will be removed in a future PyTorch release. "
    "Please use `linalg.vector_norm(A, 2., dim, keepdim)` instead",
    "at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will be removed in a future PyTorch release. "
    "Please use `linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead",
}


@pytest.mark.parametrize("name", sorted(_OLD_AND_ATEN))
def test_deprecated_functions_and_aten_ops_as_torch_with_its_warnings(session, name):
    values = np.arange(6.0).reshape(2, 3)
    outcomes = []
    for m, t in ((torch, torch.tensor(values, dtype=torch.float32)), (gw, session.tensor(values, dtype=gw.float32))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = _OLD_AND_ATEN[name](m, t)
                outcome = (str(result.dtype), np.asarray(result.tolist()))
            except RuntimeError as error:
                outcome = str(error)
        outcomes.append((outcome, {str(w.message).split(" (Triggered internally")[0] for w in caught}))
    (theirs, their_warnings), (ours, our_warnings) = outcomes
    if name.startswith("range"):  # warned at every call
        assert our_warnings == their_warnings and len(ours) > 0
    else:  # the others warn once a process, on both sides: whichever warned here warned in torch's words
        assert our_warnings <= their_warnings or our_warnings <= _ONCE_WARNINGS
    if isinstance(theirs, str):
        assert ours == theirs
    else:
        assert ours[0] == theirs[0]
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)


def test_to_dense_of_a_dense_tensor_is_itself_as_torch(session):
    x = session.ones(2, requires_grad=True)
    assert x.to_dense() is x and torch.ones(2).to_dense() is not None
    y = x.to_dense(gw.float64)
    assert y.dtype == gw.float64 and y.grad_fn is not None and not y.is_leaf


def test_torch_fill_and_put_at_the_top_level_as_torch(session):
    x, v = session.zeros(2, 3, requires_grad=True), session.tensor(2.0, requires_grad=True)
    t_x, t_v = torch.zeros(2, 3, requires_grad=True), torch.tensor(2.0, requires_grad=True)
    out, t_out = gw.fill(x, v), torch.fill(t_x, t_v)
    out.sum().backward()
    t_out.sum().backward()
    assert out.tolist() == t_out.tolist() and x.grad.tolist() == t_x.grad.tolist() and v.grad.item() == t_v.grad.item() == 6.0
    assert gw.fill(session.zeros(2, dtype=gw.int64), 3.7).tolist() == torch.fill(torch.zeros(2, dtype=torch.int64), 3.7).tolist()
    for call in (lambda m, s: m.fill(s.zeros(2), s.ones(2)), lambda m, s: s.zeros(2).fill_(s.ones(2))):
        with pytest.raises(RuntimeError) as theirs:
            call(torch, torch)
        with pytest.raises(RuntimeError) as ours:
            call(gw, session)
        assert str(ours.value) == str(theirs.value)
    expected = torch.put(torch.zeros(2, 2), torch.tensor([1, 3]), torch.tensor([5.0, 6.0]))
    assert gw.put(session.zeros(2, 2), session.tensor([1, 3]), session.tensor([5.0, 6.0])).tolist() == expected.tolist()


def test_module_load_as_torch(session):
    for lib, make in ((torch, torch.tensor), (gw, session.tensor)):
        param = lib.nn.Parameter(make([0.0, 0.0]))
        with lib.no_grad():  # (as load_state_dict calls it)
            loaded = param.module_load(make([1.0, 2.0]))
        assert loaded is not param and not loaded.requires_grad and loaded.tolist() == param.tolist() == [1.0, 2.0]
        other = make([3.0, 4.0])
        assigned = param.module_load(other, assign=True)
        assert assigned is not other and assigned.tolist() == [3.0, 4.0] and param.tolist() == [1.0, 2.0]


def test_as_strided_scatter_gradients_are_the_derivatives(session):
    """torch 2.13's gradient for as_strided_scatter's input is the complement of the true one (its gradcheck fails);
    gradwire's is checked against finite differences, and the source's against torch."""
    x, src = np.arange(9.0), np.arange(4.0).reshape(2, 2) + 10
    ours, ours_src = session.tensor(x, requires_grad=True), session.tensor(src, requires_grad=True)
    weights = np.linspace(1, 2, 9)
    (gw.as_strided_scatter(ours, ours_src, (2, 2), (1, 3), 1) * session.tensor(weights)).sum().backward()
    written = np.zeros(9, dtype=bool)
    written[[1, 2, 4, 5]] = True  # offset 1, strides (1, 3): the elements src lands on
    np.testing.assert_array_equal(ours.grad.numpy(), np.where(written, 0.0, weights))  # d out[i] / d x[i] is 1 where not written
    theirs_src = torch.tensor(src, requires_grad=True)
    (torch.as_strided_scatter(torch.tensor(x), theirs_src, (2, 2), (1, 3), 1) * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(ours_src.grad.numpy(), theirs_src.grad.numpy())


def test_default_tensor_type_debug_mode_and_anomaly_switches_as_torch(session):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gw.set_default_tensor_type(gw.DoubleTensor)
            assert gw.get_default_dtype() == gw.float64 and session.tensor([1.5]).dtype == gw.float64
            gw.set_default_tensor_type("torch.FloatTensor")
            assert gw.get_default_dtype() == gw.float32
            for bad, t_bad in ((gw.LongTensor, torch.LongTensor), (3, 3)):
                with pytest.raises(TypeError) as t_error:
                    torch.set_default_tensor_type(t_bad)
                with pytest.raises(TypeError, match=str(t_error.value)):
                    gw.set_default_tensor_type(bad)
    finally:
        gw.set_default_dtype(gw.float32)
        torch.set_default_dtype(torch.float32)
    assert gw.is_storage(session.zeros(1)) is False
    try:
        for mode, expected in (("warn", (1, True)), ("error", (2, True)), (0, (0, False)), (1, (1, True))):
            gw.set_deterministic_debug_mode(mode)
            torch.set_deterministic_debug_mode(mode)
            assert (gw.get_deterministic_debug_mode(), gw.are_deterministic_algorithms_enabled()) == expected
            assert gw.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
        for bad, error in (("loud", RuntimeError), (3, RuntimeError), (1.5, TypeError)):
            with pytest.raises(error) as t_error:
                torch.set_deterministic_debug_mode(bad)
            with pytest.raises(error, match=re.escape(str(t_error.value))):
                gw.set_deterministic_debug_mode(bad)
    finally:
        gw.set_deterministic_debug_mode(0)
        torch.set_deterministic_debug_mode(0)
    try:
        gw.set_anomaly_enabled(True, check_nan=False)
        assert gw.is_anomaly_enabled() and not gw.is_anomaly_check_nan_enabled()
    finally:
        gw.set_anomaly_enabled(False)
    assert not gw.is_anomaly_enabled() and gw.is_anomaly_check_nan_enabled()


def test_warn_always_makes_once_a_process_warnings_warn_every_time(session):
    x = session.ones(2, 2)
    assert gw.is_warn_always_enabled() is False and gw.set_flush_denormal(True) is False
    with pytest.raises(RuntimeError, match="setWarnOnlyOnce expects a bool, but got str"):
        gw.set_warn_always("yes")
    gw.chain_matmul(x, x)  # (the first call in this process may warn)
    with warnings.catch_warnings(record=True) as once:
        warnings.simplefilter("always")
        gw.chain_matmul(x, x)
    gw.set_warn_always(True)
    try:
        with warnings.catch_warnings(record=True) as always:
            warnings.simplefilter("always")
            gw.chain_matmul(x, x)
            gw.chain_matmul(x, x)
    finally:
        gw.set_warn_always(False)
    assert not once and len(always) == 2 and "torch.chain_matmul is deprecated" in str(always[0].message)


def test_cond_while_loop_and_empty_permuted_as_torch(session, monkeypatch):
    # torch.cond and while_loop go through torch._dynamo, which turns distribution validation off for the whole process:
    # put it back after this test (other tests compare gradwire's validation with torch's)
    monkeypatch.setattr(torch.distributions.Distribution, "_validate_args", torch.distributions.Distribution._validate_args)
    x, t = session.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    for pred in (lambda v: v.sum() > 0, lambda v: False):
        assert gw.cond(pred(x), lambda v: v * 2, lambda v: v - 1, (x,)).tolist() == torch.cond(pred(t), lambda v: v * 2, lambda v: v - 1, (t,)).tolist()
    ours = gw.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2), (session.tensor(0), x))
    theirs = torch.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2), (torch.tensor(0), t))
    assert [o.tolist() for o in ours] == [o.tolist() for o in theirs]
    assert gw.empty_permuted((2, 3, 5, 7), (0, 2, 3, 1)).stride() == torch.empty_permuted((2, 3, 5, 7), (0, 2, 3, 1)).stride()
    for call in (lambda m, v: m.cond(v > 0, lambda w: w, lambda w: w, (v,)), lambda m, v: m.empty_permuted((2, 3), (0, 0)),
                 lambda m, v: m.empty_permuted((2, 3), (0,))):
        with pytest.raises(RuntimeError) as expected:
            call(torch, t)
        with pytest.raises(RuntimeError) as got:
            call(gw, x)
        assert str(got.value) == str(expected.value)


_OFFSET_VIEWS = {
    "x[1]": lambda x, m: x[1], "x[:, 1:]": lambda x, m: x[:, 1:], "x[..., 2]": lambda x, m: x[..., 2], "x[1, -1, ::2]": lambda x, m: x[1, -1, ::2],
    "transpose then index": lambda x, m: x.transpose(0, 2)[1], "diagonal(1)": lambda x, m: x.diagonal(1, 1, 2),
    "diagonal(-1)": lambda x, m: x.diagonal(-1, 1, 2), "x + 1": lambda x, m: x + 1, "reshape of a row": lambda x, m: x[1].reshape(-1),
    "unfold": lambda x, m: x.unfold(2, 2, 1)[1], "view(int32)": lambda x, m: x[1].view(m.int32), "x[None, 1, None]": lambda x, m: x[None, 1, None],
    "narrow": lambda x, m: x.narrow(2, 1, 2), "select": lambda x, m: x.select(1, 2), "split": lambda x, m: x.split(2, 2)[1],
    "empty slice": lambda x, m: x[1:, 5:], "t()[1:]": lambda x, m: x[1].t()[1:], "permute": lambda x, m: x.permute(2, 0, 1)[1, 1],
    "expand": lambda x, m: x.expand(2, 2, 3, 4)[1, 1, 2], "chunk": lambda x, m: x.chunk(3, 1)[2], "unbind": lambda x, m: x.unbind(0)[1][2],
}


@pytest.mark.parametrize("name", sorted(_OFFSET_VIEWS))
def test_storage_offset_of_views_as_torch(session, name):
    values = np.arange(24).reshape(2, 3, 4)
    ours = _OFFSET_VIEWS[name](session.tensor(values), gw)
    theirs = _OFFSET_VIEWS[name](torch.from_numpy(values.copy()), torch)
    assert ours.storage_offset() == theirs.storage_offset()
    assert ours.tolist() == theirs.tolist()
