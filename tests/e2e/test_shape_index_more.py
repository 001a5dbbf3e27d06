"""PyTorch's shape, indexing, scatter, dtype and metadata functions against torch through a real server: values,
gradients, result dtypes and shapes, torch's errors; in-place shape ops, strides, the in-place samplers' moments and
post-accumulate-grad hooks."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
from tests.e2e._torch_compare import assert_matches_torch, assert_same_error, torch_words

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)
X = RNG.standard_normal((4, 6))
Y = RNG.standard_normal((4, 6))
C = RNG.standard_normal((2, 3, 4))
STEPS = np.round(X)  # ties for amax/amin, zeros for prod
STEPS[0, :3] = 0.0


def _long(lib, x, values):
    return x.new_tensor(values, dtype=lib.int64)


def _bool(lib, x, values):
    return x.new_tensor(values, dtype=lib.bool)


FUNCTIONS = {
    # shape
    "ravel": (lambda lib, x: lib.ravel(x.t()), X),
    "ravel-method": (lambda lib, x: x.ravel() * 2, C),
    "select": (lambda lib, x: lib.select(x, 1, -2), X),
    "select-method": (lambda lib, x: x.select(0, 1), C),
    "tensor_split-sections": (lambda lib, x: lib.tensor_split(x, 4, 1), X),
    "tensor_split-indices": (lambda lib, x: x.tensor_split([1, 5, 3], dim=1), X),
    "tensor_split-negative": (lambda lib, x: x.tensor_split([-10, 2, -2, 1], 1), X),
    "tensor_split-tensor": (lambda lib, x: x.tensor_split(_long(lib, x, [1, 3]), 0), X),
    "hsplit": (lambda lib, x: lib.hsplit(x, 3), X),
    "hsplit-1d": (lambda lib, x: lib.hsplit(x[0], [2, 4]), X),
    "vsplit": (lambda lib, x: x.vsplit([1]), X),
    "dsplit": (lambda lib, x: lib.dsplit(x, 2), C),
    "split_with_sizes": (lambda lib, x: lib.split_with_sizes(x, [1, 3], 0), X),
    "split_with_sizes-method": (lambda lib, x: x.split_with_sizes([2, 2, 2], dim=-1), X),
    "rot90": (lambda lib, x: lib.rot90(x), X),
    "rot90-k2": (lambda lib, x: x.rot90(2, [0, 2]), C),
    "rot90-k3": (lambda lib, x: lib.rot90(x, 3, (1, 2)), C),
    "rot90-negative": (lambda lib, x: lib.rot90(x, -1, [2, 0]), C),
    "rot90-k4": (lambda lib, x: lib.rot90(x, 4), X),
    "fliplr": (lambda lib, x: lib.fliplr(x), C),
    "flipud": (lambda lib, x: x.flipud(), X),
    "diagflat": (lambda lib, x: lib.diagflat(x[:2, :3]), X),
    "diagflat-offset": (lambda lib, x: x[0].diagflat(-2), X),
    "unflatten": (lambda lib, x: lib.unflatten(x, 1, (2, -1)), X),
    "unflatten-method": (lambda lib, x: x.unflatten(-1, (2, 2)), C),
    "sum_to_size": (lambda lib, x: x.sum_to_size(1, 6), X),
    "sum_to_size-lead": (lambda lib, x: x.sum_to_size((3, 1)), C),
    "sum_to_size-same": (lambda lib, x: x.sum_to_size(4, 6), X),
    "unfold": (lambda lib, x: x.unfold(1, 3, 2), X),
    "unfold-overlap": (lambda lib, x: x.unfold(0, 2, 1), X),
    "unfold-middle": (lambda lib, x: x.unfold(1, 2, 1), C),
    "unfold-whole": (lambda lib, x: x.unfold(-1, 4, 4), C),
    "unfold-0d": (lambda lib, x: x[0, 0].unfold(0, 1, 1), X),
    # indexing and scatters
    "index_put": (lambda lib, x, v: x.index_put((_long(lib, x, [0, 2]), _long(lib, x, [1, 5])), v[0, :2]), X, Y),
    "index_put-broadcast": (lambda lib, x, v: lib.index_put(x, (_long(lib, x, [3, 1]),), v[0]), X, Y),
    "index_put-accumulate": (lambda lib, x, v: x.index_put((_long(lib, x, [0, 2, 0]), _long(lib, x, [1, 5, 1])), v[0, :3], accumulate=True), X, Y),
    "index_put-accumulate-rows": (lambda lib, x, v: x.index_put((_long(lib, x, [1, 1, 3]),), v[:3], accumulate=True), X, Y),
    "index_put-mask": (lambda lib, x, v: x.index_put((x > 0.5,), v[0, 0]), X, Y),
    "index_copy": (lambda lib, x, v: x.index_copy(1, _long(lib, x, [4, 0]), v[:, :2]), X, Y),
    "index_copy-fn": (lambda lib, x, v: lib.index_copy(x, 0, _long(lib, x, [2]), v[:1]), X, Y),
    "masked_scatter": (lambda lib, x, v: x.masked_scatter(x > 0.3, v), X, Y),
    "masked_scatter-broadcast": (lambda lib, x, v: lib.masked_scatter(x, _bool(lib, x, [True, False, True, False, False, True]), v), X, Y),
    "select_scatter": (lambda lib, x, v: lib.select_scatter(x, v[0], 0, 2), X, Y),
    "select_scatter-cast": (lambda lib, x, v: x.select_scatter(v[0], 0, 1), X, Y.astype(np.float32)),
    "slice_scatter-cast": (lambda lib, x, v: x.slice_scatter(v[:, 1:2], 1, 4, 5), X, Y.astype(np.float32)),
    "select_scatter-dim1": (lambda lib, x, v: x.select_scatter(v[:, 0], 1, -1), X, Y),
    "slice_scatter": (lambda lib, x, v: lib.slice_scatter(x, v[:, :3], 1, 0, 6, 2), X, Y),
    "slice_scatter-default": (lambda lib, x, v: x.slice_scatter(v[:2], start=2), X, Y),
    "diagonal_scatter": (lambda lib, x, v: lib.diagonal_scatter(x, v[0, :4]), X, Y),
    "diagonal_scatter-offset": (lambda lib, x, v: x.diagonal_scatter(v[1, :3], 3), X, Y),
    "diagonal_scatter-dims": (lambda lib, x, v: x.reshape(2, 3, 4).diagonal_scatter(v[:3, :2], -1, 2, 0), X, Y),
    "unravel_index": (lambda lib, x: lib.unravel_index(_long(lib, x, [[0, 5], [23, -1]]), (4, 6)), X),
    "unravel_index-int-shape": (lambda lib, x: lib.unravel_index(_long(lib, x, [3, 7]), 5), X),
    "unique_consecutive": (lambda lib, x: lib.unique_consecutive(x.detach().reshape(-1).round().clamp(-1, 1), return_inverse=True, return_counts=True), X),
    "unique_consecutive-values": (lambda lib, x: x.detach().round().clamp(-1, 1).unique_consecutive(), X),
    "unique_consecutive-dim": (lambda lib, x: lib.unique_consecutive(x.detach().round().clamp(0, 1).repeat_interleave(2, 0), return_inverse=True,
                                                                    return_counts=True, dim=0), X),
}
_REDUCE_INDEX = np.array([[0, 1, 0, 5, 5, 2], [3, 3, 3, 0, 1, 1], [2, 2, 4, 4, 0, 0]])
for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _include in (True, False):
        FUNCTIONS[f"scatter_reduce-{_reduce}-{'self' if _include else 'no-self'}"] = (
            lambda lib, x, src, r=_reduce, i=_include: x.scatter_reduce(1, _long(lib, x, _REDUCE_INDEX), src[:3], r, include_self=i), STEPS, np.round(Y))
FUNCTIONS["scatter_reduce-dim0"] = (lambda lib, x, src: lib.scatter_reduce(x, 0, _long(lib, x, [[3, 0, 3, 1, 0, 0]]), src, "amax"), X, Y)
FUNCTIONS["scatter_reduce-prod-zeros"] = (lambda lib, x, src: x.scatter_reduce(1, _long(lib, x, [[0, 0, 0], [1, 1, 2]]), src[:2, :3] * 0 + src[:2, :3]
                                                                               * _long(lib, x, [[1, 0, 1], [0, 0, 1]]), "prod"), STEPS, Y)
FUNCTIONS["scatter_reduce-int"] = (lambda lib, x: x.long().scatter_reduce(1, _long(lib, x, [[0, 0, 2]]), x.long()[:1, :3] + 7, "mean"), STEPS * 3)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_match_torch(session, name):
    f, *arrays = FUNCTIONS[name]
    assert_matches_torch(session, f, *arrays)



ERRORS = {
    "select-index": lambda lib, x: x.select(0, 5),
    "select-negative": lambda lib, x: lib.select(x, 1, -7),
    "select-dim": lambda lib, x: x.select(2, 0),
    "tensor_split-zero": lambda lib, x: x.tensor_split(0),
    "hsplit-divisible": lambda lib, x: lib.hsplit(x, 4),
    "hsplit-1d-divisible": lambda lib, x: lib.hsplit(x[0], 4),
    "vsplit-1d": lambda lib, x: lib.vsplit(x[0], 2),
    "dsplit-2d": lambda lib, x: lib.dsplit(x, 2),
    "split_with_sizes-sum": lambda lib, x: x.split_with_sizes([1, 2], 0),
    "rot90-same-dims": lambda lib, x: x.rot90(1, [0, 0]),
    "rot90-one-dim": lambda lib, x: x.rot90(1, [0]),
    "rot90-1d": lambda lib, x: x[0].rot90(),
    "rot90-same-after-wrapping": lambda lib, x: x.rot90(1, [0, -2]),
    "rot90-dim-range": lambda lib, x: x.rot90(1, [0, 2]),
    "index_put-none": lambda lib, x: x.index_put((None, _long(lib, x, [0])), x[0, 0]),
    "masked_scatter-float-mask": lambda lib, x: x.masked_scatter((x > 0).float(), x),
    "unravel_index-negative-shape": lambda lib, x: lib.unravel_index(_long(lib, x, [1]), (2, -3)),
    "fliplr-1d": lambda lib, x: lib.fliplr(x[0]),
    "flipud-0d": lambda lib, x: lib.flipud(x[0, 0]),
    "sum_to_size": lambda lib, x: x.sum_to_size(3, 6),
    "unfold-size": lambda lib, x: x.unfold(1, 7, 1),
    "unfold-step": lambda lib, x: x.unfold(1, 2, 0),
    "unfold-dim": lambda lib, x: x.unfold(2, 2, 1),
    "unflatten-sizes": lambda lib, x: lib.unflatten(x, 1, (4, 3)),
    "tril_-1d": lambda lib, x: x[0].clone().tril_(),
    "t_-3d": lambda lib, x: x.reshape(2, 3, 4).t_(),
    "unsqueeze_-dim": lambda lib, x: x.clone().unsqueeze_(3),
    "scatter_reduce-reduce": lambda lib, x: x.scatter_reduce(1, _long(lib, x, [[0, 1]]), x[:1, :2], "foo"),
    "scatter_reduce-dtype": lambda lib, x: x.scatter_reduce(1, _long(lib, x, [[0, 1]]), x[:1, :2].float(), "sum"),
    "index_put-dtype": lambda lib, x: x.index_put((_long(lib, x, [0]),), x[0].float()),
    "scatter_reduce-dim": lambda lib, x: x.scatter_reduce(2, _long(lib, x, [[0, 1]]), x[:1, :2], "sum"),
    "index_copy-count": lambda lib, x: x.index_copy(1, _long(lib, x, [0, 1]), x[:, :3]),
    "masked_scatter-dtype": lambda lib, x: x.masked_scatter(x > 0, x.float()),
    "index_copy-dtype": lambda lib, x: x.index_copy(0, _long(lib, x, [0]), x[:1].float()),
    "select_scatter-index": lambda lib, x: x.select_scatter(x[0], 0, 4),
    "diagonal_scatter-dims": lambda lib, x: x.diagonal_scatter(x[0, :4], 0, 1, -1),
    "masked_scatter-short": lambda lib, x: x.masked_scatter(x > -10, x[0]),
    "select_scatter-size": lambda lib, x: x.select_scatter(x[0, :5], 0, 0),
    "slice_scatter-size": lambda lib, x: x.slice_scatter(x[:, :2], 1, 0, 6, 2),
    "diagonal_scatter-size": lambda lib, x: x.diagonal_scatter(x[0, :3]),
    "unique_consecutive-dim": lambda lib, x: lib.unique_consecutive(x, dim=3),
    "unravel_index-float": lambda lib, x: lib.unravel_index(x[0], (4, 6)),
    "broadcast_shapes": lambda lib, x: lib.broadcast_shapes((2, 3), (3, 2)),
    "broadcast_shapes-int": lambda lib, x: lib.broadcast_shapes((2, 3), (1, 3), 5),
    "random_-range": lambda lib, x: x.random_(5, 3),
    "geometric_-p": lambda lib, x: x.geometric_(1.5),
    "geometric_-zero": lambda lib, x: x.geometric_(0),
    "cauchy_-sigma": lambda lib, x: x.cauchy_(0, -1),
    "log_normal_-std": lambda lib, x: x.log_normal_(0, -1),
    "post-hook-no-grad": lambda lib, x: x.register_post_accumulate_grad_hook(lambda t: None),
}


@pytest.mark.parametrize("name", ERRORS)
def test_shape_and_index_errors_are_torchs(session, name):
    assert_same_error(lambda lib: ERRORS[name](lib, session.tensor(X)), lambda lib: ERRORS[name](lib, torch.tensor(X)), same_type=True)
    assert session.tensor([1.0, 2.0]).sum().item() == 3.0  # the session goes on


def test_index_errors_the_server_finds_are_index_errors(session):
    x = session.tensor(X)
    one = session.tensor(1.0, dtype=gw.float64)
    for bad in (lambda: x.index_put((_long(gw, x, [0, 9]),), one), lambda: x.index_copy(1, _long(gw, x, [0, 7]), x[:, :2]),
                lambda: x.index_put((_long(gw, x, [9]),), one, accumulate=True),
                lambda: x.scatter_reduce(1, _long(gw, x, [[0, 7]]), x[:1, :2], "sum")):
        with pytest.raises(IndexError, match="out of bounds"):
            bad().numpy()
    assert x.sum().item() == pytest.approx(X.sum())


def test_scatter_reduce_in_place_and_index_put_in_place(session):
    x, tx = session.tensor(X), torch.tensor(X)
    index, src = [[0, 0, 5]], Y[:1, :3]
    x.scatter_reduce_(1, _long(gw, x, index), session.tensor(src), "amax", include_self=False)
    tx.scatter_reduce_(1, torch.tensor(index), torch.tensor(src), "amax", include_self=False)
    x.index_put_((_long(gw, x, [1, 1]), _long(gw, x, [2, 2])), session.tensor([1.0, 2.0], dtype=gw.float64), accumulate=True)
    tx.index_put_((torch.tensor([1, 1]), torch.tensor([2, 2])), torch.tensor([1.0, 2.0], dtype=torch.float64), accumulate=True)
    x.index_copy_(0, _long(gw, x, [3]), session.tensor(Y[:1]))
    tx.index_copy_(0, torch.tensor([3]), torch.tensor(Y[:1]))
    x.masked_scatter_(x < 0, session.tensor(Y))
    tx.masked_scatter_(tx < 0, torch.tensor(Y))
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-12)
    # recorded under autograd, as torch records them
    leaf, t_leaf = session.tensor(Y, requires_grad=True), torch.tensor(Y, requires_grad=True)
    h, th = leaf * 2, t_leaf * 2
    h.scatter_reduce_(0, _long(gw, h, [[1, 1, 0, 0, 2, 2]]), leaf[:1] ** 2, "prod")
    th.scatter_reduce_(0, torch.tensor([[1, 1, 0, 0, 2, 2]]), t_leaf[:1] ** 2, "prod")
    assert h.grad_fn.name() == th.grad_fn.name() == "ScatterReduceBackward0"
    h.sum().backward()
    th.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), t_leaf.grad.numpy(), rtol=1e-12)


def test_in_place_shape_ops_match_torch(session):
    for name, args in (("unsqueeze_", (1,)), ("squeeze_", ()), ("t_", ()), ("transpose_", (0, 1)), ("swapaxes_", (1, 0)),
                       ("swapdims_", (0, -1)), ("tril_", (1,)), ("triu_", (-1,))):
        leaf, t_leaf = session.tensor(X[:3, :1] if name == "squeeze_" else X, requires_grad=True), torch.tensor(X[:3, :1] if name == "squeeze_" else X, requires_grad=True)
        h, th = leaf * 3, t_leaf * 3
        kept, t_kept = h, th
        assert getattr(h, name)(*args) is h and getattr(th, name)(*args) is th
        assert tuple(h.shape) == tuple(th.shape) and h.grad_fn.name() == th.grad_fn.name(), name
        assert kept is h
        weights = np.arange(th.numel()).reshape(tuple(th.shape)) + 1.0
        (h * session.tensor(weights)).sum().backward()
        (th * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy(), err_msg=name)
        np.testing.assert_allclose(leaf.grad.numpy(), t_leaf.grad.numpy(), err_msg=name)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
            getattr(leaf, name)(*args)
    # without autograd, and under no_grad on a leaf that requires grad: the shape changes, the leaf stays a leaf
    x = session.tensor(X)
    x.unsqueeze_(0).transpose_(0, 2)
    assert tuple(x.shape) == (6, 4, 1) and np.array_equal(x.numpy(), X[None].transpose(2, 1, 0))
    w = session.tensor(X, requires_grad=True)
    with gw.no_grad():
        w.t_()
    assert w.is_leaf and w.requires_grad and tuple(w.shape) == (6, 4)
    (w * 2).sum().backward()
    assert np.array_equal(w.grad.numpy(), np.full((6, 4), 2.0))


def test_detach_in_place(session):
    leaf = session.tensor(X, requires_grad=True)
    h = leaf * 2
    assert h.detach_() is h and h.is_leaf and not h.requires_grad and h.grad_fn is None
    assert np.array_equal(h.numpy(), X * 2)
    v = (leaf * 2)[1:]
    with pytest.raises(RuntimeError, match="Can't detach views in-place. Use detach\\(\\) instead."):
        v.detach_()
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        torch.tensor(X, requires_grad=True).mul(2)[1:].detach_()
    assert gw.detach_(leaf * 1).requires_grad is False


def test_strides_and_contiguity_of_views_are_torchs(session):
    x, t = session.tensor(C), torch.tensor(C)
    cases = [
        lambda a: a, lambda a: a.transpose(0, 2), lambda a: a.permute(1, 2, 0), lambda a: a[:, 1], lambda a: a[..., ::2],
        lambda a: a[:, None, 1:], lambda a: a[0].t(), lambda a: a[0].T, lambda a: a.mT, lambda a: a[:, :1].expand(2, 5, 4),
        lambda a: a[None].expand(3, 2, 3, 4), lambda a: a.unsqueeze(1), lambda a: a[:, :1].squeeze(1), lambda a: a.narrow(2, 1, 2),
        lambda a: a.reshape(6, 4), lambda a: a.transpose(0, 1).reshape(3, 2, 2, 2), lambda a: a.transpose(1, 2).reshape(2, 12),
        lambda a: a.transpose(0, 2).contiguous(), lambda a: a.select(1, 0).unsqueeze(-1), lambda a: a.view(2, 12).t().unsqueeze(0),
        lambda a: a.unsqueeze(3), lambda a: a * 2, lambda a: a.transpose(0, 1).reshape(3, 8),
    ]
    for k, case in enumerate(cases):
        ours, theirs = case(x), case(t)
        assert ours.stride() == theirs.stride(), (k, ours.stride(), theirs.stride())
        assert ours.is_contiguous() == theirs.is_contiguous(), k
        assert ours.stride(-1) == theirs.stride(-1)
    with pytest.raises(IndexError, match=r"Dimension out of range"):
        x.stride(3)


@pytest.mark.parametrize("view, sizes", [
    ("transpose(0, 2)", (24,)), ("transpose(1, 2)", (2, 12)), ("transpose(1, 2)", (2, 4, 3, 1)), ("transpose(1, 2)", (-1, 4, 3)),
    ("permute(2, 0, 1)", (4, 6)), ("permute(2, 0, 1)", (8, 3)), ("narrow(2, 1, 2)", (12,)), ("narrow(2, 1, 2)", (6, 2)),
    ("select(2, 0)", (6,)), ("select(0, 1)", (12,)), ("__getitem__((slice(None), slice(None, None, 2)))", (16,)),
    ("__getitem__((slice(None), slice(None, None, 2)))", (2, 2, 4)), ("__getitem__(0).t()", (12,)), ("__getitem__(0).t()", (4, 3)),
    ("__getitem__((slice(None), slice(0, 1)))", (2, 4)), ("unsqueeze(1).transpose(1, 3)", (2, 4, 3, 1)),
])
def test_view_of_a_strided_tensor_is_refused_where_torch_refuses_it(session, view, sizes):
    x, t = eval(f"session.tensor(C).{view}"), eval(f"torch.tensor(C).{view}")
    try:
        expected = tuple(t.view(*sizes).shape)
    except RuntimeError as error:
        assert "view size is not compatible" in str(error)
        assert_same_error(lambda lib: x.view(*sizes), lambda lib: t.view(*sizes), same_type=True)
        assert x.reshape(*sizes).shape == t.reshape(*sizes).shape  # a copy, as torch's
    else:
        assert tuple(x.view(*sizes).shape) == expected
        np.testing.assert_array_equal(x.view(*sizes).numpy(), t.view(*sizes).numpy())


def test_metadata(session):
    x, t = session.tensor(C, dtype=gw.float32), torch.tensor(C, dtype=torch.float32)
    assert x.ndimension() == t.ndimension() == 3
    assert x.nbytes == t.nbytes == 96 and x.itemsize == t.itemsize == 4
    assert session.tensor([1, 2], dtype=gw.int16).nbytes == 4 and session.tensor(True).itemsize == 1
    # a CPU server's tensor is -1, as a CPU tensor's; a CUDA server's is on its device 0
    assert x.get_device() == gw.get_device(x) == (0 if session.device == "cuda" else t.get_device())
    assert not hasattr(x, "data_ptr")  # a remote tensor has no address here


def test_dtype_helpers_match_torch(session):
    dtypes = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
    for a in dtypes:
        for b in dtypes:
            ga, gb, ta, tb = getattr(gw, a if a != "bool" else "bool_"), getattr(gw, b if b != "bool" else "bool_"), getattr(torch, a), getattr(torch, b)
            assert str(gw.promote_types(ga, gb)) == str(torch.promote_types(ta, tb)), (a, b)
            assert gw.can_cast(ga, gb) == torch.can_cast(ta, tb), (a, b)
    x, tx = session.tensor([1, 2], dtype=gw.int32), torch.tensor([1, 2], dtype=torch.int32)
    f, tf = session.tensor([1.0], dtype=gw.float64), torch.tensor([1.0], dtype=torch.float64)
    zero_d, t_zero_d = session.tensor(1.0, dtype=gw.float64), torch.tensor(1.0, dtype=torch.float64)
    m, tm = session.tensor([True]), torch.tensor([True])
    for ours, theirs in (((x, 1.0), (tx, 1.0)), ((x, 5), (tx, 5)), ((x, f), (tx, tf)), ((f, x), (tf, tx)), ((x, zero_d), (tx, t_zero_d)),
                         ((m, 2), (tm, 2)), ((m, True), (tm, True)), ((2, 1.0), (2, 1.0)), ((2, 3), (2, 3)), ((True, False), (True, False))):
        assert str(gw.result_type(*ours)) == str(torch.result_type(*theirs)), theirs
    assert gw.broadcast_shapes((2, 1), (3,), 1) == torch.broadcast_shapes((2, 1), (3,), 1) == (2, 3)
    assert repr(gw.broadcast_shapes((5, 1, 4), [3, 1])) == "torch.Size([5, 3, 4])" and gw.broadcast_shapes() == ()


def test_asarray_scalar_tensor_and_empty_strided(session):
    x = session.tensor(X)
    assert gw.asarray(x) is x and gw.asarray(x, copy=True) is not x
    assert gw.asarray(x, dtype=gw.float64).dtype == gw.float64
    a = gw.asarray([1, 2, 3], session=session)
    assert a.dtype == gw.int64 and a.tolist() == torch.asarray([1, 2, 3]).tolist()
    assert gw.asarray(np.float32([1.5]), session=session).dtype == gw.float32
    with pytest.raises(ValueError, match="copy=False"):
        gw.asarray([1, 2], copy=False, session=session)
    s, ts = gw.scalar_tensor(3, session=session), torch.scalar_tensor(3)
    assert s.shape == ts.shape == () and str(s.dtype) == "torch.float32" == str(ts.dtype) and s.item() == 3.0
    assert gw.scalar_tensor(2, dtype=gw.int64, session=session).dtype == gw.int64
    e = gw.empty_strided((2, 3), (1, 2), session=session)
    assert tuple(e.shape) == (2, 3) and e.stride() == (3, 1)  # the server's layout: C order, whatever stride asked
    with pytest.raises(RuntimeError, match="mismatch in length of strides and shape"):
        gw.empty_strided((2, 3), (1,), session=session)


def test_random_fills_by_their_moments(session):
    n = 40000
    r = session.zeros(n).random_(3, 9)
    values = r.numpy()
    assert set(np.unique(values).tolist()) == set(range(3, 9)) and abs(values.mean() - 5.5) < 0.05
    assert set(np.unique(session.zeros(n, dtype=gw.int64).random_(4).numpy()).tolist()) == {0, 1, 2, 3}
    longs = session.zeros(n, dtype=gw.int64).random_().numpy()  # 0 .. 2^63 - 1, every bit random
    assert longs.min() >= 0 and longs.max() > 2**62 and 0.45 < np.mean(longs & 1) < 0.55 and 0.45 < np.mean((longs >> 40) & 1) < 0.55
    wide = session.zeros(n, dtype=gw.int16).random_().numpy()
    assert wide.min() >= 0 and wide.max() > 30000 and wide.dtype == np.int16
    logn = session.zeros(n, dtype=gw.float64).log_normal_(0.5, 0.4).numpy()
    assert abs(np.log(logn).mean() - 0.5) < 0.01 and abs(np.log(logn).std() - 0.4) < 0.01
    geo = session.zeros(n, dtype=gw.float64).geometric_(0.25).numpy()
    assert geo.min() == 1 and np.all(geo == np.round(geo)) and abs(geo.mean() - 4.0) < 0.1 and abs(geo.var() - 12.0) < 1.0
    cauchy = session.zeros(n, dtype=gw.float64).cauchy_(2.0, 0.5).numpy()
    assert abs(np.median(cauchy) - 2.0) < 0.02 and abs(np.percentile(cauchy, 75) - 2.5) < 0.03  # quartiles: median +- sigma
    session.manual_seed(7)
    first = session.zeros(5).cauchy_().numpy()
    session.manual_seed(7)
    assert np.array_equal(first, session.zeros(5).cauchy_().numpy())  # seeded per session
    g = gw.Generator(session=session)
    draws = [session.zeros(50).geometric_(0.5, generator=g.manual_seed(1)).tolist() for _ in range(2)]
    assert draws[0] == draws[1] and draws[0] != session.zeros(50).geometric_(0.5, generator=g.manual_seed(2)).tolist()


def test_post_accumulate_grad_hook(session):
    w = session.tensor(X, requires_grad=True)
    seen = []

    def hook(tensor):
        assert tensor is w
        seen.append(tensor.grad.numpy().copy())
        with gw.no_grad():  # the optimizer-in-backward pattern: a step as soon as the gradient is there
            tensor -= 0.5 * tensor.grad
        tensor.grad = None

    handle = w.register_post_accumulate_grad_hook(hook)
    (w * 2).sum().backward()
    assert len(seen) == 1 and np.array_equal(seen[0], np.full(X.shape, 2.0))
    assert w.grad is None and np.allclose(w.detach().numpy(), X - 1.0)
    gw.grad((w * 3).sum(), w)  # fills no .grad: no hook
    assert len(seen) == 1
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 1 and np.array_equal(w.grad.numpy(), np.full(X.shape, 2.0))
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(hook)
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        (torch.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(hook)


def test_scatter_reductions_without_ufunc_at_match_numpys():
    """The engine's path for an array module without ``ufunc.at`` (CuPy has it for a few ufuncs only), on NumPy."""
    from gradwire_server.engine import ops

    rng = np.random.default_rng(3)
    where = (np.array([0, 2, 0, 1, 0, 2]), np.array([1, 1, 1, 3, 1, 0]))
    values = np.round(rng.standard_normal(6), 1)
    values[3] = 0.0
    for name in ("add", "multiply", "maximum", "minimum"):
        for base in (np.round(rng.standard_normal((3, 4)), 1), np.array([[np.nan] * 4] * 3), rng.integers(-3, 4, (3, 4))):
            v = values.astype(base.dtype) if base.dtype.kind == "f" else np.round(values * 10).astype(base.dtype)
            expected, ours = base.copy(), base.copy()
            getattr(np, name).at(expected, where, v)
            ops.reduce_at(np, name, ours, where, v, portable=True)
            np.testing.assert_allclose(ours, expected, rtol=1e-12, err_msg=name)
    with_nan = values.copy()
    with_nan[0] = np.nan
    expected, ours = np.zeros((3, 4)), np.zeros((3, 4))
    np.maximum.at(expected, where, with_nan)
    ops.reduce_at(np, "maximum", ours, where, with_nan, portable=True)
    np.testing.assert_array_equal(ours, expected)


