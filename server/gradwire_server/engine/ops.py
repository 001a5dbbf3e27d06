"""The forward table: one entry per op.

Each entry is ``forward(xp, *arrays, **params) -> array`` (or a tuple, whose
first element is the differentiable output, or whose first n are where the VJP
entry says ``outputs=n``: one node for them all), the name PyTorch gives its
backward node, and the op's arity (None: any number of tensors). Inputs may be
Python scalars where the op allows them. The VJP of every entry lives in
``vjps.py`` under the same name.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional, Union

import numpy as np

from . import linalg, nn, special
from . import backend
from .backend import as_strided, digamma, erf, erfc, erfcx, erfinv, i0, lgamma, polygamma
from .dtypes import COMPUTE, TORCH_NAMES, checked_fill, checked_integer, torch_name
from .errors import DTypeError, InvalidArgument, KernelNotImplemented


class OpDef(NamedTuple):
    name: str
    forward: Callable
    node: Union[str, Callable]  # backward node name, or a function of (input shapes, params)
    arity: Optional[int]  # None: a list of tensors (cat, stack)
    broadcasts: bool  # elementwise over broadcast inputs: dtypes are promoted together
    view: bool  # output shares memory (and so the version counter) with input 0


OPS: dict[str, OpDef] = {}


def defop(name, forward, node, arity=1, broadcasts=False, view=False):
    OPS[name] = OpDef(name, forward, node, arity, broadcasts, view)


def _reduce_with_index(which):
    def forward(xp, x, dim=None, keepdim=False):
        if dim is None:
            _refuse_empty(which, x)
            return x.max() if which == "max" else x.min()
        if x.ndim == 0:  # PyTorch's 0-d tensor has dim 0 (and -1): its own value, at index 0
            _axis(dim, 0)  # PyTorch's 0-d tensor has dim 0 (and -1)
            return x.copy(), xp.zeros((), dtype=xp.int64)
        index = x.argmax(axis=dim) if which == "max" else x.argmin(axis=dim)
        values = xp.take_along_axis(x, xp.expand_dims(index, dim), axis=dim)
        if not keepdim:
            values = values.squeeze(dim)
        else:
            index = xp.expand_dims(index, dim)
        return values, index

    return forward


def _by_dim(plain, with_dim):
    return lambda shapes, params: plain if params.get("dim") is None else with_dim


def _matmul_node(shapes, params):
    a, b = (len(s) for s in shapes)
    return {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (2, 2): "MmBackward0"}.get((a, b), "BmmBackward0")


def _index_node(shapes, params):
    """PyTorch's name for the last step of ``x[key]``: an integer array or mask makes it an index;
    else the last int (a select), slice (a slice; a whole dim's, within a tuple, is skipped) or None
    (an unsqueeze); nothing applied at all is an alias (``x[...]``, ``x[:, :]``)."""
    key, shape = params["key"], shapes[0] or ()
    if any(hasattr(part, "dtype") for part in key):
        return "IndexBackward0"
    if len(key) == 1:  # x[k]: no step skipped, a whole dim's slice included
        part = key[0]
        return "AliasBackward0" if part is Ellipsis else "UnsqueezeBackward0" if part is None else "SliceBackward0" if type(part) is slice else "SelectBackward0"
    name, dim = "AliasBackward0", 0
    for part in key:
        if part is Ellipsis:
            dim += len(shape) - sum(p is not None and p is not Ellipsis for p in key)
        elif part is None:
            name = "UnsqueezeBackward0"
        else:
            if type(part) is not slice:
                name = "SelectBackward0"
            elif dim < len(shape) and part.indices(shape[dim]) != (0, shape[dim], 1):
                name = "SliceBackward0"
            dim += 1
    return name


def _expand(xp, x, sizes):
    """``x.expand(*sizes)``: -1 keeps a dim; PyTorch's checks and words (NumPy's broadcast error says neither)."""
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand(torch.{torch_name(x.dtype)}Tensor{{{list(x.shape)}}}, size={list(sizes)}): the number of "
                         f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({x.ndim})")
    for i, n in enumerate(sizes):
        if i < lead:
            if n == -1:
                raise ValueError(f"The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension {i}")
        elif n != -1 and n != x.shape[i - lead] and x.shape[i - lead] != 1:
            raise ValueError(f"The expanded size of the tensor ({n}) must match the existing size ({x.shape[i - lead]}) at non-singleton "
                             f"dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(x.shape)}")
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    if all(n == 1 for n in shape[:lead]) and all(n == x.shape[i - lead] for i, n in enumerate(shape) if i >= lead):
        return x[(None,) * lead]  # nothing broadcast: a view that takes in-place writes, as PyTorch's
    return xp.broadcast_to(x, shape)



def _squeeze(xp, x, dim=None):
    if dim is None:
        return x.squeeze()
    if x.ndim == 0:
        for d in (dim,) if isinstance(dim, int) else dim:
            _axis(d, 0)
        return x.view()
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(d for d in dims if x.shape[d] == 1)  # PyTorch leaves a non-1 dim alone
    return x.squeeze(dims) if dims else x



def _is_float(x) -> bool:
    """A float array or a Python float (an operand of an elementwise op)."""
    return isinstance(x, float) or (hasattr(x, "dtype") and x.dtype.kind == "f")


def _bitwise(name, ufunc):
    """``&``, ``|``, ``^`` and ``~``: on bool and integer tensors only, as PyTorch's (its words when refused)."""

    def forward(xp, *operands):
        for x in operands:
            if _is_float(x):
                raise TypeError(f'"{name}" not implemented for \'{TORCH_NAMES.get(x.dtype.name, "Float") if hasattr(x, "dtype") else "Float"}\'')
        return getattr(xp, ufunc)(*operands)

    return forward


def _shift(name, left):
    """``<<`` and ``>>`` on integer tensors, as PyTorch's: a shift by a negative count or by the width or more gives
    0 (``>>`` of a negative signed number: -1), where C (and NumPy) leave it undefined."""

    def forward(xp, x, y):
        for v in (x, y):
            if _is_float(v):
                raise TypeError(f'"{name}" not implemented for \'{TORCH_NAMES.get(v.dtype.name, "Float") if hasattr(v, "dtype") else "Float"}\'')
        dtype = next(v.dtype for v in (x, y) if hasattr(v, "dtype"))  # (promoted already: the tensors share one dtype)
        if all(isinstance(v, bool) or getattr(v, "dtype", None) == np.bool_ for v in (x, y)):
            raise TypeError(f'"{name}" not implemented for \'Bool\'')  # bool by bool: PyTorch has no such kernel
        x, y = xp.asarray(x, dtype=dtype), xp.asarray(y)
        bits = dtype.itemsize * 8
        outside = (y < 0) | (y >= bits) if dtype.kind != "b" else xp.zeros(y.shape, dtype=bool)
        count = xp.where(outside, 0, y).astype(dtype)
        if left:
            return xp.where(outside, 0, xp.left_shift(x, count)).astype(dtype)
        fill = xp.right_shift(x, bits - 1) if dtype.kind == "i" else xp.zeros_like(x)
        return xp.where(outside, fill, xp.right_shift(x, count)).astype(dtype)

    return forward


def _integer_division(ufunc):
    """``//`` and ``%``: floor rounding, as PyTorch's and NumPy's; an integer division by zero is an error, not 0."""
    compute = backend.floor_divide if ufunc == "floor_divide" else lambda xp, x, y: getattr(xp, ufunc)(x, y)

    def forward(xp, x, y):
        if getattr(x, "dtype", None) == np.bool_:  # (promoted: both bool)
            raise TypeError(f'"{"div_floor" if ufunc == "floor_divide" else ufunc}_cpu" not implemented for \'Bool\'')
        if not _is_float(x) and (not y if isinstance(y, (bool, int)) else y.dtype.kind in "biu" and not y.all()):
            raise ValueError("ZeroDivisionError")  # PyTorch's words
        return compute(xp, x, y)

    return forward


_SQRT_HALF, _SQRT_2_OVER_PI, _GELU_CUBIC = math.sqrt(0.5), math.sqrt(2 / math.pi), 0.044715


def gelu(xp, x, approximate="none"):
    """x times the standard normal CDF of x (``approximate="tanh"``: PyTorch's tanh formula)."""
    if approximate == "tanh":
        return 0.5 * x * (1 + xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x)))
    if approximate != "none":
        raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return 0.5 * x * (1 + erf(xp, x * _SQRT_HALF))


def gelu_grad(xp, g, ans, x, approximate="none"):
    if approximate == "tanh":
        t = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x))
    cdf = 0.5 * (1 + erf(xp, x * _SQRT_HALF))  # (float32's erf, a compiled loop, costs less than reading it back from ans)
    return g * (cdf + x * xp.exp(-0.5 * x * x) * (_SQRT_HALF / math.sqrt(math.pi)))


def _softplus(xp, x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x passes ``threshold``, as PyTorch's."""
    scaled = x * beta
    return xp.where(scaled > threshold, x, xp.log1p(xp.exp(xp.minimum(scaled, threshold))) / beta)


def _triangle(which):
    def forward(xp, x, diagonal=0):
        if x.ndim < 2:
            raise ValueError(f"{which}: input tensor must have at least 2 dimensions")
        return getattr(xp, which)(x, diagonal)

    return forward


def _cumsum(xp, x, dim):
    # integer and bool tensors sum in int64, as PyTorch's; a 0-d tensor stays 0-d
    out = xp.cumsum(x, axis=dim, dtype=xp.int64 if x.dtype.kind in "biu" else x.dtype)
    return out.reshape(()) if x.ndim == 0 else out


_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))  # gather's and scatter's, as PyTorch's


