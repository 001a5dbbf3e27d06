"""``gradwire.nn.functional``: PyTorch's functional API, each call one op (or a few) on the server.

Arguments and defaults are PyTorch's. Targets of the losses may be gradwire
Tensors, NumPy arrays or lists (uploaded to the input's session).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import warnings

import numpy as np

from .. import errors, typeinfo
from ..floats import is_floating
from ..grad_mode import is_grad_enabled
from ..amp.autocast_mode import autocast_op
from ..amp import autocast_mode as _amp
from ..shapes import promote
from ..tensor import (
    _CPP_TYPE_NAMES, _TENSOR_TYPE_NAMES, Size, Tensor, _broadcast_or_refuse, _dtypes_differ, _op, _op_into, _refuse_addmm_dtypes, _scalar_type_error, _wrap_dim,
    bfloat16, broadcast_tensors as _broadcast_tensors, cat,
    float16, float32, overflow_error, stack, where,
)

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv2d", "cross_entropy", "dropout", "elu", "gelu", "leaky_relu", "silu", "softplus", "embedding", "layer_norm", "linear", "log_softmax", "max_pool2d",
    "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
]

_REDUCTIONS = ("mean", "sum", "none")


def relu(input, inplace=False):
    """max(0, x), elementwise; ``inplace=True`` writes it into ``input`` (``relu_``)."""
    return input.relu_() if inplace else input.relu()


def _written(input, function, inplace):
    """``function(input)``; with ``inplace=True`` written into ``input`` (recorded as an in-place change, as
    PyTorch's in-place activations are), computed from a copy so that what its ops save is not the changed input."""
    return input.copy_(function(input.clone())) if inplace else function(input)


def _activation(name, input, params, inplace):
    """An activation op of the server's, into ``input`` where ``inplace``."""
    return _op_into(name, input, (), params) if inplace else _op(name, (input,), params)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else ``negative_slope`` * x."""
    return _activation("leaky_relu", input, _given(negative_slope=(float(negative_slope), 0.01)), inplace)


def silu(input, inplace=False):
    """x * sigmoid(x)."""
    return _activation("silu", input, {}, inplace)


def gelu(input, approximate="none"):
    """x times the standard normal CDF of x; ``approximate="tanh"``: PyTorch's tanh formula."""
    if approximate not in ("none", "tanh"):
        raise errors.InvalidArgumentError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return _op("gelu", (input,), _given(approximate=(approximate, "none")))


@autocast_op("softplus")
def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta; x itself where beta x > ``threshold``."""
    return _op("softplus", (input,), _given(beta=(float(beta), 1.0), threshold=(float(threshold), 20.0)))


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return _activation("elu", input, _given(alpha=(float(alpha), 1.0)), inplace)


def tanh(input):
    return input.tanh()


def sigmoid(input):
    return input.sigmoid()


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim`` (computed stably; in ``dtype`` when given)."""
    return input.softmax(_implicit_dim(input, dim), dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x) along ``dim`` (computed stably; in ``dtype`` when given)."""
    return input.log_softmax(_implicit_dim(input, dim), dtype)


def _implicit_dim(input, dim):
    """PyTorch's legacy choice where no dim is given: 0 for 0-, 1- and 3-d inputs, else 1 (it warns too)."""
    if dim is not None:
        return dim
    import warnings

    warnings.warn("Implicit dimension choice for softmax has been deprecated. Change the call to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1


# --- activations PyTorch has as ops of their own, here compositions of ops -------------------------------------
def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return _written(input, lambda x: x * softplus(x).tanh(), inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6 (relu6, not a clamp: its gradient is 0 at the bounds, as PyTorch's hardswish's at -3 and 3)."""
    return _written(input, lambda x: x * relu6(x + 3.0) / 6.0, inplace)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6 (a gradient of 0 at -3 and 3, as PyTorch's)."""
    return _written(input, lambda x: relu6(x + 3.0) / 6.0, inplace)


def logsigmoid(input):
    """log(sigmoid(x)), computed as -softplus(-x): stable at both ends."""
    return -softplus(-input)


def softsign(input):
    return input / (input.abs() + 1.0)


def tanhshrink(input):
    return input - input.tanh()


def glu(input, dim=-1):
    """The first half of ``input`` along ``dim`` gated by the sigmoid of the second, as ``torch.nn.functional.glu``."""
    size = input.shape[dim]
    if size % 2:
        raise errors.InvalidArgumentError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size {size}")
    first, second = input.chunk(2, dim)
    return first * second.sigmoid()


def threshold(input, threshold, value, inplace=False):
    """x where x > ``threshold``, else ``value`` (cast to an integer input's dtype, which the result keeps, as PyTorch's)."""
    dtype = getattr(input, "_dtype", None)
    if dtype == np.bool_:
        raise errors.UnimplementedError('"threshold_cpu" not implemented for \'Bool\'')
    if dtype is not None and dtype.kind in "iu":
        threshold, value = _integer_bound(threshold, dtype), _integer_bound(value, dtype)
    return _written(input, lambda x: _op("where", (x > threshold, x, value)), inplace)


def _integer_bound(number, dtype):
    """``number`` as PyTorch converts a bound for an integer tensor: truncated, refused if outside the dtype."""
    limits, number = np.iinfo(dtype), int(number)
    if not limits.min <= number <= limits.max:
        raise overflow_error(np.dtype(dtype))
    return number


@autocast_op("prelu")
def prelu(input, weight):
    """x where x > 0, else ``weight`` * x, ``weight`` (1 or one per channel, dim 1) broadcast along the channels."""
    if _dtypes_differ(input, weight):
        raise errors.InvalidArgumentError(f"prelu: Type promoting not supported. Got {_TENSOR_TYPE_NAMES[input._dtype]} and {_TENSOR_TYPE_NAMES[weight._dtype]}")
    if weight.numel() != 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            raise errors.InvalidArgumentError(
                f"Mismatch of parameter numbers and input channel size. Found parameter numbers = {weight.numel()} and channel size = {input.shape[1] if input.ndim > 1 else 1}."
            )
        weight = weight.reshape((-1,) + (1,) * (input.ndim - 2))
    return _op("where", (input > 0, input, weight * input))


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, in one op (a 1-D ``weight``: ``input @ weight + bias``, as PyTorch's)."""
    if isinstance(weight, Tensor) and weight.ndim == 1:
        out = input @ weight
        return out if bias is None else out + bias
    if bias is not None:  # addmm's refusals of two dtypes, as PyTorch's linear runs addmm
        _refuse_addmm_dtypes(bias, input, weight)
    elif _dtypes_differ(input, weight):  # (float64 data into a float32 model, most often)
        raise errors.InvalidArgumentError(f"expected m1 and m2 to have the same dtype, but got: {_CPP_TYPE_NAMES[input._dtype]} != "
                                          f"{_CPP_TYPE_NAMES[weight._dtype]}")
    return _op("linear", (input, weight) if bias is None else (input, weight, bias))


def _check_conv_dtypes(input, weight, bias=None, bias_words="conv"):
    """PyTorch's refusals of a convolution's two dtypes: weight against input, then bias against input (``bias_words``
    "conv" its convolutions' words, "scalar" the kernel's, None: a transposed 1-D or 2-D one's bias is promoted)."""
    if _dtypes_differ(input, weight):
        raise _scalar_type_error(input._dtype, weight._dtype)
    if bias is not None and bias_words is not None and _dtypes_differ(input, bias):
        if bias_words != "conv":
            raise _scalar_type_error(input._dtype, bias._dtype)
        raise errors.InvalidArgumentError(f"Input type ({_CPP_TYPE_NAMES[input._dtype]}) and bias type ({_CPP_TYPE_NAMES[bias._dtype]}) should be the same")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) over an NCHW (or CHW) input, as ``torch.nn.functional.conv2d``.

    ``padding`` may be an int, a pair, ``"valid"`` (0) or ``"same"`` (stride 1; an even kernel's extra zero on the far side);
    ``dilation`` spreads the kernel; ``groups`` splits the channels into that many separate convolutions.
    """
    _check_conv_window(stride, padding, dilation)
    _check_conv_dtypes(input, weight, bias)
    input = _padded_for_same(input, padding, weight, dilation, _pair)
    padding = _conv_padding(padding, weight, stride, dilation)
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return _op("conv2d", inputs, _given(stride=(_pair(stride), (1, 1)), padding=(_pair(padding), (0, 0)), dilation=(_pair(dilation), (1, 1)),
                                        groups=(int(groups), 1)))


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed 2-D convolution (the adjoint of ``conv2d``), weight (in_channels, out_channels // groups, kH, kW),
    as ``torch.nn.functional.conv_transpose2d``: conv2d's input gradient on the server."""
    _check_conv_window(stride, padding, dilation)
    _check_conv_dtypes(input, weight, bias, None)
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return _op("conv_transpose2d", inputs, _given(stride=(_pair(stride), (1, 1)), padding=(_pair(padding), (0, 0)),
                                                  output_padding=(_pair(output_padding), (0, 0)), groups=(int(groups), 1),
                                                  dilation=(_pair(dilation), (1, 1))))


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed 1-D convolution over an NCL (or CL) input: ``conv_transpose2d`` over a length dim of height 1."""
    x = _with_length_dim("conv_transpose1d", input)
    _check_conv_dtypes(input, weight, bias, None)
    if weight.ndim != 3:
        raise errors.InvalidArgumentError(f"conv_transpose1d: weight must be 3-D (in_channels, out_channels // groups, kW), got size {list(weight.shape)}")
    return conv_transpose2d(x, weight.unsqueeze(-2), bias, (1, _scalar(stride)), (0, _scalar(padding)), (0, _scalar(output_padding)),
                            groups, (1, _scalar(dilation))).squeeze(-2)


def _scalar(value):
    """A 1-D op's size given as an int or PyTorch's 1-tuple: the int."""
    return int(value[0]) if isinstance(value, (tuple, list)) else value


def _with_length_dim(name, input):
    """An (N, C, L) or (C, L) input as (N, C, 1, L) or (C, 1, L): the 2-D op's input for a 1-D op."""
    if input.ndim not in (2, 3):
        raise errors.InvalidArgumentError(f"Expected 2D (unbatched) or 3D (batched) input to {name}, but got input of size: {list(input.shape)}")
    return input.unsqueeze(-2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over an NCL (or CL) input, as ``torch.nn.functional.conv1d``: ``conv2d`` over a length
    dim of height 1 (one command more each way; the node is SqueezeBackward1, PyTorch's ConvolutionBackward0)."""
    _check_conv_window(stride, padding, dilation, lambda v: (_scalar(v),))
    _check_conv_dtypes(input, weight, bias)
    x = _with_length_dim("conv1d", input)
    if weight.ndim != 3:
        batched = input.shape if input.ndim == 3 else (1,) + tuple(input.shape)
        raise errors.InvalidArgumentError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional weight {list(weight.shape)}, but "
                                          f"got {len(batched)}-dimensional input of size {list(batched)} instead")
    _check_conv1d(input, weight, padding, dilation, groups)
    padding = padding if isinstance(padding, str) else (0, _scalar(padding))
    return conv2d(x, weight.unsqueeze(-2), bias, (1, _scalar(stride)), padding, (1, _scalar(dilation)), groups).squeeze(-2)


def _check_conv1d(input, weight, padding, dilation, groups):
    """PyTorch's checks of a 1-D convolution, in its words, where the shapes are known here (the 2-D convolution that
    runs it would name shapes with a height dim the caller never wrote)."""
    shape, kernel = input._shape, weight._shape
    if shape is None or kernel is None:
        return
    batched = shape if len(shape) == 3 else (1,) + tuple(shape)
    if batched[1] != kernel[1] * groups:
        raise errors.InvalidArgumentError(f"Given groups={groups}, weight of size {list(kernel)}, expected input{list(batched)} to have "
                                          f"{kernel[1] * groups} channels, but got {batched[1]} channels instead")
    if isinstance(padding, str):
        return
    padded, extent = batched[2] + 2 * _scalar(padding), _scalar(dilation) * (kernel[2] - 1) + 1
    if padded < extent:
        raise errors.InvalidArgumentError(f"Calculated padded input size per channel: ({padded}). Kernel size: ({extent}). Kernel size can't "
                                          "be greater than actual input size")


def _check_pool1d(name, input, kernel_size, stride, padding, dilation, ceil_mode):
    """PyTorch's refusal of a 1-D pooling whose output would be empty, in its words (see ``_check_conv1d``)."""
    if input._shape is None:
        return
    length, k, s, p, d = input._shape[-1], _scalar(kernel_size), _scalar(stride), _scalar(padding), _scalar(dilation)
    out = (length + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= length + p:
        out -= 1
    if out <= 0:
        raise errors.InvalidArgumentError(f"{name}() Invalid computed output size: {out}")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``: 2-D pooling over a length dim of height 1, as PyTorch's
    (``return_indices``: the index along L of every maximum, the flat index into a 1 x L plane)."""
    stride = kernel_size if stride is None or stride == () else stride
    if _scalar(stride) <= 0:
        raise errors.InvalidArgumentError(f"max_pool1d() stride must be greater than zero, but got {_scalar(stride)}")
    x = _with_length_dim("max_pool1d", input)
    _check_pool1d("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode)
    out = max_pool2d(x, (1, _scalar(kernel_size)), (1, _scalar(stride)), (0, _scalar(padding)), (1, _scalar(dilation)), ceil_mode, return_indices)
    return tuple(t.squeeze(-2) for t in out) if return_indices else out.squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d``: 2-D pooling over a length dim of height 1, as PyTorch's."""
    stride = kernel_size if stride is None or stride == () else stride
    x = _with_length_dim("avg_pool1d", input)
    return avg_pool2d(x, (1, _scalar(kernel_size)), (1, _scalar(stride)), (0, _scalar(padding)), ceil_mode, count_include_pad).squeeze(-2)


def _conv_padding(padding, weight, stride, dilation=1, sizes=None):
    """An int or tuple padding as given; "valid" and "same" as their amounts (``sizes``: the op's tuple maker, _pair by default)."""
    sizes = sizes or _pair
    if padding == "valid":
        return 0
    if padding == "same":
        if sizes(stride) != sizes(1):
            raise errors.InvalidArgumentError("padding='same' is not supported for strided convolutions")
        extents = tuple(d * (k - 1) for d, k in zip(sizes(dilation), weight.shape[2:]))
        return tuple(e // 2 for e in extents)  # each side; an odd extent's one more goes on the far side (_padded_for_same)
    if isinstance(padding, str):
        raise errors.InvalidArgumentError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
    return padding


def _padded_for_same(input, padding, weight, dilation, sizes):
    """The input of a padding="same" convolution whose dilated kernel spans an odd number of steps in some dim: one
    zero more at the far end of that dim, as PyTorch pads it (the rest of the padding is the op's, both sides alike)."""
    if padding != "same":
        return input
    extra = [d * (k - 1) % 2 for d, k in zip(sizes(dilation), weight.shape[2:])]
    if not any(extra):
        return input
    warnings.warn("Using padding='same' with even kernel lengths and odd dilation may require a zero-padded copy of the input be created",
                  UserWarning, stacklevel=3)  # (PyTorch's)
    return pad(input, [amount for e in reversed(extra) for amount in (0, e)])


def _given(**params):
    """The params that differ from the server's defaults (``name=(value, default)``): fewer bytes to encode and decode."""
    return {name: value for name, (value, default) in params.items() if value != default}


def _pair(value):
    return (value, value) if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


def _check_conv_window(stride, padding, dilation, sizes=None):
    """A convolution's stride, padding and dilation as PyTorch checks them, in its words (a zero stride used to raise
    ZeroDivisionError here, in the output's shape)."""
    sizes = sizes or _pair
    if any(s <= 0 for s in sizes(stride)):
        raise errors.InvalidArgumentError("non-positive stride is not supported")
    if not isinstance(padding, str) and any(p < 0 for p in sizes(padding)):
        raise errors.InvalidArgumentError("negative padding is not supported")
    if any(d <= 0 for d in sizes(dilation)):
        raise errors.InvalidArgumentError(f"dilation should be greater than zero, but got {list(sizes(dilation))}")


def _check_pool_window(kernel_size, stride, dilation=1):
    """A 2-D pooling's window as PyTorch checks it, in its words and order."""
    default = stride is None or (isinstance(stride, (tuple, list)) and not stride)  # (torch.max_pool2d takes [] for its default)
    (kh, kw), (sh, sw), (dh, dw) = _pair(kernel_size), _pair(kernel_size if default else stride), _pair(dilation)
    if sh == 0 or sw == 0:
        raise errors.InvalidArgumentError("stride should not be zero")
    if kh <= 0 or kw <= 0:
        raise errors.InvalidArgumentError(f"kernel size should be greater than zero, but got kH: {kh} kW: {kw}")
    if sh < 0 or sw < 0:
        raise errors.InvalidArgumentError(f"stride should be greater than zero, but got dH: {sh} dW: {sw}")
    if dh <= 0 or dw <= 0:
        raise errors.InvalidArgumentError(f"dilation should be greater than zero, but got dilationH: {dh} dilationW: {dw}")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d`` (``stride`` defaults to ``kernel_size``; ``dilation``
    spreads each window; ``ceil_mode`` adds a last window that runs past the input where one would start inside it).

    With ``return_indices=True``, also the flat index into each input H*W plane of every maximum.
    """
    _check_pool_window(kernel_size, stride, dilation)
    params = {"kernel_size": _pair(kernel_size), **_given(padding=(_pair(padding), (0, 0)), dilation=(_pair(dilation), (1, 1)),
                                                           ceil_mode=(bool(ceil_mode), False))}
    if stride is not None and stride != () and _pair(stride) != _pair(kernel_size):
        params["stride"] = _pair(stride)
    values = _op("max_pool2d", (input,), params)
    return (values, _op("max_pool2d_indices", (input,), params)) if return_indices else values


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d`` (``stride`` defaults to ``kernel_size``; ``ceil_mode``
    as ``max_pool2d``'s, its last windows divided by their size within the padded input; ``divisor_override``
    divides every window's sum instead)."""
    _check_pool_window(kernel_size, stride)
    params = {"kernel_size": _pair(kernel_size), **_given(padding=(_pair(padding), (0, 0)), exclude_pad=(not count_include_pad, False),
                                                           ceil_mode=(bool(ceil_mode), False), divisor=(divisor_override, None))}
    if stride is not None and stride != () and _pair(stride) != _pair(kernel_size):
        params["stride"] = _pair(stride)
    return _op("avg_pool2d", (input,), params)


def _refuse_empty_plane(name, input, first):
    """An adaptive pool's refusal of an empty dim from ``first`` on, in PyTorch's words (each pool's own ``first``:
    adaptive_avg_pool2d's are its last two dims, the others' every dim after the first)."""
    for d in range(first, input.ndim):
        if input.shape[d] == 0:
            raise errors.InvalidArgumentError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but input has sizes "
                                              f"{list(input.shape)} with dimension {d} being empty")


def adaptive_avg_pool2d(input, output_size):
    """The means of ``output_size`` windows covering H and W, as ``torch.nn.functional.adaptive_avg_pool2d``
    (``None`` in ``output_size`` keeps that dim's size); to 1x1 a mean over H and W, as PyTorch's."""
    _refuse_empty_plane("adaptive_avg_pool2d", input, input.ndim - 2)
    size = (output_size, output_size) if isinstance(output_size, (int, np.integer)) or output_size is None else tuple(output_size)
    if len(size) != 2:
        raise errors.InvalidArgumentError(f"adaptive_avg_pool2d: output_size must be 2, got {len(size)}")
    if None in size:  # that dim's own size (the wire carries ints)
        size = tuple(input.shape[d - 2] if n is None else n for d, n in enumerate(size))
    if size == (1, 1):
        return input.mean((-2, -1), keepdim=True)
    return _op("adaptive_avg_pool2d", (input,), {"output_size": tuple(int(n) for n in size)})


def adaptive_avg_pool1d(input, output_size):
    """The means of ``output_size`` windows covering L, as ``torch.nn.functional.adaptive_avg_pool1d``:
    ``adaptive_avg_pool2d`` over a length dim of height 1 (NCL or CL inputs)."""
    size = _scalar(output_size)
    return adaptive_avg_pool2d(_with_length_dim("adaptive_avg_pool1d", input), (1, size)).squeeze(-2)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Every sliding block of an (N, C, H, W) (or (C, H, W)) input as a column of an (N, C*kh*kw, L) output, as
    ``torch.nn.functional.unfold`` (im2col; its gradient is ``fold``)."""
    if input.ndim in (3, 4):  # too small a plane for one block: PyTorch's refusal, at the call
        (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = input.shape[-2:], *(_pair(v) for v in (kernel_size, dilation, padding, stride))
        if min(kh, kw, dh, dw, sh, sw) > 0:
            blocks = [int((n + 2 * p - (d * (k - 1) + 1)) / s) + 1 for n, k, d, p, s in ((h, kh, dh, ph, sh), (w, kw, dw, pw, sw))]  # (C's division)
            if min(blocks) < 1:
                raise errors.InvalidArgumentError(
                    f"Given input with spatial size ({h}, {w}), kernel_size=({kh}, {kw}), dilation=({dh}, {dw}), padding=({ph}, {pw}), "
                    f"calculated shape of the array of sliding blocks as ({blocks[0]}, {blocks[1]}), but its components must be at least one.")
    return _op("im2col", (input,), {"kernel_size": _pair(kernel_size), "dilation": _pair(dilation), "padding": _pair(padding),
                                    "stride": _pair(stride)})


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The columns of an (N, C*kh*kw, L) (or (C*kh*kw, L)) input summed back into their blocks of an (N, C, H, W)
    output of ``output_size``, as ``torch.nn.functional.fold`` (col2im, the adjoint of ``unfold``)."""
    return _op("col2im", (input,), {"output_size": _pair(output_size), "kernel_size": _pair(kernel_size), "dilation": _pair(dilation),
                                    "padding": _pair(padding), "stride": _pair(stride)})


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """The maxima of ``output_size`` windows covering H and W (PyTorch's: row i spans floor(i H / oh) to
    ceil((i + 1) H / oh)), as ``torch.nn.functional.adaptive_max_pool2d``: one max_pool2d where the windows tile
    the input, else a max per window, stacked (``return_indices``: an argmax per window)."""
    _refuse_empty_plane("adaptive_max_pool2d", input, 1)
    size = (output_size, output_size) if isinstance(output_size, (int, np.integer)) or output_size is None else tuple(output_size)
    if len(size) != 2:
        raise errors.InvalidArgumentError(f"adaptive_max_pool2d: output_size must be 2, got {len(size)}")
    h, w = input.shape[-2:]
    oh, ow = (h if size[0] is None else int(size[0])), (w if size[1] is None else int(size[1]))
    lead = tuple(input.shape[:-2])
    if oh < 0 or ow < 0:  # (PyTorch's words: its output's allocation refuses it)
        raise errors.InvalidArgumentError(f"Trying to create tensor with negative dimension {min(oh, ow)}: {list(lead + (oh, ow))}")
    if oh == 0 or ow == 0:  # an empty output, as PyTorch's
        values = input.reshape(lead + (h * w,))[..., :0].reshape(lead + (oh, ow))
        return (values, input._session.zeros(*lead, oh, ow, dtype="int64")) if return_indices else values
    if h % oh == 0 and w % ow == 0:
        return max_pool2d(input, (h // oh, w // ow), return_indices=return_indices)
    # each window's first maximum (argmax's; PyTorch's too) as a flat index into the H*W plane, then the values
    # gathered there: the gradient goes to that one element, as PyTorch's (an amax would share it among ties)
    rows = [(i * h // oh, -(-(i + 1) * h // oh)) for i in range(oh)]
    columns = [(j * w // ow, -(-(j + 1) * w // ow)) for j in range(ow)]
    where = stack([stack([_window_argmax(input[..., r0:r1, c0:c1], lead, r0, c0, w) for c0, c1 in columns], -1) for r0, r1 in rows], -2)
    values = input.reshape(lead + (h * w,)).gather(-1, where.reshape(lead + (oh * ow,))).reshape(lead + (oh, ow))
    return (values, where) if return_indices else values


def _window_argmax(window, lead, r0, c0, w):
    local = window.detach().reshape(lead + (window.shape[-2] * window.shape[-1],)).argmax(-1)  # (not -1: an empty batch)
    width = window.shape[-1]
    return (local // width + r0) * w + local % width + c0


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """``adaptive_max_pool2d`` over a length dim of height 1 (NCL or CL inputs)."""
    _refuse_empty_plane("adaptive_max_pool1d", input, 1)
    out = adaptive_max_pool2d(_with_length_dim("adaptive_max_pool1d", input), (1, _scalar(output_size)), return_indices)
    return tuple(t.squeeze(-2) for t in out) if return_indices else out.squeeze(-2)


# --- 3-D convolution and pooling: the 2-D ops over depth folded into the batch or the channels -----------------
#
# conv3d gathers each output depth's kd input slices into channels (depth's im2col, one index op) and runs
# one conv2d over them with the weight seen as (O, C*kd, kh, kw); conv_transpose3d is conv_transpose2d per
# input slice, its kd output slices added back along depth (index_add, that gather's adjoint). Pooling is
# separable: over (H, W) with each depth slice a plane, then over depth with the (H, W) positions as a
# width. Gradients (and double backward) are those of the 2-D ops, index and index_add.


def _triple(value):
    return (value,) * 3 if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


def _volume(input, message):
    """An (N, C, D, H, W) input, or a (C, D, H, W) one with a batch dim added; and whether it was added."""
    if input.ndim not in (4, 5):
        raise errors.InvalidArgumentError(message)
    return (input.unsqueeze(0), True) if input.ndim == 4 else (input, False)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation) over an NCDHW (or CDHW) input, as ``torch.nn.functional.conv3d``
    (``padding``: an int, a triple, ``"valid"`` or ``"same"``): each output depth's kd input slices gathered into
    channels, then one ``conv2d`` with the weight viewed as (out_channels, in_channels // groups * kD, kH, kW)."""
    x, unbatched = _volume(input, f"Expected 4D (unbatched) or 5D (batched) input to conv3d, but got input of size: {list(input.shape)}")
    if weight.ndim != 5:
        raise errors.InvalidArgumentError(f"conv3d: weight must be 5-D (out_channels, in_channels, kD, kH, kW), got size {list(weight.shape)}")
    _check_conv_dtypes(input, weight, bias)
    _check_conv_window(stride, padding, dilation, _triple)
    x = _padded_for_same(x, padding, weight, dilation, _triple)
    padding = _triple(_conv_padding(padding, weight, stride, dilation, _triple))
    (sd, sh, sw), (pd, ph, pw), (dd, dh, dw) = _triple(stride), padding, _triple(dilation)
    n, c, d, h, w = x.shape
    o, ci, kd, kh, kw = weight.shape
    if ci * groups != c:
        raise errors.InvalidArgumentError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have "
                                          f"{ci * groups} channels, but got {c} channels instead")
    spans, padded = (dd * (kd - 1) + 1, dh * (kh - 1) + 1, dw * (kw - 1) + 1), (d + 2 * pd, h + 2 * ph, w + 2 * pw)
    if any(p < k for p, k in zip(padded, spans)):
        raise errors.InvalidArgumentError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
                                          f"({' x '.join(map(str, spans))}). Kernel size can't be greater than actual input size")
    od = (padded[0] - spans[0]) // sd + 1
    if pd:
        x = pad(x, (0, 0, 0, 0, pd, pd))
    slices = (np.arange(od)[:, None] * sd + np.arange(kd) * dd).reshape(-1)  # output depth i's kd input slices
    if not (kd == 1 and od == x.shape[2] and sd == 1):
        x = x[:, :, slices]
    cols = x.reshape(n, c, od, kd, h, w).permute(0, 2, 1, 3, 4, 5).reshape(n * od, c * kd, h, w)  # channel c*kd + i
    out = conv2d(cols, weight.reshape(o, ci * kd, kh, kw), bias, (sh, sw), (ph, pw), (dh, dw), groups)
    out = out.reshape(n, od, o, out.shape[2], out.shape[3]).permute(0, 2, 1, 3, 4)
    return out.squeeze(0) if unbatched else out


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed 3-D convolution (the adjoint of ``conv3d``), weight (in_channels, out_channels // groups, kD, kH,
    kW), as ``torch.nn.functional.conv_transpose3d``: ``conv_transpose2d`` of every input depth slice into kD output
    slices at once (the weight viewed as (in_channels, out_channels // groups * kD, kH, kW)), added back along depth."""
    x, unbatched = _volume(input, f"Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d, but got input of size: {list(input.shape)}")
    if weight.ndim != 5:
        raise errors.InvalidArgumentError(f"conv_transpose3d: weight must be 5-D (in_channels, out_channels // groups, kD, kH, kW), "
                                          f"got size {list(weight.shape)}")
    _check_conv_dtypes(input, weight, bias, "scalar")
    (sd, sh, sw), (pd, ph, pw), (opd, oph, opw), (dd, dh, dw) = (_triple(v) for v in (stride, padding, output_padding, dilation))
    n, c, d, h, w = x.shape
    ci, co, kd, kh, kw = weight.shape
    if c != ci:
        raise errors.InvalidArgumentError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have "
                                          f"{ci} channels, but got {c} channels instead")
    if not 0 <= opd < max(sd, dd):
        raise errors.InvalidArgumentError(f"output padding must be smaller than either stride or dilation, but got output_padding={[opd, oph, opw]}, "
                                          f"stride={[sd, sh, sw]}, dilation={[dd, dh, dw]}")
    depth = (d - 1) * sd - 2 * pd + dd * (kd - 1) + opd + 1
    if depth < 1:
        raise errors.InvalidArgumentError(f"conv_transpose3d: the output depth ({depth}) is too small")
    planes = x.permute(0, 2, 1, 3, 4).reshape(n * d, c, h, w)
    y = conv_transpose2d(planes, weight.reshape(ci, co * kd, kh, kw), None, (sh, sw), (ph, pw), (oph, opw), groups, (dh, dw))
    co *= groups
    oh, ow = y.shape[2:]
    y = y.reshape(n, d, co, kd, oh, ow).permute(0, 2, 1, 3, 4, 5).reshape(n, co, d * kd, oh, ow)  # slice d*kd + i
    targets = (np.arange(d)[:, None] * sd + np.arange(kd) * dd - pd).reshape(-1)  # the output depth of each
    kept = (targets >= 0) & (targets < depth)
    if not kept.all():
        y, targets = y[:, :, np.flatnonzero(kept)], targets[kept]
    if not np.array_equal(targets, np.arange(depth)):
        y = x._session.zeros((n, co, depth, oh, ow), dtype=y.dtype).index_add(2, x._session.tensor(targets), y)
    if bias is not None:
        y = y + bias.reshape(-1, 1, 1, 1)
    return y.squeeze(0) if unbatched else y


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling, as ``torch.nn.functional.max_pool3d``: ``max_pool2d`` over (H, W), then over depth. The
    maximum is separable and each pass keeps its first maximum, so the gradient goes where PyTorch's goes (the
    first maximum in (d, h, w) order). ``return_indices``: flat indices into each input D*H*W volume."""
    x, unbatched = _volume(input, "non-empty 4D or 5D (batch mode) tensor expected for input")
    (kd, kh, kw) = _triple(kernel_size)
    (sd, sh, sw) = _triple(stride) if stride is not None and stride != () else (kd, kh, kw)
    (pd, ph, pw), (dd, dh, dw) = _triple(padding), _triple(dilation)
    n, c, d, h, w = x.shape
    planes = max_pool2d(x.reshape(n, c * d, h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode, return_indices)
    planes, where = planes if return_indices else (planes, None)
    oh, ow = planes.shape[2:]
    out = max_pool2d(planes.reshape(n, c, d, oh * ow), (kd, 1), (sd, 1), (pd, 0), (dd, 1), ceil_mode, return_indices)
    out, depth = out if return_indices else (out, None)
    od = out.shape[2]
    out = out.reshape(n, c, od, oh, ow)
    if return_indices:  # depth's index d*oh*ow + p names the plane's maximum; its index h*W + w that plane's
        depth = depth.reshape(n, c, od * oh * ow)
        where = (depth // (oh * ow)) * (h * w) + where.reshape(n, c, d * oh * ow).gather(2, depth)
        out = (out, where.reshape(n, c, od, oh, ow))
        return tuple(t.squeeze(0) for t in out) if unbatched else out
    return out.squeeze(0) if unbatched else out


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    """3-D average pooling, as ``torch.nn.functional.avg_pool3d``: ``avg_pool2d`` over (H, W), then over depth. Each
    window's divisor is the product of its extents along each dim (padding counted or not), so the two passes'
    divisors multiply to PyTorch's; ``divisor_override``: sums first, then that one divisor."""
    x, unbatched = _volume(input, "non-empty 4D or 5D (batch mode) tensor expected for input")
    (kd, kh, kw) = _triple(kernel_size)
    (sd, sh, sw) = _triple(stride) if stride is not None and stride != () else (kd, kh, kw)
    (pd, ph, pw) = _triple(padding)
    n, c, d, h, w = x.shape
    planes = avg_pool2d(x.reshape(n, c * d, h, w), (kh, kw), (sh, sw), (ph, pw), ceil_mode, count_include_pad, 1 if divisor_override else None)
    oh, ow = planes.shape[2:]
    out = avg_pool2d(planes.reshape(n, c, d, oh * ow), (kd, 1), (sd, 1), (pd, 0), ceil_mode, count_include_pad, divisor_override)
    out = out.reshape(n, c, out.shape[2], oh, ow)
    return out.squeeze(0) if unbatched else out


def _adaptive_3d_size(x, output_size, message):
    """An adaptive 3-D pool's (D, H, W) output size: one number for all three, ``None`` keeping that dim's size;
    ``message`` (formatted with the count given) where it is not three."""
    size = (output_size,) * 3 if isinstance(output_size, (int, np.integer)) or output_size is None else tuple(output_size)
    if len(size) != 3:
        raise errors.InvalidArgumentError(message.format(len(size)))
    return tuple(n_in if n_out is None else int(n_out) for n_in, n_out in zip(x.shape[-3:], size))


def adaptive_avg_pool3d(input, output_size):
    """The means of ``output_size`` windows covering D, H and W, as ``torch.nn.functional.adaptive_avg_pool3d``
    (``None`` keeps that dim's size): ``adaptive_avg_pool2d`` over (H, W), then over depth."""
    x, unbatched = _volume(input, f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got {list(input.shape)}")
    _refuse_empty_plane("adaptive_avg_pool3d", input, 1)
    n, c, d, h, w = x.shape
    od, oh, ow = _adaptive_3d_size(x, output_size, "adaptive_avg_pool3d: output_size must be 3, got {}")
    if (od, oh, ow) == (1, 1, 1):
        out = x.mean((-3, -2, -1), keepdim=True)
    else:
        planes = adaptive_avg_pool2d(x.reshape(n, c * d, h, w), (oh, ow))
        out = adaptive_avg_pool2d(planes.reshape(n, c, d, oh * ow), (od, oh * ow)).reshape(n, c, od, oh, ow)
    return out.squeeze(0) if unbatched else out


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the others by 1 / (1 - p); the identity unless ``training``.

    The mask is drawn on the server from the session's generator, so ``manual_seed`` makes it reproducible.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    return _activation("dropout", input, _given(p=(float(p), 0.5)), inplace)  # the server draws the samples


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (dim 1 of (N, C, H, W), dim 0 of (C, H, W)) with probability ``p``, scaling the
    others by 1 / (1 - p), as ``torch.nn.functional.dropout2d``: a channel mask from the session's generator."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.ndim not in (3, 4):
        raise errors.InvalidArgumentError(f"dropout2d: Expected 3D (unbatched) or 4D (batched) input, but got input of size: {list(input.shape)}")
    if p == 1.0:
        return _written(input, lambda x: x * 0.0, inplace)
    channels = input.shape[: input.ndim - 2] + (1, 1)
    keep = input._session.rand(channels, dtype=input.dtype) >= p
    return _written(input, lambda x: x * (keep.to(x.dtype) * (1.0 / (1.0 - p))), inplace)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's self-normalising mean and variance, as ``torch.nn.functional.alpha_dropout``: a dropped
    element becomes SELU's negative saturation value, then an affine map restores the statistics; the identity
    unless ``training``. The mask is drawn from the session's seeded generator."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _written(input, lambda x: x * 0.0, inplace)
    alpha = 1.7580993408473766  # SELU's scale * alpha: -alpha is where it saturates
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    keep = (input._session.rand(input.shape, dtype=input.dtype) >= p).to(input.dtype)
    shift = (keep - 1.0) * (alpha * a) + alpha * a * p  # PyTorch's b: noise.add(-1).mul_(alpha * a).add_(alpha * a * p)
    return _written(input, lambda x: x * (keep * a) + shift, inplace)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean", sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embeddings, as ``torch.nn.functional.embedding_bag``: a 2-D ``input`` is one bag
    per row; a 1-D one is split into bags at ``offsets`` (their starts; ``include_last_offset``: and the end).
    ``per_sample_weights`` scale each embedding (mode ``sum``); entries equal to ``padding_idx`` are left out of
    their bag; an empty bag gives zeros. Composed of ops on the server (a bag-membership mask), with no sync point."""
    from ..tensor import where  # noqa: PLC0415 - the tensor module is imported above; where is a function of it

    if scale_grad_by_freq or sparse:
        raise errors.UnimplementedError("embedding_bag: scale_grad_by_freq and sparse are not supported")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode}")  # PyTorch's words
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only supported "
                                      f"for mode='sum' (got mode='{mode}'). Please open a feature request on GitHub.")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)}) is not None, then it must have "
                             f"the same shape as the input ({tuple(input.shape)})")
    if padding_idx is not None:
        if not -weight.shape[0] <= padding_idx < weight.shape[0]:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= weight.shape[0]
    input = _as_target(input, weight)
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed length "
                             f"sequences. However, found offsets of type {type(offsets)}")
        member = None if padding_idx is None else (input != padding_idx)  # (B, N): who counts in its row's bag
        rows = embedding(input, weight)  # (B, N, D)
        weights = member.to(weight.dtype) if member is not None else None
        if per_sample_weights is not None:
            weights = per_sample_weights if weights is None else weights * per_sample_weights
        if mode == "max":
            picked = rows if member is None else where(member.unsqueeze(-1), rows, float("-inf"))
            out = picked.amax(1)
            return out if member is None else where(member.any(1, keepdim=True), out, 0.0)
        total = (rows * weights.unsqueeze(-1)).sum(1) if weights is not None else rows.sum(1)
        if mode == "sum":
            return total
        if member is None:
            return total / input.shape[1]
        return total / member.sum(1, keepdim=True).clamp_min(1).to(weight.dtype)
    if input.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    offsets = _as_target(offsets, weight)
    if offsets.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    n = input.shape[0]
    session = input._session
    if include_last_offset:
        starts, ends = offsets[:-1], offsets[1:]
    else:
        from ..tensor import cat  # noqa: PLC0415

        starts, ends = offsets, cat([offsets[1:], session.tensor([n], dtype=offsets.dtype)])
    position = session.arange(n, dtype=offsets.dtype).unsqueeze(0)
    member = (position >= starts.unsqueeze(1)) & (position < ends.unsqueeze(1))  # (B, n): element j is in bag b
    if padding_idx is not None:
        member = member & (input != padding_idx).unsqueeze(0)
    rows = embedding(input, weight)  # (n, D)
    if mode == "max":
        out = where(member.unsqueeze(-1), rows.unsqueeze(0), float("-inf")).amax(1)
        return where(member.any(1, keepdim=True), out, 0.0)
    weights = member.to(weight.dtype)
    if per_sample_weights is not None:
        weights = weights * per_sample_weights.unsqueeze(0)
    total = weights @ rows
    if mode == "sum":
        return total
    return total / member.sum(1, keepdim=True).clamp_min(1).to(weight.dtype)


@autocast_op("scaled_dot_product_attention")
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value over the last two dims, as PyTorch's (``scale``:
    1/sqrt(E) by default; a boolean ``attn_mask`` or ``is_causal`` keeps where True, a float one is added). With
    ``enable_gqa`` (grouped-query attention), key and value may have fewer heads (dim -3) than query, a divisor of its
    number: each of their heads serves that many of query's in turn (``repeat_interleave``), as PyTorch's."""
    _check_sdpa_inputs(query, key, value, attn_mask)
    if is_causal and attn_mask is not None:
        raise errors.InvalidArgumentError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if enable_gqa:
        key, value = _gqa_heads(query, key, value)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query.matmul(key.transpose(-2, -1)) * scale
    if is_causal:
        attn_mask = query._session.ones(query.shape[-2], key.shape[-2], dtype="bool").tril()
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, -math.inf) if attn_mask.dtype == np.bool_ else scores + attn_mask
    weights = _safe_softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights.matmul(value)


_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16", "int64": "long int",
              "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}  # as C++ prints them


def _check_sdpa_inputs(query, key, value, attn_mask):
    """PyTorch's ``validate_sdpa_input``: its checks, in its order and words (dtypes as its C++ names them)."""
    if not query.dtype == key.dtype == value.dtype:
        names = [_CPP_NAMES.get(x.dtype.name, x.dtype.name) for x in (query, key, value)]
        raise errors.InvalidArgumentError(f"Expected query, key, and value to have the same dtype, but got query.dtype: {names[0]} "
                                          f"key.dtype: {names[1]} and value.dtype: {names[2]} instead.")
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise errors.InvalidArgumentError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                                          f"{query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead.")
    if attn_mask is not None and attn_mask.dtype not in (np.bool_, np.float32, query.dtype):
        raise errors.InvalidArgumentError(
            f"Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: "
            f"{_CPP_NAMES.get(attn_mask.dtype.name, attn_mask.dtype.name)} and  query.dtype: {_CPP_NAMES.get(query.dtype.name, query.dtype.name)} instead.")


def _gqa_heads(query, key, value):
    """Key and value with their heads (dim -3) repeated to query's number, as PyTorch's
    ``pre_process_group_query_attention_input`` (its checks and words)."""
    q_heads, k_heads, v_heads = (x.shape[_wrap_dim(-3, x.ndim)] for x in (query, key, value))
    if q_heads == k_heads == v_heads:
        return key, value
    if q_heads % k_heads or q_heads % v_heads:
        raise errors.InvalidArgumentError("Number of heads in key and value must divide the number of heads in ")
    return key.repeat_interleave(q_heads // k_heads, -3), value.repeat_interleave(q_heads // v_heads, -3)


def _safe_softmax(scores, dim):
    """PyTorch's ``_safe_softmax`` (its attention's): softmax, but 0 for a row masked whole (all -inf) where softmax
    gives NaN; the row is softmaxed as zeros first, so its gradient is 0 too, not NaN."""
    masked = (scores == -math.inf).all(dim, keepdim=True)
    return where(masked, 0.0, softmax(where(masked, 0.0, scores), dim))


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
                                 add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training=True, key_padding_mask=None,
                                 need_weights=True, attn_mask=None, use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention, as ``torch.nn.functional.multi_head_attention_forward`` (what ``nn.MultiheadAttention``
    runs): sequence first, (L, N, E) query and (S, N, E) key and value, or unbatched (L, E).

    The in-projection is packed (``in_proj_weight``, (3E, E)) or, with ``use_separate_proj_weight``, three
    matrices (a key and value of other widths then); ``bias_k``/``bias_v`` append one learned key and value,
    ``add_zero_attn`` a zero one; ``static_k``/``static_v`` ((N * heads, S, E / heads)) replace the projected
    key and value. ``attn_mask`` (L, S) or (N * heads, L, S) and ``key_padding_mask`` (N, S): True (bool) where
    attention is not allowed, or floats added to the scores. ``is_causal`` is a hint that ``attn_mask`` is the
    causal mask (which it needs, as PyTorch's). Returns ``(output, weights)``: the weights (N, L, S), averaged
    over the heads unless ``average_attn_weights=False`` ((N, heads, L, S)), or None unless ``need_weights``.
    """
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if key_padding_mask is not None and attn_mask is not None and key_padding_mask.dtype != attn_mask.dtype:
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type for both instead.", stacklevel=2)
    if not batched:
        query, key, value = (x.unsqueeze(1) for x in (query, key, value))
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
    (tgt_len, batch, embed_dim), src_len = query.shape, key.shape[0]
    key_padding_mask = _additive_mask(key_padding_mask, "key_padding_mask", query)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
                           "`generate_square_subsequent_mask` to create this mask.")
    attn_mask = _additive_mask(attn_mask, "attn_mask", query)
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's {tuple(value.shape[:2])}")
        weights = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        weights = tuple(in_proj_weight[i * embed_dim:(i + 1) * embed_dim] for i in range(3))  # a third each
    q, k, v = (linear(x, w, None if in_proj_bias is None else in_proj_bias[i * embed_dim:(i + 1) * embed_dim])
               for i, (x, w) in enumerate(zip((query, key, value), weights)))
    if attn_mask is not None:
        expected = (tgt_len, src_len) if attn_mask.ndim == 2 else (batch * num_heads, tgt_len, src_len)
        if attn_mask.ndim not in (2, 3):
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
        if tuple(attn_mask.shape) != expected:
            raise RuntimeError(f"The shape of the {attn_mask.ndim}D attn_mask is {attn_mask.shape}, but should be {expected}.")
        if attn_mask.ndim == 2:
            attn_mask = attn_mask.unsqueeze(0)
    if (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k is set but bias_v is None" if bias_v is None else "bias_v is set but bias_k is None")
    if bias_k is not None:  # one more key and value, learned: every mask gets a column that allows it
        if static_k is not None or static_v is not None:
            raise AssertionError(f"bias cannot be added to static {'key' if static_k is not None else 'value'}.")
        k, v = cat([k, bias_k.expand(1, batch, embed_dim)]), cat([v, bias_v.expand(1, batch, embed_dim)])
        attn_mask, key_padding_mask = (None if m is None else pad(m, (0, 1)) for m in (attn_mask, key_padding_mask))
    q = q.reshape(tgt_len, batch * num_heads, head_dim).transpose(0, 1)
    k, v = ((x.reshape(x.shape[0], batch * num_heads, head_dim).transpose(0, 1) if static is None else _static(static, name, batch * num_heads, head_dim))
            for x, static, name in ((k, static_k, "static_k"), (v, static_v, "static_v")))
    if add_zero_attn:  # one more key and value, of zeros
        zeros = query._session.zeros(batch * num_heads, 1, head_dim, dtype=k.dtype)
        k, v = cat([k, zeros], 1), cat([v, zeros], 1)
        attn_mask, key_padding_mask = (None if m is None else pad(m, (0, 1)) for m in (attn_mask, key_padding_mask))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        for i, size in enumerate((batch, src_len)):
            if key_padding_mask.shape[i] != size:
                raise AssertionError(f"Expected key_padded_mask.shape[{i}] to be {size}, but got {key_padding_mask.shape[i]}")
        padding = key_padding_mask.reshape(batch, 1, 1, src_len).expand(batch, num_heads, 1, src_len).reshape(batch * num_heads, 1, src_len)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    scores = (q * math.sqrt(1.0 / head_dim)).matmul(k.transpose(-2, -1))
    if attn_mask is not None:
        scores = scores + attn_mask
    # without the weights PyTorch runs scaled_dot_product_attention, whose rows masked whole are 0; with them, NaN
    attention = softmax(scores, -1) if need_weights else _safe_softmax(scores, -1)
    if dropout_p > 0.0 and training:
        attention = dropout(attention, dropout_p)
    output = attention.matmul(v).transpose(0, 1).reshape(tgt_len * batch, embed_dim)
    output = linear(output, out_proj_weight, out_proj_bias).reshape(tgt_len, batch, out_proj_weight.shape[0])
    if not need_weights:
        return (output if batched else output.squeeze(1)), None
    attention = attention.reshape(batch, num_heads, tgt_len, src_len)
    if average_attn_weights:
        attention = attention.mean(1)
    return (output, attention) if batched else (output.squeeze(1), attention.squeeze(0))


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Whether the inputs are batched (3-D) or not (2-D), as PyTorch's checks of their shapes."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError(f"For batched (3-D) `query`, expected `key` and `value` to be 3-D but found {key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError(f"For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(f"For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found {attn_mask.ndim}-D tensor instead")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found {key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError(f"For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found {attn_mask.ndim}-D tensor instead")
            if attn_mask.ndim == 3 and tuple(attn_mask.shape) != (num_heads, query.shape[0], key.shape[0]):
                raise AssertionError(f"Expected `attn_mask` shape to be {(num_heads, query.shape[0], key.shape[0])} but got {tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query tensor")


def _additive_mask(mask, name, like):
    """A mask as floats to add to the scores: a bool one's True is -inf (not allowed), as PyTorch's ``_canonical_mask``."""
    if mask is None or is_floating(mask.dtype):
        return mask
    if mask.dtype.kind != "b":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return like._session.zeros(mask.shape, dtype=like.dtype).masked_fill(mask, -math.inf)


def _static(static, name, rows, head_dim):
    """A given key or value (``static_k``, ``static_v``), checked against the shape the heads need."""
    if static.shape[0] != rows:
        raise AssertionError(f"expecting {name}.size(0) of {rows}, but got {static.shape[0]}")
    if static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.shape[2]}")
    return static


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer tensor ``input``; no gradient reaches row ``padding_idx``. ``max_norm``:
    the rows looked up are first renormalised in place to at most that ``norm_type``-norm; ``scale_grad_by_freq``:
    each row's gradient divided by how often the batch looks it up, as PyTorch's."""
    if sparse:
        raise errors.UnimplementedError("embedding: sparse=True: gradwire has no sparse gradients; use sparse=False")
    input = _as_target(input, weight)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    out = _op("embedding", (input, weight), {"padding_idx": padding_idx})
    if scale_grad_by_freq:
        flat = input.reshape(-1)
        counts = flat.bincount(minlength=weight.shape[0])[input].unsqueeze(-1).to(out.dtype)
        scaled = out / counts
        out = scaled + (out - scaled).detach()  # out's values; the gradient divided by the count
    return out


def _embedding_renorm_(weight, input, max_norm, norm_type):
    """PyTorch's ``embedding_renorm_``, under no_grad: each row of ``weight`` that ``input`` looks up, scaled in place
    to ``max_norm`` where its ``norm_type``-norm is above it (by max_norm / (norm + 1e-7))."""
    with _no_grad():
        index = input.reshape(-1)
        rows = weight[index]
        norms = rows.norm(norm_type, 1, keepdim=True)
        weight[index] = rows * where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)


@autocast_op("layer_norm")
def _check_norm_dtypes(input, *params):
    """PyTorch's CPU rule for a norm's parameters (weight, bias, running statistics; those given, in that order): of the
    input's dtype, or all float32 beside a float32, float16 or bfloat16 input ("mixed dtype": the result in the input's
    dtype); refused otherwise, in its words. Whether mixed. (Under autocast the inputs are cast first: not checked.)"""
    given = [p for p in params if p is not None]
    if not given or _amp.state.active or input._dtype is None or any(p._dtype is None for p in given):
        return False
    if given[0]._dtype != input._dtype:
        if input._dtype not in (float32, float16, bfloat16):
            raise errors.InvalidArgumentError("mixed dtype (CPU): all inputs must share same datatype.")
        if any(p._dtype != float32 for p in given):
            raise errors.InvalidArgumentError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        return True
    for p in given[1:]:
        if p._dtype != input._dtype:
            raise _scalar_type_error(input._dtype, p._dtype)
    return False


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dims (biased variance), then scale and shift."""
    _check_norm_dtypes(input, weight, bias)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if weight is None and bias is not None:
        weight = input._session.ones(normalized_shape, dtype=input.dtype)
    inputs = (input,) + tuple(t for t in (weight, bias) if t is not None)
    return _op("layer_norm", inputs, {"normalized_shape": normalized_shape, **_given(eps=(float(eps), 1e-5))})


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) by the batch's mean and biased variance when ``training`` (updating
    ``running_mean`` and ``running_var`` in place on the server, the variance unbiased, as PyTorch's), else by
    the running statistics; then scale by ``weight`` and shift by ``bias``. One command."""
    if (running_mean is None) != (running_var is None):
        raise errors.InvalidArgumentError("batch_norm: running_mean and running_var must be given together")
    if momentum is None:
        raise errors.UnimplementedError("batch_norm: momentum=None (a cumulative moving average) is not supported; give a number")
    if not training and running_mean is None:
        raise errors.InvalidArgumentError("running_mean must be defined in evaluation mode")
    if training and input._shape is not None and math.prod(input._shape[:1] + input._shape[2:]) == 1:  # known here: PyTorch's ValueError
        raise errors.InvalidValueError(f"Expected more than 1 value per channel when training, got input size {Size(input._shape)}")
    _check_norm_dtypes(input, weight, bias, running_mean, running_var)
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps):
    """The batch norm op, its arguments checked (native_batch_norm's kernel takes one value per channel, F's refuses it)."""
    if (weight is None) != (bias is None):  # one without the other: the neutral one stands in
        like = weight if weight is not None else bias
        weight = weight if weight is not None else like._session.ones(like.shape, dtype=like.dtype)
        bias = bias if bias is not None else like._session.zeros(like.shape, dtype=like.dtype)
    stats = (running_mean, running_var) if running_mean is not None else ()
    affine = (weight, bias) if weight is not None else ()
    params = {"training": bool(training), "has_stats": bool(stats), "affine": bool(affine), **_given(momentum=(float(momentum), 0.1), eps=(float(eps), 1e-5))}
    return _op("batch_norm", (input,) + stats + affine, params)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample over its positions, then scale and shift per channel, as
    ``torch.nn.functional.instance_norm``: a group norm with a group per channel. With ``running_mean`` and
    ``running_var``, ``use_input_stats`` updates them in place with the batch's mean of the per-sample statistics
    (a batch norm of the (1, N*C, ...) view, as PyTorch's); without ``use_input_stats`` they normalise instead."""
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    if not use_input_stats and running_mean is None:
        raise errors.InvalidArgumentError("Expected running_mean and running_var to be defined when use_input_stats is false")
    if input.ndim < 3:
        raise errors.InvalidArgumentError(f"instance_norm: expected an input with a batch, a channel and at least one position dim, got {input.ndim}D")
    _check_norm_dtypes(input, weight, bias, running_mean, running_var)
    if running_mean is None:
        return group_norm(input, input.shape[1], weight, bias, eps)
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    n, c = input.shape[:2]
    with _no_grad():  # each sample's copy of the running statistics, updated by the batch norm, then averaged back
        means, variances = running_mean.repeat(n), running_var.repeat(n)
    out = batch_norm(input.reshape(1, n * c, -1), means, variances, None, None, True, momentum, eps).reshape(input.shape)
    with _no_grad():
        running_mean.copy_(means.reshape(n, c).mean(0))
        running_var.copy_(variances.reshape(n, c).mean(0))
    return _per_channel_affine(out, weight, bias)


def _per_channel_affine(out, weight, bias):
    """``out`` scaled by ``weight`` and shifted by ``bias``, one of each per channel (dim 1), either one optional."""
    per_channel = (1, out.shape[1]) + (1,) * (out.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def _no_grad():
    from ..grad_mode import no_grad  # noqa: PLC0415

    return no_grad()


@autocast_op("group_norm")
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each of ``num_groups`` groups of channels (dim 1) over its channels and positions, then
    scale and shift per channel, as ``torch.nn.functional.group_norm`` (a layer norm of the grouped view)."""
    batch, channels = input.shape[0], input.shape[1]
    if channels % num_groups:
        raise errors.InvalidArgumentError(f"Expected number of channels in input to be divisible by num_groups, but got input of shape "
                                          f"{list(input.shape)} and num_groups={num_groups}")
    mixed = _check_norm_dtypes(input, weight, bias)
    grouped = input.reshape(batch, num_groups, -1)
    out = _per_channel_affine(layer_norm(grouped, (grouped.shape[-1],), eps=eps).reshape(input.shape), weight, bias)
    return out.to(input.dtype) if mixed else out  # (a float32 weight beside a half-precision input: the input's dtype)


def _as_target(target, like):
    """A target (class indices) in ``like``'s session: Tensors pass; arrays and lists are uploaded as int64."""
    if isinstance(target, Tensor):
        return target
    array = np.asarray(target)
    if array.dtype.kind not in "iu":
        raise errors.InvalidArgumentError(f"expected class indices of an integer dtype, got {array.dtype}")
    return like._session.tensor(array.astype(np.int64, copy=False))


def _class_indices(target, input):
    """cross_entropy's and nll_loss's class indices: int64 or uint8 (PyTorch's "Long or Byte"), checked in PyTorch's
    order (the target's dims and batch size, then its dtype: int32 labels are a common slip, and a float target not of
    the input's shape is not class probabilities)."""
    shape, dtype = (target._shape, target._dtype) if isinstance(target, Tensor) else (np.shape(target), np.asarray(target).dtype)
    if shape is not None and input._shape is not None and input.ndim <= 2:
        if len(shape) > 1:
            raise errors.InvalidArgumentError("0D or 1D target tensor expected, multi-target not supported")
        if input.ndim == 2 and len(shape) == 1 and shape[0] != input.shape[0]:
            raise errors.InvalidValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({shape[0]}).")
    if dtype is not None and dtype not in (np.dtype(np.int64), np.dtype(np.uint8)) and (isinstance(target, Tensor) or dtype.kind not in "iu"):
        raise errors.InvalidArgumentError(f"expected target dtype to be Long or Byte, but got {_TENSOR_TYPE_NAMES.get(dtype, dtype.name)}")
    return _as_target(target, input)


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise errors.InvalidValueError(f"{reduction} is not a valid value for reduction")


def legacy_get_string(size_average, reduce, emit_warning=True):
    """PyTorch's ``torch.nn._reduction.legacy_get_string``: the deprecated ``size_average`` and ``reduce`` as a
    ``reduction`` (either None counts as True), with PyTorch's warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.", stacklevel=3)
    return reduction


def _legacy_reduction(loss):
    """A functional loss that takes PyTorch's deprecated ``size_average``/``reduce`` (in PyTorch's places in its
    signature) and honours them as PyTorch does: a ``reduction`` that replaces the one given."""
    signature = inspect.signature(loss)
    first = list(signature.parameters).index("size_average")  # before it, the usual positional arguments

    @functools.wraps(loss)
    def run(*args, **kwargs):
        if len(args) <= first and kwargs.get("size_average") is None and kwargs.get("reduce") is None:
            return loss(*args, **kwargs)  # the usual call: nothing to map
        bound = signature.bind(*args, **kwargs)
        size_average, reduce = bound.arguments.pop("size_average", None), bound.arguments.pop("reduce", None)
        if size_average is not None or reduce is not None:
            bound.arguments["reduction"] = legacy_get_string(size_average, reduce)
        return loss(*bound.args, **bound.kwargs)

    return run


def _refuse_grad(function, **arguments):
    """PyTorch's refusal of a weight that requires grad where its loss has no gradient for it (class weights of the
    class-index losses, BCE's element weights): at the call, while grad mode is on."""
    if is_grad_enabled():
        for name, value in arguments.items():
            if isinstance(value, Tensor) and value.requires_grad:
                raise errors.InvalidArgumentError(f"The function '{function}' is not differentiable with respect to argument '{name}'. "
                                                  "This input cannot have requires_grad True.")


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean", ignore_index=None,
                         label_smoothing=0.0, options=None):
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``, as ``torch.nn.functional.linear_cross_entropy``
    (its checks and messages; a ``linear_weight`` of shape (C, d1, ..., dK, in_features) makes a K-dimensional loss).
    ``options`` (PyTorch's chunking, to save memory) is accepted and left aside: the logits are made whole."""
    if input.ndim < 1 or input.ndim > 2:
        raise errors.InvalidArgumentError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise errors.InvalidArgumentError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    batches, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise errors.InvalidArgumentError("expected equal input and linear_weight last dimensions (in_features), "
                                          f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *out_features):
        raise errors.InvalidArgumentError(f"expected linear_bias shape {(classes, *out_features)}, got {tuple(linear_bias.shape)}")
    if out_features and not batches:
        raise errors.InvalidArgumentError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires batched input, "
            f"(N, {in_features}), got unbatched input with shape {tuple(input.shape)}")
    logits_shape = (*batches, classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:  # class probabilities
        raise errors.InvalidArgumentError("ignore_index cannot be specified when target contains probabilities")
    if out_features:
        linear_weight = linear_weight.reshape(math.prod(out_features, start=classes), in_features)
        linear_bias = None if linear_bias is None else linear_bias.reshape(math.prod(out_features, start=classes))
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction, ignore_index=-100 if ignore_index is None else ignore_index,
                         label_smoothing=label_smoothing)


@_legacy_reduction
@autocast_op("cross_entropy")
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of class scores ``input`` (N, C) (or (C,), or (N, C, d1, ...)) against class indices ``target``,
    or against class probabilities (a float ``target`` of input's shape), as ``torch.nn.functional.cross_entropy``.

    Class indices without ``weight`` or ``label_smoothing``: one fused op on the server (log_softmax and the
    negative log-likelihood), numerically stable; otherwise PyTorch's formulas over ``log_softmax``.
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise errors.InvalidArgumentError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if tuple(np.shape(target)) == tuple(input.shape):  # PyTorch's rule: a target of the input's shape holds probabilities
        if not _is_float(target):
            dtype = target.dtype if isinstance(target, Tensor) else np.asarray(target).dtype
            raise errors.InvalidArgumentError(
                f"Expected floating point type for target with class probabilities, got {_TENSOR_TYPE_NAMES.get(dtype, dtype.name)}")
        return _cross_entropy_probabilities(input, _as_probabilities(target, input), weight, reduction, label_smoothing)
    target = _class_indices(target, input)
    _refuse_grad("nll_loss_forward", weight=weight)
    if weight is None and not label_smoothing:
        return _op("cross_entropy", (input, target), _given(reduction=(reduction, "mean"), ignore_index=(int(ignore_index), -100)))
    class_dim = 1 if input.ndim > 1 else 0
    log_probabilities = input.log_softmax(class_dim)
    loss = nll_loss(log_probabilities, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return loss
    # PyTorch's: (1 - e) * nll + e / C * the (weighted) sum of -log p over the classes, ignored targets left out
    weight = _class_weight(weight, input, class_dim)
    kept = target != ignore_index
    smooth = -(log_probabilities if weight is None else log_probabilities * weight).sum(class_dim) * kept
    if reduction == "mean":
        smooth = _mean_over(smooth.sum(), kept.sum() if weight is None else (weight.reshape(-1)[target * kept] * kept).sum())
    elif reduction == "sum":
        smooth = smooth.sum()
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / input.shape[class_dim])


def _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing):
    """PyTorch's cross-entropy against class probabilities: -sum over classes of (weight *) target * log p,
    the mean taken over the batch (and any further dims), the targets smoothed first."""
    if tuple(target.shape) != tuple(input.shape):
        raise errors.InvalidArgumentError(f"Expected target size {list(input.shape)}, got {list(target.shape)}")
    class_dim = 1 if input.ndim > 1 else 0
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / input.shape[class_dim]
    products = input.log_softmax(class_dim) * target
    weight = _class_weight(weight, input, class_dim)
    if weight is not None:
        products = products * weight
    return _reduced(-products.sum(class_dim), reduction)


@_legacy_reduction
@autocast_op("nll_loss")
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` at the class indices ``target``; with ``weight``,
    each term weighted by its class's weight and the mean taken over the weights, as PyTorch's."""
    _check_reduction(reduction)
    target = _class_indices(target, input)
    _refuse_grad("nll_loss_forward", weight=weight)
    if weight is None:
        return _op("nll_loss", (input, target), _given(reduction=(reduction, "mean"), ignore_index=(int(ignore_index), -100)))
    if isinstance(weight, Tensor) and _dtypes_differ(input, weight):  # (PyTorch's kernel takes one dtype)
        raise _scalar_type_error(input._dtype, weight._dtype)
    class_dim = 1 if input.ndim > 1 else 0
    weight = _class_weight(weight, input, class_dim).reshape(-1)
    kept = target != ignore_index
    index = target * kept  # ignored targets read class 0, weighted by 0
    weights = weight[index] * kept
    losses = -input.gather(class_dim, index.unsqueeze(class_dim)).squeeze(class_dim) * weights
    if reduction == "mean":
        return _mean_over(losses.sum(), weights.sum())
    return losses.sum() if reduction == "sum" else losses


def _mean_over(total, count):
    """``total / count``, as PyTorch's mean over the targets that count: NaN where none does (``count`` 0), but with
    a zero gradient then (PyTorch's), where ``total / count`` would send 0 * inf, NaN, to every input."""
    empty = count == 0
    return total / where(empty, 1.0, count) + where(empty, float("nan"), 0.0)


def _is_float(target):
    dtype = target.dtype if isinstance(target, Tensor) else np.asarray(target).dtype
    return is_floating(dtype)


def _class_weight(weight, input, class_dim):
    """``weight`` (C,) as a tensor of input's dtype, shaped to broadcast along the class dim; None stays None."""
    if weight is None:
        return None
    weight = _as_probabilities(weight, input)
    classes = input.shape[class_dim]
    if tuple(weight.shape) != (classes,):
        raise errors.InvalidArgumentError(
            f"weight tensor should be defined either for all {classes} classes or no classes but got weight tensor of shape: {list(weight.shape)}"
        )
    return weight.reshape((classes,) + (1,) * (input.ndim - class_dim - 1))


@_legacy_reduction
@autocast_op("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy of logits ``input`` against probabilities ``target`` (of its shape): one fused,
    numerically stable op on the server; with ``pos_weight`` (the positives' weight, broadcast along the last
    dim) PyTorch's stable formula over ops. ``weight`` rescales each element's loss."""
    _check_reduction(reduction)
    target = _as_probabilities(target, input)
    if target._shape is not None and input._shape is not None and target._shape != input._shape:
        raise ValueError(f"Target size ({Size(target._shape)}) must be the same as input size ({Size(input._shape)})")
    _refuse_grad("binary_cross_entropy_with_logits", weight=weight, pos_weight=pos_weight)
    if _dtypes_differ(input, target):  # computed in the two's promotion, the loss in the target's dtype, as PyTorch's
        wide = promote(input.dtype, target.dtype)
        out = binary_cross_entropy_with_logits(input.to(wide), target.to(wide), weight, reduction=reduction, pos_weight=pos_weight)
        return out.to(target.dtype)
    weight = None if weight is None else _in_dtype_of(_as_probabilities(weight, input), input)
    pos_weight = None if pos_weight is None else _in_dtype_of(_as_probabilities(pos_weight, input), input)
    if pos_weight is None:
        losses = _op("binary_cross_entropy_with_logits", (input, target), _given(reduction=(reduction if weight is None else "none", "mean")))
    else:
        # (1 - t) x + (1 + (pw - 1) t) log(1 + exp(-x)), the log as PyTorch writes it: stable for any x
        shift = (-input).clamp_min(0.0)
        log_weight = (_as_probabilities(pos_weight, input) - 1.0) * target + 1.0
        losses = (1.0 - target) * input + log_weight * (((-shift).exp() + (-input - shift).exp()).log() + shift)
        if weight is None:
            return _reduced(losses, reduction)
    return losses if weight is None else _reduced(losses * _as_probabilities(weight, input), reduction)


@_legacy_reduction
@autocast_op("binary_cross_entropy")
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` (in [0, 1]) against ``target``; each log at least -100, as
    PyTorch's. ``weight`` rescales each element's loss."""
    _check_reduction(reduction)
    target = _as_probabilities(target, input)
    if target._shape is not None and input._shape is not None and target._shape != input._shape:
        raise ValueError(f"Using a target size ({Size(target._shape)}) that is different to the input size ({Size(input._shape)}) is "
                         "deprecated. Please ensure they have the same size.")
    if _dtypes_differ(input, target):  # (float64 labels beside float32 probabilities, most often)
        raise errors.InvalidArgumentError(f"Found dtype {_TENSOR_TYPE_NAMES[target._dtype]} but expected {_TENSOR_TYPE_NAMES[input._dtype]}")
    _refuse_grad("binary_cross_entropy", weight=weight)
    if weight is None:
        return _op("binary_cross_entropy", (input, target), _given(reduction=(reduction, "mean")))
    losses = _op("binary_cross_entropy", (input, target), {"reduction": "none"})
    return _reduced(losses * _in_dtype_of(_as_probabilities(weight, input), input), reduction)


def _in_dtype_of(tensor, like):
    """``tensor`` in ``like``'s dtype (a loss's weight of another dtype: PyTorch's loss keeps its input's)."""
    return tensor if tensor.dtype == like.dtype else tensor.to(like.dtype)


def _as_probabilities(target, like):
    """A target of probabilities in ``like``'s session: Tensors pass; arrays and lists are uploaded in ``like``'s dtype."""
    if isinstance(target, Tensor):
        return target
    return like._session.tensor(np.asarray(target, dtype=like.dtype))


def _difference(input, target, reduction, kernel=None):
    if reduction not in _REDUCTIONS:
        raise errors.InvalidValueError(f"{reduction} is not a valid value for reduction")
    if kernel is not None:  # torch's kernel of this loss takes no complex numbers (its words)
        for x in (input, target):
            dtype = getattr(x, "_dtype", None)
            if dtype is not None and dtype.kind == "c":
                raise errors.UnimplementedError(f'"{kernel}" not implemented for \'{"ComplexDouble" if dtype == np.complex128 else "ComplexFloat"}\'')
    if not isinstance(target, Tensor):
        target = input._session.tensor(np.asarray(target, dtype=input.dtype))
    return input - target


def _reduced(losses, reduction):
    return losses if reduction == "none" else losses.mean() if reduction == "mean" else losses.sum()


@_legacy_reduction
@autocast_op("mse_loss")
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean (or summed, or elementwise) squared error."""
    diff = _difference(input, target, reduction, "mse_cpu")
    return _reduced(diff * diff, reduction)


@_legacy_reduction
@autocast_op("l1_loss")
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean (or summed, or elementwise) absolute error, as ``torch.nn.functional.l1_loss``."""
    return _reduced(_difference(input, target, reduction).abs(), reduction)


@_legacy_reduction
@autocast_op("smooth_l1_loss")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Squared below ``beta`` (halved, over ``beta``), absolute above (less ``beta / 2``), as PyTorch's."""
    if beta < 0:
        raise errors.InvalidArgumentError("smooth_l1_loss does not support negative values for beta.")
    distance = _difference(input, target, reduction, "smooth_l1_cpu").abs()
    if beta == 0:
        return _reduced(distance, reduction)
    from ..tensor import where  # noqa: PLC0415 - the module imports this one

    return _reduced(where(distance < beta, 0.5 * distance * distance / beta, distance - 0.5 * beta), reduction)


@autocast_op("huber_loss")
def huber_loss(input, target, reduction="mean", delta=1.0):
    """Squared (halved) below ``delta``, linear above, as ``torch.nn.functional.huber_loss``: ``delta`` times smooth L1."""
    if delta <= 0:
        raise errors.InvalidArgumentError("huber_loss does not support non-positive values for delta.")
    from ..tensor import where  # noqa: PLC0415

    if isinstance(target, Tensor) and _dtypes_differ(input, target):  # (PyTorch's loss is in the input's dtype)
        target = target.to(input.dtype)
    distance = _difference(input, target, reduction, "huber_cpu").abs()
    return _reduced(where(distance < delta, 0.5 * distance * distance, delta * (distance - 0.5 * delta)), reduction)


@_legacy_reduction
@autocast_op("kl_div")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """The pointwise KL divergence ``target * (log(target) - input)`` (``input`` log-probabilities; 0 where the
    target is 0), as ``torch.nn.functional.kl_div``; ``reduction="batchmean"`` divides the sum by the batch size."""
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise errors.InvalidValueError(f"{reduction} is not a valid value for reduction")
    from ..tensor import where  # noqa: PLC0415 - the module imports this one

    if log_target:
        pointwise = target.exp() * (target - input)
    else:
        pointwise = where(target > 0, target * target.log(), 0.0) - target * input
    if reduction == "batchmean":
        return pointwise.sum() / (input.shape[0] if input.ndim else 1)
    return _reduced(pointwise, reduction)


# --- losses PyTorch has as ops of their own, here compositions of ops --------------------------------------------
@_legacy_reduction
@autocast_op("margin_ranking_loss")
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target * (input1 - input2) + margin)."""
    _check_reduction(reduction)
    return _reduced((-_as_probabilities(target, input1) * (input1 - input2) + margin).clamp_min(0.0), reduction)


@_legacy_reduction
@autocast_op("hinge_embedding_loss")
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """x where target is 1, max(0, margin - x) where it is -1 (PyTorch's: each term where target is not the other)."""
    _check_reduction(reduction)
    target = _as_probabilities(target, input)
    zeros = input * 0.0
    losses = _op("where", (target != 1, (margin - input).clamp_min(0.0), zeros)) + _op("where", (target != -1, input, zeros))
    return _reduced(losses, reduction)


@_legacy_reduction
@autocast_op("soft_margin_loss")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * x)), computed as softplus: stable. The target broadcasts to the input, never the input to
    the target (PyTorch writes into an input-shaped output)."""
    _check_reduction(reduction)
    if isinstance(target, Tensor) and tuple(target.shape) != tuple(input.shape):
        shape = list(_broadcast_or_refuse(tuple(input.shape), tuple(target.shape)))
        if shape != list(input.shape):
            raise errors.InvalidArgumentError(f"output with shape {list(input.shape)} doesn't match the broadcast shape {shape}")
    return _reduced(softplus(-_in_dtype_of(_as_probabilities(target, input), input) * input), reduction)


@_legacy_reduction
@autocast_op("cosine_embedding_loss")
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where target is 1, max(0, cos - margin) where it is -1; the cosine over the last dim
    with PyTorch's epsilon (1e-12) added to each squared magnitude."""
    _check_reduction(reduction)
    target = _as_probabilities(target, input1)
    dim = input1.ndim - 1
    cosine = (input1 * input2).sum(dim) / (((input1 * input1).sum(dim) + 1e-12) * ((input2 * input2).sum(dim) + 1e-12)).sqrt()
    zeros = cosine * 0.0
    losses = _op("where", (target == 1, 1.0 - cosine, zeros)) + _op("where", (target == -1, (cosine - margin).clamp_min(0.0), zeros))
    return _reduced(losses, reduction)


@_legacy_reduction
@autocast_op("triplet_margin_loss")
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None, reduce=None, reduction="mean"):
    """max(0, d(anchor, positive) - d(anchor, negative) + margin), d the ``pairwise_distance``; ``swap``: the
    closer of d(anchor, negative) and d(positive, negative)."""
    _check_reduction(reduction)
    to_positive, to_negative = pairwise_distance(anchor, positive, p, eps), pairwise_distance(anchor, negative, p, eps)
    if swap:
        to_negative = _op("minimum", (to_negative, pairwise_distance(positive, negative, p, eps)))
    return _reduced((to_positive - to_negative + margin).clamp_min(0.0), reduction)


@_legacy_reduction
@autocast_op("poisson_nll_loss")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None, reduction="mean"):
    """exp(x) - target * x (``log_input``), or x - target * log(x + eps); ``full``: Stirling's term for targets above 1."""
    _check_reduction(reduction)
    target = _as_probabilities(target, input)
    losses = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        losses = losses + _op("where", (target > 1, stirling, stirling * 0.0))
    return _reduced(losses, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 * (log(var) + (input - target)^2 / var) (+ 0.5 log(2 pi) with ``full``); var held at least ``eps`` for
    the values, its gradient passed through unchanged, as PyTorch clamps it under no_grad. PyTorch's checks, in its
    order and words (a negative variance is a sync point, as PyTorch's ``torch.any`` is)."""
    if isinstance(var, float):
        if var < 0:
            raise errors.InvalidValueError("var has negative entry/entries")
        var = input._session.full(input.shape, var, dtype=input.dtype)
    target, var = _as_probabilities(target, input), _as_probabilities(var, input)
    if bool((var < 0).any()):
        raise errors.InvalidValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):  # homoscedastic: one variance per sample
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise errors.InvalidValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise errors.InvalidValueError(reduction + " is not valid")
    var = var + (var.clamp_min(eps) - var).detach()
    losses = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _reduced(losses, reduction)


@_legacy_reduction
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """The binary logistic loss of each class (``target`` 0 or 1 per class), averaged over the classes: -(y log
    sigmoid(x) + (1 - y) log sigmoid(-x)), each class weighted by ``weight``."""
    _check_reduction(reduction)
    target = _as_probabilities(target, input)
    losses = -(target * logsigmoid(input) + (1.0 - target) * logsigmoid(-input))
    if weight is not None:
        losses = losses * _as_probabilities(weight, input)
    return _reduced(losses.sum(input.ndim - 1) / input.shape[-1], reduction)


@_legacy_reduction
@autocast_op("multi_margin_loss")
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
    """The multi-class hinge loss: for each class j other than the target y, max(0, margin - x[y] + x[j])^p
    (times ``weight[y]``), summed and divided by the number of classes."""
    _check_reduction(reduction)
    if p not in (1, 2):
        raise errors.InvalidArgumentError("only p == 1 and p == 2 supported")
    _refuse_grad("multi_margin_loss", weight=weight)
    target = _as_target(target, input)
    scores = input if input.ndim == 2 else input.unsqueeze(0)
    labels = target.reshape(-1, 1)
    terms = (margin - scores.gather(1, labels) + scores).clamp_min(0.0)
    if p == 2:
        terms = terms * terms
    if weight is not None:
        terms = terms * _as_probabilities(weight, input)[labels]
    others = one_hot(labels.squeeze(1), scores.shape[1]) == 0  # the target's own term is left out
    losses = (terms * others).sum(1) / scores.shape[1]
    return _reduced(losses if input.ndim == 2 else losses.squeeze(0), reduction)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """The Connectionist Temporal Classification loss, as ``torch.nn.functional.ctc_loss``.

    ``log_probs`` (T, N, C) (or (T, C) unbatched) are log-probabilities over C classes, ``blank`` among them;
    ``targets`` are padded, (N, S), or concatenated, 1-D of ``sum(target_lengths)``; ``input_lengths`` and
    ``target_lengths`` are per sample (tensors, or sequences of ints). The loss of a sample is the negative
    log-likelihood of its target summed over every alignment; ``mean`` divides each by its target length, then
    averages. An impossible alignment costs inf (its gradient NaN, as PyTorch's), or 0 with ``zero_infinity``.

    Made of ops, so the gradient comes from autograd: the forward (alpha) recursion over the extended
    target (blank, l1, blank, l2, ..., blank: 2S + 1 states), one ``logsumexp`` of shifted alphas per time step.
    Concatenated targets with ``target_lengths`` a Tensor read the lengths (a sync point); nothing else does.
    """
    _check_reduction(reduction)
    session = log_probs._session
    batched = log_probs.ndim == 3
    targets = _as_target(targets, log_probs).to("int64")
    if not batched:
        log_probs, targets = log_probs.unsqueeze(1), targets.unsqueeze(0)
    steps, batch = log_probs.shape[:2]
    dtype = log_probs.dtype
    input_lengths, target_lengths = (
        (x if isinstance(x, Tensor) else session.tensor(np.asarray(x, dtype=np.int64))).reshape(-1).to("int64")
        for x in (input_lengths, target_lengths))
    if targets.ndim == 1:  # concatenated: padded to the longest target (what lies past a target's end is never read)
        counts = [int(n) for n in target_lengths.tolist()]
        width = max(counts, default=0)
        starts = np.cumsum([0] + counts[:-1])
        index = np.minimum(starts[:, None] + np.arange(width)[None, :], max(targets.shape[0] - 1, 0))
        targets = targets[session.tensor(index.astype(np.int64))] if width else session.zeros(batch, 0, dtype="int64")
    width = targets.shape[1]
    states = 2 * width + 1
    # log(0) is a very negative finite number: a logsumexp of -infs alone would give NaN gradients, and
    # sums of a few of these stay finite
    neg = max(-1e30, float(np.finfo(dtype).min) / 64)
    extended = stack([session.full((batch, width), blank, dtype="int64"), targets], 2).reshape(batch, 2 * width)
    extended = cat([extended, session.full((batch, 1), blank, dtype="int64")], 1)  # blank, l1, blank, ..., lS, blank
    # a state is reached from two back too unless it is a blank or repeats the label two back
    skips = cat([session.zeros(batch, min(2, states), dtype="bool"), extended[:, 2:] != extended[:, :-2]], 1)
    skips = session.zeros(batch, states, dtype=dtype).masked_fill(skips.logical_not(), neg)
    emitted = log_probs.gather(2, extended.unsqueeze(0).expand(steps, batch, states)).clamp_min(neg)  # (T, N, 2S + 1)
    live = session.arange(steps).reshape(steps, 1, 1) < input_lengths.reshape(1, batch, 1)  # t < T_n: (T, N, 1)
    pad = session.full((batch, 2), neg, dtype=dtype)
    # before the first step all the mass is in the state before the first blank, which the step moves to
    # the first blank or the first label
    alpha = cat([session.zeros(batch, 1, dtype=dtype), session.full((batch, states - 1), neg, dtype=dtype)], 1)
    for t, (emit, running) in enumerate(zip(emitted.unbind(0), live.unbind(0))):
        moves = [alpha, cat([pad[:, :1], alpha[:, :-1]], 1)]
        if states > 2:
            moves.append(cat([pad, alpha[:, :-2]], 1) + skips)
        alpha = where(running, stack(moves, 0).logsumexp(0) + emit, alpha)  # frozen past the sample's length
    # the alignment ends in the last blank or in the last label
    last = 2 * target_lengths
    ends = alpha.gather(1, stack([last, (last - 1).clamp_min(0)], 1))
    ends = ends + session.zeros(batch, 2, dtype=dtype).masked_fill(stack([last < 0, last == 0], 1), neg)
    losses = -ends.logsumexp(1)
    possible = losses < -neg / 2
    # PyTorch's gradient is not quite that of this value: its backward assumes log_probs came from a
    # log_softmax and adds exp(log_probs) on each sample's steps (which a log_softmax's backward then cancels).
    # Added here as a term worth 0 with that gradient, so that gradients agree with PyTorch's for any input.
    probs = log_probs.exp()
    losses = losses + where(live, probs - probs.detach(), 0.0).sum((0, 2))
    if zero_infinity:
        losses = where(possible, losses, session.zeros(batch, dtype=dtype))
    else:
        # inf, with PyTorch's gradient: NaN over the sample's log-probabilities up to its length. -logsumexp
        # over one element of (x - inf) is inf and its gradient exp(-inf + inf) is NaN; possible samples add 0 - 0
        impossible = possible.logical_not()
        touched = where(live & impossible.reshape(1, batch, 1), log_probs, 0.0).sum((0, 2))
        poisoned = touched + session.zeros(batch, dtype=dtype).masked_fill(impossible, -math.inf)
        losses = where(possible, losses, -poisoned.unsqueeze(1).logsumexp(1))
    if reduction == "mean":
        return (losses / target_lengths.clamp_min(1).to(dtype)).mean()
    if reduction == "sum":
        return losses.sum()
    return losses if batched else losses.squeeze(0)


@autocast_op("cosine_similarity")
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim``: each over its norm (at least ``eps``), then their
    dot product; the two broadcast first, as PyTorch's (a norm of the broadcast tensor)."""
    if tuple(x1.shape) != tuple(x2.shape):
        x1, x2 = _broadcast_tensors(x1, x2)
    return ((x1 / x1.norm(2, dim, keepdim=True).clamp_min(eps)) * (x2 / x2.norm(2, dim, keepdim=True).clamp_min(eps))).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The ``p``-norm of ``x1 - x2 + eps`` along the last dim, as ``torch.nn.functional.pairwise_distance``."""
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)


_NEEDS_DIMS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}  # the interpolating modes, and the input's dims each takes


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of an (N, C, L), (N, C, H, W) or (N, C, D, H, W) input, as
    ``torch.nn.functional.interpolate``: ``"nearest"``, ``"nearest-exact"``, ``"linear"``/``"bilinear"``/``"trilinear"``,
    ``"bicubic"`` (4-D; PyTorch's cubic convolution, A = -0.75, taps clamped at the border) with ``align_corners`` as
    PyTorch's, and ``"area"`` (adaptive average pooling); one dim at a time, as indexing and weighted sums on the
    server, differentiable."""
    spatial = input.ndim - 2
    if mode in _NEEDS_DIMS and input.ndim != _NEEDS_DIMS[mode]:
        raise errors.UnimplementedError(f"Got {input.ndim}D input, but {mode} mode needs {_NEEDS_DIMS[mode]}D input")
    if mode == "lanczos":  # (PyTorch 2.13's newest mode)
        raise errors.UnimplementedError("interpolate: mode 'lanczos' is not supported (nearest, nearest-exact, area; linear on 3-D, "
                                        "bilinear and bicubic on 4-D, trilinear on 5-D)")
    if spatial not in (1, 2, 3) or mode not in ("nearest", "nearest-exact", "area", *_NEEDS_DIMS):
        raise errors.UnimplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the modes: "
                                        f"nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact (got {mode})")
    if antialias:
        raise errors.UnimplementedError("interpolate: antialias is not supported")
    if size is not None and scale_factor is not None:  # PyTorch's ValueErrors, in its words
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    dims = list(input.shape[2:])
    if isinstance(size, (tuple, list)) and len(size) != spatial:
        raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with spatial dimensions of {dims} "
                         f"and output size of {tuple(size)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size "
                         "in (o1, o2, ...,oK) format.")
    if isinstance(scale_factor, (tuple, list)) and len(scale_factor) != spatial:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input with spatial dimensions of "
                         f"{dims} and scale_factor of shape {tuple(scale_factor)}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                         "format and scale_factor in (s1, s2, ...,sK) format.")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear")
    sizes_in = input.shape[2:]
    if size is not None:
        sizes_out = (size,) * spatial if isinstance(size, int) else tuple(size)
        scales = [None] * spatial
    else:
        factors = (scale_factor,) * spatial if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        sizes_out = tuple(int(math.floor(n * f)) for n, f in zip(sizes_in, factors))
        scales = [None if recompute_scale_factor else f for f in factors]
    input._session._check_made_here("the output of interpolate", math.prod(input.shape[:2]) * math.prod(sizes_out), input.dtype)
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[spatial - 1](input, sizes_out)
    out = input
    for k, (n_in, n_out, scale) in enumerate(zip(sizes_in, sizes_out, scales)):
        dim = 2 + k
        ratio = n_in / n_out if scale is None else 1.0 / scale  # PyTorch's source scale: the given factor, where given
        lead = (slice(None),) * dim
        if mode in ("nearest", "nearest-exact"):
            offset = 0.5 if mode == "nearest-exact" else 0.0
            index = np.minimum(np.floor((np.arange(n_out) + offset) * ratio).astype(np.int64), n_in - 1)
            out = out[lead + (index,)]
            continue
        if align_corners:
            src = np.arange(n_out) * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        else:
            src = (np.arange(n_out) + 0.5) * ratio - 0.5
            if mode != "bicubic":  # the cubic kernel reads taps left of the first sample; the linear one starts there
                src = np.maximum(src, 0.0)
        low = np.floor(src).astype(np.int64)
        shape = (n_out,) + (1,) * (input.ndim - dim - 1)
        if mode == "bicubic":
            taps = [np.clip(low + d, 0, n_in - 1) for d in (-1, 0, 1, 2)]
            weights = _cubic_weights(src - low)
            terms = [out[lead + (tap,)] * input._session.tensor(w.astype(input.dtype).reshape(shape)) for tap, w in zip(taps, weights)]
            out = terms[0] + terms[1] + terms[2] + terms[3]
            continue
        low = np.minimum(low, n_in - 1)
        high = np.minimum(low + 1, n_in - 1)
        weight = (src - low).astype(input.dtype).reshape(shape)
        near, far = out[lead + (low,)], out[lead + (high,)]
        out = near + (far - near) * input._session.tensor(weight)
    return out


def _cubic_weights(t, a=-0.75):
    """The four taps' weights at fractions ``t`` (PyTorch's cubic convolution, Keys' kernel with ``a``)."""
    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)


def _linspace_from_neg_one(steps, align_corners):
    """PyTorch's affine_grid base coordinates along one dim: -1 to 1, or the pixel centres without align_corners."""
    if steps <= 1:
        return np.zeros(1)
    points = np.linspace(-1.0, 1.0, steps)
    return points if align_corners else points * (steps - 1) / steps


_ALIGN_CORNERS_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please specify "
                          "align_corners=True if the old behavior is desired. See the documentation of grid_sample for details.")


def affine_grid(theta, size, align_corners=None):
    """The sampling grid (N, H, W, 2) (or (N, D, H, W, 3)) of a batch of affine matrices ``theta`` (N, 2, 3) (or
    (N, 3, 4)) for an output of ``size``, as ``torch.nn.functional.affine_grid``: the base grid of normalised (x, y[, z], 1)
    coordinates times theta transposed, one matmul (its gradient reaches theta)."""
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(n) for n in size)
    if len(size) not in (4, 5):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, respectively. Got size {size}.")
    k = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (k, k + 1):
        raise ValueError(f"Expected a batch of {k}D affine matrices of shape Nx{k}x{k + 1} for size {size}. Got {list(theta.shape)}.")
    if align_corners and min(size[2:]) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when align_corners=True. This is not an "
                      "intended use case of affine_grid. See the documentation of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise errors.InvalidArgumentError(f"affine_grid: theta holds {theta.shape[0]} matrices for a size of batch {size[0]}")
    theta._session._check_made_here("the output of affine_grid", math.prod(size[:1] + size[2:]) * k, theta.dtype)
    axes = [_linspace_from_neg_one(n, align_corners) for n in size[2:]]
    base = np.stack(list(np.meshgrid(*axes, indexing="ij"))[::-1] + [np.ones(size[2:])], axis=-1)  # (..., H, W, k + 1): x, y[, z], 1
    base = theta._session.tensor(base.reshape(1, -1, k + 1), dtype=theta.dtype)
    return (base @ theta.transpose(1, 2)).reshape(size[0], *size[2:], k)


