"""Gradients that are recorded themselves (``create_graph=True``), from the one VJP table.

A VJP rule is written against NumPy: ``rule(xp, g, ans, *inputs)`` calls ``xp``'s functions
and the arrays' methods. Run it on ``Traced`` values with a ``TracedNumpy`` for ``xp`` and every
call is an engine op, recorded as any other: the gradient it returns has a graph, and a
second backward differentiates it (PyTorch's double backward), with no second table of
formulas. The residuals a node saved come back as tensors on that node's edges (an input) or
on the node itself (its output), so the recorded gradient depends on what they depend on.

Ops whose rules trace, and whose double backward the tests check against PyTorch, are in
``TRACEABLE``; a pass with ``create_graph`` through any other op raises ``NoDerivative``.
"""

from __future__ import annotations

import math

import numpy as np

from . import nn, ops
from .errors import NoDerivative
from .graph import FREED_MESSAGE, AccumulateGrad, GraphError, Meta, Node
from .vjps import VJP

# Every op here has a row in tests/unit/test_double_backward.py (against torch.autograd.grad with create_graph).
TRACEABLE = frozenset({
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu",
    "leaky_relu", "log1p", "expm1", "rsqrt", "reciprocal", "tan", "sinh", "cosh", "atan", "maximum", "minimum",
    "where", "clamp", "sum", "mean", "matmul", "linear", "reshape", "squeeze", "unsqueeze", "transpose", "permute",
    "expand", "index", "to", "clone", "contiguous", "softmax", "log_softmax", "norm", "var", "std", "silu",
    "cat", "stack", "flip", "masked_fill",
    "acos", "amax", "amin", "asin", "atan2", "batch_norm", "binary_cross_entropy_with_logits", "ceil", "cross_entropy",
    "cumsum", "elu", "erf", "erfinv", "exp2", "floor", "fmod", "gelu", "layer_norm", "log10", "log2", "logsumexp", "max",
    "min", "nll_loss", "repeat", "roll", "round", "sign", "softplus", "tril", "triu", "trunc", "conv2d", "conv_transpose2d",
    "avg_pool2d", "adaptive_avg_pool2d", "max_pool2d", "gather", "scatter_add", "embedding", "pad",
    "binary_cross_entropy", "copy_slices", "cumprod", "dropout", "einsum", "index_put", "prod", "remainder", "scatter", "sort", "topk",
    "inv", "slogdet", "solve", "cholesky", "cholesky_ex", "solve_triangular", "lu_factor", "linalg_svd", "linalg_eigh", "linalg_qr",
    "erfc", "erfcx", "lgamma", "digamma", "polygamma", "asinh", "acosh", "atanh",
    "diagonal", "unfold", "as_strided",
})


class _Flags:
    """What a rule may ask of a traced value's layout: C order, as every op's output is taken to be."""

    c_contiguous = True
    f_contiguous = False
    writeable = True


