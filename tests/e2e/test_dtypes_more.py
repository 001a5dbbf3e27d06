"""uint8, int8 and int16 end to end, set_default_dtype, randint_like, histc and mode: through the SDK and a real
server, against torch (values, dtypes, the dtype the client infers before any sync, errors)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

SMALL = ["uint8", "int8", "int16"]


def _values(dtype, rng, shape=(3, 4)):
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)


def _same(ours, theirs, what=""):
    """Same dtype (the one the client inferred too, where it did), shape and values."""
    expected = np.dtype(str(theirs.dtype).removeprefix("torch."))
    if ours._dtype is not None:
        assert ours._dtype == expected, f"{what}: inferred {ours._dtype} != {expected}"
    got = ours.detach().numpy()
    assert got.dtype == expected, f"{what}: {got.dtype} != {expected}"
    np.testing.assert_allclose(got, theirs.detach().numpy(), rtol=1e-6, err_msg=what)


# each row: (name, f(x, y) as written for gw and torch alike); y is nonzero where the op divides
OPS = [
    ("add", lambda x, y: x + y), ("sub", lambda x, y: x - y), ("mul", lambda x, y: x * y),
    ("add-300", lambda x, y: x + 300), ("mul-neg", lambda x, y: x * -1), ("rsub", lambda x, y: 5 - x),
    ("floordiv", lambda x, y: x // y), ("remainder", lambda x, y: x % y), ("truediv", lambda x, y: x / y),
    ("div-int", lambda x, y: x / 3), ("mul-float", lambda x, y: x * 1.5), ("pow", lambda x, y: x ** 2),
    ("neg", lambda x, y: -x), ("abs", lambda x, y: x.abs()), ("sign", lambda x, y: x.sign()),
    ("lt", lambda x, y: x < y), ("eq", lambda x, y: x == y), ("ge-300", lambda x, y: x >= 300), ("ne-scalar", lambda x, y: x != 3),
    ("and", lambda x, y: x & y), ("or", lambda x, y: x | y), ("xor", lambda x, y: x ^ y), ("not", lambda x, y: ~x),
    ("and-int", lambda x, y: x & 7),
    ("sum", lambda x, y: x.sum()), ("sum-dim", lambda x, y: x.sum(1)), ("prod-dim", lambda x, y: x.prod(0)),
    ("cumsum", lambda x, y: x.cumsum(1)), ("cumprod", lambda x, y: x.cumprod(0)),
    ("max", lambda x, y: x.max()), ("min-dim-values", lambda x, y: x.min(1).values), ("max-dim-indices", lambda x, y: x.max(0).indices),
    ("argmax", lambda x, y: x.argmax()), ("amax", lambda x, y: x.amax(1)),
    ("sort", lambda x, y: x.sort(1).values), ("flip", lambda x, y: x.flip(0)), ("t", lambda x, y: x.t()), ("reshape", lambda x, y: x.reshape(-1)),
    ("clamp", lambda x, y: x.clamp(0, 60)), ("clamp-neg", lambda x, y: x.clamp(min=-3)), ("clamp-float", lambda x, y: x.clamp(max=2.5)), ("maximum", lambda x, y: x.maximum(y)),
    ("where", lambda x, y: _mod(x).where(x > y, x, y)), ("cat", lambda x, y: _mod(x).cat([x, y])),
    ("index", lambda x, y: x[1:, ::2]), ("exp", lambda x, y: x.exp()), ("sqrt-abs", lambda x, y: x.abs().sqrt()),
    ("float", lambda x, y: x.float()), ("double", lambda x, y: x.double()), ("long", lambda x, y: x.long()),
    ("byte", lambda x, y: x.byte()), ("char", lambda x, y: x.char()), ("short", lambda x, y: x.short()), ("bool", lambda x, y: x.bool()),
    ("count_nonzero", lambda x, y: x.count_nonzero()), ("mode", lambda x, y: x.mode(1).values), ("mode-indices", lambda x, y: x.mode(0).indices),
]


def _mod(x):
    return gw if isinstance(x, gw.Tensor) else torch


@pytest.mark.parametrize("dtype", SMALL)
def test_ops_over_each_small_integer_dtype_match_torch(session, dtype):
    rng = np.random.default_rng(1)
    xa, ya = _values(dtype, rng), _values(dtype, rng)
    ya[ya == 0] = 1
    xa[0, 0] = 0  # (a mode's tie and a zero)
    x, y, tx, ty = session.tensor(xa), session.tensor(ya), torch.from_numpy(xa), torch.from_numpy(ya)
    assert x.dtype == getattr(gw, dtype) == np.dtype(dtype)
    for name, f in OPS:
        with np.errstate(all="ignore"):
            _same(f(x, y), f(tx, ty), f"{dtype} {name}")


PAIRS = [("uint8", "int8"), ("uint8", "int16"), ("int8", "int16"), ("uint8", "bool"), ("int8", "int64"), ("uint8", "int32"),
         ("int16", "float32"), ("uint8", "float16"), ("bool", "int8")]


@pytest.mark.parametrize("a, b", PAIRS)
def test_promotion_of_two_tensors_is_torchs(session, a, b):
    rng = np.random.default_rng(2)
    xa, ya = (np.abs(_values(d, rng)) if d not in ("bool", "float16", "float32") else rng.integers(0, 2, (3, 4)).astype(d) for d in (a, b))
    x, y, tx, ty = session.tensor(xa), session.tensor(ya), torch.from_numpy(xa), torch.from_numpy(ya)
    for name, f in (("add", lambda p, q: p + q), ("mul", lambda p, q: p * q), ("lt", lambda p, q: p < q), ("max", lambda p, q: _mod(p).maximum(p, q))):
        _same(f(x, y), f(tx, ty), f"{a} {name} {b}")
        _same(f(y, x), f(ty, tx), f"{b} {name} {a}")


def test_a_zero_dim_tensor_or_a_number_leaves_a_narrow_dtype_alone_as_torch(session):
    xa = np.array([[250, 3]], dtype=np.uint8)
    x, tx = session.tensor(xa), torch.from_numpy(xa)
    for f in (lambda t, m: t + m.tensor(7), lambda t, m: t * m.tensor(-1, dtype=m.int8), lambda t, m: t + m.tensor(2.5),
              lambda t, m: t - 260, lambda t, m: t + True, lambda t, m: m.tensor(2, dtype=m.int16) * t):
        _same(f(x, gw), f(tx, torch))


def test_a_clamp_bound_outside_the_dtype_is_refused_as_torch(session):
    with pytest.raises(RuntimeError, match="value cannot be converted to type uint8_t without overflow"):
        torch.tensor([1, 2], dtype=torch.uint8).clamp(max=300)
    with pytest.raises(gw.GradwireError, match="value cannot be converted to type uint8_t without overflow"):
        session.tensor(np.array([1, 2], dtype=np.uint8)).clamp(max=300).tolist()
    with pytest.raises(gw.GradwireError, match="value cannot be converted to type int8_t without overflow"):
        session.tensor(np.array([1, 2], dtype=np.int8)).clamp(-300).tolist()


def test_numbers_into_narrow_tensors_wrap_or_are_refused_as_torch(session):
    for make in (lambda m: m.full((2,), -1, dtype=m.uint8), lambda m: m.zeros(3, dtype=m.int8).add_(200),
                 lambda m: m.tensor([250, 3], dtype=m.uint8).mul_(3)):
        _same(make(gw), make(torch))
    for make in (lambda m: m.full((2,), 300, dtype=m.uint8), lambda m: m.zeros(2, dtype=m.int8).fill_(128)):
        with pytest.raises(RuntimeError, match="value cannot be converted to type u?int8_t without overflow"):
            make(torch)
        with pytest.raises(gw.GradwireError, match="value cannot be converted to type u?int8_t without overflow"):
            make(gw).tolist()


class _Both:
    """gw's dtypes and functions, the session's factories: one lambda written for torch and gradwire alike."""

    def __init__(self, session):
        self._session = session

    def __getattr__(self, name):
        return getattr(self._session if hasattr(self._session, name) else gw, name)


def _same_outcome(call, session):
    """``call(torch)`` and ``call(gradwire)`` agree: the same values, or the same error class (a gradwire error is a
    RuntimeError, as torch's) and message, whether gradwire raised it at the call or at the read."""
    try:
        expected = call(torch).tolist()
    except (RuntimeError, ValueError, OverflowError) as error:
        with pytest.raises(type(error)) as ours:
            call(_Both(session)).tolist()
        assert str(error) in str(ours.value), (ours.value, error)
        return
    np.testing.assert_array_equal(call(_Both(session)).tolist(), expected)  # (NaN equal to NaN)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64", "uint8", "int8"])
def test_fill_refuses_a_number_past_the_dtype_at_the_call_as_torch(session, dtype):
    # a float past the dtype's range is refused, except float16 takes anything into one element (inf); an integer
    # dtype refuses a number outside it (a negative int wraps into uint8; -0.5 does not); ints past int64 as torch's
    values = (70000, 65519.0, 65504.0, 1e10, 1e40, 3e9, float("inf"), float("nan"), -1, -256, 255.9, -0.5,
              2**63 - 1, 2**63, 2**64 - 1, 2**64, -2**63, -2**63 - 1)
    for value in values:
        for size in (1, 2):
            _same_outcome(lambda m: m.zeros(size, dtype=getattr(m, dtype)).fill_(value), session)
    if dtype != "float64":
        with pytest.raises(RuntimeError, match="without overflow"):  # at the call, with nothing sent
            session.zeros(2, dtype=getattr(gw, dtype)).fill_(1e40)


@pytest.mark.parametrize("make", [
    lambda m, n, v, dt: m.zeros(n, dtype=dt).masked_fill(m.ones(n, dtype=m.bool), v),
    lambda m, n, v, dt: m.zeros(n, dtype=dt).masked_fill_(m.ones(n, dtype=m.bool), v),
    lambda m, n, v, dt: m.zeros(n, dtype=dt).index_fill(0, m.tensor([0]), v), lambda m, n, v, dt: m.full((n,), v, dtype=dt),
    lambda m, n, v, dt: m.zeros(3, dtype=dt).new_full((n,), v), lambda m, n, v, dt: m.full_like(m.zeros(n, dtype=dt), v),
], ids=["masked_fill", "masked_fill_", "index_fill", "full", "new_full", "full_like"])
def test_fills_refuse_an_overflowing_number_at_the_call_as_torch(session, make):
    # masked_fill and index_fill refuse 1e10 for float16 however many elements; full of one float16 element takes it as
    # inf (as fill_ does): PyTorch's rules, refused before anything is sent
    for size in (1, 2):
        for value in (1e10, 70000, 65519.0, 300, -1, float("inf")):
            for dtype in ("float16", "uint8", "float32"):
                _same_outcome(lambda m: make(m, size, value, getattr(m, dtype)), session)
    with pytest.raises(RuntimeError, match=r"^value cannot be converted to type c10::Half without overflow$"):  # at the call
        make(_Both(session), 2, 1e10, gw.float16)


def test_a_clamp_bound_past_a_float_dtype_is_refused_as_torch(session):
    for call in (lambda m: m.zeros(2, dtype=m.float16).clamp(max=1e10), lambda m: m.zeros(2, dtype=m.float16).clamp_min(-1e10),
                 lambda m: m.zeros(2).clamp(max=1e40), lambda m: m.zeros(2, dtype=m.float16).clamp_(max=70000),
                 lambda m: m.zeros(2).clamp(-2, 1e30), lambda m: m.zeros(2, dtype=m.float16).clamp(max=float("inf"))):
        _same_outcome(call, session)


def test_ints_past_int64_go_where_torch_takes_them(session):
    big = 2**63  # a uint64 to PyTorch: a float tensor takes it; past 2**64, or x[i] = v, is refused
    calls = [lambda m: m.zeros(2).add(big), lambda m: big + m.zeros(2), lambda m: m.ones(2).mul_(big),
             lambda m: m.full((2,), big), lambda m: m.full((2,), big, dtype=m.float32), lambda m: m.full((2,), -big - 1, dtype=m.float32),
             lambda m: m.zeros(2).clamp(max=big), lambda m: m.zeros(2).masked_fill(m.tensor([True, False]), big),
             lambda m: m.zeros(2).masked_fill(m.tensor([True, False]), 2**64), lambda m: m.zeros(2).add(2**64),
             lambda m: m.zeros(2).add(-big - 1), lambda m: m.tensor([big], dtype=m.float32), lambda m: m.full((2,), big, dtype=m.int32),
             lambda m: m.full((2,), big, dtype=m.bool), lambda m: m.full((2,), big, dtype=m.uint8),
             # into an integer tensor's op it wraps into int64, as torch's (a bool tensor's refuses it)
             lambda m: m.tensor([1, 2]) + big, lambda m: big + m.tensor([1, 2]), lambda m: m.tensor([1, 2]) > big,
             lambda m: m.tensor([-1]) == 2**64 - 1, lambda m: m.tensor([1, 3], dtype=m.int32) * (big + 1),
             lambda m: m.tensor([255], dtype=m.uint8) & (big + 7), lambda m: m.tensor([True]) + big]
    for call in calls:
        _same_outcome(call, session)
    x = session.zeros(2)
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        x[0] = big
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):  # (torch: a TypeError quoting this)
        session.zeros(big)
    assert (session.ones(2) * 3).tolist() == [3.0, 3.0]  # nothing half made went out, no handle left to release


