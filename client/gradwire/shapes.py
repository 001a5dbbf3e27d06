"""What the client can tell of an op's output without asking the server: shape and dtype.

Cheap rules for the common ops; any op not here, or with an input whose shape
is not known yet, gives None, and reading ``.shape`` then asks the server.
"""

from __future__ import annotations

import math

import numpy as np

from .floats import is_floating, is_inexact, promote_floats
from . import defaults

_BOOL = np.dtype(np.bool_)
_INT64 = np.dtype(np.int64)
_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "V": 2, "c": 3}  # V: bfloat16
_COMPLEX64, _COMPLEX128 = np.dtype(np.complex64), np.dtype(np.complex128)


def promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's promotion for two tensors: a float (or complex) meets an integer as that float; complex and float
    meet as the complex dtype of the wider precision."""
    if a == b:
        return a
    a_float, b_float = is_inexact(a), is_inexact(b)
    if a_float != b_float:
        return a if a_float else b
    return promote_floats(a, b) if a_float else np.promote_types(a, b)


def _real_of(dtype):
    return np.dtype(np.float64) if dtype == _COMPLEX128 else np.dtype(np.float32) if dtype == _COMPLEX64 else dtype


def _spectral_real(dtype):
    """The real dtype an FFT (or angle) computes in: an integer or bool tensor's is the default float dtype."""
    return _real_of(dtype) if dtype.kind in "fc" else defaults.current


def _fft(inputs, params):
    """fftn, ifftn, rfftn, irfftn: each dim in ``dim`` resized to its ``s`` (rfftn's last to s // 2 + 1); complex results
    but irfftn's."""
    shape = list(inputs[0]._shape)
    s, dims = params["s"], params["dim"]
    for d, n in zip(dims, s):
        shape[d] = n
    real = _spectral_real(inputs[0]._dtype)
    if params.get("_op") == "rfftn":
        shape[dims[-1]] = s[-1] // 2 + 1
    if params.get("_op") == "irfftn":
        return tuple(shape), real
    return tuple(shape), (_COMPLEX128 if real == np.float64 else _COMPLEX64)


def _fft_rule(op):
    return lambda inputs, params: _fft(inputs, {**params, "_op": op})


def _complex(inputs, params):
    a, b = inputs
    if a._dtype != b._dtype or a._dtype.kind != "f":
        return None  # the server refuses, in torch's words
    return broadcast2(a._shape, b._shape), (_COMPLEX128 if a._dtype == np.float64 else _COMPLEX64)


def broadcast2(a: tuple, b: tuple) -> tuple:
    """``np.broadcast_shapes(a, b)`` for two shapes, in a fifth of its time (it runs for most ops); ValueError where
    they do not broadcast."""
    if a == b:
        return a
    if len(a) < len(b):
        a, b = b, a
    lead = len(a) - len(b)
    out = list(a[:lead])
    for x, y in zip(a[lead:], b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise ValueError(f"shape mismatch: objects cannot be broadcast to a single shape: {a} and {b}")
    return tuple(out)


def _elementwise(inputs, params):
    # one pass, no lists: it runs for most ops, usually on tensors of one shape and dtype
    shape = dtype = zero_dtype = None  # dtype: of the dimensioned tensors; zero_dtype: of the 0-d ones
    seen = scalar_float = scalar_int = False
    for x in inputs:
        if not hasattr(x, "_shape"):  # a Python number
            scalar_float |= isinstance(x, (float, np.floating))
            scalar_int |= isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))
            continue
        s, d = x._shape, x._dtype
        if s is None or d is None:
            return None
        if not s:
            zero_dtype = d if zero_dtype is None or d == zero_dtype else promote(zero_dtype, d)
        elif dtype is None or d != dtype:
            dtype = d if dtype is None else promote(dtype, d)
        if not seen:
            shape, seen = s, True
        elif s != shape:
            try:
                shape = broadcast2(shape, s)
            except ValueError:
                return None  # the server will say what is wrong
    if zero_dtype is not None and (dtype is None or _CATEGORY[zero_dtype.kind] > _CATEGORY[dtype.kind]):
        # PyTorch: a 0-d tensor decides only where its category is higher (a complex one with floats: their precision's complex)
        dtype = (_COMPLEX128 if dtype == np.float64 else _COMPLEX64) if zero_dtype.kind == "c" and dtype is not None and dtype.kind == "f" else zero_dtype
    if dtype is None:
        return None
    if not is_inexact(dtype) and scalar_float:
        dtype = defaults.current
    elif dtype.kind == "b" and scalar_int:
        dtype = _INT64  # a mask and an int: int64, as PyTorch's
    return shape, dtype


