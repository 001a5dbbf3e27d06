"""``gradwire.fft``: PyTorch's ``torch.fft``. Four engine ops carry the transforms and their gradients (``fftn``,
``ifftn``, ``rfftn``, ``irfftn``, each over a tuple of dims with a size per dim); the 1-D and 2-D transforms, the
Hermitian ones (``hfft``, ``ihfft``: conjugates and the dual normalization of ``irfft``/``rfft``), the frequencies and the
shifts are compositions.

``norm``: "backward" (the default: the inverse transforms divide by n), "ortho" (both by sqrt(n)) or "forward" (the
forward transforms divide by n). ``n``/``s``: the signal's size along each transformed dim; the input is cropped or
zero-padded to it (for ``irfft``/``hfft`` it is the output's size, by default ``2 * (m - 1)`` for m input entries).
"""

from __future__ import annotations

import numpy as np

from . import defaults, errors
from .factories import resolve_session
from .tensor import Tensor, _op, as_dtype

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn",
           "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_NORMS = ("backward", "ortho", "forward")
_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _norm(norm):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise errors.InvalidArgumentError(f'Invalid normalization mode: "{norm}"')
    return norm


def _input(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"fft_{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input


def _dims(name, x, s, dim):
    """PyTorch's dims and sizes of an n-dim transform: s alone names the last len(s) dims; dim alone takes their sizes;
    -1 in s keeps a dim's size."""
    shape = x.shape
    ndim = len(shape)
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        wrapped = []
        for d in dims:
            if not -max(ndim, 1) <= d < max(ndim, 1):
                raise IndexError(f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})")
            wrapped.append(d % max(ndim, 1))
        if len(set(wrapped)) != len(wrapped):
            raise errors.InvalidArgumentError("FFT dims must be unique")
        dims = tuple(wrapped)
        if s is not None and len(s) != len(dims):
            raise errors.InvalidArgumentError("When given, dim and shape arguments must have the same length")
    elif s is not None:
        if len(s) > ndim:
            raise errors.InvalidArgumentError(f"Got shape with {len(s)} values but input tensor only has {ndim} dimensions.")
        dims = tuple(range(ndim - len(s), ndim))
    else:
        dims = tuple(range(ndim))
    sizes = tuple(shape[d] if s is None or s[i] == -1 else int(s[i]) for i, d in enumerate(dims))
    for n in sizes:
        if n < 1:
            raise errors.InvalidArgumentError(f"Invalid number of data points ({n}) specified")
    return sizes, dims


def _real_input(name, x):
    if x.dtype.kind == "c":
        from .tensor import _TENSOR_TYPE_NAMES

        raise errors.InvalidArgumentError(f"{name} expects a real input tensor, but got {_TENSOR_TYPE_NAMES.get(x.dtype, x.dtype.name)}")


def _c2r_sizes(x, s, dim, sizes, dims, last_given):
    """irfftn's sizes: the last dim's output size defaults to 2 * (m - 1)."""
    if not last_given:
        m = x.shape[dims[-1]]
        n = 2 * (m - 1)
        if n < 1:
            raise errors.InvalidArgumentError(f"Invalid number of data points ({n}) specified")
        sizes = sizes[:-1] + (n,)
    return sizes


# --- n-dim ---------------------------------------------------------------------------------------------------------
def fftn(input, s=None, dim=None, norm=None):
    """The n-dim discrete Fourier transform over ``dim`` (all dims by default), as ``torch.fft.fftn``."""
    x = _input("fftn", input)
    sizes, dims = _dims("fftn", x, s, dim)
    return _op("fftn", (x,), {"s": sizes, "dim": dims, "norm": _norm(norm)})


def ifftn(input, s=None, dim=None, norm=None):
    """The n-dim inverse discrete Fourier transform, as ``torch.fft.ifftn``."""
    x = _input("ifftn", input)
    sizes, dims = _dims("ifftn", x, s, dim)
    return _op("ifftn", (x,), {"s": sizes, "dim": dims, "norm": _norm(norm)})


def rfftn(input, s=None, dim=None, norm=None):
    """The n-dim transform of a real signal, the last dim's half spectrum only (n // 2 + 1 entries), as ``torch.fft.rfftn``."""
    x = _input("rfftn", input)
    _real_input("rfftn", x)
    sizes, dims = _dims("rfftn", x, s, dim)
    return _op("rfftn", (x,), {"s": sizes, "dim": dims, "norm": _norm(norm)})


def irfftn(input, s=None, dim=None, norm=None):
    """The inverse of ``rfftn``: a half spectrum to a real signal, as ``torch.fft.irfftn``."""
    x = _input("irfftn", input)
    sizes, dims = _dims("irfftn", x, s, dim)
    sizes = _c2r_sizes(x, s, dim, sizes, dims, s is not None and s[-1] != -1)
    return _op("irfftn", (x,), {"s": sizes, "dim": dims, "norm": _norm(norm)})


