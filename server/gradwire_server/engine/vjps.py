"""The VJP table: one entry per differentiable op in ``ops.OPS``.

``defvjp(op, rule_0, rule_1, ..., saves=...)`` gives one rule per input,
``rule(xp, g, ans, *inputs, **params) -> gradient of that input``. ``ans`` is
the forward output (a tuple for ops with several outputs; where ``outputs=n`` makes
the first n differentiable, ``g`` is a tuple of their gradients, None for one
that never arrived). ``saves`` says which
residuals the node keeps between forward and backward: None (only shapes and
dtypes: unsaved inputs arrive as ``graph.Meta``), "inputs", "ans" or "all".
A rule may return a gradient of the broadcast shape: the backward walk
un-broadcasts every gradient to its input's shape, so no rule does.
A rule of None means "not implemented": reaching it raises ``NoDerivative``.
"""

from __future__ import annotations

import math
import string
from typing import Callable, NamedTuple, Optional

from . import backend, linalg, nn, ops
from .errors import NoDerivative


class VJP(NamedTuple):
    rules: tuple
    saves: Optional[str]
    variadic: bool  # one rule for every input, called with argnum=i
    # per input, the inputs its rule reads (None: all): an input that no rule of a gradient-requiring input reads is
    # not saved (its Meta stands in), so an in-place change to it later is no error, as in PyTorch (mul saves x only
    # for y's gradient)
    reads: Optional[tuple] = None
    # how many of the op's outputs are differentiable and share its node (svd: U, S, Vh); each rule then takes g as a
    # tuple of their gradients, None for an output whose gradient never arrived (a zero the rule need not compute with)
    outputs: int = 1
    # a holomorphic op whose rules, written for real numbers, serve complex ones conjugated (``Node.input_grads``)
    conjugated: bool = False
    # what every input's rule needs, computed once per pass through the node: ``shared(xp, *inputs, **params)``,
    # whose value each rule takes as ``shared=`` (layer_norm's normalised input and its 1/std, for x's rule and weight's)
    shared: Optional[Callable] = None

    def for_input(self, argnum) -> Optional[Callable]:
        if self.variadic:
            return self.rules[0]
        return self.rules[argnum] if argnum < len(self.rules) else None


VJPS: dict[str, VJP] = {}

# Ops whose outputs never carry a gradient (bitwise ops, comparisons, indices).
NON_DIFFERENTIABLE = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin", "max_pool2d_indices",
                      "isnan", "isinf", "isfinite", "logical_not", "logical_and", "logical_or", "logical_xor", "all", "any", "count_nonzero", "nonzero",
                      "unique", "bincount", "one_hot", "probabilities", "bincount_weighted", "searchsorted", "histc", "lu_permutation", "geqrf",
                      "signbit", "gcd", "lcm", "view_dtype", "bessel_j0", "bessel_j1", *ops.SPECIAL_UNARY, *ops.SPECIAL_POLYNOMIALS}


def defvjp(op, *rules, saves="all", variadic=False, reads=None, outputs=1, shared=None):
    VJPS[op] = VJP(rules, saves, variadic, reads, outputs, shared=shared)


def _no_derivative(words):
    """The rule of an input that an op records but has no derivative for, as PyTorch's: reaching it raises ``words``,
    PyTorch's (a rule of None raises too, in gradwire's words)."""

    def rule(xp, g, ans, *inputs, **params):
        raise NoDerivative(words)

    rule.no_derivative = True  # (for the op table's tests: recorded, but a backward through it raises)
    return rule


def _expand_reduced(xp, g, shape, dim, keepdim):
    """Undo a reduction's shape change: put back the reduced dims, broadcast to ``shape``."""
    if dim is not None and not keepdim and shape:  # a 0-d input's dim 0 is no dim: nothing to put back
        dims = (dim,) if isinstance(dim, int) else dim
        g = xp.expand_dims(g, tuple(d % len(shape) for d in dims))
    return xp.broadcast_to(g, shape)


def _matmul_grads(xp, g, x, y, argnum):
    # Treat 1-D operands as a row (x) or a column (y), as matmul does, then drop that dim again. Each
    # gradient reads the other operand only (this one may be its Meta).
    # y's column first: for 1-D @ 1-D, g is 0-d and only (1,) can take a dim at -2
    if y.ndim == 1:
        g = xp.expand_dims(g, -1)
    if x.ndim == 1:
        g = xp.expand_dims(g, -2)
    if argnum == 0:
        gx = backend.matmul(xp, g, (y[:, None] if y.ndim == 1 else y).swapaxes(-1, -2))
        return gx.squeeze(-2) if x.ndim == 1 else gx
    gy = backend.matmul(xp, (x[None, :] if x.ndim == 1 else x).swapaxes(-1, -2), g)
    return gy.squeeze(-1) if y.ndim == 1 else gy


def _extreme_grad(xp, g, ans, x, dim=None, keepdim=False):
    if dim is None:  # ties share the gradient evenly, as PyTorch's max()/min() do
        mask = x == ans
        return g * mask / mask.sum()
    _, index = ans
    if x.ndim == 0:
        return g
    if not keepdim:
        index, g = xp.expand_dims(index, dim), xp.expand_dims(g, dim)
    positions = xp.arange(x.shape[dim]).reshape((-1,) + (1,) * (x.ndim - 1 - dim % x.ndim))
    return (positions == index) * g


def _index_grad(xp, g, ans, x, key):
    grad = xp.zeros(x.shape, dtype=g.dtype)
    dest, key = ops.site(grad, key)
    backend.add_at(xp, dest, key, g)  # scatter-add: repeated indices accumulate
    return grad


def _index_put_grad_x(xp, g, ans, x, value, key, accumulate=False):
    if accumulate:  # x's values are all still there, added to
        return g
    grad = g.copy()
    dest, key = ops.site(grad, key)
    dest[key] = 0  # what was written over passes nothing back to x
    return grad


