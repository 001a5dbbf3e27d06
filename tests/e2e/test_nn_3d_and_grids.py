"""Volumes and sampling grids against torch 2.13 (CPU, float64): conv3d and conv_transpose3d, max/avg/adaptive-avg
pooling over (D, H, W), BatchNorm3d and InstanceNorm3d, trilinear and 5-D nearest interpolation, affine_grid and
grid_sample in every mode, padding mode and align_corners; outputs and gradients, double backward where the 2-D
ops have it, through a real session."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import gradwire as gw
import gradwire.nn.functional as F
from gradwire import nn


def _check(session, rng, ours, theirs, *arrays, atol=1e-11):
    """``ours`` and ``theirs`` on the same float64 leaves: equal values (integer extras, such as pooling's indices,
    exactly) and equal gradients of a random weighting of the first output, for every leaf (None where torch's is)."""
    leaves = [(session.tensor(a, dtype="float64", requires_grad=True), torch.tensor(a, dtype=torch.float64, requires_grad=True)) for a in arrays]
    g_out, t_out = ours(*(g for g, _ in leaves)), theirs(*(t for _, t in leaves))
    if isinstance(t_out, tuple):
        for g_extra, t_extra in zip(g_out[1:], t_out[1:]):
            np.testing.assert_array_equal(g_extra.numpy(), t_extra.numpy())
        g_out, t_out = g_out[0], t_out[0]
    assert g_out.shape == tuple(t_out.shape)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=atol)
    seed = rng.standard_normal(tuple(t_out.shape))
    (g_out * session.tensor(seed, dtype="float64")).sum().backward()
    (t_out * torch.tensor(seed)).sum().backward()
    for k, (g, t) in enumerate(leaves):
        if t.grad is None:
            assert g.grad is None, f"input {k}"
        else:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=atol, err_msg=f"input {k}")


# --- convolutions -------------------------------------------------------------------------------------------------

CONV3D = [  # weight shape, stride, padding, dilation, groups
    ((6, 4, 3, 2, 3), 1, 0, 1, 1),
    ((6, 4, 3, 3, 3), (2, 1, 2), (1, 2, 0), (2, 1, 1), 1),
    ((6, 2, 3, 3, 3), 1, "same", 1, 2),
    ((4, 4, 1, 3, 3), 1, "valid", 1, 1),
    ((8, 1, 2, 2, 2), 2, 1, 1, 4),
]


@pytest.mark.parametrize("weight, stride, padding, dilation, groups", CONV3D)
def test_conv3d_matches_torch(session, rng, weight, stride, padding, dilation, groups):
    x, w, b = rng.standard_normal((2, 4, 7, 8, 6)), rng.standard_normal(weight), rng.standard_normal(weight[0])
    _check(session, rng, lambda x, w, b: F.conv3d(x, w, b, stride, padding, dilation, groups),
           lambda x, w, b: TF.conv3d(x, w, b, stride, padding, dilation, groups), x, w, b)


