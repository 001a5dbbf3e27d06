"""``Chi2`` (defined in ``gamma``), importable from here as from ``torch.distributions.chi2``."""

from .gamma import Chi2

__all__ = ["Chi2"]
