"""``RelaxedBernoulli`` and ``RelaxedOneHotCategorical``: the Concrete / Gumbel-softmax relaxations, reparameterized."""

from __future__ import annotations

from . import constraints
from .categorical import Categorical, _expand_around_categorical
from .distribution import Distribution, _numbers
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform
from .utils import _ProbsOrLogits, broadcast_all, clamp_probs

__all__ = ["ExpRelaxedCategorical", "LogitRelaxedBernoulli", "RelaxedBernoulli", "RelaxedOneHotCategorical"]


class LogitRelaxedBernoulli(_ProbsOrLogits, Distribution):
    """The logit of a ``RelaxedBernoulli`` draw: (logistic noise + logits) / temperature."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        param = self._set_probs_or_logits(probs, logits)
        self.temperature = temperature if not isinstance(temperature, (int, float)) else param.new_tensor(float(temperature))
        super().__init__(param.shape, validate_args=validate_args, _numbers=_numbers(probs=probs, logits=logits))

    param_shape = property(lambda self: self._param.size())

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        probs = clamp_probs(self.probs.expand(*shape))
        uniforms = clamp_probs(probs._session.rand(*shape, dtype=probs.dtype))
        return (uniforms.log() - (-uniforms).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value):
        self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value * self.temperature
        return self.temperature.log() + diff - 2 * diff.exp().log1p()


class _RelaxedThroughTransform(TransformedDistribution):
    """A relaxed distribution: a ``_base_class(temperature, probs, logits)`` draw through ``_transform_class()``,
    with the base's ``temperature``, ``logits`` and ``probs`` (RelaxedBernoulli, RelaxedOneHotCategorical)."""

    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = self._base_class(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, self._transform_class(), validate_args=validate_args)

    temperature = property(lambda self: self.base_dist.temperature)
    logits = property(lambda self: self.base_dist.logits)
    probs = property(lambda self: self.base_dist.probs)


class RelaxedBernoulli(_RelaxedThroughTransform):
    """A relaxed (continuous in (0, 1)) Bernoulli of ``temperature``, as ``torch.distributions.RelaxedBernoulli``:
    sigmoid of a ``LogitRelaxedBernoulli``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _base_class, _transform_class = LogitRelaxedBernoulli, SigmoidTransform

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, _instance=self._get_checked_instance(RelaxedBernoulli, _instance))


class ExpRelaxedCategorical(Distribution):
    """The log of a ``RelaxedOneHotCategorical`` draw: log-softmax((logits + Gumbel noise) / temperature)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        param = self._categorical._param
        self.temperature = temperature if not isinstance(temperature, (int, float)) else param.new_tensor(float(temperature))
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ExpRelaxedCategorical, _instance)
        new.temperature = self.temperature
        return _expand_around_categorical(self, new, batch_shape)

    param_shape = property(lambda self: self._categorical.param_shape)
    logits = property(lambda self: self._categorical.logits)
    probs = property(lambda self: self._categorical.probs)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        uniforms = clamp_probs(self.logits._session.rand(*shape, dtype=self.logits.dtype))
        gumbels = -((-(uniforms.log())).log())
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(dim=-1, keepdim=True)

    def log_prob(self, value):
        k = self._categorical._num_events
        self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_scale = self.temperature.new_full(tuple(self.temperature.shape), float(k)).lgamma() \
            - self.temperature.log() * -(k - 1)
        score = logits - value * self.temperature
        score = (score - score.logsumexp(dim=-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(_RelaxedThroughTransform):
    """A relaxed one-hot categorical (Concrete, Gumbel-softmax) of ``temperature``, points of the simplex, as
    ``torch.distributions.RelaxedOneHotCategorical``: exp of an ``ExpRelaxedCategorical``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    _base_class, _transform_class = ExpRelaxedCategorical, ExpTransform

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, _instance=self._get_checked_instance(RelaxedOneHotCategorical, _instance))