def _diagonal_grad(xp, g, ans, x, offset=0, dim1=0, dim2=1):
    grad = xp.zeros(x.shape, dtype=g.dtype)
    ops.OPS["diagonal"].forward(xp, grad, offset, dim1, dim2)[...] = g
    return grad


def _unfold_grad(xp, g, ans, x, dimension, size, step):
    if x.ndim == 0:
        return g.reshape(())
    d = ops._axis(dimension, x.ndim)
    grad = xp.zeros(x.shape, dtype=g.dtype)
    positions = xp.arange(g.shape[d])[:, None] * step + xp.arange(size)  # (windows, size): the elements of each
    backend.add_at(xp, xp.moveaxis(grad, d, -1), (Ellipsis, positions), xp.moveaxis(g, d, -2))  # windows that overlap add up
    return grad


def _as_strided_grad(xp, g, ans, x, size, stride, storage_offset=0):
    grad = xp.zeros(math.prod(x.shape), dtype=g.dtype)
    positions = storage_offset + sum(xp.arange(n).reshape((-1,) + (1,) * (len(size) - 1 - k)) * s for k, (n, s) in enumerate(zip(size, stride)))
    backend.add_at(xp, grad, xp.broadcast_to(positions, g.shape), g)  # elements that share memory add up
    return grad.reshape(x.shape)


def _scatter_reduce_grads(xp, g, ans, x, index, src, dim, reduce, include_self=True):
    """(x's gradient, src's) of ``scatter_reduce``, PyTorch's: sum and mean pass g (over the count); prod passes the
    product of the others, exactly where a factor is zero (the others' product without it, where it is the only
    zero); amax and amin share g evenly among the values equal to the result."""
    d = ops._axis(dim, x.ndim)
    where = ops.along(xp, index, d)
    part = src[tuple(slice(0, n) for n in index.shape)]
    scattered = xp.zeros(x.shape, bool)
    scattered[where] = True
    own = xp.ones(x.shape, bool) if include_self else ~scattered  # where x's own value is in the result
    if reduce in ("sum", "mean"):
        g = g / ops.scatter_counts(xp, x.shape, index, d, include_self, g.dtype) if reduce == "mean" else g
        grad_x, grad_part = g * own, g[where]
    elif reduce == "prod":
        grad_x, grad_part = _scatter_prod_grads(xp, g, ans, x, part, where, own)
    else:  # amax, amin: ties share; x's value counts among them even where include_self leaves it out, as PyTorch's
        chosen_x = x == ans
        chosen_part = part == ans[where]
        count = chosen_x.astype(g.dtype)
        backend.add_at(xp, count, where, chosen_part.astype(g.dtype))
        share = g / xp.maximum(count, 1)
        grad_x, grad_part = share * (chosen_x & own), share[where] * chosen_part
    grad_src = xp.zeros(src.shape, g.dtype)
    grad_src[tuple(slice(0, n) for n in index.shape)] = grad_part
    return grad_x, grad_src


def _scatter_prod_grads(xp, g, ans, x, part, where, own):
    """The product's gradients: each factor's is g times the product of the others. Where a factor is not zero that
    is ans / factor; where it is, the product of the nonzero others if it is the only zero there, else 0."""
    zeros = xp.where(own, x == 0, False).astype(g.dtype)
    xp.add.at(zeros, where, (part == 0).astype(g.dtype))
    nonzero = xp.where(own & (x != 0), x, 1).astype(g.dtype)
    ops.reduce_at(xp, "multiply", nonzero, where, xp.where(part == 0, 1, part).astype(g.dtype))  # the product of the nonzero factors
    others_x = xp.where(x == 0, xp.where(zeros == 1, nonzero, 0), ans / xp.where(x == 0, 1, x))
    others_part = xp.where(part == 0, xp.where(zeros[where] == 1, nonzero[where], 0), ans[where] / xp.where(part == 0, 1, part))
    return g * others_x * own, g[where] * others_part


def _copy_slices_grad_root(xp, g, ans, root, written, steps):
    grad = g.copy()
    ops.view_of(xp, grad, steps)[...] = 0  # the written part came from the in-place op, not from the root before
    return grad


def _cat_grad(xp, g, ans, *xs, argnum, dim=0):
    if ops.is_legacy_empty(xs[argnum]) and g.ndim != 1:  # skipped by the forward: no elements, no gradient
        return xp.zeros((0,), dtype=g.dtype)
    dim = dim % g.ndim
    start = sum(xs[j].shape[dim] for j in range(argnum) if not ops.is_legacy_empty(xs[j]))
    region = [slice(None)] * g.ndim
    region[dim] = slice(start, start + xs[argnum].shape[dim])
    return g[tuple(region)]


def _stack_grad(xp, g, ans, *xs, argnum, dim=0):
    return xp.take(g, argnum, axis=dim)


def _permute_grad(xp, g, ans, x, dims):
    n = len(dims)
    return g.transpose(sorted(range(n), key=lambda i: dims[i] % n))


def _pow_base_grad(xp, g, ans, x, y):
    # d(x**y)/dx is 0 where y == 0 (even at x == 0, where y * x**(y-1) is nan).
    # Conditions go through asarray: with a Python number they are a bool, which CuPy's where refuses.
    return g * xp.where(xp.asarray(y == 0), 0, y * ops.power(xp, x, y - 1))


def _pow_exponent_grad(xp, g, ans, x, y):
    # x ** y * log(x): 0 at x == 0 for y >= 0, where it is 0 * -inf (log(1) stands in for log(0) there, so that this
    # gradient's own derivative is 0 too, not 0 * inf); for y < 0 it is inf * -inf, -inf, as PyTorch's
    zero = xp.asarray(x == 0) & xp.asarray(y >= 0)
    if hasattr(x, "shape"):
        x = xp.where(zero, 1, x)
    elif x == 0:  # a number base (0 ** y): the stand-in takes y's shape
        x = xp.where(zero, 1, 0)
    return g * xp.where(zero, 0, ans * xp.log(x))


