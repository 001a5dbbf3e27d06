"""``Tensor``: a handle to a tensor held by the server, with PyTorch's API.

An op on a Tensor queues a command and returns a new handle at once; values
come back only at sync points (``numpy()``, ``item()``, ``tolist()``, ``bool()``).
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
import weakref
from collections import namedtuple

import numpy as np

from . import floats
from .floats import is_floating, is_inexact
from . import defaults, dtypes, errors
from .amp import autocast_mode as _amp
from .grad_mode import is_grad_enabled, no_grad
from . import printing
from .printing import tensor_repr
from .shapes import broadcast2, explicit_einsum, index_shape, infer, promote
from .wire import Handle, IndexKey, wide_int

float16, float32, float64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
int32, int64, bool_ = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.bool_)
uint8, int8, int16 = np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.int16)
complex64, complex128 = np.dtype(np.complex64), np.dtype(np.complex128)
_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32", "short": "int16",
            "cfloat": "complex64", "cdouble": "complex128"}
_SUPPORTED = {float16, float32, float64, uint8, int8, int16, int32, int64, bool_, complex64, complex128}
bfloat16 = floats.bfloat16  # ml_dtypes' (None where it is not installed)
if bfloat16 is not None:
    _SUPPORTED.add(bfloat16)

max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])
sort_result = namedtuple("sort", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue", ["values", "indices"])
median_result = namedtuple("median", ["values", "indices"])
mode_result = namedtuple("mode", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])
cummax_result = namedtuple("cummax", ["values", "indices"])
cummin_result = namedtuple("cummin", ["values", "indices"])
slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
frexp_result = namedtuple("frexp", ["mantissa", "exponent"])
nanmedian_result = namedtuple("nanmedian", ["values", "indices"])
aminmax_result = namedtuple("aminmax", ["min", "max"])
histogram_result = namedtuple("histogram", ["hist", "bin_edges"])
histogramdd_result = namedtuple("histogramdd", ["hist", "bin_edges"])


def as_dtype(dtype) -> np.dtype:
    """Read a dtype: a NumPy dtype or type (``np.float64``), a name (``"float64"``) or an SDK alias (``gw.float64``)."""
    if isinstance(dtype, str):
        dtype = _ALIASES.get(dtype.removeprefix("torch."), dtype.removeprefix("torch."))
    try:
        parsed = np.dtype(dtype)
    except TypeError:
        parsed = None
    if parsed not in _SUPPORTED:
        names = ", ".join(sorted(d.name for d in _SUPPORTED))
        raise errors.InvalidArgumentError(f"unsupported dtype {dtype!r}; supported: {names}")
    return parsed


class Size(tuple):
    """A tensor's shape, a tuple as ``torch.Size`` is: ``numel()``, and printed as PyTorch prints it."""

    def numel(self) -> int:
        return math.prod(self)

    def __getitem__(self, key):
        item = tuple.__getitem__(self, key)
        return Size(item) if isinstance(key, slice) else item

    def __add__(self, other):
        if not isinstance(other, tuple):
            raise TypeError(f"can only concatenate tuple (not {type(other).__name__}) to torch.Size")
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __mul__(self, count):
        return Size(tuple.__mul__(self, count))

    __rmul__ = __mul__

    def __repr__(self):
        return f"torch.Size({list(self)})"


class device:
    """``torch.device``: a device type (``"cpu"`` or ``"cuda"``) and an optional index. A gradwire tensor stays on its
    server's device, chosen at ``connect``: a device given to ``to()`` is checked, and nothing moves."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        kind, _, number = str(type).partition(":")
        if kind not in ("cpu", "cuda") or (number and not number.isdigit()):
            raise errors.InvalidArgumentError(f"Expected one of cpu, cuda device type at start of device string: {type}")
        self.type, self.index = kind, int(number) if number else index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except errors.GradwireError:
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


class layout:
    """``torch.layout``: ``gw.strided`` is the one layout gradwire's tensors have (``x.layout``)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


class memory_format:
    """``torch.memory_format``: ``gw.contiguous_format``, ``preserve_format``, ``channels_last`` and
    ``channels_last_3d``, accepted where PyTorch takes one; the server lays out every new tensor in C order."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


_Layout, _MemoryFormat = layout, memory_format  # the classes, where parameters of their names hide them
strided = layout("strided")
contiguous_format, preserve_format, channels_last, channels_last_3d = map(
    memory_format, ("contiguous_format", "preserve_format", "channels_last", "channels_last_3d"))


def _check_placement(device=None, layout=None, memory_format=None):
    """PyTorch's placement keywords, checked: a device (the tensor is made on its session's device all the same, as
    ``to()`` leaves it there), the strided layout, a memory format."""
    if device is not None:
        _device_type(device)
    if layout is not None and not isinstance(layout, _Layout):
        raise TypeError(f"argument 'layout' must be torch.layout, not {type(layout).__name__}")
    if layout is not None and layout is not strided:
        raise errors.InvalidArgumentError(f"gradwire tensors have the strided layout only, not {layout!r}")
    if memory_format is not None and not isinstance(memory_format, _MemoryFormat):
        raise TypeError(f"argument 'memory_format' must be torch.memory_format, not {type(memory_format).__name__}")


def placed(factory):
    """``factory`` taking PyTorch's factory keywords too: ``device``, ``layout`` and ``memory_format`` (checked, see
    ``_check_placement``) and ``pin_memory`` (nothing to pin: the values live on the server)."""

    @functools.wraps(factory)
    def with_placement(*args, device=None, layout=None, pin_memory=False, memory_format=None, **kwargs):
        _check_placement(device, layout, memory_format)
        return factory(*args, **kwargs)

    return with_placement


def _device_type(value):
    """``"cpu"`` or ``"cuda"`` from a device or its name; an error for anything else."""
    return device(value).type


_DEVICE_TYPES = frozenset(("cpu", "cuda", "mps", "xpu", "hip", "xla", "meta", "ipu", "hpu", "mtia"))  # PyTorch's, to tell from dtypes


def _is_device(value):
    return isinstance(value, device) or (isinstance(value, str) and value.split(":")[0] in _DEVICE_TYPES)


def _to_dtype(args, dtype=None, device=None):
    """The dtype that ``to(*args, dtype=, device=)`` asks for (None: none), its device checked: a tensor stays on its
    server's device, so a device only has to be one."""
    for arg in args:
        if _is_device(arg):
            device = arg
        else:
            dtype = arg
    if device is not None:
        _device_type(device)
    return dtype


