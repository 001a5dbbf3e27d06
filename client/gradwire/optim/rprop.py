"""``Rprop``: resilient backpropagation (``torch.optim.Rprop``)."""

from __future__ import annotations

from .optimizer import Optimizer


class Rprop(Optimizer):
    """``torch.optim.Rprop``, stepped on the server.

    Only the gradient's sign counts: each element moves by its own step size (starting at ``lr``), which
    grows by ``etas[1]`` while the gradient's sign holds and shrinks by ``etas[0]`` when it flips, within
    ``step_sizes = (min, max)``; an element whose sign flipped rests for that step. State per parameter:
    ``step``, ``prev`` (the last gradient used) and ``step_size``.
    """

    _kind = "rprop"
    _state_tensors = ("prev", "step_size")

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        if differentiable:
            raise ValueError("gradwire's optimizers do not support differentiable=True")
        defaults = {
            "lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach, "maximize": maximize,
            "differentiable": differentiable, "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _group_fields(self, group) -> dict:
        etaminus, etaplus = group["etas"]
        low, high = group["step_sizes"]
        return {
            "params": [p._handle for p in group["params"]], "lr": float(group["lr"]), "maximize": bool(group["maximize"]),
            "etaminus": float(etaminus), "etaplus": float(etaplus), "step_size_min": float(low), "step_size_max": float(high),
        }
