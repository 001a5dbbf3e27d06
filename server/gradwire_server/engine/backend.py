"""The array module, chosen once.

``Backend(device)`` decides between CuPy (a usable CUDA device) and NumPy.
Every other engine file receives the chosen module as ``xp`` and never asks
which one it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import os
import platform

import numpy

from .dtypes import BFLOAT16, COMPUTE as _COMPUTE, SUPPORTED as _SUPPORTED

DEVICES = ("auto", "cpu", "cuda")

try:  # BLAS's axpy, for one-pass in-place updates on NumPy; optional (see axpy)
    from scipy.linalg import blas as _scipy_blas
except ImportError:  # pragma: no cover - scipy is a dependency, but the engine runs without it
    _scipy_blas = None

_AXPY = {} if _scipy_blas is None else {numpy.dtype(numpy.float32): _scipy_blas.saxpy, numpy.dtype(numpy.float64): _scipy_blas.daxpy}
# scipy's OpenBLAS is a second thread pool beside NumPy's, sized to the machine: above 10,000 elements its
# axpy runs on all cores, and with NumPy's pool and the server's own threads the cores are oversubscribed
# (the digits MLP's Adam step made its epoch 9x slower with 2 BLAS threads). In pieces of this many it runs
# on the caller's thread; an update is memory-bound either way.
_AXPY_CHUNK = 8192
_AXPY_BLOCK = 128  # a multiple of every OpenBLAS axpy kernel's vector block


def axpy(xp, a, x, y):
    """``y += a * x`` in place (y's memory), as torch's ``y.add_(x, alpha=a)``.

    On NumPy arrays of one float dtype and one contiguous layout this is BLAS's axpy: one
    pass, no temporary, and a fused multiply-add as in PyTorch's CPU kernel, so the result
    is bitwise PyTorch's. Elsewhere (CuPy, mixed layouts, other dtypes, x overlapping y) a multiply and an add.
    """
    blas = _AXPY.get(y.dtype) if xp is numpy else None
    if blas is not None and x.dtype == y.dtype and x.shape == y.shape and y.flags.writeable and (
        (x.flags.c_contiguous and y.flags.c_contiguous) or (x.flags.f_contiguous and y.flags.f_contiguous)
    ) and not numpy.may_share_memory(x, y):  # BLAS promises nothing for overlapping x and y; NumPy buffers them
        flat_x, flat_y = x.ravel(order="K"), y.ravel(order="K")  # views of contiguous arrays: BLAS writes straight into y
        # OpenBLAS's vector loop fuses the multiply-add; its scalar tail (the last few elements of a call) may not.
        # So BLAS takes whole vector blocks only, and a float32 tail is fused by hand: in float64 the product is
        # exact and the sum rounds once more than an FMA's would (a different float32 with odds about 2**-29).
        whole = flat_y.size if y.dtype != numpy.float32 else flat_y.size - flat_y.size % _AXPY_BLOCK
        for start in range(0, whole, _AXPY_CHUNK):
            stop = min(start + _AXPY_CHUNK, whole)
            blas(flat_x[start:stop], flat_y[start:stop], a=a)
        if whole < flat_y.size:
            tail_y = flat_y[whole:]
            tail_y[...] = tail_y.astype(numpy.float64) + float(numpy.float32(a)) * flat_x[whole:].astype(numpy.float64)
        return y
    wide = _COMPUTE.get(y.dtype)
    if wide is not None:  # bfloat16: y + a * x in float32, rounded once, as PyTorch's add_ (not a rounded product added)
        y[...] = y.astype(wide) + a * x.astype(wide)
        return y
    y += a * x
    return y


def matmul(xp, a, b):
    """``a @ b``. On NumPy, a product over a contracted dim of size 1 (an outer product: linear's weight gradient at
    batch 1, a ``Linear(1, n)``'s forward, a ``Linear(n, 1)``'s input gradient) is a broadcast multiply: NumPy's
    matmul takes a loop of its own there, four times slower. Zeros signed as PyTorch's CPU kernels sign them: its mm
    of a matrix by a matrix keeps a -0.0 product; a matrix-vector product and a bmm sum it into 0.0."""
    if (xp is not numpy or a.ndim < 2 or b.ndim < 2 or a.shape[-1] != 1 or b.shape[-2] != 1 or a.dtype != b.dtype
            or a.dtype.kind != "f" or (b.ndim > 2 and a.shape[:-2] != b.shape[:-2])):
        return a @ b
    out = numpy.multiply(a, b)  # a's leading dims fold into mm's rows when b is a matrix, as in PyTorch's matmul
    if b.ndim > 2 or b.shape[-1] == 1 or out.size == b.shape[-1]:
        out += 0.0
    return out


def add_at(xp, out, where, values):
    """``xp.add.at(out, where, values)``: repeated positions accumulate. CuPy's takes no complex arrays, so
    there the real and imaginary parts are added apart, through views of ``out``."""
    if xp is numpy:
        rows = _whole_rows(out, where, values)
        if rows is not None:
            # rows picked by one index array (an embedding's gradient, x[indices]'s): NumPy's add.at walks each row
            # through its general indexing, six times slower than the flat element indices of its 1-D loop; the
            # same additions in the same order, so the same sums
            width = math.prod(out.shape[1:])
            flat = (rows[:, None] * width + numpy.arange(width)).reshape(-1)
            numpy.add.at(out.reshape(-1), flat, values.reshape(-1))
            return
        numpy.add.at(out, where, values)
        return
    if out.dtype.kind != "c":
        xp.add.at(out, where, values)
        return
    values = xp.asarray(values)
    xp.add.at(out.real, where, values.real)
    if values.dtype.kind == "c":
        xp.add.at(out.imag, where, values.imag)


def _whole_rows(out, where, values):
    """``where`` as row numbers of ``out`` (intp, negatives wrapped) when it is one 1-D integer array of rows in range,
    ``out`` C-ordered and ``values`` one row per index; else None."""
    if isinstance(where, tuple) and len(where) == 1:
        where = where[0]
    if (not isinstance(where, numpy.ndarray) or where.ndim != 1 or where.dtype.kind not in "iu" or out.ndim < 2
            or not out.flags.c_contiguous or not isinstance(values, numpy.ndarray) or values.shape != where.shape + out.shape[1:]):
        return None
    rows = out.shape[0]
    if where.size and (where.min() < -rows or where.max() >= rows):
        return None  # add.at raises its IndexError
    where = where.astype(numpy.intp, copy=False)  # the flat positions may pass an int32's range
    return numpy.where(where < 0, where + rows, where)


def floor_divide(xp, x, y):
    """``x // y`` as Python's and PyTorch's: for floats the quotient of ``x - fmod(x, y)``, rounded, so that
    ``1.0 // 0.1`` is 9.0; CuPy's floor_divide floors the rounded ``x / y`` (10.0). Division by zero: ``x / y``."""
    if xp is numpy or xp.result_type(x, y).kind != "f":
        return xp.floor_divide(x, y)
    x, y = xp.asarray(x), xp.asarray(y)
    mod = xp.fmod(x, y)
    quotient = (x - mod) / y
    quotient = xp.where((mod != 0) & ((y < 0) != (mod < 0)), quotient - 1, quotient)
    floored = xp.floor(quotient)
    floored = xp.where(quotient - floored > 0.5, floored + 1, floored)
    floored = xp.where(quotient == 0, xp.copysign(xp.zeros_like(floored), x / y), floored)
    return xp.where(y == 0, x / y, floored)


def linalg_raises(xp):
    """A context in which ``xp.linalg`` raises LinAlgError for a singular or indefinite matrix, as NumPy's always
    does. CuPy's does only inside ``cupyx.errstate(linalg="raise")`` (it then reads cuSOLVER's info back, a sync),
    and gives NaNs otherwise."""
    if xp is numpy:
        return contextlib.nullcontext()
    try:
        import cupyx
        return cupyx.errstate(linalg="raise")
    except (ImportError, AttributeError):  # (the GPU checks' NumPy stand-in for CuPy)
        return contextlib.nullcontext()


def generator_state(xp, generator):
    """The whole state of an ``xp.random.default_rng`` generator as a 1-D uint8 array on the device: NumPy's
    state dict as JSON; CuPy's cuRAND states, copied (CuPy has no public reader: its bit generator's ``state()``
    gives their address). AttributeError where neither is found."""
    bit_generator = generator.bit_generator
    state = bit_generator.state
    if isinstance(state, dict):
        return xp.asarray(numpy.frombuffer(json.dumps(state).encode(), dtype=numpy.uint8).copy())  # (its own memory)
    return bit_generator._state.view(numpy.uint8).copy()


def set_generator_state(xp, generator, state):
    """Put back a state ``generator_state`` gave (a 1-D uint8 array); ValueError, TypeError or KeyError for one
    it cannot have given."""
    bit_generator = generator.bit_generator
    if isinstance(bit_generator.state, dict):
        bit_generator.state = json.loads(state.tobytes().decode())
        return
    states = bit_generator._state
    if state.nbytes != states.nbytes:
        raise ValueError(f"expected {states.nbytes} bytes of cuRAND states, got {state.nbytes}")
    states[...] = state.view(states.dtype)


def as_strided(xp, array, shape, strides):
    """``xp.lib.stride_tricks.as_strided(array, shape, strides)``; on NumPy, for an array that owns its
    C-ordered memory, the view is made directly: NumPy's own goes through an ``__array_interface__``
    object, ten times the cost (4 against 0.4 us), paid by every im2col of a small convolution."""
    if xp is numpy and array.base is None and array.flags.c_contiguous:
        return numpy.ndarray(shape, array.dtype, array, 0, strides)
    return xp.lib.stride_tricks.as_strided(array, shape=shape, strides=strides)


def host_loops(xp):
    """The compiled loops (``engine/loops.py``, Numba) for NumPy arrays; None for CuPy's, or where
    Numba is not installed: the engine's array-call paths then do the same work, slower."""
    global _loops
    if xp is not numpy:
        return None
    if _loops is None:
        try:
            from . import loops
        except ImportError:  # pragma: no cover - numba is a dependency, but the engine runs without it
            loops = False
        _loops = loops
    return _loops or None


_loops = None  # the loops module once imported; False where it cannot be


def _special(name, op=None, params=(), loop=None):
    """A function of ``scipy.special``, elementwise: SciPy's on NumPy arrays, CuPy's own (``cupyx.scipy.special``) on CUDA,
    in the input's float dtype (SciPy's polygamma answers float32 in float64). ``op``: the engine op of the same
    function, which a traced rule records (``traced.TracedNumpy.special``); ``params``: keyword arguments passed to
    SciPy's function before x (polygamma's order ``n``); ``loop``: the name of a function in ``engine/loops.py`` that
    answers for the NumPy inputs it takes (the others: None) in SciPy's place."""

    def function(xp, x, **kwargs):
        if hasattr(xp, "special"):  # a stand-in for NumPy that records (traced.TracedNumpy)
            return xp.special(op or name, x, **kwargs)
        if xp is numpy:
            loops = host_loops(xp) if loop is not None else None
            out = getattr(loops, loop)(x, **kwargs) if loops is not None else None
            if out is not None:
                return out
            import scipy.special as module
            args = [kwargs[p] for p in params]
        else:
            import cupyx.scipy.special as module
            args = [xp.asarray(kwargs[p]) for p in params]  # CuPy's polygamma compares n elementwise: an array, not an int
        out = getattr(module, name)(*args, x)
        dtype = getattr(x, "dtype", None)
        return out.astype(dtype, copy=False) if dtype is not None and dtype.kind == "f" and out.dtype != dtype else out

    function.__name__ = op or name
    return function


erf = _special("erf", loop="erf")  # the error function (float32: a compiled loop, nine times SciPy's speed)
erfinv = _special("erfinv")  # its inverse on (-1, 1)
erfc = _special("erfc")  # 1 - erf, exact in the tail
erfcx = _special("erfcx", "erfcx")  # exp(x^2) erfc(x), finite where erfc underflows
lgamma = _special("gammaln", "lgamma")  # log |Gamma(x)|
digamma = _special("digamma")  # d/dx lgamma
polygamma = _special("polygamma", params=("n",))  # the n-th derivative of digamma
i0 = _special("i0")  # the modified Bessel function of the first kind, order 0
i1 = _special("i1")  # order 1: i0's derivative (no op of its own: i0's gradient is not traced)
i0e = _special("i0e")  # i0 scaled by exp(-|x|)
i1e = _special("i1e")  # i1 scaled by exp(-|x|)
ndtri = _special("ndtri")  # the standard normal quantile function
bessel_j0 = _special("j0")  # the Bessel functions of the first kind, orders 0 and 1
bessel_j1 = _special("j1")


def _special2(name):
    """A function of ``scipy.special`` of two arrays (broadcast), in their float dtype (SciPy's, CuPy's on CUDA)."""

    def function(xp, x, y):
        if xp is numpy:
            import scipy.special as module
        else:
            import cupyx.scipy.special as module
        out = getattr(module, name)(x, y)
        dtype = next((a.dtype for a in (x, y) if getattr(a, "dtype", None) is not None and a.dtype.kind == "f"), None)
        return out.astype(dtype, copy=False) if dtype is not None and out.dtype != dtype else out

    function.__name__ = name
    return function


gammainc = _special2("gammainc")  # the regularized lower incomplete gamma function P(a, x)
gammaincc = _special2("gammaincc")  # its complement Q(a, x)
zeta = _special2("zeta")  # the Hurwitz zeta function
xlogy = _special2("xlogy")  # x log y, 0 at x = 0 (NaN y stays NaN)
xlog1py = _special2("xlog1py")  # x log1p y


# glibc's mallopt parameters
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_host_memory_kept = False


def keep_freed_host_memory(mmap_threshold=32 << 20, trim_threshold=64 << 20) -> bool:
    """Let glibc's malloc reuse freed NumPy arrays instead of giving their pages back to the OS.

    By default glibc serves allocations above 128 KiB (a threshold that grows to the
    largest one freed) with fresh ``mmap`` pages, and trims its heap whenever twice that
    much is free at the top. A training step frees and allocates megabytes of
    activations and gradients, so every step faulted all those pages in again: about
    1,100 page faults per step of the 784-256-256-10 MLP at batch 1024, some 4 ms of a
    19 ms step on a 2-core VM (benchmarks/RESULTS.md). With the thresholds raised,
    arrays below ``mmap_threshold`` come from the heap, and up to ``trim_threshold``
    bytes of freed memory per arena stay in the process for the next step, much as
    CuPy's memory pool keeps device memory. Process-wide and applied once; skipped
    where the user already set ``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_MMAP_THRESHOLD_``,
    and outside glibc. Returns whether the thresholds are now set.
    """
    global _host_memory_kept
    if _host_memory_kept:
        return True
    if "MALLOC_TRIM_THRESHOLD_" in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    _host_memory_kept = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    return _host_memory_kept


def _usable_cupy():
    """Return the cupy module when a CUDA device answers, else None."""
    try:
        import cupy
    except Exception:  # not installed, or a broken CUDA install
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        cupy.zeros(1).sum().item()  # a device that lists but cannot run is not usable
    except Exception:
        return None
    return cupy


def _holds_bfloat16(xp) -> bool:
    """Whether ``xp`` holds ml_dtypes' bfloat16 arrays: copied in from the host, cast to float32 and back and
    copied out. NumPy does once ml_dtypes is installed; CuPy's is recent and experimental (cupy/cupy#9494, merged
    January 2026; cupyx has none, cupy/cupy#9630), so it is tried."""
    if BFLOAT16 is None:
        return False
    if xp is numpy:
        return True
    try:  # pragma: no cover - needs a GPU
        host = numpy.array([1.5, -2.0], dtype=BFLOAT16)
        device = xp.asarray(host)
        back = xp.asnumpy((device.astype(xp.float32) * 2).astype(BFLOAT16))
        return back.dtype == BFLOAT16 and back.tobytes() == (host.astype(numpy.float32) * 2).astype(BFLOAT16).tobytes()
    except Exception:
        return False


class _NoStream:
    """NumPy's stand-in for a CUDA stream: work is done when the call returns."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        pass


_NO_STREAM = _NoStream()


class DeviceClock:
    """CUDA events recorded on the current stream (the session's), for the profiler's device times."""

    def __init__(self, cupy):
        self._cuda = cupy.cuda

    def mark(self):
        event = self._cuda.Event()
        event.record(self._cuda.get_current_stream())  # (record()'s default is the null stream, which a non-blocking one does not wait for)
        return event

    def elapsed_ns(self, start, end) -> int:
        end.synchronize()  # this event alone: the other sessions' streams are not waited on
        return int(self._cuda.get_elapsed_time(start, end) * 1e6)


class Backend:
    """The array module behind an engine: ``xp`` is ``numpy`` or ``cupy``.

    ``device="auto"`` takes CuPy where a CUDA device is usable, else NumPy;
    ``"cuda"`` insists on CuPy and raises where none is usable; ``"cpu"`` is NumPy.
    """

    def __init__(self, device: str = "auto"):
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        cupy = None if device == "cpu" else _usable_cupy()
        if device == "cuda" and cupy is None:
            raise RuntimeError("device='cuda' was asked for, but no usable CUDA device and CuPy were found")
        self.xp = cupy if cupy is not None else numpy
        self.device = "cuda" if cupy is not None else "cpu"
        # NumPy refuses an integer index out of range; CuPy wraps it around, so the engine checks first (a sync)
        self.wraps_indices = cupy is not None
        # whether arrays of ml_dtypes' bfloat16 live in this module (the engine computes them in float32)
        self.bfloat16 = _holds_bfloat16(self.xp)
        if cupy is None:
            keep_freed_host_memory()

    def dtypes(self) -> list:
        """The names of the dtypes this backend holds, sorted (the server info's): bfloat16 only where it can."""
        return sorted(name for name in _SUPPORTED.values() if name != "bfloat16" or self.bfloat16)

    def asnumpy(self, array) -> numpy.ndarray:
        """A host (NumPy) copy of an array of this backend; no copy on NumPy."""
        return array if self.xp is numpy else self.xp.asnumpy(array)

    def new_stream(self):
        """A CUDA stream of its own, for one session: sessions' kernels and copies overlap
        instead of queueing on the shared default stream. On NumPy a context that does nothing."""
        return self.xp.cuda.Stream(non_blocking=True) if self.device == "cuda" else _NO_STREAM

    def device_clock(self):
        """A ``DeviceClock`` on CUDA (device times for the profiler); None on NumPy, whose work is timed by the wall clock."""
        return DeviceClock(self.xp) if self.device == "cuda" else None

    @staticmethod
    def quiet():
        """A context in which NumPy's floating-point warnings (log(0), 0/0, overflow) are not raised: in PyTorch
        inf and NaN are values, and a warning would become an error where the embedding process turns warnings
        into errors (``-W error``). CuPy raises none."""
        return numpy.errstate(all="ignore")

    def host_buffer(self, nbytes: int) -> numpy.ndarray:
        """A uint8 host buffer for transfers: page-locked (pinned) on CUDA, so copies to and
        from the device run at full speed with no staging copy by the driver."""
        if self.device != "cuda":
            return numpy.empty(nbytes, dtype=numpy.uint8)
        return numpy.frombuffer(self.xp.cuda.alloc_pinned_memory(nbytes), dtype=numpy.uint8, count=nbytes)

    def host_bytes(self, array, take_buffer) -> numpy.ndarray:
        """The bytes of ``array`` in C order on the host, flat uint8: no copy of a contiguous
        NumPy array; on CUDA one device-to-host copy into a buffer from ``take_buffer(nbytes)``."""
        if self.device != "cuda":
            return numpy.ascontiguousarray(array).reshape(-1).view(numpy.uint8)
        array = self.xp.ascontiguousarray(array)
        buffer = take_buffer(array.nbytes)
        self.xp.asnumpy(array, out=buffer.view(array.dtype).reshape(array.shape))
        return buffer

    def __repr__(self) -> str:
        return f"Backend(device={self.device!r})"