def test_conv3d_unbatched_and_the_layer_match_torch(session, rng):
    _check(session, rng, F.conv3d, TF.conv3d, rng.standard_normal((4, 5, 6, 5)), rng.standard_normal((3, 4, 2, 3, 2)))
    torch.manual_seed(0)
    theirs = tnn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=1, groups=2).double()
    ours = nn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=1, groups=2, session=session).double()
    assert repr(ours) == repr(theirs) and ours.weight.shape == tuple(theirs.weight.shape)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 4, 5, 6, 7))
    np.testing.assert_allclose(ours(session.tensor(x, dtype="float64")).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


CONV_TRANSPOSE3D = [  # weight shape, stride, padding, output_padding, groups, dilation
    ((4, 3, 3, 2, 3), 1, 0, 0, 1, 1),
    ((4, 3, 3, 2, 3), (2, 2, 1), (1, 0, 2), (1, 1, 0), 1, (1, 2, 2)),
    ((4, 2, 2, 3, 3), 2, 1, 1, 2, 1),
    ((4, 1, 3, 1, 1), 3, (2, 0, 0), 0, 1, 1),
]


@pytest.mark.parametrize("weight, stride, padding, output_padding, groups, dilation", CONV_TRANSPOSE3D)
def test_conv_transpose3d_matches_torch(session, rng, weight, stride, padding, output_padding, groups, dilation):
    x, w, b = rng.standard_normal((2, 4, 3, 4, 3)), rng.standard_normal(weight), rng.standard_normal(weight[1] * groups)
    _check(session, rng, lambda x, w, b: F.conv_transpose3d(x, w, b, stride, padding, output_padding, groups, dilation),
           lambda x, w, b: TF.conv_transpose3d(x, w, b, stride, padding, output_padding, groups, dilation), x, w, b)


def test_conv_transpose3d_layer_matches_torch(session, rng):
    torch.manual_seed(0)
    theirs = tnn.ConvTranspose3d(4, 2, 3, stride=2, padding=1, output_padding=1).double()
    ours = nn.ConvTranspose3d(4, 2, 3, stride=2, padding=1, output_padding=1, session=session).double()
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((4, 3, 4, 2))  # unbatched
    np.testing.assert_allclose(ours(session.tensor(x, dtype="float64")).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_conv3d_double_backward_matches_torch(session, rng):
    """A gradient penalty through conv3d: d/dw of |d(sum conv3d(x, w)^2)/dx|^2."""
    x, w = rng.standard_normal((2, 3, 5, 4, 5)), rng.standard_normal((2, 3, 3, 2, 3))
    results = []
    for lib, tensor, grad in ((gw, lambda a: session.tensor(a, dtype="float64", requires_grad=True), gw.grad),
                              (torch, lambda a: torch.tensor(a, requires_grad=True), torch.autograd.grad)):
        conv = F.conv3d if lib is gw else TF.conv3d
        xt, wt = tensor(x), tensor(w)
        (gx,) = grad((conv(xt, wt, None, 1, 1) ** 2).sum(), xt, create_graph=True)
        (gw_,) = grad((gx ** 2).sum(), wt)
        results.append(gw_.detach().numpy())
    np.testing.assert_allclose(*results, rtol=1e-10, atol=1e-10)


def test_conv3d_errors_read_as_torch(session):
    with pytest.raises(RuntimeError, match=r"Expected 4D \(unbatched\) or 5D \(batched\) input to conv3d, but got input of size: \[2, 3, 4\]"):
        F.conv3d(session.ones(2, 3, 4), session.ones(1, 3, 1, 1, 1))
    with pytest.raises(RuntimeError, match=r"expected input\[1, 2, 4, 4, 4\] to have 3 channels, but got 2 channels instead"):
        F.conv3d(session.ones(1, 2, 4, 4, 4), session.ones(1, 3, 1, 1, 1))
    with pytest.raises(RuntimeError, match=r"Kernel size: \(5 x 1 x 1\). Kernel size can't be greater than actual input size"):
        F.conv3d(session.ones(1, 2, 4, 4, 4), session.ones(1, 2, 5, 1, 1))


# --- pooling ------------------------------------------------------------------------------------------------------

MAX_POOL3D = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False),
    (3, 2, 1, 1, True),
    ((2, 3, 2), (1, 2, 1), (1, 1, 0), (2, 1, 2), False),
    ((3, 2, 2), (2, 3, 1), 0, 1, True),
]


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", MAX_POOL3D)
def test_max_pool3d_matches_torch_with_indices(session, rng, kernel, stride, padding, dilation, ceil_mode):
    x = rng.standard_normal((2, 3, 7, 8, 6))
    x[0, 0, :3, :3, :3] = 0.5  # ties: the gradient goes to the first maximum in (d, h, w) order, as PyTorch's
    for indices in (False, True):
        _check(session, rng, lambda x: F.max_pool3d(x, kernel, stride, padding, dilation, ceil_mode, indices),
               lambda x: TF.max_pool3d(x, kernel, stride, padding, dilation, ceil_mode, indices), x)


