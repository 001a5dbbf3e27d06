"""``Cauchy``: the ratio of two independent normals, shifted and scaled."""

from __future__ import annotations

import math

from .distribution import _LocationScale

__all__ = ["Cauchy"]


class Cauchy(_LocationScale):
    """The Cauchy (Lorentz) distribution of ``loc`` and ``scale``, as ``torch.distributions.Cauchy``: no mean
    (NaN) and an infinite variance."""

    mean = property(lambda self: self.loc.new_full(tuple(self._extended_shape()), math.nan))
    mode = property(lambda self: self.loc)
    variance = property(lambda self: self.loc.new_full(tuple(self._extended_shape()), math.inf))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = self.loc._session.rand(*shape, dtype=self.loc.dtype)
        return self.loc + self.scale * (math.pi * (u - 0.5)).tan()

    def log_prob(self, value):
        self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value):
        self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value):
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()
