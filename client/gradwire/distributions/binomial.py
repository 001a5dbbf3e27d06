"""``Binomial``: successes in ``total_count`` Bernoulli(probs) trials."""

from __future__ import annotations

import math

from ..errors import InvalidArgumentError
from ..floats import is_floating
from ..shaping import broadcast_shapes
from ..tensor import _TENSOR_TYPE_NAMES, stack, where
from . import constraints
from .distribution import Distribution, _numbers
from .poisson import _inverse_cdf_counts
from .utils import _ProbsOrLogits, probs_to_logits

__all__ = ["Binomial", "binomial"]


def _clamp_by_zero(x):
    # max(x, 0) with a gradient of 1/2 at 0, as PyTorch's
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


def _binomial_counts(n, p, logits, generator=None):
    """One draw of successes in ``n`` trials of probability ``p`` (log-odds ``logits``) per element; NaN where the
    arguments are out of range."""
    valid = (n >= 0) & n.isfinite() & (p >= 0) & (p <= 1)
    n, p = where(valid, n, 0.0), where(valid, p, 0.5)
    logits = where(valid, logits, 0.0)
    mean, sd = n * p, (n * p * (1 - p)).sqrt()
    if n.numel():
        top_n, top_sd = (float(v) for v in stack([n.max(), sd.max()]).tolist())  # one read of the server
    else:
        top_n, top_sd = 0.0, 0.0
    width = int(min(top_n + 1, math.ceil(20 * top_sd + 40)))
    low = (mean - 10 * sd - 20).clamp(min=0).floor().minimum(n + 1 - width).clamp(min=0)
    u = n._session.rand(*n.shape, generator=generator, dtype=n.dtype)
    drawn = _inverse_cdf_counts(lambda k: Binomial._log_pmf(k, n, logits), low, width, u).minimum(n)
    return where(valid, drawn, math.nan)


def binomial(count, prob, generator=None):
    """``torch.binomial``: successes in ``count`` trials of probability ``prob`` (floating-point tensors of one dtype,
    broadcast together), from ``generator`` or the session's generator. Probabilities past [0, 1] are clamped into
    it, as PyTorch's sampler treats them."""
    if not is_floating(count.dtype):
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: {_TENSOR_TYPE_NAMES[count.dtype]}")
    if prob.dtype != count.dtype:
        raise InvalidArgumentError(f"Found dtype {_TENSOR_TYPE_NAMES[prob.dtype]} but expected {_TENSOR_TYPE_NAMES[count.dtype]}")
    shape = broadcast_shapes(count.shape, prob.shape)
    n, p = count.detach().expand(*shape), prob.detach().clamp(0, 1).expand(*shape)
    return _binomial_counts(n, p, probs_to_logits(p, is_binary=True), generator)


class Binomial(_ProbsOrLogits, Distribution):
    """Successes in ``total_count`` trials, each a success with probability ``probs`` (or ``sigmoid(logits)``), as
    ``torch.distributions.Binomial``. Sampled by inverting the cdf over a window of mean +- 10 standard deviations
    (one read of the server for the window's width)."""

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        param = self._set_probs_or_logits(probs, logits, total_count=total_count)
        super().__init__(param.size(), validate_args=validate_args,
                         _numbers=_numbers(total_count=total_count, probs=probs, logits=logits))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def param_shape(self):
        return self._param.size()

    mean = property(lambda self: self.total_count * self.probs)
    mode = property(lambda self: ((self.total_count + 1) * self.probs).floor().minimum(self.total_count))
    variance = property(lambda self: self.total_count * self.probs * (1 - self.probs))

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        n, p = self.total_count.detach().expand(*shape), self.probs.detach().expand(*shape)
        return _binomial_counts(n, p, self.logits.detach().expand(*shape))

    @staticmethod
    def _log_pmf(k, n, logits):
        log_factorial_n, log_factorial_k, log_factorial_nmk = (n + 1).lgamma(), (k + 1).lgamma(), (n - k + 1).lgamma()
        # k logits - n log(1 + e^logits), the latter as n max(logits, 0) + n log1p(e^-|logits|)
        normalize_term = n * _clamp_by_zero(logits) + n * (-logits.abs()).exp().log1p() - log_factorial_n
        return k * logits - normalize_term - log_factorial_k - log_factorial_nmk

    def log_prob(self, value):
        self._validate_sample(value)
        return self._log_pmf(value, self.total_count, self.logits)

    def entropy(self):
        total_count = int(self.total_count.max().item())
        if not int(self.total_count.min().item()) == total_count:
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand=True):
        total_count = int(self.total_count.max().item())
        if not int(self.total_count.min().item()) == total_count:
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        values = self._param._session.arange(1 + total_count, dtype=self._param.dtype)
        values = values.reshape(-1, *(1,) * len(self._batch_shape))
        return values.expand(-1, *self._batch_shape) if expand else values
