"""The dtypes the engine supports, and the one parser that reads a dtype argument."""

from __future__ import annotations

import math

import numpy as np

from .errors import DTypeError

DEFAULT_FLOAT = np.dtype(np.float32)

try:  # NumPy has no bfloat16; ml_dtypes (a dependency) registers one with NumPy, with ufunc loops
    import ml_dtypes
    BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - the engine runs without it, and without bfloat16
    BFLOAT16 = None

SUPPORTED = {np.dtype(name): name for name in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool",
                                                   "complex64", "complex128")}
if BFLOAT16 is not None:
    SUPPORTED[BFLOAT16] = "bfloat16"

# PyTorch's names of the scalar types, as its messages quote them ("not implemented for 'Long'")
TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "float16": "Half",
               "float32": "Float", "float64": "Double", "bfloat16": "BFloat16", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def torch_name(dtype) -> str:
    """PyTorch's name of ``dtype``'s scalar type (``Long``, ``Float``, ...)."""
    return TORCH_NAMES.get(dtype.name, dtype.name)


# and their C++ names, as other messages of its quote them ("expected dtype float ... but got dtype double")
CPP_NAMES = {"int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
             "float16": "c10::Half", "float32": "float", "float64": "double", "bfloat16": "c10::BFloat16",
             "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def grad_mismatch(value_dtype, value_shape, dtype, shape) -> str | None:
    """PyTorch's refusal of ``t.grad = value`` where the value's dtype or size is not the tensor's; None if they match."""
    if value_dtype != dtype:
        return (f"attempting to assign a gradient with dtype '{CPP_NAMES.get(value_dtype.name, value_dtype.name)}' to a tensor with "
                f"grad_dtype '{torch_name(dtype)}'. The gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). "
                "You can set the tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with "
                "caution. Diverging the dtypes of a tensor and its gradient may break downstream systems that assume they match.")
    if tuple(value_shape) != tuple(shape):
        return (f"attempting to assign a gradient of size '{list(value_shape)}' to a tensor of size '{list(shape)}'. Please ensure "
                "that the gradient and the tensor are the same size")
    return None


# Storage dtypes the engine computes in another (``Engine.apply``): ml_dtypes' bfloat16 is a NumPy "V" kind with ufunc
# loops in bfloat16 only (sums accumulate in bfloat16, no matmul, no SciPy special functions). PyTorch's CPU kernels
# compute bfloat16 in float32 and round the result once; so does the engine, and its backward rules run in float32.
COMPUTE = {} if BFLOAT16 is None else {BFLOAT16: np.dtype(np.float32)}
# dtypes that are floating point but not of NumPy's kinds "f" and "c"
_OTHER_FLOATS = frozenset(COMPUTE)

# PyTorch's alternative spellings, so "float", "double", "long" read as users expect.
_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32", "short": "int16", "cfloat": "complex64",
            "cdouble": "complex128"}


def parse_dtype(dtype) -> np.dtype:
    """Read a dtype given as a NumPy dtype, a NumPy scalar type or a name ("float64")."""
    if isinstance(dtype, str):
        dtype = _ALIASES.get(dtype.removeprefix("torch."), dtype.removeprefix("torch."))
    try:
        parsed = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"unsupported dtype {dtype!r}; supported: {', '.join(SUPPORTED.values())}") from None
    if parsed not in SUPPORTED:
        raise DTypeError(f"unsupported dtype {dtype!r}; supported: {', '.join(SUPPORTED.values())}")
    return parsed


def parse_default_float(dtype) -> np.dtype:
    """The default float dtype an op command names (``set_default_dtype`` on the client): a float dtype."""
    parsed = parse_dtype(dtype)
    if not is_floating(parsed):
        raise DTypeError("only floating-point types are supported as the default type")
    return parsed


def wrap_integer(value, dtype: np.dtype):
    """A Python integer as a number of the integer ``dtype``, wrapped as C casts it (PyTorch's ``uint8 + 300``
    adds 44): NumPy refuses a Python int out of a dtype's range."""
    bits = dtype.itemsize * 8
    value = int(value) & ((1 << bits) - 1)
    if dtype.kind == "i" and value >= 1 << (bits - 1):
        value -= 1 << bits
    return dtype.type(value)


# how PyTorch's overflow message names a dtype (the names C++ gives them: int for int32, int64_t for int64)
_OVERFLOW_NAMES = {"int32": "int", "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double"}