def _clamp_grad(xp, g, ans, x, min=None, max=None):
    inside = True
    if min is not None:
        inside = inside & (x >= min)
    if max is not None:
        inside = inside & (x <= max)
    return g * inside


def _logit_grad(xp, g, x, eps=None):
    """g / (x (1 - x)): NaN outside [0, 1] without ``eps``, 0 outside [eps, 1 - eps] with it, as PyTorch's."""
    low, high = (0, 1) if eps is None else (eps, 1 - eps)
    return xp.where((x < low) | (x > high), math.nan if eps is None else 0, g / (x * (1 - x)))


def _reshape_back(xp, g, ans, x, **params):
    return g.reshape(x.shape)


def _same(xp, g, ans, *xs, **params):
    return g


def _leaky_relu_grad(xp, g, ans, x, negative_slope=0.01):
    if 0 < negative_slope <= 1:  # g times 1 where x > 0, else the slope: that factor as a maximum, not a select
        return g * xp.maximum(x > 0, g.dtype.type(negative_slope))
    return xp.where(x > 0, g, g * negative_slope)


def _elu_grad(xp, g, ans, x, alpha=1.0):
    if alpha == 1:  # g times 1 where x > 0, else e^x: that factor as a maximum, not a select
        return g * xp.maximum(x > 0, xp.exp(xp.minimum(x, 0)))
    return xp.where(x > 0, g, g * alpha * xp.exp(xp.minimum(x, 0)))


def _silu_grad(xp, g, ans, x):
    s = nn.sigmoid(xp, x)
    return g * s * (1 + x * (1 - s))


def _var_grad(xp, g, ans, x, dim=None, correction=1, keepdim=False, std=False):
    """d var = 2 (x - mean) / (N - correction); d std = d var / (2 std)."""
    dof = ops.degrees_of_freedom(x, ans, correction)
    centred = x - x.mean(axis=dim, keepdims=True)
    g = _expand_reduced(xp, g, x.shape, dim, keepdim)
    if std:  # 0 where the std is 0, as PyTorch's (masked_fill of std == 0)
        std_ = _expand_reduced(xp, xp.asarray(ans), x.shape, dim, keepdim)
        return xp.where(std_ == 0, 0, g * centred / (std_ * (dof if dof else math.nan)))
    return g * centred * (2 / dof if dof else math.nan)


def _norm_grad(xp, g, ans, x, p=2.0, dim=None, keepdim=False):
    """PyTorch's: x / norm for p = 2 (0 where the norm is 0), sign(x) for 1, the maxima shared for inf."""
    norm = _expand_reduced(xp, xp.asarray(ans), x.shape, dim, keepdim)
    g = _expand_reduced(xp, g, x.shape, dim, keepdim)
    if p == 0:
        return xp.zeros(x.shape, x.dtype)
    if p == 1:
        return g * xp.sign(x)
    if math.isinf(p):
        at = (xp.abs(x) == norm).astype(x.dtype)
        return g * xp.sign(x) * at / _expand_reduced(xp, xp.asarray(at.sum(axis=dim, keepdims=keepdim)), x.shape, dim, keepdim)
    safe = xp.where(norm == 0, 1, norm)
    if p == 2:
        return xp.where(norm == 0, 0, g * x / safe)
    return xp.where(norm == 0, 0, g * xp.sign(x) * xp.abs(x) ** (p - 1) / safe ** (p - 1))


def _zeros(xp, g, ans, *xs, **params):
    """floor, ceil, round, trunc, sign: flat almost everywhere, so PyTorch's gradient is zeros."""
    return xp.zeros_like(g)


def _prod_grad(xp, g, ans, x, dim=None, keepdim=False):
    """The product of the other elements of each one's slice, from exclusive products on either side
    (right where some elements are zero, unlike ans / x)."""
    if x.ndim == 0:
        return g
    if not hasattr(xp, "special") and not bool((x == 0).any()):  # PyTorch's ans / x without a zero: its NaN and inf
        return _expand_reduced(xp, g * ans, x.shape, dim, keepdim) / x
    others = ops.products_of_others(xp, x.reshape(-1) if dim is None else xp.moveaxis(x, dim, -1))
    others = others.reshape(x.shape) if dim is None else xp.moveaxis(others, -1, dim)
    return _expand_reduced(xp, g, x.shape, dim, keepdim) * others


def _amax_amin_grad(xp, g, ans, x, dim=(), keepdim=False):
    """To the extreme elements; ties share the gradient evenly, as PyTorch's amax/amin."""
    dims = None if dim == () or dim is None else dim
    wide = _expand_reduced(xp, ans, x.shape, dims, keepdim)
    hit = x == wide
    return _expand_reduced(xp, g, x.shape, dims, keepdim) * hit / hit.sum(axis=dims, keepdims=True)


def _logsumexp_grad(xp, g, ans, x, dim, keepdim=False):
    return _expand_reduced(xp, g, x.shape, dim, keepdim) * xp.exp(x - _expand_reduced(xp, ans, x.shape, dim, keepdim))


def _scattered_src_grad(xp, g, index, src, dim):
    """scatter_add's gradient for src: g gathered at index, zeros past index's reach."""
    grad = xp.zeros(src.shape, dtype=g.dtype)
    grad[tuple(slice(0, n) for n in index.shape)] = g[ops.along(xp, index, ops._axis(dim, g.ndim))]  # index may be smaller than g
    return grad


def _scatter_grad_x(xp, g, ans, x, index, src, dim):
    grad = g.copy()
    grad[ops.along(xp, index, ops._axis(dim, g.ndim))] = 0  # what was written over passes nothing back
    return grad


