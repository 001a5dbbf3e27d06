"""``Uniform``: uniform on [low, high)."""

from __future__ import annotations

import math

from . import constraints
from .distribution import Distribution, _numbers
from .utils import broadcast_all

__all__ = ["Uniform"]


class Uniform(Distribution):
    """Uniform on the half-open interval [low, high), elementwise, as ``torch.distributions.Uniform``."""

    has_rsample = True

    @property
    def arg_constraints(self):
        low, high = self._number_bounds if self._number_bounds else (self.low, self.high)
        return {"low": constraints.less_than(high), "high": constraints.greater_than(low)}

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        # two numbers are checked against each other here; a number against a tensor is a server check
        numbers = _numbers(low=low, high=high)
        self._number_bounds = (low, high) if len(numbers) == 2 else None
        super().__init__(self.low.shape, validate_args=validate_args, _numbers=numbers if self._number_bounds else None)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    mean = property(lambda self: (self.high + self.low) / 2)
    mode = property(lambda self: math.nan * self.high)
    stddev = property(lambda self: (self.high - self.low) / 12 ** 0.5)
    variance = property(lambda self: (self.high - self.low).pow(2) / 12)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        rand = self.low._session.rand(*shape, dtype=self.low.dtype)
        return self.low + rand * (self.high - self.low)

    def log_prob(self, value):
        self._validate_sample(value)
        lb = self.low.le(value).to(self.low.dtype)
        ub = self.high.gt(value).to(self.low.dtype)
        return (lb * ub).log() - (self.high - self.low).log()

    def cdf(self, value):
        self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()
