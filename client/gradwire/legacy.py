"""PyTorch's legacy tensor types, as old PyTorch code writes them: ``gw.FloatTensor([1, 2])`` (a tensor of that data),
``gw.LongTensor(2, 3)`` (of that size: zeros, as ``gw.empty``), ``isinstance(x, gw.FloatTensor)`` (a float32 tensor) and
``x.type(gw.LongTensor)``; and its deprecated functions that old code still calls (``gw.range``, ``gw.chain_matmul``,
``gw.frobenius_norm``, ``gw.nuclear_norm``), with PyTorch's warnings."""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import backends, defaults, errors, floats, linalg
from .session import resolve_session
from .tensor import Size, Tensor, as_dtype, placed


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


_WARNED = set()


def _warn_once(message):
    """PyTorch's TORCH_WARN_ONCE: the first call in the process warns (every call, after ``gw.set_warn_always(True)``)."""
    if message not in _WARNED or backends.is_warn_always_enabled():
        _WARNED.add(message)
        warnings.warn(message, UserWarning, stacklevel=3)


@placed
def range(start, end, step=1, *, dtype=None, requires_grad=False, session=None):  # noqa: A001 - torch.range
    """``torch.range``: ``start`` to ``end`` inclusive by ``step``, in the default float dtype unless ``dtype``."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is inconsistent with "
                  "Python's range builtin. Instead, use torch.arange, which produces values in [start, end).", UserWarning, stacklevel=3)
    if step == 0:
        raise errors.InvalidArgumentError("step must be nonzero")
    if (end - start) * step < 0:
        raise errors.InvalidArgumentError("upper bound and lower bound inconsistent with step sign")
    count = math.floor((end - start) / step) + 1
    session = resolve_session(session)
    values = session.arange(count, dtype="float64") * step + start  # start + i * step, in double, as PyTorch's
    values = values.to(as_dtype(dtype) if dtype is not None else defaults.current)
    return values.requires_grad_() if requires_grad else values


def chain_matmul(*matrices):
    """``torch.chain_matmul``: the product of the matrices, as ``linalg.multi_dot``."""
    _warn_once("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use torch.linalg.multi_dot "
               "instead, which accepts a list of two or more tensors rather than multiple parameters.")
    return matrices[0] if len(matrices) == 1 else linalg.multi_dot(list(matrices))


def frobenius_norm(input, dim, keepdim=False):
    """``torch.frobenius_norm``: ``linalg.vector_norm(input, 2, dim, keepdim)``."""
    _warn_once("at::frobenius_norm is deprecated and it is just left for JIT compatibility. It will be removed in a future "
               "PyTorch release. Please use `linalg.vector_norm(A, 2., dim, keepdim)` instead")
    return linalg.vector_norm(input, 2, dim, keepdim)


def nuclear_norm(input, dim=None, keepdim=False):
    """``torch.nuclear_norm``: ``linalg.matrix_norm(input, 'nuc', dim, keepdim)`` (the last two dims unless ``dim``);
    ``nuclear_norm(input, keepdim)``, PyTorch's other form, too."""
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    _warn_once("at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will be removed in a future "
               "PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead")
    return linalg.matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim)


LEGACY_FUNCTIONS = {"range": range, "chain_matmul": chain_matmul, "frobenius_norm": frobenius_norm, "nuclear_norm": nuclear_norm}