class Traced:
    """An engine Tensor as a VJP rule sees an array: its operators and methods are recorded engine ops."""

    __slots__ = ("tensor",)
    __array_priority__ = 2000  # ndarray * Traced defers to Traced.__rmul__
    flags = _Flags()

    def __init__(self, tensor):
        self.tensor = tensor

    def __getattr__(self, name):
        raise NoDerivative(f"the array method {name!r}")

    def __setitem__(self, key, value):
        raise NoDerivative("a write into an array")

    # what a rule reads
    shape = property(lambda self: self.tensor.shape)
    ndim = property(lambda self: self.tensor.ndim)
    dtype = property(lambda self: self.tensor.dtype)
    size = property(lambda self: math.prod(self.tensor.shape))
    T = property(lambda self: _apply("permute", self, dims=tuple(reversed(range(self.ndim)))))

    # operators
    __add__ = lambda self, other: _apply("add", self, other)
    __radd__ = lambda self, other: _apply("add", other, self)
    __sub__ = lambda self, other: _apply("sub", self, other)
    __rsub__ = lambda self, other: _apply("sub", other, self)
    __mul__ = lambda self, other: _apply("mul", self, other)
    __rmul__ = lambda self, other: _apply("mul", other, self)
    __truediv__ = lambda self, other: _apply("div", self, other)
    __rtruediv__ = lambda self, other: _apply("div", other, self)
    __pow__ = lambda self, other: _apply("pow", self, other)
    __rpow__ = lambda self, other: _apply("pow", other, self)
    __matmul__ = lambda self, other: _apply("matmul", self, other)
    __rmatmul__ = lambda self, other: _apply("matmul", other, self)
    __neg__ = lambda self: _apply("neg", self)
    __gt__ = lambda self, other: _apply("gt", self, other)
    __ge__ = lambda self, other: _apply("ge", self, other)
    __lt__ = lambda self, other: _apply("lt", self, other)
    __le__ = lambda self, other: _apply("le", self, other)
    __eq__ = lambda self, other: _apply("eq", self, other)
    __ne__ = lambda self, other: _apply("ne", self, other)
    __and__ = lambda self, other: _apply("logical_and", self, other)
    __rand__ = lambda self, other: _apply("logical_and", other, self)
    __or__ = lambda self, other: _apply("logical_or", self, other)
    __invert__ = lambda self: _apply("logical_not", self)
    __hash__ = object.__hash__

    def __getitem__(self, key):
        key = tuple(k.tensor if type(k) is Traced else k for k in key) if type(key) is tuple else (key.tensor if type(key) is Traced else key)
        return Traced(self.tensor.engine.index(self.tensor, key))

    # NumPy's methods
    def sum(self, axis=None, keepdims=False):
        return _apply("sum", self, dim=axis, keepdim=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _apply("mean", self, dim=axis, keepdim=keepdims)

    def reshape(self, *shape):
        return _apply("reshape", self, shape=tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape)

    def swapaxes(self, a, b):
        return _apply("transpose", self, dim0=a, dim1=b)

    def transpose(self, *axes):
        return _apply("permute", self, dims=tuple(axes[0]) if len(axes) == 1 else axes)

    def squeeze(self, axis=None):
        return _apply("squeeze", self, dim=axis)

    def astype(self, dtype, copy=True):
        return self if np.dtype(dtype) == self.dtype and not copy else _apply("to", self, dtype=np.dtype(dtype))

    def copy(self):
        return _apply("clone", self)

    def prod(self, axis=None, keepdims=False):
        return _apply("prod", self, dim=axis, keepdim=keepdims)


def _unwrap(value):
    return value.tensor if type(value) is Traced else value


def _apply(name, *inputs, **params):
    first = next(x for x in inputs if type(x) is Traced)
    return Traced(first.tensor.engine.apply(name, *map(_unwrap, inputs), **params))


def _expand_dims(x, axes):
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    out_ndim = x.ndim + len(axes)
    for axis in sorted(a % out_ndim for a in axes):
        x = _apply("unsqueeze", x, dim=axis)
    return x


class TracedNumpy:
    """A stand-in for NumPy (``xp``) in the traceable rules: its functions are engine ops on Traced values;
    the constants a rule makes (zeros, positions) are tensors of ``engine`` that need no gradient."""

    def __init__(self, engine):
        self.engine = engine

    def __getattr__(self, name):
        raise NoDerivative(f"the function xp.{name}")

    def _constant(self, array):
        return Traced(self.engine.tensor(array))

    @staticmethod
    def asarray(x):
        return x

    @staticmethod
    def array(x):
        return x.copy() if type(x) is Traced else x

    def where(self, condition, x, y):
        if type(condition) is not Traced:  # a Python bool: one of the two, whole
            return x if condition else y
        return Traced(self.engine.apply("where", condition.tensor, _unwrap(x), _unwrap(y)))

    @staticmethod
    def expand_dims(x, axes):
        return _expand_dims(x, axes)

    @staticmethod
    def broadcast_to(x, shape):
        return x if tuple(x.shape) == tuple(shape) else _apply("expand", x, sizes=tuple(shape))

    @staticmethod
    def moveaxis(x, source, destination):
        order = [d for d in range(x.ndim) if d != source % x.ndim]
        order.insert(destination % x.ndim, source % x.ndim)
        return x.transpose(order)

    def zeros(self, shape, dtype=None):
        return self._constant(self.engine.xp.zeros(shape, dtype=dtype or np.float32))

    def zeros_like(self, x):
        return self.zeros(x.shape, x.dtype)

    def ones(self, shape, dtype=None):
        return self._constant(self.engine.xp.ones(shape, dtype=dtype or np.float32))

    def eye(self, n, dtype=None):
        return self._constant(self.engine.xp.eye(n, dtype=dtype or np.float32))

    def floor_divide(self, x, y):
        """A constant (its derivative is zero wherever it has one): remainder's rule reads it as data."""
        return self._constant(self.engine.xp.floor_divide(*(v.tensor.array if type(v) is Traced else v for v in (x, y))))

    def concatenate(self, xs, axis=0):
        return Traced(self.engine.apply("cat", *map(_unwrap, xs), dim=axis))

    def stack(self, xs, axis=0):
        return Traced(self.engine.apply("stack", *map(_unwrap, xs), dim=axis))

    @staticmethod
    def einsum(equation, *xs, optimize=False):
        return _apply("einsum", *xs, equation=equation)

    @property
    def linalg(self):
        return _TracedLinalg

    def arange(self, n):
        return self._constant(self.engine.xp.arange(n))

    @staticmethod
    def flip(x, dims):
        return _apply("flip", x, dims=dims if isinstance(dims, (tuple, list)) else (dims,))

    @staticmethod
    def cumsum(x, axis):
        return _apply("cumsum", x, dim=axis)

    @staticmethod
    def cumprod(x, axis):
        return _apply("cumprod", x, dim=axis)

    @staticmethod
    def tril(x, k=0):
        return _apply("tril", x, diagonal=k)

    @staticmethod
    def triu(x, k=0):
        return _apply("triu", x, diagonal=k)

    @staticmethod
    def roll(x, shifts, axis=None):
        return _apply("roll", x, shifts=shifts, dims=axis)

    @staticmethod
    def take(x, index, axis):
        key = (slice(None),) * (axis % x.ndim) + (index,)
        return x[key]

    @staticmethod
    def outer(x, y):
        return _expand_dims(x, 1) * _expand_dims(y, 0)

    @staticmethod
    def special(name, x, **params):
        """``backend.erf``, ``lgamma``, ``polygamma``, ... (SciPy's on NumPy): the engine's ops of those names."""
        return _apply(name, x, **params)


class _TracedLinalg:
    """``xp.linalg`` in the traceable rules: the engine's linear-algebra ops."""

    inv = staticmethod(lambda a: _apply("inv", a))
    solve = staticmethod(lambda a, b: _apply("solve", a, b))
    lu_permutation = staticmethod(lambda pivots, m: _apply("lu_permutation", pivots, m=m))
    solve_triangular = staticmethod(lambda a, b, upper=False, unitriangular=False: _apply("solve_triangular", a, b, upper=upper, unitriangular=unitriangular))


def _function(op):
    """``xp.<op>`` on Traced values, NumPy's on numbers (a rule may pass it an op's Python-number input)."""
    return staticmethod(lambda *args: _apply(op, *args) if any(type(a) is Traced for a in args) else getattr(np, op)(*args))


for _name in ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sign", "sinh", "cosh", "log1p", "expm1", "maximum", "minimum",
              "trunc"):
    setattr(TracedNumpy, _name, _function(_name))


