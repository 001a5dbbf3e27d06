"""``gradwire.special``: PyTorch's ``torch.special`` functions. Some are composites of the engine's ops, so their
gradients come from those ops' rules; ``erfc``, ``erfcx``, ``gammaln``, ``digamma``, ``polygamma``, ``i0``, ``i0e``,
``i1``, ``i1e``, ``ndtri``, ``entr``, ``xlogy``, ``xlog1py``, ``bessel_j0``, ``bessel_j1``, ``gammainc``, ``gammaincc`` and
``zeta`` are ops of their own (SciPy's functions on the server, PyTorch's gradients, integer inputs made float first).
So are the other Bessel functions (``airy_ai``, ``bessel_y0``, ``modified_bessel_k0``, ...) and the orthogonal
polynomials (``chebyshev_polynomial_t``, ``hermite_polynomial_h``, ``legendre_polynomial_p``, ...): PyTorch's own
algorithms on the server, float32 and float64 alone, no gradient, as PyTorch's."""

from __future__ import annotations

import math

from . import errors
from .tensor import _NUMBERS, _TORCH_TYPE_NAMES, Tensor, _op, bfloat16, float16, polygamma, where

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
           "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammainc", "gammaincc", "gammaln", "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e",
           "laguerre_polynomial_l", "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "modified_bessel_i0",
           "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
           "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy",
           "zeta"]

_SQRT_HALF = math.sqrt(0.5)


def _tensor(name, input, arg="input"):
    if not isinstance(input, Tensor):
        raise TypeError(f"special_{name}(): argument '{arg}' (position 1) must be Tensor, not {type(input).__name__}")
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

# PyTorch's algorithms on the server (its values where they differ from SciPy's), float32 and float64 alone (float16 and
# bfloat16 refused, as PyTorch's CPU kernels), integers made float; no gradient: the outputs never require grad, as PyTorch's
bessel_y0 = _unary("bessel_y0", "The Bessel function of the second kind, order 0: -inf at 0, NaN below (no gradient, as PyTorch's).")
bessel_y1 = _unary("bessel_y1", "The Bessel function of the second kind, order 1: -inf at 0, NaN below (no gradient, as PyTorch's).")
modified_bessel_i0 = _unary("modified_bessel_i0", "The modified Bessel function of the first kind, order 0 (no gradient, as PyTorch's).")
modified_bessel_i1 = _unary("modified_bessel_i1", "The modified Bessel function of the first kind, order 1 (no gradient, as PyTorch's).")
modified_bessel_k0 = _unary("modified_bessel_k0",
                            "The modified Bessel function of the second kind, order 0: inf at 0, NaN below (no gradient, as PyTorch's).")
modified_bessel_k1 = _unary("modified_bessel_k1",
                            "The modified Bessel function of the second kind, order 1: inf at 0, NaN below (no gradient, as PyTorch's).")


def airy_ai(x):
    """The Airy function Ai: 0 above 103.892, NaN at +-inf, as PyTorch's (no gradient, as PyTorch's)."""
    return _op("airy_ai", (_tensor("airy_ai", x, "x"),))


def scaled_modified_bessel_k0(x):
    """``exp(x) modified_bessel_k0(x)``, finite where K0 underflows (no gradient, as PyTorch's)."""
    return _op("scaled_modified_bessel_k0", (_tensor("scaled_modified_bessel_k0", x, "x"),))


def scaled_modified_bessel_k1(x):
    """``exp(x) modified_bessel_k1(x)``, finite where K1 underflows (no gradient, as PyTorch's)."""
    return _op("scaled_modified_bessel_k1", (_tensor("scaled_modified_bessel_k1", x, "x"),))


def spherical_bessel_j0(x):
    """The spherical Bessel function of the first kind, order 0: ``sin(x) / x``, 1 at 0, 0 at +-inf (no gradient)."""
    return _op("spherical_bessel_j0", (_tensor("spherical_bessel_j0", x, "x"),))


