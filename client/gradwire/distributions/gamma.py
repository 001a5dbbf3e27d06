"""``Gamma``, ``Chi2``, ``Beta``, ``Dirichlet`` and ``StudentT``: the Gamma family.

Their ``log_prob``, ``entropy`` and moments are compositions of ops (``lgamma``, ``digamma``), differentiable as
PyTorch's. Gamma draws are Marsaglia and Tsang's method written in ops: a few proposals per element drawn at once,
the first accepted kept (a read of the server, and another round only where none was accepted). ``rsample``
differentiates a draw with respect to its concentration implicitly, as PyTorch does: dx/dalpha at the draw's fixed
quantile, from a series for the derivative of the regularized incomplete gamma function (``_standard_gamma_grad``);
the other families' draws are functions of Gamma draws (Beta and Dirichlet normalized ones, Chi2 one, StudentT a
normal over the root of one), so their ``rsample`` follows. The gradient is first order only (no double backward
through a draw)."""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Size, stack, where
from . import constraints
from .distribution import Distribution, _numbers
from .exp_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Beta", "Chi2", "Dirichlet", "Gamma", "StudentT"]

_PROPOSALS = 4  # per element and round: each accepted with probability >= 0.95 (concentration >= 1)
_MAX_ROUNDS = 64


def _standard_gamma_grad(alpha, x):
    """dx/dalpha of a Gamma(alpha, 1) draw x at a fixed quantile, by the implicit function theorem:
    -(dP/dalpha) / (dP/dx) for P(alpha, x) the regularized lower incomplete gamma function.

    With P = sum_n x^(alpha+n) e^-x / Gamma(alpha+n+1), each term's derivative in alpha is the term times
    (log x - digamma(alpha+n+1)); divided by dP/dx = x^(alpha-1) e^-x / Gamma(alpha) the n-th term is
    exp((n+1) log x + lgamma(alpha) - lgamma(alpha+n+1)) (log x - digamma(alpha+n+1)), no e^-x left to underflow.
    The terms are a Poisson-like bump in alpha + n around x of width sqrt(x): the sum runs over a window of
    +-15 widths (one read of the largest draw), in float64. Its relative error is about 1e-16 / (1 - P): draws
    beyond the 1 - 1e-10 quantile lose accuracy."""
    a, x = alpha.double(), x.double()
    top = float(x.max().item()) if x.numel() else 0.0
    width = int(math.ceil(30 * math.sqrt(top) + 40))
    low = (x - a - 15 * x.sqrt() - 10).clamp(min=0).floor()
    n = low + a._session.arange(width, dtype="float64").reshape(width, *(1,) * a.ndim)
    log_x = x.log()
    ratio = ((n + 1) * log_x + a.lgamma() - (a + n + 1).lgamma()).exp()
    return -(ratio * (log_x - (a + n + 1).digamma())).sum(0).to(alpha.dtype)


def _rsample_standard_gamma(concentration):
    """A Gamma(concentration, 1) draw whose gradient with respect to the concentration is the implicit one (the
    draw itself out of the graph plus dx/dalpha (alpha - alpha.detach()): value x, first derivative dx/dalpha)."""
    x = _standard_gamma(concentration)
    if not concentration.requires_grad:
        return x
    slope = _standard_gamma_grad(concentration.detach(), x)
    return x + slope * (concentration - concentration.detach())


def _standard_gamma(concentration):
    """Gamma(concentration, 1) draws of ``concentration``'s shape (out of the graph). Below 1, a draw of
    concentration + 1 times U^(1/concentration). NaN where the concentration is not a positive finite number."""
    alpha = concentration.detach()
    session, dtype, shape = alpha._session, alpha.dtype, tuple(alpha.shape)
    valid = (alpha > 0) & alpha.isfinite()
    alpha = where(valid, alpha, 1.0)
    boosted = where(alpha < 1, alpha + 1, alpha)
    d = boosted - 1.0 / 3.0
    c = (9 * d).rsqrt()
    result, done = alpha.new_zeros(*shape), valid.logical_not()
    for _ in range(_MAX_ROUNDS):
        z = session.randn(_PROPOSALS, *shape, dtype=dtype)
        u = session.rand(_PROPOSALS, *shape, dtype=dtype)
        v = (1 + c * z) ** 3
        positive = v > 0
        v_safe = where(positive, v, 1.0)
        accepted = positive & (u.log() < 0.5 * z * z + d - d * v_safe + d * v_safe.log())
        first = accepted.to(dtype).argmax(0, keepdim=True)  # the first accepted proposal (0 where none)
        draw = (d * v_safe).gather(0, first).squeeze(0)
        result = where(done, result, draw)
        done = done | accepted.any(0)
        if bool(done.all().item()):
            break
    else:  # (each round leaves an element undrawn with probability below 1e-5)
        raise RuntimeError("Gamma sampling: no proposal accepted")
    small = session.rand(*shape, dtype=dtype)
    result = where(alpha < 1, result * small.pow(alpha.reciprocal()), result)
    return where(valid, result.clamp(min=float(np.finfo(dtype).tiny)), math.nan)


class Gamma(ExponentialFamily):
    """Gamma(concentration, rate), density x^(a-1) e^(-rate x) rate^a / Gamma(a), as ``torch.distributions.Gamma``."""

    has_rsample = True
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args,
                         _numbers=_numbers(concentration=concentration, rate=rate))

    mean = property(lambda self: self.concentration / self.rate)
    mode = property(lambda self: ((self.concentration - 1) / self.rate).clamp(min=0))
    variance = property(lambda self: self.concentration / self.rate.pow(2))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return _rsample_standard_gamma(self.concentration.expand(*shape)) / self.rate

    def log_prob(self, value):
        self._validate_sample(value)
        a, b = self.concentration, self.rate
        return a.xlogy(b) + (a - 1).xlogy(value) - b * value - a.lgamma()

    def entropy(self):
        a = self.concentration
        return a - self.rate.log() + a.lgamma() + (1.0 - a) * a.digamma()

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return (x + 1).lgamma() + (x + 1) * (-y.reciprocal()).log()


