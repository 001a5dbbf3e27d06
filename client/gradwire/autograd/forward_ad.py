"""``gradwire.autograd.forward_ad``: forward-mode AD with PyTorch's API (``dual_level``, ``make_dual``, ``unpack_dual``,
``enter_dual_level``, ``exit_dual_level``), computed by reverse mode on the server.

    with fwAD.dual_level():
        x = fwAD.make_dual(primal, tangent)
        y = f(x)                                     # ordinary ops
        jvp = fwAD.unpack_dual(y).tangent            # J(primal) @ tangent, as torch's

How it is computed, and what differs from PyTorch. The server has reverse mode and double backward but no forward
mode, so a dual tensor is an ordinary tensor in the reverse graph (a fresh leaf that requires grad, or a view of the
primal where the primal itself requires grad) and the level remembers its tangent. ``unpack_dual(y)`` then gets
``J v`` by the double-vjp trick: ``g(u) = J^T u`` for a dummy ``u`` of ``y``'s shape is recorded (create_graph), it
is linear in ``u``, and its vjp with the tangents ``v`` is ``J v``. The values are torch's; the differences:

- a dual tensor, and everything computed from it, reports ``requires_grad=True`` (in torch, only where the primal
  required grad); ``unpack_dual(y).primal`` is detached unless some dual of the level was made from a primal that
  requires grad (then it is ``y``, with its graph);
- tangents flow only through recorded ops: under ``no_grad()`` (which torch's forward mode ignores) the results carry
  none, and only the ops that support double backward (``create_graph=True``) carry one (any other names itself);
- each ``unpack_dual`` of a computed tensor costs two backward passes (one round trip) and keeps the graph; a
  ``backward()`` that frees the graph (no ``retain_graph=True``) ends the tangents of what it ran through;
- ``make_dual`` of a tensor computed from a dual (not of a dual itself) is not refused, as torch refuses it.
"""

from __future__ import annotations

from collections import namedtuple

from .. import errors
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])
UnpackedDualTensor.__doc__ = "What ``unpack_dual`` returns, as torch's: ``primal`` and ``tangent`` (None where there is none)."


class _Level:
    def __init__(self, index):
        self.index = index
        self.duals = []  # (dual tensor, its tangent), in the order made
        self.reverse = False  # a dual of this level was made from a primal that requires grad


_levels: list[_Level] = []  # at most one, as PyTorch has no nested forward mode


def enter_dual_level():
    """Open a forward AD level (there is only one, level 0, as in PyTorch) and return its index."""
    if _levels:
        raise errors.FailedPreconditionError("Nested forward mode AD is not supported at the moment")
    _levels.append(_Level(0))
    return 0


def exit_dual_level(*, level=None):
    """Close the forward AD level: its duals' tangents are forgotten (``unpack_dual`` gives None from then on)."""
    current = _levels[-1].index if _levels else -1
    level = current if level is None else level
    if level < 0:
        raise errors.FailedPreconditionError("Dual level must be a positive number.")
    if level != current:
        raise errors.FailedPreconditionError("Trying to exit a forward AD level that was not the last one that was created. This is not supported.")
    _levels.pop()


