"""gradwire.optim against torch.optim: the same model, the same initial weights, step by step."""

from __future__ import annotations

import gc
import math
import warnings

import numpy as np
import pytest

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb

torch = pytest.importorskip("torch")

STEPS = 5
TOL = 1e-5


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "w1": rng.standard_normal((5, 3)),
        "b1": rng.standard_normal(5),
        "w2": rng.standard_normal((2, 5)),
        "b2": rng.standard_normal(2),
    }


def _data(seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((8, 3)), rng.standard_normal((8, 2))


def _loss(p, x, y):
    """A small MLP's mean squared error; p holds gradwire or torch tensors."""
    h = (x @ p["w1"].T + p["b1"]).relu()
    out = h @ p["w2"].T + p["b2"]
    return ((out - y) ** 2).mean()


class Pair:
    """The same model in gradwire (``g``) and in torch (``t``), float64, same weights."""

    def __init__(self, session, extra=False):
        weights = _weights()
        if extra:  # a parameter the loss never uses: it gets no grad and must be left alone
            weights["unused"] = np.arange(3.0)
        self.g = {k: session.tensor(v, dtype="float64", requires_grad=True) for k, v in weights.items()}
        self.t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in weights.items()}
        x, y = _data()
        self.gx, self.gy = session.tensor(x, dtype="float64"), session.tensor(y, dtype="float64")
        self.tx, self.ty = torch.tensor(x), torch.tensor(y)

    def train(self, gopt, topt, steps=STEPS, gsched=None, tsched=None, set_to_none=True):
        for step in range(steps):
            gopt.zero_grad(set_to_none=set_to_none)
            topt.zero_grad(set_to_none=set_to_none)
            _loss(self.g, self.gx, self.gy).backward()
            _loss(self.t, self.tx, self.ty).backward()
            gopt.step()
            topt.step()
            if gsched is not None:
                gsched.step()
                tsched.step()
                assert gsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
            self.assert_same(f"after step {step + 1}")

    def assert_same(self, what):
        for name in self.g:
            np.testing.assert_allclose(self.g[name].detach().numpy(), self.t[name].detach().numpy(), rtol=TOL, atol=TOL, err_msg=f"{name} {what}")


OPTIONS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.01, "maximize": True}),
    ("SGD", {}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "betas": (0.3, 0.5), "eps": 1e-3}),  # beta1 < 0.5: the other half of lerp
    ("Adam", {"lr": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.9, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True, "maximize": True}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "centered": True, "momentum": 0.5}),  # 1 - alpha > 0.5: lerp's other half
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "betas": (0.3, 0.5), "weight_decay": 0.1, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "momentum_decay": 0.1, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True, "betas": (0.3, 0.5)}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.05, "initial_accumulator_value": 0.5}),
]


@pytest.mark.parametrize("name, options", OPTIONS, ids=[f"{n}-{o}" for n, o in OPTIONS])
def test_optimizer_matches_torch_step_by_step(session, name, options):
    pair = Pair(session, extra=True)
    gopt = getattr(gw.optim, name)(pair.g.values(), **options)
    topt = getattr(torch.optim, name)(pair.t.values(), **options)
    pair.train(gopt, topt)


@pytest.mark.parametrize("name, options", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.05})])
def test_param_groups_with_their_own_hyperparameters(session, name, options):
    pair = Pair(session)

    def groups(p):
        return [{"params": [p["w1"], p["b1"]]}, {"params": [p["w2"], p["b2"]], "lr": 0.01, "weight_decay": 0.2}]

    gopt = getattr(gw.optim, name)(groups(pair.g), **options)
    topt = getattr(torch.optim, name)(groups(pair.t), **options)
    assert [{k: v for k, v in g.items() if k != "params"} for g in gopt.param_groups] == [
        {k: v for k, v in g.items() if k != "params"} for g in topt.param_groups
    ]
    pair.train(gopt, topt)


def test_editing_lr_between_steps_changes_the_next_step(session):
    pair = Pair(session)
    gopt, topt = gw.optim.SGD(pair.g.values(), lr=0.1, momentum=0.5), torch.optim.SGD(pair.t.values(), lr=0.1, momentum=0.5)
    pair.train(gopt, topt, steps=2)
    for group in gopt.param_groups + topt.param_groups:
        group["lr"] = 0.5
    pair.train(gopt, topt, steps=2)