def test_in_place_shape_ops_with_views_and_in_place_changes(session):
    """A view taken before an in-place shape op still shares the memory; later in-place changes reach it, and the
    gradients are torch's."""

    def run(lib, leaf):
        h = leaf * 2
        v = h[0]
        h.unsqueeze_(0)
        h.mul_(3)
        w = h.squeeze_(0)[1]
        h.t_()
        ((v * 5).sum() + (w * 7).sum() + (h * h).sum()).backward()
        return v.detach().numpy(), h.detach().numpy(), leaf.grad.numpy(), h.grad_fn.name(), tuple(h.shape), h.stride()

    ours = run(gw, session.tensor(X[:2, :3], requires_grad=True))
    theirs = run(torch, torch.tensor(X[:2, :3], requires_grad=True))
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=str(k))
        else:
            assert a == b, k


def test_twice_differentiable_but_scatter_reduce(session):
    """The compositions differentiate twice (their ops do); scatter_reduce's double backward is refused, not wrong."""

    def f(lib, x):
        u = x.unfold(1, 3, 2)
        v = x.index_put((_long(lib, x, [0, 0, 2]),), x[1:4] * 2, accumulate=True)
        d = x.diagonal_scatter(x[0, :4] ** 2)
        return (u**3).sum() + (v**3).sum() + (d**3).sum() + (x.rot90() ** 3).sum() + (x.tensor_split(4, 1)[1] ** 3).sum()

    x, tx = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    (g,) = gw.grad(f(gw, x), x, create_graph=True)
    (tg,) = torch.autograd.grad(f(torch, tx), tx, create_graph=True)
    (gg,) = gw.grad((g * g).sum(), x)
    (tgg,) = torch.autograd.grad((tg * tg).sum(), tx)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-10)
    y = x.scatter_reduce(1, _long(gw, x, [[0, 0]]), x[:1, :2], "prod")
    (g,) = gw.grad((y**2).sum(), x, create_graph=True)
    with pytest.raises(gw.UnimplementedError, match="double backward .* through 'scatter_reduce'"):
        g.sum().item()


