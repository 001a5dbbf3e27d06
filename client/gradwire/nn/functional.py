"""``gradwire.nn.functional``: PyTorch's functional API, each call one op (or a few) on the server.

Arguments and defaults are PyTorch's. Targets of the losses may be gradwire
Tensors, NumPy arrays or lists (uploaded to the input's session).
"""

from __future__ import annotations

import numpy as np

from .. import errors
from ..tensor import Tensor, _op

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv2d", "cross_entropy", "dropout", "elu", "gelu", "leaky_relu", "silu", "softplus", "embedding", "layer_norm", "linear", "log_softmax", "max_pool2d",
    "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
]

_REDUCTIONS = ("mean", "sum", "none")


def relu(input, inplace=False):
    """max(0, x), elementwise."""
    return input.relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else ``negative_slope`` * x."""
    return _op("leaky_relu", (input,), _given(negative_slope=(float(negative_slope), 0.01)))


def silu(input, inplace=False):
    """x * sigmoid(x)."""
    return _op("silu", (input,))


def gelu(input, approximate="none"):
    """x times the standard normal CDF of x; ``approximate="tanh"``: PyTorch's tanh formula."""
    if approximate not in ("none", "tanh"):
        raise errors.InvalidArgumentError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return _op("gelu", (input,), _given(approximate=(approximate, "none")))


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta; x itself where beta x > ``threshold``."""
    return _op("softplus", (input,), _given(beta=(float(beta), 1.0), threshold=(float(threshold), 20.0)))


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return _op("elu", (input,), _given(alpha=(float(alpha), 1.0)))


def tanh(input):
    return input.tanh()


def sigmoid(input):
    return input.sigmoid()


def softmax(input, dim):
    """exp(x) / sum(exp(x)) along ``dim`` (computed stably)."""
    return input.softmax(dim)


def log_softmax(input, dim):
    """x - logsumexp(x) along ``dim`` (computed stably)."""
    return input.log_softmax(dim)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, in one op."""
    return _op("linear", (input, weight) if bias is None else (input, weight, bias))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) over an NCHW (or CHW) input, as ``torch.nn.functional.conv2d``.

    ``padding`` may be an int, a pair, ``"valid"`` (0) or ``"same"`` (stride 1, odd kernels).
    ``dilation`` and ``groups`` other than 1 are not supported.
    """
    if dilation not in (1, (1, 1)) or groups != 1:
        raise errors.UnimplementedError("conv2d: only dilation=1 and groups=1 are supported")
    padding = _conv_padding(padding, weight, stride)
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return _op("conv2d", inputs, _given(stride=(_pair(stride), (1, 1)), padding=(_pair(padding), (0, 0))))


def _conv_padding(padding, weight, stride):
    if padding == "valid":
        return 0
    if padding == "same":
        if _pair(stride) != (1, 1):
            raise errors.InvalidArgumentError("padding='same' is not supported for strided convolutions")
        kh, kw = weight.shape[2:]
        if kh % 2 == 0 or kw % 2 == 0:
            raise errors.UnimplementedError("padding='same' is supported for odd kernel sizes only")
        return kh // 2, kw // 2
    if isinstance(padding, str):
        raise errors.InvalidArgumentError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
    return padding


def _given(**params):
    """The params that differ from the server's defaults (``name=(value, default)``): fewer bytes to encode and decode."""
    return {name: value for name, (value, default) in params.items() if value != default}


