"""Functional autograd: ``grad``, ``vjp``, ``jvp``, ``jacobian``, ``hvp``, ``vhp`` and ``hessian``, leaving every ``.grad``
untouched; and ``backward``, which fills them."""

from __future__ import annotations

import warnings

from .. import errors
from ..grad_mode import enable_grad, is_grad_enabled, set_grad_enabled
from ..tensor import Tensor, stack, zeros_like


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True, allow_unused=None,
         is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    Returns a tuple with one Tensor per input (a dict for a dict of inputs); ``.grad`` of every tensor stays as it was.
    With ``allow_unused=True`` an input the outputs do not depend on gets None (this waits for the server, which alone
    knows); without it, such an input is an error. ``materialize_grads=True`` gives zeros instead of None (and implies
    ``allow_unused``). ``is_grads_batched=True``: the first dim of each ``grad_outputs`` entry is a batch, and each
    result gets the same first dim; computed as one pass per batch row (torch vmaps one pass), the same values.
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate gradient for other "
                      "parts of the graph, please use torch.autograd.backward.", FutureWarning, stacklevel=2)
    keys = tuple(inputs.keys()) if type(inputs) is dict else None
    if keys is not None:
        inputs = tuple(inputs.values())
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not inputs:
        raise errors.InvalidArgumentError("`inputs` argument to `grad()` cannot be empty.")
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs)
    grad_outputs = tuple(grad_outputs)
    if not outputs:
        raise errors.InvalidArgumentError("grad requires at least one output and one input")
    session = outputs[0]._session
    for i, y in enumerate(outputs):
        if not y._requires_grad:
            raise errors.FailedPreconditionError(f"element {i} of tensors does not require grad and does not have a grad_fn")
    for i, x in enumerate(inputs):
        if not x._requires_grad:
            raise errors.FailedPreconditionError(f"One of the differentiated Tensors does not require grad (input {i})")
    retain_graph = create_graph if retain_graph is None else retain_graph
    if is_grads_batched:
        result = _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)
    else:
        result = tuple(session._functional_grad(outputs, inputs, grad_outputs, retain_graph, allow_unused, create_graph))
    if materialize_grads:
        result = tuple(r if r is not None else zeros_like(x, requires_grad=create_graph) for r, x in zip(result, inputs))
    return dict(zip(keys, result)) if keys is not None else result


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused):
    """``is_grads_batched``: one functional grad per row of the batched grad_outputs, stacked (None where every row
    found none)."""
    sizes = []
    for k, (y, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            continue
        if tuple(g.shape[1:]) != tuple(y.shape):  # (the message shows the first row's shape less its first dim, as torch's)
            raise errors.InvalidArgumentError(
                "If `is_grads_batched=True`, we interpret the first dimension of each grad_output as the batch dimension. The sizes of "
                "the remaining dimensions are expected to match the shape of corresponding output, but a mismatch was detected: "
                f"grad_output[{k}] has a shape of {g.shape[2:]!r} and output[{k}] has a shape of {y.shape!r}. If you only want some "
                "tensors in `grad_output` to be considered batched, consider using vmap.")
        sizes.append(g.shape[0])
    size = sizes[0] if sizes else 1
    rows = []
    for b in range(size):
        row_outputs = tuple(g if g is None else g[b] for g in grad_outputs)
        rows.append(grad(outputs, inputs, row_outputs, retain_graph=retain_graph or b < size - 1, create_graph=create_graph,
                         allow_unused=allow_unused))
    result = []
    for j, x in enumerate(inputs):
        column = [row[j] for row in rows]
        if all(g is None for g in column):
            result.append(None)
            continue
        result.append(stack([g if g is not None else zeros_like(x) for g in column]))
    return tuple(result)


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




# --- torch.autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp ----------------------------------------------
#
# PyTorch's functions, step for step (the same checks, messages and results). Where torch asks for every gradient with
# allow_unused and fills the Nones with zeros, this asks with ``_zeros_used`` added to the output instead (every input
# reached: a zero where unused), so that the rows of a Jacobian are pipelined, not a round trip each; in strict mode,
# whose errors name the inputs an output does not depend on, it asks with allow_unused (a sync point per call).


def _as_tuple(inp, arg_name=None, fn_name=None):
    if arg_name is None and fn_name is None:
        return inp if isinstance(inp, tuple) else tuple(inp) if isinstance(inp, list) else (inp,)
    is_inp_tuple = isinstance(inp, tuple)
    if not is_inp_tuple:
        inp = (inp,)
    for i, el in enumerate(inp):
        if not isinstance(el, Tensor):
            where = f"value at index {i}" if is_inp_tuple else f"given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but the {where} has type {type(el)}.")
    return is_inp_tuple, inp


