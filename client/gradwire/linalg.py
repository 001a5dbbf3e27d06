"""``gradwire.linalg``: PyTorch's ``torch.linalg`` norms, cross product, and inverse, determinants, solve and Cholesky
factor of batches of square matrices, their eigenvalues and singular values, as ops on the server (each
differentiable, and twice over but for ``det``, ``eigvalsh`` and ``svdvals``)."""

from __future__ import annotations

import math

from . import errors
from .tensor import Tensor, _op

__all__ = ["cholesky", "cross", "det", "eigvalsh", "inv", "matrix_norm", "norm", "slogdet", "solve", "svdvals", "vector_norm"]


def eigvalsh(A: Tensor, UPLO="L") -> Tensor:
    """The eigenvalues, ascending, of each symmetric matrix (its lower triangle read, or its upper with ``UPLO="U"``),
    as ``torch.linalg.eigvalsh``; differentiable (V diag(g) V^T), once."""
    if UPLO not in ("L", "U"):
        raise errors.InvalidArgumentError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _op("eigvalsh", (A,), {"upper": True} if UPLO == "U" else None)


def svdvals(A: Tensor) -> Tensor:
    """The singular values, descending, of each matrix (..., m, n), as ``torch.linalg.svdvals``; differentiable
    (U diag(g) V^T), once."""
    return _op("svdvals", (A,))


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix of ``A`` (..., n, n), as ``torch.linalg.inv``."""
    return A.inverse()


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix, as ``torch.linalg.det`` (its gradient at a singular matrix is the
    adjugate's transpose, the derivative; PyTorch's is zero there)."""
    return A.det()


def slogdet(A: Tensor):
    """``(sign, logabsdet)``, as ``torch.linalg.slogdet``: log |det A| without overflow, and the determinant's sign."""
    return A.slogdet()


def solve(A: Tensor, B: Tensor, *, left=True) -> Tensor:
    """X with A X = B, as ``torch.linalg.solve``: B a vector (or a batch of them, B of A's shape without its last dim)
    or a matrix; batch dims broadcast."""
    if not left:
        raise errors.UnimplementedError("linalg.solve: left=False is not supported; solve A^T X^T = B^T instead")
    return _op("solve", (A, B))


def cholesky(A: Tensor, *, upper=False) -> Tensor:
    """The lower (or ``upper``) triangular L with A = L L^T of each symmetric positive-definite matrix, as
    ``torch.linalg.cholesky`` (reading A's lower triangle; its gradient symmetric, as PyTorch's)."""
    return _op("cholesky", (A,), {"upper": True} if upper else None)


def cross(input: Tensor, other: Tensor, *, dim=-1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the last by default), as ``torch.linalg.cross``."""
    return input.cross(other, dim)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """``(sum |x|^ord)^(1/ord)`` over ``dim`` (all elements by default); ``inf``/``-inf`` the largest/smallest ``|x|``,
    ``0`` the count of nonzeros, as ``torch.linalg.vector_norm``."""
    x = x if dtype is None else x.to(dtype)
    return x.norm(float(ord), dim, keepdim)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None) -> Tensor:
    """The Frobenius norm, the largest (``ord=inf``: rows', ``1``: columns') absolute sum or the smallest (``-inf``,
    ``-1``), the spectral norm (``2``: the largest singular value; ``-2`` the smallest) or the nuclear norm
    (``"nuc"``: their sum), over the two dims ``dim``, as ``torch.linalg.matrix_norm``."""
    A = A if dtype is None else A.to(dtype)
    if len(dim) != 2:
        raise errors.InvalidArgumentError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {tuple(dim)}")
    rows, columns = (d % A.ndim for d in dim)
    if ord == "fro":
        return A.norm(2.0, (rows, columns), keepdim)
    if ord in (math.inf, -math.inf, 1, -1):
        summed, across = (columns, rows) if ord in (math.inf, -math.inf) else (rows, columns)
        sums = A.abs().sum(summed, keepdim=True)
        out = sums.amax(across, keepdim=True) if ord > 0 else sums.amin(across, keepdim=True)
        return out if keepdim else out.squeeze((rows, columns))
    if ord in (2, -2, "nuc"):  # from the singular values: the largest, the smallest, their sum
        moved = A.movedim((rows, columns), (-2, -1))
        values = svdvals(moved)
        out = values.sum(-1) if ord == "nuc" else values.amax(-1) if ord == 2 else values.amin(-1)
        return out.unsqueeze(-1).unsqueeze(-1).movedim((-2, -1), (rows, columns)) if keepdim else out
    raise errors.InvalidArgumentError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A: Tensor, ord=None, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector norm over one dim (or all elements of a vector, or of anything when
    ``ord`` is None), a matrix norm over two."""
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if (dim is not None and len(dim) == 2) or (dim is None and A.ndim == 2):
        return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    if ord == "fro" or ord == "nuc":
        raise errors.InvalidArgumentError(f"linalg.norm: order {ord} not supported for a vector norm")
    if dim is None and A.ndim != 1:
        raise errors.InvalidArgumentError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {A.ndim}D.")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)
