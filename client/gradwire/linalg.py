"""``gradwire.linalg``: PyTorch's ``torch.linalg`` norms, cross product, and inverse, determinants, solve and Cholesky
factor of batches of square matrices, their eigenvalues and singular values, as ops on the server (each
differentiable, and twice over but for ``det``, ``eigvalsh`` and ``svdvals``); the decompositions ``svd``, ``eigh``,
``qr`` and ``slogdet`` as one op each, its outputs sharing one backward node (differentiable twice over), and
``pinv``, ``lstsq``, ``matrix_rank``, ``matrix_power`` and ``multi_dot`` written with them; LU with partial pivoting
(``lu_factor``/``lu_factor_ex``, one op) and triangular solves (``solve_triangular``, one op), and on them ``lu``,
``lu_solve``, ``lu_unpack``, the ``*_ex`` variants with their int32 ``info``, ``cholesky_solve``/``cholesky_inverse``
and ``triangular_solve``; ``matrix_exp``, ``householder_product``, ``cond``, ``tensorinv``, ``tensorsolve`` and the
small ones written with ops. ``LinAlgError`` is raised, as torch's, for a singular or indefinite matrix."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from . import errors
from .tensor import _CPP_TYPE_NAMES, _TENSOR_TYPE_NAMES, Tensor, _dtypes_differ, _op, slogdet_result

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigvals", "eigh", "eigvalsh", "householder_product", "inv", "inv_ex", "lstsq", "lu",
           "ldl_factor", "ldl_factor_ex", "ldl_solve", "lu_factor", "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm",
           "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot",
           "vector_norm"]

# torch.return_types' named tuples
svd_result = namedtuple("linalg_svd", ["U", "S", "Vh"])
eigh_result = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
eig_result = namedtuple("linalg_eig", ["eigenvalues", "eigenvectors"])
_FLOAT64, _COMPLEX64, _COMPLEX128 = np.dtype(np.float64), np.dtype(np.complex64), np.dtype(np.complex128)
qr_result = namedtuple("linalg_qr", ["Q", "R"])
lstsq_result = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
torch_svd_result = namedtuple("svd", ["U", "S", "V"])
torch_qr_result = namedtuple("qr", ["Q", "R"])


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


def eig(A: Tensor) -> eig_result:
    """``(eigenvalues, eigenvectors)`` of each square matrix, complex (of a real matrix too), the eigenvectors of norm 1,
    as ``torch.linalg.eig``; one op, one node (``LinalgEigBackward0``), PyTorch's gradient (refused, in its words, for a
    loss that depends on the eigenvectors' phases). On a GPU it is computed on the server's host, as CuPy has none."""
    n = None if A._shape is None or len(A._shape) < 1 else A._shape[-1]
    batch = _batch(A, 2)
    dtype = None if A._dtype is None else _COMPLEX128 if A._dtype in (_FLOAT64, _COMPLEX128) else _COMPLEX64
    return eig_result(*_op("linalg_eig", (A,), metas=[(_shaped(batch, n), dtype), (_shaped(batch, n, n), dtype)]))


def eigvals(A: Tensor) -> Tensor:
    """The eigenvalues of each square matrix, complex, as ``torch.linalg.eigvals`` (``eig``'s first output)."""
    return eig(A).eigenvalues


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
    for i, t in enumerate(tensors[1:], 1):
        if _dtypes_differ(tensors[0], t):
            raise errors.InvalidArgumentError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                                              f"{_CPP_TYPE_NAMES[tensors[0].dtype]} and tensor {i} {_CPP_TYPE_NAMES[t.dtype]}")
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


def solve(A: Tensor, B: Tensor, *, left=True) -> Tensor:
    """X with A X = B (X A = B where not ``left``), as ``torch.linalg.solve``: B a vector (or a batch of them, B of A's
    shape without its last dim) or a matrix; batch dims broadcast."""
    if not left:  # X A = B is A^T X^T = B^T
        if B.ndim < 2:
            raise errors.InvalidArgumentError(f"linalg.solve: Incompatible shapes of A and B for the equation XA = B "
                                              f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-1]}x1)")
        return _op("solve", (A.mT, B.mT)).mT
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


