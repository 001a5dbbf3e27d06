"""``Dirichlet`` (defined in ``gamma``), importable from here as from ``torch.distributions.dirichlet``."""

from .gamma import Dirichlet

__all__ = ["Dirichlet"]
