"""``gw.finfo`` and ``gw.iinfo``: the numerical limits of a dtype, PyTorch's fields and repr, computed here from
NumPy's (no session needed)."""

from __future__ import annotations

import numpy as np

from .floats import finfo_of, is_floating
from . import defaults
from .tensor import _ALIASES

__all__ = ["finfo", "iinfo"]


def _parse(dtype) -> np.dtype:
    """A dtype from a NumPy dtype or type, a name ("float64", "torch.long") or an SDK alias (``gw.float64``)."""
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.")
        dtype = _ALIASES.get(name, name)
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"expected a dtype, got {dtype!r}") from None


class finfo:
    """The limits of a float dtype (the default dtype, float32, when none is given), as ``torch.finfo``: ``bits``,
    ``eps`` (the gap above 1), ``max``, ``min``, ``tiny`` and ``smallest_normal`` (the smallest positive normal number),
    ``resolution`` (10 ** -decimal digits) and ``dtype`` (its name), all Python numbers."""

    def __init__(self, type=None):
        dtype = defaults.current if type is None else _parse(type)
        if dtype.kind == "c":  # a complex dtype's parts, as PyTorch's
            dtype = np.dtype(np.float64) if dtype == np.complex128 else np.dtype(np.float32)
        if not is_floating(dtype):
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle 'torch.finfo'")
        info = finfo_of(dtype)  # (bfloat16: ml_dtypes' finfo)
        self.bits, self.dtype = int(info.bits), dtype.name
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # (NumPy's is that number rounded to the dtype: 0.0010004 for float16)

    def __eq__(self, other):
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """The limits of an integer dtype, as ``torch.iinfo``: ``bits``, ``max``, ``min`` (Python ints) and ``dtype`` (its name)."""

    def __init__(self, type):
        dtype = _parse(type)
        if dtype.kind == "b":
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if dtype.kind not in "iu":
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        info = np.iinfo(dtype)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), dtype.name

    def __eq__(self, other):
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
