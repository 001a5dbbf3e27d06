"""``Categorical``: a category index over the last dim of ``probs`` or ``logits``."""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Size, broadcast_tensors
from . import constraints
from .distribution import Distribution
from .utils import _check_probs_xor_logits, _ProbsOrLogits

__all__ = ["Categorical"]


def _expand_around_categorical(self, new, batch_shape):
    """``expand`` of a distribution built around a ``Categorical`` (``self._categorical``): ``new`` (from
    ``_get_checked_instance``) given the categorical expanded to ``batch_shape``, this event shape and this
    validation."""
    batch_shape = Size(tuple(batch_shape))
    new._categorical = self._categorical.expand(batch_shape)
    Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new


class Categorical(_ProbsOrLogits, Distribution):
    """A category index per row of ``probs`` (normalized here) or ``logits`` (normalized as log-softmax), over the
    last dim, as ``torch.distributions.Categorical``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True
    _binary_logits = False

    def __init__(self, probs=None, logits=None, validate_args=None):
        _check_probs_xor_logits(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.size()[-1]
        super().__init__(self._param.size()[:-1], validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def mean(self):
        return self._param._session.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return self.mean

    def sample(self, sample_shape=()):
        sample_shape = Size((sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape))
        count = math.prod(sample_shape)
        if not count:
            return self._param._session.zeros(*self._extended_shape(sample_shape), dtype="int64")
        rows = self.probs.detach().reshape(-1, self._num_events)
        drawn = rows.multinomial(count, replacement=True)  # (rows, count)
        return drawn.T.reshape(*self._extended_shape(sample_shape))

    def log_prob(self, value):
        self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = self._param._session.arange(self._num_events, dtype="int64").reshape(-1, *(1,) * len(self._batch_shape))
        return values.expand(-1, *self._batch_shape) if expand else values
