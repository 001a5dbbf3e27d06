"""The array maths of the neural-network primitives: convolution, pooling, layer norm, losses.

Forward functions take ``(xp, *arrays, **params)`` as every entry of ``ops.OPS``;
backward functions are the VJP rules of ``vjps.VJPS``. Nothing here asks which
array module ``xp`` is: windows are strided views (``xp.lib.stride_tricks``)
copied once into a matrix, so a convolution is one matrix product (im2col), on
NumPy's BLAS and on cuBLAS alike.

Layouts are PyTorch's: images NCHW (or CHW, unbatched), weights (out, in, kh, kw).
"""

from __future__ import annotations

import math

from .backend import add_at, as_strided, host_loops, matmul
from .dtypes import torch_name
from .errors import NoDerivative


def linear(xp, x, weight, bias=None):
    """``torch.nn.functional.linear``: ``x @ weight.T + bias`` in one op (one command per layer on the wire)."""
    if weight.ndim != 2 or x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"mat1 and mat2 shapes cannot be multiplied ({math.prod(x.shape[:-1])}x{x.shape[-1] if x.ndim else 1} and "
            f"{'x'.join(map(str, weight.shape[::-1]))})"
        )
    if x.ndim == 2 and x.shape[0] <= _SMALL_BATCH:
        # (weight @ x.T).T: at small batch OpenBLAS's kernel for this product is faster than its
        # transposed-operand one that x @ weight.T takes. Copied back to C order (a few us): a
        # user's view of the output must share its memory, as PyTorch's does.
        out = xp.ascontiguousarray(matmul(xp, weight, x.T).T)
    else:
        out = matmul(xp, x, weight.T)
    if bias is not None:
        try:
            out += bias
        except ValueError:  # NumPy's broadcast error would name x's and the weight's shapes
            raise ValueError(_bias_mismatch(bias.shape, out.shape, x.ndim)) from None
    return out


def _bias_mismatch(shape, out, ndim):
    """PyTorch's words where F.linear's bias does not fit its output: addmm's expand for a 1-D or 2-D input (a 1-D
    one as a row), matmul's broadcast add for more dims."""
    target = (1,) + tuple(out) if ndim == 1 else tuple(out)
    for i in range(1, len(shape) + 1):
        size, wanted = shape[-i], target[-i] if i <= len(target) else 1
        if size != wanted and size != 1:
            if ndim > 2:
                return f"The size of tensor a ({wanted}) must match the size of tensor b ({size}) at non-singleton dimension {len(target) - i}"
            return (f"The expanded size of the tensor ({wanted}) must match the existing size ({size}) at non-singleton dimension "
                    f"{len(target) - i}.  Target sizes: {list(target)}.  Tensor sizes: {list(shape)}")
    return f"the bias of size {list(shape)} does not fit the output's {list(out)}"


_SMALL_BATCH = 128  # up to here the F-ordered formulation wins (1-thread OpenBLAS, 784-256-256-10 MLP); above, it loses


def linear_node(shapes, params):
    """PyTorch's node for F.linear on a matrix: AddmmBackward0 with a bias, MmBackward0 without."""
    if len(shapes[0]) == 2:
        return "AddmmBackward0" if len(shapes) == 3 else "MmBackward0"
    return "LinearBackward0"


def linear_grad(xp, g, ans, x, weight, bias=None, *, argnum):
    if argnum == 0:
        # the gradient of an F-ordered activation F-ordered too: the elementwise VJPs before it
        # (relu's g * (ans > 0)) then read two arrays of one layout
        return matmul(xp, weight.T, g.T).T if g.ndim == 2 and g.flags.f_contiguous and not g.flags.c_contiguous else matmul(xp, g, weight)
    if argnum == 1:
        return matmul(xp, g.reshape(-1, g.shape[-1]).T, x.reshape(-1, x.shape[-1])) if g.ndim != 1 else xp.outer(g, x)
    return g  # the walk sums it over the batch dims


def _pair(value, name):
    if isinstance(value, int):
        return value, value
    value = tuple(value)
    if len(value) == 1:
        return value[0], value[0]
    if len(value) != 2:
        raise ValueError(f"expected {name} to be a single integer value or a list of 2 values to match the convolution dimensions, but got {name}={list(value)}")
    return value


def _batched(x, name):
    """(N, C, H, W) from an NCHW or CHW array, and whether a batch dim was added."""
    if x.ndim == 3:
        return x[None], True
    if x.ndim != 4:
        raise ValueError(f"{name}: Expected 3D (unbatched) or 4D (batched) input, but got input of size: {list(x.shape)}")
    return x, False


def _out_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def _padded(xp, x, ph, pw, fill=0):
    if not ph and not pw:
        return x
    n, c, h, w = x.shape
    out = xp.full((n, c, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def _columns(xp, xpad, kh, kw, sh, sw, oh, ow, dh=1, dw=1):
    """im2col, channels first: the (C*kh*kw, N*oh*ow) matrix of every window of ``xpad`` (a kernel dilated by
    ``dh``, ``dw`` reads every dh-th row and dw-th column); one copy of a strided view."""
    n, c = xpad.shape[:2]
    s_n, s_c, s_h, s_w = xpad.strides
    windows = as_strided(xp, xpad, (c, kh, kw, n, oh, ow), (s_c, s_h * dh, s_w * dw, s_n, s_h * sh, s_w * sw))
    return windows.reshape(c * kh * kw, n * oh * ow)


def _columns_last(xp, x, kh, kw, sh, sw, ph, pw, oh, ow, dh=1, dw=1):
    """im2col, channels last: the (N*oh*ow, kh*kw*C) matrix, copied from an NHWC (padded) copy of ``x``."""
    n, c, h, w = x.shape
    padded = xp.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    padded[:, ph : ph + h, pw : pw + w, :] = x.transpose(0, 2, 3, 1)
    s_n, s_h, s_w, s_c = padded.strides
    windows = as_strided(xp, padded, (n, oh, ow, kh, kw, c), (s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c))
    return windows.reshape(n * oh * ow, kh * kw * c)


def _channels_last(channels):
    # Copying the windows is most of a small convolution's time, and its speed is the length of
    # the contiguous runs it copies: kw*C values with channels last, ow with channels first.
    return channels >= 4


def _conv_geometry(x, weight, stride, padding, dilation=1, groups=1):
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    if sh < 1 or sw < 1:
        raise ValueError(f"non-positive stride is not supported (stride={[sh, sw]})")
    if ph < 0 or pw < 0:
        raise ValueError(f"negative padding is not supported (padding={[ph, pw]})")
    if dh < 1 or dw < 1:
        raise ValueError(f"dilation should be greater than zero (dilation={[dh, dw]})")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError("non-positive groups is not supported")
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels, kH, kW), got size {list(weight.shape)}")
    n, c, h, w = x.shape
    o, ci, kh, kw = weight.shape
    if o % groups:
        raise ValueError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight of size {list(weight.shape)} instead")
    if ci * groups != c:
        raise ValueError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have {ci * groups} channels, "
            f"but got {c} channels instead"
        )
    oh, ow = _out_size(h, dh * (kh - 1) + 1, sh, ph), _out_size(w, dw * (kw - 1) + 1, sw, pw)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"Calculated padded input size per channel: ({h + 2 * ph} x {w + 2 * pw}). Kernel size: ({dh * (kh - 1) + 1} x {dw * (kw - 1) + 1}). "
            "Kernel size can't be greater than actual input size"
        )
    return (sh, sw), (ph, pw), (kh, kw), (oh, ow), (dh, dw)


