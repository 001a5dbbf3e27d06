"""The recorded graph and the backward walk.

A ``Node`` is what PyTorch calls a ``grad_fn``: it names the op's backward
(``MulBackward0``), holds the residuals the VJP rules need, and points at the
nodes of its inputs through ``next_functions``. Leaves that require grad end in
an ``AccumulateGrad``. ``walk_backward`` sorts the graph topologically, walks it
in reverse, and un-broadcasts every input gradient in one place; it stops where a
tensor hook (``register_hook``) must see a gradient.

An op with several differentiable outputs (``linalg.svd``: U, S, Vh) records one node, as PyTorch's: every
output refers to it with its output number (``Tensor._output_nr``), ``Node.outputs`` holds the outputs'
shapes and dtypes, and an edge into such a node carries that number (``Node.nrs``). The walk gathers the
gradients of all of its outputs (a list, None where none arrived) and calls its rule once. Tensor hooks,
captured and retained gradients of such an output are keyed by ``(node, output number)``.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from .dtypes import COMPUTE
from .errors import AnomalyError, GraphError, NoDerivative

# --- grad mode (thread-local, as in PyTorch) -----------------------------------

class _GradMode(threading.local):
    enabled = True  # every thread's default: read off the class, with no AttributeError raised and caught per op


_mode = _GradMode()


def is_grad_enabled() -> bool:
    return _mode.enabled


class set_grad_enabled:
    """Context manager: ops inside record a graph (``enabled``) or not. A class, not a generator: a
    command under no_grad enters one, and contextlib's generator wrapper cost 1.5 us of it."""

    __slots__ = ("_enabled", "_previous")

    def __init__(self, enabled: bool):
        self._enabled = bool(enabled)

    def __enter__(self):
        self._previous = _mode.enabled
        _mode.enabled = self._enabled

    def __exit__(self, *exc):
        _mode.enabled = self._previous


def no_grad():
    """Context manager: ops inside record no graph."""
    return set_grad_enabled(False)


def enable_grad():
    return set_grad_enabled(True)


# --- nodes ----------------------------------------------------------------------


class Meta(NamedTuple):
    """Stands in for an input a rule did not save: its shape and dtype only."""

    shape: tuple
    dtype: object

    @property
    def ndim(self):
        return len(self.shape)


FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class AccumulateGrad:
    """The end of a path: adds the incoming gradient into a leaf's ``.grad``."""

    __slots__ = ("variable", "__weakref__")
    name = "AccumulateGrad"
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name_(self):
        return self.name

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


class Node:
    """One recorded op: its VJP rules, residuals and edges to its inputs' nodes.

    ``edges[i]`` is the node of input i (a ``Node``, an ``AccumulateGrad`` or
    None when input i needs no gradient). ``saved`` is ``(ans, inputs)`` while
    the residuals live and None once a backward pass has freed them.
    """

    # ``trace``: set only on nodes recorded under anomaly detection (the id of the op command that made it)
    __slots__ = ("name", "op", "rules", "edges", "metas", "params", "saved", "versions", "retained", "outputs", "nrs", "trace", "__weakref__")

    def __init__(self, name, op, rules, edges, metas, params, saved, versions, outputs=None, nrs=None):
        # a weak ref to the output that called retain_grad(): backward fills its .grad (several outputs: a list, one per output)
        self.retained = None
        self.outputs = outputs  # several differentiable outputs: their Metas (the gradients the rule gets, a list); else None
        self.nrs = nrs  # None, or per edge the output number it takes where that edge is a node with several outputs
        self.name = name
        self.op = op
        self.rules = rules
        self.edges = edges
        self.metas = metas
        self.params = params
        self.saved = saved
        self.versions = versions

    @property
    def next_functions(self):
        if self.nrs is None:
            return tuple((edge, 0) for edge in self.edges)
        return tuple((edge, nr or 0) for edge, nr in zip(self.edges, self.nrs))

    def retains(self, tensor) -> bool:
        """Whether ``tensor`` (one of this node's outputs) called retain_grad()."""
        ref = self.retained
        if ref is not None and self.outputs is not None:
            ref = ref[tensor._output_nr]
        return ref is not None and ref() is tensor

    def retain(self, tensor, ref):
        """Remember ``ref`` (a weak ref to ``tensor``, or None) as the output whose .grad backward fills."""
        if self.outputs is None:
            self.retained = ref
            return
        if self.retained is None:
            self.retained = [None] * len(self.outputs)
        self.retained[tensor._output_nr] = ref

    def name_(self):
        return self.name

    @property
    def saved_tensors(self):
        """The residuals this node still holds (empty once freed or when it saved none)."""
        if self.saved is None:
            return ()
        ans, inputs = self.saved
        return tuple(a for a in (ans, *inputs) if a is not None and not isinstance(a, Meta))

    def release(self):
        """Free the residuals; a later backward through this node raises."""
        if self.saved is not None and self.rules.saves is not None:
            self.saved = None

    def __repr__(self):
        return f"<{self.name} object at {id(self):#x}>"

    def input_grads(self, xp, grad, saved=None, rules=None):
        """Apply the VJP rule of every input that needs a gradient. ``saved`` and ``rules`` (a ``vjps.VJP``) stand
        in for the residuals and the table's rules where a gradient is recorded (``traced.traced_input_grads``)."""
        if self.saved is None:
            raise GraphError(FREED_MESSAGE)
        for cell, expected in self.versions:
            if cell[0] != expected:
                raise GraphError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: the input or output of {self.name} is at version {cell[0]}; "
                    f"expected version {expected} instead. Hint: do the in-place update after "
                    "backward(), or on a copy."
                )
        ans, inputs = saved or self.saved
        rules, params = rules or self.rules, self.params
        conjugated = False
        if self.outputs is not None:
            # (one per output, None where none arrived: each rule takes that as zeros)
            grad = tuple(g if g is None or g.dtype not in COMPUTE else g.astype(COMPUTE[g.dtype]) for g in grad)
        elif grad.dtype.kind == "f":
            pass  # the common case: a real float gradient goes to the rules as it is
        elif grad.dtype in COMPUTE:  # a bfloat16 output: its rule runs in float32, as its op did (``Engine._apply_computed``)
            grad = grad.astype(COMPUTE[grad.dtype])
        elif grad.dtype.kind == "c" and getattr(rules, "conjugated", False):
            # a holomorphic op's rule is written for real numbers (g * f'(z)); PyTorch's gradient of a complex input
            # is g * conj(f'(z)): the rule's answer to conj(g), conjugated (a real input then takes its real part)
            grad, conjugated = grad.conj(), True
        grads = []
        shared = rules.shared
        for argnum, edge in enumerate(self.edges):
            if edge is None:
                grads.append(None)
                continue
            input_rule = rules.for_input(argnum)
            if input_rule is None:
                raise NoDerivative(
                    f"the derivative of '{self.op}' with respect to input {argnum} is not implemented"
                )
            if shared is not None:
                if callable(shared):  # (the first rule that runs computes it; the others reuse it)
                    shared = (shared(xp, *inputs, **params),)
                grads.append(input_rule(xp, grad, ans, *inputs, argnum=argnum, shared=shared[0], **params))
            elif rules.variadic:
                grads.append(input_rule(xp, grad, ans, *inputs, argnum=argnum, **params))
            else:
                grads.append(input_rule(xp, grad, ans, *inputs, **params))
        if conjugated:
            return [None if g is None else g.conj() for g in grads]
        return grads