# --- the residuals, as tensors on the graph ------------------------------------------------


def residuals(engine, node: Node):
    """``node``'s saved (ans, inputs) as Traced tensors: an input on its edge (its node, or the leaf
    itself), the output on ``node``; unsaved inputs stay ``Meta`` (their shape and dtype)."""
    from .tensor import Tensor

    if node.saved is None:
        raise GraphError(FREED_MESSAGE)
    ans, inputs = node.saved
    traced_inputs = []
    for k, (value, edge) in enumerate(zip(inputs, node.edges)):
        if value is None or isinstance(value, Meta) or not hasattr(value, "shape"):
            traced_inputs.append(value)  # a Meta, or a Python number the op was given
        elif type(edge) is AccumulateGrad:
            traced_inputs.append(Traced(edge.variable))
        else:
            tensor = Tensor(value, engine, edge is not None, edge)
            if node.nrs is not None and node.nrs[k] is not None:
                tensor._output_nr = node.nrs[k]  # an output of a node with several: that output
            traced_inputs.append(Traced(tensor))
    if ans is not None:
        if type(ans) is tuple:
            n = 1 if node.outputs is None else len(node.outputs)
            ans = tuple(Traced(_output(engine, a, node, k) if k < n else Tensor(a, engine)) for k, a in enumerate(ans))
        else:
            ans = Traced(Tensor(ans, engine, True, node))
    return ans, tuple(traced_inputs)


