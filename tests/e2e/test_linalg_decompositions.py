"""The decompositions with several outputs through a real session (``gw.linalg.svd``, ``eigh``, ``qr``, ``slogdet``), and
what is written with them (``pinv``, ``lstsq``, ``matrix_rank``, ``matrix_power``, ``multi_dot``, ``nn.init.orthogonal_``),
against PyTorch on the CPU: values (singular vectors and eigenvectors up to sign), one shared node per op, gradients of
losses that a sign flip leaves alone, and mistakes in torch's words."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")


def _pair(values, requires_grad=True):
    values = np.asarray(values, dtype=np.float64)
    return torch.tensor(values, requires_grad=requires_grad), values


def _ours(session, values, requires_grad=True):
    return session.tensor(values, dtype=gw.float64, requires_grad=requires_grad)


def _close(ours, theirs, rtol=1e-7, atol=1e-9):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    np.testing.assert_allclose(ours.detach().numpy() if hasattr(ours, "numpy") else ours, theirs, rtol=rtol, atol=atol)


def _up_to_sign(ours, theirs, axis):
    """Columns (axis=-2 sums down them) or rows (axis=-1) equal up to each one's sign."""
    a, b = ours.detach().numpy(), theirs.detach().numpy()
    signs = np.sign((a * b).sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(a * signs, b, rtol=1e-7, atol=1e-9)


_SHAPES = [(4, 4), (5, 3), (3, 5), (2, 4, 3)]


@pytest.mark.parametrize("full_matrices", [False, True])
@pytest.mark.parametrize("shape", _SHAPES, ids=str)
def test_svd_values_up_to_sign_and_gradients_of_invariant_losses(session, shape, full_matrices):
    t, values = _pair(np.random.default_rng(1).standard_normal(shape))
    A = _ours(session, values)
    U, S, Vh = gw.linalg.svd(A, full_matrices=full_matrices)
    tU, tS, tVh = torch.linalg.svd(t, full_matrices=full_matrices)
    assert type(gw.linalg.svd(A)).__name__ == "linalg_svd" and gw.linalg.svd(A)._fields == ("U", "S", "Vh")
    assert U.shape == tuple(tU.shape) and S.shape == tuple(tS.shape) and Vh.shape == tuple(tVh.shape)
    assert U.grad_fn.name() == S.grad_fn.name() == Vh.grad_fn.name() == "LinalgSvdBackward0"
    k = min(shape[-2:])
    _close(S, tS)
    _up_to_sign(U[..., :, :k], tU[..., :, :k], axis=-2)
    _up_to_sign(Vh[..., :k, :], tVh[..., :k, :], axis=-1)

    def loss(lib, U, S, Vh):  # squares of singular vectors, S, and U diag(S^2) Vh: no sign flip changes them
        U, Vh = U[..., :, :k], Vh[..., :k, :]
        w = lib.arange(1.0, k + 1, dtype=lib.float64)
        return (U * U * w).sum() + (S * S).sum() + (Vh * Vh * w.unsqueeze(-1)).sum() + ((U * (S * S).unsqueeze(-2)) @ Vh).sum()

    loss(gw, U, S, Vh).backward()
    loss(torch, tU, tS, tVh).backward()
    _close(A.grad, t.grad, rtol=1e-6, atol=1e-8)


def test_svd_gradient_through_singular_values_alone_and_the_old_torch_svd(session):
    t, values = _pair(np.random.default_rng(2).standard_normal((4, 3)))
    A = _ours(session, values)
    gw.linalg.svd(A, full_matrices=False).S.sum().backward()
    torch.linalg.svd(t, full_matrices=False).S.sum().backward()
    _close(A.grad, t.grad)
    U, S, V = A.svd()
    tU, tS, tV = torch.svd(t)
    assert V.shape == tuple(tV.shape) and U.shape == tuple(tU.shape)
    _up_to_sign(V, tV, axis=-2)
    full = gw.svd(A, some=False)
    assert full.U.shape == tuple(torch.svd(t, some=False).U.shape) and full._fields == ("U", "S", "V")
    values_only, t_values_only = A.svd(compute_uv=False), torch.svd(t, compute_uv=False)
    for ours, theirs in zip(values_only, t_values_only):
        assert ours.shape == tuple(theirs.shape)
        _close(ours, theirs)


@pytest.mark.parametrize("UPLO", ["L", "U"])
def test_eigh_values_up_to_sign_and_gradients_as_torchs(session, UPLO):
    t, values = _pair(np.random.default_rng(3).standard_normal((2, 4, 4)))
    A = _ours(session, values)
    w, V = gw.linalg.eigh(A, UPLO=UPLO)
    tw, tV = torch.linalg.eigh(t, UPLO=UPLO)
    assert w.grad_fn.name() == V.grad_fn.name() == "LinalgEighBackward0"
    assert gw.linalg.eigh(A)._fields == ("eigenvalues", "eigenvectors")
    _close(w, tw)
    _up_to_sign(V, tV, axis=-2)
    weights = np.arange(16.0).reshape(4, 4)
    ((V * V * session.tensor(weights, dtype=gw.float64)).sum() + (w * w).sum()).backward()
    ((tV * tV * torch.tensor(weights)).sum() + (tw * tw).sum()).backward()
    _close(A.grad, t.grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["reduced", "complete"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 3, 4)], ids=str)
