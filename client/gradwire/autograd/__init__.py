"""``gradwire.autograd``: functional gradients, as ``torch.autograd`` (``functional.jacobian``, ``vjp``, ``hvp`` and ``hessian``) and custom functions (``Function``)."""

from . import function, functional
from .function import Function, FunctionCtx
from .functional import grad

__all__ = ["Function", "FunctionCtx", "function", "functional", "grad"]