# --- the *_ex variants, LU, triangular solves, and what is written with them ---------------------------------------

LinAlgError = errors.LinAlgError

cholesky_ex_result = namedtuple("linalg_cholesky_ex", ["L", "info"])
inv_ex_result = namedtuple("linalg_inv_ex", ["inverse", "info"])
solve_ex_result = namedtuple("linalg_solve_ex", ["result", "info"])
lu_factor_result = namedtuple("linalg_lu_factor", ["LU", "pivots"])
lu_factor_ex_result = namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])
lu_result = namedtuple("linalg_lu", ["P", "L", "U"])
lu_unpack_result = namedtuple("lu_unpack", ["P", "L", "U"])
triangular_solve_result = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])
geqrf_result = namedtuple("geqrf", ["a", "tau"])


def geqrf(A: Tensor) -> geqrf_result:
    """``(a, tau)``, LAPACK's QR in Householder form, as ``torch.geqrf``: R on and above the diagonal of ``a``, the
    reflectors below it, their scales ``tau`` (``householder_product(a, tau)`` is Q). One op; not differentiable
    (torch's backward through it raises)."""
    batch = _batch(A, 2)
    k = None if A._shape is None or len(A._shape) < 2 else min(A._shape[-2:])
    a, tau = _op("geqrf", (A,), None, extras=[(_shaped(batch, k), A._dtype)])
    return geqrf_result(a, tau)


def cholesky_ex(A: Tensor, *, upper=False, check_errors=False) -> cholesky_ex_result:
    """``(L, info)``, as ``torch.linalg.cholesky_ex``: info (int32, one per matrix) the order of the first leading minor
    that is not positive-definite, 0 where the factorization succeeded; no error then (its L is NaN, where torch's
    holds LAPACK's partial factor) unless ``check_errors``. Differentiable as ``cholesky``."""
    L, info = _op("cholesky_ex", (A,), {"upper": True} if upper else None, extras=[(_batch(A, 2), np.int32)])
    if check_errors:  # (info read back: one round trip)
        _check_info(info, "linalg.cholesky_ex", lambda k: "The factorization could not be completed because the input is not "
                    f"positive-definite (the leading minor of order {k} is not positive-definite).", errors.LinAlgError)
    return cholesky_ex_result(L, info)


def lu_factor_ex(A: Tensor, *, pivot=True, check_errors=False) -> lu_factor_ex_result:
    """``(LU, pivots, info)`` of each matrix (..., m, n), as ``torch.linalg.lu_factor_ex``: partial pivoting (LAPACK's
    getrf), L (unit diagonal, implied) below the diagonal of LU and U on and above it; pivots 1-based int32 row swaps;
    info (int32) the first zero pivot's 1-based column, 0 where none. One op; LU differentiable (square, wide and tall),
    twice over."""
    if not pivot:
        raise errors.InvalidArgumentError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    batch = _batch(A, 2)
    k = None if A._shape is None or len(A._shape) < 2 else min(A._shape[-2:])
    LU, pivots, info = _op("lu_factor", (A,), None, extras=[(_shaped(batch, k), np.int32), (batch, np.int32)])
    if check_errors:
        _check_info(info, "torch.linalg.lu_factor_ex", _lu_words)
    return lu_factor_ex_result(LU, pivots, info)


