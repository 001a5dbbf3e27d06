"""``Multinomial``: counts per category over ``total_count`` categorical draws."""

from __future__ import annotations

import math

from ..nn import functional as F
from ..tensor import Size, broadcast_tensors, where
from . import constraints
from .binomial import Binomial
from .categorical import Categorical, _expand_around_categorical
from .distribution import Distribution

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """Counts over the last dim of ``probs`` (or ``logits``) from ``total_count`` categorical draws, as
    ``torch.distributions.Multinomial`` (``total_count`` a Python int)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    total_count: int

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        batch_shape, event_shape = self._categorical.batch_shape, self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        new.total_count = self.total_count
        new = _expand_around_categorical(self, new, batch_shape)
        new._binomial = Binomial(total_count=self.total_count, probs=new._categorical.probs)
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    mean = property(lambda self: self.probs * self.total_count)
    variance = property(lambda self: self.total_count * self.probs * (1 - self.probs))
    logits = property(lambda self: self._categorical.logits)
    probs = property(lambda self: self._categorical.probs)
    param_shape = property(lambda self: self._categorical.param_shape)

    def sample(self, sample_shape=()):
        sample_shape = Size((sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape))
        k = self._event_shape[0]
        if self.total_count == 0:
            return self.probs._session.zeros(*self._extended_shape(sample_shape), dtype=self.probs.dtype)
        picks = self._categorical.sample(Size((self.total_count,)) + sample_shape)  # (n, *sample, *batch)
        return F.one_hot(picks, k).sum(0).to(self.probs.dtype)

    def log_prob(self, value):
        self._validate_sample(value)
        logits, value = broadcast_tensors(self.logits, value)
        log_factorial_n = (value.sum(-1) + 1).lgamma()
        log_factorial_xs = (value + 1).lgamma().sum(-1)
        logits = where((value == 0) & (logits == -math.inf), 0.0, logits)  # 0 log 0 = 0
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)

    def entropy(self):
        n = self.probs.new_tensor(float(self.total_count))
        term1 = n * self._categorical.entropy() - (n + 1).lgamma()
        support = self._binomial.enumerate_support()[1:]
        binomial_probs = self._binomial.log_prob(support).exp()
        weights = (support + 1).lgamma()
        return term1 + (binomial_probs * weights).sum(-1).sum(0)
