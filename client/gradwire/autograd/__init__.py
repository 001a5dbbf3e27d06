"""``gradwire.autograd``: functional gradients, as ``torch.autograd``."""

from . import functional
from .functional import grad

__all__ = ["functional", "grad"]