def _output(engine, array, node, nr):
    from .tensor import Tensor

    tensor = Tensor(array, engine, True, node)
    tensor._output_nr = nr
    return tensor


def traced_input_grads(engine, node: Node, grad: Traced):
    """``node.input_grads`` with recorded gradients; NoDerivative for an op outside ``TRACEABLE``."""
    if node.op not in TRACEABLE:
        raise NoDerivative(f"double backward (create_graph=True) through '{node.op}' ({node.name}) is not supported")
    saved = residuals(engine, node)
    if node.outputs is not None:  # the gathered gradients: those that arrived (recorded), None for the others
        grad = tuple(grad)
    try:
        grads = node.input_grads(TracedNumpy(engine), grad, saved, OVERRIDES.get(node.op))
    except NoDerivative as error:
        raise NoDerivative(f"double backward (create_graph=True) through '{node.op}' ({node.name}) is not supported: its gradient uses {error}") from None
    return _linked(grads, saved, grad)


def _linked(grads, saved, grad):
    """As PyTorch's, a recorded gradient requires grad where what its formula read does, even where it reads it only
    through a comparison (relu's g * (ans > 0)): such a gradient gets an empty slice of that residual, summed (an
    exact 0), added, so a pass from it reaches what it read, with zeros."""
    ans, inputs = saved
    read = [r for r in (*(ans if type(ans) is tuple else (ans,)), *inputs, *(grad if type(grad) is tuple else (grad,)))
            if type(r) is Traced and r.tensor.requires_grad]
    if not read:
        return grads
    tie = None
    for k, g in enumerate(grads):
        if type(g) is Traced and not g.tensor.requires_grad:
            tie = tie if tie is not None else read[0].reshape(-1)[:0].sum()
            grads[k] = g + tie
    return grads


def _index_grad(xp, g, ans, x, key):
    """``x[key]``'s gradient, recorded: g written into zeros of x's shape (``index_put``). Where integer arrays in
    the key name an element twice, its gradients must add up, which a write does not do: there the gradient is
    a product with a constant 0/1 matrix (x's elements by g's), up to ``_MAX_ONE_HOT`` entries."""
    engine = g.tensor.engine
    if any(hasattr(k, "shape") for k in key):
        exp = engine.xp
        positions = ops.at(exp.arange(math.prod(x.shape)).reshape(x.shape), key).reshape(-1)
        if exp.unique(positions).size != positions.size:
            if math.prod(x.shape) * positions.size > _MAX_ONE_HOT:
                raise NoDerivative("an index that names an element twice, in a tensor this large")
            one_hot = exp.zeros((math.prod(x.shape), positions.size), dtype=g.dtype)
            one_hot[positions, exp.arange(positions.size)] = 1
            return (Traced(engine.tensor(one_hot)) @ g.reshape(-1)).reshape(x.shape)
    return Traced(engine.index_put(engine.zeros(x.shape, dtype=g.dtype), g.tensor, key))


