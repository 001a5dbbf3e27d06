"""Linear algebra on batches of matrices (``torch.linalg``'s inv, det, slogdet, solve, cholesky, cholesky_ex, eigvalsh,
svdvals, solve_triangular, geqrf, and the decompositions with several outputs: svd, eigh, qr, lu_factor): the forwards,
checked and worded as PyTorch's (a singular or indefinite matrix: ``LinAlgError``), and their VJP rules.

Each works on ``(..., n, n)`` stacks through ``xp.linalg`` (NumPy's LAPACK, CuPy's cuSOLVER). NumPy raises for a
singular matrix or one that is not positive-definite; CuPy gives NaNs there unless told to check (``backend.linalg_raises``).
"""

from __future__ import annotations

import numpy  # (numpy.broadcast_shapes: of shapes, on any device; CuPy has none)

from . import backend, ops  # (ops imports this module: its names are read when called)
from .dtypes import torch_name
from .errors import InvalidArgument, KernelNotImplemented, LinAlgError


def _square(xp, a, name):
    if a.dtype.kind != "f":
        raise TypeError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got {torch_name(a.dtype)}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        if a.ndim < 2:
            raise ValueError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
        raise ValueError(f"linalg.{name}: A must be batches of square matrices, but they are {a.shape[-2]} by {a.shape[-1]} matrices")


def _mT(a):
    return a.swapaxes(-1, -2)


def _lapack(xp, name, call, a=None):
    """``call()``, NumPy's LinAlgError as PyTorch's ``LinAlgError``, in its words (naming the batch element and the
    zero pivot, or the leading minor that is not positive-definite, where ``a`` is given)."""
    try:
        with backend.linalg_raises(xp):
            return call()
    except getattr(xp.linalg, "LinAlgError", numpy.linalg.LinAlgError):
        pass
    if name == "cholesky":
        info = None if a is None else cholesky_info(xp, a)
        return _raise("linalg.cholesky", info, lambda k: "The factorization could not be completed because the input is not positive-definite "
                      f"(the leading minor of order {k} is not positive-definite).")
    info = None if a is None else lu_factor(xp, a)[2]
    if name == "solve":
        return _raise("torch.linalg.solve", info, lambda k: "The solver failed because the input matrix is singular.")
    return _raise(f"linalg.{name}", info,
                  lambda k: f"The diagonal element {k} is zero, the inversion could not be completed because the input matrix is singular.")


def _raise(name, info, words):
    """PyTorch's message for the first failing matrix: ``info`` (one per matrix, 0 where it succeeded) says which."""
    if info is None:
        raise LinAlgError(f"{name}: {words('?')}")
    flat = numpy.asarray(info.get() if hasattr(info, "get") else info).reshape(-1)
    bad = int(numpy.flatnonzero(flat)[0]) if flat.any() else 0
    where = f"(Batch element {bad}): " if numpy.ndim(info) > 0 else ""
    raise LinAlgError(f"{name}: {where}{words(int(flat[bad]))}")