class GradFn:
    """What PyTorch calls a ``grad_fn``: the backward node that made a tensor (``gw.autograd.graph.Node``).

    Each output of an op has a node of its own here (PyTorch's multi-output ops share one): a hook on it sees that
    output's gradient. A custom Function's outputs share their function's node (its ctx, hooks and metadata).
    """

    __slots__ = ("_tensor", "_name", "_inputs", "_ctx", "_metadata")
    _classes = {}  # name -> the subclass of that name, made on demand: type(node).__name__ is the node's name, as PyTorch's

    @staticmethod
    def _named(node):
        """``node``, as an instance of the subclass named for it once its name is known here (a custom Function's, or
        after ``name()``, ``print`` or ``repr``): reading ``grad_fn`` stays free of a sync point (``if
        y.grad_fn is None`` is common), so until then ``type(node)`` is ``GradFn``."""
        name = node._name
        if name is not None and type(node) is GradFn:
            cls = GradFn._classes.get(name)
            if cls is None:
                cls = GradFn._classes[name] = type(name, (GradFn,), {"__slots__": (), "__qualname__": name, "__module__": GradFn.__module__})
            node.__class__ = cls
        return node

    def __init__(self, tensor, name=None, inputs=None, ctx=None):
        self._tensor = tensor
        self._name = name
        self._inputs = inputs  # where not the tensor's parents in the client's graph (a custom Function's inputs)
        self._ctx = ctx  # a custom Function's ctx: its attributes read through the node, as PyTorch's
        self._metadata = None

    def __getattr__(self, name):
        ctx = GradFn._ctx.__get__(self)
        if ctx is not None and not name.startswith("__"):
            return getattr(ctx, name)
        raise AttributeError(f"'{self.name()}' object has no attribute '{name}'")

    def name(self) -> str:
        """The node's name, as PyTorch names it (``MulBackward0``); asks the server once."""
        if self._name is None:
            if not self._tensor._handle:  # an earlier version of a tensor changed in place: the server keeps no handle to it
                return "UnknownBackward (an earlier version of a tensor changed in place)"
            self._name = self._tensor._session._fetch(self._tensor, meta_only=True).grad_fn
            GradFn._named(self)
        return self._name

    @property
    def next_functions(self):
        """``((node, 0), ...)`` per input: a ``GradFn``, an ``AccumulateGrad`` for leaves, or None."""
        out = []
        for x in self._input_tensors():
            if not isinstance(x, Tensor) or not x._requires_grad:
                out.append((None, 0))
            elif x._is_leaf:
                out.append((AccumulateGrad.of(x), 0))
            else:
                out.append((x.grad_fn, 0))
        return tuple(out)

    def _input_tensors(self):
        return (self._inputs if self._inputs is not None else self._tensor._parents) or ()

    @property
    def metadata(self) -> dict:
        """A dict of the user's own, kept with the node."""
        if self._ctx is not None:
            return self._ctx._node_metadata
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    @property
    def requires_grad(self) -> bool:
        return True  # (a node exists only where a gradient flows)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` when a backward pass reaches the node, before it computes its inputs' gradients (after
        the output tensor's own hooks); what it returns (not None: a tuple) is the gradient from then on."""
        if self._ctx is not None:
            return self._ctx._node_hooks("pre", fn)
        def hook(grad):
            return _node_hook_result(fn, fn((grad,)), (grad,))

        hook._order = 1  # after the tensor's hooks, before a custom Function's (reads_final)
        return self._tensor.register_hook(hook)

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` once the node has its inputs' gradients (None for an input that needs none).

        What it returns (not None: a tuple) replaces ``grad_inputs``. On an op's node gradwire computes that op's
        gradients on the server as part of the pass (a second, small gradient computation for the hook: a sync point);
        new ones reach each input as a shift of its gradient, at a stop there (``utils.hooks.replace_grad_inputs``)."""
        if self._ctx is not None:
            return self._ctx._node_hooks("post", fn)
        node = self

        def hook(grad):
            inputs = node._input_tensors()
            wanting = [x for x in inputs if isinstance(x, Tensor) and x._requires_grad]
            if any(getattr(x, "_opaque", False) for x in (node._tensor, *wanting)) or _related(wanting):
                raise errors.UnimplementedError(
                    f"{node.name()}.register_hook: gradwire computes a node's input gradients for the hook apart from the pass, "
                    "which it cannot do where one input depends on another or on a recorded gradient; use register_prehook"
                )
            session = node._tensor._session
            hooking, session._hooking = session._hooking, False  # (the hooks of this pass do not run again inside it)
            try:
                with no_grad():
                    got = session._functional_grad([node._tensor], wanting, [grad], retain_graph=True, allow_unused=True) if wanting else []
            finally:
                session._hooking = hooking
            by_id = {id(x): g for x, g in zip(wanting, got)}
            grad_inputs = tuple(by_id.get(id(x)) if isinstance(x, Tensor) else None for x in inputs)
            result = fn(grad_inputs, (grad,))
            if result is not None:  # new grad_inputs: each input's gradient shifted as the pass reaches it
                from .utils.hooks import replace_grad_inputs

                replace_grad_inputs(fn, node._tensor, inputs, grad_inputs, result)

        hook._order = 1.5  # after the prehooks
        return self._tensor.register_hook(hook)

    def __repr__(self):
        return f"<{self.name()} object>"


def _related(tensors):
    """Whether one of ``tensors`` depends on another, or is another (a node's inputs' gradients then differ from a
    functional grad's: ``h * h`` gives each of its inputs a share, a functional grad the sum)."""
    ids = {id(x) for x in tensors}
    if len(ids) < len(tensors):
        return True
    for x in tensors:
        stack, seen = list(x._parents or ()), set()
        while stack:
            p = stack.pop()
            if not isinstance(p, Tensor) or id(p) in seen:
                continue
            if id(p) in ids:
                return True
            seen.add(id(p))
            stack.extend(p._parents or ())
    return False


def _node_hook_result(fn, result, given):
    """What a node hook returned, checked as PyTorch checks it: None, or a tuple like ``given``."""
    if result is None:
        return None
    if not isinstance(result, tuple):
        raise TypeError(f"expected tuple, but hook returned '{type(result).__name__}'")
    if len(result) != len(given):
        name = getattr(fn, "__name__", type(fn).__name__)
        raise errors.InvalidArgumentError(f"hook '{name}' has returned an incorrect number of values (got {len(result)}, but expected {len(given)})")
    for value, old in zip(result, given):
        if value is not None and old is not None and tuple(value.shape) != tuple(old.shape):
            name = getattr(fn, "__name__", type(fn).__name__)
            raise errors.InvalidArgumentError(f"hook '{name}' has changed the size of value")
    return result[0] if len(result) == 1 else result


class AccumulateGrad:
    """The node that ends a path at a leaf; ``variable`` is that leaf (one node per leaf, as PyTorch's)."""

    __slots__ = ("variable", "_metadata", "__weakref__")
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable
        self._metadata = None

    @staticmethod
    def of(leaf):
        """The leaf's node, kept with it (so that its hooks and metadata last)."""
        node = leaf._grad_fn
        if type(node) is not AccumulateGrad:
            node = leaf._grad_fn = AccumulateGrad(leaf)
        return node

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"  # PyTorch's name for it (its type's name is AccumulateGrad)

    @property
    def metadata(self) -> dict:
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    requires_grad = True

    def register_prehook(self, fn):
        """``fn((grad,))`` before the leaf's gradient is accumulated; what it returns (a tuple) is accumulated instead."""
        def hook(grad):
            return _node_hook_result(fn, fn((grad,)), (grad,))

        hook._order = 1
        return self.variable.register_hook(hook)

    def register_hook(self, fn):
        """``fn((), (grad,))`` when the leaf's gradient is accumulated (it has no inputs to give gradients to)."""
        def hook(grad):
            fn((), (grad,))

        hook._order = 1.5
        return self.variable.register_hook(hook)

    def __repr__(self):
        return "<AccumulateGrad object>"


class Tensor:
    """A tensor that lives on a gradwire server.

    Attributes follow PyTorch: ``requires_grad``, ``grad``, ``grad_fn``,
    ``is_leaf``, ``dtype``, ``shape``, ``device``. Create tensors with the
    session's factories (``session.tensor``, ``session.randn``, ...).
    """

    __slots__ = ("_session", "_handle", "_shape", "_dtype", "_requires_grad", "_is_leaf", "_parents", "_has_grad", "_grad_alias", "_grad_fn", "_data_of",
                 "_retains_grad", "_view_of", "_views", "_hooks", "_opaque", "_grad_graph", "_layout", "_post_hooks", "_bits", "__weakref__")
    __array_priority__ = 1000  # ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, session, handle, shape, dtype, requires_grad=False, is_leaf=True, parents=None):
        self._session = session
        self._handle = handle
        self._shape = shape
        self._dtype = dtype
        self._requires_grad = requires_grad
        self._is_leaf = is_leaf
        self._parents = parents
        self._has_grad = False
        self._grad_alias = None
        self._grad_fn = None
        self._data_of = None  # the tensor whose .data this is (see the data setter)
        self._retains_grad = False  # a non-leaf that called retain_grad(): backward fills its .grad
        self._view_of = None  # a view (x[1], x.T, x.view(...)): the tensor whose memory it shares (see _rebase)
        self._views = None  # that tensor's live views, once it has one
        self._hooks = None  # register_hook's, by handle id, once it has one
        self._opaque = False  # a recorded gradient (create_graph): the server alone knows which leaves it reaches
        self._grad_graph = None  # a leaf whose .grad was recorded (create_graph): the roots of those passes
        self._layout = None  # a view: (op, params, base's shape, base's _layout), for stride(); None: C order
        self._post_hooks = None  # register_post_accumulate_grad_hook's, by handle id, once it has one
        # conj()'s mark (1) and its imaginary part's (2), as PyTorch's conjugate and negative bits; 4: a copy of a complex
        # tensor's part, where PyTorch's is a view (in-place changes refused) (complexes.py)
        self._bits = 0

    def __del__(self):
        try:
            self._session._release(self._handle)
        except Exception:
            pass  # interpreter shutdown: the server frees the session anyway

    # --- copies: a deep copy is a new tensor on the server; a pickle cannot carry one --------------
    def __deepcopy__(self, memo):
        """``copy.deepcopy``: a new leaf in the same session with a copy of the values (and of ``.grad``), as PyTorch's,
        which copies leaves only. A model's ``deepcopy`` (an EMA or a target network) comes through here."""
        if not self._is_leaf:
            raise errors.FailedPreconditionError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the moment.")
        with no_grad():
            out = self._copied(self.clone())
        memo[id(self)] = out
        grad = self.grad
        if grad is not None:
            out.grad = grad.__deepcopy__(memo)
        return out

    def _copied(self, values: "Tensor") -> "Tensor":
        """``values`` (a fresh copy of this tensor's) made what this tensor is: a leaf that requires grad where it did;
        Parameter and Buffer wrap it as themselves."""
        return values.requires_grad_() if self._requires_grad else values

    def __reduce_ex__(self, protocol):
        raise TypeError("a gradwire Tensor lives in its session on the server and cannot be pickled: write it with "
                        "gw.save, or pickle its values (x.numpy())")

    # --- what the client knows, or asks once ------------------------------------------------
    def _meta(self):
        meta = self._session._fetch(self, meta_only=True)
        self._shape, self._dtype = tuple(meta.shape), np.dtype(meta.dtype)

    @property
    def shape(self) -> Size:
        """The shape, a ``Size`` (a tuple; a sync point only when the client cannot infer it)."""
        if self._shape is None:
            self._meta()
        return Size(self._shape)

    @property
    def dtype(self) -> dtypes.dtype:
        """The dtype, as torch's (``torch.float32``; a sync point only when the client cannot infer it)."""
        if self._dtype is None:
            self._meta()
        return dtypes.public(self._dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def size(self, dim=None):
        if dim is None:
            return self.shape
        if not self.shape:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self.shape[_wrap_dim(dim, len(self.shape))]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __contains__(self, element) -> bool:
        """``element in x``: whether any element equals it, one reduction on the server (Python would otherwise walk
        the tensor a row at a time, a sync each), as ``torch.Tensor.__contains__``."""
        if not isinstance(element, (Tensor, int, float, bool, complex, np.number, np.bool_)):
            raise errors.InvalidArgumentError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a {type(element)}.")
        with no_grad():
            return bool((self == element).any().item())

    def __format__(self, spec):
        if self.ndim == 0:  # f"{loss:.4f}", as PyTorch formats a 0-d tensor: its value
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    @property
    def device(self) -> device:
        """The session's device, as ``torch.device`` (``x.device.type``); it equals its name (``x.device == "cpu"``)."""
        return device(self._session.device)

    is_cuda = property(lambda self: self._session.device == "cuda")
    is_cpu = property(lambda self: self._session.device == "cpu")
    # what a gradwire tensor never is (PyTorch's other layouts and devices), for the libraries that ask
    is_sparse = is_sparse_csr = is_quantized = is_meta = is_mps = is_xpu = is_nested = is_mkldnn = property(lambda self: False)

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    @property
    def is_leaf(self) -> bool:
        return self._is_leaf

    @property
    def grad_fn(self):
        if self._is_leaf:
            return None
        if not isinstance(self._grad_fn, GradFn):  # None, or (name, inputs[, ctx]) where known already (a custom Function's)
            node = GradFn(self) if self._grad_fn is None or type(self._grad_fn) is AccumulateGrad else GradFn(self, *self._grad_fn)
            self._grad_fn = GradFn._named(node)  # (a cycle, node <-> tensor: the garbage collector releases them together)
        return self._grad_fn

    @property
    def grad(self):
        """The accumulated gradient (a Tensor), or None before a backward pass reaches this tensor."""
        if not self._has_grad:
            if not self._is_leaf and not self._retains_grad:
                warnings.warn(
                    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
                    "won't be populated during autograd.backward(). If you access the non-leaf Tensor by mistake, make "
                    "sure you access the leaf Tensor instead.", UserWarning, stacklevel=2,
                )
            return None
        if self._grad_alias is None:
            self._grad_alias = self._session._grad_alias(self)
        return self._grad_alias

    def retain_grad(self):
        """Let backward fill this non-leaf's ``.grad`` too, as PyTorch's; a no-op on a leaf."""
        if not self._requires_grad:
            raise errors.FailedPreconditionError("can't retain_grad on Tensor that has requires_grad=False")
        if not self._is_leaf and not self._retains_grad:
            self._session._retain_grad(self)
            self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @grad.setter
    def grad(self, value):
        self._session._set_grad(self, value)
        self._has_grad = value is not None
        self._grad_graph = None
        # a Tensor read from .grad before keeps what it held (the server settles it); the next read
        # stands for the new grad: the assigned Tensor itself, as in PyTorch, or a fresh handle
        self._grad_alias = value

    @property
    def data(self) -> "Tensor":
        """The same values without autograd history (PyTorch's ``.data``)."""
        return self._session._alias(self, shares_version=False)

    @data.setter
    def data(self, value):
        """``p.data = t``: ``t``'s values into ``p``, outside autograd (same shape and dtype here).

        ``p.data -= lr * p.grad`` (hand-written SGD) updates ``p.data`` in place, which is ``p``'s
        memory, then assigns it back: nothing is left to copy.
        """
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        if value._data_of is self:
            return
        if None not in (self._shape, value._shape) and (tuple(value._shape) != tuple(self._shape) or value.dtype != self.dtype):
            raise errors.InvalidArgumentError(
                f"data: gradwire assigns values of the same shape and dtype only: {value.dtype}{list(value._shape)} "
                f"into {self.dtype}{list(self._shape)}"
            )
        with no_grad():
            self._session._inplace(self, "copy", value)

    @property
    def T(self) -> "Tensor":
        return self.permute(tuple(reversed(range(self.ndim))))

    # --- sync points ----------------------------------------------------------------------
    def numpy(self, *, force=False) -> np.ndarray:
        """The values, as a new writable NumPy array (waits for every pending command).

        Writing to it leaves the tensor on the server unchanged: it is a copy. As PyTorch's, refused
        on a tensor that requires grad: ``x.detach().numpy()``, or ``x.numpy(force=True)``.
        """
        if self._requires_grad and not force:
            raise errors.FailedPreconditionError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        bits = self._bits & 3  # conj()'s mark, and its imaginary part's (gradwire.complexes)
        if bits and not force:
            kind = "conjugate" if bits & 1 else "negative"
            raise errors.FailedPreconditionError(f"Can't call numpy() on Tensor that has {kind} bit set. "
                                                 f"Use tensor.resolve_{'conj' if bits & 1 else 'neg'}().numpy() instead.")
        return self._values()

    def _values(self) -> np.ndarray:
        array = self._session._fetch(self)
        self._shape, self._dtype = array.shape, array.dtype
        return array

    def tolist(self):
        return self._values().tolist()

    def item(self):
        array = self._values()
        if array.size != 1:
            raise errors.InvalidArgumentError(f"a Tensor with {array.size} elements cannot be converted to Scalar")
        return array.item()

    def __bool__(self):
        array = self._values()
        if array.size != 1:
            raise errors.InvalidArgumentError(f"Boolean value of Tensor with {'no values' if array.size == 0 else 'more than one value'} is ambiguous")
        return bool(array.item())

    def __float__(self):
        if self._requires_grad:
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                          "Consider using tensor.detach() first.", UserWarning, stacklevel=2)
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def _scalar(self):
        """The one value of a one-element tensor, for int() and float(): PyTorch's ValueError for any other."""
        array = self._values()
        if array.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return array.item()

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __repr__(self):
        suffixes = [f"grad_fn=<{self.grad_fn.name()}>"] if not self._is_leaf else ["requires_grad=True"] if self._requires_grad else []
        shape = tuple(self.shape)
        if not printing.summarized(shape):
            return tensor_repr(self._values(), suffixes)
        shown = self.detach()  # a summarized print shows the edges alone: only they are downloaded, not the whole tensor
        with no_grad():
            for dim, index in printing.edges(shape):
                shown = shown.index_select(dim, self._session.tensor(index))
        return tensor_repr(shown._values(), suffixes, shape)

    __hash__ = object.__hash__

    # --- autograd ---------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate the gradient of this tensor into every leaf that requires grad.

        A non-scalar tensor needs ``gradient`` (the vector of a vector-Jacobian product).
        The graph is freed afterwards unless ``retain_graph=True``. With ``create_graph=True`` the
        gradients are recorded, each ``.grad`` a tensor with a graph to differentiate again (the graph
        is then kept unless ``retain_graph=False``), as PyTorch's double backward. ``inputs``: the tensors whose
        ``.grad`` is accumulated into, alone (the others' stay as they are), as PyTorch's.
        """
        self._session._backward(self, gradient, create_graph if retain_graph is None else retain_graph, create_graph, inputs=inputs)

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (shares memory and the version counter)."""
        out = self._session._alias(self, shares_version=True)
        bits = getattr(self, "_bits", 0)
        if bits:  # conj()'s mark stays, as PyTorch's conjugate bit
            out._bits = bits
        return out

    def requires_grad_(self, requires_grad=True) -> "Tensor":
        if not self._is_leaf and not requires_grad:
            raise errors.FailedPreconditionError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        if requires_grad and self._dtype is not None and not is_inexact(self._dtype):
            raise errors.InvalidArgumentError("only Tensors of floating point dtype can require gradients")
        if self._is_leaf:
            self._session._set_requires_grad(self, bool(requires_grad))
            self._requires_grad = bool(requires_grad)
        return self

    # --- device and dtype --------------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(other)`` or both; the same tensor when nothing changes (a copy with
        ``copy=True``). A device is checked and otherwise left alone: the tensor stays on its server's device
        (``x.cpu().numpy()`` reads it as ever). ``non_blocking`` changes nothing: every op is sent without waiting."""
        _check_placement(memory_format=memory_format)
        dtype = _to_dtype(args, dtype, device)
        if dtype is None or as_dtype(dtype) == self._dtype:
            return self.clone() if copy else self
        dtype = as_dtype(dtype)
        if floats.is_bfloat16(dtype):
            self._session._check_dtype(dtype)
        if dtype.kind != "c" and self._dtype is not None and self._dtype.kind == "c":
            warnings.warn("Casting complex values to real discards the imaginary part", UserWarning, stacklevel=2)
        return _op("to", (self,), {"dtype": dtype.name})

    def cpu(self, memory_format=None) -> "Tensor":
        return self.to("cpu", memory_format=memory_format)

    def cuda(self, device=None, non_blocking=False, memory_format=None) -> "Tensor":
        """This tensor, on its server's device; ``device`` (an index, a name or a ``gw.device``) is checked."""
        if device is not None and not isinstance(device, int):
            _device_type(device)
        return self.to("cuda", memory_format=memory_format)

    @property
    def layout(self) -> layout:
        return strided

    def is_floating_point(self) -> bool:
        return is_floating(self.dtype)

    def __index__(self):  # lst[t], range(t): an integer tensor of one element, as PyTorch
        if self.dtype.kind not in "iu" or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    # --- in place: in this tensor's memory; under autograd the change is recorded, as PyTorch records it ---
    def _inplace(self, op, other=None, key=None):
        """``add sub mul div zero copy setitem``: one in-place command, or, where autograd records the change
        (this tensor or ``other`` requires grad, grad mode on), the op written into this tensor (``_op_into``)."""
        if isinstance(other, np.ndarray) or _is_torch_tensor(other):
            other = self._session.tensor(other)  # as the out-of-place ops take them
        if is_grad_enabled() and (self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)):
            if self._requires_grad and self._is_leaf:
                raise errors.FailedPreconditionError("a leaf Variable that requires grad is being used in an in-place operation.")
            if op in _RECORDED_AS:
                return _op_into(_RECORDED_AS[op], self, (other,))
            value = 0 if op == "zero" else other
            if not isinstance(value, Tensor):  # x[k] = 2.0 on a tensor with history: the number as a 0-d tensor
                value = self._session.full((), value, dtype=self._dtype) if isinstance(value, _NUMBERS) else self._session.tensor(value)
            return _op_into("index_put", self, (value,), {"key": () if key is None else key})
        self._session._inplace(self, op, other, key)
        return self

    def __iadd__(self, other):
        return self._inplace("add", other)

    def __isub__(self, other):
        return self._inplace("sub", other)

    def __imul__(self, other):
        return self._inplace("mul", other)

    def __itruediv__(self, other):
        return self._inplace("div", other)

    def zero_(self):
        return self._inplace("zero")

    def copy_(self, other):
        return self._inplace("copy", other)

    def add_(self, other, alpha=1):
        return self._inplace("add", other if alpha == 1 else _scaled_operand(self, other, alpha))

    def sub_(self, other, alpha=1):
        return self._inplace("sub", other if alpha == 1 else _scaled_operand(self, other, alpha))

    def mul_(self, other):
        return self._inplace("mul", other)

    # --- ops (the binary operators are made from _OPERATORS below the class) ------------------
    def __invert__(self):
        if self._dtype is not None and is_floating(self._dtype):
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return _op("bitwise_not", (self,))

    def __neg__(self):
        return _op("neg", (self,))

    def __abs__(self):
        return _op("abs", (self,))

    def __getitem__(self, key):
        return self._index(key)

    def _index(self, key, check=None):
        """``self[key]``; ``check``: the PyTorch call it serves, whose refusal of an index out of range the server
        gives (``Engine.index``)."""
        key, keep, known = self._index_key(key)
        out = _op("index", (self,), {"key": key} if check is None else {"key": key, "check": check})
        if out._shape is None and self._dtype is not None:
            out._shape = index_shape(self._shape, known)
            out._dtype = self._dtype if out._shape is not None else None
        if not keep and not any(isinstance(part, Tensor) for part in known):  # ints, slices, None, ...: a view
            _note_view(out, self)
            if self._shape is not None:
                out._layout = ("index", known, self._shape, self._layout)
        return out

    def __setitem__(self, key, value):
        """``x[key] = value`` in x's memory: a number or a tensor, broadcast to the indexed part, as
        PyTorch's. Recorded by autograd where x or the value requires grad (``CopySlices``): the
        value's gradient is the indexed part of x's, and what was written over gets none."""
        if _is_torch_tensor(value):  # a local torch tensor's values, uploaded
            value = self._session.tensor(value)
        if not isinstance(value, (Tensor, complex) + _NUMBERS):  # as torch: not a list, a NumPy array, nor a complex64 scalar
            kind = type(value)
            target = f"torch.{_TENSOR_TYPE_NAMES[self._dtype]}Tensor" if self._dtype in _TENSOR_TYPE_NAMES else "Tensor"
            raise TypeError(f"can't assign a {kind.__name__ if kind.__module__ == 'builtins' else kind.__module__ + '.' + kind.__name__} to a {target}")
        key, keep, _ = self._index_key(key)
        self._inplace("setitem", value, key)

    def _index_key(self, key):
        """(the key for the wire, the index tensors made for it, the parts as the client knows them)."""
        if type(key) is int and self._shape is not None:  # the commonest index, checked here as PyTorch does at once
            if not self._shape:
                raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
            if not -self._shape[0] <= key < self._shape[0]:
                raise IndexError(f"index {key} is out of bounds for dimension 0 with size {self._shape[0]}")
        if type(key) is list and len(key) < 32 and any(isinstance(part, (Tensor, list, tuple, np.ndarray, slice)) or part is None or part is Ellipsis
                                                       for part in key):
            key = tuple(key)  # x[[[0, 1], [1, 2]]] is x[[0, 1], [1, 2]]: PyTorch's (and old NumPy's) rule for a short list
        if type(key) is tuple and self._shape is not None and sum(part is Ellipsis for part in key) > 1:
            key = _torch_ellipses(key, len(self._shape))
        parts = []
        keep = []  # index tensors made here live until the command is queued
        known = []  # the parts as the client knows them, for the output's shape
        for part in key if isinstance(key, tuple) else (key,):
            if isinstance(part, (bool, np.bool_)):  # a new dim, of 1 element or none (PyTorch's): a 0-d mask on the wire
                index = self._session.tensor(np.asarray(bool(part)))
                keep.append(index)
                parts.append(Handle(index._handle))
                known.append(np.asarray(bool(part)))
            elif isinstance(part, Tensor):
                if part._dtype is not None and part._dtype.kind in "iu" and part._dtype.itemsize < 4:
                    _small_index(part._dtype)  # uint8: a mask, with PyTorch's warning (the server reads it as one)
                parts.append(Handle(part._handle))
                known.append(part)
            elif isinstance(part, (list, np.ndarray, range)):  # (a range: its ints, as PyTorch reads any sequence)
                array = np.asarray(part)
                if array.size == 0 and array.dtype.kind == "f" and not isinstance(part, np.ndarray):  # x[[]]: no indices
                    array = array.astype(np.int64)
                if array.dtype.kind not in "iub":
                    raise errors.InvalidArgumentError("tensors used as indices must be long, int, byte or bool tensors")
                if array.dtype == uint8 and isinstance(part, np.ndarray):  # a mask, as torch takes a uint8 array (int8: indices)
                    _small_index(array.dtype)
                    array = array.astype(bool)
                index = self._session.tensor(array if array.dtype.kind == "b" else array.astype(np.int64))
                keep.append(index)
                parts.append(Handle(index._handle))
                known.append(array)
            elif isinstance(part, (float, str, complex, np.floating)):
                raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices "
                                 f"(got {type(part).__name__})")
            else:
                if type(part) is slice and any(isinstance(bound, Tensor) for bound in (part.start, part.stop, part.step)):
                    part = slice(_as_int(part.start), _as_int(part.stop), _as_int(part.step))  # x[:lengths[i]]
                if type(part) is slice and part.step is not None and part.step <= 0:
                    raise ValueError("slice step cannot be zero" if part.step == 0 else "step must be greater than zero")
                parts.append(part)
                known.append(part)
        return IndexKey(parts), keep, known

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        """The sum over ``dim`` (all elements by default, or with ``dim=()``, as PyTorch's); ``dtype``: computed in
        that dtype, as PyTorch's."""
        return _in_dtype(_op("sum", (self if dtype is None else self.to(dtype),), {"dim": _every_dim_if_none(dim), "keepdim": keepdim}), dtype)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        return _op("mean", (self if dtype is None else self.to(dtype),), {"dim": _every_dim_if_none(dim), "keepdim": keepdim})

    def max(self, *args, other=None, **kwargs):
        """``max(dim=None, keepdim=False)``: over everything, a 0-d tensor; along ``dim``, a named tuple ``(values,
        indices)``. ``a.max(b)`` (a tensor first, or ``other=``): the elementwise ``maximum``, PyTorch's overload."""
        if other is not None or (args and isinstance(args[0], Tensor)):
            return _op("maximum", (self, args[0] if other is None else other))
        return _extreme("max", self, *args, **kwargs)

    def min(self, *args, other=None, **kwargs):
        """``min(dim=None, keepdim=False)``, or ``a.min(b)``: as ``max``."""
        if other is not None or (args and isinstance(args[0], Tensor)):
            return _op("minimum", (self, args[0] if other is None else other))
        return _extreme("min", self, *args, **kwargs)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """``torch.Tensor.var``: over ``N - correction`` (1 by default: Bessel's; ``unbiased=False``: 0)."""
        dim, correction = _spread(dim, unbiased, correction)
        return _op("var", (self,), {"dim": dim, "correction": correction, "keepdim": keepdim})

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """``torch.Tensor.std``: the square root of ``var`` with the same arguments."""
        dim, correction = _spread(dim, unbiased, correction)
        return _op("std", (self,), {"dim": dim, "correction": correction, "keepdim": keepdim})

    def masked_fill(self, mask, value):
        """``value`` where the boolean ``mask`` (broadcast to this shape) holds, this tensor elsewhere."""
        if isinstance(mask, Tensor) and mask._dtype is not None and mask._dtype != bool_:
            raise errors.InvalidArgumentError(f"masked_fill_ only supports boolean masks, but got mask with dtype {_CPP_TYPE_NAMES[mask._dtype]}")
        if isinstance(mask, Tensor) and self._shape is not None and mask._shape is not None and mask._shape != self._shape:
            shape = _broadcast_or_refuse(mask._shape, self._shape)
            if shape != self._shape:  # out of place, torch broadcasts this tensor to the mask too
                return self.expand(shape).masked_fill(mask, value)
        if isinstance(value, Tensor):  # a 0-d tensor: its gradient flows too, as through where
            _check_fill_value_tensor(value)
            return where(mask, value.to(self.dtype) if value._dtype != self._dtype else value, self)
        _check_fill(value, self._dtype)
        return _op("masked_fill", (self, mask), {"value": value})

    def argmax(self, dim=None, keepdim=False):
        return _op("argmax", (self,), {"dim": dim, "keepdim": keepdim})

    def argmin(self, dim=None, keepdim=False):
        return _op("argmin", (self,), {"dim": dim, "keepdim": keepdim})

    def softmax(self, dim, dtype=None):
        return _op("softmax", (self if dtype is None else self.to(dtype),), {"dim": dim})

    def log_softmax(self, dim, dtype=None):
        return _op("log_softmax", (self if dtype is None else self.to(dtype),), {"dim": dim})

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise errors.InvalidArgumentError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):  # tensor bounds, elementwise: a gradient to each where it binds
            out = self if min is None else where(self < min, min, self)
            out = out if max is None else where(out > max, max, out)
            if not is_floating(out.dtype):
                return out
            nan = self.isnan()
            for bound in (min, max):
                if isinstance(bound, Tensor):
                    nan = nan | bound.isnan()
                elif bound is not None and math.isnan(bound):
                    nan = nan | True
            return where(nan, math.nan, out)
        return _op("clamp", (self,), {"min": min, "max": max})

    def reshape(self, *shape):
        return _op("reshape", (self,), {"shape": _sizes(shape)})

    def view(self, *shape):
        """``reshape``'s view; ``x.view(dtype)``: x's bytes read as ``dtype`` (of another size, the last dim scales),
        a view that is not differentiable, as PyTorch's."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list, Tensor)) and shape[0] is not None:
            dtype = as_dtype(shape[0])
            return self if dtype == self._dtype else _op("view_dtype", (self,), {"dtype": dtype.name})
        if self._layout is not None:  # a view of another layout (x.t(), x.narrow(...)): PyTorch views it without a copy or not at all
            from .shaping import can_view

            if not can_view(self, _sizes(shape)):
                raise errors.InvalidArgumentError("view size is not compatible with input tensor's size and stride (at least one dimension"
                                                  " spans across two contiguous subspaces). Use .reshape(...) instead.")
        return self.reshape(*shape)

    def as_strided(self, size, stride, storage_offset=None):
        """A view of this tensor's elements, in row-major order from ``storage_offset`` (0 by default), with
        ``size`` and ``stride``, as ``torch.Tensor.as_strided`` reads a contiguous tensor's storage (this one must
        be contiguous on the server, and the view within its elements)."""
        return _op("as_strided", (self,), {"size": _sizes((size,)), "stride": _sizes((stride,)), "storage_offset": int(storage_offset or 0)})

    def flatten(self, start_dim=0, end_dim=-1):
        """``torch.Tensor.flatten``: dims ``start_dim`` to ``end_dim`` made one (a 0-d tensor becomes 1-d)."""
        shape = self.shape
        start, end = _wrap_dim(start_dim, len(shape)), _wrap_dim(end_dim, len(shape))
        if not shape:
            return self.reshape(1)
        if start > end:
            raise IndexError("flatten() has invalid args: start_dim cannot come after end_dim")
        return self.reshape(shape[:start] + (-1,) + shape[end + 1 :])

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The vector ``p``-norm over ``dim`` (all elements by default), as ``torch.linalg.vector_norm``;
        ``"fro"`` is the 2-norm."""
        if p == "fro":
            p = 2.0
        if isinstance(p, str) or dtype is not None:
            raise errors.UnimplementedError(f"norm: p={p!r} and dtype= are not supported (vector norms of a number p only)")
        return _op("norm", (self,), {"p": float(p), "dim": _every_dim_if_none(dim), "keepdim": keepdim})

    def gather(self, dim, index):
        """Along ``dim``, the elements that the integer tensor ``index`` names (same number of dims), as ``torch.gather``."""
        if not isinstance(index, Tensor):
            index = self._session.tensor(np.asarray(index, dtype=np.int64))
        return _op("gather", (self, index), {"dim": dim})

    def tril(self, diagonal=0):
        return _op("tril", (self,), {"diagonal": diagonal})

    def triu(self, diagonal=0):
        return _op("triu", (self,), {"diagonal": diagonal})

    def cumsum(self, dim, *, dtype=None):
        """Running sums along ``dim``; ``dtype``: computed in that dtype, as PyTorch's."""
        return _in_dtype(_op("cumsum", (self if dtype is None else self.to(dtype),), {"dim": dim}), dtype)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """The product over ``dim`` (all elements by default); ``dtype``: computed in that dtype, as PyTorch's."""
        return _in_dtype(_op("prod", (self if dtype is None else self.to(dtype),), {"dim": dim, "keepdim": keepdim}), dtype)

    def amax(self, dim=(), keepdim=False):
        """The maximum over ``dim`` (an int or a tuple; every dim by default); ties share the gradient."""
        return _op("amax", (self,), {"dim": dim, "keepdim": keepdim})

    def amin(self, dim=(), keepdim=False):
        """The minimum over ``dim`` (an int or a tuple; every dim by default); ties share the gradient."""
        return _op("amin", (self,), {"dim": dim, "keepdim": keepdim})

    def logsumexp(self, dim, keepdim=False):
        return _op("logsumexp", (self,), {"dim": dim, "keepdim": keepdim})

    def all(self, dim=None, keepdim=False):
        return _op("all", (self,), {"dim": dim, "keepdim": keepdim})

    def any(self, dim=None, keepdim=False):
        return _op("any", (self,), {"dim": dim, "keepdim": keepdim})

    def count_nonzero(self, dim=None):
        return _op("count_nonzero", (self,), {"dim": _every_dim_if_none(dim)})

    def round(self, decimals=0):
        return _op("round", (self,), {"decimals": decimals} if decimals else None)

    def flip(self, *dims):
        dims = _sizes(dims)
        wrapped = [_wrap_dim(d, self.ndim) for d in dims]
        for d in wrapped:
            if wrapped.count(d) > 1:
                raise errors.InvalidArgumentError(f"dim {d} appears multiple times in the list of dims")
        return _op("flip", (self,), {"dims": dims})

    def roll(self, shifts, dims=None):
        """Elements shifted along ``dims`` by ``shifts`` (one each; no dims: of the flattened tensor), as ``torch.roll``."""
        counts = [len(v) if isinstance(v, (tuple, list)) else 0 if v is None else 1 for v in (shifts, dims)]
        if counts[0] == 0:
            raise errors.InvalidArgumentError("`shifts` required")
        if counts[0] != counts[1] and not (dims is None and counts[0] == 1):
            raise errors.InvalidArgumentError(f"shifts and dimensions must align. shifts: {counts[0]}, dims:{counts[1]}")
        return _op("roll", (self,), {"shifts": shifts, "dims": dims})

    def repeat(self, *sizes):
        """This tensor's values tiled ``sizes`` times along each dim (more sizes than dims: new leading dims), as ``torch.Tensor.repeat``."""
        sizes = _sizes(sizes)
        if len(sizes) < self.ndim:
            raise errors.InvalidArgumentError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
        return _op("repeat", (self,), {"sizes": sizes})

    def tile(self, *dims):
        """``torch.Tensor.tile``: ``repeat``, with ones put before ``dims`` where it has fewer than this tensor has dims."""
        dims = _sizes(dims)
        return self.repeat((1,) * (self.ndim - len(dims)) + dims)

    def sort(self, dim=-1, descending=False, stable=False):
        """``(values, indices)`` along ``dim``; equal values keep their order (a stable sort, whatever ``stable`` says)."""
        values, indices = _op("sort", (self,), {"dim": dim, "descending": descending}, outputs=2)
        return sort_result(values, indices)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values (or slices along ``dim``), sorted, as ``torch.unique``; with ``return_inverse`` each
        element's position among them, with ``return_counts`` how often each occurs. Not differentiable."""
        values, inverse, counts = _op("unique", (self,), {"dim": dim}, outputs=3)
        extra = ((inverse,) if return_inverse else ()) + ((counts,) if return_counts else ())
        return (values,) + extra if extra else values

    def bincount(self, weights=None, minlength=0):
        """How often each of 0 .. max occurs in this 1-D non-negative integer tensor (``weights``: their sums),
        at least ``minlength`` long, as ``torch.bincount``."""
        if self._dtype is not None and self._dtype.kind not in "iu":
            raise errors.UnimplementedError(f'"bincount_cpu" not implemented for \'{_TENSOR_TYPE_NAMES.get(self._dtype, self._dtype.name)}\'')
        params = {"minlength": minlength} if minlength else None
        return _op("bincount", (self,), params) if weights is None else _op("bincount_weighted", (self, weights), params)

    def kthvalue(self, k, dim=-1, keepdim=False):
        """The ``k``-th smallest value along ``dim`` and its index, as ``torch.kthvalue``: a sort's ``k - 1``-th."""
        dim = _wrap_dim(dim, self.ndim)
        size = self.shape[dim] if self.ndim else 1
        if size == 0:
            raise errors.InvalidIndexError(f"kthvalue(): Expected reduction dim {dim} to have non-zero size.")
        if not 1 <= k <= size:
            raise IndexError(f"kthvalue(): selected number k out of range for dimension {dim}")
        values, indices = _op("kthvalue", (self,), {"k": k, "dim": dim, "keepdim": keepdim}, outputs=2)
        return kthvalue_result(values, indices)

    def mode(self, dim=-1, keepdim=False):
        """The most frequent value along ``dim`` (the smallest of those tied) and the index of its last occurrence,
        a named tuple ``(values, indices)``, as ``torch.mode`` on the CPU; the gradient goes to that index."""
        if self._shape is not None:
            _wrap_dim(dim, len(self._shape))
        values, indices = _op("mode", (self,), {"dim": dim, "keepdim": keepdim}, outputs=2)
        return mode_result(values, indices)

    def histc(self, bins=100, min=0, max=0):
        """Counts of the elements in ``bins`` equal bins over [``min``, ``max``] (both 0: the elements' own range),
        as ``torch.histc``: in this tensor's float dtype; elements outside the range are not counted; no gradient."""
        if self._dtype is not None and not is_floating(self._dtype):
            raise errors.UnimplementedError(f'"histogram_cpu" not implemented for \'{_TENSOR_TYPE_NAMES.get(self._dtype, self._dtype.name)}\'')
        if bins <= 0:
            raise errors.InvalidArgumentError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
        if min > max:
            raise errors.InvalidArgumentError("torch.histc: max must be larger than min")
        return _op("histc", (self,), {"bins": int(bins), "min": float(min), "max": float(max)})

    def median(self, dim=None, keepdim=False):
        """The lower median (of all elements: a 0-d tensor; along ``dim``: values and indices), as ``torch.median``."""
        if self._dtype is not None and self._dtype == bool_:
            raise errors.UnimplementedError(f'"{"median_cpu" if dim is None else "median_out"}" not implemented for \'Bool\'')
        if dim is None:  # NaN if any; the gradient shared by the elements equal to the median, as PyTorch's
            flat = self.reshape(-1)
            n = flat.shape[0]
            if n == 0:
                return self._session.full((), math.nan, dtype=self.dtype)
            value = flat.sort().values[(n - 1) // 2]
            if not is_floating(self.dtype):
                return value
            nan = flat.isnan()
            any_nan = nan.any()
            tied = flat == where(any_nan, math.nan, value.detach())  # (none where a NaN is)
            shared = where(tied, flat, -math.inf).amax()  # amax shares its gradient evenly among its ties
            nans = where(nan, flat, 0.0).sum() / nan.sum().clamp(min=1)  # NaN, its gradient shared by the NaNs
            return where(any_nan, nans, shared)
        d = _wrap_dim(dim, self.ndim)
        x = self.reshape(1) if self.ndim == 0 else self
        if x.shape[d] == 0:
            raise errors.InvalidIndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
        values, indices = x.sort(d)  # NaN last, in their order: a row's first NaN is at its count of numbers
        n = x.shape[d]
        if is_floating(self.dtype):
            nan = x.isnan()
            pick = where(nan.any(d, keepdim=True), nan.logical_not().sum(d, keepdim=True), (n - 1) // 2)
        else:
            pick = self._session.full(tuple(n_ if k != d else 1 for k, n_ in enumerate(x.shape)), (n - 1) // 2, dtype=int64)
        values, indices = values.gather(d, pick), indices.gather(d, pick)
        if self.ndim == 0:
            values, indices = values.reshape(()), indices.reshape(())
        elif not keepdim:
            values, indices = values.squeeze(d), indices.squeeze(d)
        return median_result(values, indices)

    @_amp.autocast_op("quantile")
    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """The ``q``-quantile(s) along ``dim`` (of all elements by default), as ``torch.quantile``: between the two
        nearest sorted values, by ``interpolation`` (linear, lower, higher, nearest, midpoint); NaN where a NaN is."""
        if interpolation not in ("linear", "lower", "higher", "nearest", "midpoint"):
            raise errors.InvalidArgumentError("quantile() interpolation must be one of linear, lower, higher, midpoint or nearest. Got " + str(interpolation))
        return _quantile(self, q, dim, keepdim, interpolation, ignore_nan=False)

    def argsort(self, dim=-1, descending=False, stable=False):
        return self.sort(dim, descending).indices

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The ``k`` largest (or smallest) values along ``dim`` and their indices, largest first."""
        values, indices = _op("topk", (self,), {"k": k, "dim": dim, "smallest": not largest}, outputs=2)
        return topk_result(values, indices)

    def square(self):
        return self.pow(2)

    # linear algebra on (..., n, n) matrices (gradwire.linalg has them under torch.linalg's names)
    def inverse(self):
        return _op("inv", (self,))

    def det(self):
        return _op("det", (self,))

    def slogdet(self):
        """``(sign, logabsdet)`` of the determinants, as ``torch.slogdet``: one op, one node for both outputs."""
        from . import linalg

        return linalg.slogdet(self)

    def svd(self, some=True, compute_uv=True):
        """``(U, S, V)`` with A = U diag(S) V^T, as ``torch.svd`` (V, not V^T; ``some=False``: full U and V)."""
        from . import linalg

        return linalg._torch_svd(self, some, compute_uv)

    def cholesky(self, upper=False):
        """The Cholesky factor, as ``torch.cholesky`` (``linalg.cholesky``; ``upper``: U with A = U^T U)."""
        from . import linalg

        return linalg.cholesky(self, upper=upper)

    def cholesky_solve(self, input2, upper=False):
        """X with A X = self for A = L L^T, L = ``input2``, as ``torch.cholesky_solve``."""
        from . import linalg

        return linalg.cholesky_solve(self, input2, upper)

    def cholesky_inverse(self, upper=False):
        """A^-1 for A = L L^T, L this tensor, as ``torch.cholesky_inverse``."""
        from . import linalg

        return linalg.cholesky_inverse(self, upper)

    def matrix_exp(self):
        """e^A, as ``torch.matrix_exp`` (``linalg.matrix_exp``)."""
        from . import linalg

        return linalg.matrix_exp(self)

    def matrix_power(self, n):
        """A^n, as ``torch.matrix_power`` (``linalg.matrix_power``)."""
        from . import linalg

        return linalg.matrix_power(self, n)

    def pinverse(self, rcond=1e-15):
        """The pseudo-inverse, singular values below ``rcond`` times the largest taken as zero, as ``torch.pinverse``."""
        from . import linalg

        return linalg.pinv(self, rtol=rcond)

    def qr(self, some=True):
        """``(Q, R)``, reduced (complete where not ``some``), as ``torch.qr``."""
        from . import linalg

        Q, R = linalg.qr(self, "reduced" if some else "complete")
        return linalg.torch_qr_result(Q, R)

    def triangular_solve(self, A, upper=True, transpose=False, unitriangular=False):
        """``(solution, cloned_coefficient)`` of A X = self, as ``torch.triangular_solve``."""
        from . import linalg

        return linalg.triangular_solve(self, A, upper, transpose, unitriangular)

    def lu(self, pivot=True, get_infos=False):
        """``(LU, pivots)`` (and ``infos`` where ``get_infos``), as ``torch.lu``: ``linalg.lu_factor_ex``."""
        from . import linalg

        LU, pivots, info = linalg.lu_factor_ex(self, pivot=pivot)
        return (LU, pivots, info) if get_infos else (LU, pivots)

    def geqrf(self):
        """``(a, tau)``: QR in Householder form, as ``torch.geqrf`` (not differentiable)."""
        from . import linalg

        return linalg.geqrf(self)

    def ormqr(self, input2, input3, left=True, transpose=False):
        """``input3`` multiplied by the Q of these Householder reflectors and scales ``input2``, as ``torch.ormqr``."""
        from . import linalg

        return linalg.ormqr(self, input2, input3, left, transpose)

    def orgqr(self, input2):
        """The Q of Householder reflectors and their scales ``input2``, as ``torch.orgqr`` (``linalg.householder_product``)."""
        from . import linalg

        return linalg.householder_product(self, input2)

    def lu_solve(self, LU_data, LU_pivots):
        """X with A X = self, A given by ``lu``'s factors, as ``torch.lu_solve``."""
        from . import linalg

        return linalg.lu_solve(LU_data, LU_pivots, self)

    def logdet(self):
        """log det A: NaN where the determinant is negative, as ``torch.logdet``."""
        sign, logabsdet = self.slogdet()
        return where(sign < 0, math.nan, logabsdet)

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    clip = clamp

    def narrow(self, dim, start, length):
        """``length`` elements of ``dim`` from ``start``: a view, as ``torch.Tensor.narrow``."""
        dim = _wrap_dim(dim, self.ndim)
        size = self.shape[dim]
        start = start + size if start < 0 else start
        if not 0 <= start <= size or length < 0 or start + length > size:
            raise IndexError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
        return self[(slice(None),) * dim + (slice(start, start + length),)]

    def movedim(self, source, destination):
        """Dims ``source`` moved to ``destination`` (ints or sequences), the others in order, as ``torch.movedim``."""
        n = self.ndim
        sources = [_wrap_dim(d, n) for d in ((source,) if isinstance(source, int) else source)]
        targets = [_wrap_dim(d, n) for d in ((destination,) if isinstance(destination, int) else destination)]
        for name, given, wrapped in (("source", source, sources), ("destination", destination, targets)):
            if len(set(wrapped)) != len(wrapped):
                raise errors.InvalidArgumentError(f"movedim: repeated dim in `{name}` ({list(given)})")
        if len(sources) != len(targets):
            raise errors.InvalidArgumentError(
                f"movedim: Invalid source or destination dims: source ({list(sources)} dims) should contain the same number of dims as "
                f"destination ({list(targets)} dims)"
            )
        order = [None] * n
        for s, t in zip(sources, targets):
            order[t] = s
        rest = iter(d for d in range(n) if d not in sources)
        return self.permute([d if d is not None else next(rest) for d in order])

    moveaxis = movedim

    @property
    def mT(self):
        """The last two dims swapped, as ``torch.Tensor.mT``."""
        if self.ndim < 2:
            raise errors.InvalidArgumentError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
        return self.transpose(-2, -1)

    def mm(self, mat2):
        _check_ranks("mm", self, mat2, (2, 2))
        return self.matmul(mat2)

    def bmm(self, mat2):
        _check_ranks("bmm", self, mat2, (3, 3))
        if self._shape is not None and mat2._shape is not None and list(mat2._shape[:2]) != [self._shape[0], self._shape[2]]:
            # (matmul would broadcast a batch of 1: torch's bmm takes equal batches only)
            raise errors.InvalidArgumentError(f"Expected size for first two dimensions of batch2 tensor to be: "
                                              f"{[self._shape[0], self._shape[2]]} but got: {list(mat2._shape[:2])}.")
        return self.matmul(mat2)

    @_amp.autocast_op("mv")
    def mv(self, vec):
        _check_ranks("mv", self, vec, (2, 1))
        return self.matmul(vec)

    @_amp.autocast_op("dot")
    def dot(self, other):
        _check_ranks("dot", self, other, (1, 1))
        return self.matmul(other)

    def outer(self, vec2):
        """The outer product of two 1-D tensors, as ``torch.outer`` (a broadcast multiply, as PyTorch's)."""
        _check_ranks("outer", self, vec2, (1, 1))
        return self.reshape(-1, 1) * vec2

    ger = outer

    def atan2(self, other):
        return _op("atan2", (self, other))

    arctan2 = atan2

    def fmod(self, other):
        return _op("fmod", (self, other))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        """Whether every element is within ``atol + rtol * |other|`` of ``other``'s, as ``torch.allclose``: a sync point."""
        if isinstance(other, Tensor) and self.dtype != other.dtype:
            raise errors.InvalidArgumentError(f"{_TENSOR_TYPE_NAMES[self.dtype]} did not match {_TENSOR_TYPE_NAMES[other.dtype]}")
        with no_grad():
            close = (self - other).abs() <= atol + rtol * other.abs()
            if equal_nan:
                close = close | (self.isnan() & other.isnan())
            return bool(close.all().item())

    def equal(self, other) -> bool:
        """Same shape and the same values, as ``torch.equal``: a sync point."""
        if self.shape != other.shape:
            return False
        with no_grad():
            return bool((self == other).all().item())

    @placed
    def new_tensor(self, data, dtype=None, requires_grad=False):
        """A tensor of ``data`` in this tensor's session, with its dtype unless ``dtype=``, as ``torch.Tensor.new_tensor``."""
        return self._session.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    @placed
    def new_zeros(self, *size, dtype=None, requires_grad=False):
        return self._session.zeros(*_sizes(size), dtype=dtype or self.dtype, requires_grad=requires_grad)

    @placed
    def new_ones(self, *size, dtype=None, requires_grad=False):
        return self._session.ones(*_sizes(size), dtype=dtype or self.dtype, requires_grad=requires_grad)

    @placed
    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        return self._session.full(tuple(size), fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    @placed
    def new_empty(self, *size, dtype=None, requires_grad=False):
        return self.new_zeros(*size, dtype=dtype, requires_grad=requires_grad)  # zeros: no uninitialised memory crosses sessions

    def type_as(self, other):
        return self.to(other.dtype)

    def element_size(self) -> int:
        return self.dtype.itemsize

    def nelement(self) -> int:
        return self.numel()

    def fill_(self, value):
        """Every element set to ``value``, in place (as ``x[...] = value``, but a number past a float dtype's range is
        refused, as PyTorch's fill_ refuses it where its x[...] = v stores inf)."""
        if isinstance(value, Tensor) and value._shape is not None and value._shape != ():  # (x[...] = v would broadcast it)
            raise errors.InvalidArgumentError(f"fill_ only supports 0-dimension value tensor but got tensor with {len(value._shape)} dimensions.")
        if type(value) is int and not -2**63 <= value < 2**64:  # PyTorch's Scalar takes an int64 or a uint64
            wide_int(value)  # (its OverflowError)
        if self._shape is not None:
            _check_fill(value, self._dtype, self._shape)
        self[...] = wide_int(value) if type(value) is int and value >= 2**63 else value  # (x[...] = v takes an int64 only)
        return self

    def type(self, dtype=None):
        """``x.type(dtype)``: ``x.to(dtype)``; with no dtype, the type's name as PyTorch writes it (``gradwire.FloatTensor``)."""
        if dtype is None:
            return f"gradwire.{_TENSOR_TYPE_NAMES.get(self.dtype, self.dtype.name)}Tensor"
        if isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), (np.dtype, dtypes.dtype)):  # gw.LongTensor: its dtype
            dtype = dtype.dtype
        if isinstance(dtype, str) and dtype.endswith("Tensor"):  # "torch.DoubleTensor", as type() names them
            named = {name: dtype for dtype, name in _TENSOR_TYPE_NAMES.items()}.get(dtype.rpartition(".")[2].removesuffix("Tensor"))
            if named is None:
                raise ValueError(f"invalid type: '{dtype}'")
            dtype = named
        return self.to(dtype)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        """This tensor with ``src``'s elements (or ``value``) written along ``dim`` at ``index``, as ``torch.scatter``."""
        return _op("scatter", self._scatter_inputs("scatter", index, src, value, reduce), {"dim": dim})

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        return _op_into("scatter", self, self._scatter_inputs("scatter_", index, src, value, reduce)[1:], {"dim": dim})

    def scatter_add_(self, dim, index, src):
        return _op_into("scatter_add", self, (_as_index(self, index), src), {"dim": dim})

    def _scatter_inputs(self, name, index, src, value, reduce):
        if reduce is not None:
            raise errors.UnimplementedError(f"{name}: reduce= is not supported (scatter_add does reduce='add')")
        if (src is None) == (value is None):
            raise TypeError(f"{name}() expects either a src tensor or a value")
        index = _as_index(self, index)
        if src is None or not isinstance(src, Tensor):  # a number: a tensor of index's shape and this dtype, made there
            src = self._session.full(tuple(index.shape), value if src is None else src, dtype=self.dtype)
        return (self, index, src)

    def index_add(self, dim, index, source, *, alpha=1):
        """``source``'s slices along ``dim`` added into this tensor's at ``index`` (repeats add), as ``torch.index_add``."""
        inputs = self._index_add_inputs(dim, index, source, alpha)
        if not self.ndim:  # a 0-d tensor's one element (index 0)
            return self.reshape(1).scatter_add(0, *(x.reshape(1) for x in inputs)).reshape(())
        return self.scatter_add(dim, *inputs)

    def index_add_(self, dim, index, source, *, alpha=1):
        inputs = self._index_add_inputs(dim, index, source, alpha)
        if not self.ndim:
            self.reshape(1).scatter_add_(0, *(x.reshape(1) for x in inputs))
            return self
        return self.scatter_add_(dim, *inputs)

    def _index_add_inputs(self, dim, index, source, alpha):
        """index_add as scatter_add: the 1-D index spread over source's shape along dim."""
        index, dim = _as_index(self, index), _wrap_dim(dim, self.ndim)
        if index._dtype is not None and index._dtype not in (int32, int64):
            raise errors.InvalidArgumentError("index_add_(): Expected dtype int32/int64 for index but got: "
                                              + _TENSOR_TYPE_NAMES.get(index._dtype, index._dtype.name))
        _check_index_source(self, dim, index, source, "index_add_")
        if not source.ndim:  # a 0-d tensor's one element
            return index.reshape(()), _scaled(source, alpha)
        shape = [1] * source.ndim
        shape[dim] = -1
        return index.reshape(shape).expand(tuple(source.shape)), _scaled(source, alpha)

    def index_fill(self, dim, index, value):
        """``value`` in the slices along ``dim`` at ``index``, as ``torch.index_fill``."""
        _check_fill(value, self._dtype)  # (before the mask is made)
        return self.masked_fill(self._index_mask(dim, index), value)

    def index_fill_(self, dim, index, value):
        _check_fill(value, self._dtype)
        return self.masked_fill_(self._index_mask(dim, index), value)

    def _index_mask(self, dim, index):
        dim = _wrap_dim(dim, self.ndim)
        index = _as_index(self, index)
        if index._dtype is not None and index._dtype != int64:
            raise errors.InvalidIndexError("index_fill_(): Expected dtype int64 for index.")
        if index.ndim > 1:
            raise errors.InvalidArgumentError("Index has to be a vector/scalar")
        if index.ndim == 0:  # a 0-d index: the one slice (a vector goes as it is: no reshape command)
            index = index.reshape(1)
        mask = self._session.zeros(self.shape[dim] if self.ndim else 1, dtype="bool")
        key, keep, _ = mask._index_key((index,))
        true = self._session.ones((), dtype="bool")
        mask = _op("index_put", (mask, true), {"key": key, "check": "index_fill_", "check_dim": dim})
        shape = [1] * self.ndim
        if self.ndim:
            shape[dim] = -1
        return mask.reshape(shape)

    def register_hook(self, hook):
        """``hook(grad)`` whenever a backward pass (or ``gw.grad``) has this tensor's whole gradient; what it
        returns (not None) goes on in its place, into ``.grad`` for a leaf. Returns a handle with ``remove()``.

        The pass runs on the server and stops there for the hook: a round trip for each hooked tensor it reaches.
        """
        if not self._requires_grad:
            raise errors.FailedPreconditionError("cannot register a hook on a tensor that doesn't require gradient")
        from .utils.hooks import RemovableHandle  # (gradwire.utils imports this module)

        if self._hooks is None:
            self._hooks = {}
        self._session._hooking = True
        handle = RemovableHandle(self._hooks, hook)
        self._session._hook_added(self)  # (inside another hook: a pass under way may still reach it)
        return handle

    def contiguous(self, memory_format=None):
        """This tensor where its memory is in C order already (the same memory: a view), else a copy in C order,
        as ``torch.Tensor.contiguous``; only a later in-place change tells the two apart."""
        return _op("contiguous", (self,))

    def clamp_(self, min=None, max=None):
        if isinstance(min, Tensor) or isinstance(max, Tensor):  # tensor bounds: through where, written in with copy_
            source = self.clone() if is_grad_enabled() and self._requires_grad else self
            clamped = source.clamp(min, max)
            _check_cast(clamped._dtype, self._dtype)  # (copy_ would cast anything)
            return self.copy_(clamped)
        if min is None and max is None:
            raise errors.InvalidArgumentError("torch.clamp: At least one of 'min' or 'max' must not be None")
        return _op_into("clamp", self, (), {"min": min, "max": max})

    clip_ = clamp_

    def clamp_min_(self, min):
        return self.clamp_(min=min)

    def clamp_max_(self, max):
        return self.clamp_(max=max)

    def masked_fill_(self, mask, value):
        """``masked_fill`` written into this tensor (a 0-d tensor ``value`` through ``copy_``)."""
        if isinstance(value, Tensor):
            _check_fill_value_tensor(value)
        if isinstance(mask, Tensor) and self._shape is not None and mask._shape is not None and mask._shape != self._shape:
            shape = _broadcast_or_refuse(self._shape, mask._shape)
            if shape != self._shape:
                raise errors.InvalidArgumentError(f"output with shape {list(self._shape)} doesn't match the broadcast shape {list(shape)}")
        if isinstance(value, Tensor):
            source = self.clone() if is_grad_enabled() and (self._requires_grad or value._requires_grad) else self
            return self.copy_(source.masked_fill(mask, value))
        if isinstance(mask, Tensor) and mask._dtype is not None and mask._dtype != bool_:
            raise errors.InvalidArgumentError(f"masked_fill_ only supports boolean masks, but got mask with dtype {_CPP_TYPE_NAMES[mask._dtype]}")
        _check_fill(value, self._dtype)
        return _op_into("masked_fill", self, (mask,), {"value": value})

    def pow_(self, exponent):
        return _op_into("pow", self, (exponent,))

    def square_(self):
        return self.pow_(2)

    def round_(self, decimals=0):
        return _op_into("round", self, (), {"decimals": decimals} if decimals else None)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Uniform samples in [a, b) from ``generator`` or the session's generator, written into this tensor."""
        samples = self._session.rand(*self.shape, generator=generator, dtype=self.dtype)
        return self.copy_(samples * (b - a) + a if (a, b) != (0.0, 1.0) else samples)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Normal samples from ``generator`` or the session's generator, written into this tensor."""
        samples = self._session.randn(*self.shape, generator=generator, dtype=self.dtype)
        return self.copy_(samples * std + mean if (mean, std) != (0.0, 1.0) else samples)

    def bernoulli_(self, p=0.5, *, generator=None):
        """0/1 samples, each 1 with probability ``p`` (a number or a tensor), written into this tensor."""
        samples = self._session.rand(*self.shape, generator=generator, dtype=self.dtype if is_floating(self.dtype) else defaults.current)
        return self.copy_((samples < p).to(self.dtype))

    def exponential_(self, lambd=1.0, *, generator=None):
        """Exponential samples of rate ``lambd`` (-log(1 - u) / lambd), written into this tensor."""
        return self.copy_(-(1.0 - self._session.rand(*self.shape, generator=generator, dtype=self.dtype)).log() / lambd)

    # sampling, from the session's generator (reproducible under manual_seed, but not PyTorch's sequence)
    def bernoulli(self, *, generator=None):
        """0/1 samples, 1 with the probability each element of this tensor holds, as ``torch.bernoulli``."""
        return (self._session.rand(*self.shape, generator=generator, dtype=self.dtype) < self.detach()).to(self.dtype)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """``num_samples`` category indices per row of weights (1-D or 2-D), as ``torch.multinomial``: with
        ``replacement`` by the inverse of the cumulative weights, without it by the Gumbel top-k trick (the
        ``num_samples`` largest log-weights plus Gumbel noise: a draw without replacement, weight by weight)."""
        if self.ndim not in (1, 2):
            raise errors.InvalidArgumentError("prob_dist must be 1 or 2 dim")
        if not is_floating(self.dtype):
            raise errors.InvalidArgumentError("multinomial only supports floating-point dtypes for input")
        if num_samples <= 0:
            raise errors.InvalidArgumentError("cannot sample n_sample <= 0 samples")
        n = self.shape[-1]
        if not replacement and num_samples > n:
            raise errors.InvalidArgumentError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        weights = _op("probabilities", (self.detach() if self.ndim == 2 else self.detach().unsqueeze(0),))  # checked on the server
        rows = weights.shape[0]
        if replacement:
            cumulative = weights.cumsum(-1)
            cumulative = cumulative / cumulative[:, -1:]
            u = self._session.rand(rows, num_samples, 1, generator=generator, dtype=self.dtype)
            picked = (u >= cumulative.unsqueeze(1)).sum(-1).clamp_max(n - 1)  # (1.0 - rounding: never past the last)
        else:
            gumbel = -(-(1.0 - self._session.rand(rows, n, generator=generator, dtype=self.dtype)).log()).log()
            picked = (weights.log() + gumbel).topk(num_samples, dim=-1).indices
        return picked if self.ndim == 2 else picked.squeeze(0)

    def addcmul_(self, tensor1, tensor2, value=1):
        tensor1, tensor2 = _addc_operands("addcmul", self, tensor1, tensor2)
        return self.add_(_scaled(tensor1 * tensor2, value))

    def addcdiv_(self, tensor1, tensor2, value=1):
        tensor1, tensor2 = _addc_operands("addcdiv", self, tensor1, tensor2)
        return self.add_(_scaled(tensor1 / tensor2, value))

    def lerp_(self, end, weight):
        _check_lerp(self, end, weight)
        return self.add_((end - self) * weight)

    def cumprod(self, dim, *, dtype=None):
        """Running products along ``dim``; ``dtype``: computed in that dtype, as PyTorch's."""
        return _in_dtype(_op("cumprod", (self if dtype is None else self.to(dtype),), {"dim": dim}), dtype)

    def nonzero(self, *, as_tuple=False):
        """The indices of the nonzero elements, (n, ndim) int64 (``as_tuple``: one index tensor per dim), as PyTorch's."""
        indices = _op("nonzero", (self,))
        return tuple(indices[:, d] for d in range(self.ndim)) if as_tuple else indices

    def argwhere(self):
        return self.nonzero()

    def scatter_add(self, dim, index, src):
        """This tensor with ``src``'s elements added along ``dim`` at ``index`` (repeats add), as ``torch.scatter_add``."""
        if not isinstance(index, Tensor):
            index = self._session.tensor(np.asarray(index, dtype=np.int64))
        return _op("scatter_add", (self, index, src), {"dim": dim})

    def index_select(self, dim, index):
        """The slices of ``dim`` that the 1-D integer ``index`` names, as ``torch.index_select``."""
        if isinstance(index, Tensor) and index._dtype is not None and index._dtype not in (int32, int64):
            raise errors.InvalidArgumentError("index_select(): Expected dtype int32 or int64 for index")  # (not a mask)
        dim = _wrap_dim(dim, self.ndim)
        if getattr(index, "ndim", 1) > 1:  # x[:, index] would pick a block of that shape; PyTorch refuses it
            raise IndexError("index_select(): Index is supposed to be a vector")
        if isinstance(index, Tensor) and index.ndim == 0:  # one index: the dim stays, of size 1, as PyTorch's
            index = index.reshape(1)
        if self.ndim == 0:  # its one element, by one index, still 0-d (as PyTorch's)
            count = index.numel() if isinstance(index, Tensor) else len(index)
            if count != 1:
                raise errors.InvalidArgumentError(f"index_select(): Index to scalar can have only 1 value, got {count} value(s)")
            return self.reshape(1)._index((index,), "index_select").reshape(())
        return self._index((slice(None),) * dim + (index,), "index_select")

    def masked_select(self, mask):
        """The elements where ``mask`` (broadcast to this shape) holds, 1-D, as ``torch.masked_select``."""
        return self.expand(np.broadcast_shapes(self.shape, mask.shape))[mask.expand(np.broadcast_shapes(self.shape, mask.shape))]

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The diagonal of dims ``dim1`` and ``dim2`` (``offset`` above it, or below when negative) as the last dim, as PyTorch's."""
        n = self.ndim
        dim1, dim2 = _wrap_dim(dim1, n), _wrap_dim(dim2, n)
        if dim1 == dim2:
            raise errors.InvalidArgumentError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return _op("diagonal", (self,), {"offset": int(offset), "dim1": dim1, "dim2": dim2})  # a view: writes reach self

    def diag(self, diagonal=0):
        """A 1-D tensor's values on a square matrix's ``diagonal``, or a matrix's diagonal, as ``torch.diag``."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise errors.InvalidArgumentError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")
        square = self._session.eye(self.shape[0], dtype=self.dtype) * self  # the values on the main diagonal
        k = abs(diagonal)
        return _op("pad", (square,), {"pad": (k, 0, 0, k) if diagonal >= 0 else (0, k, k, 0)}) if k else square

    @_amp.autocast_op("trace")
    def trace(self):
        if self.ndim != 2:
            raise errors.InvalidArgumentError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        if self._dtype == bool_:
            raise errors.UnimplementedError('"trace" not implemented for \'Bool\'')
        return self.diagonal().sum()

    def lerp(self, end, weight):
        """``self + weight * (end - self)`` below weight 0.5, ``end - (end - self) * (1 - weight)`` from it, as ``torch.lerp``."""
        _check_lerp(self, end, weight)
        if isinstance(weight, Tensor):
            return where(weight.abs() < 0.5, self + weight * (end - self), end - (end - self) * (1 - weight))
        return self + weight * (end - self) if abs(weight) < 0.5 else end - (end - self) * (1 - weight)

    @_amp.autocast_op("addmm")
    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        _refuse_addmm_dtypes(self, mat1, mat2)
        return _scaled(self, beta) + _scaled(mat1.mm(mat2), alpha)

    def addcmul(self, tensor1, tensor2, *, value=1):
        tensor1, tensor2 = _addc_operands("addcmul", self, tensor1, tensor2)
        return self + _scaled(tensor1 * tensor2, value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        tensor1, tensor2 = _addc_operands("addcdiv", self, tensor1, tensor2)
        return self + _scaled(tensor1 / tensor2, value)

    def hypot(self, other):
        """sqrt(self^2 + other^2), inf where either is infinite, as ``torch.hypot``."""
        return _op("hypot", (self, other))

    def igamma(self, other):
        """The regularized lower incomplete gamma function P(self, other), as ``torch.igamma`` (``special.gammainc``):
        a gradient for ``other`` only, as PyTorch's."""
        return _op("gammainc", (self, other))

    def igammac(self, other):
        """The regularized upper incomplete gamma function Q(self, other) = 1 - P, as ``torch.igammac``."""
        return _op("gammaincc", (self, other))

    def igamma_(self, other):
        return _op_into("gammainc", self, (other,))

    def igammac_(self, other):
        return _op_into("gammaincc", self, (other,))

    def logaddexp(self, other):
        """log(exp(self) + exp(other)), without overflow, as ``torch.logaddexp``."""
        return _op("logaddexp", (self, other))

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """NaN, +inf and -inf replaced (by 0 and the dtype's largest and smallest finite values unless given)."""
        if self.dtype.kind == "c":  # each part on its own, as PyTorch's
            from .complexes import complex

            return complex(self.real.nan_to_num(nan, posinf, neginf), self.imag.nan_to_num(nan, posinf, neginf))
        if not is_floating(self.dtype):
            return self.clone()
        info = floats.finfo_of(self.dtype)
        out = self.masked_fill(self.isnan(), nan)
        out = out.masked_fill(out == float("inf"), float(info.max) if posinf is None else posinf)
        return out.masked_fill(out == float("-inf"), float(info.min) if neginf is None else neginf)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """Elementwise ``|self - other| <= atol + rtol * |other|`` (infinities equal to themselves), as ``torch.isclose``."""
        if isinstance(other, Tensor) and self.dtype != other.dtype:
            raise errors.InvalidArgumentError(f"{_TENSOR_TYPE_NAMES[self.dtype]} did not match {_TENSOR_TYPE_NAMES[other.dtype]}")
        if self._dtype == bool_:  # (no subtraction of bools: close is equal)
            return self == other
        error = (self - other).abs()  # an infinity is close only to itself: its error is not finite
        close = (error.isfinite() & (error <= atol + rtol * other.abs())) | (self == other)
        return close | (self.isnan() & other.isnan()) if equal_nan else close

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        """Differences of neighbours along ``dim``, ``n`` times, after ``prepend`` and ``append`` are joined on along
        it, as ``torch.diff`` (bools differ by xor)."""
        if self.ndim == 0:
            raise errors.InvalidArgumentError("diff expects input to be at least one-dimensional")
        if n < 0:
            raise errors.InvalidArgumentError(f"order must be non-negative but got {n}")
        dim = _wrap_dim(dim, self.ndim)
        for name, extra in (("prepend", prepend), ("append", append)):
            if extra is None:
                continue
            if not isinstance(extra, Tensor):
                raise TypeError(f"diff(): argument '{name}' must be Tensor, not {type(extra).__name__}")
            if extra.ndim != self.ndim:
                raise errors.InvalidArgumentError("diff expects prepend or append to be the same dimension as input")
            for d, (ours, theirs) in enumerate(zip(self.shape, extra.shape)):
                if d != dim and ours != theirs:
                    raise errors.InvalidArgumentError(
                        "diff expects the shape of tensor to prepend or append to match that of input except along the "
                        f"differencing dimension; input.size({d}) = {ours}, but got tensor.size({d}) = {theirs}"
                    )
        out = self if prepend is None and append is None else cat([t for t in (prepend, self, append) if t is not None], dim)
        lead = (slice(None),) * dim
        for _ in range(n):
            after, before = out[lead + (slice(1, None),)], out[lead + (slice(None, -1),)]
            out = after != before if out.dtype == bool_ else after - before  # bools differ by xor, as PyTorch's
        return out

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        """Each element (of ``dim``; of the flattened tensor by default) repeated ``repeats`` times in place, as
        ``torch.repeat_interleave``: an int, or a tensor of counts, one per element (read here: a sync point, as the
        output's size depends on them); ``t.repeat_interleave()`` alone: each index repeated ``t[index]`` times."""
        if repeats is None:  # torch.repeat_interleave(counts): the indices, each as often as its count
            counts = self._repeat_counts(self.numel())
            self._session._check_made_here("a repeat_interleave tensor", int(counts.sum()), int64)  # (the index is made here)
            return self._session.tensor(np.repeat(np.arange(self.numel()), counts))
        x = self.reshape(-1) if dim is None else self
        dim = 0 if dim is None else _wrap_dim(dim, x.ndim)
        if isinstance(repeats, Tensor):
            counts = repeats._repeat_counts(x.shape[dim] if x.ndim else 1, dim)
            if counts.size != 1:
                x._session._check_made_here("the output of repeat_interleave", int(counts.sum()) * (x.numel() // max(x.shape[dim], 1)), x.dtype)
                return x[(slice(None),) * dim + (np.repeat(np.arange(x.shape[dim]), counts),)]
            repeats = int(counts[0])
        if repeats < 0:
            raise errors.InvalidArgumentError("Repeats must be non-negative")
        shape = x.shape
        spread = x.unsqueeze(dim + 1).expand(shape[: dim + 1] + (int(repeats),) + shape[dim + 1 :])
        return spread.reshape(shape[:dim] + (shape[dim] * int(repeats),) + shape[dim + 1 :])

    def _repeat_counts(self, size, dim=0) -> np.ndarray:
        """This tensor's values as repeat counts for the ``size`` elements along ``dim``, checked as PyTorch checks them."""
        if self.ndim > 1:
            raise errors.InvalidArgumentError("repeats must be 0-dim or 1-dim tensor")
        if self.dtype.kind not in "iu":
            raise errors.UnimplementedError(f'"repeat_interleave_cpu" not implemented for \'{_TENSOR_TYPE_NAMES.get(self.dtype, self.dtype.name)}\'')
        counts = np.asarray(self.tolist(), dtype=np.int64).reshape(-1)
        if (counts < 0).any():
            raise errors.InvalidArgumentError("repeats can not be negative")
        if counts.size != 1 and counts.size != size:
            raise errors.InvalidArgumentError(f"repeats must have the same size as input along dim, but got repeats.size(0) = {counts.size} "
                                              f"and input.size({dim}) = {size}")
        return counts

    def kron(self, other):
        """The Kronecker product, as ``torch.kron``."""
        n = max(self.ndim, other.ndim)
        a = self.reshape((1,) * (n - self.ndim) + self.shape)
        b = other.reshape((1,) * (n - other.ndim) + other.shape)
        spread = a.reshape(tuple(d for size in a.shape for d in (size, 1))) * b.reshape(tuple(d for size in b.shape for d in (1, size)))
        return spread.reshape(tuple(p * q for p, q in zip(a.shape, b.shape)))

    def cross(self, other, dim=None):
        """The cross product of 3-vectors along ``dim`` (the first of size 3 by default), as ``torch.linalg.cross``."""
        if _dtypes_differ(self, other):
            raise _scalar_type_error(self._dtype, other._dtype)
        dim = next(d for d, n in enumerate(self.shape) if n == 3) if dim is None else _wrap_dim(dim, self.ndim)
        lead = (slice(None),) * dim
        a = [self[lead + (k,)] for k in range(3)]
        b = [other[lead + (k,)] for k in range(3)]
        return stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]], dim)

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def expand_as(self, other):
        return self.expand(other.shape)

    def unbind(self, dim=0):
        """The slices along ``dim``, each without it, as ``torch.unbind``."""
        dim = _wrap_dim(dim, self.ndim)
        return tuple(self[(slice(None),) * dim + (i,)] for i in range(self.shape[dim]))

    def split(self, split_size_or_sections, dim=0):
        """Pieces along ``dim`` of ``split_size`` each (the last may be smaller) or of the sizes listed, as ``torch.split``."""
        dim = _wrap_dim(dim, self.ndim)
        length = self.shape[dim]
        split_size_or_sections = _as_int(split_size_or_sections)
        if isinstance(split_size_or_sections, int):
            if split_size_or_sections <= 0:
                raise errors.InvalidArgumentError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {length}")
            sizes = [min(split_size_or_sections, length - start) for start in range(0, length, split_size_or_sections)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != length:
                raise errors.InvalidArgumentError(
                    f"split_with_sizes expects split_sizes to sum exactly to {length} (input tensor's size at dimension {dim}), "
                    f"but got split_sizes={sizes}"
                )
        starts = np.cumsum([0] + sizes[:-1]).tolist()
        return tuple(self[(slice(None),) * dim + (slice(start, start + size),)] for start, size in zip(starts, sizes))

    def chunk(self, chunks, dim=0):
        """At most ``chunks`` pieces of equal size along ``dim`` (the last may be smaller), as ``torch.chunk``."""
        chunks = _as_int(chunks)
        if chunks <= 0:
            raise errors.InvalidArgumentError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
        length = self.shape[_wrap_dim(dim, self.ndim)]
        return self.split(max(1, -(-length // chunks)), dim)

    def transpose(self, dim0, dim1):
        return _op("transpose", (self,), {"dim0": dim0, "dim1": dim1})

    def t(self):
        if self.ndim > 2:
            raise errors.InvalidArgumentError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        out = self.transpose(0, 1) if self.ndim == 2 else self[...]  # (a view, as PyTorch's, even of a 0-d or 1-d tensor)
        if out._requires_grad and not out._is_leaf:
            out._grad_fn = ("TBackward0", None)  # PyTorch's node for t() (the server records a transpose)
        return out

    def permute(self, *dims):
        dims = _sizes(dims)
        if self._shape is not None and len(dims) != len(self._shape):  # PyTorch checks the count before the dims
            raise errors.InvalidArgumentError(
                "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of "
                f"dimensions i.e. input.dim() = {len(self._shape)} is not equal to len(dims) = {len(dims)}")
        return _op("permute", (self,), {"dims": dims})

    def expand(self, *sizes):
        return _op("expand", (self,), {"sizes": _sizes(sizes)})

    def squeeze(self, dim=None):
        return _op("squeeze", (self,), {"dim": dim})

    def unsqueeze(self, dim):
        return _op("unsqueeze", (self,), {"dim": dim})

    def matmul(self, other):
        return _op("matmul", (self, other))

    def clone(self, memory_format=None):
        _check_placement(memory_format=memory_format)
        return _op("clone", (self,))

    def swapaxes(self, axis0, axis1):
        """``transpose(axis0, axis1)``, NumPy's name, as ``torch.swapaxes``."""
        return self.transpose(axis0, axis1)

    def swapdims(self, dim0, dim1):
        """``transpose(dim0, dim1)``, as ``torch.swapdims``."""
        return self.transpose(dim0, dim1)

    def polygamma(self, n):
        """The ``n``-th derivative of digamma, elementwise, as ``torch.Tensor.polygamma`` (``torch.polygamma(n, x)``)."""
        if n < 0:
            raise errors.InvalidArgumentError("polygamma(n, x) does not support negative n.")
        return _op("polygamma", (self,), {"n": n})

    def cummax(self, dim):
        """``(values, indices)``: the running maximum along ``dim`` and where it was (last) reached, as ``torch.cummax``."""
        return cummax_result(*_op("cummax", (self,), {"dim": dim}, outputs=2))

    def cummin(self, dim):
        """``(values, indices)``: the running minimum along ``dim`` and where it was (last) reached, as ``torch.cummin``."""
        return cummin_result(*_op("cummin", (self,), {"dim": dim}, outputs=2))

    def frac(self):
        """The fractional part, ``x - trunc(x)`` (its sign is x's), as ``torch.frac``; its gradient passes unchanged."""
        if not is_floating(self.dtype):
            raise errors.UnimplementedError(f'"frac_cpu" not implemented for \'{_TENSOR_TYPE_NAMES.get(self.dtype, self.dtype.name)}\'')
        return self - self.trunc()

    def fmax(self, other):
        """The elementwise maximum where a NaN loses to a number, as ``torch.fmax``: at a tie the gradient goes to ``self``."""
        return _nan_ignoring_extreme("fmax", self, other, self.ge)

    def fmin(self, other):
        """The elementwise minimum where a NaN loses to a number, as ``torch.fmin``: at a tie the gradient goes to ``self``."""
        return _nan_ignoring_extreme("fmin", self, other, self.le)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        """The sum over ``dim`` with NaNs counted as zero (they get no gradient), as ``torch.nansum``."""
        x = self if dtype is None else self.to(dtype)
        return (x.masked_fill(x.isnan(), 0) if is_floating(x.dtype) else x).sum(dim, keepdim)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        """The mean over ``dim`` of the elements that are not NaN, as ``torch.nanmean``."""
        x = self if dtype is None else self.to(dtype)
        if not is_floating(x.dtype):
            raise errors.InvalidArgumentError(
                f"nanmean(): expected input to have floating point or complex dtype but got {_TENSOR_TYPE_NAMES.get(x.dtype, x.dtype.name)}"
            )
        count = x.isnan().logical_not().sum(dim, keepdim)
        empty = count == 0  # all NaN: PyTorch's nansum / 0 passes each element a NaN gradient
        mean = x.nansum(dim, keepdim) / where(empty, 1, count)
        return where(empty, x.sum(dim, keepdim) * where(empty, math.nan, 0.0).to(x.dtype), mean)  # (float16 stays float16)

    def take(self, index):
        """The elements at ``index`` of this tensor read as 1-D, in ``index``'s shape, as ``torch.take``."""
        index = _as_index(self, index)
        if index.dtype != int64:
            raise errors.InvalidArgumentError(f"take(): Expected a long tensor for index, but got {_TENSOR_TYPE_NAMES.get(index.dtype, index.dtype.name)}")
        return self.reshape(-1)._index((index,), "take")

    def take_along_dim(self, indices, dim=None):
        """Along ``dim``, the elements that ``indices`` names (both broadcast over the other dims), as ``torch.take_along_dim``;
        with no dim, ``take_along_dim`` of both flattened."""
        indices = _as_index(self, indices)
        if indices.dtype.kind not in "iu":
            raise errors.InvalidArgumentError("torch.take_along_dim(): dtype of indices should be Long but got " + _TENSOR_TYPE_NAMES.get(indices.dtype, str(indices.dtype)))
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        if self.ndim != indices.ndim:
            raise errors.InvalidArgumentError(
                "torch.take_along_dim(): input and indices should have the same number of dimensions, but got "
                f"{self.ndim} dimensions for input, and {indices.ndim} dimensions for indices"
            )
        dim = _wrap_dim(dim, self.ndim)
        x_shape, i_shape = list(self.shape), list(indices.shape)
        x_shape[dim] = i_shape[dim] = 1
        shape = np.broadcast_shapes(tuple(x_shape), tuple(i_shape))
        x = self.expand(shape[:dim] + (self.shape[dim],) + shape[dim + 1 :]) if tuple(x_shape) != shape else self
        indices = indices.expand(shape[:dim] + (indices.shape[dim],) + shape[dim + 1 :]) if tuple(i_shape) != shape else indices
        return x.gather(dim, indices)

    @_amp.autocast_op("baddbmm")
    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """``beta * self + alpha * (batch1 @ batch2)`` of (b, n, m) and (b, m, p) batches, as ``torch.baddbmm``."""
        if _dtypes_differ(self, batch1):  # (batch1 against batch2: bmm's refusal)
            raise errors.InvalidArgumentError(f"Input dtypes must be the same, got: input {_CPP_TYPE_NAMES[self._dtype]}, batch1: "
                                              f"{_CPP_TYPE_NAMES[batch1._dtype]}, batch2: {_CPP_TYPE_NAMES[batch2._dtype]}")
        return _beta_scaled(self, beta) + _scaled(batch1.bmm(batch2), alpha)

    @_amp.autocast_op("addbmm")
    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """``beta * self + alpha * sum_b (batch1[b] @ batch2[b])``, as ``torch.addbmm``."""
        _check_ranks("bmm", batch1, batch2, (3, 3))
        _refuse_addmm_dtypes(self, batch1, batch2)
        if batch1.shape[0] != batch2.shape[0]:
            raise errors.InvalidArgumentError(f"batch1 and batch2 must have same number of batches, got {batch1.shape[0]} and {batch2.shape[0]}")
        return _beta_scaled(self, beta) + _scaled(batch1.bmm(batch2).sum(0), alpha)

    @_amp.autocast_op("addmv")
    def addmv(self, mat, vec, *, beta=1, alpha=1):
        """``beta * self + alpha * (mat @ vec)``, as ``torch.addmv``."""
        if isinstance(mat, Tensor) and isinstance(vec, Tensor) and mat.ndim == 2 and vec.ndim == 1 and mat.shape[1] != vec.shape[0]:
            raise errors.InvalidArgumentError(f"size mismatch, got input ({', '.join(map(str, self.shape))}), mat ({mat.shape[0]}x{mat.shape[1]}), vec ({vec.shape[0]})")
        if _dtypes_differ(self, mat, vec):
            raise errors.InvalidArgumentError("addmv input tensors must have the same dtype, but got "
                                              f"{_TENSOR_TYPE_NAMES[self._dtype]}, {_TENSOR_TYPE_NAMES[mat._dtype]}, and {_TENSOR_TYPE_NAMES[vec._dtype]}")
        return _beta_scaled(self, beta) + _scaled(mat.mv(vec), alpha)

    @_amp.autocast_op("addr")
    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        """``beta * self + alpha * outer(vec1, vec2)``, as ``torch.addr``."""
        for name, v in (("vec1", vec1), ("vec2", vec2)):
            if v.ndim != 1:
                raise errors.InvalidArgumentError(f"addr: Expected 1-D argument {name}, but got {v.ndim}-D")
        return _beta_scaled(self, beta) + _scaled(vec1.outer(vec2), alpha)

    @_amp.autocast_op("dist")
    def dist(self, other, p=2):
        """The ``p``-norm of ``self - other`` (broadcast), as ``torch.dist``."""
        return (self - other).norm(p)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        """Each last-dim vector on the ``offset`` diagonal of a matrix in dims ``dim1`` and ``dim2`` of the output, zeros
        elsewhere, as ``torch.diag_embed``."""
        n = self.ndim + 1
        d1, d2 = _wrap_dim(dim1, n), _wrap_dim(dim2, n)
        if d1 == d2:
            raise errors.InvalidArgumentError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        size = self.shape[-1] if self.ndim else 1
        vectors = self.reshape(1) if not self.ndim else self
        square = self._session.eye(size, dtype=self.dtype) * vectors.unsqueeze(-2)  # [..., i, j] = x[..., j] where i == j
        k = abs(offset)
        if k:
            square = _op("pad", (square,), {"pad": (k, 0, 0, k) if offset >= 0 else (0, k, k, 0)})
        return square.movedim((-2, -1), (d1, d2))

    def logit(self, eps=None):
        """log(p / (1 - p)), with p clamped to [eps, 1 - eps] first when ``eps`` is given, as ``torch.logit``."""
        return _op("logit", (self,), None if eps is None else {"eps": float(eps)})

    def xlogy(self, other):
        """``self * log(other)``, 0 where self is 0 (unless other is NaN), as ``torch.xlogy``."""
        return _op("xlogy", (self, other))

    def sinc(self):
        """sin(pi x) / (pi x), 1 at 0 (where its gradient is 0), as ``torch.sinc``."""
        at_zero = self == 0
        safe = self.masked_fill(at_zero, 1.0) * math.pi
        return where(at_zero, 1.0, safe.sin() / safe)

    # --- more of torch's maths: aliases, number-theory and floating-point functions, predicates, statistics ---------
    def div(self, other, *, rounding_mode=None):
        """``self / other`` (integers divide in the default float dtype); ``rounding_mode="trunc"`` or ``"floor"``: the
        quotient rounded toward zero or down, in the inputs' dtype, with a zero gradient, as ``torch.div``."""
        if rounding_mode is None:
            return _op("div", (self, other))
        if rounding_mode not in ("trunc", "floor"):
            raise errors.InvalidArgumentError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
        if rounding_mode == "trunc" and self._dtype == bool_ and (other._dtype == bool_ if isinstance(other, Tensor) else isinstance(other, bool)):
            raise errors.UnimplementedError('"div_trunc_cpu" not implemented for \'Bool\'')
        quotient = self.detach().floor_divide(other.detach() if isinstance(other, Tensor) else other)
        if rounding_mode == "trunc":
            if is_floating(quotient.dtype):
                quotient = (self.detach() / (other.detach() if isinstance(other, Tensor) else other)).trunc()
            else:  # floor's quotient, one up where it was negative and inexact
                quotient = quotient + ((quotient < 0) & (quotient * other != self)).to(quotient.dtype)
        if is_floating(quotient.dtype) and is_grad_enabled() and any(isinstance(t, Tensor) and t._requires_grad for t in (self, other)):
            # PyTorch's rounded division passes a zero gradient: the quotient chosen everywhere over self / other
            everywhere = self._session.full(tuple(quotient.shape), True, dtype=bool_)
            return where(everywhere, quotient, self / other)
        return quotient

    divide = div

    def true_divide(self, other):
        """``self / other``, as ``torch.true_divide``."""
        return _op("div", (self, other))

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return self._inplace("div", other)
        return _written(self, Tensor.div, other, rounding_mode=rounding_mode)

    divide_ = div_

    def true_divide_(self, other):
        return self._inplace("div", other)

    def subtract(self, other, *, alpha=1):
        """``self - alpha * other``, as ``torch.subtract``."""
        return _op("sub", (self, _scaled(other, alpha)))

    def subtract_(self, other, *, alpha=1):
        return self.sub_(other, alpha)

    def positive(self):
        """This tensor itself, as ``torch.positive`` (``+x``); refused on a bool tensor, in PyTorch's words."""
        if self.dtype == bool_:
            raise errors.InvalidArgumentError("The `+` operator, on a bool tensor is not supported.")
        return self

    __pos__ = positive

    def deg2rad(self):
        """Degrees to radians, as ``torch.deg2rad`` (integers compute in the default float dtype)."""
        return self * (math.pi / 180)

    def rad2deg(self):
        """Radians to degrees, as ``torch.rad2deg`` (integers compute in the default float dtype)."""
        return self * (180 / math.pi)

    def deg2rad_(self):
        return _written(self, Tensor.deg2rad)

    def rad2deg_(self):
        return _written(self, Tensor.rad2deg)

    def logaddexp2(self, other):
        """log2(2**self + 2**other), without overflow, as ``torch.logaddexp2``."""
        top = maximum(self, other).detach()
        top = where(top.isfinite(), top, 0.0)
        return ((self - top).exp2() + (other - top).exp2()).log2() + top

    def float_power(self, exponent):
        """``self ** exponent`` in float64 (both operands made float64 first), as ``torch.float_power``."""
        return self.to(float64).pow(exponent.to(float64) if isinstance(exponent, Tensor) else exponent)

    def float_power_(self, exponent):
        if self.dtype != float64:
            raise errors.InvalidArgumentError(
                f"the base given to float_power_ has dtype {_TENSOR_TYPE_NAMES.get(self.dtype, self.dtype.name)} but the operation's result "
                "requires dtype Double"
            )
        return self.pow_(exponent.to(float64) if isinstance(exponent, Tensor) else exponent)

    def heaviside(self, values):
        """1 where this tensor is above zero, ``values`` where it is zero, 0 elsewhere (NaN included), as ``torch.heaviside``:
        ``values`` a tensor of the same dtype. No derivative, as PyTorch's: a backward through it says so."""
        _check_heaviside(self, values)
        return _op("heaviside", (self, values))

    def heaviside_(self, values):
        _check_heaviside(self, values)
        return _inplace_op(self, "heaviside", (values,))

    def signbit(self):
        """Whether the sign bit is set (-0.0 and a negative NaN too), as ``torch.signbit``."""
        return _op("signbit", (self,))

    def copysign(self, other):
        """|self| with the sign of ``other`` (its sign bit: -0.0 counts as negative), in a float dtype, as ``torch.copysign``;
        the gradient to self is ``sign(self) * sign(result)`` (0 at self = 0), zeros to other."""
        return _op("copysign", (self, other))


    def gcd(self, other):
        """The greatest common divisor (non-negative), elementwise, of integer tensors, as ``torch.gcd``."""
        return _integer_pair("gcd", self, other)

    def lcm(self, other):
        """The least common multiple (non-negative), elementwise, of integer tensors, as ``torch.lcm``."""
        return _integer_pair("lcm", self, other)

    def gcd_(self, other):
        _integer_pair("gcd", self, other, check_only=True)
        return _inplace_op(self, "gcd", (other,))

    def lcm_(self, other):
        _integer_pair("lcm", self, other, check_only=True)
        return _inplace_op(self, "lcm", (other,))

    def ldexp(self, other):
        """``self * 2**other``, as ``torch.ldexp`` (in a float dtype; differentiable in both)."""
        return self * (2.0**other if isinstance(other, Tensor) else float(2.0**other))

    def ldexp_(self, other):
        return _written(self, Tensor.ldexp, other)

    def frexp(self):
        """``(mantissa, exponent)`` with self = mantissa * 2**exponent and |mantissa| in [0.5, 1) (0 for 0), the exponent
        int32, as ``torch.frexp``; the mantissa's gradient is g / 2**exponent."""
        if not is_floating(self.dtype):
            raise errors.InvalidArgumentError("torch.frexp() only supports floating-point dtypes")
        mantissa, exponent = _op("frexp", (self,), outputs=2)
        exponent._dtype = int32
        return frexp_result(mantissa, exponent)

    def nextafter(self, other):
        """The next float after self toward ``other``, elementwise, as ``torch.nextafter`` (its gradient passes to self)."""
        _check_nextafter(self, other)
        return _op("nextafter", (self, other))

    def nextafter_(self, other):
        _check_nextafter(self, other)
        return _inplace_op(self, "nextafter", (other,))

    def isposinf(self):
        """Whether each element is +inf, as ``torch.isposinf``."""
        return self == math.inf

    def isneginf(self):
        """Whether each element is -inf, as ``torch.isneginf``."""
        return self == -math.inf

    def is_signed(self) -> bool:
        """Whether the dtype is signed (every float and intN; not uint8 nor bool), as ``torch.Tensor.is_signed``."""
        return self.dtype not in (uint8, bool_)

    def is_nonzero(self) -> bool:
        """The one element's truth, as ``torch.is_nonzero``: a sync point; refused for any other number of elements."""
        n = self.numel()
        if n != 1:
            raise errors.InvalidArgumentError(f"Boolean value of Tensor with {'no values' if n == 0 else 'more than one value'} is ambiguous")
        return bool(self.item())

    def is_same_size(self, other) -> bool:
        return tuple(self.shape) == tuple(other.shape)

    def logcumsumexp(self, dim):
        """log(cumsum(exp(self))) along ``dim``, one logaddexp at a time (no underflow where the terms are far apart), as
        ``torch.logcumsumexp``."""
        if self._dtype is not None and not is_floating(self._dtype):
            raise errors.UnimplementedError(f'"logcumsumexp_out_cpu" not implemented for \'{_TENSOR_TYPE_NAMES.get(self._dtype, self._dtype.name)}\'')
        return _op("logcumsumexp", (self,), {"dim": dim})

    def nanmedian(self, dim=None, keepdim=False):
        """The lower median of the values that are not NaN (NaN where all are), as ``torch.nanmedian``: of everything, a
        0-d tensor; along ``dim``, a named tuple ``(values, indices)``. The gradient goes to the element picked."""
        if not is_floating(self.dtype):
            return self.median() if dim is None else self.median(dim, keepdim)
        if dim is None:
            flat = self.reshape(-1)
            ordered = flat.sort().values  # NaN sort last
            pick = ((flat.isnan().logical_not().sum() - 1).clamp(min=0) // 2).reshape(1)
            return ordered.gather(0, pick).reshape(())
        d = _wrap_dim(dim, self.ndim)
        x = self.reshape(1) if self.ndim == 0 else self
        values, indices = x.sort(d)
        pick = (x.isnan().logical_not().sum(d, keepdim=True) - 1).clamp(min=0) // 2
        values, indices = values.gather(d, pick), indices.gather(d, pick)
        if self.ndim == 0:
            values, indices = values.reshape(()), indices.reshape(())
        elif not keepdim:
            values, indices = values.squeeze(d), indices.squeeze(d)
        return nanmedian_result(values, indices)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """``quantile`` of the values that are not NaN (NaN where all are: the first of them, sorted), as
        ``torch.nanquantile``."""
        if interpolation not in ("linear", "lower", "higher", "nearest", "midpoint"):
            raise errors.InvalidArgumentError(f"quantile() interpolation must be one of linear, lower, higher, midpoint or nearest, but got {interpolation}")
        return _quantile(self, q, dim, keepdim, interpolation, ignore_nan=True)

    def cov(self, *, correction=1, fweights=None, aweights=None):
        """The covariance of the rows (variables) over the columns (observations), as ``torch.cov``: ``fweights`` (integer
        counts) and ``aweights`` (importance) weigh the observations; a single variable gives a 0-d tensor."""
        if self.ndim > 2:
            raise errors.InvalidArgumentError(f"cov(): expected input to have two or fewer dimensions but got an input with {self.ndim} dimensions")
        x = self.reshape(1, -1) if self.ndim < 2 else self
        if not is_inexact(x.dtype):
            x = x.to(defaults.current)
        weights = fweights
        if aweights is not None:
            weights = aweights if weights is None else weights * aweights
        if weights is None:
            mean, norm = x.mean(1, keepdim=True), max(x.shape[1] - correction, 0)
        else:
            total = weights.sum()
            mean = (x * weights).sum(1, keepdim=True) / total
            if correction == 0:
                norm = total
            elif aweights is None:
                norm = total - correction
            else:
                norm = total - correction * (weights * aweights).sum() / total
            norm = norm.clamp(min=0)
        centred = x - mean
        return ((centred * weights if weights is not None else centred).matmul(centred.T.conj()) / norm).squeeze()  # (conj: complex)

    def corrcoef(self):
        """Pearson's correlation coefficients of the rows, as ``torch.corrcoef``: ``cov`` over the outer product of the
        standard deviations, clipped to [-1, 1]."""
        c = self.cov()
        if c.ndim == 0:
            return c / c
        stddev = c.diagonal().sqrt()
        return (c / stddev.reshape(-1, 1) / stddev.reshape(1, -1)).clamp(-1, 1)

    def inner(self, other):
        """Sums of products over the last dims of both (a 0-d operand: a product), as ``torch.inner``."""
        if self.ndim == 0 or other.ndim == 0:  # (a product: of mixed dtypes too, promoted)
            return self * other
        if self.shape[-1] != other.shape[-1]:
            raise errors.InvalidArgumentError(
                f"inner() the last dimension must match on both input tensors but got shapes {list(self.shape)} and {list(other.shape)}"
            )
        if _dtypes_differ(self, other):
            raise errors.InvalidArgumentError("both inputs should have same dtype")
        return tensordot(self, other, ([self.ndim - 1], [other.ndim - 1]))

    def vdot(self, other):
        """The dot product of two 1-D tensors, the first conjugated (real: ``dot``), as ``torch.vdot``."""
        return self.conj().dot(other)

    def aminmax(self, *, dim=None, keepdim=False):
        """``(min, max)`` over ``dim`` (everything by default), a named tuple, as ``torch.aminmax``; ties share the gradient."""
        dims = () if dim is None else dim
        return aminmax_result(self.amin(dims, keepdim), self.amax(dims, keepdim))

    def msort(self):
        """The values sorted along dim 0, as ``torch.msort``."""
        return self.sort(0).values

    def histogram(self, bins, *, range=None, weight=None, density=False):
        """``(hist, bin_edges)``: counts (or summed ``weight``) of the elements in ``bins`` equal bins over ``range`` (the
        elements' own by default: a sync point) or between the edges of a 1-D tensor ``bins``, the last edge inclusive,
        as ``torch.histogram``; ``density``: normalised to integrate to 1. Not differentiable here (PyTorch's has no
        derivative either)."""
        if not is_floating(self.dtype):
            raise errors.UnimplementedError(f'"histogramdd" not implemented for \'{_TENSOR_TYPE_NAMES.get(self.dtype, self.dtype.name)}\'')
        flat = self.detach().reshape(-1)
        if isinstance(bins, Tensor):
            edges = bins.detach()
        else:
            if bins <= 0:
                raise errors.InvalidArgumentError(f"torch.histogramdd(): bins must be > 0, but got {bins} for dimension 0")
            low, high = (float(range[0]), float(range[1])) if range is not None else (
                (float(flat.min().item()), float(flat.max().item())) if flat.numel() else (0.0, 1.0))  # (empty: [0, 1], as PyTorch's)
            if low > high:
                raise errors.InvalidArgumentError(f"torch.histogramdd: min should not exceed max, but got min {low:g} max {high:g} for dimension 0")
            if low == high:
                low, high = low - 0.5, high + 0.5
            edges = self._session.linspace(low, high, int(bins) + 1, dtype=self.dtype)
        n = edges.shape[0] - 1
        index = (searchsorted(edges, flat, right=True) - 1).clamp(0, n - 1)  # the last edge falls in the last bin
        inside = (flat >= edges[0]) & (flat <= edges[-1])
        counts = inside.to(self.dtype) if weight is None else inside.to(self.dtype) * weight.detach().reshape(-1).to(self.dtype)
        hist = index.bincount(counts, minlength=n).to(self.dtype)
        if density:
            hist = hist / (hist.sum() * edges.diff())
        return histogram_result(hist, edges)

    def renorm(self, p, dim, maxnorm):
        """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to it (``maxnorm / (norm + 1e-7)``),
        as ``torch.renorm``; differentiable through the norm, as PyTorch's."""
        if self.ndim <= 1:
            raise errors.InvalidArgumentError(f"renorm: input needs at least 2 dimensions, got {self.ndim} dimensions")
        if p <= 0:
            raise errors.InvalidArgumentError("renorm: non-positive-norm not supported")
        if maxnorm < 0:
            raise errors.InvalidArgumentError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
        d = _wrap_dim(dim, self.ndim)
        norms = self.norm(p, dim=tuple(k for k in range(self.ndim) if k != d), keepdim=True)
        return self * where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)

    def renorm_(self, p, dim, maxnorm):
        return _written(self, Tensor.renorm, p, dim, maxnorm)

    def mvlgamma(self, p):
        """The log of the multivariate gamma function of dimension ``p``: sum over i < p of lgamma(x - i/2) plus
        p (p - 1) / 4 log(pi), as ``torch.mvlgamma``."""
        if p < 1:
            raise errors.InvalidArgumentError("p has to be greater than or equal to 1")
        shifted = stack([self + (-(p - 1) / 2 + k / 2) for k in range(p)], -1)  # torch's order of the terms
        return shifted.lgamma().sum(-1) + p * (p - 1) * math.log(math.pi) / 4

    def mvlgamma_(self, p):
        return _written(self, Tensor.mvlgamma, p)

    # in place: the ops written into this tensor (torch's Tensor has each; the binary ones below the class)
    def logical_not_(self):
        return _inplace_op(self, "logical_not")

    def bitwise_and_(self, other):
        return _bitwise_into("bitwise_and", self, other)

    def bitwise_or_(self, other):
        return _bitwise_into("bitwise_or", self, other)

    def bitwise_xor_(self, other):
        return _bitwise_into("bitwise_xor", self, other)

    def bitwise_not_(self):
        return _bitwise_into("bitwise_not", self)

    __iand__, __ior__, __ixor__ = bitwise_and_, bitwise_or_, bitwise_xor_  # mask &= other: in place, as torch's

    def cumsum_(self, dim):
        return _inplace_op(self, "cumsum", (), {"dim": dim})

    def cumprod_(self, dim):
        return _inplace_op(self, "cumprod", (), {"dim": dim})

    def tril_(self, diagonal=0):
        return _inplace_op(self, "tril", (), {"diagonal": diagonal})

    def triu_(self, diagonal=0):
        return _inplace_op(self, "triu", (), {"diagonal": diagonal})

    def polygamma_(self, n):
        if n < 0:
            raise errors.InvalidArgumentError("polygamma(n, x) does not support negative n.")
        return _inplace_op(self, "polygamma", (), {"n": n})

    def frac_(self):
        return _written(self, Tensor.frac)

    def logit_(self, eps=None):
        return _written(self, Tensor.logit, eps)

    def hypot_(self, other):
        return _written(self, Tensor.hypot, other)

    def sinc_(self):
        return _written(self, Tensor.sinc)

    def xlogy_(self, other):
        return _written(self, Tensor.xlogy, other)

    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
        return _written(self, Tensor.nan_to_num, nan, posinf, neginf)

    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        return _written(self, Tensor.addmm, mat1, mat2, beta=beta, alpha=alpha)

    def addmv_(self, mat, vec, *, beta=1, alpha=1):
        return _written(self, Tensor.addmv, mat, vec, beta=beta, alpha=alpha)

    def addr_(self, vec1, vec2, *, beta=1, alpha=1):
        return _written(self, Tensor.addr, vec1, vec2, beta=beta, alpha=alpha)

    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return _written(self, Tensor.addbmm, batch1, batch2, beta=beta, alpha=alpha)

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return _written(self, Tensor.baddbmm, batch1, batch2, beta=beta, alpha=alpha)


def _written(target, compute, *args, **kwargs):
    """An in-place op made of others: ``compute(target, *args)`` written into target's memory (recorded by
    autograd as a copy, so the gradient flows through the op), refused first, in PyTorch's words, where it would not fit.
    Where autograd records it the op reads a clone of target: the nodes keep the values they saved, as PyTorch's."""
    recording = is_grad_enabled() and any(isinstance(t, Tensor) and t._requires_grad for t in (target,) + args + tuple(kwargs.values()))
    result = compute(target.clone() if recording else target, *args, **kwargs)
    if result._shape is not None and target._shape is not None and tuple(result._shape) != tuple(target._shape):
        raise errors.InvalidArgumentError(f"output with shape {list(target._shape)} doesn't match the broadcast shape {list(result._shape)}")
    _check_cast(result.dtype, target.dtype)
    return target.copy_(result if result.dtype == target.dtype else result.to(target.dtype))


def _addc_operands(name, self, tensor1, tensor2):
    """addcmul's and addcdiv's factors in the dtype of all three tensors, as PyTorch computes them (uint8 factors of an
    int64 tensor multiply without wrapping); refused where PyTorch refuses them."""
    dtypes = [t._dtype for t in (self, tensor1, tensor2) if isinstance(t, Tensor)]
    if any(dtype is None for dtype in dtypes):  # (not ``None in``: NumPy reads None as float64)
        return tensor1, tensor2
    common = functools.reduce(promote, dtypes)
    if name == "addcmul" and common == bool_:
        raise errors.UnimplementedError('"addcmul_cpu_out" not implemented for \'Bool\'')
    if name == "addcdiv" and any(isinstance(t, Tensor) and t._dtype.kind in "biu" for t in (tensor1, tensor2)):
        raise errors.InvalidArgumentError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform a true division "
            "of tensor1 and tensor2. The historic addcdiv behavior can be implemented as (input + value * torch.trunc(tensor1 / "
            "tensor2)).to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
            "addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), for all dtypes."
        )
    return tuple(t.to(common) if isinstance(t, Tensor) and t._dtype != common else t for t in (tensor1, tensor2))


def _check_lerp(self, end, weight):
    """lerp's operands as PyTorch requires them: ``end`` (and a weight tensor with dims) of self's dtype, a float one."""
    for name, other in (("end", end), ("weight", weight)):
        if (isinstance(other, Tensor) and (name == "end" or other.ndim) and self._dtype is not None and other._dtype is not None
                and other._dtype != self._dtype):
            raise errors.InvalidArgumentError(f"expected dtype {_CPP_TYPE_NAMES.get(self._dtype, self._dtype.name)} for `{name}` but got dtype "
                                              f"{_CPP_TYPE_NAMES.get(other._dtype, other._dtype.name)}")
    if self._dtype is not None and not is_floating(self._dtype):
        kernel = "lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar"
        raise errors.UnimplementedError(f'"{kernel}" not implemented for \'{_TENSOR_TYPE_NAMES.get(self._dtype, self._dtype.name)}\'')


def _check_cast(result, target):
    """An in-place op's result must cast to its tensor's dtype: never into a lower category (complex > float > integer
    > bool), as PyTorch's; within one it wraps (int64 into uint8)."""
    from .shaping import can_cast

    if result is not None and target is not None and result != target and not can_cast(result, target):
        raise errors.InvalidArgumentError(
            f"result type {_TENSOR_TYPE_NAMES.get(result, result.name)} can't be cast to the desired output type {_TENSOR_TYPE_NAMES.get(target, target.name)}"
        )


def _inplace_op(target, name, others=(), params=None):
    """``target.name_(*others)`` for an engine op: its result's dtype checked here (as PyTorch's, in its words), then one
    in-place command (``_op_into``)."""
    meta = infer(name, (target,) + tuple(others), params or _NO_PARAMS)
    if meta is not None:
        if meta[0] is not None and target._shape is not None and tuple(meta[0]) != tuple(target._shape):
            raise errors.InvalidArgumentError(f"output with shape {list(target._shape)} doesn't match the broadcast shape {list(meta[0])}")
        _check_cast(meta[1], target._dtype)
    if is_grad_enabled() and target._requires_grad and name in ("eq", "ne", "lt", "le", "gt", "ge"):
        # PyTorch records x.eq_(y) on a tensor that requires grad, with a zero gradient to what came before: a copy of
        # the (gradient-free) result (its logical_*_ leave the history as it was, as _op_into does)
        return _written(target, lambda source: _op(name, (source,) + tuple(others), params))
    return _op_into(name, target, others, params)


def _bitwise_into(name, target, *others):
    """``x &= y`` and its kin: the result's cast to x's dtype checked first, then a float refused, as PyTorch's order."""
    meta = infer(name, (target,) + others, _NO_PARAMS)
    if meta is not None:
        _check_cast(meta[1], target._dtype)
    _refuse_float_bitwise(name, (target,) + others, meta)
    return _inplace_op(target, name, others)


def _tensor_argument(name, argument, value, position=1):
    """Refuse a non-tensor where PyTorch requires a tensor, in its words. ``position`` counts as the method form does
    (``x.gcd(2)``: 'other' is 1; None: passed by keyword); ``torch.gcd(x, 2)`` says 2 (``_function`` moves it on)."""
    if not isinstance(value, Tensor):
        raise _not_a_tensor(name, argument, position, value)


def _not_a_tensor(name, argument, position, value) -> TypeError:
    where = "" if position is None else f" (position {position})"
    kind = "torch.Tensor" if _is_torch_tensor(value) else type(value).__name__  # (gradwire's is "Tensor")
    error = TypeError(f"{name}(): argument '{argument}'{where} must be Tensor, not {kind}")
    error.refused_argument = name, argument, position, value
    return error


def _check_nextafter(x, other):
    for t in (x, other):
        if t._dtype is not None and not is_floating(t._dtype):
            raise errors.UnimplementedError(f'"nextafter_cpu" not implemented for \'{_TENSOR_TYPE_NAMES.get(t._dtype, t._dtype.name)}\'')


def _check_heaviside(x, values):
    if x.dtype != values.dtype:
        raise errors.InvalidArgumentError("heaviside is not yet implemented for tensors with different dtypes.")


def _integer_pair(name, x, other, check_only=False):
    """gcd and lcm: integer tensors only, refused at once in PyTorch's words otherwise."""
    for t in (x, other):
        if t._dtype is not None and t._dtype.kind not in "iu":
            raise errors.UnimplementedError(f'"{name}_cpu" not implemented for \'{_TENSOR_TYPE_NAMES.get(t._dtype, t._dtype.name)}\'')
    return None if check_only else _op(name, (x, other))


def _nan_ignoring_extreme(name, x, other, wins):
    """fmax and fmin: ``x`` where it wins (``x >= other``, ``x <= other``) or other is NaN, else ``other``: a NaN
    loses to a number, and the gradient goes to the one chosen (x at a tie), as PyTorch's."""
    return where(wins(other) | other.isnan(), x, other)


def _quantile(self, q, dim, keepdim, interpolation, ignore_nan):
    """quantile and nanquantile, as PyTorch's: the sorted values (NaN last), ranks q (n - 1) in the input's dtype (with a
    NaN, quantile's rank is the last: NaN; nanquantile's count the numbers only), then the two values either side,
    lerped."""
    if self.dtype not in (float32, float64):
        raise errors.InvalidArgumentError("quantile() input tensor must be either float or double dtype")
    if self.numel() == 0:
        raise errors.InvalidArgumentError("quantile() input tensor must be non-empty")
    many = not isinstance(q, (int, float))
    qs = [float(v) for v in (q.tolist() if isinstance(q, Tensor) else np.asarray(q).reshape(-1).tolist())] if many else [float(q)]
    if many and any(not 0.0 <= v <= 1.0 for v in qs):
        raise errors.InvalidArgumentError("quantile() q values must be in the range [0, 1]")
    if not many and not 0.0 <= qs[0] <= 1.0:
        raise errors.InvalidArgumentError(f"quantile() q must be in the range [0, 1] but got {qs[0]}")
    source = self.reshape(-1) if dim is None else self.reshape(1) if self.ndim == 0 else self
    d = 0 if dim is None else _wrap_dim(dim, self.ndim)
    ordered = source.sort(d).values  # NaN sort last: the first count are the numbers
    nan = source.isnan()
    if ignore_nan:
        last = (nan.logical_not().sum(d, keepdim=True) - 1).clamp(min=0).to(self.dtype)
    else:
        last = self._session.full((), float(source.shape[d] - 1), dtype=self.dtype)
        has_nan = nan.any(d, keepdim=True)
    out = []
    for v in qs:
        position = last * v if ignore_nan else where(has_nan, last, last * v)
        if interpolation == "nearest":
            low = high = position.round()  # half to even, as torch's
        else:
            low, high = position.floor(), position.ceil()
            if interpolation == "lower":
                high = low
            elif interpolation == "higher":
                low = high
        below = ordered.gather(d, low.long())
        if interpolation in ("linear", "midpoint"):
            above = ordered.gather(d, high.long())
            value = below.lerp(above, 0.5 if interpolation == "midpoint" else position - low)
        else:
            value = below
        if dim is None:
            value = value.reshape((1,) * self.ndim if keepdim else ())
        elif not keepdim or self.ndim == 0:
            value = value.squeeze(d) if self.ndim else value.reshape(())
        out.append(value)
    return stack(out) if many else out[0]


def _in_dtype(out, dtype):
    """A reduction's result in the ``dtype=`` asked for: integer sums and products run in int64 on the server, and
    wrap into a narrower integer dtype the same way after as during, as PyTorch's accumulate does."""
    return out if dtype is None or out.dtype == dtype else out.to(dtype)


def _beta_scaled(input, beta):
    """``beta * input``; for beta 0, zeros that pass input a zero gradient: its NaN and inf are not propagated, as PyTorch's."""
    if beta == 0:
        return input.masked_fill(input._session.full(tuple(input.shape), True, dtype=bool_), 0)
    return _scaled(input, beta)


def _unary(name):
    def method(self):
        return _op(name, (self,))

    method.__name__ = name
    method.__doc__ = f"Elementwise {name}, as ``torch.Tensor.{name}``."
    return method


def _unary_inplace(name):
    def method(self):
        return _op_into(name, self)

    method.__name__ = name + "_"
    method.__doc__ = f"``{name}`` written into this tensor, as ``torch.Tensor.{name}_``."
    return method


def _conversion(name, dtype):
    def method(self):
        return self.to(dtype)

    method.__name__ = name
    method.__doc__ = f"``self.to({dtype.name})``, as ``torch.Tensor.{name}``."
    return method


def _binary(name):
    def method(self, other):
        return _op(name, (self, other))

    method.__name__ = name
    method.__doc__ = f"``torch.Tensor.{name}``, broadcasting."
    return method


_UNARY = ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "neg", "log1p", "expm1", "rsqrt", "reciprocal", "tan",
          "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "log2", "log10", "exp2", "erf", "erfinv", "erfc", "lgamma", "digamma", "i0", "floor", "ceil",
          "trunc", "sign", "isnan", "isinf",
          "isfinite", "logical_not")
def _binary_into(name):
    def method(self, other):
        return _inplace_op(self, name, (other,))

    method.__name__ = method.__qualname__ = name + "_"
    return method


for _name in _UNARY:
    setattr(Tensor, _name, _unary(_name))
for _name in _UNARY[: _UNARY.index("isnan")]:  # x.relu_(), x.exp_(), ...: the op written into x
    setattr(Tensor, _name + "_", _unary_inplace(_name))
for _name, _alias in {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh",
                     "trunc": "fix", "neg": "negative", "abs": "absolute", "sign": "sgn"}.items():
    setattr(Tensor, _alias, getattr(Tensor, _name))
    setattr(Tensor, _alias + "_", getattr(Tensor, _name + "_"))
def _scaled_operand(self, other, alpha):
    """``alpha * other`` for ``add``/``sub`` (``p.add(g, alpha=-lr)``), with PyTorch's check of an integral alpha."""
    if alpha == 1:
        return other
    integral = lambda x: (isinstance(x, Tensor) and x._dtype is not None and x._dtype.kind in "iub") or isinstance(x, (int, np.integer))
    if isinstance(alpha, (float, np.floating)) and integral(self) and integral(other):
        raise errors.InvalidArgumentError("For integral input tensors, argument alpha must not be a floating point number.")
    return other * alpha


def _add(self, other, *, alpha=1):
    """``torch.Tensor.add``: ``self + alpha * other``, broadcasting."""
    return _op("add", (self, other if alpha == 1 else _scaled_operand(self, other, alpha)))


def _sub(self, other, *, alpha=1):
    """``torch.Tensor.sub``: ``self - alpha * other``, broadcasting."""
    return _op("sub", (self, other if alpha == 1 else _scaled_operand(self, other, alpha)))


for _name in ("add", "sub", "mul", "pow", "floor_divide", "remainder", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
              "logical_and", "logical_or", "logical_xor"):
    setattr(Tensor, _name, _binary(_name))
Tensor.add, Tensor.sub = _add, _sub
Tensor.add.__name__, Tensor.sub.__name__ = "add", "sub"
for _name in ("eq", "ne", "lt", "le", "gt", "ge", "fmod", "remainder", "floor_divide", "atan2", "logical_and", "logical_or", "logical_xor",
              "copysign"):  # x.gt_(y), ...: the op written into x (a comparison in x's dtype, as PyTorch's)
    setattr(Tensor, _name + "_", _binary_into(_name))
Tensor.arctan2_ = Tensor.atan2_
for _name, _alias in {"mul": "multiply", "mul_": "multiply_", "gt": "greater", "ge": "greater_equal", "lt": "less", "le": "less_equal",
                     "ne": "not_equal", "gt_": "greater_", "ge_": "greater_equal_", "lt_": "less_", "le_": "less_equal_",
                     "ne_": "not_equal_"}.items():  # PyTorch's other names for them
    setattr(Tensor, _alias, getattr(Tensor, _name))
for _name, _dtype in {**_ALIASES, "bool": "bool", "byte": "uint8", "char": "int8"}.items():  # float() double() ... byte() char() bool()
    setattr(Tensor, _name, _conversion(_name, np.dtype(_dtype)))
if bfloat16 is not None:
    Tensor.bfloat16 = _conversion("bfloat16", bfloat16)


_TENSOR_TYPE_NAMES = dtypes.SCALAR_TYPE_NAMES  # torch's names of the scalar types ("Float", "Long"), as its messages say them
_TORCH_TYPE_NAMES = {d: name for d, name in _TENSOR_TYPE_NAMES.items() if is_inexact(d)}  # of the floating and complex ones
# the C++ names of the scalar types, as PyTorch's matmul message quotes them ("float != double")
_CPP_TYPE_NAMES = {float16: "c10::Half", float32: "float", float64: "double", bfloat16: "c10::BFloat16", complex64: "c10::complex<float>",
                   complex128: "c10::complex<double>", int64: "long int", int32: "int", int16: "short int", int8: "signed char",
                   uint8: "unsigned char", bool_: "bool"}


def _check_fill(value, dtype, shape=None):
    """Refuse, in PyTorch's words, a Python number that PyTorch's fill (``fill_``, ``full``: ``shape`` given;
    ``masked_fill``, ``index_fill``: None) refuses for ``dtype``; anything else passes."""
    if type(value) in (int, float) and dtype is not None and _fill_overflows(value, dtype, shape):
        raise overflow_error(dtype)


def overflow_error(dtype):
    """PyTorch's refusal of a number that does not fit ``dtype``, naming its C++ type as it does (int32 is "int")."""
    name = "int" if dtype == int32 else _CPP_TYPE_NAMES[dtype] if dtype.kind == "f" else dtype.name + "_t"
    return errors.InvalidArgumentError(f"value cannot be converted to type {name} without overflow")


def _fill_overflows(value, dtype, shape) -> bool:
    """Whether PyTorch's fill refuses the number ``value`` for ``dtype``: a float past the dtype's range (inf and NaN go
    in; a ``fill_`` or ``full`` of one float16 element takes anything, as inf), or, for an integer dtype, a number
    outside it (a negative int wraps into an unsigned dtype; a float must lie within the range itself)."""
    if dtype.kind == "f":
        one_half = dtype == float16 and shape is not None and math.prod(shape) == 1
        return not one_half and math.isfinite(value) and abs(value) > float(np.finfo(dtype).max)
    if dtype.kind not in "iu":
        return False
    limits = np.iinfo(dtype)
    if type(value) is float:
        return not (math.isfinite(value) and limits.min <= value <= limits.max)
    return not (-int(limits.max) if dtype.kind == "u" else int(limits.min)) <= value <= int(limits.max)


def _dtypes_differ(*tensors):
    """Whether the tensors' dtypes differ, where the client knows them all: PyTorch refuses most products of mixed
    dtypes (it promotes elementwise ops only). Not under autocast, which casts an op's inputs to one dtype first."""
    # (a local array or torch tensor, uploaded by the op, is left to it; not ``None in dtypes``: a NumPy dtype equals
    # None where it is float64)
    dtypes = [t._dtype if isinstance(t, Tensor) else None for t in tensors]
    return not _amp.state.active and all(d is not None for d in dtypes) and any(d != dtypes[0] for d in dtypes[1:])


def _scalar_type_error(expected, found):
    """PyTorch's kernels' refusal of an operand of another dtype than the one they compute in."""
    return errors.InvalidArgumentError(f"expected scalar type {_TENSOR_TYPE_NAMES[expected]} but found {_TENSOR_TYPE_NAMES[found]}")


def _refuse_addmm_dtypes(self, mat1, mat2):
    """addmm's and addbmm's refusals, in PyTorch's order: self against mat2 first, then mat1 against mat2."""
    for first, name in ((self, "self"), (mat1, "mat1")):
        if _dtypes_differ(first, mat2):
            raise errors.InvalidArgumentError(f"{name} and mat2 must have the same dtype, but got {_TENSOR_TYPE_NAMES[first._dtype]} and "
                                              f"{_TENSOR_TYPE_NAMES[mat2._dtype]}")


def _check_matmul_dtypes(inputs):
    """``a @ b`` of two dtypes, or of bools, is refused as PyTorch refuses it (no promotion), in the words of the CPU
    kernel that its shapes reach: dot, addmv, addmm or bmm."""
    a, b = inputs
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)) or a._dtype is None or b._dtype is None or a._shape is None or b._shape is None:
        return
    if a._dtype == b._dtype != bool_:
        return
    rank_a, rank_b = len(a._shape), len(b._shape)
    kernel = "dot" if rank_a == rank_b == 1 else "addmv_impl_cpu" if rank_b == 1 else "addmm_impl_cpu_" if rank_b == 2 else "bmm"
    name_a, name_b = _TENSOR_TYPE_NAMES.get(a._dtype, a._dtype.name), _TENSOR_TYPE_NAMES.get(b._dtype, b._dtype.name)
    if a._dtype == b._dtype or (kernel == "bmm" and a._dtype == bool_):  # bmm looks at the first operand's type first
        message = f"\"{kernel}\" not implemented for 'Bool'"
    elif kernel == "dot":
        message = f"dot : expected both vectors to have same dtype, but found {name_a} and {name_b}"
    elif kernel == "addmv_impl_cpu":
        message = f"addmv input tensors must have the same dtype, but got {name_b}, {name_a}, and {name_b}"
    elif kernel == "addmm_impl_cpu_":
        message = f"expected m1 and m2 to have the same dtype, but got: {_CPP_TYPE_NAMES[a._dtype]} != {_CPP_TYPE_NAMES[b._dtype]}"
    else:
        message = f"expected scalar type {name_a} but found {name_b}"
    raise errors.InvalidArgumentError(message)


def _index_dtype_check(word):
    """gather's and scatter's index: int32 or int64 only, as PyTorch's (a uint8 or a bool index is refused too)."""

    def check(inputs):
        index = inputs[1]
        if isinstance(index, Tensor) and index._dtype is not None and index._dtype not in (int32, int64):
            raise errors.InvalidArgumentError(f"{word}(): Expected dtype int32/int64 for index")

    return check


# ops whose inputs' dtypes PyTorch refuses (mixed, or of the wrong kind), checked before queueing
_DTYPE_CHECKS = {"matmul": _check_matmul_dtypes, "gather": _index_dtype_check("gather"),
                 **dict.fromkeys(("scatter", "scatter_add", "scatter_reduce"), _index_dtype_check("scatter"))}


def _torch_ellipses(key, ndim):
    """A key with several ``...`` as PyTorch reads it (NumPy refuses it): each one stands for the dims the key's other
    parts leave, so the first takes them all and the rest, past the tensor's last dim, none; the slices they stand for
    past the last dim are dropped (a part that still indexes there is refused, as by PyTorch)."""
    def dims(part):  # the dims a part consumes, counted as PyTorch's count_specified_dimensions
        if part is None or part is Ellipsis or isinstance(part, (bool, np.bool_)):
            return 0
        dtype = part._dtype if isinstance(part, Tensor) else np.asarray(part).dtype if isinstance(part, (list, np.ndarray)) else None
        return (part.ndim if isinstance(part, Tensor) else np.ndim(part)) if dtype is not None and dtype.kind == "b" else 1

    fill = max(ndim - sum(dims(part) for part in key), 0)
    expanded = []
    for part in key:
        expanded.extend([_FROM_ELLIPSIS] * fill if part is Ellipsis else [part])
    while sum(dims(part) for part in expanded) > ndim and expanded[-1] is _FROM_ELLIPSIS:
        expanded.pop()
    return tuple(expanded)


_FROM_ELLIPSIS = slice(None)  # the slices an ellipsis stands for, told apart from the key's own ``:`` by identity


def _wide_ints(inputs):
    """An int from 2**63 to 2**64 - 1 (a uint64 to PyTorch) as PyTorch's op takes it: wrapped into int64 by an integer
    tensor's op, a float to a floating one's (the wire's ints are int64), refused by a bool tensor's in its words."""
    kinds = {x._dtype.kind for x in inputs if isinstance(x, Tensor) and x._dtype is not None}
    if kinds & set("fc") or not kinds:
        return inputs
    if kinds == {"b"}:
        raise errors.InvalidArgumentError("Promotion for uint16, uint32, uint64 types is not supported, attempted to promote Bool and UInt64")
    return tuple(x - 2**64 if type(x) is int and 2**63 <= x < 2**64 else x for x in inputs)


def _small_index(dtype):
    """An index tensor of fewer than 32 bits, as PyTorch takes one: uint8 is a mask (deprecated: a warning), int8
    and int16 are refused."""
    if dtype != uint8:
        raise errors.InvalidIndexError("tensors used as indices must be long, int, byte or bool tensors")
    warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead.", UserWarning, stacklevel=4)


def _broadcast_or_refuse(a, b):
    """The broadcast shape of shapes a and b, or PyTorch's refusal (naming a's and b's sizes at the rightmost dim
    where they disagree)."""
    try:
        return broadcast2(tuple(a), tuple(b))
    except ValueError:
        n = max(len(a), len(b))
        a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
        d = max(d for d in range(n) if a[d] != b[d] and 1 not in (a[d], b[d]))
        raise errors.InvalidArgumentError(f"The size of tensor a ({a[d]}) must match the size of tensor b ({b[d]}) at non-singleton dimension {d}") from None


def _check_fill_value_tensor(value):
    if value._shape is not None and value._shape != ():
        raise errors.InvalidArgumentError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {len(value._shape)} dimension(s).")


def _check_index_source(self, dim, index, source, name):
    """index_add_'s and index_reduce_'s checks of the index and the source against this tensor, in torch's words and
    order: a vector of indices (or one, 0-d), one per slice of source along dim, and source shaped as this tensor
    elsewhere (as scatter_add, which runs them, a size-1 index would otherwise repeat along dim)."""
    if index.ndim > 1:
        raise errors.InvalidIndexError(f"{name}(): Index is supposed to be a vector, but got dim: {index.ndim} with type: "
                                       f"{_TENSOR_TYPE_NAMES.get(index._dtype, index.dtype.name)} and size: {list(index.shape)}")
    if dim >= max(source.ndim, 1):
        raise errors.InvalidArgumentError(f"{name}(): Indexing dim {dim} is out of bounds of the source tensor with dim {source.ndim}")
    count, slices = index.numel(), source.shape[dim] if source.ndim else 1
    if not source.ndim and count != 1:  # (torch reads source.size(0) of a 0-d source)
        raise errors.InvalidIndexError("Dimension specified as 0 but tensor has no dimensions")
    if count != slices:
        raise errors.InvalidArgumentError(f"{name}(): Number of indices ({count}) should be equal to source.size(dim): ({slices}), for dim: {dim}")
    if source.ndim != self.ndim or any(a != b for d, (a, b) in enumerate(zip(self.shape, source.shape)) if d != dim):
        raise errors.InvalidArgumentError("source tensor shape must match self tensor shape, excluding the specified dimension. "
                                          f"Got self.shape = {list(self.shape)} source.shape = {list(source.shape)}")


def _as_index(x, index):
    """An index for x's session: Tensors pass; lists and arrays are uploaded as int64."""
    return index if isinstance(index, Tensor) else x._session.tensor(np.asarray(index, dtype=np.int64))


def _bitwise(name, *operands):
    """``& | ^ ~`` and their methods: on masks and integers; a float tensor is refused at once, in PyTorch's words."""
    for x in operands:
        if not isinstance(x, _OPERANDS):
            return NotImplemented
    _refuse_float_bitwise(name, operands)
    return _op(name, operands)


def _refuse_float_bitwise(name, operands, meta=None):
    """PyTorch's refusal of a bitwise op whose operands promote to a float: its CPU kernel's name and that dtype."""
    meta = meta or infer(name, operands, _NO_PARAMS)
    dtypes = [meta[1]] if meta is not None and meta[1] is not None else [
        x._dtype if isinstance(x, Tensor) else getattr(x, "dtype", float32 if isinstance(x, float) else None) for x in operands]
    for dtype in dtypes:
        if dtype is not None and is_floating(dtype):
            raise errors.UnimplementedError(f'"{name}_cpu" not implemented for \'{_TORCH_TYPE_NAMES.get(dtype, dtype.name)}\'')


def _bitwise_method(name):
    def method(self, other):
        result = _bitwise(name, self, other)
        if result is NotImplemented:
            raise TypeError(f"{name}(): expected a Tensor, a NumPy array or a number, got {type(other).__name__}")
        return result

    method.__name__ = name
    method.__doc__ = f"``torch.Tensor.{name}``, on bool and integer tensors, broadcasting."
    return method


for _name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
    setattr(Tensor, _name, _bitwise_method(_name))
Tensor.bitwise_not = lambda self: _bitwise("bitwise_not", self)  # as ~x, with the method's words for a float


# PyTorch's methods whose (first) operand must be a tensor, by that argument's name: a number is refused at the call
_TENSOR_OPERANDS = {
    **dict.fromkeys(("maximum", "minimum", "fmax", "fmin", "atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "ldexp",
                     "nextafter", "gcd", "lcm", "logical_and", "logical_or", "logical_xor", "allclose", "isclose", "equal",
                     "dist", "inner", "vdot", "kron", "cross", "matmul", "expand_as", "view_as", "type_as", "reshape_as",
                     "atan2_", "arctan2_", "hypot_", "ldexp_", "nextafter_", "gcd_", "lcm_", "logical_and_", "logical_or_",
                     "logical_xor_", "igamma", "igammac", "igamma_", "igammac_"), "other"),
    "heaviside": "values", "heaviside_": "values", "dot": "tensor", "mm": "mat2", "bmm": "mat2", "outer": "vec2",
    "ger": "vec2", "mv": "vec",
}


def _tensor_operand(name, argument, method):
    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        if args:
            _tensor_argument(name, argument, args[0])
        elif argument in kwargs:
            _tensor_argument(name, argument, kwargs[argument], None)
        return method(self, *args, **kwargs)

    return checked


for _name, _argument in _TENSOR_OPERANDS.items():
    setattr(Tensor, _name, _tensor_operand(_name, _argument, getattr(Tensor, _name)))


def _operator(name, reflected):
    """``x + y`` and the like: op ``name`` on (x, y), or (y, x) for the reflected ``__radd__``; an operand
    that is neither a tensor, an array nor a number gets NotImplemented, as torch's operators give it."""
    if name.startswith("bitwise_"):  # (_bitwise gives NotImplemented too, and refuses floats)

        def method(self, other):
            return _bitwise(name, other, self) if reflected else _bitwise(name, self, other)

    else:

        def method(self, other):
            if not isinstance(other, _OPERANDS) and not _is_torch_tensor(other):
                return NotImplemented
            return _op(name, (other, self) if reflected else (self, other))

    return method


# Python's operator -> the op; each has its reflected twin (__radd__, ...), the comparisons excepted
_OPERATORS = {
    "add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "pow": "pow", "matmul": "matmul", "floordiv": "floor_divide",
    "mod": "remainder", "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor",
}
_OPERATOR_METHODS = [(f"__{d}__", op, False) for d, op in _OPERATORS.items()] + [(f"__r{d}__", op, True) for d, op in _OPERATORS.items()]
_OPERATOR_METHODS += [(f"__{op}__", op, False) for op in ("eq", "ne", "lt", "le", "gt", "ge")]  # Python reflects these itself
for _dunder, _name, _reflected in _OPERATOR_METHODS:
    setattr(Tensor, _dunder, _operator(_name, _reflected))
    getattr(Tensor, _dunder).__name__ = _dunder


def _spread(dim, unbiased, correction):
    """var's and std's (dim, correction) from PyTorch's two signatures: ``(dim, unbiased, keepdim)`` and ``correction=``."""
    if isinstance(dim, bool):  # x.var(False): the old signature's unbiased, in dim's place
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise errors.InvalidArgumentError("var(): cannot specify both unbiased and correction")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return _every_dim_if_none(dim), correction  # (``()``: every dim, as PyTorch's; it was each element on its own)


def _sizes(args) -> tuple:
    sizes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)
    for n in sizes:
        if isinstance(n, Tensor):
            return tuple(_as_int(n) for n in sizes)
    return sizes


def _every_dim_if_none(dim):
    """A reduction's ``dim``, where ``()`` or ``[]`` (no dims) reduces them all, as PyTorch's sum and mean."""
    return None if isinstance(dim, (tuple, list)) and not dim else dim


def _as_int(value):
    """A size, dim or count given as a one-element integer tensor (``x[:lengths[i]]``, ``zeros(n)``, ``view(n, -1)``):
    its value, read from the server, as PyTorch reads it; anything else as it is."""
    return value.__index__() if isinstance(value, Tensor) else value


def _read_tensor_params(params):
    """``params`` with each tensor among the values (or in a tuple of them) read as the number it holds, as PyTorch
    takes a one-element tensor for a number (``topk(k)``, ``sum(dim=d)``)."""
    def read(value):
        if isinstance(value, Tensor):
            return value.__index__() if value.dtype.kind in "iub" else value.item()
        if type(value) in (tuple, list):
            return type(value)(read(v) for v in value)
        return value
    return {key: read(value) for key, value in params.items()}


def _scaled(x, factor):
    return x if factor == 1 else x * factor


def _check_ranks(name, a, b, ranks):
    """mm, bmm, mv, dot, outer: PyTorch's words where an operand has the wrong number of dims."""
    if not isinstance(b, Tensor) or (a.ndim, b.ndim) == ranks:
        return
    first_wrong = a.ndim != ranks[0]
    message = {
        "mm": "self must be a matrix" if first_wrong else "mat2 must be a matrix",
        "bmm": "batch1 must be a 3D tensor" if first_wrong else "batch2 must be a 3D tensor",
        "mv": f"vector + matrix @ vector expected, got 1, {a.ndim}, {b.ndim}",
        "dot": f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors",
        "outer": f"outer: Expected 1-D argument {'self' if first_wrong else 'vec2'}, but got {(a if first_wrong else b).ndim}-D",
    }[name]
    raise errors.InvalidArgumentError(message)


def _extreme(name, x, dim=None, keepdim=False):
    if dim is None:
        return _op(name, (x,))
    values, indices = _op(name, (x,), {"dim": dim, "keepdim": keepdim}, outputs=2)
    return (max_result if name == "max" else min_result)(values, indices)


def _op(name, inputs, params=None, outputs=1, metas=None, extras=None):
    """Queue op ``name`` and return its output Tensor(s) at once. ``metas``: an op with several differentiable outputs
    (``linalg.svd``), each output's ``(shape, dtype)`` as far as the caller knows them (None where it cannot tell).
    ``extras``: the ``(shape, dtype)`` of each output after the first where none of them is differentiable and they
    are not int64 indices (``linalg.lu_factor_ex``'s int32 pivots and info)."""
    session, tracked, arrays, wide = None, False, False, False
    for x in inputs:
        if isinstance(x, Tensor):  # Tensor or Parameter
            if session is None:
                session = x._session
            elif x._session is not session:
                raise errors.InvalidArgumentError(f"{name}: expected all tensors to be in the same session")
            tracked = tracked or x._requires_grad
        elif isinstance(x, _NUMBERS):
            wide = wide or (type(x) is int and x >= 2**63)
        elif isinstance(x, (complex, np.complexfloating)):  # a complex number: a 0-d tensor (the wire's numbers are real)
            arrays = True
        elif isinstance(x, np.ndarray) or _is_torch_tensor(x):
            arrays = True
        else:  # checked before anything is queued: the session goes on as before
            raise TypeError(f"{name}(): expected a Tensor, a NumPy array or a number, got {type(x).__name__}")
    if session is None:
        raise errors.InvalidArgumentError(f"{name}() needs at least one tensor input")
    if wide:
        inputs = _wide_ints(inputs)
    if params:
        for value in params.values():
            if isinstance(value, Tensor) or (type(value) is tuple and value and isinstance(value[0], Tensor)):
                params = _read_tensor_params(params)
                break
    dims = _DIM_PARAMS.get(name)
    if dims is not None and params:
        _check_dims(name, inputs[0], params, *dims)
    if arrays:  # as torch takes them: tensors of their dtype (a local torch tensor's values too, as a batch from a DataLoader)
        inputs = tuple(session.tensor(x) if isinstance(x, np.ndarray) or _is_torch_tensor(x) else
                       _complex_number(x, inputs) if isinstance(x, (complex, np.complexfloating)) else x for x in inputs)
    if _amp.state.active:  # under gw.amp.autocast: floating inputs cast as torch's op lists say for this op
        inputs = _amp.cast_inputs(name, inputs)
    check = _DTYPE_CHECKS.get(name)
    if check is not None:
        check(inputs)
    if defaults.current is not defaults.FLOAT32 and name not in _NO_DEFAULT_DTYPE:  # (the server's is float32)
        params = {**(params or {}), "default_dtype": defaults.current.name}
    grad_on = is_grad_enabled()
    requires_grad = tracked and grad_on and name not in session._non_differentiable
    meta = infer(name, inputs, params or _NO_PARAMS)
    shape, dtype = meta if meta is not None else (None, None)
    if dtype is not None and not is_inexact(dtype):
        requires_grad = False
    if metas is not None:  # one node for them all, on the server as in PyTorch: each output requires grad where the op does
        outputs = len(metas)
        results = [Tensor(session, session._handle(), s, d, requires_grad, not requires_grad, inputs if requires_grad else None) for s, d in metas]
    else:
        results = [Tensor(session, session._handle(), shape, dtype, requires_grad, not requires_grad, inputs if requires_grad else None)]
    if extras is not None:
        outputs = 1 + len(extras)
        results.extend(Tensor(session, session._handle(), s, np.dtype(d)) for s, d in extras)
    for _ in range(outputs - len(results)):  # max/min along a dim, sort, topk, unique: int64 indices (or counts) after the values
        results.append(Tensor(session, session._handle(), shape if outputs == 2 else None, int64))
    try:
        session._op(name, inputs, params, results, grad_on)
    except BaseException:
        for r in results:
            r._handle = 0  # never sent: nothing for the server to release
        raise
    if name in _VIEW_OPS:
        _note_view(results[0], inputs[0])
        if inputs[0]._shape is not None:
            results[0]._layout = (name, params, inputs[0]._shape, inputs[0]._layout)
    return results[0] if outputs == 1 else tuple(results)


_VIEW_OPS = frozenset(("reshape", "transpose", "permute", "expand", "squeeze", "unsqueeze", "diagonal", "unfold", "as_strided",
                       "view_dtype"))  # and x[basic key]
_NO_DEFAULT_DTYPE = frozenset(("index", "to", "dropout", "index_put"))  # the server's engine calls take no such param


def _note_view(view, base):
    """``view`` shares ``base``'s memory (on the server, a view of the same root): an in-place change recorded
    on either rewrites the other's history too (``_rebase``)."""
    root = base if base._view_of is None else base._view_of
    view._view_of = root
    if root._views is None:
        root._views = weakref.WeakSet()
    root._views.add(view)


def _op_into(name, target, others=(), params=None):
    """``target.name_(*others)``: op ``name`` on ``(target, *others)``, its result written into target's memory.

    Where autograd records it (grad mode on, an input requires grad) target takes the op's node as its
    ``grad_fn``, as in PyTorch: ``h.relu_()``, ``h += y``, ``h[k] = v``; a view's change goes into its base's history
    too (``Engine.apply_into``). A leaf that requires grad, or a view of one, is refused, in PyTorch's words.
    """
    session = target._session
    inputs = (target,) + tuple(session.tensor(x) if isinstance(x, np.ndarray) or _is_torch_tensor(x) else
                               _complex_number(x, (target,)) if isinstance(x, (complex, np.complexfloating)) else x for x in others)
    for x in inputs[1:]:
        if isinstance(x, Tensor):
            if x._session is not session:
                raise errors.InvalidArgumentError(f"{name}_: expected all tensors to be in the same session")
        elif not isinstance(x, _NUMBERS):
            raise TypeError(f"{name}_(): expected a Tensor, a NumPy array or a number, got {type(x).__name__}")
    check = _DTYPE_CHECKS.get(name)
    if check is not None:
        check(inputs)
    grad_on = is_grad_enabled()
    root = target if target._view_of is None else target._view_of
    if grad_on and target._requires_grad and root._requires_grad and root._is_leaf:
        raise errors.FailedPreconditionError(f"a {'' if root is target else 'view of a '}leaf Variable that requires grad is being used in an in-place operation.")
    recorded = (grad_on and name not in session._non_differentiable and (target._dtype is None or is_inexact(target._dtype))
                and any(isinstance(x, Tensor) and x._requires_grad for x in inputs))
    session._op_into(name, inputs, params, grad_on)
    if recorded:
        _rebase(target, inputs)
    return target


def _rebase(target, inputs):
    """The client's side of a recorded in-place op, as ``Engine.apply_into`` on the server: the history so far
    of target (of its root, for a view) moves to a stand-in (no handle of its own: the server holds that
    version only inside the graph); the root now comes from the op, and its views from the root."""
    root = target if target._view_of is None else target._view_of
    past = Tensor(root._session, 0, root._shape, root._dtype, root._requires_grad, root._is_leaf, root._parents)
    past._grad_fn = root._grad_fn
    if isinstance(past._grad_fn, GradFn):
        past._grad_fn._tensor = past  # its name, if read already, stays known
    root._parents = (past,) + inputs[1:]
    root._requires_grad, root._is_leaf, root._grad_fn = True, False, None
    for view in tuple(root._views or ()):
        view._parents, view._requires_grad, view._is_leaf, view._grad_fn = (root,), True, False, None


# in-place kinds that are ops of their own under autograd (the others write through index_put)
_RECORDED_AS = {"add": "add", "sub": "sub", "mul": "mul", "div": "div"}
_NO_PARAMS = {}
# the params that name dims of input 0, and how many dims the output adds (unsqueeze and stack: one):
# checked before anything is queued, as PyTorch checks them (an IndexError at once)
_DIM_PARAMS = {
    **dict.fromkeys(("cumsum", "gather", "norm", "sum", "mean", "var", "std", "max", "min", "argmax", "argmin", "softmax", "log_softmax", "squeeze",
                     "prod", "amax", "amin", "logsumexp", "all", "any", "count_nonzero", "sort", "topk", "cummax", "cummin", "scatter_reduce"),
                    (("dim",), 0)),
    **dict.fromkeys(("flip", "roll"), (("dims",), 0)),
    "transpose": (("dim0", "dim1"), 0), "permute": (("dims",), 0), "unsqueeze": (("dim",), 1), "stack": (("dim",), 1),
}


def _check_dims(name, x, params, names, added):
    shape = x._shape if isinstance(x, Tensor) else None
    for key in names:
        value = params.get(key)
        for dim in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(dim, (float, str, np.floating)):  # x.max(2.0): refused at the call, as PyTorch's parser refuses it
                raise TypeError(f"{name}(): argument '{key}' must be int, not {type(dim).__name__}")
            if shape is not None and isinstance(dim, (int, np.integer)) and not isinstance(dim, (bool, np.bool_)):
                _wrap_dim(dim, len(shape) + added)  # (a shape not known here: the server checks)


def _wrap_dim(dim, ndim):
    """``dim`` as an index into ``ndim`` dims (a 0-d tensor takes 0 and -1, as PyTorch's); PyTorch's IndexError otherwise."""
    if isinstance(dim, Tensor):
        dim = dim.__index__()
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return int(dim) % n
_NUMBERS = (bool, int, float, np.bool_, np.integer, np.floating)
_OPERANDS = (Tensor, np.ndarray, complex, np.complexfloating) + _NUMBERS


def _complex_number(z, inputs):
    """A complex number among an op's operands as a 0-d tensor of the complex dtype PyTorch's promotion gives it: a
    float64 tensor's complex128, else the default float dtype's complex64 (a wrapped number does not widen a tensor)."""
    dtypes = [x._dtype for x in inputs if isinstance(x, Tensor) and x._dtype is not None]
    if any(d.kind == "c" for d in dtypes):
        dtype = max((d for d in dtypes if d.kind == "c"), key=lambda d: d.itemsize)
    elif any(d == float64 for d in dtypes) or (not any(d.kind == "f" for d in dtypes) and defaults.current == float64):
        dtype = complex128
    else:
        dtype = complex64
    session = next(x._session for x in inputs if isinstance(x, Tensor))
    return session.tensor(np.asarray(z, dtype=dtype))  # what an operator takes (and a local torch tensor); others get NotImplemented, as torch's do


def _is_torch_tensor(x) -> bool:
    """A local PyTorch tensor (a DataLoader's batch): its values are an operand, uploaded as a NumPy array's
    are; found by its class, so gradwire never imports torch. (One that requires grad or lives on a GPU is
    refused by torch's own conversion, in its words.)"""
    return any(cls.__name__ == "Tensor" and cls.__module__ == "torch" for cls in type(x).__mro__)


# torch.exp(x), torch.sum(x, 1), ...: PyTorch's functions of a tensor, as the methods of their first argument
_FUNCTION_NAMES = (
    "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "neg", "log1p", "expm1", "tril", "triu", "cumsum", "clamp", "sum", "mean", "var", "std",
    "max", "min", "argmax", "argmin", "softmax", "log_softmax", "reshape", "flatten", "transpose", "permute", "squeeze",
    "unsqueeze", "t", "matmul", "masked_fill", "unbind", "split", "chunk", "gather", "norm", "add", "sub", "mul", "div", "pow", "floor_divide", "remainder",
    "eq", "ne", "lt", "le", "gt", "ge", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "clone", "detach",
    *_UNARY[12:], "arcsin", "arccos", "arctan", "fix", "negative", "square", "round", "prod", "amax", "amin", "logsumexp", "all", "any",
    "count_nonzero", "flip", "roll", "tile", "sort", "argsort", "topk", "clamp_min", "clamp_max", "clip", "narrow", "movedim",
    "moveaxis", "mm", "bmm", "mv", "dot", "outer", "ger", "atan2", "arctan2", "fmod", "allclose", "equal", "logical_and", "logical_or",
    "logical_xor", "cumprod", "nonzero", "argwhere", "scatter_add", "index_select", "masked_select", "diagonal", "as_strided", "diag", "trace",
    "lerp", "addmm", "addcmul", "addcdiv", "hypot", "logaddexp", "nan_to_num", "isclose", "diff", "repeat_interleave", "kron", "cross",
    "scatter", "index_add", "index_fill", "kthvalue", "median", "quantile", "unique", "bincount", "inverse", "det", "slogdet", "logdet", "svd",
    "cholesky", "cholesky_solve", "cholesky_inverse", "matrix_exp", "matrix_power", "pinverse", "qr", "triangular_solve", "lu", "lu_solve", "orgqr", "ormqr", "geqrf",
    "bernoulli", "multinomial", "swapaxes", "swapdims", "take", "take_along_dim", "baddbmm", "addbmm", "addmv", "addr", "dist", "diag_embed",
    "nanmean", "nansum", "fmax", "fmin", "frac", "cummax", "cummin", "logit", "xlogy", "sinc", "mode", "histc",
    "arcsinh", "arccosh", "arctanh", "absolute", "multiply", "subtract", "divide", "true_divide", "greater", "greater_equal", "less",
    "less_equal", "not_equal", "positive", "sgn", "deg2rad", "rad2deg", "logaddexp2", "float_power", "heaviside", "signbit", "copysign",
    "gcd", "lcm", "ldexp", "frexp", "nextafter", "isneginf", "isposinf", "isreal", "is_floating_point", "is_complex", "is_signed",
    "is_nonzero", "is_same_size", "logcumsumexp", "nanmedian", "nanquantile", "cov", "corrcoef", "inner", "vdot", "aminmax", "msort",
    "histogram", "renorm", "mvlgamma", "igamma", "igammac",
    # torch's in-place functions of these (torch.asinh_(x) is x.asinh_())
    "asinh_", "acosh_", "atanh_", "arcsinh_", "arccosh_", "arctanh_", "arcsin_", "arccos_", "arctan_", "negative_", "deg2rad_", "rad2deg_",
    "gcd_", "lcm_", "ldexp_", "fix_", "frac_", "logit_", "nan_to_num_", "xlogy_", "sinc_", "clip_", "addmv_",
)


def _function(name):
    def function(input, *args, out=None, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        if name in ("max", "min") and args and isinstance(args[0], Tensor):  # torch.max(a, b): elementwise
            result = _op("maximum" if name == "max" else "minimum", (input, args[0]))
        else:
            try:
                result = getattr(input, name)(*args, **kwargs)
            except TypeError as error:
                refused = getattr(error, "refused_argument", None)
                if refused is None or refused[0] != name or refused[2] is None:
                    raise
                raise _not_a_tensor(name, refused[1], refused[2] + 1, refused[3]) from None  # counted from input, before the method's first
        return result if out is None else _written_out(name, result, out)

    function.__name__ = name
    function.__doc__ = f"``torch.{name}(input, ...)``: ``input.{name}(...)``."
    return function


FUNCTIONS = {name: _function(name) for name in _FUNCTION_NAMES}


def _written_out(name, result, out):
    """``torch.f(..., out=out)``: the result written into ``out`` (resized to fit, with PyTorch's warning where it had
    elements), and ``out`` returned; a tuple of results into a tuple of ``out`` tensors, in the result's own type."""
    from .shaping import can_cast

    if isinstance(result, tuple):
        return type(result)(*(_written_out(name, r, o) for r, o in zip(result, out, strict=True)))
    if is_grad_enabled() and result._requires_grad:
        raise errors.FailedPreconditionError(
            f"{name}(): functions with out=... arguments don't support automatic differentiation, but one of the arguments requires grad.")
    if not can_cast(result.dtype, out.dtype):
        raise errors.InvalidArgumentError(
            f"result type {_TENSOR_TYPE_NAMES[result.dtype]} can't be cast to the desired output type {_TENSOR_TYPE_NAMES[out.dtype]}")
    if out.shape != result.shape:
        if out.numel():
            warnings.warn(f"An output with one or more elements was resized since it had shape {list(out.shape)}, which does not "
                          f"match the required output shape {list(result.shape)}. This behavior is deprecated, and in a future "
                          "PyTorch release outputs will not be resized unless they have zero elements. You can explicitly reuse "
                          "an out tensor t by resizing it, inplace, to zero elements with t.resize_(0).", stacklevel=3)
        out.resize_(*result.shape)
    with no_grad():
        return out.copy_(result)


def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """``(hist, bin_edges)`` of the points along ``input``'s last dim (D coordinates each), as ``torch.histogramdd``:
    ``bins`` an int or one per dim (equal bins over ``range``, a flat [min0, max0, min1, max1, ...], or the points'
    own: a sync point), or a 1-D tensor of edges per dim; the last edge of each dim inclusive; ``weight`` one per
    point; ``density``: normalised to integrate to 1. Not differentiable (as PyTorch's)."""
    if not is_floating(input.dtype):
        raise errors.UnimplementedError(f'"histogramdd" not implemented for \'{_TENSOR_TYPE_NAMES.get(input.dtype, input.dtype.name)}\'')
    if input.ndim < 2:
        raise errors.InvalidArgumentError("torch.histogramdd: input tensor should have at least 2 dimensions")
    dims = input.shape[-1]
    bins = [bins] * dims if isinstance(bins, (int, np.integer)) else list(bins)
    if len(bins) != dims:
        raise errors.InvalidArgumentError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    if range is not None and len(range) != 2 * dims:
        raise errors.InvalidArgumentError(f"torch.histogramdd: for a {dims}-dimensional histogram range should have {2 * dims} elements, but got {len(range)}")
    if weight is not None and tuple(weight.shape) != tuple(input.shape[:-1]):
        raise errors.InvalidArgumentError("torch.histogramdd: if weight tensor is provided it should have the same shape as the input tensor "
                                          f"excluding its innermost dimension, but got input with shape {list(input.shape)} and weight with shape {list(weight.shape)}")
    points = input.detach().reshape(-1, dims)
    if range is None and points.shape[0] and not all(isinstance(b, Tensor) for b in bins):  # the points' own range: one sync
        lows, highs = points.amin(0).tolist(), points.amax(0).tolist()
    else:
        lows, highs = ([0.0] * dims, [1.0] * dims) if range is None else (list(range[0::2]), list(range[1::2]))
    edges, index, inside = [], None, None
    for d, b in enumerate(bins):
        if isinstance(b, Tensor):
            edge = b.detach()
        else:
            if b <= 0:
                raise errors.InvalidArgumentError(f"torch.histogram(): bins must be > 0, but got {b} for dimension {d}")
            low, high = float(lows[d]), float(highs[d])
            if low > high:
                raise errors.InvalidArgumentError(f"torch.histogramdd: min should not exceed max, but got min {low:g} max {high:g} for dimension {d}")
            if low == high:
                low, high = low - 0.5, high + 0.5
            edge = input._session.linspace(low, high, int(b) + 1, dtype=input.dtype)
        edges.append(edge)
        column, count = points[:, d], edge.shape[0] - 1
        position = (searchsorted(edge, column.contiguous(), right=True) - 1).clamp(0, count - 1)  # the last edge: the last bin
        within = (column >= edge[0]) & (column <= edge[-1])
        index = position if index is None else index * count + position
        inside = within if inside is None else inside & within
    sizes = [e.shape[0] - 1 for e in edges]
    counts = inside.to(input.dtype) if weight is None else inside.to(input.dtype) * weight.detach().reshape(-1).to(input.dtype)
    hist = index.bincount(counts, minlength=math.prod(sizes)).to(input.dtype).reshape(sizes)
    if density:
        volume = None
        for d, edge in enumerate(edges):
            width = edge.diff().reshape([-1 if k == d else 1 for k, _ in enumerate(edges)])
            volume = width if volume is None else volume * width
        hist = hist / (hist.sum() * volume)
    return histogramdd_result(hist, edges)


def rsub(input, other, *, alpha=1):
    """``other - alpha * input``, as ``torch.rsub``."""
    _tensor_argument("rsub", "input", input)
    return other - _scaled(input, alpha)


def _trapezoid_widths(name, y, x, dx, dim):
    """(the dim, the spacing: a number, or the widths between the sample points of ``x``, shaped to broadcast along it)."""
    d = _wrap_dim(dim, y.ndim)
    if x is None:
        return d, 1 if dx is None else dx
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise errors.InvalidArgumentError(f"{name}: There must be one `x` value for each sample point")
        return d, x.diff().reshape([-1 if k == d else 1 for k in range(y.ndim)])
    return d, x.diff(dim=dim)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule's integral of ``y`` along ``dim``: over the sample points ``x`` (1-D, or broadcasting with y), or
    spaced ``dx`` apart (1 by default), as ``torch.trapezoid``."""
    _tensor_argument("trapezoid", "y", y)
    d, widths = _trapezoid_widths("trapezoid", y, x, dx, dim)
    lead = (slice(None),) * d
    if not isinstance(widths, Tensor):  # PyTorch's form for a constant spacing
        return (y.sum(d) - (y[lead + (0,)] + y[lead + (-1,)]) * 0.5) * widths if y.shape[d] else y.sum(d) * widths
    return ((y[lead + (slice(None, -1),)] + y[lead + (slice(1, None),)]) * widths).sum(d) / 2.0


def trapz(y, x=None, *, dx=None, dim=-1):
    """``torch.trapz``: ``trapezoid``'s older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule's running integral of ``y`` along ``dim`` (one element fewer), as ``torch.cumulative_trapezoid``."""
    _tensor_argument("cumulative_trapezoid", "y", y)
    d, widths = _trapezoid_widths("cumulative_trapezoid", y, x, dx, dim)
    lead = (slice(None),) * d
    pairs = y[lead + (slice(None, -1),)] + y[lead + (slice(1, None),)]
    return (pairs * (widths / 2.0) if not isinstance(widths, Tensor) else pairs * widths / 2.0).cumsum(d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivative estimated by central differences along each of ``dim`` (every dim by default), one-sided at the
    edges (``edge_order`` 1 or 2), as ``torch.gradient`` (and NumPy's): a tuple, one tensor per dim. ``spacing``: a
    number, one per dim, or the sample coordinates along each dim (1-D tensors; ``edge_order=1`` with them)."""
    _tensor_argument("gradient", "input", input)
    dims = list(range(input.ndim)) if dim is None else [dim] if isinstance(dim, int) else list(dim)
    dims = [_wrap_dim(d, input.ndim) for d in dims]
    spacings = list(spacing) if isinstance(spacing, (list, tuple)) else [spacing] * len(dims)
    if len(spacings) != len(dims):
        raise errors.InvalidArgumentError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim arguments "
                                          f"to have the same length, but got a spacing argument of length {len(spacings)} and a dim "
                                          f"argument of length {len(dims)}.")
    if edge_order not in (1, 2):
        raise errors.InvalidArgumentError("torch.gradient only supports edge_order=1 and edge_order=2.")
    return tuple(_gradient_along(input, d, h, edge_order) for d, h in zip(dims, spacings))


def _gradient_along(f, d, h, edge_order):
    n = f.shape[d]
    if n < edge_order + 1:
        raise errors.InvalidArgumentError("torch.gradient expected each dimension size to be at least edge_order+1")
    if f.dtype.kind not in "fc":  # integers differentiate in the default float dtype, as PyTorch's
        f = f.to(defaults.current)

    def part(start, stop=None):  # f[..., start:stop, ...] along d
        return f[(slice(None),) * d + (slice(start, stop),)]

    if isinstance(h, Tensor):  # sample coordinates: the three-point formula of unequal steps (NumPy's)
        if edge_order != 1:
            raise errors.UnimplementedError("gradient: edge_order=2 with coordinate spacing is not supported")
        steps = h.diff().reshape([-1 if k == d else 1 for k in range(f.ndim)])
        left, right = steps[(slice(None),) * d + (slice(0, -1),)], steps[(slice(None),) * d + (slice(1, None),)]
        inner = (-right / (left * (left + right)) * part(0, -2) + (right - left) / (left * right) * part(1, -1)
                 + left / (right * (left + right)) * part(2))
        first = (part(1, 2) - part(0, 1)) / steps[(slice(None),) * d + (slice(0, 1),)]
        last = (part(-1) - part(-2, -1)) / steps[(slice(None),) * d + (slice(-1, None),)]
    else:
        inner = (part(2) - part(0, -2)) / (2 * h)
        if edge_order == 1:
            first, last = (part(1, 2) - part(0, 1)) / h, (part(-1) - part(-2, -1)) / h
        else:
            first = (-3 * part(0, 1) + 4 * part(1, 2) - part(2, 3)) / (2 * h)
            last = (3 * part(-1) - 4 * part(-2, -1) + part(-3, -2)) / (2 * h)
    return cat([first, inner, last], d)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a 1-D ``x``: columns x^(N-1) .. x^0 (``increasing``: x^0 .. x^(N-1)), as
    ``torch.vander``: a cumulative product, so its gradient is torch's."""
    _tensor_argument("vander", "x", x)
    if x.ndim != 1:
        raise errors.InvalidArgumentError("x must be a one-dimensional tensor.")
    N = x.shape[0] if N is None else N
    if N < 0:
        raise errors.InvalidArgumentError("N must be non-negative.")
    if N == 0:
        return x._session.zeros(x.shape[0], 0, dtype=x.dtype)
    columns = cat([x._session.ones(x.shape[0], 1, dtype=x.dtype), x.unsqueeze(1).expand(-1, N - 1)], 1).cumprod(1)
    return columns if increasing else columns.flip(1)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each of ``elements`` is among ``test_elements`` (a bool tensor of ``elements``' shape), as ``torch.isin``:
    every pair compared on the server. Either may be a number (or ``test_elements`` a list); ``assume_unique`` changes
    nothing."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments: expected a Tensor as elements or test_elements")
    session = (elements if isinstance(elements, Tensor) else test_elements)._session
    if not isinstance(elements, Tensor):
        elements = session.tensor(elements)
    tests = test_elements.reshape(-1) if isinstance(test_elements, Tensor) else session.tensor(np.asarray(test_elements).reshape(-1))
    found = (elements.unsqueeze(-1) == tests).any(-1)
    return ~found if invert else found


FUNCTIONS.update(histogramdd=histogramdd, rsub=rsub, trapezoid=trapezoid, trapz=trapz, cumulative_trapezoid=cumulative_trapezoid, isin=isin, gradient=gradient,
                 vander=vander)


def _like(name):
    def factory(input, *args, dtype=None, requires_grad=False):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        session, dtype = input._session, dtype if dtype is not None else input.dtype
        if name == "full_like":
            return session.full(input.shape, *args, dtype=dtype, requires_grad=requires_grad)
        return getattr(session, name.removesuffix("_like"))(*input.shape, dtype=dtype, requires_grad=requires_grad)

    factory.__name__ = name
    factory.__doc__ = f"``torch.{name}``: a new tensor of ``input``'s shape, dtype (unless ``dtype=``) and session."
    return factory


zeros_like, ones_like, rand_like, randn_like, full_like = (placed(_like(name)) for name in ("zeros_like", "ones_like", "rand_like", "randn_like", "full_like"))


@placed
def randint_like(input, low=0, high=None, *, dtype=None, requires_grad=False, generator=None):
    """``torch.randint_like``: integers uniform in [low, high) (``randint_like(input, high)``: from 0) in ``input``'s
    shape, dtype (unless ``dtype=``) and session."""
    if not isinstance(input, Tensor):
        raise TypeError(f"randint_like(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if high is None:
        low, high = 0, low
    return input._session.randint(low, high, tuple(input.shape), dtype=dtype if dtype is not None else input.dtype,
                                  requires_grad=requires_grad, generator=generator)


@placed
def empty_like(input, *, dtype=None, requires_grad=False):
    """``torch.empty_like``: zeros of ``input``'s shape, dtype and session (no uninitialised memory crosses sessions)."""
    return zeros_like(input, dtype=dtype, requires_grad=requires_grad)


def cat(tensors, dim=0, *, axis=None, out=None):
    """Concatenate tensors along an existing dim, as ``torch.cat`` (``torch.concat``, ``torch.concatenate``; NumPy's
    ``axis=`` names the dim too)."""
    if axis is not None:
        dim = axis
    if out is not None:
        return _written_out("cat", cat(tensors, dim), out)
    tensors = tuple(tensors)
    if not tensors:
        raise errors.InvalidArgumentError("torch.cat(): expected a non-empty list of Tensors")
    # dim names a dim of the first tensor that is not 1-D and empty: those are skipped (PyTorch's legacy rule)
    first = next((t for t in tensors if isinstance(t, Tensor) and t._shape != (0,)), tensors[0])
    _check_dims("cat", first, {"dim": dim}, ("dim",), 0)
    return _op("cat", tensors, {"dim": dim})


def concatenate(tensors, axis=0):
    """``torch.concatenate``: ``cat``, with NumPy's ``axis``."""
    return cat(tensors, axis)


concat = cat


def stack(tensors, dim=0, *, axis=None, out=None):
    """Stack tensors along a new dim, as ``torch.stack`` (NumPy's ``axis=`` names the dim too)."""
    if axis is not None:
        dim = axis
    if out is not None:
        return _written_out("stack", stack(tensors, dim), out)
    return _op("stack", tuple(tensors), {"dim": dim})


def where(condition, x=None, y=None):
    """Elementwise ``x`` where ``condition`` is True, else ``y``, as ``torch.where``; with the condition alone,
    the indices where it holds, one tensor per dim."""
    if x is None and y is None:
        return condition.nonzero(as_tuple=True)
    if isinstance(condition, Tensor) and condition._dtype == uint8:  # taken as its != 0, with PyTorch's deprecation warning
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed in a future version of "
                      "PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=2)
        condition = condition != 0
    return _op("where", (condition, x, y))


def broadcast_to(input, size):
    return input.expand(*size) if isinstance(size, (tuple, list)) else input.expand(size)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors, as ``torch.meshgrid`` (``indexing="xy"`` swaps the first two dims)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise errors.InvalidArgumentError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    sizes = [int(t.numel()) for t in tensors]
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[k] for k in order)
    grids = []
    for i, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[order.index(i)] = -1
        grids.append(t.reshape(view).expand(*shape))
    return tuple(grids)


@_amp.autocast_op("cdist")
def cdist(x1, x2, p=2.0):
    """``torch.cdist``: the ``p``-norm distance between each row of ``x1`` (..., P, M) and each of ``x2`` (..., R, M),
    as (..., P, R), from the differences of every pair (P * R * M values on the server); a zero distance passes a
    zero gradient, as PyTorch's."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise errors.InvalidArgumentError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D" if x1.ndim < 2 else
                                          f"cdist only supports at least 2D tensors, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise errors.InvalidArgumentError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise errors.InvalidArgumentError("cdist only supports non-negative p values")
    if _dtypes_differ(x1, x2):
        raise _scalar_type_error(x1._dtype, x2._dtype)
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, dim=-1)


def tensordot(a, b, dims=2):
    """Sums of products over ``dims`` (a count of a's last and b's first dims, or two lists of dims), as
    ``torch.tensordot``: one einsum."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and _dtypes_differ(a, b):
        raise errors.InvalidArgumentError("both inputs should have same dtype")
    if isinstance(dims, int):
        dims = (list(range(a.ndim - dims, a.ndim)), list(range(dims)))
    first, second = ([d % a.ndim for d in _listed(dims[0])], [d % b.ndim for d in _listed(dims[1])])
    if len(first) != len(second):
        raise errors.InvalidArgumentError("both dimension lists should have same length")
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    a_subscripts = [next(letters) for _ in range(a.ndim)]
    b_subscripts = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(first, second):
        b_subscripts[j] = a_subscripts[i]
    out = [c for k, c in enumerate(a_subscripts) if k not in first] + [c for k, c in enumerate(b_subscripts) if k not in second]
    return einsum(f"{''.join(a_subscripts)},{''.join(b_subscripts)}->{''.join(out)}", a, b)


def _listed(dims):
    return [dims] if isinstance(dims, int) else list(dims)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``, as ``torch.std_mean``."""
    if isinstance(dim, bool):  # std_mean(x, False): the old signature's unbiased
        dim, unbiased = None, dim
    return input.std(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``, as ``torch.var_mean``."""
    if isinstance(dim, bool):  # var_mean(x, False): the old signature's unbiased
        dim, unbiased = None, dim
    return input.var(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim)


def einsum(equation, *operands):
    """``torch.einsum``: sums of products over the subscripts of ``equation`` (``...`` and the implicit output
    form included); one op, whose equation the SDK writes out in full. The sublist form too (``einsum(a, [0, 1], b,
    [1, 2], [0, 2])``: operands, each followed by its subscripts as ints in [0, 52) or Ellipsis, then the output's)."""
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    shapes = [x.shape if isinstance(x, Tensor) else np.shape(x) for x in operands]
    try:
        explicit = explicit_einsum(equation, shapes)
    except ValueError as error:
        raise errors.InvalidArgumentError(str(error)) from None
    _check_einsum_dtypes(explicit, operands)
    return _op("einsum", tuple(operands), {"equation": explicit})


def _check_einsum_dtypes(explicit, operands):
    """PyTorch's einsum takes the operands pair by pair, left to right: a pair that sums a subscript out (needed by
    no later operand nor the output) is a batched product, refused for two dtypes in bmm's words; any other pair
    multiplies, promoting."""
    if len(operands) < 2 or not all(isinstance(x, Tensor) for x in operands) or not _dtypes_differ(*operands):
        return
    inputs, output = explicit.split("->")
    subscripts = inputs.split(",")
    left, dtype = set(subscripts[0]), operands[0]._dtype
    for k in range(1, len(operands)):
        right, right_dtype = set(subscripts[k]), operands[k]._dtype
        needed = set(output).union(*subscripts[k + 1:])
        if dtype != right_dtype and (left | right) - needed:
            raise _scalar_type_error(dtype, right_dtype)
        left, dtype = (left | right) & needed, promote(dtype, right_dtype)


def _sublist_equation(args):
    """(the equation, the operands) of einsum's sublist form, as PyTorch reads it: subscript k is letter k of A-Z a-z."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    def subscripts(sublist):
        out = []
        for k in sublist:
            if k is Ellipsis:
                out.append("...")
            elif not 0 <= k < len(letters):
                raise errors.InvalidValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
            else:
                out.append(letters[k])
        return "".join(out)

    pairs = len(args) // 2  # (operand, sublist) pairs, then the output's sublist where there is one more
    equation = ",".join(subscripts(args[2 * i + 1]) for i in range(pairs))
    if len(args) % 2:
        equation += "->" + subscripts(args[-1])
    return equation, tuple(args[0:2 * pairs:2])


def _extreme_of_two(name):
    def function(input, other):
        _tensor_argument(name, "input", input)
        _tensor_argument(name, "other", other, 2)
        return _op(name, (input, other))

    function.__name__ = name
    function.__doc__ = f"``torch.{name}``, elementwise, of two tensors (a NaN wins); a number is refused, as PyTorch refuses it."
    return function


maximum, minimum = _extreme_of_two("maximum"), _extreme_of_two("minimum")


def polygamma(n, input):
    """``torch.polygamma(n, input)``: the ``n``-th derivative of digamma, elementwise."""
    if not isinstance(input, Tensor):
        raise TypeError(f"polygamma(): argument 'input' (position 2) must be Tensor, not {type(input).__name__}")
    return input.polygamma(n)


def _tensor_list(name, tensors):
    """The tensors of ``f(a, b)`` or ``f([a, b])`` (atleast_*d, broadcast_tensors, block_diag, cartesian_prod), and whether
    they came as one sequence."""
    listed = len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
    tensors = tuple(tensors[0]) if listed else tuple(tensors)
    for k, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}(): argument 'tensors' (position {k + 1}) must be tuple of Tensors, not {type(x).__name__}")
    return tensors, listed


def _atleast(ndim):
    def function(*tensors):
        listed_tensors, listed = _tensor_list(f"atleast_{ndim}d", tensors)
        out = tuple(_at_least(x, ndim) for x in listed_tensors)
        return out[0] if len(out) == 1 and not listed else out

    function.__name__ = f"atleast_{ndim}d"
    function.__doc__ = (f"Each tensor viewed with at least {ndim} dims (a 0-d tensor as ones; "
                        f"{'a 1-D one as a row' if ndim == 2 else 'a 1-D (n) as (1, n, 1), a 2-D (m, n) as (m, n, 1)' if ndim == 3 else 'as it is otherwise'}), "
                        f"as ``torch.atleast_{ndim}d``: one tensor for one, a tuple for several.")
    return function


def _at_least(x, ndim):
    if x.ndim >= ndim:
        return x
    if ndim == 3:
        return x.reshape((1, 1, 1) if x.ndim == 0 else (1, x.shape[0], 1) if x.ndim == 1 else tuple(x.shape) + (1,))
    return x.reshape((1,) * (ndim - x.ndim) + tuple(x.shape))


atleast_1d, atleast_2d, atleast_3d = _atleast(1), _atleast(2), _atleast(3)


def _stacked(name, dim, ndim):
    def function(tensors):
        tensors = tuple(tensors)
        if not tensors:
            raise errors.InvalidArgumentError(f"{name} expects a non-empty TensorList")
        lifted = [_at_least(x, ndim) for x in tensors]
        along = 0 if name == "hstack" and all(x.ndim == 1 for x in lifted) else dim
        return cat(lifted, along)

    function.__name__ = name
    function.__doc__ = {
        "hstack": "Tensors joined column-wise (along dim 1; 1-D ones along dim 0), as ``torch.hstack``.",
        "vstack": "Tensors joined row-wise, 1-D ones as rows, as ``torch.vstack`` (``torch.row_stack``).",
        "dstack": "Tensors joined along dim 2, each made at least 3-D, as ``torch.dstack``.",
    }[name]
    return function


hstack, vstack, dstack = _stacked("hstack", 1, 1), _stacked("vstack", 0, 2), _stacked("dstack", 2, 3)
row_stack = vstack


def column_stack(tensors):
    """Tensors as columns side by side: 0-d and 1-D ones as (n, 1) columns, as ``torch.column_stack``."""
    tensors = tuple(tensors)
    if not tensors:
        raise errors.InvalidArgumentError("column_stack expects a non-empty TensorList")
    return cat([x.reshape(-1, 1) if x.ndim <= 1 else x for x in tensors], 1)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views), as ``torch.broadcast_tensors``."""
    tensors, _ = _tensor_list("broadcast_tensors", tensors)
    shape = ()
    for other in (tuple(x.shape) for x in tensors):
        n = max(len(shape), len(other))
        a, b = (1,) * (n - len(shape)) + shape, (1,) * (n - len(other)) + other
        for d in range(n):
            if a[d] != b[d] and 1 not in (a[d], b[d]):  # PyTorch's words, for the first pair that disagrees
                raise errors.InvalidArgumentError(f"The size of tensor a ({a[d]}) must match the size of tensor b ({b[d]}) at non-singleton dimension {d}")
        shape = np.broadcast_shapes(a, b)
    return tuple(x if tuple(x.shape) == shape else x.expand(shape) for x in tensors)


def block_diag(*tensors):
    """The tensors (0-d, 1-D as a row, or 2-D) down the diagonal of one matrix, zeros elsewhere, as ``torch.block_diag``."""
    tensors, _ = _tensor_list("block_diag", tensors)
    for k, x in enumerate(tensors):
        if x.ndim > 2:
            raise errors.InvalidArgumentError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {k} has {x.ndim} dimensions")
    blocks = [_at_least(x, 2) for x in tensors]
    if not blocks:
        raise errors.InvalidArgumentError("block_diag() needs at least one tensor input (gradwire makes tensors in a session)")
    width, left, rows = sum(b.shape[1] for b in blocks), 0, []
    for b in blocks:
        right = width - left - b.shape[1]
        rows.append(_op("pad", (b,), {"pad": (left, right, 0, 0)}) if left or right else b)
        left += b.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D tensor, one row each (``itertools.product``'s order), as
    ``torch.cartesian_prod``; a single tensor comes back as it is."""
    tensors, _ = _tensor_list("cartesian_prod", tensors)
    for x in tensors:
        if x.ndim != 1:
            raise errors.InvalidArgumentError(f"Expect a 1D vector, but got shape {list(x.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    return stack([grid.reshape(-1) for grid in meshgrid(*tensors, indexing="ij")], 1)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-D tensor's elements (with replacement: ``combinations_with_replacement``),
    one row each, in ``itertools``' order, as ``torch.combinations``."""
    if input.ndim != 1:
        raise errors.InvalidArgumentError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise errors.InvalidArgumentError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input[:0]
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[rows]


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where each of ``input`` would go in the innermost rows of ``sorted_sequence`` to keep them sorted (``right`` or
    ``side="right"``: after equal elements), as ``torch.searchsorted``; ``sorter``: the order that sorts an unsorted
    sequence. Not differentiable."""
    if side is not None:
        if side not in ("left", "right"):
            raise errors.InvalidArgumentError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise errors.InvalidArgumentError("torch.searchsorted(): side and right can't be set to opposites, got side of left while right was True")
        right = side == "right"
    if not isinstance(sorted_sequence, Tensor):
        raise TypeError(f"searchsorted(): argument 'sorted_sequence' (position 1) must be Tensor, not {type(sorted_sequence).__name__}")
    if sorter is not None:
        sorted_sequence = sorted_sequence.gather(-1, _as_index(sorted_sequence, sorter))
    if not isinstance(input, Tensor):  # a number: a 0-d result
        input = sorted_sequence._session.tensor(np.asarray(input))
    return _op("searchsorted", (sorted_sequence, input), {"right": right, "out_int32": out_int32})


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each element among the 1-D ascending ``boundaries`` (``right``: boundaries[i-1] <= x < boundaries[i];
    else boundaries[i-1] < x <= boundaries[i]), as ``torch.bucketize``. Not differentiable."""
    if not isinstance(boundaries, Tensor):
        raise TypeError(f"bucketize(): argument 'boundaries' (position 2) must be Tensor, not {type(boundaries).__name__}")
    if boundaries.ndim != 1:
        raise errors.InvalidArgumentError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
