"""``SGD``: stochastic gradient descent with momentum, Nesterov and weight decay (``torch.optim.SGD``); ``ASGD``,
averaged SGD (``torch.optim.ASGD``)."""

from __future__ import annotations

from .optimizer import Optimizer, _check_fused


class SGD(Optimizer):
    """``torch.optim.SGD``, stepped on the server.

    For each parameter ``p`` with gradient ``g``: ``g += weight_decay * p``; with momentum,
    ``buf = momentum * buf + (1 - dampening) * g`` (``buf = g`` at first) and ``g = buf``, or
    ``g += momentum * buf`` with ``nesterov``; then ``p -= lr * g``. ``maximize`` ascends.
    ``foreach`` and ``fused`` are accepted and change nothing: every step is one fused command.
    """

    _kind = "sgd"
    _state_tensors = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if differentiable:
            raise ValueError("gradwire's optimizers do not support differentiable=True")
        defaults = {
            "lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay, "nesterov": nesterov,
            "maximize": maximize, "foreach": foreach, "differentiable": differentiable, "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        _check_fused(foreach, fused)

    def _group_fields(self, group) -> dict:
        return {
            "params": [p._handle for p in group["params"]], "lr": float(group["lr"]), "weight_decay": float(group["weight_decay"]),
            "maximize": bool(group["maximize"]), "momentum": float(group["momentum"]), "dampening": float(group["dampening"]),
            "nesterov": bool(group["nesterov"]),
        }


class ASGD(Optimizer):
    """``torch.optim.ASGD``, stepped on the server: averaged stochastic gradient descent.

    ``p *= 1 - lambd * eta`` then ``p -= eta * g`` with a decaying rate ``eta = lr / (1 + lambd * lr * step) ** alpha``;
    ``ax`` keeps the running average of the iterates from step ``t0`` on (weight ``mu = 1 / max(1, step - t0)``).
    State per parameter: ``step``, ``eta`` and ``mu`` (0-d tensors) and ``ax``.
    """

    _kind = "asgd"
    _state_tensors = ("ax",)
    _capturable_refusal = ("params, mus, etas, and state_steps", Optimizer._capturable_refusal[1])

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None, maximize=False,
                 differentiable=False, capturable=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if differentiable:
            raise ValueError("gradwire's optimizers do not support differentiable=True")
        defaults = {
            "lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable, "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _group_fields(self, group) -> dict:
        return {
            "params": [p._handle for p in group["params"]], "lr": float(group["lr"]), "weight_decay": float(group["weight_decay"]),
            "maximize": bool(group["maximize"]), "lambd": float(group["lambd"]), "alpha": float(group["alpha"]),
            "t0": float(group["t0"]),
        }
