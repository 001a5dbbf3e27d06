"""``gw.autograd.Function``: PyTorch's custom autograd functions, on tensor hooks.

``forward`` runs here, its ops on the server under no_grad. Each input that requires grad then gets a stop: a pin
(``Session._alias(keeps_graph=True)``) of an alias (``x[...]``, a view: nothing copied), which only a tie reads: a
term that adds nothing (an empty slice of each stop, summed) to every output, which puts the inputs behind the
outputs in the graph. Each output is its value (detached) plus the tie expanded to its shape, and a backward pass
stops at that expanded tie (a tensor hook) and keeps the output's gradient; at the first input stop it reaches (all
the outputs are done by then: they come first in the pass's order) it calls ``backward`` with those gradients, and
each stop's hook puts the gradient ``backward`` returned for its input in place of the tie's zeros, or, where that is
None, no gradient at all (Resume.drop): the input then gets nothing from this function, as in PyTorch.

The stops are tensors the caller never holds, whose nodes no in-place change moves: the caller's in-place change to
an output (``h.mul_(2)``, ``nn.ReLU(inplace=True)``) or to an input after the call is a node after (before) the
function's, as PyTorch's. The tie also multiplies a slice of each saved tensor (by an empty one), so that a pass
raises where one was changed in place since (the engine's version check). An output that ``forward`` made is the same
Python object ``forward`` returned, now with the function's history (a saved output has it: double backward through
it; ``ctx`` holds it weakly, as the output's graph holds ``ctx``).

An input ``forward`` changed in place (``ctx.mark_dirty``) moves to a stand-in (the function's input: the alias and
``next_functions`` read it), and the Python object the caller holds takes the tied output's handle and history.
"""

from __future__ import annotations

import functools
import warnings
import weakref

from .. import errors
from ..floats import is_floating
from ..grad_mode import is_grad_enabled, no_grad
from ..session import NO_GRADIENT
from ..tensor import Tensor, _node_hook_result


_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). "
    "Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True "
    "if you need to backward through the graph a second time or if you need to access saved tensors after calling backward."
)


class FunctionCtx:
    """``ctx``: what ``forward`` (or ``setup_context``) keeps for ``backward`` (``save_for_backward``, attributes).

    ``saved_tensors`` is freed by the first backward pass through the function that does not retain the graph: read
    after that, it raises PyTorch's error."""

    def __init__(self, inputs):
        self.needs_input_grad = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        self.to_save = ()
        self.materialize_grads = True
        self._non_differentiable = set()
        self._freed = False
        self._dirty = ()
        self._node_metadata = {}  # the node's (grad_fn.metadata)
        self._hooks = {"pre": {}, "post": {}}  # the node's (grad_fn.register_prehook / register_hook)

    def _node_hooks(self, kind, fn):
        from ..utils.hooks import RemovableHandle

        return RemovableHandle(self._hooks[kind], fn)

    def save_for_backward(self, *tensors):
        """Keep ``tensors`` (Tensors or None) for ``backward``, which reads them as ``ctx.saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type {type(t).__name__}")
        self.to_save = tensors

    def save_for_forward(self, *tensors):
        """Keep ``tensors`` for a ``jvp`` rule, as PyTorch's (gradwire's forward mode runs ``backward`` twice instead,
        ``forward_ad``: they are kept, never read)."""
        for t in tensors:
            assert isinstance(t, Tensor) or t is None, (
                "save_for_forward expects all arguments to be tensors; you should save non-tensors as attributes on ctx.")
        self.saved_for_forward = tensors

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(_FREED)
        return tuple(t.unpack() if isinstance(t, _SavedOutput) else t for t in self.to_save)

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *tensors):
        """These outputs get no gradient (their grad_output in ``backward`` is zeros, or None without materialize)."""
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        """``False``: an output the pass does not reach gives ``backward`` None instead of zeros."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        """These inputs were changed in place by ``forward`` (which returns them): each becomes the function's output,
        its earlier version the function's input, as PyTorch's."""
        self._dirty = tensors


def once_differentiable(fn):
    """``@once_differentiable`` under ``@staticmethod backward``: ``backward`` runs under no_grad, so that its results
    carry no graph (a double backward through it finds no gradient), as PyTorch's."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)

    return wrapper


