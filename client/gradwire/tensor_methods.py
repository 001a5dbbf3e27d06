"""The rest of ``torch.Tensor``'s methods: compositions of the SDK's ops (their gradients come with them), the bit
shifts (ops of their own), and what a remote tensor answers for PyTorch's memory methods (``pin_memory``,
``share_memory_``, ``is_shared``): the tensor lives on the server, in memory this process does not own."""

from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np

from . import errors
from .grad_mode import no_grad
from .nn import functional as F
from .shaping import _put
from .tensor import _OPERANDS, FUNCTIONS, _TORCH_TYPE_NAMES, _check_index_source, Tensor, _function, _op, _sizes, _wrap_dim, cat, int64, placed, where
from .shapes import promote


def broadcast_to(self, size):
    """This tensor expanded to ``size`` (a view), as ``torch.broadcast_to``."""
    return self.expand(*size) if isinstance(size, (tuple, list)) else self.expand(size)


def _where(self, condition, y):
    """``self`` where ``condition`` holds, else ``y``: ``torch.where(condition, self, y)``."""
    return where(condition, self, y)


def hardshrink(self, lambd=0.5):
    return F.hardshrink(self, lambd)


def prelu(self, weight):
    return F.prelu(self, weight)


def _diagonal_mask(self, wrap):
    if self.ndim < 2:
        raise errors.InvalidArgumentError("dimensions must larger than 1")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise errors.InvalidArgumentError("all dimensions of input must be of equal length")
    mask = np.zeros(self.shape, dtype=bool)
    np.fill_diagonal(mask, True, wrap=wrap)  # (PyTorch's rule for tall matrices with wrap: every (ncols + 1)th row starts again)
    return self._session.tensor(mask)


def fill_diagonal_(self, fill_value, wrap=False):
    """The main diagonal set to ``fill_value``, in place (all dims of equal length beyond 2-D; a tall matrix with
    ``wrap`` starts the diagonal again after each N+1 rows), as ``torch.Tensor.fill_diagonal_``."""
    return self.masked_fill_(_diagonal_mask(self, wrap), fill_value)


def _index_reduce_args(self, dim, index, source, reduce):
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise errors.InvalidArgumentError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    dim = _wrap_dim(dim, max(self.ndim, 1))
    index = index if isinstance(index, Tensor) else self._session.tensor(np.asarray(index, dtype=np.int64))
    _check_index_source(self, dim if self.ndim else 0, index, source, "index_reduce_")
    shape = [1] * source.ndim
    if source.ndim:
        shape[dim] = -1
    return dim, index.reshape(shape).expand(*source.shape) if source.ndim else index.reshape(()), source


def index_reduce(self, dim, index, source, reduce, *, include_self=True):
    """``source``'s slices along ``dim`` reduced (``prod``, ``mean``, ``amax``, ``amin``) into this tensor's at ``index``
    (its own values among them unless ``include_self=False``), as ``torch.Tensor.index_reduce``: ``scatter_reduce``
    with the index spread over ``source``'s other dims."""
    dim, index, source = _index_reduce_args(self, dim, index, source, reduce)
    if not self.ndim:  # a 0-d tensor's one element (index 0)
        return self.reshape(1).scatter_reduce(0, index.reshape(1), source.reshape(1), reduce, include_self=include_self).reshape(())
    return self.scatter_reduce(dim, index, source, reduce, include_self=include_self)


def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    dim, index, source = _index_reduce_args(self, dim, index, source, reduce)
    if not self.ndim:
        self.reshape(1).scatter_reduce_(0, index.reshape(1), source.reshape(1), reduce, include_self=include_self)
        return self
    return self.scatter_reduce_(dim, index, source, reduce, include_self=include_self)


def put(self, index, source, accumulate=False):
    """This tensor with ``source``'s elements at ``index`` of it read as 1-D (added there with ``accumulate``), as
    ``torch.Tensor.put``."""
    index = index if isinstance(index, Tensor) else self._session.tensor(np.asarray(index, dtype=np.int64))
    if index.dtype != int64:
        raise errors.InvalidArgumentError(f"put_(): Expected a long tensor for index, but got {_TORCH_TYPE_NAMES.get(index.dtype, index.dtype.name)}")
    if index.numel() != source.numel():
        raise errors.InvalidArgumentError(
            f"put_(): Expected source and index to have the same number of elements, but got source.numel() = {source.numel()}, "
            f"index.numel() = {index.numel()}"
        )
    flat = self.reshape(-1)
    return _put(flat, (index.reshape(-1),), source.reshape(-1), accumulate=accumulate, check="put_").reshape(self.shape)


