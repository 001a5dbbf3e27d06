"""More of PyTorch's shape, indexing and metadata API on ``Tensor``: compositions of the SDK's ops (so their
gradients come with them) but ``scatter_reduce`` and ``index_put(accumulate=True)``, ops of their own.

Set on ``Tensor`` when ``gradwire`` is imported; the torch-level names go into ``FUNCTIONS`` (``gw.ravel(x)``, ...).
"""

from __future__ import annotations

import math

import numpy as np

from . import defaults, dtypes, errors
from .amp import autocast_mode as _amp
from .grad_mode import is_grad_enabled, no_grad
from .floats import is_floating, kind
from .shapes import _CATEGORY, _elementwise, _reshape, promote
from .tensor import (
    FUNCTIONS, Size, Tensor, _TENSOR_TYPE_NAMES, _as_index, _function, _note_view, _op, _op_into, _wrap_dim, _written_out, as_dtype, bool_,
    int64,
)
from .wire import IndexKey

_ALL = slice(None)


def _lead(dim):
    return (_ALL,) * dim


def _shape_str(shape):
    return "[" + ", ".join(map(str, shape)) + "]"


# --- shape ---------------------------------------------------------------------------------------------------------
def ravel(self):
    """The elements as one dim, in C order, as ``torch.Tensor.ravel``."""
    return self.reshape(-1)


def select(self, dim, index):
    """The slice at ``index`` of ``dim``, without that dim: a view, as ``torch.Tensor.select``."""
    d = _wrap_dim(dim, self.ndim)
    if not self.ndim:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    size = self.shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {_shape_str(self.shape)} at dimension {d}")
    return self[_lead(d) + (int(index),)]


def tensor_split(self, indices_or_sections, dim=0):
    """Pieces along ``dim``: ``n`` sections (the first ``size % n`` one longer) or cut at the listed indices, views
    all, as ``torch.tensor_split``."""
    d = _wrap_dim(dim, self.ndim)
    if not self.ndim:
        raise errors.InvalidArgumentError(f"tensor_split expected at least a 1-dimensional tensor, but got a tensor with {self.ndim} dims")
    if isinstance(indices_or_sections, Tensor):
        if indices_or_sections.dtype != int64:
            raise errors.InvalidArgumentError("tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                                              + _TENSOR_TYPE_NAMES.get(indices_or_sections.dtype, str(indices_or_sections.dtype)))
        if indices_or_sections.ndim > 1:
            raise errors.InvalidArgumentError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or one-dimensional "
                                              f"tensor, but got a tensor with {indices_or_sections.ndim} dims")
        indices_or_sections = indices_or_sections.tolist()
    length = self.shape[d]
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if n <= 0:
            raise errors.InvalidArgumentError(f"number of sections must be larger than 0, got {n}")
        small, extra = divmod(length, n)
        bounds, start = [], 0
        for k in range(n):
            end = start + small + (1 if k < extra else 0)
            bounds.append((start, end))
            start = end
    else:
        cuts = [int(i) + length if int(i) < 0 else int(i) for i in indices_or_sections]  # a negative index counts from the end
        starts, ends = [0] + cuts, cuts + [length]
        bounds = list(zip(starts, ends))
    return tuple(self[_lead(d) + (slice(max(0, min(s, length)), max(0, min(max(s, e), length))),)] for s, e in bounds)


def _directional_split(name, dim, ndim):
    def method(self, indices_or_sections):
        if self.ndim < ndim:
            raise errors.InvalidArgumentError(f"torch.{name} requires a tensor with at least {ndim} dimension, but got a tensor with {self.ndim} dimensions!")
        d = 0 if name == "hsplit" and self.ndim == 1 else dim
        if isinstance(indices_or_sections, (int, np.integer)):
            n = int(indices_or_sections)
            if n == 0 or self.shape[d] % n:
                raise errors.InvalidArgumentError(f"torch.{name} attempted to split along dimension {d}, but the size of the dimension "
                                                  f"{self.shape[d]} is not divisible by the split_size {n}!")
        return self.tensor_split(indices_or_sections, d)

    method.__name__ = name
    method.__doc__ = f"``tensor_split`` along dim {dim}{' (a 1-D tensor: 0)' if name == 'hsplit' else ''}, sections equal, as ``torch.{name}``."
    return method


def split_with_sizes(self, split_sizes, dim=0):
    """Pieces along ``dim`` of the listed sizes (which sum to its size), as ``torch.split_with_sizes``."""
    return self.split(list(split_sizes), dim)


def rot90(self, k=1, dims=(0, 1)):
    """Rotated by 90 degrees ``k`` times, from ``dims[0]`` towards ``dims[1]``, as ``torch.rot90``."""
    dims = list(dims)
    if len(dims) != 2:
        raise errors.InvalidArgumentError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if self.ndim < 2:
        raise errors.InvalidArgumentError(f"expected total dims >= 2, but got total dims = {self.ndim}")
    d0, d1 = dims
    if _wrap_dim(d0, self.ndim) == _wrap_dim(d1, self.ndim):
        raise errors.InvalidArgumentError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return self.flip(d1).transpose(d0, d1)
    if k == 2:
        return self.flip(d0, d1)
    if k == 3:
        return self.flip(d0).transpose(d0, d1)
    return self.clone()


def fliplr(self):
    """Columns in reverse order (dim 1), as ``torch.fliplr``."""
    if self.ndim < 2:
        raise errors.InvalidArgumentError("Input must be >= 2-d.")
    return self.flip(1)


def flipud(self):
    """Rows in reverse order (dim 0), as ``torch.flipud``."""
    if self.ndim < 1:
        raise errors.InvalidArgumentError("Input must be >= 1-d.")
    return self.flip(0)


def diagflat(self, offset=0):
    """The elements, flattened, on the ``offset`` diagonal of a square matrix, as ``torch.diagflat``."""
    return self.reshape(-1).diag(offset)


