"""``Variable``: PyTorch's legacy wrapper, kept for old code, as ``torch.autograd.Variable``."""

from __future__ import annotations

from ..tensor import Tensor


class _VariableMeta(type):
    def __instancecheck__(cls, instance):
        return isinstance(instance, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(tensor, requires_grad=False)``: as in PyTorch since 0.4, no wrapper but a tensor: ``tensor``'s
    values cut from its graph (sharing its memory), a leaf that requires grad as told. Every Tensor is an instance
    of ``Variable``. ``volatile`` is accepted and ignored, as PyTorch ignores it (use ``no_grad()``)."""

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(bool(requires_grad))