@pytest.mark.parametrize("call", [
    "a.gather(1, I([[0.0]]))", "a.gather(1, I([[True]]))", "a.gather(1, I([[0]], 'int16'))", "a.index_select(0, I([0.0]))",
    "a.index_select(0, I([1], 'uint8'))", "a.scatter(1, I([[0.0]]), 1.0)", "a.scatter_add(1, I([[0.0]]), a)",
    "a.clone().scatter_(1, I([[0]], 'int16'), 1.0)", "a.scatter_reduce(1, I([[0.0]]), a[:1, :1], 'sum')",
    "a.index_add(0, I([0], 'int16'), a[:1])", "a.index_fill(0, I([0], 'int32'), 1)",
])
def test_an_index_of_a_dtype_torch_refuses_is_refused_in_its_words(session, call):
    # (uint8 and bool index tensors are not masks here: index_select and gather take int32 and int64 only)
    x, t = session.ones(2, 3), torch.ones(2, 3)
    assert_same_error(lambda lib: eval(call, {"a": x, "I": lambda v, d=None: session.tensor(v, dtype=getattr(gw, d) if d else None)}),
                      lambda lib: eval(call, {"a": t, "I": lambda v, d=None: torch.tensor(v, dtype=getattr(torch, d) if d else None)}),
                      same_type=True)
    assert session.sync() is None  # refused at the call: nothing was queued
    int32 = session.tensor([[1, 0]], dtype=gw.int32)
    assert x.gather(1, int32).tolist() == t.gather(1, torch.tensor([[1, 0]], dtype=torch.int32)).tolist()