def test_image_bytes_to_floats_as_torch(session):
    img = np.random.default_rng(3).integers(0, 256, (2, 5, 5, 3)).astype(np.uint8)
    x = session.tensor(img)
    assert x.dtype == gw.uint8  # as torch.from_numpy keeps it
    _same(x.float() / 255, torch.from_numpy(img).float() / 255)
    _same(x.permute(0, 3, 1, 2).float().mean((2, 3)), torch.from_numpy(img).permute(0, 3, 1, 2).float().mean((2, 3)))
    assert gw.from_numpy(img).dtype == gw.uint8


def test_casts_into_narrow_integers_wrap_as_torchs(session):
    fa = np.array([300.7, -1.5, 127.9, 200.0, -129.0], dtype=np.float32)
    f, tf = session.tensor(fa), torch.from_numpy(fa)
    for dtype in SMALL:
        _same(f.to(getattr(gw, dtype)), tf.to(getattr(torch, dtype)), dtype)
    wide = np.array([70000, -1, 255, 256], dtype=np.int64)
    for dtype in SMALL:
        _same(session.tensor(wide).to(dtype), torch.from_numpy(wide).to(getattr(torch, dtype)), dtype)


def test_factories_and_aliases(session):
    assert gw.short == gw.int16 and gw.uint8 == np.dtype(np.uint8) and gw.int8 == np.dtype(np.int8)
    for dtype in SMALL:
        for ours, theirs in ((gw.zeros(2, 3, dtype=getattr(gw, dtype)), torch.zeros(2, 3, dtype=getattr(torch, dtype))),
                             (gw.ones(4, dtype=dtype), torch.ones(4, dtype=getattr(torch, dtype))),
                             (gw.full((2,), 100, dtype=getattr(gw, dtype)), torch.full((2,), 100, dtype=getattr(torch, dtype))),
                             (gw.arange(2, 11, 3, dtype=getattr(gw, dtype)), torch.arange(2, 11, 3, dtype=getattr(torch, dtype))),
                             (gw.tensor([1, 2, 3], dtype=f"torch.{dtype}"), torch.tensor([1, 2, 3], dtype=getattr(torch, dtype)))):
            _same(ours, theirs, dtype)
        r = gw.randint(-5 if dtype != "uint8" else 0, 100, (50,), dtype=getattr(gw, dtype))
        assert r._dtype == r.numpy().dtype == np.dtype(dtype) and r.numpy().min() >= (-5 if dtype != "uint8" else 0) and r.numpy().max() < 100
        info, tinfo = gw.iinfo(getattr(gw, dtype)), torch.iinfo(getattr(torch, dtype))
        assert (info.min, info.max, info.bits, repr(info)) == (tinfo.min, tinfo.max, tinfo.bits, repr(tinfo))
    x = session.tensor(np.array([1, 200], dtype=np.uint8))
    assert repr(x) == repr(torch.tensor([1, 200], dtype=torch.uint8)) and x.type() == "gradwire.ByteTensor"
    assert x.element_size() == 1 and x.short().element_size() == 2


