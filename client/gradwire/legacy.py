"""PyTorch's legacy tensor types, as old PyTorch code writes them: ``gw.FloatTensor([1, 2])`` (a tensor of that data),
``gw.LongTensor(2, 3)`` (of that size: zeros, as ``gw.empty``), ``isinstance(x, gw.FloatTensor)`` (a float32 tensor) and
``x.type(gw.LongTensor)``; its deprecated functions that old code still calls (``gw.range``, ``gw.chain_matmul``,
``gw.frobenius_norm``, ``gw.nuclear_norm``, ``gw.set_default_tensor_type``), with PyTorch's warnings; and the ones
PyTorch has removed (``matrix_rank``, ``lstsq``, ``eig``, ``symeig``, ``solve``), which raise PyTorch's error naming
their replacement."""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import backends, defaults, dtypes, errors, floats, linalg
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
LEGACY_TYPES = {f"{name}Tensor": LegacyTensorType(f"{name}Tensor", (), {"__new__": _new, "dtype": dtypes.public(np.dtype(dtype))})
                for name, dtype in _NAMES.items()}
if floats.bfloat16 is not None:
    LEGACY_TYPES["BFloat16Tensor"] = LegacyTensorType("BFloat16Tensor", (), {"__new__": _new, "dtype": dtypes.public(floats.bfloat16)})


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


def set_default_tensor_type(t):
    """``torch.set_default_tensor_type``: the default dtype from a legacy type (``gw.DoubleTensor``) or its name
    (``"torch.DoubleTensor"``; a ``"torch.cuda."`` name sets the default device too), floating types only."""
    _warn_once("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use torch.set_default_dtype() and "
               "torch.set_default_device() as alternatives.")
    if isinstance(t, str):
        module, _, name = t.rpartition(".")
        if module not in ("torch", "torch.cuda", "gradwire") or name not in LEGACY_TYPES:
            raise TypeError(f"invalid type: '{t}'")
        if module == "torch.cuda":
            backends.set_default_device("cuda")
        t = LEGACY_TYPES[name]
    if not isinstance(t, LegacyTensorType):
        raise TypeError("invalid type object: only floating-point types are supported as the default type")
    defaults.set_default_dtype(t.dtype)  # (its TypeError for an integer type: PyTorch's words)


def is_storage(obj) -> bool:
    """``torch.is_storage``: False; a tensor's memory is on the server, with no storage object here."""
    return False


_REMOVED_SINCE_1_9 = "This function was deprecated since version 1.9 and is now removed."
_REMOVED = {  # PyTorch's functions that now only say where to go, in its words
    "matrix_rank": "\nPlease use the `torch.linalg.matrix_rank` function instead. The parameter 'symmetric' was renamed in "
                   "`torch.linalg.matrix_rank()` to 'hermitian'.",
    "lstsq": " `torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n`torch.linalg.lstsq` has reversed arguments and does "
             "not return the QR decomposition in the returned tuple (although it returns other information about the problem).\n\n"
             "To get the QR decomposition consider using `torch.linalg.qr`.\n\nThe returned solution in `torch.lstsq` stored the "
             "residuals of the solution in the last m - n columns of the returned value whenever m > n. In torch.linalg.lstsq, "
             "the residuals are in the field 'residuals' of the returned named tuple.\n\nThe unpacking of the solution, as in\n"
             "X, _ = torch.lstsq(B, A).solution[:A.size(1)]\nshould be replaced with:\nX = torch.linalg.lstsq(A, B).solution",
    "eig": " `torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather than real tensors mimicking complex "
           "tensors.\n\nL, _ = torch.eig(A) should be replaced with:\nL_complex = torch.linalg.eigvals(A)\n\nand\n\nL, V = "
           "torch.eig(A, eigenvectors=True) should be replaced with:\nL_complex, V_complex = torch.linalg.eig(A)",
    "symeig": " The default behavior has changed from using the upper triangular portion of the matrix by default to using the "
              "lower triangular portion.\n\nL, _ = torch.symeig(A, upper=upper) should be replaced with:\nL = "
              "torch.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\nL, V = torch.symeig(A, eigenvectors=True) should be "
              "replaced with:\nL, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')",
    "solve": " `torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` has its arguments reversed and does "
             "not return the LU factorization.\n\nTo get the LU factorization see `torch.lu`, which can be used with "
             "`torch.lu_solve` or `torch.lu_unpack`.\nX = torch.solve(B, A).solution should be replaced with:\nX = "
             "torch.linalg.solve(A, B)",
}


def _removed(name):
    def removed(*args, **kwargs):
        raise RuntimeError(_REMOVED_SINCE_1_9 + _REMOVED[name])

    removed.__name__, removed.__doc__ = name, f"Removed from PyTorch (1.9): raises its error naming the replacement."
    return removed


REMOVED_FUNCTIONS = {name: _removed(name) for name in _REMOVED}  # also Tensor methods, but for matrix_rank (as torch's)
LEGACY_FUNCTIONS = {"range": range, "chain_matmul": chain_matmul, "frobenius_norm": frobenius_norm, "nuclear_norm": nuclear_norm,
                    "set_default_tensor_type": set_default_tensor_type, "is_storage": is_storage, **REMOVED_FUNCTIONS}
for _name in ("lstsq", "eig", "symeig", "solve"):
    setattr(Tensor, _name, REMOVED_FUNCTIONS[_name])
