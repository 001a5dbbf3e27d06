"""PyTorch's top-level factories (gw.tensor, gw.zeros, gw.linspace, gw.eye, ...) in the only open session, against torch."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

_LINSPACES = [(0, 1, 7), (-3.5, 2.25, 11), (-1, 1, 100), (0.1, 0.9, 33), (3, 17, 5), (2.74, -1.91, 195), (-9.18, 1.89, 123), (1, 2, 1), (5, 5, 0)]


@pytest.mark.parametrize("args", _LINSPACES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32"])
def test_linspace_is_torchs_to_the_bit(session, args, dtype):
    ours, theirs = gw.linspace(*args, dtype=dtype), torch.linspace(*args, dtype=getattr(torch, dtype))
    assert ours.dtype == np.dtype(dtype) and ours.tolist() == theirs.tolist()


def test_linspace_in_float16_is_within_a_rounding_of_torchs(session):
    ours, theirs = gw.linspace(-9.18, 1.89, 123, dtype="float16"), torch.linspace(-9.18, 1.89, 123, dtype=torch.float16)
    np.testing.assert_allclose(ours.numpy().astype(np.float32), theirs.numpy().astype(np.float32), rtol=1e-3, atol=2e-3)


def test_top_level_factories_use_the_open_session_as_torch_does(session):
    for ours, theirs in ((gw.tensor([1, 2]), torch.tensor([1, 2])), (gw.tensor(2.5), torch.tensor(2.5)),
                         (gw.zeros(2, 3), torch.zeros(2, 3)), (gw.ones((2,), dtype=gw.float64), torch.ones((2,), dtype=torch.float64)),
                         (gw.full((2, 2), 7), torch.full((2, 2), 7)), (gw.arange(5), torch.arange(5)), (gw.arange(0, 1, 0.25), torch.arange(0, 1, 0.25)),
                         (gw.eye(3), torch.eye(3)), (gw.eye(2, 4, dtype="int64"), torch.eye(2, 4, dtype=torch.int64)),
                         (gw.empty(2, 2), torch.zeros(2, 2))):
        assert ours.tolist() == theirs.tolist() and ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    x = gw.randn(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf and gw.is_tensor(x) and not gw.is_tensor(np.ones(1)) and gw.numel(gw.rand(2, 5)) == 10
    assert gw.as_tensor(x) is x and gw.as_tensor([1.0]).tolist() == [1.0]
    gw.manual_seed(7)
    first = gw.rand(4).tolist()
    gw.manual_seed(7)
    assert gw.rand(4).tolist() == first
    other = gw.connect()  # two sessions open: say which
    try:
        with pytest.raises(RuntimeError, match="2 gradwire sessions are open: pass session="):
            gw.zeros(2)
        assert gw.zeros(2, session=other).tolist() == [0.0, 0.0]
    finally:
        other.close()


def test_without_a_session_the_factories_say_so(monkeypatch):
    import weakref

    monkeypatch.setattr(gw.session, "_open_sessions", weakref.WeakSet())  # as in a process with none open
    with pytest.raises(RuntimeError, match="no gradwire session is open: call gw.connect"):
        gw.tensor([1.0])


def test_randint_and_randperm_draw_from_the_session_generator(session):
    gw.manual_seed(3)
    values = gw.randint(3, 7, (2000,))
    assert values.dtype == gw.int64 and values.shape == (2000,) and set(values.tolist()) == {3, 4, 5, 6}
    assert set(gw.randint(4, (3, 5)).numpy().ravel()) <= {0, 1, 2, 3} and gw.randint(4, (3, 5)).shape == (3, 5)
    assert session.randint(-2, 2, (10,), dtype=gw.int32).dtype == gw.int32
    gw.manual_seed(5)
    order = gw.randperm(50).tolist()
    assert sorted(order) == list(range(50)) and order != list(range(50))
    gw.manual_seed(5)
    assert gw.randperm(50).tolist() == order
    with pytest.raises(RuntimeError) as theirs:
        torch.randint(5, 5, (2,))
    with pytest.raises(gw.InvalidArgumentError) as ours:
        gw.randint(5, 5, (2,))
    assert str(ours.value) == str(theirs.value)


def test_from_numpy_copies_the_array_in_its_dtype(session):
    array = np.arange(6, dtype=np.int32).reshape(2, 3)
    t = gw.from_numpy(array)
    array[0, 0] = 9  # torch's would share memory; a remote tensor holds a copy
    assert t.dtype == gw.int32 and t.tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(TypeError, match="expected np.ndarray"):
        gw.from_numpy([1, 2])


def test_contiguous_shares_memory_only_where_it_already_was_contiguous(session):
    x, t = session.tensor(np.arange(6.0).reshape(2, 3)), torch.arange(6.0, dtype=torch.float64).reshape(2, 3)
    for v in (x, t):
        v.contiguous()[0, 0] = 7.0  # the same memory
        v.T.contiguous()[0, 1] = -1.0  # a copy
    assert x.tolist() == t.tolist() == [[7.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"])
@pytest.mark.parametrize("length", [0, 1, 2, 7, 16])
@pytest.mark.parametrize("periodic", [True, False])
def test_window_functions_match_torch(session, name, length, periodic):
    ours, theirs = getattr(gw, name)(length, periodic), getattr(torch, name)(length, periodic)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == gw.float32
    assert np.allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
    assert getattr(gw, name)(length, periodic, dtype=gw.float64).dtype == gw.float64


def test_isin_as_torchs(session):
    cases = [([1, 2, 3, 4], [2, 4], {}), ([[1, 2], [3, 4]], [2, 3], {"invert": True}), ([1.5, 2.0], [2], {})]
    for elements, tests, kwargs in cases:
        ours = gw.isin(session.tensor(elements), session.tensor(tests), **kwargs)
        assert ours.tolist() == torch.isin(torch.tensor(elements), torch.tensor(tests), **kwargs).tolist()
    assert gw.isin(3, session.tensor([2, 3])).tolist() is True


@pytest.mark.parametrize("kwargs", [{}, {"spacing": 2.0}, {"edge_order": 2}, {"dim": 1}, {"dim": (0, 1), "spacing": [1.0, 0.5]}, {"dim": 0, "coords": True}],
                         ids=["default", "spacing", "edge2", "dim1", "per-dim", "coordinates"])
def test_gradient_matches_torch_with_its_own_gradient(session, kwargs):
    kwargs = dict(kwargs)
    a = np.random.default_rng(5).standard_normal((4, 5)).astype(np.float32)
    ours_kwargs, theirs_kwargs = dict(kwargs), dict(kwargs)
    if ours_kwargs.pop("coords", False):
        coords = np.array([0.0, 1.0, 3.0, 4.5], np.float32)
        theirs_kwargs.pop("coords")
        ours_kwargs["spacing"], theirs_kwargs["spacing"] = (session.tensor(coords),), (torch.tensor(coords),)
    x, t = session.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours, theirs = gw.gradient(x, **ours_kwargs), torch.gradient(t, **theirs_kwargs)
    assert len(ours) == len(theirs)
    for p, q in zip(ours, theirs):
        assert np.allclose(p.detach().numpy(), q.detach().numpy(), atol=1e-6)
    sum((p * p).sum() for p in ours).backward(), sum((q * q).sum() for q in theirs).backward()
    assert np.allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-5)


def test_vander_and_gradients_refusals_as_torchs(session):
    v = np.array([0.5, -1.0, 2.0, 0.0], np.float32)
    for kwargs in ({}, {"N": 3}, {"N": 5, "increasing": True}):
        assert np.allclose(gw.vander(session.tensor(v), **kwargs).numpy(), torch.vander(torch.tensor(v), **kwargs).numpy())
    for bad in (lambda m: m.gradient(m.tensor([1.0])), lambda m: m.gradient(m.tensor([1.0, 2.0]), edge_order=2)):
        with pytest.raises(RuntimeError) as theirs:
            bad(torch)
        with pytest.raises(gw.InvalidArgumentError) as ours:
            bad(gw)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("call", ["ones((2, -1))", "rand(-2)", "full((-1,), 1.0)", "empty(-1)", "randn(3, -1, -2)", "eye(2, -1)",
                                  "eye(-1, 2)", "arange(0, 10, 0)", "arange(10, 0, 1)", "linspace(0, 1, -1)", "logspace(0, 1, -1)"])
def test_factories_refuse_bad_sizes_in_torchs_words(session, call):
    with pytest.raises(RuntimeError) as theirs:
        eval("torch." + call)
    with pytest.raises(gw.InvalidArgumentError) as ours:
        eval("gw." + call)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("data, dtype", [
    ([-1], "uint8"), ([[-1, 2], [3, -255]], "uint8"), ([-300], "uint8"), ([-1.5], "uint8"), ([1.5], "uint8"), (2**63, None), ([2**63], None),
    (-2**63 - 1, None), (2**64, None), (2**63 - 1, None), ([1, None], None), (None, None), ([1, "a"], None), ("abc", None), ({1: 2}, None),
    ([[1, 2], [3]], None), ([[[1, 2], [3, 4]], [[1, 2], [3]]], None), ([[1], "a"], None),
])
def test_tensor_from_python_data_as_torch(session, data, dtype):
    """torch.tensor's conversions: a negative int wraps into uint8 (-1 is 255) where other overflows are refused; an int
    past int64 is refused (it wrapped to -2**63); strings, None, dicts and ragged lists are refused at the call, in
    torch's words (they went to the server as object or string arrays)."""
    try:
        expected = torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None)
    except (TypeError, ValueError, RuntimeError) as error:
        with pytest.raises(type(error) if isinstance(error, (TypeError, ValueError)) else gw.InvalidArgumentError) as ours:
            session.tensor(data, dtype=dtype)
        assert str(ours.value) == str(error)
        return
    result = session.tensor(data, dtype=dtype)
    assert result.tolist() == expected.tolist() and result.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))


