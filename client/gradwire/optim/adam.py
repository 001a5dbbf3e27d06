"""``Adam``, ``AdamW``, ``Adamax``, ``RAdam`` and ``NAdam`` (``torch.optim``'s)."""

from __future__ import annotations

from .optimizer import Optimizer, _check_fused


def _check_adam(lr, betas, eps, weight_decay, differentiable):
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if differentiable:
        raise ValueError("gradwire's optimizers do not support differentiable=True")


class Adam(Optimizer):
    """``torch.optim.Adam``, stepped on the server.

    Bias-corrected first and second moments of the gradient (``betas``), ``eps`` added to
    the denominator, L2 ``weight_decay`` added to the gradient (or, with
    ``decoupled_weight_decay=True``, AdamW's ``p *= 1 - lr * weight_decay``), ``amsgrad``
    keeping the maximum second moment. State per parameter: ``step`` (a 0-d tensor),
    ``exp_avg``, ``exp_avg_sq`` and, with ``amsgrad``, ``max_exp_avg_sq``.
    ``foreach`` and ``fused`` are accepted (not both, as PyTorch) and change nothing; ``capturable``
    is refused at the step on a CPU server, as PyTorch refuses it on a CPU.
    """

    _kind = "adam"
    _state_tensors = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_adam(lr, betas, eps, weight_decay, differentiable)
        defaults = {
            "lr": lr, "betas": tuple(float(b) for b in betas), "eps": eps, "weight_decay": weight_decay,
            "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "differentiable": differentiable, "fused": fused, "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)
        _check_fused(foreach, fused)

    def _group_fields(self, group) -> dict:
        beta1, beta2 = group["betas"]
        return {
            "params": [p._handle for p in group["params"]], "lr": float(group["lr"]), "weight_decay": float(group["weight_decay"]),
            "maximize": bool(group["maximize"]), "beta1": float(beta1), "beta2": float(beta2), "eps": float(group["eps"]),
            "amsgrad": bool(group["amsgrad"]), "decoupled_weight_decay": bool(group.get("decoupled_weight_decay", False)),
        }


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay (default ``weight_decay=1e-2``)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *, maximize=False,
                 foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused, decoupled_weight_decay=True)


class Adamax(Adam):
    """``torch.optim.Adamax``, stepped on the server: Adam with a decaying maximum of |g| for the second
    moment. State per parameter: ``step``, ``exp_avg`` and ``exp_inf``."""

    _kind = "adamax"
    _state_tensors = ("exp_avg", "exp_inf")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *, maximize=False,
                 differentiable=False, capturable=False):
        _check_adam(lr, betas, eps, weight_decay, differentiable)
        defaults = {
            "lr": lr, "betas": tuple(float(b) for b in betas), "eps": eps, "weight_decay": weight_decay, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable, "capturable": capturable,
        }
        Optimizer.__init__(self, params, defaults)

    def _group_fields(self, group) -> dict:
        return {**super()._group_fields({**group, "amsgrad": False}), "decoupled_weight_decay": False}


class RAdam(Adam):
    """``torch.optim.RAdam``, stepped on the server: Adam rectified by the variance of its adaptive rate
    (momentum SGD for the first steps). State per parameter: ``step``, ``exp_avg`` and ``exp_avg_sq``."""

    _kind = "radam"
    _state_tensors = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False):
        _check_adam(lr, betas, eps, weight_decay, differentiable)
        defaults = {
            "lr": lr, "betas": tuple(float(b) for b in betas), "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
            "foreach": foreach, "capturable": capturable, "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        Optimizer.__init__(self, params, defaults)

    def _group_fields(self, group) -> dict:
        return super()._group_fields({**group, "amsgrad": False})


class NAdam(Adam):
    """``torch.optim.NAdam``, stepped on the server: Adam with Nesterov momentum whose coefficient warms up over
    the steps (``momentum_decay``). State per parameter: ``step``, ``mu_product``, ``exp_avg`` and ``exp_avg_sq``."""

    _kind = "nadam"
    _state_tensors = ("exp_avg", "exp_avg_sq")
    _capturable_refusal = ("params, mu_products and state_steps", Optimizer._capturable_refusal[1])

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3, decoupled_weight_decay=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False):
        _check_adam(lr, betas, eps, weight_decay, differentiable)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {
            "lr": lr, "betas": tuple(float(b) for b in betas), "eps": eps, "weight_decay": weight_decay, "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "differentiable": differentiable,
        }
        Optimizer.__init__(self, params, defaults)

    def _group_fields(self, group) -> dict:
        return {**super()._group_fields({**group, "amsgrad": False}), "momentum_decay": float(group["momentum_decay"])}