def _gather(xp, x, index, dim):
    """``torch.gather``: along ``dim``, the elements of x that ``index`` names (index no larger than x elsewhere)."""
    if index.dtype not in _INDEX_DTYPES:
        raise TypeError("gather(): Expected dtype int32/int64 for index")
    if index.ndim != x.ndim:
        raise ValueError("Index tensor must have the same number of dimensions as input tensor")
    d = _axis(dim, x.ndim)
    for k in range(x.ndim):
        if k != d and index.shape[k] > x.shape[k]:
            raise ValueError(f"Size does not match at dimension {k} expected index {list(index.shape)} to be no larger than self "
                             f"{list(x.shape)} apart from dimension {d}")
    if index.size and bool(((index < 0) | (index >= x.shape[d])).any()):
        bad = index[(index < 0) | (index >= x.shape[d])].reshape(-1)[0]
        raise IndexError(f"index {int(bad)} is out of bounds for dimension {d} with size {x.shape[d]}")
    part = x[tuple(slice(None) if k == d else slice(0, n) for k, n in enumerate(index.shape))]
    return xp.take_along_axis(part, index, axis=d)


def scatter_add_along(xp, shape, index, values, dim):
    """Zeros of ``shape`` with ``values`` added at ``index`` along ``dim`` (repeats add): gather's VJP."""
    out = xp.zeros(shape, values.dtype)
    backend.add_at(xp, out, along(xp, index, _axis(dim, len(shape))), values)
    return out


def _axis(dim, ndim):
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise np.exceptions.AxisError(dim, ndim)
    return dim % max(ndim, 1)


def vector_norm(xp, x, p=2.0, dim=None, keepdim=False):
    """``torch.linalg.vector_norm`` (``x.norm(p, dim)``): (sum |x|^p)^(1/p); inf: max |x|; 0: the count of nonzeros."""
    if p == 2:
        return xp.sqrt((x * x).sum(axis=dim, keepdims=keepdim))
    magnitudes = xp.abs(x)
    if math.isinf(p):
        return magnitudes.max(axis=dim, keepdims=keepdim) if p > 0 else magnitudes.min(axis=dim, keepdims=keepdim)
    if p == 0:
        return (x != 0).sum(axis=dim, keepdims=keepdim).astype(x.dtype)
    if p == 1:
        return magnitudes.sum(axis=dim, keepdims=keepdim)
    return (magnitudes**p).sum(axis=dim, keepdims=keepdim) ** (1.0 / p)


def _masked_fill(xp, x, mask, value=0):
    """``x.masked_fill(mask, value)``: value (cast to x's dtype) where the boolean mask, broadcast to x, holds."""
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype.name}")
    value = checked_fill(value, x.dtype)  # 300 into uint8 is refused, as PyTorch's (not wrapped)
    out = x.copy()
    xp.copyto(out, xp.asarray(value).astype(x.dtype), where=xp.broadcast_to(mask, x.shape))
    return out


def _index_put(xp, x, value, key, accumulate=False):
    """``x[key] = value`` out of place: a copy of x with value (cast to x's dtype, broadcast to the indexed
    part) written in; ``accumulate``: added in, an element that the key names twice getting both (``index_put``'s).
    Under autograd the SDK's ``x[key] = value`` and ``x.copy_(value)`` (key ``()``) are this op with its result
    written back into x (``Engine.apply_into``)."""
    out = x.copy()
    dest, key = site(out, key)
    if accumulate:
        backend.add_at(xp, dest, key, xp.broadcast_to(xp.asarray(value).astype(x.dtype), dest[key].shape))
    else:
        dest[key] = value
    return out


class Staged(tuple):
    """An index key in two steps, as PyTorch indexes where ints and integer arrays meet (``x[1, :, [0, 1]]``): the
    first ``n`` parts (ints, slices, None) take a view, the rest (slices, arrays) index that view. NumPy's one step
    would count the ints among the arrays and move the result's dims (``Engine._key_parts`` makes these)."""

    n = 0


def at(array, key):
    """``array[key]``, a ``Staged`` key in its two steps."""
    if type(key) is Staged:
        return array[key[: key.n]][key[key.n :]]
    return array[key]


def site(array, key):
    """(the array to write into, the key to write at): ``dest[k] = value`` writes ``array[key]``."""
    if type(key) is Staged:
        return array[key[: key.n]], key[key.n :]
    return array, key


def _strided(xp, x, shape, strides):
    """A view of x's memory; read-only where a dim of more than one element has stride 0 (an in-place write to it is
    refused, as PyTorch refuses one to memory that several elements share)."""
    out = as_strided(xp, x, tuple(shape), tuple(strides))
    if any(s == 0 and n > 1 for n, s in zip(shape, strides)) and hasattr(out.flags, "writeable"):
        out.flags.writeable = False
    return out


def _diagonal(xp, x, offset=0, dim1=0, dim2=1):
    """``x.diagonal(offset, dim1, dim2)``: a view whose last dim is the diagonal, writable (NumPy's is read-only)."""
    d1, d2 = _axis(dim1, x.ndim), _axis(dim2, x.ndim)
    if x.ndim < 2 or d1 == d2:
        raise ValueError(f"diagonal dimensions cannot be identical {dim1}, {dim2}" if x.ndim >= 2 else
                         f"diagonal(): input must be at least 2-D, got {x.ndim}-D")
    rows, cols = x.shape[d1], x.shape[d2]
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    start = [slice(None)] * x.ndim
    if length:  # the diagonal's first element
        start[d1], start[d2] = slice(max(-offset, 0), None), slice(max(offset, 0), None)
    base = x[tuple(start)]
    others = [d for d in range(x.ndim) if d not in (d1, d2)]
    return _strided(xp, base, [x.shape[d] for d in others] + [length], [x.strides[d] for d in others] + [x.strides[d1] + x.strides[d2]])


def _unfold(xp, x, dimension, size, step):
    """``x.unfold(dimension, size, step)``: a view, the windows along ``dimension`` and their elements a new last dim.
    Windows that overlap make it read-only (several of its elements are one element of x)."""
    if x.ndim == 0:
        return x.reshape(1)
    d = _axis(dimension, x.ndim)
    if size > x.shape[d]:
        raise ValueError(f"maximum size for tensor at dimension {d} is {x.shape[d]} but size is {size}")
    if step <= 0:
        raise ValueError(f"step is {step} but must be > 0")
    shape, strides = list(x.shape), list(x.strides)
    shape[d], strides[d] = (x.shape[d] - size) // step + 1, x.strides[d] * step
    out = _strided(xp, x, shape + [size], strides + [x.strides[d]])
    if step < size and shape[d] > 1 and size > 0 and hasattr(out.flags, "writeable"):
        out.flags.writeable = False
    return out


def _as_strided(xp, x, size, stride, storage_offset=0):
    """``x.as_strided(size, stride, storage_offset)``: a view of x's elements in row-major order from
    ``storage_offset``; x must be contiguous here, and the view within its elements (PyTorch reads x's storage)."""
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise ValueError(f"mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise ValueError(f"as_strided: Negative strides are not supported at the moment, got strides: {list(stride)}")
    if not x.flags.c_contiguous:
        raise ValueError("as_strided: of a tensor that is not contiguous is not supported here (call .contiguous() first)")
    needed = 0 if 0 in size else storage_offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if storage_offset < 0 or needed > x.size:
        raise ValueError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {storage_offset}, and itemsize "
                         f"{x.itemsize} requiring a storage size of {needed * x.itemsize} are out of bounds for storage of size {x.nbytes}")
    flat = x.reshape(-1)[storage_offset:] if x.size else x.reshape(-1)
    return _strided(xp, flat, size, tuple(s * x.itemsize for s in stride))


def _view_dtype(xp, x, dtype):
    """``x.view(dtype)``: x's bytes read as ``dtype``; of another size, the last dim scales, as PyTorch's."""
    dtype = np.dtype(dtype)
    if dtype.itemsize != x.itemsize:
        if x.ndim == 0:
            raise ValueError("self.dim() cannot be 0 to view " + torch_name(x.dtype) + " as " + torch_name(dtype) + " (different element sizes)")
        if x.shape[-1] > 1 and x.strides[-1] != x.itemsize:
            raise ValueError("self.stride(-1) must be 1 to view " + torch_name(x.dtype) + " as " + torch_name(dtype) + " (different element sizes)")
        if (x.shape[-1] * x.itemsize) % dtype.itemsize:
            raise ValueError(f"self.size(-1) must be divisible by {dtype.itemsize // x.itemsize} to view {torch_name(x.dtype)} as "
                             f"{torch_name(dtype)} (different element sizes), but got {x.shape[-1]}")
    return x.view(dtype)


def view_of(xp, array, steps):
    """The view that the view ops ``steps`` (``((name, params), ...)``, as ``Tensor._view`` holds them) take of ``array``."""
    for name, params in steps:
        array = OPS[name].forward(xp, array, **params)
    return array


def _copy_slices(xp, root, written, steps):
    """``root`` with its view ``steps`` overwritten by ``written``, out of place: the node that a recorded
    in-place change to a view leaves in its root's history (``Engine.apply_into``), as PyTorch's CopySlices."""
    out = root.copy()
    view_of(xp, out, steps)[...] = written
    return out


def _index_put_node(shapes, params):
    """PyTorch's node for the write: all of x (``copy_``), at integer arrays, or into a slice of x."""
    key = params["key"]
    if not key:
        return "CopyBackwards"
    return "IndexPutBackward0" if any(hasattr(part, "dtype") for part in key) else "CopySlices"


def _var(xp, x, dim=None, correction=1, keepdim=False):
    """``torch.var``: the squared deviations from the mean, summed, over N - correction (Bessel's by default)."""
    centred = x - x.mean(axis=dim, keepdims=True)
    squares = (centred * centred).sum(axis=dim, keepdims=keepdim)
    dof = degrees_of_freedom(x, squares, correction)
    if dof > 0:
        return squares / dof
    return xp.where(xp.asarray(squares) > 0, xp.inf, xp.nan).astype(x.dtype)  # s/0 and 0/0, without NumPy's warning


