"""``InverseGamma`` (defined in ``pareto``), importable from here as from ``torch.distributions.inverse_gamma``."""

from .pareto import InverseGamma

__all__ = ["InverseGamma"]
