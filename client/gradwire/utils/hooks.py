"""``RemovableHandle``, as ``torch.utils.hooks``: what registering a hook returns."""

from __future__ import annotations

import itertools


class RemovableHandle:
    """``remove()`` takes the hook away again (also on leaving a ``with`` block)."""

    _ids = itertools.count(1)

    def __init__(self, table: dict, hook, *, extra=()):
        self.id = next(RemovableHandle._ids)
        self._table = table
        self._extra = tuple(extra)  # tables of flags by id (with_kwargs, always_call), cleared with the hook
        table[self.id] = hook

    def remove(self):
        self._table.pop(self.id, None)
        for flags in self._extra:
            flags.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def replace_grad_inputs(fn, node_output, inputs, grad_inputs, result):
    """What an op node's hook (``grad_fn.register_hook``) returned in place of the node's ``grad_inputs``, checked as
    PyTorch checks it, applied with the tensor hooks: the server computes the node's gradients within the pass, so each
    input's gradient is shifted by (new - old) when the pass reaches it (the input's whole gradient is the node's share
    plus the others', each linear in it), by a hook that runs before the input's own and once (this pass alone)."""
    from ..tensor import _node_hook_result  # (the tensor module imports this one)

    changed = _node_hook_result(fn, result, grad_inputs)
    if changed is None:
        return
    changed = changed if len(grad_inputs) > 1 else (changed,)
    for x, old, new in zip(inputs, grad_inputs, changed):
        if old is not None and new is not old:  # (an input that takes no gradient: what the hook gives it goes nowhere)
            # (None: the node's share taken away; where it was the input's only gradient, PyTorch leaves a leaf's .grad
            # None, gradwire zeros, as the pass has reached the leaf)
            _add_once(x, -old if new is None else new - old)


def _add_once(tensor, delta):
    session, handles = tensor._session, []

    def remove():
        for handle in handles:
            handle.remove()

    def add(grad):
        remove()
        return grad + delta

    add._order = -1  # before the tensor's own hooks: they see the gradient the node's hook made, as PyTorch's
    handles.append(tensor.register_hook(add))
    handles.append(RemovableHandle(session._pass_end, remove))  # a pass that never reaches the tensor: gone at its end