def _lu_words(k):
    return (f"U[{k},{k}] is zero and using it on lu_solve would result in a division by zero. If you still want to perform the "
            "factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def _check_info(info, name, words, cls=errors.InvalidArgumentError):
    """torch's eager check of ``info`` (one round trip: the values are read here)."""
    values = np.asarray(info.numpy())
    if values.any():
        flat = values.reshape(-1)
        bad = int(np.flatnonzero(flat)[0])
        where = f"(Batch element {bad}): " if values.ndim else ""
        raise cls(f"{name}: {where}{words(int(flat[bad]))}")


def lu_factor(A: Tensor, *, pivot=True) -> lu_factor_result:
    """``(LU, pivots)``, as ``torch.linalg.lu_factor``: ``lu_factor_ex``, and torch's error where a pivot is zero
    (which reads info back: one round trip)."""
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    _check_info(info, "torch.linalg.lu_factor", _lu_words)
    return lu_factor_result(LU, pivots)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data=True, unpack_pivots=True) -> lu_unpack_result:
    """``(P, L, U)`` from ``lu_factor``'s packed factors, A = P L U, as ``torch.lu_unpack`` (P a permutation matrix of
    LU's dtype; an empty tensor for what is not unpacked). L and U are differentiable, as torch's."""
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    session = LU_data._session
    empty = session.tensor(np.zeros((0,), dtype=LU_data.dtype))
    if unpack_data:
        eye = session.tensor(np.eye(m, k, dtype=LU_data.dtype))
        L = LU_data[..., :, :k].tril(-1) + eye
        U = LU_data[..., :k, :].triu()
    else:
        L = U = empty
    P = _permutation_matrix(LU_pivots, m, LU_data.dtype) if unpack_pivots else empty
    return lu_unpack_result(P, L, U)


def _permutation_matrix(pivots, m, dtype):
    """P with P[perm[i], i] = 1 (A = P L U), from LAPACK's pivots; built on the server."""
    perm = _op("lu_permutation", (pivots,), {"m": int(m)})
    rows = pivots._session.tensor(np.arange(m, dtype=np.int64).reshape(m, 1))
    return (perm.unsqueeze(-2) == rows).to(dtype)


def lu(A: Tensor, *, pivot=True) -> lu_result:
    """``(P, L, U)`` with A = P L U, as ``torch.linalg.lu`` (no error for a singular matrix); L and U differentiable."""
    LU, pivots, _ = lu_factor_ex(A, pivot=pivot)
    return lu_result(*lu_unpack(LU, pivots))


def solve_triangular(A: Tensor, B: Tensor, *, upper, left=True, unitriangular=False) -> Tensor:
    """X with A X = B (X A = B where not ``left``), A upper (or lower) triangular, as ``torch.linalg.solve_triangular``:
    only that triangle of A is read (not its diagonal where ``unitriangular``); batch dims broadcast; a zero on the
    diagonal gives inf/nan, as torch's. One op; differentiable in A (that triangle) and B."""
    if not left:  # X A = B is A^T X^T = B^T
        return solve_triangular(A.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT
    params = {k: True for k, v in (("upper", upper), ("unitriangular", unitriangular)) if v}
    return _op("solve_triangular", (A, B), params or None)


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left=True, adjoint=False) -> Tensor:
    """X with A X = B (A^T X = B where ``adjoint``; X A = B where not ``left``), A = P L U given by ``lu_factor``, as
    ``torch.linalg.lu_solve``; differentiable in LU and B."""
    if not left:  # X A = B is A^T X^T = B^T; X A^T = B is A X^T = B^T
        return lu_solve(LU, pivots, B.mT, left=True, adjoint=not adjoint).mT
    P, L, U = lu_unpack(LU, pivots)
    if adjoint:  # U^T L^T P^T X = B
        Y = solve_triangular(U.mT, B, upper=False)
        return P @ solve_triangular(L.mT, Y, upper=True, unitriangular=True)
    Y = solve_triangular(L, P.mT @ B, upper=False, unitriangular=True)
    return solve_triangular(U, Y, upper=True)


ldl_factor_result = namedtuple("linalg_ldl_factor", ["LD", "pivots"])
ldl_factor_ex_result = namedtuple("linalg_ldl_factor_ex", ["LD", "pivots", "info"])


