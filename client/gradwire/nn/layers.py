"""The layers of ``gradwire.nn``: PyTorch's names, arguments, initialisation and behaviour.

Every layer with weights takes ``session=`` (which session its parameters live
in; default: the only open session) and ``dtype=`` (the default dtype, float32, by default). The
initial weights are drawn on the server from the session's seeded generator,
with PyTorch's bounds (``kaiming_uniform_(a=sqrt(5))``, that is U(-1/sqrt(fan_in),
1/sqrt(fan_in)), for weights and biases of Linear and Conv2d).
"""

from __future__ import annotations

import math
import operator
import warnings
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from .. import defaults, errors
from ..grad_mode import no_grad
from ..tensor import as_dtype
from . import functional as F
from . import init
from .module import Module, resolve_session
from .parameter import Parameter

__all__ = [
    "Upsample", "CosineSimilarity", "PairwiseDistance", "ParameterDict", "ParameterList", "GroupNorm", "Dropout2d", "AvgPool1d", "Conv1d", "MaxPool1d", "Hardtanh", "ReLU6", "Unflatten", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Dropout", "ELU", "Embedding", "Flatten", "GELU", "Identity", "LayerNorm", "LeakyReLU", "Linear",
    "LogSoftmax", "MaxPool2d", "ModuleDict", "ModuleList", "ReLU", "Sequential", "SiLU", "Sigmoid", "Softmax",
    "Softplus", "Tanh", "Mish", "Hardswish", "Hardsigmoid", "LogSigmoid", "Softsign", "Tanhshrink", "GLU", "Threshold", "Softmax2d", "PReLU", "InstanceNorm1d", "InstanceNorm2d", "ConvTranspose1d", "ConvTranspose2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "Softmin", "SELU", "CELU", "Hardshrink", "Softshrink", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d", "PixelShuffle", "PixelUnshuffle", "Bilinear",    "AdaptiveAvgPool1d", "AlphaDropout", "EmbeddingBag", "Fold", "Unfold",
    "Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "BatchNorm3d", "InstanceNorm3d",
    "RMSNorm", "Dropout1d", "Dropout3d", "FeatureAlphaDropout", "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
    "AdaptiveMaxPool3d", "LocalResponseNorm", "RReLU", "ChannelShuffle", "UpsamplingNearest2d", "UpsamplingBilinear2d", "ZeroPad3d",
    "ConstantPad3d", "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d",
]


def _new_parameter(session, shape, dtype):
    return Parameter(session.zeros(shape, dtype=as_dtype(dtype or defaults.current)))


