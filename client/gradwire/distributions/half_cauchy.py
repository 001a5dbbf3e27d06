"""``HalfCauchy`` (defined in ``half_normal``), importable from here as from ``torch.distributions.half_cauchy``."""

from .half_normal import HalfCauchy

__all__ = ["HalfCauchy"]
