"""The rest of ``torch.linalg`` through a real session (LU and what is built on it, triangular solves, the ``*_ex``
variants and their info, ``matrix_exp``, ``vander``, ``vecdot``, ``cond``, ``tensorinv``, ``tensorsolve``, and torch's
``cholesky_solve``/``cholesky_inverse``/``triangular_solve``/``lu``/``lu_solve`` with their Tensor methods), against
PyTorch on the CPU: values, gradients (batched too), dtypes, and errors in torch's type and words."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")


def _close(ours, theirs, rtol=1e-7, atol=1e-9):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    np.testing.assert_allclose(ours.detach().numpy(), theirs, rtol=rtol, atol=atol)


def _pair(session, values):
    values = np.asarray(values, dtype=np.float64)
    return session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)


def _grads_match(session, fn, tfn, *arrays, rtol=1e-6, atol=1e-8):
    """fn on gradwire tensors and tfn on torch's: the values, and the gradients of sum(out^2) for every input."""
    pairs = [_pair(session, a) for a in arrays]
    out, t_out = fn(*(p[0] for p in pairs)), tfn(*(p[1] for p in pairs))
    assert out.shape == tuple(t_out.shape) and out.dtype == gw.float64
    _close(out, t_out, rtol, atol)
    (out * out).sum().backward()
    (t_out * t_out).sum().backward()
    for ours, theirs in pairs:
        _close(ours.grad, theirs.grad, rtol, atol)


_rng = np.random.default_rng(7)
_SQUARE = _rng.standard_normal((2, 4, 4))
_RHS = _rng.standard_normal((2, 4, 3))


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (3, 5), (2, 5, 3)], ids=str)
def test_lu_factor_lu_and_lu_unpack_match_torch_with_gradients(session, shape):
    a = np.random.default_rng(1).standard_normal(shape)
    A, t = _pair(session, a)
    LU, pivots = gw.linalg.lu_factor(A)
    tLU, tpivots = torch.linalg.lu_factor(t)
    assert type(gw.linalg.lu_factor(A)).__name__ == "linalg_lu_factor" and pivots.dtype == gw.int32
    assert LU.grad_fn.name() == "LinalgLuFactorExBackward0"
    _close(LU, tLU)
    np.testing.assert_array_equal(pivots.numpy(), tpivots.numpy())
    P, L, U = gw.linalg.lu(A)
    tP, tL, tU = torch.linalg.lu(t)
    for ours, theirs in ((P, tP), (L, tL), (U, tU)):
        assert ours.shape == tuple(theirs.shape)
        _close(ours, theirs)
    w = np.arange(1.0, 1 + L.numel()).reshape(L.shape) / 10
    ((L * L * session.tensor(w)).sum() + (U ** 3).sum()).backward()
    ((tL * tL * torch.tensor(w)).sum() + (tU ** 3).sum()).backward()
    _close(A.grad, t.grad, rtol=1e-6, atol=1e-8)
    unpacked = gw.lu_unpack(LU, pivots)
    assert type(unpacked).__name__ == "lu_unpack"
    _close(unpacked.P, torch.lu_unpack(tLU, tpivots).P)
    assert gw.lu_unpack(LU, pivots, unpack_data=False).L.numel() == 0


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_every_side_and_adjoint_gradients_in_LU_and_B(session, left, adjoint):
    def ours(A, B):
        LU, pivots = gw.linalg.lu_factor(A)
        return gw.linalg.lu_solve(LU, pivots, B if left else B.mT, left=left, adjoint=adjoint)

    def theirs(A, B):
        LU, pivots = torch.linalg.lu_factor(A)
        return torch.linalg.lu_solve(LU, pivots, B if left else B.mT, left=left, adjoint=adjoint)

    _grads_match(session, ours, theirs, _SQUARE, _RHS)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [False, True])