def _per_group(xp, groups, x, weight, bias, work, axis):
    """A grouped convolution's result (or one of its gradients) from each group's own, joined along ``axis``:
    group k's input channels and output channels are its slices of x's and of the weight's."""
    c, o = x.shape[1] // groups, weight.shape[0] // groups
    parts = [work(x[:, k * c : (k + 1) * c], weight[k * o : (k + 1) * o], None if bias is None else bias[k * o : (k + 1) * o]) for k in range(groups)]
    return xp.concatenate(parts, axis=axis)


def conv2d(xp, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``torch.nn.functional.conv2d``: im2col and one matrix product (a dilated kernel reads its windows with
    wider steps; ``groups``: one such convolution per group of channels)."""
    x, unbatched = _batched(x, "conv2d")
    (sh, sw), (ph, pw), (kh, kw), (oh, ow), (dh, dw) = _conv_geometry(x, weight, stride, padding, dilation, groups)
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with {weight.shape[0]} elements, "
                         f"but got bias of size {list(bias.shape)} instead")
    if groups > 1:
        out = _per_group(xp, groups, x, weight, bias, lambda xg, wg, bg: conv2d(xp, xg, wg, bg, stride, padding, dilation), axis=1)
        return out[0] if unbatched else out
    n, o = x.shape[0], weight.shape[0]
    if _channels_last(x.shape[1]):
        out = _columns_last(xp, x, kh, kw, sh, sw, ph, pw, oh, ow, dh, dw) @ weight.transpose(2, 3, 1, 0).reshape(-1, o)
        if bias is not None:
            out += bias
        out = out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)
    else:
        out = weight.reshape(o, -1) @ _columns(xp, _padded(xp, x, ph, pw), kh, kw, sh, sw, oh, ow, dh, dw)  # (O, N*oh*ow)
        if bias is not None:
            out += bias[:, None]
        out = out.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)
    out = xp.ascontiguousarray(out)
    return out[0] if unbatched else out


def conv2d_grad(xp, g, ans, x, weight, bias=None, *, argnum, stride=1, padding=0, dilation=1, groups=1):
    """The VJP of ``conv2d`` for input ``argnum`` (0: x, 1: weight, 2: bias)."""
    x, unbatched = _batched(x, "conv2d")
    if unbatched:
        g = g[None]
    o = weight.shape[0]
    if argnum == 2:
        return xp.einsum("nol->o", g.reshape(g.shape[0], o, -1))
    if groups > 1:  # each group's gradient from its own slices of g, x and the weight
        per = o // groups
        group_g = iter([g[:, k * per : (k + 1) * per] for k in range(groups)])

        def work(xg, wg, bg):
            return conv2d_grad(xp, next(group_g), None, xg, wg, argnum=argnum, stride=stride, padding=padding, dilation=dilation)

        gx = _per_group(xp, groups, x, weight, None, work, axis=1 if argnum == 0 else 0)
        return gx[0] if unbatched and argnum == 0 else gx
    (sh, sw), (ph, pw), (kh, kw), (oh, ow), (dh, dw) = _conv_geometry(x, weight, stride, padding, dilation)
    n, c, h, w = x.shape
    if argnum == 0 and sh == sw == 1 and ph <= dh * (kh - 1) and pw <= dw * (kw - 1) and _channels_last(c):
        # stride 1: the input gradient is the "full" convolution of g with the flipped, transposed
        # kernel: one im2col and one product, about twice as fast as col2im's kh*kw strided adds
        # once x has a few channels (with one channel those adds are cheap and col2im wins)
        gx = conv2d(xp, g, weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], None, padding=(dh * (kh - 1) - ph, dw * (kw - 1) - pw), dilation=(dh, dw))
        return gx[0] if unbatched else gx
    if _channels_last(c):
        g_mat = g.transpose(0, 2, 3, 1).reshape(n * oh * ow, o)
        if argnum == 1:
            cols = _columns_last(xp, x, kh, kw, sh, sw, ph, pw, oh, ow, dh, dw)
            return (cols.T @ g_mat).reshape(kh, kw, c, o).transpose(3, 2, 0, 1)
        # col2im: every kernel offset adds its slice of the column gradient back into the (NHWC) image
        g_cols = (g_mat @ weight.transpose(0, 2, 3, 1).reshape(o, -1)).reshape(n, oh, ow, kh, kw, c)
        g_pad = xp.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=g.dtype)
        for i in range(kh):
            for j in range(kw):
                g_pad[:, i * dh : i * dh + sh * oh : sh, j * dw : j * dw + sw * ow : sw, :] += g_cols[:, :, :, i, j, :]
        gx = g_pad[:, ph : ph + h, pw : pw + w, :].transpose(0, 3, 1, 2)
    else:
        g_mat = g.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)
        if argnum == 1:
            cols = _columns(xp, _padded(xp, x, ph, pw), kh, kw, sh, sw, oh, ow, dh, dw)
            return (g_mat @ cols.T).reshape(weight.shape)
        g_cols = (weight.reshape(o, -1).T @ g_mat).reshape(c, kh, kw, n, oh, ow)
        g_pad = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
        for i in range(kh):
            for j in range(kw):
                g_pad[:, :, i * dh : i * dh + sh * oh : sh, j * dw : j * dw + sw * ow : sw] += g_cols[:, i, j].transpose(1, 0, 2, 3)
        gx = g_pad[:, :, ph : ph + h, pw : pw + w]
    return gx[0] if unbatched else gx


def conv_transpose2d(xp, x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``torch.nn.functional.conv_transpose2d``: the adjoint of ``conv2d`` with this weight (in_channels,
    out_channels // groups, kH, kW), that is conv2d's input gradient with x in the place of the output's."""
    x, unbatched = _batched(x, "conv_transpose2d")
    if weight.ndim != 4:
        raise ValueError(f"conv_transpose2d: weight must be 4-D (in_channels, out_channels // groups, kH, kW), got size {list(weight.shape)}")
    if x.shape[1] != weight.shape[0]:
        raise ValueError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have {weight.shape[0]} channels, "
                         f"but got {x.shape[1]} channels instead")
    out_shape = _transposed_shape(x, weight, stride, padding, output_padding, groups, dilation)
    if bias is not None and bias.shape != (out_shape[1],):
        raise ValueError(f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be 1-dimensional with {out_shape[1]} "
                         f"elements, but got bias of size {list(bias.shape)} instead")
    out = conv2d_grad(xp, x, None, xp.empty(out_shape, dtype=x.dtype), weight, argnum=0, stride=stride, padding=padding, dilation=dilation, groups=groups)
    if bias is not None:
        out = out + bias.reshape(-1, 1, 1)
    out = xp.ascontiguousarray(out)
    return out[0] if unbatched else out