def _overflow(dtype: np.dtype) -> DTypeError:
    return DTypeError(f"value cannot be converted to type {_OVERFLOW_NAMES.get(dtype.name, dtype.name + '_t')} without overflow")


def checked_integer(value, dtype: np.dtype):
    """A Python int or float as a number of the integer ``dtype``, as PyTorch converts a fill value or a clamp bound: one
    outside the dtype is refused, except a negative int within the range's size for an unsigned dtype, which wraps;
    a float must lie within the range itself (no -0.5 for uint8), and is truncated toward zero, as a C cast."""
    info = np.iinfo(dtype)
    if type(value) is float:
        if not (math.isfinite(value) and info.min <= value <= info.max):  # inf and NaN fit nowhere
            raise _overflow(dtype)
        return dtype.type(int(value))
    low = -int(info.max) if dtype.kind == "u" else int(info.min)
    if not low <= value <= int(info.max):
        raise _overflow(dtype)
    return dtype.type(value % (int(info.max) + 1) if dtype.kind == "u" else value)


def checked_fill(value, dtype: np.dtype):
    """A Python number as PyTorch converts a fill value (``fill_``, ``x[i] = v``, ``masked_fill``, ``full``) into
    ``dtype``: refused where it overflows the dtype (1e40 into float32; inf and NaN go into any float)."""
    if type(value) not in (int, float):
        return value
    if dtype.kind in "iu":
        return checked_integer(value, dtype)
    if dtype.kind == "f" and math.isfinite(value) and abs(value) > float(np.finfo(dtype).max):
        raise _overflow(dtype)
    return value


def is_floating(dtype: np.dtype) -> bool:
    """Float (bfloat16 too) or complex: the dtypes that carry gradients."""
    return dtype.kind in "fc" or dtype in _OTHER_FLOATS


def complex_of(dtype: np.dtype) -> np.dtype:
    """The complex dtype of a float one's precision (float64 -> complex128; float32 and float16 -> complex64), as
    PyTorch's ``toComplexType``; a complex dtype is its own."""
    if dtype.kind == "c":
        return dtype
    return np.dtype(np.complex128) if dtype == np.float64 else np.dtype(np.complex64)


def real_of(dtype: np.dtype) -> np.dtype:
    """The float dtype of a complex one's precision (complex64 -> float32); any other dtype is its own."""
    return np.dtype(np.float64) if dtype == np.complex128 else np.dtype(np.float32) if dtype == np.complex64 else dtype


def promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's promotion for two tensors: a float (or complex) meets an integer as that float; a complex one meets a
    float as the complex dtype of the wider precision (complex64 and float64 give complex128)."""
    if a == b:
        return a
    a_float, b_float = is_floating(a), is_floating(b)
    if a_float and not b_float:
        return a
    if b_float and not a_float:
        return b
    if a in _OTHER_FLOATS or b in _OTHER_FLOATS:  # bfloat16 with float16 is float32, as PyTorch's
        return np.promote_types(COMPUTE.get(a, a), COMPUTE.get(b, b))
    return np.promote_types(a, b)


_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "V": 2, "c": 3}


def can_cast(from_: np.dtype, to: np.dtype) -> bool:
    """Whether an in-place op may write a ``from_`` result into a ``to`` tensor: never into a lower category
    (complex > float > integer > bool), as ``torch.can_cast``; within one (int64 into uint8) it wraps, as PyTorch's."""
    return _CATEGORY[from_.kind] <= _CATEGORY[to.kind]


def promote_tensors(dtypes_and_ndims) -> np.dtype | None:
    """PyTorch's result type of tensors: dimensioned tensors decide; 0-d tensors only where their
    category (bool < integer < float < complex) is higher (``x + torch.tensor(1.0, dtype=float64)`` stays float32)."""
    dims = zeros = None
    for dtype, ndim in dtypes_and_ndims:
        if ndim:
            dims = dtype if dims is None else promote(dims, dtype)
        else:
            zeros = dtype if zeros is None else promote(zeros, dtype)
    if dims is None:
        return zeros
    if zeros is not None and _CATEGORY[zeros.kind] > _CATEGORY[dims.kind]:
        # a complex 0-d tensor meets float ones as their precision's complex dtype (complex128, float32: complex64)
        return complex_of(dims) if zeros.kind == "c" and dims.kind == "f" else zeros
    return dims