@pytest.mark.parametrize("values", [np.array([1, 2], dtype=object), np.array(["a"])])
def test_tensor_from_an_array_of_objects_or_strings_is_refused_as_torch(session, values):
    with pytest.raises(TypeError) as theirs:
        torch.tensor(values)
    with pytest.raises(TypeError) as ours:
        session.tensor(values)
    assert str(ours.value) == str(theirs.value)


def test_session_logspace_as_torch(session):
    assert session.logspace(0, 2, 3).tolist() == torch.logspace(0, 2, 3).tolist()
    assert session.logspace(0, 2, 3, base=2, dtype=gw.float64).tolist() == torch.logspace(0, 2, 3, base=2, dtype=torch.float64).tolist()


@pytest.mark.parametrize("make", [lambda s: s.linspace(0, 1, 2**40), lambda s: s.linspace(0, 1, 2**63), lambda s: s.logspace(0, 1, 2**40),
                                  lambda s: gw.hann_window(2**40, session=s), lambda s: s.tril_indices(2**20, 2**20),
                                  lambda s: s.tensor([2, 10**12]).repeat_interleave(), lambda s: s.ones(2).repeat_interleave(s.tensor([3, 10**12])),
                                  lambda s: gw.nn.functional.interpolate(s.ones(1, 1, 4, 4), size=(10**6, 10**6)),
                                  lambda s: gw.nn.functional.interpolate(s.ones(1, 1, 4), scale_factor=10**12, mode="linear"),
                                  lambda s: gw.nn.functional.pad(s.ones(1, 1, 4), (10**12, 0), mode="replicate"),
                                  lambda s: gw.nn.functional.affine_grid(s.zeros(1, 2, 3), (1, 1, 10**6, 10**6), align_corners=False)],
                         ids=["linspace", "linspace-2**63", "logspace", "hann_window", "tril_indices", "repeat_interleave-counts",
                              "repeat_interleave-repeats", "interpolate-size", "interpolate-scale", "pad-replicate", "affine_grid"])