@pytest.mark.parametrize("call", [
    lambda x: x.movedim((0, 1), (1, 1)), lambda x: x.movedim((0, -3), (0, 1)), lambda x: x.roll((1, 2), (0,)), lambda x: x.roll(1, (0, 1)),
    lambda x: x.roll((1, 2)), lambda x: x.roll((), ()), lambda x: x.flip(0, 0), lambda x: x.flip(1, -2),
])
def test_repeated_or_unaligned_dims_are_refused_as_torch(session, call):
    """movedim and flip with a dim twice, roll with shifts and dims that do not pair up: refused at the call, in
    PyTorch's words (roll used to shift along the dims it had, movedim to raise StopIteration)."""
    values = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    with pytest.raises(RuntimeError) as theirs:
        call(torch.from_numpy(values))
    with pytest.raises(gw.InvalidArgumentError) as ours:
        call(session.tensor(values))
    assert str(ours.value) == str(theirs.value)


def test_index_select_takes_a_vector_or_one_index_and_a_range_indexes_as_torch(session):
    values = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    x, t = session.tensor(values), torch.from_numpy(values)
    one = x.index_select(1, session.tensor(1))  # a 0-d index keeps the dim (it used to drop it)
    assert one.shape == tuple(t.index_select(1, torch.tensor(1)).shape) == (2, 1, 2)
    assert one.tolist() == t.index_select(1, torch.tensor(1)).tolist()
    with pytest.raises(IndexError) as theirs:
        t.index_select(1, torch.tensor([[0]]))
    with pytest.raises(IndexError) as ours:  # it used to pick a (2, 1, 1, 2) block
        x.index_select(1, session.tensor([[0]]))
    assert str(ours.value) == str(theirs.value)
    assert x[range(2)].tolist() == t[range(2)].tolist() and x[:, range(1, 3)].tolist() == t[:, range(1, 3)].tolist()