def test_solve_triangular_reads_one_triangle_and_broadcasts(session, upper, left, unitriangular):
    a = _SQUARE[0] + 4 * np.eye(4)

    def solve(lib):
        return lambda A, B: lib.linalg.solve_triangular(A, B if left else B.mT, upper=upper, left=left, unitriangular=unitriangular)

    _grads_match(session, solve(gw), solve(torch), a, _RHS)  # one A, a batch of B


def test_a_zero_on_the_diagonal_gives_inf_not_an_error_as_torchs(session):
    a = np.triu(np.ones((3, 3)))
    a[1, 1] = 0
    ours = gw.linalg.solve_triangular(session.tensor(a), session.tensor(np.ones((3, 1))), upper=True)
    theirs = torch.linalg.solve_triangular(torch.tensor(a), torch.ones(3, 1, dtype=torch.float64), upper=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # nan, inf, 1


def _singular_batch():
    a = np.stack([np.eye(3) * 2, np.eye(3)])
    a[1, 1, 1] = 0
    return a


def test_ex_variants_report_info_without_raising_and_raise_with_check_errors(session):
    a = _singular_batch()
    A, t = session.tensor(a), torch.tensor(a)
    factored, t_factored = gw.linalg.lu_factor_ex(A), torch.linalg.lu_factor_ex(t)
    assert factored._fields == ("LU", "pivots", "info") and factored.info.dtype == gw.int32
    np.testing.assert_array_equal(factored.info.numpy(), t_factored.info.numpy())
    _close(factored.LU, t_factored.LU)
    inverse, t_inverse = gw.linalg.inv_ex(A), torch.linalg.inv_ex(t)
    np.testing.assert_array_equal(inverse.info.numpy(), t_inverse.info.numpy())
    _close(inverse.inverse[0], t_inverse.inverse[0])
    assert not np.isfinite(inverse.inverse[1].numpy()).all()
    result, t_result = gw.linalg.solve_ex(A, session.tensor(np.ones((2, 3)))), torch.linalg.solve_ex(t, torch.ones(2, 3, dtype=torch.float64))
    assert result._fields == ("result", "info") and result.result.shape == (2, 3)
    np.testing.assert_array_equal(result.info.numpy(), t_result.info.numpy())
    for ours, theirs in ((lambda: gw.linalg.inv_ex(A, check_errors=True)), (lambda: torch.linalg.inv_ex(t, check_errors=True))), \
                        ((lambda: gw.linalg.solve_ex(A, session.tensor(np.ones((2, 3))), check_errors=True)),
                         (lambda: torch.linalg.solve_ex(t, torch.ones(2, 3, dtype=torch.float64), check_errors=True))):
        with pytest.raises(torch.linalg.LinAlgError) as expected:
            theirs()
        with pytest.raises(gw.linalg.LinAlgError, match=str(expected.value).replace("(", r"\(").replace(")", r"\)")):
            ours()
    with pytest.raises(RuntimeError) as expected:
        torch.linalg.lu_factor(t)
    with pytest.raises(RuntimeError, match=r"U\[2,2\] is zero") as raised:
        gw.linalg.lu_factor(A)
    assert str(raised.value) == str(expected.value)


def test_linalg_errors_are_LinAlgErrors_in_torchs_words(session):
    assert issubclass(gw.linalg.LinAlgError, RuntimeError) and issubclass(gw.linalg.LinAlgError, gw.InvalidArgumentError)
    a = _singular_batch()
    with pytest.raises(torch.linalg.LinAlgError) as expected:
        torch.linalg.inv(torch.tensor(a))
    with pytest.raises(gw.linalg.LinAlgError) as raised:
        gw.linalg.inv(session.tensor(a)).numpy()
    assert str(expected.value) in str(raised.value)
    not_pd = -np.eye(3)
    not_pd[0, 0] = 1
    with pytest.raises(torch.linalg.LinAlgError) as expected:
        torch.linalg.cholesky(torch.tensor(not_pd))
    with pytest.raises(gw.linalg.LinAlgError) as raised:
        gw.linalg.cholesky(session.tensor(not_pd)).numpy()
    assert str(expected.value) in str(raised.value)  # "... (the leading minor of order 2 is not positive-definite)."
    with pytest.raises(gw.linalg.LinAlgError, match="Batch element 1"):
        gw.linalg.solve(session.tensor(a), session.tensor(np.ones((2, 3)))).numpy()


def test_cholesky_ex_info_and_gradient(session):
    a = _SQUARE @ _SQUARE.swapaxes(-1, -2) + np.eye(4)
    _grads_match(session, lambda A: gw.linalg.cholesky_ex(A).L, lambda t: torch.linalg.cholesky_ex(t).L, a)
    not_pd = np.stack([np.eye(3), -np.eye(3)])
    ours, theirs = gw.linalg.cholesky_ex(session.tensor(not_pd)), torch.linalg.cholesky_ex(torch.tensor(not_pd))
    np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
    _close(ours.L[0], theirs.L[0])
    with pytest.raises(torch.linalg.LinAlgError) as expected:
        torch.linalg.cholesky_ex(torch.tensor(not_pd), check_errors=True)
    with pytest.raises(gw.linalg.LinAlgError) as raised:
        gw.linalg.cholesky_ex(session.tensor(not_pd), check_errors=True)
    assert str(raised.value) == str(expected.value)


@pytest.mark.parametrize("scale", [0.3, 6.0], ids=["small", "squared-up"])
def test_matrix_exp_values_and_gradients(session, scale):
    _grads_match(session, gw.linalg.matrix_exp, torch.linalg.matrix_exp, _SQUARE * scale, rtol=1e-9 if scale < 1 else 1e-7)
    A = session.tensor(_SQUARE[0])
    _close(A.matrix_exp(), torch.matrix_exp(torch.tensor(_SQUARE[0])))


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", math.inf, -math.inf, 1, -1], ids=str)
def test_cond_every_norm(session, p):
    def theirs(t):  # (torch.linalg.cond's own backward for p = +-1, +-inf trips on inv_ex's output: the same composition)
        if p in (None, 2, -2):
            return torch.linalg.cond(t, p)
        return torch.linalg.matrix_norm(t, p) * torch.linalg.matrix_norm(torch.linalg.inv(t), p)

    _grads_match(session, lambda A: gw.linalg.cond(A, p), theirs, _SQUARE)
    _close(gw.linalg.cond(session.tensor(_SQUARE), p), torch.linalg.cond(torch.tensor(_SQUARE), p))
    with pytest.raises(gw.InvalidArgumentError, match="linalg.cond got an invalid norm type: 3"):
        gw.linalg.cond(session.tensor(_SQUARE), 3)


def test_vander_vecdot_diagonal_matmul(session):
    x = np.array([[0.0, 1.5, -2.0], [0.5, 2.0, 3.0]])
    _grads_match(session, gw.linalg.vander, torch.linalg.vander, x)
    _grads_match(session, lambda x: gw.linalg.vander(x, N=5), lambda x: torch.linalg.vander(x, N=5), x)
    ints = gw.linalg.vander(session.tensor(np.array([1, 2, 3])))
    assert ints.dtype == gw.int64
    np.testing.assert_array_equal(ints.numpy(), torch.linalg.vander(torch.tensor([1, 2, 3])).numpy())
    with pytest.raises(gw.InvalidArgumentError, match="N must be greater than 1."):
        gw.linalg.vander(session.tensor(x), N=1)
    _grads_match(session, lambda a, b: gw.linalg.vecdot(a, b, dim=-2), lambda a, b: torch.linalg.vecdot(a, b, dim=-2), _SQUARE, _SQUARE[0])
    _grads_match(session, lambda a: gw.linalg.diagonal(a, offset=1), lambda a: torch.linalg.diagonal(a, offset=1), _SQUARE)
    _grads_match(session, gw.linalg.matmul, torch.linalg.matmul, _SQUARE, _RHS)


def test_tensorinv_and_tensorsolve(session):
    a = np.random.default_rng(3).standard_normal((24, 24)) + 6 * np.eye(24)
    _grads_match(session, lambda A: gw.linalg.tensorinv(A.reshape(4, 6, 8, 3), ind=2), lambda t: torch.linalg.tensorinv(t.reshape(4, 6, 8, 3), ind=2), a)
    b = np.random.default_rng(4).standard_normal((4, 6))
    _grads_match(session, lambda A, B: gw.linalg.tensorsolve(A.reshape(4, 6, 8, 3), B), lambda A, B: torch.linalg.tensorsolve(A.reshape(4, 6, 8, 3), B), a, b)
    _grads_match(session, lambda A, B: gw.linalg.tensorsolve(A.reshape(8, 4, 6, 3), B, dims=(0,)),
                 lambda A, B: torch.linalg.tensorsolve(A.reshape(8, 4, 6, 3), B, dims=(0,)), a, b)
    with pytest.raises(gw.InvalidArgumentError, match=r"but got 1 != 9"):
        gw.linalg.tensorinv(session.tensor(np.eye(3)), ind=2)
    with pytest.raises(gw.InvalidArgumentError, match="Expected a strictly positive integer for 'ind', but got 0"):
        gw.linalg.tensorinv(session.tensor(np.eye(3)), ind=0)


def test_solve_with_the_unknown_on_the_left(session):
    _grads_match(session, lambda A, B: gw.linalg.solve(A, B.mT, left=False), lambda A, B: torch.linalg.solve(A, B.mT, left=False), _SQUARE, _RHS)


def test_torch_level_cholesky_solve_inverse_triangular_solve_and_tensor_methods(session):
    spd = _SQUARE @ _SQUARE.swapaxes(-1, -2) + np.eye(4)
    for upper in (False, True):
        _grads_match(session, lambda A, B: gw.cholesky_solve(B, gw.linalg.cholesky(A, upper=upper), upper),
                     lambda A, B: torch.cholesky_solve(B, torch.linalg.cholesky(A, upper=upper), upper), spd, _RHS)
        _grads_match(session, lambda A: gw.linalg.cholesky(A, upper=upper).cholesky_inverse(upper),
                     lambda A: torch.linalg.cholesky(A, upper=upper).cholesky_inverse(upper), spd)
        _grads_match(session, lambda A: A.cholesky(upper=upper), lambda A: A.cholesky(upper=upper), spd)
    for transpose in (False, True):
        ours = lambda A, B: B.triangular_solve(A, upper=False, transpose=transpose).solution  # noqa: E731
        theirs = lambda A, B: torch.triangular_solve(B, A, upper=False, transpose=transpose).solution  # noqa: E731
        _grads_match(session, ours, theirs, _SQUARE, _RHS)
    solved = gw.triangular_solve(session.tensor(_RHS), session.tensor(_SQUARE))
    assert solved._fields == ("solution", "cloned_coefficient")
    _close(solved.cloned_coefficient, _SQUARE)
    _grads_match(session, lambda A, B: B.lu_solve(*A.lu()), lambda A, B: B.lu_solve(*A.lu()), _SQUARE, _RHS)
    LU, pivots, infos = session.tensor(_SQUARE).lu(get_infos=True)
    np.testing.assert_array_equal(infos.numpy(), [0, 0])
    _grads_match(session, lambda A: A.matrix_power(-2), lambda A: A.matrix_power(-2), _SQUARE)
    _grads_match(session, lambda A: A.pinverse(), lambda A: A.pinverse(), _RHS)
    Q, R = gw.qr(session.tensor(_RHS))
    tQ, tR = torch.qr(torch.tensor(_RHS))
    _close(Q, tQ)
    _close(R, tR)
    assert session.tensor(_RHS).qr(some=False).Q.shape == (2, 4, 4)


@pytest.mark.parametrize("shape,k", [((5, 3), 3), ((5, 3), 2), ((2, 4, 4), 4)], ids=str)
def test_householder_product_and_orgqr(session, shape, k):
    tau = np.random.default_rng(6).uniform(0.5, 1.5, shape[:-2] + (k,))
    a = np.random.default_rng(7).standard_normal(shape)
    _grads_match(session, gw.linalg.householder_product, torch.linalg.householder_product, a, tau)
    _close(session.tensor(a).orgqr(session.tensor(tau)), torch.orgqr(torch.tensor(a), torch.tensor(tau)))
    with pytest.raises(gw.InvalidArgumentError, match="input.shape\\[-2\\] must be greater than or equal to input.shape\\[-1\\]"):
        gw.linalg.householder_product(session.tensor(np.ones((2, 3))), session.tensor(np.ones(1)))


def test_cond_of_a_singular_matrix_as_torchs(session):
    for p in (None, 1, "fro"):
        np.testing.assert_array_equal(gw.linalg.cond(session.tensor(np.zeros((2, 3, 3))), p).numpy(),
                                      torch.linalg.cond(torch.zeros(2, 3, 3, dtype=torch.float64), p).numpy())


def test_geqrf_and_its_q_as_torchs(session):
    a = np.random.default_rng(9).standard_normal((2, 5, 3))
    ours, theirs = gw.geqrf(session.tensor(a)), torch.geqrf(torch.tensor(a))
    assert ours._fields == ("a", "tau") and ours.tau.shape == (2, 3)
    _close(ours.a, theirs.a)
    _close(ours.tau, theirs.tau)
    _close(gw.linalg.householder_product(*ours), torch.linalg.householder_product(*theirs))


@pytest.mark.parametrize("shape,other,left,transpose", [((5, 3), (5, 2), True, False), ((5, 3), (5, 2), True, True), ((5, 3), (2, 5), False, False),
                                                        ((5, 3), (2, 5), False, True), ((2, 4, 4), (2, 4, 3), True, True), ((3, 5), (3, 2), True, False)], ids=str)
def test_ormqr_applies_the_reflectors_as_torchs(session, shape, other, left, transpose):
    a, tau = torch.geqrf(torch.tensor(np.random.default_rng(10).standard_normal(shape)))
    c = np.random.default_rng(11).standard_normal(other)
    _grads_match(session, lambda *x: gw.ormqr(*x, left, transpose), lambda *x: torch.ormqr(*x, left, transpose), a.numpy(), tau.numpy(), c,
                 rtol=1e-9, atol=1e-12)
    _close(session.tensor(a.numpy()).ormqr(session.tensor(tau.numpy()), session.tensor(c), left, transpose),
           torch.tensor(a.numpy()).ormqr(tau, torch.tensor(c), left, transpose))


def test_ormqr_checks_as_torchs(session):
    bad = [lambda m, t: m.ormqr(t(np.zeros((5, 3))), t(np.zeros(3)), t(np.zeros((4, 2)))),
           lambda m, t: m.ormqr(t(np.zeros((5, 3))), t(np.zeros(2)), t(np.zeros((5, 2)))),
           lambda m, t: m.ormqr(t(np.zeros((5, 3))), t(np.zeros(3, dtype=np.float32)), t(np.zeros((5, 2)))),
           lambda m, t: m.ormqr(t(np.zeros((2, 5, 3))), t(np.zeros((3, 3))), t(np.zeros((2, 5, 2)))),
           lambda m, t: m.ormqr(t(np.zeros((5, 3))), t(np.zeros(3)), t(np.zeros(5)))]
    for call in bad:
        with pytest.raises(RuntimeError) as t_error:
            call(torch, torch.tensor)
        with pytest.raises(RuntimeError) as error:
            call(gw, session.tensor)
        assert str(error.value) == str(t_error.value)


@pytest.mark.parametrize("dtype,shape,hermitian", [("float64", (5, 5), False), ("float32", (2, 6, 6), False), ("complex128", (4, 4), False),
                                                     ("complex128", (2, 4, 4), True)], ids=str)
def test_ldl_factor_and_ldl_solve_are_lapacks_as_torchs(session, dtype, shape, hermitian):
    rng = np.random.default_rng(12)
    a = rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if dtype.startswith("complex") else 0)
    a = (a + (np.conj(a) if hermitian else a).swapaxes(-1, -2)).astype(dtype)  # symmetric (Hermitian), indefinite: 2x2 blocks too
    b = rng.standard_normal(shape[-1:] + (3,)).astype(dtype)  # one B for the whole batch: broadcast
    ours, theirs = gw.linalg.ldl_factor_ex(session.tensor(a), hermitian=hermitian), torch.linalg.ldl_factor_ex(torch.tensor(a), hermitian=hermitian)
    assert ours._fields == ("LD", "pivots", "info") and ours.pivots.dtype == gw.int32 and tuple(ours.info.shape) == tuple(theirs.info.shape)
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
    assert not ours.info.numpy().any()
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(ours.LD.numpy(), theirs.LD.numpy(), rtol=tolerance, atol=tolerance)
    x = gw.linalg.ldl_solve(*gw.linalg.ldl_factor(session.tensor(a), hermitian=hermitian), session.tensor(b), hermitian=hermitian)
    t_x = torch.linalg.ldl_solve(theirs.LD, theirs.pivots, torch.tensor(b), hermitian=hermitian)
    assert tuple(x.shape) == tuple(t_x.shape)
    np.testing.assert_allclose(x.numpy(), t_x.numpy(), rtol=100 * tolerance, atol=100 * tolerance)
    np.testing.assert_allclose(a @ x.numpy(), np.broadcast_to(b, x.shape), rtol=1e-3 if dtype == "float32" else 1e-9, atol=1e-3 if dtype == "float32" else 1e-9)


