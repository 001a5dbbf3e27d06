"""More of torch.nn against torch, through a real server: RMSNorm, the channel dropouts, LP pooling, max unpooling and
the pools' indices, LocalResponseNorm, RReLU, ChannelShuffle, the Upsampling layers, the 3-D pads, nn.Buffer,
MultiLabelMarginLoss, TripletMarginWithDistanceLoss, pdist, in-place functional activations, InstanceNorm's running
statistics, the lazy modules, the functional ops torch exports at its top level (gw.conv2d, gw.dropout, ...), and
AdaptiveLogSoftmaxWithLoss."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import gradwire as gw
import gradwire.nn.functional as F
from gradwire import nn
from tests.e2e._torch_compare import assert_matches_torch

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(11)
SEQ = RNG.standard_normal((2, 3, 8))  # (N, C, L)
IMG = RNG.standard_normal((2, 4, 6, 6))  # (N, C, H, W)
VOL = RNG.standard_normal((2, 2, 4, 4, 6))  # (N, C, D, H, W)
ROWS = RNG.standard_normal((5, 4))
TRIPLE = [RNG.standard_normal((4, 5)) for _ in range(3)]
TOLERANCE = {"rtol": 1e-9, "atol": 1e-11}  # the layers' comparisons (indices are integers: exact)
LABELS = np.array([[3, 0, -1, 1], [1, 2, 3, -1], [2, -1, 0, 0]])


def _lib(lib):
    """(the functional module, the top-level module) of gradwire or torch."""
    return (F, gw) if lib is gw else (TF, torch)


def _unpool(lib, x, dims, **kwargs):
    f, _ = _lib(lib)
    values, indices = getattr(f, f"max_pool{dims}d_with_indices")(x, 2)
    return getattr(f, f"max_unpool{dims}d")(values, indices, 2, **kwargs)


def _labels(lib, like):
    return like.new_tensor(LABELS, dtype=lib.int64)


FUNCTIONAL = {
    "rms_norm": (lambda lib, x, w: _lib(lib)[0].rms_norm(x, (8,), w), SEQ, SEQ[0, 0]),
    "rms_norm-2dims-eps": (lambda lib, x: _lib(lib)[0].rms_norm(x, (3, 8), eps=1e-3), SEQ),
    "lp_pool1d": (lambda lib, x: _lib(lib)[0].lp_pool1d(x, 2, 3, 2), np.abs(SEQ) + 0.1),
    "lp_pool2d": (lambda lib, x: _lib(lib)[0].lp_pool2d(x, 1.5, 2), np.abs(IMG) + 0.1),
    "lp_pool2d-ceil": (lambda lib, x: _lib(lib)[0].lp_pool2d(x, 3, (2, 3), 2, ceil_mode=True), np.abs(IMG) + 0.1),
    "lp_pool3d": (lambda lib, x: _lib(lib)[0].lp_pool3d(x, 2, 2), VOL),
    "max_pool1d_with_indices": (lambda lib, x: _lib(lib)[0].max_pool1d_with_indices(x, 3, 2, 1), SEQ),
    "max_pool2d_with_indices": (lambda lib, x: _lib(lib)[0].max_pool2d_with_indices(x, 2), IMG),
    "max_pool3d_with_indices": (lambda lib, x: _lib(lib)[0].max_pool3d_with_indices(x, 2), VOL),
    "adaptive_max_pool1d_with_indices": (lambda lib, x: _lib(lib)[0].adaptive_max_pool1d_with_indices(x, 4), SEQ),
    "adaptive_max_pool2d_with_indices": (lambda lib, x: _lib(lib)[0].adaptive_max_pool2d_with_indices(x, (3, 2)), IMG),
    "adaptive_max_pool3d": (lambda lib, x: _lib(lib)[0].adaptive_max_pool3d(x, (3, 3, 4)), VOL),
    # windows that do not tile the input, with ties: torch's first maximum, its index, and the gradient to it alone
    "adaptive_max_pool2d-uneven-ties": (lambda lib, x: _lib(lib)[0].adaptive_max_pool2d(x, (4, 5), return_indices=True), np.round(IMG)),
    "adaptive_max_pool1d-uneven-ties": (lambda lib, x: _lib(lib)[0].adaptive_max_pool1d_with_indices(x, 5), np.round(SEQ)),
    "adaptive_max_pool3d-uneven-ties": (lambda lib, x: _lib(lib)[0].adaptive_max_pool3d_with_indices(x, (3, 3, 4)), np.round(VOL)),
    "adaptive_max_pool3d-indices": (lambda lib, x: _lib(lib)[0].adaptive_max_pool3d(x, (2, 1, 3), return_indices=True), VOL),
    "adaptive_max_pool3d-unbatched": (lambda lib, x: _lib(lib)[0].adaptive_max_pool3d(x[0], 2), VOL),
    "max_unpool1d": (lambda lib, x: _unpool(lib, x, 1), SEQ),
    "max_unpool1d-output_size": (lambda lib, x: _unpool(lib, x[:, :, :7], 1, output_size=[7]), SEQ),
    "max_unpool2d": (lambda lib, x: _unpool(lib, x, 2), IMG),
    "max_unpool2d-output_size": (lambda lib, x: _unpool(lib, x[..., :5, :5], 2, output_size=(2, 4, 5, 5)), IMG),
    "max_unpool3d": (lambda lib, x: _unpool(lib, x, 3), VOL),
    "local_response_norm-3d": (lambda lib, x: _lib(lib)[0].local_response_norm(x, 2, 0.1, 0.5, 2.0), SEQ),
    "local_response_norm-4d": (lambda lib, x: _lib(lib)[0].local_response_norm(x, 3, 0.2), IMG),
    "local_response_norm-5d": (lambda lib, x: _lib(lib)[0].local_response_norm(x, 4), VOL),
    "rrelu-eval": (lambda lib, x: _lib(lib)[0].rrelu(x, 0.1, 0.4), SEQ),
    "channel_shuffle": (lambda lib, x: _lib(lib)[0].channel_shuffle(x, 2), IMG),
    "multilabel_margin_loss": (lambda lib, x: _lib(lib)[0].multilabel_margin_loss(x, _labels(lib, x)), ROWS[:3]),
    "multilabel_margin_loss-none": (lambda lib, x: _lib(lib)[0].multilabel_margin_loss(x, _labels(lib, x), reduction="none"), ROWS[:3]),
    "multilabel_margin_loss-unbatched": (lambda lib, x: _lib(lib)[0].multilabel_margin_loss(x[0], _labels(lib, x)[1], reduction="sum"), ROWS[:3]),
    "triplet_margin_with_distance_loss": (lambda lib, a, p, n: _lib(lib)[0].triplet_margin_with_distance_loss(a, p, n), *TRIPLE),
    "triplet_margin_with_distance_loss-swap-cosine": (
        lambda lib, a, p, n: _lib(lib)[0].triplet_margin_with_distance_loss(
            a, p, n, distance_function=lambda u, v: 1.0 - _lib(lib)[0].cosine_similarity(u, v), margin=0.5, swap=True, reduction="none"), *TRIPLE),
    "pdist": (lambda lib, x: _lib(lib)[0].pdist(x), ROWS),
    "pdist-1": (lambda lib, x: _lib(lib)[0].pdist(x, 1), ROWS),
    "pdist-3": (lambda lib, x: _lib(lib)[0].pdist(x, 3.0), ROWS),
    "pdist-inf": (lambda lib, x: _lib(lib)[0].pdist(x, float("inf")), ROWS),
    "upsample_nearest": (lambda lib, x: _lib(lib)[0].upsample_nearest(x, size=(9, 8)), IMG),
    "upsample_bilinear": (lambda lib, x: _lib(lib)[0].upsample_bilinear(x, scale_factor=2), IMG),
    "upsample": (lambda lib, x: _lib(lib)[0].upsample(x, scale_factor=2, mode="linear"), SEQ),
}
for _name in ("relu_", "elu_", "leaky_relu_", "hardtanh_", "celu_", "selu_", "rrelu_"):  # in place into a clone of the leaf
    FUNCTIONAL[f"F.{_name}"] = (lambda lib, x, name=_name: getattr(_lib(lib)[0], name)(x * 1.0) * 1.0, SEQ)
FUNCTIONAL["F.threshold_"] = (lambda lib, x: _lib(lib)[0].threshold_(x * 1.0, 0.2, -1.0), SEQ)


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_functional_matches_torch(session, name):
    f, *arrays = FUNCTIONAL[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # upsample*'s deprecation
        assert_matches_torch(session, f, *arrays, **TOLERANCE)


def test_upsample_warns_as_torch(session):
    for name in ("upsample", "upsample_nearest", "upsample_bilinear"):
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            getattr(TF, name)(torch.tensor(IMG), scale_factor=2)
        with pytest.warns(theirs[0].category) as ours:
            getattr(F, name)(session.tensor(IMG), scale_factor=2)
        assert str(ours[0].message) == str(theirs[0].message)


# --- modules: the same weights, the same values and gradients; torch's reprs and state_dict keys ------------------

def _modules(session):
    """(name, (gradwire module, torch module), input arrays)."""
    both = lambda name, *args, **kwargs: (getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs))  # noqa: E731
    return [
        ("RMSNorm", both("RMSNorm", 8, eps=1e-4), (SEQ,)),
        ("RMSNorm-no-affine", both("RMSNorm", [3, 8], elementwise_affine=False), (SEQ,)),
        ("LPPool1d", both("LPPool1d", 2, 3, stride=1), (SEQ,)),
        ("LPPool2d", both("LPPool2d", 2, 3), (IMG,)),
        ("LPPool3d", both("LPPool3d", 1, (2, 2, 3)), (VOL,)),
        ("AdaptiveMaxPool3d", both("AdaptiveMaxPool3d", (None, 2, 3)), (VOL,)),
        ("MaxPool1d-indices", both("MaxPool1d", 2, return_indices=True), (SEQ,)),
        ("LocalResponseNorm", both("LocalResponseNorm", 3, alpha=0.1, beta=0.6, k=1.5), (IMG,)),
        ("ChannelShuffle", both("ChannelShuffle", 2), (IMG,)),
        ("UpsamplingNearest2d", both("UpsamplingNearest2d", scale_factor=2), (IMG,)),
        ("UpsamplingBilinear2d", both("UpsamplingBilinear2d", size=(7, 9)), (IMG,)),
        ("ZeroPad3d", both("ZeroPad3d", (1, 0, 2, 1, 0, 1)), (VOL,)),
        ("ConstantPad3d", both("ConstantPad3d", 1, 3.5), (VOL,)),
        ("ReflectionPad3d", both("ReflectionPad3d", (1, 2, 1, 0, 2, 1)), (VOL,)),
        ("ReplicationPad3d", both("ReplicationPad3d", 2), (VOL,)),
        ("CircularPad3d", both("CircularPad3d", (1, 2, 0, 1, 2, 1)), (VOL,)),
        ("RReLU-eval", (nn.RReLU(0.2, 0.3).eval(), torch.nn.RReLU(0.2, 0.3).eval()), (SEQ,)),
        ("InstanceNorm1d-running", both("InstanceNorm1d", 3, affine=True, track_running_stats=True), (SEQ,)),
        ("InstanceNorm2d-running", both("InstanceNorm2d", 4, track_running_stats=True, momentum=0.3), (IMG,)),
        ("MultiLabelMarginLoss", both("MultiLabelMarginLoss", reduction="sum"), (ROWS[:3],)),
        ("TripletMarginWithDistanceLoss", both("TripletMarginWithDistanceLoss", margin=2.0, swap=True), tuple(TRIPLE)),
    ]


def _to_torch_weights(ours, theirs):
    theirs.double()
    ours.double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})


def test_modules_match_torch(session):
    for name, (ours, theirs), arrays in _modules(session):
        assert repr(ours) == repr(theirs), name
        assert list(ours.state_dict()) == list(theirs.state_dict()), name
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()], name
        _to_torch_weights(ours, theirs)
        if name == "RMSNorm":  # not the ones it starts with
            with gw.no_grad():
                ours.weight.copy_(session.tensor(np.linspace(0.5, 2.0, 8)))
            theirs.weight.data = torch.linspace(0.5, 2.0, 8, dtype=torch.float64)
        extra = {"MultiLabelMarginLoss": lambda lib, x: (_labels(lib, x),)}.get(name, lambda lib, x: ())

        def run(lib, *xs, ours=ours, theirs=theirs, extra=extra):
            return (ours if lib is gw else theirs)(*xs, *extra(lib, xs[0]))

        assert_matches_torch(session, run, *arrays, **TOLERANCE)
        for (key, value), (t_key, t_value) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            np.testing.assert_allclose(value.numpy(), t_value.numpy(), rtol=1e-9, err_msg=f"{name}: {key} after the forward")
        for (key, p), (_, t_p) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), t_p.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=f"{name}: d/d {key}")
    # eval mode: the running statistics normalise
    ours, theirs = nn.InstanceNorm1d(3, track_running_stats=True), torch.nn.InstanceNorm1d(3, track_running_stats=True)
    _to_torch_weights(ours, theirs)
    ours(session.tensor(SEQ)), theirs(torch.tensor(SEQ))
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(session.tensor(SEQ * 2 + 1)).numpy(), theirs(torch.tensor(SEQ * 2 + 1)).numpy(), rtol=1e-9)


def test_max_unpool_modules_invert_pooling(session):
    for dims, x in ((1, SEQ), (2, IMG), (3, VOL)):
        pool, unpool = getattr(nn, f"MaxPool{dims}d")(2, return_indices=True), getattr(nn, f"MaxUnpool{dims}d")(2)
        t_pool, t_unpool = getattr(torch.nn, f"MaxPool{dims}d")(2, return_indices=True), getattr(torch.nn, f"MaxUnpool{dims}d")(2)
        assert repr(unpool) == repr(t_unpool)

        def run(lib, x, pool=pool, unpool=unpool, t_pool=t_pool, t_unpool=t_unpool):
            p, u = (pool, unpool) if lib is gw else (t_pool, t_unpool)
            return u(*p(x), output_size=x.shape)

        assert_matches_torch(session, run, x, **TOLERANCE)
    assert repr(nn.MaxUnpool1d(3, 2, 1)) == repr(torch.nn.MaxUnpool1d(3, 2, 1))
    assert repr(nn.MaxUnpool3d((1, 2, 2), padding=1)) == repr(torch.nn.MaxUnpool3d((1, 2, 2), padding=1))


def test_more_reprs_are_torchs(session):
    for name, args, kwargs in (("Dropout1d", (0.2,), {}), ("Dropout3d", (), {"inplace": True}), ("FeatureAlphaDropout", (0.1,), {}),
                               ("RReLU", (0.1, 0.3, True), {}), ("RReLU", (), {}), ("LPPool3d", (1.5, 2), {}),
                               ("TripletMarginWithDistanceLoss", (), {"distance_function": None}), ("AdaptiveMaxPool3d", (2, True), {}),
                               ("MultiheadAttention", (8, 2), {}), ("TransformerEncoderLayer", (8, 2), {"dim_feedforward": 16})):
        assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


# --- the random ones: their structure, seeded, and eval mode ------------------------------------------------------

def test_channel_dropouts_drop_whole_channels(session):
    x = session.tensor(np.abs(VOL) + 1.0, requires_grad=True)
    for f, shape in ((F.dropout1d, (4, 8, 16)), (F.dropout3d, (4, 8, 2, 2, 3)), (F.dropout1d, (8, 16)), (F.dropout3d, (8, 2, 2, 3))):
        ones = session.ones(shape)
        out = f(ones, 0.4).numpy().reshape(shape[: len(shape) - (1 if f is F.dropout1d else 3)] + (-1,))
        assert (np.isclose(out, 0.0) | np.isclose(out, 1 / 0.6)).all() and (out == out[..., :1]).all()  # one draw per channel
        assert 0 < (out[..., 0] == 0).sum() < out[..., 0].size
    session.manual_seed(3)
    first = F.dropout3d(x, 0.5)
    session.manual_seed(3)
    np.testing.assert_array_equal(F.dropout3d(x, 0.5).detach().numpy(), first.detach().numpy())
    first.sum().backward()
    mask = (first.detach().numpy() != 0) / 0.5
    np.testing.assert_allclose(x.grad.numpy(), mask)
    seq = session.tensor(SEQ)
    assert nn.Dropout1d(0.5).eval()(seq) is seq and nn.Dropout3d(0.5).eval()(x) is x


def test_feature_alpha_dropout(session):
    x = session.tensor(RNG.standard_normal((64, 32, 3)))
    p = 0.3
    out = F.feature_alpha_dropout(x, p, training=True).numpy()
    alpha = 1.7580993408473766
    a = 1.0 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    b = alpha * a * p
    dropped = np.isclose(out, -alpha * a + b).all(-1)  # whole channels at alpha dropout's value
    kept = np.isclose(out, x.numpy() * a + b).all(-1)
    assert (dropped | kept).all() and 0.15 < dropped.mean() < 0.45
    assert F.feature_alpha_dropout(x, p) is x  # training=False by default, as PyTorch's
    layer = nn.FeatureAlphaDropout(p)
    assert (layer(x).numpy() != x.numpy()).any()
    np.testing.assert_array_equal(layer.eval()(x).numpy(), x.numpy())


def test_rrelu_training_draws_slopes(session):
    x = session.tensor(SEQ, requires_grad=True)
    session.manual_seed(7)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    out.sum().backward()
    values, grads = out.detach().numpy(), x.grad.numpy()
    negative = SEQ < 0
    np.testing.assert_array_equal(values[~negative], SEQ[~negative])
    slopes = values[negative] / SEQ[negative]
    assert ((slopes >= 0.1) & (slopes <= 0.3)).all() and len(np.unique(np.round(slopes, 12))) > 5
    np.testing.assert_allclose(grads[negative], slopes)
    np.testing.assert_array_equal(grads[~negative], 1.0)
    session.manual_seed(7)
    np.testing.assert_array_equal(nn.RReLU(0.1, 0.3)(session.tensor(SEQ)).numpy(), values)  # training by default, seeded
    y = session.tensor(SEQ)
    F.rrelu_(y, 0.1, 0.3)
    np.testing.assert_allclose(y.numpy(), np.where(SEQ > 0, SEQ, SEQ * 0.2))


# --- errors: torch's type and words ------------------------------------------------------------------------------

ERRORS = {
    "rms_norm-shape": lambda lib, x: _lib(lib)[0].rms_norm(x, (4,)),
    "dropout1d-4d": lambda lib, x: _lib(lib)[0].dropout1d(x.reshape(2, 2, 2, 6)),
    "dropout3d-p": lambda lib, x: _lib(lib)[0].dropout3d(x.reshape(1, 2, 2, 2, 6), p=1.5),
    "feature_alpha_dropout-1d": lambda lib, x: _lib(lib)[0].feature_alpha_dropout(x.reshape(-1), 0.5, True),
    "channel_shuffle-groups": lambda lib, x: _lib(lib)[0].channel_shuffle(x.reshape(2, 3, 8), 2),
    "channel_shuffle-2d": lambda lib, x: _lib(lib)[0].channel_shuffle(x.reshape(4, 12), 2),
    "local_response_norm-2d": lambda lib, x: _lib(lib)[0].local_response_norm(x.reshape(4, 12), 2),
    "pdist-3d": lambda lib, x: _lib(lib)[0].pdist(x.reshape(2, 2, 12)),
    "multilabel_margin_loss-target": lambda lib, x: _lib(lib)[0].multilabel_margin_loss(x.reshape(6, 8), x.new_zeros((6, 4), dtype=lib.int64)),
    "max_unpool2d-indices-shape": lambda lib, x: _lib(lib)[0].max_unpool2d(x.reshape(1, 1, 6, 8), x.new_zeros((1, 1, 6, 7), dtype=lib.int64), 2),
    "max_unpool2d-bad-index": lambda lib, x: _lib(lib)[0].max_unpool2d(x.reshape(1, 1, 6, 8), x.new_full((1, 1, 6, 8), 999, dtype=lib.int64), 2),
    "triplet_with_distance-dims": lambda lib, x: _lib(lib)[0].triplet_margin_with_distance_loss(x, x, x[0]),
    "triplet_with_distance-margin": lambda lib, x: _lib(lib)[0].triplet_margin_with_distance_loss(x, x, x, margin=0.0),
    "instance_norm-one-stat": lambda lib, x: _lib(lib)[0].instance_norm(x.reshape(2, 3, 8), x.new_zeros(3)),
    "instance_norm-no-stats": lambda lib, x: _lib(lib)[0].instance_norm(x.reshape(2, 3, 8), use_input_stats=False),
    "rms_norm-int-shape": lambda lib, x: _lib(lib)[0].rms_norm(x, 12),
    "lp_pool1d-window": lambda lib, x: _lib(lib)[0].lp_pool1d(x.reshape(1, 4, 12), 2, 13),
    "lp_pool2d-window": lambda lib, x: _lib(lib)[0].lp_pool2d(x.reshape(1, 4, 3, 4), 2, (2, 5), 1),
    "lp_pool3d-window": lambda lib, x: _lib(lib)[0].lp_pool3d(x.reshape(1, 2, 2, 3, 4), 2, 3),
    "max_unpool2d-output_size-length": lambda lib, x: _lib(lib)[0].max_unpool2d(x.reshape(1, 1, 6, 8), x.new_zeros((1, 1, 6, 8), dtype=lib.int64),
                                                                               2, output_size=(1, 12, 16)),
    "max_unpool2d-output_size-range": lambda lib, x: _lib(lib)[0].max_unpool2d(x.reshape(1, 1, 6, 8), x.new_zeros((1, 1, 6, 8), dtype=lib.int64),
                                                                              2, output_size=[12, 18]),
    "Linear-uninitialized-shape": lambda lib, x: (nn if lib is gw else torch.nn).LazyLinear(3).weight.shape,
}


@pytest.mark.parametrize("name", ERRORS)
def test_layer_errors_are_torchs(session, name):
    x = RNG.standard_normal((4, 12))
    with pytest.raises(Exception) as t_info:
        ERRORS[name](torch, torch.tensor(x))
    with pytest.raises(Exception) as info:
        ERRORS[name](gw, session.tensor(x))
    assert str(t_info.value) in str(info.value), (str(info.value), str(t_info.value))
    kind = next(k for k in (TypeError, ValueError, RuntimeError) if isinstance(t_info.value, k))
    assert isinstance(info.value, kind), (type(info.value), type(t_info.value))
    assert session.tensor([1.0, 2.0]).sum().item() == 3.0


# --- nn.Buffer ---------------------------------------------------------------------------------------------------

def test_buffer_assignment_registers(session):
    class Stats(nn.Module):
        def __init__(self):
            super().__init__()
            self.scratch = nn.Buffer(session.ones(2), persistent=False)
            self.total = nn.Buffer(session.zeros(3))
            self.weight = nn.Parameter(session.ones(3))

        def forward(self, x):
            return x * self.weight + self.total

    class TorchStats(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scratch = torch.nn.Buffer(torch.ones(2), persistent=False)
            self.total = torch.nn.Buffer(torch.zeros(3))
            self.weight = torch.nn.Parameter(torch.ones(3))

    ours, theirs = Stats(), TorchStats()
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()] == ["scratch", "total"]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "total"]
    assert [n for n, _ in ours.named_parameters()] == ["weight"] and not ours.total.requires_grad
    ours.total = session.tensor([1.0, 2.0, 3.0])  # a plain tensor to a buffer's name stays a buffer
    np.testing.assert_allclose(ours(session.ones(3)).detach().numpy(), [2.0, 3.0, 4.0])
    ours.scratch = nn.Buffer(session.zeros(2))  # now persistent, as torch's
    theirs.scratch = torch.nn.Buffer(torch.zeros(2))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "scratch", "total"] or \
        sorted(ours.state_dict()) == sorted(theirs.state_dict())
    source = session.tensor([1.0, 2.0], requires_grad=True)
    kept = nn.Buffer(source)
    assert kept.requires_grad and kept.is_leaf and kept.persistent


# --- lazy modules ------------------------------------------------------------------------------------------------

def test_lazy_linear_becomes_linear(session):
    ours, theirs = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    assert repr(ours) == repr(theirs) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert [repr(p) for p in ours.parameters()] == [repr(p) for p in theirs.parameters()] == ["<UninitializedParameter>"] * 2
    assert isinstance(ours.weight, nn.UninitializedParameter) and isinstance(ours.weight, nn.Parameter)
    assert list(ours.state_dict()) == ["weight", "bias"]
    optimizer = gw.optim.SGD(ours.parameters(), lr=0.5)  # made before the first forward: it holds the same objects
    weight = ours.weight
    x = RNG.standard_normal((2, 5)).astype(np.float32)  # (the float32 layer it becomes takes float32 data, as torch's)
    out = ours(session.tensor(x))
    assert type(ours) is nn.Linear and repr(ours) == "Linear(in_features=5, out_features=3, bias=True)"
    assert ours.weight is weight and type(weight) is nn.Parameter and weight.shape == (3, 5) and weight.requires_grad
    assert out.shape == (2, 3)
    bound = 1 / np.sqrt(5)  # Linear's initialisation, with the in_features it found
    assert (np.abs(weight.detach().numpy()) <= bound).all() and weight.detach().numpy().std() > 0
    before = weight.detach().numpy().copy()
    out.sum().backward()
    optimizer.step()
    np.testing.assert_allclose(weight.detach().numpy(), before - 0.5 * x.sum(0)[None, :].repeat(3, 0), rtol=1e-5)
    theirs(torch.tensor(x, dtype=torch.float32))
    assert repr(ours) == repr(theirs)


@pytest.mark.filterwarnings("ignore:input.s size at dim=1 does not match num_features")  # torch's InstanceNorm, num_features 0
def test_lazy_modules_match_torch(session):
    cases = (
        ("LazyConv1d", (4, 3), {"padding": 1}, SEQ),
        ("LazyConv2d", (6, 3), {"groups": 2, "bias": False}, IMG),
        ("LazyConv3d", (2, (1, 2, 3)), {"stride": 2}, VOL),
        ("LazyConvTranspose1d", (2, 3), {"stride": 2}, SEQ),
        ("LazyConvTranspose2d", (3, 2), {"output_padding": 1, "stride": 2}, IMG),
        ("LazyConvTranspose3d", (1, 2), {}, VOL),
        ("LazyBatchNorm1d", (), {}, SEQ),
        ("LazyBatchNorm2d", (), {"momentum": 0.3}, IMG),
        ("LazyBatchNorm3d", (), {"affine": False}, VOL),
        ("LazyInstanceNorm1d", (), {}, SEQ),
        ("LazyInstanceNorm2d", (), {"affine": False, "track_running_stats": False}, IMG),
        ("LazyInstanceNorm3d", (), {}, VOL),
    )
    for name, args, kwargs, x in cases:
        ours, theirs = getattr(nn, name)(*args, dtype="float64", **kwargs), getattr(torch.nn, name)(*args, dtype=torch.float64, **kwargs)
        assert repr(ours) == repr(theirs), name
        assert list(ours.state_dict()) == list(theirs.state_dict()), name
        assert [repr(v) for v in ours.state_dict().values()] == [repr(v) for v in theirs.state_dict().values()], name
        y = ours(session.tensor(x))
        theirs(torch.tensor(x))
        assert type(ours).__name__ == type(theirs).__name__ == name.removeprefix("Lazy") and repr(ours) == repr(theirs), name
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
        assert y.shape == theirs(torch.tensor(x)).shape
        # now the same weights (and running statistics): the values and gradients of the next forward
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
        assert_matches_torch(session, lambda lib, t, ours=ours, theirs=theirs: (ours if lib is gw else theirs)(t), x, **TOLERANCE)


def test_lazy_load_state_dict_and_uninitialized_use(session):
    ours = nn.LazyLinear(2)
    with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter in add"):
        ours.weight + 1
    ours.load_state_dict({"weight": np.ones((2, 4)), "bias": np.zeros(2)})  # the checkpoint's shapes, as torch's hook
    assert ours.weight.shape == (2, 4) and type(ours.weight) is nn.Parameter
    np.testing.assert_allclose(ours(session.ones(1, 4)).detach().numpy(), [[4.0, 4.0]])
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(session.ones(1, 3, 5, 5))
    with pytest.raises(RuntimeError, match=r"Expected 2D \(unbatched\) or 3D \(batched\) input to LazyConv1d"):
        nn.LazyConv1d(4, 3)(session.ones(1, 1, 3, 5, 5))
    nn.LazyLinear(3, bias=False)(session.ones(2, 2))  # no bias: only the weight to materialize
    lazy = nn.LazyConv1d(2, 3).double()  # before the first forward: materialized in that dtype, as torch's
    assert lazy(session.ones(1, 4, 5, dtype=gw.float64)).dtype == gw.float64 and lazy.weight.dtype == gw.float64


# --- torch.conv2d, torch.dropout, ...: the top-level ones, with torch's top-level signatures ---------------------

def _top(name):
    return lambda lib, *xs: getattr(lib, name)(*xs)


TOP_LEVEL = {
    "conv1d": (lambda lib, x, w: lib.conv1d(x, w, None, 1, 1), SEQ, RNG.standard_normal((2, 3, 3))),
    "conv2d": (lambda lib, x, w: lib.conv2d(x, w, None, 2, 0, 1, 2), IMG, RNG.standard_normal((4, 2, 3, 3))),
    "conv3d": (lambda lib, x, w: lib.conv3d(x, w, padding="same"), VOL, RNG.standard_normal((1, 2, 3, 3, 3))),
    "conv_transpose1d": (lambda lib, x, w: lib.conv_transpose1d(x, w, None, 2), SEQ, RNG.standard_normal((3, 2, 3))),
    "conv_transpose2d": (lambda lib, x, w: lib.conv_transpose2d(x, w), IMG, RNG.standard_normal((4, 1, 2, 2))),
    "conv_transpose3d": (lambda lib, x, w: lib.conv_transpose3d(x, w), VOL, RNG.standard_normal((2, 1, 2, 2, 2))),
    "embedding": (lambda lib, w: lib.embedding(w, w.new_tensor([[0, 2], [4, 1]], dtype=lib.int64)), ROWS),
    "layer_norm": (lambda lib, x, w, b: lib.layer_norm(x, (8,), w, b, 1e-3, True), SEQ, SEQ[0, 0], SEQ[1, 1]),
    "group_norm": (lambda lib, x: lib.group_norm(x, 2, None, None, 1e-5, True), IMG),
    "batch_norm": (lambda lib, x, w, b: lib.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False), SEQ, SEQ[0, :, 0], SEQ[1, :, 0]),
    "instance_norm": (lambda lib, x: lib.instance_norm(x, None, None, None, None, True, 0.1, 1e-5, False), IMG),
    "dropout-eval": (lambda lib, x: lib.dropout(x, 0.5, False), SEQ),
    "alpha_dropout-eval": (lambda lib, x: lib.alpha_dropout(x, 0.5, False), SEQ),
    "feature_alpha_dropout-eval": (lambda lib, x: lib.feature_alpha_dropout(x, 0.5, False), SEQ),
    "selu": (_top("selu"), SEQ),
    "celu": (lambda lib, x: lib.celu(x, 0.5), SEQ),
    "threshold": (lambda lib, x: lib.threshold(x, 0.1, 2.0), SEQ),
    "prelu": (lambda lib, x, w: lib.prelu(x, w), SEQ, np.array([0.1, 0.2, 0.3])),
    "rrelu-eval": (lambda lib, x: lib.rrelu(x, 0.1, 0.2), SEQ),
    "pixel_shuffle": (lambda lib, x: lib.pixel_shuffle(x, 2), IMG),
    "pixel_unshuffle": (lambda lib, x: lib.pixel_unshuffle(x, 2), IMG),
    "pairwise_distance": (lambda lib, a, b: lib.pairwise_distance(a, b, 1.5), *TRIPLE[:2]),
    "cosine_similarity": (lambda lib, a, b: lib.cosine_similarity(a, b, 0), *TRIPLE[:2]),
    "pdist": (lambda lib, x: lib.pdist(x, 2.0), ROWS),
    "kl_div": (lambda lib, x, t: lib.kl_div(x, t, 2, log_target=True), *TRIPLE[:2]),
    "binary_cross_entropy_with_logits": (lambda lib, x, t: lib.binary_cross_entropy_with_logits(x, t.sigmoid(), None, None, 0), *TRIPLE[:2]),
    "bilinear": (lambda lib, a, b, w: lib.bilinear(a, b, w), *TRIPLE[:2], RNG.standard_normal((2, 5, 5))),
    "hardshrink": (lambda lib, x: lib.hardshrink(x, 0.7), SEQ),
    "max_pool1d": (lambda lib, x: lib.max_pool1d(x, 3, 2, 1), SEQ),
    "max_pool2d": (lambda lib, x: lib.max_pool2d(x, 2, [], 1, 1, True), IMG),
    "max_pool3d": (lambda lib, x: lib.max_pool3d(x, 2), VOL),
    "avg_pool1d": (lambda lib, x: lib.avg_pool1d(x, 3, 2, 1, False, False), SEQ),
    "adaptive_avg_pool1d": (lambda lib, x: lib.adaptive_avg_pool1d(x, 4), SEQ),
    "adaptive_max_pool1d": (lambda lib, x: lib.adaptive_max_pool1d(x, 2), SEQ),  # (values, indices) at the top level
    "max_pool1d_with_indices": (lambda lib, x: lib.max_pool1d_with_indices(x, 2), SEQ),
    "channel_shuffle": (lambda lib, x: lib.channel_shuffle(x, 2), IMG),
    "rms_norm": (lambda lib, x: lib.rms_norm(x, [8]), SEQ),
    "cosine_embedding_loss": (lambda lib, a, b: lib.cosine_embedding_loss(a, b, a.new_tensor([1.0, -1.0, 1.0, -1.0]), 0.1, 0), *TRIPLE[:2]),
    "hinge_embedding_loss": (lambda lib, x: lib.hinge_embedding_loss(x, x.sign(), 0.5, 2), TRIPLE[0]),
    "margin_ranking_loss": (lambda lib, a, b: lib.margin_ranking_loss(a, b, b.sign(), 0.2, 1), *TRIPLE[:2]),
    # an omitted reduction is read as 0 (none) at torch's top level, whatever its schema says
    "margin_ranking_loss-default": (lambda lib, a, b: lib.margin_ranking_loss(a, b, b.sign()), *TRIPLE[:2]),
    "kl_div-default": (lambda lib, x, t: lib.kl_div(x, t.exp()), *TRIPLE[:2]),
    "triplet_margin_loss-default": (lambda lib, a, p, n: lib.triplet_margin_loss(a, p, n), *TRIPLE),
    "poisson_nll_loss": (lambda lib, x, t: lib.poisson_nll_loss(x, t.abs(), True, True, 1e-8, 1), *TRIPLE[:2]),
    "triplet_margin_loss": (lambda lib, a, p, n: lib.triplet_margin_loss(a, p, n, 1.0, 2.0, 1e-6, True, 2), *TRIPLE),
    "ctc_loss": (lambda lib, x: lib.ctc_loss(x.log_softmax(2), x.new_tensor([[1, 2], [3, 3]], dtype=lib.int64), [6, 5], [2, 2], 0, 0),
                 RNG.standard_normal((6, 2, 5))),
    "selu_": (lambda lib, x: lib.selu_(x * 1.0), SEQ),
    "celu_": (lambda lib, x: lib.celu_(x * 1.0, 2.0), SEQ),
    "threshold_": (lambda lib, x: lib.threshold_(x * 1.0, 0.0, 0.5), SEQ),
    "rrelu_": (lambda lib, x: lib.rrelu_(x * 1.0), SEQ),
    "relu_": (lambda lib, x: lib.relu_(x * 1.0), SEQ),
    "conv_tbc": (lambda lib, x, w, b: lib.conv_tbc(x, w, b, 1), RNG.standard_normal((7, 2, 3)), RNG.standard_normal((3, 3, 4)), RNG.standard_normal(4)),
    "convolution-transposed": (lambda lib, x, w: lib.convolution(x, w, None, [1, 1], [0, 0], [1, 1], True, [0, 0], 1), IMG, RNG.standard_normal((4, 3, 2, 2))),
    "convolution-1d": (lambda lib, x, w: lib.convolution(x, w, None, [2], [1], [1], False, [0], 1), SEQ, RNG.standard_normal((2, 3, 3))),
    "norm_except_dim": (lambda lib, v: lib.norm_except_dim(v, 2, 1), IMG),
    "norm_except_dim-all": (lambda lib, v: lib.norm_except_dim(v, 3, -1), IMG),
    "grid_sampler": (lambda lib, x, g: lib.grid_sampler(x, g.tanh(), 0, 1, False), IMG, RNG.standard_normal((2, 3, 3, 2))),
    "grid_sampler_2d": (lambda lib, x, g: lib.grid_sampler_2d(x, g.tanh(), 1, 2, True), IMG, RNG.standard_normal((2, 3, 3, 2))),
    "affine_grid_generator": (lambda lib, t: lib.affine_grid_generator(t, [2, 3, 4, 5], False), RNG.standard_normal((2, 2, 3))),
}


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_functions_match_torch(session, name):
    f, *arrays = TOP_LEVEL[name]
    assert_matches_torch(session, f, *arrays, **TOLERANCE)


def test_top_level_dropouts(session):
    x = session.ones(4, 6, 5)
    out = gw.dropout(x, 0.5, True).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0} and (out == 0).any()
    channels = gw.feature_dropout(x, 0.5, True).numpy()
    assert (channels == channels[..., :1]).all() and set(np.unique(channels)) <= {0.0, 2.0}
    y = session.ones(4, 6, 5)
    assert gw.dropout_(y, 0.5, True) is y and (y.numpy() == 0).any()
    with pytest.raises(TypeError):
        gw.dropout(x, 0.5)  # train has no default at the top level, as torch's
    assert gw.dropout.__name__ == "dropout" and list(inspect.signature(gw.dropout).parameters) == ["input", "p", "train"]


@pytest.mark.parametrize("batched", [True, False])
def test_adaptive_log_softmax_as_torchs(session, batched):
    """The adaptive softmax of language models: torch's parameters and names, outputs, loss and every gradient for
    targets in the shortlist and each cluster, ``log_prob``, ``predict``; torch's argument checks."""
    ours = nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 10, 15], div_value=2.0, head_bias=True, dtype=gw.float64)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 10, 15], div_value=2.0, head_bias=True, dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(6)
    x, target = rng.standard_normal((12, 16)), np.array([0, 3, 4, 9, 10, 14, 15, 19, 2, 12, 17, 5])  # every cluster's edges
    if not batched:
        x, target = x[3], target[3]
    x_ours, x_theirs = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = ours(x_ours, session.tensor(target)), theirs(x_theirs, torch.tensor(target))
    assert out._fields == t_out._fields == ("output", "loss") and tuple(out.output.shape) == tuple(t_out.output.shape)
    np.testing.assert_allclose(out.output.detach().numpy(), t_out.output.detach().numpy(), rtol=1e-12)
    out.loss.backward()
    t_out.loss.backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-10, atol=1e-15)
    for (name, p), t_p in zip(ours.named_parameters(), theirs.parameters()):
        assert (p.grad is None) == (t_p.grad is None), name  # a cluster no target falls in gets none, as torch's
        if p.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), t_p.grad.numpy(), rtol=1e-10, atol=1e-15, err_msg=name)
    if batched:
        rows, t_rows = session.tensor(x), torch.tensor(x)
        np.testing.assert_allclose(ours.log_prob(rows).detach().numpy(), theirs.log_prob(t_rows).detach().numpy(), rtol=1e-12)
        assert ours.predict(rows).tolist() == theirs.predict(t_rows).tolist()
    for build in (lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(4, 5, [3, 2]), lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(4, 5, [])):
        with pytest.raises(ValueError) as t_error:
            build(torch)
        with pytest.raises(ValueError, match=str(t_error.value)):
            build(gw)
    with pytest.raises(RuntimeError, match="Input and target should have the same size in the batch dimension."):
        ours(session.zeros(3, 16, dtype=gw.float64), session.tensor([1, 2]))
    with pytest.raises(RuntimeError) as t_error:
        theirs(torch.zeros(2, 16, dtype=torch.float64), torch.tensor([3, 25]))
    with pytest.raises(RuntimeError) as error:
        ours(session.zeros(2, 16, dtype=gw.float64), session.tensor([3, 25]))
    assert str(error.value) == str(t_error.value)