def put_(self, index, source, accumulate=False):
    result = put(self, index, source, accumulate)
    return self.copy_(result)


def _shift_operands(name, *operands):
    dtypes = []
    for x in operands:
        if not isinstance(x, _OPERANDS):
            return NotImplemented
        dtype = x._dtype if isinstance(x, Tensor) else getattr(x, "dtype", np.dtype("float32") if isinstance(x, float) else None)
        dtypes.append(np.dtype(bool) if isinstance(x, bool) else dtype)
    floats = [d for d in dtypes if d is not None and d.kind == "f"]
    if floats:  # PyTorch names the dtype the operands promote to (a Python float: the tensor's, if a float)
        dtype = promote(*floats) if len(floats) == 2 else floats[0]
        raise errors.UnimplementedError(f'"{name}" not implemented for \'{_TORCH_TYPE_NAMES.get(dtype, dtype.name)}\'')
    if all(dtype == np.bool_ for dtype in dtypes):  # bool by bool: PyTorch has no such kernel
        raise errors.UnimplementedError(f'"{name}" not implemented for \'Bool\'')
    return None


def _shift(op, short, reflected=False, inplace=False):
    def method(self, other):
        if _shift_operands(short + "_cpu", self, other) is NotImplemented:  # (PyTorch's words, its CPU kernel's name)
            if op.startswith("__"):
                return NotImplemented
            raise TypeError(f"{op}(): expected a Tensor, a NumPy array or a number, got {type(other).__name__}")
        if inplace:
            return self.copy_(_op(name, (self, other)))
        return _op(name, (other, self) if reflected else (self, other))

    name = "bitwise_left_shift" if short == "lshift" else "bitwise_right_shift"
    method.__name__ = op
    method.__doc__ = f"``{op}``: each element shifted by the other's count of bits, as PyTorch's (integers only; a count below 0 " \
                     "or of the width or more gives 0, or -1 shifting a negative number right)."
    return method


def new(self, *args, **kwargs):
    """PyTorch's legacy constructor: ``x.new(2, 3)`` (sizes: uninitialized, zeros here), ``x.new(data)`` (a list, an
    array), ``x.new()`` (empty); this tensor's dtype and session."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)) and not _is_size(args[0]):
        return self.new_tensor(args[0] if not isinstance(args[0], Tensor) else args[0].detach())
    return self.new_empty(*(_sizes(args) if args else (0,)), **kwargs)


def _is_size(value):
    """A ``Size`` (gradwire's or torch's): sizes, where a plain tuple or list is data."""
    return isinstance(value, tuple) and type(value).__name__ == "Size"


@placed
def new_empty_strided(self, size, stride, dtype=None, requires_grad=False):
    """A new tensor of ``size`` (zeros: no uninitialized memory); gradwire's tensors are laid out by the server, and the
    ``stride`` asked for is not kept."""
    return self.new_empty(*size, dtype=dtype, requires_grad=requires_grad)


def resize_(self, *sizes, memory_format=None):
    """This tensor with ``sizes``, in place, as ``torch.Tensor.resize_``: its elements in order as far as they go (the
    same number: a reshape), new ones zeros (PyTorch's are uninitialized). Refused on a tensor that requires grad, as
    PyTorch refuses, and (gradwire) on a view or a tensor with views: the server gives it new memory."""
    shape = _sizes(sizes)
    if self._requires_grad:
        raise errors.FailedPreconditionError("cannot resize variables that require grad")
    if any(s < 0 for s in shape):
        raise errors.InvalidArgumentError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    if self._view_of is not None or self._views:
        raise errors.UnimplementedError("resize_: gradwire resizes a tensor into new memory on the server, which its views would not see")
    n = int(np.prod(shape))
    with no_grad():
        flat = self.reshape(-1)
        if n <= flat.numel():
            resized = flat[:n].clone().reshape(shape)
        else:
            resized = flat.new_zeros(n)
            resized[: flat.numel()] = flat
            resized = resized.reshape(shape)
    self._handle, resized._handle = resized._handle, self._handle  # (resized releases the old handle)
    self._shape = resized._shape
    return self


def resize_as_(self, other, memory_format=None):
    return resize_(self, *other.shape)


def resize(self, *sizes):
    """Deprecated (as in PyTorch): this tensor's elements in ``sizes``, which must hold as many (autograd's resize)."""
    warnings.warn("non-inplace resize is deprecated", stacklevel=2)
    return _autograd_resize(self, _sizes(sizes))


def resize_as(self, tensor):
    """Deprecated (as in PyTorch): ``resize`` to ``tensor``'s size."""
    warnings.warn("non-inplace resize_as is deprecated", stacklevel=2)
    return _autograd_resize(self, tuple(tensor.shape))