def _pair(value):
    return (value, value) if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d`` (``stride`` defaults to ``kernel_size``).

    With ``return_indices=True``, also the flat index into each input H*W plane of every maximum.
    """
    if dilation not in (1, (1, 1)) or ceil_mode:
        raise errors.UnimplementedError("max_pool2d: only dilation=1 and ceil_mode=False are supported")
    params = {"kernel_size": _pair(kernel_size), **_given(padding=(_pair(padding), (0, 0)))}
    if stride is not None and stride != () and _pair(stride) != _pair(kernel_size):
        params["stride"] = _pair(stride)
    values = _op("max_pool2d", (input,), params)
    return (values, _op("max_pool2d_indices", (input,), params)) if return_indices else values


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the others by 1 / (1 - p); the identity unless ``training``.

    The mask is drawn on the server from the session's generator, so ``manual_seed`` makes it reproducible.
    """
    if not 0.0 <= p <= 1.0:
        raise errors.InvalidArgumentError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    return _op("dropout", (input,), _given(p=(float(p), 0.5)))  # the server draws the samples


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` picked by the integer tensor ``input``; no gradient reaches row ``padding_idx``."""
    input = _as_target(input, weight)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return _op("embedding", (input, weight), {"padding_idx": padding_idx})


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dims (biased variance), then scale and shift."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if weight is None and bias is not None:
        weight = input._session.ones(normalized_shape, dtype=input.dtype)
    inputs = (input,) + tuple(t for t in (weight, bias) if t is not None)
    return _op("layer_norm", inputs, {"normalized_shape": normalized_shape, **_given(eps=(float(eps), 1e-5))})


def _as_target(target, like):
    """A target (class indices) in ``like``'s session: Tensors pass; arrays and lists are uploaded as int64."""
    if isinstance(target, Tensor):
        return target
    array = np.asarray(target)
    if array.dtype.kind not in "iu":
        raise errors.InvalidArgumentError(f"expected class indices of an integer dtype, got {array.dtype}")
    return like._session.tensor(array.astype(np.int64, copy=False))


def _check_class_loss(name, weight, reduction, label_smoothing=0.0):
    if weight is not None:
        raise errors.UnimplementedError(f"{name}: class weights are not supported")
    if label_smoothing:
        raise errors.UnimplementedError(f"{name}: label_smoothing is not supported")
    if reduction not in _REDUCTIONS:
        raise errors.InvalidArgumentError(f"{reduction} is not a valid value for reduction")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of class scores ``input`` (N, C) (or (C,), or (N, C, d1, ...)) against class indices ``target``.

    One fused op on the server (log_softmax and the negative log-likelihood), numerically stable.
    """
    _check_class_loss("cross_entropy", weight, reduction, label_smoothing)
    return _op("cross_entropy", (input, _as_target(target, input)), _given(reduction=(reduction, "mean"), ignore_index=(int(ignore_index), -100)))


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` at the class indices ``target``."""
    _check_class_loss("nll_loss", weight, reduction)
    return _op("nll_loss", (input, _as_target(target, input)), _given(reduction=(reduction, "mean"), ignore_index=(int(ignore_index), -100)))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy of logits ``input`` against probabilities ``target`` (of its shape), one fused,
    numerically stable op on the server."""
    _check_binary_loss("binary_cross_entropy_with_logits", weight, reduction, pos_weight)
    return _op("binary_cross_entropy_with_logits", (input, _as_probabilities(target, input)), _given(reduction=(reduction, "mean")))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` (in [0, 1]) against ``target``; each log at least -100, as PyTorch's."""
    _check_binary_loss("binary_cross_entropy", weight, reduction)
    return _op("binary_cross_entropy", (input, _as_probabilities(target, input)), _given(reduction=(reduction, "mean")))


def _check_binary_loss(name, weight, reduction, pos_weight=None):
    if weight is not None or pos_weight is not None:
        raise errors.UnimplementedError(f"{name}: weight and pos_weight are not supported")
    if reduction not in _REDUCTIONS:
        raise errors.InvalidArgumentError(f"{reduction} is not a valid value for reduction")


def _as_probabilities(target, like):
    """A target of probabilities in ``like``'s session: Tensors pass; arrays and lists are uploaded in ``like``'s dtype."""
    if isinstance(target, Tensor):
        return target
    return like._session.tensor(np.asarray(target, dtype=like.dtype))


def mse_loss(input, target, reduction="mean"):
    """Mean (or summed, or elementwise) squared error."""
    if reduction not in _REDUCTIONS:
        raise errors.InvalidArgumentError(f"{reduction} is not a valid value for reduction")
    if not isinstance(target, Tensor):
        target = input._session.tensor(np.asarray(target, dtype=input.dtype))
    diff = input - target
    squared = diff * diff
    return squared if reduction == "none" else squared.mean() if reduction == "mean" else squared.sum()
