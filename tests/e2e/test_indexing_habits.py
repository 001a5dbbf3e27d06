"""Indexing and views as PyTorch scripts use them, against torch through a real server: in-place writes through
``diagonal``, ``unfold`` and ``as_strided`` reach their base (values and gradients), dtype views, PyTorch's order of
ints and advanced indices, bool and empty indices, masks after an Ellipsis, and the writes torch refuses."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
from tests.e2e._torch_compare import assert_matches_torch, assert_same_error

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
M33 = RNG.standard_normal((3, 3))
M34 = RNG.standard_normal((3, 4))
B233 = RNG.standard_normal((2, 3, 3))
X332 = RNG.standard_normal((3, 3, 2))


def _written(write):
    """f(lib, x, *values): a copy of x (with x's history) after ``write(lib, copy, *values)``."""

    def f(lib, x, *values):
        c = x * 1.0
        write(lib, c, *values)
        return c

    return f


WRITES = {
    # the jitter on a covariance, and the other common writes through a diagonal
    "diagonal-add_": (lambda lib, c, v: c.diagonal().add_(v), M33, RNG.standard_normal(3)),
    "diagonal-below-mul_": (lambda lib, c, v: c.diagonal(-1).mul_(v), M33, RNG.standard_normal(2)),
    "diagonal-function-copy_": (lambda lib, c, v: lib.diagonal(c).copy_(v), M34, RNG.standard_normal(3)),
    "diagonal-setitem": (lambda lib, c, v: c.diagonal().__setitem__(slice(None), v), M34, RNG.standard_normal(3)),
    "diagonal-fill_": (lambda lib, c: c.diagonal().fill_(0), M33),
    "diagonal-batched-add_": (lambda lib, c, v: c.diagonal(0, -2, -1).add_(v), B233, RNG.standard_normal((2, 3))),
    "unfold-setitem": (lambda lib, c: c.unfold(0, 2, 2).__setitem__((slice(None), 0), 1.0), RNG.standard_normal((5, 2))),
    "unfold-mul_": (lambda lib, c, v: c.unfold(1, 2, 2).mul_(v), RNG.standard_normal((3, 6)), RNG.standard_normal((3, 3, 2))),
    "as_strided-mul_": (lambda lib, c: c.as_strided((2, 2), (3, 1), 1).mul_(2), M33),
    "expand-no-broadcast-mul_": (lambda lib, c: c.expand(3, 4).mul_(-1), M34),
    "setitem-int-slice-list": (lambda lib, c, v: c.__setitem__((1, slice(None), [0, 1]), v), X332, RNG.standard_normal((3, 2))),
}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_in_place_writes_through_views_reach_the_base_as_torchs(session, name):
    write, *arrays = WRITES[name]
    assert_matches_torch(session, _written(write), *arrays)


def test_diagonal_jitter_without_history_writes_the_base(session):
    c = gw.zeros(3, 3)
    c.diagonal().add_(gw.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(c.numpy(), np.diag([1.0, 2.0, 3.0]).astype(np.float32))
    c.diagonal().fill_(0)
    assert not c.numpy().any()


READS = {
    "diagonal-offset-dims": (lambda lib, x: x.diagonal(1, 2, 1) * 1.0, B233),
    "unfold-overlapping": (lambda lib, x: x.unfold(0, 3, 1) * 1.0, RNG.standard_normal((5, 2))),
    "as_strided": (lambda lib, x: x.as_strided((2, 2), (1, 2), 1) * 1.0, M33),
    "as_strided-overlapping": (lambda lib, x: x.as_strided((3, 3), (1, 1)) * 1.0, RNG.standard_normal(6)),
    # an int selects first; the arrays then index what is left (adjacent ones keep their place)
    "int-slice-list": (lambda lib, x: x[1, :, [0, 1]] * 1.0, X332),
    "0d-int-tensor-slice-list": (lambda lib, x: x[x.new_tensor(1, dtype=lib.int64), :, [0, 1]] * 1.0, X332),
    "list-int-list": (lambda lib, x: x[[0, 1], 0, [1, 0]] * 1.0, X332),
    "lists-around-empty-ellipsis": (lambda lib, x: x[:, :, [2, 0], ..., lib.tensor([[1, 0], [0, 1]])] * 1.0, RNG.standard_normal((1, 4, 3, 2))),
    "list-empty-ellipsis-mask": (lambda lib, x: x[:, [1, 0, 1], ..., lib.tensor([True, True, True])] * 1.0, RNG.standard_normal((3, 2, 3))),
    "nested-list": (lambda lib, x: x[[[0, 1], [1, 2]]] * 1.0, RNG.standard_normal((5, 3))),
    "nested-list-slice": (lambda lib, x: x[[[0, 1], slice(None)]] * 1.0, RNG.standard_normal((5, 3))),
    "0d-mask-true": (lambda lib, x: x[lib.tensor(True)] * 1.0, np.array(3.0)),
    "0d-mask-false": (lambda lib, x: x[lib.tensor(False)] * 1.0, np.array(3.0)),
    "bool-true": (lambda lib, x: x[True] * 1.0, M34),
    "bool-false": (lambda lib, x: x[False] * 1.0, M34),
    "bool-int-list": (lambda lib, x: x[1, True, [0, 2]] * 1.0, M34),
    "empty-list": (lambda lib, x: x[[]] * 1.0, RNG.standard_normal((5, 3))),
    "mask-after-ellipsis": (lambda lib, x: x[..., lib.tensor([True])] * 1.0, RNG.standard_normal((2, 3, 2, 1))),
    # several ellipses (NumPy refuses them; PyTorch reads each as the dims the other parts leave, the first taking them)
    "two-ellipses": (lambda lib, x: x[..., ...] * 1.0, X332),
    "ellipsis-int-ellipsis": (lambda lib, x: x[..., 0, ...] * 1.0, X332),
    "int-ellipsis-list-ellipsis": (lambda lib, x: x[1, ..., [0, 1], ...] * 1.0, RNG.standard_normal((2, 3, 4, 2))),
    "ellipsis-none-ellipsis": (lambda lib, x: x[..., None, ..., ...] * 1.0, X332),
}


@pytest.mark.parametrize("name", sorted(READS))
def test_indexing_and_views_read_as_torchs(session, name):
    f, *arrays = READS[name]
    assert_matches_torch(session, f, *arrays)


@pytest.mark.parametrize("dtype", ["int32", "int16", "uint8"])
def test_a_dtype_view_reads_the_bytes_and_writes_them_back(session, dtype):
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    ours, theirs = session.tensor(x), torch.tensor(x)
    view, t_view = ours.view(getattr(gw, dtype)), theirs.view(getattr(torch, dtype))
    assert tuple(view.shape) == tuple(t_view.shape) and str(view.dtype) == f"torch.{dtype}"
    np.testing.assert_array_equal(view.numpy(), t_view.numpy())
    view[0, 0] = 0
    t_view[0, 0] = 0
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert not session.tensor(x, requires_grad=True).view(gw.int32).requires_grad


def test_the_shapes_known_locally_are_torchs(session):
    x = session.tensor(X332)
    assert tuple(x[1, :, [0, 1]].shape) == (3, 2)
    assert tuple(x[True].shape) == (1, 3, 3, 2)
    assert tuple(x.diagonal(0, 1, 2).shape) == (3, 2)
    assert tuple(x.unfold(1, 2, 1).shape) == (3, 2, 2, 2)
    assert x.diagonal().stride() == torch.tensor(X332).diagonal().stride()


REFUSED = {
    "setitem-int-slice-list-transposed-value": lambda lib: _assign(lib, (3, 3, 2), (1, slice(None), [0, 1]), (2, 3)),
    "mask-after-ellipsis-wrong-size": lambda lib: lib.zeros(2, 3, 2, 1)[..., lib.tensor([True, False])],
    "expand-broadcast-mul_": lambda lib: lib.zeros(1, 4).expand(3, 4).mul_(-1),
    "overlapping-setitem": lambda lib: _shifted(lib, lambda c: c.__setitem__(slice(1, None), c[:-1])),
    "overlapping-iadd": lambda lib: _shifted(lib, lambda c: c[1:].add_(c[:-1])),
    "overlapping-copy_": lambda lib: _shifted(lib, lambda c: c[1:].copy_(c[:-1])),
    "overlapping-advanced-setitem": lambda lib: _shifted(lib, lambda c: c.__setitem__([1, 2, 3, 4], c[:-1])),
    "overlapping-transposed": lambda lib: _square_self(lib),
}


def _assign(lib, shape, key, value_shape):
    c = lib.zeros(*shape)
    c[key] = lib.ones(*value_shape)
    return c


def _shifted(lib, write):
    c = lib.arange(5.0) * 1.0
    write(c)
    return c


def _square_self(lib):
    c = lib.arange(9.0).reshape(3, 3) * 1.0
    c.t()[:] = c
    return c


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch_refuses(session, name):
    assert_same_error(lambda lib: REFUSED[name](lib).tolist(), REFUSED[name])  # (ours at the sync point)


def test_writes_over_the_same_elements_or_others_are_fine(session):
    c, t = gw.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    c[:] = c
    t[:] = t
    c[0] = c[1]
    t[0] = t[1]
    np.testing.assert_array_equal(c.numpy(), t.numpy())


def test_a_write_to_overlapping_windows_is_refused_not_wrong(session):
    """Windows that overlap share elements: PyTorch writes them in some order; the view refuses the write instead."""
    c = gw.arange(5.0)
    with pytest.raises(gw.errors.InvalidArgumentError, match="single memory location"):
        c.unfold(0, 3, 1).add_(1)
        c.numpy()
    np.testing.assert_array_equal(c.numpy(), np.arange(5.0, dtype=np.float32))


def _long(lib, values):
    return lib.tensor(values, dtype=lib.int64)


# index_select, take, put, index_copy and index_fill with an index out of range: refused (at the sync point) with
# torch's error class and words, whose differ by call; index_select alone refuses a negative index
OUT_OF_RANGE = {
    "index_select-dim0": lambda lib: lib.ones(2, 3).index_select(0, _long(lib, [2])),
    "index_select-dim1-negative": lambda lib: lib.ones(2, 3).index_select(1, _long(lib, [-1])),
    "index_select-dim2": lambda lib: lib.ones(2, 3, 4).index_select(2, _long(lib, [0, 4])),
    "index_select-0d": lambda lib: lib.tensor(1.0).index_select(0, _long(lib, [1])),
    "index_select-0d-two-indices": lambda lib: lib.tensor(1.0).index_select(0, _long(lib, [0, 0])),
    "take": lambda lib: lib.ones(2, 3).take(_long(lib, [6])),
    "take-negative": lambda lib: lib.ones(2, 3).take(_long(lib, [-7])),
    "put": lambda lib: lib.ones(2, 3).put(_long(lib, [6]), lib.zeros(1)),
    "put_-accumulate-negative": lambda lib: lib.ones(2, 3).put_(_long(lib, [-7]), lib.zeros(1), accumulate=True),
    "index_copy": lambda lib: lib.ones(2, 3).index_copy(1, _long(lib, [3]), lib.zeros(2, 1)),
    "index_copy_-negative": lambda lib: lib.ones(2, 3).index_copy_(1, _long(lib, [-1]), lib.zeros(2, 1)),
    "index_copy-0d": lambda lib: lib.tensor(1.0).index_copy(0, _long(lib, [1]), lib.tensor(2.0)),
    "index_fill-dim1": lambda lib: lib.ones(2, 3).index_fill(1, _long(lib, [3]), 0.0),
    "index_fill_-negative": lambda lib: lib.ones(2, 3).index_fill_(1, _long(lib, [-4]), 0.0),
}


@pytest.mark.parametrize("name", sorted(OUT_OF_RANGE))
def test_an_index_out_of_range_is_refused_in_the_calls_words(session, name):
    assert_same_error(lambda lib: OUT_OF_RANGE[name](lib).tolist(), OUT_OF_RANGE[name], same_type=True)


IN_RANGE = {
    "index_select-0d": (lambda lib, x: x.sum().index_select(0, _long(lib, [0])) * x.sum(), M33),
    "index_copy-0d": (lambda lib, x: x.sum().index_copy(0, _long(lib, [0]), x[0, 0] * 3.0), M33),
    "take-negative": (lambda lib, x: x.take(_long(lib, [-1, 0, -9])), M33),
    "put-negative-accumulate": (lambda lib, x: (x * 1.0).put(_long(lib, [-1, 0, -1]), x[0], accumulate=True), M33),
    "index_copy_-negative-dim": (lambda lib, x: (x * 1.0).index_copy_(-1, _long(lib, [2, 0]), x[:, :2] * 2.0), M33),
    "index_fill-negative-repeated": (lambda lib, x: x.index_fill(1, _long(lib, [-1, 2, 0]), -1.0), M34),
}


@pytest.mark.parametrize("name", sorted(IN_RANGE))
def test_the_calls_that_index_one_dim_read_and_write_as_torchs(session, name):
    f, *arrays = IN_RANGE[name]
    assert_matches_torch(session, f, *arrays)


LAYOUTS = {
    "contiguous": lambda lib: lib.ones(2, 3),
    "transposed": lambda lib: lib.ones(3, 2).T,
    "permuted-nhwc": lambda lib: lib.ones(2, 3, 4, 5).permute(0, 2, 3, 1),
    "permuted-3d": lambda lib: lib.ones(2, 3, 4).permute(2, 0, 1),
    "size-1-dim": lambda lib: lib.ones(2, 1, 4).transpose(0, 1),
    "expanded": lambda lib: lib.ones(2, 3).expand(4, 2, 3),
    "strided-slice": lambda lib: lib.ones(2, 3)[:, ::2],
    "equal-strides-reversed": lambda lib: lib.ones(2, 2, 2).transpose(0, 2),
    "0-d": lambda lib: lib.ones(()),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize("check", ["off", "on", "contiguous", "channels_last", "both"])
def test_dim_order_and_its_ambiguity_checks_as_torchs(session, name, check):
    def order(lib):
        formats = {"contiguous": [lib.contiguous_format], "channels_last": [lib.channels_last],
                   "both": [lib.contiguous_format, lib.channels_last]}
        return LAYOUTS[name](lib).dim_order(ambiguity_check={"off": False, "on": True}.get(check, formats.get(check)))

    try:
        expected = order(torch)
    except RuntimeError:
        assert_same_error(order, order, same_type=True)
    else:
        assert order(gw) == expected
