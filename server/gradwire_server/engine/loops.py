"""Loops that NumPy has no single call for, compiled by Numba: the NumPy backend's fast paths.

Written with NumPy's calls, ``max_pool2d``'s backward is a compare, a mask and a multiply per
kernel offset on strided views: a dozen calls whose inner loops run over 2-element window axes,
the digits CNN's costliest step on the server. As one loop it is a single pass, and it
finds each window's maximum exactly as PyTorch's CPU kernel does (the first maximum in
row-major order; a NaN wins, the last one if there are several), NaN included.

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
