"""``Poisson``: counts of events at ``rate``."""

from __future__ import annotations

import math

from ..errors import InvalidArgumentError, UnimplementedError
from ..floats import is_floating
from ..tensor import _TENSOR_TYPE_NAMES, stack, where
from . import constraints
from .distribution import _numbers
from .exp_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Poisson", "poisson"]


def _inverse_cdf_counts(log_pmf, low, width, u):
    """Integer draws by inverting the cumulative pmf over ``low + 0 .. width - 1`` (``low`` a tensor, the window's
    start per element; beyond the window the mass is negligible): ``u`` uniforms, one per draw."""
    k = low + u._session.arange(width, dtype=u.dtype).reshape(width, *(1,) * u.ndim)  # (width, *shape)
    cdf = log_pmf(k).exp().cumsum(0)
    return low + (cdf < u).sum(0).to(u.dtype)


def _poisson_counts(rate, generator=None, refuse_invalid=False):
    """One Poisson count per element of ``rate`` (NaN where the rate is negative or not finite). One read of the
    server: the largest finite rate, which sizes the window, and with ``refuse_invalid`` whether every rate is
    non-negative and not NaN (torch.poisson refuses the others)."""
    valid = (rate >= 0) & rate.isfinite()
    finite = where(valid, rate, 0.0)
    top = 0.0
    if rate.numel() and refuse_invalid:
        allowed, top = stack([((rate >= 0) & ~rate.isnan()).all().to(rate.dtype), finite.max()]).tolist()
        if not allowed:
            raise InvalidArgumentError("invalid Poisson rate, expected rate to be non-negative")
    elif rate.numel():
        top = float(finite.max().item())
    rate = finite
    width = int(math.ceil(20 * math.sqrt(top) + 40))
    low = (rate - 10 * rate.sqrt() - 20).clamp(min=0).floor()
    u = rate._session.rand(*rate.shape, generator=generator, dtype=rate.dtype)
    drawn = _inverse_cdf_counts(lambda k: k.xlogy(rate) - rate - (k + 1).lgamma(), low, width, u)
    return where(valid, drawn, math.nan)


def poisson(input, generator=None):
    """``torch.poisson``: a count drawn from Poisson(rate) for each rate in ``input`` (a floating-point tensor of
    non-negative rates), from ``generator`` or the session's generator. One read of the server (the largest rate,
    which sizes the window) also checks the rates, as PyTorch refuses a negative or NaN one."""
    if not is_floating(input.dtype):
        raise UnimplementedError(f'"poisson_cpu" not implemented for \'{_TENSOR_TYPE_NAMES[input.dtype]}\'')
    return _poisson_counts(input.detach(), generator, refuse_invalid=True)


class Poisson(ExponentialFamily):
    """Counts with mean ``rate``, as ``torch.distributions.Poisson``. Sampled by inverting the cdf over a window of
    mean +- 10 standard deviations (one read of the largest rate from the server)."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args, _numbers=_numbers(rate=rate))

    mean = property(lambda self: self.rate)
    mode = property(lambda self: self.rate.floor())
    variance = property(lambda self: self.rate)

    def sample(self, sample_shape=()):
        return _poisson_counts(self.rate.detach().expand(*self._extended_shape(sample_shape)))

    def log_prob(self, value):
        self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()

    @property
    def _natural_params(self):
        return (self.rate.log(),)

    def _log_normalizer(self, x):
        return x.exp()
