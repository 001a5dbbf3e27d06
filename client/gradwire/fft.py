"""``gradwire.fft``: PyTorch's ``torch.fft``. Four engine ops carry the transforms and their gradients (``fftn``,
``ifftn``, ``rfftn``, ``irfftn``, each over a tuple of dims with a size per dim); the 1-D and 2-D transforms, the
Hermitian ones (``hfft``, ``ihfft``: conjugates and the dual normalization of ``irfft``/``rfft``), the frequencies and the
shifts are compositions.

``norm``: "backward" (the default: the inverse transforms divide by n), "ortho" (both by sqrt(n)) or "forward" (the
forward transforms divide by n). ``n``/``s``: the signal's size along each transformed dim; the input is cropped or
zero-padded to it (for ``irfft``/``hfft`` it is the output's size, by default ``2 * (m - 1)`` for m input entries).
"""

from __future__ import annotations

import warnings

import numpy as np

from . import complexes, defaults, errors
from .factories import resolve_session
from .nn import functional as F
from .tensor import FUNCTIONS, Tensor, _op, as_dtype

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2", "fftn", "ifftn", "rfftn",
           "irfftn", "hfftn", "ihfftn",
           "fftfreq", "rfftfreq", "fftshift", "ifftshift", "stft", "istft"]

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
    if x.dtype.kind == "c":  # (torch's words differ by function)
        from .tensor import _TENSOR_TYPE_NAMES

        got = _TENSOR_TYPE_NAMES.get(x.dtype, x.dtype.name)
        raise errors.InvalidArgumentError(f"Only supports floating-point dtypes, but found: {got}" if name == "ihfftn" else
                                          f"{name} expects a real{'-valued' if name == 'rfftn' else ''} input tensor, but got {got}")


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
    return rfftn(x, _one(n), (dim,), _DUAL[_norm(norm)]).conj()  # (its conjugate bit set, as torch's; ihfftn's is not)


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



def hfftn(input, s=None, dim=None, norm=None):
    """The n-dim ``hfft``: a Hermitian signal given by its last dim's first half to a real spectrum, as
    ``torch.fft.hfftn`` (``irfftn`` of the conjugate, the normalization dual)."""
    x = _input("hfftn", input)
    return irfftn(x.conj(), s, dim, _DUAL[_norm(norm)])


def ihfftn(input, s=None, dim=None, norm=None):
    """The inverse of ``hfftn``: a real signal's inverse transform, its last dim's half, as ``torch.fft.ihfftn``."""
    x = _input("ihfftn", input)
    _real_input("ihfftn", x)
    return rfftn(x, s, dim, _DUAL[_norm(norm)]).conj_physical()


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    """``hfftn`` over the last two dims, as ``torch.fft.hfft2``."""
    return hfftn(input, s, dim, norm)


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    """``ihfftn`` over the last two dims, as ``torch.fft.ihfft2``."""
    return ihfftn(input, s, dim, norm)


# --- frequencies and shifts -----------------------------------------------------------------------------------------
def _frequencies(name, ks, n, d, dtype, requires_grad, session):
    dtype = defaults.current if dtype is None else as_dtype(dtype)
    if dtype.kind not in "fc":
        raise errors.InvalidArgumentError(f"{name} requires a floating point or complex dtype")
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


# --- short-time transforms: torch.stft and torch.istft, compositions of the ops above ------------------------------


def _stft_window(window, win_length, n_fft, like):
    """The window (ones of ``win_length`` by default) zero-padded on both sides to ``n_fft``, as PyTorch centres it."""
    if window is None:
        window = like._session.ones(win_length, dtype=like.real.dtype if like.dtype.kind == "c" else like.dtype)
    if window.ndim != 1 or window.shape[0] != win_length:
        raise errors.InvalidArgumentError(f"stft: expected a 1D window tensor of size equal to win_length={win_length}, but got window "
                                          f"with size {list(window.shape)}")
    left = (n_fft - win_length) // 2
    return window if left == 0 and win_length == n_fft else F.pad(window, (left, n_fft - win_length - left))


