"""``Laplace``: exp(-|x - loc| / scale) / (2 scale)."""

from __future__ import annotations

import math

import numpy as np

from .distribution import _LocationScale

__all__ = ["Laplace"]


class Laplace(_LocationScale):
    """The Laplace distribution of ``loc`` and ``scale``, elementwise, as ``torch.distributions.Laplace``."""

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)
    variance = property(lambda self: 2 * self.scale.pow(2))
    stddev = property(lambda self: math.sqrt(2) * self.scale)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = float(np.finfo(self.loc.dtype).eps)
        u = self.loc._session.rand(*shape, dtype=self.loc.dtype) * (2 - eps) + (eps - 1)  # uniform in (-1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()
