"""``StudentT`` (defined in ``gamma``), importable from here as from ``torch.distributions.studentT``."""

from .gamma import StudentT

__all__ = ["StudentT"]