def degrees_of_freedom(x, out, correction):
    """PyTorch's N - correction for var and std: N the input's numel over the output's, at least 0."""
    return max(x.size // max(getattr(out, "size", 1), 1) - correction, 0)


def _relu(xp, x):
    if x.dtype == np.bool_:
        raise TypeError("Boolean inputs not supported for relu")  # PyTorch's words
    # against an array of zeros: NumPy's maximum with a scalar operand is about 3x slower than with two arrays
    zeros = xp.zeros(x.shape, x.dtype, order="F" if x.flags.f_contiguous and not x.flags.c_contiguous else "C")  # x's layout
    return xp.maximum(x, zeros, out=zeros)


def _leaky_relu(xp, x, negative_slope=0.01):
    """x where x > 0, else x times the slope: for a slope in (0, 1] the larger of the two, the same values with no
    select (NumPy's where mispredicts a branch per element on a sign)."""
    if 0 < negative_slope <= 1:
        return xp.maximum(x, x * negative_slope)
    return xp.where(x > 0, x, x * negative_slope)


def _elu(xp, x, alpha=1.0):
    """x where x > 0, else alpha (e^x - 1): for an alpha in (0, 1] the larger of the two (no select, as leaky_relu)."""
    negative = alpha * xp.expm1(xp.minimum(x, 0))
    if alpha > 0:  # -0.0 at -0.0, as PyTorch's (NumPy's minimum of -0.0 and 0 is 0.0 in float32 and float64)
        negative = xp.copysign(negative, x)
    return xp.maximum(x, negative) if 0 < alpha <= 1 else xp.where(x > 0, x, negative)


def _clamp(xp, x, min=None, max=None):
    if x.dtype.kind in "iu":  # integer bounds as PyTorch converts them: checked, a negative one wrapped into an unsigned dtype
        min, max = (checked_integer(b, x.dtype) if isinstance(b, int) else b for b in (min, max))
    elif x.dtype.kind == "f":  # a number past the float dtype's range is refused (1e10 for float16), as PyTorch's
        min, max = (checked_fill(b, x.dtype) for b in (min, max))
    if min is not None:
        x = xp.maximum(x, min)
    if max is not None:
        x = xp.minimum(x, max)
    return x


def _rounding(ufunc):
    """floor, ceil, trunc: an integer tensor comes back as it is (a copy), as PyTorch's; a bool one is refused."""

    def forward(xp, x):
        if x.dtype.kind == "b":
            raise TypeError(f'"{ufunc}_vml_cpu" not implemented for \'Bool\'')
        return x.copy() if x.dtype.kind in "iu" else getattr(xp, ufunc)(x)

    return forward


def _round(xp, x, decimals=0):
    """Half to even, as PyTorch's (and NumPy's); ``decimals`` on float tensors only."""
    if decimals and x.dtype.kind != "f":
        raise TypeError(f'"round_cpu" not implemented for \'{torch_name(x.dtype)}\'')
    if x.dtype.kind == "b":
        raise TypeError('"round_vml_cpu" not implemented for \'Bool\'')
    return x.copy() if x.dtype.kind in "iu" else xp.round(x, decimals)


def _sign(xp, x):
    if x.dtype.kind == "f":  # sign(NaN) is 0, as PyTorch's
        return xp.where(xp.isnan(x), 0, xp.sign(x)).astype(x.dtype)
    return x.copy() if x.dtype.kind == "b" else xp.sign(x)


def _float_test(which):
    """isnan, isinf, isfinite: on integer and bool tensors, every element is finite."""

    def forward(xp, x):
        if x.dtype.kind == "f":
            return getattr(xp, which)(x)
        return xp.full(x.shape, which == "isfinite", dtype=bool)

    return forward


def _all_any(which):
    def forward(xp, x, dim=None, keepdim=False):
        out = getattr(x, which)(axis=dim, keepdims=keepdim)
        return xp.asarray(out).astype(xp.uint8) if x.dtype == xp.uint8 else out  # uint8 stays uint8, as PyTorch's

    return forward


def products_of_others(xp, row):
    """Each element's product of the others along the last axis, from exclusive products on either side (right where
    some elements are zero, unlike prod / x): prod's gradient, and det's from its singular values."""
    ones = xp.ones(row.shape[:-1] + (1,), dtype=row.dtype)
    before = xp.cumprod(xp.concatenate([ones, row[..., :-1]], axis=-1), axis=-1)
    after = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(row, -1)[..., :-1]], axis=-1), axis=-1), -1)
    return before * after


def _prod(xp, x, dim=None, keepdim=False):
    # integer and bool tensors multiply in int64, as PyTorch's
    return x.prod(axis=dim, keepdims=keepdim, dtype=xp.int64 if x.dtype.kind in "biu" else x.dtype)


def _refuse_empty(name, x):
    """A reduction of every element of an empty tensor that has no identity: PyTorch's words (NumPy's differ)."""
    if x.size == 0:
        raise ValueError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim "
                         "with the 'dim' argument.")


def _amax_amin(which):
    def forward(xp, x, dim=(), keepdim=False):
        dims = None if dim == () or dim is None else dim  # PyTorch's default () is every dim
        if dims is None:
            _refuse_empty("a" + which, x)
        return getattr(x, which)(axis=dims, keepdims=keepdim)

    return forward


def _logsumexp(xp, x, dim, keepdim=False):
    """log(sum(exp(x))) over ``dim``, shifted by the maximum so that no exp overflows (an infinite maximum: unshifted)."""
    if x.size == 0:  # over an empty dim: log(0) = -inf, as PyTorch's (no maximum to shift by)
        return xp.log(xp.exp(x).sum(axis=dim, keepdims=keepdim))
    top = x.max(axis=dim, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)
    out = xp.log(xp.exp(x - top).sum(axis=dim, keepdims=True)) + top
    return out if keepdim else out.squeeze(dim)


def _flip(xp, x, dims):
    if x.ndim == 0:  # a 0-d tensor takes dim 0 or -1, as PyTorch's: nothing to reverse
        for d in (dims if isinstance(dims, (tuple, list)) else (dims,)):
            if d not in (0, -1):
                raise np.exceptions.AxisError(d, 0)  # (told in PyTorch's words by the engine)
        return x.copy()
    return xp.flip(x, dims).copy()  # a new tensor, as PyTorch's (NumPy's flip is a view)


def _roll(xp, x, shifts, dims=None):
    return xp.roll(x, shifts, axis=dims)


def _repeat(xp, x, sizes):
    if len(sizes) < x.ndim:
        raise ValueError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    return xp.tile(x.reshape((1,) * (len(sizes) - x.ndim) + x.shape), sizes)


def _sort(xp, x, dim=-1, descending=False, stable=False):
    """(values, indices) along ``dim``; ties keep their order (stable, also descending); NaN counts as the largest."""
    if x.ndim == 0:
        _axis(dim, 0)
        return x.copy(), xp.zeros((), dtype=xp.int64)
    if descending:  # the stable ascending order of the reversed values, reversed: equal values stay in order
        n = x.shape[dim]
        index = (n - 1) - xp.flip(xp.argsort(xp.flip(x, dim), axis=dim, kind="stable"), dim)
    else:
        index = xp.argsort(x, axis=dim, kind="stable")
    return xp.take_along_axis(x, index, axis=dim), index.astype(xp.int64)


def _topk(xp, x, k, dim=-1, smallest=False):
    """The k largest values along ``dim`` and their indices, largest first (``smallest``: the k smallest, smallest first).
    (Not PyTorch's ``largest=True``: every op's parameters default to None or False, which the SDK does not send.)"""
    size = x.shape[dim] if x.ndim else 1
    if not 0 <= k <= size:
        raise ValueError("selected index k out of range")
    if x.dtype.kind == "b":
        raise TypeError("topk does not support bool dtypes on CPU")
    values, index = _sort(xp, x, dim, descending=not smallest)
    if x.ndim == 0:
        return values, index
    part = tuple(slice(None) if d != dim % x.ndim else slice(0, k) for d in range(x.ndim))
    return values[part], index[part]  # among equal values, the first ones (PyTorch's CPU kernel is not stable: its choice may differ)


def _kthvalue(xp, x, k, dim=-1, keepdim=False):
    """``torch.kthvalue``: the k-th smallest along ``dim`` and its index (by a stable sort: among equal values, the
    index PyTorch's quickselect picks may differ)."""
    if x.dtype.kind == "b":
        raise TypeError('"kthvalue_cpu" not implemented for \'Bool\'')
    if x.ndim == 0:
        _axis(dim, 0)
        if k != 1:
            raise IndexError("kthvalue(): selected number k out of range for dimension 0")
        return x.copy(), xp.zeros((), dtype=xp.int64)
    d = _axis(dim, x.ndim)
    if not 1 <= k <= x.shape[d]:
        raise IndexError(f"kthvalue(): selected number k out of range for dimension {d}")
    _, order = _sort(xp, x, d)
    index = order[(slice(None),) * d + (slice(k - 1, k),)]
    values = xp.take_along_axis(x, index, axis=d)
    return (values, index) if keepdim else (values.squeeze(d), index.squeeze(d))


def _both_float(xp, x, y):
    """atan2's operands: integer ones compute in float32, PyTorch's default dtype."""
    if not _is_float(x) and not _is_float(y):
        x = xp.asarray(x).astype(np.float32) if not isinstance(x, (int, bool)) else float(x)
        y = xp.asarray(y).astype(np.float32) if not isinstance(y, (int, bool)) else float(y)
    return x, y


def _atan2(xp, y, x):
    return xp.arctan2(*_both_float(xp, y, x))


def _fmod(xp, x, y):
    """The remainder of a truncated division (its sign is x's), as ``torch.fmod``; an integer division by zero is an error."""
    if getattr(x, "dtype", None) == np.bool_:
        raise TypeError('"fmod_cpu" not implemented for \'Bool\'')
    if not _is_float(x) and (not y if isinstance(y, (bool, int)) else y.dtype.kind in "biu" and not y.all()):
        raise ValueError("ZeroDivisionError")
    return xp.fmod(x, y)