def ldl_factor_ex(A: Tensor, *, hermitian=False, check_errors=False) -> ldl_factor_ex_result:
    """``(LD, pivots, info)`` of each symmetric (``hermitian``: Hermitian) matrix from its lower triangle, as
    ``torch.linalg.ldl_factor_ex``: LAPACK's Bunch-Kaufman LDL^T (sytrf), L's unit diagonal implied, D's 1x1 and 2x2
    blocks in LD, pivots LAPACK's (int32, 1-based, a negative pair for a 2x2 block), info the 1-based place of a zero
    block of D. One op; a backward through it raises, as torch's."""
    batch = _batch(A, 2)
    n = None if batch is None else A._shape[-1]
    LD, pivots, info = _op("ldl_factor", (A,), {"hermitian": True} if hermitian else None,
                           extras=[(_shaped(batch, n), np.int32), (batch, np.int32)])
    if check_errors:
        _check_info(info, "torch.linalg.ldl_factor_ex", _ldl_words, errors.LinAlgError)
    return ldl_factor_ex_result(LD, pivots, info)


def ldl_factor(A: Tensor, *, hermitian=False) -> ldl_factor_result:
    """``(LD, pivots)``, as ``torch.linalg.ldl_factor``: ``ldl_factor_ex``, refusing a matrix whose D is singular
    (which reads info back: one round trip). PyTorch 2.13 means to refuse it too, and fails an internal assert there."""
    LD, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    _check_info(info, "torch.linalg.ldl_factor", _ldl_words, errors.LinAlgError)
    return ldl_factor_result(LD, pivots)


def _ldl_words(k):  # (LAPACK's own account of sytrf's info)
    return f"D({k},{k}) is exactly zero. The factorization has been completed, but the block diagonal matrix D is exactly singular."


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian=False) -> Tensor:
    """X with A X = B for A factored by ``ldl_factor`` (``LD``, ``pivots``), batches broadcast, as
    ``torch.linalg.ldl_solve`` (LAPACK's sytrs); a backward through it raises, as torch's."""
    if pivots._dtype is not None and pivots._dtype.kind not in "iu":  # (the dtype checks at the call; the server's too)
        raise errors.InvalidArgumentError(f"torch.linalg.ldl_solve: Expected pivots to be integers. Got {_TENSOR_TYPE_NAMES.get(pivots._dtype)}")
    if _dtypes_differ(LD, B):
        raise errors.InvalidArgumentError(f"Expected b and A to have the same dtype, but found b of type {_TENSOR_TYPE_NAMES.get(B._dtype)} "
                                          f"and A of type {_TENSOR_TYPE_NAMES.get(LD._dtype)} instead.")
    return _op("ldl_solve", (LD, pivots, B), {"hermitian": True} if hermitian else None)


def inv_ex(A: Tensor, *, check_errors=False) -> inv_ex_result:
    """``(inverse, info)``, as ``torch.linalg.inv_ex``: from the LU factors (a singular matrix gives inf/nan and its
    info the first zero pivot, no error unless ``check_errors``); differentiable as ``inv``."""
    _square_check(A, "linalg.inv_ex")
    LU, pivots, info = lu_factor_ex(A)
    if check_errors:
        _check_info(info, "linalg.inv_ex", _singular_words, errors.LinAlgError)
    eye = A._session.tensor(np.eye(A.shape[-1], dtype=A.dtype))
    return inv_ex_result(lu_solve(LU, pivots, eye), info)


def _singular_words(k):
    return f"The diagonal element {k} is zero, the inversion could not be completed because the input matrix is singular."


def _square_check(A, name):
    if A.ndim < 2:
        raise errors.InvalidArgumentError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise errors.InvalidArgumentError(f"{name}: A must be batches of square matrices, but they are {A.shape[-2]} by {A.shape[-1]} matrices")


