"""The engine's tensor: an array plus what autograd needs to know of it."""

from __future__ import annotations

import weakref

from . import graph
from .dtypes import is_floating
from .errors import DTypeError, GraphError


class Tensor:
    """An array on the engine's device, with PyTorch's autograd attributes.

    ``array`` is the raw NumPy/CuPy array. ``grad_fn`` is the ``Node`` that
    made this tensor (None on leaves). ``_version`` is a one-element list shared
    with every view of the same memory, so an in-place change to any of them is
    seen by a pending backward that saved one. A view made by a view op knows its
    base and how it was taken (``_view``: the root tensor and the view ops from it),
    and the root its live views (``_views``), so that a recorded in-place change
    to either rewrites the histories of both, as PyTorch's (``Engine.apply_into``).
    """

    __slots__ = ("array", "_requires_grad", "grad", "grad_fn", "_version", "_accumulator", "engine", "_view", "_views", "_output_nr", "__weakref__")
    __array_priority__ = 1000  # ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, array, engine, requires_grad=False, grad_fn=None, version=None):
        self.array = array
        self.engine = engine
        self._requires_grad = requires_grad
        self.grad = None
        self.grad_fn = grad_fn
        self._version = version if version is not None else [0]
        self._accumulator = None
        self._view = None  # (root tensor, ((view op, params), ...)) for a view of another tensor's memory
        self._views = None  # a root's live views (a WeakSet), once it has had one
        self._output_nr = 0  # which output of grad_fn this is (a node with several outputs: linalg.svd's U, S, Vh)

    # --- what a user reads ------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def device(self) -> str:
        return self.engine.device

    @property
    def version(self) -> int:
        return self._version[0]

    @property
    def data(self) -> "Tensor":
        """The same memory without autograd history (PyTorch's ``.data``)."""
        return Tensor(self.array, self.engine)

    @property
    def T(self) -> "Tensor":
        return self.permute(tuple(reversed(range(self.ndim))))

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return self.array.size

    def numpy(self):
        return self.engine.backend.asnumpy(self.array)

    def item(self):
        return self.array.item()

    def tolist(self):
        return self.numpy().tolist()

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        extra = f", grad_fn=<{self.grad_fn.name}>" if self.grad_fn else (", requires_grad=True" if self._requires_grad else "")
        return f"tensor({self.numpy()!r}{extra})"

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.array.item())

    __hash__ = object.__hash__

    # --- autograd ---------------------------------------------------------------
    def accumulator(self) -> graph.AccumulateGrad:
        """This leaf's ``AccumulateGrad`` node, shared by every graph that uses it."""
        node = self._accumulator() if self._accumulator is not None else None
        if node is None:
            node = graph.AccumulateGrad(self)  # held by the graph; we keep only a weak ref (no cycle)
            self._accumulator = weakref.ref(node)
        return node

    def requires_grad_(self, requires_grad=True) -> "Tensor":
        if self.grad_fn is not None and not requires_grad:
            raise GraphError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        if requires_grad and not is_floating(self.dtype):
            raise DTypeError("only Tensors of floating point and complex dtype can require gradients")
        if self.grad_fn is None:
            self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Let backward fill this non-leaf's ``.grad`` too, as PyTorch's (a no-op on a leaf)."""
        if not self._requires_grad:
            raise GraphError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self.grad_fn.retain(self, weakref.ref(self))

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn.retains(self)

    def backward(self, gradient=None, retain_graph=False):
        self.engine.backward(self, gradient, retain_graph)

    @property
    def output_nr(self) -> int:
        return self._output_nr

    def detach(self) -> "Tensor":
        return Tensor(self.array, self.engine, version=self._version)

    def pinned(self) -> "Tensor":
        """A tensor of its own at this one's point of the graph (same memory, version, node): a later in-place
        change to this one, or to its base, gives this one a new node and leaves the pin's where it was, so that
        a backward pass stops there (a custom Function's stops, ``gradwire.autograd.function``). A non-leaf only:
        a leaf's gradient goes to the leaf itself."""
        if self.grad_fn is None:
            raise GraphError("only a tensor with a grad_fn can be pinned")
        pinned = Tensor(self.array, self.engine, self._requires_grad, self.grad_fn, self._version)
        pinned._output_nr = self._output_nr
        return pinned

    # --- in place (for optimizer steps: leaves under no_grad) -------------------------
    def __iadd__(self, other):
        return self.engine.inplace("add", self, other)

    def __isub__(self, other):
        return self.engine.inplace("sub", self, other)

    def __imul__(self, other):
        return self.engine.inplace("mul", self, other)

    def __itruediv__(self, other):
        return self.engine.inplace("div", self, other)

    def zero_(self):
        return self.engine.inplace("zero", self)

    def copy_(self, other):
        return self.engine.inplace("copy", self, other)

    # --- ops --------------------------------------------------------------------
    def __add__(self, other):
        return self.engine.apply("add", self, other)

    def __radd__(self, other):
        return self.engine.apply("add", other, self)

    def __sub__(self, other):
        return self.engine.apply("sub", self, other)

    def __rsub__(self, other):
        return self.engine.apply("sub", other, self)

    def __mul__(self, other):
        return self.engine.apply("mul", self, other)

    def __rmul__(self, other):
        return self.engine.apply("mul", other, self)

    def __truediv__(self, other):
        return self.engine.apply("div", self, other)

    def __rtruediv__(self, other):
        return self.engine.apply("div", other, self)

    def __pow__(self, other):
        return self.engine.apply("pow", self, other)

    def __rpow__(self, other):
        return self.engine.apply("pow", other, self)

    def __matmul__(self, other):
        return self.engine.apply("matmul", self, other)

    def __rmatmul__(self, other):
        return self.engine.apply("matmul", other, self)

    def __neg__(self):
        return self.engine.apply("neg", self)

    def __eq__(self, other):
        return self.engine.apply("eq", self, other)

    def __ne__(self, other):
        return self.engine.apply("ne", self, other)

    def __lt__(self, other):
        return self.engine.apply("lt", self, other)

    def __le__(self, other):
        return self.engine.apply("le", self, other)

    def __gt__(self, other):
        return self.engine.apply("gt", self, other)

    def __ge__(self, other):
        return self.engine.apply("ge", self, other)

    def __getitem__(self, key):
        return self.engine.index(self, key)

    def sum(self, dim=None, keepdim=False):
        return self.engine.apply("sum", self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        return self.engine.apply("mean", self, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=False):
        return self.engine.reduce_with_index("max", self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return self.engine.reduce_with_index("min", self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return self.engine.apply("argmax", self, dim=dim, keepdim=keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self.engine.apply("argmin", self, dim=dim, keepdim=keepdim)

    def softmax(self, dim):
        return self.engine.apply("softmax", self, dim=dim)

    def log_softmax(self, dim):
        return self.engine.apply("log_softmax", self, dim=dim)

    def clamp(self, min=None, max=None):
        return self.engine.apply("clamp", self, min=min, max=max)

    def reshape(self, *shape):
        return self.engine.apply("reshape", self, shape=_sizes(shape))

    view = reshape

    def transpose(self, dim0, dim1):
        return self.engine.apply("transpose", self, dim0=dim0, dim1=dim1)

    def t(self):
        return self.transpose(0, 1) if self.ndim == 2 else self

    def permute(self, *dims):
        return self.engine.apply("permute", self, dims=_sizes(dims))

    def expand(self, *sizes):
        return self.engine.apply("expand", self, sizes=_sizes(sizes))

    def squeeze(self, dim=None):
        return self.engine.apply("squeeze", self, dim=dim)

    def unsqueeze(self, dim):
        return self.engine.apply("unsqueeze", self, dim=dim)

    def matmul(self, other):
        return self.engine.apply("matmul", self, other)

    def to(self, dtype=None, device=None):
        return self.engine.to(self, dtype=dtype, device=device)

    def clone(self):
        return self.engine.apply("clone", self)


def _sizes(args) -> tuple:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``, as PyTorch does."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _unary(name):
    def method(self):
        return self.engine.apply(name, self)

    method.__name__ = name
    return method


for _name in ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "neg"):
    setattr(Tensor, _name, _unary(_name))
for _name in ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"):
    setattr(Tensor, _name, lambda self, other, _op=_name: self.engine.apply(_op, self, other))