def test_a_uint8_index_is_a_mask_with_torchs_warning_and_int8_is_refused(session):
    values = np.arange(12).reshape(4, 3)
    x, tx = session.tensor(values), torch.from_numpy(values)
    mask = np.array([1, 0, 3, 0], dtype=np.uint8)
    for index in (session.tensor(mask), mask):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _same(x[index], tx[torch.from_numpy(mask)])
        assert any("indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead." in str(w.message) for w in caught)
    for dtype in ("int8", "int16"):
        with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
            x[session.tensor(np.array([0, 1], dtype=dtype))]
        with pytest.raises(IndexError):
            tx[torch.tensor([0, 1], dtype=getattr(torch, dtype))]


def test_a_mean_of_bytes_is_refused_in_torchs_words(session):
    x = session.tensor(np.array([1, 2], dtype=np.uint8))
    with pytest.raises(gw.GradwireError, match="mean\\(\\): could not infer output dtype. Input dtype must be either a floating point or "
                                               "complex dtype. Got: Byte"):
        x.mean().item()


def test_checkpoints_keep_narrow_integers_and_torch_reads_them(session, tmp_path):
    from safetensors.torch import load_file

    rng = np.random.default_rng(4)
    state = {d: session.tensor(_values(d, rng)) for d in SMALL}
    gw.save(state, tmp_path / "small.safetensors")
    back = gw.load(tmp_path / "small.safetensors", session)
    theirs = load_file(str(tmp_path / "small.safetensors"))
    for d in SMALL:
        assert back[d].dtype == np.dtype(d) and theirs[d].dtype == getattr(torch, d)
        np.testing.assert_array_equal(back[d].numpy(), state[d].numpy())
        np.testing.assert_array_equal(theirs[d].numpy(), state[d].numpy())


