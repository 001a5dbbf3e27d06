"""The wider tensor API through the SDK (sorting, rounding, tests of values, reductions, linear-algebra
names, shape moves, new_* factories, small in-place methods), each against PyTorch: values, dtypes,
grad_fn names, gradients and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

_VALUES = np.array([[0.3, -1.2, 2.5, 0.35], [1.7, 0.25, -0.4, -2.2], [-0.6, 1.1, 0.9, 1.4]], dtype=np.float32)  # distinct: topk orders ties as it likes

# (name, f) where f(module, x) works on a gw or torch tensor alike; module is gw or torch
_EXPRESSIONS = [
    ("sort", lambda m, x: x.sort(dim=1, descending=True).values),
    ("sort-indices", lambda m, x: m.sort(x, 0).indices),
    ("argsort", lambda m, x: x.argsort(dim=1, descending=True)),
    ("topk", lambda m, x: x.topk(2).values * 3),
    ("topk-indices", lambda m, x: m.topk(x, 2, dim=0, largest=False).indices),
    ("square", lambda m, x: m.square(x)),
    ("rsqrt", lambda m, x: x.abs().rsqrt()),
    ("reciprocal", lambda m, x: x.reciprocal()),
    ("trig", lambda m, x: m.tan(x) + m.asin(x / 3) + m.acos(x / 3) + x.atan() + x.sinh() + x.cosh()),
    ("logs", lambda m, x: (x.abs() + 1).log2() + m.log10(x.abs() + 1) + x.exp2()),
    ("erf", lambda m, x: m.erf(x)),
    ("rounding", lambda m, x: x.floor() + x.ceil() + m.round(x) + x.trunc() + x.sign() + x.round(decimals=1)),
    ("prod", lambda m, x: x.prod(1)),
    ("prod-all", lambda m, x: m.prod(x)),
    ("amax", lambda m, x: x.amax(0)),
    ("amin-all", lambda m, x: m.amin(x)),
    ("logsumexp", lambda m, x: m.logsumexp(x, 1)),
    ("flip", lambda m, x: x.flip(0) * m.flip(x, (0, 1))),
    ("roll", lambda m, x: m.roll(x, (1, -1), (0, 1))),
    ("repeat", lambda m, x: x.repeat(2, 1, 1)),
    ("tile", lambda m, x: m.tile(x, (2,))),
    ("narrow", lambda m, x: x.narrow(1, 1, 2)),
    ("movedim", lambda m, x: m.movedim(x.unsqueeze(0), 0, 2)),
    ("mT", lambda m, x: x.mT),
    ("mm", lambda m, x: m.mm(x, x.mT)),
    ("bmm", lambda m, x: x.unsqueeze(0).bmm(x.mT.unsqueeze(0))),
    ("mv", lambda m, x: m.mv(x, x[0])),
    ("dot", lambda m, x: m.dot(x[0], x[1])),
    ("outer", lambda m, x: m.outer(x[0], x[1])),
    ("atan2", lambda m, x: m.atan2(x, x.flip(1))),
    ("fmod", lambda m, x: m.fmod(x, 0.7)),
    ("clamp_min-max", lambda m, x: x.clamp_min(-0.5) + m.clamp_max(x, 0.5) + x.clip(-1, 1)),
    ("tests", lambda m, x: m.isnan(x.log()) | x.isinf() | ~m.isfinite(x)),
    ("logical", lambda m, x: m.logical_and(x > 0, x < 1).logical_or(x > 2).logical_xor(x < -1).logical_not()),
    ("all-any", lambda m, x: m.stack([(x > -3).all(), m.any(x > 2), (x > 0).all(1).any()])),
    ("count_nonzero", lambda m, x: m.count_nonzero(x > 0, 1)),
]


def _dtype(t):
    return np.dtype(str(t.dtype).replace("torch.", ""))


@pytest.mark.parametrize("name, f", _EXPRESSIONS, ids=[e[0] for e in _EXPRESSIONS])
def test_an_expression_matches_torch(session, name, f):
    x, t = session.tensor(_VALUES, requires_grad=True), torch.tensor(_VALUES, requires_grad=True)
    ours, theirs = f(gw, x), f(torch, t)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == _dtype(theirs)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-6)
    assert ours.requires_grad == theirs.requires_grad
    if not theirs.requires_grad:
        return
    grad_fn = type(theirs.grad_fn).__name__
    if name != "clamp_min-max":  # clamp_min is clamp's node here
        assert ours.grad_fn.name() == grad_fn
    cotangent = np.random.default_rng(0).standard_normal(ours.shape).astype(np.float32)
    ours.backward(session.tensor(cotangent))
    theirs.backward(torch.from_numpy(cotangent))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_sort_and_topk_give_named_tuples_and_a_stable_order_as_in_torch(session):
    values = [[2.0, 1.0, 2.0, float("nan"), 1.0]]
    x, t = session.tensor(values), torch.tensor(values)
    ours, theirs = x.sort(), t.sort(stable=True)
    assert ours.indices.tolist() == theirs.indices.tolist() and type(ours).__name__ == "sort"
    ours, theirs = x.sort(descending=True), t.sort(descending=True, stable=True)
    assert ours.indices.tolist() == theirs.indices.tolist()
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    values_, indices = x.topk(2)
    assert indices.dtype == np.int64 and values_.shape == (1, 2)


def test_allclose_equal_and_comparisons_return_python_bools(session):
    x, t = session.tensor([1.0, 2.0, float("nan")]), torch.tensor([1.0, 2.0, float("nan")])
    assert gw.allclose(x, x + 1e-9) is torch.allclose(t, t + 1e-9) is False  # NaN != NaN
    assert x.allclose(x + 1e-9, equal_nan=True) is t.allclose(t + 1e-9, equal_nan=True) is True
    assert gw.equal(x[:2], x[:2]) is True and gw.equal(x, x[:2]) is False


def test_new_factories_follow_the_tensor_as_in_torch(session):
    x, t = session.tensor([[1, 2]], dtype=np.int32), torch.tensor([[1, 2]], dtype=torch.int32)
    for ours, theirs in ((x.new_zeros(2, 3), t.new_zeros(2, 3)), (x.new_ones((1, 2)), t.new_ones((1, 2))),
                         (x.new_full((2,), 7), t.new_full((2,), 7)), (x.new_tensor([3, 4]), t.new_tensor([3, 4])),
                         (x.new_zeros(2, dtype=np.float64), t.new_zeros(2, dtype=torch.float64))):
        assert ours.tolist() == theirs.tolist() and ours.dtype == _dtype(theirs)
    assert x.type_as(session.tensor([1.0])).dtype == np.float32
    assert (x.element_size(), x.nelement()) == (t.element_size(), t.nelement())


def test_small_in_place_methods_as_in_torch(session):
    x, t = session.tensor([1.0, -3.0, 5.0]), torch.tensor([1.0, -3.0, 5.0])
    for ours, theirs in ((x.clamp_(-2, 2), t.clamp_(-2, 2)), (x.div_(4), t.div_(4)), (x.fill_(1.5), t.fill_(1.5))):
        assert ours is x and ours.tolist() == theirs.tolist()
    p = session.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        p.fill_(0.0)
    with gw.no_grad():
        p.fill_(0.0)
    assert p.tolist() == [0.0]


_MISTAKES = [
    lambda m, x: m.mm(x, x[0]),
    lambda m, x: m.mm(x[0], x),
    lambda m, x: x.bmm(x),
    lambda m, x: m.mv(x, x),
    lambda m, x: m.dot(x, x[0]),
    lambda m, x: m.outer(x[0], x),
    lambda m, x: x.narrow(0, 2, 5),
    lambda m, x: x.repeat(2),
    lambda m, x: x.topk(5).values.sum().item(),
    lambda m, x: m.movedim(x, (0, 1), (0,)),
    lambda m, x: x[0].mT,
    lambda m, x: x.sort(dim=2),
    lambda m, x: m.round(x.long(), decimals=1).sum().item(),
    lambda m, x: x.bool().floor().sum().item(),
]


@pytest.mark.parametrize("mistake", range(len(_MISTAKES)))
def test_mistakes_are_refused_in_torchs_words(session, mistake):
    f = _MISTAKES[mistake]
    x, t = session.tensor(_VALUES), torch.tensor(_VALUES)
    with pytest.raises((RuntimeError, IndexError, TypeError)) as theirs:
        f(torch, t)
    with pytest.raises((RuntimeError, IndexError, TypeError)) as ours:
        f(gw, x)
    unsuffixed = lambda message: message.replace("_vml_cpu", "").replace("_cpu", "")  # noqa: E731 - (kernel names: exactly elsewhere)
    assert unsuffixed(str(theirs.value).splitlines()[0]) in unsuffixed(str(ours.value))
    assert (x + 1).shape == (3, 4)  # the session goes on


_EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("ij->", [(3, 4)]), ("i,j->ij", [(3,), (4,)]), ("ba", [(3, 4)]),
    ("b i j , b j k", [(2, 3, 4), (2, 4, 5)]), ("...i->...", [(2, 3, 4)]),
]


@pytest.mark.parametrize("equation, shapes", _EINSUMS, ids=[e for e, _ in _EINSUMS])
def test_einsum_matches_torch(session, equation, shapes):
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    ours_in = [session.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = gw.einsum(equation, *ours_in), torch.einsum(equation, *theirs_in)
    assert ours.shape == tuple(theirs.shape)  # known before the server answers
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5, atol=1e-5)
    cotangent = rng.standard_normal(tuple(theirs.shape)).astype(np.float32)
    (ours * session.tensor(cotangent)).sum().backward()
    (theirs * torch.from_numpy(cotangent)).sum().backward()
    for x, t in zip(ours_in, theirs_in):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert gw.einsum(equation, ours_in).shape == ours.shape  # operands as one list, as torch takes them too


@pytest.mark.parametrize("equation, shapes", [("ij,jk->ik", [(2, 3)]), ("ij->k", [(2, 3)]), ("ijk->i", [(2, 3)]), ("ij,jk->ik", [(2, 3), (3, 4), (4,)])])
def test_einsum_mistakes_in_torchs_words(session, equation, shapes):
    with pytest.raises(RuntimeError) as theirs:
        torch.einsum(equation, *[torch.ones(s) for s in shapes])
    with pytest.raises(RuntimeError) as ours:
        gw.einsum(equation, *[session.ones(s) for s in shapes])
    assert str(ours.value) == str(theirs.value).splitlines()[0]


_COMPOSITES = [
    ("cumprod", lambda m, x: m.cumprod(x, 1)),
    ("index_select", lambda m, x: x.index_select(1, _index(m, [2, 0, 2]))),
    ("masked_select", lambda m, x: m.masked_select(x, x > 0.2)),
    ("diagonal", lambda m, x: x.diagonal(1)[:2] + m.diagonal(x, -1) + m.diagonal(x.unsqueeze(0), 0, 2, 1)[0][:2]),
    ("diag", lambda m, x: m.diag(x) * 2 + m.diag(x[0], 1)[:3, :3] + m.diag(x[1], -2)[:3, :3]),
    ("trace", lambda m, x: m.trace(x[:, :3])),
    ("lerp", lambda m, x: m.lerp(x, x * x, 0.3)),
    ("addmm", lambda m, x: m.addmm(x[:, :3], x, x.T[:, :3] if hasattr(x, "T") else None, beta=0.5, alpha=2)),
    ("addcmul-addcdiv", lambda m, x: m.addcmul(x, x, x, value=0.5) + x.addcdiv(x, x * x + 1, value=-2)),
    ("hypot", lambda m, x: m.hypot(x, x + 1)),
    ("logaddexp", lambda m, x: m.logaddexp(x, x * 3)),
    ("nan_to_num", lambda m, x: m.nan_to_num(x.log(), nan=0.5, neginf=-7.0)),
    ("diff", lambda m, x: m.diff(x) + x.diff(n=2, dim=0).sum()),
    ("repeat_interleave", lambda m, x: x.repeat_interleave(2, dim=1) + 0 * m.repeat_interleave(x, 2)[:24].reshape(3, 8)),
    ("kron", lambda m, x: m.kron(x[:2, :2], x[1:, 2:])),
    ("cross", lambda m, x: m.linalg.cross(x[:, :3], x[:, 1:]) if hasattr(m, "linalg") else m.cross(x[:, :3], x[:, 1:], dim=1)),
    ("scatter_add", lambda m, x: x.scatter_add(1, _index(m, [[0, 1], [1, 1], [3, 0]]), x[:, :2] * 2)),
]


def _index(m, values):
    return m.tensor(values) if m is torch else gw.tensor(values)


@pytest.mark.parametrize("name, f", _COMPOSITES, ids=[c[0] for c in _COMPOSITES])
def test_composite_methods_match_torch(session, name, f):
    x, t = session.tensor(_VALUES, requires_grad=True), torch.tensor(_VALUES, requires_grad=True)
    ours, theirs = f(gw, x), f(torch, t)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == _dtype(theirs)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-6)
    cotangent = np.random.default_rng(12).standard_normal(ours.shape).astype(np.float32)
    ours.backward(session.tensor(cotangent)), theirs.backward(torch.from_numpy(cotangent))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_nonzero_where_and_isclose_as_in_torch(session):
    x, t = session.tensor(_VALUES), torch.tensor(_VALUES)
    assert (x > 0).nonzero().tolist() == (t > 0).nonzero().tolist()
    assert [i.tolist() for i in gw.where(x > 0)] == [i.tolist() for i in torch.where(t > 0)]
    assert gw.argwhere(x < 0).tolist() == torch.argwhere(t < 0).tolist()
    assert x.isclose(x + 1e-9).tolist() == t.isclose(t + 1e-9).tolist()
    values = [1.0, float("nan"), float("inf")]
    assert session.tensor(values).isclose(session.tensor(values), equal_nan=True).tolist() == [True, True, True]
