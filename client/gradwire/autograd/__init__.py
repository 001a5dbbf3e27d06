"""``gradwire.autograd``: functional gradients, as ``torch.autograd`` (``functional.jacobian``, ``vjp``, ``hvp`` and ``hessian``)."""

from . import functional
from .functional import grad

__all__ = ["functional", "grad"]
