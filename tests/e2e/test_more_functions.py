"""More of PyTorch's surface against torch, values and gradients: activations and losses built from ops, scatter and
the index_* writes, meshgrid/tensordot/std_mean, torch.linalg's norms, dtype aliases and dtype= arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwire as gw
import gradwire.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(11)
A = RNG.standard_normal((4, 6)) * 2  # away from the kinks at 0 and +-3 (hardswish, hardsigmoid)
A[np.abs(A) < 0.05] += 0.2
A[np.abs(np.abs(A) - 3) < 0.05] += 0.2
B = RNG.standard_normal((4, 6))
C = RNG.standard_normal((4, 6))
SIGNS = np.where(RNG.standard_normal(4) > 0, 1.0, -1.0)
POSITIVE = RNG.uniform(0.5, 3.0, (4, 6))


def _compare(session, f, *arrays, rtol=1e-10, atol=1e-12):
    ours = [session.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, t_out = f(gw, F, *ours), f(torch, TF, *theirs)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    weights = np.linspace(0.5, 1.5, int(np.prod(t_out.shape))).reshape(tuple(t_out.shape))
    (out * session.tensor(weights)).sum().backward()
    (t_out * torch.tensor(weights)).sum().backward()
    for x, t in zip(ours, theirs):
        if t.grad is not None:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


ACTIVATIONS = {
    "mish": lambda lib, f, x: f.mish(x),
    "hardswish": lambda lib, f, x: f.hardswish(x),
    "hardsigmoid": lambda lib, f, x: f.hardsigmoid(x),
    "logsigmoid": lambda lib, f, x: f.logsigmoid(x * 20),  # far into both tails
    "softsign": lambda lib, f, x: f.softsign(x),
    "tanhshrink": lambda lib, f, x: f.tanhshrink(x),
    "glu": lambda lib, f, x: f.glu(x, 1),
    "threshold": lambda lib, f, x: f.threshold(x, 0.5, -2.0),
    "prelu": lambda lib, f, x: f.prelu(x.reshape(2, 3, 4), lib.tensor([0.25, -0.5, 2.0], dtype=lib.float64)),
    "softmax dtype": lambda lib, f, x: f.softmax(x.float(), dim=1, dtype=lib.float64),
    "log_softmax dtype": lambda lib, f, x: f.log_softmax(x.float(), -1, dtype=lib.float64),
    "sum dtype": lambda lib, f, x: x.float().sum(1, dtype=lib.float64),
}


# where torch's kernel rounds differently: 1/6 as a float32 constant (hardsigmoid's backward), softplus's linear
# tail past threshold 20 against torch's exact log-sigmoid (1e-9 relative), float32 inputs of the dtype= cases
_LOOSER = {"hardsigmoid": (1e-7, 1e-12), "logsigmoid": (1e-8, 1e-12), "softmax dtype": (1e-6, 1e-7), "log_softmax dtype": (1e-6, 1e-7),
           "sum dtype": (1e-6, 1e-7), "Hardsigmoid": (1e-7, 1e-12)}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_match_torch(session, name):
    rtol, atol = _LOOSER.get(name, (1e-10, 1e-12))
    _compare(session, ACTIVATIONS[name], A, rtol=rtol, atol=atol)


@pytest.mark.parametrize("module", ["Mish", "Hardswish", "Hardsigmoid", "LogSigmoid", "Softsign", "Tanhshrink", "Softmax2d"])
def test_activation_modules_match_torch(session, module):
    x = A.reshape(1, 4, 2, 3)
    assert repr(getattr(gw.nn, module)()) == repr(getattr(torch.nn, module)())
    rtol, atol = _LOOSER.get(module, (1e-10, 1e-12))
    _compare(session, lambda lib, f, v: getattr(lib.nn, module)()(v), x, rtol=rtol, atol=atol)


def test_prelu_and_glu_and_threshold_modules_match_torch(session):
    for ours, theirs in ((gw.nn.PReLU(3, 0.1, session=session, dtype=gw.float64), torch.nn.PReLU(3, 0.1, dtype=torch.float64)),
                         (gw.nn.GLU(0), torch.nn.GLU(0)), (gw.nn.Threshold(0.1, 20), torch.nn.Threshold(0.1, 20))):
        assert repr(ours) == repr(theirs)
        x = session.tensor(A.reshape(4, 3, 2), requires_grad=True)
        tx = torch.tensor(A.reshape(4, 3, 2), requires_grad=True)
        out, t_out = ours(x), theirs(tx)
        np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
        out.sum().backward(), t_out.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
        if isinstance(ours, gw.nn.PReLU):
            np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)


LOSSES = {
    "margin_ranking": lambda lib, f, x, y: f.margin_ranking_loss(x[:, 0], y[:, 0], lib.tensor(SIGNS), margin=0.3),
    "hinge_embedding": lambda lib, f, x, y: f.hinge_embedding_loss(x, lib.tensor(np.sign(B)), margin=0.7, reduction="sum"),
    "soft_margin": lambda lib, f, x, y: f.soft_margin_loss(x * 10, lib.tensor(np.sign(C))),
    "cosine_embedding": lambda lib, f, x, y: f.cosine_embedding_loss(x, y, lib.tensor(SIGNS), margin=0.1),
    "cosine_embedding none": lambda lib, f, x, y: f.cosine_embedding_loss(x, y, lib.tensor(SIGNS), reduction="none"),
    "triplet_margin": lambda lib, f, x, y: f.triplet_margin_loss(x, y, x * 0.5 + y, margin=2.0),
    "triplet_margin swap p1": lambda lib, f, x, y: f.triplet_margin_loss(x, y, x * 0.5 + y, p=1.0, swap=True),
    "poisson_nll": lambda lib, f, x, y: f.poisson_nll_loss(x * 0.3, lib.tensor(POSITIVE)),
    "poisson_nll full": lambda lib, f, x, y: f.poisson_nll_loss(x.abs() + 0.1, lib.tensor(POSITIVE), log_input=False, full=True),
    "gaussian_nll": lambda lib, f, x, y: f.gaussian_nll_loss(x, y, (x * x).sum(1) * 0.1 + 1e-7),
    "gaussian_nll full": lambda lib, f, x, y: f.gaussian_nll_loss(x, y, y.abs() + 0.5, full=True, reduction="sum"),
    "multilabel_soft_margin": lambda lib, f, x, y: f.multilabel_soft_margin_loss(x, lib.tensor((B > 0).astype(np.float64))),
    "multilabel_soft_margin weight none": lambda lib, f, x, y: f.multilabel_soft_margin_loss(
        x, lib.tensor((C > 0).astype(np.float64)), weight=lib.tensor(np.linspace(0.5, 2.0, 6)), reduction="none"),
    "multi_margin": lambda lib, f, x, y: f.multi_margin_loss(x, lib.tensor([0, 5, 2, 2])),
    "multi_margin p2 weight sum": lambda lib, f, x, y: f.multi_margin_loss(x * 0.3, lib.tensor([1, 0, 4, 3]), p=2, margin=0.5,
                                                                          weight=lib.tensor(np.linspace(0.5, 2.0, 6)), reduction="sum"),
}


@pytest.mark.parametrize("name", LOSSES)
def test_losses_match_torch(session, name):
    _compare(session, LOSSES[name], A, B)


def test_loss_modules_match_torch(session):
    pairs = ((gw.nn.MarginRankingLoss(0.2), torch.nn.MarginRankingLoss(0.2)), (gw.nn.CosineEmbeddingLoss(0.1), torch.nn.CosineEmbeddingLoss(0.1)))
    for ours, theirs in pairs:
        out = ours(session.tensor(A[:, 0]), session.tensor(B[:, 0]), session.tensor(SIGNS)) if isinstance(ours, gw.nn.MarginRankingLoss) and not isinstance(ours, gw.nn.CosineEmbeddingLoss) \
            else ours(session.tensor(A), session.tensor(B), session.tensor(SIGNS))
        t_out = theirs(torch.tensor(A[:, 0]), torch.tensor(B[:, 0]), torch.tensor(SIGNS)) if type(theirs) is torch.nn.MarginRankingLoss \
            else theirs(torch.tensor(A), torch.tensor(B), torch.tensor(SIGNS))
        assert out.item() == pytest.approx(t_out.item(), rel=1e-12)
    triplet = gw.nn.TripletMarginLoss(margin=0.5)(session.tensor(A), session.tensor(B), session.tensor(C))
    assert triplet.item() == pytest.approx(torch.nn.TripletMarginLoss(margin=0.5)(torch.tensor(A), torch.tensor(B), torch.tensor(C)).item(), rel=1e-12)
    gauss = gw.nn.GaussianNLLLoss()(session.tensor(A), session.tensor(B), session.tensor(POSITIVE))
    assert gauss.item() == pytest.approx(torch.nn.GaussianNLLLoss()(torch.tensor(A), torch.tensor(B), torch.tensor(POSITIVE)).item(), rel=1e-12)


INDEX = np.array([[0, 2], [1, 0], [3, 3], [5, 4]])
WRITES = {
    "scatter src": lambda lib, f, x, y: x.scatter(1, lib.tensor(INDEX), y[:, :2]),
    "scatter value": lambda lib, f, x, y: x.scatter(1, lib.tensor(INDEX), 7.5),
    "scatter dim0": lambda lib, f, x, y: lib.scatter(x, 0, lib.tensor(np.array([[3, 1, 0, 2, 1, 3]])), y[:1]),
    "scatter_ on a copy": lambda lib, f, x, y: (x * 1).scatter_(1, lib.tensor(INDEX), y[:, 2:4]),
    "scatter_add_ on a copy": lambda lib, f, x, y: (x * 1).scatter_add_(1, lib.tensor(np.array([[0, 0], [1, 1], [2, 3], [5, 5]])), y[:, :2]),
    "index_add": lambda lib, f, x, y: x.index_add(1, lib.tensor([5, 0, 5]), y[:, :3], alpha=2.0),
    "index_add_ on a copy": lambda lib, f, x, y: (x * 1).index_add_(0, lib.tensor([1, 1]), y[:2]),
    "index_fill": lambda lib, f, x, y: x.index_fill(1, lib.tensor([0, 4]), -1.0),
    "index_fill_ on a copy": lambda lib, f, x, y: (x * 1).index_fill_(0, lib.tensor([2]), 3.0) * y,
    "tensordot": lambda lib, f, x, y: lib.tensordot(x.reshape(4, 2, 3), y.reshape(2, 3, 4), dims=2),
    "tensordot lists": lambda lib, f, x, y: lib.tensordot(x.reshape(4, 2, 3), y.reshape(4, 3, 2), dims=([0, 2], [0, 1])),
    "std_mean": lambda lib, f, x, y: lib.stack(lib.std_mean(x, 1)),
    "var_mean": lambda lib, f, x, y: lib.stack(lib.var_mean(x, 0, correction=0)),
    "linalg.norm": lambda lib, f, x, y: lib.linalg.norm(x).reshape(1),
    "linalg.norm dim": lambda lib, f, x, y: lib.linalg.norm(x, dim=1),
    "linalg.norm inf": lambda lib, f, x, y: lib.linalg.norm(x, ord=math.inf).reshape(1),
    "linalg.vector_norm 3": lambda lib, f, x, y: lib.linalg.vector_norm(x, 3, dim=0),
    "linalg.matrix_norm 1": lambda lib, f, x, y: lib.linalg.matrix_norm(x.reshape(2, 2, 6), ord=1),
    "linalg.matrix_norm -inf keepdim": lambda lib, f, x, y: lib.linalg.matrix_norm(x.reshape(2, 2, 6), ord=-math.inf, keepdim=True),
    "linalg.matrix_norm fro": lambda lib, f, x, y: lib.linalg.matrix_norm(x.reshape(2, 2, 6)),
    "linalg.matrix_norm 2": lambda lib, f, x, y: lib.linalg.matrix_norm(x.reshape(2, 2, 6), ord=2),
    "linalg.matrix_norm -2 keepdim": lambda lib, f, x, y: lib.linalg.matrix_norm(x.reshape(2, 6, 2), ord=-2, keepdim=True),
    "linalg.matrix_norm nuc dims": lambda lib, f, x, y: lib.linalg.matrix_norm(x.reshape(2, 3, 4), ord="nuc", dim=(0, 2)),
    "linalg.norm 2": lambda lib, f, x, y: lib.linalg.norm(x, ord=2).reshape(1),
    "linalg.svdvals": lambda lib, f, x, y: lib.linalg.svdvals(x.reshape(2, 3, 4)),
    "linalg.eigvalsh": lambda lib, f, x, y: lib.linalg.eigvalsh(x[:, :4] @ x[:, :4].mT + y[:, :4] @ y[:, :4].mT),
    "meshgrid ij": lambda lib, f, x, y: lib.stack(lib.meshgrid(x[0, :3], y[1], indexing="ij")),
    "meshgrid xy": lambda lib, f, x, y: lib.stack(lib.meshgrid(x[0, :3], y[1], x[2, :2], indexing="xy")),
    "broadcast_to": lambda lib, f, x, y: lib.broadcast_to(x[0], (3, 6)),
}


@pytest.mark.parametrize("name", WRITES)
def test_writes_and_reductions_match_torch(session, name):
    _compare(session, WRITES[name], A, B)


def test_dtype_aliases_and_type(session):
    for alias, dtype in (("long", "int64"), ("int", "int32"), ("float", "float32"), ("double", "float64"), ("half", "float16"), ("bool", "bool")):
        assert getattr(gw, alias) == np.dtype(dtype) and str(getattr(torch, alias)) == f"torch.{dtype}"
    x, t = session.zeros(2, dtype=gw.long), torch.zeros(2, dtype=torch.long)
    assert x.dtype == gw.int64 and x.type() == "gradwire.LongTensor" and t.type() == "torch.LongTensor"
    assert x.type(gw.float).dtype == gw.float32 and session.ones(1).type() == "gradwire.FloatTensor"


def test_scatter_refusals_as_in_torch(session):
    x = session.zeros(2, 3)
    with pytest.raises(TypeError, match="scatter\\(\\) expects either a src tensor or a value"):
        x.scatter(1, [[0], [1]])
    with pytest.raises(gw.InvalidIndexError, match="index 3 is out of bounds for dimension 1 with size 3"):
        x.scatter(1, [[0], [3]], 1.0).numpy()
    with pytest.raises(gw.InvalidArgumentError, match="Halving dimension must be even, but dimension 1 is size 3"):
        F.glu(x)


ORDER_STATS = {
    "median": lambda lib, f, x, y: x.median().reshape(1),
    "median dim": lambda lib, f, x, y: x.median(1).values,
    "median dim keepdim": lambda lib, f, x, y: x.median(0, keepdim=True).values,
    "kthvalue": lambda lib, f, x, y: x.kthvalue(2, 1).values,
    "kthvalue keepdim": lambda lib, f, x, y: lib.kthvalue(x, 3, 0, keepdim=True).values,
    "quantile": lambda lib, f, x, y: x.quantile(0.3).reshape(1),
    "quantile dim list": lambda lib, f, x, y: x.quantile(lib.tensor([0.25, 0.5, 0.9], dtype=lib.float64), dim=1),
    "quantile keepdim lower": lambda lib, f, x, y: x.quantile(0.7, dim=0, keepdim=True, interpolation="lower"),
    "quantile higher": lambda lib, f, x, y: x.quantile(0.45, dim=1, interpolation="higher"),
    "quantile nearest": lambda lib, f, x, y: x.quantile(0.5, dim=1, interpolation="nearest"),
    "quantile midpoint": lambda lib, f, x, y: x.quantile(0.33, dim=1, interpolation="midpoint"),
    "quantile all keepdim": lambda lib, f, x, y: x.quantile(0.6, keepdim=True),
    "instance_norm": lambda lib, f, x, y: f.instance_norm(x.reshape(2, 3, 4), weight=lib.tensor([1.0, 2.0, 0.5], dtype=lib.float64),
                                                          bias=lib.tensor([0.0, 1.0, -1.0], dtype=lib.float64)),
    "InstanceNorm2d": lambda lib, f, x, y: lib.nn.InstanceNorm2d(2)(x.reshape(2, 2, 2, 3)),
    "InstanceNorm1d unbatched": lambda lib, f, x, y: lib.nn.InstanceNorm1d(4)(x),
}


@pytest.mark.parametrize("name", ORDER_STATS)
def test_order_statistics_and_instance_norm_match_torch(session, name):
    _compare(session, ORDER_STATS[name], A, B, rtol=1e-9, atol=1e-12)


def test_median_and_kthvalue_give_torchs_indices(session):
    x, t = session.tensor(A), torch.tensor(A)
    assert x.median(1).indices.tolist() == t.median(1).indices.tolist()
    assert x.kthvalue(4, 0).indices.tolist() == t.kthvalue(4, 0).indices.tolist()
    for kwargs in ({}, {"affine": True}, {"affine": True, "bias": False}):
        ours, theirs = gw.nn.InstanceNorm2d(3, session=session, **kwargs), torch.nn.InstanceNorm2d(3, **kwargs)
        assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    ours, theirs = gw.nn.InstanceNorm1d(3, track_running_stats=True, session=session), torch.nn.InstanceNorm1d(3, track_running_stats=True)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())  # running statistics: buffers, as torch's


CONVS = [
    ("Conv2d", dict(in_channels=4, out_channels=6, kernel_size=3, padding=2, dilation=2, groups=2), (2, 4, 9, 8)),
    ("Conv2d", dict(in_channels=6, out_channels=6, kernel_size=(3, 3), stride=2, padding=1, groups=6, bias=False), (2, 6, 7, 7)),  # depthwise
    ("Conv2d", dict(in_channels=3, out_channels=4, kernel_size=3, padding="same", dilation=(1, 2)), (1, 3, 6, 9)),
    ("Conv1d", dict(in_channels=4, out_channels=4, kernel_size=3, padding=4, dilation=4, groups=4), (2, 4, 16)),  # a TCN's layer
    ("Conv1d", dict(in_channels=2, out_channels=6, kernel_size=2, dilation=3, groups=2), (2, 10)),
]


def _same_layer_run(session, ours, theirs, shape):
    """With torch's weights: outputs, and the input's and weight's gradients of sum(out^2), equal to torch's."""
    ours.load_state_dict(theirs.state_dict())
    values = RNG.standard_normal(shape)
    x, tx = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    out, t_out = ours(x), theirs(tx)
    assert out.shape == tuple(t_out.shape)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    (out * out).sum().backward(), (t_out * t_out).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, kwargs, shape", CONVS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CONVS)])
def test_dilated_and_grouped_convolutions_match_torch(session, name, kwargs, shape):
    ours, theirs = getattr(gw.nn, name)(**kwargs, session=session, dtype=gw.float64), getattr(torch.nn, name)(**kwargs, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    bound = 1 / math.sqrt(kwargs["in_channels"] // kwargs.get("groups", 1) * math.prod(theirs.kernel_size))
    assert float(ours.weight.abs().max()) <= bound  # PyTorch's init, fan-in over a group's channels
    _same_layer_run(session, ours, theirs, shape)


def test_convolution_group_refusals_as_in_torch(session):
    for kwargs in (dict(in_channels=3, out_channels=4, kernel_size=3, groups=2), dict(in_channels=4, out_channels=3, kernel_size=3, groups=2)):
        with pytest.raises(ValueError) as theirs:
            torch.nn.Conv2d(**kwargs)
        with pytest.raises(ValueError) as ours:
            gw.nn.Conv2d(**kwargs, session=session)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(gw.InvalidArgumentError, match=r"Given groups=2, weight of size \[4, 3, 3, 3\], expected input\[1, 4, 5, 5\] to have 6 channels"):
        F.conv2d(session.zeros(1, 4, 5, 5), session.zeros(4, 3, 3, 3), groups=2).numpy()


TRANSPOSED = [
    ("ConvTranspose2d", dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, output_padding=1, groups=2, dilation=2), (2, 4, 4, 5)),
    ("ConvTranspose2d", dict(in_channels=3, out_channels=2, kernel_size=(2, 3), stride=2, bias=False), (1, 3, 3, 3)),
    ("ConvTranspose1d", dict(in_channels=4, out_channels=2, kernel_size=4, stride=2, padding=1), (2, 4, 7)),
]


@pytest.mark.parametrize("name, kwargs, shape", TRANSPOSED, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(TRANSPOSED)])
def test_transposed_convolutions_match_torch(session, name, kwargs, shape):
    ours, theirs = getattr(gw.nn, name)(**kwargs, session=session, dtype=gw.float64), getattr(torch.nn, name)(**kwargs, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert float(ours.weight.abs().max()) <= 1 / math.sqrt(theirs.weight.shape[1] * math.prod(theirs.kernel_size))
    _same_layer_run(session, ours, theirs, shape)
    if theirs.bias is not None:
        np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("size, shape", [((1, 1), (2, 3, 5, 4)), ((2, 2), (2, 3, 6, 4)), ((3, 2), (1, 2, 7, 5)), ((None, 2), (3, 5, 3))])
def test_adaptive_max_pooling_matches_torch(session, size, shape):
    values = RNG.permutation(math.prod(shape)).reshape(shape).astype(np.float64)  # distinct: one maximum per window
    _compare(session, lambda lib, f, x: f.adaptive_max_pool2d(x, size), values)
    assert repr(gw.nn.AdaptiveMaxPool2d(size)) == repr(torch.nn.AdaptiveMaxPool2d(size))
    if size == (2, 2):
        ours, theirs = F.adaptive_max_pool2d(session.tensor(values), size, True), TF.adaptive_max_pool2d(torch.tensor(values), size, True)
        assert ours[1].tolist() == theirs[1].tolist()


def test_adaptive_max_pool1d_matches_torch(session):
    values = RNG.permutation(2 * 3 * 7).reshape(2, 3, 7).astype(np.float64)
    _compare(session, lambda lib, f, x: lib.nn.AdaptiveMaxPool1d(3)(x), values)


def test_unique_and_bincount_match_torch(session):
    values = np.array([3, 1, 3, 2, 1, 3, 7])
    x, t = session.tensor(values), torch.tensor(values)
    assert x.unique().tolist() == t.unique().tolist()
    for ours, theirs in zip(gw.unique(x, return_inverse=True, return_counts=True), torch.unique(t, return_inverse=True, return_counts=True)):
        assert ours.tolist() == theirs.tolist()
    floats = session.tensor([2.5, -1.0, 2.5])
    assert floats.unique().tolist() == [-1.0, 2.5] and floats.unique().dtype == gw.float32
    rows = np.array([[1, 2], [1, 2], [0, 1]])
    assert session.tensor(rows).unique(dim=0).tolist() == torch.tensor(rows).unique(dim=0).tolist()
    assert x.bincount().tolist() == t.bincount().tolist() and gw.bincount(x, minlength=10).tolist() == torch.bincount(t, minlength=10).tolist()
    weights = np.linspace(0.5, 2.0, 7)
    ours, theirs = x.bincount(session.tensor(weights)), t.bincount(torch.tensor(weights))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy()) and None
    assert ours.dtype == gw.float64
    with pytest.raises(gw.InvalidArgumentError, match="bincount only supports 1-d non-negative integral inputs"):
        session.tensor([1, -2]).bincount().numpy()


PADS = {
    "reflect": lambda lib, f, x: f.pad(x.reshape(1, 2, 3, 4), (2, 3, 1, 2), mode="reflect"),
    "replicate": lambda lib, f, x: f.pad(x.reshape(2, 3, 4), (3, 1), mode="replicate"),
    "circular": lambda lib, f, x: f.pad(x.reshape(1, 2, 3, 4), (4, 2, 0, 3), mode="circular"),
    "ReflectionPad2d": lambda lib, f, x: lib.nn.ReflectionPad2d((1, 2, 0, 1))(x.reshape(1, 2, 3, 4)),
    "ReplicationPad1d": lambda lib, f, x: lib.nn.ReplicationPad1d(2)(x.reshape(2, 3, 4)),
    "CircularPad2d": lambda lib, f, x: lib.nn.CircularPad2d(1)(x.reshape(1, 2, 3, 4)),
    "ZeroPad2d": lambda lib, f, x: lib.nn.ZeroPad2d((1, 0, 2, 1))(x.reshape(2, 3, 4)),
    "ConstantPad1d": lambda lib, f, x: lib.nn.ConstantPad1d(2, 0.5)(x.reshape(2, 3, 4)),
    "softmin": lambda lib, f, x: f.softmin(x, 1),
    "selu": lambda lib, f, x: f.selu(x),
    "celu": lambda lib, f, x: f.celu(x, 0.7),
    "hardshrink": lambda lib, f, x: f.hardshrink(x, 0.8),
    "softshrink": lambda lib, f, x: f.softshrink(x, 0.8),
    "pixel_shuffle": lambda lib, f, x: f.pixel_shuffle(x.reshape(1, 8, 3, 1), 2),
    "pixel_unshuffle": lambda lib, f, x: f.pixel_unshuffle(x.reshape(1, 2, 4, 3).repeat(1, 1, 1, 2), 2),
    "bilinear": lambda lib, f, x: f.bilinear(x[:, :2], x[:, 2:5], x.reshape(2, 3, 4)[:, :2, :3], x[0, :2]),
}


@pytest.mark.parametrize("name", PADS)
def test_padding_shuffles_and_more_activations_match_torch(session, name):
    _compare(session, PADS[name], A, rtol=1e-7 if name == "celu" else 1e-10)  # (torch's celu scales by 1/alpha as a float32)


def test_new_layers_reprs_match_torch(session):
    pairs = [(gw.nn.ZeroPad2d(1), torch.nn.ZeroPad2d(1)), (gw.nn.ConstantPad1d(2, 0.5), torch.nn.ConstantPad1d(2, 0.5)),
             (gw.nn.ReflectionPad2d((1, 2, 0, 1)), torch.nn.ReflectionPad2d((1, 2, 0, 1))), (gw.nn.Hardshrink(), torch.nn.Hardshrink()),
             (gw.nn.CELU(), torch.nn.CELU()), (gw.nn.SELU(), torch.nn.SELU()), (gw.nn.Softmin(1), torch.nn.Softmin(1)),
             (gw.nn.PixelShuffle(2), torch.nn.PixelShuffle(2)), (gw.nn.Bilinear(2, 3, 4, session=session), torch.nn.Bilinear(2, 3, 4)),
             (gw.nn.Identity(5, foo=1), torch.nn.Identity(5, foo=1))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
    layer, t_layer = gw.nn.Bilinear(2, 3, 4, session=session, dtype=gw.float64), torch.nn.Bilinear(2, 3, 4, dtype=torch.float64)
    assert float(layer.weight.abs().max()) <= 1 / math.sqrt(2)
    layer.load_state_dict(t_layer.state_dict())
    out, t_out = layer(session.tensor(A[:, :2]), session.tensor(B[:, :3])), t_layer(torch.tensor(A[:, :2]), torch.tensor(B[:, :3]))
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    with pytest.raises(gw.InvalidArgumentError, match="Padding size should be less than the corresponding input dimension"):
        F.pad(session.zeros(1, 2, 3), (3, 0), mode="reflect")


# --- distances, triangle indices, Gumbel-softmax -----------------------------------------------------------


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
def test_cdist_matches_torch_a_zero_distance_included(session, p):
    x2 = np.concatenate([B[:2, :3], A[1:2, :3]])  # A's row 1 again: a zero distance, whose gradient is 0 in torch
    _compare(session, lambda lib, F, a, b: lib.cdist(a, b, p=p), A[:, :3], x2)
    batched = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 5, 4))
    _compare(session, lambda lib, F, a, b: lib.cdist(a, b, p=p), *batched)
    with pytest.raises(gw.InvalidArgumentError, match="X1 and X2 must have the same number of columns"):
        gw.cdist(session.tensor(A), session.tensor(B[:, :3]))


@pytest.mark.parametrize("row, col, offset", [(3, 4, 0), (4, 3, -1), (3, 3, 1), (0, 0, 0), (5, 2, 3)])
def test_triangle_indices_match_torch(session, row, col, offset):
    for name in ("tril_indices", "triu_indices"):
        ours, theirs = getattr(gw, name)(row, col, offset, session=session), getattr(torch, name)(row, col, offset)
        assert ours.dtype == gw.int64 and tuple(ours.shape) == tuple(theirs.shape), name
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)


def test_gumbel_softmax_samples_the_softmax_and_hard_passes_the_soft_gradient(session):
    logits = session.tensor(np.log([[0.6, 0.3, 0.1]] * 2000), requires_grad=True)
    weights = session.tensor(RNG.standard_normal((2000, 3)))
    samples = {}
    for hard in (False, True):
        session.manual_seed(3)  # the same noise for both
        samples[hard] = F.gumbel_softmax(logits, tau=0.5, hard=hard)
        (samples[hard] * weights).sum().backward()
        samples[hard, "grad"] = logits.grad.numpy().copy()
        logits.grad = None
    soft, hard = samples[False].detach().numpy(), samples[True].detach().numpy()
    np.testing.assert_allclose(soft.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(hard, np.eye(3)[soft.argmax(-1)])  # the one-hot of the soft sample's argmax
    # argmax(logits + Gumbel noise) is a draw from softmax(logits): 2000 draws, each frequency within 4 points
    np.testing.assert_allclose(hard.mean(0), [0.6, 0.3, 0.1], atol=0.04)
    np.testing.assert_allclose(samples[True, "grad"], samples[False, "grad"], rtol=1e-12, atol=1e-15)  # straight-through
    assert np.abs(samples[False, "grad"]).sum() > 0


def test_device_flags_and_empty(session):
    x = session.empty(2, 3, dtype=gw.float64)
    assert (x.is_cpu, x.is_cuda) == (True, False) and x.dtype == gw.float64 and tuple(x.shape) == (2, 3)


POOLINGS = {  # through the SDK: the modules and functions with ceil_mode, dilation and divisor_override
    "max2d-ceil": lambda lib, F, x: lib.nn.MaxPool2d(3, 2, ceil_mode=True)(x),
    "max2d-dilated-padded": lambda lib, F, x: F.max_pool2d(x, 2, 1, 1, dilation=2),
    "max2d-ceil-indices": lambda lib, F, x: F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)[0],
    "max1d-dilated-ceil": lambda lib, F, x: lib.nn.MaxPool1d(2, 2, dilation=2, ceil_mode=True)(x.flatten(2)),
    "avg2d-ceil": lambda lib, F, x: lib.nn.AvgPool2d(2, ceil_mode=True)(x),
    "avg2d-ceil-exclude": lambda lib, F, x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "avg2d-divisor": lambda lib, F, x: lib.nn.AvgPool2d(3, 2, 1, divisor_override=5)(x),
    "avg1d-ceil": lambda lib, F, x: F.avg_pool1d(x.flatten(2), 4, 3, ceil_mode=True),
}


@pytest.mark.parametrize("name", POOLINGS)
def test_pooling_with_ceil_mode_dilation_and_divisor_matches_torch(session, name):
    x = np.random.default_rng(5).permutation(2 * 3 * 7 * 5).reshape(2, 3, 7, 5) / 10.0  # distinct: one maximum per window
    _compare(session, POOLINGS[name], x)


def test_pooling_indices_and_reprs_with_ceil_mode_match_torch(session):
    x = np.random.default_rng(6).permutation(3 * 7 * 5).reshape(1, 3, 7, 5).astype(np.float32)
    _, ours = gw.nn.functional.max_pool2d(session.tensor(x), 3, 2, 1, dilation=(1, 2), ceil_mode=True, return_indices=True)
    _, theirs = TF.max_pool2d(torch.from_numpy(x), 3, 2, 1, dilation=(1, 2), ceil_mode=True, return_indices=True)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.tolist() == theirs.tolist()
    assert repr(gw.nn.MaxPool2d(3, 2, ceil_mode=True)) == repr(torch.nn.MaxPool2d(3, 2, ceil_mode=True))
    with pytest.raises(gw.InvalidArgumentError, match="divisor must be not zero"):
        gw.nn.functional.avg_pool2d(session.tensor(x), 2, divisor_override=0).sum().item()


# --- linear algebra -----------------------------------------------------------------------------------------


def _gp_loss(lib, x, y, log_scale, solve_with):
    """A Gaussian process's negative log marginal likelihood: 0.5 y^T K^-1 y + 0.5 log det K, K an RBF kernel."""
    distances = ((x.unsqueeze(1) - x.unsqueeze(0)) ** 2).sum(-1)
    kernel = (-distances / (2 * log_scale.exp() ** 2)).exp() + 0.1 * (lib.eye(6, dtype=lib.float64) if lib is torch else
                                                                       x._session.eye(6, dtype=gw.float64))
    if solve_with == "cholesky":
        factor = lib.linalg.cholesky(kernel)
        alpha = lib.linalg.solve(factor.mT, lib.linalg.solve(factor, y))
        logdet = 2 * factor.diagonal().log().sum()
    else:
        alpha = lib.linalg.solve(kernel, y) if solve_with == "solve" else lib.linalg.inv(kernel) @ y
        logdet = lib.linalg.slogdet(kernel)[1] if solve_with == "solve" else lib.logdet(kernel)
    return 0.5 * (y * alpha).sum() + 0.5 * logdet


