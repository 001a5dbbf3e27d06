"""What a PyTorch training script does around the training itself: the process-wide switches at its top
(gw.backends, matmul precision, determinism, gw.compile), torch.random's functions, torch.cuda's helpers, and
checking results with gw.testing.assert_close, whose verdicts and messages are compared with torch's."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")


def _outcome(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return type(error), str(error)
    return None


def test_the_switches_a_script_sets_are_kept_and_read_back():
    assert gw.backends.cudnn.benchmark is False and gw.backends.cudnn.enabled is True
    gw.backends.cudnn.benchmark = True
    gw.backends.cuda.matmul.allow_tf32 = True
    assert gw.backends.cudnn.benchmark and gw.backends.cuda.matmul.allow_tf32
    assert gw.backends.mps.is_available() is torch.backends.mps.is_available() is False

    assert gw.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    gw.set_float32_matmul_precision("high")
    assert gw.get_float32_matmul_precision() == "high"
    with pytest.warns(UserWarning, match="'fast' is not one of|fast is not one of"):
        gw.set_float32_matmul_precision("fast")
    assert gw.get_float32_matmul_precision() == "high"
    gw.set_float32_matmul_precision("highest")

    gw.use_deterministic_algorithms(True, warn_only=True)
    assert gw.are_deterministic_algorithms_enabled() and gw.is_deterministic_algorithms_warn_only_enabled()
    gw.use_deterministic_algorithms(False)
    assert not gw.are_deterministic_algorithms_enabled()
    for bad in (lambda m: m.use_deterministic_algorithms("yes"), lambda m: m.use_deterministic_algorithms(True, warn_only=1)):
        assert _outcome(lambda: bad(gw)) == _outcome(lambda: bad(torch))

    threads = gw.get_num_threads()
    gw.set_num_threads(3)
    gw.set_num_interop_threads(2)  # torch allows this once per process, before any parallel work: not called on torch
    assert gw.get_num_threads() == 3 and gw.get_num_interop_threads() == 2
    gw.set_num_threads(threads)
    for bad in (lambda m: m.set_num_threads(0), lambda m: m.set_num_threads(-1)):
        theirs = _outcome(lambda: bad(torch))
        assert theirs is not None and _outcome(lambda: bad(gw)) == theirs
    assert _outcome(lambda: gw.set_num_interop_threads(0)) == (RuntimeError, "set_num_interop_threads expects a positive integer")

    assert repr(gw.get_default_device()) == repr(torch.get_default_device()) == "device(type='cpu')"
    gw.set_default_device("cuda")
    assert gw.get_default_device() == "cuda"
    gw.set_default_device(None)
    assert gw.get_default_device() == "cpu"
    with pytest.raises(gw.InvalidArgumentError, match="Expected one of cpu, cuda device type"):
        gw.set_default_device("tpu")


def test_compile_returns_the_model_and_checks_its_arguments(session):
    model = gw.nn.Linear(3, 2)
    assert gw.compile(model) is model
    assert gw.compile(mode="max-autotune")(model) is model

    @gw.compile
    def double(x):
        return x * 2

    assert double(session.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]
    for bad in (lambda m: m.compile(model, mode="fast"), lambda m: m.compile(model, mode="default", options={}),
                lambda m: m.compile(3)):
        theirs = _outcome(lambda: bad(torch))
        assert theirs is not None and _outcome(lambda: bad(gw)) == theirs


def test_typename_names_tensors_as_their_type_does(session):
    assert gw.typename(session.tensor([1.0])) == session.tensor([1.0]).type() == "gradwire.FloatTensor"
    x, t = session.tensor([1.5]), torch.tensor([1.5])
    for name in ("torch.DoubleTensor", "torch.LongTensor", "torch.HalfTensor"):
        assert str(x.type(name).dtype) == str(t.type(name).dtype)
    assert _outcome(lambda: x.type("torch.FooTensor")) == _outcome(lambda: t.type("torch.FooTensor"))
    assert gw.typename(3) == torch.typename(3) == "int"
    assert gw.typename(np.zeros(1)) == torch.typename(np.zeros(1))


def test_fork_rng_puts_the_stream_back(session):
    session.manual_seed(0)
    expected = session.rand(4).tolist()
    session.manual_seed(0)
    with gw.random.fork_rng():
        inside = session.rand(4).tolist()
        session.rand(100)
    assert inside == expected
    assert session.rand(4).tolist() == expected  # the draws inside the block left the stream where it was
    with gw.random.fork_rng(enabled=False):
        session.rand(4)
    assert session.rand(4).tolist() != expected
    gw.random.manual_seed(3)
    assert gw.random.initial_seed() == 3


def test_cuda_helpers_act_on_cuda_sessions_only(session):
    x = session.zeros(1000)
    assert gw.cuda.memory_allocated() == (x.numel() * 4 if session.device == "cuda" else 0)
    gw.cuda.synchronize()
    gw.cuda.empty_cache()
    session.manual_seed(1)
    first = session.rand(2).tolist()
    session.manual_seed(1)
    gw.cuda.manual_seed_all(5)  # reseeds only a CUDA session
    assert (session.rand(2).tolist() == first) is (session.device != "cuda")


# --- gw.testing.assert_close, against torch.testing.assert_close -------------------------------------------------

def _pairs():
    """(actual, expected, kwargs), as torch values: each is checked by both functions."""
    nan, inf = float("nan"), float("inf")
    T = torch.tensor
    return [
        (T([1.0, 2.0, 3.0]), T([1.0, 2.5, 3.0]), {}),
        (T([1.0, 2.0, 3.0]), T([1.0, 2.0, 3.0]) + 1e-7, {}),
        (T([1.0, 2.0]), T([1.0, 2.0], dtype=torch.float64), {}),
        (T([1.0, 2.0]), T([1.0, 2.0], dtype=torch.float64), {"check_dtype": False}),
        (T([1.0, 2.0], dtype=torch.float16), T([1.0, 2.01], dtype=torch.float64), {"check_dtype": False}),
        (T([1.0, 2.0, 3.0]), T([1.0, 2.0]), {}),
        (T([[1, 2], [3, 4]]), T([[1, 2], [3, 5]]), {}),
        (T([1, 2], dtype=torch.int32), T([1, 2]), {"check_dtype": False}),
        (T([1.0, nan]), T([1.0, nan]), {}),
        (T([1.0, nan]), T([1.0, nan]), {"equal_nan": True}),
        (T([inf]), T([-inf]), {}),
        (T([inf, 1.0]), T([inf, 1.0]), {}),
        (T(1.0), T(2.0), {}),
        (T(True), T(False), {}),
        (T([1.0, 2.0]), T([1.0, 2.001]), {"rtol": 0, "atol": 0}),
        (T([1.0, 2.0]), T([1.0, 3.0]), {"rtol": 0.5, "atol": 0.0}),
        (T([1.0, 2.0]), T([1.0, 3.0]), {"rtol": 0.1}),
        (T([1.0, 2.0]), T([1.0, 4.0]), {"msg": "custom"}),
        (T([1.0, 2.0]), T([1.0, 4.0]), {"msg": lambda m: "X" + m}),
        (torch.zeros(2, 3), torch.ones(2, 3), {}),
        (torch.zeros(0), torch.zeros(0), {}),
        ([T([1.0]), [T([2.0]), {"k": T([1.0, 1.0])}]], [T([1.0]), [T([2.0]), {"k": T([0.0, 1.0])}]], {}),
        ({"a": 1, "b": 2}, {"a": 1, "c": 2}, {}),
        ([1.0, 2.0], [1.0, 2.0, 3.0], {}),
        ((1, 2), [1, 2], {}),
        (1.0, 1.5, {}), (1, 1.0, {}), (1.0, 1.0 + 1e-9, {}), (nan, nan, {}), (nan, nan, {"equal_nan": True}),
        (None, None, {}), (None, 1, {}),
        ("a", "a", {}),
    ]


def _to_gradwire(value, session):
    if isinstance(value, torch.Tensor):
        return session.tensor(value.numpy())
    if isinstance(value, (list, tuple)):
        return type(value)(_to_gradwire(v, session) for v in value)
    if isinstance(value, dict):
        return {k: _to_gradwire(v, session) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", range(len(_pairs())))
def test_assert_close_gives_torchs_verdict_and_message(session, case):
    actual, expected, kwargs = _pairs()[case]
    theirs = _outcome(lambda: torch.testing.assert_close(actual, expected, **kwargs))
    ours = _outcome(lambda: gw.testing.assert_close(_to_gradwire(actual, session), _to_gradwire(expected, session), **kwargs))
    assert ours == theirs


def test_assert_close_compares_a_gradwire_result_with_torchs_directly(session):
    x = session.tensor([0.5, 1.5], requires_grad=True)
    t = torch.tensor([0.5, 1.5], requires_grad=True)
    (x.exp() * x).sum().backward()
    (t.exp() * t).sum().backward()
    gw.testing.assert_close(x.grad, t.grad)
    gw.testing.assert_close(x, t)  # a tensor that requires grad compares by value
    with pytest.raises(AssertionError, match=re.escape("Greatest absolute difference: 1.0 at index (1,)")):
        gw.testing.assert_close(x.grad, t.grad + torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol' must be either specified or omitted, but got no atol."):
        gw.testing.assert_close(x, t, rtol=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gw.testing.assert_close(session.tensor([0.0]), np.zeros(1, dtype=np.float32))  # no division warning


def test_a_script_that_turns_warnings_into_errors_still_gets_inf_and_nan_as_values(session):
    # the server runs in this process (start_server): its NumPy must not warn where torch gives inf or NaN
    x = session.tensor([0.0, 1.0, -1.0], requires_grad=True)
    t = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = x.log() + (x / 0) + x.atanh()
        ours.sum().backward()
        theirs = t.log() + (t / 0) + t.atanh()
        theirs.sum().backward()
        gw.testing.assert_close(ours, theirs, equal_nan=True)
        gw.testing.assert_close(x.grad, t.grad, equal_nan=True)