# --- set_default_dtype -------------------------------------------------------------------------------


@pytest.fixture
def float64_default():
    gw.set_default_dtype(gw.float64)
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        gw.set_default_dtype(gw.float32)
        torch.set_default_dtype(torch.float32)


def test_default_dtype_drives_factories_layers_and_promotion(session, float64_default):
    assert gw.get_default_dtype() == gw.float64
    ints = np.array([1, 2, 7], dtype=np.int64)
    small = np.array([1, 2, 7], dtype=np.uint8)
    cases = [
        (lambda m: m.tensor([1.5, 2.0]), "tensor"), (lambda m: m.tensor(0.1), "tensor-0d"), (lambda m: m.zeros(2), "zeros"),
        (lambda m: m.ones(2, 2), "ones"), (lambda m: m.full((2,), 1.5), "full"), (lambda m: m.arange(0.0, 1.0, 0.25), "arange"),
        (lambda m: m.linspace(0, 1, 5), "linspace"), (lambda m: m.eye(2), "eye"), (lambda m: m.tensor([1, 2]), "ints stay int64"),
        (lambda m: m.tensor(ints) / 3, "true division"), (lambda m: m.tensor(ints) * 0.1, "float scalar"),
        (lambda m: m.tensor(small) / 255, "bytes / 255"), (lambda m: m.tensor(ints).exp(), "exp"), (lambda m: m.tensor(ints).sqrt(), "sqrt"),
        (lambda m: m.tensor(ints).clamp(max=1.5), "clamp"), (lambda m: m.atan2(m.tensor(ints), m.tensor(ints + 1)), "atan2"),
        (lambda m: m.where(m.tensor(ints) > 1, m.tensor(ints), 0.5), "where"),
        (lambda m: m.tensor(np.float32([1.5])) * 2.0, "float32 stays float32"),
    ]
    for make, what in cases:
        _same(make(gw), make(torch), what)
    assert gw.rand(3)._dtype == gw.rand(3).numpy().dtype == np.float64 and gw.randn(2).dtype == gw.float64
    layer, tlayer = gw.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    assert layer.weight.dtype == layer.weight.detach().numpy().dtype == gw.float64 == np.dtype(str(tlayer.weight.dtype).removeprefix("torch."))
    assert gw.nn.Conv2d(1, 2, 3).weight.dtype == gw.float64 and gw.nn.BatchNorm1d(3).running_mean.dtype == gw.float64
    assert repr(gw.tensor([1.0])) == repr(torch.tensor([1.0])) and repr(gw.tensor([1.0], dtype=gw.float32)) == repr(torch.tensor([1.0], dtype=torch.float32))
    assert gw.finfo().eps == torch.finfo().eps


def test_set_default_dtype_refuses_what_torch_refuses(session):
    for bad, tbad in ((gw.int32, torch.int32), (gw.bool_, torch.bool), (gw.uint8, torch.uint8)):
        with pytest.raises(TypeError) as ours:
            gw.set_default_dtype(bad)
        with pytest.raises(TypeError) as theirs:
            torch.set_default_dtype(tbad)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="invalid dtype object: only floating-point types are supported as the default type"):
        gw.set_default_dtype(3)
    assert gw.get_default_dtype() == gw.float32 and gw.tensor([0.5]).dtype == gw.float32 and (gw.tensor([1]) / 2).dtype == gw.float32


# --- randint_like, histc, mode -----------------------------------------------------------------------


def test_randint_like_keeps_shape_and_dtype(session):
    for like, args, dtype in ((gw.zeros(2, 3), (5,), None), (gw.zeros(4, dtype=gw.int32), (3, 9), None), (gw.zeros(3), (0, 200), gw.uint8)):
        out = gw.randint_like(like, *args, dtype=dtype)
        low, high = (0, *args) if len(args) == 1 else args
        theirs = torch.randint_like(torch.zeros(tuple(like.shape), dtype=getattr(torch, like.dtype.name)), *args,
                                    dtype=None if dtype is None else getattr(torch, dtype.name))
        values = out.numpy()
        assert out.shape == like.shape and values.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
        assert values.min() >= low and values.max() < high and np.all(values == np.floor(values))


@pytest.mark.parametrize("kwargs", [{}, {"bins": 7, "min": -1, "max": 1}, {"bins": 3}, {"bins": 10, "min": 0, "max": 9}, {"bins": 4, "min": 0.5, "max": 0.5}])
def test_histc_matches_torch(session, kwargs):
    rng = np.random.default_rng(5)
    for values in (rng.standard_normal(500).astype(np.float32), rng.integers(0, 10, (4, 25)).astype(np.float64), np.array([2.0, 2.0], np.float32)):
        _same(session.tensor(values).histc(**kwargs), torch.histc(torch.from_numpy(values), **kwargs), str(kwargs))
        _same(gw.histc(session.tensor(values), **kwargs), torch.from_numpy(values).histc(**kwargs), str(kwargs))


