"""ATen's functions that torch exports at its top level, with their extra outputs, against torch through a real server:
native_batch_norm, native_layer_norm and native_group_norm (the saved statistics), native_dropout (the mask),
native_norm (torch's kernel is sparse-only: compared with it on to_sparse()), embedding_bag (offset2bag, bag_size and
max_indices as torch's CPU kernel gives them) and segment_reduce; values, gradients and torch's errors."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import gradwire as gw
from tests.e2e._torch_compare import assert_matches_torch, assert_same_error

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(13)
X = RNG.standard_normal((4, 3, 5))  # (N, C, L)
IMG = RNG.standard_normal((2, 6, 2, 2))
C3 = RNG.standard_normal(3)
C6 = RNG.standard_normal(6)
ROWS = RNG.standard_normal((3, 5))
WEIGHT = RNG.standard_normal((10, 3))  # an embedding table
INDICES = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 0])
OFFSETS = np.array([0, 4, 4, 7])  # bags of 4, 0, 3 and 3 indices
LAST = np.append(OFFSETS, 10)  # with include_last_offset
SAMPLE_WEIGHTS = RNG.uniform(0.5, 2.0, 10)
TIES = np.array([[1.0, 2.0], [1.0, 3.0], [0.0, 3.0], [2.0, 0.5]])  # rows 0 and 1 tie in column 0, rows 1 and 2 in column 1
DATA = RNG.standard_normal((6, 2))
DATA_TIES = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [3.0, 0.0], [0.0, 5.0], [2.0, 0.0]])  # ties and zeros in each segment
DATA_3D = RNG.standard_normal((2, 5, 3))
TOLERANCE = {"rtol": 1e-10, "atol": 1e-12}
FLOAT32 = {"rtol": 1e-5, "atol": 1e-6}


@pytest.fixture(scope="module")
def shared(server):
    """One session for the tables' rows (each row's tensors are its own): a connection per row would double the time."""
    s = gw.connect(server.address, seed=0, timeout=10)
    yield s
    s.close()


def _long(like, values):
    return like.new_tensor(values, dtype=gw.int64 if isinstance(like, gw.Tensor) else torch.int64)


def _batch_norm(lib, x, w, b, training, stats=True, momentum=0.1):
    """native_batch_norm's outputs, then the running statistics it updated (if any)."""
    running = (x.new_zeros(3), x.new_ones(3)) if stats else (None, None)
    return (*lib.native_batch_norm(x, w, b, *running, training, momentum, 1e-5), *(t for t in running if t is not None))


