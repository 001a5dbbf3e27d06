"""``ContinuousBernoulli``: the continuous Bernoulli on [0, 1] (Loaiza-Ganem and Cunningham, 2019), density
C(lambda) lambda^x (1 - lambda)^(1 - x)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import defaults
from ..tensor import Size, where
from . import constraints
from .distribution import Distribution, _all_true
from .exp_family import ExponentialFamily
from .utils import (
    _bce_with_logits, _check_probs_xor_logits, broadcast_all, clamp_probs, lazy_property, logits_to_probs, probs_to_logits,
)

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    """The continuous Bernoulli of ``probs`` (in (0, 1)) or ``logits``, supported on [0, 1], as
    ``torch.distributions.ContinuousBernoulli``. ``probs`` is not a probability nor ``logits`` log-odds (the names
    are the Bernoulli's). Near ``probs`` = 1/2 (within ``lims``) the normalizer, mean and variance are Taylor
    expansions, as PyTorch's; draws are the icdf of uniforms (reparameterized)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        _check_probs_xor_logits(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            # checked before the clamp that keeps it away from 0 and 1 (after which it always passes), as PyTorch
            # does whenever validate_args is given (True or False): a read of the server for a tensor
            if validate_args is not None:
                checked = np.asarray(probs) if isinstance(probs, numbers.Number) else self.probs
                valid = self.arg_constraints["probs"].check(checked)
                if not _all_true(valid):
                    raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
            given = {"probs": float(np.clip(probs, *_eps_bounds()))} if isinstance(probs, numbers.Number) else {}
        else:
            (self.logits,) = broadcast_all(logits)
            given = {"logits": logits} if isinstance(logits, numbers.Number) else {}
        self._param = self.probs if probs is not None else self.logits
        self._lims = lims
        super().__init__(self._param.shape, validate_args=validate_args, _numbers=given)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ContinuousBernoulli, _instance)
        new._lims = self._lims
        batch_shape = Size(tuple(batch_shape))
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(*batch_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(*batch_shape)
            new._param = new.logits
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    param_shape = property(lambda self: self._param.size())

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        return where(self._outside_unstable_region(), self.probs, self._lims[0])

    def _cont_bern_log_norm(self):
        """The log normalizing constant as a function of ``probs`` (a Taylor expansion near 1/2)."""
        cut_probs = self._cut_probs()
        below_half = where(cut_probs <= 0.5, cut_probs, 0.0)
        above_half = where(cut_probs >= 0.5, cut_probs, 1.0)
        log_norm = ((-cut_probs).log1p() - cut_probs.log()).abs().log() \
            - where(cut_probs <= 0.5, (-2.0 * below_half).log1p(), (2.0 * above_half - 1.0).log())
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        cut_probs = self._cut_probs()
        mus = cut_probs / (2.0 * cut_probs - 1.0) + 1.0 / ((-cut_probs).log1p() - cut_probs.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return where(self._outside_unstable_region(), mus, taylor)

    @property
    def variance(self):
        cut_probs = self._cut_probs()
        variances = cut_probs * (cut_probs - 1.0) / (1.0 - 2.0 * cut_probs).pow(2) \
            + 1.0 / ((-cut_probs).log1p() - cut_probs.log()).pow(2)
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return where(self._outside_unstable_region(), variances, taylor)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = self.probs._session.rand(*shape, dtype=self.probs.dtype)
        return self.icdf(u)

    def log_prob(self, value):
        self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_with_logits(logits, value) + self._cont_bern_log_norm()

    def cdf(self, value):
        self._validate_sample(value)
        cut_probs = self._cut_probs()
        cdfs = (cut_probs.pow(value) * (1.0 - cut_probs).pow(1.0 - value) + cut_probs - 1.0) / (2.0 * cut_probs - 1.0)
        unbounded_cdfs = where(self._outside_unstable_region(), cdfs, value)
        return where(value <= 0.0, 0.0, where(value >= 1.0, 1.0, unbounded_cdfs))

    def icdf(self, value):
        cut_probs = self._cut_probs()
        inverted = ((-cut_probs + value * (2.0 * cut_probs - 1.0)).log1p() - (-cut_probs).log1p()) \
            / (cut_probs.log() - (-cut_probs).log1p())
        return where(self._outside_unstable_region(), inverted, value)

    def entropy(self):
        log_probs0, log_probs1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """The log normalizing constant as a function of the natural parameter (a Taylor expansion near 0)."""
        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = where(outside, x, self._lims[0] - 0.5)
        log_norm = cut.expm1().abs().log() - cut.abs().log()
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return where(outside, log_norm, taylor)


def _eps_bounds():
    eps = float(np.finfo(defaults.current).eps)
    return eps, 1 - eps