def _cumprod_grad(xp, g, ans, x, dim):
    """Each element's share of every later partial product: the products of the others before each
    position, from exclusive products (right where some elements are zero, unlike ans / x). Untraced, PyTorch's
    algorithm, for its NaN and inf: without a zero in x, the reversed cumsum of g * ans over x; else that, up to
    each row's first zero (its later terms are zeros), the exclusive products at the first zero and 0 after it."""
    if not hasattr(xp, "special") and x.ndim:  # (a traced rule records the exclusive products below)
        w = g * ans
        reversed_cumsum = lambda a: xp.flip(xp.cumsum(xp.flip(a, dim), axis=dim), dim)
        zero = x == 0
        if not bool(zero.any()):
            return reversed_cumsum(w) / x
        zeros_so_far = xp.cumsum(zero, axis=dim)
        before = zeros_so_far == 0
        grad = xp.where(before, reversed_cumsum(xp.where(before, w, 0)) / xp.where(before, x, 1), 0)
        first = zero & (zeros_so_far == 1)
        if bool(first.any()):
            moved, g_moved, first_moved = xp.moveaxis(x, dim, -1), xp.moveaxis(g, dim, -1), xp.moveaxis(first, dim, -1)
            at_first = xp.zeros(moved.shape, dtype=g.dtype)
            for k in range(moved.shape[-1]):
                rows = first_moved[..., k]
                if bool(rows.any()):
                    before_k = moved[..., :k].prod(axis=-1, keepdims=True)
                    after = xp.cumprod(moved[..., k + 1 :], axis=-1)
                    shares = xp.concatenate([before_k, before_k * after], axis=-1)
                    at_first[..., k] = xp.where(rows, (g_moved[..., k:] * shares).sum(axis=-1), 0)
            grad = grad + xp.moveaxis(at_first, -1, dim)
        return grad
    moved, g_moved = xp.moveaxis(x, dim, -1), xp.moveaxis(g, dim, -1)
    columns = []
    for k in range(moved.shape[-1]):  # d ans[j] / d x[k] for j >= k: the product of x[:j+1] without x[k]
        before = moved[..., :k].prod(axis=-1, keepdims=True)
        after = xp.cumprod(moved[..., k + 1 :], axis=-1)
        shares = xp.concatenate([before, before * after], axis=-1)  # j = k, k+1, ...
        columns.append((g_moved[..., k:] * shares).sum(axis=-1))
    grad = xp.stack(columns, axis=-1) if columns else xp.zeros(moved.shape, dtype=g.dtype)  # (no writes: it records too)
    return xp.moveaxis(grad, -1, dim)


def _roll_grad(xp, g, ans, x, shifts, dims=None):
    back = -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)
    return xp.roll(g, back, axis=dims)


def _repeat_grad(xp, g, ans, x, sizes):
    """Each copy's gradient summed back: g as (copies, size) pairs per dim, the copies summed away."""
    shape = (1,) * (len(sizes) - len(x.shape)) + tuple(x.shape)  # x: its Meta (shape and dtype)
    pairs = tuple(n for pair in zip(sizes, shape) for n in pair)
    return g.reshape(pairs).sum(axis=tuple(range(0, len(pairs), 2))).reshape(x.shape)


def _logcumsumexp_grad(xp, g, ans, x, dim):
    """d/dx_j = sum over i >= j of g_i exp(x_j - ans_i), as PyTorch's: the positive and negative parts of g each as a
    reversed logcumsumexp of log|g| - ans, so no exp overflows."""
    if x.ndim == 0:
        return g
    d = dim % x.ndim

    def part(weights):
        logs = xp.where(weights > 0, xp.log(xp.where(weights > 0, weights, 1)), -xp.inf) - ans
        return xp.exp(x + xp.flip(ops._logcumsumexp(xp, xp.flip(logs, d), d), d))

    return part(g) - part(-g)


def _sorted_grad(xp, g, ans, x, *args, dim=-1, **params):
    """sort and topk: each value's gradient back to where it came from."""
    if x.ndim == 0:
        return g
    return ops.scatter_add_along(xp, x.shape, ans[1], g, dim)


def _einsum_grad(xp, g, ans, *xs, argnum, equation):
    """An einsum of g with the other operands, to this operand's subscripts: its letters that appear nowhere
    else were summed over, so the gradient is the same along them; dims it broadcast from 1 are summed back.
    A letter repeated within the operand (``"ii->i"``) read its diagonal: the gradient goes there, zero elsewhere."""
    lhs, arrow, out = equation.partition("->")
    terms = lhs.split(",")
    target = terms[argnum]
    if not arrow or "." in equation:
        raise NoDerivative("einsum: the gradient needs an explicit equation (the SDK writes one)")
    x = xs[argnum]
    sizes = dict(zip(target, x.shape))
    unique = "".join(dict.fromkeys(target))
    others = [t for j, t in enumerate(terms) if j != argnum]
    elsewhere = set(out).union(*others)
    kept = "".join(c for c in unique if c in elsewhere)
    grad = ops.einsum(xp, ",".join([out] + others) + "->" + kept, g, *[x for j, x in enumerate(xs) if j != argnum])
    shape = tuple(sizes[c] for c in unique)
    if kept != unique:  # (a kept letter keeps g's size, broadcast from 1 or not: summed back below)
        along = dict(zip(kept, grad.shape))
        grad = xp.broadcast_to(grad.reshape([along.get(c, 1) for c in unique]), [along.get(c, n) for c, n in zip(unique, shape)])
    for k, n in enumerate(shape):
        if n == 1 and grad.shape[k] != 1:
            grad = grad.sum(axis=k, keepdims=True)
    if unique == target:
        return grad
    # a repeated letter: grad on the diagonal, an einsum with an identity matrix per repeat ("i,ij->ij" for "ii")
    free = iter(c for c in string.ascii_letters if c not in equation)
    placed, identities, seen = [], [], set()
    for c in target:
        if c in seen:
            twin = next(free)
            identities.append((c + twin, xp.eye(sizes[c], dtype=grad.dtype)))
            c = twin
        seen.add(c)
        placed.append(c)
    terms = ",".join([unique] + [term for term, _ in identities]) + "->" + "".join(placed)
    return ops.einsum(xp, terms, grad, *[eye for _, eye in identities])