def test_qr_values_and_gradients_as_torchs(session, shape, mode):
    t, values = _pair(np.random.default_rng(4).standard_normal(shape))
    A = _ours(session, values)
    Q, R = gw.linalg.qr(A, mode=mode)
    tQ, tR = torch.linalg.qr(t, mode=mode)
    assert Q.shape == tuple(tQ.shape) and R.shape == tuple(tR.shape)
    assert Q.grad_fn.name() == R.grad_fn.name() == "LinalgQrBackward0"
    _close(Q, tQ)
    _close(R, tR)
    if mode == "complete" and shape[-2] > shape[-1]:
        (Q.sum() + R.sum()).backward()  # torch refuses this one; so do we, in its words
        with pytest.raises(RuntimeError, match="The QR decomposition is not differentiable when mode='complete' and nrows > ncols."):
            A.grad.numpy()
        return
    weights = np.random.default_rng(5).standard_normal(tuple(tQ.shape))
    ((Q * session.tensor(weights, dtype=gw.float64)).sum() + (R * R).sum()).backward()
    ((tQ * torch.tensor(weights)).sum() + (tR * tR).sum()).backward()
    _close(A.grad, t.grad, rtol=1e-6, atol=1e-8)


def test_qr_mode_r_gives_an_empty_q_and_refuses_a_gradient_in_torchs_words(session):
    t, values = _pair(np.random.default_rng(6).standard_normal((4, 3)))
    A = _ours(session, values)
    Q, R = gw.linalg.qr(A, mode="r")
    tQ, tR = torch.linalg.qr(t, mode="r")
    assert Q.shape == tuple(tQ.shape) == (0,)
    _close(R, tR)
    R.sum().backward()
    with pytest.raises(RuntimeError, match="The derivative of linalg.qr depends on Q, which is not computed when mode='r'"):
        A.grad.numpy()


def test_slogdet_is_one_op_computed_once(session, monkeypatch):
    t, values = _pair(np.array([[0.0, 2.0, 1.0], [3.0, 1.0, 0.5], [1.0, 0.0, 4.0]]))
    A = _ours(session, values)
    session.sync()
    calls = []
    linalg = importlib.import_module("cupy" if session.device == "cuda" else "numpy").linalg  # the server's array module's
    original = linalg.slogdet
    monkeypatch.setattr(linalg, "slogdet", lambda a: calls.append(a.shape) or original(a))
    sign, logabsdet = gw.linalg.slogdet(A)
    t_sign, t_logabsdet = torch.linalg.slogdet(t)
    _close(sign, t_sign)
    _close(logabsdet, t_logabsdet)
    assert calls == [(3, 3)]  # one op, one decomposition: not one for the sign and one for the logarithm
    assert sign.grad_fn.name() == logabsdet.grad_fn.name() == "LinalgSlogdetBackward0"
    assert sign.requires_grad == t_sign.requires_grad
    (sign * logabsdet).backward()
    (t_sign * t_logabsdet).backward()
    _close(A.grad, t.grad)
    assert gw.slogdet(A)._fields == ("sign", "logabsdet")