def test_a_factory_computed_by_the_client_is_refused_past_the_servers_limits_before_it_is_computed(session, make):
    # the client computes these (or their index arrays) from numbers the user gives: past the server's
    # max_tensor_elements it must not try (linspace of 2**40 steps wanted 8 TiB of the client's memory; of 2**63, gave
    # an empty tensor; interpolate to 10**6 x 10**6 made index arrays the server would refuse to use)
    with pytest.raises(gw.ResourceExhaustedError, match="max_tensor_elements limit: (a|the output of) [a-z_]+( tensor)? of"):
        make(session)
    assert session.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]


def test_frombuffer_reads_a_buffer_as_torch(session):
    import array
    import warnings

    data = bytearray(range(16))
    calls = [lambda m: m.frombuffer(data, dtype=m.int32), lambda m: m.frombuffer(data, dtype=m.int32, count=2, offset=4),
             lambda m: m.frombuffer(data, dtype=m.int32, offset=20), lambda m: m.frombuffer(data, dtype=m.int32, count=5),
             lambda m: m.frombuffer(data, dtype=m.int32, offset=2), lambda m: m.frombuffer(bytearray(), dtype=m.int32),
             lambda m: m.frombuffer(data, dtype=m.int32, count=0), lambda m: m.frombuffer(array.array("f", [1.0, 2.0]), dtype=m.float32),
             lambda m: m.frombuffer(b"abcd", dtype=m.uint8)]
    for call in calls:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (torch warns that a bytes object is not writable)
            try:
                expected = call(torch)
            except ValueError as error:
                with pytest.raises(ValueError) as ours:
                    call(gw)
                assert str(ours.value) == str(error)
                continue
        got = call(gw)
        assert got.dtype == np.dtype(str(expected.dtype).removeprefix("torch.")) and got.tolist() == expected.tolist()
    assert gw.frombuffer(data, dtype=gw.float32, requires_grad=True).requires_grad