EDITS = [
    ("SGD", {"lr": 0.1, "momentum": 0.5}, "momentum", 0.9),
    ("SGD", {"lr": 0.1}, "weight_decay", 0.1),
    ("SGD", {"lr": 0.1, "momentum": 0.5}, "nesterov", True),
    ("Adam", {"lr": 0.05}, "betas", (0.5, 0.9)),
    ("Adam", {"lr": 0.05}, "eps", 1e-2),
    ("Adam", {"lr": 0.05}, "weight_decay", 0.1),
    ("Adam", {"lr": 0.05}, "maximize", True),
]


@pytest.mark.parametrize("name, options, key, value", EDITS, ids=[f"{n}-{k}" for n, _, k, _ in EDITS])
def test_editing_any_hyperparameter_between_steps_changes_the_next_step(session, name, options, key, value):
    # the step message is reused while param_groups say the same: an edit must reach the next step
    pair = Pair(session)
    gopt, topt = getattr(gw.optim, name)(pair.g.values(), **options), getattr(torch.optim, name)(pair.t.values(), **options)
    pair.train(gopt, topt, steps=2)
    for group in gopt.param_groups + topt.param_groups:
        group[key] = value
    pair.train(gopt, topt, steps=2)


def test_a_param_group_added_between_steps_is_stepped_from_then_on(session):
    pair = Pair(session)
    gopt = gw.optim.SGD([pair.g["w1"], pair.g["b1"]], lr=0.1, momentum=0.5)
    topt = torch.optim.SGD([pair.t["w1"], pair.t["b1"]], lr=0.1, momentum=0.5)
    pair.train(gopt, topt, steps=2)
    gopt.add_param_group({"params": [pair.g["w2"], pair.g["b2"]], "lr": 0.05})
    topt.add_param_group({"params": [pair.t["w2"], pair.t["b2"]], "lr": 0.05})
    pair.train(gopt, topt, steps=2)


def test_params_removed_from_a_group_between_steps_are_left_alone(session):
    pair = Pair(session)
    gopt, topt = gw.optim.SGD(pair.g.values(), lr=0.1), torch.optim.SGD(pair.t.values(), lr=0.1)
    pair.train(gopt, topt, steps=2)
    for opt in (gopt, topt):
        del opt.param_groups[0]["params"][-1]  # b2, in place: the same list
    pair.train(gopt, topt, steps=2)


def test_zero_grad_to_zeros_keeps_a_zero_grad(session):
    pair = Pair(session)
    gopt, topt = gw.optim.SGD(pair.g.values(), lr=0.1, momentum=0.9), torch.optim.SGD(pair.t.values(), lr=0.1, momentum=0.9)
    pair.train(gopt, topt, steps=2, set_to_none=False)
    gopt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(pair.g["w1"].grad.numpy(), np.zeros((5, 3)))
    gopt.zero_grad()
    assert pair.g["w1"].grad is None


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_step_is_one_command_whatever_the_number_of_parameters(session, name):
    params = [session.randn(4, requires_grad=True) for _ in range(20)]
    sum(((p * p).sum() for p in params[1:]), (params[0] * params[0]).sum()).backward()
    opt = getattr(gw.optim, name)(params, lr=0.1)
    session.sync()
    before = [p.detach().numpy() for p in params]
    queued = session._next_command
    opt.step()
    assert session._next_command - queued == 1
    kinds = [c.WhichOneof("kind") for c in session._batch.commands]
    assert kinds[-1] == "optimizer_step" and kinds.count("optimizer_step") == 1
    assert all(not np.array_equal(b, p.detach().numpy()) for b, p in zip(before, params))


def test_step_with_a_closure_returns_its_loss(session):
    pair = Pair(session)
    gopt, topt = gw.optim.SGD(pair.g.values(), lr=0.1), torch.optim.SGD(pair.t.values(), lr=0.1)

    def closure(opt, p, x, y):
        def run():
            opt.zero_grad()
            loss = _loss(p, x, y)
            loss.backward()
            return loss
        return run

    for _ in range(3):
        gloss = gopt.step(closure(gopt, pair.g, pair.gx, pair.gy))
        tloss = topt.step(closure(topt, pair.t, pair.tx, pair.ty))
        assert gloss.item() == pytest.approx(tloss.item(), rel=1e-9)
    pair.assert_same("after closure steps")


# --- errors, PyTorch's ----------------------------------------------------------------------


