"""Linear algebra on batches of matrices (``torch.linalg``'s inv, det, slogdet, solve, cholesky, eigvalsh, svdvals):
the forwards, checked and worded as PyTorch's, and their VJP rules.

Each works on ``(..., n, n)`` stacks through ``xp.linalg`` (NumPy's LAPACK, CuPy's cuSOLVER). NumPy raises for a
singular matrix or one that is not positive-definite; CuPy gives NaNs there, as its LAPACK calls do not check.
"""

from __future__ import annotations

import numpy  # (numpy.broadcast_shapes: of shapes, on any device; CuPy has none)

from . import ops  # (ops imports this module: its names are read when called)


def _square(xp, a, name):
    if a.dtype.kind != "f":
        raise TypeError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got {_torch_type(a.dtype)}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        if a.ndim < 2:
            raise ValueError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
        raise ValueError(f"linalg.{name}: A must be batches of square matrices, but they are {a.shape[-2]} by {a.shape[-1]} matrices")


def _torch_type(dtype):
    return {"int64": "Long", "int32": "Int", "bool": "Bool", "int16": "Short", "int8": "Char", "uint8": "Byte"}.get(dtype.name, dtype.name)


def _mT(a):
    return a.swapaxes(-1, -2)


def _lapack(xp, name, call):
    """``call()``, NumPy's LinAlgError in PyTorch's words."""
    try:
        return call()
    except getattr(xp.linalg, "LinAlgError", numpy.linalg.LinAlgError) as error:
        if name == "cholesky":
            raise ValueError("linalg.cholesky: The factorization could not be completed because the input is not positive-definite.") from None
        raise ValueError(f"linalg.{name}: The inversion could not be completed because the input matrix is singular. ({error})") from None


def inv(xp, a):
    _square(xp, a, "inv")
    return _lapack(xp, "inv", lambda: xp.linalg.inv(a))


def inv_grad(xp, g, ans, a):
    """d inv(A) = -inv(A) dA inv(A): the gradient is -inv(A)^T g inv(A)^T."""
    return -(_mT(ans) @ g @ _mT(ans))


def det(xp, a):
    _square(xp, a, "det")
    return xp.linalg.det(a)


def det_grad(xp, g, ans, a):
    """g times the adjugate's transpose, from an SVD (A = U S V^T: adj(A)^T = det(U) det(V) U diag(prod of the other
    singular values) V^T), which is right for singular matrices too, where det(A) A^-T is not defined."""
    u, s, vt = xp.linalg.svd(a)
    others = ops.products_of_others(xp, s)
    scale = (g * xp.linalg.det(u) * xp.linalg.det(vt))[..., None, None]
    return scale * ((u * others[..., None, :]) @ vt)


def slogdet(xp, a):
    """log |det(A)| (the differentiable half of ``torch.linalg.slogdet``; its sign is ``slogdet_sign``)."""
    _square(xp, a, "slogdet")
    return xp.linalg.slogdet(a)[1]


def slogdet_sign(xp, a):
    _square(xp, a, "slogdet")
    return xp.linalg.slogdet(a)[0]


def slogdet_grad(xp, g, ans, a):
    """d log|det A| = tr(A^-1 dA): the gradient is g A^-T."""
    return g[..., None, None] * _mT(_lapack(xp, "slogdet", lambda: xp.linalg.inv(a)))


def _is_vector(a, b):
    """PyTorch's rule: B is a vector, or a batch of them, where it is 1-D or A's shape without its last dim."""
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))


def _as_matrix(a, b):
    """B as a stack of matrices, and whether it was a stack of vectors."""
    vector = _is_vector(a, b)
    return (b[..., None] if vector else b), vector