class Identity(Module):
    """Its input, unchanged; any arguments are accepted and ignored, as PyTorch's."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class _Pad(Module):
    """A padding layer: ``F.pad`` with its amounts (an int for every side, or PyTorch's tuple), mode and value."""

    _mode, _sides, _value = "constant", 2, 0.0

    def __init__(self, padding, value=None):
        super().__init__()
        self.padding = (int(padding),) * self._sides if isinstance(padding, int) else tuple(padding)
        if value is not None or self._mode == "constant":
            self.value = self._value if value is None else value

    def forward(self, input):
        return F.pad(input, self.padding, self._mode, getattr(self, "value", None))

    def extra_repr(self):  # PyTorch's: ConstantPad1d(padding=(2, 2), value=0.5), ZeroPad2d((1, 1, 1, 1))
        return f"padding={self.padding}, value={self.value}" if type(self).__name__.startswith("Constant") else f"{self.padding}"


def _pad_layer(name, mode, sides, constant=False):
    """A padding layer's class: ``(padding, value)`` for the constant ones, ``(padding)`` for the rest."""
    attrs = {"_mode": mode, "_sides": sides, "__doc__": f"``F.pad`` in {mode!r} mode over the last {sides // 2} dim(s), as ``torch.nn.{name}``."}
    if not constant:
        attrs["__init__"] = lambda self, padding: _Pad.__init__(self, padding)
    return type(name, (_Pad,), attrs)


ZeroPad1d, ZeroPad2d = _pad_layer("ZeroPad1d", "constant", 2), _pad_layer("ZeroPad2d", "constant", 4)
ConstantPad1d, ConstantPad2d = _pad_layer("ConstantPad1d", "constant", 2, True), _pad_layer("ConstantPad2d", "constant", 4, True)
ReflectionPad1d, ReflectionPad2d = _pad_layer("ReflectionPad1d", "reflect", 2), _pad_layer("ReflectionPad2d", "reflect", 4)
ReplicationPad1d, ReplicationPad2d = _pad_layer("ReplicationPad1d", "replicate", 2), _pad_layer("ReplicationPad2d", "replicate", 4)
CircularPad1d, CircularPad2d = _pad_layer("CircularPad1d", "circular", 2), _pad_layer("CircularPad2d", "circular", 4)
ZeroPad3d, ConstantPad3d = _pad_layer("ZeroPad3d", "constant", 6), _pad_layer("ConstantPad3d", "constant", 6, True)
ReflectionPad3d, ReplicationPad3d = _pad_layer("ReflectionPad3d", "reflect", 6), _pad_layer("ReplicationPad3d", "replicate", 6)
CircularPad3d = _pad_layer("CircularPad3d", "circular", 6)


class Bilinear(Module):
    """x1^T A x2 + b per output feature, as ``torch.nn.Bilinear``: weight (out, in1, in2), PyTorch's uniform start."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, *, session=None, dtype=None):
        super().__init__()
        session = resolve_session(session)
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = _new_parameter(session, (out_features, in1_features, in2_features), dtype)
        bound = 1 / math.sqrt(in1_features)
        init.uniform_(self.weight, -bound, bound)
        if bias:
            self.bias = _new_parameter(session, (out_features,), dtype)
            init.uniform_(self.bias, -bound, bound)
        else:
            self.register_parameter("bias", None)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return f"in1_features={self.in1_features}, in2_features={self.in2_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _reset_kaiming_uniform(weight, bias, fan_in):
    """PyTorch's initialization of Linear and Conv2d: kaiming-uniform weights, bias uniform in +-1/sqrt(fan_in)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x @ weight.T + bias; weight (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True, *, session=None, dtype=None):
        super().__init__()
        session = resolve_session(session)
        self.in_features, self.out_features = in_features, out_features
        self.weight = _new_parameter(session, (out_features, in_features), dtype)
        if bias:
            self.bias = _new_parameter(session, (out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_kaiming_uniform(self.weight, self.bias, self.in_features)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _pair(value):
    return (value, value) if isinstance(value, (int, np.integer)) else tuple(value)


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` by another name, as torch's ``MultiheadAttention.out_proj`` is (its name shows in a model's repr)."""



class _Conv(Module):
    """A convolution layer's settings, weight (out_channels, in_channels // groups, *kernel) and bias, PyTorch's."""

    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", *, session=None, dtype=None, output_padding=0):
        super().__init__()
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        size = self._size
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'same', 'valid'}}")
            if padding == "same" and any(s != 1 for s in size(stride)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"padding_mode must be one of {{'zeros', 'reflect', 'replicate', 'circular'}}, but got padding_mode='{padding_mode}'")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        session = resolve_session(session)
        self.in_channels, self.out_channels, self.groups, self.padding_mode = in_channels, out_channels, groups, padding_mode
        self.kernel_size, self.stride, self.dilation = size(kernel_size), size(stride), size(dilation)
        self.padding = padding if isinstance(padding, str) else size(padding)
        if self._transposed:
            self.output_padding = size(output_padding)
        channels = (in_channels, out_channels // groups) if self._transposed else (out_channels, in_channels // groups)
        self.weight = _new_parameter(session, channels + self.kernel_size, dtype)
        if bias:
            self.bias = _new_parameter(session, (out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # PyTorch's fan-in: the weight's dim 1 times the kernel (in_channels // groups; out_channels // groups transposed)
        _reset_kaiming_uniform(self.weight, self.bias, self.weight.shape[1] * math.prod(self.kernel_size))

    @property
    def _reversed_padding_repeated_twice(self):
        """``F.pad``'s amounts for ``padding_mode`` (from the last dim back), as PyTorch's: "same" puts the odd one after."""
        if self.padding == "valid":
            return [0, 0] * len(self.kernel_size)
        if self.padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            return [n for total in reversed(totals) for n in (total // 2, total - total // 2)]
        return [n for p in reversed(self.padding) for n in (p, p)]

    def forward(self, input, output_size=None):
        if self._transposed:
            output_padding = self._output_padding(input, output_size)
            return self._functional(input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups, self.dilation)
        if self.padding_mode != "zeros":  # PyTorch's: padded in that mode first, then convolved without padding
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return self._functional(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return self._functional(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def _output_padding(self, input, output_size):
        """The output padding that gives a transposed convolution ``output_size``, as PyTorch's (its checks, its words)."""
        if output_size is None:
            return self.output_padding
        dims = len(self.kernel_size)
        leading = 2 if input.ndim == dims + 2 else 1
        output_size = list(output_size)
        if len(output_size) == leading + dims:
            output_size = output_size[leading:]
        if len(output_size) != dims:
            raise ValueError(f"ConvTranspose{dims}D: for {input.ndim}D input, output_size must have {dims} "
                             f"or {leading + dims} elements (got {len(output_size)})")
        min_sizes = [(input.shape[d + leading] - 1) * self.stride[d] - 2 * self.padding[d] + self.dilation[d] * (self.kernel_size[d] - 1) + 1
                     for d in range(dims)]
        max_sizes = [n + s - 1 for n, s in zip(min_sizes, self.stride)]
        if any(not lo <= n <= hi for n, lo, hi in zip(output_size, min_sizes, max_sizes)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range "
                             f"from {min_sizes} to {max_sizes} (for an input of {input.shape[2:]})")
        return tuple(n - lo for n, lo in zip(output_size, min_sizes))

    def extra_repr(self):
        zeros, ones = (0,) * len(self.kernel_size), (1,) * len(self.kernel_size)
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != zeros:  # a string too, unquoted, as PyTorch prints it
            text += f", padding={self.padding}"
        if self.dilation != ones:
            text += f", dilation={self.dilation}"
        if self._transposed and self.output_padding != zeros:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text + ("" if self.padding_mode == "zeros" else f", padding_mode={self.padding_mode}")


class Conv2d(_Conv):
    """2-D convolution over NCHW inputs; weight (out_channels, in_channels // groups, kH, kW)."""

    _size, _functional = staticmethod(_pair), staticmethod(F.conv2d)


class Conv1d(_Conv):
    """1-D convolution over NCL inputs; weight (out_channels, in_channels // groups, kW)."""

    _size, _functional = staticmethod(lambda value: _single(value)), staticmethod(F.conv1d)


class ConvTranspose2d(_Conv):
    """Transposed 2-D convolution; weight (in_channels, out_channels // groups, kH, kW); PyTorch's argument order."""

    _size, _functional, _transposed = staticmethod(_pair), staticmethod(F.conv_transpose2d), True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True, dilation=1,
                 padding_mode="zeros", *, session=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         session=session, dtype=dtype, output_padding=output_padding)


class ConvTranspose1d(ConvTranspose2d):
    """Transposed 1-D convolution; weight (in_channels, out_channels // groups, kW)."""

    _size, _functional = staticmethod(lambda value: _single(value)), staticmethod(F.conv_transpose1d)


class Conv3d(_Conv):
    """3-D convolution over NCDHW inputs; weight (out_channels, in_channels // groups, kD, kH, kW)."""

    _size, _functional = staticmethod(lambda value: _triple(value)), staticmethod(F.conv3d)


class ConvTranspose3d(ConvTranspose2d):
    """Transposed 3-D convolution; weight (in_channels, out_channels // groups, kD, kH, kW)."""

    _size, _functional = staticmethod(lambda value: _triple(value)), staticmethod(F.conv_transpose3d)


def _triple(value):
    return (int(value),) * 3 if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


class AvgPool1d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.padding = _single(kernel_size), _single(padding)
        self.stride = _single(stride) if stride is not None else self.kernel_size
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _single(value):
    """PyTorch's 1-tuples of the 1-D layers' sizes."""
    return (int(value[0]),) if isinstance(value, (tuple, list)) else (int(value),)


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride if stride is not None else kernel_size, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(MaxPool2d):
    """``torch.nn.MaxPool1d``: MaxPool2d's settings and repr, over a length dim."""

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices)


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride if stride is not None else kernel_size, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class MaxPool3d(MaxPool2d):
    """``torch.nn.MaxPool3d``: MaxPool2d's settings and repr, over (D, H, W)."""

    def forward(self, input):
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices)


class AvgPool3d(AvgPool2d):
    """``torch.nn.AvgPool3d``: AvgPool2d's settings and repr, over (D, H, W)."""

    def forward(self, input):
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    def forward(self, input):
        return F.adaptive_avg_pool3d(input, self.output_size)


class AdaptiveAvgPool1d(Module):
    """The means of ``output_size`` windows covering L of an (N, C, L) or (C, L) input (``F.adaptive_avg_pool1d``)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Unfold(Module):
    """Sliding blocks of an (N, C, H, W) input as columns, (N, C*kh*kw, L) (``F.unfold``, im2col)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


class Fold(Module):
    """Columns (N, C*kh*kw, L) summed back into blocks of an (N, C, *output_size) output (``F.fold``, col2im)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size, self.dilation, self.padding, self.stride = output_size, kernel_size, dilation, padding, stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class AdaptiveMaxPool2d(Module):
    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    def forward(self, input):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class _LPPool(Module):
    """``torch.nn.LPPool1d/2d/3d``: the ``norm_type``-norm of each window (``F.lp_pool*``)."""

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input):
        return self._functional(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, ceil_mode={self.ceil_mode}"


class LPPool1d(_LPPool):
    _functional = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPool):
    _functional = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPool):
    _functional = staticmethod(F.lp_pool3d)


class FractionalMaxPool2d(Module):
    """``torch.nn.FractionalMaxPool2d``: ``F.fractional_max_pool2d`` with fresh samples each call, or the fixed
    ``_random_samples`` (a buffer) where given; ``output_ratio`` between 0 and 1."""

    _dims, _name = 2, "FractionalMaxPool2d"

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
        super().__init__()
        sizes = F._pair if self._dims == 2 else F._triple
        self.kernel_size, self.return_indices = sizes(kernel_size), return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = sizes(output_size) if output_size is not None else None
        self.output_ratio = ((output_ratio,) * self._dims if isinstance(output_ratio, (int, float)) else tuple(output_ratio)) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{self._name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        return F._fractional_max_pool(self._dims, input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                                      self._random_samples)


class FractionalMaxPool3d(FractionalMaxPool2d):
    """``torch.nn.FractionalMaxPool3d``: over (T, H, W)."""

    _dims, _name = 3, "FractionalMaxPool3d"


class _MaxUnpool(Module):
    """``torch.nn.MaxUnpool1d/2d/3d``: ``forward(input, indices, output_size=None)`` puts each value at its index
    (``MaxPool*``'s with ``return_indices=True``), zeros elsewhere."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        size = self._size
        self.kernel_size = size(kernel_size)
        self.stride = size(stride if stride is not None else kernel_size)
        self.padding = size(padding)

    def forward(self, input, indices, output_size=None):
        return self._functional(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    _size, _functional = staticmethod(lambda value: _single(value)), staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpool):
    _size, _functional = staticmethod(_pair), staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpool):
    _size, _functional = staticmethod(lambda value: _triple(value)), staticmethod(F.max_unpool3d)


class Flatten(Module):
    """Flattens dims ``start_dim`` to ``end_dim`` into one (by default all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        shape = input.shape
        if not shape:
            return input.reshape(1)
        start, end = self.start_dim % len(shape), self.end_dim % len(shape)
        return input.reshape(shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _Activation(Module):
    def __init__(self):
        super().__init__()

    def forward(self, input):
        return getattr(input, self._method)()


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Hardtanh(Module):
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Unflatten(Module):
    """``dim`` unflattened into ``unflattened_size``, as ``torch.nn.Unflatten``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Tanh(_Activation):
    _method = "tanh"


class Sigmoid(_Activation):
    _method = "sigmoid"


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return input.softmax(self._dim_for(input))

    def _dim_for(self, input):
        if self.dim is not None:
            return self.dim
        warnings.warn(  # PyTorch's choice and words for a module made without dim
            f"Implicit dimension choice for {type(self).__name__.lower()} has been deprecated. Change the call to include dim=X as an argument.",
            UserWarning, stacklevel=3,
        )
        return 0 if input.ndim in (0, 1, 3) else 1

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input):
        return input.log_softmax(self._dim_for(input))


class _Settings(Module):
    """An activation with settings: attributes of PyTorch's names, passed in that order to its functional."""

    _settings = ()

    def __init__(self, *values, inplace=None):
        super().__init__()
        for name, value in zip(self._settings, values):
            setattr(self, name, value)
        if inplace is not None:  # an activation PyTorch can run in place: its inplace= goes to the functional
            self.inplace = inplace

    def forward(self, input):
        settings = (getattr(self, name) for name in self._settings)
        return self._functional(input, *settings, inplace=self.inplace) if "inplace" in self.__dict__ else self._functional(input, *settings)

    def extra_repr(self):
        text = ", ".join(f"{name}={getattr(self, name)}" for name in self._settings)
        return text + (", " if text else "") + "inplace=True" if self.__dict__.get("inplace") else text


class PixelShuffle(_Settings):
    _settings, _functional = ("upscale_factor",), staticmethod(F.pixel_shuffle)

    def __init__(self, upscale_factor):
        super().__init__(upscale_factor)


class PixelUnshuffle(_Settings):
    _settings, _functional = ("downscale_factor",), staticmethod(F.pixel_unshuffle)

    def __init__(self, downscale_factor):
        super().__init__(downscale_factor)


class Softmin(Softmax):
    def forward(self, input):
        return F.softmin(input, self._dim_for(input))


class SELU(_Settings):
    _functional = staticmethod(F.selu)

    def __init__(self, inplace=False):
        super().__init__(inplace=inplace)


class CELU(_Settings):
    _settings, _functional = ("alpha",), staticmethod(F.celu)

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(alpha, inplace=inplace)


class Hardshrink(_Settings):
    _settings, _functional = ("lambd",), staticmethod(F.hardshrink)

    def __init__(self, lambd=0.5):
        super().__init__(lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    _functional = staticmethod(F.softshrink)


class Mish(_Settings):
    _functional = staticmethod(F.mish)

    def __init__(self, inplace=False):
        super().__init__(inplace=inplace)


class Hardswish(Mish):
    _functional = staticmethod(F.hardswish)


class Hardsigmoid(Mish):
    _functional = staticmethod(F.hardsigmoid)


class LogSigmoid(_Settings):
    _functional = staticmethod(F.logsigmoid)


class Softsign(LogSigmoid):
    _functional = staticmethod(F.softsign)


class Tanhshrink(LogSigmoid):
    _functional = staticmethod(F.tanhshrink)


class GLU(_Settings):
    _settings, _functional = ("dim",), staticmethod(F.glu)

    def __init__(self, dim=-1):
        super().__init__(dim)


class Threshold(_Settings):
    _settings, _functional = ("threshold", "value"), staticmethod(F.threshold)

    def __init__(self, threshold, value, inplace=False):
        super().__init__(threshold, value, inplace=inplace)


class Softmax2d(Module):
    """Softmax over the channels (dim -3) of (N, C, H, W) or (C, H, W) inputs."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise errors.InvalidArgumentError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return input.softmax(-3)


class PReLU(Module):
    """x where x > 0, else a learned slope times x: one slope, or one per channel (``num_parameters``), starting
    at ``init``, as ``torch.nn.PReLU``."""

    def __init__(self, num_parameters=1, init=0.25, *, session=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(resolve_session(session).full((num_parameters,), float(init), dtype=as_dtype(dtype or defaults.current)))

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class LeakyReLU(_Settings):
    _settings, _functional = ("negative_slope",), staticmethod(F.leaky_relu)

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(negative_slope, inplace=inplace)


class SiLU(_Settings):
    _functional = staticmethod(F.silu)

    def __init__(self, inplace=False):
        super().__init__(inplace=inplace)


class GELU(_Settings):
    _settings, _functional = ("approximate",), staticmethod(F.gelu)

    def __init__(self, approximate="none"):
        super().__init__(approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(_Settings):
    _settings, _functional = ("beta", "threshold"), staticmethod(F.softplus)

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__(beta, threshold)


class ELU(_Settings):
    _settings, _functional = ("alpha",), staticmethod(F.elu)

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(alpha, inplace=inplace)


class Dropout(Module):
    """Zeroes elements with probability ``p`` in training mode (masks from the session's seeded generator); the identity in eval mode."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class AlphaDropout(Dropout):
    """Dropout for SELU networks, keeping zero mean and unit variance (``F.alpha_dropout``); the identity in eval mode."""

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class Dropout2d(Dropout):
    """Zeroes whole channels with probability ``p`` in training mode, as ``torch.nn.Dropout2d``."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout1d(Dropout):
    """Zeroes whole channels of (N, C, L) or (C, L) inputs with probability ``p`` in training mode (``F.dropout1d``)."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout3d(Dropout):
    """Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability ``p`` in training mode (``F.dropout3d``)."""

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)


class FeatureAlphaDropout(Dropout):
    """Alpha dropout of whole channels in training mode (``F.feature_alpha_dropout``); the identity in eval mode."""

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)


class RReLU(Module):
    """Randomized leaky ReLU (``F.rrelu``): random slopes in [lower, upper] in training mode, their mean in eval mode."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class ChannelShuffle(Module):
    """Interleaves the channels of ``groups`` groups (``F.channel_shuffle``)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class LocalResponseNorm(Module):
    """Each element over (k + alpha * the mean square of ``size`` neighbouring channels)^beta (``F.local_response_norm``)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _set_embedding_weight(module, session, weight, dtype, requires_grad=True):
    """An embedding table's weight: ``weight`` given (``from_pretrained``), checked against the module's sizes, or a
    new one, initialised."""
    shape = (module.num_embeddings, module.embedding_dim)
    if weight is None:
        module.weight = _new_parameter(resolve_session(session), shape, dtype)
        module.reset_parameters()
    else:
        if tuple(weight.shape) != shape:
            raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
        module.weight = Parameter(weight, requires_grad=requires_grad)


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``, initialised N(0, 1); ``max_norm``: each
    looked-up row renormalised in place to at most that ``norm_type``-norm, as PyTorch's."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 sparse=False, _weight=None, _freeze=False, *, session=None, dtype=None):
        super().__init__()
        _refuse_sparse(sparse)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError("Padding_idx must be within num_embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse = max_norm, norm_type, scale_grad_by_freq, sparse
        _set_embedding_weight(self, session, _weight, dtype, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        sparse=False, *, session=None):
        """A table holding ``embeddings`` (a 2-D tensor, array or list; copied), frozen unless ``freeze=False``."""
        return _pretrained(cls, embeddings, freeze, session, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                           scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s + _norm_settings(self) + (", sparse=True" if self.sparse else "")


def _refuse_sparse(sparse):
    if sparse:
        raise errors.UnimplementedError("sparse=True: gradwire has no sparse gradients; use sparse=False (the same values, a dense gradient)")


def _norm_settings(table):
    """What Embedding's and EmbeddingBag's reprs say of max_norm, norm_type and scale_grad_by_freq, PyTorch's."""
    s = f", max_norm={table.max_norm}" if table.max_norm is not None else ""
    if table.norm_type != 2:
        s += f", norm_type={table.norm_type}"
    return s + (f", scale_grad_by_freq={table.scale_grad_by_freq}" if table.scale_grad_by_freq else "")


def _pretrained(cls, embeddings, freeze, session, **settings):
    """``cls.from_pretrained``: a table of ``embeddings``' shape and dtype holding a copy of them (from any session, or an array)."""
    from ..tensor import Tensor  # noqa: PLC0415

    if session is None and isinstance(embeddings, Tensor):
        session = embeddings._session
    values = embeddings if isinstance(embeddings, Tensor) else np.asarray(embeddings)
    if len(values.shape) != 2:
        raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
    table = cls(values.shape[0], values.shape[1], session=session, dtype=values.dtype, **settings)
    table.load_state_dict({"weight": values})  # copied in place
    table.weight.requires_grad_(not freeze)
    return table


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings (``F.embedding_bag``), without making the bags' embeddings a
    tensor of their own; a table of ``num_embeddings`` vectors of size ``embedding_dim``, initialised N(0, 1)."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, mode="mean", sparse=False,
                 _weight=None, include_last_offset=False, padding_idx=None, *, session=None, dtype=None):
        super().__init__()
        _refuse_sparse(sparse)
        if padding_idx is not None:
            if padding_idx > 0:
                assert padding_idx < num_embeddings, "padding_idx must be within num_embeddings"
            elif padding_idx < 0:
                assert padding_idx >= -num_embeddings, "padding_idx must be within num_embeddings"
                padding_idx = num_embeddings + padding_idx
        self.num_embeddings, self.embedding_dim, self.max_norm, self.norm_type = num_embeddings, embedding_dim, max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset, self.padding_idx = include_last_offset, padding_idx
        _set_embedding_weight(self, session, _weight, dtype)

    reset_parameters = Embedding.reset_parameters

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None, *, session=None):
        """A bag table holding ``embeddings`` (a 2-D tensor, array or list; copied), frozen unless ``freeze=False``."""
        return _pretrained(cls, embeddings, freeze, session, max_norm=max_norm, norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq,
                           mode=mode, sparse=sparse, include_last_offset=include_last_offset, padding_idx=padding_idx)

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq, self.mode,
                               self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}" + _norm_settings(self) + f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *, session=None, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            session = resolve_session(session)
            self.weight = _new_parameter(session, self.normalized_shape, dtype)
            init.ones_(self.weight)
            if bias:
                self.bias = _new_parameter(session, self.normalized_shape, dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"


class RMSNorm(Module):
    """``torch.nn.RMSNorm``: the last dims over their root mean square (``F.rms_norm``), then a learned scale (ones at start)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, *, session=None, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = _new_parameter(resolve_session(session), self.normalized_shape, dtype)
            init.ones_(self.weight)
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share, as PyTorch's ``_NormBase``: version 2 of their state, which added
    ``num_batches_tracked``."""

    _version = 2

    def _load_own(self, state_dict, prefix, local_metadata, *args):
        version = local_metadata.get("version")
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked  # an older checkpoint: the count kept, as PyTorch's
        super()._load_own(state_dict, prefix, local_metadata, *args)


class _BatchNorm(_NormBase):
    """Per-channel normalisation over a batch: learned ``weight`` and ``bias`` (``affine``), running
    statistics as buffers (``track_running_stats``) that training updates on the server; ``eval()`` uses them."""

    _ranks: tuple = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *, bias=True, session=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats, self._with_bias = affine, track_running_stats, affine and bias  # PyTorch's repr: bias=False without affine
        session = resolve_session(session) if affine or track_running_stats else None
        if affine:
            self.weight = _new_parameter(session, (num_features,), dtype)
            init.ones_(self.weight)
            if bias:
                self.bias = _new_parameter(session, (num_features,), dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", session.zeros(num_features, dtype=as_dtype(dtype or defaults.current)))
            self.register_buffer("running_var", session.ones(num_features, dtype=as_dtype(dtype or defaults.current)))
            self.register_buffer("num_batches_tracked", session.tensor(0, dtype="int64"))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        """Running mean to 0, running variance to 1, the batch count to 0 (in place, on the server)."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def _check_input_dim(self, input):
        if input.ndim not in self._ranks:
            raise errors.InvalidValueError(f"expected {' or '.join(f'{r}D' for r in self._ranks)} input (got {input.ndim}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        batch_statistics = self.training or self.running_mean is None
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked += 1
                if self.momentum is None and self.running_mean is not None:
                    self._cumulative_average(input.detach())
        return F.batch_norm(input, self.running_mean if not self.training or self.track_running_stats else None,
                            self.running_var if not self.training or self.track_running_stats else None,
                            self.weight, self.bias, batch_statistics, momentum, self.eps)

    def _cumulative_average(self, input):
        """momentum=None: the running statistics become the mean of every batch's so far, as PyTorch's, updated
        here with the count as a server tensor (no sync point); the batch_norm op then runs with momentum 0."""
        dims = (0,) + tuple(range(2, input.ndim))
        if input.numel() // input.shape[1] <= 1:
            return  # the batch_norm op refuses the batch, with PyTorch's message
        weight = 1.0 / self.num_batches_tracked.to(self.running_mean.dtype)
        self.running_mean.mul_(1 - weight).add_(input.mean(dims) * weight)
        self.running_var.mul_(1 - weight).add_(input.var(dims) * weight)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, bias={self._with_bias}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """``torch.nn.BatchNorm1d``: over (N, C) or (N, C, L)."""

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """``torch.nn.BatchNorm2d``: over (N, C, H, W)."""

    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """``torch.nn.BatchNorm3d``: over (N, C, D, H, W)."""

    _ranks = (5,)


class SyncBatchNorm(_BatchNorm):
    """``torch.nn.SyncBatchNorm``: batch norm over any (N, C, ...) input. With one server per session there are no
    other processes to synchronise with, so it is batch norm, as PyTorch's is outside a process group;
    ``process_group`` is kept and unused."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, process_group=None, *, bias=True,
                 session=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias=bias, session=session, dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.ndim < 2:
            raise errors.InvalidValueError(f"expected at least 2D input (got {input.ndim}D input)")
        if input.shape[1] == 0:
            raise errors.InvalidValueError("SyncBatchNorm number of input channels should be non-zero")

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with each batch norm in it replaced by a SyncBatchNorm holding the same parameters and buffers
        (the same tensor objects), as PyTorch's."""
        converted = module
        if isinstance(module, _BatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats, process_group,
                            bias=module.bias is not None, session=_session_of(module))
            if module.affine:
                converted.weight, converted.bias = module.weight, module.bias
            converted.running_mean, converted.running_var = module.running_mean, module.running_var
            converted.num_batches_tracked, converted.training = module.num_batches_tracked, module.training
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted


def _session_of(module):
    for tensor in module.parameters():
        return tensor._session
    for tensor in module.buffers():
        return tensor._session
    return None


class GroupNorm(Module):
    """``torch.nn.GroupNorm``: ``num_groups`` groups of channels normalised, then a per-channel scale and shift."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, *, bias=True, session=None, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self._with_bias = affine and bias
        if affine:
            session = resolve_session(session)
            self.weight = _new_parameter(session, (num_channels,), dtype)
            init.ones_(self.weight)
            if bias:
                self.bias = _new_parameter(session, (num_channels,), dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self._with_bias}"


class _InstanceNorm(_NormBase):
    """``torch.nn.InstanceNorm1d/2d/3d``: each channel of each sample normalised over its positions (``affine``: then a
    learned per-channel scale and shift); ``track_running_stats``: running statistics as BatchNorm's buffers, updated
    in training and used in eval mode."""

    _dims = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, *, bias=True, session=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, affine
        self.track_running_stats = track_running_stats
        self._with_bias = affine and bias
        session = resolve_session(session) if affine or track_running_stats else None
        if track_running_stats:
            self.register_buffer("running_mean", session.zeros(num_features, dtype=as_dtype(dtype or defaults.current)))
            self.register_buffer("running_var", session.ones(num_features, dtype=as_dtype(dtype or defaults.current)))
            self.register_buffer("num_batches_tracked", session.tensor(0, dtype="int64"))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        if affine:
            self.weight = _new_parameter(session, (num_features,), dtype)
            init.ones_(self.weight)
        else:
            self.register_parameter("weight", None)
        if self._with_bias:
            self.bias = _new_parameter(session, (num_features,), dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        if input.ndim == self._dims + 1:  # unbatched (C, ...)
            return self.forward(input.unsqueeze(0)).squeeze(0)
        if input.ndim != self._dims + 2:
            raise errors.InvalidArgumentError(f"{type(self).__name__}: expected {self._dims + 1}D or {self._dims + 2}D input (got {input.ndim}D input)")
        return F.instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias, self.training or not self.track_running_stats,
                               0.0 if self.momentum is None else self.momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, bias={self._with_bias}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    _dims = 1


class InstanceNorm2d(_InstanceNorm):
    _dims = 2


class InstanceNorm3d(_InstanceNorm):
    _dims = 3


class Upsample(Module):
    """``torch.nn.Upsample``: ``F.interpolate`` with its settings."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
        super().__init__()
        self.size, self.mode, self.align_corners, self.recompute_scale_factor = size, mode, align_corners, recompute_scale_factor
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) else scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners, self.recompute_scale_factor)

    def extra_repr(self):
        text = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return text + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``torch.nn.UpsamplingNearest2d``: ``Upsample`` in ``"nearest"`` mode."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``torch.nn.UpsamplingBilinear2d``: ``Upsample`` in ``"bilinear"`` mode with ``align_corners=True``."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class CosineSimilarity(Module):
    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class ParameterList(Module):
    """Parameters in a list, registered as "0", "1", ... (tensors given are wrapped in ``Parameter``), as PyTorch's."""

    def __init__(self, values=None):
        super().__init__()
        self.extend(values or ())

    def append(self, value):
        setattr(self, str(len(self)), value if isinstance(value, Parameter) else Parameter(value))
        return self

    def extend(self, values):
        for value in values:
            self.append(value)
        return self

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __getitem__(self, index):
        values = list(self._parameters.values())
        return ParameterList(values[index]) if isinstance(index, slice) else values[index]

    def __setitem__(self, index, value):
        setattr(self, str(range(len(self))[index]), value if isinstance(value, Parameter) else Parameter(value))

    def extra_repr(self):
        return "\n".join(f"  ({name}): {_parameter_summary(p)}" for name, p in self._parameters.items())


class ParameterDict(Module):
    """Parameters by name, as PyTorch's (tensors given are wrapped in ``Parameter``)."""

    def __init__(self, parameters=None):
        super().__init__()
        self.update(parameters or {})

    def update(self, parameters):
        """Add or replace entries: a plain dict's in the order of their sorted keys, as PyTorch's (an ``OrderedDict``'s,
        a ``ParameterDict``'s or pairs' in their order)."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = parameters
        for name, value in pairs:
            self[name] = value

    def __setitem__(self, name, value):
        setattr(self, name, value if isinstance(value, Parameter) else Parameter(value))

    def __getitem__(self, name):
        return self._parameters[name]

    def __contains__(self, name):
        return name in self._parameters

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def extra_repr(self):
        return "\n".join(f"  ({name}): {_parameter_summary(p)}" for name, p in self._parameters.items())


def _parameter_summary(p):
    return f"Parameter containing: [torch.{p.dtype.name} of size {'x'.join(str(n) for n in p.shape)}]"


class _Numbered(Module):
    """Children named "0", "1", ... in order: what Sequential and ModuleList share."""

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def _key(self, index):
        """The name of the child at position ``index``, as PyTorch's ``_get_item_by_idx``."""
        index = operator.index(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range")
        return list(self._modules)[index % len(self)]

    def __delitem__(self, index):
        for key in list(self._modules)[index] if isinstance(index, slice) else [self._key(index)]:
            delattr(self, key)
        # the rest renumbered from 0, as PyTorch's
        object.__setattr__(self, "_modules", OrderedDict((str(i), m) for i, m in enumerate(self._modules.values())))

    def pop(self, key):
        module = self[key]
        del self[key]
        return module


class Sequential(_Numbered):
    """Modules applied in order; built from modules or an ``OrderedDict`` of named ones."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(args):
                self.add_module(str(index), module)

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return modules[index]

    def __setitem__(self, index, module):
        setattr(self, self._key(index), module)

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        index = index + n if index < 0 else index
        for i in range(n, index, -1):  # (PyTorch's: by number, as its Sequential does)
            self._modules[str(i)] = self._modules[str(i - 1)]
        self._modules[str(index)] = module
        return self

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
        return Sequential().extend(self).extend(other)

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
        return self.extend(other)

    def _times(self, other):
        if not isinstance(other, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for {type(self)}")
        return other

    def __mul__(self, other):
        """The children repeated ``other`` times (the same modules, as PyTorch's)."""
        return Sequential().extend(list(self) * self._times(other))

    __rmul__ = __mul__

    def __imul__(self, other):
        return self.extend(list(self) * (self._times(other) - 1))

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(_Numbered):
    """Modules held in a list, each registered (named ``"0"``, ``"1"``, ...), as ``torch.nn.ModuleList``."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[self._key(index)]

    def __setitem__(self, index, module):
        self.add_module(self._key(index), module)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __iadd__(self, modules):
        return self.extend(modules)

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        self.extend(modules)

    def __repr__(self):
        """PyTorch's: a run of equal children is one line, ``(0-2): 3 x Linear(...)``."""
        children = [repr(module).replace("\n", "\n  ") for module in self._modules.values()]
        name = type(self).__name__  # (parametrize's ParametrizationList is one)
        if not children:
            return f"{name}()"
        lines, start = [], 0
        for end in range(1, len(children) + 1):
            if end == len(children) or children[end] != children[start]:
                count = end - start
                lines.append(f"({start}): {children[start]}" if count == 1 else f"({start}-{end - 1}): {count} x {children[start]}")
                start = end
        return f"{name}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """Modules held by name, each registered under its key, as ``torch.nn.ModuleDict``."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key):
        module = self._modules[key]
        del self._modules[key]
        return module

    def clear(self):
        self._modules.clear()

    def update(self, modules):
        for key, module in modules.items() if hasattr(modules, "items") else modules:
            self[key] = module