def _reduced(shape, dim, keepdim):
    if dim is None:
        return (1,) * len(shape) if keepdim else ()
    dims = {d % len(shape) for d in ((dim,) if isinstance(dim, int) else dim)} if shape else set()
    return tuple(1 if i in dims else n for i, n in enumerate(shape) if keepdim or i not in dims)


def _unary(inputs, params):
    return inputs[0]._shape, inputs[0]._dtype


def _float_unary(inputs, params):
    """exp, log, ...: an integer or bool tensor computes in the default float dtype, as PyTorch's."""
    dtype = inputs[0]._dtype
    return inputs[0]._shape, (dtype if dtype is None or is_inexact(dtype) else defaults.current)


def _clamp(inputs, params):
    dtype, bounds = inputs[0]._dtype, [type(params.get(k)) for k in ("min", "max")]
    if dtype is not None and not is_floating(dtype) and float in bounds:
        dtype = defaults.current
    elif dtype is not None and dtype.kind == "b" and int in bounds:
        dtype = _INT64
    return inputs[0]._shape, dtype


def _division(inputs, params):
    meta = _elementwise(inputs, params)
    return meta and (meta[0], meta[1] if is_inexact(meta[1]) else defaults.current)


def _comparison(inputs, params):
    meta = _elementwise(inputs, params)
    return meta and (meta[0], _BOOL)


def _where(inputs, params):
    meta = _elementwise(inputs[1:], params)
    cond = inputs[0]._shape
    if meta is None or cond is None:
        return None
    try:
        return broadcast2(cond, meta[0]), meta[1]
    except ValueError:
        return None


def _reduction(inputs, params):
    x = inputs[0]
    return _reduced(x._shape, params.get("dim"), params.get("keepdim", False)), x._dtype


def _sum(inputs, params):
    """As torch's sum: bool and integer tensors sum to int64."""
    shape, dtype = _reduction(inputs, params)
    return shape, (_INT64 if dtype is not None and dtype.kind in "biu" else dtype)


def _arg_reduction(inputs, params):
    return _reduced(inputs[0]._shape, params.get("dim"), params.get("keepdim", False)), _INT64


def _matmul(inputs, params):
    a, b = inputs[0]._shape, inputs[1]._shape
    if a is None or b is None or not a or not b:
        return None
    dtype = promote(inputs[0]._dtype, inputs[1]._dtype)
    if a[-1] != (b[0] if len(b) == 1 else b[-2]):
        return None  # refused by the server, with PyTorch's words (a shape here would answer for an op that fails)
    if len(a) == 1 and len(b) == 1:
        return (), dtype
    if len(b) == 1:
        return a[:-1], dtype
    if len(a) == 1:
        return b[:-2] + b[-1:], dtype
    try:
        return broadcast2(a[:-2], b[:-2]) + (a[-2], b[-1]), dtype
    except ValueError:
        return None


def _reshape(inputs, params):
    # math.prod, not np.prod: exact ints, and a fraction of the cost for a few dims
    shape, size = list(params["shape"]), math.prod(inputs[0]._shape)
    if shape.count(-1) == 1:
        known = math.prod([n for n in shape if n != -1])
        if known == 0 or size % known:
            return None
        shape[shape.index(-1)] = size // known
    return (tuple(shape), inputs[0]._dtype) if math.prod(shape) == size else None


def _transpose(inputs, params):
    shape = list(inputs[0]._shape)
    d0, d1 = params["dim0"], params["dim1"]
    shape[d0], shape[d1] = shape[d1], shape[d0]
    return tuple(shape), inputs[0]._dtype


def _masked_fill(inputs, params):
    shape, mask = inputs[0]._shape, inputs[1]
    if isinstance(mask._shape, tuple) and broadcast2(shape, mask._shape) != tuple(shape):
        return None  # refused by the server: the mask does not broadcast to the tensor
    return shape, inputs[0]._dtype


