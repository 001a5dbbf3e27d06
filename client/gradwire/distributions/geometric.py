"""``Geometric``: the number of failures before the first success of Bernoulli(probs) trials."""

from __future__ import annotations

import numpy as np

from ..tensor import where
from . import constraints
from .distribution import Distribution, _numbers
from .utils import _bce_with_logits, _ProbsOrLogits, broadcast_all

__all__ = ["Geometric"]


class Geometric(_ProbsOrLogits, Distribution):
    """Failures before the first success, each trial a success with probability ``probs`` (or ``sigmoid(logits)``),
    as ``torch.distributions.Geometric``: support 0, 1, 2, ..."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        param = self._set_probs_or_logits(probs, logits)
        super().__init__(param.shape, validate_args=validate_args, _numbers=_numbers(probs=probs, logits=logits))
        # (PyTorch also refuses probs == 0: outside (0, 1], not checked by unit_interval)

    mean = property(lambda self: 1.0 / self.probs - 1.0)
    mode = property(lambda self: self.probs.new_zeros(*self.probs.shape))
    variance = property(lambda self: (1.0 / self.probs - 1.0) / self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        tiny = float(np.finfo(self.probs.dtype).tiny)
        u = self.probs._session.rand(*shape, dtype=self.probs.dtype).clamp(min=tiny)
        return (u.log() / (-self.probs.detach()).log1p()).floor()

    def log_prob(self, value):
        self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        probs = where((probs == 1) & (value == 0), 0.0, probs)  # 0 * log(0): 0 at the sure success
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        return _bce_with_logits(self.logits, self.probs) / self.probs