@pytest.mark.parametrize("name, options", [
    ("SGD", {"lr": -1.0}),
    ("SGD", {"momentum": -0.5}),
    ("SGD", {"weight_decay": -1.0}),
    ("SGD", {"nesterov": True}),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("Adam", {"lr": -0.1}),
    ("Adam", {"eps": -1.0}),
    ("Adam", {"betas": (1.0, 0.999)}),
    ("Adam", {"betas": (0.9, -0.1)}),
    ("AdamW", {"weight_decay": -0.01}),
    ("RMSprop", {"lr": -0.1}),
    ("RMSprop", {"alpha": -0.9}),
    ("RMSprop", {"momentum": -0.5}),
    ("Adagrad", {"eps": -1e-3}),
    ("Adagrad", {"lr_decay": -0.1}),
    ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adamax", {"lr": -0.1}),
    ("Adamax", {"betas": (0.9, 1.0)}),
    ("RAdam", {"eps": -1.0}),
    ("RAdam", {"weight_decay": -0.1}),
    ("NAdam", {"momentum_decay": -0.1}),
    ("NAdam", {"betas": (1.0, 0.9)}),
])
def test_invalid_hyperparameters_raise_as_torch(session, name, options):
    with pytest.raises(ValueError) as expected:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **options)
    with pytest.raises(ValueError) as raised:
        getattr(gw.optim, name)([session.zeros(2, requires_grad=True)], **options)
    assert str(raised.value) == str(expected.value)


def test_bad_params_raise_as_torch(session):
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        gw.optim.SGD([], lr=0.1)
    x = session.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        gw.optim.SGD([x * 2], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):  # a group's set (torch 2.13 lists a set of params given alone)
        gw.optim.SGD([{"params": {x}}], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        gw.optim.SGD([{"params": [x]}, {"params": [x]}], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        gw.optim.SGD([x, 3.0], lr=0.1)


# --- state ---------------------------------------------------------------------------------


STATEFUL = [
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1}),
    ("Adamax", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05}),
    ("NAdam", {"lr": 0.05}),
]


@pytest.mark.parametrize("name, options", STATEFUL, ids=[name for name, _ in STATEFUL])
def test_state_dict_matches_torchs(session, name, options):
    pair = Pair(session)
    gopt = getattr(gw.optim, name)(pair.g.values(), **options)
    topt = getattr(torch.optim, name)(pair.t.values(), **options)
    pair.train(gopt, topt, steps=3)
    gstate, tstate = gopt.state_dict(), topt.state_dict()
    assert gstate["param_groups"] == tstate["param_groups"]
    assert gstate["state"].keys() == tstate["state"].keys()
    for index, tvalues in tstate["state"].items():
        gvalues = gstate["state"][index]
        assert list(gvalues) == list(tvalues)
        assert gvalues["step"].item() == tvalues["step"].item() == 3  # 0-d tensors, as torch's
        for key in list(tvalues)[1:]:
            if key == "mu_product":  # NAdam's running product: a float64 number on the server, a 0-d float32 tensor here
                assert gvalues[key].item() == pytest.approx(tvalues[key].item(), rel=1e-6)  # (torch's in the parameter's float32)
                continue
            np.testing.assert_allclose(gvalues[key].numpy(), tvalues[key].numpy(), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("name, options", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.05})] + STATEFUL[1:])
def test_load_state_dict_continues_as_torch_does(session, name, options):
    """Train 2 steps, save the state, train 2 more; a fresh optimizer loaded with it trains the same."""
    pair = Pair(session)
    gopt = getattr(gw.optim, name)(pair.g.values(), **options)
    topt = getattr(torch.optim, name)(pair.t.values(), **options)
    pair.train(gopt, topt, steps=2)
    saved = {k: v.detach().numpy() for k, v in pair.g.items()}
    state = gopt.state_dict()
    state = {"state": {i: {k: (v.numpy() if isinstance(v, gw.Tensor) else v) for k, v in s.items()} for i, s in state["state"].items()},
             "param_groups": state["param_groups"]}  # a snapshot: the live state changes with the next steps
    pair.train(gopt, topt, steps=2)
    after = {k: v.detach().numpy() for k, v in pair.g.items()}

    restored = {k: session.tensor(v, requires_grad=True) for k, v in saved.items()}
    fresh = getattr(gw.optim, name)(restored.values(), lr=123.0)
    fresh.load_state_dict(state)
    assert fresh.param_groups[0]["lr"] == options["lr"]
    for _ in range(2):
        fresh.zero_grad()
        _loss(restored, pair.gx, pair.gy).backward()
        fresh.step()
    for k in after:  # (NAdam's mu_product is saved as torch's float32 0-d tensor: the server's float64 rounded)
        np.testing.assert_allclose(restored[k].detach().numpy(), after[k], rtol=1e-8 if name == "NAdam" else 0, atol=0)


def test_load_state_dict_checks_the_groups(session):
    x = session.randn(3, requires_grad=True)
    opt = gw.optim.SGD([x], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})