def _atan2_grads(argnum):
    def rule(xp, g, ans, y, x):
        y, x = ops._both_float(xp, y, x)
        denominator = x * x + y * y
        scale = xp.where(denominator == 0, 0, g / xp.where(denominator == 0, 1, denominator))
        return scale * x if argnum == 0 else -scale * y  # 0 at (0, 0), as PyTorch's

    return rule


# op           d/d input 0                                   d/d input 1                                saves
defvjp("add", _same, _same, saves=None)
defvjp("sub", _same, lambda xp, g, ans, x, y: -g, saves=None)
defvjp("mul", lambda xp, g, ans, x, y: g * y, lambda xp, g, ans, x, y: g * x, saves="inputs", reads=((1,), (0,)))
defvjp("div", lambda xp, g, ans, x, y: g / y, lambda xp, g, ans, x, y: -g * x / (y * y), saves="inputs", reads=((1,), (0, 1)))
defvjp("pow", _pow_base_grad, _pow_exponent_grad)
# maximum/minimum: half each at a tie, none to the side that loses; a NaN loses to nothing (both sides get it all), as PyTorch's
defvjp("maximum", lambda xp, g, ans, x, y: g * xp.where(x < y, 0, xp.where(x == y, 0.5, 1)),
       lambda xp, g, ans, x, y: g * xp.where(y < x, 0, xp.where(x == y, 0.5, 1)), saves="inputs")
defvjp("minimum", lambda xp, g, ans, x, y: g * xp.where(x > y, 0, xp.where(x == y, 0.5, 1)),
       lambda xp, g, ans, x, y: g * xp.where(y > x, 0, xp.where(x == y, 0.5, 1)), saves="inputs")
defvjp("where", None, lambda xp, g, ans, c, x, y: xp.where(c, g, 0), lambda xp, g, ans, c, x, y: xp.where(c, 0, g), saves="inputs",
       reads=((), (0,), (0,)))
_FLOOR_DIVIDE = _no_derivative("derivative for aten::floor_divide is not implemented")
defvjp("floor_divide", _FLOOR_DIVIDE, _FLOOR_DIVIDE, saves=None)
defvjp("remainder", _same, lambda xp, g, ans, x, y: -g * xp.floor_divide(x, y), saves="inputs")
defvjp("neg", lambda xp, g, ans, x: -g, saves=None)
defvjp("exp", lambda xp, g, ans, x: g * ans, saves="ans")
defvjp("log", lambda xp, g, ans, x: g / x, saves="inputs")
defvjp("sqrt", lambda xp, g, ans, x: g / (2 * ans), saves="ans")
def _abs_grad(xp, g, ans, x):
    if x.dtype.kind == "c":  # g z / |z| (0 at 0), PyTorch's sgn: NumPy 1's and CuPy's sign of a complex number is another
        magnitude = xp.abs(x)
        return g * xp.where(magnitude == 0, 0, x / xp.where(magnitude == 0, 1, magnitude))
    return g * xp.where(x != x, 0, xp.sign(x))  # 0 at NaN, as PyTorch's sgn


defvjp("abs", _abs_grad, saves="inputs")
defvjp("sin", lambda xp, g, ans, x: g * xp.cos(x), saves="inputs")
defvjp("cos", lambda xp, g, ans, x: -g * xp.sin(x), saves="inputs")
defvjp("tanh", lambda xp, g, ans, x: g * (1 - ans * ans), saves="ans")
defvjp("sigmoid", lambda xp, g, ans, x: g * ans * (1 - ans), saves="ans")
# NaN passes g, as PyTorch's threshold_backward (not ans > 0); a product, not where(): where() over a random mask runs
# some 15x slower (branch mispredictions), a millisecond per layer of a batch-1024 MLP
defvjp("relu", lambda xp, g, ans, x: g * ~(ans <= 0), saves="ans")
defvjp("log1p", lambda xp, g, ans, x: g / (1 + x), saves="inputs")
defvjp("expm1", lambda xp, g, ans, x: g * (ans + 1), saves="ans")
defvjp("leaky_relu", _leaky_relu_grad, saves="inputs")
defvjp("silu", _silu_grad, saves="inputs")
defvjp("gelu", ops.gelu_grad, saves="inputs")
defvjp("softplus", lambda xp, g, ans, x, beta=1.0, threshold=20.0: xp.where(x * beta > threshold, g, g * nn.sigmoid(xp, x * beta)), saves="inputs")
defvjp("elu", _elu_grad, saves="inputs")
defvjp("tril", lambda xp, g, ans, x, diagonal=0: xp.tril(g, diagonal), saves=None)
defvjp("triu", lambda xp, g, ans, x, diagonal=0: xp.triu(g, diagonal), saves=None)
defvjp("cumsum", lambda xp, g, ans, x, dim: xp.flip(xp.cumsum(xp.flip(g, dim), axis=dim), dim), saves=None)
defvjp("clamp", _clamp_grad, saves="inputs")
defvjp("cumprod", _cumprod_grad, saves="all")
defvjp("scatter_add", _same, None, lambda xp, g, ans, x, index, src, dim: _scattered_src_grad(xp, g, index, src, dim), saves="inputs")
defvjp("scatter_reduce", lambda xp, g, ans, *inputs, **params: _scatter_reduce_grads(xp, g, ans, *inputs, **params)[0], None,
       lambda xp, g, ans, *inputs, **params: _scatter_reduce_grads(xp, g, ans, *inputs, **params)[1])