def test_histc_has_no_gradient_and_refuses_integers_as_torch(session):
    x = session.tensor(np.float32([0.1, 0.5, 0.9]), requires_grad=True)
    h = x.histc(3, 0, 1)
    assert not h.requires_grad and h.grad_fn is None and h.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(NotImplementedError, match="\"histogram_cpu\" not implemented for 'Long'"):
        torch.histc(torch.tensor([1, 2]), 3)
    with pytest.raises(gw.UnimplementedError, match="\"histogram_cpu\" not implemented for 'Long'"):
        session.tensor([1, 2]).histc(3)
    with pytest.raises(gw.InvalidArgumentError, match="torch.histc: max must be larger than min"):
        x.histc(3, 2, 1)


@pytest.mark.parametrize("shape, dim, keepdim", [((4, 9), 1, False), ((4, 9), 0, True), ((3, 5, 7), -2, False), ((6,), -1, False), ((), 0, False)])
def test_mode_values_indices_and_gradient_match_torch(session, shape, dim, keepdim):
    values = np.random.default_rng(6).integers(0, 4, shape).astype(np.float32)
    x, tx = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours, theirs = gw.mode(x, dim, keepdim), torch.mode(tx, dim, keepdim)
    _same(ours.values, theirs.values)
    _same(ours.indices, theirs.indices)
    assert ours.values.grad_fn.name() == theirs.values.grad_fn.name() == "ModeBackward0"
    ours.values.sum().backward()
    theirs.values.sum().backward()
    _same(x.grad, tx.grad)


def test_mode_ties_take_the_smallest_value_and_its_last_index(session):
    values = np.array([[3, 1, 3, 1, 2, 2, 7], [5, 5, 4, 4, 0, 0, 9]], dtype=np.int64)
    ours, theirs = session.tensor(values).mode(), torch.from_numpy(values).mode()
    assert ours.values.tolist() == theirs.values.tolist() == [1, 0] and ours.indices.tolist() == theirs.indices.tolist() == [3, 5]
    assert type(ours).__name__ == "mode" and ours._fields == ("values", "indices")


@pytest.mark.parametrize("dtype, value", [("int32", 2.0**31), ("int32", float("nan")), ("int32", float("inf")),
                                          ("int64", 2.0**70), ("uint8", 300.0), ("uint8", -0.5), ("uint8", -2.5), ("int8", -128.5)])
def test_a_number_that_does_not_fit_an_integer_tensor_is_refused_as_torch(session, dtype, value):
    with pytest.raises((RuntimeError, ValueError)) as theirs:
        torch.zeros(3, dtype=getattr(torch, dtype))[:] = value
    x = session.zeros(3, dtype=dtype)
    x[:] = value
    with pytest.raises(gw.GradwireError) as ours:
        x.tolist()
    assert str(theirs.value) in str(ours.value)  # its words: "int" for int32, "uint8_t" for uint8
    x[:] = 3.7  # a float that fits is truncated, as torch's
    assert x.tolist() == [3, 3, 3]


def test_an_int_beyond_int64_is_refused_at_once_as_torch(session):
    with pytest.raises(ValueError):
        torch.zeros(3, dtype=torch.int64)[:] = 2**63
    with pytest.raises(ValueError):
        session.zeros(3, dtype="int64")[:] = 2**63


_MATMUL_SHAPES = [((2, 3), (3, 4)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)),
                  ((2, 3), (5, 3, 4)), ((5, 2, 3), (3,)), ((3,), (5, 3, 4))]


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32"), ("int64", "float32"), ("float16", "float32"),
                                    ("float32", "bfloat16"), ("complex64", "float32"), ("int32", "int16"), ("uint8", "int8"),
                                    ("bool", "float32"), ("float32", "bool"), ("bool", "bool"), ("int8", "int8")])
def test_matmul_of_two_dtypes_is_refused_as_torch_refuses_it(session, dtypes):
    # no promotion: PyTorch's kernels (dot, addmv, addmm, bmm, as the shapes choose) refuse, each in its words
    for shapes in _MATMUL_SHAPES:
        outcome = []
        for make in (lambda shape, d: torch.ones(shape, dtype=getattr(torch, d)), lambda shape, d: session.ones(*shape, dtype=getattr(gw, d))):
            try:
                result = make(shapes[0], dtypes[0]) @ make(shapes[1], dtypes[1])
                outcome.append(("result", str(result.dtype).split(".")[-1], tuple(result.shape)))
            except RuntimeError as error:  # raised at the call, before anything is sent
                outcome.append(("refused", str(error)))
        assert outcome[0] == outcome[1], (dtypes, shapes)


def test_matmul_under_autocast_casts_first_as_torch_does(session):
    a, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        theirs = torch.from_numpy(a) @ torch.from_numpy(b).to(torch.bfloat16)
    with gw.autocast("cpu", dtype=gw.bfloat16):
        ours = session.tensor(a) @ session.tensor(b).to(gw.bfloat16)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1] == "bfloat16"
    assert ours.float().tolist() == theirs.float().tolist()


@pytest.mark.parametrize("dtype, value", [("uint8", 300), ("uint8", -2.5), ("int32", float("nan")), ("int64", float("inf")),
                                          ("float32", 1e40), ("float16", 1e10), ("uint8", -1), ("float16", float("inf"))])
@pytest.mark.parametrize("fill", ["masked_fill_", "index_fill_", "full"])
def test_fill_values_are_checked_against_the_dtype_as_torch(session, dtype, value, fill):
    """masked_fill, index_fill and full refuse a number that overflows the dtype (uint8 took 300 as 44); -1 wraps into
    uint8 and inf goes into any float dtype, as PyTorch's."""
    calls = {"masked_fill_": lambda L, x: x.masked_fill_(x == 0, value), "index_fill_": lambda L, x: x.index_fill_(0, x.new_zeros(1, dtype=L.int64), value),
             "full": lambda L, x: L.full((2,), value, dtype=x.dtype)}
    try:
        expected = calls[fill](torch, torch.zeros(2, dtype=getattr(torch, dtype)))
    except RuntimeError as error:
        with pytest.raises(gw.GradwireError) as ours:
            calls[fill](gw if fill != "full" else session, session.zeros(2, dtype=dtype)).tolist()
        assert str(error) in str(ours.value)
        return
    result = calls[fill](gw if fill != "full" else session, session.zeros(2, dtype=dtype))
    assert result.tolist() == expected.tolist()