def einsum(xp, equation, *xs):
    """``xp.einsum``; contracted pairwise through BLAS (``optimize``) where the plain loop would be long: more than
    a million products (planning costs some 50 us, more than a small contraction saves)."""
    sizes = {}
    for operand, (term, x) in enumerate(zip(equation.partition("->")[0].split(","), xs)):
        seen = {}
        for letter, n in zip(term, getattr(x, "shape", ())):  # PyTorch's checks, in its words (NumPy's are terse)
            if letter in seen and seen[letter] != n:
                raise ValueError(f"einsum(): subscript {letter} is repeated for operand {operand} but the sizes don't match, {n} != {seen[letter]}")
            seen[letter] = n
            if sizes.get(letter, n) != n and 1 not in (n, sizes[letter]):
                raise ValueError(f"einsum(): subscript {letter} has size {n} for operand {operand} which does not broadcast with previously "
                                 f"seen size {sizes[letter]}")
            if sizes.get(letter, 1) == 1:
                sizes[letter] = n
    return xp.einsum(equation, *xs, optimize=math.prod(sizes.values()) > 1_000_000)


def pad(xp, x, pad, value=None):
    """``torch.nn.functional.pad``, constant mode: (before, after) pairs from the last dim backwards; a
    negative amount crops."""
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError("Padding length must be divisible by 2" if len(pad) % 2 else "Padding length too large")
    pairs = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        pairs[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    for d, (before, after) in enumerate(pairs):
        if x.shape[d] + before + after < 0:
            raise ValueError(
                f"The input size {x.shape[d]}, plus negative padding {before} and {after} resulted in a negative output size, "
                f"which is invalid. Check dimension {d} of your input."
            )
    out = xp.pad(x, [(max(b, 0), max(a, 0)) for b, a in pairs], constant_values=0 if value is None else value)
    return out[tuple(slice(-min(b, 0), out.shape[d] + min(a, 0)) for d, (b, a) in enumerate(pairs))]

def _cumprod(xp, x, dim):
    # integer and bool tensors multiply in int64, as PyTorch's; a 0-d tensor stays 0-d
    out = xp.cumprod(x, axis=dim, dtype=xp.int64 if x.dtype.kind in "biu" else x.dtype)
    return out.reshape(()) if x.ndim == 0 else out


def _unique(xp, x, dim):
    """``torch.unique``: the sorted distinct values (or slices along ``dim``), each element's position among
    them, and how often each occurs."""
    values, inverse, counts = xp.unique(x, return_inverse=True, return_counts=True, axis=dim)
    shape = x.shape if dim is None else (x.shape[dim],)
    return values, inverse.reshape(shape).astype(xp.int64), counts.astype(xp.int64)


def _bincount(xp, x, weights, minlength):
    """``torch.bincount``: how often each value 0..max occurs in the 1-D non-negative integer ``x`` (with
    ``weights``, their sums, in the weights' float dtype: float32 weights give float32 here, as PyTorch's)."""
    if x.ndim != 1 or x.dtype.kind not in "iu":
        raise TypeError(f"bincount only supports 1-d non-negative integral inputs, got a {x.ndim}-d {x.dtype} tensor")
    if x.size and bool((x < 0).any()):
        raise ValueError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise ValueError("minlength should be >= 0")
    if weights is not None and weights.shape != x.shape:
        raise ValueError("weights should be 1-d and have the same length as input")
    counts = xp.bincount(x, weights=weights, minlength=minlength)
    return counts.astype(weights.dtype if weights is not None and weights.dtype.kind == "f" else xp.int64)


def _mode(xp, x, dim=-1, keepdim=False):
    """``torch.mode`` along ``dim``: the most frequent value (the smallest of those tied) and the index of its
    last occurrence, as PyTorch's CPU kernel gives it. The runs of equal values in a stable sort: the longest
    first run wins, and its end is the value's last position in the input."""
    if x.ndim == 0:
        _axis(dim, 0)
        return x.copy(), xp.zeros((), dtype=xp.int64)
    d = _axis(dim, x.ndim)
    moved = xp.moveaxis(x, d, -1)
    if moved.shape[-1] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    order = xp.argsort(moved, axis=-1, kind="stable")
    values = xp.take_along_axis(moved, order, axis=-1)
    positions = xp.arange(values.shape[-1])
    starts = xp.ones(values.shape, dtype=bool)
    starts[..., 1:] = values[..., 1:] != values[..., :-1]
    ends = xp.ones(values.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    first = _accumulate(xp, xp.maximum, xp.where(starts, positions, 0))
    best = xp.where(ends, positions - first + 1, 0).argmax(axis=-1)[..., None]  # argmax: the first of the longest
    value, index = xp.take_along_axis(values, best, axis=-1), xp.take_along_axis(order, best, axis=-1).astype(xp.int64)
    if keepdim:
        return xp.ascontiguousarray(xp.moveaxis(value, -1, d)), xp.ascontiguousarray(xp.moveaxis(index, -1, d))
    return value[..., 0], index[..., 0]


def _histc(xp, x, bins=100, min=0, max=0):
    """``torch.histc``: counts of ``x`` in ``bins`` equal bins over [min, max] (both 0: the data's own range;
    an empty range widened by 1 each way), in x's dtype; values outside, and NaN, are not counted. The bin of
    a value as PyTorch's kernel finds it, in x's precision: (v - min) * bins / (max - min), truncated, the
    last edge falling in the last bin."""
    if x.dtype.kind != "f":
        raise TypeError(f'"histogram_cpu" not implemented for \'{torch_name(x.dtype)}\'')
    if bins <= 0:
        raise ValueError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    low, high = float(min), float(max)
    if low == high and x.size:
        low, high = float(x.min()), float(x.max())
    if low == high:
        low, high = low - 1, high + 1
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"torch.histc: range of [{low:g}, {high:g}] is not finite")
    if low > high:
        raise ValueError("torch.histc: max must be larger than min")
    flat = x.reshape(-1)
    low, high = x.dtype.type(low), x.dtype.type(high)  # the edges in x's dtype, as its linspace makes them
    kept = flat[(flat >= low) & (flat <= high)]
    where = ((kept - low) * x.dtype.type(bins) / (high - low)).astype(xp.int64)
    where = xp.minimum(where, bins - 1)
    return xp.bincount(where, minlength=bins)[:bins].astype(x.dtype)




def _nonzero(xp, x):
    """The indices of the nonzero elements, one row each, (n, ndim) int64, as ``torch.nonzero``."""
    return xp.stack(xp.nonzero(x), axis=-1).astype(xp.int64) if x.ndim else xp.zeros((int(bool(x)), 0), dtype=xp.int64)


def _scatter_checked(xp, x, index, src, dim):
    """(dim as an axis, src's part that index reaches), after PyTorch's checks of the three."""
    if index.dtype not in _INDEX_DTYPES:
        raise TypeError("scatter(): Expected dtype int32/int64 for index")  # (scatter_add's and scatter_reduce's words too)
    if not (index.ndim == x.ndim == src.ndim):
        raise ValueError("Index tensor must have the same number of dimensions as self tensor")
    d = _axis(dim, x.ndim)
    if index.size and bool(((index < 0) | (index >= x.shape[d])).any()):
        raise IndexError(f"index {int(index[(index < 0) | (index >= x.shape[d])].reshape(-1)[0])} is out of bounds for dimension {d} with size {x.shape[d]}")
    return d, src[tuple(slice(0, n) for n in index.shape)]


def along(xp, index, dim):
    """The full index tuple that puts ``index`` along ``dim`` and every other dim's own positions: x[along(...)] is
    take_along_axis, x[along(...)] = v put_along_axis (the same on CuPy)."""
    where = [xp.arange(n).reshape((-1,) + (1,) * (index.ndim - 1 - k)) for k, n in enumerate(index.shape)]
    where[dim] = index
    return tuple(where)


def _scatter_add(xp, x, index, src, dim):
    """``x.scatter_add(dim, index, src)``: x with src's elements (as far as index reaches) added along dim at index."""
    d, part = _scatter_checked(xp, x, index, src, dim)
    return x + scatter_add_along(xp, x.shape, index, part.astype(x.dtype), d)


def _scatter(xp, x, index, src, dim):
    """``x.scatter(dim, index, src)``: x with src's elements (as far as index reaches) written along dim at index
    (where index repeats a position, one of them wins, as in PyTorch)."""
    d, part = _scatter_checked(xp, x, index, src, dim)
    out = x.copy()
    out[along(xp, index, d)] = part
    return out

_REDUCE_UFUNCS = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def _scatter_reduce(xp, x, index, src, dim, reduce, include_self=True):
    """``x.scatter_reduce(dim, index, src, reduce, include_self)``: src's elements (as far as index reaches) reduced
    along dim into the positions index names, x's own value among them unless ``include_self`` is False; the
    positions index does not name keep x's. ``mean`` divides by the count (floored for integers, as PyTorch's)."""
    if reduce not in _REDUCE_UFUNCS:
        raise ValueError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    d, part = _scatter_checked(xp, x, index, src, dim)
    where = along(xp, index, d)
    out = x.copy()
    if not include_self:
        out[where] = _reduce_identity(xp, reduce, x.dtype)
    reduce_at(xp, _REDUCE_UFUNCS[reduce], out, where, part.astype(x.dtype))
    if reduce == "mean":
        count = scatter_counts(xp, x.shape, index, d, include_self, x.dtype)
        out = out // count if x.dtype.kind in "iub" else out / count
    return out


def reduce_at(xp, name, out, where, values, portable=False):
    """``getattr(xp, name).at(out, where, values)`` for ``add multiply maximum minimum``: NumPy's, and CuPy's
    for add; elsewhere (CuPy has no multiply.at, and its maximum.at/minimum.at round float64 values through
    float32), or ``portable``, the same from plain indexing: a product through sums of logs (counting zeros and
    signs apart), an extreme by passes that each raise (lower) the positions that some value still beats, as many
    as the most values one position gets."""
    if not portable and xp is np:
        getattr(xp, name).at(out, where, values)
        return
    if not portable and name == "add":
        backend.add_at(xp, out, where, values)
        return
    where = xp.broadcast_arrays(*where) if where else where
    values = xp.broadcast_to(values, where[0].shape if where else ())
    if name == "add":
        backend.add_at(xp, out, tuple(where), values)
    elif name == "multiply":
        magnitude, zeros, negatives = (xp.zeros(out.shape, xp.float64) for _ in range(3))
        xp.add.at(magnitude, tuple(where), xp.log(xp.where(values == 0, 1, xp.abs(values)).astype(xp.float64)))
        xp.add.at(zeros, tuple(where), (values == 0).astype(xp.float64))
        xp.add.at(negatives, tuple(where), (values < 0).astype(xp.float64))
        factor = xp.where(zeros > 0, 0.0, xp.where(negatives % 2 == 1, -1.0, 1.0) * xp.exp(magnitude))
        out[...] = (out * factor).astype(out.dtype) if out.dtype.kind == "f" else xp.rint(out * factor).astype(out.dtype)
    else:
        beats = xp.greater if name == "maximum" else xp.less
        where, values = tuple(w.reshape(-1) for w in where), values.reshape(-1)
        while True:
            better = beats(values, out[where]) | (xp.isnan(values) & ~xp.isnan(out[where]) if values.dtype.kind == "f" else False)
            if not bool(better.any()):
                return
            out[tuple(w[better] for w in where)] = values[better]  # (one of several values for a position wins: the next pass tries the rest)


def _reduce_identity(xp, reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -xp.inf if reduce == "amax" else xp.inf
    info = np.iinfo(dtype) if dtype.kind != "b" else None
    return (info.min if reduce == "amax" else info.max) if info else reduce == "amin"


def scatter_counts(xp, shape, index, dim, include_self, dtype):
    """How many values each position of a scatter's output reduces (x's own one where ``include_self``), at least 1."""
    count = xp.ones(shape, dtype) if include_self else xp.zeros(shape, dtype)
    xp.add.at(count, along(xp, index, dim), 1)
    return xp.maximum(count, 1)


def _digamma(xp, x):
    """SciPy's digamma, with PyTorch's poles at zero: -inf at +0, +inf at -0 (NaN at the negative integers)."""
    return xp.where(x == 0, xp.copysign(xp.inf, -x), digamma(xp, x))


def _polygamma(xp, x, n):
    """``torch.polygamma(n, x)``: the ``n``-th derivative of digamma (n = 0: digamma itself)."""
    if n < 0:
        raise ValueError("polygamma(n, x) does not support negative n.")
    return _digamma(xp, x) if n == 0 else polygamma(xp, x, n=n)


def _cumulative_extreme(which):
    """``torch.cummax``/``cummin`` along ``dim``: the running extreme and the index it was last reached at (a tie
    moves the index on, as PyTorch's); a NaN, once met, is the extreme from there (its index, and a later NaN's)."""

    def forward(xp, x, dim):
        if x.ndim == 0:
            _axis(dim, 0)
            return x.copy(), xp.zeros((), dtype=xp.int64)
        d = _axis(dim, x.ndim)
        moved = xp.moveaxis(x, d, -1)
        values = _accumulate(xp, getattr(xp, which), moved)
        hit = moved == values
        if x.dtype.kind == "f":
            hit |= xp.isnan(moved)
        positions = xp.where(hit, xp.arange(moved.shape[-1]), 0)
        index = _accumulate(xp, xp.maximum, positions).astype(xp.int64)
        return xp.ascontiguousarray(xp.moveaxis(values, -1, d)), xp.ascontiguousarray(xp.moveaxis(index, -1, d))

    return forward


def _accumulate(xp, ufunc, a):
    """``ufunc.accumulate`` along the last axis; one step per position where the array module's ufunc has no
    accumulate (CuPy's, before v13)."""
    try:
        return ufunc.accumulate(a, axis=-1)
    except (AttributeError, NotImplementedError):
        out = a.copy()
        for k in range(1, a.shape[-1]):
            out[..., k] = ufunc(out[..., k - 1], a[..., k])
        return out


def _searchsorted(xp, sorted_sequence, values, right=False, out_int32=False):
    """``torch.searchsorted``: where each of ``values`` would go in the innermost rows of ``sorted_sequence`` to keep
    them sorted (``right``: after equal elements); a 1-D sequence serves every value, an N-D one the values of its row."""
    side, dtype = ("right" if right else "left"), (xp.int32 if out_int32 else xp.int64)
    if sorted_sequence.ndim == 1:
        return xp.asarray(xp.searchsorted(sorted_sequence, values, side=side)).astype(dtype)
    if sorted_sequence.ndim == 0 or values.ndim == 0 or sorted_sequence.shape[:-1] != values.shape[:-1]:
        raise ValueError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries tensor and input "
            f"value tensor must match, but we got boundaries tensor {list(sorted_sequence.shape)} and input value tensor {list(values.shape)}"
        )
    rows = sorted_sequence.reshape(-1, sorted_sequence.shape[-1])
    wanted = values.reshape(rows.shape[0], values.shape[-1])
    out = xp.zeros(wanted.shape, dtype=dtype)
    for k in range(rows.shape[0]):  # NumPy's searchsorted takes one sorted row at a time
        out[k] = xp.searchsorted(rows[k], wanted[k], side=side)
    return out.reshape(values.shape)


def _logcumsumexp(xp, x, dim):
    """log(cumsum(exp(x))) along ``dim``, one logaddexp at a time: exact where the terms differ by far more than
    exp's range (a composition through a global shift gives -inf there)."""
    if x.ndim == 0:
        _axis(dim, 0)
        return x.copy()
    d = _axis(dim, x.ndim)
    return xp.ascontiguousarray(xp.moveaxis(_accumulate(xp, xp.logaddexp, xp.moveaxis(x, d, -1)), -1, d))


def _integers_only(ufunc):
    """gcd and lcm: on integer tensors only (not bool), as PyTorch's, in its words where refused."""

    def forward(xp, x, y):
        for a in (x, y):
            if hasattr(a, "dtype") and a.dtype.kind not in "iu":
                raise TypeError(f'"{ufunc}_cpu" not implemented for \'{torch_name(a.dtype)}\'')
        return getattr(xp, ufunc)(x, y)

    return forward


def _nextafter(xp, x, y):
    for a in (x, y):
        if hasattr(a, "dtype") and a.dtype.kind != "f":
            raise TypeError(f'"nextafter_cpu" not implemented for \'{torch_name(a.dtype)}\'')
    return xp.nextafter(x, y)


def _signbit(xp, x):
    """Whether the sign bit is set: -0.0 and a negative NaN too, as PyTorch's; an integer's is x < 0."""
    return xp.signbit(x) if x.dtype.kind == "f" else x < 0


def _frexp(xp, x):
    """(mantissa, exponent) with x = mantissa * 2**exponent, |mantissa| in [0.5, 1); the exponent int32, as PyTorch's."""
    if x.dtype.kind != "f":
        raise TypeError("torch.frexp() only supports floating-point dtypes")
    mantissa, exponent = xp.frexp(x)
    return mantissa, exponent.astype(xp.int32)


def _heaviside(xp, x, values):
    """1 above zero, ``values`` at zero, 0 elsewhere (NaN included, as PyTorch's), in the inputs' dtype."""
    return xp.where(x == 0, values, (x > 0).astype(x.dtype))


# name         forward                                                       backward node
defop("add", lambda xp, x, y: x + y, "AddBackward0", 2, broadcasts=True)
defop("sub", lambda xp, x, y: x - y, "SubBackward0", 2, broadcasts=True)
defop("mul", lambda xp, x, y: x * y, "MulBackward0", 2, broadcasts=True)
defop("div", lambda xp, x, y: x / y, "DivBackward0", 2, broadcasts=True)
def _pow(xp, x, y):
    if getattr(x, "dtype", None) == np.bool_ and isinstance(y, bool):  # PyTorch's bool ** True is x, ** False all True
        return x.copy() if y else xp.ones_like(x)
    if getattr(x, "dtype", None) == np.bool_ or (getattr(x, "dtype", None) is None and getattr(y, "dtype", None) == np.bool_):
        raise TypeError('"pow" not implemented for \'Bool\'')
    if getattr(y, "dtype", None) is not None and y.dtype.kind == "i" and not _is_float(x) and bool((y < 0).any()):
        # (a negative number exponent with an integer tensor is refused before it is wrapped: engine._promote)
        base = xp.asarray(x)
        safe = base ** xp.where(y < 0, 0, y)
        odd = (y % 2) == 1
        negative_power = xp.where(base == 1, 1, xp.where(base == -1, xp.where(odd, -1, 1), 0)).astype(safe.dtype)
        return xp.where(y < 0, negative_power, safe)
    return power(xp, x, y)


def power(xp, x, y):
    """``x ** y``, with PyTorch's kernel for a number exponent of -0.5: ``1 / sqrt(x)``, so that (-0.0) ** -0.5 is
    -inf as PyTorch's, where C's pow gives inf (pow's backward takes it too, for an exponent of 0.5)."""
    if type(y) is float and y == -0.5 and getattr(x, "dtype", None) is not None and x.dtype.kind == "f":
        return 1 / xp.sqrt(x)
    return x**y


defop("pow", _pow, lambda shapes, params: "PowBackward0" if shapes[1] is None else "PowBackward1", 2, broadcasts=True)
defop("maximum", lambda xp, x, y: xp.maximum(x, y), "MaximumBackward0", 2, broadcasts=True)
defop("minimum", lambda xp, x, y: xp.minimum(x, y), "MinimumBackward0", 2, broadcasts=True)
defop("where", lambda xp, c, x, y: xp.where(c, x, y), "WhereBackward0", 3, broadcasts=True)
def _neg(xp, x):
    if x.dtype == np.bool_:
        raise TypeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the "
                        "`~` or `logical_not()` operator instead.")
    return -x


