"""What training scripts written for torch.optim do beyond stepping, run against torch's: an optimizer of one's own
(``self.state``), the built-ins' ``state`` and state dicts, the schedulers' state dicts and warnings, the constructors'
refusals, and nn.utils' clipping helpers."""

from __future__ import annotations

import io
import warnings
from collections import defaultdict

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")


def _libs(session):
    return (("torch", torch), ("gw", gw))


def _my_sgd(lib):
    """torch's way of writing an optimizer: the state kept in self.state[p], made at the first step."""

    class MySGD(lib.optim.Optimizer):
        def __init__(self, params, lr=0.1, momentum=0.9):
            super().__init__(params, {"lr": lr, "momentum": momentum})

        @lib.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["momentum_buffer"] = lib.zeros_like(p)
                    state["step"] += 1
                    state["momentum_buffer"].mul_(group["momentum"]).add_(p.grad)
                    p.add_(state["momentum_buffer"], alpha=-group["lr"])

    return MySGD


def _train(lib, opt, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        sum((p**2).sum() for p in params).backward()
        opt.step()


def _values(params):
    return [p.detach().numpy().tolist() for p in params]


def test_an_optimizer_of_ones_own_keeps_its_state_as_torchs(session):
    results = {}
    for name, lib in _libs(session):
        params = [lib.tensor([1.0, -2.0], requires_grad=True), lib.tensor([0.5], requires_grad=True)]
        opt = _my_sgd(lib)([params[0]])
        calls = []
        opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
        opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
        assert type(opt.state) is defaultdict and opt.state[params[1]] == {}
        _train(lib, opt, params[:1], 2)
        opt.add_param_group({"params": params[1:], "lr": 0.2})
        _train(lib, opt, params, 1)
        saved = opt.state_dict()
        buffer = io.BytesIO()
        lib.save(saved, buffer)
        buffer.seek(0)
        loaded = lib.load(buffer)
        fresh_params = [lib.tensor(v, requires_grad=True) for v in _values(params)]
        fresh = _my_sgd(lib)([fresh_params[0]])
        fresh.add_param_group({"params": fresh_params[1:], "lr": 1.0})
        fresh.load_state_dict(loaded)
        _train(lib, opt, params, 2)
        _train(lib, fresh, fresh_params, 2)
        results[name] = (
            _values(params), _values(fresh_params), calls, saved["param_groups"], sorted(saved["state"]),
            {i: s["step"] for i, s in saved["state"].items()}, fresh.param_groups[1]["lr"],
        )
    for trained in (0, 1):  # the optimizer, and the one loaded from its saved state dict
        np.testing.assert_allclose(sum(results["gw"][trained], []), sum(results["torch"][trained], []), rtol=1e-6)
    assert results["gw"][2:] == results["torch"][2:]


def test_a_builtins_state_is_a_defaultdict_whose_writes_persist(session):
    def run(lib):
        p, q = lib.tensor([1.0, -2.0], requires_grad=True), lib.tensor([3.0], requires_grad=True)
        opt = lib.optim.SGD([p, q], lr=0.1, momentum=0.9)
        out = [type(opt.state).__name__, dict(opt.state[p]), len(opt.state)]
        opt.state[p]["momentum_buffer"] = lib.tensor([10.0, 10.0])  # assigned before the first step
        (p.sum() + q.sum()).backward()
        opt.step()
        out.append(_values([p, q]))
        opt.state[p]["momentum_buffer"].zero_()  # the state's own tensor, changed in place
        del opt.state[q]
        opt.step()
        out.append(_values([p, q]))
        opt.state = defaultdict(dict)  # a reset
        opt.step()
        out.append(_values([p, q]))
        return out

    assert run(gw) == run(torch)


@pytest.mark.parametrize("name", ["Adam", "NAdam", "ASGD", "Rprop", "Adagrad"])
def test_state_dict_numbers_are_0d_tensors_as_torchs(session, name):
    def run(lib):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        opt = getattr(lib.optim, name)([p], lr=0.1)
        _train(lib, opt, [p], 2)
        opt.state[p]["step"] = lib.tensor(7.0)  # read back as torch's 0-d tensor, written back as one
        _train(lib, opt, [p], 1)
        values = opt.state_dict()["state"][0]
        numbers = {k: (v.ndim, str(v.dtype).replace("torch.", ""), round(v.item(), 5)) for k, v in values.items() if v.ndim == 0}
        return numbers, list(values)

    assert run(gw) == run(torch)


def test_load_state_dict_takes_numbers_and_tensors_for_step(session):
    p = session.tensor([1.0, 2.0], requires_grad=True)
    opt = gw.optim.Adam([p], lr=0.1)
    _train(gw, opt, [p], 2)
    saved = opt.state_dict()
    for step in (2.0, torch.tensor(2.0), saved["state"][0]["step"]):
        fresh = gw.optim.Adam([session.tensor([1.0, 2.0], requires_grad=True)], lr=0.1)
        fresh.load_state_dict({"state": {0: {**saved["state"][0], "step": step}}, "param_groups": saved["param_groups"]})
        assert fresh.state_dict()["state"][0]["step"].item() == 2.0


def _opt(lib, name="SGD", **options):
    return getattr(lib.optim, name)([lib.tensor([1.0, 2.0], requires_grad=True)], **{"lr": 0.1, **options})


def _outcome(f):
    """What ``f()`` gave: its value or its error, and its warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = ("ok", f())
        except Exception as e:  # noqa: BLE001 - the error is the outcome compared
            value = (type(e).__name__, str(e))
    return value, [(w.category.__name__, str(w.message)) for w in caught]


def _same(f):
    assert _outcome(lambda: f(gw)) == _outcome(lambda: f(torch))


SCHEDULERS = {
    "StepLR": lambda S, o: S.StepLR(o, 2),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=20),
    "OneCycleLR-linear-3": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=20, anneal_strategy="linear", three_phase=True),
    "CyclicLR": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3),
    "LambdaLR": lambda S, o: S.LambdaLR(o, lambda e: 0.5**e),
    "SequentialLR": lambda S, o: S.SequentialLR(o, [S.ConstantLR(o, 0.5, total_iters=2), S.ExponentialLR(o, 0.9)], [3]),
    "ReduceLROnPlateau": lambda S, o: S.ReduceLROnPlateau(o, patience=1),
}


def _keys_and_values(state):
    if isinstance(state, dict):
        return {k: _keys_and_values(v) for k, v in sorted(state.items())}
    if isinstance(state, (list, tuple)):
        return [_keys_and_values(v) for v in state]
    return round(state, 10) if isinstance(state, float) else state


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_state_dicts_are_torchs_and_save_and_load(session, name, tmp_path):
    def run(lib):
        opt = _opt(lib, momentum=0.9)
        scheduler = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
        for _ in range(5):
            opt.step()
            scheduler.step(1.0) if name == "ReduceLROnPlateau" else scheduler.step()
        saved = scheduler.state_dict()
        lib.save(saved, tmp_path / f"{lib.__name__}.pt")
        loaded = lib.load(tmp_path / f"{lib.__name__}.pt", **({"weights_only": False} if lib is torch else {}))
        again = _opt(lib, momentum=0.9)
        again.load_state_dict(opt.state_dict())
        resumed = SCHEDULERS[name](lib.optim.lr_scheduler, again)
        resumed.load_state_dict(loaded)
        rates = []
        for _ in range(4):
            for o, s in ((opt, scheduler), (again, resumed)):
                o.step()
                s.step(1.0) if name == "ReduceLROnPlateau" else s.step()
            rates.append((round(opt.param_groups[0]["lr"], 10), round(again.param_groups[0]["lr"], 10)))
        return _keys_and_values({k: v for k, v in saved.items() if k != "lr_lambdas"}), rates

    assert run(gw) == run(torch)


def test_scheduler_warnings_are_torchs(session):
    def early(lib):
        opt = _opt(lib)
        scheduler = lib.optim.lr_scheduler.StepLR(opt, 2)
        scheduler.step()
        scheduler.step()  # (once)
        opt.step()

    _same(early)
    _same(lambda lib: lib.optim.lr_scheduler.StepLR(_opt(lib), 2).get_lr())
    _same(lambda lib: (lambda o: (o.step(), lib.optim.lr_scheduler.StepLR(o, 2).step(3)))(_opt(lib)))
    _same(lambda lib: issubclass(lib.optim.lr_scheduler._LRScheduler, lib.optim.lr_scheduler.LRScheduler))
    _same(lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(_opt(lib), min_lr=[0.1, 0.2]))
    _same(lambda lib: lib.optim.lr_scheduler.StepLR(_opt(lib), 2, last_epoch=3))


def test_constructors_refuse_and_accept_as_torchs(session):
    _same(lambda lib: len(lib.optim.SGD({lib.tensor([1.0], requires_grad=True)}, lr=0.1).param_groups[0]["params"]))
    _same(lambda lib: lib.optim.SGD([{"params": {lib.tensor([1.0], requires_grad=True)}}], lr=0.1))
    for name in ("SGD", "Adam", "AdamW", "Adagrad"):
        _same(lambda lib: _opt(lib, name, foreach=True, fused=True))
        _same(lambda lib: _opt(lib, name, fused=True).defaults["fused"])
    two_groups = lambda lib: repr(lib.optim.SGD([{"params": [lib.tensor([1.0], requires_grad=True)]},  # noqa: E731
                                                 {"params": [lib.tensor([2.0], requires_grad=True)], "lr": 0.3}], lr=0.1))
    _same(two_groups)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "RAdam", "NAdam", "ASGD", "Adadelta", "RMSprop", "Rprop"])
def test_capturable_on_a_cpu_is_refused_at_the_step_as_torchs(session, name):
    if session.device != "cpu":
        pytest.skip("torch refuses capturable=True on a CPU only")

    def run(lib):
        opt = _opt(lib, name, capturable=True)
        opt.step()  # no gradient: nothing checked yet
        p = opt.param_groups[0]["params"][0]
        (p**2).sum().backward()
        opt.step()

    _same(run)


def _grads(lib):
    a, b = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True), lib.tensor([0.5, -6.0], requires_grad=True)
    ((a * lib.tensor([[1.0, -2.0], [3.0, 0.5]])).sum() + (b * b).sum()).backward()
    return [a, b]


def test_clip_helpers_are_torchs(session):
    round5 = lambda t: np.round(t.detach().numpy(), 5).tolist()  # noqa: E731
    _same(lambda lib: round5(lib.nn.utils.clip_grad_norm_([], 1.0)))
    _same(lambda lib: round5(lib.nn.utils.clip_grad_norm_((p for p in []), 1.0)))
    _same(lambda lib: round5(lib.nn.utils.clip_grad_norm(_grads(lib), 1.0)))
    _same(lambda lib: round5(lib.nn.utils.get_total_norm([p.grad for p in _grads(lib)], 3.0)))
    _same(lambda lib: round5(lib.nn.utils.get_total_norm([])))
    _same(lambda lib: lib.nn.utils.get_total_norm([lib.tensor([float("inf")])], error_if_nonfinite=True))
    _same(lambda lib: (lambda ps: (lib.nn.utils.clip_grads_with_norm_(ps, 1.0, lib.tensor(10.0)), [round5(p.grad) for p in ps]))(_grads(lib)))
    _same(lambda lib: (lambda ps: (lib.nn.utils.clip_grads_with_norm_(ps, 100.0, lib.tensor(10.0)), [round5(p.grad) for p in ps]))(_grads(lib)))
    _same(lambda lib: lib.nn.utils.vector_to_parameters(lib.arange(5.0), _grads(lib) + [lib.tensor([1.0], requires_grad=True)]))
    _same(lambda lib: lib.nn.utils.vector_to_parameters(lib.arange(8.0), [lib.tensor([1.0], requires_grad=True)] * 2 + [lib.zeros(3, 2)]))
