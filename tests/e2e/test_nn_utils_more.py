"""The rest of ``torch.nn.utils`` against torch: batch-norm fusion (conv, transposed conv, linear), ``skip_init``,
the memory-format converters and torch's submodule names (``clip_grad``, ``convert_parameters``, ``fusion``); and the
wrappers of multi-device scripts: ``DataParallel``, ``SyncBatchNorm`` (one device: batch norm), ``NLLLoss2d``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradwire as gw
from gradwire import nn

torch = pytest.importorskip("torch")


def _trained_norm(ours, theirs, features, rng):
    """Both norms given the same non-trivial running statistics and affine parameters, then put in eval mode."""
    state = {"weight": rng.uniform(0.5, 2, features), "bias": rng.standard_normal(features),
             "running_mean": rng.standard_normal(features), "running_var": rng.uniform(0.5, 3, features)}
    ours.load_state_dict({k: v for k, v in state.items()}, strict=False)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)
    ours.eval(), theirs.eval()


def _copy(ours, theirs):
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})


@pytest.mark.parametrize("kind", ["conv2d", "conv2d-no-bias", "conv_transpose2d", "conv1d", "linear", "linear-one-feature"])
def test_fused_layers_compute_what_the_pair_did_as_torchs(session, kind):
    rng = np.random.default_rng(5)
    if kind.startswith("conv"):
        d = int(kind[-2]) if kind[-2].isdigit() else 2
        transpose = "transpose" in kind
        name = ("ConvTranspose" if transpose else "Conv") + f"{d}d"
        kwargs = {"bias": "no-bias" not in kind}
        conv, t_conv = getattr(nn, name)(3, 4, 3, dtype=gw.float64, **kwargs), getattr(torch.nn, name)(3, 4, 3, dtype=torch.float64, **kwargs)
        norm, t_norm = getattr(nn, f"BatchNorm{d}d")(4, dtype=gw.float64), getattr(torch.nn, f"BatchNorm{d}d")(4, dtype=torch.float64)
        x = rng.standard_normal((2, 3) + (6,) * d)
        fuse = lambda lib, a, b: lib.nn.utils.fuse_conv_bn_eval(a, b, transpose=transpose)  # noqa: E731
    else:
        features = 1 if "one" in kind else 4
        conv, t_conv = nn.Linear(3, 4, dtype=gw.float64), torch.nn.Linear(3, 4, dtype=torch.float64)
        norm, t_norm = nn.BatchNorm1d(features, dtype=gw.float64), torch.nn.BatchNorm1d(features, dtype=torch.float64)
        x = rng.standard_normal((5, 3))
        fuse = lambda lib, a, b: lib.nn.utils.fuse_linear_bn_eval(a, b)  # noqa: E731
    _copy(conv, t_conv)
    original = conv.weight.detach().numpy()
    _trained_norm(norm, t_norm, norm.num_features, rng)
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        fuse(gw, conv, norm)  # conv still training
    conv.eval(), t_conv.eval()
    fused, t_fused = fuse(gw, conv, norm), fuse(torch, t_conv, t_norm)
    assert type(fused) is type(conv) and fused is not conv and fused.weight is not conv.weight
    assert isinstance(fused.weight, nn.Parameter) and fused.weight.requires_grad and fused.weight.is_leaf
    np.testing.assert_allclose(fused.weight.detach().numpy(), t_fused.weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(fused.bias.detach().numpy(), t_fused.bias.detach().numpy(), rtol=1e-12, atol=1e-15)
    if kind != "linear-one-feature":  # (a 1-feature norm after a 4-output linear: torch fuses it, the pair does not run)
        pair = norm(conv(session.tensor(x))).detach().numpy()
        np.testing.assert_allclose(fused(session.tensor(x)).detach().numpy(), pair, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(conv.weight.detach().numpy(), original)  # the original layer untouched


def test_fusion_checks_as_torchs(session):
    linear, norm = nn.Linear(3, 4).eval(), nn.BatchNorm1d(5).eval()
    t_linear, t_norm = torch.nn.Linear(3, 4).eval(), torch.nn.BatchNorm1d(5).eval()
    with pytest.raises(AssertionError) as t_error:
        torch.nn.utils.fuse_linear_bn_eval(t_linear, t_norm)
    with pytest.raises(AssertionError) as error:
        gw.nn.utils.fuse_linear_bn_eval(linear, norm)
    assert str(error.value) == str(t_error.value)
    untracked = nn.BatchNorm1d(4, track_running_stats=False).eval()
    with pytest.raises(AssertionError, match="bn.running_mean and bn.running_var must not be None"):
        gw.nn.utils.fuse_linear_bn_eval(linear, untracked)


def test_fuse_weights_functions_take_missing_parts_as_torchs(session):
    rng = np.random.default_rng(8)
    w, rm, rv = rng.standard_normal((4, 3, 2, 2)), rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    ours = gw.nn.utils.fuse_conv_bn_weights(session.tensor(w), None, session.tensor(rm), session.tensor(rv), 1e-3, None, None)
    theirs = torch.nn.utils.fuse_conv_bn_weights(torch.tensor(w), None, torch.tensor(rm), torch.tensor(rv), 1e-3, None, None)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
        assert a.requires_grad == b.requires_grad
    lw = rng.standard_normal((4, 3))
    ours = gw.nn.utils.fuse_linear_bn_weights(session.tensor(lw), None, session.tensor(rm), session.tensor(rv), 1e-5, session.tensor(rv), session.tensor(rm))
    theirs = torch.nn.utils.fuse_linear_bn_weights(torch.tensor(lw), None, torch.tensor(rm), torch.tensor(rv), 1e-5, torch.tensor(rv), torch.tensor(rm))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)


def test_skip_init_leaves_parameters_for_the_caller(session):
    layer = gw.nn.utils.skip_init(nn.Linear, 10, 5, dtype=gw.float64)
    assert type(layer) is nn.Linear and tuple(layer.weight.shape) == (5, 10) and layer.weight.dtype == gw.float64
    assert layer.weight.requires_grad and layer.weight.is_leaf
    nn.init.orthogonal_(layer.weight)  # the caller's own initialization, as the idiom goes
    w = layer.weight.detach().numpy()
    np.testing.assert_allclose(w @ w.T, np.eye(5), atol=1e-10)

    class NoDevice(nn.Module):
        def __init__(self, n):
            super().__init__()

    class TorchNoDevice(torch.nn.Module):
        def __init__(self, n):
            super().__init__()

    for lib, cls in ((torch, TorchNoDevice), (gw, NoDevice)):
        with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip initialization"):
            lib.nn.utils.skip_init(cls, 3)
    with pytest.raises(RuntimeError, match="Expected a Module; got"):
        gw.nn.utils.skip_init(int, 3)


def test_torchs_submodule_names_import(session):
    from gradwire.nn.utils.clip_grad import clip_grad_norm_
    from gradwire.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters
    from gradwire.nn.utils.fusion import fuse_conv_bn_eval  # noqa: F401
    from gradwire.nn.utils.memory_format import convert_conv2d_weight_memory_format

    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Conv3d(3, 1, 1))
    assert convert_conv2d_weight_memory_format(model, gw.channels_last) is model
    assert gw.nn.utils.convert_conv3d_weight_memory_format(model, gw.channels_last_3d) is model
    vector = parameters_to_vector(model.parameters())
    assert tuple(vector.shape) == (sum(p.numel() for p in model.parameters()),)
    vector_to_parameters(vector * 0, model.parameters())
    assert all(float(p.detach().abs().sum()) == 0 for p in model.parameters())
    p = nn.Parameter(session.ones(3))
    (p * 3).sum().backward()
    assert float(clip_grad_norm_([p], 1.0)) == pytest.approx(3 * 3 ** 0.5)


def test_data_parallel_wraps_the_model_as_torchs_does_without_gpus(session):
    model = nn.Sequential(nn.Linear(3, 4, dtype=gw.float64), nn.Tanh())
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh()).double()
    reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    wrapped, t_wrapped = nn.DataParallel(model), torch.nn.DataParallel(reference)
    assert wrapped.module is model and wrapped.device_ids == t_wrapped.device_ids == []
    assert list(wrapped.state_dict()) == list(t_wrapped.state_dict())  # "module." prefixed: checkpoints load either way
    assert repr(wrapped) == repr(t_wrapped)
    x = np.random.default_rng(1).standard_normal((5, 3))
    out = wrapped(session.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), t_wrapped(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    out.sum().backward()
    assert model[0].weight.grad is not None
    assert gw.nn.parallel.DataParallel is nn.DataParallel


def test_sync_batch_norm_is_batch_norm_on_one_device_as_torchs(session):
    model = nn.Sequential(nn.Conv2d(3, 4, 1, dtype=gw.float64), nn.BatchNorm2d(4, dtype=gw.float64), nn.Sequential(nn.BatchNorm2d(4, affine=False, dtype=gw.float64)))
    reference = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4), torch.nn.Sequential(torch.nn.BatchNorm2d(4, affine=False))).double()
    reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    weight = model[1].weight
    synced, t_synced = nn.SyncBatchNorm.convert_sync_batchnorm(model), torch.nn.SyncBatchNorm.convert_sync_batchnorm(reference)
    assert repr(synced) == repr(t_synced) and isinstance(synced[2][0], nn.SyncBatchNorm)
    assert synced[1].weight is weight  # the same parameter objects: an optimizer made before still steps them
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 4))
    np.testing.assert_allclose(synced(session.tensor(x)).detach().numpy(), t_synced(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(synced[1].running_mean.numpy(), t_synced[1].running_mean.numpy(), rtol=1e-10)
    norm, t_norm = nn.SyncBatchNorm(3, dtype=gw.float64), torch.nn.SyncBatchNorm(3, dtype=torch.float64)
    x5 = np.random.default_rng(3).standard_normal((2, 3, 2, 2, 2))  # any rank from 2 up
    np.testing.assert_allclose(norm(session.tensor(x5)).detach().numpy(), t_norm(torch.tensor(x5)).detach().numpy(), rtol=1e-10, atol=1e-12)
    for bad in (lambda lib: lib.nn.SyncBatchNorm(3)(lib.zeros(3)), lambda lib: lib.nn.SyncBatchNorm(0)(lib.zeros(3, 0))):
        with pytest.raises(ValueError) as t_error:
            bad(torch)
        with pytest.raises(ValueError) as error:
            bad(gw)
        assert str(error.value) == str(t_error.value)


def test_nll_loss_2d_is_nll_loss_with_torchs_warning(session):
    with warnings.catch_warnings(record=True) as t_record:
        warnings.simplefilter("always")
        torch.nn.NLLLoss2d()
    with pytest.warns(FutureWarning) as record:
        loss = nn.NLLLoss2d(ignore_index=1)
    assert str(record[0].message) == str(t_record[0].message)
    x = np.log(np.random.default_rng(4).dirichlet(np.ones(3), (2, 2, 2))).transpose(0, 3, 1, 2)
    target = np.array([[[0, 1], [2, 1]], [[2, 2], [0, 1]]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.nn.NLLLoss2d(ignore_index=1)(torch.tensor(x), torch.tensor(target)).item()
    assert loss(session.tensor(x), session.tensor(target)).item() == pytest.approx(expected, rel=1e-12)