# --- 1-D and 2-D ---------------------------------------------------------------------------------------------------
def _one(n):
    return None if n is None else (n,)


def fft(input, n=None, dim=-1, norm=None):
    """The 1-D discrete Fourier transform along ``dim``, as ``torch.fft.fft``."""
    return fftn(input, _one(n), (dim,), norm)


def ifft(input, n=None, dim=-1, norm=None):
    """The 1-D inverse discrete Fourier transform, as ``torch.fft.ifft``."""
    return ifftn(input, _one(n), (dim,), norm)


def rfft(input, n=None, dim=-1, norm=None):
    """The 1-D transform of a real signal, its n // 2 + 1 non-negative frequencies, as ``torch.fft.rfft``."""
    _real_input("rfft", _input("rfft", input))
    return rfftn(input, _one(n), (dim,), norm)


def irfft(input, n=None, dim=-1, norm=None):
    """The inverse of ``rfft``: n real values (2 * (m - 1) by default) from m half-spectrum entries, as ``torch.fft.irfft``."""
    return irfftn(input, _one(n), (dim,), norm)


def hfft(input, n=None, dim=-1, norm=None):
    """The transform of a Hermitian-symmetric signal given by its first half: a real spectrum, as ``torch.fft.hfft``
    (``irfft`` of the conjugate, the normalization dual)."""
    x = _input("hfft", input)
    return irfftn(x.conj(), _one(n), (dim,), _DUAL[_norm(norm)])


def ihfft(input, n=None, dim=-1, norm=None):
    """The inverse of ``hfft``: the half spectrum of a real signal's inverse transform, as ``torch.fft.ihfft``."""
    x = _input("ihfft", input)
    _real_input("ihfft", x)
    return rfftn(x, _one(n), (dim,), _DUAL[_norm(norm)]).conj()


def fft2(input, s=None, dim=(-2, -1), norm=None):
    """``fftn`` over the last two dims, as ``torch.fft.fft2``."""
    return fftn(input, s, dim, norm)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    """``ifftn`` over the last two dims, as ``torch.fft.ifft2``."""
    return ifftn(input, s, dim, norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    """``rfftn`` over the last two dims, as ``torch.fft.rfft2``."""
    return rfftn(input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    """``irfftn`` over the last two dims, as ``torch.fft.irfft2``."""
    return irfftn(input, s, dim, norm)


# --- frequencies and shifts -----------------------------------------------------------------------------------------
def _frequencies(name, ks, n, d, dtype, requires_grad, session):
    dtype = defaults.current if dtype is None else as_dtype(dtype)
    if dtype.kind not in "fc":
        raise errors.InvalidArgumentError(f"{name} requires a floating point or complex dtype, but got {dtype}")
    compute = np.dtype(np.float64) if dtype in (np.float64, np.complex128) else np.dtype(np.float32)
    values = np.asarray(ks, dtype=compute) * compute.type(1.0 / (n * d))  # as PyTorch's: arange, times 1 / (n d) in the dtype
    return resolve_session(session).tensor(values.astype(dtype), requires_grad=requires_grad)


def fftfreq(n, d=1.0, *, dtype=None, requires_grad=False, session=None):
    """The sample frequencies of an n-point transform, ``[0, 1, ..., -(n // 2), ..., -1] / (d n)``, as ``torch.fft.fftfreq``."""
    ks = list(range((n - 1) // 2 + 1)) + list(range(-(n // 2), 0))
    return _frequencies("fftfreq", ks, n, d, dtype, requires_grad, session)


def rfftfreq(n, d=1.0, *, dtype=None, requires_grad=False, session=None):
    """The non-negative sample frequencies of ``rfft``, ``[0, 1, ..., n // 2] / (d n)``, as ``torch.fft.rfftfreq``."""
    return _frequencies("rfftfreq", list(range(n // 2 + 1)), n, d, dtype, requires_grad, session)


def _shift(name, input, dim, sign):
    x = _input(name, input)
    dims = tuple(range(x.ndim)) if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims:
        return x
    shifts = tuple(sign * (x.shape[d] // 2) for d in dims)
    return x.roll(shifts, dims)


def fftshift(input, dim=None):
    """The zero frequency moved to the middle (each dim rolled by n // 2), as ``torch.fft.fftshift``."""
    return _shift("fftshift", input, dim, 1)


def ifftshift(input, dim=None):
    """The inverse of ``fftshift`` (each dim rolled by -(n // 2)), as ``torch.fft.ifftshift``."""
    return _shift("ifftshift", input, dim, -1)
