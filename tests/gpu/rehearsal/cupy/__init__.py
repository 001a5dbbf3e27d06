"""NOT CuPy: a NumPy stand-in that lets tests/gpu and run_on_device.sh be rehearsed without a GPU.

``GPU_REHEARSAL=1 bash tests/gpu/run_on_device.sh`` puts tests/gpu/rehearsal first
on PYTHONPATH, so that ``import cupy`` finds this module. The engine then takes it
for a usable CUDA device and runs on NumPy under the name "cuda": every test in
tests/gpu runs, which checks the tests themselves (fixtures, reuse, tolerances,
the script's plumbing), never the GPU. Nothing outside a rehearsal imports it.

What it imitates:

- ``get_default_memory_pool().used_bytes()`` counts the bytes of live NumPy
  arrays, through tracemalloc's NumPy domain (no 512-byte rounding: see
  ``NUMPY_STAND_IN``). Host arrays that tests hold count too, unlike on a GPU.
- ``where`` refuses a condition that is not an array, as CuPy's does (it calls
  ``condition.astype('?')``), so that code which passes a Python bool fails here
  as it will on a GPU.
- ``cuda.runtime`` answers one device whose name says it is this stand-in; ``cuda.Stream``
  and ``cuda.alloc_pinned_memory`` exist and do nothing special.

Everything else is NumPy's (module ``__getattr__``).
"""

from __future__ import annotations

import tracemalloc as _tracemalloc
import time as _time
import types as _types

import numpy as _np

__version__ = "0.0.0+numpy.stand.in"
NUMPY_STAND_IN = True
ndarray = _np.ndarray
random = _np.random

_tracemalloc.start()
_NUMPY_DOMAIN = _tracemalloc.DomainFilter(True, _np.lib.tracemalloc_domain)


def __getattr__(name):
    return getattr(_np, name)


def asnumpy(a, stream=None, order="C", out=None):
    if out is not None:
        out[...] = a
        return out
    return _np.asarray(a, order=order)


def where(condition, x=None, y=None):
    if x is None and y is None:
        return _np.nonzero(condition)
    return _np.where(condition.astype("?"), x, y)  # as CuPy: AttributeError for a Python bool


class _MemoryPool:
    def used_bytes(self) -> int:
        snapshot = _tracemalloc.take_snapshot().filter_traces([_NUMPY_DOMAIN])
        return sum(trace.size for trace in snapshot.traces)

    def total_bytes(self) -> int:
        return self.used_bytes()

    def free_all_blocks(self):
        pass


_POOL = _MemoryPool()


def get_default_memory_pool():
    return _POOL


class _Runtime:
    @staticmethod
    def getDeviceCount():
        return 1

    @staticmethod
    def getDeviceProperties(device):
        return {"name": b"NumPy stand-in for CuPy (a rehearsal: no GPU)", "totalGlobalMem": 0, "major": 0, "minor": 0}

    @staticmethod
    def runtimeGetVersion():
        return 0

    @staticmethod
    def driverGetVersion():
        return 0


class _Device:
    def __init__(self, device=0):
        self.id = device

    def synchronize(self):
        pass


class _Stream:
    def __init__(self, null=False, non_blocking=False, ptds=False):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        pass


_Stream.null = _Stream()


def _alloc_pinned_memory(nbytes):
    # plain NumPy memory, which the stand-in pool counts: tensors adopted from upload buffers are
    # those buffers here (NumPy's asarray does not copy), where CuPy copies them to the device
    return _np.empty(nbytes, dtype=_np.uint8)


class _Event:
    """A CUDA event as the host's clock: work is done when its call returns here."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.time = None

    def record(self, stream=None):
        self.time = _time.perf_counter()

    def synchronize(self):
        pass


def _get_elapsed_time(start, end):
    return (end.time - start.time) * 1e3  # milliseconds, as CuPy's


cuda = _types.SimpleNamespace(
    runtime=_Runtime, Device=_Device, Stream=_Stream, Event=_Event, get_elapsed_time=_get_elapsed_time,
    get_current_stream=lambda: _Stream.null, alloc_pinned_memory=_alloc_pinned_memory, is_available=lambda: True
)