defop("neg", _neg, "NegBackward0")
defop("exp", lambda xp, x: xp.exp(x), "ExpBackward0")
defop("log", lambda xp, x: xp.log(x), "LogBackward0")
defop("sqrt", lambda xp, x: xp.sqrt(x), "SqrtBackward0")
def _abs(xp, x):
    if x.dtype == np.bool_:
        raise TypeError('"abs_cpu" not implemented for \'Bool\'')
    return xp.abs(x)


defop("abs", _abs, "AbsBackward0")
defop("sin", lambda xp, x: xp.sin(x), "SinBackward0")
defop("cos", lambda xp, x: xp.cos(x), "CosBackward0")
defop("tanh", lambda xp, x: xp.tanh(x), "TanhBackward0")
defop("sigmoid", nn.sigmoid, "SigmoidBackward0")
defop("relu", _relu, "ReluBackward0")
defop("log1p", lambda xp, x: xp.log1p(x), "Log1PBackward0")
defop("expm1", lambda xp, x: xp.expm1(x), "Expm1Backward0")
defop("leaky_relu", _leaky_relu, "LeakyReluBackward0")
defop("silu", lambda xp, x: x * nn.sigmoid(xp, x), "SiluBackward0")
defop("gelu", gelu, "GeluBackward0")
defop("softplus", _softplus, "SoftplusBackward0")
defop("elu", _elu, "EluBackward0")
defop("tril", _triangle("tril"), "TrilBackward0")
defop("triu", _triangle("triu"), "TriuBackward0")
defop("cumsum", _cumsum, "CumsumBackward0")
defop("cumprod", _cumprod, "CumprodBackward0")
defop("scatter_add", _scatter_add, "ScatterAddBackward0", 3)  # (x, index, src), dim a param
defop("scatter_reduce", _scatter_reduce, "ScatterReduceBackward0", 3)  # (x, index, src); dim, reduce, include_self params
defop("scatter", _scatter, "ScatterBackward0", 3)  # (x, index, src), dim a param; a number src: a full tensor from the SDK
defop("clamp", _clamp, "ClampBackward1")
defop("rsqrt", lambda xp, x: 1 / xp.sqrt(x), "RsqrtBackward0")
defop("reciprocal", lambda xp, x: 1 / x, "ReciprocalBackward0")
defop("tan", lambda xp, x: xp.tan(x), "TanBackward0")
defop("asin", lambda xp, x: xp.arcsin(x), "AsinBackward0")
defop("acos", lambda xp, x: xp.arccos(x), "AcosBackward0")
defop("atan", lambda xp, x: xp.arctan(x), "AtanBackward0")
defop("asinh", lambda xp, x: xp.arcsinh(x), "AsinhBackward0")
defop("acosh", lambda xp, x: xp.arccosh(x), "AcoshBackward0")
defop("atanh", lambda xp, x: xp.arctanh(x), "AtanhBackward0")
defop("logcumsumexp", _logcumsumexp, "LogcumsumexpBackward0")
defop("signbit", _signbit, "SignbitBackward0")
defop("frexp", _frexp, "FrexpBackward0")  # (mantissa, exponent)
defop("gcd", _integers_only("gcd"), "GcdBackward0", 2, broadcasts=True)
defop("lcm", _integers_only("lcm"), "LcmBackward0", 2, broadcasts=True)
defop("nextafter", _nextafter, "NextafterBackward0", 2, broadcasts=True)
defop("copysign", lambda xp, x, y: xp.copysign(x, y), "CopysignBackward0", 2, broadcasts=True)
def _float32_and_64(name, function):
    """An op of FLOAT32_AND_64 (below): float16 refused in PyTorch's words (so is bfloat16, which reaches the forward only beside
    a number: a bfloat16 first input ``Engine._apply_computed`` refuses before it widens it to float32)."""

    def forward(xp, *arrays):
        for a in arrays:
            dtype = getattr(a, "dtype", None)
            if dtype is not None and (dtype == np.float16 or dtype in COMPUTE):
                raise KernelNotImplemented(f'"{name}_cpu" not implemented for \'{torch_name(dtype)}\'')
        return function(xp, *arrays)

    return forward


