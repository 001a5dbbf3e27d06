"""More of PyTorch's maths against torch, values, dtypes and gradients, through a real server: the inverse hyperbolics,
torch's other names for the arithmetic and the comparisons, in-place forms (comparisons keep self's dtype), the
floating-point and number-theory functions (signbit, copysign, frexp, ldexp, nextafter, gcd, lcm, heaviside), the
predicates, and the statistics (logcumsumexp, nanmedian, nanquantile, cov, corrcoef, trapezoid, histogram, renorm,
mvlgamma, ...)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwire as gw
from tests.e2e._torch_compare import assert_matches_torch, assert_same_error

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)
X = RNG.standard_normal((4, 6))
Y = RNG.standard_normal((4, 6))
ABOVE_ONE = RNG.uniform(1.2, 4.0, (4, 6))
UNIT = RNG.uniform(-0.9, 0.9, (4, 6))
POSITIVE = RNG.uniform(0.2, 5.0, (4, 6))
PROBABILITIES = RNG.uniform(0.05, 0.95, (4, 6))
INTS = RNG.integers(-20, 20, (4, 6))
INTS_B = RNG.integers(1, 12, (4, 6))
SMALL_INTS = RNG.integers(-3, 4, (4, 6))
EXPONENTS = RNG.integers(0, 6, (4, 6))  # (torch's ldexp gradient is 2**n in integers: 0 for a negative n)
WITH_NAN = X.copy()
WITH_NAN[0, 1] = WITH_NAN[2, 0] = WITH_NAN[2, 5] = np.nan
WITH_NAN[3] = np.nan  # a row of NaN alone
WIDE = np.array([[-1000.0, 0.0, -2000.0, 3.0, 700.0], [5.0, -800.0, 4.0, -np.inf, 1.0]])  # exp over- and underflows
SPECIAL = np.array([-2.0, -0.0, 0.0, 3.5, np.inf, -np.inf, np.nan, 1e-300])
TIES = np.round(X * 2) / 2


@pytest.fixture(scope="module")
def shared(server):
    """One session for the tables' rows (each row's tensors are its own): a connection per row would double the time."""
    s = gw.connect(server.address, seed=0, timeout=10)
    yield s
    s.close()


def _long(lib, x, values):
    return x.new_tensor(values, dtype=lib.int64)


FUNCTIONS = {
    # inverse hyperbolics, their aliases, in place (on a non-leaf: the gradient flows through) and torch-level in place
    "asinh": (lambda lib, x: lib.asinh(x * 3), X),
    "arcsinh-method": (lambda lib, x: x.arcsinh(), X),
    "asinh-int": (lambda lib, n: lib.asinh(n), INTS),
    "acosh": (lambda lib, x: lib.acosh(x), ABOVE_ONE),
    "arccosh": (lambda lib, x: lib.arccosh(x), ABOVE_ONE),
    "atanh": (lambda lib, x: x.atanh(), UNIT),
    "arctanh": (lambda lib, x: lib.arctanh(x), UNIT),
    "asinh_": (lambda lib, x: (x.detach() * 2).asinh_(), X),  # (torch has no derivative for the in-place inverse hyperbolics)
    "acosh_": (lambda lib, x: (x.detach() + 0).acosh_(), ABOVE_ONE),
    "atanh_": (lambda lib, x: (x.detach() * 1).atanh_(), UNIT),
    "arcsinh_": (lambda lib, x: (x.detach() * 1).arcsinh_(), X),
    "arccosh_": (lambda lib, x: (x.detach() * 1).arccosh_(), ABOVE_ONE),
    "arctanh_": (lambda lib, x: (x.detach() * 1).arctanh_(), UNIT),
    "arcsin_": (lambda lib, x: (x * 1).arcsin_(), UNIT),
    "arccos_": (lambda lib, x: (x * 1).arccos_(), UNIT),
    "arctan_": (lambda lib, x: (x * 1).arctan_(), X),
    "torch.asinh_": (lambda lib, x: lib.asinh_(x.detach() * 1), X),
    "torch.arctanh_": (lambda lib, x: lib.arctanh_(x.detach() * 1), UNIT),
    # other names for the arithmetic
    "absolute": (lambda lib, x: lib.absolute(x), X),
    "absolute_": (lambda lib, x: (x * 1).absolute_(), X),
    "multiply": (lambda lib, x, y: lib.multiply(x, y), X, Y),
    "multiply_": (lambda lib, x, y: (x * 1).multiply_(y), X, Y),
    "subtract": (lambda lib, x, y: lib.subtract(x, y, alpha=2.5), X, Y),
    "subtract_": (lambda lib, x, y: (x * 1).subtract_(y[0], alpha=-1), X, Y),
    "divide": (lambda lib, x, y: lib.divide(x, y), X, POSITIVE),
    "divide-floor": (lambda lib, x, y: lib.divide(x * 5, y, rounding_mode="floor"), X, POSITIVE),
    "divide-trunc": (lambda lib, x, y: x.divide(y * 0.3, rounding_mode="trunc"), X, POSITIVE),
    "div-floor-inexact": (lambda lib, x: lib.div(x.new_tensor([1.0, -1.0, 7.0]), x[0, :3] * 0 + 0.1, rounding_mode="floor"), X),
    "divide-trunc-int": (lambda lib, n, m: lib.divide(n, m, rounding_mode="trunc"), INTS, INTS_B),
    "divide-floor-int": (lambda lib, n, m: n.div(-m, rounding_mode="floor"), INTS, INTS_B),
    "divide-trunc-int-negative": (lambda lib, n, m: n.divide(-m, rounding_mode="trunc"), INTS, INTS_B),
    "divide-int": (lambda lib, n, m: lib.divide(n, m), INTS, INTS_B),
    "divide_-trunc": (lambda lib, x, y: (x * 1).divide_(y, rounding_mode="trunc"), X, POSITIVE),
    "true_divide": (lambda lib, n, m: lib.true_divide(n, m), INTS, INTS_B),
    "true_divide_": (lambda lib, x, y: (x * 1).true_divide_(y), X, POSITIVE),
    "rsub": (lambda lib, x, y: lib.rsub(x, y, alpha=3), X, Y),
    "rsub-number": (lambda lib, x: lib.rsub(x, 2.0), X),
    "positive": (lambda lib, x: lib.positive(x) * 2, X),
    "positive-operator": (lambda lib, x: +x * 2, X),
    "negative_": (lambda lib, x: (x * 1).negative_(), X),
    "torch.negative_": (lambda lib, x: lib.negative_(x * 1), X),
    "sgn": (lambda lib, x: lib.sgn(x) * x, TIES),
    "sgn_": (lambda lib, x: (x * 1).sgn_(), TIES),
    # comparisons under other names; in place they keep self's dtype (and pass a zero gradient)
    "greater": (lambda lib, x, y: lib.greater(x, y), TIES, Y),
    "greater_equal": (lambda lib, x: x.greater_equal(0.5), TIES),
    "less": (lambda lib, x, y: lib.less(x, y), TIES, Y),
    "less_equal": (lambda lib, x: lib.less_equal(x, 0.0), TIES),
    "not_equal": (lambda lib, x: lib.not_equal(x, 0.5), TIES),
    "eq_": (lambda lib, x: (x * 1).eq_(0.5), TIES),
    # (other gets no gradient here; torch's gives it zeros)
    "ne_": (lambda lib, x, y: (x * 1).ne_(y.detach().round()), TIES, Y),
    "lt_": (lambda lib, x, y: (x * 1).lt_(y.detach()), TIES, Y),
    "le_-int": (lambda lib, n: n.clone().le_(2), SMALL_INTS),
    "gt_-int-float": (lambda lib, n: n.clone().gt_(0.5), SMALL_INTS),
    "ge_": (lambda lib, x, y: (x * 1).ge_(y[:1].detach()), TIES, Y),
    "greater_": (lambda lib, x: (x * 1).greater_(0.0), TIES),
    "greater_equal_": (lambda lib, x: (x * 1).greater_equal_(0.0), TIES),
    "less_": (lambda lib, x: (x * 1).less_(0.0), TIES),
    "less_equal_": (lambda lib, x: (x * 1).less_equal_(0.0), TIES),
    "not_equal_": (lambda lib, x: (x * 1).not_equal_(0.0), TIES),
    # angles, logs in base 2, powers in float64
    "deg2rad": (lambda lib, x: lib.deg2rad(x * 90), X),
    "rad2deg": (lambda lib, x: x.rad2deg(), X),
    "deg2rad-int": (lambda lib, n: lib.deg2rad(n), INTS),
    "deg2rad_": (lambda lib, x: lib.deg2rad_(x * 1), X),
    "rad2deg_": (lambda lib, x: (x * 1).rad2deg_(), X),
    "logaddexp2": (lambda lib, x, y: lib.logaddexp2(x, y), X, Y),
    "logaddexp2-far": (lambda lib, x, y: x.logaddexp2(y * 3000), X, Y),
    "float_power": (lambda lib, x: lib.float_power(x.float(), 3), POSITIVE),
    "float_power-tensor": (lambda lib, x, y: lib.float_power(x, y.float()), POSITIVE, Y),
    "float_power-int": (lambda lib, n: n.float_power(2), INTS),
    "float_power_": (lambda lib, x, y: (x * 1).float_power_(y), POSITIVE, Y),
    # floating-point and number-theory functions
    "signbit": (lambda lib, x: lib.signbit(x), SPECIAL),
    "signbit-int": (lambda lib, n: n.signbit(), INTS),
    "copysign": (lambda lib, x, y: lib.copysign(x, y), X, Y),
    "copysign-zeros": (lambda lib, x, y: lib.copysign(y[:, :3], x[:, :3] * 0 - 0.0) * 1, X, Y),
    "copysign-number": (lambda lib, x: x.copysign(-1.0), X),
    "copysign-int": (lambda lib, n, y: lib.copysign(n, y), INTS, Y),
    "copysign-float32": (lambda lib, x, y: lib.copysign(x.float(), y), X, Y),
    "copysign_": (lambda lib, x, y: (x * 1).copysign_(y), X, Y),
    "ldexp": (lambda lib, x, n: lib.ldexp(x, n), X, EXPONENTS),
    "ldexp-negative": (lambda lib, x, n: lib.ldexp(x.detach(), n), X, SMALL_INTS),
    "ldexp-float-exponent": (lambda lib, x, y: x.ldexp(y), X, Y),
    "ldexp_": (lambda lib, x, n: lib.ldexp_(x * 1, n), X, EXPONENTS),
    "frexp": (lambda lib, x: tuple(lib.frexp(x * 100)), X),
    "frexp-special": (lambda lib, x: tuple(x.frexp()), SPECIAL[[0, 1, 2, 3]]),
    "frexp-tiny": (lambda lib, x: tuple(x.detach().frexp()), SPECIAL[[7]]),
    "nextafter": (lambda lib, x, y: lib.nextafter(x, y), X, Y),
    "nextafter_": (lambda lib, x, y: (x * 1).nextafter_(y), X, Y),
    "gcd": (lambda lib, n, m: lib.gcd(n, m), INTS, INTS_B),
    "lcm": (lambda lib, n, m: n.lcm(m[:1]), INTS, INTS_B),
    "gcd_": (lambda lib, n, m: n.clone().gcd_(m), INTS, INTS_B),
    "torch.lcm_": (lambda lib, n, m: lib.lcm_(n.clone(), m), INTS, INTS_B),
    "heaviside": (lambda lib, x, y: lib.heaviside(x.detach(), y.detach()), TIES, Y),  # (no derivative: see below)
    "heaviside-int": (lambda lib, n, m: n.heaviside(m), SMALL_INTS, INTS_B),
    "isposinf": (lambda lib, x: lib.isposinf(x), SPECIAL),
    "isneginf": (lambda lib, x: x.isneginf(), SPECIAL),
    "isneginf-int": (lambda lib, n: lib.isneginf(n), INTS),
    "isreal": (lambda lib, x: lib.isreal(x), SPECIAL),
    # statistics and integrals
    "logcumsumexp": (lambda lib, x: lib.logcumsumexp(x, 1), X),
    "logcumsumexp-dim0": (lambda lib, x: x.logcumsumexp(-2), X),
    "logcumsumexp-wide": (lambda lib, x: lib.logcumsumexp(x, 1), WIDE),
    "nanmedian": (lambda lib, x: lib.nanmedian(x), WITH_NAN),
    "nanmedian-dim": (lambda lib, x: tuple(lib.nanmedian(x[:3], 1)), WITH_NAN),  # (an all-NaN row's index is torch's nth_element's)
    "nanmedian-all-nan": (lambda lib, x: lib.nanmedian(x.detach(), 1).values, WITH_NAN),
    "nanmedian-dim0-keepdim": (lambda lib, x: tuple(x.nanmedian(0, keepdim=True)), WITH_NAN),
    "nanmedian-no-nan": (lambda lib, x: tuple(x.nanmedian(-1)), X),
    "nanquantile": (lambda lib, x: lib.nanquantile(x, 0.3, dim=1), WITH_NAN),
    "nanquantile-all": (lambda lib, x: x.nanquantile(0.75), WITH_NAN),
    "nanquantile-all-keepdim": (lambda lib, x: lib.nanquantile(x, 0.2, keepdim=True), WITH_NAN),
    "nanmedian-0d": (lambda lib, x: tuple(lib.nanmedian(x[0, 0], 0)), X),
    "nanquantile-many-keepdim": (lambda lib, x: lib.nanquantile(x, x.new_tensor([0.1, 0.5, 0.9]), dim=0, keepdim=True), WITH_NAN),
    "nanquantile-nearest": (lambda lib, x: lib.nanquantile(x, 0.4, 1, interpolation="nearest"), WITH_NAN),
    "nanquantile-midpoint": (lambda lib, x: x.nanquantile(0.4, 1, interpolation="midpoint"), WITH_NAN),
    "nanquantile-lower": (lambda lib, x: x.nanquantile(0.4, 1, interpolation="lower"), WITH_NAN),
    "nanquantile-higher": (lambda lib, x: x.nanquantile(0.4, 1, interpolation="higher"), WITH_NAN),
    "cov": (lambda lib, x: lib.cov(x), X),
    "cov-correction0": (lambda lib, x: x.cov(correction=0), X),
    "cov-1d": (lambda lib, x: lib.cov(x[0]), X),
    "cov-weights": (lambda lib, x, w: lib.cov(x, fweights=_long(lib, x, [1, 2, 1, 3, 1, 2]), aweights=w[0]), X, POSITIVE),
    "cov-fweights": (lambda lib, x: lib.cov(x, fweights=_long(lib, x, [1, 2, 1, 3, 1, 2])), X),
    "cov-int": (lambda lib, n: lib.cov(n), INTS),
    "corrcoef": (lambda lib, x: lib.corrcoef(x), X),
    "corrcoef-1d": (lambda lib, x: x[0].corrcoef() * 1, X),
    "inner": (lambda lib, x, y: lib.inner(x, y), X, Y),
    "inner-3d-1d": (lambda lib, x, y: x.reshape(2, 2, 6).inner(y[0]), X, Y),
    "inner-scalar": (lambda lib, x, y: lib.inner(x, y[0, 0]), X, Y),
    "vdot": (lambda lib, x, y: lib.vdot(x[0], y[1]), X, Y),
    "trapezoid": (lambda lib, y: lib.trapezoid(y), X),
    "trapezoid-dx-dim": (lambda lib, y: lib.trapezoid(y, dx=0.25, dim=0), X),
    "trapezoid-x": (lambda lib, y, x: lib.trapezoid(y, x[0].cumsum(0)), X, POSITIVE),
    "trapezoid-x-2d": (lambda lib, y, x: lib.trapezoid(y, x.cumsum(0), dim=0), X, POSITIVE),
    "trapz": (lambda lib, y, x: lib.trapz(y, x[0]), X, POSITIVE),
    "trapz-dx": (lambda lib, y: lib.trapz(y, dx=2.0), X),
    "cumulative_trapezoid": (lambda lib, y: lib.cumulative_trapezoid(y), X),
    "cumulative_trapezoid-x": (lambda lib, y, x: lib.cumulative_trapezoid(y, x[:, 0].cumsum(0), dim=0), X, POSITIVE),
    "aminmax": (lambda lib, x: tuple(lib.aminmax(x)), TIES),
    "aminmax-dim": (lambda lib, x: tuple(x.aminmax(dim=1, keepdim=True)), X),
    "aminmax-all-keepdim": (lambda lib, x: tuple(lib.aminmax(x, keepdim=True)), X),
    "msort": (lambda lib, x: lib.msort(x), X),
    "renorm": (lambda lib, x: lib.renorm(x, 2, 0, 1.5), X),
    "renorm-p1-dim1": (lambda lib, x: x.renorm(1, 1, 2.0), X),
    "renorm_": (lambda lib, x: (x * 1).renorm_(3, -1, 1.0), X),
    "mvlgamma": (lambda lib, x: lib.mvlgamma(x, 3), ABOVE_ONE),
    "mvlgamma_": (lambda lib, x: (x * 1).mvlgamma_(1), ABOVE_ONE),
    # in-place forms of functions gradwire had
    "fmod_": (lambda lib, x, y: (x * 3).fmod_(y), X, POSITIVE),
    "remainder_": (lambda lib, x, y: (x * 3).remainder_(y), X, POSITIVE),
    "frac_": (lambda lib, x: (x * 3).frac_(), X),
    "logit_": (lambda lib, x: (x * 1).logit_(), PROBABILITIES),
    "hypot_": (lambda lib, x, y: (x * 1).hypot_(y), X, Y),
    "sinc_": (lambda lib, x: (x * 1).sinc_(), X),
    "nan_to_num_": (lambda lib, x: (x * 1).nan_to_num_(nan=2.0), WITH_NAN),
    "cumsum_": (lambda lib, x: (x * 1).cumsum_(1), X),
    "cumprod_": (lambda lib, x: (x * 1).cumprod_(0), X),
    "clip_": (lambda lib, x: (x * 1).clip_(-0.5, 0.5), X),
    "floor_divide_": (lambda lib, n, m: n.clone().floor_divide_(m), INTS, INTS_B),
    "atan2_": (lambda lib, x, y: (x * 1).atan2_(y), X, Y),
    "arctan2_": (lambda lib, x, y: (x * 1).arctan2_(y), X, Y),
    "xlogy_": (lambda lib, x, y: (x * 1).xlogy_(y), X, POSITIVE),
    "bitwise_and_": (lambda lib, n, m: n.clone().bitwise_and_(m), INTS, INTS_B),
    "bitwise_or_": (lambda lib, n, m: n.clone().bitwise_or_(m), INTS, INTS_B),
    "bitwise_xor_": (lambda lib, n, m: n.clone().bitwise_xor_(m), INTS, INTS_B),
    "bitwise_not_": (lambda lib, n: n.clone().bitwise_not_(), INTS),
    # (in place on a tensor that requires grad the history is left as it was, as torch's)
    "logical_and_": (lambda lib, x, y: (x * 1).logical_and_(y > 0), TIES, Y),
    "logical_or_": (lambda lib, n, y: n.clone().logical_or_(y > 0), SMALL_INTS, Y),
    "logical_xor_": (lambda lib, x, y: (x * 1).logical_xor_(y > 0), TIES, Y),
    "logical_not_": (lambda lib, x: (x * 1).logical_not_(), TIES),
    "fix_": (lambda lib, x: (x * 3).fix_(), X),
    "tril_": (lambda lib, x: (x * 1).tril_(1), X),
    "triu_": (lambda lib, x: (x * 1).triu_(-1), X),
    "polygamma_": (lambda lib, x: (x * 1).polygamma_(1), POSITIVE),
    "torch.frac_": (lambda lib, x: lib.frac_(x * 3), X),
    "torch.clip_": (lambda lib, x: lib.clip_(x * 1, max=0.2), X),
    "torch.xlogy_": (lambda lib, x, y: lib.xlogy_(x * 1, y), X, POSITIVE),
    "addmm_": (lambda lib, x, y: (x[:, :4] * 1).addmm_(x, y.T[:, :4], beta=0.5, alpha=2), X, Y),
    "addmv_": (lambda lib, x, y: (x[0, :4] * 1).addmv_(x, y[0], alpha=-1), X, Y),
    "addr_": (lambda lib, x, y: (x * 1).addr_(x[:, 0], y[0]), X, Y),
    "baddbmm_": (lambda lib, x, y: (x[:2, :2].reshape(2, 2, 1) * 1).baddbmm_(x.reshape(2, 2, 6), y.reshape(2, 6, 2)[:, :, :1]), X, Y),
    "addbmm_": (lambda lib, x, y: (x[:2, :2] * 1).addbmm_(x.reshape(2, 2, 6), y.reshape(2, 6, 2)), X, Y),
}

# torch's own polygamma(n >= 1), and so its mvlgamma's and lgamma's gradients, is good to about 1e-9 relative
_LOOSER = {"mvlgamma": (1e-8, 1e-12), "mvlgamma_": (1e-8, 1e-12), "polygamma_": (1e-8, 1e-12), "cov-weights": (1e-9, 1e-12)}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_match_torch(shared, name):
    f, *arrays = FUNCTIONS[name]
    rtol, atol = _LOOSER.get(name, (1e-10, 1e-12))
    assert_matches_torch(shared, f, *arrays, rtol=rtol, atol=atol, float32_floor=(1e-6, 1e-7))


def test_inverse_hyperbolics_keep_their_precision(session):
    """Engine ops, not compositions: no cancellation near 0 (asinh, atanh) nor overflow far out (asinh, acosh)."""
    x = np.array([1e-12, -3e-9, 1e-5, 1e30, -1e200])
    t = torch.tensor(x)
    np.testing.assert_allclose(gw.asinh(session.tensor(x)).numpy(), torch.asinh(t).numpy(), rtol=1e-14)
    np.testing.assert_allclose(gw.atanh(session.tensor(x[:3])).numpy(), torch.atanh(t[:3]).numpy(), rtol=1e-14)
    far = np.array([1.0 + 1e-12, 1e200])
    np.testing.assert_allclose(gw.acosh(session.tensor(far)).numpy(), torch.acosh(torch.tensor(far)).numpy(), rtol=1e-12)
    edges = [-1.0, 1.0, 2.0]
    assert np.array_equal(gw.atanh(session.tensor(edges)).numpy(), torch.atanh(torch.tensor(edges)).numpy(), equal_nan=True)


def test_named_tuples(session):
    x = session.tensor(X)
    for result, name, fields in ((gw.frexp(x), "frexp", ("mantissa", "exponent")), (x.nanmedian(0), "nanmedian", ("values", "indices")),
                                 (gw.aminmax(x), "aminmax", ("min", "max")), (x.histogram(3), "histogram", ("hist", "bin_edges"))):
        assert type(result).__name__ == name and result._fields == fields


HISTOGRAMS = {
    "bins": (lambda lib, x: lib.histogram(x, 5), X),
    "range": (lambda lib, x: x.histogram(4, range=(-1.0, 1.0)), X),
    "weight-density": (lambda lib, x, w: lib.histogram(x, 6, weight=w, density=True), X, POSITIVE),
    "edges": (lambda lib, x: lib.histogram(x, x.new_tensor([-2.0, -0.5, 0.0, 0.25, 2.0])), X),
    "edges-weight": (lambda lib, x, w: x.histogram(x.new_tensor([-1.0, 0.0, 1.0]), weight=w), X, POSITIVE),
    "float32-last-edge": (lambda lib, x: lib.histogram(x.float(), 3, range=(-2.0, 1.0)), TIES),  # values on the edges, the last inclusive
    "one-value": (lambda lib, x: lib.histogram(x[:1, :1], 2), X),
}


@pytest.mark.parametrize("name", HISTOGRAMS)
def test_histogram_matches_torch(shared, name):
    """Counts and edges as torch's (not differentiable here; torch's has no derivative either)."""
    f, *arrays = HISTOGRAMS[name]
    ours, theirs = f(gw, *map(shared.tensor, arrays)), f(torch, *map(torch.tensor, arrays))
    for o, t in zip(ours, theirs):
        assert str(o.dtype) == str(t.dtype)
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-6 if t.dtype == torch.float32 else 1e-12)


def test_predicates_match_torch(session):
    for dtype in ("float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool"):
        ours, theirs = session.zeros(2, dtype=dtype), torch.zeros(2, dtype=getattr(torch, dtype))
        for name in ("is_floating_point", "is_complex", "is_signed"):
            assert getattr(ours, name)() == getattr(theirs, name)(), (name, dtype)
            if hasattr(torch, name):
                assert getattr(gw, name)(ours) == getattr(torch, name)(theirs), (name, dtype)
    for values in ([0.0], [2.5], [[True]], [-1]):
        assert gw.is_nonzero(session.tensor(values)) is torch.is_nonzero(torch.tensor(values))
    a, b = session.zeros(2, 3), session.zeros(3, 2)
    assert a.is_same_size(a * 2) and not gw.is_same_size(a, b)


def test_inplace_comparisons_keep_the_dtype_and_pass_a_zero_gradient(session):
    x = session.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.gt_(3.0)
    assert y.dtype == gw.float32 and y.requires_grad and y.tolist() == [0.0, 1.0, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    n = session.tensor([3, 1, 2], dtype=gw.int16)
    assert n.le_(2) is n and n.dtype == gw.int16 and n.tolist() == [0, 1, 1]


def test_heaviside_has_no_derivative_as_torchs(session):
    x, v = session.tensor(X, requires_grad=True), session.tensor(Y)
    out = gw.heaviside(x, v)
    assert out.requires_grad  # as torch's: recorded, and a backward through it refused
    with pytest.raises(gw.UnimplementedError, match="derivative for aten::heaviside is not implemented"):
        out.sum().backward()
        x.grad.numpy()
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside is not implemented"):
        torch.heaviside(torch.tensor(X, requires_grad=True), torch.tensor(Y)).sum().backward()


NO_DERIVATIVE_FOR_INPUT_0 = {  # torch's words differ by op: each its own
    "zeta": lambda lib, x, q: lib.special.zeta(x, q), "igamma": lambda lib, x, q: lib.igamma(x, q),
    "igammac": lambda lib, x, q: lib.igammac(x, q), "floor_divide": lambda lib, x, q: lib.floor_divide(x, q),
}


@pytest.mark.parametrize("name", sorted(NO_DERIVATIVE_FOR_INPUT_0))
def test_a_backward_to_an_input_without_a_derivative_is_refused_in_torchs_words(session, name):
    call = NO_DERIVATIVE_FOR_INPUT_0[name]
    with pytest.raises(RuntimeError) as theirs:  # (NotImplementedError, but floor_divide's)
        call(torch, torch.tensor([2.5, 3.0], requires_grad=True), torch.tensor([1.0, 2.0])).sum().backward()
    x = session.tensor([2.5, 3.0], requires_grad=True)
    with pytest.raises(gw.UnimplementedError) as ours:
        call(gw, x, session.tensor([1.0, 2.0])).sum().backward()
        session.sync()
    assert str(theirs.value) in str(ours.value)


def test_division_by_zero_in_rounded_integer_division_is_refused(session):
    with pytest.raises(gw.GradwireError, match="ZeroDivisionError"):
        gw.div(session.tensor([1, 2]), session.tensor([1, 0]), rounding_mode="trunc").tolist()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.div(torch.tensor([1, 2]), torch.tensor([1, 0]), rounding_mode="trunc")



ERRORS = {
    "gcd-float": lambda lib, x: lib.gcd(x, x),
    "lcm-float-other": lambda lib, x: x.long().lcm(x),
    "gcd-bool": lambda lib, x: lib.gcd(x > 0, x > 0),
    "gcd-number": lambda lib, x: lib.gcd(x.long(), 6),
    "gcd_-float": lambda lib, x: x.clone().gcd_(x.long()),
    "frexp-int": lambda lib, x: lib.frexp(x.long()),
    "nextafter-int": lambda lib, x: lib.nextafter(x.long(), x.long()),
    "heaviside-dtypes": lambda lib, x: lib.heaviside(x, x.float()),
    "heaviside-number": lambda lib, x: lib.heaviside(x, 1.0),
    "float_power_-float32": lambda lib, x: x.float().float_power_(2),
    "float_power_-int": lambda lib, x: x.long().float_power_(2),
    "xlogy_-int": lambda lib, x: x.long().xlogy_(2.0),
    "atan2_-int": lambda lib, x: x.long().atan2_(x.long()),
    "deg2rad_-int": lambda lib, x: x.long().deg2rad_(),
    "eq_-broadcast": lambda lib, x: x[0].clone().eq_(x),
    "bitwise_and_-float": lambda lib, x: x.clone().bitwise_and_(x.long()),
    "positive-bool": lambda lib, x: lib.positive(x > 0),
    "div-rounding-mode": lambda lib, x: lib.div(x, x, rounding_mode="round"),
    "logcumsumexp-int": lambda lib, x: lib.logcumsumexp(x.long(), 0),
    "renorm-1d": lambda lib, x: lib.renorm(x[0], 2, 0, 1.0),
    "renorm-p0": lambda lib, x: x.renorm(0, 0, 1.0),
    "renorm-maxnorm": lambda lib, x: x.renorm(2, 0, -1.0),
    "mvlgamma-p0": lambda lib, x: lib.mvlgamma(x, 0),
    "cov-3d": lambda lib, x: lib.cov(x.reshape(2, 2, 6)),
    "inner-sizes": lambda lib, x: lib.inner(x, x[:, :4]),
    "vdot-2d": lambda lib, x: lib.vdot(x, x),
    "trapezoid-x-length": lambda lib, x: lib.trapezoid(x, x[0, :4]),
    "nanquantile-q": lambda lib, x: lib.nanquantile(x, 1.5),
    "nanquantile-qs": lambda lib, x: lib.nanquantile(x, x.new_tensor([0.5, -0.1])),
    "nanquantile-interpolation": lambda lib, x: x.nanquantile(0.5, interpolation="cubic"),
    "nanquantile-int": lambda lib, x: x.long().nanquantile(0.5),
    "histogram-int": lambda lib, x: lib.histogram(x.long(), 3),
    "histogram-range": lambda lib, x: lib.histogram(x, 3, range=(2.0, -2.0)),
    "is_nonzero-many": lambda lib, x: lib.is_nonzero(x),
    "is_nonzero-empty": lambda lib, x: x[:0].is_nonzero(),
    "asinh_-leaf": lambda lib, x: x.requires_grad_().asinh_(),
}


@pytest.mark.parametrize("name", ERRORS)
def test_math_errors_are_torchs(shared, name):
    assert_same_error(lambda lib: ERRORS[name](lib, shared.tensor(X)), lambda lib: ERRORS[name](lib, torch.tensor(X)))
    assert shared.tensor([1.0, 2.0]).sum().item() == 3.0  # the session goes on


_POINTS = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0]], dtype=np.float32)
_CLOUD = np.random.default_rng(41).standard_normal((50, 3))
HISTOGRAMDD = {  # input, keywords ("edges": a 1-D tensor of edges per dim)
    "weights": (_POINTS, dict(bins=[3, 3], weight=np.array([1.0, 2.0, 4.0, 8.0], dtype=np.float32))),
    "range-density": (_POINTS, dict(bins=[2, 2], range=[0.0, 1.0, 0.0, 1.0], density=True)),
    "edges": (_POINTS, dict(bins="edges")), "empty": (np.zeros((0, 3), np.float32), dict(bins=2)),
    "3-d bins": (_CLOUD, dict(bins=[4, 5, 6])), "density": (_CLOUD, dict(bins=3, density=True)),
    "batched points": (_CLOUD.reshape(5, 10, 3), dict(bins=2, weight=np.random.default_rng(42).random((5, 10)))),
    "one value": (np.ones((4, 2), np.float32), dict(bins=2)),
    "bins per dim": (_POINTS, dict(bins=[3, 3, 3])), "no bins": (_POINTS, dict(bins=[0, 3])),
    "short range": (_POINTS, dict(bins=3, range=[0.0, 1.0])), "reversed range": (_POINTS, dict(bins=3, range=[1.0, 0.0, 0.0, 1.0])),
    "integers": (_POINTS.astype(np.int64), dict(bins=3)), "weight shape": (_POINTS, dict(bins=3, weight=np.ones(3, np.float32))),
    "1-d": (_POINTS[0], dict(bins=3)),
}


@pytest.mark.parametrize("name", sorted(HISTOGRAMDD))
def test_histogramdd_matches_torch(session, name):
    values, keywords = HISTOGRAMDD[name]
    outcomes = []
    for lib, make in ((torch, torch.tensor), (gw, session.tensor)):
        given = dict(keywords)
        if given["bins"] == "edges":
            given["bins"] = [make(np.array([0.0, 1.0, 2.0], np.float32)), make(np.array([0.0, 3.0], np.float32))]
        if "weight" in given:
            given["weight"] = make(given["weight"])
        try:
            result = lib.histogramdd(make(values), **given)
        except (RuntimeError, NotImplementedError) as error:
            outcomes.append((type(error), str(error)))
            continue
        outcomes.append((np.asarray(result.hist.tolist()), [np.asarray(e.tolist()) for e in result.bin_edges]))
    theirs, ours = outcomes
    if isinstance(theirs[0], type):
        assert issubclass(ours[0], theirs[0]) and ours[1] == theirs[1]
        return
    assert ours[0].shape == theirs[0].shape
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    for e, t in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_allclose(e, t, rtol=1e-6)


def test_histogram_of_an_empty_tensor_spans_0_to_1_as_torch(session):
    assert session.zeros(0).histogram(bins=2).bin_edges.tolist() == torch.histogram(torch.zeros(0), bins=2).bin_edges.tolist()
