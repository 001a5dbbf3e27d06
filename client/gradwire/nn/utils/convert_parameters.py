"""``gradwire.nn.utils.convert_parameters``: a model's parameters as one vector and back, as PyTorch's."""

from __future__ import annotations

from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """The parameters flattened and joined into one 1-D tensor (a new one: gradients flow to them), as PyTorch's."""
    from ...tensor import cat  # noqa: PLC0415 - the tensor module is imported above; cat is a function of it

    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy the slices of the 1-D ``vec`` into the parameters, in order, in place (under no_grad), as PyTorch's."""
    from ...grad_mode import no_grad  # noqa: PLC0415

    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    start, length = 0, vec.shape[0] if vec.ndim else 1
    with no_grad():
        for p in parameters:
            count = p.numel()
            available = max(0, min(count, length - start))
            if available != count:  # the slice's size is known here: PyTorch's view_as error, at once
                raise RuntimeError(f"shape '{list(p.shape)}' is invalid for input of size {available * (vec.numel() // max(length, 1))}")
            p.copy_(vec[start : start + count].reshape(p.shape))
            start += count