def _layer_norm(inputs, params):
    shape, normalized = inputs[0]._shape, tuple(params["normalized_shape"])
    if not normalized or tuple(shape[len(shape) - len(normalized):]) != normalized:
        return None  # refused by the server
    return shape, inputs[0]._dtype


def _gather(inputs, params):
    x, index = inputs[0]._shape, inputs[1]._shape
    dim = params.get("dim", 0) % max(len(x), 1)
    if len(index) != len(x) or any(i > n for d, (i, n) in enumerate(zip(index, x)) if d != dim):
        return None  # refused by the server
    return index, inputs[0]._dtype


def _permute(inputs, params):
    shape = inputs[0]._shape
    if sorted(d % max(len(shape), 1) for d in params["dims"]) != list(range(len(shape))):
        return None  # a dim repeated or missing: refused by the server
    return tuple(shape[d] for d in params["dims"]), inputs[0]._dtype


def _unsqueeze(inputs, params):
    shape = list(inputs[0]._shape)
    dim = params["dim"]
    shape.insert(dim if dim >= 0 else len(shape) + 1 + dim, 1)
    return tuple(shape), inputs[0]._dtype


def _squeeze(inputs, params):
    shape, dim = inputs[0]._shape, params.get("dim")
    if dim is None:
        return tuple(n for n in shape if n != 1), inputs[0]._dtype
    dims = {d % len(shape) for d in ((dim,) if isinstance(dim, int) else dim)} if shape else set()
    return tuple(n for i, n in enumerate(shape) if not (i in dims and n == 1)), inputs[0]._dtype


def _expand(inputs, params):
    shape, sizes = inputs[0]._shape, params["sizes"]
    lead = len(sizes) - len(shape)
    if lead < 0 or any(n != -1 and shape[i] not in (1, n) for i, n in enumerate(sizes[lead:])):
        return None  # refused by the server
    return tuple(shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes)), inputs[0]._dtype


def _diagonal(inputs, params):
    shape, offset = inputs[0]._shape, params["offset"]
    d1, d2 = params["dim1"] % len(shape), params["dim2"] % len(shape)
    if d1 == d2:
        return None
    rows, cols = shape[d1], shape[d2]
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    return tuple(n for k, n in enumerate(shape) if k not in (d1, d2)) + (length,), inputs[0]._dtype


def _unfold(inputs, params):
    shape, size, step = inputs[0]._shape, params["size"], params["step"]
    if not shape:
        return (1,), inputs[0]._dtype
    d = params["dimension"] % len(shape)
    if size > shape[d] or step <= 0 or size < 0:
        return None
    return shape[:d] + ((shape[d] - size) // step + 1,) + shape[d + 1 :] + (size,), inputs[0]._dtype


def _cat(inputs, params):
    shapes = [x._shape for x in inputs]
    if any(s is None for s in shapes):
        return None
    shapes = [s for s in shapes if s != (0,)] or [(0,)]  # 1-D empty tensors are skipped (PyTorch's legacy rule)
    dim = params.get("dim", 0) % max(len(shapes[0]), 1)
    if not shapes[0] or any(len(s) != len(shapes[0]) or any(a != b for d, (a, b) in enumerate(zip(s, shapes[0])) if d != dim) for s in shapes):
        return None  # refused by the server, with PyTorch's words
    out = list(shapes[0])
    out[dim] = sum(s[dim] for s in shapes)
    dtype = inputs[0]._dtype
    for x in inputs[1:]:
        dtype = promote(dtype, x._dtype)
    return tuple(out), dtype


def _stack(inputs, params):
    shape = inputs[0]._shape
    if any(x._shape != shape for x in inputs[1:]):
        return None  # refused by the server ("stack expects each tensor to be equal size")
    dim = params.get("dim", 0)
    dim = dim if dim >= 0 else len(shape) + 1 + dim
    return shape[:dim] + (len(inputs),) + shape[dim:], inputs[0]._dtype


def _to(inputs, params):
    return inputs[0]._shape, np.dtype(params["dtype"])


def _pair(value):
    return (value, value) if isinstance(value, int) else (tuple(value) * 2)[:2]


def _windowed(shape, kernel, stride, padding):
    """The (H, W) out of a convolution or pooling window over the last two dims of ``shape``."""
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(padding)
    h, w = shape[-2:]
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _linear(inputs, params):
    x, weight = inputs[0]._shape, inputs[1]._shape
    if not x or len(weight) != 2 or x[-1] != weight[1]:
        return None
    return x[:-1] + weight[:1], promote(inputs[0]._dtype, inputs[1]._dtype)


def _conv2d(inputs, params):
    x, weight = inputs[0]._shape, inputs[1]._shape
    if len(x) not in (3, 4) or len(weight) != 4 or x[-3] != weight[1] * params.get("groups", 1):
        return None
    (dh, dw), (kh, kw) = _pair(params.get("dilation", 1)), weight[2:]
    oh, ow = _windowed(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), params.get("stride", 1), params.get("padding", 0))
    return x[:-3] + (weight[0], oh, ow), promote(inputs[0]._dtype, inputs[1]._dtype)


