"""``Adafactor`` (``torch.optim.Adafactor``)."""

from __future__ import annotations

from .optimizer import Optimizer


class Adafactor(Optimizer):
    """``torch.optim.Adafactor``, stepped on the server.

    The gradient's second moment is kept factored for a matrix (or a batch of them): its row means and column
    means, smoothed with weight ``step ** beta2_decay``; a vector's is kept whole. The update, the gradient over
    the square root of that estimate (at least ``eps[0]``, the dtype's eps where None), is scaled down to RMS at most
    ``d`` and by ``min(lr, 1 / sqrt(step))`` times the parameter's RMS (at least ``eps[1]``); ``weight_decay`` is
    decoupled. State per parameter: ``step``, and ``row_var`` and ``col_var`` (a matrix) or ``variance``.
    """

    _kind = "adafactor"
    _state_tensors = ("row_var", "col_var", "variance")

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *, foreach=None, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d, "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def _group_fields(self, group) -> dict:
        eps1, eps2 = group["eps"]
        fields = {
            "params": [p._handle for p in group["params"]], "lr": float(group["lr"]), "weight_decay": float(group["weight_decay"]),
            "maximize": bool(group["maximize"]), "beta2_decay": float(group["beta2_decay"]), "eps2": float(eps2), "d": float(group["d"]),
        }
        if eps1 is not None:  # unset: None, the parameter dtype's eps
            fields["eps1"] = float(eps1)
        return fields

    def _state_shape(self, name, shape):
        if shape is None:
            return None
        if name == "row_var":
            return tuple(shape[:-1]) + (1,)
        if name == "col_var":
            return tuple(shape[:-2]) + (1,) + tuple(shape[-1:])
        return shape
