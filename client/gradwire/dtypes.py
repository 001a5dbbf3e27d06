"""``gw.dtype``: a dtype as PyTorch shows it (``torch.float32``), over the NumPy dtype the SDK works with inside.

The SDK keeps NumPy dtypes everywhere inside (the wire's names, the shape and dtype inference, the arrays); a
``gw.dtype`` is the face one of them shows a user: ``gw.float32`` and its aliases, ``Tensor.dtype``,
``gw.get_default_dtype()``, ``gw.promote_types``. It prints as torch's (``torch.float32``) and has torch's
attributes (``is_floating_point``, ``is_complex``, ``is_signed``, ``itemsize``, ``to_real()``, ``to_complex()``).
It stays a drop-in for the NumPy dtype: NumPy takes it wherever it takes a dtype (through its ``dtype`` attribute),
it compares and hashes as the NumPy dtype does (``gw.float32 == np.float32``), and NumPy's attributes (``kind``,
``name``, ``type``) read through to it.
"""

from __future__ import annotations

import numpy as np

from . import floats

# One row per dtype gradwire has: its NumPy dtype, torch's name (torch.<name>), torch's scalar type name (as its
# messages say "Float"), torch's abbreviation.
_ROWS = [
    (np.float16, "float16", "Half", "f16"), (np.float32, "float32", "Float", "f32"), (np.float64, "float64", "Double", "f64"),
    (np.complex64, "complex64", "ComplexFloat", "c64"), (np.complex128, "complex128", "ComplexDouble", "c128"),
    (np.uint8, "uint8", "Byte", "u8"), (np.int8, "int8", "Char", "i8"), (np.int16, "int16", "Short", "i16"),
    (np.int32, "int32", "Int", "i32"), (np.int64, "int64", "Long", "i64"), (np.bool_, "bool", "Bool", "b8"),
]
if floats.bfloat16 is not None:
    _ROWS.append((floats.bfloat16, "bfloat16", "BFloat16", "bf16"))

SCALAR_TYPE_NAMES = {np.dtype(numpy_dtype): scalar_name for numpy_dtype, _, scalar_name, _ in _ROWS}
_COMPLEX_OF = {np.dtype(np.float32): np.dtype(np.complex64), np.dtype(np.float64): np.dtype(np.complex128)}
if floats.bfloat16 is not None:
    _COMPLEX_OF[floats.bfloat16] = np.dtype(np.complex64)  # as torch.bfloat16.to_complex()
_REAL_OF = {np.dtype(np.complex64): np.dtype(np.float32), np.dtype(np.complex128): np.dtype(np.float64)}


class dtype:  # noqa: N801 - torch.dtype's name
    """A tensor's dtype, as ``torch.dtype``: ``gw.float32``, ``x.dtype``. One object per dtype (``x.dtype is
    gw.float32``); made only by gradwire, as torch's."""

    __slots__ = ("dtype", "_name", "_abbr")
    __module__ = "gradwire"  # gw.typename(gw.float32): "gradwire.dtype", as torch's "torch.dtype"

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create 'gradwire.dtype' instances")

    @classmethod
    def _make(cls, numpy_dtype, name, abbr):
        self = object.__new__(cls)
        self.dtype = np.dtype(numpy_dtype)  # what NumPy reads when it is given this object as a dtype
        self._name, self._abbr = name, abbr
        return self

    def __repr__(self):
        return f"torch.{self._name}"

    def __reduce__(self):  # pickles and copies as the one object of its name
        return public, (self._name,)

    def __eq__(self, other):
        try:
            return self.dtype == (other.dtype if isinstance(other, dtype) else other)
        except TypeError:
            return False

    def __hash__(self):
        return hash(self.dtype)

    def __getattr__(self, name):  # NumPy's own attributes (kind, name, type, char, ...), for code written for them
        return getattr(object.__getattribute__(self, "dtype"), name)

    @property
    def is_floating_point(self) -> bool:
        return floats.is_floating(self.dtype)

    @property
    def is_complex(self) -> bool:
        return self.dtype.kind == "c"

    @property
    def is_signed(self) -> bool:
        return self.dtype.kind in "ifc" or floats.is_floating(self.dtype)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def abbr(self) -> str:
        return self._abbr

    def to_real(self) -> dtype:
        """The real dtype of a complex one (``complex64`` -> ``float32``); any other is itself."""
        return public(_REAL_OF.get(self.dtype, self.dtype))

    def to_complex(self) -> dtype:
        """The complex dtype of a floating one (``float32`` -> ``complex64``); a complex one is itself."""
        if self.dtype.kind == "c":
            return self
        if self.dtype in _COMPLEX_OF:
            return public(_COMPLEX_OF[self.dtype])
        if self.dtype == np.float16:  # torch's complex32, which gradwire does not have
            raise TypeError("gradwire has no complex32 (torch.float16.to_complex()'s dtype)")
        raise RuntimeError(f"Unknown Complex ScalarType for {SCALAR_TYPE_NAMES[self.dtype]}")


_BY_NUMPY = {np.dtype(numpy_dtype): dtype._make(numpy_dtype, name, abbr) for numpy_dtype, name, _, abbr in _ROWS}
_BY_NAME = {d._name: d for d in _BY_NUMPY.values()}


def public(numpy_dtype):
    """The ``gw.dtype`` a user sees for a NumPy dtype (or a torch name, "float32"): ``Tensor.dtype``'s answer. A dtype
    gradwire does not have comes back as NumPy's, and None as None."""
    if isinstance(numpy_dtype, str):
        return _BY_NAME[numpy_dtype]
    if numpy_dtype is None or isinstance(numpy_dtype, dtype):
        return numpy_dtype
    return _BY_NUMPY.get(numpy_dtype, numpy_dtype)
