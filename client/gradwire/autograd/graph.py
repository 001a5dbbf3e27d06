"""``gw.autograd.graph``: the backward graph's nodes (``Node``, what ``grad_fn`` is), ``GradientEdge``,
``register_multi_grad_hook`` and the saved-tensor hooks, as ``torch.autograd.graph``.

What a backward pass saves (the residuals) lives on the server, beside the graph: ``save_on_cpu`` has nothing to
move and is a no-op, and ``saved_tensors_hooks`` with pack/unpack functions of the user's is refused (the SDK never
sees those tensors), rather than ignored.
"""

from __future__ import annotations

import abc
import threading
from collections import namedtuple

from .. import errors
from ..tensor import AccumulateGrad, GradFn, Tensor


class Node(abc.ABC):
    """A node of the backward graph: ``tensor.grad_fn`` (a ``GradFn``) or a leaf's ``AccumulateGrad``.

    ``name()``, ``next_functions``, ``metadata``, ``register_hook(fn(grad_inputs, grad_outputs))`` and
    ``register_prehook(fn(grad_outputs))``, as PyTorch's."""

    @abc.abstractmethod
    def name(self) -> str: ...

    @property
    @abc.abstractmethod
    def next_functions(self): ...

    @property
    @abc.abstractmethod
    def metadata(self) -> dict: ...

    @abc.abstractmethod
    def register_hook(self, fn): ...

    @abc.abstractmethod
    def register_prehook(self, fn): ...


Node.register(GradFn)
Node.register(AccumulateGrad)

GradientEdge = namedtuple("GradientEdge", ["node", "output_nr"])
GradientEdge.__doc__ = "An edge of the backward graph: a node and which of its outputs (``get_gradient_edge``)."


def get_gradient_edge(tensor) -> GradientEdge:
    """The edge a gradient for ``tensor`` goes along: its ``grad_fn`` (a leaf's ``AccumulateGrad``) and its output number."""
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does not require gradients")
    if tensor.is_leaf:
        return GradientEdge(AccumulateGrad.of(tensor), 0)
    return GradientEdge(tensor.grad_fn, tensor.output_nr)


def increment_version(tensor):
    """PyTorch bumps the tensor's version counter, for in-place changes autograd did not see; gradwire's server counts
    every in-place change itself (no change escapes it), so there is nothing to mark: a no-op."""
    if isinstance(tensor, (list, tuple)):
        for t in tensor:
            increment_version(t)
    elif not isinstance(tensor, Tensor):
        raise TypeError(f"increment_version(): argument 'tensor' must be Tensor, not {type(tensor).__name__}")


class _MultiHandle:
    def __init__(self, handles, finisher):
        self._handles, self._finisher = handles, finisher

    def remove(self):
        for h in self._handles:
            h.remove()
        self._finisher.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    """``fn`` once per backward pass that reaches any of ``tensors``: with ``mode="all"``, ``fn(grads)`` at the end of
    the pass, a gradient per tensor (None for those it did not reach); with ``mode="any"``, ``fn(grad)`` with the first
    gradient the pass computes (also at the end of the pass: PyTorch's runs at once). Returns a handle with ``remove()``."""
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("register_multi_grad_hook: expects at least one tensor")
    session = tensors[0]._session
    from ..utils.hooks import RemovableHandle

    state = {"grads": {}}

    def keeper(i):
        def keep(grad):
            if mode == "all" or not state["grads"]:
                state["grads"][i] = grad  # ("any": the first; called at the end of the pass, in the order registered)

        keep.reads_final = True  # the gradient the tensor's other hooks leave
        return keep

    def finish():
        grads, state["grads"] = state["grads"], {}
        if grads:
            fn(tuple(grads.get(i) for i in range(len(tensors))) if mode == "all" else next(iter(grads.values())))

    handles = [t.register_hook(keeper(i)) for i, t in enumerate(tensors) if t.requires_grad]
    return _MultiHandle(handles, RemovableHandle(session._pass_end, finish))


_disabled = threading.local()


class saved_tensors_hooks:
    """PyTorch's ``pack_hook``/``unpack_hook`` for what a backward pass saves: refused (``UnimplementedError``), as the
    saved tensors live on the server and never pass through the SDK: the hooks could not run."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        message = getattr(_disabled, "message", None)
        if message is not None:
            raise RuntimeError(message)
        raise errors.UnimplementedError(
            "saved_tensors_hooks: the tensors a backward pass saves live on the gradwire server, beside its graph, and never "
            "pass through the SDK: pack and unpack hooks cannot run on them"
        )

    def __exit__(self, *exc):
        return False


class save_on_cpu(saved_tensors_hooks):
    """PyTorch moves saved tensors to CPU memory; gradwire's live on the server, which chose their device: a no-op."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        self.pin_memory, self.device_type = pin_memory, device_type

    def __enter__(self):
        message = getattr(_disabled, "message", None)
        if message is not None:
            raise RuntimeError(message)
        return self


class disable_saved_tensors_hooks:
    """Within it, entering ``saved_tensors_hooks`` (``save_on_cpu`` too) raises ``RuntimeError(error_message)``."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        self._before = getattr(_disabled, "message", None)
        _disabled.message = self.error_message
        return self

    def __exit__(self, *exc):
        _disabled.message = self._before
        return False


__all__ = ["GradientEdge", "Node", "disable_saved_tensors_hooks", "get_gradient_edge", "increment_version", "register_multi_grad_hook",
           "save_on_cpu", "saved_tensors_hooks"]