def solve_ex(A: Tensor, B: Tensor, *, left=True, check_errors=False) -> solve_ex_result:
    """``(result, info)``, as ``torch.linalg.solve_ex``: from the LU factors (no error for a singular A unless
    ``check_errors``: inf/nan, and its info the first zero pivot)."""
    _square_check(A, "linalg.solve_ex")
    LU, pivots, info = lu_factor_ex(A)
    if check_errors:
        _check_info(info, "torch.linalg.solve_ex", lambda k: "The solver failed because the input matrix is singular.", errors.LinAlgError)
    vector = B.ndim == 1 or (left and B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    X = lu_solve(LU, pivots, B.unsqueeze(-1) if vector else B, left=left)
    return solve_ex_result(X.squeeze(-1) if vector else X, info)


def matrix_exp(A: Tensor) -> Tensor:
    """e^A of each square matrix, as ``torch.linalg.matrix_exp``: scaling and squaring, a degree-18 Taylor polynomial of
    A / 2^s with ||A / 2^s||_1 <= 1 (s from the largest 1-norm of the batch, which is read back: one round trip);
    written with matmuls, so differentiable (twice over) with the same gradient as torch's, up to rounding."""
    _square_check(A, "linalg.matrix_exp")
    n = A.shape[-1]
    eye = A._session.tensor(np.eye(n, dtype=A.dtype))
    if A.numel() == 0:
        return A.clone()
    norm = float(A.detach().abs().sum(-2).amax().item())
    s = max(0, math.ceil(math.log2(norm))) if norm > 1 else 0
    X = A / (2.0 ** s) if s else A
    T = eye + X / 18.0
    for j in range(17, 0, -1):  # Horner: I + X/j (I + X/(j+1) (...))
        T = eye + (X @ T) / float(j)
    for _ in range(s):
        T = T @ T
    return T


def vander(x: Tensor, *, N=None) -> Tensor:
    """The Vandermonde matrix of each vector, columns x^0, x^1, ..., x^(N-1) (N = its length by default), as
    ``torch.linalg.vander``; a running product, so differentiable at zero too."""
    if x.ndim < 1:
        raise errors.InvalidArgumentError("linalg.vander: x must have at least one dimension.")
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise errors.InvalidArgumentError("N must be greater than 1.")
    if x.dtype == np.bool_:
        x = x.to(np.int64)
    ones = x._session.ones(tuple(x.shape) + (1,), dtype=x.dtype)
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1)
    from .tensor import cat

    return cat([ones, powers], -1).cumprod(-1)


def vecdot(x: Tensor, y: Tensor, *, dim=-1) -> Tensor:
    """The dot product of vectors along ``dim`` (batch dims broadcast), as ``torch.linalg.vecdot`` (real tensors)."""
    if _dtypes_differ(x, y):
        raise errors.InvalidArgumentError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
                                          f"{_TENSOR_TYPE_NAMES[x.dtype]} and y of type {_TENSOR_TYPE_NAMES[y.dtype]} instead")
    return (x * y).sum(dim)


def diagonal(A: Tensor, *, offset=0, dim1=-2, dim2=-1) -> Tensor:
    """``torch.linalg.diagonal``: ``A.diagonal(offset, dim1, dim2)``, the last two dims by default."""
    return A.diagonal(offset, dim1, dim2)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """``torch.linalg.matmul``: ``input @ other``."""
    return input @ other


def cond(A: Tensor, p=None) -> Tensor:
    """The condition number of each matrix in the norm ``p``, as ``torch.linalg.cond``: from the singular values for
    ``p`` None or 2 (the largest over the smallest; -2 the inverse), else ``matrix_norm(A, p) * matrix_norm(inv(A), p)``
    (square matrices only)."""
    if p in (None, 2, -2):
        if A.ndim < 2:
            raise errors.InvalidArgumentError(f"linalg.cond: The input tensor A must have at least 2 dimensions.")
        S = svdvals(A)
        return S[..., 0] / S[..., -1] if p != -2 else S[..., -1] / S[..., 0]
    if p not in ("fro", "nuc", math.inf, -math.inf, 1, -1):
        raise errors.InvalidArgumentError(f"linalg.cond got an invalid norm type: {p}")
    _square_check(A, "linalg.cond")
    inverse, info = inv_ex(A)  # a singular matrix's condition number is inf, as torch's (no error)
    return _where(info > 0, math.inf, matrix_norm(A, p) * matrix_norm(inverse, p))


