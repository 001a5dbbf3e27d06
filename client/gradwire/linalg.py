"""``gradwire.linalg``: PyTorch's ``torch.linalg`` norms, cross product, and inverse, determinants, solve and Cholesky
factor of batches of square matrices, their eigenvalues and singular values, as ops on the server (each
differentiable, and twice over but for ``det``, ``eigvalsh`` and ``svdvals``); the decompositions ``svd``, ``eigh``,
``qr`` and ``slogdet`` as one op each, its outputs sharing one backward node (differentiable twice over), and
``pinv``, ``lstsq``, ``matrix_rank``, ``matrix_power`` and ``multi_dot`` written with them."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from . import errors
from .tensor import Tensor, _op, slogdet_result

__all__ = ["cholesky", "cross", "det", "eigh", "eigvalsh", "inv", "lstsq", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot",
           "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "vector_norm"]

# torch.return_types' named tuples
svd_result = namedtuple("linalg_svd", ["U", "S", "Vh"])
eigh_result = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
qr_result = namedtuple("linalg_qr", ["Q", "R"])
lstsq_result = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
torch_svd_result = namedtuple("svd", ["U", "S", "V"])


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
    """``(sign, logabsdet)``, as ``torch.linalg.slogdet``: log |det A| without overflow, and the determinant's sign;
    one op, whose two outputs share one node (``LinalgSlogdetBackward0``; the sign passes no gradient back)."""
    batch = _batch(A, 2)
    return slogdet_result(*_op("slogdet", (A,), None, metas=[(batch, A._dtype)] * 2))


def _batch(A, drop):
    """A's shape without its last ``drop`` dims, where the client knows it (None where it does not)."""
    return None if A._shape is None or len(A._shape) < drop else tuple(A._shape[:-drop])


def _shaped(batch, *dims):
    return None if batch is None else batch + dims


def svd(A: Tensor, full_matrices=True) -> svd_result:
    """``(U, S, Vh)`` with A = U diag(S) Vh, S descending, as ``torch.linalg.svd``; one op, one node
    (``LinalgSvdBackward0``) for the three. Differentiable (twice) for ``full_matrices=False`` and square matrices;
    with full matrices of a non-square A, the columns of U and rows of Vh past min(m, n) get no gradient, as torch's.
    Singular vectors are unique up to sign only; a gradient through them is finite where the singular values differ."""
    m, n = (None, None) if A._shape is None or len(A._shape) < 2 else A._shape[-2:]
    batch, k = _batch(A, 2), None if m is None else min(m, n)
    u = _shaped(batch, m, m if full_matrices else k)
    vh = _shaped(batch, n if full_matrices else k, n)
    return svd_result(*_op("linalg_svd", (A,), {"full_matrices": bool(full_matrices)}, metas=[(u, A._dtype), (_shaped(batch, k), A._dtype), (vh, A._dtype)]))


def _torch_svd(A, some=True, compute_uv=True):
    """``torch.svd``: ``(U, S, V)``, V = Vh^T; ``some=False`` the full matrices; without ``compute_uv``, U and V zeros."""
    if not compute_uv:
        S = svdvals(A)
        m, n = A.shape[-2:]
        zeros = A._session.zeros
        return torch_svd_result(zeros(tuple(A.shape[:-2]) + (m, m), dtype=A.dtype), S, zeros(tuple(A.shape[:-2]) + (n, n), dtype=A.dtype))
    U, S, Vh = svd(A, full_matrices=not some)
    return torch_svd_result(U, S, Vh.mT)


def eigh(A: Tensor, UPLO="L") -> eigh_result:
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix, ascending, reading its lower triangle (or its upper with
    ``UPLO="U"``), as ``torch.linalg.eigh``; one op, one node (``LinalgEighBackward0``); the gradient is symmetric, as
    torch's, and finite where the eigenvalues differ. Eigenvectors are unique up to sign only."""
    if UPLO not in ("L", "U"):
        raise errors.InvalidArgumentError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    n = None if A._shape is None or len(A._shape) < 1 else A._shape[-1]
    batch = _batch(A, 2)
    return eigh_result(*_op("linalg_eigh", (A,), {"upper": True} if UPLO == "U" else None,
                            metas=[(_shaped(batch, n), A._dtype), (_shaped(batch, n, n), A._dtype)]))


def qr(A: Tensor, mode="reduced") -> qr_result:
    """``(Q, R)`` with A = QR, Q with orthonormal columns and R upper triangular, as ``torch.linalg.qr``: ``mode``
    "reduced" (Q m x k, R k x n), "complete" (Q m x m, R m x n) or "r" (R alone; Q an empty tensor). One op, one node
    (``LinalgQrBackward0``); differentiable (twice) but for mode "r" and "complete" with m > n, as torch's."""
    if mode not in ("reduced", "complete", "r"):
        raise errors.InvalidArgumentError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or 'complete'")
    m, n = (None, None) if A._shape is None or len(A._shape) < 2 else A._shape[-2:]
    batch, k = _batch(A, 2), None if m is None else min(m, n)
    if mode == "r":
        metas = [((0,), A._dtype), (_shaped(batch, k, n), A._dtype)]
    elif mode == "complete":
        metas = [(_shaped(batch, m, m), A._dtype), (_shaped(batch, m, n), A._dtype)]
    else:
        metas = [(_shaped(batch, m, k), A._dtype), (_shaped(batch, k, n), A._dtype)]
    return qr_result(*_op("linalg_qr", (A,), {"mode": mode}, metas=metas))


