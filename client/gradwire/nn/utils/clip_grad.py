"""``gradwire.nn.utils.clip_grad``: PyTorch's gradient clipping, one command on the server whatever the model's size
(the gradients never cross the network: the server scales or clamps them in place)."""

from __future__ import annotations

import math
import types
import warnings

from ... import errors
from ...tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the parameters' ``.grad`` in place so that their total ``norm_type``-norm is at most
    ``max_norm``; return that total norm before clipping, a 0-d Tensor (no sync point)."""
    norm_type = float(norm_type)
    if math.isnan(norm_type) or not (norm_type > 0 or math.isinf(norm_type)):
        raise errors.InvalidArgumentError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    if not isinstance(parameters, Tensor):
        empty_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if not parameters:  # no session to ask: PyTorch's tensor(0.) (in the open session)
            if empty_generator:
                warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
            return _zero_norm()
    params = _with_grads(parameters, "clip_grad_norm_")
    return params[0]._session._clip_grad(params, max_norm=float(max_norm), norm_type=norm_type, error_if_nonfinite=bool(error_if_nonfinite))


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated (as in PyTorch): ``clip_grad_norm_``."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the tensors taken together (the norm of their norms), a 0-d Tensor, as PyTorch's;
    ``error_if_nonfinite`` reads it (a sync point) to raise on nan or inf."""
    from ...grad_mode import no_grad  # noqa: PLC0415
    from ...linalg import vector_norm  # noqa: PLC0415
    from ...tensor import stack  # noqa: PLC0415

    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _zero_norm()
    with no_grad():
        total = vector_norm(stack([vector_norm(t, norm_type) for t in tensors]), norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be clipped. To "
            "disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the parameters' ``.grad`` in place by ``min(max_norm / (total_norm + 1e-6), 1)``, as PyTorch's (with a
    total norm from ``get_total_norm``)."""
    from ...grad_mode import no_grad  # noqa: PLC0415

    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    with no_grad():
        coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef)


def _zero_norm() -> Tensor:
    from ...factories import tensor  # noqa: PLC0415

    return tensor(0.0)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every element of the parameters' ``.grad`` into [-clip_value, clip_value], in place."""
    params = _with_grads(parameters, "clip_grad_value_")
    params[0]._session._clip_grad(params, clip_value=float(clip_value))


def _with_grads(parameters, name):
    """The parameters (a Tensor or an iterable of them, as PyTorch takes), at least one, of one session."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not params:
        raise errors.InvalidArgumentError(f"{name}: no parameters given (gradwire needs one to know the session)")
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: expected Tensors, got {type(p).__name__}")
        if p._session is not params[0]._session:
            raise errors.InvalidArgumentError(f"{name}: expected all tensors to be in the same session")
    return params
