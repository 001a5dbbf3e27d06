"""``gradwire.distributions``: PyTorch's ``Normal``, ``Categorical`` and ``Bernoulli`` and ``kl_divergence``, for
policy gradients and variational models: ``sample``/``rsample``, ``log_prob``, ``entropy`` and the moments, with
PyTorch's formulas as ops on the server (differentiable where PyTorch's are).

Samples come from the session's generator (reproducible under ``manual_seed``, not PyTorch's sequence).
Arguments are not validated against their support (PyTorch's ``validate_args``): that would cost a round trip.
"""

from __future__ import annotations

import math

import numpy as np

from . import errors
from .tensor import Tensor

__all__ = ["Bernoulli", "Categorical", "Distribution", "Normal", "kl_divergence"]


def _shape(sample_shape):
    return (sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape)


class Distribution:
    """What the distributions share: ``batch_shape``, ``event_shape`` (empty: one number per draw) and ``sample``
    as ``rsample`` taken out of the graph."""

    batch_shape: tuple = ()
    event_shape: tuple = ()
    has_rsample = False

    def sample(self, sample_shape=()):
        return self.rsample(sample_shape).detach() if self.has_rsample else self._draw(_shape(sample_shape))

    def rsample(self, sample_shape=()):
        raise errors.UnimplementedError(f"{type(self).__name__} has no reparameterized sample (rsample)")

    def _extended(self, sample_shape):
        return _shape(sample_shape) + tuple(self.batch_shape) + tuple(self.event_shape)

    @property
    def stddev(self):
        return self.variance.sqrt()

    def __repr__(self):
        return f"{type(self).__name__}()"


def _as_tensor(value, like):
    return value if isinstance(value, Tensor) else like._session.tensor(np.asarray(value, dtype=like.dtype))


class Normal(Distribution):
    """N(loc, scale^2), elementwise over the broadcast of ``loc`` and ``scale`` (tensors, or one may be a number)."""

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        first = loc if isinstance(loc, Tensor) else scale
        if not isinstance(first, Tensor):
            raise TypeError("Normal: loc or scale must be a gradwire Tensor (numbers alone have no session)")
        self.loc, self.scale = _as_tensor(loc, first), _as_tensor(scale, first)
        self.batch_shape = np.broadcast_shapes(tuple(self.loc.shape), tuple(self.scale.shape))

    mean = property(lambda self: self.loc.expand(*self.batch_shape))
    mode = mean
    variance = property(lambda self: (self.scale ** 2).expand(*self.batch_shape))

    def rsample(self, sample_shape=()):
        noise = self.loc._session.randn(*self._extended(sample_shape), dtype=self.loc.dtype)
        return self.loc + noise * self.scale

    def log_prob(self, value):
        value = _as_tensor(value, self.loc)
        return -((value - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def entropy(self):
        return (0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()).expand(*self.batch_shape)

    def __repr__(self):
        return f"Normal(loc: {self.loc.size()}, scale: {self.scale.size()})"


class Categorical(Distribution):
    """A category index per row of ``probs`` (normalized here) or ``logits`` (normalized as log-softmax), over the last dim."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
            eps = float(np.finfo(self.probs.dtype).eps)
            self.logits = self.probs.clamp(eps, 1 - eps).log()
        else:
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            self.probs = self.logits.softmax(-1)
        self.batch_shape = tuple(self.logits.shape[:-1])
        self._num_events = self.logits.shape[-1]

    def _draw(self, sample_shape):
        rows = self.probs.detach().reshape(-1, self._num_events)
        count = math.prod(sample_shape)
        drawn = rows.multinomial(count, replacement=True) if count else None  # (rows, count)
        if drawn is None:
            return self.probs._session.zeros(*sample_shape, *self.batch_shape, dtype="int64")
        return drawn.T.reshape(*sample_shape, *self.batch_shape)

    def log_prob(self, value):
        value = _as_tensor(value, self.logits).long() if not isinstance(value, Tensor) else value.long()
        shape = np.broadcast_shapes(tuple(value.shape), self.batch_shape)
        logits = self.logits.expand(*shape, self._num_events)
        return logits.gather(-1, value.expand(*shape).unsqueeze(-1)).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def __repr__(self):
        return f"Categorical(probs: {self.probs.size()})"


class Bernoulli(Distribution):
    """1 with probability ``probs`` (or ``sigmoid(logits)``), elementwise."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.probs = probs
            eps = float(np.finfo(probs.dtype).eps)
            clamped = probs.clamp(eps, 1 - eps)
            self.logits = clamped.log() - (-clamped).log1p()
        else:
            self.logits, self.probs = logits, logits.sigmoid()
        self.batch_shape = tuple(self.probs.shape)

    mean = property(lambda self: self.probs)
    variance = property(lambda self: self.probs * (1 - self.probs))

    def _draw(self, sample_shape):
        return self.probs.detach().expand(*(sample_shape + self.batch_shape)).bernoulli()

    def log_prob(self, value):
        value = _as_tensor(value, self.logits)
        # -BCE with logits: the stable form max(x, 0) - x y + log(1 + exp(-|x|))
        x = self.logits
        return -(x.clamp(min=0) - x * value + (-x.abs()).exp().log1p())

    def entropy(self):
        x = self.logits
        return x.clamp(min=0) - x * self.probs + (-x.abs()).exp().log1p()

    def __repr__(self):
        return f"Bernoulli(probs: {self.probs.size()})"


def _softplus(x):
    return x.clamp(min=0) + (-x.abs()).exp().log1p()


def kl_divergence(p, q):
    """KL(p || q) for two Normals, two Categoricals or two Bernoullis, as ``torch.distributions.kl_divergence``
    (where q gives a probability of exactly 0 to what p can draw, PyTorch's is inf; this one is finite, large)."""
    if isinstance(p, Normal) and isinstance(q, Normal):
        ratio = (p.scale / q.scale) ** 2
        return 0.5 * (ratio + ((p.loc - q.loc) / q.scale) ** 2 - 1 - ratio.log())
    if isinstance(p, Categorical) and isinstance(q, Categorical):
        return (p.probs * (p.logits - q.logits)).sum(-1)
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        return p.probs * (_softplus(-q.logits) - _softplus(-p.logits)) + (1 - p.probs) * (_softplus(q.logits) - _softplus(p.logits))
    raise errors.UnimplementedError(f"kl_divergence({type(p).__name__}, {type(q).__name__}) is not implemented")
