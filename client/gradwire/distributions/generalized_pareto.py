"""``GeneralizedPareto``: the generalized Pareto distribution, the limit law of excesses over a high threshold."""

from __future__ import annotations

import math

from ..tensor import Size, where
from . import constraints
from .distribution import Distribution, _numbers
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """The generalized Pareto distribution of ``loc``, ``scale`` and ``concentration`` (xi), survival function
    (1 + xi (x - loc) / scale)^(-1/xi) (exp(-(x - loc) / scale) at xi = 0), as
    ``torch.distributions.GeneralizedPareto``: Exponential at loc = 0, xi = 0; Pareto at xi > 0,
    loc = scale / xi; Uniform at xi = -1. Draws are the icdf of uniforms (reparameterized). A concentration within
    1e-8 of 0 is taken as 0 (``isclose``), as PyTorch's."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args,
                         _numbers=_numbers(loc=loc, scale=scale, concentration=concentration))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(GeneralizedPareto, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.loc, new.scale = self.loc.expand(*batch_shape), self.scale.expand(*batch_shape)
        new.concentration = self.concentration.expand(*batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _safe_concentration(self):
        """(where the concentration is 0, the concentration with 1 there): the branch at 0 is taken separately."""
        concentration = self.concentration
        eq_zero = concentration.isclose(concentration.new_zeros(()))
        return eq_zero, where(eq_zero, 1.0, concentration)

    def _z(self, x):
        return (x - self.loc) / self.scale

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = self.loc._session.rand(*shape, dtype=self.loc.dtype)
        return self.icdf(u)

    def log_prob(self, value):
        self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        y = 1 / safe_conc + 1
        where_nonzero = where(y == 0, y, y * (safe_conc * z).log1p())
        return -self.scale.log() - where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value):
        """log P(X > value)."""
        self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        where_nonzero = -(safe_conc * z).log1p() / safe_conc
        return where(eq_zero, -z, where_nonzero)

    def log_cdf(self, value):
        """log P(X <= value)."""
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value):
        return self.log_cdf(value).exp()

    def icdf(self, value):
        eq_zero, safe_conc = self._safe_concentration()
        log_u = (-value).log1p()
        where_nonzero = self.loc + self.scale / safe_conc * (-safe_conc * log_u).expm1()
        where_zero = self.loc - self.scale * log_u
        return where(eq_zero, where_zero, where_nonzero)

    @property
    def mean(self):
        valid = self.concentration < 1
        safe_conc = where(valid, self.concentration, 0.5)
        return where(valid, self.loc + self.scale / (1 - safe_conc), math.nan)

    @property
    def variance(self):
        valid = self.concentration < 0.5
        safe_conc = where(valid, self.concentration, 0.25)
        return where(valid, self.scale.pow(2) / ((1 - safe_conc).pow(2) * (1 - 2 * safe_conc)), math.nan)

    def entropy(self):
        return (self.scale.log() + self.concentration + 1).expand(*self._batch_shape)

    mode = property(lambda self: self.loc)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        upper = where(self.concentration < 0, self.loc - self.scale / self.concentration, math.inf)
        return constraints.interval(self.loc, upper)