FUNCTIONS = {
    "native_batch_norm-train": (lambda lib, x, w, b: _batch_norm(lib, x, w, b, True), X, C3, C3 * 0.5),
    "native_batch_norm-train-no-stats": (lambda lib, x: _batch_norm(lib, x, None, None, True, stats=False), X),
    "native_batch_norm-train-4d": (lambda lib, x, w, b: _batch_norm(lib, x[:, :3], w, b, True, momentum=0.3), IMG, C3, C3),
    "native_batch_norm-train-one-value": (lambda lib, x, w, b: _batch_norm(lib, x[:1, :, :1], w, b, True), X, C3, C3),  # F's refuses it
    "native_batch_norm-eval": (lambda lib, x, w, b: _batch_norm(lib, x, w, b, False), X, C3, C3 * 0.5),
    "native_layer_norm": (lambda lib, x, w, b: lib.native_layer_norm(x, [5], w, b, 1e-5), X, ROWS[0], ROWS[1]),
    "native_layer_norm-2dims": (lambda lib, x, w: lib.native_layer_norm(x, (3, 5), w, None, 1e-3), X, ROWS),
    "native_layer_norm-all": (lambda lib, x: lib.native_layer_norm(x, [4, 3, 5], None, None, 1e-5), X),
    "native_group_norm": (lambda lib, x, w, b: lib.native_group_norm(x, w, b, 2, 6, 4, 3, 1e-5), IMG, C6, C6 * 2),
    "native_group_norm-no-affine": (lambda lib, x: lib.native_group_norm(x, None, None, 4, 3, 5, 1, 1e-4), X),
    "native_group_norm-flat": (lambda lib, x, w: lib.native_group_norm(x.reshape(-1), w, None, 2, 6, 4, 2, 1e-5), IMG, C6),  # (torch's
    # backward fails with a bias and no weight)
    "native_dropout-eval": (lambda lib, x: lib.native_dropout(x, 0.5, False), X),
    "native_dropout-p0": (lambda lib, x: lib.native_dropout(x, 0.0, True), X),
    "native_dropout-p1": (lambda lib, x: lib.native_dropout(x, 1.0, None), X),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_match_torch(shared, name):
    f, *arrays = FUNCTIONS[name]
    assert_matches_torch(shared, f, *arrays, **TOLERANCE)


def _bag(lib, w, mode=0, last=False, pad=None, psw=None, indices=INDICES, offsets=OFFSETS):
    return lib.embedding_bag(w, _long(w, indices), _long(w, offsets), False, mode, False, psw, last, pad)


EMBEDDING_BAGS = {  # the output and its gradients, and the three index tensors as torch's CPU kernel gives them
    "sum": (lambda lib, w: _bag(lib, w), WEIGHT),
    "sum-defaults": (lambda lib, w: lib.embedding_bag(w, _long(w, INDICES), _long(w, OFFSETS)), WEIGHT),
    "sum-forward-only": (lambda lib, w: _bag(lib, w.detach()), WEIGHT),  # bag_size: one per offset
    "sum-forward-only-last-offset": (lambda lib, w: _bag(lib, w.detach(), last=True, offsets=LAST), WEIGHT),
    "sum-last-offset": (lambda lib, w: _bag(lib, w, last=True, offsets=LAST), WEIGHT),
    "sum-padding": (lambda lib, w: _bag(lib, w, pad=2), WEIGHT),
    "sum-per-sample-weights": (lambda lib, w, s: _bag(lib, w, psw=s), WEIGHT, SAMPLE_WEIGHTS),
    "sum-float32": (lambda lib, w: _bag(lib, w.float()), WEIGHT),  # the fast path: no offset2bag
    "sum-float32-per-sample-weights": (lambda lib, w, s: _bag(lib, w.float(), psw=s.float()), WEIGHT, SAMPLE_WEIGHTS),
    "sum-float32-padding": (lambda lib, w: _bag(lib, w.float(), pad=9), WEIGHT),
    "mean": (lambda lib, w: _bag(lib, w, 1), WEIGHT),
    "mean-padding-negative": (lambda lib, w: _bag(lib, w, 1, pad=-1), WEIGHT),  # -1: row 9
    "mean-last-offset-padding": (lambda lib, w: _bag(lib, w, 1, True, 4, offsets=LAST), WEIGHT),
    "mean-int32": (lambda lib, w: lib.embedding_bag(w, _long(w, INDICES).int(), _long(w, OFFSETS).int(), mode=1), WEIGHT),
    "mean-int32-int64": (lambda lib, w: lib.embedding_bag(w, _long(w, INDICES).int(), _long(w, OFFSETS), mode=1), WEIGHT),
    "max": (lambda lib, w: _bag(lib, w, 2), WEIGHT),
    "max-padding": (lambda lib, w: _bag(lib, w, 2, pad=4), WEIGHT),
    "max-last-offset": (lambda lib, w: _bag(lib, w, 2, True, offsets=LAST), WEIGHT),
    "max-ties": (lambda lib, w: _bag(lib, w, 2, indices=[2, 1, 0, 3, 3], offsets=[0, 3]), TIES),  # the gradient to the first
    "max-scale-grad-by-freq": (lambda lib, w: lib.embedding_bag(w, _long(w, INDICES), _long(w, OFFSETS), True, 2), WEIGHT),
    "max-float32": (lambda lib, w: _bag(lib, w.float(), 2), WEIGHT),
    "max-no-indices": (lambda lib, w: _bag(lib, w, 2, indices=[], offsets=[0, 0]), WEIGHT),
    "mean-no-indices": (lambda lib, w: _bag(lib, w, 1, indices=[], offsets=[0]), WEIGHT),
}


@pytest.mark.parametrize("name", EMBEDDING_BAGS)
def test_embedding_bag_matches_torch(shared, name):
    f, *arrays = EMBEDDING_BAGS[name]
    assert_matches_torch(shared, f, *arrays, **(FLOAT32 if "float32" in name else TOLERANCE))


def test_embedding_bag_output_is_functionals(session):
    w = session.tensor(WEIGHT)
    for mode, name in enumerate(("sum", "mean", "max")):
        for last, offsets in ((False, OFFSETS), (True, LAST)):
            out = gw.embedding_bag(w, session.tensor(INDICES), session.tensor(offsets), False, mode, False, None, last, 4)[0]
            functional = gw.nn.functional.embedding_bag(session.tensor(INDICES), w, session.tensor(offsets), mode=name, include_last_offset=last,
                                                        padding_idx=4)
            np.testing.assert_array_equal(out.numpy(), functional.numpy())
    assert list(inspect.signature(gw.embedding_bag).parameters) == ["weight", "indices", "offsets", "scale_grad_by_freq", "mode", "sparse",
                                                                     "per_sample_weights", "include_last_offset", "padding_idx"]
    assert gw.embedding_bag.__name__ == "embedding_bag" and "offset2bag" in gw.embedding_bag.__doc__


def _segments(lib, d, reduce, lengths=None, offsets=None, **kwargs):
    return lib.segment_reduce(d, reduce, lengths=None if lengths is None else _long(d, lengths),
                              offsets=None if offsets is None else _long(d, offsets), **kwargs)


SEGMENTS = {}
for _reduce in ("sum", "mean", "max", "min", "prod"):
    SEGMENTS[_reduce] = (lambda lib, d, r=_reduce: _segments(lib, d, r, [2, 0, 3, 1]), DATA)
    SEGMENTS[f"{_reduce}-initial"] = (lambda lib, d, r=_reduce: _segments(lib, d, r, [2, 0, 3, 1], initial=0.5), DATA)
    SEGMENTS[f"{_reduce}-offsets"] = (lambda lib, d, r=_reduce: _segments(lib, d, r, offsets=[0, 1, 1, 6]), DATA)
    SEGMENTS[f"{_reduce}-ties-and-zeros"] = (lambda lib, d, r=_reduce: _segments(lib, d, r, [2, 4]), DATA_TIES)
    SEGMENTS[f"{_reduce}-axis1"] = (lambda lib, d, r=_reduce: _segments(lib, d, r, [[2, 0, 3], [1, 1, 3]], axis=1), DATA_3D)
SEGMENTS.update({
    "amax": (lambda lib, d: _segments(lib, d, "amax", [3, 3]), DATA),
    "amin-initial-wins": (lambda lib, d: _segments(lib, d, "amin", [3, 3], initial=-5), DATA),
    "sum-initial-true": (lambda lib, d: _segments(lib, d, "sum", [3, 3], initial=True), DATA),
    "max-initial-wins": (lambda lib, d: _segments(lib, d, "max", [3, 3], initial=10.0), DATA),
    "mean-initial-empty": (lambda lib, d: _segments(lib, d, "mean", [0, 6, 0], initial=2), DATA),
    "sum-1d": (lambda lib, d: _segments(lib, d[:, 0], "sum", [4, 2]), DATA),
    "sum-axis-1": (lambda lib, d: _segments(lib, d.T, "sum", [[5, 1], [0, 6]], axis=-1), DATA),
    "sum-offsets-and-lengths": (lambda lib, d: _segments(lib, d, "sum", [1, 5], [0, 2, 2, 6]), DATA),  # offsets win
    "mean-offsets-2d": (lambda lib, d: _segments(lib, d, "mean", offsets=[[0, 2, 5], [1, 1, 5]], axis=1), DATA_3D),
    "prod-unsafe": (lambda lib, d: _segments(lib, d, "prod", [2, 3], unsafe=True), DATA),  # one row left out
    "mean-float32": (lambda lib, d: _segments(lib, d.float(), "mean", [2, 0, 4]), DATA),
    "max-no-data": (lambda lib, d: _segments(lib, d[:0], "max", [0, 0]), DATA),
    "min-no-data-initial": (lambda lib, d: _segments(lib, d[:0], "min", [0], initial=1.5), DATA),
})


@pytest.mark.parametrize("name", SEGMENTS)
def test_segment_reduce_matches_torch(shared, name):
    f, *arrays = SEGMENTS[name]
    assert_matches_torch(shared, f, *arrays, **(FLOAT32 if "float32" in name else TOLERANCE))


def test_native_dropout_statistics(session):
    x = session.tensor(RNG.standard_normal((200, 100)), requires_grad=True)
    for p in (0.2, 0.7):
        out, mask = gw.native_dropout(x, p, True)
        assert mask.dtype == gw.bool and tuple(mask.shape) == (200, 100) and not mask.requires_grad and out.requires_grad
        keep = mask.numpy()
        assert abs(keep.mean() - (1 - p)) < 0.01  # 20000 draws: about 0.003 of standard error
        np.testing.assert_allclose(out.detach().numpy(), x.detach().numpy() * keep / (1 - p), rtol=1e-15)
        x.grad = None
        (out * 3.0).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 3.0 * keep / (1 - p), rtol=1e-15)
    first, second = gw.native_dropout(x, 0.5, None)[1].numpy(), gw.native_dropout(x, 0.5, True)[1].numpy()
    assert 0.45 < first.mean() < 0.55 and (first != second).any()  # None trains, and each call draws anew
    f32 = session.tensor(np.ones((50, 40), dtype=np.float32))
    out, mask = gw.native_dropout(f32, 0.25, True)
    assert out.dtype == gw.float32 and set(np.unique(out.numpy())) <= {0.0, np.float32(1 / 0.75)}