def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with v_i column i of A (..., m, n) below the
    diagonal, a 1 on it and zeros above, as ``torch.linalg.householder_product`` (``orgqr``): LAPACK's geqrf's Q from
    its reflectors. Written with matmuls: differentiable in A and tau."""
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if m < n:
        raise errors.InvalidArgumentError("torch.linalg.householder_product: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if n < k:
        raise errors.InvalidArgumentError("torch.linalg.householder_product: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    session = A._session
    V = A.tril(-1) + session.tensor(np.eye(m, n, dtype=A.dtype))
    Q = session.tensor(np.eye(m, n, dtype=A.dtype))
    for i in range(k - 1, -1, -1):  # H_1 (H_2 (... (H_k I)))
        v = V[..., :, i:i + 1]
        Q = Q - (v * tau[..., i:i + 1].unsqueeze(-1)) @ (v.mT @ Q)
    return Q


def ormqr(input: Tensor, tau: Tensor, other: Tensor, left=True, transpose=False) -> Tensor:
    """``other`` multiplied by the full Q = H_1 ... H_k of ``geqrf``'s reflectors (``input``, ``tau``): Q C (``left``) or
    C Q, with Q^H for ``transpose``, as ``torch.ormqr``; each reflector applied in turn (Q is not formed), with
    matmuls: differentiable in all three."""
    def check(ok, message):
        if not ok:
            raise errors.InvalidArgumentError("torch.ormqr: " + message)

    check(input.ndim >= 2, "input must have at least 2 dimensions.")
    check(other.ndim >= 2, "other must have at least 2 dimensions.")
    side = -2 if left else -1
    check(other.shape[side] == input.shape[-2], f"other.shape[{side}] must be equal to input.shape[-2]")
    check(tau.shape[-1] == min(other.shape[side], input.shape[-1]),
          f"tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])")
    check(tau.ndim == input.ndim - 1, f"Expected tau to have one dimension less than input, but got tau.ndim equal to {tau.ndim} and "
                                      f"input.ndim is equal to {input.ndim}")
    check(other.ndim == input.ndim, f"Expected other to have the same number of dimensions as input, but got other.ndim equal to "
                                    f"{other.ndim} and input.ndim is equal to {input.ndim}")
    check(tuple(tau.shape[:-1]) == tuple(input.shape[:-2]), f"Expected batch dimensions of tau to be equal to input.shape[:-2], but got {list(tau.shape[:-1])}")
    check(tuple(other.shape[:-2]) == tuple(input.shape[:-2]), f"Expected batch dimensions of other to be equal to input.shape[:-2], but got {list(other.shape[:-2])}")
    for name, x in (("tau", tau), ("other", other)):
        check(x.dtype == input.dtype, f"Expected input and {name} to have the same dtype, but input has dtype"
                                      f"{_TENSOR_TYPE_NAMES[input.dtype]} and {name} has dtype "
                                      f"{_TENSOR_TYPE_NAMES[x.dtype]}")
    m, k = input.shape[-2], tau.shape[-1]
    V = input[..., :, :k].tril(-1) + input._session.tensor(np.eye(m, k, dtype=input.dtype))
    # Q C = H_1 (... (H_k C)): the last reflector first; Q^H C and C Q the first first; C Q^H the last first
    order = range(k - 1, -1, -1) if left != transpose else range(k)
    result = other
    for i in order:
        v = V[..., :, i:i + 1]
        t = tau[..., i:i + 1].unsqueeze(-1)
        t = t.conj() if transpose else t
        result = result - v * t @ (v.mH @ result) if left else result - (result @ v) * t @ v.mH
    return result


def _numel(shape):
    return int(np.prod(shape, dtype=np.int64))


def tensorinv(A: Tensor, ind=2) -> Tensor:
    """The inverse of A read as a matrix, its first ``ind`` dims the rows: shape A.shape[ind:] + A.shape[:ind], as
    ``torch.linalg.tensorinv``."""
    if not isinstance(ind, int) or ind <= 0:
        raise errors.InvalidArgumentError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, columns = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if _numel(columns) != _numel(rows):
        raise errors.InvalidArgumentError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == prod(self.shape[:ind]), "
                                          f"but got {_numel(columns)} != {_numel(rows)}")
    return inv(A.reshape(_numel(rows), _numel(columns))).reshape(*columns, *rows)


def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """X with ``tensordot(A, X, X.ndim) = B``, X of shape A.shape[B.ndim:], as ``torch.linalg.tensorsolve`` (``dims``:
    A's dims moved to the end first)."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = A.permute(*[d for d in range(A.ndim) if d not in dims], *dims)
    result = tuple(A.shape[B.ndim:])
    if _numel(result) != _numel(B.shape):
        raise errors.InvalidArgumentError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == prod(self.shape[:other.ndim]), "
                                          f"but got {_numel(result)} != {_numel(A.shape[:B.ndim])}")
    return solve(A.reshape(_numel(B.shape), _numel(result)), B.reshape(-1)).reshape(*result)


