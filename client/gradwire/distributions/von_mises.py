"""``VonMises``: the circular normal distribution of an angle.

Draws are Best and Fisher's rejection sampler (1979), as PyTorch's, in float64, written in ops: a few proposals
per element drawn at once and the first accepted kept, then one read of the server per round (whether every
element has one); another round only where none was accepted."""

from __future__ import annotations

import math

from .. import grad_mode
from ..tensor import where
from . import constraints
from .distribution import Distribution, _numbers
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]

_PROPOSALS = 8  # per element and round: each accepted with probability above 0.65 (whatever the concentration)
_MAX_ROUNDS = 64


def _eval_poly(y, coef):
    coef = list(coef)
    result = coef.pop()
    while coef:
        result = coef.pop() + y * result
    return result


# Abramowitz and Stegun 9.8.1-9.8.4: polynomial approximations of I0 and I1 (PyTorch's, kept for its values)
_I0_COEF_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.360768e-1, 0.45813e-2]
_I0_COEF_LARGE = [0.39894228, 0.1328592e-1, 0.225319e-2, -0.157565e-2, 0.916281e-2, -0.2057706e-1, 0.2635537e-1,
                  -0.1647633e-1, 0.392377e-2]
_I1_COEF_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.2658733e-1, 0.301532e-2, 0.32411e-3]
_I1_COEF_LARGE = [0.39894228, -0.3988024e-1, -0.362018e-2, 0.163801e-2, -0.1031555e-1, 0.2282967e-1, -0.2895312e-1,
                  0.1787654e-1, -0.420059e-2]
_COEF_SMALL = [_I0_COEF_SMALL, _I1_COEF_SMALL]
_COEF_LARGE = [_I0_COEF_LARGE, _I1_COEF_LARGE]


def _log_modified_bessel_fn(x, order=0):
    """log I_order(x) for x > 0 and order 0 or 1 (the polynomial approximations above)."""
    if order not in (0, 1):
        raise AssertionError(f"order must be 0 or 1, got {order}")
    y = (x / 3.75).pow(2)
    small = _eval_poly(y, _COEF_SMALL[order])
    if order == 1:
        small = x.abs() * small
    small = small.log()
    y = 3.75 / x
    large = x - 0.5 * x.log() + _eval_poly(y, _COEF_LARGE[order]).log()
    return where(x < 3.75, small, large)


def _rejection_sample(loc, concentration, proposal_r, shape):
    """Von Mises draws of ``shape`` (float64 parameters broadcast to it), wrapped into [-pi, pi); NaN where the
    concentration is not a positive finite number (PyTorch's sampler never finishes there)."""
    session, dtype = loc._session, loc.dtype
    valid = (concentration > 0) & concentration.isfinite()
    kappa = where(valid, concentration, 1.0).expand(*shape)
    r = where(valid, proposal_r, 2.0).expand(*shape)
    x = loc.new_zeros(*shape)
    done = valid.logical_not().expand(*shape)
    for _ in range(_MAX_ROUNDS):
        u = session.rand(_PROPOSALS, 3, *shape, dtype=dtype)
        u1, u2, u3 = u[:, 0], u[:, 1], u[:, 2]
        z = (math.pi * u1).cos()
        f = (1 + r * z) / (r + z)
        c = kappa * (r - f)
        accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
        first = accept.to(dtype).argmax(0, keepdim=True)  # the first accepted proposal (0 where none)
        draw = ((u3 - 0.5).sign() * f.acos()).gather(0, first).squeeze(0)
        x = where(done, x, draw)
        done = done | accept.any(0)
        if bool(done.all().item()):
            break
    else:  # (each round leaves an element undrawn with probability below 1e-3)
        raise RuntimeError("VonMises sampling: no proposal accepted")
    return where(valid, (x + math.pi + loc) % (2 * math.pi) - math.pi, math.nan)


class VonMises(Distribution):
    """The circular von Mises distribution of ``loc`` (an angle in radians) and ``concentration``, as
    ``torch.distributions.VonMises``: ``loc`` and values may be any reals, read as angles modulo 2 pi; ``mean`` and
    ``variance`` are the circular ones. No ``rsample``; ``sample`` is Best and Fisher's rejection sampler, in float64."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, (), validate_args, _numbers=_numbers(loc=loc, concentration=concentration))

    def log_prob(self, value):
        self._validate_sample(value)
        log_prob = self.concentration * (value - self.loc).cos()
        return log_prob - math.log(2 * math.pi) - _log_modified_bessel_fn(self.concentration, order=0)

    @lazy_property
    def _loc(self):
        return self.loc.double()

    @lazy_property
    def _concentration(self):
        return self.concentration.double()

    @lazy_property
    def _proposal_r(self):
        kappa = self._concentration
        tau = 1 + (1 + 4 * kappa.pow(2)).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        proposal_r = (1 + rho.pow(2)) / (2 * rho)
        taylor = 1 / kappa + kappa  # second order about 0, for a small concentration
        return where(kappa < 1e-5, taylor, proposal_r)

    def sample(self, sample_shape=()):
        """Best and Fisher's rejection sampler ("Efficient simulation of the von Mises distribution", Applied
        Statistics, 1979), in float64 whatever the parameters' dtype (as PyTorch, whose float32 sampler could hang
        at a small concentration)."""
        shape = tuple(self._extended_shape(sample_shape))
        with grad_mode.no_grad():
            drawn = _rejection_sample(self._loc.detach(), self._concentration.detach(), self._proposal_r.detach(), shape)
            return drawn.to(self.loc.dtype)

    mean = property(lambda self: self.loc, doc="The circular mean.")
    mode = property(lambda self: self.loc)

    @lazy_property
    def variance(self):
        """The circular variance, 1 - I1(concentration) / I0(concentration)."""
        return 1 - (_log_modified_bessel_fn(self.concentration, order=1)
                    - _log_modified_bessel_fn(self.concentration, order=0)).exp()