class dual_level:
    """``with dual_level():``: a forward AD level for the block, as ``torch.autograd.forward_ad.dual_level``."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()


def _level(level, what):
    if not _levels:
        if what == "make":
            raise errors.FailedPreconditionError("Trying to create a dual Tensor for forward AD but no level exists, make sure to enter_dual_level() first.")
        return None
    if level is not None and level != _levels[-1].index:
        raise errors.FailedPreconditionError(f"Invalid level given to _{what}_dual")
    return _levels[-1]


def make_dual(tensor, tangent, *, level=None):
    """A dual tensor: ``tensor``'s values, carrying ``tangent`` (of ``tensor``'s shape) through the ops applied to it.

    Here a new tensor in the reverse graph that the level remembers (see the module's docstring): a leaf that requires
    grad, or, where ``tensor`` requires grad, a view of it (so reverse-mode gradients still reach ``tensor``)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dual(): argument 'tensor' (position 1) must be Tensor, not {type(tensor).__name__}")
    if not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual(): argument 'tangent' (position 2) must be Tensor, not {type(tangent).__name__}")
    found = _level(level, "make")
    if tensor.dtype.kind not in "fc":
        raise ValueError(f"Expected primal to be floating point or complex, but got: torch.{tensor.dtype.name}")
    if tangent.dtype.kind not in "fc":
        raise ValueError(f"Expected tangent to be floating point or complex, but got: torch.{tangent.dtype.name}")
    if tuple(tensor.shape) != tuple(tangent.shape):
        raise errors.InvalidArgumentError(
            "Trying to set a forward gradient that has a different size than that of the original Tensor, this is not supported. "
            f"Tensor is of size {list(tensor.shape)} while the given forward gradient is of size {list(tangent.shape)}.")
    if any(d is tensor for d, _ in found.duals):
        raise errors.FailedPreconditionError(
            f"Making a dual Tensor based on a Tensor that already has a forward gradient at the same level {found.index} is not supported.")
    if tensor.requires_grad:
        dual, found.reverse = tensor.view_as(tensor), True
    else:
        dual = tensor.detach().requires_grad_()
    found.duals.append((dual, tangent))
    return dual


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)`` of ``tensor``, as ``torch.autograd.forward_ad.unpack_dual``: the tangent is ``J v``, the
    Jacobian of ``tensor`` with respect to the level's duals times their tangents; None where ``tensor`` depends on no
    dual (or outside a level)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"_unpack_dual(): argument 'dual' (position 1) must be Tensor, not {type(tensor).__name__}")
    found = _level(level, "unpack")
    if found is None or not found.duals or not tensor.requires_grad or tensor.dtype.kind not in "fc":
        return UnpackedDualTensor(tensor, None)
    for dual, tangent in found.duals:
        if dual is tensor:
            return UnpackedDualTensor(_primal(tensor, found), tangent)
    duals = [d for d, _ in found.duals]
    tangent = tangents([tensor], duals, [t for _, t in found.duals], create_graph=found.reverse, unused_none=True)[0]
    return UnpackedDualTensor(tensor if tangent is None else _primal(tensor, found), tangent)


def _primal(tensor, level):
    return tensor if level.reverse else tensor.detach()


def tangents(outputs, inputs, input_tangents, create_graph=False, unused_none=False):
    """``J v`` for each of ``outputs`` (J: its Jacobian with respect to ``inputs``; v: ``input_tangents``), by the
    double-vjp trick, in two backward passes whatever the sizes. An output that does not depend on the inputs (or does
    not require grad) gets None with ``unused_none``, else zeros. The graph is kept (``retain_graph``) for the next
    call; with ``create_graph`` the products are recorded, differentiable again."""
    from .functional import _zeros_used, grad  # noqa: PLC0415 - functional imports this module's names lazily too

    if not is_grad_enabled():
        live = []
    else:
        live = [k for k, y in enumerate(outputs) if y.requires_grad and y.dtype.kind in "fc"]
    results = [None] * len(outputs)
    if live:
        session = outputs[live[0]]._session
        dummies = [session.zeros(*outputs[k].shape, dtype=outputs[k].dtype, requires_grad=True) for k in live]
        ys = [outputs[k] for k in live]
        if unused_none:
            firsts = grad(ys, inputs, dummies, create_graph=True, retain_graph=True, allow_unused=True)
        else:  # every input in the graph: its part a zero where the outputs do not use it, with no round trip
            ys[0] = ys[0] + _zeros_used(inputs)
            firsts = grad(ys, inputs, dummies, create_graph=True, retain_graph=True)
        pairs = [(g, v) for g, v in zip(firsts, input_tangents) if g is not None]
        if pairs:
            total = sum((g * v).sum() for g, v in pairs) + sum((u * 0).sum() for u in dummies)
            found = grad(total, dummies, retain_graph=True, create_graph=create_graph, allow_unused=False)
            for k, product in zip(live, found):
                results[k] = product if create_graph or product is None else product.detach()
    if not unused_none:
        results = [r if r is not None else outputs[k].detach() * 0 for k, r in enumerate(results)]
    return results
