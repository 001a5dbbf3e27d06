"""Functional autograd: ``grad``, ``vjp``, ``jvp``, ``jacobian``, ``hvp``, ``vhp`` and ``hessian``, leaving every ``.grad``
untouched; and ``backward``, which fills them."""

from __future__ import annotations

import numpy as np

from .. import errors
from ..tensor import Tensor, stack


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
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
            raise errors.FailedPreconditionError(f"One of the differentiated Tensors does not require grad (input {i})")
    retain_graph = create_graph if retain_graph is None else retain_graph
    return tuple(session._functional_grad(outputs, inputs, grad_outputs, retain_graph, allow_unused, create_graph))


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """``torch.autograd.backward``: one backward pass from every tensor of ``tensors``, each seeded with its
    ``grad_tensors`` entry (None for a one-element tensor), accumulating into the ``.grad`` of every leaf reached,
    or of ``inputs`` alone. The graph is freed afterwards unless ``retain_graph`` (default: ``create_graph``)."""
    if grad_variables is not None:  # PyTorch's old name for it
        grad_tensors = grad_variables if grad_tensors is None else grad_tensors
    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    if not tensors:
        raise errors.InvalidArgumentError("backward() got no tensors to differentiate")
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,) * len(tensors) if grad_tensors is None else (grad_tensors,)
    grad_tensors = tuple(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise errors.InvalidArgumentError(f"got {len(tensors)} tensors and {len(grad_tensors)} gradients")
    if not isinstance(tensors[0], Tensor):
        raise TypeError(f"backward: element 0 of tensors is not a Tensor but {type(tensors[0]).__name__}")
    retain_graph = create_graph if retain_graph is None else retain_graph
    tensors[0]._session._backward(tensors[0], grad_tensors[0], retain_graph, create_graph, inputs=inputs,
                                  more=tuple(zip(tensors[1:], grad_tensors[1:])))


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


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T J)``, as ``torch.autograd.functional.vjp``: ``v`` is a tensor of the output's
    shape (None for a one-element output); the products have the inputs' shapes, detached (with ``create_graph=True``:
    recorded, differentiable again with respect to the inputs and ``v``)."""
    single = isinstance(inputs, Tensor)
    inputs = _fresh((inputs,) if single else tuple(inputs), create_graph)
    output = func(*inputs)
    if not isinstance(output, Tensor):
        raise errors.UnimplementedError("vjp: only a function that returns one Tensor is supported")
    if v is None and output.numel() != 1:
        raise errors.InvalidArgumentError("The vector v can only be None if the user-provided function returns a single Tensor with a single element.")
    if v is not None and tuple(v.shape) != tuple(output.shape):
        raise errors.InvalidArgumentError(f"Mismatch in shape: v has shape {list(v.shape)} but the output of the function has shape {list(output.shape)}")
    session = output._session
    if not output.requires_grad:
        if strict:
            raise errors.InvalidArgumentError("The output of the user-provided function is independent of input 0. This is not allowed in strict mode.")
        products = tuple(session.zeros(*x.shape, dtype=x.dtype) for x in inputs)
    else:
        found = grad(output, inputs, v, allow_unused=True, create_graph=create_graph)
        products = tuple(g if g is not None else session.zeros(*x.shape, dtype=x.dtype) for g, x in zip(found, inputs))
    return _post(output, create_graph), _post(products[0] if single else products, create_graph)


def _fresh(inputs, create_graph):
    """The inputs as tensors to differentiate with respect to, as torch's functional API makes them: cut from any graph
    (a new leaf each), except with ``create_graph`` where one that requires grad stays attached (a view of it), so that
    the results are differentiable with respect to the caller's tensors."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_() for x in inputs)


def _post(result, create_graph):
    """The results as torch returns them: detached, unless ``create_graph``."""
    if create_graph:
        return result
    return result.detach() if isinstance(result, Tensor) else tuple(r.detach() for r in result)


def _scalar_output(func, inputs, name, create_graph=False):
    """(single, the inputs as fresh leaves, func's one-element output plus 0 x every input: so each input is
    in the graph and its gradient, a zero where func does not use it, needs no allow_unused round trip)."""
    single = isinstance(inputs, Tensor)
    inputs = _fresh((inputs,) if single else tuple(inputs), create_graph)
    output = func(*inputs)
    if not isinstance(output, Tensor) or output.numel() != 1:
        raise errors.InvalidArgumentError(f"The Tensor returned by the function given to {name} should contain a single element")
    return single, inputs, output, output.reshape(()) + _zeros_used(inputs)


