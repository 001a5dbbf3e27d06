"""Per-session quotas: elements per tensor and bytes held, checked before anything is allocated.

What a session holds is every distinct array its handles reach: tensors, their
``.grad``, the residuals saved in their graphs, and its optimizers' state. Walking all of that on every
command would cost more than most ops, so each session keeps an estimate that
only grows (by what each command is about to allocate) and is replaced by the
exact walk when it would cross the limit. A release makes the estimate stale on
the high side, never the low one: a command is refused only after the walk.

An op's output is sized before the op runs with the same shape rules the SDK
uses (``gradwire.shapes``); an op those rules cannot size (indexing, a few
argument forms) is checked right after it ran, and its output dropped unbound.
"""

from __future__ import annotations

import math

import numpy as np
from gradwire import shapes

from .engine import Tensor, parse_dtype
from .engine.engine import arange_length
from .engine.errors import InvalidArgument
from .engine.graph import AccumulateGrad, Node
from .engine.ops import OPS
from .errors import InvalidRequest, QuotaExceeded


class _Shaped:
    """What ``gradwire.shapes`` reads of a tensor: ``_shape`` and ``_dtype``."""

    __slots__ = ("_shape", "_dtype")

    def __init__(self, tensor: Tensor):
        self._shape = tuple(tensor.array.shape)
        self._dtype = tensor.array.dtype


class SessionQuota:
    """The limits of one session and the estimate of what it holds."""

    __slots__ = ("session", "max_bytes", "max_elements", "estimate")

    def __init__(self, session, max_bytes: int, max_elements: int):
        self.session = session
        self.max_bytes = max_bytes
        self.max_elements = max_elements
        self.estimate = 0  # >= the bytes the session holds, as long as every allocation went through reserve()

    # --- the limits ---------------------------------------------------------------------
    def check_elements(self, shape, what="a tensor") -> int:
        """The element count of ``shape`` (exact, however large), refused above ``max_tensor_elements``."""
        if any(n < 0 for n in shape):
            raise InvalidRequest(f"negative dimension in shape {list(shape)}")
        elements = math.prod(shape)
        if elements > self.max_elements:
            raise QuotaExceeded(f"max_tensor_elements limit: {what} of {elements} elements exceeds {self.max_elements}")
        return elements

    def check_tensor(self, shape, dtype, what="a tensor"):
        """Elements and bytes of a new tensor of ``shape`` and ``dtype``, before it is made."""
        elements = self.check_elements(shape, what)
        self.reserve(elements * np.dtype(dtype).itemsize, what)

    def reserve(self, nbytes: int, what="a tensor"):
        """Count ``nbytes`` about to be allocated; refuse them if the session would hold more than its limit."""
        if nbytes <= 0:
            return
        if self.estimate + nbytes <= self.max_bytes:
            self.estimate += nbytes
            return
        held = self.estimate = held_bytes(self.session)
        if held + nbytes > self.max_bytes:
            raise QuotaExceeded(
                f"max_session_bytes limit: {what} of {nbytes} bytes would bring the {held} bytes "
                f"session {self.session.id} holds to {held + nbytes}, above {self.max_bytes}"
            )
        self.estimate += nbytes

    # --- commands ---------------------------------------------------------------------------
    def before_op(self, name: str, inputs, params) -> bool:
        """Size an op's output before it runs; False if the shape rules cannot tell (check after)."""
        nbytes = _same_size_output(name, inputs, params)  # the hot path: no bigger than an input that passed already
        sized = True
        if nbytes is None:
            size = _output_size(name, inputs, params)
            if size is None:
                return False  # the op itself says what is wrong with its arguments, or after_op checks it
            shape, elements, nbytes = size
            if elements > self.max_elements:
                self.check_elements(shape, f"the output of {name}")  # raises, saying which limit
            sized = name not in _MORE_OUTPUTS
        if self.estimate + nbytes <= self.max_bytes:  # reserve()'s first case, without its message made
            self.estimate += nbytes
        else:
            self.reserve(nbytes, f"the output of {name}")
        return sized

    def after_op(self, name: str, inputs, outputs):
        """Check outputs that were not sized before: refused ones are dropped, so their memory goes."""
        arrays = [x.array for x in inputs if type(x) is Tensor]
        for out in outputs:
            self.check_elements(out.array.shape, f"the output of {name}")
            if not any(_shares(out.array, a) for a in arrays):
                self.reserve(out.array.nbytes, f"the output of {name}")

    def before_factory(self, name: str, params: dict):
        """Size a factory's tensor from its parameters, before it is made."""
        try:
            dtype = parse_dtype(params.get("dtype") or "float32")
        except Exception:  # noqa: BLE001 - the factory itself says what is wrong with the dtype
            return
        if name == "arange":
            start, end, step = params.get("start", 0), params.get("end"), params.get("step", 1)
            if end is None:
                start, end = 0, start
            if not all(isinstance(v, (int, float)) for v in (start, end, step)):
                return  # the factory raises its own error
            try:
                shape = (arange_length(start, end, step, dtype),)
            except InvalidArgument:
                return  # (so does the factory)
        else:
            size = params.get("size", ())
            if isinstance(size, int):
                size = (size,)
            if not isinstance(size, tuple) or not all(type(n) is int for n in size):
                return
            shape = size
        self.check_tensor(shape, dtype, f"a {name} tensor")

    def before_backward(self, root: Tensor):
        """Reserve the ``.grad`` a backward pass from ``root`` will give leaves that have none yet."""
        self.reserve(sum(leaf.array.nbytes for leaf in _leaves_without_grad(root.grad_fn)), "the gradients of backward")

    def before_step(self, optimizer, groups):
        """Reserve the state an optimizer step makes for parameters that have none yet (momentum, moments)."""
        nbytes = 0
        for group in groups:
            per_param = _new_state_arrays(optimizer.kind, group)
            for key, param in group.params:
                if per_param and param.grad is not None:
                    have = optimizer.state.get(key, {})
                    nbytes += param.array.nbytes * sum(name not in have for name in per_param)
        self.reserve(nbytes, f"the state of {optimizer.kind}.step")

    def before_recorded_backward(self, roots):
        """create_graph: the recorded gradients save about what the graph behind ``roots`` saves, once more."""
        self.reserve(_saved_bytes(roots), "the recorded gradients of create_graph")

    def before_grad(self, inputs):
        """Reserve what ``autograd.grad`` returns: one gradient the size of each input."""
        self.reserve(sum(x.array.nbytes for x in inputs), "the gradients of grad")


