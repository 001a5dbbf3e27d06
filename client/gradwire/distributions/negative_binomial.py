"""``NegativeBinomial``: failures before ``total_count`` successes."""

from __future__ import annotations

from ..tensor import Size
from . import constraints
from .distribution import Distribution, _numbers
from .gamma import Gamma
from .poisson import Poisson
from .utils import _ProbsOrLogits, _softplus

__all__ = ["NegativeBinomial"]


class NegativeBinomial(_ProbsOrLogits, Distribution):
    """Failures before ``total_count`` successes of Bernoulli trials, each a success with probability 1 - ``probs``
    (PyTorch's convention: ``probs`` is the probability of the counted outcome), as
    ``torch.distributions.NegativeBinomial``. Sampled as a Poisson of a Gamma draw."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0), "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        param = self._set_probs_or_logits(probs, logits, total_count=total_count)
        super().__init__(param.size(), validate_args=validate_args,
                         _numbers=_numbers(total_count=total_count, probs=probs, logits=logits))

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new.__dict__.pop("_gamma", None)
        return new

    param_shape = property(lambda self: self._param.size())
    mean = property(lambda self: self.total_count * self.logits.exp())
    mode = property(lambda self: ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0))
    variance = property(lambda self: self.mean / (-self.logits).sigmoid())

    def sample(self, sample_shape=()):
        gamma = Gamma(self.total_count.detach(), (-self.logits.detach()).exp(), validate_args=False)
        return Poisson(gamma.sample(Size((sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape))),
                       validate_args=False).sample()

    def log_prob(self, value):
        self._validate_sample(value)
        # log sigmoid(x) = -softplus(-x)
        log_unnormalized = -self.total_count * _softplus(self.logits) - value * _softplus(-self.logits)
        log_normalization = -(self.total_count + value).lgamma() + (1.0 + value).lgamma() + self.total_count.lgamma()
        log_normalization = log_normalization.masked_fill(self.total_count + value == 0.0, 0.0)
        return log_unnormalized - log_normalization