NORM_INPUT = X.copy()
NORM_INPUT[np.abs(NORM_INPUT) < 0.5] = 0.0  # zeros, which torch's sparse kernel does not store


@pytest.mark.parametrize("p", [2, 3, 1.5, 1, 0.5, 0, math.inf, -math.inf, -1, -0.5, None])
def test_native_norm_is_torchs_on_the_sparse_tensor(shared, p):
    x, t = shared.tensor(NORM_INPUT, requires_grad=True), torch.tensor(NORM_INPUT, requires_grad=True)
    ours = gw.native_norm(x, p) if p is not None else gw.native_norm(x, None, [0, 1, 2], False, None)
    theirs = torch.native_norm(t.detach().to_sparse(), p) if p is not None else torch.native_norm(t.detach().to_sparse(), None, [0, 1, 2], False, None)
    assert tuple(ours.shape) == tuple(theirs.shape) == () and str(ours.dtype) == "torch.float64"
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    # torch has no derivative for it: gradwire's is the norm's, of the nonzero elements
    reference = torch.linalg.vector_norm(torch.where(t != 0, t, math.inf) if p is not None and p < 0 else t, 2 if p is None else p)
    ours.backward()
    reference.backward()
    expected = t.grad.numpy() if t.grad is not None else np.zeros_like(NORM_INPUT)  # (torch's p=0 gives none: zeros)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-14)
    assert not np.isnan(x.grad.numpy()).any()