def sum_to_size(self, *size):
    """Summed down to ``size`` (which must expand to this shape), as ``torch.Tensor.sum_to_size``: a broadcast undone."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    if lead < 0 or any(s != 1 and s != n for s, n in zip(size, shape[lead:])):
        raise errors.InvalidArgumentError(f"size {{{_shape_str(size)}}} is not expandable to size {{{_shape_str(shape)}}}.")
    out = self.sum(tuple(range(lead))) if lead else self
    dims = tuple(d for d, (s, n) in enumerate(zip(size, shape[lead:])) if s == 1 and n != 1)
    return out.sum(dims, keepdim=True) if dims else out


def unfold(self, dimension, size, step):
    """Every window of ``size`` elements along ``dimension``, ``step`` apart: that dim becomes the windows and a new
    last dim of ``size`` their elements, as ``torch.Tensor.unfold`` (a view; windows that overlap
    add their gradients, and refuse an in-place write)."""
    d = _wrap_dim(dimension, self.ndim)
    length = self.shape[d] if self.ndim else 1
    if size > length:
        raise errors.InvalidArgumentError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if step <= 0:
        raise errors.InvalidArgumentError(f"step is {step} but must be > 0")
    if size < 0:
        raise errors.InvalidArgumentError(f"size is {size} but must be >= 0")
    return _op("unfold", (self,), {"dimension": d, "size": int(size), "step": int(step)})  # a view: writes reach self


def unflatten(self, dim, sizes):
    """Dim ``dim`` as the dims ``sizes`` (one may be -1), as ``torch.Tensor.unflatten``."""
    shape = self.shape
    d = _wrap_dim(dim, len(shape))
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise errors.InvalidArgumentError("unflatten: sizes must be non-empty")
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1:
        raise errors.InvalidArgumentError("only one dimension can be inferred")
    if (-1 not in sizes and known != shape[d]) or (-1 in sizes and (known == 0 or shape[d] % known)):
        raise errors.InvalidArgumentError(
            f"unflatten: Provided sizes {_shape_str(sizes)} don't multiply up to the size of dim {dim} ({shape[d]}) in the input tensor")
    return self.reshape(shape[:d] + sizes + shape[d + 1 :])


# --- in place: shape ops and the rest ------------------------------------------------------------------------------
_SLOTS = tuple(s for s in Tensor.__slots__ if s != "__weakref__")


# PyTorch's nodes for the in-place view ops (the server records the out-of-place op's node)
_IN_PLACE_NODES = {"unsqueeze": "UnsqueezeBackward1", "squeeze": "SqueezeBackward3", "squeeze_dim": "SqueezeBackward4", "t": "TBackward1",
                   "transpose": "TransposeBackward1"}


def _in_place_view(self, name, make):
    """``x.unsqueeze_(0)``, ``x.t_()``, ...: x becomes ``make(x)``, a view of what it was, as PyTorch's in-place view
    ops change a tensor's shape. Its earlier version moves to a stand-in (which keeps the server's handle to it as
    long as the graph needs it); the Python object takes the new handle, shape and history."""
    root = self if self._view_of is None else self._view_of
    if is_grad_enabled() and self._requires_grad and root._is_leaf and root._requires_grad:
        raise errors.FailedPreconditionError(f"a {'' if root is self else 'view of a '}leaf Variable that requires grad is being used in an in-place operation.")
    past = Tensor.__new__(Tensor)
    for slot in _SLOTS:
        setattr(past, slot, getattr(self, slot))
    try:
        out = make(past)  # (a bad dim raises here, before anything changed)
    except BaseException:
        past._handle = 0  # the stand-in shares this tensor's handle: collected, it must not release it
        raise
    if self._views is not None:  # views of the earlier version stay views of it
        for view in tuple(self._views):
            view._view_of = past
        self._views = None
    self._handle, out._handle = out._handle, 0  # (out is dropped: a handle of 0 is released by no one)
    self._shape, self._dtype, self._parents, self._grad_fn = out._shape, out._dtype, out._parents, out._grad_fn
    self._requires_grad, self._is_leaf = out._requires_grad, out._is_leaf
    self._layout = out._layout
    if not self._is_leaf:
        self._grad_fn = (_IN_PLACE_NODES[name], None)
    if self._view_of is None:  # a root: now a view of its earlier version
        _note_view(self, past)
    # (else a view still of the same root, among whose views it is already: a WeakSet must not take it twice)
    if past._is_leaf and past._requires_grad and self._is_leaf and not self._requires_grad:  # under no_grad: still a leaf that requires grad
        self._session._set_requires_grad(self, True)
        self._requires_grad = True
    return self


def unsqueeze_(self, dim):
    return _in_place_view(self, "unsqueeze", lambda x: x.unsqueeze(dim))


def squeeze_(self, dim=None):
    return _in_place_view(self, "squeeze" if dim is None else "squeeze_dim", lambda x: x.squeeze(dim))


def t_(self):
    if self.ndim > 2:
        raise errors.InvalidArgumentError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return _in_place_view(self, "t", lambda x: x.t()) if self.ndim == 2 else self  # (0-d and 1-D: nothing changes)


def transpose_(self, dim0, dim1):
    return _in_place_view(self, "transpose", lambda x: x.transpose(dim0, dim1))


def detach_(self):
    """This tensor cut from the graph in place: a leaf that does not require grad, as ``torch.Tensor.detach_``."""
    if self._view_of is not None:
        raise errors.FailedPreconditionError(
            "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for training, and "
            "gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence detach_() cannot be called on "
            "these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
    if self._is_leaf and not self._requires_grad:
        return self
    detached = self.detach()
    self._handle, detached._handle = detached._handle, self._handle  # (detached releases the old handle)
    self._requires_grad, self._is_leaf, self._parents, self._grad_fn, self._retains_grad = False, True, None, None, False
    return self


def tril_(self, diagonal=0):
    """``tril`` written into this tensor, as ``torch.Tensor.tril_``."""
    if self.ndim < 2:
        raise errors.InvalidArgumentError("tril: input tensor must have at least 2 dimensions")
    return _op_into("tril", self, (), {"diagonal": diagonal})


def triu_(self, diagonal=0):
    """``triu`` written into this tensor, as ``torch.Tensor.triu_``."""
    if self.ndim < 2:
        raise errors.InvalidArgumentError("triu: input tensor must have at least 2 dimensions")
    return _op_into("triu", self, (), {"diagonal": diagonal})


# --- indexing and scatters -----------------------------------------------------------------------------------------
_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
    """``src``'s elements reduced (``sum prod mean amax amin``) into this tensor along ``dim`` at ``index``, with this
    tensor's own value among them unless ``include_self=False``, as ``torch.scatter_reduce``; the gradients are
    PyTorch's (ties of amax/amin share it evenly, a zero in a product handled exactly)."""
    return _op("scatter_reduce", _scatter_reduce_inputs(self, index, src, reduce), _scatter_reduce_params(dim, reduce, include_self))