def _tolerance(S, A, atol, rtol):
    """torch's cutoff for singular values: max(atol, rtol * the largest), rtol eps * max(m, n) where neither is given."""
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else np.finfo(A.dtype).eps * max(A.shape[-2:])
    cutoff = rtol * S.amax(-1, keepdim=True)
    if atol is not None:
        cutoff = cutoff.clamp_min(atol)
    return cutoff


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian=False, tol=None) -> Tensor:
    """The number of singular values (eigenvalues' absolute values, ``hermitian``) above max(atol, rtol * the largest),
    as ``torch.linalg.matrix_rank`` (int64; ``tol`` the old absolute one)."""
    if tol is not None:
        atol, rtol = tol, 0.0
    S = eigvalsh(A).abs() if hermitian else svdvals(A)
    return (S > _tolerance(S, A, atol, rtol)).sum(-1)


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian=False) -> Tensor:
    """The Moore-Penrose pseudo-inverse, as ``torch.linalg.pinv``: from the SVD (the eigendecomposition where
    ``hermitian``), singular values at most max(atol, rtol * the largest) taken as zero. Its gradient goes through
    the decomposition's: finite where the singular values kept differ from each other."""
    if hermitian:
        w, V = eigh(A)
        keep = w.abs() > _tolerance(w.abs(), A, atol, rtol)
        inverse = keep / _where(keep, w, 1.0)
        return (V * inverse.unsqueeze(-2)) @ V.mT
    U, S, Vh = svd(A, full_matrices=False)
    keep = S > _tolerance(S, A, atol, rtol)
    inverse = keep / _where(keep, S, 1.0)  # 1/s where kept, 0 elsewhere (no 1/0 to differentiate)
    return (Vh.mT * inverse.unsqueeze(-2)) @ U.mT


def _where(condition, x, y):
    from .tensor import where

    return where(condition, x, y)


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None) -> lstsq_result:
    """The least-squares solution X of A X = B, as ``torch.linalg.lstsq`` (the minimum-norm one, from ``pinv``, which
    is what LAPACK's gelsy, gelsd and gelss give too). The other fields as torch's CPU drivers fill them: ``rank`` for
    all but "gels"; ``singular_values`` for "gelsd" and "gelss"; ``residuals`` (the squared residuals of each column)
    for all but "gelsy" where m > n (torch fills them only where A has full rank too: here they are always
    computed); fields a driver leaves unfilled are empty tensors."""
    if driver is None:
        driver = "gelsy"  # torch's default on the CPU
    if driver not in _LSTSQ_DRIVERS:
        raise errors.InvalidArgumentError(f"parameter `driver` should be one of (gels, gelsy, gelsd, gelss), but got {driver}")
    if B.ndim < 2:
        raise errors.InvalidArgumentError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and (input.dim() - other.dim()) <= 1")
    m, n = A.shape[-2:]
    if B.shape[-2] != m:
        raise errors.InvalidArgumentError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2) ({m} != {B.shape[-2]})")
    rtol = np.finfo(A.dtype).eps * max(m, n) if rcond is None or rcond < 0 else rcond
    session = A._session
    empty = session.tensor(np.zeros((0,), dtype=A.dtype))
    if driver == "gels":  # QR, full rank taken: no rank computed
        solution = pinv(A, rtol=0.0)
        rank = session.tensor(np.zeros((0,), dtype=np.int64))
    else:
        solution = pinv(A, rtol=rtol)
        rank = matrix_rank(A, rtol=rtol)
    X = solution @ B
    singular_values = svdvals(A) if driver in ("gelsd", "gelss") else empty
    residuals = ((A @ X - B) ** 2).sum(-2) if driver != "gelsy" and m > n else empty
    return lstsq_result(X, residuals, rank, singular_values)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A^n by repeated squaring, as ``torch.linalg.matrix_power``: n = 0 the identity, n < 0 the inverse's power."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise errors.InvalidArgumentError(
            f"linalg.matrix_power: A must be batches of square matrices, but they are {A.shape[-2] if A.ndim >= 2 else 1} by {A.shape[-1]} matrices")
    if n == 0:
        eye = np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), tuple(A.shape))
        return A._session.tensor(np.ascontiguousarray(eye))
    if n < 0:
        A, n = inv(A), -n
    result, square = None, A
    while True:
        if n & 1:
            result = square if result is None else result @ square
        n >>= 1
        if not n:
            return result
        square = square @ square


def multi_dot(tensors) -> Tensor:
    """The product of the matrices in ``tensors`` (the first may be a vector, taken as a row, the last a column), as
    ``torch.linalg.multi_dot``: multiplied left to right (torch picks the cheapest order: the same values, up to rounding)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise errors.InvalidArgumentError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        expected = 2 if 0 < i < len(tensors) - 1 else (1, 2)
        if (t.ndim not in expected) if isinstance(expected, tuple) else t.ndim != expected:
            which = "first" if i == 0 else "last" if i == len(tensors) - 1 else None
            if which:
                raise errors.InvalidArgumentError(f"multi_dot(): the {which} tensor must be 1D or 2D but got {t.ndim}D")
            raise errors.InvalidArgumentError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


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