# --- torch's functions of these names outside torch.linalg --------------------------------------------------------


def cholesky_solve(B: Tensor, L: Tensor, upper=False) -> Tensor:
    """X with A X = B for A = L L^T (U^T U where ``upper``), as ``torch.cholesky_solve``: two triangular solves."""
    if upper:
        return solve_triangular(L, solve_triangular(L.mT, B, upper=False), upper=True)
    return solve_triangular(L.mT, solve_triangular(L, B, upper=False), upper=True)


def cholesky_inverse(L: Tensor, upper=False) -> Tensor:
    """A^-1 for A = L L^T (U^T U where ``upper``), as ``torch.cholesky_inverse``."""
    eye = L._session.tensor(np.eye(L.shape[-1], dtype=L.dtype))
    return cholesky_solve(eye, L, upper)


def triangular_solve(b: Tensor, A: Tensor, upper=True, transpose=False, unitriangular=False) -> triangular_solve_result:
    """``(solution, cloned_coefficient)``: X with A X = b (A^T X = b where ``transpose``), A upper (or lower) triangular,
    as the older ``torch.triangular_solve``."""
    if transpose:
        X = solve_triangular(A.mT, b, upper=not upper, unitriangular=unitriangular)
    else:
        X = solve_triangular(A, b, upper=upper, unitriangular=unitriangular)
    return triangular_solve_result(X, A.clone())


def svd_lowrank(A: Tensor, q=6, niter=2, M=None):
    """``torch.svd_lowrank``: ``(U, S, V)``, the top ``q`` singular triplets of ``A`` (minus ``M``), V (not Vh) as
    PyTorch returns it. Exact here, from one SVD on the server, where PyTorch's randomized algorithm (Halko et al.,
    ``niter`` power iterations) approximates them: the same shapes, singular vectors unique up to sign."""
    q = 6 if q is None else q
    U, S, Vh = svd(A if M is None else A - M, full_matrices=False)
    return U[..., :q], S[..., :q], Vh.mH[..., :q]


def pca_lowrank(A: Tensor, q=None, center=True, niter=2):
    """``torch.pca_lowrank``: ``svd_lowrank`` of ``A`` with its column means taken away (``center``); ``q`` defaults to
    min(6, m, n), PyTorch's checks and words."""
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    return svd_lowrank(A - A.mean(dim=(-2,), keepdim=True) if center else A, q, niter)
