"""``Weibull`` (defined in ``pareto``), importable from here as from ``torch.distributions.weibull``."""

from .pareto import Weibull

__all__ = ["Weibull"]