def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    return _op_into("scatter_reduce", self, _scatter_reduce_inputs(self, index, src, reduce)[1:], _scatter_reduce_params(dim, reduce, include_self))


def _scatter_reduce_params(dim, reduce, include_self):
    # include_self as 1 or 0: a param of False is never sent (it is every param's default), and the op's is True
    return {"dim": dim, "reduce": reduce, "include_self": int(bool(include_self))}


def _scatter_reduce_inputs(self, index, src, reduce):
    if reduce not in _REDUCTIONS:
        raise errors.InvalidArgumentError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    index = _as_index(self, index)
    if isinstance(src, Tensor) and src.dtype != self.dtype:
        raise errors.InvalidArgumentError("scatter(): Expected self.dtype to be equal to src.dtype")
    return (self, index, src)


def _index_tuple(indices):
    if isinstance(indices, Tensor) or not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): argument 'indices' must be tuple of Tensors, not {type(indices).__name__}")
    for k, part in enumerate(indices):
        if not isinstance(part, Tensor):
            raise TypeError(f"expected Tensor as element {k} in argument 0, but got {type(part).__name__}")
    return tuple(indices)


def _index_put_parts(self, indices, values, accumulate, internal=False):
    """(the op's params, the index tensors made for them); ``internal``: a key of the SDK's own, slices and all."""
    key, keep, _ = self._index_key(tuple(indices) if internal else _index_tuple(indices))
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' must be Tensor, not {type(values).__name__}")
    if values.dtype != self.dtype and not _amp.state.active:  # (autocast promotes index_put's inputs, as torch's)
        raise errors.InvalidArgumentError(f"Index put requires the source and destination dtypes match, got "
                                          f"{_TENSOR_TYPE_NAMES.get(self.dtype, self.dtype.name)} for the destination and "
                                          f"{_TENSOR_TYPE_NAMES.get(values.dtype, values.dtype.name)} for the source.")
    return {"key": key, "accumulate": True} if accumulate else {"key": key}, keep


def index_put(self, indices, values, accumulate=False):
    """This tensor with ``values`` (broadcast) written at ``indices`` (a tuple of index tensors, as ``x[indices]``);
    ``accumulate``: added there instead, repeated indices adding up, as ``torch.index_put``."""
    params, keep = _index_put_parts(self, indices, values, accumulate)  # (keep: index tensors made here live until queued)
    return _op("index_put", (self, values), params)


def index_put_(self, indices, values, accumulate=False):
    params, keep = _index_put_parts(self, indices, values, accumulate)
    return _op_into("index_put", self, (values,), params)


def _put(self, key, values, in_place=False, accumulate=False, check=None):
    """``x[key] = values`` out of place (or in place) for a key of the SDK's own (slices, ``...``); ``check``: the
    PyTorch call it serves, whose refusal of an index out of range the server gives (``Engine.index_put``)."""
    params, keep = _index_put_parts(self, key, values, accumulate, internal=True)
    if check is not None:
        params["check"] = check
    return _op_into("index_put", self, (values,), params) if in_place else _op("index_put", (self, values), params)


def _index_copy_key(self, dim, index, source, name):
    d = _wrap_dim(dim, self.ndim)
    index = _as_index(self, index)
    if index.ndim > 1:  # torch's checks, in its order
        raise errors.InvalidIndexError(f"{name}(): Index should have dimension 1 or 0 (got {index.ndim})")
    count = index.numel()
    if not source.ndim and count != 1:
        raise errors.InvalidIndexError(f"{name}(): When source is scalar, index should have one element (got {count})")
    if source.ndim != self.ndim and source.ndim and self.ndim:
        raise errors.InvalidIndexError(f"{name}(): When source and destination are not scalars, their dimensionality must match. "
                                       f"Source dimensionality ({source.ndim}), destination dimensionality ({self.ndim})")
    if index.dtype != int64:
        raise errors.InvalidArgumentError(f"{name}(): Expected a long tensor for index, but got {_TENSOR_TYPE_NAMES.get(index.dtype, index.dtype.name)}")
    if source.dtype != self.dtype and not _amp.state.active:  # (autocast promotes index_copy's inputs, as torch's)
        raise errors.InvalidArgumentError(f"{name}(): self and source expected to have the same dtype, but got (self) "
                                          f"{_TENSOR_TYPE_NAMES[self.dtype]} and (source) {_TENSOR_TYPE_NAMES[source.dtype]}")
    self_slice, source_slice = (tuple(x.shape[:d] + x.shape[d + 1:]) for x in (self, source))  # (a 0-d one's: ())
    if self_slice != source_slice:
        raise errors.InvalidArgumentError(f"{name}(): Source/destination tensor must have same slice shapes. Destination slice shape: "
                                          f"{' '.join(map(str, self_slice))} at dimension {d} and source slice shape: "
                                          f"{' '.join(map(str, source_slice))} at dimension 0.")
    if source.ndim and count != source.shape[d]:
        raise errors.InvalidIndexError(f"{name}(): Number of indices ({count}) should be equal to source.size(dim) ({source.shape[d]})")
    return (_lead(d) + (index.reshape(-1),)) if self.ndim else (index.reshape(-1),)