_POLYNOMIAL_SIGNATURES = (" * (Tensor x, Tensor n, *, Tensor out = None)\n * (Number x, Tensor n, *, Tensor out = None)\n"
                          " * (Tensor x, Number n, *, Tensor out = None)\n")


def _type_name(value):
    """A type as PyTorch's argument parser names it: ``float``, ``numpy.ndarray``."""
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _polynomial(name, doc):
    """``torch.special.<name>(x, n)``: the polynomial of degree n at x (x and n promoted together, as PyTorch's
    operands), refused in PyTorch's words unless one is a tensor and the other a tensor or a number."""
    numbers = (*_NUMBERS, complex)

    def function(x, n):
        if not ((isinstance(x, Tensor) and isinstance(n, (Tensor, *numbers))) or (isinstance(n, Tensor) and isinstance(x, numbers))):
            got = ", ".join("Tensor" if isinstance(v, Tensor) else _type_name(v) for v in (x, n))
            raise TypeError(f"special_{name}() received an invalid combination of arguments - got ({got}), but expected one of:\n"
                            f"{_POLYNOMIAL_SIGNATURES}")
        return _op(name, (x, n))

    function.__name__ = name
    function.__doc__ = (f"{doc}, elementwise: x and n tensors or numbers (one a tensor at least), broadcast together; n truncated "
                        "toward zero, and a negative, NaN or infinite n gives 0, as PyTorch's kernels read it (no gradient, as PyTorch's).")
    return function


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t", "The Chebyshev polynomial of the first kind T_n(x)")
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u", "The Chebyshev polynomial of the second kind U_n(x)")
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v", "The Chebyshev polynomial of the third kind V_n(x)")
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w", "The Chebyshev polynomial of the fourth kind W_n(x)")
shifted_chebyshev_polynomial_t = _polynomial("shifted_chebyshev_polynomial_t", "The shifted Chebyshev polynomial of the first kind T_n(2x - 1)")
shifted_chebyshev_polynomial_u = _polynomial("shifted_chebyshev_polynomial_u", "The shifted Chebyshev polynomial of the second kind U_n(2x - 1)")
shifted_chebyshev_polynomial_v = _polynomial("shifted_chebyshev_polynomial_v", "The shifted Chebyshev polynomial of the third kind V_n(2x - 1)")
shifted_chebyshev_polynomial_w = _polynomial("shifted_chebyshev_polynomial_w", "The shifted Chebyshev polynomial of the fourth kind W_n(2x - 1)")
hermite_polynomial_h = _polynomial("hermite_polynomial_h", "The physicists' Hermite polynomial H_n(x) (NaN above degree 128 in float32, "
                                                          "512 in float64)")
hermite_polynomial_he = _polynomial("hermite_polynomial_he", "The probabilists' Hermite polynomial He_n(x) (NaN above degree 128 in float32, "
                                                            "512 in float64)")
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l", "The Laguerre polynomial L_n(x)")
legendre_polynomial_p = _polynomial("legendre_polynomial_p", "The Legendre polynomial P_n(x)")


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
    if x._dtype in (float16, bfloat16):  # (as torch's CPU kernel)
        raise errors.UnimplementedError(f'"log_ndtr_cpu" not implemented for \'{_TORCH_TYPE_NAMES[x._dtype]}\'')
    tail, body = x.clamp(max=-1.0), x.clamp(min=-1.0)
    tail_value = (erfcx(tail * -_SQRT_HALF) * 0.5).log() - tail * tail * 0.5
    body_value = (erfc(body * _SQRT_HALF) * -0.5).log1p()
    return where(x < -1.0, tail_value, body_value)


def entr(input):
    """The elementwise entropy ``-x log x``: 0 at 0, -inf below it (its gradient inf at 0 and NaN below, as PyTorch's)."""
    return _op("entr", (_tensor("entr", input),))