class Function:
    """Subclass with ``@staticmethod forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``; call ``apply``.

    ``backward`` runs in this process during the pass (a round trip for each output and input it stops at) and
    returns one gradient (or None) per input of ``forward``. The outputs' ``grad_fn`` is named ``<Name>Backward``,
    its ``next_functions`` one per tensor input, as PyTorch's (the server's graph, and ``gradwire.viz``, show the
    tie's nodes).
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom autograd.Function to use it with backward mode AD.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch 2's style: ``forward(*args)`` without ctx, then ``setup_context(ctx, inputs, output)`` saves for backward."""
        raise NotImplementedError("setup_context is not implemented.")

    generate_vmap_rule = False  # (gw.vmap runs the function once per slice: no rule is needed)

    @staticmethod
    def vmap(info, in_dims, *args):
        """PyTorch's vmap rule: not used by ``gw.vmap``, which calls ``apply`` once per slice."""
        raise NotImplementedError(
            "To use autograd.Function with vmap, you must either override the vmap staticmethod or set generate_vmap_rule=True."
        )

    @staticmethod
    def vjp(ctx, *grad_outputs):
        """Another name for ``backward``: define either."""
        raise NotImplementedError("You must implement either the backward or vjp method for your custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx(args)
        separate = cls.setup_context is not Function.setup_context  # torch 2's style: forward without ctx
        with no_grad():
            if separate:
                result = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, result)
            else:
                result = cls.forward(ctx, *args, **kwargs)
        wanting = [i for i, x in enumerate(args) if isinstance(x, Tensor) and x.requires_grad]
        if not wanting or not is_grad_enabled():
            return result
        outputs = result if isinstance(result, tuple) else (result,)
        earlier = _earlier_versions(ctx, args, outputs)  # mark_dirty's inputs: their earlier versions are the function's inputs
        args = tuple(earlier.get(id(x), x) for x in args)
        node = _Node(cls, ctx, args, outputs)
        stops = []
        for i in wanting:  # a stop each, read by the tie alone: its gradient is this function's share for input i
            x = args[i]
            stop = x._session._alias(x[...], shares_version=True, keeps_graph=True)
            stop._requires_grad, stop._is_leaf, stop._parents = True, False, (x,)
            stop.register_hook(node.input_hook(i))  # (the hook holds the node: it lives as long as the outputs' graph)
            stop._opaque = True  # whether the pass goes on to the input only backward says: the server reports the leaves
            stops.append(stop)
        tie = sum(_empty(stop).sum() for stop in stops)
        for t in ctx.to_save:  # the engine checks its version at each pass, as PyTorch's saved tensors
            if isinstance(t, Tensor) and (t._dtype is None or t._dtype.kind != "c"):
                tie = tie + (_empty(stops[0]) * _first(t.detach())).sum()
        inputs = tuple(x for x in args if isinstance(x, Tensor))
        tied, seen, became = [], set(), set()
        for k, out in enumerate(outputs):
            if not isinstance(out, Tensor) or not is_floating(out.dtype) or id(out) in ctx._non_differentiable:
                tied.append(out)
                continue
            dirty = out if id(out) in earlier else None
            base = earlier[id(out)] if dirty is not None else out
            # the output's gradient, kept at a tensor of its own: an in-place change to the output comes after it
            zeros = (tie if tie.dtype == out.dtype else tie.to(out.dtype)).expand(*out.shape)
            zeros.register_hook(node.output_hook(k))
            value = (base.detach() if base._requires_grad else base) + zeros  # (an input returned: its grad from backward alone)
            value._grad_fn = (f"{cls.__name__}Backward", inputs, ctx)  # its grad_fn's name, next_functions and ctx, as PyTorch's
            if dirty is not None:  # the changed input becomes the output: the same Python object, as in PyTorch
                _become(dirty, value, owned=False)
                value = dirty
            elif id(out) not in seen and not out._requires_grad and out._view_of is None and not out._views and not any(out is a for a in args):
                value._parents = (zeros,)  # (not out itself: it becomes value)
                _become(out, value, owned=True)  # the object forward made (ctx may have saved it), as in PyTorch
                value = out
                became.add(id(out))
            seen.add(id(out))
            tied.append(value)
        if became:  # a saved output held weakly: the output's graph holds ctx (through the tie's hooks), ctx would hold it
            ctx.to_save = tuple(_SavedOutput(t) if id(t) in became else t for t in ctx.to_save)
        return tuple(tied) if isinstance(result, tuple) else tied[0]

    def __init__(self, *args, **kwargs):
        warnings.warn(
            f"{type(self)} should not be instantiated. Methods on autograd functions are all static, so you should invoke them on the "
            "class itself. Instantiating an autograd function will raise an error in a future version of PyTorch.",
            DeprecationWarning,
            stacklevel=2,
        )

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use new-style autograd function with "
            "static forward method. (Example: https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
        )


