"""``gradwire.special``: PyTorch's ``torch.special`` functions. Most are composites of the engine's ops, so their
gradients come from those ops' rules; ``erfc``, ``erfcx``, ``gammaln``, ``digamma``, ``polygamma`` and ``i0`` are ops of
their own (SciPy's functions on the server)."""

from __future__ import annotations

import math

from .tensor import Tensor, _op, _xlog, polygamma, where

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammaln", "i0", "log1p", "log_ndtr", "log_softmax",
           "logit", "logsumexp", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy"]

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


def xlogy(input, other):
    """``input * log(other)``, 0 where input is 0 (unless other is NaN)."""
    return _xlog(input, other, lambda y: y.log() if isinstance(y, Tensor) else math.log(y))


def xlog1py(input, other):
    """``input * log1p(other)``, 0 where input is 0 (unless other is NaN)."""
    return _xlog(input, other, lambda y: y.log1p() if isinstance(y, Tensor) else math.log1p(y))


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
    """The standard normal quantile function (ndtr's inverse), ``sqrt 2 * erfinv(2p - 1)``."""
    return (_tensor("ndtri", input) * 2 - 1).erfinv() * math.sqrt(2)


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
    """The elementwise entropy ``-x log x``: 0 at 0, -inf below it."""
    x = _tensor("entr", input)
    safe = x.masked_fill(x <= 0, 1.0)  # log(1) = 0 off the positive side: no infinities in the gradient
    return where(x < 0, -math.inf, where(x > 0, -x * safe.log(), x * 0.0))