def _reflected(coords, twice_low, twice_high):
    """PyTorch's reflect_coordinates: coordinates folded into [twice_low / 2, twice_high / 2] by reflections off its ends."""
    if twice_low == twice_high:
        return (coords * 0.0).detach()
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    shifted = coords - low
    shifted = where(shifted < 0, -shifted, shifted)  # |x - low|, its gradient +1 at 0 as PyTorch's
    flips = (shifted / span).floor().detach()
    extra = shifted.fmod(span)
    return where(flips.remainder(2) == 0, extra + low, -extra + (span + low))


def _source_coordinates(grid, size, padding_mode, align_corners):
    """Normalised grid coordinates along one dim as (fractional) indices into a dim of ``size``, padded as PyTorch's."""
    coords = (grid + 1.0) * ((size - 1) / 2) if align_corners else ((grid + 1.0) * size - 1.0) / 2
    if padding_mode == "border":
        coords = coords.clamp(0, size - 1)
    elif padding_mode == "reflection":
        coords = _reflected(coords, 0, 2 * (size - 1)) if align_corners else _reflected(coords, -1, 2 * size - 1)
        coords = coords.clamp(0, size - 1)
    return coords


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """``input`` (N, C, H, W) (or (N, C, D, H, W)) sampled at the normalised (x, y[, z]) points of ``grid`` (N, Ho, Wo, 2)
    (or (N, Do, Ho, Wo, 3)), as ``torch.nn.functional.grid_sample``: ``"bilinear"`` (trilinear on 5-D) or ``"nearest"``;
    ``padding_mode`` ``"zeros"``, ``"border"`` or ``"reflection"``. Built from gathers at the clamped integer corners,
    weighted by the fractional parts and a mask of the corners inside the input, so the gradient reaches input and
    grid (nearest: zeros for grid, as PyTorch's)."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_WARNING, stacklevel=2)
        align_corners = False
    if input.dtype != grid.dtype:
        raise errors.InvalidArgumentError(f"grid_sampler(): expected input and grid to have same dtype, but input has {input.dtype} and grid has {grid.dtype}")
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise errors.InvalidArgumentError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but got input with sizes "
                                          f"{list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise errors.InvalidArgumentError(f"grid_sampler(): expected grid and input to have same batch size, but got input with sizes "
                                          f"{list(input.shape)} and grid with sizes {list(grid.shape)}")
    k = input.ndim - 2
    if grid.shape[-1] != k:
        raise errors.InvalidArgumentError(f"grid_sampler(): expected grid to have size {k} in last dimension, but got grid with sizes {list(grid.shape)}")
    if mode == "bicubic":
        raise errors.UnimplementedError("grid_sample: mode 'bicubic' is not supported" if k == 2 else "grid_sampler(): bicubic interpolation only supports 4D input.")
    n, c, sizes = input.shape[0], input.shape[1], input.shape[2:]
    points = math.prod(grid.shape[1:-1])
    strides = [math.prod(sizes[j + 1 :]) for j in range(k)]
    flat = input.reshape(n, c, -1)
    # per input dim (D, H, W order; the grid's last component is x, along W): its coordinates, and for each
    # corner (0: below, 1: above) the clamped flat-index part and the weight, zero where the corner is outside
    parts = []
    for j, size in enumerate(sizes):
        coords = _source_coordinates(grid[..., k - 1 - j].reshape(n, 1, points), size, padding_mode, align_corners)
        if mode == "nearest":
            corners, weights = [coords.detach().round()], [None]
        else:
            low = coords.detach().floor()
            frac = coords - low
            corners, weights = [low, low + 1.0], [1.0 - frac, frac]
        sides = []
        for at, weight in zip(corners, weights):
            inside = ((at >= 0) & (at <= size - 1)).to(input.dtype)
            weight = inside if weight is None else weight * inside
            sides.append((at.clamp(0, size - 1).long() * strides[j] if strides[j] != 1 else at.clamp(0, size - 1).long(), weight))
        parts.append(sides)
    out = None
    for corner in itertools.product(*parts):
        index, weight = corner[0]
        for more_index, more_weight in corner[1:]:
            index, weight = index + more_index, weight * more_weight
        term = flat.gather(2, index.expand(n, c, points)) * weight
        out = term if out is None else out + term
    if mode == "nearest" and grid.requires_grad:  # no gradient through rounding: zeros for grid, as PyTorch's
        out = out + where(grid._session.tensor(False), grid, grid._session.zeros((), dtype=grid.dtype)).sum()
    return out.reshape(n, c, *grid.shape[1:-1])


def one_hot(tensor, num_classes=-1):
    """int64 rows with a 1 at each class index of ``tensor``, as ``torch.nn.functional.one_hot``
    (``num_classes=-1``: the largest index plus one; its shape is then the server's to tell)."""
    if tensor.dtype.kind not in "iu":
        raise errors.InvalidArgumentError("one_hot is only applicable to index tensor of type LongTensor.")
    return _op("one_hot", (tensor,), {"num_classes": int(num_classes)})  # the server checks the values


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """``torch.nn.functional.gumbel_softmax``: softmax((logits + g) / tau) with Gumbel(0, 1) noise g drawn from the
    session's generator (-log of an exponential sample); ``hard=True`` gives the one-hot of each argmax, with the
    soft sample's gradient (straight-through)."""
    exponential = -(1.0 - logits._session.rand(*logits.shape, dtype=logits.dtype)).log()  # (1 - u): u may be 0, never 1
    soft = ((logits - exponential.log()) / tau).softmax(dim)
    if not hard:
        return soft
    index = soft.argmax(dim, keepdim=True)
    one_hot = (index == logits._session.arange(soft.shape[dim]).reshape([-1] + [1] * (soft.ndim - 1 - dim % soft.ndim))).to(soft.dtype)
    return one_hot - soft.detach() + soft


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``input`` over its ``p``-norm along ``dim`` (at least ``eps``), as ``torch.nn.functional.normalize``."""
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)


def pad(input, pad, mode="constant", value=None):
    """``torch.nn.functional.pad``: ``pad`` is (before, after) pairs from the last dim backwards. ``"constant"``
    (negative amounts crop) is one op; ``"reflect"``, ``"replicate"`` and ``"circular"`` gather each padded dim
    through an index of its positions, as PyTorch reads them (the gradient scatters back the same way)."""
    pad = tuple(int(n) for n in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise errors.InvalidArgumentError("Padding length must be divisible by 2" if len(pad) % 2 else
                                          "Padding length should be less than or equal to two times the input dimension "
                                          f"but got padding length {len(pad)} and input of dimension {input.ndim}")
    if mode == "constant":
        return _op("pad", (input,), {"pad": pad, **_given(value=(value, None))})
    if mode not in ("reflect", "replicate", "circular"):
        raise errors.UnimplementedError(f"Unrecognised padding mode {mode}")
    if not (1 <= len(pad) // 2 <= 3 and input.ndim - len(pad) // 2 in (1, 2)):  # PyTorch's kernels: 1-3 dims, batched or not
        raise errors.UnimplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\nSupported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    padded = [n + pad[2 * (input.ndim - 1 - d)] + pad[2 * (input.ndim - 1 - d) + 1] if input.ndim - 1 - d < len(pad) // 2 else n
              for d, n in enumerate(input.shape)]
    input._session._check_made_here("the output of pad", math.prod(padded), input.dtype)
    out = input
    for k in range(len(pad) // 2):
        before, after = pad[2 * k], pad[2 * k + 1]
        dim = input.ndim - 1 - k
        size = input.shape[dim]
        if mode == "reflect" and (before >= size or after >= size):
            raise errors.InvalidArgumentError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                                              f"but got: padding ({before}, {after}) at dimension {dim} of input {list(input.shape)}")
        if mode == "circular" and (before > size or after > size):
            raise errors.InvalidArgumentError("Padding value causes wrapping around more than once.")
        positions = np.arange(-before, size + after)
        if mode == "reflect":
            period = 2 * (size - 1) if size > 1 else 1
            positions = np.abs(positions) % period
            positions = np.where(positions >= size, period - positions, positions)
        elif mode == "replicate":
            positions = np.clip(positions, 0, size - 1)
        else:
            positions = positions % size
        out = out[(slice(None),) * dim + (positions,)]
    return out


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``input`` clamped to [min_val, max_val]; its gradient 1 strictly inside, 0 at the bounds and beyond, as
    PyTorch's (a clamp's is 1 at the bounds too). An integer input keeps its dtype: the bounds are cast to it."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    dtype = getattr(input, "_dtype", None)
    if dtype == np.bool_:
        raise errors.InvalidArgumentError("Bool inputs not supported for hardtanh")
    if dtype is not None and dtype.kind in "iu":
        if dtype.kind == "u" and (int(min_val) < 0 or int(max_val) < 0):
            raise errors.InvalidArgumentError("cannot do hardtanh on an unsigned type with negative limits")
        min_val, max_val = _integer_bound(min_val, dtype), _integer_bound(max_val, dtype)
    return _written(input, lambda x: _op("where", ((x > min_val) & (x < max_val), x, x.clamp(min_val, max_val).detach())), inplace)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim``."""
    return softmax(-input, dim, dtype=dtype)


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * (x where x > 0, else alpha * (exp(x) - 1)), PyTorch's constants."""
    return _written(input, lambda x: elu(x, _SELU_ALPHA) * _SELU_SCALE, inplace)


def celu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x / alpha) - 1)."""
    return _written(input, lambda x: _op("where", (x > 0, x, ((x / alpha).exp() - 1.0) * alpha)), inplace)


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    return _op("where", (input.abs() > lambd, input, input * 0.0))


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    return _op("where", (input > lambd, input - lambd, _op("where", (input < -lambd, input + lambd, input * 0.0))))


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) to (*, C, H r, W r), as ``torch.nn.functional.pixel_shuffle``: a reshape and a permute."""
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise errors.InvalidArgumentError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, "
                                          f"but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    out = input.reshape(*lead, c // (r * r), r, r, h, w).permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return out.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) to (*, C r^2, H, W), the inverse of ``pixel_shuffle``."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise errors.InvalidArgumentError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, got {h} and {w} for {r}")
    n = len(lead)
    out = input.reshape(*lead, c, h // r, r, w // r, r).permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return out.reshape(*lead, c * r * r, h // r, w // r)


def bilinear(input1, input2, weight, bias=None):
    """x1^T A x2 (+ b) for each output feature, as ``torch.nn.functional.bilinear``: one einsum."""
    from ..tensor import einsum

    named = (("input1", input1), ("input2", input2), ("weight", weight)) + ((("bias", bias),) if bias is not None else ())
    if _dtypes_differ(*(t for _, t in named)):
        raise errors.InvalidArgumentError("All tensors must have the same dtype, got " + ", ".join(f"{name}: {_CPP_TYPE_NAMES[t._dtype]}" for name, t in named))
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


# --- more of PyTorch's functional API: RMS norm, channel dropouts, LP pooling, unpooling, LRN, RReLU, ... ------


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``input`` over the root mean square of its last ``len(normalized_shape)`` dims (plus ``eps``, by default the
    dtype's machine epsilon), times ``weight``, as ``torch.nn.functional.rms_norm``."""
    if isinstance(normalized_shape, (int, np.integer)):
        raise TypeError(f"rms_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not {type(normalized_shape).__name__}")
    shape = tuple(int(n) for n in normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise errors.InvalidArgumentError(f"Given normalized_shape={list(shape)}, expected input with shape [*{', '.join(map(str, shape))}], "
                                          f"but got input of size{list(input.shape)}")
    if eps is None:
        eps = typeinfo.finfo(input.dtype).eps  # (torch.finfo's: bfloat16 included)
    dims = tuple(range(-k, 0))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _channel_dropout(input, p, inplace, alpha=False):
    """PyTorch's feature dropout: one draw per (sample, channel) of an (N, C, *) input, kept with probability 1 - p;
    kept channels scaled by 1 / (1 - p), or, ``alpha``: alpha dropout's affine map with the dropped ones at SELU's
    saturation value."""
    if input.ndim < 2:
        raise errors.InvalidArgumentError("Feature dropout requires at least 2 dimensions in the input")
    if p == 1.0:
        return _written(input, lambda x: x * 0.0, inplace)
    keep = (input._session.rand(input.shape[:2] + (1,) * (input.ndim - 2), dtype=input.dtype) >= p).to(input.dtype)
    if not alpha:
        return _written(input, lambda x: x * (keep * (1.0 / (1.0 - p))), inplace)
    selu_alpha = 1.7580993408473766
    a = 1.0 / math.sqrt((selu_alpha * selu_alpha * p + 1) * (1 - p))
    shift = (keep - 1.0) * (selu_alpha * a) + selu_alpha * a * p
    return _written(input, lambda x: x * (keep * a) + shift, inplace)


def _unbatched_channels(input, name, ranks, spatial):
    if input.ndim not in ranks:
        raise errors.InvalidArgumentError(
            f"{name}: Expected {ranks[0]}D or {ranks[1]}D input, but received a {input.ndim}D input. Note that {name} exists to provide channel-wise "
            f"dropout on inputs with {spatial} spatial dimension{'s' if spatial > 1 else ''}, a channel dimension, and an optional batch dimension "
            f"(i.e. {ranks[0]}D or {ranks[1]}D inputs).")
    return input.ndim == ranks[0]


def _channel_dropout_nd(input, p, training, inplace, name, ranks, spatial):
    """dropout1d/dropout3d: a batched input's channels dropped, an unbatched one's as a batch of one."""
    _check_p(p)
    unbatched = _unbatched_channels(input, name, ranks, spatial)
    if not training or p == 0.0:
        return input
    if unbatched:
        return _written(input, lambda x: _channel_dropout(x.unsqueeze(0), p, False).squeeze(0), inplace)
    return _channel_dropout(input, p, inplace)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, L) or (C, L) input with probability ``p`` (the rest scaled by 1 / (1 - p)), as
    ``torch.nn.functional.dropout1d``; the mask from the session's seeded generator."""
    return _channel_dropout_nd(input, p, training, inplace, "dropout1d", (2, 3), 1)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, D, H, W) or (C, D, H, W) input with probability ``p``, as
    ``torch.nn.functional.dropout3d``; the mask from the session's seeded generator."""
    return _channel_dropout_nd(input, p, training, inplace, "dropout3d", (4, 5), 3)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (dim 1) of an (N, C, *) input, as ``torch.nn.functional.feature_alpha_dropout``:
    a dropped channel becomes SELU's saturation value, then the affine map that keeps zero mean and unit variance."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _channel_dropout(input, p, inplace, alpha=True)


def _lp_pool(input, norm_type, kernel, pooled):
    """PyTorch's LP pooling: the average of x^p over each window, times the window's size, to the power 1 / p
    (sign(s) * relu(|s|) keeps the gradient of a zero sum zero)."""
    out = pooled(input.pow(norm_type))
    return (out.sign() * out.abs().relu() * float(math.prod(kernel))).pow(1.0 / norm_type)


def _check_windows(input, kernel, stride, ceil_mode):
    """PyTorch's refusal of windows larger than the input (without ceil_mode), in its words for each rank."""
    stride = kernel if stride is None else ((int(_scalar(stride)),) if len(kernel) == 1 else (_pair if len(kernel) == 2 else _triple)(stride))
    sizes = tuple(input.shape[input.ndim - len(kernel):])
    if ceil_mode or all(n >= k for n, k in zip(sizes, kernel)):
        return
    if len(kernel) == 3:
        raise errors.InvalidArgumentError("input image (T: {} H: {} W: {}) smaller than kernel size (kT: {} kH: {} kW: {})".format(*sizes, *kernel))
    planes = input.shape[input.ndim - len(kernel) - 1] if input.ndim > len(kernel) else 1
    given, out = ((1,) + sizes, (1,) + tuple((n - k) // s + 1 for n, k, s in zip(sizes, kernel, stride))) if len(kernel) == 1 else (
        sizes, tuple((n - k) // s + 1 for n, k, s in zip(sizes, kernel, stride)))
    raise errors.InvalidArgumentError(f"Given input size: ({'x'.join(map(str, (planes,) + given))}). Calculated output size: "
                                      f"({'x'.join(map(str, (planes,) + out))}). Output size is too small")


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The ``norm_type``-norm of each window along L, as ``torch.nn.functional.lp_pool1d``."""
    k = _scalar(kernel_size)
    _check_windows(input, (k,), stride, ceil_mode)
    return _lp_pool(input, norm_type, (k,), lambda x: avg_pool1d(x, k, stride if stride is not None else k, 0, ceil_mode))


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The ``norm_type``-norm of each (kH, kW) window, as ``torch.nn.functional.lp_pool2d``."""
    k = _pair(kernel_size)
    _check_windows(input, k, stride, ceil_mode)
    return _lp_pool(input, norm_type, k, lambda x: avg_pool2d(x, k, stride if stride is not None else k, 0, ceil_mode))


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """The ``norm_type``-norm of each (kD, kH, kW) window, as ``torch.nn.functional.lp_pool3d``."""
    k = _triple(kernel_size)
    _check_windows(input, k, stride, ceil_mode)
    return _lp_pool(input, norm_type, k, lambda x: avg_pool3d(x, k, stride if stride is not None else k, 0, ceil_mode))


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True):
    """``max_pool1d`` and the index along L of every maximum."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True):
    """``max_pool2d`` and the flat index into each H*W plane of every maximum."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True):
    """``max_pool3d`` and the flat index into each D*H*W volume of every maximum."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
    """Max pooling over ``kernel_size`` windows at pseudo-random strides (Graham's fractional max-pooling), as
    ``torch.nn.functional.fractional_max_pool2d``: ``output_size`` windows along H and W (or ``output_ratio`` of the
    input's sizes), each plane's starts drawn from its two ``_random_samples`` in [0, 1) (W's, then H's; from the
    session's generator when None), by PyTorch's formula; ``return_indices``: the flat index into each H*W plane."""
    return _fractional_max_pool(2, input, kernel_size, output_size, output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
    """``fractional_max_pool2d`` over (T, H, W), as ``torch.nn.functional.fractional_max_pool3d`` (three samples a
    plane: T's, H's, W's)."""
    return _fractional_max_pool(3, input, kernel_size, output_size, output_ratio, return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
    return _fractional_max_pool(2, input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
    return _fractional_max_pool(3, input, kernel_size, output_size, output_ratio, True, _random_samples)


def _fractional_max_pool(dims, input, kernel_size, output_size, output_ratio, return_indices, samples):
    """Each window's elements gathered by their flat index into the plane, and the first maximum of each taken: the
    gradient reaches the maxima through ``gather``'s, summed where windows overlap, as PyTorch's."""
    name = f"fractional_max_pool{dims}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratio = (output_ratio,) * dims if isinstance(output_ratio, (int, float)) else tuple(output_ratio)
        if len(ratio) > dims:
            raise ValueError(f"{name} requires output_ratio to either be a single Int or tuple of Ints.")
        output_size = [int(size * r) for size, r in zip(input.shape[-dims:], ratio * dims if len(ratio) == 1 else ratio)]
    for what, value in (("kernel_size", kernel_size), ("output_size", output_size)):
        if not isinstance(value, (int, np.integer)) and len(value) != dims:
            raise errors.InvalidArgumentError(f"{name}: {what} must either be a single Int or tuple of Ints")
    caller = f"{name}{'_out' if dims == 3 else ''}()"
    if input.ndim not in (dims + 1, dims + 2):
        raise errors.InvalidArgumentError(f"{caller}: Expected {dims + 1}D or {dims + 2}D tensor, but got: {list(input.shape)}")
    sizes = _pair if dims == 2 else _triple
    kernel, out = sizes(kernel_size), sizes(output_size)
    planes = input if input.ndim == dims + 2 else input.unsqueeze(0)
    n, c, spatial = planes.shape[0], planes.shape[1], tuple(planes.shape[2:])
    for axis, k, o, size in zip(("time", "height", "width")[-dims:], kernel, out, spatial):
        if o + k - 1 > size:
            raise errors.InvalidArgumentError(f"{caller}: pool {axis} {k} too large relative to input {axis} {size}")
    if not is_floating(input.dtype):
        raise errors.UnimplementedError(f'"{name}_out_frame" not implemented for \'{_TENSOR_TYPE_NAMES[input.dtype]}\'')
    session = input._session
    samples = session.rand(n, c, dims, dtype=input.dtype) if samples is None else _checked_samples(samples, input, n, c, dims)
    # the sample each spatial dim draws on (PyTorch's order: a 2-D plane's W first, then H; a volume's T, H, W)
    draws = (1, 0) if dims == 2 else (0, 1, 2)
    flat, stride = None, 1
    for axis in reversed(range(dims)):
        k, o, size = kernel[axis], out[axis], spatial[axis]
        starts = session.full((n, c, 1), size - k, dtype="int64")  # the last window ends at the input's end
        if o > 1:  # the others: int((i + u) * alpha) - int(u * alpha), in the input's precision, as PyTorch's
            alpha = float(np.asarray(size - k, input.dtype) / np.asarray(o - 1, input.dtype))
            u = samples[:n, :, draws[axis]].unsqueeze(-1)
            steps = ((session.arange(o - 1, dtype=input.dtype) + u) * alpha).trunc() - (u * alpha).trunc()
            starts = cat((steps.long(), starts), -1)
        window = starts.unsqueeze(-1) + session.arange(k)  # (N, C, o, k): this dim's index of every window element
        shape = [n, c] + [1] * (2 * dims)
        shape[2 + axis], shape[2 + dims + axis] = o, k
        term = window.reshape(shape) * stride
        flat = term if flat is None else flat + term
        stride *= size
    flat = flat.expand(n, c, *out, *kernel).reshape(n, c, math.prod(out), math.prod(kernel))  # (N, C, windows, elements)
    values = planes.reshape(n, c, math.prod(spatial)).gather(2, flat.reshape(n, c, flat.shape[2] * flat.shape[3])).reshape(flat.shape)
    best, which = values.max(-1)
    result, indices = best.reshape(n, c, *out), flat.gather(-1, which.unsqueeze(-1)).reshape(n, c, *out)
    if planes is not input:
        result, indices = result.squeeze(0), indices.squeeze(0)
    return (result, indices) if return_indices else result


def _checked_samples(samples, input, n, c, dims):
    """``_random_samples`` as PyTorch checks them, in its words."""
    if samples.dtype != input.dtype:
        raise errors.InvalidArgumentError("Expect _random_samples to have the same dtype as input")
    if samples.ndim != 3:
        raise errors.InvalidArgumentError(f"Expect _random_samples to have 3 dimensions, got {samples.ndim}")
    if samples.shape[2] != dims:
        raise errors.InvalidArgumentError(f"Expect _random_samples.size(2) equals to {dims}; got {samples.shape[2]}.")
    if samples.shape[1] != c:
        raise errors.InvalidArgumentError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.shape[0] < n:
        raise errors.InvalidArgumentError("Expect _random_samples.size(0) no less then input batch size.")
    return samples


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """The maxima of ``output_size`` windows covering D, H and W, as ``torch.nn.functional.adaptive_max_pool3d``
    (``None`` keeps that dim's size): ``max_pool3d`` where the windows tile the input, else ``adaptive_max_pool2d``
    over (H, W), then over depth (the maximum is separable, and each pass keeps its first maximum)."""
    x, unbatched = _volume(input, f"adaptive_max_pool3d(): Expected 4D or 5D tensor, but got: {list(input.shape)}")
    _refuse_empty_plane("adaptive_max_pool3d", input, 1)
    n, c, d, h, w = x.shape
    od, oh, ow = _adaptive_3d_size(x, output_size, "adaptive_max_pool3d: internal error: output_size.size() must be 3")
    if d % od == 0 and h % oh == 0 and w % ow == 0:
        out = max_pool3d(x, (d // od, h // oh, w // ow), return_indices=return_indices)
    elif not return_indices:
        planes = adaptive_max_pool2d(x.reshape(n, c * d, h, w), (oh, ow))
        out = adaptive_max_pool2d(planes.reshape(n, c, d, oh * ow), (od, oh * ow)).reshape(n, c, od, oh, ow)
    else:  # as max_pool3d's: depth's index k = d*oh*ow + p names the plane whose maximum won; its index h*W + w that plane's
        planes, where = adaptive_max_pool2d(x.reshape(n, c * d, h, w), (oh, ow), True)
        values, depth = adaptive_max_pool2d(planes.reshape(n, c, d, oh * ow), (od, oh * ow), True)
        depth = depth.reshape(n, c, od * oh * ow)
        where = (depth // (oh * ow)) * (h * w) + where.reshape(n, c, d * oh * ow).gather(2, depth)
        out = (values.reshape(n, c, od, oh, ow), where.reshape(n, c, od, oh, ow))
    if unbatched:
        return tuple(t.squeeze(0) for t in out) if return_indices else out.squeeze(0)
    return out


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, True)


def _max_unpool(name, input, indices, kernel_size, stride, padding, output_size, dims):
    """Each value of ``input`` put at its flat ``indices`` into a zero output's trailing ``dims`` dims (``max_pool*``'s
    with ``return_indices``, inverted): one scatter (its gradient a gather)."""
    sizes = (lambda v: (int(_scalar(v)),)) if dims == 1 else (_pair if dims == 2 else _triple)
    kernel = sizes(kernel_size)
    stride = sizes(stride) if stride is not None and stride != () else kernel
    padding = sizes(padding)
    spatial = tuple(input.shape[input.ndim - dims:])
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(spatial, stride, padding, kernel))
    if output_size is None:
        out_size = default
    else:  # PyTorch's checks, its words, the size printed as given
        if len(output_size) == dims + 2:
            output_size = output_size[2:]
        if len(output_size) != dims:
            raise ValueError(f"output_size should be a sequence containing {dims} or {dims + 2} elements, but it has a length of '{len(output_size)}'")
        for d, (n, size, s) in enumerate(zip(output_size, default, stride)):
            if not size - s < n < size + s:
                raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {size - s} and {size + s})')
        out_size = tuple(int(n) for n in output_size)
    if tuple(indices.shape) != tuple(input.shape):
        raise errors.InvalidArgumentError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) but got indices "
                                          f"tensor with shape: {list(indices.shape)}")
    lead = tuple(input.shape[: input.ndim - dims])
    plane = math.prod(out_size)
    flat_index = indices.reshape(lead + (-1,))
    if flat_index.numel():  # checked as PyTorch checks them: one read of the extremes (a sync point)
        top, bottom = stack([flat_index.max(), flat_index.min()]).tolist()
        if top >= plane or bottom < 0:
            bad = top if top >= plane else bottom
            raise errors.InvalidArgumentError(f"Found an invalid max index: {bad} (output volumes are of size {'x'.join(map(str, out_size))})")
    zeros = input._session.zeros(lead + (plane,), dtype=input.dtype)
    return zeros.scatter(len(lead), flat_index, input.reshape(lead + (-1,))).reshape(lead + out_size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool1d``: each value at its index along L, zeros elsewhere, as ``torch.nn.functional.max_unpool1d``."""
    return _max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool2d``: each value at its flat index into H*W, zeros elsewhere."""
    return _max_unpool("max_unpool2d", input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool3d``: each value at its flat index into D*H*W, zeros elsewhere."""
    return _max_unpool("max_unpool3d", input, indices, kernel_size, stride, padding, output_size, 3)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Each element over (k + alpha * the mean of the squares of ``size`` neighbouring channels)^beta, as
    ``torch.nn.functional.local_response_norm`` (the window runs from size // 2 channels before to (size - 1) // 2 after)."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    n, c = input.shape[:2]
    squares = (input * input).reshape(n, 1, c, -1)
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(squares, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k).pow(beta)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU, as ``torch.nn.functional.rrelu``: in training each non-positive element is scaled by a
    slope drawn uniformly from [lower, upper] (the session's seeded generator); otherwise by (lower + upper) / 2."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slopes = input._session.rand(input.shape, dtype=input.dtype) * (upper - lower) + lower
    return _written(input, lambda x: _op("where", (x <= 0, x * slopes, x)), inplace)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """``rrelu`` written into ``input``."""
    return rrelu(input, lower, upper, training, True)


def relu_(input):
    return relu(input, True)


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, True)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, True)


def selu_(input):
    return selu(input, True)


def conv_tbc(input, weight, bias, pad=0):
    """``torch.conv_tbc``: a 1-D convolution of a (time, batch, channels) input with a (kernel, in, out) weight, ``pad``
    steps of zeros at each end of time, as ``conv1d`` of the transposed input and weight."""
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """``torch.convolution``: the convolution (``transposed``: its transpose) of input's rank, all arguments given."""
    dims = input.ndim - 2
    if dims not in (1, 2, 3):
        raise errors.InvalidArgumentError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: {list(input.shape)}")
    if transposed:
        return _CONV_TRANSPOSES[dims](input, weight, bias, stride, padding, output_padding, groups, dilation)
    return _CONVS[dims](input, weight, bias, stride, padding, dilation, groups)


def norm_except_dim(v, pow=2, dim=0):
    """``torch.norm_except_dim``: the ``pow``-norm over every dim but ``dim``, kept as size-1 dims (weight norm's);
    ``dim=-1``: the norm of everything, a 0-d tensor."""
    if dim == -1:
        return v.norm(pow)
    return v.norm(pow, tuple(d for d in range(v.ndim) if d != _wrap_dim(dim, v.ndim)), keepdim=True)


_GRID_MODES = ("bilinear", "nearest", "bicubic")
_GRID_PADDINGS = ("zeros", "border", "reflection")


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    """``torch.grid_sampler``: ``grid_sample`` with the modes as PyTorch's enum values (0 bilinear, 1 nearest, 2 bicubic;
    0 zeros, 1 border, 2 reflection)."""
    return grid_sample(input, grid, _GRID_MODES[interpolation_mode], _GRID_PADDINGS[padding_mode], align_corners)


def channel_shuffle(input, groups):
    """(N, C, *) with C split into ``groups`` groups, the channels interleaved (group-major to member-major), as
    ``torch.nn.functional.channel_shuffle``: a reshape, a transpose and a reshape."""
    if input.ndim <= 2:
        raise errors.InvalidArgumentError(f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(input.shape)}")
    groups = int(groups)
    if groups <= 0:
        raise errors.InvalidArgumentError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise errors.InvalidArgumentError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(input.shape)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """``interpolate``, under its old name (PyTorch warns that it is deprecated)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """``interpolate`` in ``"nearest"`` mode (PyTorch warns that it is deprecated)."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """``interpolate`` in ``"bilinear"`` mode with ``align_corners=True`` (PyTorch warns that it is deprecated)."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


@_legacy_reduction
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """The multi-class multi-label hinge loss, as ``torch.nn.functional.multilabel_margin_loss``: ``target`` holds each
    sample's class indices, ended by the first -1; every (target class j, other class i) pair adds
    max(0, 1 - (x[j] - x[i])), the sum over C."""
    _check_reduction(reduction)
    target = _as_target(target, input)
    if input.ndim > 2:
        raise errors.InvalidArgumentError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: {list(input.shape)}")
    if tuple(target.shape) != tuple(input.shape):
        raise errors.InvalidArgumentError(f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}")
    batched = input.ndim == 2
    x = input if batched else input.reshape(1, -1)
    y = target.reshape(x.shape).to("int64")
    c = x.shape[1]
    valid = (y >= 0).to("int64").cumprod(1).to(x.dtype)  # the indices before the first -1
    index = y.clamp_min(0)
    is_target = x._session.zeros(x.shape, dtype=x.dtype).scatter_add(1, index, valid) > 0
    chosen = x.gather(1, index)  # (N, T)
    margins = (1.0 - chosen.unsqueeze(2) + x.unsqueeze(1)).relu()  # (N, T, C)
    others = (~is_target).to(x.dtype).unsqueeze(1)
    losses = (margins * valid.unsqueeze(2) * others).sum((1, 2)) / c
    if not batched:
        losses = losses.squeeze(0)
    return _reduced(losses, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
    """max(0, d(anchor, positive) - d(anchor, negative) + margin) with any ``distance_function`` (by default
    ``pairwise_distance``), as ``torch.nn.functional.triplet_margin_with_distance_loss``; ``swap``: the smaller of
    d(anchor, negative) and d(positive, negative)."""
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_reduction(reduction)
    a, p, n = anchor.ndim, positive.ndim, negative.ndim
    if not a == p == n:
        raise errors.InvalidArgumentError(f"The anchor, positive, and negative tensors are expected to have the same number of dimensions, but "
                                          f"got: anchor {a}D, positive {p}D, and negative {n}D inputs")
    distance = distance_function if distance_function is not None else pairwise_distance
    positive_distance, negative_distance = distance(anchor, positive), distance(anchor, negative)
    if swap:
        from ..tensor import minimum  # noqa: PLC0415

        negative_distance = minimum(negative_distance, distance(positive, negative))
    return _reduced((positive_distance - negative_distance + margin).clamp_min(0.0), reduction)


def pdist(input, p=2):
    """The ``p``-norm distance between every pair of rows i < j of an (N, M) input, in row-major order of the pairs,
    as ``torch.nn.functional.pdist``."""
    if input.ndim != 2:
        raise errors.InvalidArgumentError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise errors.InvalidArgumentError("pdist only supports non-negative p values")
    n = input.shape[0]
    first, second = np.triu_indices(n, 1)
    if first.size == 0:
        return input.reshape(-1)[:0]
    return (input[first] - input[second]).norm(p, 1)


# --- torch.conv2d, torch.dropout, ...: the functional ops PyTorch also exports at its top level, with the
# signatures they have there (all-positional norms and dropouts, reductions as ints, torch.embedding's order) --

_REDUCTION_ENUM = {0: "none", 1: "mean", 2: "sum"}
# the losses' reduction is an int there (0 none, 1 mean, 2 sum); where it is left out, torch's binding reads 0 (no
# reduction), whatever its schema says: torch.margin_ranking_loss(a, b, y) is unreduced, and so is gradwire's


def _enum_reduction(reduction):
    if reduction not in _REDUCTION_ENUM:
        raise errors.InvalidValueError(f"{reduction} is not a valid value for reduction")
    return _REDUCTION_ENUM[reduction]


def _feature_dropout(input, p, train, inplace=False):
    _check_p(p)
    return _channel_dropout(input, p, inplace) if train and p > 0 else input


# --- torch.native_batch_norm, torch.embedding_bag, torch.segment_reduce, ...: ATen's functions that PyTorch exports at
# its top level, with the extra outputs its kernels return beside the result (saved statistics, masks, bag bookkeeping) --


def _saved_statistics(input, dims, eps, keepdim=False):
    """The mean and 1 / sqrt(biased variance + eps) of ``input`` over ``dims``: the statistics a norm's kernel saves."""
    return input.mean(dims, keepdim=keepdim), (input.var(dims, correction=0, keepdim=keepdim) + eps).rsqrt()


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """``torch.native_batch_norm``: ``batch_norm``'s output (``training``: by the batch's statistics, ``running_mean``
    and ``running_var`` updated in place), with the per-channel (dim 1) mean and 1 / sqrt(biased variance + eps) of the
    batch its kernel saves for the backward: not differentiable, as torch's; empty in evaluation, as torch's. A batch of
    one value per channel is taken, as torch's kernel takes it (``F.batch_norm`` refuses it)."""
    if (running_mean is None) != (running_var is None):
        raise errors.InvalidArgumentError("batch_norm: running_mean and running_var must be given together")
    if not training and running_mean is None:  # (torch's kernel crashes there)
        raise errors.InvalidArgumentError("running_mean must be defined in evaluation mode")
    if input.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(input.ndim, 1)}, {max(input.ndim, 1) - 1}], but got 1)")
    dims = (0,) + tuple(range(2, input.ndim))
    if training and math.prod(input.shape[d] for d in dims) == 1:  # (the op refuses it): 0 * rstd, the running variance NaN
        mean, invstd = _saved_statistics(input, dims, eps, keepdim=True)
        if running_mean is not None:
            with _no_grad():
                running_mean.mul_(1.0 - momentum).add_(mean.reshape(-1) * momentum)
                running_var.mul_(1.0 - momentum).add_(input.var(dims) * momentum)  # an unbiased variance of one value: NaN
        out = _per_channel_affine((input - mean) * invstd, weight, bias)
        return out, mean.detach().reshape(-1), invstd.detach().reshape(-1)
    out = _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        return out, input._session.zeros(0, dtype=input.dtype), input._session.zeros(0, dtype=input.dtype)
    with _no_grad():
        mean, invstd = _saved_statistics(input.detach(), dims, eps)
    return out, mean, invstd


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """``torch.native_layer_norm``: ``layer_norm``'s output, with the mean and 1 / sqrt(biased variance + eps) over the
    last ``len(normalized_shape)`` dims, those dims kept as size 1 (torch's shape), not differentiable, as torch's."""
    if isinstance(normalized_shape, (int, np.integer)):
        raise TypeError(f"native_layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not {type(normalized_shape).__name__}")
    normalized_shape = tuple(int(size) for size in normalized_shape)
    if not normalized_shape:
        raise errors.InvalidArgumentError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, "
                                          "but got normalized_shape = []")
    out = layer_norm(input, normalized_shape, weight, bias, eps)
    with _no_grad():
        mean, rstd = _saved_statistics(input.detach(), tuple(range(input.ndim - len(normalized_shape), input.ndim)), eps, keepdim=True)
    return out, mean, rstd


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """``torch.native_group_norm``: ``group_norm`` of the input read as (N, C, HxW), in the input's shape, with the mean
    and 1 / sqrt(biased variance + eps) of each sample's ``group`` groups, of shape (N, group); all three
    differentiable, as torch's. Torch's checks and words."""
    group = int(group)
    if group <= 0:
        raise errors.InvalidArgumentError(f"Expected num groups to be greater than 0, got {group}")
    if C % group:
        raise errors.InvalidArgumentError(f"Expected number of channels in input to be divisible by num_groups, but got input of shape "
                                          f"{list(input.shape)} and num_groups={group}")
    for name, affine in (("weight", weight), ("bias", bias)):
        if affine is not None and (affine.ndim != 1 or affine.shape[0] != C):
            raise errors.InvalidArgumentError(f"Expected {name} to be a vector of size equal to the number of channels in input, but got "
                                              f"{name} of shape {list(affine.shape)} and input of shape {list(input.shape)}")
    if input.numel() != N * C * HxW:
        raise errors.InvalidArgumentError("Expected X.numel() == N * C * HxW to be true, but got false.")
    x = input.reshape(N, C, HxW)
    mean, rstd = _saved_statistics(x.reshape(N, group, -1), -1, eps)
    return group_norm(x, group, weight, bias, eps).reshape(input.shape), mean, rstd


def native_dropout(input, p, train):
    """``torch.native_dropout``: (output, mask), the mask bool and True where an element is kept (probability 1 - p),
    the output input * mask / (1 - p) (zeros where p is 1), differentiable as that product; ``train`` None trains, as
    torch's; ``train`` False: a copy of the input and a mask of ones. The mask is drawn from the session's generator."""
    if train is not None and not train:
        return input.clone(), input._session.ones(input.shape, dtype="bool")
    if not 0.0 <= p <= 1.0:
        raise errors.InvalidArgumentError(f"bernoulli_ expects p to be in [0, 1], but got p={1 - p:g}")  # torch's draws keep 1 - p
    samples = input._session.rand(input.shape, dtype="float64" if input.dtype == np.float64 else "float32")
    keep = samples >= p  # probability 1 - p, as torch's bernoulli_(1 - p)
    return input * (keep.to(input.dtype) * (0.0 if p == 1.0 else 1.0 / (1.0 - p))), keep


def native_norm(input, p=2, dim=None, keepdim=False, dtype=None):
    """``torch.native_norm``: the ``p``-norm of all of the input, as torch's kernel (sparse tensors only there) computes it
    on ``input.to_sparse()``: zeros are not stored, so are left out (where that matters: p < 0, and -inf, the smallest
    nonzero magnitude). Its (p, dim, keepdim, dtype) form, torch's too, takes only a full reduction (``dim`` empty or
    every dim), keepdim False and dtype None, with torch's words otherwise. Torch has no derivative for it; gradwire
    gives the norm's. Where every element is zero and p is +-inf or negative (torch refuses: nothing is stored), gradwire
    gives the empty reduction's limit (0 for inf, inf otherwise) rather than a sync point to check."""
    if not (is_floating(input.dtype) or input.dtype.kind == "c"):
        raise errors.InvalidArgumentError(f"norm(): input dtype should be either floating point or complex. Got "
                                          f"{_TENSOR_TYPE_NAMES.get(input.dtype, input.dtype.name)} instead.")
    if isinstance(p, complex):
        raise errors.InvalidArgumentError("linalg.vector_norm: Expected a non-complex scalar as the order of norm.")
    if dim is not None:
        dims = {_wrap_dim(d, input.ndim) for d in ((dim,) if isinstance(dim, (int, np.integer)) else dim)}
        if dims and dims != set(range(max(input.ndim, 1))):
            raise errors.InvalidArgumentError("norm_sparse currently only supports full reductions, so 'dim' must either be empty or contain "
                                              "all dimensions of the input")
    if keepdim:
        raise errors.InvalidArgumentError("norm_sparse currently does not support keepdim=True")
    if dtype is not None:
        raise errors.InvalidArgumentError("norm_sparse currently does not support 'dtype' argument")
    p = 2 if p is None else float(p)
    if p == -math.inf:  # an infinity stands in for each zero: no smallest magnitude
        return where(input != 0, input, math.inf).norm(p)
    if 0 < p < 1 or p < 0:  # the sum of the nonzero magnitudes' powers (and no NaN in the gradient from the zeros)
        stored = input != 0
        powers = where(stored, where(stored, input, 1.0).abs() ** p, 0.0)
        return powers.sum() ** (1.0 / p)
    return input.norm(p)


_EMBEDDING_BAG_MODES = ("sum", "mean", "max")  # torch.embedding_bag's mode: 0, 1, 2


def _aten_embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False, per_sample_weights=None,
                       include_last_offset=False, padding_idx=None):
    """``torch.embedding_bag``: (output, offset2bag, bag_size, max_indices). The output is ``F.embedding_bag``'s (mode 0
    sum, 1 mean, 2 max; 1-D ``indices`` split into bags at ``offsets``; ``padding_idx`` None: none, a negative one counts
    from the end). The three index tensors, in the promoted dtype of indices and offsets, are the bookkeeping torch's
    CPU kernel keeps for its backward; torch does not document them, and these are that kernel's values (its CUDA
    kernel's differ): offset2bag, each index's bag (empty where the kernel's fast path skips it: mode sum of a float32,
    float16 or bfloat16 weight without padding_idx); bag_size, each bag's count of indices other than padding_idx
    (modes mean and max; in mode sum zeros, one per offset unless ``weight`` requires grad); max_indices, in mode max
    the row of ``weight`` each (bag, feature) maximum came from (the first in its bag on ties, 0 for an empty bag),
    else bag_size again. Composed of ops on the server, with no sync point (so offsets are not checked against the
    indices: offsets[0] is taken to be 0)."""
    num_embeddings = weight.shape[0]
    if padding_idx is not None:
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise errors.InvalidArgumentError(f"padding_idx must be within the number of embeddings, -{num_embeddings} through "
                                              f"{num_embeddings - 1}, but got {padding_idx}")
        padding_idx %= num_embeddings
    if not isinstance(indices, Tensor) or not isinstance(offsets, Tensor):
        raise TypeError(f"embedding_bag(): argument '{'indices' if not isinstance(indices, Tensor) else 'offsets'}' must be Tensor, "
                        f"not {type(indices if not isinstance(indices, Tensor) else offsets).__name__}")
    if indices.ndim != 1:  # (torch's kernel reads a 2-D one's rows as its elements; F.embedding_bag takes 2-D bags)
        raise errors.InvalidArgumentError(f"embedding_bag: indices has to be a 1D Tensor, its bags set by offsets, but got Tensor of "
                                          f"dimension {indices.ndim}")
    if offsets.ndim != 1:
        raise errors.InvalidArgumentError(f"offsets has to be a 1D Tensor, but got Tensor of dimension {offsets.ndim}")
    index_dtype = promote(indices.dtype, offsets.dtype)  # torch's kernel promotes them, then checks
    if index_dtype not in (np.int64, np.int32):
        raise errors.InvalidArgumentError("Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but "
                                          f"got torch.{_TENSOR_TYPE_NAMES.get(index_dtype, index_dtype.name)}Tensor instead (while checking "
                                          "arguments for embedding_bag)")
    if mode not in (0, 1, 2):
        raise errors.InvalidArgumentError("`mode` must be sum, mean, or max.")
    if weight.ndim != 2:
        raise errors.InvalidArgumentError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if per_sample_weights is not None and mode != 0:
        raise errors.InvalidArgumentError("embedding_bag: per_sample_weights only supported with mode='sum'")
    if include_last_offset and offsets.shape[0] < 1:
        raise errors.InvalidArgumentError("include_last_offset: number of offset should be at least 1")
    if mode != 2:
        out = embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq, mode=_EMBEDDING_BAG_MODES[mode], sparse=sparse,
                            per_sample_weights=per_sample_weights, include_last_offset=include_last_offset, padding_idx=padding_idx)
    elif sparse:  # (scale_grad_by_freq: torch's max backward leaves it aside, and so does this one)
        raise errors.UnimplementedError("embedding_bag: sparse=True: gradwire has no sparse gradients; use sparse=False")
    session, n = weight._session, indices.shape[0]
    bags = offsets.shape[0] - (1 if include_last_offset else 0)
    with _no_grad():
        starts = offsets[:bags].to(index_dtype)
        position = session.arange(n, dtype=index_dtype)
        offset2bag = (starts.unsqueeze(0) <= position.unsqueeze(1)).sum(1).to(index_dtype) - 1  # torch's cumsum of the starts
        fast_path = mode == 0 and weight.dtype in (np.float32, np.float16) + ((bfloat16,) if bfloat16 is not None else ()) and padding_idx is None
        if mode == 0:
            bag_size = session.zeros(bags if weight.requires_grad else offsets.shape[0], dtype=index_dtype)
            return out, (offset2bag[:0] if fast_path else offset2bag), bag_size, bag_size.clone()
        member = offset2bag.unsqueeze(0) == session.arange(bags, dtype=index_dtype).unsqueeze(1)  # (bags, n): index j is in bag b
        if padding_idx is not None:
            member = member & (indices != padding_idx).unsqueeze(0)
        bag_size = member.sum(1).to(index_dtype)
        if mode == 1:
            return out, offset2bag, bag_size, bag_size.clone()
        if n == 0:  # every bag empty: zeros, and no maximum to look for
            max_indices = session.zeros(bags, weight.shape[1], dtype=index_dtype)
        else:
            rows = embedding(indices, weight.detach())  # (n, D)
            first = where(member.unsqueeze(-1), rows.unsqueeze(0), float("-inf")).argmax(1)  # (bags, D): the first maximum's position
            filled = member.any(1, keepdim=True)
            rows_picked = indices.to("int64")[first]
            max_indices = where(filled, rows_picked, 0).to(index_dtype)
    if n == 0:
        return weight[:0].sum(0) + session.zeros(bags, weight.shape[1], dtype=weight.dtype), offset2bag, bag_size, max_indices
    # the maxima read at the rows picked: F.embedding_bag's values, the gradient all to that row on ties, as torch's
    out = where(filled, weight[rows_picked, session.arange(weight.shape[1])], 0.0)
    return out, offset2bag, bag_size, max_indices


_SEGMENT_REDUCTIONS = {"sum": "sum", "mean": "mean", "max": "max", "amax": "max", "min": "min", "amin": "min", "prod": "prod"}


def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0, unsafe=False, initial=None):
    """``torch.segment_reduce``: ``reduce`` (sum, mean, max or amax, min or amin, prod) of consecutive segments of ``data``
    along ``axis``, set by ``lengths`` or (taking precedence) ``offsets``, whose leading dims match data's before
    ``axis`` (one set of segments per row there); an empty segment gives ``initial`` if given, else 0, nan, -inf, inf
    or 1, and ``initial`` joins every segment (mean: (initial + sum) / length). Gradients as torch's: sum and mean spread,
    prod's products of the others, max's and min's shared by the elements equal to the result (evenly: torch's kernel
    divides only the positive gradients among ties). Unless ``unsafe``, lengths are checked as torch checks them, one
    round trip to read the answer. Composed of ops on the server: a (segments x length) membership mask."""
    axis = _wrap_dim(axis, data.ndim)
    if indices is not None:
        raise errors.InvalidArgumentError("segment_reduce(): indices based reduction is not supported yet.")
    if lengths is None and offsets is None:
        raise errors.InvalidArgumentError("segment_reduce(): Either lengths or offsets must be defined.")
    if reduce not in _SEGMENT_REDUCTIONS:
        raise errors.InvalidArgumentError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    reduction = _SEGMENT_REDUCTIONS[reduce]
    name, segments = ("offsets", offsets) if offsets is not None else ("lengths", lengths)
    if not isinstance(segments, Tensor):
        raise TypeError(f"segment_reduce(): argument '{name}' must be Tensor, not {type(segments).__name__}")
    if axis != segments.ndim - 1:
        raise errors.InvalidArgumentError(f"segment_reduce(): Expected axis to be the last dimension of {name} but got {axis}.")
    if name == "lengths" and not unsafe:
        negative, unequal = stack([(lengths < 0).any(), (lengths.sum(-1) != data.shape[axis]).any()]).tolist()
        if negative:
            raise errors.InvalidArgumentError("lengths contains negative value!")
        if unequal:
            raise errors.InvalidArgumentError("segment_reduce(): Expected all rows of lengths along axis to sum to data.size(lengths.dim()-1) when !unsafe.")
    if segments.dtype not in (np.int64, np.int32):
        raise errors.UnimplementedError(f'"_segment_reduce_{name}_cpu_kernel1" not implemented for '
                                        f"'{_TENSOR_TYPE_NAMES.get(segments.dtype, segments.dtype.name)}'")
    if not is_floating(data.dtype):
        raise errors.UnimplementedError(f"\"_segment_reduce_cpu\" not implemented for '{_TENSOR_TYPE_NAMES.get(data.dtype, data.dtype.name)}'")
    if tuple(segments.shape[:-1]) != tuple(data.shape[:axis]):
        raise errors.InvalidArgumentError(f"segment_reduce(): {name} of shape {list(segments.shape)} does not fit data of shape "
                                          f"{list(data.shape)}: its leading dims must be data's before axis {axis}")
    if initial is not None:
        initial = float(initial.item() if isinstance(initial, Tensor) else initial)  # in data's (floating) dtype, as torch's
    if name == "offsets":
        starts, ends = segments[..., :-1], segments[..., 1:]
    else:
        ends = lengths.cumsum(-1)
        starts = ends - lengths
    rest = (1,) * (data.ndim - axis - 1)
    position = data._session.arange(data.shape[axis], dtype=ends.dtype)
    member = (position >= starts.unsqueeze(-1)) & (position < ends.unsqueeze(-1))  # (..., segments, length)
    member = member.reshape(tuple(member.shape) + rest)
    values, along = data.unsqueeze(axis), axis + 1  # (..., 1, length, ...)
    if reduction in ("max", "min") and data.shape[axis] == 0:  # nothing to reduce (amax and amin refuse an empty dim)
        out = where(member, values, 0.0).sum(along) + (-math.inf if reduction == "max" else math.inf)
        return out if initial is None else out.clamp_min(initial) if reduction == "max" else out.clamp_max(initial)
    if reduction == "max":
        out = where(member, values, float("-inf")).amax(along)
        return out if initial is None else out.clamp_min(initial)
    if reduction == "min":
        out = where(member, values, float("inf")).amin(along)
        return out if initial is None else out.clamp_max(initial)
    if reduction == "prod":
        out = where(member, values, 1.0).prod(along)
        return out if initial is None else out * initial
    out = where(member, values, 0.0).sum(along)
    if initial is not None:
        out = out + initial
    if reduction == "sum":
        return out
    count = (ends - starts).reshape(tuple(ends.shape) + rest).to(data.dtype)
    return where(count == 0, float("nan") if initial is None else initial, out / count.clamp_min(1))


def _torch_functions():
    def embedding_(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
        return embedding(indices, weight, None if padding_idx == -1 else padding_idx)

    table = {
        "conv1d": conv1d, "conv2d": conv2d, "conv3d": conv3d, "conv_transpose1d": conv_transpose1d, "conv_transpose2d": conv_transpose2d,
        "conv_transpose3d": conv_transpose3d, "bilinear": bilinear, "pixel_shuffle": pixel_shuffle, "pixel_unshuffle": pixel_unshuffle,
        "pairwise_distance": pairwise_distance, "cosine_similarity": cosine_similarity, "pdist": pdist, "channel_shuffle": channel_shuffle,
        "native_channel_shuffle": lambda input, groups: channel_shuffle(input, groups), "conv_tbc": conv_tbc, "convolution": convolution,
        "norm_except_dim": norm_except_dim, "grid_sampler": grid_sampler,
        "grid_sampler_2d": lambda input, grid, interpolation_mode, padding_mode, align_corners: grid_sampler(
            input, grid, interpolation_mode, padding_mode, align_corners),
        "grid_sampler_3d": lambda input, grid, interpolation_mode, padding_mode, align_corners: grid_sampler(
            input, grid, interpolation_mode, padding_mode, align_corners),
        "affine_grid_generator": lambda theta, size, align_corners: affine_grid(theta, size, align_corners),
        "rms_norm": rms_norm, "prelu": prelu, "hardshrink": hardshrink, "adaptive_avg_pool1d": adaptive_avg_pool1d,
        "embedding": embedding_, "constant_pad_nd": lambda input, padding, value=0: pad(input, padding, "constant", value),
        "selu": lambda input: selu(input), "selu_": lambda input: selu(input, True),
        "celu": lambda input, alpha=1.0: celu(input, alpha), "celu_": lambda input, alpha=1.0: celu(input, alpha, True),
        "threshold": lambda input, threshold_, value: threshold(input, threshold_, value),
        "threshold_": lambda input, threshold_, value: threshold(input, threshold_, value, True),
        "rrelu": lambda input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None: rrelu(input, lower, upper, training),
        "rrelu_": lambda input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None: rrelu(input, lower, upper, training, True),
        "relu_": lambda input: relu(input, True),
        "dropout": lambda input, p, train: dropout(input, p, train), "dropout_": lambda input, p, train: dropout(input, p, train, True),
        "alpha_dropout": lambda input, p, train: alpha_dropout(input, p, train),
        "alpha_dropout_": lambda input, p, train: alpha_dropout(input, p, train, True),
        "feature_alpha_dropout": lambda input, p, train: feature_alpha_dropout(input, p, train),
        "feature_alpha_dropout_": lambda input, p, train: feature_alpha_dropout(input, p, train, True),
        "feature_dropout": lambda input, p, train: _feature_dropout(input, p, train),
        "feature_dropout_": lambda input, p, train: _feature_dropout(input, p, train, True),
        "layer_norm": lambda input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True: layer_norm(
            input, normalized_shape, weight, bias, eps),
        "group_norm": lambda input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True: group_norm(input, num_groups, weight, bias, eps),
        "batch_norm": lambda input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled: batch_norm(
            input, running_mean, running_var, weight, bias, training, momentum, eps),
        "instance_norm": lambda input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled: instance_norm(
            input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps),
        "max_pool1d": lambda input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False: max_pool1d(
            input, kernel_size, stride, padding, dilation, ceil_mode),
        "max_pool2d": lambda input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False: max_pool2d(
            input, kernel_size, stride, padding, dilation, ceil_mode),
        "max_pool3d": lambda input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False: max_pool3d(
            input, kernel_size, stride, padding, dilation, ceil_mode),
        "max_pool1d_with_indices": lambda input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False: max_pool1d(
            input, kernel_size, stride, padding, dilation, ceil_mode, True),
        "avg_pool1d": lambda input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True: avg_pool1d(
            input, kernel_size, stride, padding, ceil_mode, count_include_pad),
        "adaptive_max_pool1d": lambda input, output_size: adaptive_max_pool1d(input, output_size, True),
        "kl_div": lambda input, target, reduction=0, *, log_target=False: kl_div(input, target, reduction=_enum_reduction(reduction),
                                                                                 log_target=log_target),
        "binary_cross_entropy_with_logits": lambda input, target, weight=None, pos_weight=None, reduction=0: binary_cross_entropy_with_logits(
            input, target, weight, reduction=_enum_reduction(reduction), pos_weight=pos_weight),
        "cosine_embedding_loss": lambda input1, input2, target, margin=0.0, reduction=0: cosine_embedding_loss(
            input1, input2, target, margin, reduction=_enum_reduction(reduction)),
        "hinge_embedding_loss": lambda input, target, margin=1.0, reduction=0: hinge_embedding_loss(
            input, target, margin, reduction=_enum_reduction(reduction)),
        "margin_ranking_loss": lambda input1, input2, target, margin=0.0, reduction=0: margin_ranking_loss(
            input1, input2, target, margin, reduction=_enum_reduction(reduction)),
        "poisson_nll_loss": lambda input, target, log_input, full, eps, reduction: poisson_nll_loss(
            input, target, log_input, full, eps=eps, reduction=_enum_reduction(reduction)),
        "triplet_margin_loss": lambda anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=0: triplet_margin_loss(
            anchor, positive, negative, margin, p, eps, swap, reduction=_enum_reduction(reduction)),
        "ctc_loss": lambda log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0, zero_infinity=False: ctc_loss(
            log_probs, targets, input_lengths, target_lengths, blank, _enum_reduction(reduction), zero_infinity),
        "native_batch_norm": native_batch_norm, "native_layer_norm": native_layer_norm, "native_group_norm": native_group_norm,
        "native_dropout": native_dropout, "native_norm": native_norm, "embedding_bag": _aten_embedding_bag, "segment_reduce": segment_reduce,
    }
    for name, function in table.items():
        if function.__name__ == "<lambda>" or function.__name__ != name:  # torch's name (in a TypeError too) and a docstring
            function.__code__ = function.__code__.replace(co_name=name, co_qualname=name)
            function.__name__ = function.__qualname__ = name
            function.__doc__ = function.__doc__ or f"``torch.{name}``: ``torch.nn.functional``'s op with the signature PyTorch gives it at the top level."
    return table



def native_channel_shuffle(input, groups):
    """``F.native_channel_shuffle``: ``channel_shuffle``."""
    return channel_shuffle(input, groups)


_CONVS = {1: conv1d, 2: conv2d, 3: conv3d}
_CONV_TRANSPOSES = {1: conv_transpose1d, 2: conv_transpose2d, 3: conv_transpose3d}
TORCH_FUNCTIONS = _torch_functions()