def test_max_pool3d_layer_unbatched(session, rng):
    x = rng.standard_normal((3, 6, 5, 4))
    assert repr(nn.MaxPool3d(2, 1)) == repr(tnn.MaxPool3d(2, 1))
    _check(session, rng, nn.MaxPool3d(2, 1, return_indices=True), tnn.MaxPool3d(2, 1, return_indices=True), x)


@pytest.mark.parametrize("count_include_pad, ceil_mode, divisor", list(itertools.product((True, False), (True, False), (None,))) + [(False, True, 5)])
def test_avg_pool3d_matches_torch(session, rng, count_include_pad, ceil_mode, divisor):
    x = rng.standard_normal((2, 3, 7, 8, 6))
    _check(session, rng, lambda x: F.avg_pool3d(x, 3, 2, 1, ceil_mode, count_include_pad, divisor),
           lambda x: TF.avg_pool3d(x, 3, 2, 1, ceil_mode, count_include_pad, divisor), x)
    _check(session, rng, nn.AvgPool3d((2, 3, 1), (1, 2, 1), divisor_override=divisor), tnn.AvgPool3d((2, 3, 1), (1, 2, 1), divisor_override=divisor), x[0])


@pytest.mark.parametrize("size", [(3, 5, None), 1, (4, 2, 3), 2])
def test_adaptive_avg_pool3d_matches_torch(session, rng, size):
    x = rng.standard_normal((2, 3, 7, 8, 6))
    _check(session, rng, nn.AdaptiveAvgPool3d(size), tnn.AdaptiveAvgPool3d(size), x)


def test_pool3d_double_backward_matches_torch(session, rng):
    x = rng.standard_normal((2, 2, 5, 6, 4))
    results = []
    for lib, tensor, grad in ((gw, lambda a: session.tensor(a, dtype="float64", requires_grad=True), gw.grad),
                              (torch, lambda a: torch.tensor(a, requires_grad=True), torch.autograd.grad)):
        fn = F if lib is gw else TF
        xt = tensor(x)
        y = fn.max_pool3d(xt, 3, 1, 1) + fn.avg_pool3d(xt * xt, 3, 1, 1, count_include_pad=False)
        (gx,) = grad((y ** 2).sum(), xt, create_graph=True)
        (gxx,) = grad((gx ** 2).sum(), xt)
        results.append(gxx.detach().numpy())
    np.testing.assert_allclose(*results, rtol=1e-10, atol=1e-10)


# --- normalisation and interpolation ------------------------------------------------------------------------------


def test_batch_norm3d_and_instance_norm3d_match_torch(session, rng):
    torch.manual_seed(0)
    x = rng.standard_normal((3, 4, 3, 4, 5)) * 2 + 1
    theirs, ours = tnn.BatchNorm3d(4).double(), nn.BatchNorm3d(4, session=session).double()
    assert repr(ours) == repr(theirs)
    _check(session, rng, ours, theirs, x)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-10)
    ours.eval(), theirs.eval()
    _check(session, rng, ours, theirs, x)
    with pytest.raises(RuntimeError, match=r"expected 5D input \(got 4D input\)"):
        ours(session.ones(4, 3, 4, 5))
    _check(session, rng, nn.InstanceNorm3d(4, affine=True, session=session).double(), tnn.InstanceNorm3d(4, affine=True).double(), x)
    _check(session, rng, nn.InstanceNorm3d(4), tnn.InstanceNorm3d(4), x[0])


@pytest.mark.parametrize("mode, align_corners, size, scale", [
    ("trilinear", False, (5, 11, 9), None), ("trilinear", True, None, 1.5), ("trilinear", False, None, (2.0, 0.5, 1.0)),
    ("nearest", None, (5, 11, 9), None), ("nearest", None, None, 2.0),
])
def test_trilinear_and_nearest_5d_interpolate_match_torch(session, rng, mode, align_corners, size, scale):
    x = rng.standard_normal((2, 3, 4, 6, 5))
    _check(session, rng, nn.Upsample(size, scale, mode, align_corners), tnn.Upsample(size, scale, mode, align_corners), x)


