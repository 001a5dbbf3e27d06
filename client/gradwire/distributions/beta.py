"""``Beta`` (defined in ``gamma``), importable from here as from ``torch.distributions.beta``."""

from .gamma import Beta

__all__ = ["Beta"]