def _zeros_used(inputs):
    return sum((x * 0).sum() for x in inputs)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), H v)``, as ``torch.autograd.functional.hvp``: the Hessian of a one-element function
    times ``v`` (the inputs' shapes), by double backward; the products detached (with ``create_graph=True``: recorded,
    differentiable again with respect to the inputs and ``v``, a third-order pass on the server)."""
    return _second_order_product(func, inputs, v, create_graph, "hvp")


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T H)``, as ``torch.autograd.functional.vhp``: ``v`` times the Hessian of a one-element
    function, by double backward (the gradient of the gradient's dot product with ``v``); the products detached (with
    ``create_graph=True``: recorded, differentiable again)."""
    return _second_order_product(func, inputs, v, create_graph, "vhp")


def _second_order_product(func, inputs, v, create_graph, name):
    """d(grad(func) . v)/d inputs: v^T H (which is H v, the Hessian being symmetric where it is continuous)."""
    single, inputs, output, total = _scalar_output(func, inputs, name, create_graph)
    vs = (v,) if isinstance(v, Tensor) else tuple(v) if v is not None else (None,) * len(inputs)
    if len(vs) != len(inputs) or any(u is None for u in vs):
        raise errors.InvalidArgumentError(f"{name}: v must be given, one tensor per input, each of its input's shape")
    for u, x in zip(vs, inputs):
        if tuple(u.shape) != tuple(x.shape):
            raise errors.InvalidArgumentError(f"Mismatch in shape: v has shape {list(u.shape)} but the input has shape {list(x.shape)}")
    firsts = grad(total, inputs, create_graph=True)
    products = grad(sum((g * u).sum() for g, u in zip(firsts, vs)) + _zeros_used(inputs), inputs, create_graph=create_graph)
    return _post(output, create_graph), _post(products[0] if single else products, create_graph)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), J v)``, as ``torch.autograd.functional.jvp``: the Jacobian of ``func`` at ``inputs`` times
    ``v`` (the inputs' shapes; None for a single one-element input), by the double-vjp trick PyTorch's uses: the
    vjp with a dummy ``u`` is linear in ``u``, and its own vjp with ``v`` is ``J v``. The products detached (with
    ``create_graph=True``: recorded, differentiable again with respect to the inputs and ``v``)."""
    single = isinstance(inputs, Tensor)
    inputs = _fresh((inputs,) if single else tuple(inputs), create_graph)
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise errors.InvalidArgumentError("The vector v can only be None if the input to the user-provided function is a single Tensor with a single element.")
        vs = (inputs[0].detach() * 0 + 1,)
    else:
        vs = (v,) if isinstance(v, Tensor) else tuple(v)
    if len(vs) != len(inputs):
        raise errors.InvalidArgumentError(f"The given v should contain a single Tensor for each input; got {len(vs)} for {len(inputs)} inputs")
    for u, x in zip(vs, inputs):
        if tuple(u.shape) != tuple(x.shape):
            raise errors.InvalidArgumentError(f"Mismatch in shape: v has shape {list(u.shape)} but the input has shape {list(x.shape)}")
    output = func(*inputs)
    if not isinstance(output, Tensor):
        raise errors.UnimplementedError("jvp: only a function that returns one Tensor is supported")
    session = output._session
    dummy = session.zeros(*output.shape, dtype=output.dtype, requires_grad=True)
    tied = output + _zeros_used(inputs)  # every input in the graph: its gradient a zero where func does not use it
    firsts = grad(tied, inputs, dummy, create_graph=True)
    product, = grad(sum((g * u).sum() for g, u in zip(firsts, vs)) + (dummy * 0).sum(), dummy, create_graph=create_graph)
    return _post(output, create_graph), _post(product, create_graph)


def hessian(func, inputs):
    """The Hessian of a one-element function, as ``torch.autograd.functional.hessian``: shaped ``input.shape +
    input.shape`` for one input; for several a tuple of tuples (block i, j: input i's shape + input j's).
    One recorded gradient, then a pipelined gradient of each of its elements: no round trip per row."""
    single, inputs, _, total = _scalar_output(func, inputs, "hessian")
    session = inputs[0]._session
    firsts = grad(total, inputs, create_graph=True)
    blocks = []
    for g, x in zip(firsts, inputs):
        flat, rows = g.reshape(-1), []
        for k in range(x.numel()):
            seed = np.zeros(x.numel(), dtype=x.dtype)
            seed[k] = 1
            rows.append(grad((flat * session.tensor(seed)).sum() + _zeros_used(inputs), inputs, retain_graph=True))
        blocks.append(tuple(stack([row[j] for row in rows]).reshape(tuple(x.shape) + tuple(y.shape)).detach() for j, y in enumerate(inputs)))
    return blocks[0][0] if single else tuple(blocks)