def index_copy(self, dim, index, source):
    """This tensor with ``source``'s slices along ``dim`` written at ``index``, as ``torch.index_copy``."""
    key = _index_copy_key(self, dim, index, source, "index_copy_")
    if not self.ndim:  # a 0-d tensor's one element (index 0)
        return _put(self.reshape(1), key, source.reshape(-1), check="index_copy_").reshape(())
    return _put(self, key, source, check="index_copy_")


def index_copy_(self, dim, index, source):
    key = _index_copy_key(self, dim, index, source, "index_copy_")
    if not self.ndim:
        _put(self.reshape(1), key, source.reshape(-1), in_place=True, check="index_copy_")
        return self
    return _put(self, key, source, in_place=True, check="index_copy_")


def _masked_scatter_parts(self, mask, source):
    if not isinstance(mask, Tensor) or mask.dtype != bool_:
        dtype = getattr(mask, "dtype", None)
        raise errors.InvalidArgumentError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                                          f"{_TENSOR_TYPE_NAMES.get(dtype, getattr(dtype, 'name', type(mask).__name__))}")
    if source.dtype != self.dtype:  # (torch's words, its missing space too)
        raise errors.InvalidArgumentError(f"masked_scatter: expected self and source to have same dtypes but got"
                                          f"{_TENSOR_TYPE_NAMES[self.dtype]} and {_TENSOR_TYPE_NAMES[source.dtype]}")
    mask = mask.expand(tuple(self.shape)) if tuple(mask.shape) != tuple(self.shape) else mask
    count = int(mask.sum().item())  # a sync point: how many of source's elements go in
    if count > source.numel():
        raise errors.InvalidArgumentError("Number of elements of source < number of ones in mask")
    return mask, source.reshape(-1)[:count]


def masked_scatter(self, mask, source):
    """This tensor with ``source``'s first elements written, in order, where ``mask`` holds, as ``torch.masked_scatter``
    (a sync point: the count of the mask's ones)."""
    mask, values = _masked_scatter_parts(self, mask, source)
    return self.index_put((mask,), values)


def masked_scatter_(self, mask, source):
    mask, values = _masked_scatter_parts(self, mask, source)
    return self.index_put_((mask,), values)


def _embedded(self, src, part_shape):
    """src, checked against the part of self it goes into, in self's dtype (the scatters cast it, as torch's)."""
    if tuple(src.shape) != tuple(part_shape):
        raise errors.InvalidArgumentError(f"expected src to have a size equal to the slice of self. src size = {_shape_str(src.shape)}, "
                                          f"slice size = {_shape_str(part_shape)}")
    return src if src.dtype == self.dtype else src.to(self.dtype)


def select_scatter(self, src, dim, index):
    """This tensor with ``src`` written into ``select(dim, index)``, as ``torch.select_scatter``."""
    d = _wrap_dim(dim, self.ndim)
    shape = tuple(self.shape)
    if not -shape[d] <= index < shape[d]:
        raise IndexError(f"select(): index {index} out of range for tensor of size {_shape_str(shape)} at dimension {d}")
    src = _embedded(self, src, shape[:d] + shape[d + 1 :])
    return _op("index_put", (self, src), {"key": IndexKey(list(_lead(d) + (int(index),)))})


def slice_scatter(self, src, dim=0, start=None, end=None, step=1):
    """This tensor with ``src`` written into ``dim``'s slice ``start:end:step``, as ``torch.slice_scatter``."""
    d = _wrap_dim(dim, self.ndim)
    key = _lead(d) + (slice(start, end, step),)
    shape = tuple(self.shape)
    src = _embedded(self, src, shape[:d] + (len(range(*key[-1].indices(shape[d]))),) + shape[d + 1 :])
    return _op("index_put", (self, src), {"key": IndexKey(list(key))})


def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
    """This tensor with ``src`` written into ``diagonal(offset, dim1, dim2)``, as ``torch.diagonal_scatter``."""
    n, shape = self.ndim, tuple(self.shape)
    d1, d2 = _wrap_dim(dim1, n), _wrap_dim(dim2, n)
    if d1 == d2:
        raise errors.InvalidArgumentError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    order = [d for d in range(n) if d not in (d1, d2)] + [d1, d2]
    rows_n, cols_n = shape[d1], shape[d2]
    length = max(0, min(rows_n, cols_n - offset) if offset >= 0 else min(rows_n + offset, cols_n))
    src = _embedded(self, src, tuple(shape[d] for d in order[:-2]) + (length,))
    rows = np.arange(max(-offset, 0), max(-offset, 0) + length)
    cols = np.arange(max(offset, 0), max(offset, 0) + length)
    moved = self.permute(order)
    written = _put(moved, (Ellipsis, rows, cols), src) if length else moved
    return written.permute(tuple(int(k) for k in np.argsort(order)))


def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
    """Each run of equal consecutive values (or slices along ``dim``) as one, as ``torch.unique_consecutive``; with
    ``return_inverse`` each element's run, with ``return_counts`` each run's length. Not differentiable."""
    with no_grad():
        x = self.detach()
        if dim is None:
            rows = x.reshape(-1, 1)
            inverse_shape = tuple(x.shape)
        else:
            d = _wrap_dim(dim, x.ndim)
            x = x.movedim(d, 0)
            rows = x.reshape(x.shape[0], -1) if x.shape[0] else x.reshape(0, 1)
            inverse_shape = (x.shape[0],)
        n = rows.shape[0]
        first = self._session.ones(min(n, 1), dtype=bool_)
        starts = first if n <= 1 else _cat((first, (rows[1:] != rows[:-1]).any(1)))
        values = (x.reshape(-1) if dim is None else x)[starts]
        if dim is not None:
            values = values.movedim(0, d)
        out = (values,)
        if return_inverse:
            out += ((starts.long().cumsum(0) - 1).reshape(inverse_shape),)
        if return_counts:
            where_starts = starts.nonzero().reshape(-1)
            out += (_cat((where_starts[1:], self._session.full((1,), n, dtype=int64))) - where_starts,)
    return out[0] if len(out) == 1 else out


def _cat(tensors):
    from .tensor import cat

    return cat(tensors)