class _SavedOutput:
    """An output ``ctx`` saved: the output itself while it lives (its history: double backward through it), else its
    values (no pass reaches the function then: the client's graph, which holds the output, is gone)."""

    __slots__ = ("ref", "values")

    def __init__(self, output):
        self.ref, self.values = weakref.ref(output), output.detach()

    def unpack(self):
        output = self.ref()
        return self.values if output is None else output


def _empty(x):
    """An empty view of ``x`` (shape (0, ..., 0)): x's graph at no cost (nothing copied, nothing computed)."""
    return x[(slice(0, 0),) * x.ndim] if x.ndim else x[None][:0]


def _first(x):
    """x's first element as a view (shape (1, ..., 1)): it shares x's version counter (an empty view shares no memory,
    so the engine gives it a counter of its own)."""
    return x[(slice(0, 1),) * x.ndim] if x.ndim else x[None]


def _earlier_versions(ctx, args, outputs):
    """{id(input): a stand-in for its version before ``forward`` changed it} for each tensor ``mark_dirty`` names (each
    an input that ``forward`` returns), as PyTorch requires them."""
    earlier = {}
    for x in ctx._dirty:
        if not any(x is a for a in args) or not any(x is o for o in outputs):
            raise errors.InvalidArgumentError("mark_dirty: gradwire takes only inputs that forward changed in place and returns")
        if x._is_leaf and x._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        if x._view_of is not None or x._views:
            raise errors.UnimplementedError("mark_dirty: gradwire does not take a view, or a tensor with views, changed in place by a custom Function")
        past = Tensor.__new__(Tensor)
        for slot in _SLOTS:
            setattr(past, slot, getattr(x, slot))
        earlier[id(x)] = past
    return earlier


def _become(x, out, owned):
    """The Python object ``x`` takes ``out``'s handle and history; ``owned``: x's own handle goes with ``out`` (released
    with it), else a stand-in holds it (mark_dirty's earlier version)."""
    x._handle, out._handle = out._handle, x._handle if owned else 0  # (a handle of 0 is released by no one)
    for slot in ("_shape", "_dtype", "_parents", "_requires_grad", "_is_leaf", "_grad_fn", "_hooks", "_opaque", "_layout"):
        setattr(x, slot, getattr(out, slot))
    x._has_grad, x._grad_alias, x._grad_graph, x._data_of, x._post_hooks, x._retains_grad = False, None, None, None, None, False


_SLOTS = tuple(s for s in Tensor.__slots__ if s != "__weakref__")


