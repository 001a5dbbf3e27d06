"""``gradwire.nn.init``: fill tensors in place from the session's seeded generator, as ``torch.nn.init``.

The samples are drawn on the server (``rand``/``randn`` of the session), so
``session.manual_seed(n)`` makes a model's initial weights reproducible, and no
weight crosses the network.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..grad_mode import no_grad


def _fan_in_and_fan_out(tensor):
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4  # PyTorch's, found empirically (pytorch/pytorch#50664)
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def uniform_(tensor, a=0.0, b=1.0):
    """Fill ``tensor`` with samples of U(a, b)."""
    with no_grad():
        samples = tensor._session.rand(tensor.shape, dtype=tensor.dtype)
        tensor.copy_(samples * (b - a) + a)
    return tensor


def normal_(tensor, mean=0.0, std=1.0):
    """Fill ``tensor`` with samples of N(mean, std**2)."""
    with no_grad():
        samples = tensor._session.randn(tensor.shape, dtype=tensor.dtype)
        tensor.copy_(samples * std + mean if (std, mean) != (1.0, 0.0) else samples)
    return tensor


def constant_(tensor, val):
    with no_grad():
        if val == 0:
            tensor.zero_()
        else:
            tensor.copy_(tensor._session.full(tensor.shape, float(val), dtype=tensor.dtype))
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He initialisation, uniform: bound = gain * sqrt(3 / fan)."""
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan) if fan else 0.0
    return uniform_(tensor, -bound, bound)


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He initialisation, normal: std = gain / sqrt(fan)."""
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan) if fan else 0.0)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Samples of N(mean, std**2) kept within [a, b], by PyTorch's method: uniform samples between the
    bounds' CDFs, through the inverse CDF (``erfinv``), clamped."""

    def cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    low, high = cdf((a - mean) / std), cdf((b - mean) / std)
    with no_grad():
        uniform = tensor._session.rand(tensor.shape, dtype=tensor.dtype) * (2 * high - 2 * low) + (2 * low - 1)
        tensor.copy_((uniform.erfinv() * (std * math.sqrt(2.0)) + mean).clamp(a, b))
    return tensor


def eye_(tensor):
    """The identity matrix, in a 2-D tensor."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with no_grad():
        tensor.copy_(tensor._session.tensor(np.eye(*tensor.shape, dtype=tensor.dtype)))
    return tensor


def dirac_(tensor, groups=1):
    """The Dirac delta of a 3-, 4- or 5-D convolution weight: each of a group's first in-channels passed through
    unchanged at the kernel's centre (the values are known here: built and uploaded, as ``eye_``)."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    shape = tensor.shape
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = shape[0] // groups
    values = np.zeros(shape, dtype=tensor.dtype)
    centre = tuple(n // 2 for n in shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, shape[1])):
            values[(g * out_per_group + d, d) + centre] = 1
    with no_grad():
        tensor.copy_(tensor._session.tensor(values))
    return tensor


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """A 2-D tensor of N(0, std**2) samples with ``ceil(sparsity * rows)`` of each column's entries, drawn at random,
    set to zero, as ``torch.nn.init.sparse_``; the draws and the choice on the server."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    zeros_per_column = int(math.ceil(sparsity * rows))
    session = tensor._session
    with no_grad():
        ranks = session.rand(rows, cols, generator=generator).argsort(0).argsort(0)  # a random order of each column's rows
        samples = session.randn((rows, cols), generator=generator, dtype=tensor.dtype) * std
        tensor.copy_(samples * (ranks >= zeros_per_column))
    return tensor


def orthogonal_(tensor, gain=1):
    """A (semi-)orthogonal matrix, times ``gain``, as ``torch.nn.init.orthogonal_``: normal draws from the session's
    generator as a (rows, numel / rows) matrix (transposed where it is wide), its QR's Q with each column's sign
    made that of R's diagonal, written back in the tensor's shape."""
    from .. import linalg

    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor  # no-op, as torch's
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with no_grad():
        flattened = tensor._session.randn((rows, cols), dtype=tensor.dtype)
        if rows < cols:
            flattened = flattened.T
        q, r = linalg.qr(flattened)
        q = q * r.diagonal().sign()
        if rows < cols:
            q = q.T
        tensor.copy_((q * gain).reshape(tensor.shape))
    return tensor


def _deprecated(function):
    """PyTorch's old name of an init function (no trailing underscore): the function, with its FutureWarning."""
    old, new = function.__name__[:-1], function.__name__

    def deprecated(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new}`.", FutureWarning, stacklevel=2)
        return function(*args, **kwargs)

    deprecated.__name__, deprecated.__doc__ = old, f"Deprecated (as in PyTorch): ``{new}``."
    return deprecated


uniform, normal, constant, eye, dirac = map(_deprecated, (uniform_, normal_, constant_, eye_, dirac_))
xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal = map(_deprecated, (xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_))
orthogonal, sparse = _deprecated(orthogonal_), _deprecated(sparse_)