_MAX_ONE_HOT = 1 << 24


def _class_loss_parts(g, scores, target, reduction, ignore_index, name):
    """(class dim, the targets' one-hot as a constant, the scale of each element's gradient, recorded),
    from the same helpers as the array rules: the targets are data, never differentiated."""
    engine = g.tensor.engine
    target = target.tensor.array
    cdim, valid, safe = nn._targets(engine.xp, scores, target, ignore_index, name, check=False)
    one_hot = nn._one_hot(engine.xp, safe, cdim, scores.shape[cdim], scores.ndim).astype(scores.dtype)
    valid = None if valid is None else Traced(engine.tensor(valid))
    scale = nn._loss_grad_scale(TracedNumpy(engine), g, valid, reduction, cdim, scores.dtype, target.size)
    return cdim, Traced(engine.tensor(one_hot)), scale


def _cross_entropy_grad(xp, g, ans, scores, target, reduction="mean", ignore_index=-100):
    """(softmax(scores) - one_hot(target)) * scale, as ``nn.cross_entropy_grad`` computes it in place."""
    cdim, one_hot, scale = _class_loss_parts(g, scores, target, reduction, ignore_index, "cross_entropy")
    return (_apply("softmax", scores, dim=cdim) - one_hot) * scale


def _nll_loss_grad(xp, g, ans, logp, target, reduction="mean", ignore_index=-100):
    _, one_hot, scale = _class_loss_parts(g, logp, target, reduction, ignore_index, "nll_loss")
    return one_hot * -scale


# --- convolutions: each gradient is a convolution itself (conv2d's input gradient is conv_transpose2d) -------


