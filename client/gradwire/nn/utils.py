"""``gradwire.nn.utils``: PyTorch's gradient clipping, one command on the server whatever the model's size;
``parameters_to_vector``/``vector_to_parameters`` and ``pad_sequence``.

    loss.backward()
    gw.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()

The gradients never cross the network: the server scales (or clamps) them in place.
"""

from __future__ import annotations

import math

from .. import errors
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "pad_sequence", "parameters_to_vector", "vector_to_parameters"]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the parameters' ``.grad`` in place so that their total ``norm_type``-norm is at most
    ``max_norm``; return that total norm before clipping, a 0-d Tensor (no sync point)."""
    norm_type = float(norm_type)
    if math.isnan(norm_type) or not (norm_type > 0 or math.isinf(norm_type)):
        raise errors.InvalidArgumentError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    params = _with_grads(parameters, "clip_grad_norm_")
    return params[0]._session._clip_grad(params, max_norm=float(max_norm), norm_type=norm_type, error_if_nonfinite=bool(error_if_nonfinite))


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


def parameters_to_vector(parameters):
    """The parameters flattened and joined into one 1-D tensor (a new one: gradients flow to them), as PyTorch's."""
    from ..tensor import cat  # noqa: PLC0415 - the tensor module is imported above; cat is a function of it

    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy the slices of the 1-D ``vec`` into the parameters, in order, in place (under no_grad), as PyTorch's."""
    from ..grad_mode import no_grad  # noqa: PLC0415

    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    start = 0
    with no_grad():
        for p in parameters:
            count = p.numel()
            p.copy_(vec[start : start + count].reshape(p.shape))
            start += count


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Sequences of different lengths (dim 0) stacked into one tensor, padded with ``padding_value``, as
    ``torch.nn.utils.rnn.pad_sequence``: (longest, batch, ...), or (batch, longest, ...) with ``batch_first``."""
    from ..tensor import cat, stack  # noqa: PLC0415

    if padding_side not in ("left", "right"):
        raise errors.InvalidArgumentError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            filler = s._session.full((missing,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype)
            s = cat([s, filler] if padding_side == "right" else [filler, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)