def _autograd_resize(self, shape):
    count, numel = int(np.prod(shape)), self.numel()
    if count != numel:
        raise errors.InvalidArgumentError(
            f"requested resize to {'x'.join(map(str, shape))} ({count} elements in total), but the given tensor has a size of "
            f"{'x'.join(map(str, self.shape))} ({numel} elements). autograd's resize can only change the shape of a given tensor, "
            "while preserving the number of elements. ")
    return self.reshape(shape)


def as_strided_scatter(self, src, size, stride, storage_offset=None):
    """A copy of this tensor with ``src`` written where ``as_strided(size, stride, storage_offset)`` reads, as
    ``torch.as_strided_scatter``. The gradient reaching this tensor is zero where ``src`` was written (PyTorch 2.13's
    is the other way round, zero everywhere else: its own gradcheck fails)."""
    out = self.clone()
    out.as_strided(size, stride, storage_offset).copy_(src)
    return out


def module_load(self, other, assign=False):
    """What ``load_state_dict`` swaps in for this parameter or buffer (torch's swap path): ``other`` detached with
    ``assign``, else this tensor with ``other`` copied in, detached."""
    return other.detach() if assign else self.copy_(other).detach()


def narrow_copy(self, dim, start, length):
    """``narrow``, copied (not a view), as ``torch.Tensor.narrow_copy``."""
    return self.narrow(dim, start, length).clone()


def unsafe_chunk(self, chunks, dim=0):
    """``chunk`` (PyTorch's ``unsafe_`` form skips checks of later in-place changes; gradwire's views are plain)."""
    return self.chunk(chunks, dim)


def unsafe_split(self, split_size, dim=0):
    return self.split(split_size, dim)


def unsafe_split_with_sizes(self, split_sizes, dim=0):
    return self.split(list(split_sizes), dim)


def pin_memory(self, device=None):
    """The tensor itself: it lives on the server (nothing in this process to pin)."""
    return self


def is_pinned(self, device=None) -> bool:
    """False: the tensor's memory is the server's, not this process's."""
    return False


def share_memory_(self):
    """The tensor itself: it lives on the server already, where every process that holds the session reaches it."""
    return self


def is_shared(self) -> bool:
    """True: the tensor's memory is the server's, reached by whoever holds the session (as PyTorch says of CUDA tensors)."""
    return True


def _fill(input, value):
    """``torch.fill(input, value)``: a tensor of input's shape and dtype, every element ``value`` (a number or a 0-d
    tensor, whose gradient is the sum of the output's)."""
    return input.clone().fill_(value)


def to_dense(self, dtype=None, *, masked_grad=None):
    """The tensor itself (every gradwire tensor is dense), or ``to(dtype)``, as ``torch.Tensor.to_dense`` of a strided one."""
    return self if dtype is None else self.to(dtype)


def nonzero_static(self, *, size, fill_value=-1):
    """``nonzero()`` cut or padded to ``size`` rows (the padding rows all ``fill_value``), as ``torch.nonzero_static``:
    its shape is known before its values."""
    if size < 0:
        raise errors.InvalidArgumentError("nonzero_static: 'size' must be an non-negative integer")
    found = self.nonzero()
    padding = self._session.full((size, self.ndim), fill_value, dtype=found.dtype)
    return cat((found, padding))[:size]


def is_inference(self) -> bool:
    """False: ``inference_mode`` is ``no_grad`` here and makes ordinary tensors."""
    return False


def _download_for(self, what):
    if self._requires_grad:
        raise errors.FailedPreconditionError(f"Can't call {what}() on Variable that requires grad. Use var.detach().{what}() instead.")
    return self.numpy()


def apply_(self, callable):
    """``callable`` on each element, in place, as ``torch.Tensor.apply_`` (PyTorch's: CPU tensors only). Python runs
    here: the values come down, are mapped and go back up (a sync point)."""
    values = _download_for(self, "apply_")
    mapped = np.vectorize(callable, otypes=[values.dtype])(values) if values.size else values
    with no_grad():
        self.copy_(self._session.tensor(np.asarray(mapped, dtype=values.dtype).reshape(values.shape)))
    return self