def solve(xp, a, b):
    """X with A X = B, as ``torch.linalg.solve`` (B a vector, or a batch of them, where it has one dim fewer than A)."""
    _square(xp, a, "solve")
    if b.dtype.kind != "f":
        raise TypeError(f"linalg.solve: Expected a floating point tensor as B. Got {_torch_type(b.dtype)}")
    matrix, vector = _as_matrix(a, b)
    if matrix.ndim < 2 or matrix.shape[-2] != a.shape[-1]:
        columns = matrix.shape[-1] if matrix.ndim >= 2 else 1
        raise ValueError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({a.shape[-2]}x{a.shape[-1]} and "
                         f"{matrix.shape[-2] if matrix.ndim >= 2 else matrix.shape[-1]}x{columns})")
    batch = numpy.broadcast_shapes(a.shape[:-2], matrix.shape[:-2])
    x = _lapack(xp, "solve", lambda: xp.linalg.solve(xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(matrix, batch + matrix.shape[-2:])))
    return x[..., 0] if vector else x


def solve_grad(xp, g, ans, a, b, *, argnum):
    """B's gradient solves A^T G_B = g; A's is -G_B X^T (the walk sums broadcast batch dims back)."""
    vector = _is_vector(a, b)
    g_matrix = g[..., None] if vector else g
    batch = numpy.broadcast_shapes(a.shape[:-2], g_matrix.shape[:-2])
    g_b = xp.linalg.solve(xp.broadcast_to(_mT(a), batch + a.shape[-2:]), xp.broadcast_to(g_matrix, batch + g_matrix.shape[-2:]))
    if argnum == 1:
        return g_b[..., 0] if vector else g_b
    x = ans[..., None] if vector else ans
    return -(g_b @ _mT(x))


def eigvalsh(xp, a, upper=False):
    """The eigenvalues of each symmetric matrix, ascending (its lower triangle read, or ``upper``)."""
    _square(xp, a, "eigvalsh")
    return xp.linalg.eigvalsh(a, UPLO="U" if upper else "L")


def eigvalsh_grad(xp, g, ans, a, upper=False):
    """d w_i = v_i^T dA v_i: the gradient is V diag(g) V^T (the eigenvectors found again)."""
    _, v = xp.linalg.eigh(a, UPLO="U" if upper else "L")
    return (v * g[..., None, :]) @ _mT(v)


def svdvals(xp, a):
    """The singular values of each matrix (..., m, n), descending."""
    if a.dtype.kind != "f":
        raise TypeError(f"linalg.svd: Expected a floating point or complex tensor as input. Got {_torch_type(a.dtype)}")
    if a.ndim < 2:
        raise ValueError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    return xp.linalg.svd(a, compute_uv=False)


def svdvals_grad(xp, g, ans, a):
    """d s_i = u_i^T dA v_i: the gradient is U diag(g) V^T (the singular vectors found again, thin)."""
    u, _, vt = xp.linalg.svd(a, full_matrices=False)
    return (u * g[..., None, :]) @ vt


def cholesky(xp, a, upper=False):
    _square(xp, a, "cholesky")
    lower = _lapack(xp, "cholesky", lambda: xp.linalg.cholesky(a))
    return _mT(lower) if upper else lower


def cholesky_grad(xp, g, ans, a, upper=False):
    """A = L L^T: with P = Phi(L^T g) (the lower triangle, its diagonal halved), the gradient is the symmetric part
    of L^-T P L^-1, as PyTorch's (which reads only the lower triangle of A's perturbation)."""
    lower, g_lower = (_mT(ans), _mT(g)) if upper else (ans, g)
    p = xp.tril(_mT(lower) @ g_lower)
    p = p - 0.5 * (xp.eye(p.shape[-1], dtype=p.dtype) * p)  # the diagonal halved
    left = xp.linalg.solve(_mT(lower), p)  # L^-T P
    full = _mT(xp.linalg.solve(_mT(lower), _mT(left)))  # (L^-T (L^-T P)^T)^T = L^-T P L^-1
    return 0.5 * (full + _mT(full))

