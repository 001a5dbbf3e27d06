"""Complex tensors' API on ``Tensor``, as PyTorch's: ``real``, ``imag``, ``conj``, ``angle``, ``H``/``mH``/``adjoint``,
``view_as_real``/``view_as_complex``, ``complex``/``polar``. The engine's ops ``real``, ``imag``, ``conj``, ``angle`` and
``complex`` carry the gradients; the rest are compositions of them.

Differences from PyTorch, all in memory, none in values or gradients: ``real``, ``imag``, ``view_as_real`` and
``view_as_complex`` are copies, not views (an in-place change to one does not reach the other); ``conj()`` computes the
conjugate at once (``is_conj()`` still says True on its result, and ``resolve_conj()`` gives a tensor without the
mark, as PyTorch's lazy conjugate bit).

Set on ``Tensor`` when ``gradwire`` is imported; the torch-level names go into ``FUNCTIONS``.
"""

from __future__ import annotations

import numpy as np

from . import errors
from .tensor import FUNCTIONS, Tensor, _TENSOR_TYPE_NAMES, _function, _op, _op_into, _tensor_argument, float16, float32, float64, stack


_CONJ, _NEG = 1, 2  # PyTorch's conjugate and negative bits, as marks on a Tensor (``_bits``): the values are already resolved
_PART = 4  # a copy where PyTorch's is a view of a complex tensor's part: in-place changes refused (session._inplace)


def _bits(x) -> int:
    return getattr(x, "_bits", 0)


def _is_complex(x) -> bool:
    return x.dtype.kind == "c"


def real(self):
    """The real part, as ``torch.Tensor.real``: of a real tensor, the tensor itself; a copy for a complex one."""
    if not _is_complex(self):
        return self
    out = _op("real", (self,))
    out._bits = _PART
    return out


def imag(self):
    """The imaginary part of a complex tensor, as ``torch.Tensor.imag`` (a copy); refused for a real one, as PyTorch's."""
    if not _is_complex(self):
        raise errors.InvalidArgumentError("imag is not implemented for tensors with non-complex dtypes.")
    out = _op("imag", (self,))
    out._bits = _PART | (_NEG if _bits(self) & _CONJ else 0)  # PyTorch's imaginary part of a lazy conjugate is a negated view
    return out


def conj(self):
    """The complex conjugate, as ``torch.Tensor.conj``: a real tensor is itself; a complex one's is computed at once,
    marked as PyTorch's lazy conjugate is (``is_conj()``)."""
    if not _is_complex(self):
        return self
    out = _op("conj", (self,))
    out._bits = _bits(self) ^ _CONJ
    return out


def conj_physical(self):
    """The complex conjugate, computed (``torch.conj_physical``); a real tensor is itself."""
    return _op("conj", (self,)) if _is_complex(self) else self


def conj_physical_(self):
    """The complex conjugate written into this tensor (``torch.Tensor.conj_physical_``); a real tensor stays as it is."""
    if _is_complex(self):
        _op_into("conj", self)
    return self


def resolve_conj(self):
    """A tensor without the conjugate mark (its values are already conjugated), as ``torch.Tensor.resolve_conj``."""
    return self.clone() if _bits(self) & _CONJ else self


def resolve_neg(self):
    """A tensor without the negative mark, as ``torch.Tensor.resolve_neg``."""
    return self.clone() if _bits(self) & _NEG else self


def is_conj(self) -> bool:
    """Whether this is ``conj()`` of a complex tensor, not yet resolved (``torch.Tensor.is_conj``)."""
    return bool(_bits(self) & _CONJ)


def is_neg(self) -> bool:
    """Whether this is the imaginary part of a conjugate, not yet resolved (``torch.Tensor.is_neg``)."""
    return bool(_bits(self) & _NEG)


def is_complex(self) -> bool:
    return _is_complex(self)


def isreal(self):
    """Whether each element is real: everywhere for a real tensor; where the imaginary part is 0 for a complex one."""
    return self.imag == 0 if _is_complex(self) else self._session.ones(*self.shape, dtype=_BOOL)


def angle(self):
    """The argument of each element in radians, as ``torch.angle`` (of a real number: 0, or pi for a negative one)."""
    return _op("angle", (self,))


_sign = Tensor.sign


def sgn(self):
    """``sign`` of a real tensor; ``z / |z|`` (0 at 0) of a complex one, as ``torch.sgn``."""
    if not _is_complex(self):
        return _sign(self)
    magnitude = self.abs()
    zero = magnitude == 0
    return (self / magnitude.masked_fill(zero, 1)).masked_fill(zero, 0)


