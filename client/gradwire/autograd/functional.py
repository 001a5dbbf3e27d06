"""Functional autograd: ``grad`` and ``jacobian``, leaving every ``.grad`` untouched."""

from __future__ import annotations

import numpy as np

from .. import errors
from ..tensor import Tensor, stack


def grad(outputs, inputs, grad_outputs=None, retain_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    Returns a tuple with one Tensor per input; ``.grad`` of every tensor stays as it was.
    With ``allow_unused=True`` an input the outputs do not depend on gets None (this
    waits for the server, which alone knows); without it, such an input is an error.
    """
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs)
    if not outputs or not inputs:
        raise errors.InvalidArgumentError("grad requires at least one output and one input")
    session = outputs[0]._session
    for i, y in enumerate(outputs):
        if not y._requires_grad:
            raise errors.FailedPreconditionError(f"element {i} of tensors does not require grad and does not have a grad_fn")
    for i, x in enumerate(inputs):
        if not x._requires_grad:
            raise errors.FailedPreconditionError(f"One of the differentiated Tensors (input {i}) does not require grad")
    return tuple(session._functional_grad(outputs, inputs, grad_outputs, retain_graph, allow_unused))


def jacobian(func, inputs):
    """d func(*inputs) / d inputs, shaped ``output.shape + input.shape``, as ``torch.autograd.functional.jacobian``.

    Every row is a pipelined functional gradient: no round trip per row.
    """
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    inputs = tuple(x.detach().requires_grad_() for x in inputs)
    output = func(*inputs)
    session = output._session
    if not output.requires_grad:  # depends on no input: zeros, as torch's (strict=False) gives
        zeros = tuple(session.zeros(*(tuple(output.shape) + tuple(x.shape)), dtype=x.dtype) for x in inputs)
        return zeros[0] if single else zeros
    n = output.numel()
    rows = []
    for k in range(n):
        seed = np.zeros(n, dtype=output.dtype)
        seed[k] = 1
        rows.append(grad(output, inputs, session.tensor(seed.reshape(output.shape)), retain_graph=True))
    jacobians = tuple(stack([row[j] for row in rows]).reshape(output.shape + x.shape) for j, x in enumerate(inputs))
    return jacobians[0] if single else jacobians
