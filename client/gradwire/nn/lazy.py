"""Lazy modules: PyTorch's ``LazyLinear``, ``LazyConv*``, ``LazyBatchNorm*`` and ``LazyInstanceNorm*``, whose input size
is read from the first input they see.

Until then their weights are ``UninitializedParameter`` s (their buffers ``UninitializedBuffer`` s): placeholders with
a session and a dtype but no shape and no array on the server. The first forward gives them their shapes
(``materialize``: the same Python objects, now ordinary Parameters and Tensors), initialises them as the eager layer
would, and turns the module into that layer (``LazyLinear`` becomes ``Linear``). An optimizer made before that holds
the same objects, as PyTorch's does; PyTorch still advises a dry run first.
"""

from __future__ import annotations

from .. import errors
from ..session import resolve_session
from . import init
from .layers import (BatchNorm1d, BatchNorm2d, BatchNorm3d, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d,
                     InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, Linear)
from .parameter import UninitializedBuffer, UninitializedParameter

__all__ = [
    "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
    "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LazyLinear",
    "LazyModuleMixin", "UninitializedBuffer", "UninitializedParameter",
]

def _infer_parameters(module, args):
    """The lazy module's forward pre-hook: shapes from the first input, then the module becomes its eager class."""
    module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
    module._initialize_hook.remove()
    del module.__dict__["_initialize_hook"]
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


class LazyModuleMixin:
    """A module whose parameters are given their shapes by its first forward (``initialize_parameters``), as
    ``torch.nn.modules.lazy.LazyModuleMixin``; then it becomes ``cls_to_become``."""

    cls_to_become = None

    def _lazy(self):
        """Called at the end of ``__init__``: the hook that initialises at the first forward."""
        object.__setattr__(self, "_initialize_hook", self.register_forward_pre_hook(_infer_parameters))

    def has_uninitialized_params(self):
        return any(getattr(t, "_uninitialized", False) for t in (*self._parameters.values(), *self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")


def _placeholders(module, names, session, dtype, buffers=()):
    """``module``'s parameters (and buffers) of those names, where present, replaced by placeholders."""
    for name in names:
        if module._parameters.get(name) is not None:
            module._parameters[name] = UninitializedParameter(session=session, dtype=dtype)
    for name in buffers:
        if module._buffers.get(name) is not None:
            module._buffers[name] = UninitializedBuffer(session=session, dtype=dtype)


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last dim of its first input, as ``torch.nn.LazyLinear``."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None, *, session=None):
        session = resolve_session(session)
        super().__init__(0, out_features, bias, session=session, dtype=dtype)
        _placeholders(self, ("weight", "bias"), session, dtype)
        self._lazy()

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if self.has_uninitialized_params():
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()


class _LazyConvMixin(LazyModuleMixin):
    """The lazy convolutions: ``in_channels`` from dim 1 of the first (batched) input, dim 0 of an unbatched one."""

    _spatial = 2

    def _setup(self, session, dtype):
        self.in_channels = 0
        _placeholders(self, ("weight", "bias"), session, dtype)
        self._lazy()

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _get_in_channels(self, input):
        unbatched = self._spatial + 1
        if input.ndim not in (unbatched, unbatched + 1):
            raise errors.InvalidArgumentError(f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) input to {type(self).__name__}, "
                                              f"but got input of size: {list(input.shape)}")
        return input.shape[1] if input.ndim == unbatched + 1 else input.shape[0]

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            if self._transposed:
                self.weight.materialize((self.in_channels, self.out_channels // self.groups, *self.kernel_size))
            else:
                self.weight.materialize((self.out_channels, self.in_channels // self.groups, *self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


def _lazy_conv(name, eager, spatial):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None, *, session=None):
        session = resolve_session(session)
        eager.__init__(self, 0, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, session=session, dtype=dtype)
        self._setup(session, dtype)

    attrs = {"cls_to_become": eager, "_spatial": spatial, "__init__": __init__,
             "__doc__": f"``{eager.__name__}`` whose ``in_channels`` is read from its first input, as ``torch.nn.{name}``."}
    return type(name, (_LazyConvMixin, eager), attrs)


def _lazy_conv_transpose(name, eager, spatial):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None, *, session=None):
        session = resolve_session(session)
        eager.__init__(self, 0, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation, padding_mode, session=session,
                       dtype=dtype)
        self._setup(session, dtype)

    attrs = {"cls_to_become": eager, "_spatial": spatial, "__init__": __init__,
             "__doc__": f"``{eager.__name__}`` whose ``in_channels`` is read from its first input, as ``torch.nn.{name}``."}
    return type(name, (_LazyConvMixin, eager), attrs)


LazyConv1d, LazyConv2d, LazyConv3d = (_lazy_conv(f"LazyConv{k}d", eager, k) for k, eager in ((1, Conv1d), (2, Conv2d), (3, Conv3d)))
LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d = (
    _lazy_conv_transpose(f"LazyConvTranspose{k}d", eager, k) for k, eager in ((1, ConvTranspose1d), (2, ConvTranspose2d), (3, ConvTranspose3d)))


class _LazyNormMixin(LazyModuleMixin):
    """The lazy batch and instance norms: ``num_features`` from dim 1 of the first input (PyTorch's choice)."""

    def initialize_parameters(self, input):
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            for name in ("weight", "bias", "running_mean", "running_var"):
                tensor = getattr(self, name)
                if tensor is not None:
                    tensor.materialize((self.num_features,))
            for name, fill in (("weight", init.ones_), ("bias", init.zeros_), ("running_mean", init.zeros_), ("running_var", init.ones_)):
                if getattr(self, name) is not None:
                    fill(getattr(self, name))
            if self.num_batches_tracked is not None:
                init.zeros_(self.num_batches_tracked)


def _lazy_norm(name, eager, affine, track_running_stats):
    def __init__(self, eps=1e-5, momentum=0.1, affine=affine, track_running_stats=track_running_stats, device=None, dtype=None, *, bias=True,
                 session=None):
        session = resolve_session(session)
        eager.__init__(self, 0, eps, momentum, affine, track_running_stats, bias=bias, session=session, dtype=dtype)
        _placeholders(self, ("weight", "bias"), session, dtype, ("running_mean", "running_var"))
        self._lazy()

    attrs = {"cls_to_become": eager, "__init__": __init__,
             "__doc__": f"``{eager.__name__}`` whose ``num_features`` is dim 1 of its first input, as ``torch.nn.{name}``."}
    return type(name, (_LazyNormMixin, eager), attrs)


LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d = (
    _lazy_norm(f"LazyBatchNorm{k}d", eager, True, True) for k, eager in ((1, BatchNorm1d), (2, BatchNorm2d), (3, BatchNorm3d)))
LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d = (
    _lazy_norm(f"LazyInstanceNorm{k}d", eager, True, True) for k, eager in ((1, InstanceNorm1d), (2, InstanceNorm2d), (3, InstanceNorm3d)))