def H(self):
    """The conjugate transpose of a matrix (the transpose of a vector or a number: itself), as ``torch.Tensor.H``."""
    if self.ndim > 2:
        raise errors.InvalidArgumentError(
            f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor. For batches of matrices, consider using tensor.mH")
    return (self.transpose(0, 1) if self.ndim == 2 else self).conj()  # (TransposeBackward0, as PyTorch names it)


def mH(self):
    """The conjugate transpose of the last two dims, as ``torch.Tensor.mH``."""
    if self.ndim < 2:
        raise errors.InvalidArgumentError(f"tensor.mH is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return self.transpose(-2, -1).conj()


def adjoint(self):
    """``mH`` as a method, as ``torch.Tensor.adjoint``."""
    if self.ndim < 2:
        raise errors.InvalidArgumentError(f"tensor.adjoint() is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return self.transpose(-2, -1).conj()


def view_as_real(input):
    """A complex tensor as a real one with a last dim of 2 (real, imaginary), as ``torch.view_as_real``: a copy here."""
    _tensor_argument("view_as_real", "input", input)
    if not _is_complex(input):
        raise errors.InvalidArgumentError("view_as_real is only supported for complex tensors")
    if _bits(input) & _CONJ:
        raise errors.InvalidArgumentError(
            "view_as_real doesn't work on unresolved conjugated tensors.  To resolve the conjugate tensor so you can view it as real, use "
            "self.resolve_conj(); however, be warned that the resulting tensor will NOT alias the original.")
    out = _stack_last(input.real, input.imag)
    out._bits = _PART
    return out


def _stack_last(re, im):
    return stack((re, im), dim=-1)


def view_as_complex(input):
    """A real tensor whose last dim is 2 (real, imaginary) as a complex one, as ``torch.view_as_complex``: a copy here."""
    _tensor_argument("view_as_complex", "input", input)
    if input.dtype not in (float16, float32, float64):
        raise errors.InvalidArgumentError(
            "view_as_complex is only supported for half, float and double tensors, but got a tensor of scalar type: "
            f"{_TENSOR_TYPE_NAMES.get(input.dtype, input.dtype.name)}")
    if input.ndim == 0 or input.shape[-1] != 2:
        raise errors.InvalidArgumentError("Tensor must have a last dimension of size 2")
    out = complex(input[..., 0], input[..., 1])
    out._bits = _PART
    return out


def complex(real, imag):
    """``real + i imag`` of two float tensors of one dtype, as ``torch.complex``: complex64 of float32, complex128 of float64."""
    _tensor_argument("complex", "real", real)
    _tensor_argument("complex", "imag", imag, 2)
    return _op("complex", (real, imag))


def polar(abs, angle):
    """``abs * (cos(angle) + i sin(angle))``, as ``torch.polar``: float tensors of one dtype."""
    _tensor_argument("polar", "abs", abs)
    _tensor_argument("polar", "angle", angle, 2)
    if abs.dtype.kind != "f" or angle.dtype.kind != "f":
        names = [_TENSOR_TYPE_NAMES.get(t.dtype, t.dtype.name) for t in (abs, angle)]
        raise errors.InvalidArgumentError(f"Expected both inputs to be Half, Float or Double tensors but got {names[0]} and {names[1]}")
    return complex(abs * angle.cos(), abs * angle.sin())


_BOOL = np.dtype(np.bool_)

for _name, _method in {"conj": conj, "conj_physical": conj_physical, "conj_physical_": conj_physical_, "resolve_conj": resolve_conj, "resolve_neg": resolve_neg,
                       "is_conj": is_conj, "is_neg": is_neg, "is_complex": is_complex, "isreal": isreal, "angle": angle,
                       "adjoint": adjoint, "sgn": sgn}.items():
    setattr(Tensor, _name, _method)
for _name, _method in {"real": real, "imag": imag, "H": H, "mH": mH}.items():
    setattr(Tensor, _name, property(_method, doc=_method.__doc__))

_TORCH_LEVEL = ("conj", "conj_physical", "conj_physical_", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "is_complex", "isreal", "angle", "adjoint", "sgn")
FUNCTIONS.update({name: _function(name) for name in _TORCH_LEVEL})


def _part(name, method):
    def function(input):
        _tensor_argument(name, "input", input)
        return method(input)

    function.__name__, function.__doc__ = name, f"``torch.{name}(input)``: ``input.{name}``."
    return function


FUNCTIONS.update(real=_part("real", real), imag=_part("imag", imag), view_as_real=view_as_real, view_as_complex=view_as_complex,
                 complex=complex, polar=polar)