_MORE_OUTPUTS = {"max", "min", "sort", "topk"}  # their indices (max and min: with a dim), checked after
_UNARY = frozenset(["neg", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "clamp", "softmax", "log_softmax", "clone"])
_ARITHMETIC = frozenset(["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
_COMPARISON = frozenset(["eq", "ne", "lt", "le", "gt", "ge"])


_BASIC_INDEX = (int, slice, type(None), type(Ellipsis))
_FULL_REDUCTIONS = {"sum": 0, "mean": 0, "max": 0, "min": 0, "argmax": 8, "argmin": 8}  # itemsize of the output (0: input's)


def _same_size_output(name, inputs, params):
    """Bytes of the output of the commonest ops, read off input 0 without the shape rules; else None.

    Unary ops on a tensor, and float ops of a tensor with a number or with a tensor of its own shape
    and dtype: the output has input 0's shape, and its dtype (bool for comparisons). A reduction over
    everything: one element.
    """
    if not inputs or type(inputs[0]) is not Tensor:
        return None
    a = inputs[0].array
    if name in _UNARY:
        return a.nbytes if len(inputs) == 1 else None
    if name == "index":  # ints, slices, None and Ellipsis only (a batch's rows): a view of input 0, no new memory
        key = params.get("key")
        return 0 if type(key) is tuple and all(type(part) in _BASIC_INDEX for part in key) else None
    if name in _FULL_REDUCTIONS:
        return (_FULL_REDUCTIONS[name] or a.itemsize) if len(inputs) == 1 and not params else None
    if name == "dropout" and len(inputs) == 1:  # its output, and the samples it draws (kept for backward)
        return 2 * a.nbytes
    if len(inputs) != 2 or a.dtype.kind != "f":
        return None
    b = inputs[1]
    if name == "matmul":  # (m, k) @ (k, n) of one dtype, the commonest layer; other forms take the shape rules
        if type(b) is Tensor and a.ndim == 2 == b.array.ndim and a.shape[1] == b.array.shape[0] and a.dtype == b.array.dtype:
            n = b.array.shape[1]
            if n <= a.shape[1] or a.shape[0] * n <= a.size:  # no more elements than input 0 had
                return a.shape[0] * n * a.itemsize
        return None
    if type(b) is float or type(b) is int or (type(b) is Tensor and b.array.shape == a.shape and b.array.dtype == a.dtype):
        if name in _ARITHMETIC:
            return a.nbytes
        if name in _COMPARISON:
            return a.size
    return None


_HASHABLE = (int, float, bool, str, type(None))
_SIZES: dict = {}  # (op, input shapes and dtypes, params) -> _output_size: a training step asks the same each time
_SIZES_KEPT = 4096
_UNKNOWN = object()


def _output_size(name, inputs, params):
    """(shape, elements, bytes it allocates) of an op's output by ``shapes.infer``; None where the rules
    cannot tell. Remembered for arguments made only of shapes, dtypes and plain numbers."""
    key = _shape_key(name, inputs, params)
    if key is not None:
        size = _SIZES.get(key, _UNKNOWN)  # one lookup: another session's thread may clear the dict
        if size is not _UNKNOWN:
            return size
    size = None
    if any(type(x) is Tensor for x in inputs):
        try:
            meta = shapes.infer(name, [_Shaped(x) if type(x) is Tensor else x for x in inputs], params)
            if meta is not None and meta[0] is not None and not all(isinstance(n, (int, np.integer)) and n >= 0 for n in meta[0]):
                meta = None  # a size made of what the client sent (topk's k): the op checks it
        except Exception:  # noqa: BLE001 - arguments the rules do not expect: the op gives the real error
            meta = None
        if meta is not None and meta[0] is not None:
            shape, dtype = meta
            elements = math.prod(shape)
            op = OPS.get(name)
            view = op is not None and op.view  # a view allocates nothing
            size = (tuple(shape), elements, 0 if view else elements * np.dtype(dtype).itemsize)
    if key is not None:
        if len(_SIZES) >= _SIZES_KEPT:
            _SIZES.clear()
        _SIZES[key] = size
    return size


def _shape_key(name, inputs, params):
    parts = [name]
    for x in inputs:
        if type(x) is Tensor:
            parts.append((x.array.shape, x.array.dtype))
        elif type(x) in _HASHABLE:
            parts.append((type(x), x))
        else:
            return None
    for item in params.items():
        value = item[1]
        if type(value) in _HASHABLE or (type(value) in (tuple, list) and all(type(v) in _HASHABLE for v in value)):
            parts.append((item[0], type(value), tuple(value) if type(value) is list else value))
        else:
            return None  # a tensor or a slice among the params: not remembered
    return tuple(parts)


def _new_state_arrays(kind, group) -> tuple:
    """The names of the state arrays a step keeps per parameter."""
    if kind == "sgd":
        return ("momentum_buffer",) if group.momentum != 0 else ()
    if kind == "muon":
        return ("momentum_buffer",)
    if kind == "rmsprop":
        return ("square_avg",) + (("momentum_buffer",) if group.momentum > 0 else ()) + (("grad_avg",) if group.centered else ())
    if kind == "adagrad":
        return ("sum",)
    if kind == "adamax":
        return ("exp_avg", "exp_inf")
    if kind == "adafactor":  # a vector's variance; a matrix's row and column factors, less (reserved as one whole)
        return ("variance",)
    return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group.amsgrad and kind == "adam" else ())


def _shares(a, b) -> bool:
    return _owner(a) is _owner(b)


def _owner(array):
    """The array that owns ``array``'s memory (itself unless it is a view)."""
    base = getattr(array, "base", None)
    while base is not None and hasattr(base, "nbytes") and hasattr(base, "base"):
        array, base = base, base.base
    return array


def _leaves_without_grad(node):
    seen, stack, leaves = set(), [node], []  # (nodes hash by identity; a leaf has one AccumulateGrad)
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if type(node) is Node:
            stack.extend(node.edges)
        elif type(node) is AccumulateGrad:
            leaf = node.variable
            if leaf is not None and leaf.grad is None:
                leaves.append(leaf)
    return leaves


def _saved_bytes(roots):
    """Bytes of the residuals the nodes reachable from ``roots`` save (each array once)."""
    seen, stack, arrays = set(), list(roots), {}
    while stack:
        node = stack.pop()
        if type(node) is not Node or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(node.edges)
        if node.saved is not None:
            ans, inputs = node.saved
            for array in (*(ans if type(ans) is tuple else (ans,)), *inputs):
                if hasattr(array, "nbytes"):
                    arrays[id(array)] = array.nbytes
    return sum(arrays.values())


def held_bytes(session) -> int:
    """Bytes of the distinct arrays a session holds: tensors, grads, saved residuals and optimizer state."""
    arrays: dict[int, int] = {}

    def count(array):
        if array is not None and hasattr(array, "nbytes"):
            owner = _owner(array)
            arrays[id(owner)] = owner.nbytes

    seen, stack = set(), []
    for tensor in list(session.tensors.values()):
        if type(tensor) is not Tensor:  # a GradAlias: the grad it stands for
            tensor = tensor.owner
        count(tensor.array)
        if tensor.grad is not None:
            count(tensor.grad.array)
        stack.append(tensor.grad_fn)
    for optimizer in list(getattr(session, "optimizers", {}).values()):  # momentum buffers, Adam's moments
        for state in list(optimizer.state.values()):
            for value in list(state.values()):
                count(value)
    while stack:
        node = stack.pop()
        if type(node) is not Node or id(node) in seen:
            continue
        seen.add(id(node))
        for saved in node.saved_tensors:
            count(saved)
        stack.extend(node.edges)
    return sum(arrays.values())
