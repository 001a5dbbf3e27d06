"""PyTorch's legacy tensor types, as old PyTorch code writes them: ``gw.FloatTensor([1, 2])`` (a tensor of that data),
``gw.LongTensor(2, 3)`` (of that size: zeros, as ``gw.empty``), ``isinstance(x, gw.FloatTensor)`` (a float32 tensor) and
``x.type(gw.LongTensor)``."""

from __future__ import annotations

import numpy as np

from . import floats
from .session import resolve_session
from .tensor import Size, Tensor


class LegacyTensorType(type):
    """The type of ``gw.FloatTensor`` and its kind: an instance is any gradwire tensor of its dtype."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __repr__(cls):
        return f"<class 'gradwire.{cls.__name__}'>"


def _new(cls, *args, session=None):
    if not args:
        args = (0,)  # gw.FloatTensor(): an empty 1-D tensor, as torch's
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0].to(cls.dtype)
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):  # data: a list, a number, a NumPy array
        return resolve_session(session).tensor(args[0], dtype=cls.dtype)
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in args):
        raise TypeError(f"new() received an invalid combination of arguments - got ({', '.join(type(a).__name__ for a in args)})")
    return resolve_session(session).zeros(*args, dtype=cls.dtype)  # zeros: no uninitialised memory crosses sessions


_NAMES = {"Float": "float32", "Double": "float64", "Half": "float16", "Long": "int64", "Int": "int32", "Short": "int16",
          "Char": "int8", "Byte": "uint8", "Bool": "bool"}
LEGACY_TYPES = {f"{name}Tensor": LegacyTensorType(f"{name}Tensor", (), {"__new__": _new, "dtype": np.dtype(dtype)})
                for name, dtype in _NAMES.items()}
if floats.bfloat16 is not None:
    LEGACY_TYPES["BFloat16Tensor"] = LegacyTensorType("BFloat16Tensor", (), {"__new__": _new, "dtype": floats.bfloat16})