def unravel_index(indices, shape):
    """The coordinates in ``shape`` of flat (C-order) ``indices``, one int64 tensor per dim, as ``torch.unravel_index``."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index(): argument 'indices' must be Tensor, not {type(indices).__name__}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {_torch_name(indices.dtype)}")
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(shape)))
    rest, coords = indices.long(), []
    for size in reversed(shape):
        coords.append(rest.remainder(size))
        rest = rest.floor_divide(size)
    return tuple(reversed(coords))


# --- dtypes ----------------------------------------------------------------------------------------------------------
def _torch_name(dtype):
    return "torch." + np.dtype(dtype).name


def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to, as ``torch.broadcast_shapes`` (a ``Size``); PyTorch's words
    for shapes that do not."""
    listed = [(int(s),) if isinstance(s, (int, np.integer)) else tuple(int(n) for n in s) for s in shapes]
    ndim = max((len(s) for s in listed), default=0)
    out = [1] * ndim
    for k, shape in enumerate(listed):
        for i in range(1, len(shape) + 1):
            n = shape[-i]
            if n < 0:
                raise errors.InvalidArgumentError(f"Trying to create tensor with negative dimension {n}: {list(shape)}")
            if out[-i] == 1:
                out[-i] = n
            elif n != 1 and n != out[-i]:
                raise errors.InvalidArgumentError(
                    f"Attempting to broadcast a dimension of length {n} at -{i}! Mismatching argument at index {k} had "
                    f"{tuple(shape) if len(shape) != 1 else '(' + str(shape[0]) + ',)'}; but expected shape should be broadcastable to {list(out)}")
    return Size(out)


def promote_types(type1, type2):
    """The smallest dtype both ``type1`` and ``type2`` convert to without loss of kind, as ``torch.promote_types``."""
    return dtypes.public(promote(as_dtype(type1), as_dtype(type2)))  # (float and complex meet as the complex of the wider precision; bfloat16 with float16: float32)


def can_cast(from_, to):
    """Whether PyTorch's casting rules allow ``from_`` into ``to``: never to a lower category (complex > float > integer > bool),
    as ``torch.can_cast``."""
    a, b = as_dtype(from_), as_dtype(to)
    return _CATEGORY[kind(a)] <= _CATEGORY[kind(b)]


def result_type(tensor1, tensor2):
    """The dtype an elementwise op of the two (tensors or numbers) computes in, as ``torch.result_type``."""
    return dtypes.public(_result_type(tensor1, tensor2))


def _result_type(tensor1, tensor2):
    operands = [x for x in (tensor1, tensor2)]
    tensors = [x for x in operands if isinstance(x, Tensor)]
    for x in operands:
        if not isinstance(x, (Tensor, bool, int, float, complex, np.bool_, np.integer, np.floating, np.complexfloating)):
            raise TypeError(f"result_type() received an invalid combination of arguments - got ({type(tensor1).__name__}, {type(tensor2).__name__})")
    if not tensors:  # two numbers: the wider kind's default dtype
        if any(isinstance(x, (complex, np.complexfloating)) for x in operands):
            return np.dtype(np.complex128) if defaults.current == np.float64 else np.dtype(np.complex64)
        if any(isinstance(x, (float, np.floating)) for x in operands):
            return defaults.current
        if all(isinstance(x, (bool, np.bool_)) for x in operands):
            return bool_
        return int64
    for x in tensors:
        x.dtype  # (known: the promotion rule reads _dtype and _shape)
        x.shape
    dtype = _elementwise([x for x in operands if not isinstance(x, (complex, np.complexfloating))], {})[1]
    if dtype.kind != "c" and any(isinstance(x, (complex, np.complexfloating)) for x in operands):  # a complex number: its complex
        wide = dtype == np.float64 or (dtype.kind != "f" and defaults.current == np.float64)
        dtype = np.dtype(np.complex128 if wide else np.complex64)
    return dtype


# --- metadata ----------------------------------------------------------------------------------------------------------
def _c_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _reshape_strides(shape, strides, new_shape):
    """The strides of a view of (shape, strides) as ``new_shape`` where one exists without a copy, else None (NumPy's
    and PyTorch's reshape then copy into C order)."""
    old = [(n, s) for n, s in zip(shape, strides) if n != 1]
    new_strides, i = [], 0
    chunks = []
    while i < len(old):  # the runs of old dims that are contiguous among themselves
        j, size = i, old[i][0]
        while j + 1 < len(old) and old[j][1] == old[j + 1][1] * old[j + 1][0]:
            j += 1
            size *= old[j][0]
        chunks.append((size, old[j][1]))
        i = j + 1
    chunks = iter(chunks)
    chunk = next(chunks, None)
    remaining = chunk[0] if chunk else 1
    for n in new_shape:
        if n == 1:
            new_strides.append(None)
            continue
        if chunk is None or remaining % n:
            return None
        remaining //= n
        new_strides.append(chunk[1] * remaining)
        if remaining == 1:
            chunk = next(chunks, None)
            remaining = chunk[0] if chunk else 1
    if chunk is not None:
        return None
    out, step = [], 1
    for n, s in zip(reversed(new_shape), reversed(new_strides)):  # a size-1 dim's stride, as PyTorch gives it
        out.append(step if s is None else s)
        step = (step if s is None else s) * n
    return tuple(reversed(out))


def can_view(x, sizes) -> bool:
    """Whether ``x.view(sizes)`` needs no copy, by x's strides as far as the SDK knows them (``stride()``). Sizes the
    elements cannot take count as viewable: ``reshape`` refuses them in its own words."""
    meta = _reshape((x,), {"shape": sizes})
    if meta is None:
        return True
    shape, strides = _strides_of(x)
    return 0 in shape or _reshape_strides(shape, strides, meta[0]) is not None


def _strides_of(x):
    """(shape, strides) as far as the SDK knows x's layout: views from the record ``_op`` keeps, else C order."""
    shape = tuple(x.shape)
    return shape, _layout_strides(shape, x._layout)