# --- index_add, index_copy, index_fill and index_reduce: every shape of index and source against torch ---------------
def _index_op_outcome(lib, session, op, self_shape, index, source_shape, dim):
    """The op's values, or its error's message (the text after gradwire's "failed: " where it was deferred)."""
    ones = torch.ones if lib is torch else session.ones
    make_index = torch.tensor if lib is torch else session.tensor
    try:
        x, i = ones(self_shape), make_index(index)
        if op == "index_fill":
            result = x.index_fill(dim, i, 0.5)
        elif op.startswith("index_reduce"):
            result = getattr(x, op)(dim, i, ones(source_shape) * 3, "prod")
        else:
            result = getattr(x, op)(dim, i, ones(source_shape) * 2)
        return "values", result.tolist()
    except Exception as error:  # noqa: BLE001 - the message is what is compared
        return "error", torch_words(error)


def test_index_ops_take_and_refuse_what_torch_does(session):
    """A size-1 index or source must not broadcast (scatter_add, which index_add runs as, would repeat it along dim),
    a 0-d tensor takes index 0, a 0-d index is one slice; each refusal in torch's words and order."""
    compared = 0
    for op in ("index_add", "index_add_", "index_reduce", "index_reduce_", "index_fill", "index_copy", "index_copy_"):
        for self_shape in ((2, 3), (3,), ()):
            for index in ([0], [0, 1], [[0]], 0, [1, 1]):
                for source_shape in ((2, 1), (2, 2), (3, 1), (2, 1, 1), (1,), (2,), (), (2, 3)) if op != "index_fill" else ((),):
                    for dim in (0, 1, -1):
                        case = (op, self_shape, index, source_shape, dim)
                        theirs = _index_op_outcome(torch, session, *case)
                        assert _index_op_outcome(gw, session, *case) == theirs, case
                        compared += 1
    assert compared > 1500