# --- affine_grid and grid_sample ----------------------------------------------------------------------------------


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 5, 4), (2, 3, 5, 4, 3), (2, 1, 1, 4)])
def test_affine_grid_matches_torch(session, rng, size, align_corners):
    theta = rng.standard_normal((2, len(size) - 2, len(size) - 1))
    if align_corners and min(size[2:]) == 1:  # PyTorch's warning, both libraries'
        with pytest.warns(UserWarning, match="for unit-size grids when align_corners=True"):
            _check(session, rng, lambda t: F.affine_grid(t, size, align_corners), lambda t: TF.affine_grid(t, size, align_corners), theta)
        return
    _check(session, rng, lambda t: F.affine_grid(t, size, align_corners), lambda t: TF.affine_grid(t, size, align_corners), theta)


GRID_MODES = list(itertools.product(("bilinear", "nearest"), ("zeros", "border", "reflection"), (False, True)))


@pytest.mark.parametrize("mode, padding_mode, align_corners", GRID_MODES)
def test_grid_sample_matches_torch(session, rng, mode, padding_mode, align_corners):
    """Points inside and outside [-1, 1], some far enough out to reflect several times; nearest gives grid a zero
    gradient, as PyTorch's."""
    image = rng.standard_normal((2, 3, 5, 6))
    grid = np.concatenate([rng.uniform(-1, 1, (2, 3, 7, 2)), rng.uniform(-1.6, 1.6, (2, 3, 7, 2)), rng.uniform(-4.5, 4.5, (2, 2, 7, 2))], axis=1)
    _check(session, rng, lambda i, g: F.grid_sample(i, g, mode, padding_mode, align_corners),
           lambda i, g: TF.grid_sample(i, g, mode, padding_mode, align_corners), image, grid)
    volume, grid3 = rng.standard_normal((2, 2, 4, 5, 3)), rng.uniform(-2.5, 2.5, (2, 3, 2, 4, 3))
    _check(session, rng, lambda i, g: F.grid_sample(i, g, mode, padding_mode, align_corners),
           lambda i, g: TF.grid_sample(i, g, mode, padding_mode, align_corners), volume, grid3)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_of_a_unit_dim_and_of_an_affine_grid(session, rng, padding_mode):
    """A dim of size 1 (with align_corners its reflection is a point); affine_grid into grid_sample, the gradient
    reaching theta."""
    _check(session, rng, lambda i, g: F.grid_sample(i, g, "bilinear", padding_mode, True),
           lambda i, g: TF.grid_sample(i, g, "bilinear", padding_mode, True), rng.standard_normal((1, 2, 1, 5)), rng.uniform(-1.5, 1.5, (1, 3, 4, 2)))
    _check(session, rng, lambda i, t: F.grid_sample(i, F.affine_grid(t, (2, 3, 4, 5), False), padding_mode=padding_mode, align_corners=False),
           lambda i, t: TF.grid_sample(i, TF.affine_grid(t, (2, 3, 4, 5), False), padding_mode=padding_mode, align_corners=False),
           rng.standard_normal((2, 3, 6, 7)), np.array([[[1.1, 0.2, 0.1], [-0.3, 0.9, -0.2]], [[0.7, -0.6, 0.4], [0.5, 0.8, 0.0]]]))