defop("heaviside", _heaviside, "HeavisideBackward0", 2, broadcasts=True)
defop("sinh", lambda xp, x: xp.sinh(x), "SinhBackward0")
defop("cosh", lambda xp, x: xp.cosh(x), "CoshBackward0")
defop("log2", lambda xp, x: xp.log2(x), "Log2Backward0")
defop("log10", lambda xp, x: xp.log10(x), "Log10Backward0")
defop("exp2", lambda xp, x: xp.exp2(x), "Exp2Backward0")
defop("erf", lambda xp, x: erf(xp, x), "ErfBackward0")
defop("erfinv", lambda xp, x: erfinv(xp, x), "ErfinvBackward0")
defop("erfc", lambda xp, x: erfc(xp, x), "ErfcBackward0")
defop("erfcx", _float32_and_64("erfcx", lambda xp, x: erfcx(xp, x)), "SpecialErfcxBackward0")
defop("lgamma", lambda xp, x: xp.where(x == -np.inf, np.inf, lgamma(xp, x)).astype(x.dtype), "LgammaBackward0")  # lgamma(-inf) = inf
defop("digamma", _digamma, "DigammaBackward0")
defop("polygamma", _polygamma, "PolygammaBackward0")  # the order n a param, as torch.polygamma(n, x)'s
defop("i0", lambda xp, x: i0(xp, x), "I0Backward0")
defop("i0e", lambda xp, x: backend.i0e(xp, x), "SpecialI0EBackward0")
defop("i1", lambda xp, x: backend.i1(xp, x), "SpecialI1Backward0")
defop("i1e", lambda xp, x: backend.i1e(xp, x), "SpecialI1EBackward0")
defop("ndtri", _float32_and_64("ndtri", lambda xp, x: backend.ndtri(xp, x)), "SpecialNdtriBackward0")
defop("bessel_j0", _float32_and_64("bessel_j0", lambda xp, x: backend.bessel_j0(xp, x)), "")  # no derivative, as PyTorch's
defop("bessel_j1", _float32_and_64("bessel_j1", lambda xp, x: backend.bessel_j1(xp, x)), "")

# torch.special's other Bessel functions and its orthogonal polynomials (``(x, n)``, n a tensor or a number, broadcast):
# PyTorch's algorithms (special.py), its dtypes (float32 and float64 alone; integers made float first: engine.py) and
# no derivative, as PyTorch's (vjps.NON_DIFFERENTIABLE: their outputs never require grad)
SPECIAL_UNARY = ("airy_ai", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
                 "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0")
SPECIAL_POLYNOMIALS = ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
                       "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
                       "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
                       "legendre_polynomial_p")
FLOAT32_AND_64 = frozenset(SPECIAL_UNARY + SPECIAL_POLYNOMIALS + ("erfcx", "ndtri", "bessel_j0", "bessel_j1", "zeta"))  # ops whose PyTorch CPU kernel takes no other dtype


for _name in SPECIAL_UNARY:
    defop(_name, _float32_and_64(_name, getattr(special, _name)), "")
for _name in SPECIAL_POLYNOMIALS:
    defop(_name, _float32_and_64(_name, getattr(special, _name)), "", 2, broadcasts=True)


def _logit(xp, x, eps=None):
    """log(x / (1 - x)), x clamped to [eps, 1 - eps] first where ``eps`` is given; NaN outside [0, 1], as PyTorch's."""
    if eps is not None:
        x = xp.clip(x, eps, 1 - eps)
    return xp.log(x / (1 - x))


def _entr(xp, x):
    """-x log x: 0 at 0, -inf below it, NaN kept, as ``torch.special.entr``."""
    positive = x > 0
    out = xp.where(positive, -x * xp.log(xp.where(positive, x, 1)), xp.where(x == 0, 0, -np.inf))
    return xp.where(xp.isnan(x), x, out).astype(x.dtype)


def _floats_only(kernel, function):
    """An op PyTorch implements for float tensors only (hypot, logaddexp, igamma): an integer one refused in its words."""

    def forward(xp, *arrays):
        for a in arrays:
            if getattr(a, "dtype", None) is not None and a.dtype.kind in "biu":
                raise KernelNotImplemented(f'"{kernel}_cpu" not implemented for \'{torch_name(a.dtype)}\'')
        return function(xp, *arrays)

    return forward


