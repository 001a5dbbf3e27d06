"""float32 erf on NumPy arrays (``loops.erf``, a compiled polynomial loop) against SciPy's in float64 and PyTorch.

The reference is ``scipy.special.erf`` of each input's float64, rounded to float32 (SciPy's own float32 erf is that
exactly). Over every float32 in [0, 4.5] the loop is within one ulp of it (9 inputs of about 1.1e9 are one ulp away);
the tests check every 97th bit pattern and the edges, so they run in a few seconds.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import scipy.special
import torch

from gradwire_server.engine import backend

pytest.importorskip("numba")

ONE = np.float32(3.919205904006958)  # the least float32 whose erf rounds to 1.0
SPLIT = np.float32(2.25)  # where the loop changes polynomial


def _ulps(a, b):
    """|a - b| in float32 ulps (bit patterns; both of one sign, or zeros)."""
    return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))


def _reference(x):
    return scipy.special.erf(x.astype(np.float64)).astype(np.float32)


def _around(value, n=16):
    """The n float32s either side of ``value`` and itself."""
    bits = np.float32(value).view(np.int32)
    return np.arange(bits - n, bits + n + 1, dtype=np.int32).view(np.float32)


EDGES = np.concatenate([
    np.arange(0, 64, dtype=np.int32).view(np.float32),  # 0 and the least denormals
    np.arange(0x007FFFC0, 0x00800040, dtype=np.int32).view(np.float32),  # the denormals' top, the least normals
    _around(SPLIT), _around(ONE), _around(1.0), _around(0.5), _around(2.0), _around(4.5),
    np.array([1e-30, 1e-20, 1e-10, 1e-5, 1e-3, 0.1, 3.0, 3.9, 3.92, 4.0, 6.0, 10.0, 1e10, 3.4e38], np.float32),
])


def test_within_one_ulp_of_the_float64_erf_on_a_stride_of_every_float32_to_4_5():
    top = np.float32(4.5).view(np.int32)
    x = np.concatenate([np.arange(0, top + 1, 97, dtype=np.int32).view(np.float32), EDGES])
    ours, ref = backend.erf(np, x), _reference(x)
    assert ours.dtype == np.float32 and ours.shape == x.shape
    ulps = _ulps(ours, ref)
    assert ulps.max() <= 1, f"{ulps.max()} ulps at x = {x[ulps.argmax()]!r}"
    assert np.count_nonzero(ulps) <= 1e-6 * x.size  # nearly always the rounded float64 erf itself
    assert np.array_equal(ours[-EDGES.size:], scipy.special.erf(EDGES))  # at the edges, SciPy's answer exactly
    assert np.array_equal(ours[x >= ONE], np.ones(np.count_nonzero(x >= ONE), np.float32))


def test_odd_bitwise():
    top = np.float32(4.5).view(np.int32)
    x = np.concatenate([np.arange(0, top + 1, 97, dtype=np.int32).view(np.float32), EDGES])
    assert np.array_equal(backend.erf(np, -x).view(np.int32), (-backend.erf(np, x)).view(np.int32))


def test_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 1e-40, -1e-40, 1e-38], np.float32)
    ours = backend.erf(np, x)
    assert ours[:4].tolist() == [0.0, 0.0, 1.0, -1.0] and np.signbit(ours[:4]).tolist() == [False, True, False, True]
    assert np.isnan(ours[4:6]).all()
    tiny = x[6:].astype(np.float64)
    assert np.array_equal(ours[6:], (2 / np.sqrt(np.pi) * tiny).astype(np.float32))  # erf x = 2x/sqrt(pi) there


def test_any_shape_and_layout():
    x = np.random.default_rng(0).uniform(-5, 5, (4, 6, 10, 8)).astype(np.float32)
    before = x.copy()
    for view in (x[:, ::2, 3:, ::-3].transpose(2, 0, 3, 1), x[1, :, :, 2], np.asfortranarray(x), x.reshape(-1)[::7]):
        ours = backend.erf(np, view)
        assert ours.shape == view.shape and ours.dtype == np.float32
        assert _ulps(np.abs(ours), np.abs(_reference(view))).max() <= 1
    assert np.array_equal(x, before)  # the input is untouched
    frozen = x.copy()
    frozen.setflags(write=False)
    for other in (frozen, np.broadcast_to(x[0, 0, 0], (3, 8)), np.empty((0, 3), np.float32)):  # read-only, 0 strides, empty
        assert np.array_equal(backend.erf(np, other), scipy.special.erf(other))
    assert backend.erf(np, np.asfortranarray(x)).flags.f_contiguous  # the memory order SciPy's ufunc keeps
    for scalar in (np.float32(0.75), np.array(0.75, np.float32)):  # a scalar, as SciPy's ufunc answers a 0-d input
        assert type(backend.erf(np, scalar)) is np.float32 and backend.erf(np, scalar) == scipy.special.erf(np.float32(0.75))


def test_other_inputs_go_to_scipy_unchanged():
    loops = backend.host_loops(np)
    x = np.random.default_rng(1).uniform(-5, 5, 1000)
    for other in (x, x.astype(np.float16), x.astype(ml_dtypes.bfloat16), x.astype(np.complex64), x.astype(">f4"), 0.5,
                  np.float64(0.5)):
        assert loops.erf(other) is None, type(other)
    assert np.array_equal(backend.erf(np, x).view(np.int64), scipy.special.erf(x).view(np.int64))  # float64: SciPy's, bitwise
    half = x.astype(np.float16)
    assert np.array_equal(backend.erf(np, half), scipy.special.erf(half).astype(np.float16))
    assert backend.erf(np, half).dtype == np.float16


def test_without_the_loops_float32_is_scipys(monkeypatch):
    monkeypatch.setattr(backend, "_loops", False)  # as where Numba is not installed
    x = np.linspace(-5, 5, 1001, dtype=np.float32)
    assert np.array_equal(backend.erf(np, x), scipy.special.erf(x))


def _inputs():
    rng = np.random.default_rng(2)
    return np.concatenate([np.linspace(-8, 8, 20001, dtype=np.float32), (2 * rng.standard_normal(20000)).astype(np.float32)])


@pytest.mark.parametrize("op, theirs, atol", [
    ("erf", torch.erf, 1e-7),
    # gelu's 0.5 x (1 + erf(x / sqrt 2)) in float32 loses digits to the cancellation in 1 + erf for negative x (torch's
    # formula as much as the engine's; either is up to 4.5e-7 from gelu in float64 there), and so differs from torch's
    # by up to 4.8e-7 absolute; with SciPy's erf it differed just the same (the same floats: see the test below)
    ("gelu", torch.nn.functional.gelu, 1e-6),
])
def test_the_engines_op_and_its_gradient_match_torchs(engine, op, theirs, atol):
    values = _inputs()
    x = engine.tensor(values, requires_grad=True)
    y = engine.apply(op, x)
    y.backward(engine.tensor(np.ones_like(values)))
    t = torch.tensor(values, requires_grad=True)
    t_y = theirs(t)
    t_y.backward(torch.ones_like(t))
    assert y.numpy().dtype == np.float32 and x.grad.numpy().dtype == np.float32
    np.testing.assert_allclose(y.numpy(), t_y.detach().numpy(), rtol=1e-6, atol=atol)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=atol)


@pytest.mark.parametrize("op", ["erf", "gelu"])
def test_the_engines_op_and_its_gradient_are_as_with_scipys_erf(engine, monkeypatch, op):
    values = _inputs()

    def run():
        x = engine.tensor(values, requires_grad=True)
        y = engine.apply(op, x)
        y.backward(engine.tensor(np.ones_like(values)))
        return y.numpy(), x.grad.numpy()

    ours = run()
    monkeypatch.setattr(backend, "_loops", False)
    scipys = run()
    for a, b in zip(ours, scipys):
        assert np.array_equal(a, b)