@pytest.mark.parametrize("name, call", [
    ("pow-bools", lambda m: m.tensor([True]).pow_(m.tensor([True]))), ("remainder-bools", lambda m: m.tensor([True]).remainder_(m.tensor([True]))),
    ("floor_divide-bools", lambda m: m.tensor([True]).floor_divide_(m.tensor([True]))), ("hypot-ints", lambda m: m.tensor([3]).hypot(m.tensor([4]))),
    ("logaddexp-ints", lambda m: m.tensor([3]).logaddexp(m.tensor([4]))), ("hypot_-bool-int", lambda m: m.tensor([True]).hypot_(m.tensor([4]))),
    ("bitwise_and_-int-float", lambda m: m.tensor([3]).bitwise_and_(m.tensor([1.0]))),
    ("bitwise_and-half-float", lambda m: m.tensor([1.0], dtype=m.float16) & m.tensor([1.0])),
    ("bitwise_or_-bool-double", lambda m: m.tensor([True]).bitwise_or_(m.tensor([1.0], dtype=m.float64))),
    ("fmod-bools", lambda m: m.tensor([True]).fmod(m.tensor([True]))), ("hypot-float", lambda m: m.tensor([3.0]).hypot_(m.tensor([4]))),
    ("floor-bool", lambda m: m.tensor([True]).floor()), ("round-bool", lambda m: m.tensor([True]).round()),
    ("round-decimals-int", lambda m: m.tensor([3]).round(decimals=1)), ("trunc-bool", lambda m: m.tensor([True]).trunc()),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_dtype_an_op_has_no_kernel_for_is_torchs_not_implemented_error(session, name, call):
    """PyTorch's '"<kernel>" not implemented for '<Type>'' is a NotImplementedError (gw.UnimplementedError here, from
    the server too), and an in-place op's result cast is checked before the kernel's dtype, as PyTorch's order."""
    _same_outcome(call, session)


def _ones(lib, *shape, dtype="float32"):
    return lib.ones(*shape, dtype=getattr(lib, dtype))


# products of two dtypes: refused at the call, in the words of the kernel torch's CPU build reaches (it promotes
# elementwise ops only); einsum refuses a pair that sums a subscript out, and promotes one that only multiplies
MIXED_PRODUCTS = {
    "addmm-self": lambda lib: lib.addmm(_ones(lib, 2, 4, dtype="float64"), _ones(lib, 2, 3), _ones(lib, 3, 4)),
    "addmm-mat2": lambda lib: lib.addmm(_ones(lib, 2, 4), _ones(lib, 2, 3), _ones(lib, 3, 4, dtype="float64")),
    "addmm-mat1-long": lambda lib: lib.addmm(_ones(lib, 2, 4), _ones(lib, 2, 3, dtype="int64"), _ones(lib, 3, 4)),
    "addmv-self": lambda lib: lib.addmv(_ones(lib, 2, dtype="float64"), _ones(lib, 2, 3), _ones(lib, 3)),
    "addmv-vec": lambda lib: lib.addmv(_ones(lib, 2), _ones(lib, 2, 3), _ones(lib, 3, dtype="float64")),
    "baddbmm-self": lambda lib: lib.baddbmm(_ones(lib, 1, 2, 4, dtype="float64"), _ones(lib, 1, 2, 3), _ones(lib, 1, 3, 4)),
    "baddbmm-batch1": lambda lib: lib.baddbmm(_ones(lib, 1, 2, 4), _ones(lib, 1, 2, 3, dtype="float64"), _ones(lib, 1, 3, 4)),
    "addbmm-batch2": lambda lib: lib.addbmm(_ones(lib, 2, 4), _ones(lib, 1, 2, 3), _ones(lib, 1, 3, 4, dtype="float64")),
    "addbmm-batch1": lambda lib: lib.addbmm(_ones(lib, 2, 4), _ones(lib, 1, 2, 3, dtype="float64"), _ones(lib, 1, 3, 4)),
    "inner": lambda lib: lib.inner(_ones(lib, 2, 3), _ones(lib, 4, 3, dtype="float64")),
    "linalg.cross": lambda lib: lib.linalg.cross(_ones(lib, 3), _ones(lib, 3, dtype="float64")),
    "multi_dot": lambda lib: lib.linalg.multi_dot([_ones(lib, 2, 3), _ones(lib, 3, 4), _ones(lib, 4, 2, dtype="float64")]),
    "vecdot": lambda lib: lib.linalg.vecdot(_ones(lib, 3), _ones(lib, 3, dtype="float64")),
    "cdist": lambda lib: lib.cdist(_ones(lib, 2, 3, dtype="float64"), _ones(lib, 4, 3)),
    "tensordot": lambda lib: lib.tensordot(_ones(lib, 2, 3, dtype="int64"), _ones(lib, 3, 4), 1),
    "einsum-matmul": lambda lib: lib.einsum("ij,jk->ik", _ones(lib, 2, 3), _ones(lib, 3, 4, dtype="float64")),
    "einsum-row-sums": lambda lib: lib.einsum("ij,ij->i", _ones(lib, 2, 3, dtype="float64"), _ones(lib, 2, 3)),
    "einsum-ellipsis": lambda lib: lib.einsum("...j,jk", _ones(lib, 2, 2, 3, dtype="int64"), _ones(lib, 3, 4)),
    "einsum-three": lambda lib: lib.einsum("i,i,i->", _ones(lib, 3), _ones(lib, 3, dtype="float64"), _ones(lib, 3)),
}
PROMOTED_PRODUCTS = {
    "einsum-outer": lambda lib: lib.einsum("i,j->ij", _ones(lib, 2), _ones(lib, 3, dtype="float64")),
    "einsum-elementwise": lambda lib: lib.einsum("ij,ij->ij", _ones(lib, 2, 3, dtype="float64"), _ones(lib, 2, 3)),
    "outer": lambda lib: lib.outer(_ones(lib, 2), _ones(lib, 3, dtype="float64")),
    "inner-0d": lambda lib: lib.inner(lib.tensor(2.0), _ones(lib, 3, dtype="float64")),
}


@pytest.mark.parametrize("name", sorted(MIXED_PRODUCTS))
def test_a_product_of_two_dtypes_is_refused_at_the_call_as_torch(session, name):
    with pytest.raises(RuntimeError) as theirs:
        MIXED_PRODUCTS[name](torch)
    with pytest.raises(gw.InvalidArgumentError) as ours:
        MIXED_PRODUCTS[name](gw)  # (no sync: refused where it is called)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", sorted(PROMOTED_PRODUCTS))
def test_a_product_torch_promotes_is_promoted(session, name):
    ours, theirs = PROMOTED_PRODUCTS[name](gw), PROMOTED_PRODUCTS[name](torch)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_under_autocast_the_inputs_are_cast_first_then_checked_as_torch(session):
    """autocast casts float32 inputs (not float64 ones) to its dtype before the op: float32 products run in bfloat16,
    and a float64 operand beside them is still refused, as torch's."""
    with gw.autocast("cpu", dtype=gw.bfloat16), torch.autocast("cpu", dtype=torch.bfloat16):
        assert gw.addmm(_ones(gw, 2, 4), _ones(gw, 2, 3), _ones(gw, 3, 4)).dtype == gw.bfloat16
        with pytest.raises(RuntimeError) as theirs:
            torch.addmm(_ones(torch, 2, 4), _ones(torch, 2, 3, dtype="float64"), _ones(torch, 3, 4))
        with pytest.raises(gw.InvalidArgumentError) as ours:
            gw.addmm(_ones(gw, 2, 4), _ones(gw, 2, 3, dtype="float64"), _ones(gw, 3, 4))
    assert str(ours.value) == str(theirs.value)  # "mat1 and mat2 must have the same dtype, but got Double and BFloat16"


def _layer_cases():
    """(name, f(lib)) for linear, the convolutions, the norms, prelu and bilinear over two or three dtypes."""
    f = lambda lib: lib.nn.functional  # noqa: E731
    cases = {}
    for i, w, b in [("float64", "float32", None), ("float64", "float32", "float32"), ("float32", "float32", "float64"),
                    ("float32", "float64", "float32"), ("float16", "float32", None), ("int64", "float32", None)]:
        cases[f"linear-{i}-{w}-{b}"] = lambda lib, i=i, w=w, b=b: f(lib).linear(
            _ones(lib, 4, 2, 3, dtype=i), _ones(lib, 4, 3, dtype=w), None if b is None else _ones(lib, 4, dtype=b))
    for name, x, weight in [("conv1d", (1, 2, 5), (3, 2, 2)), ("conv2d", (1, 2, 5, 5), (3, 2, 2, 2)), ("conv3d", (1, 2, 4, 4, 4), (3, 2, 2, 2, 2)),
                            ("conv_transpose2d", (1, 2, 5, 5), (2, 3, 2, 2)), ("conv_transpose3d", (1, 2, 3, 3, 3), (2, 3, 2, 2, 2))]:
        for i, w, b in [("float64", "float32", None), ("float32", "float64", None), ("float32", "float32", "float64")]:
            cases[f"{name}-{i}-{w}-{b}"] = lambda lib, name=name, x=x, weight=weight, i=i, w=w, b=b: getattr(f(lib), name)(
                _ones(lib, *x, dtype=i), _ones(lib, *weight, dtype=w), None if b is None else _ones(lib, 3, dtype=b))
    for i, w, b in [("float64", "float32", "float32"), ("float32", "float64", "float64"), ("float32", "float32", "float64"),
                    ("bfloat16", "float32", "float32"), ("bfloat16", "float32", "bfloat16"), ("float16", "float16", "float32")]:
        affine = lambda lib, n, w=w, b=b: (_ones(lib, n, dtype=w), _ones(lib, n, dtype=b))  # noqa: E731
        cases[f"layer_norm-{i}-{w}-{b}"] = lambda lib, i=i, affine=affine: f(lib).layer_norm(_ones(lib, 2, 3, dtype=i), (3,), *affine(lib, 3))
        cases[f"group_norm-{i}-{w}-{b}"] = lambda lib, i=i, affine=affine: f(lib).group_norm(_ones(lib, 2, 4, 3, dtype=i), 2, *affine(lib, 4))
        cases[f"batch_norm-{i}-{w}-{b}"] = lambda lib, i=i, affine=affine: f(lib).batch_norm(
            _ones(lib, 2, 4, dtype=i), None, None, *affine(lib, 4), training=True)
        cases[f"instance_norm-{i}-{w}-{b}"] = lambda lib, i=i, affine=affine: f(lib).instance_norm(
            _ones(lib, 2, 4, 3, dtype=i), None, None, *affine(lib, 4))
    cases["batch_norm-stats-float32-float64"] = lambda lib: f(lib).batch_norm(
        _ones(lib, 2, 4), _ones(lib, 4, dtype="float64"), _ones(lib, 4, dtype="float64"), training=False)
    cases["prelu"] = lambda lib: f(lib).prelu(_ones(lib, 2, 3, dtype="float64"), _ones(lib, 1))
    cases["bilinear-bias"] = lambda lib: f(lib).bilinear(_ones(lib, 2, 3), _ones(lib, 2, 3), _ones(lib, 4, 3, 3), _ones(lib, 4, dtype="float64"))
    return cases


LAYER_CASES = _layer_cases()


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layers_of_two_dtypes_are_refused_or_run_as_torchs(session, name):
    """Refused at the call with torch's words (a half-precision input beside float32 norm parameters runs, in the
    input's dtype, as torch's "mixed dtype" CPU kernels)."""
    try:
        theirs = LAYER_CASES[name](torch)
    except RuntimeError as error:
        with pytest.raises(gw.InvalidArgumentError) as ours:
            LAYER_CASES[name](gw)
        assert str(ours.value) == str(error)
    else:
        ours = LAYER_CASES[name](gw)
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.float().numpy(), theirs.float().numpy(), rtol=1e-2, atol=1e-2)


def test_float64_data_into_a_float32_model_is_refused_as_torch(session):
    data = np.random.default_rng(0).standard_normal((8, 3))  # float64, as NumPy makes it
    model = gw.nn.Linear(3, 2, session=session)
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.Linear(3, 2)(torch.tensor(data))
    with pytest.raises(gw.InvalidArgumentError) as ours:
        model(session.tensor(data))
    assert str(ours.value) == str(theirs.value)  # "mat1 and mat2 must have the same dtype, but got Double and Float"
    assert model(session.tensor(data).float()).shape == (8, 2)


def _loss_cases():
    """(name, f(lib)) for the losses whose two-dtype inputs torch refuses, or keeps in one of their dtypes."""
    f = lambda lib: lib.nn.functional  # noqa: E731
    rng = np.random.default_rng(3)
    x, p, w = rng.standard_normal((4, 3)), rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0.5, 2.0, 3)

    def t(lib, values, dtype):
        return lib.tensor(values.astype(dtype))

    cases = {}
    for a, b in (("float32", "float64"), ("float64", "float32")):
        cases[f"binary_cross_entropy-{a}-{b}"] = lambda lib, a=a, b=b: f(lib).binary_cross_entropy(t(lib, p, a), t(lib, p[::-1].copy(), b))
        cases[f"binary_cross_entropy_with_logits-{a}-{b}"] = lambda lib, a=a, b=b: f(lib).binary_cross_entropy_with_logits(t(lib, x, a), t(lib, p, b))
        cases[f"nll_loss-weight-{a}-{b}"] = lambda lib, a=a, b=b: f(lib).nll_loss(t(lib, x, a), lib.tensor([0, 2, 1, 1]), weight=t(lib, w, b))
        cases[f"cross_entropy-weight-{a}-{b}"] = lambda lib, a=a, b=b: f(lib).cross_entropy(t(lib, x, a), lib.tensor([0, 2, 1, 1]), weight=t(lib, w, b))
        cases[f"huber_loss-{a}-{b}"] = lambda lib, a=a, b=b: f(lib).huber_loss(t(lib, x, a), t(lib, p, b))
        cases[f"soft_margin_loss-{a}-{b}"] = lambda lib, a=a, b=b: f(lib).soft_margin_loss(t(lib, x, a), t(lib, np.sign(p - 0.5), b))
    cases["binary_cross_entropy-weight-float64"] = lambda lib: f(lib).binary_cross_entropy(
        t(lib, p, "float32"), t(lib, p[::-1].copy(), "float32"), weight=t(lib, w, "float64"))
    cases["binary_cross_entropy_with_logits-pos_weight-float64"] = lambda lib: f(lib).binary_cross_entropy_with_logits(
        t(lib, x, "float32"), t(lib, p, "float32"), pos_weight=t(lib, w, "float64"), weight=t(lib, w, "float64"))
    return cases


