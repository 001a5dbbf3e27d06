"""``gradwire.autograd.grad_mode``, as ``torch.autograd.grad_mode``: the context managers that switch graph recording,
the same objects as ``gw.no_grad`` and its kin."""

from ..grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled

__all__ = ["enable_grad", "inference_mode", "no_grad", "set_grad_enabled"]