def test_grid_sample_and_affine_grid_errors_and_warning_read_as_torch(session):
    image, grid = session.ones(1, 2, 3, 3, dtype="float64"), session.zeros(1, 2, 2, 2, dtype="float64")
    with pytest.raises(ValueError, match="expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: 'linear'"):
        F.grid_sample(image, grid, "linear", align_corners=False)
    with pytest.raises(ValueError, match="expected padding_mode to be 'zeros', 'border', or 'reflection', but got: 'wrap'"):
        F.grid_sample(image, grid, padding_mode="wrap", align_corners=False)
    with pytest.raises(RuntimeError, match=r"grid_sampler\(\): expected grid to have size 2 in last dimension"):
        F.grid_sample(image, session.zeros(1, 2, 2, 3, dtype="float64"), align_corners=False)
    with pytest.raises(ValueError, match=r"Expected a batch of 2D affine matrices of shape Nx2x3 for size \(1, 2, 3, 3\)"):
        F.affine_grid(session.zeros(1, 3, 3, dtype="float64"), (1, 2, 3, 3), False)
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior has changed"):
        F.grid_sample(image, grid)


# --- fractional max pooling --------------------------------------------------------------------------------------

FRACTIONAL = [  # dims, input shape, kernel, output size
    (2, (2, 3, 7, 6), 2, 3), (2, (2, 3, 11, 9), (3, 2), (4, 5)), (2, (3, 10, 10), 3, 4), (2, (1, 1, 5, 5), 2, 1),
    (2, (2, 2, 25, 25), 2, 13), (3, (2, 2, 6, 7, 5), 2, 3), (3, (2, 6, 7, 5), (2, 3, 1), (4, 2, 3)),
]


@pytest.mark.parametrize("dims, shape, kernel, size", FRACTIONAL)
def test_fractional_max_pool_matches_torch_given_the_samples(session, rng, dims, shape, kernel, size):
    # the windows' starts follow from the samples by PyTorch's formula: the same maxima, indices and gradients
    batch, channels = (shape[0] if len(shape) == dims + 2 else 1), shape[-dims - 1]
    samples = rng.random((batch, channels, dims))
    ours, theirs = getattr(F, f"fractional_max_pool{dims}d"), getattr(TF, f"fractional_max_pool{dims}d")
    _check(session, rng, lambda x: ours(x, kernel, output_size=size, return_indices=True, _random_samples=session.tensor(samples)),
           lambda x: theirs(x, kernel, output_size=size, return_indices=True, _random_samples=torch.tensor(samples)), rng.standard_normal(shape))
    with_float32 = rng.standard_normal(shape).astype(np.float32)  # float32: the starts computed in float32, as torch's
    g = ours(session.tensor(with_float32), kernel, output_size=size, _random_samples=session.tensor(samples.astype(np.float32)))
    t = theirs(torch.tensor(with_float32), kernel, output_size=size, _random_samples=torch.tensor(samples.astype(np.float32)))
    np.testing.assert_array_equal(g.numpy(), t.numpy())


def test_fractional_max_pool_numerical_gradient_and_layers(session, rng):
    x = session.tensor(rng.standard_normal((1, 2, 9, 8)), dtype="float64", requires_grad=True)
    samples = session.tensor(rng.random((1, 2, 2)), dtype="float64")
    assert gw.autograd.gradcheck(lambda x: F.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.6), _random_samples=samples), (x,))
    values = rng.standard_normal((2, 3, 8, 7)).astype(np.float32)
    fixed = rng.random((2, 3, 2)).astype(np.float32)
    ours = nn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True, _random_samples=session.tensor(fixed))
    theirs = tnn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True, _random_samples=torch.tensor(fixed))
    for g, t in zip(ours(session.tensor(values)), theirs(torch.tensor(values))):
        np.testing.assert_array_equal(g.numpy(), t.numpy())
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    drawn = nn.FractionalMaxPool3d(2, output_size=(2, 3, 3))(session.tensor(values))  # samples from the session's generator
    assert drawn.shape == (2, 2, 3, 3) and set(drawn.numpy().ravel()) <= set(values.ravel())
    assert F.fractional_max_pool2d(session.zeros(0, 3, 7, 6), 2, output_size=3).shape == (0, 3, 3, 3)