def _layout_strides(shape, layout):
    """The strides at the end of a chain of view records (walked, not recursed: a loop of views makes a long one)."""
    chain = []
    while layout is not None:
        chain.append((shape, layout))
        shape, layout = tuple(layout[2]), layout[3]
    strides = _c_strides(shape)
    for view_shape, (name, params, base_shape, _) in reversed(chain):
        strides = _view_strides(name, params, view_shape, tuple(base_shape), strides)
    return strides


def _view_strides(name, params, shape, base_shape, base_strides):
    """A view's strides from its base's, as PyTorch computes them for the view op ``name``."""
    if name == "transpose":
        strides = list(base_strides)
        a, b = params["dim0"] % max(len(strides), 1), params["dim1"] % max(len(strides), 1)
        if strides:
            strides[a], strides[b] = strides[b], strides[a]
        return tuple(strides)
    if name == "permute":
        dims = params["dims"]
        return tuple(base_strides[d % len(base_strides)] for d in dims)
    if name == "expand":
        lead = len(shape) - len(base_shape)
        return tuple(0 if k < lead or base_shape[k - lead] != shape[k] else base_strides[k - lead] for k in range(len(shape)))
    if name == "squeeze":
        dim = params.get("dim")
        dims = set(range(len(base_shape))) if dim is None else {d % max(len(base_shape), 1) for d in ((dim,) if isinstance(dim, int) else dim)}
        return tuple(s for k, (n, s) in enumerate(zip(base_shape, base_strides)) if not (k in dims and n == 1))
    if name == "unsqueeze":
        d = params["dim"] % (len(base_shape) + 1)
        new = base_strides[d] * base_shape[d] if d < len(base_shape) else 1
        return base_strides[:d] + (new,) + base_strides[d:]
    if name == "reshape":
        if base_strides == _c_strides(base_shape):
            return _c_strides(shape)
        strides = _reshape_strides(base_shape, base_strides, shape)
        return strides if strides is not None else _c_strides(shape)
    if name == "index":
        strides, k = [], 0
        parts = list(params)
        if Ellipsis in parts:
            at = parts.index(Ellipsis)
            parts[at : at + 1] = [_ALL] * (len(base_shape) - sum(p is not None for p in parts if p is not Ellipsis))
        for part in parts:
            if part is None:  # unsqueeze's stride, at the base dim that comes next (before its own slicing)
                strides.append(base_strides[k] * base_shape[k] if k < len(base_shape) else 1)
            elif isinstance(part, slice):
                strides.append(base_strides[k] * (part.step or 1))
                k += 1
            else:
                k += 1
        strides.extend(base_strides[k:])
        return tuple(strides)
    if name == "diagonal":
        n = len(base_shape)
        d1, d2 = params["dim1"] % n, params["dim2"] % n
        return tuple(s for k, s in enumerate(base_strides) if k not in (d1, d2)) + (base_strides[d1] + base_strides[d2],)
    if name == "unfold" and base_shape:
        d = params["dimension"] % len(base_shape)
        return base_strides[:d] + (base_strides[d] * params["step"],) + base_strides[d + 1 :] + (base_strides[d],)
    if name == "as_strided":
        return tuple(params["stride"])
    if name == "view_dtype" and shape == base_shape:
        return base_strides
    return _c_strides(shape)


def _layout_offset(shape, layout) -> int:
    """The element offset into its storage at the end of a chain of view records, as ``_layout_strides`` walks it."""
    chain = []
    while layout is not None:
        chain.append((shape, layout))
        shape, layout = tuple(layout[2]), layout[3]
    strides, offset = _c_strides(shape), 0
    for view_shape, (name, params, base_shape, _) in reversed(chain):
        offset = _view_offset(name, params, view_shape, tuple(base_shape), strides, offset)
        strides = _view_strides(name, params, view_shape, tuple(base_shape), strides)
    return offset


def _view_offset(name, params, shape, base_shape, base_strides, offset) -> int:
    """A view's storage offset from its base's: where its first element lies (PyTorch's, for the view op ``name``)."""
    if name == "index":
        parts, k = list(params), 0
        if Ellipsis in parts:
            at = parts.index(Ellipsis)
            parts[at : at + 1] = [_ALL] * (len(base_shape) - sum(p is not None for p in parts if p is not Ellipsis))
        for part in parts:
            if isinstance(part, slice):
                offset += part.indices(base_shape[k])[0] * base_strides[k]
                k += 1
            elif part is not None:  # an int
                offset += (part % base_shape[k]) * base_strides[k]
                k += 1
        return offset
    if name == "diagonal":
        n, shift = len(base_shape), params["offset"]
        return offset + (shift * base_strides[params["dim2"] % n] if shift >= 0 else -shift * base_strides[params["dim1"] % n])
    if name == "as_strided":  # (gradwire's is relative to the tensor it views)
        return offset + params.get("storage_offset", 0)
    if name == "view_dtype" and shape and base_shape and base_shape[-1]:  # counted in the new dtype's elements
        return offset * shape[-1] // base_shape[-1]
    return offset


def storage_offset(self) -> int:
    """Where the first element lies in its storage, in elements, as ``torch.Tensor.storage_offset``, as far as the SDK
    knows the layout (``stride()``'s views: basic indexing, ``narrow select diagonal``, ...); 0 for any other result."""
    return _layout_offset(tuple(self.shape), self._layout)


def stride(self, dim=None):
    """The step in elements between neighbours along each dim, as ``torch.Tensor.stride``, as far as the SDK knows
    the layout: a view (``transpose permute t T mT expand squeeze unsqueeze narrow``, basic indexing, a ``reshape``
    that needs no copy) has PyTorch's strides for it, computed from its base's; any other result, C order's (the
    server may hold an elementwise op of a transposed tensor in another order, as PyTorch would keep its input's:
    that is not reported)."""
    strides = _strides_of(self)[1]
    return strides if dim is None else strides[_wrap_dim(dim, len(strides))]