def _conv_transpose2d(inputs, params):
    x, weight = inputs[0]._shape, inputs[1]._shape
    if len(x) not in (3, 4) or len(weight) != 4 or x[-3] != weight[0]:
        return None
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = (_pair(params.get(k, default)) for k, default in
                                                (("stride", 1), ("padding", 0), ("output_padding", 0), ("dilation", 1)))
    h = (x[-2] - 1) * sh - 2 * ph + dh * (weight[2] - 1) + oph + 1
    w = (x[-1] - 1) * sw - 2 * pw + dw * (weight[3] - 1) + opw + 1
    return x[:-3] + (weight[1] * params.get("groups", 1), h, w), promote(inputs[0]._dtype, inputs[1]._dtype)


def _pooled(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling output length (``ceil_mode``: a last window that starts inside the input or its left padding)."""
    out = (size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    return out - 1 if ceil_mode and (out - 1) * stride >= size + padding else out


def _max_pool2d(inputs, params):
    x = inputs[0]._shape
    kernel = _pair(params["kernel_size"])
    stride, padding, dilation = _pair(params.get("stride") or kernel), _pair(params.get("padding", 0)), _pair(params.get("dilation", 1))
    ceil_mode = params.get("ceil_mode", False)
    out = tuple(_pooled(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(x[-2:], kernel, stride, padding, dilation))
    if min(out) < 1:
        return None  # "Output size is too small": refused by the server
    return x[:-2] + out, inputs[0]._dtype


def _adaptive_avg_pool2d(inputs, params):
    x = inputs[0]._shape
    oh, ow = params["output_size"]
    return x[:-2] + (x[-2] if oh is None else oh, x[-1] if ow is None else ow), inputs[0]._dtype


def _im2col(inputs, params):
    x = inputs[0]._shape
    if len(x) not in (3, 4):
        return None
    (kh, kw), (dh, dw) = _pair(params["kernel_size"]), _pair(params.get("dilation", 1))
    oh, ow = _windowed(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), params.get("stride", 1), params.get("padding", 0))
    if oh < 1 or ow < 1:
        return None  # the server says why
    return x[:-3] + (x[-3] * kh * kw, oh * ow), inputs[0]._dtype


def _col2im(inputs, params):
    x = inputs[0]._shape
    (kh, kw), (h, w) = _pair(params["kernel_size"]), _pair(params["output_size"])
    if len(x) not in (2, 3) or x[-2] % (kh * kw):
        return None
    return x[:-2] + (x[-2] // (kh * kw), h, w), inputs[0]._dtype


def _max_pool2d_indices(inputs, params):
    meta = _max_pool2d(inputs, params)
    return meta and (meta[0], _INT64)


def _embedding(inputs, params):
    indices, weight = inputs
    if len(weight._shape) != 2:
        return None  # refused by the server
    return indices._shape + weight._shape[1:], weight._dtype


def _class_loss(inputs, params):
    scores, target = inputs
    return (target._shape if params.get("reduction", "mean") == "none" else ()), scores._dtype


def _elementwise_loss(inputs, params):
    x = inputs[0]
    return (x._shape if params.get("reduction", "mean") == "none" else ()), x._dtype


def _cumsum(inputs, params):
    x = inputs[0]
    return x._shape, (_INT64 if x._dtype.kind in "biu" else x._dtype)  # integers sum in int64, as PyTorch's


def _prod(inputs, params):
    x = inputs[0]
    return _reduced(x._shape, params.get("dim"), params.get("keepdim", False)), (_INT64 if x._dtype.kind in "biu" else x._dtype)


def _all_dims(inputs, params):
    """amax and amin: ``dim=()`` (their default) is every dim."""
    dim = params.get("dim", ())
    return _reduced(inputs[0]._shape, None if dim == () else dim, params.get("keepdim", False)), inputs[0]._dtype


def _float_reduction(inputs, params):
    shape, dtype = _reduction(inputs, params)
    return shape, (dtype if is_inexact(dtype) else defaults.current)


def _test(inputs, params):
    return inputs[0]._shape, _BOOL


def _bool_reduction(inputs, params):
    dtype = inputs[0]._dtype  # all/any of uint8 is uint8, as PyTorch's
    return _reduced(inputs[0]._shape, params.get("dim"), params.get("keepdim", False)), dtype if dtype == np.uint8 else _BOOL


def _float_elementwise(inputs, params):
    meta = _elementwise(inputs, params)
    return meta and (meta[0], meta[1] if is_inexact(meta[1]) else defaults.current)


def _repeat(inputs, params):
    shape, sizes = inputs[0]._shape, tuple(params["sizes"])
    if len(sizes) < len(shape):
        return None
    shape = (1,) * (len(sizes) - len(shape)) + shape
    return tuple(n * r for n, r in zip(shape, sizes)), inputs[0]._dtype


def _pad(inputs, params):
    shape, pad = list(inputs[0]._shape), params["pad"]
    for k in range(len(pad) // 2):
        shape[len(shape) - 1 - k] += pad[2 * k] + pad[2 * k + 1]
    return tuple(shape), inputs[0]._dtype


_SUBSCRIPTS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def explicit_einsum(equation, shapes) -> str:
    """``equation`` with ``...`` spelled out in letters of its own and the output written, as
    ``torch.einsum`` reads the implicit form (the letters that appear once, in order; broadcast dims
    first); a ValueError in PyTorch's words for a bad one."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum(): {'fewer' if len(shapes) < len(terms) else 'more'} operands were provided than specified in the equation")
    named = [t.replace("...", "") for t in terms]
    free = [c for c in _SUBSCRIPTS if c not in equation]
    broadcast = max([len(shape) - len(name) for term, name, shape in zip(terms, named, shapes) if "..." in term] or [0])
    spare = "".join(free[:broadcast])
    spelled = []
    for i, (term, name, shape) in enumerate(zip(terms, named, shapes)):
        if "..." in term:
            term = term.replace("...", spare[broadcast - (len(shape) - len(name)) :] if len(shape) > len(name) else "")
        if len(term) != len(shape) or not term.isalpha() and term:
            raise ValueError(f"einsum(): the number of subscripts in the equation ({len(name)}) does not match the number of "
                             f"dimensions ({len(shape)}) for operand {i}{'' if '...' in terms[i] else ' and no ellipsis was given'}")
        spelled.append(term)
    letters, joined = "".join(spelled), "".join(named)
    out = rhs.replace("...", spare) if arrow else spare + "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    for c in out:
        if c not in letters:
            raise ValueError(f"einsum(): output subscript {c} does not appear in the equation for any input operand")
    return ",".join(spelled) + "->" + out


def _einsum(inputs, params):
    lhs, out = params["equation"].split("->")
    sizes = {}
    for term, x in zip(lhs.split(","), inputs):
        for c, n in zip(term, x._shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                return None  # one subscript of two sizes: refused by the server
            sizes[c] = max(sizes.get(c, 1), n)
    dtype = inputs[0]._dtype
    for x in inputs[1:]:
        dtype = promote(dtype, x._dtype)
    return tuple(sizes[c] for c in out), dtype


def _topk(inputs, params):
    shape = list(inputs[0]._shape)
    if shape:
        shape[params.get("dim", -1)] = params["k"]
    return tuple(shape), inputs[0]._dtype


def _square(inputs, params):
    a = inputs[0]._shape
    return (a, inputs[0]._dtype) if len(a) >= 2 and a[-1] == a[-2] and is_floating(inputs[0]._dtype) else None


def _determinant(inputs, params):
    meta = _square(inputs, params)
    return meta and (meta[0][:-2], meta[1])


def _solve(inputs, params):
    a, b = inputs[0]._shape, inputs[1]._shape
    if _square(inputs, params) is None or not b:
        return None
    vector = len(b) == 1 or (len(b) == len(a) - 1 and b == a[:-1])
    if vector:
        return broadcast2(a[:-2], b[:-1]) + (a[-1],), promote(inputs[0]._dtype, inputs[1]._dtype)
    return broadcast2(a[:-2], b[:-2]) + (a[-1], b[-1]), promote(inputs[0]._dtype, inputs[1]._dtype)


def _ldl_solve(inputs, params):
    (ld, ld_dtype), (pivots, _), (b, b_dtype) = ((x._shape, x._dtype) for x in inputs)
    if _square(inputs, params) is None or len(b) < 2 or b[-2] != ld[-1] or pivots != ld[:-1] or b_dtype != ld_dtype:
        return None  # (the server's refusal says why)
    return broadcast2(ld[:-2], b[:-2]) + b[-2:], ld_dtype


def _solve_triangular(inputs, params):
    a, b = inputs[0]._shape, inputs[1]._shape
    if _square(inputs, params) is None or len(b) < 2 or b[-2] != a[-1] or not is_floating(inputs[1]._dtype):
        return None
    return broadcast2(a[:-2], b[:-2]) + b[-2:], promote(inputs[0]._dtype, inputs[1]._dtype)


INFER = {
    **dict.fromkeys(["inv", "cholesky", "cholesky_ex"], _square),  # (cholesky_ex: its first output, L)
    "solve_triangular": _solve_triangular,
    "geqrf": lambda inputs, params: (inputs[0]._shape, inputs[0]._dtype) if len(inputs[0]._shape) >= 2 and is_floating(inputs[0]._dtype) else None,
    "lu_factor": lambda inputs, params: (inputs[0]._shape, inputs[0]._dtype) if len(inputs[0]._shape) >= 2 and is_floating(inputs[0]._dtype) else None,
    "ldl_factor": _square,  # (its first output, LD)
    "ldl_solve": _ldl_solve,
    "lu_permutation": lambda inputs, params: (inputs[0]._shape[:-1] + (params["m"],), np.dtype(np.int64)) if inputs[0]._shape else None,
    **dict.fromkeys(["det", "slogdet"], _determinant),  # (slogdet: its first output, the sign; the SDK knows both)
    "solve": _solve,
    "eigvalsh": lambda inputs, params: (lambda meta: meta and (meta[0][:-1], meta[1]))(_square(inputs, params)),
    "svdvals": lambda inputs, params: ((inputs[0]._shape[:-2] + (min(inputs[0]._shape[-2:]),), inputs[0]._dtype)
                                       if len(inputs[0]._shape) >= 2 and is_floating(inputs[0]._dtype) else None),
    **dict.fromkeys(["add", "sub", "mul", "pow", "maximum", "minimum", "floor_divide", "remainder", "bitwise_and", "bitwise_or",
                     "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "hypot", "logaddexp", "logaddexp2"], _elementwise),
    "div": _division,
    **dict.fromkeys(["eq", "ne", "lt", "le", "gt", "ge"], _comparison),
    "abs": lambda inputs, params: (inputs[0]._shape, _real_of(inputs[0]._dtype)),
    **dict.fromkeys(["real", "imag"], lambda inputs, params: (inputs[0]._shape, _real_of(inputs[0]._dtype))),
    "angle": lambda inputs, params: (inputs[0]._shape, _spectral_real(inputs[0]._dtype)),
    "complex": _complex,
    **{op: _fft_rule(op) for op in ("fftn", "ifftn", "rfftn", "irfftn")},
    **dict.fromkeys(["neg", "conj", "relu", "leaky_relu", "silu", "gelu", "softplus", "elu", "softmax", "log_softmax", "clone", "contiguous",
                     "bitwise_not", "tril", "triu"], _unary),
    "masked_fill": _masked_fill,
    **dict.fromkeys(["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "log1p", "expm1", "rsqrt", "reciprocal", "tan", "asin",
                     "acos", "atan", "sinh", "cosh", "log2", "log10", "exp2", "erf", "erfinv", "erfc", "erfcx", "lgamma", "digamma",
                     "polygamma", "i0", "asinh", "acosh", "atanh"], _float_unary),
    **dict.fromkeys(["logcumsumexp", "frexp"], _unary),
    **dict.fromkeys(["gcd", "lcm", "nextafter", "heaviside"], _elementwise),
    "signbit": _test,
    **dict.fromkeys(["floor", "ceil", "trunc", "round", "sign", "flip", "roll", "sort", "cummax", "cummin"], _unary),
    "searchsorted": lambda inputs, params: (inputs[1]._shape, np.dtype(np.int32) if params.get("out_int32") else _INT64),
    **dict.fromkeys(["isnan", "isinf", "isfinite", "logical_not"], _test),
    **dict.fromkeys(["logical_and", "logical_or", "logical_xor"], _comparison),
    **dict.fromkeys(["all", "any"], _bool_reduction),
    "count_nonzero": _arg_reduction,
    "mode": lambda inputs, params: (_reduced(inputs[0]._shape, params.get("dim", -1), params.get("keepdim", False)), inputs[0]._dtype),
    "histc": lambda inputs, params: ((params.get("bins", 100),), inputs[0]._dtype),
    "prod": _prod,
    **dict.fromkeys(["amax", "amin"], _all_dims),
    "logsumexp": _float_reduction,
    **dict.fromkeys(["atan2", "copysign"], _float_elementwise),
    "fmod": _elementwise,
    "repeat": _repeat,
    "topk": _topk,
    "pad": _pad,
    "einsum": _einsum,
    **dict.fromkeys(["cumsum", "cumprod"], _cumsum),
    "scatter_add": lambda inputs, params: (inputs[0]._shape, inputs[0]._dtype),
    "scatter": lambda inputs, params: (inputs[0]._shape, inputs[0]._dtype),
    "scatter_reduce": lambda inputs, params: (inputs[0]._shape, inputs[0]._dtype),
    "index_put": lambda inputs, params: (inputs[0]._shape, inputs[0]._dtype),
    "clamp": _clamp,
    "where": _where,
    **dict.fromkeys(["mean", "var", "std", "norm", "max", "min"], _reduction),
    "sum": _sum,
    "gather": _gather,
    **dict.fromkeys(["argmax", "argmin"], _arg_reduction),
    "matmul": _matmul,
    "reshape": _reshape,
    "transpose": _transpose,
    "permute": _permute,
    "unsqueeze": _unsqueeze,
    "squeeze": _squeeze,
    "expand": _expand,
    "diagonal": _diagonal,
    "unfold": _unfold,
    "as_strided": lambda inputs, params: (tuple(params["size"]), inputs[0]._dtype),
    "cat": _cat,
    "stack": _stack,
    "to": _to,
    "linear": _linear,
    "conv2d": _conv2d,
    "conv_transpose2d": _conv_transpose2d,
    **dict.fromkeys(["max_pool2d", "avg_pool2d"], _max_pool2d),
    "adaptive_avg_pool2d": _adaptive_avg_pool2d,
    "im2col": _im2col,
    "col2im": _col2im,
    "max_pool2d_indices": _max_pool2d_indices,
    "embedding": _embedding,
    # one_hot with num_classes=-1: the largest value decides, which the server alone knows
    "one_hot": lambda inputs, params: None if params["num_classes"] < 0 else (inputs[0]._shape + (params["num_classes"],), _INT64),
    **dict.fromkeys(["dropout", "batch_norm", "probabilities"], _unary),
    "layer_norm": _layer_norm,
    **dict.fromkeys(["nll_loss", "cross_entropy"], _class_loss),
    **dict.fromkeys(["binary_cross_entropy", "binary_cross_entropy_with_logits"], _elementwise_loss),
}


def index_shape(shape, parts):
    """The shape of ``x[parts]`` for ``x`` of ``shape``, or None where it depends on values the client lacks.

    ``parts`` holds ints, slices, None, Ellipsis, NumPy arrays and tensors (anything with
    ``_shape`` and ``_dtype``). NumPy itself applies its indexing rules to a stand-in array
    whose strides are all zero (no memory), with zero-filled index arrays of the same shapes.
    A boolean tensor's result depends on its values: None.
    """
    if shape is None:
        return None
    if len(parts) <= len(shape):
        basic = _basic_index_shape(shape, parts)
        if basic is _NOT_BASIC:
            basic = _integer_index_shape(shape, parts)
        if basic is not _NOT_BASIC:
            return basic
    # PyTorch's order: the ints (and 0-d integer tensors) select first, a bool is a new dim indexed by [0] or [];
    # the arrays then index the dims that are left (adjacent ones keep their place, as NumPy's rule has it there)
    stand_ins = []
    for part in parts:
        if hasattr(part, "_shape"):
            if part._shape is None or part._dtype is None:
                return None
            if part._dtype.kind not in "iu" or part._dtype.itemsize < 4:  # a mask's result depends on its values (uint8: a mask)
                return None
            part = 0 if not part._shape else np.lib.stride_tricks.as_strided(np.zeros(1, np.intp), part._shape, (0,) * len(part._shape))
        elif isinstance(part, np.ndarray) and part.ndim == 0 and part.dtype.kind in "iu":
            part = int(part)
        stand_ins.append(part)
    specified = sum(0 if part is None or part is Ellipsis or isinstance(part, (bool, np.bool_)) else
                    part.ndim if isinstance(part, np.ndarray) and part.dtype == np.bool_ else 1 for part in stand_ins)
    basic, advanced = [], []
    for part in stand_ins:
        if part is Ellipsis:
            basic.extend([slice(None)] * max(len(shape) - specified, 0))
            advanced.extend([slice(None)] * max(len(shape) - specified, 0))
        elif isinstance(part, (bool, np.bool_)) or (isinstance(part, np.ndarray) and part.dtype == np.bool_ and part.ndim == 0):
            basic.append(None)
            advanced.append(np.zeros(1 if part else 0, np.intp))
        elif isinstance(part, np.ndarray):
            basic.extend([slice(None)] * (part.ndim if part.dtype == np.bool_ else 1))
            advanced.append(part)
        elif isinstance(part, (int, np.integer)):
            basic.append(part)
        else:
            basic.append(part)
            advanced.append(slice(None))
    base = np.lib.stride_tricks.as_strided(np.zeros(1, np.bool_), shape, (0,) * len(shape))
    try:
        out = base[tuple(basic)]
        return out[tuple(advanced)].shape if any(isinstance(part, np.ndarray) for part in advanced) else out.shape
    except (IndexError, TypeError, ValueError):
        return None  # the server says what is wrong


_NOT_BASIC = object()


def _basic_index_shape(shape, parts):
    """``index_shape`` for plain ints and slices (a batch's rows: ``x[i:j]``), without NumPy's stand-ins;
    ``_NOT_BASIC`` for any other part. ``parts`` are no more than the dims of ``shape``."""
    out = []
    for n, part in zip(shape, parts):
        kind = type(part)
        if kind is slice:
            try:
                out.append(len(range(*part.indices(n))))
            except (TypeError, ValueError):
                return _NOT_BASIC  # NumPy's rules say whether it is an error
        elif kind is int:
            if not -n <= part < n:
                return None  # out of range: the server says so
        else:
            return _NOT_BASIC
    return tuple(out) + tuple(shape[len(parts):])


def _integer_index_shape(shape, parts):
    """``index_shape`` where every part is an integer tensor of one or more dims (``logp[rows, targets]``): the
    index tensors' broadcast shape, then the dims left; ``_NOT_BASIC`` for any other part (NumPy's stand-ins decide).
    ``parts`` are no more than the dims of ``shape``."""
    out = ()
    for n, part in zip(shape, parts):
        s, d = getattr(part, "_shape", None), getattr(part, "_dtype", None)
        if not s or d is None or d.kind not in "iu" or d.itemsize < 4 or n == 0:
            return _NOT_BASIC
        try:
            out = broadcast2(out, s)
        except ValueError:
            return None  # the server says what is wrong
    return out + tuple(shape[len(parts):])


def infer(op: str, inputs, params):
    """(shape, dtype) of op's first output, or None where the client cannot tell."""
    rule = INFER.get(op)
    if rule is None:
        return None
    for x in inputs:
        if hasattr(x, "_shape") and (x._shape is None or x._dtype is None):
            return None
    try:
        return rule(inputs, params)
    except (IndexError, KeyError, TypeError, ValueError, ZeroDivisionError):
        return None  # bad arguments: the server gives the real error