@pytest.mark.parametrize("call", [
    lambda m, f, x: f.fractional_max_pool2d(x, 3, output_size=6), lambda m, f, x: f.fractional_max_pool2d(x, (2, 5), output_size=(3, 3)),
    lambda m, f, x: f.fractional_max_pool2d(x, 2, output_size=3, _random_samples=m.rand(2, 3, 3)),
    lambda m, f, x: f.fractional_max_pool2d(x, 2, output_size=3, _random_samples=m.rand(1, 3, 2)),
    lambda m, f, x: f.fractional_max_pool2d(x, 2, output_size=3, _random_samples=m.rand(2, 2, 2)),
    lambda m, f, x: f.fractional_max_pool2d(x, 2, output_size=3, _random_samples=m.rand(2, 3)),
    lambda m, f, x: f.fractional_max_pool2d(x, 2, output_size=3, _random_samples=m.rand(2, 3, 2, dtype=m.float64)),
    lambda m, f, x: f.fractional_max_pool2d(x.long(), 2, output_size=3, _random_samples=m.rand(2, 3, 2).long()),
    lambda m, f, x: f.fractional_max_pool2d(x.unsqueeze(0), 2, output_size=3), lambda m, f, x: f.fractional_max_pool2d(x, 2),
    lambda m, f, x: f.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.5, 0.5)), lambda m, f, x: f.fractional_max_pool2d(x, (2, 2, 2), output_size=3),
    lambda m, f, x: f.fractional_max_pool3d(x, 2, output_size=3), lambda m, f, x: m.nn.FractionalMaxPool2d(2, output_ratio=1.5),
    lambda m, f, x: m.nn.FractionalMaxPool2d(2), lambda m, f, x: m.nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5),
])
def test_fractional_max_pool_refusals_read_as_torch(session, call):
    values = np.zeros((2, 3, 7, 6), dtype=np.float32)
    with pytest.raises(Exception) as theirs:
        call(torch, TF, torch.tensor(values))
    with pytest.raises(type(theirs.value) if type(theirs.value) is not RuntimeError else gw.GradwireError) as ours:
        call(_Both(session), F, session.tensor(values))
    assert str(ours.value) == str(theirs.value)


class _Both:
    """gw's names with the session's factories (rand), for one lambda written for torch and gradwire alike."""

    def __init__(self, session):
        self._session = session

    def __getattr__(self, name):
        return getattr(self._session if name in ("rand",) else gw, name)


# an adaptive pool of an empty plane: refused in torch's words, by each pool's own rule (adaptive_avg_pool2d looks at
# its last two dims, the others at every dim after the first); an empty batch pools to an empty output
EMPTY_POOLS = [("adaptive_avg_pool1d", (2, 3, 0)), ("adaptive_avg_pool1d", (2, 0, 4)), ("adaptive_avg_pool2d", (2, 0, 4)),
               ("adaptive_avg_pool2d", (1, 0, 3, 4)), ("adaptive_avg_pool2d", (0, 3, 4)), ("adaptive_max_pool1d", (2, 0, 4)),
               ("adaptive_max_pool1d", (0, 4)), ("adaptive_max_pool2d", (1, 0, 3, 4)), ("adaptive_max_pool2d", (0, 3, 4)),
               ("adaptive_avg_pool3d", (1, 0, 2, 3, 4)), ("adaptive_avg_pool3d", (0, 2, 3, 4)), ("adaptive_max_pool3d", (1, 2, 3, 0, 4)),
               ("adaptive_max_pool3d", (0, 2, 3, 3, 4))]


@pytest.mark.parametrize("name, shape", EMPTY_POOLS, ids=str)
def test_adaptive_pools_of_empty_inputs_as_torchs(session, name, shape):
    try:
        theirs = getattr(torch.nn.functional, name)(torch.ones(shape), 2)
    except RuntimeError as error:
        with pytest.raises(gw.InvalidArgumentError) as ours:
            getattr(gw.nn.functional, name)(session.ones(*shape), 2)
        assert str(ours.value) == str(error)
    else:
        assert tuple(getattr(gw.nn.functional, name)(session.ones(*shape), 2).shape) == tuple(theirs.shape)
