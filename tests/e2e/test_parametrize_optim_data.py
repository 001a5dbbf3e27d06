"""``gw.utils.data``'s StackDataset, get_worker_info, default_convert and DistributedSampler, ``gw.nn.utils``'s
parametrize, parametrizations and prune, and the Adafactor optimizer, through a real session against PyTorch on the
CPU: values, gradients, index lists, state_dict keys, optimizer steps and errors in torch's type and words."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import gradwire as gw
from gradwire.utils import data as gw_data

from .test_optim import TOL, Pair, _loss

torch = pytest.importorskip("torch")
from torch.utils import data as torch_data  # noqa: E402
import torch.nn.utils.parametrize  # noqa: E402,F401 - torch.nn.utils's submodules, imported by name
import torch.nn.utils.prune  # noqa: E402,F401


def _close(ours, theirs, rtol=1e-6, atol=1e-7):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    np.testing.assert_allclose(ours.detach().numpy() if hasattr(ours, "detach") else np.asarray(ours), theirs, rtol=rtol, atol=atol)


def _raises_as_torch(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as raised:
        ours()
    assert str(raised.value) == str(expected.value).replace("torch.nn.", "gradwire.nn.")  # (a class named by its module)


# --- data -------------------------------------------------------------------------------------------------------


def test_stack_dataset_tuples_and_dicts_as_torchs():
    a, b = list(range(4)), [x * 10 for x in range(4)]
    for args, kwargs in (((a, b), {}), ((), {"x": a, "y": b})):
        ours, theirs = gw_data.StackDataset(*args, **kwargs), torch_data.StackDataset(*args, **kwargs)
        assert len(ours) == len(theirs) == 4
        assert [ours[i] for i in range(4)] == [theirs[i] for i in range(4)]
    _raises_as_torch(lambda: gw_data.StackDataset(a, x=b), lambda: torch_data.StackDataset(a, x=b))
    _raises_as_torch(lambda: gw_data.StackDataset(a, b[:3]), lambda: torch_data.StackDataset(a, b[:3]))
    _raises_as_torch(lambda: gw_data.StackDataset(), lambda: torch_data.StackDataset())


def test_stack_dataset_in_a_loader_collates_each_field(session):
    x = np.arange(12.0).reshape(6, 2)
    loader = gw_data.DataLoader(gw_data.StackDataset(features=x, label=np.arange(6)), batch_size=4, session=session)
    first = next(iter(loader))
    assert set(first) == {"features", "label"} and first["features"].shape == (4, 2)
    np.testing.assert_array_equal(first["label"].numpy(), [0, 1, 2, 3])
    assert gw_data.get_worker_info() is None and torch_data.get_worker_info() is None


def test_default_convert_as_torchs(session):
    Point = collections.namedtuple("Point", ["x", "y"])
    sample = {"a": np.ones(2), "b": (np.float64(1.5), 3, "x"), "c": [np.array(["s"])], "d": Point(np.arange(3), 2)}
    ours, theirs = gw_data.default_convert(sample, session=session), torch_data.default_convert(sample)
    assert isinstance(ours["a"], gw.Tensor) and ours["a"].dtype == gw.float64
    _close(ours["a"], theirs["a"])
    assert type(ours["b"]) is type(theirs["b"]) is list and ours["b"][1:] == theirs["b"][1:]
    assert isinstance(ours["b"][0], gw.Tensor) and ours["b"][0].shape == () and ours["b"][0].item() == 1.5
    assert isinstance(ours["c"][0], np.ndarray)  # strings are left alone
    assert type(ours["d"]) is Point and ours["d"].y == 2 and ours["d"].x.dtype == gw.int64


@pytest.mark.parametrize("length,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 5, False), (12, 4, False), (12, 4, True), (11, 4, True)])
def test_distributed_sampler_index_lists_as_torchs(length, replicas, drop_last):
    for rank in range(replicas):
        ours = gw_data.DistributedSampler(range(length), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(length), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_sampler_shuffles_by_epoch_the_same_on_every_replica(session):
    def shares(epoch):
        samplers = [gw_data.DistributedSampler(range(20), num_replicas=4, rank=r, seed=3) for r in range(4)]
        for s in samplers:
            s.set_epoch(epoch)
        return [list(s) for s in samplers]

    first = shares(0)
    assert sorted(sum(first, [])) == list(range(20))  # the replicas' shares partition the dataset
    assert shares(0) == first and shares(1) != first
    _raises_as_torch(lambda: gw_data.DistributedSampler(range(5), num_replicas=2, rank=2),
                     lambda: torch_data.DistributedSampler(range(5), num_replicas=2, rank=2))
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        gw_data.DistributedSampler(range(5))
    loader = gw_data.DataLoader(list(range(8)), batch_size=2, sampler=gw_data.DistributedSampler(range(8), num_replicas=2, rank=1, shuffle=False),
                                session=session)
    assert [b.numpy().tolist() for b in loader] == [[1, 3], [5, 7]]


# --- Adafactor ----------------------------------------------------------------------------------------------------

ADAFACTOR = [
    {},
    {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-6, 1e-2), "d": 1.5, "weight_decay": 0.1},
    {"lr": 0.02, "maximize": True},
]


@pytest.mark.parametrize("options", ADAFACTOR, ids=str)
def test_adafactor_matches_torch_step_by_step(session, options):
    pair = Pair(session, extra=True)  # matrices (row and column factors), vectors, and a parameter with no grad
    gopt, topt = gw.optim.Adafactor(pair.g.values(), **options), torch.optim.Adafactor(pair.t.values(), **options)
    pair.train(gopt, topt, steps=6)
    assert gopt.param_groups == [{**g, "params": gopt.param_groups[0]["params"]} for g in topt.param_groups]


def test_adafactor_state_dict_and_its_round_trip(session):
    pair = Pair(session)
    gopt, topt = gw.optim.Adafactor(pair.g.values(), lr=0.05), torch.optim.Adafactor(pair.t.values(), lr=0.05)
    pair.train(gopt, topt, steps=3)
    gstate, tstate = gopt.state_dict(), topt.state_dict()
    assert gstate["param_groups"] == tstate["param_groups"]
    for index, tvalues in tstate["state"].items():
        gvalues = gstate["state"][index]
        assert list(gvalues) == list(tvalues)  # step, then row_var and col_var (a matrix) or variance (a vector)
        for key, tvalue in tvalues.items():
            if key == "step":
                assert gvalues[key] == tvalue.item()
            else:
                assert gvalues[key].shape == tuple(tvalue.shape)
                np.testing.assert_allclose(gvalues[key].numpy(), tvalue.numpy(), rtol=TOL, atol=TOL)
    saved = {k: v.detach().numpy() for k, v in pair.g.items()}
    numbers = {"state": {i: {k: (v.numpy() if isinstance(v, gw.Tensor) else v) for k, v in s.items()} for i, s in gstate["state"].items()},
               "param_groups": gstate["param_groups"]}
    torchs = {"state": {i: {k: v.clone() for k, v in s.items()} for i, s in tstate["state"].items()}, "param_groups": tstate["param_groups"]}
    pair.train(gopt, topt, steps=2)
    for loaded in (numbers, torchs):
        restored = {k: session.tensor(v, requires_grad=True) for k, v in saved.items()}
        fresh = gw.optim.Adafactor(restored.values(), lr=1.0)
        fresh.load_state_dict(loaded)
        assert fresh.param_groups[0]["lr"] == 0.05
        for _ in range(2):
            fresh.zero_grad()
            _loss(restored, pair.gx, pair.gy).backward()
            fresh.step()
        for k in restored:
            np.testing.assert_allclose(restored[k].detach().numpy(), pair.t[k].detach().numpy(), rtol=TOL, atol=TOL)


def test_adafactor_refuses_what_torchs_refuses(session):
    w = session.tensor(np.ones((2, 2)), requires_grad=True)
    t = torch.ones(2, 2, requires_grad=True)
    for options in ({"lr": -1.0}, {"beta2_decay": 0.5}, {"eps": (-1.0, 1e-3)}, {"eps": (None, -1.0)}, {"d": 0.5}, {"weight_decay": -1.0}):
        _raises_as_torch(lambda: gw.optim.Adafactor([w], **options), lambda: torch.optim.Adafactor([t], **options))


# --- parametrize and parametrizations -----------------------------------------------------------------------------


def _linears(session, n_in=3, n_out=3, seed=0):
    torch.manual_seed(seed)
    theirs = torch.nn.Linear(n_in, n_out).double()
    ours = gw.nn.Linear(n_in, n_out, session=session).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


class _Symmetric(gw.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class _TSymmetric(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class _Scale(gw.nn.Module):  # no right_inverse
    def forward(self, X):
        return 2 * X


class _TScale(torch.nn.Module):
    def forward(self, X):
        return 2 * X


_TSymmetric.__name__, _TScale.__name__ = "_Symmetric", "_Scale"  # (named in torch's error messages)


def _same_module(session, ours, theirs, x=None):
    """The same state dict keys and values, and the same output and gradients for one input (a pruned weight's
    gradient too: zero where pruned)."""
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for key in theirs_sd:
        _close(ours_sd[key], theirs_sd[key])
    x = np.random.default_rng(2).standard_normal((4, theirs.in_features)) if x is None else x
    out, t_out = ours(session.tensor(x)), theirs(torch.tensor(x))
    _close(out, t_out)
    (out * out).sum().backward()
    (t_out * t_out).sum().backward()
    for (name, p), (t_name, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == t_name
        _close(p.grad, tp.grad)


def test_register_parametrization_layout_values_gradients_and_assignment(session):
    P = gw.nn.utils.parametrize
    TP = torch.nn.utils.parametrize
    ours, theirs = _linears(session)
    weight, t_weight = ours.weight, theirs.weight
    P.register_parametrization(ours, "weight", _Symmetric())
    TP.register_parametrization(theirs, "weight", _TSymmetric())
    assert type(ours).__name__ == type(theirs).__name__ == "ParametrizedLinear" and isinstance(ours, gw.nn.Linear)
    assert P.type_before_parametrizations(ours) is gw.nn.Linear
    assert ours.parametrizations.weight.original is weight and theirs.parametrizations.weight.original is t_weight  # the same Parameter
    assert P.is_parametrized(ours) and P.is_parametrized(ours, "weight") and not P.is_parametrized(ours, "bias")
    _same_module(session, ours, theirs)
    np.testing.assert_allclose(ours.weight.detach().numpy(), ours.weight.detach().numpy().T)
    # a second parametrization is applied after the first; assignment goes through right_inverse (torch's error without one)
    P.register_parametrization(ours, "weight", _Scale())
    TP.register_parametrization(theirs, "weight", _TScale())
    _same_module(session, ours, theirs)
    _raises_as_torch(lambda: setattr(ours, "weight", session.tensor(np.eye(3))), lambda: setattr(theirs, "weight", torch.eye(3, dtype=torch.float64)))
    ours2, theirs2 = _linears(session)
    P.register_parametrization(ours2, "weight", _Symmetric())
    TP.register_parametrization(theirs2, "weight", _TSymmetric())
    value = np.arange(9.0).reshape(3, 3)
    ours2.weight = session.tensor(value)
    theirs2.weight = torch.tensor(value)
    _close(ours2.parametrizations.weight.original, theirs2.parametrizations.weight.original)
    _close(ours2.weight, theirs2.weight)


def test_parametrization_shape_checks_and_unsafe(session):
    class Rows(gw.nn.Module):
        def forward(self, X):
            return X[:2]

    class TRows(torch.nn.Module):
        def forward(self, X):
            return X[:2]

    ours, theirs = _linears(session)
    _raises_as_torch(lambda: gw.nn.utils.parametrize.register_parametrization(ours, "weight", Rows()),
                     lambda: torch.nn.utils.parametrize.register_parametrization(theirs, "weight", TRows()))
    _raises_as_torch(lambda: gw.nn.utils.parametrize.register_parametrization(ours, "nothing", Rows()),
                     lambda: torch.nn.utils.parametrize.register_parametrization(theirs, "nothing", TRows()))
    gw.nn.utils.parametrize.register_parametrization(ours, "weight", Rows(), unsafe=True)
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", TRows(), unsafe=True)
    assert ours.weight.shape == tuple(theirs.weight.shape) == (2, 3)
    assert repr(ours) == repr(theirs).replace("TRows", "Rows")


def test_cached_computes_once_per_block(session):
    ours, _ = _linears(session)
    gw.nn.utils.parametrize.register_parametrization(ours, "weight", _Symmetric())
    assert ours.weight is not ours.weight
    with gw.nn.utils.parametrize.cached():
        first = ours.weight
        assert ours.weight is first
    assert ours.weight is not first


@pytest.mark.parametrize("leave_parametrized", [True, False])
def test_remove_parametrizations_as_torchs(session, leave_parametrized):
    P, TP = gw.nn.utils.parametrize, torch.nn.utils.parametrize
    ours, theirs = _linears(session)
    P.register_parametrization(ours, "weight", _Symmetric())
    TP.register_parametrization(theirs, "weight", _TSymmetric())
    original = ours.parametrizations.weight.original
    P.remove_parametrizations(ours, "weight", leave_parametrized=leave_parametrized)
    TP.remove_parametrizations(theirs, "weight", leave_parametrized=leave_parametrized)
    assert type(ours) is gw.nn.Linear and not P.is_parametrized(ours) and "parametrizations" not in dict(ours.named_children())
    assert ours.weight is original and isinstance(ours.weight, gw.nn.Parameter)
    _same_module(session, ours, theirs)
    _raises_as_torch(lambda: P.remove_parametrizations(ours, "weight"), lambda: TP.remove_parametrizations(theirs, "weight"))


def test_weight_norm_parametrization_originals_and_removal(session):
    ours, theirs = _linears(session, 3, 4)
    gw.nn.utils.parametrizations.weight_norm(ours)
    torch.nn.utils.parametrizations.weight_norm(theirs)
    assert "parametrizations.weight.original0" in ours.state_dict()
    _same_module(session, ours, theirs)
    _raises_as_torch(lambda: gw.nn.utils.parametrize.remove_parametrizations(ours, "weight", leave_parametrized=False),
                     lambda: torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight", leave_parametrized=False))
    gw.nn.utils.parametrize.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    ours.zero_grad()
    theirs.zero_grad()
    _same_module(session, ours, theirs)


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5)], ids=str)
@pytest.mark.parametrize("orthogonal_map", [None, "matrix_exp", "cayley", "householder"])
def test_orthogonal_as_torchs(session, shape, orthogonal_map):
    ours, theirs = _linears(session, shape[1], shape[0], seed=3)
    gw.nn.utils.parametrizations.orthogonal(ours, orthogonal_map=orthogonal_map)
    torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map)
    Q = ours.weight.detach().numpy()
    small = min(shape)
    np.testing.assert_allclose(Q.T @ Q if shape[0] >= shape[1] else Q @ Q.T, np.eye(small), atol=1e-12)
    if shape[0] == shape[1]:  # the orthogonalized weight is unique; a non-square one is completed with random columns
        _close(ours.weight, theirs.weight, atol=1e-12)
    ours.load_state_dict(theirs.state_dict())  # torch's base: then every value and gradient is the same
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():  # away from the start, where the map is not the identity
        theirs.parametrizations.weight.original.add_(0.1 * torch.tensor(np.random.default_rng(4).standard_normal(shape)))
    ours.load_state_dict(theirs.state_dict())
    _same_module(session, ours, theirs)


@pytest.mark.parametrize("orthogonal_map,shape", [("matrix_exp", (3, 3)), ("cayley", (4, 2)), ("householder", (3, 3)), ("householder", (5, 3)),
                                                  ("householder", (3, 5))], ids=str)
def test_orthogonal_without_trivialization_as_torchs(session, shape, orthogonal_map):
    ours, theirs = _linears(session, shape[1], shape[0], seed=6)
    gw.nn.utils.parametrizations.orthogonal(ours, orthogonal_map=orthogonal_map, use_trivialization=False)
    torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map, use_trivialization=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # no base
    _same_module(session, ours, theirs)  # householder: the weight's own orthogonalization, from geqrf


def test_orthogonal_refusals(session):
    ours, theirs = _linears(session)
    _raises_as_torch(lambda: gw.nn.utils.parametrizations.orthogonal(ours, "bias"),
                     lambda: torch.nn.utils.parametrizations.orthogonal(theirs, "bias"))
    _raises_as_torch(lambda: gw.nn.utils.parametrizations.orthogonal(ours, orthogonal_map="qr"),
                     lambda: torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map="qr"))


@pytest.mark.parametrize("training", [True, False])
def test_spectral_norm_parametrization_as_torchs(session, training):
    ours, theirs = _linears(session, 4, 3)
    gw.nn.utils.parametrizations.spectral_norm(ours)
    torch.nn.utils.parametrizations.spectral_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # ..., parametrizations.weight.original, .0._u, .0._v
    ours.load_state_dict(theirs.state_dict())
    ours.train(training)
    theirs.train(training)
    s = np.linalg.svd(ours.weight.detach().numpy(), compute_uv=False)
    assert s[0] == pytest.approx(1.0, rel=1e-6)
    for _ in range(2):  # each read in training mode takes a step of the power method
        ours.zero_grad()
        theirs.zero_grad()
        _same_module(session, ours, theirs)


# --- prune --------------------------------------------------------------------------------------------------------


def _convs(session, seed=0):
    torch.manual_seed(seed)
    theirs = torch.nn.Conv2d(3, 4, 2).double()
    ours = gw.nn.Conv2d(3, 4, 2, session=session).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


_X = np.random.default_rng(5).standard_normal((2, 3, 5, 5))


@pytest.mark.parametrize("how", ["identity", "l1-fraction", "l1-count", "l1-twice", "ln-structured", "ln-structured-inf", "l1-scores",
                                 "ln-then-l1"])
def test_deterministic_pruning_as_torchs(session, how):
    ours, theirs = _convs(session)
    weight = ours.weight
    for prune, module in ((gw.nn.utils.prune, ours), (torch.nn.utils.prune, theirs)):
        if how == "identity":
            prune.identity(module, "weight")
        elif how == "l1-fraction":
            prune.l1_unstructured(module, "weight", amount=0.3)
        elif how == "l1-count":
            prune.l1_unstructured(module, "bias", amount=2)
        elif how == "l1-twice":  # the second prunes 40% of what the first left
            prune.l1_unstructured(module, "weight", amount=0.3)
            prune.l1_unstructured(module, "weight", amount=0.4)
        elif how == "ln-structured":
            prune.ln_structured(module, "weight", amount=0.5, n=2, dim=0)
        elif how == "ln-structured-inf":
            prune.ln_structured(module, "weight", amount=1, n=float("inf"), dim=1)
        elif how == "l1-scores":
            scores = np.arange(48.0).reshape(4, 3, 2, 2)
            prune.l1_unstructured(module, "weight", amount=5, importance_scores=session.tensor(scores) if module is ours else torch.tensor(scores))
        else:
            prune.ln_structured(module, "weight", amount=1, n=1, dim=0)
            prune.l1_unstructured(module, "weight", amount=0.5)
    assert gw.nn.utils.prune.is_pruned(ours) and torch.nn.utils.prune.is_pruned(theirs)
    if how != "l1-count":
        assert ours.weight_orig is weight and not isinstance(ours.weight, gw.nn.Parameter)
    _same_module(session, ours, theirs, _X)


def test_remove_makes_the_pruning_permanent(session):
    ours, theirs = _convs(session)
    for prune, module in ((gw.nn.utils.prune, ours), (torch.nn.utils.prune, theirs)):
        prune.l1_unstructured(module, "weight", amount=0.5)
        prune.remove(module, "weight")
    assert not gw.nn.utils.prune.is_pruned(ours) and isinstance(ours.weight, gw.nn.Parameter)
    assert int((ours.weight == 0).sum().item()) == 24  # half of its 48
    _same_module(session, ours, theirs, _X)
    _raises_as_torch(lambda: gw.nn.utils.prune.remove(ours, "bias"), lambda: torch.nn.utils.prune.remove(theirs, "bias"))


def test_global_unstructured_as_torchs(session):
    ours, theirs = [], []
    for seed in (0, 1):
        o, t = _convs(session, seed)
        ours.append(o)
        theirs.append(t)
    gw.nn.utils.prune.global_unstructured([(m, "weight") for m in ours] + [(ours[0], "bias")], gw.nn.utils.prune.L1Unstructured, amount=0.4)
    torch.nn.utils.prune.global_unstructured([(m, "weight") for m in theirs] + [(theirs[0], "bias")], torch.nn.utils.prune.L1Unstructured, amount=0.4)
    for o, t in zip(ours, theirs):
        _same_module(session, o, t, _X)
    _raises_as_torch(lambda: gw.nn.utils.prune.global_unstructured([(ours[1], "bias")], gw.nn.utils.prune.LnStructured, amount=1, n=2, dim=0),
                     lambda: torch.nn.utils.prune.global_unstructured([(theirs[1], "bias")], torch.nn.utils.prune.LnStructured, amount=1, n=2, dim=0))


def test_random_pruning_counts_and_layout(session):
    ours, theirs = _convs(session)
    gw.nn.utils.prune.random_unstructured(ours, "weight", amount=0.25)
    torch.nn.utils.prune.random_unstructured(theirs, "weight", amount=0.25)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert int(ours.weight_mask.sum().item()) == int(theirs.weight_mask.sum().item()) == 36
    o2, _ = _convs(session)
    gw.nn.utils.prune.random_structured(o2, "weight", amount=2, dim=0)
    kept = o2.weight_mask.numpy().reshape(4, -1)
    assert sorted(kept.min(axis=1)) == [0, 0, 1, 1] and (kept.min(axis=1) == kept.max(axis=1)).all()  # whole channels
    np.testing.assert_array_equal(o2.weight.detach().numpy(), o2.weight_orig.detach().numpy() * o2.weight_mask.numpy())


def test_pruning_amounts_refused_as_torchs(session):
    ours, theirs = _convs(session)
    for amount in (1.5, -1, 100):
        _raises_as_torch(lambda: gw.nn.utils.prune.l1_unstructured(ours, "weight", amount=amount),
                         lambda: torch.nn.utils.prune.l1_unstructured(theirs, "weight", amount=amount))
    _raises_as_torch(lambda: gw.nn.utils.prune.ln_structured(ours, "bias", amount=1, n=2, dim=0),
                     lambda: torch.nn.utils.prune.ln_structured(theirs, "bias", amount=1, n=2, dim=0))


# --- Muon ---------------------------------------------------------------------------------------------------------

MUON = [
    {},
    {"lr": 0.02, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0, "adjust_lr_fn": "match_rms_adamw"},
    {"lr": 0.01, "ns_steps": 3, "ns_coefficients": (2.0, -1.5, 0.5), "adjust_lr_fn": "original"},
]


def _matrices(session):
    rng = np.random.default_rng(8)
    values = {"w1": rng.standard_normal((6, 3)), "w2": rng.standard_normal((2, 6))}
    ours = {k: session.tensor(v, requires_grad=True) for k, v in values.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in values.items()}
    x, y = np.random.default_rng(9).standard_normal((8, 3)), np.random.default_rng(10).standard_normal((8, 2))
    return ours, theirs, (session.tensor(x), session.tensor(y)), (torch.tensor(x), torch.tensor(y))


def _mlp_loss(p, x, y):
    return (((x @ p["w1"].T).tanh() @ p["w2"].T - y) ** 2).mean()


def _train(gopt, topt, ours, theirs, gdata, tdata, steps):
    for step in range(steps):
        for opt, params, data in ((gopt, ours, gdata), (topt, theirs, tdata)):
            opt.zero_grad()
            _mlp_loss(params, *data).backward()
            opt.step()
        for k in ours:
            np.testing.assert_allclose(ours[k].detach().numpy(), theirs[k].detach().numpy(), rtol=TOL, atol=TOL, err_msg=f"{k} after step {step + 1}")


@pytest.mark.parametrize("options", MUON, ids=str)
def test_muon_matches_torch_step_by_step(session, options):
    ours, theirs, gdata, tdata = _matrices(session)
    gopt, topt = gw.optim.Muon(ours.values(), **options), torch.optim.Muon(theirs.values(), **options)
    _train(gopt, topt, ours, theirs, gdata, tdata, steps=5)
    assert gopt.param_groups == [{**g, "params": gopt.param_groups[0]["params"]} for g in topt.param_groups]


def test_muon_state_dict_round_trip_and_refusals(session):
    ours, theirs, gdata, tdata = _matrices(session)
    gopt, topt = gw.optim.Muon(ours.values(), lr=0.02), torch.optim.Muon(theirs.values(), lr=0.02)
    _train(gopt, topt, ours, theirs, gdata, tdata, steps=2)
    gstate, tstate = gopt.state_dict(), topt.state_dict()
    assert gstate["param_groups"] == tstate["param_groups"]
    for index, tvalues in tstate["state"].items():
        assert list(gstate["state"][index]) == list(tvalues) == ["momentum_buffer"]
        _close(gstate["state"][index]["momentum_buffer"], tvalues["momentum_buffer"], rtol=TOL, atol=TOL)
    fresh = gw.optim.Muon(ours.values(), lr=1.0)
    fresh.load_state_dict({"state": {i: {k: v.clone() for k, v in s.items()} for i, s in tstate["state"].items()}, "param_groups": tstate["param_groups"]})
    _train(fresh, topt, ours, theirs, gdata, tdata, steps=2)
    vector, t_vector = session.tensor(np.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    _raises_as_torch(lambda: gw.optim.Muon([vector]), lambda: torch.optim.Muon([t_vector]))
    for options in ({"lr": -1.0}, {"momentum": -0.5}, {"weight_decay": -1.0}, {"adjust_lr_fn": "other"}):
        _raises_as_torch(lambda: gw.optim.Muon(ours.values(), **options), lambda: torch.optim.Muon(theirs.values(), **options))
    too_many, t_too_many = gw.optim.Muon(ours.values(), ns_steps=100), torch.optim.Muon(theirs.values(), ns_steps=100)
    _mlp_loss(ours, *gdata).backward()
    _mlp_loss(theirs, *tdata).backward()
    _raises_as_torch(too_many.step, t_too_many.step)


def test_adafactor_float32_batched_matrices_and_a_scalar(session):
    """float32 (eps1 None: float32's eps), a batch of matrices (factors over its last two dims) and a 0-d parameter."""
    rng = np.random.default_rng(11)
    values = {"w": rng.standard_normal((2, 4, 3)).astype(np.float32), "b": rng.standard_normal(3).astype(np.float32), "c": np.float32(0.7)}
    ours = {k: session.tensor(np.asarray(v), requires_grad=True) for k, v in values.items()}
    theirs = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in values.items()}
    gopt, topt = gw.optim.Adafactor(ours.values(), lr=0.05), torch.optim.Adafactor(theirs.values(), lr=0.05)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    for _ in range(4):
        for opt, p, X in ((gopt, ours, session.tensor(x)), (topt, theirs, torch.tensor(x))):
            opt.zero_grad()
            (((X @ p["w"]).tanh() * p["b"]).sum() * p["c"]).backward()
            opt.step()
        for k in ours:
            assert ours[k].dtype == gw.float32
            _close(ours[k], theirs[k], rtol=1e-5, atol=1e-6)
    assert gopt.state_dict()["state"][0]["col_var"].shape == (2, 1, 3)


def test_a_pruned_weight_follows_its_orig_through_optimizer_steps(session):
    ours, theirs = _convs(session)
    gw.nn.utils.prune.l1_unstructured(ours, "weight", amount=0.5)
    torch.nn.utils.prune.l1_unstructured(theirs, "weight", amount=0.5)
    gopt, topt = gw.optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(2):  # each forward recomputes weight = weight_orig * weight_mask (the pre-hook)
        gopt.zero_grad()
        topt.zero_grad()
        _same_module(session, ours, theirs, _X)
        gopt.step()
        topt.step()
    _close(ours.weight, theirs.weight)
