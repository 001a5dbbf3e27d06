"""The array module, chosen once.

``Backend(device)`` decides between CuPy (a usable CUDA device) and NumPy.
Every other engine file receives the chosen module as ``xp`` and never asks
which one it is.
"""

from __future__ import annotations

import numpy

DEVICES = ("auto", "cpu", "cuda")


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

    def asnumpy(self, array) -> numpy.ndarray:
        """A host (NumPy) copy of an array of this backend; no copy on NumPy."""
        return array if self.xp is numpy else self.xp.asnumpy(array)

    def __repr__(self) -> str:
        return f"Backend(device={self.device!r})"