def test_double_backward_through_svd_and_eigh_as_torchs(session):
    t, values = _pair(np.random.default_rng(7).standard_normal((3, 3)))
    A = _ours(session, values)
    (g,) = gw.autograd.grad(gw.linalg.svd(A).S.pow(3).sum() + (gw.linalg.eigh(A).eigenvalues ** 2).sum(), A, create_graph=True)
    (tg,) = torch.autograd.grad(torch.linalg.svd(t).S.pow(3).sum() + (torch.linalg.eigh(t).eigenvalues ** 2).sum(), t, create_graph=True)
    _close(g, tg, rtol=1e-6, atol=1e-8)
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    _close(A.grad, t.grad, rtol=1e-6, atol=1e-8)


def test_hooks_and_retained_grads_on_outputs_of_one_node(session):
    t, values = _pair(np.random.default_rng(8).standard_normal((4, 3)))
    A = _ours(session, values)
    U, S, Vh = gw.linalg.svd(A, full_matrices=False)
    tU, tS, tVh = torch.linalg.svd(t, full_matrices=False)
    S.retain_grad()
    tS.retain_grad()
    S.register_hook(lambda g: g * 3)
    tS.register_hook(lambda g: g * 3)
    ((S * S).sum() + (U * U)[0].sum()).backward()
    ((tS * tS).sum() + (tU * tU)[0].sum()).backward()
    _close(S.grad, tS.grad)
    _close(A.grad, t.grad, rtol=1e-6, atol=1e-8)


def test_the_graph_picture_shows_the_shared_node_once(session):
    A = _ours(session, np.random.default_rng(9).standard_normal((3, 3)))
    U, S, Vh = gw.linalg.svd(A)
    picture = gw.viz.graph(((U * U).sum(0) * S).sum() + (Vh * Vh).sum(), params={"A": A})
    names = [n.name for n in picture.nodes if getattr(n, "is_op", False)]
    assert names.count("LinalgSvdBackward0") == 1, names
    assert picture.source.count("LinalgSvdBackward0") == 1


# --- written with the decompositions --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)], ids=str)
def test_pinv_values_and_gradients_as_torchs(session, shape):
    t, values = _pair(np.random.default_rng(10).standard_normal(shape))
    A = _ours(session, values)
    P, tP = gw.linalg.pinv(A), torch.linalg.pinv(t)
    _close(P, tP, rtol=1e-6, atol=1e-9)
    weights = np.random.default_rng(11).standard_normal(tuple(tP.shape))
    (P * session.tensor(weights, dtype=gw.float64)).sum().backward()
    (tP * torch.tensor(weights)).sum().backward()
    _close(A.grad, t.grad, rtol=1e-6, atol=1e-8)


def test_pinv_of_a_rank_deficient_matrix_and_matrix_rank(session):
    values = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 0.5]) + np.outer([0.0, 1.0, 0.0], [2.0, 0.0, 1.0])  # rank 2
    A, t = _ours(session, values, requires_grad=False), torch.tensor(values)
    _close(gw.linalg.pinv(A), torch.linalg.pinv(t), rtol=1e-6, atol=1e-9)
    rank, t_rank = gw.linalg.matrix_rank(A), torch.linalg.matrix_rank(t)
    assert rank.item() == t_rank.item() == 2 and rank.dtype == gw.int64
    assert gw.linalg.matrix_rank(A, atol=1e3).item() == torch.linalg.matrix_rank(t, atol=1e3).item() == 0
    assert gw.linalg.matrix_rank(A, hermitian=True).item() == torch.linalg.matrix_rank(t, hermitian=True).item()
    batch = np.stack([values, np.eye(3)])
    assert gw.linalg.matrix_rank(session.tensor(batch)).tolist() == torch.linalg.matrix_rank(torch.tensor(batch)).tolist()


@pytest.mark.parametrize("driver", [None, "gelsy", "gelsd", "gelss", "gels"])
def test_lstsq_fields_as_torchs_cpu_drivers_fill_them(session, driver):
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    ours = gw.linalg.lstsq(_ours(session, a), _ours(session, b), driver=driver)
    theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    assert type(ours).__name__ == "linalg_lstsq" and ours._fields == ("solution", "residuals", "rank", "singular_values")
    for field in ours._fields:
        assert getattr(ours, field).shape == tuple(getattr(theirs, field).shape), field
        _close(getattr(ours, field), getattr(theirs, field), rtol=1e-6, atol=1e-9)
    assert ours.rank.dtype == gw.int64