def test_ldl_factor_refuses_a_singular_d_and_a_backward_as_torch_would(session):
    info = gw.linalg.ldl_factor_ex(session.zeros(2, 3, 3)).info
    np.testing.assert_array_equal(info.numpy(), torch.linalg.ldl_factor_ex(torch.zeros(2, 3, 3)).info.numpy())
    # (torch 2.13 means to refuse it too, and fails an internal assert: "Unknown error code: 1")
    with pytest.raises(gw.linalg.LinAlgError, match=r"^torch.linalg.ldl_factor: \(Batch element 0\): D\(1,1\) is exactly zero"):
        gw.linalg.ldl_factor(session.zeros(2, 3, 3))
    a = session.tensor(np.diag([2.0, -1.0, 3.0]), requires_grad=True)
    LD, pivots = gw.linalg.ldl_factor(a)
    assert LD.requires_grad and not pivots.requires_grad and LD.grad_fn.name() == "LinalgLdlFactorExBackward0"
    with pytest.raises(gw.errors.UnimplementedError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
        LD.sum().backward()
        session.sync()
    b = session.tensor(np.ones((3, 1)), requires_grad=True)
    with pytest.raises(gw.errors.UnimplementedError, match="derivative for aten::linalg_ldl_solve is not implemented"):
        gw.linalg.ldl_solve(LD.detach(), pivots, b).sum().backward()
        session.sync()


def test_ldl_checks_as_torchs(session):
    eye, pivots = np.eye(3), np.arange(1, 4, dtype=np.int32)
    bad = [lambda L, t: L.linalg.ldl_factor(t(np.ones((2, 3)))).LD.tolist(),
           lambda L, t: L.linalg.ldl_factor(t(np.ones(3))).LD.tolist(),
           lambda L, t: L.linalg.ldl_factor(t(np.ones((3, 3), dtype=np.int64))).LD.tolist(),
           lambda L, t: L.linalg.ldl_factor(t(np.ones((3, 3), dtype=np.float16))).LD.tolist(),
           lambda L, t: L.linalg.ldl_solve(t(eye), t(pivots), t(np.ones((2, 3)))).tolist(),
           lambda L, t: L.linalg.ldl_solve(t(eye), t(pivots[:2]), t(np.ones((3, 3)))).tolist(),
           lambda L, t: L.linalg.ldl_solve(t(eye), t(pivots * 1.0), t(np.ones((3, 3)))).tolist(),
           lambda L, t: L.linalg.ldl_solve(t(eye), t(pivots), t(np.ones((3, 3), dtype=np.float32))).tolist(),
           lambda L, t: L.linalg.ldl_solve(t(eye), t(pivots), t(np.ones(3))).tolist()]
    for call in bad:
        with pytest.raises(Exception) as t_error:
            call(torch, torch.tensor)
        with pytest.raises(Exception) as error:
            call(gw, session.tensor)
        assert isinstance(error.value, type(t_error.value)) and str(t_error.value) in str(error.value), (error.value, t_error.value)


def test_second_derivatives_through_lu_solve_as_torchs(session):
    """grad with create_graph through lu_factor and the triangular solves, then a second backward."""
    A, tA = _pair(session, _SQUARE)
    B, tB = _pair(session, _RHS)

    def first(lib, A, B):
        X = lib.linalg.lu_solve(*lib.linalg.lu_factor(A), B)
        (gA,) = lib.autograd.grad((X ** 3).sum(), [A], create_graph=True)
        return (gA * gA).sum()

    first(gw, A, B).backward()
    first(torch, tA, tB).backward()
    _close(A.grad, tA.grad, rtol=1e-6, atol=1e-8)
    _close(B.grad, tB.grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape, q", [((5, 4), 2), ((5, 4), 4), ((4, 7), 3), ((3, 5, 4), 3)])
def test_svd_lowrank_is_the_exact_truncated_svd_in_torchs_shapes(session, shape, q):
    a = np.random.default_rng(12).standard_normal(shape)
    U, S, V = gw.svd_lowrank(session.tensor(a), q=q)
    t_U, t_S, t_V = torch.svd_lowrank(torch.tensor(a), q=q, niter=20)  # randomized: close to the exact triplets
    assert (U.shape, S.shape, V.shape) == (tuple(t_U.shape), tuple(t_S.shape), tuple(t_V.shape))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(S.numpy(), s[..., :q], rtol=1e-10)
    np.testing.assert_allclose(S.numpy(), t_S.numpy(), rtol=1e-6)
    truncated = (u[..., :q] * s[..., None, :q]) @ vh[..., :q, :]
    np.testing.assert_allclose((U * S.unsqueeze(-2) @ V.mT).numpy(), truncated, atol=1e-10)


def test_pca_lowrank_centers_checks_and_differentiates_as_torch(session):
    a = np.random.default_rng(13).standard_normal((8, 5))
    x, t = session.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    U, S, V = gw.pca_lowrank(x, q=2)
    t_U, t_S, t_V = torch.pca_lowrank(t, q=2, niter=30)
    np.testing.assert_allclose(S.detach().numpy(), t_S.detach().numpy(), rtol=1e-8)
    assert gw.pca_lowrank(session.tensor(a))[1].shape == (5,)  # q: min(6, m, n)
    S.sum().backward()
    t_S.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-7)
    for call in (lambda m, y: m.pca_lowrank(y, q=9), lambda m, y: m.pca_lowrank(y, niter=-1)):
        with pytest.raises(ValueError) as theirs:
            call(torch, torch.tensor(a))
        with pytest.raises(ValueError) as ours:
            call(gw, session.tensor(a))
        assert str(ours.value) == str(theirs.value)