class _Node:
    """One call's pending backward: the outputs' gradients as a pass brings them, then each input's share."""

    def __init__(self, cls, ctx, inputs, outputs):
        self.cls, self.ctx, self.n_inputs = cls, ctx, len(inputs)
        self.wanting = {i: (tuple(x.shape), x.dtype) for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad}
        self.outputs = [(out._session, tuple(out.shape), out.dtype) if isinstance(out, Tensor) else None for out in outputs]
        self.grad_outputs = [None] * len(outputs)
        self.grad_inputs, self.remaining = None, set()
        self.session = next(x._session for x in inputs if isinstance(x, Tensor))
        self.tensor_positions = [i for i, x in enumerate(inputs) if isinstance(x, Tensor)]

    def output_hook(self, k):
        def keep(grad):
            self.grad_outputs[k] = grad
            self.grad_inputs = None  # a new pass through the outputs (retain_graph): backward runs again

        keep.reads_final = True  # (alone on its tensor: the output's own hooks run at the output, before it)
        return keep

    def input_hook(self, i):
        def share(grad):
            value = self.share(i)
            return NO_GRADIENT if value is None else value

        return share

    def share(self, i):
        """Input i's gradient from ``backward``, run at the first input the pass reaches; None if none."""
        if self.grad_inputs is None:
            if all(g is None for g in self.grad_outputs):
                return None  # no pass through the outputs: nothing to add
            grad_outputs, self.grad_outputs = self.grad_outputs, [None] * len(self.grad_outputs)  # (this pass's, even if it fails)
            self.grad_inputs, self.remaining = self.run_backward(grad_outputs), set(self.wanting)
            retains = self.session._passes_retain
            if retains and not retains[-1]:  # a pass that frees the graph frees what ctx saved, as PyTorch's
                self.ctx._freed = True
        self.remaining.discard(i)
        share = self.grad_inputs[i]
        if not self.remaining:
            self.grad_inputs = None
        return share

    def run_backward(self, grad_outputs):
        grads = list(grad_outputs)
        for hook in list(self.ctx._hooks["pre"].values()):  # the node's prehooks: before zeros stand in for None, as PyTorch's
            changed = _node_hook_result(hook, hook(tuple(grads)), tuple(grads))
            if changed is not None:
                grads = list(changed) if len(grads) > 1 else [changed]
        seen = tuple(grads)
        if self.ctx.materialize_grads:  # an output the pass did not reach: zeros, as PyTorch gives
            grads = [g if g is not None or out is None else out[0].zeros(*out[1], dtype=out[2]) for g, out in zip(grads, self.outputs)]
        backward = self.cls.vjp if self.cls.vjp is not Function.vjp else self.cls.backward
        result = backward(self.ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        if len(result) > self.n_inputs and all(g is None for g in result[self.n_inputs:]):
            result = result[:self.n_inputs]  # trailing Nones beyond the inputs: dropped, as PyTorch's
        if len(result) != self.n_inputs:
            raise errors.InvalidArgumentError(
                f"function {self.cls.__name__}Backward returned an incorrect number of gradients (expected {self.n_inputs}, got {len(result)})"
            )
        checked = list(result)
        for i, g in enumerate(checked):
            if g is not None and i not in self.tensor_positions:
                raise errors.InvalidArgumentError(f"function {self.cls.__name__}Backward returned a gradient different than None at position "
                                                  f"{i + 1}, but the corresponding forward input was not a Variable")
        for i, (shape, dtype) in self.wanting.items():
            g = checked[i]
            if g is None:
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"function {self.cls.__name__}Backward returned a gradient different than None at position {i + 1}, "
                                "but the corresponding forward input was not a Variable")
            if tuple(g.shape) != shape:
                raise errors.InvalidArgumentError(f"Function {self.cls.__name__}Backward returned an invalid gradient at index {i} - "
                                                  f"got {list(g.shape)} but expected shape compatible with {list(shape)}")
            checked[i] = g if g.dtype == dtype else g.to(dtype)  # PyTorch casts it to the input's dtype
        if self.ctx._hooks["post"]:  # the node's hooks: one gradient per tensor input (PyTorch's node has an edge for those only)
            grad_inputs = tuple(checked[i] for i in self.tensor_positions)
            for hook in list(self.ctx._hooks["post"].values()):
                changed = _node_hook_result(hook, hook(grad_inputs, seen), grad_inputs)
                if changed is not None:
                    grad_inputs = tuple(changed) if len(grad_inputs) > 1 else (changed,)
            for i, g in zip(self.tensor_positions, grad_inputs):
                checked[i] = g
        return checked
