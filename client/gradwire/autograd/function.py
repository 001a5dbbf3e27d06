"""``gw.autograd.Function``: PyTorch's custom autograd functions, on tensor hooks.

``forward`` runs here, its ops on the server under no_grad; each output is then tied to the inputs
that require grad by a term that adds nothing (an empty slice of each, summed) but puts the inputs
behind the outputs in the graph. A backward pass that reaches the outputs stops at each (a tensor hook)
and keeps its gradient; at the first input it reaches (all the outputs are done by then: they come
first in the pass's order) it calls ``backward`` with those gradients, and each input's hook adds the
gradient ``backward`` returned for it to what reached it through the tie (zeros).
"""

from __future__ import annotations

import weakref

from .. import errors
from ..grad_mode import is_grad_enabled, no_grad
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
    its ``next_functions`` one per input, as PyTorch's (the server's graph, and ``gradwire.viz``, show the tie's
    ``AddBackward0``). Difference from PyTorch: an input whose gradient is None gets zeros in its ``.grad`` if
    nothing else gives it one.
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
        wanting = [x for x in args if isinstance(x, Tensor) and x.requires_grad]
        if not wanting or not is_grad_enabled():
            return result
        outputs = result if isinstance(result, tuple) else (result,)
        tie = sum(x.reshape(-1)[:0].sum() for x in wanting)
        node = _Node(cls, ctx, args, outputs)
        tied = []
        for k, out in enumerate(outputs):
            if not isinstance(out, Tensor) or out.dtype.kind != "f" or id(out) in ctx._non_differentiable:
                tied.append(out)
                continue
            out = out + tie
            out.register_hook(node.output_hook(k))  # (the hook holds the node: it lives as long as an output)
            out._parents = tuple(x for x in args if isinstance(x, Tensor))  # what the tie reaches; PyTorch's next_functions
            out._grad_fn = f"{cls.__name__}Backward"  # the name its grad_fn will have (no node object until read)
            tied.append(out)
        inputs_hooked = weakref.ref(node)
        for i, x in enumerate(args):
            if isinstance(x, Tensor) and x.requires_grad:
                handle = x.register_hook(_input_hook(inputs_hooked, i))
                weakref.finalize(node, handle.remove)  # an input's hook goes with the outputs
        return tuple(tied) if isinstance(result, tuple) else tied[0]


class _Node:
    """One call's pending backward: the outputs' gradients as a pass brings them, then each input's share."""

    def __init__(self, cls, ctx, inputs, outputs):
        self.cls, self.ctx, self.n_inputs = cls, ctx, len(inputs)
        self.wanting = {i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad}
        self.outputs = [(out._session, tuple(out.shape), out.dtype) if isinstance(out, Tensor) else None for out in outputs]
        self.grad_outputs = [None] * len(outputs)
        self.grad_inputs, self.remaining = None, set()

    def output_hook(self, k):
        def keep(grad):
            self.grad_outputs[k] = grad
            self.grad_inputs = None  # a new pass through the outputs (retain_graph): backward runs again

        keep.reads_final = True  # after the output's other hooks: a later Function's share for it, a user's hook
        return keep

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
        return result


def _input_hook(node_ref, i):
    def add(grad):
        node = node_ref()
        share = None if node is None else node.share(i)
        return None if share is None else grad + share
    return add
