"""Rprop, Adadelta, ASGD, CyclicLR and swa_utils against torch's: the same model, the same weights, step by step."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

from .test_optim import TOL, Pair, _loss

torch = pytest.importorskip("torch")

OPTIONS = [
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.08)}),  # the bounds are reached
    ("Rprop", {"lr": 0.02, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.6, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 0.5, "rho": 0.3, "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 0.1, "alpha": 0.5, "t0": 2, "weight_decay": 0.1}),  # averaging starts within the run
    ("ASGD", {"lr": 0.05, "t0": 0, "maximize": True}),
]


@pytest.mark.parametrize("name, options", OPTIONS, ids=[f"{n}-{o}" for n, o in OPTIONS])
def test_optimizer_matches_torch_step_by_step(session, name, options):
    pair = Pair(session, extra=True)
    gopt = getattr(gw.optim, name)(pair.g.values(), **options)
    topt = getattr(torch.optim, name)(pair.t.values(), **options)
    pair.train(gopt, topt)
    assert gopt.param_groups == [{**g, "params": gopt.param_groups[0]["params"]} for g in topt.param_groups]


@pytest.mark.parametrize("name, options", OPTIONS[1::3] + [("ASGD", {"lr": 0.05, "t0": 1})], ids=lambda v: str(v))
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
        for key, tvalue in tvalues.items():
            if tvalue.ndim == 0:  # step, and ASGD's eta and mu: numbers here, 0-d tensors (float32) in torch's
                assert gvalues[key] == pytest.approx(tvalue.item(), rel=1e-6)
            else:
                np.testing.assert_allclose(gvalues[key].numpy(), tvalue.numpy(), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("name, options", OPTIONS[1::3] + [("ASGD", {"lr": 0.05, "t0": 1})], ids=lambda v: str(v))
def test_load_state_dict_continues_as_torch_does(session, name, options):
    """Train 2 steps, save, train 2 more; a fresh optimizer loaded with the saved state trains the same; and
    torch's own state dict (0-d tensors for the numbers) loads too."""
    pair = Pair(session)
    gopt = getattr(gw.optim, name)(pair.g.values(), **options)
    topt = getattr(torch.optim, name)(pair.t.values(), **options)
    pair.train(gopt, topt, steps=2)
    saved = {k: v.detach().numpy() for k, v in pair.g.items()}
    tsaved = topt.state_dict()
    tsaved = {"state": {i: {k: v.clone() for k, v in s.items()} for i, s in tsaved["state"].items()}, "param_groups": tsaved["param_groups"]}
    state = gopt.state_dict()
    state = {"state": {i: {k: (v.numpy() if isinstance(v, gw.Tensor) else v) for k, v in s.items()} for i, s in state["state"].items()},
             "param_groups": state["param_groups"]}
    pair.train(gopt, topt, steps=2)
    after = {k: v.detach().numpy() for k, v in pair.g.items()}
    for loaded in (state, tsaved):
        restored = {k: session.tensor(v, requires_grad=True) for k, v in saved.items()}
        fresh = getattr(gw.optim, name)(restored.values(), lr=123.0)
        fresh.load_state_dict(loaded)
        assert fresh.param_groups[0]["lr"] == options["lr"]
        for _ in range(2):
            fresh.zero_grad()
            _loss(restored, pair.gx, pair.gy).backward()
            fresh.step()
        for k in after:
            np.testing.assert_allclose(restored[k].detach().numpy(), after[k], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name, options", [
    ("Rprop", {"lr": -0.1}),
    ("Rprop", {"etas": (1.0, 1.2)}),
    ("Rprop", {"etas": (0.5, 0.9)}),
    ("Adadelta", {"lr": -1.0}),
    ("Adadelta", {"rho": 1.5}),
    ("Adadelta", {"eps": -1.0}),
    ("Adadelta", {"weight_decay": -0.1}),
    ("ASGD", {"lr": -0.1}),
    ("ASGD", {"weight_decay": -0.1}),
])
def test_invalid_hyperparameters_raise_as_torch(session, name, options):
    with pytest.raises(ValueError) as expected:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **options)
    with pytest.raises(ValueError) as raised:
        getattr(gw.optim, name)([session.zeros(2, requires_grad=True)], **options)
    assert str(raised.value) == str(expected.value)


@pytest.mark.parametrize("name", ["Rprop", "Adadelta", "ASGD"])
def test_a_step_is_one_command_whatever_the_number_of_parameters(session, name):
    params = [session.randn(4, requires_grad=True) for _ in range(20)]
    sum(((p * p).sum() for p in params[1:]), (params[0] * params[0]).sum()).backward()
    opt = getattr(gw.optim, name)(params)
    session.sync()
    before = [p.detach().numpy() for p in params]
    queued = session._next_command
    opt.step()
    assert session._next_command - queued == 1
    assert all(not np.array_equal(b, p.detach().numpy()) for b, p in zip(before, params))