defop("logit", _logit, "LogitBackward0")
defop("entr", _entr, "SpecialEntrBackward0")
defop("xlogy", lambda xp, x, y: backend.xlogy(xp, x, y), "XlogyBackward0", 2, broadcasts=True)
defop("xlog1py", lambda xp, x, y: backend.xlog1py(xp, x, y), "SpecialXlog1PyBackward0", 2, broadcasts=True)
defop("hypot", _floats_only("hypot", lambda xp, x, y: xp.hypot(x, y)), "HypotBackward0", 2, broadcasts=True)
defop("logaddexp", _floats_only("logaddexp", lambda xp, x, y: xp.logaddexp(x, y)), "LogaddexpBackward0", 2, broadcasts=True)
defop("gammainc", _floats_only("igamma", backend.gammainc), "IgammaBackward0", 2, broadcasts=True)
defop("gammaincc", _floats_only("igammac", backend.gammaincc), "IgammacBackward0", 2, broadcasts=True)
defop("zeta", _float32_and_64("zeta", lambda xp, x, q: backend.zeta(xp, x, q)), "SpecialZetaBackward0", 2, broadcasts=True)
defop("kthvalue", _kthvalue, "KthvalueBackward0")  # (values, indices)
defop("atan2", _atan2, "Atan2Backward0", 2, broadcasts=True)
defop("fmod", _fmod, lambda shapes, params: "FmodBackward0" if shapes[1] is None else "FmodBackward1", 2, broadcasts=True)
# zero gradient almost everywhere, as PyTorch's: the output requires grad, its gradient is zeros
defop("floor", _rounding("floor"), "FloorBackward0")
defop("ceil", _rounding("ceil"), "CeilBackward0")
defop("trunc", _rounding("trunc"), "TruncBackward0")
defop("round", _round, lambda shapes, params: "RoundBackward1" if params.get("decimals") else "RoundBackward0")
defop("sign", _sign, "SignBackward0")
defop("prod", _prod, _by_dim("ProdBackward0", "ProdBackward1"))
defop("amax", _amax_amin("max"), "AmaxBackward0")
defop("amin", _amax_amin("min"), "AminBackward0")
defop("logsumexp", _logsumexp, "LogsumexpBackward0")
defop("einsum", lambda xp, *xs, equation: einsum(xp, equation, *xs), "EinsumBackward0", None)  # an explicit equation (the SDK writes it)
defop("pad", pad, "ConstantPadNdBackward0")
defop("flip", _flip, "FlipBackward0")
defop("roll", _roll, "RollBackward0")
defop("repeat", _repeat, "RepeatBackward0")
defop("sort", _sort, "SortBackward0")  # (values, indices)
defop("cummax", _cumulative_extreme("maximum"), "CummaxBackward0")  # (values, indices)
defop("cummin", _cumulative_extreme("minimum"), "CumminBackward0")  # (values, indices)
defop("topk", _topk, "TopkBackward0")  # (values, indices)
defop("mode", _mode, "ModeBackward0")  # (values, indices)
defop("matmul", backend.matmul, _matmul_node, 2)
defop("inv", linalg.inv, "LinalgInvExBackward0")
defop("det", linalg.det, "LinalgDetBackward0")
defop("slogdet", linalg.slogdet, "LinalgSlogdetBackward0")  # (sign, log|det A|): one node for both
defop("solve", linalg.solve, "LinalgSolveExBackward0", 2)
defop("cholesky", linalg.cholesky, "LinalgCholeskyExBackward0")
defop("cholesky_ex", linalg.cholesky_ex, "LinalgCholeskyExBackward0")  # (L, info): no error where not positive-definite
defop("solve_triangular", linalg.solve_triangular, "LinalgSolveTriangularBackward0", 2)
defop("lu_factor", linalg.lu_factor, "LinalgLuFactorExBackward0")  # (LU, pivots, info): the first differentiable
defop("lu_permutation", linalg.lu_permutation, "LuPermutation")  # pivots to the row order (not differentiable)
defop("geqrf", linalg.geqrf, "GeqrfBackward0")  # (a, tau): not differentiable, as torch's
defop("ldl_factor", linalg.ldl_factor, "LinalgLdlFactorExBackward0")  # (LD, pivots, info)
defop("ldl_solve", linalg.ldl_solve, "LinalgLdlSolveBackward0", 3)  # (LD, pivots, B)
defop("eigvalsh", linalg.eigvalsh, "LinalgEighBackward0")
defop("svdvals", linalg.svdvals, "LinalgSvdBackward0")
# decompositions with several outputs, each output differentiable, one node shared (vjps: outputs=)
defop("linalg_svd", linalg.svd, "LinalgSvdBackward0")  # (U, S, Vh)
defop("linalg_eigh", linalg.eigh, "LinalgEighBackward0")  # (eigenvalues, eigenvectors)
defop("linalg_eig", linalg.eig, "LinalgEigBackward0")  # (eigenvalues, eigenvectors), complex
defop("linalg_qr", linalg.qr, "LinalgQrBackward0")  # (Q, R)
# integer and bool tensors sum in int64, as PyTorch's (NumPy's sum of uint8 is uint64)
defop("sum", lambda xp, x, dim=None, keepdim=False: x.sum(axis=dim, keepdims=keepdim, dtype=xp.int64 if x.dtype.kind in "biu" else None),
      _by_dim("SumBackward0", "SumBackward1"))
defop("mean", lambda xp, x, dim=None, keepdim=False: x.mean(axis=dim, keepdims=keepdim), _by_dim("MeanBackward0", "MeanBackward1"))
defop("max", _reduce_with_index("max"), _by_dim("MaxBackward1", "MaxBackward0"))
defop("min", _reduce_with_index("min"), _by_dim("MinBackward1", "MinBackward0"))
defop("var", _var, "VarBackward0")
defop("std", lambda xp, x, **params: xp.sqrt(_var(xp, x, **params)), "StdBackward0")
defop("gather", _gather, "GatherBackward0", 2)  # (x, index), dim a param
defop("norm", vector_norm, "LinalgVectorNormBackward0")
defop("masked_fill", _masked_fill, "MaskedFillBackward0", 2)  # (x, mask), value a number: a tensor value goes through where
defop("softmax", nn.softmax, "SoftmaxBackward0")
defop("log_softmax", nn.log_softmax, "LogSoftmaxBackward0")
def _reshape(xp, x, shape):
    if sum(1 for n in shape if n == -1) > 1:
        raise ValueError("only one dimension can be inferred")
    return x.reshape(shape)


defop("reshape", _reshape, "ViewBackward0", view=True)
def _transpose(xp, x, dim0, dim1):
    """``x.transpose(dim0, dim1)``: the dims checked here (CuPy's swapaxes says only "Axis out of range"); a 0-d
    tensor's dim 0 and -1 swap with themselves, as PyTorch's."""
    dim0, dim1 = _axis(dim0, x.ndim), _axis(dim1, x.ndim)
    return x.swapaxes(dim0, dim1) if x.ndim else x[()]


defop("transpose", _transpose, "TransposeBackward0", view=True)
def _permute(xp, x, dims):
    if len(dims) != x.ndim:
        raise ValueError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired "
                         f"ordering of dimensions i.e. input.dim() = {x.ndim} is not equal to len(dims) = {len(dims)}")
    wrapped = [_axis(d, x.ndim) for d in dims]
    if len(set(wrapped)) != len(wrapped):
        raise ValueError("permute(): duplicate dims are not allowed.")
    return x.transpose(wrapped)


defop("permute", _permute, "PermuteBackward0", view=True)
defop("expand", _expand, "ExpandBackward0", view=True)
defop("squeeze", _squeeze, _by_dim("SqueezeBackward0", "SqueezeBackward1"), view=True)
defop("unsqueeze", lambda xp, x, dim: xp.expand_dims(x, dim), "UnsqueezeBackward0", view=True)
defop("index", lambda xp, x, key: at(x, key), _index_node, view=True)
defop("index_put", _index_put, _index_put_node, 2)  # (x, value), the key a param as index's
defop("copy_slices", _copy_slices, "CopySlices", 2)  # (root, written), the view's steps a param
defop("diagonal", _diagonal, "DiagonalBackward0", view=True)
defop("unfold", _unfold, "UnfoldBackward0", view=True)
defop("as_strided", _as_strided, "AsStridedBackward0", view=True)
defop("view_dtype", _view_dtype, "", view=True)  # not differentiable, as PyTorch's
def is_legacy_empty(x) -> bool:
    """A 1-D tensor of no elements: ``torch.cat`` skips it, whatever the others' shapes (PyTorch's legacy rule)."""
    return x.ndim == 1 and x.shape[0] == 0


def _cat(xp, *xs, dim=0):
    """``torch.cat``, with PyTorch's checks and words (NumPy's differ) and its legacy rule for 1-D empty tensors."""
    for i, x in enumerate(xs):
        if x.ndim == 0:
            raise ValueError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    kept = [(i, x) for i, x in enumerate(xs) if not is_legacy_empty(x)] or [(0, xs[0])]
    first = kept[0][1]
    axis = _axis(dim, first.ndim)
    for i, x in kept[1:]:
        if x.ndim != first.ndim:
            raise ValueError(f"Tensors must have same number of dimensions: got {first.ndim} and {x.ndim}")
        for d in range(first.ndim):
            if d != axis and x.shape[d] != first.shape[d]:
                raise ValueError(f"Sizes of tensors must match except in dimension {axis}. Expected size {first.shape[d]} but got "
                                 f"size {x.shape[d]} for tensor number {i} in the list.")
    return xp.concatenate([x for _, x in kept], axis=axis)


defop("cat", _cat, "CatBackward0", None)
def _stack(xp, *xs, dim=0):
    for i, x in enumerate(xs[1:], 1):
        if x.shape != xs[0].shape:
            raise ValueError(f"stack expects each tensor to be equal size, but got {list(xs[0].shape)} at entry 0 and {list(x.shape)} at entry {i}")
    return xp.stack(xs, axis=dim)


defop("stack", _stack, "StackBackward0", None)


def _to(xp, x, dtype):
    """``x.to(dtype)``: complex to real keeps the real part; floats to a narrower integer wrap, as C's cast through
    int64 (PyTorch's CPU kernels: -1.5 to uint8 is 255), where CUDA's conversion saturates (0)."""
    if x.dtype.kind == "c" and dtype.kind != "c":
        x = x.real
    if x.dtype.kind == "f" and dtype.kind in "iu" and dtype.itemsize < 8:
        x = x.astype(np.int64)
    return x.astype(dtype)


