"""Floating-point dtypes that NumPy's ``dtype.kind`` does not call "f": ``bfloat16``, from ml_dtypes (NumPy has none).

ml_dtypes' bfloat16 is a NumPy dtype of kind "V"; wherever the SDK asks whether a dtype is a float it asks here.
"""

from __future__ import annotations

import numpy as np

try:  # a dependency; the SDK runs without it, and without bfloat16
    import ml_dtypes
    bfloat16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    ml_dtypes = bfloat16 = None

_OTHER = frozenset(() if bfloat16 is None else (bfloat16,))
_WIDE = np.dtype(np.float32)


def is_floating(dtype) -> bool:
    """Whether ``dtype`` is a floating-point dtype, bfloat16 included."""
    return dtype.kind == "f" or dtype in _OTHER


def is_inexact(dtype) -> bool:
    """Float (bfloat16 included) or complex: the dtypes that can carry gradients."""
    return dtype.kind in "fc" or dtype in _OTHER


def is_bfloat16(dtype) -> bool:
    """Whether ``dtype`` is bfloat16 (never where ml_dtypes is missing: ``np.dtype(x) == None`` holds for float64)."""
    return dtype in _OTHER


def kind(dtype) -> str:
    """``dtype.kind``, "f" for bfloat16."""
    return "f" if dtype in _OTHER else dtype.kind


def promote_floats(a, b):
    """NumPy's promotion of two float dtypes, with PyTorch's rule for bfloat16: with float16 it is float32."""
    if a in _OTHER or b in _OTHER:
        return np.promote_types(_WIDE if a in _OTHER else a, _WIDE if b in _OTHER else b)
    return np.promote_types(a, b)


def finfo_of(dtype):
    """NumPy's finfo for a float dtype, ml_dtypes' for bfloat16."""
    return ml_dtypes.finfo(dtype) if dtype in _OTHER else np.finfo(dtype)
