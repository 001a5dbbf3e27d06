"""Loops that NumPy has no single call for, compiled by Numba: the NumPy backend's fast paths.

Written with NumPy's calls, ``max_pool2d``'s backward is a compare, a mask and a multiply per
kernel offset on strided views: a dozen calls whose inner loops run over 2-element window axes,
the digits CNN's costliest step on the server. As one loop it is a single pass, and it
finds each window's maximum exactly as PyTorch's CPU kernel does (the first maximum in
row-major order; a NaN wins, the last one if there are several), NaN included. ``erf`` on float32 is
a polynomial loop where SciPy's float32 erf is a scalar call per element (nine times slower).

Only ``backend.host_loops()`` imports this module, and only for NumPy arrays: CuPy's arrays
take the engine's array-call paths. The loops release the GIL (``nogil``), so the server's
other threads run beside them. Compiled code is cached on disk (``NUMBA_CACHE_DIR``, else
beside this file or in the user's cache) so a new server process does not compile again; where
no cache directory is writable they compile in memory.
"""

from __future__ import annotations

import numba
import numpy as np


def _compile(function=None, **options):
    if function is None:
        return lambda f: _compile(f, **options)
    try:
        return numba.njit(cache=True, nogil=True, **options)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available": nowhere writable
        return numba.njit(nogil=True, **options)(function)


@_compile(inline="always")
def _better(plane, k, at, best):
    """(k, plane[k]) if plane[k] is greater than ``best`` or a NaN, else (at, best): with selects, not a branch."""
    value = plane[k]
    take = (value > best) | (value != value)
    return (k if take else at), (value if take else best)