def _substitute(xp, a, b, upper, unit):
    """X with T X = B for T the upper (or lower) triangle of each matrix of ``a`` (its diagonal taken as ones where
    ``unit``), by substitution, row by row: a zero on the diagonal gives inf/nan, as LAPACK's trsm (no error)."""
    n = a.shape[-1]
    batch = numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    x = xp.zeros(batch + b.shape[-2:], dtype=numpy.result_type(a.dtype, b.dtype))
    with numpy.errstate(divide="ignore", invalid="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            # the rows of x not yet found are zero: the sum takes only the ones found
            s = b[..., i, :] - (a[..., i, :, None] * x).sum(axis=-2)
            x[..., i, :] = s if unit else s / a[..., i, i, None]
    return x


def solve_triangular(xp, a, b, upper=False, unitriangular=False):
    """X with A X = B for A upper (or lower) triangular, as ``torch.linalg.solve_triangular(A, B, upper=...)`` (the
    other triangle of A not read; its diagonal not read either where ``unitriangular``); batch dims broadcast."""
    for x, which in ((a, "A"), (b, "B")):
        if x.dtype.kind != "f":
            raise TypeError(f"linalg.solve_triangular: Expected a floating point or complex tensor as input. Got {torch_name(x.dtype)}")
        if x.ndim < 2:
            raise ValueError(f"linalg.solve_triangular: The input tensor {which} must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"linalg.solve_triangular: A must be batches of square matrices, but they are {a.shape[-2]} by {a.shape[-1]} matrices")
    if b.shape[-2] != a.shape[-1]:
        raise ValueError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation AX = B "
                         f"({a.shape[-2]}x{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})")
    return _substitute(xp, a, b, upper, unitriangular)


def _triangular(xp, a, b, upper, unit):
    """The triangular solve in a VJP rule: by substitution on arrays, the engine's op when the rule is traced
    (``create_graph``: its ``xp.linalg`` has one)."""
    traced = getattr(xp.linalg, "solve_triangular", None)  # (NumPy's and CuPy's linalg have none)
    if traced is not None:
        return traced(a, b, upper=upper, unitriangular=unit)
    return _substitute(xp, a, b, upper, unit)


def solve_triangular_grad(xp, g, ans, a, b, *, argnum, upper=False, unitriangular=False):
    """B's gradient solves A^T G_B = g (A^T triangular the other way); A's is -G_B X^T on A's triangle (off its
    diagonal where ``unitriangular``), as PyTorch's; the walk sums broadcast batch dims back."""
    g_b = _triangular(xp, _mT(a), g, not upper, unitriangular)
    if argnum == 1:
        return g_b
    g_a = -(g_b @ _mT(ans))
    k = 1 if unitriangular else 0
    return xp.triu(g_a, k) if upper else xp.tril(g_a, -k)


def lu_factor(xp, a):
    """``(LU, pivots, info)`` of each matrix (..., m, n), as ``torch.linalg.lu_factor_ex``: LAPACK getrf's partial
    pivoting (the row with the largest |entry| in each column, the first of ties), L's unit diagonal implied, pivots
    1-based int32; info the 1-based column of the first zero pivot (0 where none). No error for a singular matrix."""
    if a.dtype.kind != "f":
        raise TypeError(f"linalg.lu_factor: Expected a floating point or complex tensor as input. Got {torch_name(a.dtype)}")
    if a.ndim < 2:
        raise ValueError("linalg.lu_factor: The input tensor A must have at least 2 dimensions.")
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    lu = a.reshape((-1, m, n)).copy()
    count = lu.shape[0]
    pivots = xp.zeros((count, k), dtype=xp.int32)
    info = xp.zeros((count,), dtype=xp.int32)
    every = xp.arange(count)
    for j in range(k):
        p = j + xp.abs(lu[:, j:, j]).argmax(axis=1) if count else xp.zeros((0,), dtype=xp.int64)
        pivots[:, j] = p + 1
        row_j, row_p = lu[:, j, :].copy(), lu[every, p, :].copy()
        lu[every, p, :] = row_j
        lu[:, j, :] = row_p
        pivot = lu[:, j, j]
        zero = pivot == 0
        info = xp.where((info == 0) & zero, j + 1, info).astype(xp.int32)
        if j + 1 < m:  # (a zero pivot's column is zero below it too: left as it is, as LAPACK's)
            lu[:, j + 1:, j] /= xp.where(zero, 1, pivot)[:, None]
            lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return lu.reshape(batch + (m, n)), pivots.reshape(batch + (k,)), info.reshape(batch)


def _permutation(xp, pivots, m):
    """perm with (P^T A)[i] = A[perm[i]], from LAPACK's 1-based row swaps (each matrix's own)."""
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    flat = pivots.reshape((-1, k)).astype(xp.int64) - 1
    perm = xp.broadcast_to(xp.arange(m), (flat.shape[0], m)).copy()
    every = xp.arange(flat.shape[0])
    for j in range(k):
        p = flat[:, j]
        at_j, at_p = perm[:, j].copy(), perm[every, p].copy()
        perm[every, p] = at_j
        perm[:, j] = at_p
    return perm.reshape(batch + (m,))


def lu_permutation(xp, pivots, m):
    """The row order of LAPACK's pivots (1-based swaps, ..., k): perm, (..., m) int64, with A = P L U for P the
    permutation matrix with P[perm[i], i] = 1 (torch.linalg.lu_factor's pivots as lu_unpack reads them)."""
    if pivots.dtype.kind not in "iu":
        raise TypeError(f"lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype. Got {torch_name(pivots.dtype)}")
    if pivots.ndim < 1 or pivots.shape[-1] > m:
        raise ValueError(f"lu_unpack: the pivots (size {pivots.shape[-1] if pivots.ndim else 0}) must number at most the rows ({m})")
    if pivots.size and (int(pivots.min()) < 1 or int(pivots.max()) > m):
        raise ValueError(f"lu_unpack: the pivots must be in [1, {m}]")
    return _permutation(xp, pivots, m)


def _lu_square_grad(xp, g_l, g_u, lower, upper):
    """A = P L U, square: P L^-T [tril(L^T gL, -1) + triu(gU U^T)] U^-T, without P (PyTorch's rule)."""
    core = xp.tril(_mT(lower) @ g_l, -1) + xp.triu(g_u @ _mT(upper))
    left = _triangular(xp, _mT(lower), core, True, True)  # L^-T core
    return _mT(_triangular(xp, upper, _mT(left), True, False))  # (U^-1 (L^-T core)^T)^T = L^-T core U^-T


def lu_factor_grad(xp, g, ans, a):
    """The gradient through the packed factors (L below the diagonal, U on and above it). Square: PyTorch's rule. Wide
    (m < n, A = P L [U1 | U2]): U2 = L^-1 P^T A2, so A2's gradient is P L^-T gU2 and L's takes -L^-T gU2 U2^T more.
    Tall (m > n, P^T A = [L1; L2] U): L2 = (P^T A)_2 U^-1, so (P^T A)_2's is gL2 U^-T and U's takes -L2^T gL2 U^-T more.
    Written in ops that trace (differentiable twice over)."""
    lu, pivots, _ = ans
    m, n = a.shape[-2:]
    if m == n:
        g_pa = _lu_square_grad(xp, xp.tril(g, -1), xp.triu(g), _unit_lower(xp, lu), xp.triu(lu))
    elif m < n:
        lower, u1, u2 = _unit_lower(xp, lu[..., :, :m]), xp.triu(lu[..., :, :m]), lu[..., :, m:]
        left = _triangular(xp, _mT(lower), g[..., :, m:], True, True)  # L^-T gU2
        g_l = xp.tril(g[..., :, :m] - left @ _mT(u2), -1)
        g_pa = xp.concatenate([_lu_square_grad(xp, g_l, xp.triu(g[..., :, :m]), lower, u1), left], axis=-1)
    else:
        l1, l2, upper = _unit_lower(xp, lu[..., :n, :]), lu[..., n:, :], xp.triu(lu[..., :n, :])
        right = _mT(_triangular(xp, upper, _mT(g[..., n:, :]), True, False))  # gL2 U^-T = (U^-1 gL2^T)^T
        g_u = xp.triu(g[..., :n, :] - _mT(l2) @ right)
        g_pa = xp.concatenate([_lu_square_grad(xp, xp.tril(g[..., :n, :], -1), g_u, l1, upper), right], axis=-2)
    # g_pa is the gradient for P^T A: A's is P g_pa
    return _permutation_matrix(xp, pivots, m, g_pa.dtype) @ g_pa


def _permutation_matrix(xp, pivots, m, dtype):
    """P, with P[perm[i], i] = 1, from the pivots (the engine's op where the rule is traced)."""
    traced = getattr(xp.linalg, "lu_permutation", None)
    perm = traced(pivots, m) if traced is not None else _permutation(xp, pivots, m)
    return (xp.expand_dims(perm, -2) == xp.expand_dims(xp.arange(m), -1)).astype(dtype)


def _unit_lower(xp, lu):
    """L of a square or tall packed LU: its strictly lower part, ones on the diagonal."""
    m, k = lu.shape[-2], lu.shape[-1]
    return xp.tril(lu, -1) + xp.eye(m, dtype=lu.dtype)[:, :k]


def geqrf(xp, a):
    """``(a, tau)``, LAPACK's geqrf as ``torch.geqrf``: R on and above the diagonal of ``a``, the Householder vectors
    below it, and their scales ``tau`` (NumPy's and CuPy's QR in "raw" mode, whose ``h`` is its transpose)."""
    _float_matrices(xp, a, "geqrf")
    h, tau = xp.linalg.qr(a, mode="raw")
    return xp.ascontiguousarray(_mT(h)), tau


# --- LDL^T (Bunch-Kaufman): LAPACK's sytrf and sytrs (hetrf, hetrs for a Hermitian complex one), as torch's CPU calls ---


def _on_host(a):
    """A NumPy array of ``a`` (a CuPy array is copied off the device: neither NumPy nor CuPy has these factorizations)."""
    return numpy.asarray(a.get() if hasattr(a, "get") else a)


def _lapack_routine(name, hermitian, array):
    from scipy.linalg import lapack  # (a dependency of the server; imported where used: few sessions need it)

    return lapack.get_lapack_funcs(("he" if hermitian and array.dtype.kind == "c" else "sy") + name, (array,))


def ldl_factor(xp, a, hermitian=False):
    """``(LD, pivots, info)`` of each matrix, as ``torch.linalg.ldl_factor_ex``: LAPACK's Bunch-Kaufman factorization
    of its lower triangle, L (unit diagonal, implied) and the 1x1 and 2x2 blocks of D packed in LD (zeros above the
    diagonal), pivots LAPACK's (1-based; a negative pair marks a 2x2 block), info the 1-based place of a zero block of
    D (0 where none). On the host, matrix by matrix."""
    name = "torch.linalg.ldl_factor_ex"
    if a.ndim < 2:
        raise ValueError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: A must be batches of square matrices, but they are {a.shape[-2]} by {a.shape[-1]} matrices")
    if a.dtype.kind not in "fc":
        raise TypeError(f"{name}: Expected a floating point or complex tensor as input. Got {torch_name(a.dtype)}")
    if a.dtype.itemsize < 4:
        raise KernelNotImplemented(f'"ldl_factor_kernel_cpu" not implemented for \'{torch_name(a.dtype)}\'')
    host = _on_host(a)
    n = host.shape[-1]
    matrices = host.reshape((-1, n, n))
    ld = numpy.zeros_like(matrices)
    pivots = numpy.zeros(matrices.shape[:2], dtype=numpy.int32)
    info = numpy.zeros(matrices.shape[:1], dtype=numpy.int32)
    if n:
        factor = _lapack_routine("trf", hermitian, matrices)
        for k, matrix in enumerate(matrices):
            packed, pivots[k], info[k] = factor(matrix, lower=1)
            ld[k] = numpy.tril(packed)
    return xp.asarray(ld.reshape(host.shape)), xp.asarray(pivots.reshape(host.shape[:-1])), xp.asarray(info.reshape(host.shape[:-2]))


def ldl_solve(xp, ld, pivots, b, hermitian=False):
    """X with A X = B for A factored by ``ldl_factor`` (LD and pivots), batches broadcast, as ``torch.linalg.ldl_solve``."""
    name = "torch.linalg.ldl_solve"
    if ld.ndim < 2:
        raise ValueError(f"{name}: The input tensor LD must have at least 2 dimensions.")
    if ld.shape[-1] != ld.shape[-2]:
        raise ValueError(f"{name}: LD must be batches of square matrices, but they are {ld.shape[-2]} by {ld.shape[-1]} matrices")
    if b.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(b.ndim, 1)}, {max(b.ndim, 1) - 1}], but got -2)")
    if pivots.shape != ld.shape[:-1]:
        raise ValueError(f"{name}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with shape {list(pivots.shape)} instead")
    if pivots.dtype.kind not in "iu":
        raise TypeError(f"{name}: Expected pivots to be integers. Got {torch_name(pivots.dtype)}")
    if b.dtype != ld.dtype:
        raise TypeError(f"Expected b and A to have the same dtype, but found b of type {torch_name(b.dtype)} and A of type {torch_name(ld.dtype)} instead.")
    n = ld.shape[-1]
    if b.shape[-2] != n:
        raise ValueError(f"Incompatible matrix sizes for {name}: each A matrix is {n} by {n} but each b matrix is {b.shape[-2]} by {b.shape[-1]}")
    if ld.dtype.kind not in "fc" or ld.dtype.itemsize < 4:
        raise KernelNotImplemented(f'"ldl_solve_cpu" not implemented for \'{torch_name(ld.dtype)}\'')
    batch = numpy.broadcast_shapes(ld.shape[:-2], b.shape[:-2])
    host_ld = numpy.broadcast_to(_on_host(ld), batch + (n, n)).reshape((-1, n, n))
    host_pivots = numpy.broadcast_to(_on_host(pivots), batch + (n,)).reshape((-1, n))
    host_b = numpy.broadcast_to(_on_host(b), batch + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
    x = numpy.zeros_like(host_b)
    if x.size:
        solve = _lapack_routine("trs", hermitian, host_ld)
        for k in range(len(x)):
            x[k] = solve(host_ld[k], host_pivots[k], host_b[k], lower=1)[0]
    return xp.asarray(x.reshape(batch + b.shape[-2:]))


def _factors(xp, a) -> bool:
    """Whether the Cholesky factorization of ``a`` succeeds: NumPy raises where it does not, CuPy gives NaNs."""
    try:
        return bool(xp.isfinite(xp.linalg.cholesky(a)).all())
    except getattr(xp.linalg, "LinAlgError", numpy.linalg.LinAlgError):
        return False


def cholesky_info(xp, a):
    """The 1-based order of the first leading minor of each matrix that is not positive-definite (0 where it is):
    a binary search over the orders (a leading minor of one that is positive-definite is too), matrix by matrix,
    only for the matrices whose factorization fails."""
    n = a.shape[-1]
    flat = a.reshape((-1, n, n))
    info = numpy.zeros(flat.shape[0], dtype=numpy.int32)
    for b in range(flat.shape[0]):
        if n == 0 or _factors(xp, flat[b]):
            continue
        good, bad = 0, n  # the largest order known to factor, the smallest known not to
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (middle, bad) if _factors(xp, flat[b, :middle, :middle]) else (good, middle)
        info[b] = bad
    return xp.asarray(info.reshape(a.shape[:-2]))


def cholesky_ex(xp, a, upper=False):
    """``(L, info)``, as ``torch.linalg.cholesky_ex``: no error for a matrix that is not positive-definite; its info
    the order of the first leading minor that is not, and its L NaN (LAPACK leaves a partial factor there)."""
    _square(xp, a, "cholesky_ex")
    info = cholesky_info(xp, a)
    good = (info == 0)[..., None, None]
    lower = xp.linalg.cholesky(xp.where(good, a, xp.eye(a.shape[-1], dtype=a.dtype)))
    lower = xp.where(good, lower, xp.nan)
    return (_mT(lower) if upper else lower), info


def cholesky_ex_grad(xp, g, ans, a, upper=False):
    return cholesky_grad(xp, g, ans[0], a, upper)


def inv(xp, a):
    _square(xp, a, "inv")
    return _lapack(xp, "inv", lambda: xp.linalg.inv(a), a)


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
    """``(sign, log |det A|)``, as ``torch.linalg.slogdet``: one op, two outputs sharing one node."""
    _square(xp, a, "slogdet")
    return tuple(xp.linalg.slogdet(a))


def slogdet_grad(xp, g, ans, a):
    """d log|det A| = tr(A^-1 dA): the gradient is g A^-T (the sign is piecewise constant: its gradient adds nothing)."""
    g_logabsdet = g[1]
    if g_logabsdet is None:
        return xp.zeros(a.shape, dtype=a.dtype)
    return g_logabsdet[..., None, None] * _mT(_lapack(xp, "slogdet", lambda: xp.linalg.inv(a)))


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
        raise TypeError(f"linalg.solve: Expected a floating point tensor as B. Got {torch_name(b.dtype)}")
    matrix, vector = _as_matrix(a, b)
    if matrix.ndim < 2 or matrix.shape[-2] != a.shape[-1]:
        columns = matrix.shape[-1] if matrix.ndim >= 2 else 1
        raise ValueError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({a.shape[-2]}x{a.shape[-1]} and "
                         f"{matrix.shape[-2] if matrix.ndim >= 2 else matrix.shape[-1]}x{columns})")
    batch = numpy.broadcast_shapes(a.shape[:-2], matrix.shape[:-2])
    x = _lapack(xp, "solve", lambda: xp.linalg.solve(xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(matrix, batch + matrix.shape[-2:])),
                xp.broadcast_to(a, batch + a.shape[-2:]))
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
        raise TypeError(f"linalg.svd: Expected a floating point or complex tensor as input. Got {torch_name(a.dtype)}")
    if a.ndim < 2:
        raise ValueError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    return xp.linalg.svd(a, compute_uv=False)


def svdvals_grad(xp, g, ans, a):
    """d s_i = u_i^T dA v_i: the gradient is U diag(g) V^T (the singular vectors found again, thin)."""
    u, _, vt = xp.linalg.svd(a, full_matrices=False)
    return (u * g[..., None, :]) @ vt


def cholesky(xp, a, upper=False):
    _square(xp, a, "cholesky")
    lower = _lapack(xp, "cholesky", lambda: xp.linalg.cholesky(a), a)
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



# --- decompositions with several outputs: one node, the gradients of all outputs gathered (None: none arrived) ------


def _float_matrices(xp, a, name):
    if a.dtype.kind != "f":
        raise TypeError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got {torch_name(a.dtype)}")
    if a.ndim < 2:
        raise ValueError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")


def svd(xp, a, full_matrices=False):
    """``(U, S, Vh)`` with A = U diag(S) Vh, S descending, as ``torch.linalg.svd`` (whose default, full matrices, the SDK
    asks for: False is every op parameter's default on the wire)."""
    _float_matrices(xp, a, "svd")
    return tuple(xp.linalg.svd(a, full_matrices=full_matrices))


def svd_grad(xp, g, ans, a, full_matrices=False):
    """PyTorch's rule (real case). With E_ij = s_j^2 - s_i^2 and skew(X) = X - X^T, the reduced factors' gradients give
    U [skew(U^T gU) S / E + S skew(Vh gVh^T) / E + diag(gS)] Vh, plus (I - U U^T) gU S^-1 Vh for a tall A and
    U S^-1 gVh (I - V Vh) for a wide one. Full matrices: as PyTorch, the columns of U and rows of Vh past min(m, n)
    are not differentiated (their gradients are ignored). Repeated singular values give inf/nan, as PyTorch's."""
    g_u, g_s, g_vh = g
    u, s, vh = ans
    m, n = a.shape[-2:]
    k = s.shape[-1]
    if full_matrices and m != n:
        u, vh = u[..., :, :k], vh[..., :k, :]
        g_u = None if g_u is None else g_u[..., :, :k]
        g_vh = None if g_vh is None else g_vh[..., :k, :]
    eye = xp.eye(k, dtype=a.dtype)
    core = 0 if g_s is None else eye * g_s[..., None, :]
    if g_u is None and g_vh is None:
        return (u * g_s[..., None, :]) @ vh
    s_row, s_col = s[..., None, :], s[..., :, None]  # s_j along a row, s_i down a column
    e = s_row * s_row - s_col * s_col + eye  # (its diagonal 1: the skew parts are 0 there)
    if g_u is not None:
        utgu = _mT(u) @ g_u
        core = core + (utgu - _mT(utgu)) * s_row / e
    if g_vh is not None:
        vtgv = vh @ _mT(g_vh)
        core = core + s_col * (vtgv - _mT(vtgv)) / e
    grad = u @ core @ vh
    if m > k and g_u is not None:
        grad = grad + ((g_u - u @ (_mT(u) @ g_u)) / s_row) @ vh
    if n > k and g_vh is not None:
        grad = grad + u @ ((g_vh - (g_vh @ _mT(vh)) @ vh) / s_col)
    return grad


def eigh(xp, a, upper=False):
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix, ascending, reading its lower (or ``upper``) triangle."""
    _square(xp, a, "eigh")
    return tuple(xp.linalg.eigh(a, UPLO="U" if upper else "L"))


def eigh_grad(xp, g, ans, a, upper=False):
    """PyTorch's rule: the symmetric part of V (diag(gw) + (V^T gV) / E) V^T, E_ij = w_j - w_i off the diagonal
    (repeated eigenvalues give inf/nan, as PyTorch's)."""
    g_w, g_v = g
    w, v = ans
    n = w.shape[-1]
    eye = xp.eye(n, dtype=a.dtype)
    if g_v is None:
        return (v * g_w[..., None, :]) @ _mT(v)
    e = w[..., None, :] - w[..., :, None] + eye
    core = (_mT(v) @ g_v) / e * (1 - eye)
    if g_w is not None:
        core = core + eye * g_w[..., None, :]
    grad = v @ core @ _mT(v)
    return 0.5 * (grad + _mT(grad))  # symmetric, as PyTorch's (a perturbation of A is taken to be symmetric)


_QR_MODES = ("reduced", "complete", "r")


def qr(xp, a, mode="reduced"):
    """``(Q, R)`` with A = QR, as ``torch.linalg.qr`` (``mode="r"``: Q is an empty tensor)."""
    if mode not in _QR_MODES:
        raise ValueError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or 'complete'")
    _float_matrices(xp, a, "qr")
    if mode == "r":
        return xp.zeros((0,), dtype=a.dtype), xp.linalg.qr(a, mode="r")
    return tuple(xp.linalg.qr(a, mode=mode))


def _qr_square_grad(xp, g_q, g_r, q, r):
    """A = QR with R square (m >= n): with M = Q^T gQ - gR R^T and N = gR R^T + tril(M - M^T, -1), the gradient is
    (gQ + Q (N - Q^T gQ)) R^-T (derived from dQ = (I - Q Q^T) dA R^-1 + Q C, C = Q^T dQ skew)."""
    n = r.shape[-1]
    lower = xp.tril(xp.ones((n, n), dtype=r.dtype), -1)  # the strictly lower triangle
    grt = 0 if g_r is None else g_r @ _mT(r)
    qtgq = 0 if g_q is None else _mT(q) @ g_q
    m_ = qtgq - grt
    b = q @ (grt + (m_ - _mT(m_)) * lower - qtgq)
    if g_q is not None:
        b = b + g_q
    return _mT(xp.linalg.solve(r, _mT(b)))  # B R^-T


def qr_grad(xp, g, ans, a, mode="reduced"):
    """PyTorch's cases: a tall A in reduced mode (or a square one), and a wide one, A = [X | Y], R = [U | V]: Y's
    gradient is Q gV, X's that of X = QU with gQ + Y gV^T for Q's."""
    if mode == "r":
        raise ValueError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                         "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
    m, n = a.shape[-2:]
    if mode == "complete" and m > n:
        raise ValueError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    g_q, g_r = g
    q, r = ans
    if m >= n:
        return _qr_square_grad(xp, g_q, g_r, q, r)
    y = a[..., :, m:]
    g_u = None if g_r is None else g_r[..., :, :m]
    g_v = None if g_r is None else g_r[..., :, m:]
    if g_v is not None:
        g_q = y @ _mT(g_v) if g_q is None else g_q + y @ _mT(g_v)
    g_x = _qr_square_grad(xp, g_q, g_u, q, r[..., :, :m])
    g_y = xp.zeros(g_x.shape[:-1] + (n - m,), dtype=a.dtype) if g_v is None else q @ g_v
    return xp.concatenate([g_x, g_y], axis=-1)


# --- the general eigendecomposition: complex eigenvalues and eigenvectors ----------------------------------------------


def eig(xp, a):
    """``(eigenvalues, eigenvectors)`` of each square matrix, complex (of a real one too), the eigenvectors of norm 1, as
    ``torch.linalg.eig``. On an array module without a general eigensolver (CuPy), NumPy's on the host."""
    if a.dtype.kind not in "fc":
        raise TypeError(f"linalg.eig: Expected a floating point or complex tensor as input. Got {torch_name(a.dtype)}")
    if a.ndim < 2:
        raise ValueError("linalg.eig: The input tensor A must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"linalg.eig: A must be batches of square matrices, but they are {a.shape[-2]} by {a.shape[-1]} matrices")
    complex_dtype = numpy.complex128 if a.dtype in (numpy.float64, numpy.complex128) else numpy.complex64
    solver = getattr(xp.linalg, "eig", None)
    if solver is None:  # (CuPy): on the host, back to the device
        w, v = numpy.linalg.eig(numpy.asarray(a.get() if hasattr(a, "get") else a))
        return xp.asarray(w.astype(complex_dtype)), xp.asarray(v.astype(complex_dtype))
    w, v = solver(a)
    return w.astype(complex_dtype, copy=False), v.astype(complex_dtype, copy=False)


def eig_grad(xp, g, ans, a):
    """PyTorch's rule: gA = V^-H (diag(gL) + (V^H gV - V^H V diag(re(diag(V^H gV)))) / conj(E)) V^H, E_ij = L_j - L_i off the
    diagonal; refused, in PyTorch's words, where the loss depends on the eigenvectors' phases (ill-defined). A real A
    takes the real part (the backward walk)."""
    g_l, g_v = g
    w, v = ans
    vh = _mT(v).conj()
    if g_v is None:
        return xp.linalg.solve(vh, g_l[..., :, None] * vh)
    vhgv = vh @ g_v
    diagonal = xp.diagonal(vhgv, axis1=-2, axis2=-1)
    if not bool(xp.allclose(diagonal.imag, 0, rtol=1e-2, atol=1e-2)):
        raise InvalidArgument("linalg_eig_backward: The eigenvectors in the complex case are specified up to multiplication by e^{i phi}. "
                              "The specified loss function depends on this quantity, so it is ill-defined.")
    vhgv = vhgv - vh @ (v * diagonal.real[..., None, :])
    n = w.shape[-1]
    eye = xp.eye(n, dtype=bool)
    e = w.conj()[..., None, :] - w.conj()[..., :, None]
    core = xp.where(eye, 0, vhgv / xp.where(eye, 1, e))
    if g_l is not None:
        core = core + eye * g_l[..., None, :]
    return xp.linalg.solve(vh, core @ vh)