LOSS_CASES = _loss_cases()


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_losses_of_two_dtypes_are_refused_or_kept_in_torchs_dtype(session, name):
    try:
        theirs = LOSS_CASES[name](torch)
    except RuntimeError as error:
        with pytest.raises(gw.InvalidArgumentError) as ours:
            LOSS_CASES[name](gw)
        assert str(ours.value) == str(error)  # "Found dtype Double but expected Float", ...
    else:
        ours = LOSS_CASES[name](gw)
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)


# --- the dtype objects, on tensors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "complex64", "uint8", "int8", "int16", "int32", "int64", "bool"])
def test_a_tensors_dtype_is_the_sdks_object_and_reads_as_torchs(session, name):
    ours = session.zeros(2, dtype=getattr(gw, name))
    theirs = torch.zeros(2, dtype=getattr(torch, name))
    assert ours.dtype is getattr(gw, name) and repr(ours.dtype) == repr(theirs.dtype)
    assert (ours.dtype.is_floating_point, ours.dtype.is_complex, ours.dtype.is_signed, ours.dtype.itemsize) == (
        theirs.dtype.is_floating_point, theirs.dtype.is_complex, theirs.dtype.is_signed, theirs.dtype.itemsize)
    assert ours.to(ours.dtype).dtype is ours.dtype and session.zeros(1, dtype=str(ours.dtype)).dtype is ours.dtype
    assert ours.numpy().dtype == ours.dtype  # (the NumPy dtype it stands for)


def test_messages_that_name_a_dtype_name_it_as_torch(session):
    for mask_dtype in ("int64", "float32", "float16", "uint8"):
        with pytest.raises(RuntimeError) as theirs:
            torch.ones(2).masked_fill(torch.ones(2, dtype=getattr(torch, mask_dtype)), 0)
        with pytest.raises(gw.InvalidArgumentError) as ours:
            session.ones(2).masked_fill(session.ones(2, dtype=getattr(gw, mask_dtype)), 0)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError) as theirs:
        torch.fft.fftfreq(4, dtype=torch.int64)
    with pytest.raises(gw.InvalidArgumentError) as ours:
        gw.fft.fftfreq(4, dtype=gw.int64, session=session)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match=r"desired dtype=torch\.int64$"):
        gw.nn.Linear(2, 2, session=session).to(gw.int64)
    with pytest.raises(TypeError, match=r"desired dtype=torch\.int64$"):
        torch.nn.Linear(2, 2).to(torch.int64)