def is_contiguous(self, memory_format=None):
    """Whether the strides (``stride()``) are C order's, size-1 dims aside, as ``torch.Tensor.is_contiguous`` (the
    server holds every new tensor in C order: a memory format given is taken for that)."""
    return _laid_out_as(*_strides_of(self), "contiguous_format")


# the dims of each memory format from the innermost out (``channels_last``: C, then W, H, N)
_FORMAT_ORDERS = {"contiguous_format": None, "channels_last": (4, (1, 3, 2, 0)), "channels_last_3d": (5, (1, 4, 3, 2, 0))}


def _laid_out_as(shape, strides, format_name):
    """Whether the strides are those of ``format_name``'s dense layout, size-1 dims aside (PyTorch's test)."""
    if 0 in shape:
        return True
    rank_and_order = _FORMAT_ORDERS.get(format_name)
    if rank_and_order is None:
        order = tuple(reversed(range(len(shape))))
    elif len(shape) != rank_and_order[0]:
        return False
    else:
        order = rank_and_order[1]
    step = 1
    for d in order:
        if shape[d] != 1:
            if strides[d] != step:
                return False
            step *= shape[d]
    return True


def _outer_first(shape, strides, a, b):
    """-1 where dim ``a`` lies outside dim ``b`` in memory, 1 where inside, 0 where the strides cannot tell (PyTorch's
    order of dims for an elementwise output: a zero stride says nothing; equal strides, the longer dim outside)."""
    def at_least(x, y):  # (as PyTorch compares strides: a multiple counts as larger)
        return y == 0 or (x != 0 and (x >= y or x % y == 0))

    if strides[a] == 0 or strides[b] == 0:
        return 0
    if strides[a] == strides[b]:
        return 0 if at_least(shape[b], shape[a]) else 1
    return -1 if at_least(strides[b], strides[a]) else 1


def dim_order(self, *, ambiguity_check=False):
    """The dims from the outermost in memory to the innermost, by ``stride()``, as ``torch.Tensor.dim_order``;
    ``ambiguity_check``: True (or a list of memory formats the tensor must match exactly one of) refuses a tensor
    whose order is not unique (a size-1 dim, or two dims of one stride), in PyTorch's words."""
    if not isinstance(ambiguity_check, bool) and not (
            isinstance(ambiguity_check, list) and all(type(f).__name__ == "memory_format" for f in ambiguity_check)):
        raise TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
    shape, strides = _strides_of(self)
    formats = ambiguity_check if isinstance(ambiguity_check, list) else []
    several = any(a == b for a, b in zip(strides, strides[1:])) or 1 in shape
    if (ambiguity_check is not False and several
            and sum(_laid_out_as(shape, strides, str(f).removeprefix("torch.")) for f in formats) != 1):
        raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact one of the given memory formats.")
    n = len(shape)
    if n < 2:
        return tuple(range(n))
    dense, channels_last = _laid_out_as(shape, strides, "contiguous_format"), _laid_out_as(shape, strides, "channels_last")
    if dense != channels_last:
        return tuple(range(n)) if dense else (0, *range(2, n), 1)
    inner_first = list(reversed(range(n)))  # an insertion sort, innermost first, that leaves undecided pairs as they are
    for i in range(1, n):
        k = i
        for j in reversed(range(i)):
            order = _outer_first(shape, strides, inner_first[j], inner_first[k])
            if order > 0:
                inner_first[j], inner_first[k] = inner_first[k], inner_first[j]
                k = j
            elif order < 0:
                break
    if ambiguity_check is not False and any(_outer_first(shape, strides, a, b) != -1 for a, b in zip(inner_first, inner_first[1:])):
        raise RuntimeError("The tensor does not have unique dim order.")
    return tuple(reversed(inner_first))


def get_device(self):
    """-1 on a CPU server, the device's index (0) on a CUDA one, as ``torch.Tensor.get_device``."""
    return -1 if self._session.device == "cpu" else 0


# --- sampling in place -----------------------------------------------------------------------------------------------
_MANTISSA = {"float16": 11, "float32": 24, "float64": 53, "bfloat16": 8}


def random_(self, from_=0, to=None, *, generator=None):
    """Integers uniform in [from, to - 1] (``random_(to)``: from 0; ``random_()``: 0 to the largest integer the dtype
    holds exactly), from ``generator`` or the session's, written into this tensor, as ``torch.Tensor.random_``."""
    if to is None and from_ != 0:
        from_, to = 0, from_
    if to is None:
        dtype = self.dtype
        to = (2 ** _MANTISSA[dtype.name] + 1) if is_floating(dtype) else 2 if dtype == bool_ else int(np.iinfo(dtype).max) + 1
    if from_ >= to:
        raise errors.InvalidArgumentError(f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}")
    shape = tuple(self.shape)
    if to - from_ > 2**53:  # past float64's integers (randint scales a float64 sample): two draws of 31 and 32 bits
        high = self._session.randint(0, 2**31, shape, dtype=int64, generator=generator)
        low = self._session.randint(0, 2**32, shape, dtype=int64, generator=generator)
        bits = high * 2**32 + low  # uniform in [0, 2^63)
        samples = (bits if to - from_ == 2**63 else bits.remainder(to - from_)) + from_
    else:
        samples = self._session.randint(from_, to, shape, dtype=int64, generator=generator)
    return self.copy_(samples.to(self.dtype))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Samples whose log is normal(``mean``, ``std``), written into this tensor, as ``torch.Tensor.log_normal_``."""
    if std <= 0:
        raise errors.InvalidArgumentError(f"log_normal_ expects std > 0.0, but found std={std}")
    return self.copy_((self._session.randn(*self.shape, generator=generator, dtype=self.dtype) * std + mean).exp())


def geometric_(self, p, *, generator=None):
    """The trial (1, 2, ...) of the first success, each a success with probability ``p``, written into this tensor,
    as ``torch.Tensor.geometric_``: ceil(log(1 - u) / log(1 - p))."""
    if not 0 < p < 1:
        raise errors.InvalidArgumentError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    u = self._session.rand(*self.shape, generator=generator, dtype=self.dtype if is_floating(self.dtype) else defaults.current)
    return self.copy_(((1.0 - u).log() / math.log1p(-p)).ceil().clamp_min(1).to(self.dtype))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Cauchy samples, ``median + sigma * tan(pi * (u - 1/2))``, written into this tensor, as ``torch.Tensor.cauchy_``."""
    if sigma <= 0:
        raise errors.InvalidArgumentError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    u = self._session.rand(*self.shape, generator=generator, dtype=self.dtype)
    return self.copy_(((u - 0.5) * math.pi).tan() * sigma + median)


