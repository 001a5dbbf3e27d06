"""The rest of PyTorch's API around models and graphs, against torch: Module's state-dict hooks, extra state,
set_submodule/to_empty/type/compile and ``load_state_dict(assign=True)``; Optimizer's step and state-dict hooks;
autograd.Function's torch-2 style (``setup_context``), ctx rules and ``once_differentiable``; graph-node hooks and
``gw.autograd.graph``; and the leftover Tensor methods."""

from __future__ import annotations

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
    x = session.tensor(RNG.standard_normal((1, 2)))
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
    for key, o, param, lib in (("gw", opt, p, gw), ("torch", t_opt, t_p, torch)):
        log = logs[key]
        module = gw.optim.optimizer if lib is gw else T_OPTIMIZER
        handles.append(module.register_optimizer_step_pre_hook(lambda o, args, kwargs, log=log: log.append(("global pre", len(args), args[0] is o, kwargs))))
        handles.append(module.register_optimizer_step_post_hook(lambda o, args, kwargs, log=log: log.append(("global post",))))
        o.register_step_pre_hook(lambda o, args, kwargs, log=log: log.append(("pre", len(args))))
        o.register_step_post_hook(lambda o, args, kwargs, log=log, param=param: log.append(("post", np.round(param.detach().numpy(), 12).tolist())))
        (param * param).sum().backward()
        o.step()
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
