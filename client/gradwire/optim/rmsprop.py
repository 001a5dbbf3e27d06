"""``RMSprop``, ``Adagrad`` and ``Adadelta`` (``torch.optim.RMSprop``, ``torch.optim.Adagrad``, ``torch.optim.Adadelta``)."""

from __future__ import annotations

from .optimizer import Optimizer, _check_fused


_WORDS = {"lr": "learning rate", "eps": "epsilon value"}  # PyTorch's words; the others are "<name> value"


def _check(differentiable, **nonnegative):
    """PyTorch's ValueErrors for a negative hyperparameter (``Invalid learning rate: -1``)."""
    for name, value in nonnegative.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {_WORDS.get(name, name + ' value')}: {value}")
    if differentiable:
        raise ValueError("gradwire's optimizers do not support differentiable=True")


class RMSprop(Optimizer):
    """``torch.optim.RMSprop``, stepped on the server.

    A running average of the squared gradient (smoothing ``alpha``; ``centered``: minus the
    square of the gradient's own running average), whose square root plus ``eps`` divides the
    step, with optional ``momentum`` and L2 ``weight_decay``. State per parameter: ``step``,
    ``square_avg`` and, as needed, ``momentum_buffer`` and ``grad_avg``.
    """

    _kind = "rmsprop"
    _state_tensors = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, capturable=False,
                 foreach=None, maximize=False, differentiable=False):
        _check(differentiable, lr=lr, eps=eps, weight_decay=weight_decay, momentum=momentum, alpha=alpha)
        defaults = {
            "lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered, "weight_decay": weight_decay,
            "capturable": capturable, "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _group_fields(self, group) -> dict:
        return {
            "params": [p._handle for p in group["params"]], "lr": float(group["lr"]), "weight_decay": float(group["weight_decay"]),
            "maximize": bool(group["maximize"]), "momentum": float(group["momentum"]), "alpha": float(group["alpha"]),
            "eps": float(group["eps"]), "centered": bool(group["centered"]),
        }


class Adagrad(Optimizer):
    """``torch.optim.Adagrad``, stepped on the server.

    The summed squared gradient (from ``initial_accumulator_value``), whose square root plus
    ``eps`` divides a step of rate ``lr / (1 + (step - 1) * lr_decay)``. State per parameter:
    ``step`` and ``sum``.
    """

    _kind = "adagrad"
    _state_tensors = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, foreach=None, *,
                 maximize=False, differentiable=False, fused=None):
        _check(differentiable, lr=lr, eps=eps, weight_decay=weight_decay, lr_decay=lr_decay,
               initial_accumulator_value=initial_accumulator_value)
        defaults = {
            "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value, "foreach": foreach, "maximize": maximize,
            "differentiable": differentiable, "fused": fused,
        }
        super().__init__(params, defaults)
        _check_fused(foreach, fused)

    def _group_fields(self, group) -> dict:
        return {
            "params": [p._handle for p in group["params"]], "lr": float(group["lr"]), "weight_decay": float(group["weight_decay"]),
            "maximize": bool(group["maximize"]), "lr_decay": float(group["lr_decay"]), "eps": float(group["eps"]),
            "initial_accumulator_value": float(group["initial_accumulator_value"]),
        }


class Adadelta(Optimizer):
    """``torch.optim.Adadelta``, stepped on the server.

    Running averages (smoothing ``rho``) of the squared gradient and of the squared update; each step is the
    gradient times ``sqrt(acc_delta + eps) / sqrt(square_avg + eps)``, scaled by ``lr``, with optional L2
    ``weight_decay``. State per parameter: ``step``, ``square_avg`` and ``acc_delta``.
    """

    _kind = "adadelta"
    _state_tensors = ("square_avg", "acc_delta")
    _capturable_refusal = ("params and state_steps", "['cuda', 'xpu', 'hpu', 'privateuseone']")  # (no 'xla' in PyTorch's here)

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False, maximize=False,
                 differentiable=False):
        _check(differentiable, lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check(differentiable, eps=eps, weight_decay=weight_decay)
        defaults = {
            "lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize, "capturable": capturable,
            "foreach": foreach, "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _group_fields(self, group) -> dict:
        return {
            "params": [p._handle for p in group["params"]], "lr": float(group["lr"]), "weight_decay": float(group["weight_decay"]),
            "maximize": bool(group["maximize"]), "rho": float(group["rho"]), "eps": float(group["eps"]),
        }
