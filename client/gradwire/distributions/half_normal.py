"""``HalfNormal`` and ``HalfCauchy``: |X| for a centred Normal or Cauchy X."""

from __future__ import annotations

import math

from ..tensor import where
from . import constraints
from .cauchy import Cauchy
from .distribution import _numbers
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["HalfCauchy", "HalfNormal"]


class _Half(TransformedDistribution):
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _base = None

    def __init__(self, scale, validate_args=None):
        super().__init__(self._base(0, scale, validate_args=False), AbsTransform(), validate_args=validate_args,
                         _numbers=_numbers(scale=scale))

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, _instance=self._get_checked_instance(type(self), _instance))

    scale = property(lambda self: self.base_dist.scale)

    def log_prob(self, value):
        self._validate_sample(value)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return where(value >= 0, log_prob, -math.inf)

    def cdf(self, value):
        self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class HalfNormal(_Half):
    """|X| for X ~ Normal(0, scale), as ``torch.distributions.HalfNormal``."""

    _base = Normal
    mean = property(lambda self: self.scale * math.sqrt(2 / math.pi))
    mode = property(lambda self: self.scale.new_zeros(*self.scale.shape))
    variance = property(lambda self: self.scale.pow(2) * (1 - 2 / math.pi))


class HalfCauchy(_Half):
    """|X| for X ~ Cauchy(0, scale), as ``torch.distributions.HalfCauchy``."""

    _base = Cauchy
    mean = property(lambda self: self.scale.new_full(tuple(self._extended_shape()), math.inf))
    mode = property(lambda self: self.scale.new_zeros(*self.scale.shape))
    variance = property(lambda self: self.base_dist.variance)
