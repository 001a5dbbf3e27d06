"""``gradcheck`` and ``gradgradcheck``: a function's gradients against finite differences, as ``torch.autograd``'s.

The analytical Jacobian is one functional gradient per output element, the numerical one two evaluations of the
function per input element (``(f(x + eps) - f(x - eps)) / 2 eps``, each element perturbed in the input's dtype);
both are pipelined and built on the server, and fetched once per (output, input) pair. Laid out as PyTorch's:
one row per input element, one column per output element. This is how a custom ``gw.autograd.Function`` is tested.

Not checked (PyTorch's further options, accepted where they default to off): forward-mode AD, batched gradients,
that backward gives the same values twice (``nondet_tol``), and undefined output gradients.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import errors
from ..floats import is_floating
from ..printing import tensor_repr
from ..tensor import Tensor, stack
from .functional import _zeros_used, grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """A gradient check failed (``torch.autograd.gradcheck.GradcheckError``): a ``RuntimeError``."""


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0, check_undefined_grad=True,
              check_grad_dtypes=False, check_batched_grad=False, check_batched_forward_grad=False, check_forward_ad=False,
              check_backward_ad=True, fast_mode=False, masked=None):
    """Check the gradients of ``func`` at ``inputs`` (a Tensor or a tuple; those that require grad are checked)
    against finite differences, as ``torch.autograd.gradcheck``: True when every analytical Jacobian is within
    ``atol + rtol * |numerical|`` of its numerical one; otherwise ``GradcheckError`` (or False, with
    ``raise_exception=False``). Inputs should be float64: others are checked with a warning, as PyTorch's."""
    if check_forward_ad or check_batched_grad or check_batched_forward_grad:
        raise errors.UnimplementedError("gradcheck: forward-mode and batched gradient checks are not supported")
    tupled = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, x in enumerate(tupled) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of them have requires_grad=True.")
    for i in diff:
        if tupled[i].dtype != np.float64:
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point or complex. This check will likely fail "
                "if all the inputs are not of double precision floating point or complex. ", stacklevel=2,
            )
    if not check_backward_ad:
        return True
    try:
        _check(func, tupled, diff, eps, atol, rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, gen_non_contig_grad_outputs=False, raise_exception=True,
                  nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False, check_fwd_over_rev=False,
                  check_rev_over_rev=True, fast_mode=False, masked=False):
    """Check the second derivatives of ``func`` at ``inputs``, as ``torch.autograd.gradgradcheck``: ``gradcheck`` of
    the map (inputs, v) -> the gradient of ``func``'s outputs with ``v`` (recorded, ``create_graph=True``); ``v``
    is ``grad_outputs``, or uniform in [-1, 1) from the session's generator."""
    if check_fwd_over_rev:
        raise errors.UnimplementedError("gradgradcheck: forward-over-reverse checks are not supported")
    tupled = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, x in enumerate(tupled) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradgradcheck expects at least one input tensor to require gradient, but none of them have requires_grad=True.")
    if grad_outputs is None:
        outputs = _differentiable(_as_tuple(func(*tupled)))
        grad_outputs = tuple((o.detach() * 0 + o._session.rand(*o.shape, dtype=o.dtype) * 2 - 1).requires_grad_() for o in outputs)
    else:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    count = len(grad_outputs)

    def first_derivatives(*args):
        given, vs = args[:-count], args[-count:]
        outputs = _differentiable(_as_tuple(func(*given)))
        if len(outputs) != len(vs):
            raise errors.InvalidArgumentError(f"gradgradcheck: {len(vs)} grad_outputs for {len(outputs)} differentiable outputs")
        wrt = [given[i] for i in diff]
        total = sum((o * v).sum() for o, v in zip(outputs, vs)) + _zeros_used(wrt)  # every input in the graph
        return grad(total, wrt, create_graph=True)

    return gradcheck(first_derivatives, tupled + grad_outputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)


def _as_tuple(x):
    return x if isinstance(x, tuple) else tuple(x) if isinstance(x, list) else (x,)


def _differentiable(outputs):
    return tuple(o for o in outputs if isinstance(o, Tensor) and o.requires_grad)


def _check(func, tupled, diff, eps, atol, rtol):
    outputs = _as_tuple(func(*tupled))
    wrt = [tupled[i] for i in diff]
    floating = [o for o in outputs if isinstance(o, Tensor) and is_floating(o.dtype)]
    checked = _differentiable(outputs)
    if not checked:  # nothing to differentiate: the numerical gradient must be zero, as PyTorch checks
        for k, numerical in enumerate(_numerical(func, tupled, diff, [outputs.index(o) for o in floating], eps)):
            for values in numerical:
                if not np.allclose(values, 0.0, rtol=rtol, atol=atol):
                    raise GradcheckError("Numerical gradient for function expected to be zero")
        return
    analytical = _analytical(checked, wrt)
    positions = [next(p for p, o in enumerate(outputs) if o is c) for c in checked]
    numerical = _numerical(func, tupled, diff, positions, eps)
    for j in range(len(checked)):
        for k in range(len(wrt)):
            a, n = analytical[j][k], numerical[k][j]
            if a.size == 0 and n.size == 0:
                continue
            if a.shape != n.shape or not np.allclose(a, n, rtol=rtol, atol=atol):
                raise GradcheckError(
                    f"Jacobian mismatch for output {j} with respect to input {k},\nnumerical:{tensor_repr(n, [])}\nanalytical:{tensor_repr(a, [])}\n"
                )


def _analytical(outputs, wrt):
    """[output j][input k]: d output_j / d input_k as (input numel, output numel), one gradient per output element."""
    session = wrt[0]._session
    found = []
    for o in outputs:
        n = o.numel()
        if n == 0:
            found.append([np.zeros((x.numel(), 0), dtype=o.dtype) for x in wrt])
            continue
        total = o + _zeros_used(wrt)  # every input in the graph: a zero gradient where o does not use it
        rows = []
        for m in range(n):
            seed = np.zeros(n, dtype=o.dtype)
            seed[m] = 1
            rows.append(grad(total, wrt, session.tensor(seed.reshape(tuple(o.shape))), retain_graph=True))
        found.append([stack([row[k].detach().reshape(-1) for row in rows]).t() if x.numel() else np.zeros((0, n), dtype=o.dtype)
                      for k, x in enumerate(wrt)])
    return [[block if isinstance(block, np.ndarray) else block.numpy() for block in blocks] for blocks in found]


def _numerical(func, tupled, diff, positions, eps):
    """[input k][output j]: central differences, (input numel, output numel), for the outputs at ``positions``."""
    found = []
    for i in diff:
        x = tupled[i]
        base = x.detach().numpy()
        columns = [[] for _ in positions]
        for e in range(base.size):
            ends = []
            for step in (eps, -eps):
                moved = base.copy()
                moved.flat[e] = moved.flat[e] + step  # in the input's dtype, as PyTorch perturbs it
                given = list(tupled)
                given[i] = x._session.tensor(moved, requires_grad=True)  # grad mode on: gradgradcheck's function differentiates
                outputs = _as_tuple(func(*given))
                ends.append([outputs[p].detach() for p in positions])
            for column, plus, minus in zip(columns, *ends):
                column.append(((plus - minus) / (2 * eps)).reshape(-1))
        found.append([stack(column).numpy() if column else np.zeros((0, 0)) for column in columns])
    return found
