"""torch.special's other Bessel functions and its orthogonal polynomials against torch, through a real server: values
in float32 and float64 across the branches of PyTorch's algorithms and at their edges, the degree n as a number and as a
tensor (truncated, negative, NaN), broadcasting, the dtypes of integer and mixed operands, the refusals (float16,
bfloat16, complex, a number alone) in torch's words, and no gradient: the outputs never require grad, as torch's."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
from tests.e2e._torch_compare import assert_matches_torch, assert_same_error

torch = pytest.importorskip("torch")

NAN, INF = np.nan, np.inf

UNARY = ["airy_ai", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
         "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0"]
POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
               "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
               "legendre_polynomial_p"]

# every branch of PyTorch's algorithms and the points between them: 0 and -0, the poles and cuts (y0, y1, k0 and k1 at
# 0 and below), |x| = 2, 5 and 8 (the Bessel functions' series change), +-2.09 (airy_ai's), 1e-5 and 0.5 (j0's and
# spherical_j0's series), float32's exp overflow (i0 past 88.7), airy_ai's cutoff at 103.892, +-inf and NaN
POINTS = np.concatenate([
    [0.0, -0.0, 1e-7, 9e-6, 1e-5, 0.3, 0.5, 1.0, 2.0, 2.08, 2.09, 2.1, 4.99, 5.0, 5.01, 7.99, 8.0, 8.01, 12.0, 30.0, 88.5, 89.0,
     103.8, 104.0, 700.0, 1e4, INF, NAN],
    [-0.3, -0.5, -1.0, -2.0, -2.09, -2.1, -5.0, -8.0, -8.01, -30.0, -1e3, -INF],
    np.linspace(-12.0, 12.0, 97),
])


@pytest.fixture(scope="module")
def shared(server):
    """One session for the tables' rows (each row's tensors are its own)."""
    s = gw.connect(server.address, seed=0, timeout=10)
    yield s
    s.close()


def _special(lib, name):
    return getattr(lib.special, name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", UNARY)
def test_bessel_functions_match_torch(shared, name, dtype):
    # (float32: PyTorch computes in float32 too; a few last places apart, more next to the zeros of y0 and y1)
    tol = dict(rtol=1e-10, atol=1e-13) if dtype == "float64" else dict(rtol=2e-5, atol=1e-6)
    assert_matches_torch(shared, lambda lib, x: _special(lib, name)(x), POINTS.astype(dtype), **tol)


@pytest.mark.parametrize("name", UNARY)
def test_bessel_functions_of_integers_are_float32_as_torch(shared, name):
    assert_matches_torch(shared, lambda lib: _special(lib, name)(lib.tensor([[0, 1, 3], [6, -2, 9]])), rtol=2e-5, atol=1e-6)
    assert_matches_torch(shared, lambda lib: _special(lib, name)(lib.tensor([True, False])), rtol=2e-5, atol=1e-6)


def test_bessel_functions_of_0d_and_empty_tensors(shared):
    for name in UNARY:
        assert_matches_torch(shared, lambda lib: _special(lib, name)(lib.tensor(1.5, dtype=lib.float64)))
        assert_matches_torch(shared, lambda lib: _special(lib, name)(lib.zeros(0, 3)))


def test_torchs_values_where_scipy_differs(shared):
    """Where PyTorch's algorithm is not SciPy's, its values: Ai is 0 from 103.892 (SciPy's from 25.77), so between them
    it is tiny but not 0; Y0 and Y1 beyond 5 carry PyTorch's coefficients; I0 overflows float32 above 88.7."""
    x = shared.tensor([30.0, 60.0, 100.0], dtype=gw.float64)
    assert all(0 < v < 1e-45 for v in gw.special.airy_ai(x).tolist())
    assert gw.special.airy_ai(x).tolist() == torch.special.airy_ai(torch.tensor([30.0, 60.0, 100.0], dtype=torch.float64)).tolist()
    y0 = gw.special.bessel_y0(shared.tensor([7.11], dtype=gw.float64)).item()
    assert y0 == pytest.approx(torch.special.bessel_y0(torch.tensor([7.11], dtype=torch.float64)).item(), rel=1e-12)
    assert gw.special.modified_bessel_i0(shared.tensor([89.0])).tolist() == [INF]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_match_torch(shared, name, dtype):
    # x inside and outside [-1, 1], at +-1 and 0 (the closed values; for the shifted polynomials 0 and 1), 0.5, inf
    # (NaN x: torch's U, W, Laguerre and Legendre return uninitialised memory); n a number: 0, 1, the recurrence, the
    # trigonometric closed forms above 6 (4 for shifted W), large degrees that overflow to NaN, negative, fractional
    x = np.array([-2.5, -1.5, -1.0, -0.999, -0.7, -0.2, 0.0, 0.2, 0.5, 0.7, 0.999, 1.0, 1.001, 1.5, 3.0, INF, -INF], dtype=dtype)
    tol = dict(rtol=1e-11, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-5)
    for n in (0, 1, 2, 3, 5, 7, 9, 12, 40, 200, -1, -0.5, 2.7, 9.99, True):
        assert_matches_torch(shared, lambda lib, x: _special(lib, name)(x, n), x, **tol)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_take_n_as_a_tensor_broadcast_against_x(shared, name):
    x = np.linspace(-1.3, 1.3, 9).reshape(9, 1)
    n = np.array([-2.0, -0.5, 0.0, 0.9, 1.0, 2.5, 4.0, 6.0, 7.0, 8.5, 15.0, 130.0, NAN, INF, -INF, 1e30])  # (NaN, inf, 1e30: 0)
    assert_matches_torch(shared, lambda lib, x, n: _special(lib, name)(x, n), x, n, rtol=1e-11, atol=1e-12)
    assert_matches_torch(shared, lambda lib, x, n: _special(lib, name)(x, n), x.astype(np.float32), n.astype(np.float32), rtol=2e-5, atol=2e-5)
    ints = np.array([[0, 1, 2], [3, 5, 10]])
    assert_matches_torch(shared, lambda lib, x: _special(lib, name)(x, lib.tensor(ints)), np.array([0.25, -0.6, 1.2]), rtol=1e-11)
    assert_matches_torch(shared, lambda lib, n: _special(lib, name)(0.3, n), np.array([0.0, 3.0, 8.0, 11.0]), rtol=1e-11)
    assert_matches_torch(shared, lambda lib: _special(lib, name)(2, lib.tensor([1, 2, 3])), rtol=1e-6)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_dtypes_are_torchs(shared, name):
    """Integers and bools compute in float32; a float tensor's dtype wins over an integer one; a 0-d tensor does not
    promote a 1-d one of the same kind; a float number makes integers float32; the wider of two float tensors wins."""
    cases = [
        lambda lib: (lib.tensor([1, 0, 2]), 3),
        lambda lib: (lib.tensor([1, 0, 2]), lib.tensor([2, 3, 4])),
        lambda lib: (lib.tensor([True, False]), lib.tensor([2, 3], dtype=lib.int32)),
        lambda lib: (lib.tensor([1, 0]), 2.5),
        lambda lib: (lib.tensor([0.5, 0.25]), lib.tensor([2.0, 3.0], dtype=lib.float64)),
        lambda lib: (lib.tensor([0.5, 0.25], dtype=lib.float64), lib.tensor([2, 3])),
        lambda lib: (lib.tensor([0.5, 0.25]), lib.tensor(2.0, dtype=lib.float64)),
        lambda lib: (lib.tensor(0.5), lib.tensor([2.0, 3.0], dtype=lib.float64)),
        lambda lib: (0.5, lib.tensor([2, 3])),
        lambda lib: (1, lib.tensor([2, 3], dtype=lib.uint8)),
        lambda lib: (lib.tensor([0.5, 0.25], dtype=lib.float16), lib.tensor([2.0, 3.0])),
    ]
    for make in cases:
        assert_matches_torch(shared, lambda lib: _special(lib, name)(*make(lib)), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_at_large_degrees_outside_minus_one_to_one(shared, name, dtype):
    # the recurrence run long, next to +-1, and past the overflow (NaN, as torch's); Hermite's NaN above 128 and 512
    x = np.array([1.0005, -1.0005, 1.02, -1.02, 0.9995, 2.0], dtype=dtype)
    for n in (100, 129, 513, 3000):
        assert_matches_torch(shared, lambda lib, x: _special(lib, name)(x, n), x, rtol=1e-9 if dtype == "float64" else 1e-4, atol=0)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_of_nan_are_nan(shared, name):
    """(torch's T and V give NaN too; its U, W, Laguerre and Legendre read memory they never wrote)"""
    out = _special(gw, name)(shared.tensor([NAN, NAN, NAN]), shared.tensor([2.0, 5.0, 40.0]))
    assert np.isnan(out.numpy()).all()


@pytest.mark.parametrize("name", UNARY + POLYNOMIALS)
def test_no_gradient_flows_as_torch(shared, name):
    """The output does not require grad and has no grad_fn; a backward from it is refused in torch's words; beside a
    differentiable op the function is a constant (x * f(x) has the gradient f(x))."""

    def call(lib, x):
        return _special(lib, name)(x) if name in UNARY else _special(lib, name)(x, 3)

    x, t = shared.tensor([0.5, 1.5, 3.0], requires_grad=True), torch.tensor([0.5, 1.5, 3.0], requires_grad=True)
    out, t_out = call(gw, x), call(torch, t)
    assert out.requires_grad is t_out.requires_grad is False
    assert out.grad_fn is None and t_out.grad_fn is None
    assert_same_error(lambda lib: call(lib, x).sum().backward(), lambda lib: call(lib, t).sum().backward())
    assert_matches_torch(shared, lambda lib, x: x * call(lib, x), np.array([0.5, 1.5, 3.0, 6.0]), rtol=1e-10, atol=1e-12)
    if name in POLYNOMIALS:  # (a degree that requires grad gets none either)
        n, t_n = shared.tensor([2.0, 3.0], requires_grad=True), torch.tensor([2.0, 3.0], requires_grad=True)
        out, t_out = _special(gw, name)(shared.tensor([0.5, 0.5]), n), _special(torch, name)(torch.tensor([0.5, 0.5]), t_n)
        assert out.requires_grad is t_out.requires_grad is False


def _refusals(name):
    one = (lambda lib, x: _special(lib, name)(x)) if name in UNARY else (lambda lib, x: _special(lib, name)(x, 2))
    cases = {
        "float16": lambda lib: one(lib, lib.tensor([0.5, 1.5], dtype=lib.float16)),
        "bfloat16": lambda lib: one(lib, lib.tensor([0.5, 1.5], dtype=lib.bfloat16)),
        "complex64": lambda lib: one(lib, lib.tensor([0.5, 1.5], dtype=lib.complex64)),
        "complex128": lambda lib: one(lib, lib.tensor([0.5, 1.5], dtype=lib.complex128)),
        "number": lambda lib: one(lib, 0.5),
    }
    if name in POLYNOMIALS:
        cases.update({
            "numbers": lambda lib: _special(lib, name)(0.5, 2),
            "n-float16": lambda lib: _special(lib, name)(0.5, lib.tensor([2.0], dtype=lib.float16)),
            "n-bfloat16": lambda lib: _special(lib, name)(1, lib.tensor([2.0], dtype=lib.bfloat16)),
            "int-and-float16": lambda lib: _special(lib, name)(lib.tensor([1, 2]), lib.tensor([2.0, 3.0], dtype=lib.float16)),
            "n-complex": lambda lib: _special(lib, name)(lib.tensor([0.5]), lib.tensor([2.0], dtype=lib.complex64)),
            "n-list": lambda lib: _special(lib, name)(lib.tensor([0.5]), [2]),
            "n-array": lambda lib: _special(lib, name)(lib.tensor([0.5]), np.array([2.0])),
            "x-string": lambda lib: _special(lib, name)("0.5", lib.tensor([2.0])),
            "shapes": lambda lib: _special(lib, name)(lib.ones(2, 3), lib.ones(4)),
        })
    return cases


REFUSALS = [(name, case) for name in UNARY + POLYNOMIALS for case in _refusals(name)]


@pytest.mark.parametrize("name, case", REFUSALS)
def test_refusals_are_torchs(shared, name, case):
    f = _refusals(name)[case]
    # (gradwire's op raises where its result is read; a TypeError is torch's; torch's NotImplementedError for a dtype is
    # a RuntimeError here, as gradwire's other refusals of a dtype are, with torch's message)
    assert_same_error(lambda lib: f(lib).tolist(), f, same_type=case in ("number", "numbers", "n-list", "n-array", "x-string"))
    assert shared.tensor([1.0, 2.0]).sum().item() == 3.0  # the session goes on


OLDER_FLOAT32_AND_64 = {  # torch's CPU kernels of these take float32 and float64 alone too (log_ndtr: refused by the SDK)
    "erfcx": lambda lib, x: lib.special.erfcx(x), "ndtri": lambda lib, x: lib.special.ndtri(x),
    "bessel_j0": lambda lib, x: lib.special.bessel_j0(x), "bessel_j1": lambda lib, x: lib.special.bessel_j1(x),
    "zeta": lambda lib, x: lib.special.zeta(x.detach() + 2.0, x), "log_ndtr": lambda lib, x: lib.special.log_ndtr(x),
}


@pytest.mark.parametrize("name", sorted(OLDER_FLOAT32_AND_64))
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_the_older_special_functions_refuse_half_precision_as_torchs(shared, name, dtype):
    call = OLDER_FLOAT32_AND_64[name]
    assert_same_error(lambda lib: call(lib, lib.tensor([0.5, 1.5], dtype=getattr(lib, dtype))).tolist(),
                      lambda lib: call(lib, lib.tensor([0.5, 1.5], dtype=getattr(lib, dtype))))
    assert_matches_torch(shared, lambda lib, x: call(lib, x), np.array([0.25, 0.75], dtype=np.float32), rtol=1e-6, atol=1e-7)


def test_large_degree_costs_are_bounded(shared):
    """Chebyshev degrees beyond the recurrence's bound at |y| >= 1 take the closed forms (PyTorch would loop ~1e10
    times next to 1): at degree 1e9 the values are those closed forms, and NaN where they overflow, as torch's."""
    x = shared.tensor([1.0 + 2.0 ** -52, -1.0 - 2.0 ** -52, 1.5], dtype=gw.float64)
    out = gw.special.chebyshev_polynomial_t(x, 10 ** 9).tolist()
    expected = np.cosh(1e9 * np.arccosh(1.0 + 2.0 ** -52))
    assert out[0] == pytest.approx(expected, rel=1e-6) and out[1] == pytest.approx(expected, rel=1e-6) and np.isnan(out[2])
    # the shifted polynomials at 2x - 1 = -1 by rounding (x tiny but not 0): the closed values, +-1 and +-(n + 1)
    tiny = shared.tensor([1e-300], dtype=gw.float64)
    assert gw.special.shifted_chebyshev_polynomial_t(tiny, 10 ** 9 + 1).tolist() == [-1.0]
    assert gw.special.shifted_chebyshev_polynomial_u(tiny, 10 ** 9).tolist() == [10 ** 9 + 1]