defop("to", _to, "ToCopyBackward0")
defop("clone", lambda xp, x: x.copy(), "CloneBackward0")
defop("contiguous", lambda xp, x: x if x.flags.c_contiguous else x.copy(), "CloneBackward0", view=True)  # the same memory where it is already
# neural-network primitives (their maths: nn.py); conv2d and layer_norm take an optional weight/bias
# as a list of tensors: (x, weight[, bias])
defop("linear", nn.linear, nn.linear_node, None)
defop("conv2d", nn.conv2d, "ConvolutionBackward0", None)
defop("conv_transpose2d", nn.conv_transpose2d, "ConvolutionBackward0", None)  # (x, weight[, bias]), as conv2d
defop("max_pool2d", nn.max_pool2d, "MaxPool2DWithIndicesBackward0")
defop("max_pool2d_indices", nn.max_pool2d_indices, "")  # F.max_pool2d(..., return_indices=True)'s indices
defop("avg_pool2d", nn.avg_pool2d, "AvgPool2DBackward0")
defop("adaptive_avg_pool2d", nn.adaptive_avg_pool2d, "AdaptiveAvgPool2DBackward0")
defop("embedding", nn.embedding, "EmbeddingBackward0", 2)  # (indices, weight), as F.embedding
defop("im2col", nn.im2col, "Im2ColBackward0")  # F.unfold
defop("col2im", nn.col2im, "Col2ImBackward0")  # F.fold: im2col's adjoint
defop("layer_norm", nn.layer_norm, "NativeLayerNormBackward0", None)
defop("batch_norm", nn.batch_norm, "NativeBatchNormBackward0", None)  # (x[, running_mean, running_var][, weight, bias])
defop("dropout", nn.dropout, "NativeDropoutBackward0", 2)  # (x, uniform samples from the session's generator)
defop("nll_loss", nn.nll_loss, "NllLossBackward0", 2)
defop("cross_entropy", nn.cross_entropy, "CrossEntropyLossBackward0", 2)  # fused log_softmax + nll_loss
defop("binary_cross_entropy", nn.binary_cross_entropy, "BinaryCrossEntropyBackward0", 2)
defop("binary_cross_entropy_with_logits", nn.binary_cross_entropy_with_logits, "BinaryCrossEntropyWithLogitsBackward0", 2)
defop("floor_divide", _integer_division("floor_divide"), "NotImplemented", 2, broadcasts=True)  # x // y: no derivative, as PyTorch's
defop("remainder", _integer_division("remainder"), lambda shapes, params: "RemainderBackward0" if shapes[1] is None else "RemainderBackward1", 2, broadcasts=True)
# no gradient (listed in vjps.NON_DIFFERENTIABLE): bitwise ops (masks), comparisons, arg-reductions
defop("bitwise_and", _bitwise("bitwise_and", "bitwise_and"), "", 2, broadcasts=True)  # x & y
defop("bitwise_or", _bitwise("bitwise_or", "bitwise_or"), "", 2, broadcasts=True)  # x | y
defop("bitwise_xor", _bitwise("bitwise_xor", "bitwise_xor"), "", 2, broadcasts=True)  # x ^ y
defop("bitwise_not", _bitwise("bitwise_not", "invert"), "")  # ~x
defop("bitwise_left_shift", _shift("lshift", True), "", 2, broadcasts=True)  # x << y
defop("bitwise_right_shift", _shift("rshift", False), "", 2, broadcasts=True)  # x >> y
defop("eq", lambda xp, x, y: x == y, "", 2, broadcasts=True)
defop("ne", lambda xp, x, y: x != y, "", 2, broadcasts=True)
defop("lt", lambda xp, x, y: x < y, "", 2, broadcasts=True)
defop("le", lambda xp, x, y: x <= y, "", 2, broadcasts=True)
defop("gt", lambda xp, x, y: x > y, "", 2, broadcasts=True)
defop("ge", lambda xp, x, y: x >= y, "", 2, broadcasts=True)
def _arg_extreme(name):
    def forward(xp, x, dim=None, keepdim=False):
        if x.dtype == np.bool_:
            raise TypeError(f"{name}(): does not support bool input")  # PyTorch's words
        return getattr(x, name)(axis=dim, keepdims=keepdim)

    return forward


defop("argmax", _arg_extreme("argmax"), "")
defop("argmin", _arg_extreme("argmin"), "")
defop("isnan", _float_test("isnan"), "")
defop("isinf", _float_test("isinf"), "")
defop("isfinite", _float_test("isfinite"), "")
defop("logical_not", lambda xp, x: xp.logical_not(x), "")
defop("logical_and", lambda xp, x, y: xp.logical_and(x, y), "", 2, broadcasts=True)
defop("logical_or", lambda xp, x, y: xp.logical_or(x, y), "", 2, broadcasts=True)
defop("logical_xor", lambda xp, x, y: xp.logical_xor(x, y), "", 2, broadcasts=True)
defop("all", _all_any("all"), "")
defop("any", _all_any("any"), "")
defop("nonzero", _nonzero, "")
defop("unique", lambda xp, x, dim=None: _unique(xp, x, dim), "")  # (values, inverse, counts), sorted
defop("bincount", lambda xp, x, minlength=0: _bincount(xp, x, None, minlength), "")


def _one_hot(xp, x, num_classes=-1):
    """``F.one_hot``: int64 rows with a 1 at each class index, the values checked as PyTorch checks them (here, so the
    client need not read them; ``num_classes=-1``: the largest value plus one)."""
    if x.dtype.kind not in "iu":
        raise TypeError("one_hot is only applicable to index tensor of type LongTensor.")
    if x.size and int(x.min()) < 0:
        raise ValueError("Class values must be non-negative.")
    if num_classes == -1:
        if not x.size:
            raise ValueError("Can not infer total number of classes from empty tensor.")
        num_classes = int(x.max()) + 1
    elif x.size and int(x.max()) >= num_classes:
        raise ValueError("Class values must be smaller than num_classes.")
    return (x[..., None] == xp.arange(num_classes)).astype(xp.int64)


defop("one_hot", _one_hot, "")


def _probabilities(xp, x):
    """``x`` itself, once it is checked as ``torch.multinomial`` checks its weights (the SDK's multinomial is a
    composition of ops: this is its one look at the values, on the server, without a round trip)."""
    if not bool(xp.isfinite(x).all()) or bool((x < 0).any()):
        raise ValueError("probability tensor contains either `inf`, `nan` or element < 0")
    if x.size and bool((x.sum(axis=-1) <= 0).any()):
        raise ValueError("invalid multinomial distribution (sum of probabilities <= 0)")
    return x


defop("probabilities", _probabilities, "", view=True)
defop("bincount_weighted", lambda xp, x, weights, minlength=0: _bincount(xp, x, weights, minlength), "", 2)  # (x, weights): no promotion
defop("searchsorted", _searchsorted, "", 2)  # (sorted_sequence, values): no promotion
defop("histc", _histc, "")  # no derivative, as PyTorch's
defop("count_nonzero", lambda xp, x, dim=None: xp.count_nonzero(x, axis=dim).astype(xp.int64), "")


# --- complex numbers and the discrete Fourier transform -------------------------------------------------------------
def _complex(xp, real, imag):
    """``torch.complex``: two float tensors of one dtype as one complex tensor of that precision."""
    for name, part in (("real", real), ("imag", imag)):
        if not hasattr(part, "dtype"):
            raise InvalidArgument(f"complex(): argument '{name}' must be Tensor, not {type(part).__name__}")
    if real.dtype.kind != "f" or imag.dtype.kind != "f":
        raise DTypeError(f"Expected both inputs to be Half, Float or Double tensors but got {torch_name(real.dtype)} and {torch_name(imag.dtype)}")
    if real.dtype != imag.dtype:
        raise DTypeError(f"Expected object of scalar type {torch_name(real.dtype)} but got scalar type {torch_name(imag.dtype)} for second argument")
    shape = np.broadcast_shapes(real.shape, imag.shape)  # (of shapes, on any device: CuPy has none)
    out = xp.empty(shape, dtype=xp.complex128 if real.dtype == xp.float64 else xp.complex64)
    out.real[...] = real  # the parts as they are: inf and -0.0 stay (real + 1j * imag would make inf * 1j a NaN)
    out.imag[...] = imag
    return out


def _imag(xp, x):
    if x.dtype.kind != "c":
        raise InvalidArgument("imag is not implemented for tensors with non-complex dtypes.")
    return xp.ascontiguousarray(x.imag)  # a copy (PyTorch's is a view)


def _spectral_input(xp, x):
    """The array an FFT transforms (an integer one arrives in the default float dtype: engine._INTEGER_RULES); float16 is
    refused, as PyTorch's CPU FFTs refuse it."""
    if x.dtype == xp.float16:
        raise DTypeError("Unsupported dtype Half")
    return x


def _fftn(xp, x, s, dim, norm="backward", inverse=False):
    transform = xp.fft.ifftn if inverse else xp.fft.fftn
    return transform(_spectral_input(xp, x), s=s, axes=dim, norm=norm)


def _rfftn(xp, x, s, dim, norm="backward"):
    if x.dtype.kind == "c":
        raise DTypeError(f"rfftn expects a real-valued input tensor, but got {torch_name(x.dtype)}")
    return xp.fft.rfftn(_spectral_input(xp, x), s=s, axes=dim, norm=norm)


def _irfftn(xp, x, s, dim, norm="backward"):
    x = _spectral_input(xp, x)
    if x.dtype.kind != "c":  # a real input is read as complex, as PyTorch's
        x = x.astype(xp.complex128 if x.dtype == xp.float64 else xp.complex64)
    return xp.fft.irfftn(x, s=s, axes=dim, norm=norm)


def resized(xp, a, shape):
    """``a`` cropped or zero-padded at the end of every dim to ``shape`` (how an FFT's ``n``/``s`` resizes its input)."""
    if a.shape == tuple(shape):
        return a
    out = xp.zeros(shape, dtype=a.dtype)
    common = tuple(slice(0, min(m, n)) for m, n in zip(a.shape, shape))
    out[common] = a[common]
    return out


defop("real", lambda xp, x: xp.ascontiguousarray(x.real), "RealBackward0")  # a copy (PyTorch's is a view)
defop("imag", _imag, "ImagBackward0")
defop("conj", lambda xp, x: xp.conj(x), "ConjPhysicalBackward0")  # conj_physical: PyTorch's lazy conj bit is not kept
def _angle(xp, x):
    """arg(x); of a real x, pi below 0 and 0 elsewhere (-0.0 included), NaN kept, as PyTorch's."""
    if x.dtype.kind == "c":
        return xp.angle(x).astype(x.real.dtype, copy=False)
    return xp.where(x < 0, np.pi, xp.where(xp.isnan(x), x, 0)).astype(x.dtype)


defop("angle", _angle, "AngleBackward0")
defop("complex", _complex, "ComplexBackward0", 2)
defop("fftn", lambda xp, x, s, dim, norm="backward": _fftn(xp, x, s, dim, norm), "FftC2CBackward0")
defop("ifftn", lambda xp, x, s, dim, norm="backward": _fftn(xp, x, s, dim, norm, inverse=True), "FftC2CBackward0")
defop("rfftn", _rfftn, "FftR2CBackward0")
defop("irfftn", _irfftn, "FftC2RBackward0")
