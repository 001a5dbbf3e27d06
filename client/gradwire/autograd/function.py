"""``gw.autograd.Function``: PyTorch's custom autograd functions, on tensor hooks.

``forward`` runs here, its ops on the server under no_grad. Each input that requires grad then gets an alias
(``x[...]``, a view: nothing copied) that only a tie reads: a term that adds nothing (an empty slice of each alias,
summed) to every output, which puts the inputs behind the outputs in the graph. A backward pass that reaches the
outputs stops at each (a tensor hook) and keeps its gradient; at the first alias it reaches (all the outputs are
done by then: they come first in the pass's order) it calls ``backward`` with those gradients, and each alias's
hook puts the gradient ``backward`` returned for its input in place of the tie's zeros, or, where that is None, no
gradient at all (Resume.drop): the input then gets nothing from this function, as in PyTorch.
"""

from __future__ import annotations

from .. import errors
from ..floats import is_floating
from ..grad_mode import is_grad_enabled, no_grad
from ..session import NO_GRADIENT
from ..tensor import Tensor


class FunctionCtx:
    """``ctx``: what ``forward`` keeps for ``backward`` (``save_for_backward``, attributes)."""

    def __init__(self, inputs):
        self.needs_input_grad = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        self.saved_tensors = ()
        self.materialize_grads = True
        self._non_differentiable = set()

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        raise errors.UnimplementedError("autograd.Function: mark_dirty (in-place forward) is not supported; return a new tensor")


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

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx(args)
        with no_grad():
            result = cls.forward(ctx, *args)
        wanting = [i for i, x in enumerate(args) if isinstance(x, Tensor) and x.requires_grad]
        if not wanting or not is_grad_enabled():
            return result
        outputs = result if isinstance(result, tuple) else (result,)
        node = _Node(cls, ctx, args, outputs)
        aliases = []
        for i in wanting:  # an alias each, read by the tie alone: its gradient is this function's share for input i
            alias = args[i][...]
            alias.register_hook(node.input_hook(i))  # (the hook holds the node: it lives as long as the outputs' graph)
            alias._opaque = True  # whether the pass goes on to the input only backward says: the server reports the leaves
            aliases.append(alias)
        tie = sum(alias.reshape(-1)[:0].sum() for alias in aliases)
        inputs = tuple(x for x in args if isinstance(x, Tensor))
        tied = []
        for k, out in enumerate(outputs):
            if not isinstance(out, Tensor) or not is_floating(out.dtype) or id(out) in ctx._non_differentiable:
                tied.append(out)
                continue
            out = out + tie
            out.register_hook(node.output_hook(k))
            out._grad_fn = (f"{cls.__name__}Backward", inputs)  # its grad_fn's name and next_functions, as PyTorch's
            tied.append(out)
        return tuple(tied) if isinstance(result, tuple) else tied[0]


class _Node:
    """One call's pending backward: the outputs' gradients as a pass brings them, then each input's share."""

    def __init__(self, cls, ctx, inputs, outputs):
        self.cls, self.ctx, self.n_inputs = cls, ctx, len(inputs)
        self.wanting = {i: (tuple(x.shape), x.dtype) for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad}
        self.outputs = [(out._session, tuple(out.shape), out.dtype) if isinstance(out, Tensor) else None for out in outputs]
        self.grad_outputs = [None] * len(outputs)
        self.grad_inputs, self.remaining = None, set()

    def output_hook(self, k):
        def keep(grad):
            self.grad_outputs[k] = grad
            self.grad_inputs = None  # a new pass through the outputs (retain_graph): backward runs again

        keep.reads_final = True  # after the output's other hooks: a later Function's share for it, a user's hook
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
        self.remaining.discard(i)
        share = self.grad_inputs[i]
        if not self.remaining:
            self.grad_inputs = None
        return share

    def run_backward(self, grad_outputs):
        grads = list(grad_outputs)
        if self.ctx.materialize_grads:  # an output the pass did not reach: zeros, as PyTorch gives
            grads = [g if g is not None or out is None else out[0].zeros(*out[1], dtype=out[2]) for g, out in zip(grads, self.outputs)]
        result = self.cls.backward(self.ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        if len(result) != self.n_inputs:
            raise errors.InvalidArgumentError(
                f"function {self.cls.__name__}Backward returned an incorrect number of gradients (expected {self.n_inputs}, got {len(result)})"
            )
        checked = list(result)
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
        return checked
