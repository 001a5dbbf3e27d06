"""``Muon`` (``torch.optim.Muon``)."""

from __future__ import annotations

from .optimizer import Optimizer

_A, _B, _C = 3.4445, -4.7750, 2.0315


class Muon(Optimizer):
    """``torch.optim.Muon``, stepped on the server (2-D parameters only).

    The momentum (``nesterov`` by default) of each matrix's gradient is orthogonalized by ``ns_steps`` quintic
    Newton-Schulz iterations (``ns_coefficients``) in bfloat16, as torch's (emulated: each op's float32 result rounded
    to bfloat16's precision), and applied at a rate scaled by the matrix's shape (``adjust_lr_fn``: None or
    "original", sqrt(max(1, rows / cols)); "match_rms_adamw", 0.2 sqrt(max(rows, cols))), after decoupled
    ``weight_decay``. State per parameter: ``momentum_buffer``.
    """

    _kind = "muon"
    _state_tensors = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=(_A, _B, _C), eps=1e-7, ns_steps=5,
                 adjust_lr_fn=None):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "nesterov": nesterov, "ns_coefficients": ns_coefficients,
                    "eps": eps, "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: torch.Size({list(p.shape)})")

    def _group_fields(self, group) -> dict:
        # checked at each step, as torch's are
        if group["ns_steps"] >= 100:
            raise ValueError("Number of steps must be less than 100 for computational efficiency")
        if len(group["ns_coefficients"]) != 3:
            raise ValueError("Coefficients must be a tuple of exactly 3 values")
        return {
            "params": [p._handle for p in group["params"]], "lr": float(group["lr"]), "weight_decay": float(group["weight_decay"]),
            "momentum": float(group["momentum"]), "nesterov": bool(group["nesterov"]), "eps": float(group["eps"]),
            "ns_coefficients": [float(c) for c in group["ns_coefficients"]], "ns_steps": int(group["ns_steps"]),
            "adjust_lr_fn": group["adjust_lr_fn"] or "",
        }