def _tuple_postprocess(res, to_unpack):
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs, create_graph, need_graph):
    """The inputs as tensors to differentiate with respect to: cut from any graph (a new leaf each), except with
    ``create_graph`` where one that requires grad stays attached (a view of it), so that the results are differentiable
    with respect to the caller's tensors."""
    return tuple(inp.view_as(inp) if create_graph and inp.requires_grad else inp.detach().requires_grad_(need_graph) for inp in inputs)


def _grad_postprocess(inputs, create_graph):
    if isinstance(inputs[0], Tensor):
        return inputs if create_graph else tuple(inp.detach() for inp in inputs)
    return tuple(_grad_postprocess(inp, create_graph) for inp in inputs)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise errors.InvalidArgumentError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise errors.InvalidArgumentError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise errors.InvalidArgumentError(f"{prepend}v has invalid size: should be {el_other.size()} but got {el_v.size()}.")


def _settled(t):
    """Whether ``t`` requires grad, as the server knows it: a recorded gradient (create_graph), or what was computed from
    one, may have no graph after all (a linear function's), which the client cannot tell (a sync point; strict mode's
    checks alone ask)."""
    if t is not None and t._requires_grad and not t._is_leaf:
        if not t._session._fetch(t, meta_only=True).requires_grad:
            t._requires_grad, t._is_leaf, t._parents, t._opaque = False, True, None, False
    return t is not None and t._requires_grad


