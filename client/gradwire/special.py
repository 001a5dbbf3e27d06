"""``gradwire.special``: PyTorch's ``torch.special`` functions. Some are composites of the engine's ops, so their
gradients come from those ops' rules; ``erfc``, ``erfcx``, ``gammaln``, ``digamma``, ``polygamma``, ``i0``, ``i0e``,
``i1``, ``i1e``, ``ndtri``, ``entr``, ``xlogy``, ``xlog1py``, ``bessel_j0``, ``bessel_j1``, ``gammainc``, ``gammaincc`` and
``zeta`` are ops of their own (SciPy's functions on the server, PyTorch's gradients, integer inputs made float first)."""

from __future__ import annotations

import math

from .tensor import Tensor, _op, polygamma, where

__all__ = ["bessel_j0", "bessel_j1", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc",
           "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
           "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy", "zeta"]

_SQRT_HALF = math.sqrt(0.5)


def _tensor(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input


def _method(name, method=None):
    def function(input):
        return getattr(_tensor(name, input), method or name)()

    function.__name__ = name
    function.__doc__ = f"``torch.special.{name}``: elementwise ``input.{method or name}()``."
    return function


expit = _method("expit", "sigmoid")
erf, erfc, erfinv = _method("erf"), _method("erfc"), _method("erfinv")
gammaln = _method("gammaln", "lgamma")
digamma = psi = _method("digamma")
i0, log1p, expm1, exp2, sinc = _method("i0"), _method("log1p"), _method("expm1"), _method("exp2"), _method("sinc")


def erfcx(input):
    """``exp(x^2) * erfc(x)``, the scaled complementary error function: finite where erfc underflows."""
    return _op("erfcx", (_tensor("erfcx", input),))


def logit(input, eps=None):
    """log(p / (1 - p)), p clamped to [eps, 1 - eps] first when ``eps`` is given."""
    return _tensor("logit", input).logit(eps)


def _binary(name, input, other):
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return _op(name, (input, other))


def xlogy(input, other):
    """``input * log(other)``, 0 where input is 0 (unless other is NaN)."""
    return _binary("xlogy", input, other)


def xlog1py(input, other):
    """``input * log1p(other)``, 0 where input is 0 (unless other is NaN)."""
    return _binary("xlog1py", input, other)


def _unary(name, doc):
    def function(input):
        return _op(name, (_tensor(name, input),))

    function.__name__ = name
    function.__doc__ = doc
    return function


i0e = _unary("i0e", "The exponentially scaled modified Bessel function of the first kind, order 0: ``exp(-|x|) i0(x)``.")
i1 = _unary("i1", "The modified Bessel function of the first kind, order 1.")
i1e = _unary("i1e", "The exponentially scaled modified Bessel function of the first kind, order 1: ``exp(-|x|) i1(x)``.")
bessel_j0 = _unary("bessel_j0", "The Bessel function of the first kind, order 0 (no gradient, as PyTorch's).")
bessel_j1 = _unary("bessel_j1", "The Bessel function of the first kind, order 1 (no gradient, as PyTorch's).")


def _tensors(name, input, other):
    for position, (arg, value) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(f"special_{name}(): argument '{arg}' (position {position}) must be Tensor, not {type(value).__name__}")
    return _op(name, (input, other))


def gammainc(input, other):
    """The regularized lower incomplete gamma function P(input, other) (a gradient for ``other`` only, as PyTorch's)."""
    return _tensors("gammainc", input, other)


def gammaincc(input, other):
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P (a gradient for ``other`` only)."""
    return _tensors("gammaincc", input, other)


def zeta(input, other):
    """The Hurwitz zeta function sum_k (k + other)^-input (a gradient for ``other`` only, as PyTorch's)."""
    return _binary("zeta", input, other)


def multigammaln(input, p):
    """The multivariate log-gamma function of dimension ``p``: ``p (p - 1) / 4 log(pi) + sum_j lgamma(input - j / 2)``."""
    x = _tensor("multigammaln", input)
    if p < 1:
        raise ValueError("p has to be greater than or equal to 1")
    out = x.lgamma()
    for j in range(1, p):
        out = out + (x - j / 2).lgamma()
    return out + p * (p - 1) / 4 * math.log(math.pi)


def softmax(input, dim, *, dtype=None):
    return _tensor("softmax", input).softmax(dim, dtype)


def log_softmax(input, dim, *, dtype=None):
    return _tensor("log_softmax", input).log_softmax(dim, dtype)


def logsumexp(input, dim, keepdim=False):
    return _tensor("logsumexp", input).logsumexp(dim, keepdim)


def round(input, *, decimals=0):  # noqa: A001 - torch.special's name
    return _tensor("round", input).round(decimals)


def ndtr(input):
    """The standard normal CDF, ``erfc(-x / sqrt 2) / 2``: exact in the lower tail, as PyTorch's."""
    return erfc(_tensor("ndtr", input) * -_SQRT_HALF) * 0.5


def ndtri(input):
    """The standard normal quantile function (ndtr's inverse), SciPy's on the server."""
    return _op("ndtri", (_tensor("ndtri", input),))


def log_ndtr(input):
    """log of the standard normal CDF, as PyTorch's: below -1 through erfcx (``log(erfcx(-x / sqrt 2) / 2) - x^2 / 2``,
    finite far into the tail), else ``log1p(-erfc(x / sqrt 2) / 2)``. Each branch reads x clamped to its own side, so
    the other's infinities reach neither value nor gradient."""
    x = _tensor("log_ndtr", input)
    tail, body = x.clamp(max=-1.0), x.clamp(min=-1.0)
    tail_value = (erfcx(tail * -_SQRT_HALF) * 0.5).log() - tail * tail * 0.5
    body_value = (erfc(body * _SQRT_HALF) * -0.5).log1p()
    return where(x < -1.0, tail_value, body_value)


def entr(input):
    """The elementwise entropy ``-x log x``: 0 at 0, -inf below it (its gradient inf at 0 and NaN below, as PyTorch's)."""
    return _op("entr", (_tensor("entr", input),))