def _conv_weight_grad(x, g, weight_shape, stride, padding, dilation, groups):
    """d conv2d(x, w) / d w against g (N, O, oh, ow), for batched x: per group, conv2d of x's channels as the
    batch with g's as the kernel, stride and dilation trading places, cropped to the kernel's size."""
    (sh, sw), (ph, pw), (dh, dw) = nn._pair(stride, "stride"), nn._pair(padding, "padding"), nn._pair(dilation, "dilation")
    o, per_group, kh, kw = weight_shape
    blocks = []
    for k in range(groups):
        xk = x[:, k * per_group : (k + 1) * per_group].swapaxes(0, 1)  # (C/groups, N, H, W)
        gk = g[:, k * (o // groups) : (k + 1) * (o // groups)].swapaxes(0, 1)  # (O/groups, N, oh, ow)
        out = _apply("conv2d", xk, gk, stride=(dh, dw), padding=(ph, pw), dilation=(sh, sw))
        blocks.append(out.swapaxes(0, 1)[:, :, :kh, :kw])
    return blocks[0] if groups == 1 else Traced(g.tensor.engine.apply("cat", *(b.tensor for b in blocks), dim=0))


def _batched(x, g):
    """(x, g, unbatched): a CHW input and its gradient with a batch dim of one put in front."""
    if x.ndim == 3:
        return x[None], g[None], True
    return x, g, False


def _conv2d_grad(xp, g, ans, x, weight, bias=None, *, argnum, stride=1, padding=0, dilation=1, groups=1):
    x, g, unbatched = _batched(x, g)
    if argnum == 2:
        return g.sum(axis=(0, 2, 3))
    if argnum == 1:
        return _conv_weight_grad(x, g, weight.shape, stride, padding, dilation, groups)
    (sh, sw), (ph, pw), (dh, dw) = nn._pair(stride, "stride"), nn._pair(padding, "padding"), nn._pair(dilation, "dilation")
    kh, kw = weight.shape[2:]
    output_padding = tuple(size - ((n - 1) * s - 2 * p + d * (k - 1) + 1)
                           for size, n, s, p, d, k in zip(x.shape[2:], g.shape[2:], (sh, sw), (ph, pw), (dh, dw), (kh, kw)))
    gx = _apply("conv_transpose2d", g, weight, stride=(sh, sw), padding=(ph, pw), output_padding=output_padding, groups=groups,
                dilation=(dh, dw))
    return gx[0] if unbatched else gx


def _conv_transpose2d_grad(xp, g, ans, x, weight, bias=None, *, argnum, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    x, g, unbatched = _batched(x, g)
    if argnum == 2:
        return g.sum(axis=(0, 2, 3))
    if argnum == 0:
        gx = _apply("conv2d", g, weight, stride=stride, padding=padding, dilation=dilation, groups=groups)
        return gx[0] if unbatched else gx
    return _conv_weight_grad(g, x, weight.shape, stride, padding, dilation, groups)  # g in the input's place


# --- pooling: linear in g, so each gradient is an op of g with constant positions or weights ------------------


def _avg_pool2d_grad(xp, g, ans, x, kernel_size, stride=None, padding=0, exclude_pad=False, ceil_mode=False, divisor=None):
    """Each window's share spread over it: conv_transpose2d of g (divided as the mean was) with a kernel of ones,
    one group per channel; cropped to x where ceil_mode's last windows reach past it."""
    engine = g.tensor.engine
    x, g, unbatched = _batched(x, g)
    geometry = nn._pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    (kh, kw), (sh, sw), (ph, pw), (oh, ow), _ = geometry
    divisor = nn._avg_divisor(engine.xp, x, geometry, exclude_pad, divisor)
    share = g / (divisor if isinstance(divisor, int) else Traced(engine.tensor(divisor)))
    ones = Traced(engine.tensor(engine.xp.ones((x.shape[1], 1, kh, kw), dtype=g.dtype)))
    reach = ((oh - 1) * sh - 2 * ph + kh, (ow - 1) * sw - 2 * pw + kw)  # the transposed convolution's size
    output_padding = tuple(max(n - r, 0) for n, r in zip(x.shape[2:], reach))
    gx = _apply("conv_transpose2d", share, ones, stride=(sh, sw), padding=(ph, pw), output_padding=output_padding, groups=x.shape[1])
    if any(r > n for n, r in zip(x.shape[2:], reach)):
        gx = gx[:, :, : x.shape[2], : x.shape[3]]
    return gx[0] if unbatched else gx


def _adaptive_avg_pool2d_grad(xp, g, ans, x, output_size):
    """The pooling is A g B^T per plane, A and B averaging matrices (one row per output row or column, 1 / the
    window's length over its window): its gradient is A^T g B, two products with constants."""
    engine = g.tensor.engine
    h, w = x.shape[-2:]
    oh, ow = g.shape[-2:]

    def averaging(n, windows):
        matrix = np.zeros((len(windows), n), dtype=g.dtype)
        for i, (start, stop) in enumerate(windows):
            matrix[i, start:stop] = 1.0 / (stop - start)
        return Traced(engine.tensor(engine.xp.asarray(matrix)))

    rows, cols = averaging(h, nn._adaptive_windows(h, oh)), averaging(w, nn._adaptive_windows(w, ow))
    return rows.T @ g @ cols


def _max_pool2d_grad(xp, g, ans, x, kernel_size, stride=None, padding=0, **geometry):
    """Each window's gradient to its maximum (PyTorch's choice among ties and NaNs, from the indices op): a
    scatter-add of g into each (N, C) plane, at positions that are data. (``geometry``: dilation, ceil_mode.)"""
    engine = g.tensor.engine
    indices = engine.apply("max_pool2d_indices", x.tensor, kernel_size=kernel_size, stride=stride, padding=padding, **geometry)
    x, g, unbatched = _batched(x, g)
    n, c, h, w = x.shape
    index = Traced(indices).reshape(n, c, -1)
    zeros = Traced(engine.zeros((n, c, h * w), dtype=g.dtype))
    gx = _apply("scatter_add", zeros, index, g.reshape(n, c, -1), dim=2).reshape(n, c, h, w)
    return gx[0] if unbatched else gx


# --- gathers and scatters: each one's gradient is the other --------------------------------------------------


def _gather_grad(xp, g, ans, x, index, dim):
    engine = g.tensor.engine
    return _apply("scatter_add", Traced(engine.zeros(x.shape, dtype=g.dtype)), index, g, dim=dim)


def _scattered_src_grad(xp, g, ans, x, index, src, dim):
    gathered = _apply("gather", g, index, dim=dim)
    if tuple(index.shape) == tuple(src.shape):
        return gathered
    pad = []
    for have, want in zip(reversed(index.shape), reversed(src.shape)):  # zeros past index's reach
        pad += [0, want - have]
    return _apply("pad", gathered, pad=tuple(pad))


def _sorted_grad(xp, g, ans, x, *args, dim=-1, **params):
    """sort and topk: each value's gradient back to where it came from (the indices: data)."""
    if x.ndim == 0:
        return g
    return _apply("scatter_add", Traced(g.tensor.engine.zeros(x.shape, dtype=g.dtype)), ans[1], g, dim=dim)


# --- writes over an input: what was written over passes nothing back, g times a constant 0/1 mask ------------


def _written_over(g, write):
    """g times ones that ``write(mask, exp)`` zeroes where the op wrote (``exp``: the engine's array module)."""
    engine = g.tensor.engine
    mask = engine.xp.ones(g.shape, dtype=g.dtype)
    write(mask, engine.xp)
    return g * Traced(engine.tensor(mask))


def _scatter_grad_x(xp, g, ans, x, index, src, dim):
    def write(mask, exp):
        mask[ops.along(exp, index.tensor.array, ops._axis(dim, mask.ndim))] = 0

    return _written_over(g, write)


def _index_put_grad_x(xp, g, ans, x, value, key, accumulate=False):
    if accumulate:
        return g

    def write(mask, exp):
        dest, k = ops.site(mask, key)
        dest[k] = 0

    return _written_over(g, write)


def _copy_slices_grad_root(xp, g, ans, root, written, steps):
    def write(mask, exp):
        ops.view_of(exp, mask, steps)[...] = 0

    return _written_over(g, write)


def _copy_slices_grad_written(xp, g, ans, root, written, steps):
    for name, params in steps:  # the view the in-place op wrote, taken of g by recorded ops
        g = _apply(name, g, **params)
    return g


def _embedding_grad(xp, g, ans, indices, weight, padding_idx=None):
    """Rows of g added into the rows the indices name (a scatter-add along dim 0); none to the padding row."""
    engine = g.tensor.engine
    rows = indices.tensor.array.reshape(-1, 1)
    index = Traced(engine.tensor(engine.xp.broadcast_to(rows, (rows.shape[0], weight.shape[1])).copy()))
    grad = _apply("scatter_add", Traced(engine.zeros(weight.shape, dtype=g.dtype)), index, g.reshape(-1, weight.shape[1]), dim=0)
    if padding_idx is not None:
        keep = engine.xp.ones((weight.shape[0], 1), dtype=g.dtype)
        keep[padding_idx] = 0
        grad = grad * Traced(engine.tensor(keep))
    return grad


def _pad_grad(xp, g, ans, x, pad, value=None):
    return _apply("pad", g, pad=tuple(-n for n in pad))


def _diagonal_grad(xp, g, ans, x, offset=0, dim1=0, dim2=1):
    """``x.diagonal()``'s gradient, recorded: g written into zeros of x's shape at the diagonal's elements."""
    engine = g.tensor.engine
    n = len(x.shape)
    d1, d2 = ops._axis(dim1, n), ops._axis(dim2, n)
    order = [d for d in range(n) if d not in (d1, d2)] + [d1, d2]
    steps = engine.xp.arange(g.shape[-1])
    moved = engine.zeros(tuple(x.shape[d] for d in order), dtype=g.dtype)
    written = Traced(engine.index_put(moved, g.tensor, (Ellipsis, steps + max(-offset, 0), steps + max(offset, 0))))
    return _apply("permute", written, dims=tuple(int(k) for k in np.argsort(order)))


def _unfold_grad(xp, g, ans, x, dimension, size, step):
    """``x.unfold()``'s gradient, recorded: each window's g added into its elements."""
    engine = g.tensor.engine
    if not x.shape:
        return g.reshape(())
    n = len(x.shape)
    d = ops._axis(dimension, n)
    order = [k for k in range(n) if k != d] + [d]
    positions = engine.xp.arange(g.shape[d])[:, None] * step + engine.xp.arange(size)
    windows = _apply("permute", g, dims=tuple(k for k in range(n + 1) if k not in (d, n)) + (d, n))
    moved = engine.zeros(tuple(x.shape[k] for k in order), dtype=g.dtype)
    written = Traced(engine.index_put(moved, windows.tensor, (Ellipsis, positions), accumulate=True))
    return _apply("permute", written, dims=tuple(int(k) for k in np.argsort(order)))


def _as_strided_grad(xp, g, ans, x, size, stride, storage_offset=0):
    """``x.as_strided()``'s gradient, recorded: g added into the elements of x each of its elements is."""
    engine = g.tensor.engine
    exp = engine.xp
    positions = storage_offset + sum(exp.arange(n).reshape((-1,) + (1,) * (len(size) - 1 - k)) * s for k, (n, s) in enumerate(zip(size, stride)))
    flat = engine.zeros((math.prod(x.shape),), dtype=g.dtype)
    written = Traced(engine.index_put(flat, g.tensor, (exp.broadcast_to(positions, g.shape),), accumulate=True))
    return written.reshape(tuple(x.shape))


def _override(*rules, variadic=False):
    return VJP(rules, None, variadic)


# the ops whose array rules work in place: their recorded rules, as the VJP table gives them (one per input)
OVERRIDES = {
    "index": _override(_index_grad),
    "cross_entropy": _override(_cross_entropy_grad),
    "nll_loss": _override(_nll_loss_grad),
    "conv2d": _override(_conv2d_grad, variadic=True),
    "conv_transpose2d": _override(_conv_transpose2d_grad, variadic=True),
    "avg_pool2d": _override(_avg_pool2d_grad),
    "adaptive_avg_pool2d": _override(_adaptive_avg_pool2d_grad),
    "max_pool2d": _override(_max_pool2d_grad),
    "gather": _override(_gather_grad),
    "scatter_add": _override(lambda xp, g, ans, x, index, src, dim: g, None, _scattered_src_grad),
    "embedding": _override(None, _embedding_grad),
    "pad": _override(_pad_grad),
    "sort": _override(_sorted_grad),
    "topk": _override(_sorted_grad),
    "scatter": _override(_scatter_grad_x, None, _scattered_src_grad),
    "index_put": _override(_index_put_grad_x, lambda xp, g, ans, x, value, key, accumulate=False: g[key]),
    "copy_slices": _override(_copy_slices_grad_root, _copy_slices_grad_written),
    "diagonal": _override(_diagonal_grad),
    "unfold": _override(_unfold_grad),
    "as_strided": _override(_as_strided_grad),
}