# --- CyclicLR ---------------------------------------------------------------------------------

CYCLIC = [
    {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3},
    {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "step_size_down": 4, "mode": "triangular2"},
    {"base_lr": [0.01, 0.02], "max_lr": [0.1, 0.3], "step_size_up": 3, "mode": "exp_range", "gamma": 0.9},
    {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "scale_fn": lambda x: 0.5 ** x, "scale_mode": "iterations"},
    {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "cycle_momentum": False},
    {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "base_momentum": [0.5, 0.6], "max_momentum": 0.95},
]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("options", CYCLIC, ids=range(len(CYCLIC)))
def test_cyclic_lr_rates_and_momenta_match_torch(session, optimizer, options):
    extra = {"momentum": 0.9} if optimizer == "SGD" else {}
    gopt = getattr(gw.optim, optimizer)([{"params": [session.zeros(2, requires_grad=True)]},
                                         {"params": [session.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1, **extra)
    topt = getattr(torch.optim, optimizer)([{"params": [torch.zeros(2, requires_grad=True)]},
                                            {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1, **extra)
    gsched = gw.optim.lr_scheduler.CyclicLR(gopt, **options)
    tsched = torch.optim.lr_scheduler.CyclicLR(topt, **options)
    key = "momentum" if optimizer == "SGD" else "betas"
    for step in range(14):
        assert gsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12), f"step {step}"
        for g, t in zip(gopt.param_groups, topt.param_groups):
            assert g[key] == pytest.approx(t[key], rel=1e-12), f"step {step}"
        gopt.step()
        topt.step()
        gsched.step()
        tsched.step()


def test_cyclic_lr_trains_sgd_with_momentum_as_torch(session):
    pair = Pair(session)
    gopt, topt = gw.optim.SGD(pair.g.values(), lr=0.1, momentum=0.9), torch.optim.SGD(pair.t.values(), lr=0.1, momentum=0.9)
    options = {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "mode": "triangular2"}
    pair.train(gopt, topt, gsched=gw.optim.lr_scheduler.CyclicLR(gopt, **options),
               tsched=torch.optim.lr_scheduler.CyclicLR(topt, **options))


def test_cyclic_lr_state_dict_and_refusals_as_torch(session):
    gopt = gw.optim.SGD([session.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    gsched = gw.optim.lr_scheduler.CyclicLR(gopt, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.8)
    tsched = torch.optim.lr_scheduler.CyclicLR(topt, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.8)
    for _ in range(4):
        gopt.step(), topt.step()
        gsched.step(), tsched.step()
    gstate, tstate = gsched.state_dict(), tsched.state_dict()
    assert set(gstate) - {"_is_initial"} <= set(tstate) | {"_is_initial"}
    for key in ("last_epoch", "base_lrs", "max_lrs", "total_size", "step_ratio", "mode", "gamma", "scale_mode", "_scale_fn_custom"):
        assert gstate[key] == tstate[key], key
    fresh = gw.optim.lr_scheduler.CyclicLR(gw.optim.SGD([session.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9), 0.01, 0.1)
    fresh.load_state_dict(gstate)
    assert fresh.scale_fn(3) == pytest.approx(0.8**3)
    adagrad = (gw.optim.Adagrad([session.zeros(2, requires_grad=True)]), torch.optim.Adagrad([torch.zeros(2, requires_grad=True)]))
    for kwargs in ({"mode": "nope"}, {}):
        with pytest.raises(ValueError) as expected:
            torch.optim.lr_scheduler.CyclicLR(adagrad[1], 0.01, 0.1, **kwargs)
        with pytest.raises(ValueError) as raised:
            gw.optim.lr_scheduler.CyclicLR(adagrad[0], 0.01, 0.1, **kwargs)
        assert str(raised.value) == str(expected.value)
    with pytest.raises(ValueError) as expected:
        torch.optim.lr_scheduler.CyclicLR(topt, [0.1, 0.2], 0.1)
    with pytest.raises(ValueError) as raised:
        gw.optim.lr_scheduler.CyclicLR(gopt, [0.1, 0.2], 0.1)
    assert str(raised.value) == str(expected.value)


# --- swa_utils --------------------------------------------------------------------------------


def _models(session):
    """The same small net with BatchNorm in gradwire and torch, float64, torch's weights copied in."""
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()
    gnet = gw.nn.Sequential(gw.nn.Linear(3, 4, session=session), gw.nn.BatchNorm1d(4, session=session), gw.nn.ReLU(),
                            gw.nn.Linear(4, 2, session=session)).double()
    gnet.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})
    return gnet, tnet


def _assert_same_state(gmodel, tmodel):
    gstate, tstate = gmodel.state_dict(), tmodel.state_dict()
    assert list(gstate) == list(tstate)
    for key in tstate:
        np.testing.assert_allclose(gstate[key].numpy(), tstate[key].numpy(), rtol=TOL, atol=TOL, err_msg=key)


@pytest.mark.parametrize("kind", ["swa", "avg_fn", "multi_avg_fn", "use_buffers"])
def test_averaged_model_averages_as_torchs(session, kind):
    gnet, tnet = _models(session)
    options = {
        "swa": ({}, {}),
        "avg_fn": ({"avg_fn": gw.optim.swa_utils.get_ema_avg_fn(0.8)}, {"avg_fn": torch.optim.swa_utils.get_ema_avg_fn(0.8)}),
        "multi_avg_fn": ({"multi_avg_fn": gw.optim.swa_utils.get_ema_multi_avg_fn(0.7)},
                         {"multi_avg_fn": torch.optim.swa_utils.get_ema_multi_avg_fn(0.7)}),
        "use_buffers": ({"use_buffers": True}, {"use_buffers": True}),
    }[kind]
    gswa = gw.optim.swa_utils.AveragedModel(gnet, **options[0])
    tswa = torch.optim.swa_utils.AveragedModel(tnet, **options[1])
    _assert_same_state(gswa, tswa)
    gopt, topt = gw.optim.SGD(gnet.parameters(), lr=0.1), torch.optim.SGD(tnet.parameters(), lr=0.1)
    gsched, tsched = gw.optim.swa_utils.SWALR(gopt, swa_lr=0.05, anneal_epochs=3), torch.optim.swa_utils.SWALR(topt, swa_lr=0.05, anneal_epochs=3)
    rng = np.random.default_rng(3)
    for epoch in range(4):
        x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
        for model, opt, X, Y in ((gnet, gopt, session.tensor(x), session.tensor(y)), (tnet, topt, torch.tensor(x), torch.tensor(y))):
            opt.zero_grad()
            ((model(X) - Y) ** 2).mean().backward()
            opt.step()
        gswa.update_parameters(gnet)
        tswa.update_parameters(tnet)
        gsched.step()
        tsched.step()
        assert gsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
        _assert_same_state(gswa, tswa)
    assert int(gswa.n_averaged.item()) == 4
    x = rng.standard_normal((5, 3))
    gswa.eval(), tswa.eval()
    np.testing.assert_allclose(gswa(session.tensor(x)).detach().numpy(), tswa(torch.tensor(x)).detach().numpy(), rtol=TOL, atol=TOL)
    # the averaged copy is its own: the model's weights are untouched by averaging, and vice versa
    assert gswa.module[0].weight is not gnet[0].weight
    _assert_same_state(gnet, tnet)


def test_update_bn_recomputes_the_statistics_as_torch(session):
    gnet, tnet = _models(session)
    gswa, tswa = gw.optim.swa_utils.AveragedModel(gnet), torch.optim.swa_utils.AveragedModel(tnet)
    rng = np.random.default_rng(4)
    batches = [rng.standard_normal((6, 3)) for _ in range(3)]
    gw.optim.swa_utils.update_bn([(session.tensor(b), None) for b in batches], gswa)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), None) for b in batches], tswa)
    _assert_same_state(gswa, tswa)
    assert gswa.module[1].momentum == 0.1 and gswa.training


@pytest.mark.parametrize("options", [{"swa_lr": 0.05}, {"swa_lr": [0.05, 0.2], "anneal_epochs": 2, "anneal_strategy": "linear"},
                                     {"swa_lr": 0.05, "anneal_epochs": 0}])
def test_swalr_rates_match_torch(session, options):
    gopt = gw.optim.SGD([{"params": [session.zeros(2, requires_grad=True)]}, {"params": [session.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    topt = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    gsched, tsched = gw.optim.swa_utils.SWALR(gopt, **options), torch.optim.swa_utils.SWALR(topt, **options)
    for step in range(12):
        assert gsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12), step
        gopt.step(), topt.step()
        gsched.step(), tsched.step()
    for bad in ({"swa_lr": 0.1, "anneal_strategy": "exp"}, {"swa_lr": 0.1, "anneal_epochs": -1}, {"swa_lr": [0.1]}):
        with pytest.raises(ValueError) as expected:
            torch.optim.swa_utils.SWALR(topt, **bad)
        with pytest.raises(ValueError) as raised:
            gw.optim.swa_utils.SWALR(gopt, **bad)
        assert str(raised.value) == str(expected.value)