def test_index_add_and_reduce_of_a_zero_dim_tensor_carry_gradients_as_torch(session):
    for lib, make in ((torch, torch.tensor), (gw, session.tensor)):
        x, source = make(1.5, requires_grad=True), make(2.0, requires_grad=True)
        (x.index_add(0, make([0]), source, alpha=3) * x.index_reduce(0, make(0), source, "prod")).backward()
        if lib is torch:
            expected = (x.grad.item(), source.grad.item())
        else:
            assert (x.grad.item(), source.grad.item()) == pytest.approx(expected)


def _masked_fill_outcome(lib, session, op, self_shape, mask_shape, value):
    ones = torch.ones if lib is torch else session.ones
    make = torch.tensor if lib is torch else session.tensor
    try:
        mask = make([[True], [False], [True]]) if mask_shape == (3, 1) else ones(mask_shape) > 0
        fill = 0.5 if value == "number" else make(0.5) if value == "0-d" else make([0.5])
        return "values", getattr(ones(self_shape) * 2, op)(mask, fill).tolist()
    except Exception as error:  # noqa: BLE001 - the message is what is compared
        return "error", torch_words(error)


def test_masked_fill_broadcasts_and_refuses_as_torch(session):
    """Out of place the tensor broadcasts to the mask too; in place it must hold the broadcast shape; a value tensor
    must be 0-d; each refusal in torch's words and order."""
    shapes = [(3,), (2, 3), (1, 3), (2, 1), (), (2,), (3, 1)]
    for op in ("masked_fill", "masked_fill_"):
        for self_shape in shapes:
            for mask_shape in shapes:
                for value in ("number", "0-d", "1-d"):
                    case = (op, self_shape, mask_shape, value)
                    assert _masked_fill_outcome(gw, session, *case) == _masked_fill_outcome(torch, session, *case), case
    for lib, make in ((torch, torch.tensor), (gw, session.tensor)):  # the broadcast tensor's gradient: summed back
        x = make([1.0, 2.0, 3.0], requires_grad=True)
        (x.masked_fill(make([[True, False, False], [False, False, True]]), 0.0) * make([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
        assert x.grad.tolist() == [4.0, 7.0, 3.0]


@pytest.mark.parametrize("refused", [lambda x: x.unsqueeze_(3), lambda x: x.transpose_(0, 5), lambda x: x.squeeze_(4)])
def test_a_refused_in_place_view_op_leaves_the_tensor_and_session_whole(session, refused):
    """Its stand-in for the earlier version shares the tensor's handle: dropped after the refusal, it must not release
    it (the tensor would lose its values on the server, and its own release later be refused)."""
    before = session.stats()["tensors"]
    x = session.tensor(X).clone()
    with pytest.raises(IndexError, match="Dimension out of range"):
        refused(x)
    np.testing.assert_array_equal(x.numpy(), X)
    del x
    assert session.tensor([1.0, 2.0]).sum().item() == 3.0  # no failed release surfaces
    assert session.stats()["tensors"] == before