def unbroadcast(xp, grad, shape):
    """Sum a gradient back down to the shape of the input it belongs to."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


# --- the walk -------------------------------------------------------------------


def _topological_order(roots):
    """Every node reachable from ``roots``, each after all of its consumers."""
    order, seen = [], set()
    for root in roots:
        if root is None or root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.edges if type(root) is Node else ()))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if child is not None and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(child.edges if type(child) is Node else ())))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def _check_nan(xp, node, computed):
    for index, g in enumerate(computed):
        if g is None:
            continue
        array = g.tensor.array if hasattr(type(g), "tensor") else g  # a recorded (create_graph) gradient: its values
        if getattr(array, "dtype", None) is not None and array.dtype.kind in "fc" and bool(xp.isnan(array).any()):
            raise AnomalyError(f"Function '{node.name}' returned nan values in its {index}th output.", getattr(node, "trace", 0))


DROPPED = object()  # sent back at a stop: no gradient goes on from there (a custom Function's backward returned None)


def walk_backward(xp, roots, root_grads, retain_graph=False, capture=None, accumulate=None, stops=None, input_grads=None, check_nan=False):
    """Propagate ``root_grads`` from the ``roots`` (nodes or accumulators); a generator.

    With ``capture`` (a dict node -> None) the gradient reaching each captured
    node is stored there instead of touching any leaf's ``.grad``. Otherwise every
    ``AccumulateGrad`` reached calls ``accumulate(leaf, grad)``. Either way, every node
    run or captured whose output called ``retain_grad()`` calls ``accumulate(output, copy
    of grad)``, as PyTorch's retains-grad hook does (the walk passes ``grad`` on).

    ``stops`` (a dict node -> key) are PyTorch's tensor hooks: at each stop node the walk
    reaches, its gradient complete (the walk is in topological order), it yields ``(key, grad)``
    and goes on with what is sent back in place of ``grad`` (None: ``grad`` as it is; ``DROPPED``: none at
    all, the node neither run nor accumulated nor captured), before the node runs, a leaf's gradient is
    accumulated or a captured one is taken.

    ``input_grads(node, grad)``, where given, computes a node's input gradients in place of
    ``node.input_grads(xp, grad)``: create_graph's recorded gradients (``traced``).

    ``check_nan`` (anomaly detection): a node whose input gradients hold a NaN raises ``AnomalyError``.
    """
    grads = {}
    for root, g in zip(roots, root_grads):
        if type(root) is tuple:  # (node, output number): an output of a node with several
            _add_to_output(grads, root[0], root[1], g)
        else:
            grads[root] = grads[root] + g if root in grads else g
    roots = [root[0] if type(root) is tuple else root for root in roots]
    order = _topological_order(roots)
    needed = None
    if capture is not None:
        # as torch.autograd.grad: run only the nodes on a path to an input; the rest is neither run nor freed
        needed, live = set(), set(capture)
        live.update(key[0] for key in capture if type(key) is tuple)
        for node in reversed(order):  # inputs before the nodes that consume them
            if isinstance(node, Node) and any(edge in live for edge in node.edges):
                needed.add(node)
                live.add(node)
    for node in order:
        grad = grads.pop(node, None)
        if grad is None:
            continue
        if type(grad) is list:  # the gathered gradients of a node with several outputs
            grad = yield from _at_outputs(xp, node, grad, retain_graph, capture, accumulate, stops, needed)
            if grad is None:
                continue
        else:
            if stops is not None and node in stops and (needed is None or node in needed or node in capture):
                changed = yield stops[node], grad
                if changed is DROPPED:
                    if not retain_graph and type(node) is Node:
                        node.release()
                    continue
                if changed is not None:
                    _check_hooked(changed, grad)
                    grad = changed
            if capture is not None and node in capture:
                capture[node] = grad
            if type(node) is Node and node.retained is not None and (needed is None or node in needed or node in capture):
                retained = node.retained()  # as torch's hook: on every pass that computes this node's gradient
                if retained is not None:
                    accumulate(retained, xp.array(grad))
            if type(node) is AccumulateGrad or (needed is not None and node not in needed):
                if capture is None:
                    accumulate(node.variable, grad)
                continue
        computed = node.input_grads(xp, grad) if input_grads is None else input_grads(node, grad)
        if check_nan:
            _check_nan(xp.engine.xp if hasattr(xp, "engine") else xp, node, computed)  # (traced: the real module)
        if node.nrs is not None:
            _spread(xp, grads, node, grad, computed)
        else:  # the hot path, inline (a call per node costs the training step): _spread is its twin for output numbers
            for edge, meta, g in zip(node.edges, node.metas, computed):
                if edge is None or g is None:
                    continue
                if g.shape != meta.shape:
                    g = unbroadcast(xp, g, meta.shape)
                if g.dtype != meta.dtype:
                    g = _cast(g, meta.dtype)
                elif g is grad and type(edge) is AccumulateGrad:
                    g = g.copy()  # passed through unchanged: this array may reach another leaf too
                grads[edge] = grads[edge] + g if edge in grads else g
        if not retain_graph:
            node.release()


def _check_hooked(changed, grad):
    if changed.shape != grad.shape or changed.dtype != grad.dtype:
        raise GraphError(
            f"hook has changed the {'size' if changed.shape != grad.shape else 'type'} of value "
            f"(was {grad.dtype}{list(grad.shape)} got {changed.dtype}{list(changed.shape)})"
        )


def _add_to_output(grads, node, nr, g):
    """Add ``g`` to the gradient of output ``nr`` of ``node`` (a node with several outputs)."""
    slots = grads.get(node)
    if slots is None:
        slots = grads[node] = [None] * len(node.outputs)
    slots[nr] = g if slots[nr] is None else slots[nr] + g


def _cast(g, dtype):
    """A gradient in its input's dtype; a complex one reaching a real input gives its real part, as PyTorch's."""
    return g.astype(dtype) if g.dtype.kind != "c" or dtype.kind == "c" else g.real.astype(dtype)


def _spread(xp, grads, node, grad, computed):
    """The walk's loop over ``node``'s input gradients where an edge goes into a node with several outputs."""
    passed = grad if type(grad) is tuple else (grad,)
    for edge, nr, meta, g in zip(node.edges, node.nrs, node.metas, computed):
        if edge is None or g is None:
            continue
        if g.shape != meta.shape:
            g = unbroadcast(xp, g, meta.shape)
        if g.dtype != meta.dtype:
            g = _cast(g, meta.dtype)
        elif type(edge) is AccumulateGrad and any(g is p for p in passed):
            g = g.copy()
        if nr is None:
            grads[edge] = grads[edge] + g if edge in grads else g
        else:
            _add_to_output(grads, edge, nr, g)


def _at_outputs(xp, node, slots, retain_graph, capture, accumulate, stops, needed):
    """The stops, captures and retained gradients of a node with several outputs (each keyed by (node, number)),
    a generator as the walk; returns its outputs' gradients for the rule, or None where it is not to run."""
    on_path = needed is None or node in needed
    for nr, grad in enumerate(slots):
        if grad is None:
            continue
        key = (node, nr)
        if stops is not None and key in stops and (on_path or key in capture):
            changed = yield stops[key], grad
            if changed is DROPPED:
                slots[nr] = None
                continue
            if changed is not None:
                _check_hooked(changed, grad)
                slots[nr] = grad = changed
        if capture is not None and key in capture:
            capture[key] = grad
        if node.retained is not None and node.retained[nr] is not None and (on_path or key in capture):
            retained = node.retained[nr]()
            if retained is not None:
                accumulate(retained, xp.array(grad))
    if all(g is None for g in slots):  # every output's gradient dropped by its hook
        if not retain_graph:
            node.release()
        return None
    if not on_path:
        return None
    return slots