@pytest.mark.parametrize("solve_with", ["solve", "inv", "cholesky"])
def test_a_gaussian_process_likelihood_and_its_curvature_match_torch(session, solve_with):
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((6, 2)), rng.standard_normal(6)
    results = []
    for lib in (torch, gw):
        tensor = torch.tensor if lib is torch else session.tensor
        xs, ys, log_scale = tensor(x, requires_grad=True), tensor(y), tensor(np.float64(0.3), requires_grad=True)
        grad = torch.autograd.grad if lib is torch else gw.grad
        loss = _gp_loss(lib, xs, ys, log_scale, solve_with)
        g_scale, g_x = grad(loss, (log_scale, xs), create_graph=True)
        (curvature,) = grad(g_scale, log_scale)  # d2 loss / d log_scale^2
        results.append([loss, g_scale, g_x, curvature])
    for what, ours, theirs in zip(("loss", "d/dlog_scale", "d/dx", "curvature"), results[1], results[0]):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=what)


def test_linear_algebra_shapes_values_and_refusals_as_torchs(session):
    a = np.random.default_rng(8).standard_normal((2, 3, 3)) + 3 * np.eye(3)
    ours, theirs = session.tensor(a), torch.tensor(a)
    sign, logabsdet = gw.linalg.slogdet(ours)
    t_sign, t_logabsdet = torch.linalg.slogdet(theirs)
    np.testing.assert_allclose(sign.numpy(), t_sign.numpy())
    np.testing.assert_allclose(logabsdet.numpy(), t_logabsdet.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.det(ours).numpy(), torch.det(theirs).numpy(), rtol=1e-12)
    for b in (np.ones(3), np.ones((2, 3)), np.ones((3, 4))):  # one vector for every matrix, a vector each, a matrix
        solved = gw.linalg.solve(ours, session.tensor(b))
        expected = torch.linalg.solve(theirs, torch.tensor(b))
        assert tuple(solved.shape) == tuple(expected.shape)
        np.testing.assert_allclose(solved.numpy(), expected.numpy(), rtol=1e-12)
    with pytest.raises(gw.InvalidArgumentError, match="linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices"):
        gw.linalg.inv(session.ones(2, 3)).sum().item()
    with pytest.raises(gw.InvalidArgumentError, match="the input matrix is singular"):
        gw.linalg.inv(session.zeros(3, 3)).sum().item()
    with pytest.raises(gw.InvalidArgumentError, match="linalg.cholesky: The factorization could not be completed because the input is not positive-definite"):
        gw.linalg.cholesky(-session.eye(3)).sum().item()
    with pytest.raises(gw.InvalidArgumentError, match=r"linalg.solve: Incompatible shapes of A and B for the equation AX = B \(3x3 and 4x1\)"):
        gw.linalg.solve(session.eye(3), session.zeros(4)).sum().item()
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as input. Got Long"):
        gw.linalg.inv(session.tensor([[1, 2], [3, 4]])).sum().item()