def _stft_sizes(name, n_fft, hop_length, win_length):
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if hop_length <= 0:
        raise errors.InvalidArgumentError(f"{name}: expected hop_length > 0, but got hop_length={hop_length}")
    if not 0 < win_length <= n_fft:
        raise errors.InvalidArgumentError(f"{name}: expected 0 < win_length <= n_fft, but got win_length={win_length}")
    return hop_length, win_length


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect", normalized=False,
         onesided=None, return_complex=None):
    """The short-time Fourier transform of a 1-D signal or a batch of them (B, L), as ``torch.stft``: frames of ``n_fft``
    every ``hop_length`` (``unfold``), times the window, transformed (``rfft`` when ``onesided``, the default for a real
    signal); the result (B, freqs, frames), complex, or its ``view_as_real`` with ``return_complex=False``."""
    x = _input("stft", input)
    if return_complex is None and x.dtype.kind != "c" and (window is None or window.dtype.kind != "c"):
        raise errors.InvalidArgumentError("stft requires the return_complex parameter be given for real inputs, and will further require "
                                          "that return_complex=True in a future PyTorch release.")
    if x.ndim not in (1, 2):
        raise errors.InvalidArgumentError(f"stft: expected a 1D or 2D tensor, but got {x.ndim}D")
    hop_length, win_length = _stft_sizes("stft", n_fft, hop_length, win_length)
    window = _stft_window(window, win_length, n_fft, x)
    signal = x if x.ndim == 2 else x.unsqueeze(0)
    if center:
        signal = F.pad(signal.unsqueeze(1), (n_fft // 2, n_fft // 2), mode=pad_mode).squeeze(1)
    if not 0 < n_fft <= signal.shape[-1]:
        raise errors.InvalidArgumentError(f"stft: expected 0 < n_fft <= {signal.shape[-1]}, but got n_fft={n_fft}")
    frames = signal.unfold(-1, n_fft, hop_length) * window  # (B, frames, n_fft)
    onesided = (x.dtype.kind != "c" and window.dtype.kind != "c") if onesided is None else onesided
    spectrum = (rfft if onesided else fft)(frames, norm="ortho" if normalized else "backward").transpose(-1, -2)
    spectrum = spectrum if x.ndim == 2 else spectrum.squeeze(0)
    if return_complex is False:
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will return complex tensors for "
                      "all inputs, and return_complex=False will raise an error.\nNote: you can still call torch.view_as_real on the "
                      "complex output to recover the old return format.", UserWarning, stacklevel=2)
        return complexes.view_as_real(spectrum)
    return spectrum


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False, onesided=None, length=None,
          return_complex=False):
    """The inverse of ``stft``, as ``torch.istft``: each frame transformed back, times the window, overlapped and added
    (``fold``), divided by the window's squared overlap-add, the centre padding cut off (or the signal cut or padded to
    ``length``)."""
    spectrum = _input("istft", input)
    if spectrum.dtype.kind != "c":
        raise errors.InvalidArgumentError("istft requires a complex-valued input tensor")
    if spectrum.ndim not in (2, 3):
        raise errors.InvalidArgumentError(f"istft: expected a tensor with 2 or 3 dimensions of complex dtype, but got {spectrum.ndim}D")
    hop_length, win_length = _stft_sizes("istft", n_fft, hop_length, win_length)
    batch = spectrum if spectrum.ndim == 3 else spectrum.unsqueeze(0)
    onesided = batch.shape[-2] != n_fft if onesided is None else onesided
    columns = batch.transpose(-1, -2)  # (B, frames, freqs)
    norm = "ortho" if normalized else "backward"
    frames = irfft(columns, n=n_fft, norm=norm) if onesided else ifft(columns, n=n_fft, norm=norm)
    if not return_complex and frames.dtype.kind == "c":
        frames = frames.real
    window = _stft_window(window, win_length, n_fft, frames)
    count = frames.shape[-2]
    total = n_fft + hop_length * (count - 1)

    def overlap_add(blocks):  # (B, frames, n_fft) -> (B, total); a complex signal's parts one at a time
        if blocks.dtype.kind == "c":
            return complexes.complex(overlap_add(blocks.real), overlap_add(blocks.imag))
        return F.fold(blocks.transpose(-1, -2), (1, total), (1, n_fft), stride=(1, hop_length)).reshape(blocks.shape[0], total)

    signal = overlap_add(frames * window)
    envelope = overlap_add((window * window).reshape(1, 1, n_fft).expand(1, count, n_fft))
    start = n_fft // 2 if center else 0
    end = total - start if length is None else min(start + length, total)
    signal, envelope = signal[:, start:end], envelope[:, start:end]
    if bool((envelope.abs() < 1e-11).any().item()):
        raise errors.InvalidArgumentError("istft: window overlap add min is below 1e-11: the window does not cover the signal (NOLA)")
    signal = signal / envelope
    if length is not None and signal.shape[-1] < length:
        signal = F.pad(signal, (0, length - signal.shape[-1]))
    return signal if spectrum.ndim == 3 else signal.squeeze(0)


Tensor.stft, Tensor.istft = stft, istft  # x.stft(...), and torch.stft(x, ...) at the top level
FUNCTIONS.update(stft=stft, istft=istft)