defvjp("scatter", _scatter_grad_x, None, lambda xp, g, ans, x, index, src, dim: _scattered_src_grad(xp, g, index, src, dim), saves="inputs")
defvjp("rsqrt", lambda xp, g, ans, x: -0.5 * g * ans * ans * ans, saves="ans")
defvjp("reciprocal", lambda xp, g, ans, x: -g * ans * ans, saves="ans")
defvjp("tan", lambda xp, g, ans, x: g * (1 + ans * ans), saves="ans")
defvjp("asin", lambda xp, g, ans, x: g / xp.sqrt(1 - x * x), saves="inputs")
defvjp("acos", lambda xp, g, ans, x: -g / xp.sqrt(1 - x * x), saves="inputs")
defvjp("atan", lambda xp, g, ans, x: g / (1 + x * x), saves="inputs")
defvjp("asinh", lambda xp, g, ans, x: g / xp.sqrt(x * x + 1), saves="inputs")
defvjp("acosh", lambda xp, g, ans, x: g / xp.sqrt(x * x - 1), saves="inputs")  # PyTorch's (x^2 - 1)^-1/2: inf at -1 too
defvjp("atanh", lambda xp, g, ans, x: g / (1 - x * x), saves="inputs")
defvjp("logcumsumexp", _logcumsumexp_grad)
defvjp("frexp", lambda xp, g, ans, x: g * xp.ldexp(xp.ones_like(g), -ans[1]), saves="ans")  # the mantissa's: g / 2**exponent
defvjp("nextafter", _same, _zeros, saves=None)  # other: a zero gradient, as PyTorch's
# copysign: to x, ans / x (0 at x = 0; NaN at an infinity, as PyTorch's); to y, zeros
defvjp("copysign", lambda xp, g, ans, x, y: g * xp.where(x == 0, 0, ans / xp.where(x == 0, 1, x)), _zeros, saves="all")
_HEAVISIDE = _no_derivative("derivative for aten::heaviside is not implemented")
defvjp("heaviside", _HEAVISIDE, _HEAVISIDE, saves=None)
defvjp("sinh", lambda xp, g, ans, x: g * xp.cosh(x), saves="inputs")
defvjp("cosh", lambda xp, g, ans, x: g * xp.sinh(x), saves="inputs")
defvjp("log2", lambda xp, g, ans, x: g / (x * math.log(2)), saves="inputs")
defvjp("log10", lambda xp, g, ans, x: g / (x * math.log(10)), saves="inputs")
defvjp("exp2", lambda xp, g, ans, x: g * ans * math.log(2), saves="ans")
defvjp("erf", lambda xp, g, ans, x: g * (2 / math.sqrt(math.pi)) * xp.exp(-x * x), saves="inputs")
defvjp("erfinv", lambda xp, g, ans, x: g * (math.sqrt(math.pi) / 2) * xp.exp(ans * ans), saves="ans")
defvjp("erfc", lambda xp, g, ans, x: g * (-2 / math.sqrt(math.pi)) * xp.exp(-x * x), saves="inputs")
defvjp("erfcx", lambda xp, g, ans, x: g * (2 * x * ans - 2 / math.sqrt(math.pi)), saves="all")
defvjp("lgamma", lambda xp, g, ans, x: g * backend.digamma(xp, x), saves="inputs")
defvjp("digamma", lambda xp, g, ans, x: g * backend.polygamma(xp, x, n=1), saves="inputs")
defvjp("polygamma", lambda xp, g, ans, x, n: g * backend.polygamma(xp, x, n=n + 1), saves="inputs")
defvjp("i0", lambda xp, g, ans, x: g * backend.i1(xp, x), saves="inputs")
# the special functions of their own, PyTorch's formulas (and so its values at 0, the poles and outside the domains)
defvjp("i0e", lambda xp, g, ans, x: g * (backend.i1e(xp, x) - xp.sign(x) * ans), saves="all")
defvjp("i1", lambda xp, g, ans, x: g * xp.where(x == 0, 0.5, backend.i0(xp, x) - ans / xp.where(x == 0, 1, x)), saves="all")
defvjp("i1e", lambda xp, g, ans, x: g * xp.where(x == 0, 0.5, backend.i0e(xp, x) - ans * (xp.sign(x) + 1 / xp.where(x == 0, 1, x))), saves="all")
defvjp("ndtri", lambda xp, g, ans, x: g * math.sqrt(2 * math.pi) * xp.exp(ans * ans / 2), saves="ans")
defvjp("logit", lambda xp, g, ans, x, eps=None: _logit_grad(xp, g, x, eps), saves="inputs")
defvjp("entr", lambda xp, g, ans, x: -g * (1 + xp.log(x)), saves="inputs")  # inf at 0, NaN below, as PyTorch's
# d/dx is log(y) (log1p(y)), as PyTorch's: 0 where x is 0 and the log has no finite value (y <= 0; y <= -1)
defvjp("xlogy", lambda xp, g, ans, x, y: g * xp.where((x == 0) & (y <= 0), 0, xp.log(y)), lambda xp, g, ans, x, y: g * x / y, saves="inputs")
defvjp("xlog1py", lambda xp, g, ans, x, y: g * xp.where((x == 0) & (y <= -1), 0, xp.log1p(y)), lambda xp, g, ans, x, y: g * x / (1 + y),
       saves="inputs")