@_compile(inline="always")
def _inside(start, k, d, n):
    """The kernel offsets [a0, a1) whose element start + a * d lies in [0, n)."""
    return (0 if start >= 0 else (d - 1 - start) // d), min(k, (n - start + d - 1) // d)


@_compile(inline="always")
def _window_max(plane, top, left, kh, kw, h, w, dh, dw):
    """The flat index in ``plane`` (one H*W channel, flat) of the window's maximum, by PyTorch's test:
    a value greater than the best so far, or a NaN, takes its place (rows, then columns). The window's
    elements are every dh-th row and dw-th column from (top, left); those outside the plane are padding."""
    a0, a1 = _inside(top, kh, dh, h)
    b0, b1 = _inside(left, kw, dw, w)
    at = (top + a0 * dh) * w + left + b0 * dw
    best = plane[at]
    for a in range(a0, a1):
        for b in range(b0, b1):
            at, best = _better(plane, (top + a * dh) * w + left + b * dw, at, best)
    return at


@_compile
def _pool2x2_grad(planes, g, h, w):
    """``_pool_grad`` for the usual pooling (kernel 2, stride 2, no padding), unrolled: twice as fast."""
    oh, ow = h // 2, w // 2
    gx = np.zeros(planes.shape, dtype=g.dtype)
    for p in range(planes.shape[0]):
        for i in range(oh):
            for j in range(ow):
                first = 2 * i * w + 2 * j
                at, best = first, planes[p, first]
                at, best = _better(planes[p], first + 1, at, best)
                at, best = _better(planes[p], first + w, at, best)
                at, best = _better(planes[p], first + w + 1, at, best)
                gx[p, at] += g[p, i * ow + j]
    return gx


@_compile
def _pool_argmax(planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow, dh, dw):
    where = np.empty((planes.shape[0], oh * ow), dtype=np.int64)
    for p in range(planes.shape[0]):
        plane = planes[p]
        for i in range(oh):
            for j in range(ow):
                where[p, i * ow + j] = _window_max(plane, i * sh - ph, j * sw - pw, kh, kw, h, w, dh, dw)
    return where


@_compile
def _pool_grad(planes, g, h, w, kh, kw, sh, sw, ph, pw, oh, ow, dh, dw):
    gx = np.zeros(planes.shape, dtype=g.dtype)
    for p in range(planes.shape[0]):
        plane, out = planes[p], gx[p]
        for i in range(oh):
            for j in range(ow):
                out[_window_max(plane, i * sh - ph, j * sw - pw, kh, kw, h, w, dh, dw)] += g[p, i * ow + j]
    return gx


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def max_pool2d_indices(x, geometry):
    """Each window's maximum as a flat index into its H*W plane, for a float (N, C, H, W) array;
    ``geometry`` is ``((kh, kw), (sh, sw), (ph, pw), (oh, ow), (dh, dw))``. None for other dtypes."""
    if x.dtype not in _FLOATS:
        return None
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (oh, ow), (dh, dw) = geometry
    planes = np.ascontiguousarray(x).reshape(n * c, h * w)
    return _pool_argmax(planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow, dh, dw).reshape(n, c, oh, ow)


def max_pool2d_grad(g, x, geometry):
    """The gradient of ``max_pool2d`` for input ``x``: each window's ``g`` added at its maximum
    (summed where windows overlap). None where the dtypes are not one float dtype."""
    if g.dtype != x.dtype or x.dtype not in _FLOATS:
        return None
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (oh, ow), (dh, dw) = geometry
    planes = np.ascontiguousarray(x).reshape(n * c, h * w)
    flat_g = np.ascontiguousarray(g).reshape(n * c, oh * ow)
    if (kh, kw, sh, sw, ph, pw, dh, dw) == (2, 2, 2, 2, 0, 0, 1, 1) and 2 * oh <= h and 2 * ow <= w:  # (not ceil_mode's overhang)
        return _pool2x2_grad(planes, flat_g, h, w).reshape(x.shape)
    return _pool_grad(planes, flat_g, h, w, kh, kw, sh, sw, ph, pw, oh, ow, dh, dw).reshape(x.shape)


# erf on float32: x P(x^2) for |x| < 2.25, sign(x) Q(t) up to 3.9192059 (t maps that interval onto [-1, 1]), +-1
# beyond; P and Q of degree 15, evaluated in float64. Fitted with NumPy in float64 against scipy.special.erf: weighted
# least squares in Chebyshev polynomials at 2000 Chebyshev nodes, reweighted by Lawson's rule (each weight times its
# residual) 60 times towards the minimax fit, then expanded into powers. P is fitted to erf(x)/x in relative error, its
# constant held at 2/sqrt(pi) (tiny and denormal x: 2x/sqrt(pi), rounded once); Q to erf in absolute error.
_ERF_SPLIT = 2.25  # x P(x^2) below, Q(t) from here
_ERF_ONE = 3.919205904006958  # the least float32 whose erf rounds to 1.0 in float32
_ERF_T = (1.1981745302954925, 3.695892693164858)  # t = |x| * T[0] - T[1]: [_ERF_SPLIT, _ERF_ONE] onto [-1, 1]
_ERF_P = (  # powers of x^2; fitted error 2.5e-14, relative
    1.1283791670955126, -0.376126389030327, 0.11283791668007717, -0.026866170441260186,
    0.005223976904320738, -0.0008548311715327406, 0.00012055119812031889, -1.4923593442246952e-05,
    1.6447869422817903e-06, -1.6293444711004123e-07, 1.4533630496903801e-08, -1.1517943266002261e-09,
    7.793293271950333e-11, -4.160265491896006e-12, 1.5203976719099837e-13, -2.7820939850813823e-15,
)
_ERF_Q = (  # powers of t; fitted error 2.2e-14, absolute
    0.9999871290321357, 6.945772212735572e-05, -0.0001788132625934922, 0.0002907662580896587,
    -0.0003327588307207516, 0.00028190334965027777, -0.00018010283090809023, 8.572030494530992e-05,
    -2.8285940464949255e-05, 4.5747221324107e-06, 1.144459554043055e-06, -1.061963477472401e-06,
    3.3826300853238844e-07, -2.474311393621531e-08, -2.4084484129272e-08, 7.741833146779342e-09,
)


@_compile(inline="always")
def _poly16(x, c):
    """The polynomial of 16 coefficients ``c`` (powers of x) at x, by Estrin's scheme: a tree of depth 4, where
    Horner's rule is a chain of 15 dependent multiply-adds (the loop below is bound by them, not by memory)."""
    x2 = x * x
    x4 = x2 * x2
    low = ((c[0] + x * c[1]) + x2 * (c[2] + x * c[3])) + x4 * ((c[4] + x * c[5]) + x2 * (c[6] + x * c[7]))
    high = ((c[8] + x * c[9]) + x2 * (c[10] + x * c[11])) + x4 * ((c[12] + x * c[13]) + x2 * (c[14] + x * c[15]))
    return low + (x4 * x4) * high


@_compile(fastmath={"contract"})  # multiply-adds fused: only the rounding of intermediates in float64 changes
def _erf_float32(x, out):
    """erf of each float32 of ``x`` into ``out`` (1-D, the same size), in float64 within: x P(x^2) for |x| < 2.25,
    sign(x) Q(t) up to 3.9192059, +-1 beyond. Both branches are computed and one is selected, so the loop
    vectorizes. Over every float32 in [0, 4.5] the answer is the float64 erf rounded to float32 but for 9 inputs,
    near-ties one ulp away from it (0.5000002 ulp from the exact erf); odd bitwise (Q is evaluated at |x|, and
    x P(x^2) is odd); -0.0 and NaN pass through x P(x^2)."""
    for i in range(x.size):
        v = np.float64(x[i])
        a = abs(v)
        small = v * _poly16(v * v, _ERF_P)
        large = _poly16(a * _ERF_T[0] - _ERF_T[1], _ERF_Q)
        large = 1.0 if a >= _ERF_ONE else large
        out[i] = (-large if v < 0 else large) if a >= _ERF_SPLIT else small


def erf(x):
    """erf of a float32 NumPy array (or float32 scalar), as SciPy's ufunc answers it (same shape and memory
    order; a scalar for a 0-d input); None for any other input, which the caller takes to SciPy."""
    if type(x) not in (np.ndarray, np.float32) or x.dtype != np.float32:  # (a byte-swapped float32 is not float32)
        return None
    x = np.asarray(x)
    order = "F" if x.flags.f_contiguous and not x.flags.c_contiguous else "C"
    out = np.empty(x.shape, dtype=np.float32, order=order)
    _erf_float32(x.ravel(order), out.ravel(order))  # views where x is contiguous; out's always is
    return out if out.ndim else out[()]