def test_native_norm_forms(session):
    x = session.tensor(NORM_INPUT)
    s = torch.tensor(NORM_INPUT).to_sparse()
    for args in ((), (3,), (2, []), (2, [2, 0, 1]), (1, (-1, -2, -3))):
        full = (*args, False, None) if len(args) == 2 else args
        np.testing.assert_allclose(gw.native_norm(x, *full).item(), torch.native_norm(s, *full).item(), rtol=1e-12)
    np.testing.assert_allclose(gw.native_norm(x, p=4).item(), torch.native_norm(s, p=4).item(), rtol=1e-12)
    assert gw.native_norm(session.tensor(3.0), 2).item() == 3.0
    f32 = gw.native_norm(session.tensor(NORM_INPUT.astype(np.float32)))
    assert f32.dtype == gw.float32


def _sparse(lib, x):
    return x.to_sparse() if lib is torch else x


ERRORS = {
    "native_layer_norm-int-shape": lambda lib, x: lib.native_layer_norm(x, 5, None, None, 1e-5),
    "native_layer_norm-empty-shape": lambda lib, x: lib.native_layer_norm(x, [], None, None, 1e-5),
    "native_layer_norm-shape": lambda lib, x: lib.native_layer_norm(x, [4], None, None, 1e-5)[0].tolist(),
    "native_group_norm-groups": lambda lib, x: lib.native_group_norm(x, None, None, 4, 3, 5, 2, 1e-5),
    "native_group_norm-zero-groups": lambda lib, x: lib.native_group_norm(x, None, None, 4, 3, 5, 0, 1e-5),
    "native_group_norm-weight": lambda lib, x: lib.native_group_norm(x, x[0, 0], None, 4, 3, 5, 3, 1e-5),
    "native_dropout-p": lambda lib, x: lib.native_dropout(x, 1.5, True),
    "native_dropout-negative-p": lambda lib, x: lib.native_dropout(x, -0.25, None),
    "native_norm-int": lambda lib, x: lib.native_norm(_sparse(lib, x.long())),
    "native_norm-partial-dims": lambda lib, x: lib.native_norm(_sparse(lib, x), 2, [1], False, None),
    "native_norm-keepdim": lambda lib, x: lib.native_norm(_sparse(lib, x), 2, [0, 1, 2], True, None),
    "native_norm-dtype": lambda lib, x: lib.native_norm(_sparse(lib, x), 2, [], False, lib.float32),
    "native_norm-dim-range": lambda lib, x: lib.native_norm(_sparse(lib, x), 2, [0, 1, 5], False, None),
    "embedding_bag-mode": lambda lib, x: lib.embedding_bag(x[0], _long(x, [0, 1]), _long(x, [0]), False, 3),
    "embedding_bag-padding": lambda lib, x: lib.embedding_bag(x[0], _long(x, [0, 1]), _long(x, [0]), False, 0, False, None, False, 3),
    "embedding_bag-padding-negative": lambda lib, x: lib.embedding_bag(x[0], _long(x, [0, 1]), _long(x, [0]), False, 0, False, None, False, -4),
    "embedding_bag-per-sample-mean": lambda lib, x: lib.embedding_bag(x[0], _long(x, [0, 1]), _long(x, [0]), False, 1, False, x[0, 0, :2]),
    "embedding_bag-float-indices": lambda lib, x: lib.embedding_bag(x[0], x[0, 0, :2], _long(x, [0])),
    "embedding_bag-float-offsets": lambda lib, x: lib.embedding_bag(x[0], _long(x, [0, 1]), x[0, 0, :1]),
    "embedding_bag-1d-weight": lambda lib, x: lib.embedding_bag(x[0, 0], _long(x, [0, 1]), _long(x, [0])),
    "embedding_bag-2d-offsets": lambda lib, x: lib.embedding_bag(x[0], _long(x, [0, 1]), _long(x, [[0]])),
    "embedding_bag-last-offset": lambda lib, x: lib.embedding_bag(x[0], _long(x, [0, 1]), _long(x, []), include_last_offset=True),
    "segment_reduce-indices": lambda lib, x: lib.segment_reduce(x[0], "sum", indices=_long(x, [0, 1, 2])),
    "segment_reduce-nothing": lambda lib, x: lib.segment_reduce(x[0], "sum"),
    "segment_reduce-reduce": lambda lib, x: lib.segment_reduce(x[0], "avg", lengths=_long(x, [3])),
    "segment_reduce-axis-range": lambda lib, x: lib.segment_reduce(x[0], "sum", lengths=_long(x, [3]), axis=2),
    "segment_reduce-axis-lengths": lambda lib, x: lib.segment_reduce(x[0], "sum", lengths=_long(x, [3]), axis=1),
    "segment_reduce-axis-offsets": lambda lib, x: lib.segment_reduce(x[0], "sum", offsets=_long(x, [0, 3]), axis=-1),
    "segment_reduce-negative": lambda lib, x: lib.segment_reduce(x[0], "sum", lengths=_long(x, [4, -1])),
    "segment_reduce-total": lambda lib, x: lib.segment_reduce(x[0], "max", lengths=_long(x, [1, 1])),
    "segment_reduce-rows": lambda lib, x: lib.segment_reduce(x[0], "max", lengths=_long(x, [[2, 3], [5, 0], [1, 1]]), axis=1),
    "segment_reduce-int-data": lambda lib, x: lib.segment_reduce(x[0].long(), "mean", lengths=_long(x, [3])),
    "segment_reduce-float-lengths": lambda lib, x: lib.segment_reduce(x[0], "mean", lengths=x[0, 0, :1] * 0 + 3),
    "segment_reduce-float-offsets": lambda lib, x: lib.segment_reduce(x[0], "mean", offsets=x[0, 0, :2] * 0),
    "segment_reduce-list": lambda lib, x: lib.segment_reduce(x[0], "sum", lengths=[3]),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_torchs(shared, name):
    assert_same_error(lambda lib: ERRORS[name](lib, shared.tensor(X)), lambda lib: ERRORS[name](lib, torch.tensor(X)), same_type=True)
    assert shared.tensor([1.0, 2.0]).sum().item() == 3.0  # the session goes on


def test_errors_where_torch_has_no_words(session):
    x = session.tensor(X)
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):  # torch's kernel crashes
        gw.native_batch_norm(x, None, None, None, None, False, 0.1, 1e-5)
    with pytest.raises(RuntimeError, match=r"Expected X.numel\(\) == N \* C \* HxW to be true, but got false."):
        gw.native_group_norm(x, None, None, 4, 3, 4, 3, 1e-5)
    with pytest.raises(RuntimeError, match="indices has to be a 1D Tensor"):  # torch reads a 2-D one's rows as its elements
        gw.embedding_bag(session.tensor(WEIGHT), session.tensor([[0, 1]]), session.tensor([0]))
    with pytest.raises(RuntimeError, match="does not fit data of shape"):  # torch: "Expected segment_length >= 0 ..."
        gw.segment_reduce(x[0].T, "sum", lengths=session.tensor([[2, 0, 1]]), axis=1, unsafe=True)