def _transposed_shape(x, weight, stride, padding, output_padding, groups, dilation):
    """The output's (N, C, H, W): (H_in - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1."""
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = (_pair(v, name) for v, name in
                                                ((stride, "stride"), (padding, "padding"), (output_padding, "output_padding"), (dilation, "dilation")))
    if not (0 <= oph < max(sh, dh) and 0 <= opw < max(sw, dw)):
        raise ValueError(f"output padding must be smaller than either stride or dilation, but got output_padding={[oph, opw]}, "
                         f"stride={[sh, sw]}, dilation={[dh, dw]}")
    if not isinstance(groups, int) or groups < 1 or weight.shape[0] % groups:
        raise ValueError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight of size {list(weight.shape)} instead")
    kh, kw = weight.shape[2:]
    h = (x.shape[2] - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    w = (x.shape[3] - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    if h < 1 or w < 1:
        raise ValueError(f"conv_transpose2d: the output size ({h} x {w}) is too small")
    return (x.shape[0], weight.shape[1] * groups, h, w)


def conv_transpose2d_grad(xp, g, ans, x, weight, bias=None, *, argnum, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The VJP of ``conv_transpose2d``: for x, conv2d of g; for the weight, conv2d's weight gradient with g as
    its input and x as its output's gradient; for the bias, g summed over all but the channels."""
    x, unbatched = _batched(x, "conv_transpose2d")
    if unbatched:
        g = g[None]
    if argnum == 2:
        return g.sum(axis=(0, 2, 3))
    if argnum == 0:
        gx = conv2d(xp, g, weight, None, stride, padding, dilation, groups)
        return gx[0] if unbatched else gx
    return conv2d_grad(xp, x, None, g, weight, argnum=1, stride=stride, padding=padding, dilation=dilation, groups=groups)


def _unfold_geometry(size, kernel_size, dilation, padding, stride, name):
    """((kh, kw), (dh, dw), (ph, pw), (sh, sw), (oh, ow)) of F.unfold over an (H, W) plane, checked as PyTorch checks it."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (_pair(v, k) for v, k in
                                              ((kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"), (stride, "stride")))
    if min(kh, kw, dh, dw, sh, sw) <= 0 or min(ph, pw) < 0:
        raise ValueError(f"{name}: kernel_size, dilation and stride must be greater than zero and padding non-negative, but got "
                         f"kernel_size=({kh}, {kw}), dilation=({dh}, {dw}), padding=({ph}, {pw}), stride=({sh}, {sw})")
    h, w = size
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"{name}: calculated shape of the array of sliding blocks as ({oh}, {ow}), which is too small "
                         f"(non-positive); input spatial size ({h}, {w}), kernel_size=({kh}, {kw}), dilation=({dh}, {dw}), "
                         f"padding=({ph}, {pw}), stride=({sh}, {sw})")
    return (kh, kw), (dh, dw), (ph, pw), (sh, sw), (oh, ow)


def im2col(xp, x, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.unfold``: every sliding block of an (N, C, H, W) (or (C, H, W)) input as a column,
    (N, C*kh*kw, L) with L the number of blocks; the column's rows run over C, then kh, then kw."""
    if x.ndim not in (3, 4):
        raise ValueError(f"Input Error: Only 3D or 4D input Tensors are supported (got {x.ndim}D)")
    x, unbatched = _batched(x, "unfold")
    (kh, kw), (dh, dw), (ph, pw), (sh, sw), (oh, ow) = _unfold_geometry(x.shape[2:], kernel_size, dilation, padding, stride, "unfold")
    n, c = x.shape[:2]
    cols = _columns(xp, _padded(xp, x, ph, pw), kh, kw, sh, sw, oh, ow, dh, dw)  # (C*kh*kw, N*L)
    out = xp.ascontiguousarray(cols.reshape(c * kh * kw, n, oh * ow).transpose(1, 0, 2))
    return out[0] if unbatched else out


def col2im(xp, cols, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.fold``, the adjoint of ``im2col``: sum each column (N, C*kh*kw, L) back into its block
    of an (N, C, H, W) output of ``output_size``; overlapping blocks add up."""
    if cols.ndim not in (2, 3):
        raise ValueError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported (got {cols.ndim}D)")
    unbatched = cols.ndim == 2
    if unbatched:
        cols = cols[None]
    h, w = _pair(output_size, "output_size")
    (kh, kw), (dh, dw), (ph, pw), (sh, sw), (oh, ow) = _unfold_geometry((h, w), kernel_size, dilation, padding, stride, "fold")
    n, rows, length = cols.shape
    if rows % (kh * kw):
        raise ValueError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got "
                         f"input.size(1)={rows} and kernel_size=({kh}, {kw})")
    if length != oh * ow:
        raise ValueError(f"Given output_size=({h}, {w}), kernel_size=({kh}, {kw}), dilation=({dh}, {dw}), padding=({ph}, {pw}), "
                         f"stride=({sh}, {sw}), expected size of input's dimension 2 to match the calculated number of sliding "
                         f"blocks {oh} * {ow} = {oh * ow}, but got input.size(2)={length}.")
    c = rows // (kh * kw)
    blocks = cols.reshape(n, c, kh, kw, oh, ow)
    out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):  # every kernel offset adds its slice of every block back (col2im, as conv2d's input gradient)
        for j in range(kw):
            out[:, :, i * dh : i * dh + sh * oh : sh, j * dw : j * dw + sw * ow : sw] += blocks[:, :, i, j]
    out = out[:, :, ph : ph + h, pw : pw + w]
    out = xp.ascontiguousarray(out)
    return out[0] if unbatched else out


def im2col_grad(xp, g, ans, x, kernel_size, dilation=1, padding=0, stride=1):
    """The VJP of ``im2col``: ``col2im`` of the gradient into x's plane (its adjoint)."""
    return col2im(xp, g, x.shape[-2:], kernel_size, dilation, padding, stride)


def col2im_grad(xp, g, ans, cols, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The VJP of ``col2im``: ``im2col`` of the gradient (its adjoint)."""
    return im2col(xp, g, kernel_size, dilation, padding, stride)


def _pool_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling output length: windows that fit (floor), or with ``ceil_mode`` one more where a last
    window starts inside the input or its left padding and runs past the end."""
    span = dilation * (kernel - 1) + 1
    out = (size + 2 * padding - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pool_geometry(x, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """``((kh, kw), (sh, sw), (ph, pw), (oh, ow), (dh, dw))`` of a pooling of NCHW ``x``, checked as PyTorch checks it."""
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(stride if stride is not None and stride != () else (kh, kw), "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    if kh < 1 or kw < 1 or sh < 1 or sw < 1:
        raise ValueError(f"max_pool2d: kernel_size and stride must be greater than zero, got kernel_size={[kh, kw]}, stride={[sh, sw]}")
    if dh < 1 or dw < 1:
        raise ValueError(f"dilation should be greater than zero, but got dilationH: {dh} dilationW: {dw}")
    if ph < 0 or pw < 0 or 2 * ph > kh or 2 * pw > kw:
        raise ValueError(
            f"pad should be at most half of effective kernel size, but got pad={max(ph, pw)}, kernel_size={max(kh, kw)} and "
            f"dilation={max(dh, dw)}"
        )
    h, w = x.shape[2:]
    oh, ow = _pool_size(h, kh, sh, ph, dh, ceil_mode), _pool_size(w, kw, sw, pw, dw, ceil_mode)
    if oh < 1 or ow < 1:
        raise ValueError(f"Given input size: ({'x'.join(map(str, x.shape[1:]))}). Calculated output size: ({x.shape[1]}x{oh}x{ow}). "
                         "Output size is too small")
    return (kh, kw), (sh, sw), (ph, pw), (oh, ow), (dh, dw)


def _pool_padded(xp, x, geometry, fill):
    """x with ``fill`` around it: the padding, and past the bottom and right edges as far as ceil_mode's last windows reach."""
    (kh, kw), (sh, sw), (ph, pw), (oh, ow), (dh, dw) = geometry
    n, c, h, w = x.shape
    height = max(h + 2 * ph, (oh - 1) * sh + dh * (kh - 1) + 1)
    width = max(w + 2 * pw, (ow - 1) * sw + dw * (kw - 1) + 1)
    if (height, width) == (h, w):
        return x
    out = xp.full((n, c, height, width), fill, dtype=x.dtype)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def _window_offsets(geometry):
    """For each kernel offset (row-major), the slices of a padded plane that its element of every window takes."""
    (kh, kw), (sh, sw), _, (oh, ow), (dh, dw) = geometry
    return [(slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)) for i in range(kh) for j in range(kw)]


def _pool_windows(xp, x, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """Geometry, the padded input, and for each kernel offset (row-major) the strided view of its elements."""
    geometry = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    low = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
    xpad = _pool_padded(xp, x, geometry, low)
    return geometry, xpad, [xpad[:, :, rows, cols] for rows, cols in _window_offsets(geometry)]


def _tiled(x, kernel_size, stride, padding, dilation=1):
    """x as (N, C, oh, kh, ow, kw) windows, a view, where they tile it exactly (stride = kernel, no
    padding or dilation, sizes divisible: the usual pooling, ceil_mode or not); else None (the general
    path checks the arguments)."""
    try:
        kh, kw = _pair(kernel_size, "kernel_size")
        if stride is not None and stride != () and _pair(stride, "stride") != (kh, kw) or _pair(padding, "padding") != (0, 0):
            return None
        if _pair(dilation, "dilation") != (1, 1):
            return None
    except (TypeError, ValueError):
        return None
    n, c, h, w = x.shape
    if kh < 1 or kw < 1 or h < kh or w < kw or h % kh or w % kw:
        return None
    return x.reshape(n, c, h // kh, kh, w // kw, kw)


def max_pool2d(xp, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``torch.nn.functional.max_pool2d``: the maximum of every window, as kh*kw elementwise maxima."""
    x, unbatched = _batched(x, "max_pool2d")
    tiles = _tiled(x, kernel_size, stride, padding, dilation)
    if tiles is not None:  # the windows straight from a view of x: no padded copy, no per-offset slicing
        kh, kw = tiles.shape[3], tiles.shape[5]
        if kh == kw == 2:  # the usual 2x2: two maxima of halves, each a pass over half the data
            pair = xp.maximum(tiles[:, :, :, 0], tiles[:, :, :, 1])  # (N, C, oh, ow, 2)
            out = xp.maximum(pair[..., 0], pair[..., 1])
        else:
            out = tiles[:, :, :, 0, :, 0].copy()
            for i in range(kh):
                for j in range(kw):
                    if i or j:
                        xp.maximum(out, tiles[:, :, :, i, :, j], out=out)
        return out[0] if unbatched else out
    _, _, views = _pool_windows(xp, x, kernel_size, stride, padding, dilation, ceil_mode)
    out = views[0].copy()
    for view in views[1:]:
        xp.maximum(out, view, out=out)
    return out[0] if unbatched else out


def max_pool2d_grad(xp, g, ans, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Each window's gradient goes to its first maximum in row-major order, as PyTorch's (summed where windows overlap)."""
    x, unbatched = _batched(x, "max_pool2d")
    if unbatched:
        g, ans = g[None], ans[None]
    loops = host_loops(xp)
    gx = None if loops is None else loops.max_pool2d_grad(g, x, _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode))
    if gx is not None:  # one compiled pass (NumPy), NaN windows as PyTorch's
        return gx[0] if unbatched else gx
    tiles = _tiled(x, kernel_size, stride, padding, dilation)
    if tiles is not None:  # windows tile x: each element gets one window's gradient or none
        gx = xp.empty(x.shape, dtype=g.dtype)
        g_tiles, taken = gx.reshape(tiles.shape), None
        for i in range(tiles.shape[3]):
            for j in range(tiles.shape[5]):
                hit = tiles[:, :, :, i, :, j] == ans
                if taken is None:
                    taken = hit
                else:
                    hit &= ~taken
                    taken |= hit
                xp.multiply(g, hit, out=g_tiles[:, :, :, i, :, j])
        return gx[0] if unbatched else gx
    geometry, xpad, views = _pool_windows(xp, x, kernel_size, stride, padding, dilation, ceil_mode)
    (kh, kw), (sh, sw), (ph, pw), _, (dh, dw) = geometry
    g_pad = xp.zeros(xpad.shape, dtype=g.dtype)
    overlapping = sh < kh or sw < kw or dh > 1 or dw > 1  # (dilated windows may interleave)
    taken = None
    for view, (rows, cols) in zip(views, _window_offsets(geometry)):
        hit = view == ans
        if taken is None:
            taken = hit
        else:
            hit &= ~taken
            taken |= hit
        region = g_pad[:, :, rows, cols]
        if overlapping:
            region += g * hit
        else:  # every element is in one window at most: a plain write
            xp.multiply(g, hit, out=region)
    gx = g_pad[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
    return gx[0] if unbatched else gx


def max_pool2d_indices(xp, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The flat index into each input H*W plane of every window's first maximum (``return_indices=True``)."""
    x, unbatched = _batched(x, "max_pool2d")
    loops = host_loops(xp)
    indices = None if loops is None else loops.max_pool2d_indices(x, _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode))
    if indices is not None:
        return indices[0] if unbatched else indices
    ((kh, kw), (sh, sw), (ph, pw), (oh, ow), (dh, dw)), _, views = _pool_windows(xp, x, kernel_size, stride, padding, dilation, ceil_mode)
    best, where = views[0].copy(), xp.zeros(views[0].shape, dtype=xp.int64)
    for k, view in enumerate(views[1:], 1):
        greater = view > best  # strictly: the first maximum keeps its place
        best = xp.where(greater, view, best)
        where = xp.where(greater, k, where)
    rows = (xp.arange(oh) * sh - ph)[:, None] + (where // kw) * dh
    cols = (xp.arange(ow) * sw - pw) + (where % kw) * dw
    indices = (rows * x.shape[3] + cols).astype(xp.int64)
    return indices[0] if unbatched else indices


def _avg_divisor(xp, x, geometry, exclude_pad, divisor=None):
    """What each window's sum is divided by, as PyTorch's: ``divisor`` (divisor_override) where given; else the
    window's size within the padded input (kh*kw but for ceil_mode's last windows), or with ``exclude_pad`` the
    count of x's own elements in it. A number where it is the same for every window."""
    if divisor:
        return divisor
    (kh, kw), (sh, sw), (ph, pw), (oh, ow), _ = geometry
    h, w = x.shape[2:]
    sizes = []
    for n, k, s, p, o in ((h, kh, sh, ph, oh), (w, kw, sw, pw, ow)):
        starts = xp.arange(o) * s - p
        ends = xp.minimum(starts + k, n + p)
        sizes.append(xp.minimum(ends, n) - xp.maximum(starts, 0) if exclude_pad else ends - starts)
    rows, cols = sizes
    if bool((rows == kh).all()) and bool((cols == kw).all()):
        return kh * kw
    return (rows[:, None] * cols[None, :]).astype(x.dtype)


def avg_pool2d(xp, x, kernel_size, stride=None, padding=0, exclude_pad=False, ceil_mode=False, divisor=None):
    """``torch.nn.functional.avg_pool2d``: each window's mean, zero padding counted unless ``exclude_pad``
    (PyTorch's ``count_include_pad=False``); ``divisor`` is ``divisor_override``."""
    x, unbatched = _batched(x, "avg_pool2d")
    if x.dtype.kind != "f":
        raise TypeError('"avg_pool2d" not implemented for \'Long\'')
    if divisor is not None and divisor == 0:
        raise ValueError("divisor must be not zero")
    geometry = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    xpad = _pool_padded(xp, x, geometry, 0)
    out = xp.zeros(x.shape[:2] + geometry[3], dtype=x.dtype)
    for rows, cols in _window_offsets(geometry):
        out += xpad[:, :, rows, cols]
    out /= _avg_divisor(xp, x, geometry, exclude_pad, divisor)
    return out[0] if unbatched else out


def avg_pool2d_grad(xp, g, ans, x, kernel_size, stride=None, padding=0, exclude_pad=False, ceil_mode=False, divisor=None):
    """Each window's gradient, divided as its mean was, spread over the window (summed where windows overlap)."""
    x, unbatched = _batched(x, "avg_pool2d")
    if unbatched:
        g = g[None]
    geometry = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    (kh, kw), (sh, sw), (ph, pw), (oh, ow), _ = geometry
    share = g / _avg_divisor(xp, x, geometry, exclude_pad, divisor)
    height = max(x.shape[2] + 2 * ph, (oh - 1) * sh + kh)
    width = max(x.shape[3] + 2 * pw, (ow - 1) * sw + kw)
    g_pad = xp.zeros((x.shape[0], x.shape[1], height, width), dtype=g.dtype)
    for rows, cols in _window_offsets(geometry):
        g_pad[:, :, rows, cols] += share
    gx = g_pad[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
    return gx[0] if unbatched else gx


def _adaptive_windows(size, out):
    """PyTorch's adaptive windows: the i-th of ``out`` covers [floor(i*size/out), ceil((i+1)*size/out))."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _adaptive_size(x, output_size):
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    oh, ow = x.shape[-2] if oh is None else oh, x.shape[-1] if ow is None else ow
    if oh < 0 or ow < 0:
        raise ValueError(f"adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {{{oh}, {ow}}}")
    return oh, ow


def adaptive_avg_pool2d(xp, x, output_size):
    """``torch.nn.functional.adaptive_avg_pool2d``: the means of ``output_size`` windows that cover H and W."""
    x, unbatched = _batched(x, "adaptive_avg_pool2d")
    if x.dtype.kind != "f":
        raise TypeError('"adaptive_avg_pool2d" not implemented for \'Long\'')
    oh, ow = _adaptive_size(x, output_size)
    h, w = x.shape[2:]
    if oh == 0 or ow == 0:  # an empty output, as PyTorch's
        out = xp.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    elif h % oh == 0 and w % ow == 0:  # equal windows that tile x
        out = x.reshape(x.shape[:2] + (oh, h // oh, ow, w // ow)).mean(axis=(3, 5))
    else:
        out = xp.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
        for i, (r0, r1) in enumerate(_adaptive_windows(h, oh)):
            for j, (c0, c1) in enumerate(_adaptive_windows(w, ow)):
                out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out[0] if unbatched else out


def adaptive_avg_pool2d_grad(xp, g, ans, x, output_size):
    x, unbatched = _batched(x, "adaptive_avg_pool2d")
    if unbatched:
        g = g[None]
    oh, ow = _adaptive_size(x, output_size)
    h, w = x.shape[2:]
    if oh == 0 or ow == 0:
        gx = xp.zeros(x.shape, dtype=g.dtype)
    elif h % oh == 0 and w % ow == 0:
        kh, kw = h // oh, w // ow
        gx = xp.broadcast_to((g / (kh * kw))[:, :, :, None, :, None], x.shape[:2] + (oh, kh, ow, kw)).reshape(x.shape)
    else:
        gx = xp.zeros(x.shape, dtype=g.dtype)
        for i, (r0, r1) in enumerate(_adaptive_windows(h, oh)):
            for j, (c0, c1) in enumerate(_adaptive_windows(w, ow)):
                gx[:, :, r0:r1, c0:c1] += (g[:, :, i, j] / ((r1 - r0) * (c1 - c0)))[:, :, None, None]
    return gx[0] if unbatched else gx


def embedding(xp, indices, weight, padding_idx=None):
    """``torch.nn.functional.embedding``: rows of ``weight`` picked by integer ``indices``."""
    if indices.dtype.kind not in "iu":
        raise TypeError(
            f"Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got torch.{torch_name(indices.dtype)}Tensor instead (while checking arguments for embedding)"
        )
    if weight.ndim != 2:
        raise ValueError(f"embedding: 'weight' must be 2-D, got size {list(weight.shape)}")
    if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
        raise IndexError(f"index out of range in self (indices must be in [0, {weight.shape[0]}))")
    return weight[indices]


def embedding_grad(xp, g, ans, indices, weight, padding_idx=None):
    grad = xp.zeros(weight.shape, dtype=g.dtype)
    add_at(xp, grad, indices.reshape(-1), g.reshape(-1, weight.shape[1]))  # repeated indices accumulate (complex too, on CuPy)
    if padding_idx is not None:
        grad[padding_idx] = 0  # the padding row gets no gradient, as in PyTorch
    return grad


def _normalized(xp, x, normalized_shape, eps):
    k = len(normalized_shape)
    if tuple(x.shape[x.ndim - k :]) != tuple(normalized_shape) or k == 0:
        raise ValueError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape [*, {', '.join(map(str, normalized_shape))}], "
            f"but got input of size{list(x.shape)}"
        )
    axes = tuple(range(x.ndim - k, x.ndim))
    centred = x - x.mean(axis=axes, keepdims=True)
    rstd = 1 / xp.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
    return centred * rstd, rstd, axes


def layer_norm(xp, x, weight=None, bias=None, normalized_shape=(), eps=1e-5):
    """``torch.nn.functional.layer_norm`` over the last ``len(normalized_shape)`` dims (biased variance)."""
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != tuple(normalized_shape):
            raise ValueError(f"layer_norm: {name} of size {list(p.shape)} does not match normalized_shape {list(normalized_shape)}")
    y, _, _ = _normalized(xp, x, normalized_shape, eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype, copy=False)


def layer_norm_shared(xp, x, weight=None, bias=None, *, normalized_shape=(), eps=1e-5):
    """What x's rule and weight's share: (x normalised, 1/std, the normalised axes)."""
    return _normalized(xp, x, normalized_shape, eps)


def layer_norm_grad(xp, g, ans, x, weight=None, bias=None, *, argnum, shared=None, normalized_shape=(), eps=1e-5):
    """The VJP of ``layer_norm`` for x (0), weight (1) or bias (2); the walk sums weight's and bias's over the batch.
    ``shared``: ``layer_norm_shared``'s value, computed here where not given."""
    if argnum == 2:
        return g
    xhat, rstd, axes = shared or _normalized(xp, x, normalized_shape, eps)
    if argnum == 1:
        return g * xhat
    gy = g * weight if weight is not None else g
    return rstd * (gy - gy.mean(axis=axes, keepdims=True) - xhat * (gy * xhat).mean(axis=axes, keepdims=True))


def _batch_norm_parts(inputs, has_stats, affine):
    """(x, running_mean, running_var, weight, bias) from batch_norm's inputs, None where absent."""
    x, rest = inputs[0], list(inputs[1:])
    running_mean, running_var = (rest.pop(0), rest.pop(0)) if has_stats else (None, None)
    weight, bias = (rest.pop(0), rest.pop(0)) if affine else (None, None)
    return x, running_mean, running_var, weight, bias


def _channels(xp, x, stat):
    """A per-channel (C,) array shaped to broadcast along x's dim 1."""
    return stat.reshape((1, -1) + (1,) * (x.ndim - 2))


def _batch_statistics(xp, x, eps):
    """(x normalised over every dim but 1, 1/std, the biased variance, the mean), the last three per channel."""
    axes = (0,) + tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    rstd = 1 / xp.sqrt(var + eps)
    return centred * rstd, rstd, var, mean


def batch_norm(xp, *inputs, training=False, has_stats=False, affine=False, momentum=0.1, eps=1e-5):
    """``torch.nn.functional.batch_norm`` over (N, C, ...): per channel, the batch's statistics when
    ``training`` (the running ones, where given, updated in place: the variance unbiased, as PyTorch's),
    else the running ones; then ``weight`` and ``bias``."""
    x, running_mean, running_var, weight, bias = _batch_norm_parts(inputs, has_stats, affine)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of at least 2 dims (N, C, ...), got size {list(x.shape)}")
    if not training and not has_stats:
        raise ValueError("running_mean must be defined in evaluation mode")
    channels = x.shape[1]
    for name, stat in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if stat is not None and stat.shape != (channels,):
            raise ValueError(f"{name} should contain {channels} elements not {math.prod(stat.shape)}")
    if training:
        count = x.size // channels
        if training and count == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size torch.Size({list(x.shape)})")
        y, _, var, mean = _batch_statistics(xp, x, eps)
        if training and has_stats:
            running_mean *= 1 - momentum
            running_mean += momentum * mean.reshape(-1)
            running_var *= 1 - momentum
            running_var += momentum * var.reshape(-1) * (count / max(count - 1, 1))
    else:
        y = (x - _channels(xp, x, running_mean)) / _channels(xp, x, xp.sqrt(running_var + eps))
    if weight is not None:
        y = y * _channels(xp, x, weight) + _channels(xp, x, bias)
    return y


def batch_norm_shared(xp, *inputs, training=False, has_stats=False, affine=False, momentum=0.1, eps=1e-5):
    """What x's rule and weight's share: (x normalised, 1/std per channel), by the batch's statistics when training,
    else by the running ones."""
    x, running_mean, running_var, _, _ = _batch_norm_parts(inputs, has_stats, affine)
    if training:
        xhat, rstd, _, _ = _batch_statistics(xp, x, eps)
        return xhat, rstd
    rstd = 1 / xp.sqrt(_channels(xp, x, running_var) + eps)
    return (x - _channels(xp, x, running_mean)) * rstd, rstd


def batch_norm_grad(xp, g, ans, *inputs, argnum, shared=None, training=False, has_stats=False, affine=False, momentum=0.1, eps=1e-5):
    """The VJP of ``batch_norm`` for x, weight and bias (per channel, summed here); none for the running statistics.
    ``shared``: ``batch_norm_shared``'s value, computed here where not given."""
    x, running_mean, running_var, weight, bias = _batch_norm_parts(inputs, has_stats, affine)
    axes = (0,) + tuple(range(2, x.ndim))
    role = ("x", "running_mean", "running_var", "weight", "bias")[argnum + (0 if has_stats or argnum == 0 else 2)]
    if role == "bias":
        return g.sum(axis=axes)
    if role.startswith("running"):
        raise NoDerivative(f"the derivative for '{role}' is not implemented.")
    batch = training
    xhat, rstd = shared or batch_norm_shared(xp, *inputs, training=training, has_stats=has_stats, affine=affine, eps=eps)
    if role == "weight":
        return (g * xhat).sum(axis=axes)
    gy = g * _channels(xp, x, weight) if weight is not None else g
    if not batch:  # fixed statistics: an affine map of x
        return gy * rstd
    return rstd * (gy - gy.mean(axis=axes, keepdims=True) - xhat * (gy * xhat).mean(axis=axes, keepdims=True))


# --- losses over class scores: class dim 1 ((N, C), (N, C, d1, ...)) or 0 (unbatched (C,)) ---------


def _targets(xp, scores, target, ignore_index, name, check=True):
    """(class dim, mask of the targets that count or None for all, targets safe to index with).

    ``check``: raise for a bad dtype, shape or class index (the forward checks; its VJP need not).
    """
    cdim = 0 if scores.ndim == 1 else 1
    if check:
        if target.dtype.kind not in "iu":
            raise TypeError(f"{name}: expected target of an integer dtype (class indices), but got {target.dtype}")
        if name == "cross_entropy" and target.shape == scores.shape:  # class probabilities, of an integer dtype
            raise TypeError(f"Expected floating point type for target with class probabilities, got {torch_name(target.dtype)}")
        expected = scores.shape[:cdim] + scores.shape[cdim + 1 :]
        if tuple(target.shape) != tuple(expected):
            if scores.ndim >= 2 and target.ndim >= 1 and target.shape[0] != scores.shape[0]:
                raise ValueError(f"Expected input batch_size ({scores.shape[0]}) to match target batch_size ({target.shape[0]}).")
            raise ValueError(f"{name}: expected target of size {list(expected)} for input of size {list(scores.shape)}, got {list(target.shape)}")
    classes = scores.shape[cdim]
    if not 0 <= ignore_index < classes and (target.size == 0 or not (target.view(f"u{target.dtype.itemsize}") >= classes).any()):
        return cdim, None, target  # the common case: every target a class, none ignored (negatives wrap above it)
    valid = target != ignore_index
    if check:
        bad = valid & ((target < 0) | (target >= classes))
        if bad.any():
            raise IndexError(f"Target {int(target[bad].reshape(-1)[0])} is out of bounds.")
    return cdim, valid, xp.where(valid, target, 0)


def _reduce_loss(xp, loss, valid, reduction, name):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":  # by a count in the loss's dtype; a Python int needs no copy to the device
        return loss.sum() / (valid.sum().astype(loss.dtype) if valid is not None else loss.size)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _loss_grad_scale(xp, g, valid, reduction, cdim, dtype, size):
    """d loss / d per-element loss, shaped to broadcast against the class dim; 0 at an ignored target, as PyTorch's,
    whatever the rest: with every target ignored the mean is NaN (0 / 0) but its gradient 0, not NaN."""
    if reduction == "mean":
        g = g / (xp.maximum(valid.sum(), 1).astype(dtype) if valid is not None else size)
    elif reduction == "none":
        g = xp.expand_dims(g, cdim)
    return xp.where(xp.expand_dims(valid, cdim), g, 0).astype(dtype, copy=False) if valid is not None else g


def _one_hot(xp, target, cdim, classes, ndim):
    positions = xp.arange(classes).reshape((-1,) + (1,) * (ndim - 1 - cdim))
    return positions == xp.expand_dims(target, cdim)


def _picked_loss(xp, logp, cdim, valid, safe):
    picked = xp.take_along_axis(logp, xp.expand_dims(safe, cdim), axis=cdim).squeeze(cdim)
    return -picked * valid if valid is not None else -picked


def nll_loss(xp, logp, target, reduction="mean", ignore_index=-100):
    """``torch.nn.functional.nll_loss`` without class weights."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    cdim, valid, safe = _targets(xp, logp, target, ignore_index, "nll_loss")
    return _reduce_loss(xp, _picked_loss(xp, logp, cdim, valid, safe), valid, reduction, "nll_loss")


def nll_loss_grad(xp, g, ans, logp, target, reduction="mean", ignore_index=-100):
    cdim, valid, safe = _targets(xp, logp, target, ignore_index, "nll_loss", check=False)
    scale = _loss_grad_scale(xp, g, valid, reduction, cdim, logp.dtype, target.size)
    return _one_hot(xp, safe, cdim, logp.shape[cdim], logp.ndim) * -scale


def softmax(xp, x, dim):
    """exp(x - max) over its sum along ``dim`` (cross_entropy's gradient takes it too)."""
    if x.size == 0:  # an empty tensor's (the max below has no identity)
        return x.copy()
    e = xp.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax(xp, x, dim):
    if x.size == 0:
        return x.copy()
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))


def cross_entropy(xp, scores, target, reduction="mean", ignore_index=-100):
    """``torch.nn.functional.cross_entropy`` with class-index targets: log_softmax and nll_loss in one op.

    Fused, so the backward is one expression (softmax minus the one-hot target) and
    no (N, C) log-probabilities are kept between forward and backward.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    cdim, valid, safe = _targets(xp, scores, target, ignore_index, "cross_entropy")
    if scores.ndim == 2 and valid is None:
        # the common case, (N, C) with every target a class: only the N picked log-probabilities are
        # formed (the same float operations as the full log_softmax's), with one fancy index
        shifted = scores - scores.max(axis=1, keepdims=True)
        lse = xp.log(xp.exp(shifted).sum(axis=1))
        picked = shifted[xp.arange(scores.shape[0]), target]
        picked -= lse
        return _reduce_loss(xp, xp.negative(picked, out=picked), None, reduction, "cross_entropy")
    logp = log_softmax(xp, scores, cdim)
    return _reduce_loss(xp, _picked_loss(xp, logp, cdim, valid, safe), valid, reduction, "cross_entropy")


def cross_entropy_grad(xp, g, ans, scores, target, reduction="mean", ignore_index=-100):
    cdim, valid, safe = _targets(xp, scores, target, ignore_index, "cross_entropy", check=False)
    probs = softmax(xp, scores, cdim)  # one exp an element (exp of the log-softmax would take two)
    scale = _loss_grad_scale(xp, g, valid, reduction, cdim, scores.dtype, target.size)
    if scores.ndim == 2 and valid is None:  # (probs - one_hot) * scale, without forming the one-hot matrix
        probs[xp.arange(scores.shape[0]), target] -= 1
        probs *= scale
        return probs
    return (probs - _one_hot(xp, safe, cdim, scores.shape[cdim], scores.ndim)) * scale


# --- dropout: the uniform samples come from the session's generator (a ``rand`` tensor) ------------


# --- losses over probabilities and logits: elementwise, target of the input's shape and dtype ---------


def _binary_targets(x, target, name):
    if tuple(target.shape) != tuple(x.shape):
        raise ValueError(f"{name}: Target size ({list(target.shape)}) must be the same as input size ({list(x.shape)})")
    if target.dtype != x.dtype:
        raise TypeError(f"{name}: expected target of the input's dtype {x.dtype} (probabilities), but got {target.dtype}")


def _mean_or_sum(loss, reduction):
    if reduction == "none":
        return loss
    if reduction in ("mean", "sum"):
        return loss.mean() if reduction == "mean" else loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _elementwise_loss_scale(xp, g, reduction, size):
    """d loss / d per-element loss: g itself for 'none', else g spread evenly (mean) or as is (sum)."""
    return g if reduction == "none" else g / size if reduction == "mean" else g


def sigmoid(xp, x):
    """The logistic function (silu's, softplus's and binary_cross_entropy_with_logits' gradients take it too)."""
    if x.dtype.kind == "c":
        return 1 / (1 + xp.exp(-x))
    # exp of a non-positive number never overflows: stable at both ends. 1 / (1 + e) where x >= 0, e / (1 + e)
    # elsewhere, the numerator chosen by a maximum (e <= 1): a select by sign through xp.where mispredicts a branch
    # per element on NumPy, four times the cost
    e = xp.exp(-xp.abs(x))
    return xp.asarray(xp.maximum(e, x >= 0) / (1 + e))  # (an array for a 0-d x too, as where gave)


def binary_cross_entropy_with_logits(xp, x, target, reduction="mean"):
    """``F.binary_cross_entropy_with_logits``: max(x, 0) - x y + log(1 + exp(-|x|)), stable for any logit."""
    _binary_targets(x, target, "binary_cross_entropy_with_logits")
    return _mean_or_sum(xp.maximum(x, 0) - x * target + xp.log1p(xp.exp(-xp.abs(x))), reduction)


def binary_cross_entropy_with_logits_grad(xp, g, ans, x, target, reduction="mean", *, argnum):
    scale = _elementwise_loss_scale(xp, g, reduction, x.size)
    if argnum == 0:  # sigmoid(x) - y
        return (sigmoid(xp, x) - target) * scale
    return -x * scale


_LOG_FLOOR = -100.0  # PyTorch clamps BCE's logs here, so a probability of 0 or 1 costs 100, not inf


def binary_cross_entropy(xp, p, target, reduction="mean"):
    """``F.binary_cross_entropy`` of probabilities ``p``: -(y log p + (1 - y) log(1 - p)), each log at least -100."""
    _binary_targets(p, target, "binary_cross_entropy")
    if p.size and bool(((p < 0) | (p > 1)).any()):
        raise ValueError("all elements of input should be between 0 and 1")
    return _mean_or_sum(-(target * xp.maximum(xp.log(p), _LOG_FLOOR) + (1 - target) * xp.maximum(xp.log1p(-p), _LOG_FLOOR)), reduction)


def binary_cross_entropy_grad(xp, g, ans, p, target, reduction="mean", *, argnum):
    scale = _elementwise_loss_scale(xp, g, reduction, p.size)
    if argnum == 0:
        return (p - target) / xp.maximum((1 - p) * p, 1e-12) * scale  # PyTorch's EPSILON
    return (xp.maximum(xp.log1p(-p), _LOG_FLOOR) - xp.maximum(xp.log(p), _LOG_FLOOR)) * scale


def _keep_scale(p):
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return 0.0 if p == 1 else 1.0 / (1.0 - p)


def dropout(xp, x, uniform, p=0.5):
    """Zero each element where its uniform sample is below ``p``; scale the rest by 1 / (1 - p)."""
    if uniform.shape != x.shape:
        raise ValueError(f"dropout: samples of shape {list(uniform.shape)} for an input of shape {list(x.shape)}")
    return x * ((uniform >= p) * _keep_scale(p)).astype(x.dtype)


def dropout_grad(xp, g, ans, x, uniform, p=0.5):
    # (g * mask) * scale in g's dtype, as PyTorch's native_dropout_backward; bitwise the forward's factor
    return g * (uniform >= p).astype(g.dtype) * _keep_scale(p)