def test_lstsq_solution_has_torchs_gradient(session):
    rng = np.random.default_rng(13)
    (t_a, a), (t_b, b) = _pair(rng.standard_normal((6, 3))), _pair(rng.standard_normal((6, 2)))
    A, B = _ours(session, a), _ours(session, b)
    gw.linalg.lstsq(A, B).solution.pow(2).sum().backward()
    torch.linalg.lstsq(t_a, t_b).solution.pow(2).sum().backward()
    _close(A.grad, t_a.grad, rtol=1e-6, atol=1e-8)
    _close(B.grad, t_b.grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("n", [0, 1, 2, 5, -1, -3])
def test_matrix_power_as_torchs(session, n):
    t, values = _pair(np.random.default_rng(14).standard_normal((2, 3, 3)) + 3 * np.eye(3))
    A = _ours(session, values)
    P, tP = gw.linalg.matrix_power(A, n), torch.linalg.matrix_power(t, n)
    _close(P, tP, rtol=1e-6, atol=1e-9)
    if n:
        P.sum().backward()
        tP.sum().backward()
        _close(A.grad, t.grad, rtol=1e-6, atol=1e-8)


def test_multi_dot_as_torchs(session):
    rng = np.random.default_rng(15)
    shapes = [(4,), (4, 3), (3, 5), (5,)]
    pairs = [_pair(rng.standard_normal(s)) for s in shapes]
    ours = [_ours(session, v) for _, v in pairs]
    out, t_out = gw.linalg.multi_dot(ours), torch.linalg.multi_dot([t for t, _ in pairs])
    _close(out, t_out)
    out.backward()
    t_out.backward()
    for x, (t, _) in zip(ours, pairs):
        _close(x.grad, t.grad)
    with pytest.raises(RuntimeError, match=r"multi_dot\(\): expected at least 2 tensors but got 1"):
        gw.linalg.multi_dot(ours[:1])


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3)], ids=str)
def test_orthogonal_init_as_torchs_algorithm(session, shape):
    w = session.empty(shape)
    gw.nn.init.orthogonal_(w, gain=2.0)
    flat = w.numpy().reshape(shape[0], -1)
    rows, cols = flat.shape
    gram = flat @ flat.T if rows < cols else flat.T @ flat
    np.testing.assert_allclose(gram, 4 * np.eye(min(rows, cols)), atol=1e-5)
    # torch's algorithm on the same normal draws: the session's generator, reseeded
    session.manual_seed(3)
    gw.nn.init.orthogonal_(w)
    session.manual_seed(3)
    draws = session.randn((rows, cols)).numpy()
    q, r = torch.linalg.qr(torch.tensor(draws.T if rows < cols else draws))
    q = q * torch.diag(r, 0).sign()
    expected = (q.T if rows < cols else q).reshape(shape).numpy()
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        gw.nn.init.orthogonal_(session.zeros(3))


_MISTAKES = [
    lambda m, x: m.linalg.eigh(x[:, :3]).eigenvalues.sum().item(),
    lambda m, x: m.linalg.eigh(x, UPLO="X"),
    lambda m, x: m.linalg.svd(x[0]).S.sum().item(),
    lambda m, x: m.linalg.qr(x, mode="x"),
    lambda m, x: m.linalg.slogdet(x[:, :3]).logabsdet.sum().item(),
]


@pytest.mark.parametrize("mistake", range(len(_MISTAKES)))
def test_mistakes_in_torchs_words(session, mistake):
    values = np.random.default_rng(16).standard_normal((4, 4))
    x, t = session.tensor(values), torch.tensor(values, dtype=torch.float32)
    with pytest.raises(RuntimeError) as theirs:
        _MISTAKES[mistake](torch, t)
    with pytest.raises(RuntimeError) as ours:
        _MISTAKES[mistake](gw, x)
    assert str(theirs.value).splitlines()[0] in str(ours.value)
    assert (x + 1).shape == (4, 4)  # the session goes on