defvjp("hypot", lambda xp, g, ans, x, y: g * x / ans, lambda xp, g, ans, x, y: g * y / ans, saves="all")
defvjp("logaddexp", lambda xp, g, ans, x, y: g / (1 + xp.exp(y - x)), lambda xp, g, ans, x, y: g / (1 + xp.exp(x - y)), saves="inputs")
defvjp("gammainc", _no_derivative("the derivative for 'igamma: input' is not implemented."), lambda xp, g, ans, a, x: g * xp.exp((a - 1) * xp.log(x) - x - backend.lgamma(xp, a)), saves="inputs")  # a: none, as PyTorch's
defvjp("gammaincc", _no_derivative("the derivative for 'igammac: input' is not implemented."), lambda xp, g, ans, a, x: -g * xp.exp((a - 1) * xp.log(x) - x - backend.lgamma(xp, a)), saves="inputs")
defvjp("zeta", _no_derivative("the derivative for 'zeta' is not implemented."), lambda xp, g, ans, x, q: -g * x * backend.zeta(xp, x + 1, q), saves="inputs")  # x: none, as PyTorch's
defvjp("kthvalue", lambda xp, g, ans, x, k, dim=-1, keepdim=False: _extreme_grad(xp, g, ans, x, dim, keepdim))  # to the index it gives
defvjp("atan2", _atan2_grads(0), _atan2_grads(1), saves="inputs")
defvjp("fmod", _same, lambda xp, g, ans, x, y: -g * xp.trunc(x / y), saves="inputs")
defvjp("floor", _zeros, saves=None)
defvjp("ceil", _zeros, saves=None)
defvjp("trunc", _zeros, saves=None)
defvjp("round", _zeros, saves=None)
defvjp("sign", _zeros, saves=None)
defvjp("prod", _prod_grad, saves="all")
defvjp("amax", _amax_amin_grad)
defvjp("amin", _amax_amin_grad)
defvjp("logsumexp", _logsumexp_grad)
defvjp("einsum", _einsum_grad, saves="inputs", variadic=True)
defvjp("pad", lambda xp, g, ans, x, pad, value=None: ops.pad(xp, g, tuple(-n for n in pad)), saves=None)  # padding undone, crops refilled
defvjp("flip", lambda xp, g, ans, x, dims: xp.flip(g, dims), saves=None)
defvjp("roll", _roll_grad, saves=None)
defvjp("repeat", _repeat_grad, saves=None)
defvjp("sort", _sorted_grad)
defvjp("topk", _sorted_grad)
defvjp("cummax", _sorted_grad)  # each running extreme's gradient back to where it was reached
defvjp("cummin", _sorted_grad)
defvjp("inv", linalg.inv_grad, saves="ans")
defvjp("det", linalg.det_grad, saves="inputs")
defvjp("slogdet", linalg.slogdet_grad, saves="inputs", outputs=2)  # the sign requires grad too, as torch's; it passes none back
defvjp("solve", linalg.solve_grad, saves="all", variadic=True)
defvjp("cholesky", linalg.cholesky_grad, saves="ans")
defvjp("cholesky_ex", linalg.cholesky_ex_grad, saves="ans")
defvjp("solve_triangular", linalg.solve_triangular_grad, saves="all", variadic=True)
defvjp("lu_factor", linalg.lu_factor_grad, saves="all")


defvjp("ldl_factor", _no_derivative("derivative for aten::linalg_ldl_factor_ex is not implemented"), saves=None)
_LDL_SOLVE = _no_derivative("derivative for aten::linalg_ldl_solve is not implemented")
defvjp("ldl_solve", _LDL_SOLVE, None, _LDL_SOLVE, saves=None)
defvjp("eigvalsh", linalg.eigvalsh_grad, saves="inputs")  # the vectors are found again in the backward
defvjp("svdvals", linalg.svdvals_grad, saves="inputs")
defvjp("linalg_svd", linalg.svd_grad, saves="all", outputs=3)  # (the input for its shape only)
defvjp("linalg_eigh", linalg.eigh_grad, saves="ans", outputs=2)
defvjp("linalg_eig", linalg.eig_grad, saves="ans", outputs=2)
defvjp("linalg_qr", linalg.qr_grad, saves="all", outputs=2)  # a wide A's right block is read
defvjp("matmul", lambda xp, g, ans, x, y: _matmul_grads(xp, g, x, y, 0), lambda xp, g, ans, x, y: _matmul_grads(xp, g, x, y, 1), saves="inputs",
       reads=((1,), (0,)))