def test_optimizer_state_is_freed_when_the_optimizer_is_collected(session):
    params = [session.randn(1000, dtype="float64", requires_grad=True) for _ in range(3)]
    sum((p * p).sum() for p in params).backward()
    opt = gw.optim.Adam(params)
    opt.step()
    held = session.stats()["bytes"]
    del opt
    gc.collect()
    freed = held - session.stats()["bytes"]
    assert freed == 3 * 2 * 1000 * 8  # exp_avg and exp_avg_sq of each parameter


def test_a_step_on_a_parameter_of_a_pending_graph_is_caught_by_backward(session):
    w = session.randn(3, requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    gw.optim.SGD([w], lr=0.1).step()
    with pytest.raises(gw.FailedPreconditionError, match="modified by an inplace operation"):
        loss.backward()
        session.sync()


# --- schedulers --------------------------------------------------------------------------------


SCHEDULERS = [
    ("StepLR", {"step_size": 2, "gamma": 0.5}),
    ("StepLR", {"step_size": 3}),
    ("CosineAnnealingLR", {"T_max": 4}),
    ("CosineAnnealingLR", {"T_max": 3, "eta_min": 0.01}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.5, "end_factor": 0.1, "total_iters": 4}),
    ("ConstantLR", {}),
    ("ConstantLR", {"factor": 0.5, "total_iters": 3}),
    ("PolynomialLR", {"total_iters": 8, "power": 2.0}),
]
# apart from SCHEDULERS, whose entries the closed-form test samples: step(epoch) of LambdaLR is its plain formula
LAMBDA_SCHEDULERS = [
    ("LambdaLR", {"lr_lambda": lambda epoch: 1 / (epoch + 1)}),
    ("LambdaLR", {"lr_lambda": [lambda epoch: 0.5**epoch, lambda epoch: 1 + epoch]}),
    ("MultiplicativeLR", {"lr_lambda": lambda epoch: 0.95}),
    ("MultiplicativeLR", {"lr_lambda": [lambda epoch: 0.5, lambda epoch: 1 + 1 / (epoch + 1)]}),
    ("CosineAnnealingWarmRestarts", {"T_0": 3}),
    ("CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 2, "eta_min": 0.01}),
]


# ids without the lambdas' addresses: every worker of a parallel run (pytest-xdist) must name the cases alike
@pytest.mark.parametrize("name, options", SCHEDULERS + LAMBDA_SCHEDULERS,
                         ids=[f"{n}-{k}{o}" for k, (n, o) in enumerate(SCHEDULERS + LAMBDA_SCHEDULERS) for o in [o if "lr_lambda" not in o else ""]])
def test_scheduler_rates_match_torch(session, name, options):
    gx, tx = session.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    gopt = gw.optim.SGD([{"params": [gx]}, {"params": [session.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    topt = torch.optim.SGD([{"params": [tx]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    gsched = getattr(gw.optim.lr_scheduler, name)(gopt, **options)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **options)
    assert gsched.get_last_lr() == tsched.get_last_lr()
    for epoch in range(12):  # past T_max: the cosine's rise back up
        gopt.step()
        topt.step()
        gsched.step()
        tsched.step()
        assert gsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15), f"epoch {epoch + 1}"
        assert [g["lr"] for g in gopt.param_groups] == gsched.get_last_lr()


@pytest.mark.parametrize("name, options", SCHEDULERS[::2])
def test_scheduler_step_with_an_epoch_uses_the_closed_form(session, name, options):
    gopt = gw.optim.SGD([session.zeros(2, requires_grad=True)], lr=0.1)
    topt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    gsched = getattr(gw.optim.lr_scheduler, name)(gopt, **options)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gsched.step(5)
        tsched.step(5)
    assert gsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)


COMBINED = {
    "sequential": lambda lib, opt: lib.SequentialLR(opt, [lib.LinearLR(opt, start_factor=0.1, total_iters=3), lib.ExponentialLR(opt, 0.8),
                                                          lib.StepLR(opt, 2, gamma=0.5)], milestones=[4, 8]),
    "chained": lambda lib, opt: lib.ChainedScheduler([lib.ConstantLR(opt, factor=0.5, total_iters=3), lib.ExponentialLR(opt, 0.9)]),
    "sequential-of-chained": lambda lib, opt: lib.SequentialLR(
        opt, [lib.ChainedScheduler([lib.LinearLR(opt, start_factor=0.2, total_iters=2), lib.ExponentialLR(opt, 0.95)]),
              lib.CosineAnnealingLR(opt, T_max=5)], milestones=[5]),
}


@pytest.mark.parametrize("name", COMBINED)
def test_combined_schedulers_match_torch_and_resume_from_their_state(session, name):
    gopt = gw.optim.SGD([{"params": [session.zeros(2, requires_grad=True)]}, {"params": [session.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    topt = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    gsched, tsched = COMBINED[name](gw.optim.lr_scheduler, gopt), COMBINED[name](torch.optim.lr_scheduler, topt)
    assert gsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    for epoch in range(12):
        if epoch == 6:  # a new optimizer and scheduler pair, resumed from the state dicts: the same rates go on
            saved_opt, saved = gopt.state_dict(), gsched.state_dict()
            gopt = gw.optim.SGD([{"params": [session.zeros(2, requires_grad=True)]},
                                 {"params": [session.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
            gsched = COMBINED[name](gw.optim.lr_scheduler, gopt)
            gopt.load_state_dict(saved_opt)
            gsched.load_state_dict(saved)
        gopt.step()
        topt.step()
        gsched.step()
        tsched.step()
        assert gsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15), f"epoch {epoch + 1}"
        assert [g["lr"] for g in gopt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-12)


def test_combined_schedulers_refuse_what_torchs_refuse(session):
    opt = gw.optim.SGD([session.zeros(2, requires_grad=True)], lr=0.1)
    other = gw.optim.SGD([session.zeros(2, requires_grad=True)], lr=0.1)
    lib = gw.optim.lr_scheduler
    with pytest.raises(ValueError, match="expects number of schedulers provided to be one more than the number of milestone"):
        lib.SequentialLR(opt, [lib.StepLR(opt, 2), lib.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        lib.ChainedScheduler([lib.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        lib.SequentialLR(opt, [lib.StepLR(opt, 2), lib.StepLR(other, 3)], milestones=[2])


ONE_CYCLES = [
    ("SGD", {"momentum": 0.9}, {"max_lr": 0.5, "total_steps": 12}),
    ("SGD", {"momentum": 0.9, "nesterov": True}, {"max_lr": [0.5, 0.2], "epochs": 3, "steps_per_epoch": 4, "anneal_strategy": "linear", "three_phase": True}),
    ("Adam", {}, {"max_lr": 0.05, "total_steps": 12, "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0}),
    ("AdamW", {"weight_decay": 0.1}, {"max_lr": 0.05, "total_steps": 12, "cycle_momentum": False}),
]


@pytest.mark.parametrize("optimizer, settings, options", ONE_CYCLES, ids=[f"{o}-{i}" for i, (o, _, _) in enumerate(ONE_CYCLES)])
def test_one_cycle_rates_momenta_and_steps_match_torch(session, optimizer, settings, options):
    values = np.linspace(-1.0, 1.0, 6)
    gx, tx = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    gy, ty = session.tensor(values[:2] * 3, requires_grad=True), torch.tensor(values[:2] * 3, requires_grad=True)
    gopt = getattr(gw.optim, optimizer)([{"params": [gx]}, {"params": [gy], "lr": 0.3}], lr=0.1, **settings)
    topt = getattr(torch.optim, optimizer)([{"params": [tx]}, {"params": [ty], "lr": 0.3}], lr=0.1, **settings)
    gsched = gw.optim.lr_scheduler.OneCycleLR(gopt, **options)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, **options)
    momentum = "betas" if "Adam" in optimizer else "momentum"
    for step in range(12):
        for group, t_group in zip(gopt.param_groups, topt.param_groups):
            assert group["lr"] == pytest.approx(t_group["lr"], rel=1e-12), f"step {step}"
            assert group[momentum] == pytest.approx(t_group[momentum], rel=1e-12), f"step {step}"
        for opt, x, y in ((gopt, gx, gy), (topt, tx, ty)):
            opt.zero_grad()
            ((x * x).sum() + (y.sin() * x[:2]).sum()).backward()
            opt.step()
        gsched.step()
        tsched.step()
    np.testing.assert_allclose(gx.detach().numpy(), tx.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="Tried to step 13 times. The specified number of total steps is 12"):
        gsched.step()
    with pytest.raises(ValueError, match="Tried to step 13 times"):
        tsched.step()


def test_one_cycle_refusals_as_in_torch(session):
    opt = gw.optim.SGD([session.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=r"You must define either total_steps OR \(epochs AND steps_per_epoch\)"):
        gw.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1 with `cycle_momentum` option enabled"):
        gw.optim.lr_scheduler.OneCycleLR(gw.optim.Adagrad([session.zeros(2, requires_grad=True)]), max_lr=0.1, total_steps=5)


PLATEAUS = [
    ({"patience": 1, "factor": 0.5}, [5, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3]),
    ({"mode": "max", "patience": 0, "cooldown": 2, "threshold_mode": "abs", "threshold": 0.5, "min_lr": [0.05, 0.2]},
     [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]),
]


@pytest.mark.parametrize("options, metrics", PLATEAUS)
def test_reduce_lr_on_plateau_matches_torch(session, options, metrics):
    gopt = gw.optim.SGD([{"params": [session.zeros(2, requires_grad=True)]}, {"params": [session.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    topt = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    gsched = gw.optim.lr_scheduler.ReduceLROnPlateau(gopt, **options)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **options)
    for epoch, metric in enumerate(metrics):
        gsched.step(session.tensor(float(metric)) if epoch % 2 else metric)  # a loss tensor or a number, as users pass
        tsched.step(metric)
        assert gsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12), f"epoch {epoch + 1}"
        assert (gsched.num_bad_epochs, gsched.best) == (tsched.num_bad_epochs, tsched.best)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        gw.optim.lr_scheduler.ReduceLROnPlateau(gopt, factor=1.0)


def test_lambda_lr_state_dict_keeps_what_torch_keeps(session):
    class Warmup:
        def __init__(self, steps):
            self.steps = steps

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.steps)

    gopt = gw.optim.SGD([session.zeros(1, requires_grad=True)], lr=0.1)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    gsched, tsched = gw.optim.lr_scheduler.LambdaLR(gopt, Warmup(4)), torch.optim.lr_scheduler.LambdaLR(topt, Warmup(4))
    for _ in range(2):
        gopt.step()
        topt.step()
        gsched.step()
        tsched.step()
    assert gsched.state_dict()["lr_lambdas"] == tsched.state_dict()["lr_lambdas"] == [{"steps": 4}]
    fresh = gw.optim.lr_scheduler.LambdaLR(gw.optim.SGD([session.zeros(1, requires_grad=True)], lr=0.1), Warmup(10))
    fresh.load_state_dict(gsched.state_dict())
    assert fresh.lr_lambdas[0].steps == 4 and fresh.last_epoch == 2


def test_training_with_a_scheduler_matches_torch(session):
    pair = Pair(session)
    gopt, topt = gw.optim.SGD(pair.g.values(), lr=0.1, momentum=0.9), torch.optim.SGD(pair.t.values(), lr=0.1, momentum=0.9)
    gsched = gw.optim.lr_scheduler.CosineAnnealingLR(gopt, T_max=3)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=3)
    pair.train(gopt, topt, gsched=gsched, tsched=tsched)
    assert gsched.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi * 5 / 3)) / 2)


# --- what a client may send: typed errors, never a crash --------------------------------------


def _send(session, fill):
    """Queue one hand-made command and wait for its answer."""
    with session._lock:
        fill(session._command("raw"))
    session.sync()


@pytest.mark.parametrize("fill, error, message", [
    (lambda c: c.optimizer_create.SetInParent(), gw.InvalidArgumentError, "unknown optimizer ''"),
    (lambda c: setattr(c.optimizer_create, "kind", "lbfgs") or setattr(c.optimizer_create, "optimizer", 10**9),
     gw.InvalidArgumentError, "unknown optimizer 'lbfgs'"),
    (lambda c: setattr(c.optimizer_step, "optimizer", 10**9), gw.NotFoundError, "unknown optimizer handle"),
    (lambda c: setattr(c.optimizer_get_state, "optimizer", 10**9), gw.NotFoundError, "unknown optimizer handle"),
    (lambda c: setattr(c.optimizer_set_state, "optimizer", 10**9), gw.NotFoundError, "unknown optimizer handle"),
    (lambda c: setattr(c.graph, "root", 10**9), gw.NotFoundError, "unknown tensor handle"),
])
def test_bad_optimizer_and_graph_commands_are_typed_errors(session, fill, error, message):
    with pytest.raises(error, match=message):
        _send(session, fill)
    assert (session.ones(2) * 2).tolist() == [2.0, 2.0]  # the session carries on


def test_a_step_on_a_non_leaf_or_an_unknown_param_is_refused(session):
    w = session.randn(3, requires_grad=True)
    opt = gw.optim.SGD([w], lr=0.1)
    y = w * 2
    (y * y).sum().backward(retain_graph=True)
    with pytest.raises(gw.FailedPreconditionError, match="can't optimize a non-leaf Tensor"):
        _send(session, lambda c: c.optimizer_step.MergeFrom(pb.OptimizerStep(optimizer=opt._handle, groups=[pb.OptimizerGroup(params=[y._handle], lr=1)])))
    with pytest.raises(gw.NotFoundError, match="unknown tensor handle"):
        _send(session, lambda c: c.optimizer_step.MergeFrom(pb.OptimizerStep(optimizer=opt._handle, groups=[pb.OptimizerGroup(params=[10**9])])))
    before = w.detach().numpy()
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), before - 0.1 * 2 * 2 * 2 * before, rtol=1e-6)  # d/dw sum((2w)^2) = 8w; float32, fused as torch


@pytest.mark.parametrize("entry, message", [
    ({"name": "exp_avg", "number": 1.0}, "has no state named 'exp_avg'"),
    ({"name": "momentum_buffer", "number": 1.0}, "must be a tensor"),
    ({"name": "momentum_buffer"}, "has no value"),
])
def test_bad_optimizer_state_is_refused(session, entry, message):
    w = session.randn(3, requires_grad=True)
    opt = gw.optim.SGD([w], lr=0.1, momentum=0.9)
    with pytest.raises(gw.InvalidArgumentError, match=message):
        _send(session, lambda c: c.optimizer_set_state.MergeFrom(
            pb.OptimizerSetState(optimizer=opt._handle, entries=[pb.OptimizerStateEntry(param=w._handle, **entry)])))


def test_state_of_the_wrong_shape_is_refused(session):
    w = session.randn(3, requires_grad=True)
    opt = gw.optim.SGD([w], lr=0.1, momentum=0.9)
    with pytest.raises(gw.InvalidArgumentError, match=r"loaded state 'momentum_buffer' has shape \[2\], but its parameter has shape \[3\]"):
        opt.load_state_dict({"state": {0: {"momentum_buffer": np.zeros(2, dtype=np.float32)}}, "param_groups": opt.state_dict()["param_groups"]})
        session.sync()


def test_optimizers_train_gradwire_nn_modules_as_torch_trains_torch_nn(session):
    model = gw.nn.Sequential(gw.nn.Linear(3, 4, session=session, dtype="float64"), gw.nn.Tanh(), gw.nn.Linear(4, 2, session=session, dtype="float64"))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    reference.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in model.state_dict().items()})
    gopt = gw.optim.AdamW(model.parameters(), lr=0.05)
    topt = torch.optim.AdamW(reference.parameters(), lr=0.05)
    x, y = _data()
    for _ in range(STEPS):
        gopt.zero_grad()
        topt.zero_grad()
        gw.nn.functional.mse_loss(model(session.tensor(x[:, :3])), session.tensor(y)).backward()
        torch.nn.functional.mse_loss(reference(torch.tensor(x[:, :3])), torch.tensor(y)).backward()
        gopt.step()
        topt.step()
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(value.numpy(), reference.state_dict()[name].numpy(), rtol=TOL, atol=TOL, err_msg=name)


# --- gradient clipping (gw.nn.utils) ----------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])  # clipped, and left as it was (the coefficient clamped to 1)
def test_clip_grad_norm_matches_torch_step_by_step(session, norm_type, max_norm):
    pair = Pair(session, extra=True)  # the unused parameter has no .grad: skipped, as torch skips it
    gopt, topt = gw.optim.SGD(pair.g.values(), lr=0.1, momentum=0.9), torch.optim.SGD(pair.t.values(), lr=0.1, momentum=0.9)
    for step in range(STEPS):
        gopt.zero_grad()
        topt.zero_grad()
        _loss(pair.g, pair.gx, pair.gy).backward()
        _loss(pair.t, pair.tx, pair.ty).backward()
        total = gw.nn.utils.clip_grad_norm_(pair.g.values(), max_norm, norm_type=norm_type)
        t_total = torch.nn.utils.clip_grad_norm_(pair.t.values(), max_norm, norm_type=norm_type)
        assert total.dtype == np.float64 and total.shape == ()
        for name in ("w1", "b2"):
            np.testing.assert_allclose(pair.g[name].grad.numpy(), pair.t[name].grad.numpy(), rtol=1e-12, atol=1e-15)
        gopt.step()
        topt.step()
        assert total.item() == pytest.approx(t_total.item(), rel=1e-12)
        pair.assert_same(f"after step {step + 1}")
    assert pair.g["unused"].grad is None


def test_clip_grad_value_matches_torch(session):
    pair = Pair(session)
    _loss(pair.g, pair.gx, pair.gy).backward()
    _loss(pair.t, pair.tx, pair.ty).backward()
    assert gw.nn.utils.clip_grad_value_(pair.g["w1"], 0.05) is torch.nn.utils.clip_grad_value_(pair.t["w1"], 0.05) is None
    gw.nn.utils.clip_grad_value_(list(pair.g.values())[1:], 0.05)
    torch.nn.utils.clip_grad_value_(list(pair.t.values())[1:], 0.05)
    for name in pair.g:  # (the backward passes may differ in the last bit; the clamps do not)
        np.testing.assert_allclose(pair.g[name].grad.numpy(), pair.t[name].grad.numpy(), rtol=1e-12, atol=1e-15)
    assert np.abs(pair.g["w1"].grad.numpy()).max() == 0.05


def test_clipping_is_one_command_and_its_mistakes_are_clear(session):
    params = [session.randn(4, requires_grad=True) for _ in range(20)]
    sum(((p * p).sum() for p in params[1:]), (params[0] * params[0]).sum()).backward()
    session.sync()
    queued = session._next_command
    total = gw.nn.utils.clip_grad_norm_(params, 1.0)
    assert session._next_command - queued == 1
    assert total.item() == pytest.approx(math.sqrt(sum(((2 * p.detach().numpy().astype(np.float64)) ** 2).sum() for p in params)), rel=1e-5)
    no_grads = [session.ones(3, requires_grad=True)]
    assert gw.nn.utils.clip_grad_norm_(no_grads, 1.0).item() == torch.nn.utils.clip_grad_norm_([torch.ones(3, requires_grad=True)], 1.0).item() == 0.0
    with pytest.raises(gw.InvalidArgumentError, match="norm_type must be positive"):
        gw.nn.utils.clip_grad_norm_(params, 1.0, norm_type=-2)
    assert gw.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0  # torch's tensor(0.), in the open session
    w, t = session.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    (w * float("inf")).sum().backward()
    (t * float("inf")).sum().backward()
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.utils.clip_grad_norm_(t, 1.0, error_if_nonfinite=True)
    with pytest.raises(gw.InvalidArgumentError) as ours:
        gw.nn.utils.clip_grad_norm_(w, 1.0, error_if_nonfinite=True)
        session.sync()  # found on the server: at the next sync point
    assert str(theirs.value) in str(ours.value)
    assert w.grad.tolist() == t.grad.tolist()  # refused: the gradients are as they were
    assert session.stats()["tensors"] > 0  # the session goes on


@pytest.mark.parametrize("options", [{"T_0": 3}, {"T_0": 2, "T_mult": 2, "eta_min": 0.01}])
def test_warm_restarts_take_fractional_epochs_as_torch(session, options):
    gopt = gw.optim.SGD([session.zeros(2, requires_grad=True)], lr=0.1)
    topt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    gsched = gw.optim.lr_scheduler.CosineAnnealingWarmRestarts(gopt, **options)
    tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, **options)
    for epoch in (0.25, 0.5, 1.75, 3.0, 4.5, 7.2, 8, 13.5):  # a step per batch: fractions of epochs
        gsched.step(epoch)
        tsched.step(epoch)
        assert gsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12), f"epoch {epoch}"
        assert (gsched.T_i, gsched.last_epoch) == (tsched.T_i, tsched.last_epoch)


@pytest.mark.parametrize("name, options, message", [
    ("LinearLR", {"start_factor": 0}, "Starting multiplicative factor expected to be greater than 0"),
    ("LinearLR", {"end_factor": 1.5}, "Ending multiplicative factor expected to be between 0 and 1"),
    ("ConstantLR", {"factor": 2}, "Constant multiplicative factor expected to be between 0 and 1"),
    ("CosineAnnealingWarmRestarts", {"T_0": 0}, "Expected positive integer T_0, but got 0"),
    ("CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 0}, "Expected integer T_mult >= 1, but got 0"),
])
def test_bad_scheduler_settings_are_refused_as_torch(session, name, options, message):
    with pytest.raises(ValueError, match=message):
        getattr(torch.optim.lr_scheduler, name)(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), **options)
    with pytest.raises(ValueError, match=message):
        getattr(gw.optim.lr_scheduler, name)(gw.optim.SGD([session.zeros(1, requires_grad=True)], lr=0.1), **options)


@pytest.mark.parametrize("betas", [(0.9, 0.9), (0.5, 0.8)])
def test_radam_rectifies_as_torchs_once_the_variance_is_defined(session, betas):
    """A short second-moment average: the rectified step starts at step 6 (beta2 0.9) or 8 (0.8); ten steps cross it."""
    pair = Pair(session, extra=True)
    gopt = gw.optim.RAdam(pair.g.values(), lr=0.05, betas=betas)
    topt = torch.optim.RAdam(pair.t.values(), lr=0.05, betas=betas)
    pair.train(gopt, topt, steps=10)