# --- hooks -------------------------------------------------------------------------------------------------------------
def register_post_accumulate_grad_hook(self, hook):
    """``hook(tensor)`` after each backward pass has accumulated into this leaf's ``.grad`` (not ``gw.grad``, which
    fills no ``.grad``), as ``torch.Tensor.register_post_accumulate_grad_hook``. Returns a handle with ``remove()``."""
    if not self._requires_grad:
        raise errors.FailedPreconditionError("cannot register a hook on a tensor that doesn't require gradient")
    if not self._is_leaf:
        raise errors.FailedPreconditionError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    from .utils.hooks import RemovableHandle

    if self._post_hooks is None:
        self._post_hooks = {}
    return RemovableHandle(self._post_hooks, hook)


_METHODS = {
    "ravel": ravel, "select": select, "tensor_split": tensor_split, "split_with_sizes": split_with_sizes, "rot90": rot90,
    "fliplr": fliplr, "flipud": flipud, "diagflat": diagflat, "sum_to_size": sum_to_size, "unfold": unfold, "unflatten": unflatten,
    "hsplit": _directional_split("hsplit", 1, 1), "vsplit": _directional_split("vsplit", 0, 2), "dsplit": _directional_split("dsplit", 2, 3),
    "unsqueeze_": unsqueeze_, "squeeze_": squeeze_, "t_": t_, "transpose_": transpose_, "swapaxes_": transpose_, "swapdims_": transpose_,
    "detach_": detach_, "tril_": tril_, "triu_": triu_,
    "scatter_reduce": scatter_reduce, "scatter_reduce_": scatter_reduce_, "index_put": index_put, "index_put_": index_put_,
    "index_copy": index_copy, "index_copy_": index_copy_, "masked_scatter": masked_scatter, "masked_scatter_": masked_scatter_,
    "select_scatter": select_scatter, "slice_scatter": slice_scatter, "diagonal_scatter": diagonal_scatter,
    "unique_consecutive": unique_consecutive,
    "stride": stride, "storage_offset": storage_offset, "is_contiguous": is_contiguous, "dim_order": dim_order, "get_device": get_device, "ndimension": lambda self: self.ndim,
    "random_": random_, "log_normal_": log_normal_, "geometric_": geometric_, "cauchy_": cauchy_,
    "register_post_accumulate_grad_hook": register_post_accumulate_grad_hook,
}
for _name, _method in _METHODS.items():
    if _method.__name__ == "<lambda>":
        _method.__name__ = _name
        _method.__doc__ = "The number of dims, as ``torch.Tensor.ndimension``."
    setattr(Tensor, _name, _method)
Tensor.nbytes = property(lambda self: self.numel() * self.dtype.itemsize, doc="numel() * itemsize, as ``torch.Tensor.nbytes``.")
Tensor.itemsize = property(lambda self: self.dtype.itemsize, doc="The bytes of one element, as ``torch.Tensor.itemsize``.")

# torch.ravel(x), torch.select(x, 0, 1), ...: the methods of their first argument
_TORCH_LEVEL = ("ravel", "select", "tensor_split", "hsplit", "vsplit", "dsplit", "split_with_sizes", "rot90", "fliplr", "flipud", "diagflat",
                "unflatten", "scatter_reduce", "index_put", "index_put_", "index_copy", "masked_scatter", "select_scatter", "slice_scatter",
                "diagonal_scatter", "unique_consecutive", "detach_", "get_device",
                # torch's in-place functions of the ops (torch.sigmoid_(x) is x.sigmoid_())
                "abs_", "acos_", "asin_", "atan_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "cos_", "cosh_", "erf_", "erfc_",
                "exp2_", "exp_", "expm1_", "fill_", "floor_", "i0_", "log10_", "log1p_", "log2_", "log_", "neg_", "reciprocal_",
                "round_", "rsqrt_", "sigmoid_", "sin_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "zero_")
FUNCTIONS.update({name: _function(name) for name in _TORCH_LEVEL})


def _slice(input, dim=0, start=None, end=None, step=1):
    return input[(slice(None),) * (dim % max(input.ndim, 1)) + (slice(start, end, step),)]


# torch's copying twins of its view ops (torch.transpose_copy(x, 0, 1)): the view's values in a tensor of their own
_VIEWS_COPIED = {"alias": lambda input: input, "slice": _slice, "detach": Tensor.detach,
                 "expand": lambda input, size, *, implicit=False: input.expand(size)}


def _copy_of(view):
    def function(input, *args, out=None, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{view}_copy(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        made = _VIEWS_COPIED[view] if view in _VIEWS_COPIED else FUNCTIONS[view] if view in FUNCTIONS else getattr(Tensor, view)
        result = made(input, *args, **kwargs)
        if isinstance(result, (tuple, list)):  # split_copy, unbind_copy: a tensor of its own each
            copies = [part.clone() for part in result]
            return copies if out is None else [_written_out(f"{view}_copy", part, o) for part, o in zip(copies, out, strict=True)]
        return result.clone() if out is None else _written_out(f"{view}_copy", result.clone(), out)

    function.__name__ = f"{view}_copy"
    function.__doc__ = f"``torch.{view}_copy``: the values of ``torch.{view}`` (a view) in a tensor of their own."
    return function


FUNCTIONS.update({f"{view}_copy": _copy_of(view) for view in (
    "alias", "as_strided", "detach", "diagonal", "expand", "permute", "select", "slice", "split", "split_with_sizes", "squeeze", "t",
    "transpose", "unbind", "unfold", "unsqueeze", "view", "view_as_real", "view_as_complex")})