defvjp("sum", lambda xp, g, ans, x, dim=None, keepdim=False: _expand_reduced(xp, g, x.shape, dim, keepdim), saves=None)
defvjp("mean", lambda xp, g, ans, x, dim=None, keepdim=False: _expand_reduced(xp, g, x.shape, dim, keepdim) * (g.size / max(math.prod(x.shape), 1)), saves=None)
defvjp("var", _var_grad, saves="all")
defvjp("std", lambda xp, g, ans, x, **params: _var_grad(xp, g, ans, x, std=True, **params), saves="all")
defvjp("masked_fill", lambda xp, g, ans, x, mask, value=0: xp.where(mask, 0, g), None, saves="inputs", reads=((1,), ()))
defvjp("norm", _norm_grad)
defvjp("gather", lambda xp, g, ans, x, index, dim: ops.scatter_add_along(xp, x.shape, index, g, dim), None, saves="inputs")
defvjp("max", _extreme_grad)
defvjp("min", _extreme_grad)
defvjp("mode", lambda xp, g, ans, x, dim=-1, keepdim=False: _extreme_grad(xp, g, ans, x, dim, keepdim))  # to the index it gives
defvjp("softmax", lambda xp, g, ans, x, dim: ans * (g - (g * ans).sum(axis=dim, keepdims=True)), saves="ans")
defvjp("log_softmax", lambda xp, g, ans, x, dim: g - xp.exp(ans) * g.sum(axis=dim, keepdims=True), saves="ans")
defvjp("reshape", _reshape_back, saves=None)
defvjp("squeeze", _reshape_back, saves=None)
defvjp("unsqueeze", _reshape_back, saves=None)
defvjp("transpose", lambda xp, g, ans, x, dim0, dim1: g.swapaxes(dim0, dim1) if g.ndim else g, saves=None)
defvjp("permute", _permute_grad, saves=None)
defvjp("expand", _same, saves=None)  # the walk's un-broadcast sums the expanded dims
defvjp("index", _index_grad, saves=None)
# a recorded in-place change to a view, in its root's history (Engine.apply_into): (root before, the op's result)
defvjp("copy_slices", _copy_slices_grad_root, lambda xp, g, ans, root, written, steps: xp.array(ops.view_of(xp, g, steps)), saves=None)
defvjp("index_put", _index_put_grad_x, lambda xp, g, ans, x, value, key, accumulate=False: ops.at(g, key), saves=None)  # the walk sums value's broadcast
defvjp("diagonal", _diagonal_grad, saves=None)
defvjp("unfold", _unfold_grad, saves=None)
defvjp("as_strided", _as_strided_grad, saves=None)
defvjp("cat", _cat_grad, saves=None, variadic=True)
defvjp("stack", _stack_grad, saves=None, variadic=True)
defvjp("to", _same, saves=None)  # the walk casts the gradient back to the input's dtype
defvjp("clone", _same, saves=None)
defvjp("contiguous", _same, saves=None)
# neural-network primitives: the rules live beside their forwards in nn.py
defvjp("linear", nn.linear_grad, saves="inputs", variadic=True, reads=((1,), (0,), ()))
defvjp("conv2d", nn.conv2d_grad, saves="inputs", variadic=True)
defvjp("conv_transpose2d", nn.conv_transpose2d_grad, saves="inputs", variadic=True)
defvjp("avg_pool2d", nn.avg_pool2d_grad, saves="inputs")
defvjp("adaptive_avg_pool2d", nn.adaptive_avg_pool2d_grad, saves="inputs")
defvjp("max_pool2d", nn.max_pool2d_grad, saves="all")  # x and the maxima: the gradient goes where they are equal
defvjp("embedding", None, nn.embedding_grad, saves="inputs")  # indices are integers: no gradient
defvjp("im2col", nn.im2col_grad, saves=None)  # linear: each is the other's adjoint, and needs only x's shape
defvjp("col2im", nn.col2im_grad, saves=None)
defvjp("layer_norm", nn.layer_norm_grad, saves="inputs", variadic=True, shared=nn.layer_norm_shared)
defvjp("batch_norm", nn.batch_norm_grad, saves="inputs", variadic=True, shared=nn.batch_norm_shared)  # None for the running statistics
defvjp("dropout", nn.dropout_grad, None, saves="inputs")  # the samples are data, never differentiated
defvjp("nll_loss", nn.nll_loss_grad, None, saves="inputs")
defvjp("cross_entropy", nn.cross_entropy_grad, None, saves="inputs")
defvjp("binary_cross_entropy", nn.binary_cross_entropy_grad, saves="inputs", variadic=True)
defvjp("binary_cross_entropy_with_logits", nn.binary_cross_entropy_with_logits_grad, saves="inputs", variadic=True)

# complex numbers: PyTorch's gradient of a complex input is dL/d(re) + i dL/d(im) (conj-Wirtinger, times 2)
defvjp("real", _same, saves=None)  # the walk casts g to the input's complex dtype: g + 0i
defvjp("imag", lambda xp, g, ans, x: g * 1j, saves=None)
defvjp("conj", lambda xp, g, ans, x: xp.conj(g), saves=None)
defvjp("complex", lambda xp, g, ans, re, im: xp.ascontiguousarray(g.real), lambda xp, g, ans, re, im: xp.ascontiguousarray(g.imag), saves=None)


def _angle_grad(xp, g, ans, x):
    if x.dtype.kind != "c":  # 0 or pi: flat
        return xp.zeros(x.shape, dtype=g.dtype)
    magnitude = xp.abs(x) ** 2
    return xp.where(x == 0, 0, g * x * 1j / xp.where(x == 0, 1, magnitude))


defvjp("angle", _angle_grad, saves="inputs")

# the FFTs (linear): a transform's adjoint is the opposite one with the dual normalization, its input resized back
_DUAL_NORM = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _fftn_grad(inverse):
    def rule(xp, g, ans, x, s, dim, norm="backward"):
        transform = xp.fft.fftn if inverse else xp.fft.ifftn
        return ops.resized(xp, transform(g, axes=dim, norm=_DUAL_NORM[norm]), x.shape)

    return rule


def _rfftn_grad(xp, g, ans, x, s, dim, norm="backward"):
    """Zeros in place of the half spectrum rfft dropped, the inverse c2c transform, its real part (PyTorch's)."""
    last = dim[-1]
    full = list(g.shape)
    full[last] = s[-1]
    return ops.resized(xp, xp.fft.ifftn(ops.resized(xp, g, full), axes=dim, norm=_DUAL_NORM[norm]).real, x.shape)


def _irfftn_grad(xp, g, ans, x, s, dim, norm="backward"):
    """PyTorch's: the one-sided r2c transform of g, its entries that stand for two (a frequency and its mirror) doubled."""
    grad = xp.fft.rfftn(g, axes=dim, norm=_DUAL_NORM[norm])
    last = dim[-1]
    double = g.shape[last] - grad.shape[last]
    if double > 0:
        index = [slice(None)] * grad.ndim
        index[last] = slice(1, 1 + double)
        grad[tuple(index)] *= 2
    return ops.resized(xp, grad, x.shape)


defvjp("fftn", _fftn_grad(False), saves=None)
defvjp("ifftn", _fftn_grad(True), saves=None)
defvjp("rfftn", _rfftn_grad, saves=None)
defvjp("irfftn", _irfftn_grad, saves=None)

# holomorphic ops whose rules above are written for real numbers (g * f'(z)); for a complex gradient the backward
# walk (``Node.input_grads``) gives them conj(g), and conjugates what they return: PyTorch's g * conj(f'(z))
CONJUGATED = ("mul", "div", "pow", "matmul", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "sigmoid", "reciprocal",
              "rsqrt", "log10", "log2", "prod", "einsum", "linear")
for _name in CONJUGATED:
    VJPS[_name] = VJPS[_name]._replace(conjugated=True)