def _check_requires_grad(inputs, input_type, strict):
    if not strict:
        return
    for i, inp in enumerate(inputs):
        if inp is None:
            raise errors.InvalidArgumentError(f"The output of the user-provided function is independent of input {i}. This is not allowed in strict mode.")
        if not _settled(inp):
            if input_type == "hessian":
                raise errors.InvalidArgumentError(
                    f"The hessian of the user-provided function with respect to input {i} is independent of the input. This is not allowed in "
                    "strict mode. You should ensure that your function is thrice differentiable and that the hessian depends on the inputs.")
            if input_type == "jacobian":
                raise errors.InvalidArgumentError(
                    f"While computing the hessian, found that the jacobian of the user-provided function with respect to input {i} is "
                    "independent of the input. This is not allowed in strict mode. You should ensure that your function is twice "
                    "differentiable and that the jacobian depends on the inputs (this would be violated by a linear function for example).")
            if input_type == "grad_inputs":
                raise errors.InvalidArgumentError(
                    f"The gradient with respect to input {i} is independent of the inputs of the user-provided function. This is not "
                    "allowed in strict mode.")
            raise errors.InvalidArgumentError(
                f"Output {i} of the user-provided function does not require gradients. The outputs must be computed in a "
                "differentiable manner from the input when running in strict mode.")


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None, exact=False):
    """torch's: the gradients of the outputs that require grad (None for each input where none does). ``exact``: None
    where an input is unused (allow_unused, a sync point); else zeros there, pipelined (``_zeros_used``)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(out, g) for out, g in zip(outputs, grad_outputs) if out is not None and out.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    if exact:
        return grad(tuple(out for out, _ in pairs), inputs, tuple(g for _, g in pairs), allow_unused=True,
                    create_graph=create_graph, retain_graph=retain_graph)
    with enable_grad():  # (recorded even under no_grad: the pass itself runs in the caller's mode, as torch's)
        total = _zeros_used(inputs)  # one output: every input reached, and a graph even where out's is a recorded constant
        for out, g in pairs:
            total = total + (out.sum() if g is None else (out * g).sum())
    return grad(total, inputs, create_graph=create_graph, retain_graph=retain_graph)


_STRICT_ZEROS = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in strict mode.",
    "back_trick": ("The gradient with respect to the input is independent of entry {i} in the grad_outputs when using the double backward "
                   "trick to compute forward mode gradients. This is not allowed in strict mode."),
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed in strict mode.",
    "double_back_trick": ("The hessian of the user-provided function is independent of entry {i} in the grad_jacobian. This is not allowed in "
                          "strict mode as it prevents from using the double backward trick to replace forward mode AD."),
}


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    res = ()
    for i, grads_i in enumerate(grads):
        if grads_i is None:
            if strict:
                raise errors.InvalidArgumentError(_STRICT_ZEROS[stage].format(i=i))
            grads_i = zeros_like(refs[i])
        elif strict and create_graph and not _settled(grads_i):
            what = "hessian" if "double" in stage else "jacobian"
            raise errors.InvalidArgumentError(
                f"The {what} of the user-provided function is independent of input {i}. This is not allowed in strict mode when create_graph=True.")
        res += (grads_i,)
    return res


def _outputs(func, inputs, name, strict):
    """``func(*inputs)`` as a tuple, and whether it was one; its outputs checked as PyTorch's ``name`` checks them."""
    is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    return is_outputs_tuple, outputs


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T J)``, as ``torch.autograd.functional.vjp``: ``v`` is of the outputs' shapes (None for a
    single one-element output); the products have the inputs' shapes, detached (with ``create_graph=True``: recorded,
    differentiable again with respect to the inputs and ``v``). ``strict``: an output independent of an input raises."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_outputs_tuple, outputs = _outputs(func, inputs, "vjp", strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].nelement() != 1:
            raise errors.InvalidArgumentError("The vector v can only be None if the user-provided function returns a single Tensor with a single element.")
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(outputs, inputs, v, create_graph=create_graph, exact=strict)
        products = _fill_in_zeros(grad_res, inputs, strict, create_graph, "back")
    outputs = _grad_postprocess(outputs, create_graph)
    products = _grad_postprocess(products, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(products, is_inputs_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), J v)``, as ``torch.autograd.functional.jvp``: ``v`` of the inputs' shapes (None for a single
    one-element input), by the double-vjp trick PyTorch's uses: the vjp with a dummy ``u`` is linear in ``u``, and its
    own vjp with ``v`` is ``J v``. Detached unless ``create_graph``."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].nelement() != 1:
            raise errors.InvalidArgumentError(
                "The vector v can only be None if the input to the user-provided function is a single Tensor with a single element.")
        is_outputs_tuple, outputs = _outputs(func, inputs, "jvp", strict)
        grad_outputs = tuple(zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True, exact=strict)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=create_graph, exact=strict)
        products = _fill_in_zeros(grad_res, outputs, strict, create_graph, "back_trick")
    outputs = _grad_postprocess(outputs, create_graph)
    products = _grad_postprocess(products, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(products, is_outputs_tuple)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d func(*inputs) / d inputs, as ``torch.autograd.functional.jacobian``: for one tensor output and input, shaped
    ``output.shape + input.shape``; for a tuple of outputs a tuple (one per output), for a tuple of inputs a tuple
    (one per input), for both a tuple of tuples. Detached unless ``create_graph``; ``strict`` raises where an output is
    independent of an input. Every row is a pipelined functional gradient: no round trip per row.

    ``vectorize`` and ``strategy="forward-mode"`` are accepted with PyTorch's checks and give its results; here they
    are computed the same way, by reverse mode one row at a time (the server has no vmap nor forward mode to make
    them cheaper)."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function has more outputs than '
                             'inputs, "forward-mode" tends to be more performant. Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise errors.UnimplementedError(
                'torch.autograd.functional.jacobian: `create_graph=True` and `strategy="forward-mode"` are not supported together (yet). '
                'Please either set `create_graph=False` or `strategy="reverse-mode"`.')
        if strict:
            raise errors.InvalidArgumentError(
                'torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are not supported together (yet). '
                'Please either set `strict=False` or `strategy="reverse-mode"`.')
        _as_tuple(inputs, "inputs", "jacobian")
        if not vectorize:
            raise errors.UnimplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian isonly implemented for `vectorize=True`.")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_outputs_tuple, outputs = _outputs(func, inputs, "jacobian", strict)
        if vectorize and strict:
            raise errors.InvalidArgumentError(
                "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not supported together. Please either set "
                "`strict=False` or `vectorize=False`.")
        jacobian = ()
        for i, out in enumerate(outputs):
            jac_i = tuple([] for _ in inputs)
            flat = out.reshape(-1) if out.requires_grad else None
            for j in range(out.nelement()):
                vj = _autograd_grad((flat[j] if flat is not None else out,), inputs, retain_graph=True, create_graph=create_graph, exact=strict)
                for el_idx, (jac_i_el, vj_el, inp_el) in enumerate(zip(jac_i, vj, inputs)):
                    if vj_el is not None:
                        if strict and create_graph and not _settled(vj_el):
                            raise errors.InvalidArgumentError(
                                f"The jacobian of the user-provided function is independent of input {i}. This is not allowed in strict mode "
                                "when create_graph=True.")
                        jac_i_el.append(vj_el)
                    else:
                        if strict:
                            raise errors.InvalidArgumentError(
                                f"Output {i} of the user-provided function is independent of input {el_idx}. This is not allowed in strict mode.")
                        jac_i_el.append(zeros_like(inp_el))
            jacobian += (tuple(stack(jac_i_el, dim=0).view(out.size() + inputs[el_idx].size()) for el_idx, jac_i_el in enumerate(jac_i)),)
        jacobian = _grad_postprocess(jacobian, create_graph)
        if strategy == "forward-mode":  # torch's forward mode gathers them in lists
            jacobian = [list(row) for row in jacobian]
        return _tuple_postprocess(jacobian, (is_outputs_tuple, is_inputs_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a one-element function, as ``torch.autograd.functional.hessian``: shaped ``input.shape +
    input.shape`` for one input; for several a tuple of tuples (block i, j: input i's shape + input j's). The Jacobian
    of the (recorded) gradient; ``vectorize`` and ``outer_jacobian_strategy`` as ``jacobian``'s."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict=strict)
        if is_out_tuple or not isinstance(out, Tensor):
            raise errors.InvalidArgumentError("The function given to hessian should return a single Tensor")
        if out.nelement() != 1:
            raise errors.InvalidArgumentError("The Tensor returned by the function given to hessian should contain a single element")
        return out.squeeze()

    def jac_func(*inp):
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T H)``, as ``torch.autograd.functional.vhp``: ``v`` times the Hessian of a one-element
    function, by double backward; detached unless ``create_graph``."""
    return _second_order(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), H v)``, as ``torch.autograd.functional.hvp``: the Hessian of a one-element function times
    ``v``, by the double-backward trick PyTorch's uses; detached unless ``create_graph``."""
    return _second_order(func, inputs, v, create_graph, strict, "hvp")


def _second_order(func, inputs, v, create_graph, strict, name):
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        if v is not None:
            _, v = _as_tuple(v, "v", name)
            v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].nelement() != 1:
            raise errors.InvalidArgumentError(
                "The vector v can only be None if the input to the user-provided function is a single Tensor with a single element.")
        is_outputs_tuple, outputs = _outputs(func, inputs, name, strict)
        if is_outputs_tuple or not isinstance(outputs[0], Tensor):
            raise errors.InvalidArgumentError(f"The function given to {name} should return a single Tensor")
        if outputs[0].nelement() != 1:
            raise errors.InvalidArgumentError(f"The Tensor returned by the function given to {name} should contain a single element")
        jac = _autograd_grad(outputs, inputs, create_graph=True, exact=strict)
        _check_requires_grad(jac, "jacobian", strict=strict)
        if name == "hvp":
            grad_jac = tuple(zeros_like(inp, requires_grad=True) for inp in inputs)
            double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True, exact=strict)
            _check_requires_grad(jac, "hessian", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        if name == "hvp":
            grad_res = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph, exact=strict)
            products = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back_trick")
        else:
            grad_res = _autograd_grad(jac, inputs, v, create_graph=create_graph, exact=strict)
            products = _fill_in_zeros(grad_res, inputs, strict, create_graph, "double_back")
    outputs = _grad_postprocess(outputs, create_graph)
    products = _grad_postprocess(products, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(products, is_inputs_tuple)


def _zeros_used(inputs):
    """0 x every input, summed: added to an output, it puts each input in the graph, so that a gradient is a zero where
    the output does not use the input (no allow_unused round trip)."""
    return sum((x * 0).sum() for x in inputs)