class Chi2(Gamma):
    """Chi-squared with ``df`` degrees of freedom: Gamma(df / 2, 1 / 2), as ``torch.distributions.Chi2``."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (df_t,) = broadcast_all(df)
        self.concentration, self.rate = 0.5 * df_t, df_t.new_full(tuple(df_t.shape), 0.5)
        Distribution.__init__(self, df_t.shape, validate_args=validate_args, _numbers=_numbers(df=df))

    df = property(lambda self: self.concentration * 2)

    def expand(self, batch_shape, _instance=None):
        new = Distribution.expand(self, batch_shape, _instance)
        new.concentration = self.concentration.expand(*batch_shape)
        new.rate = self.rate.expand(*batch_shape)
        return new


class Dirichlet(ExponentialFamily):
    """Dirichlet(concentration) over the simplex of the last dim, as ``torch.distributions.Dirichlet``."""

    has_rsample = True
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        gammas = _rsample_standard_gamma(self.concentration.expand(*shape))
        return gammas / gammas.sum(-1, keepdim=True)

    def log_prob(self, value):
        self._validate_sample(value)
        c = self.concentration
        return (c - 1).xlogy(value).sum(-1) + c.sum(-1).lgamma() - c.lgamma().sum(-1)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        c = self.concentration
        mode = (c - 1).clamp(min=0.0)
        mode = mode / mode.sum(-1, keepdim=True)
        # where every concentration is below 1 the density is largest at the vertices: PyTorch's answer there is
        # the first vertex (the argmax of its 0/0), and so is this one
        vertex = (c._session.arange(c.shape[-1]) == 0).to(c.dtype)
        return where((c < 1).all(-1, keepdim=True), vertex, mode)

    @property
    def variance(self):
        c = self.concentration
        total = c.sum(-1, keepdim=True)
        return c * (total - c) / (total.pow(2) * (total + 1))

    def entropy(self):
        c = self.concentration
        k, a0 = c.shape[-1], c.sum(-1)
        return c.lgamma().sum(-1) - a0.lgamma() - (k - a0) * a0.digamma() - ((c - 1.0) * c.digamma()).sum(-1)

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - x.sum(-1).lgamma()


class Beta(ExponentialFamily):
    """Beta(concentration1, concentration0) on [0, 1], as ``torch.distributions.Beta`` (a two-category Dirichlet)."""

    has_rsample = True
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval

    def __init__(self, concentration1, concentration0, validate_args=None):
        c1, c0 = broadcast_all(concentration1, concentration0)
        numbers = _numbers(concentration1=concentration1, concentration0=concentration0)
        # PyTorch checks the two as its Dirichlet's concentration; numbers are checked here, the Dirichlet's
        # tensor (read back) only where they fail, for PyTorch's message
        mode = validate_args if validate_args is not None else self._validate_args
        if mode is None and not all(v > 0 for v in numbers.values()):
            mode = True
        self._dirichlet = Dirichlet(stack([c1, c0], -1), validate_args=mode)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = Size(tuple(batch_shape))
        new._dirichlet = self._dirichlet.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    concentration1 = property(lambda self: self._dirichlet.concentration[..., 0])
    concentration0 = property(lambda self: self._dirichlet.concentration[..., 1])
    mean = property(lambda self: self.concentration1 / (self.concentration1 + self.concentration0))

    @property
    def mode(self):
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value):
        self._validate_sample(value)
        heads_tails = stack([value, 1.0 - value], -1)
        return self._dirichlet.log_prob(heads_tails)

    def entropy(self):
        return self._dirichlet.entropy()

    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        return x.lgamma() + y.lgamma() - (x + y).lgamma()


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, shifted by ``loc`` and scaled by ``scale``, as
    ``torch.distributions.StudentT``."""

    has_rsample = True
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, validate_args=validate_args, _numbers=_numbers(df=df, loc=loc, scale=scale))

    @property
    def mean(self):
        return where(self.df <= 1, math.nan, self.loc)

    mode = property(lambda self: self.loc)

    @property
    def variance(self):
        df = self.df
        finite = self.scale.pow(2) * df / (df - 2)
        return where(df <= 1, math.nan, where(df <= 2, math.inf, finite))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        df = self.df.expand(*shape)
        x = self.df._session.randn(*shape, dtype=self.df.dtype)
        z = 2 * _rsample_standard_gamma(0.5 * df)  # chi-squared(df)
        return self.loc + self.scale * x * (z / df).rsqrt()

    def log_prob(self, value):
        self._validate_sample(value)
        y = (value - self.loc) / self.scale
        z = self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi) + (0.5 * self.df).lgamma() \
            - (0.5 * (self.df + 1.0)).lgamma()
        return -0.5 * (self.df + 1.0) * (y.pow(2) / self.df).log1p() - z

    def entropy(self):
        df = self.df
        lbeta = (0.5 * df).lgamma() + math.lgamma(0.5) - (0.5 * (df + 1)).lgamma()
        return self.scale.log() + 0.5 * (df + 1) * ((0.5 * (df + 1)).digamma() - (0.5 * df).digamma()) \
            + 0.5 * df.log() + lbeta