def map_(self, tensor, callable):
    """``callable(a, b)`` on each element of this tensor and of ``tensor`` (broadcast to it), in place, as
    ``torch.Tensor.map_``: as ``apply_``, a download and an upload (a sync point)."""
    values = _download_for(self, "map_")
    other = tensor.detach().numpy() if isinstance(tensor, Tensor) else np.asarray(tensor)
    other = np.broadcast_to(other, values.shape)
    mapped = np.vectorize(callable, otypes=[values.dtype])(values, other) if values.size else values
    with no_grad():
        self.copy_(self._session.tensor(np.asarray(mapped, dtype=values.dtype).reshape(values.shape)))
    return self


def map2_(self, x, y, callable):
    """``callable(a, b, c)`` on each element of this tensor, ``x`` and ``y`` (broadcast to it), in place, as
    ``torch.Tensor.map2_``: as ``map_``, a download and an upload (a sync point)."""
    values = _download_for(self, "map2_")
    others = [np.broadcast_to(t.detach().numpy() if isinstance(t, Tensor) else np.asarray(t), values.shape) for t in (x, y)]
    mapped = np.vectorize(callable, otypes=[values.dtype])(values, *others) if values.size else values
    with no_grad():
        self.copy_(self._session.tensor(np.asarray(mapped, dtype=values.dtype).reshape(values.shape)))
    return self


def _output_nr(self) -> int:
    """0: each output of an op has a node of its own here (``grad_fn``), so each is its node's output 0."""
    return 0


_METHODS = {
    "broadcast_to": broadcast_to, "where": _where, "hardshrink": hardshrink, "prelu": prelu, "fill_diagonal_": fill_diagonal_,
    "index_reduce": index_reduce, "index_reduce_": index_reduce_, "put": put, "put_": put_,
    "bitwise_left_shift": _shift("bitwise_left_shift", "lshift"), "bitwise_right_shift": _shift("bitwise_right_shift", "rshift"),
    "bitwise_left_shift_": _shift("bitwise_left_shift_", "lshift", inplace=True),
    "bitwise_right_shift_": _shift("bitwise_right_shift_", "rshift", inplace=True),
    "__lshift__": _shift("__lshift__", "lshift"), "__rshift__": _shift("__rshift__", "rshift"),
    "__rlshift__": _shift("__rlshift__", "lshift", reflected=True), "__rrshift__": _shift("__rrshift__", "rshift", reflected=True),
    "__ilshift__": _shift("__ilshift__", "lshift", inplace=True), "__irshift__": _shift("__irshift__", "rshift", inplace=True),
    # x //= y, x %= y, x **= y: in place, as torch's (without them Python would rebind x to a new tensor)
    "__ifloordiv__": lambda self, other: self.floor_divide_(other), "__imod__": lambda self, other: self.remainder_(other),
    "__ipow__": lambda self, other: self.pow_(other),
    "__reversed__": lambda self: self if self.ndim == 0 else self.flip(0),  # reversed(x): a tensor, as torch's
    "new": new, "new_empty_strided": new_empty_strided, "resize_": resize_, "resize_as_": resize_as_, "narrow_copy": narrow_copy,
    "resize": resize, "resize_as": resize_as, "as_strided_scatter": as_strided_scatter, "module_load": module_load,
    "unsafe_chunk": unsafe_chunk, "unsafe_split": unsafe_split, "unsafe_split_with_sizes": unsafe_split_with_sizes,
    "pin_memory": pin_memory, "is_pinned": is_pinned, "share_memory_": share_memory_, "is_shared": is_shared, "is_inference": is_inference,
    "nonzero_static": nonzero_static, "to_dense": to_dense,
    "apply_": apply_, "map_": map_, "map2_": map2_,
}
for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)
Tensor.output_nr = property(_output_nr, doc=_output_nr.__doc__)

_TORCH_LEVEL = ("index_reduce", "bitwise_left_shift", "bitwise_right_shift", "narrow_copy", "unsafe_chunk", "unsafe_split",
                "unsafe_split_with_sizes", "resize_as_", "is_inference", "nonzero_static", "put", "as_strided_scatter")
FUNCTIONS.update({name: _function(name) for name in _TORCH_LEVEL})
FUNCTIONS.update(fill=_fill)


# --- NumPy's names for dim and keepdim (axis, keepdims), which PyTorch's bound methods and functions take too ----


def _with_numpy_names(method):
    @functools.wraps(method)
    def with_numpy_names(*args, **kwargs):
        if "axis" in kwargs:
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return method(*args, **kwargs)

    return with_numpy_names


def _takes_dim(function) -> bool:
    try:
        return "dim" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


for _name, _method in list(vars(Tensor).items()):
    if not _name.startswith("_") and inspect.isfunction(_method) and (_name in ("max", "min") or _takes_dim(_method)):
        setattr(Tensor, _name, _with_numpy_names(_method))