# --- sampling -------------------------------------------------------------------------------------------------


def test_multinomial_draws_the_weights_with_and_without_replacement(session):
    session.manual_seed(4)
    weights = session.tensor([[1.0, 0.0, 3.0, 6.0]] * 3000)
    drawn = gw.multinomial(weights, 1, replacement=True).numpy()
    assert drawn.shape == (3000, 1) and drawn.dtype == np.int64
    np.testing.assert_allclose(np.bincount(drawn.ravel(), minlength=4) / 3000, [0.1, 0.0, 0.3, 0.6], atol=0.03)  # bounded draws
    without = weights.multinomial(3).numpy()  # three of the three categories that have weight: each row a permutation
    assert (np.sort(without, axis=1) == [0, 2, 3]).all()
    firsts = np.bincount(without[:, 0], minlength=4) / 3000  # the first draw is a draw by weight
    np.testing.assert_allclose(firsts, [0.1, 0.0, 0.3, 0.6], atol=0.03)
    assert gw.multinomial(session.tensor([0.2, 0.8]), 5, replacement=True).shape == (5,)
    with pytest.raises(gw.InvalidArgumentError, match="cannot sample n_sample > prob_dist.size"):
        weights.multinomial(5)


def test_bernoulli_and_normal_sample_their_distributions(session):
    session.manual_seed(5)
    p = session.tensor(np.linspace(0.0, 1.0, 5).repeat(2000).reshape(5, 2000))
    drawn = gw.bernoulli(p).numpy()
    assert set(np.unique(drawn)) <= {0.0, 1.0} and drawn[0].sum() == 0 and drawn[-1].sum() == 2000
    np.testing.assert_allclose(drawn.mean(1), np.linspace(0.0, 1.0, 5), atol=0.04)
    samples = gw.normal(2.0, 0.5, size=(20000,), session=session).numpy()
    assert abs(samples.mean() - 2.0) < 0.02 and abs(samples.std() - 0.5) < 0.02
    means = session.tensor([[-1.0], [3.0]])
    shaped = gw.normal(means, session.tensor([0.1, 0.2, 0.3])).numpy()  # broadcast: (2, 3)
    assert shaped.shape == (2, 3) and np.abs(shaped - [[-1.0], [3.0]]).max() < 2.0
    filled = session.zeros(4000).bernoulli_(0.25).numpy()
    assert set(np.unique(filled)) == {0.0, 1.0} and abs(filled.mean() - 0.25) < 0.03
    rates = session.zeros(20000).exponential_(2.0).numpy()
    assert rates.min() >= 0 and abs(rates.mean() - 0.5) < 0.02
