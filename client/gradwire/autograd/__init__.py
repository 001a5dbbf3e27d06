"""``gradwire.autograd``: functional gradients, as ``torch.autograd`` (``functional.jacobian`` and ``functional.vjp``)."""

from . import functional
from .functional import grad

__all__ = ["functional", "grad"]
