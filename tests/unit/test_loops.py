"""The compiled loops (engine/loops.py) against the array-call paths they stand in for, and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradwire_server.engine import backend
from gradwire_server.engine import nn as engine_nn

pytest.importorskip("numba")

F = torch.nn.functional

POOLS = [  # (input shape, kernel_size, stride, padding)
    ((2, 3, 6, 6), 2, None, 0),  # tiles the input: the digits CNN's pooling
    ((2, 2, 7, 6), 3, 2, 1),  # overlapping, padded
    ((2, 5, 7), (2, 3), (1, 2), 0),  # unbatched, rectangular, overlapping
    ((1, 2, 5, 5), 3, 1, 1),  # every element in up to nine windows
    ((2, 2, 6, 9), 3, None, 0),
]


@pytest.fixture
def without_loops(monkeypatch):
    """Run the engine's array-call paths on NumPy, as where Numba is not installed."""

    def off():
        monkeypatch.setattr(backend, "_loops", False)

    return off


def _ties(shape, seed):
    """Values on a coarse grid: many windows hold their maximum twice or more."""
    return np.random.default_rng(seed).integers(-3, 3, shape).astype(np.float64)


def _torch_grad(x, g, kernel_size, stride, padding):
    xt = torch.from_numpy(x.copy()).requires_grad_()
    F.max_pool2d(xt, kernel_size, stride, padding).backward(torch.from_numpy(g))
    return xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel_size, stride, padding", POOLS)
def test_max_pool2d_grad_and_indices_match_the_array_path_and_torch(without_loops, shape, kernel_size, stride, padding, dtype):
    x = _ties(shape, 0).astype(dtype)
    ans = engine_nn.max_pool2d(np, x, kernel_size, stride, padding)
    g = np.random.default_rng(1).standard_normal(ans.shape).astype(dtype)
    compiled = engine_nn.max_pool2d_grad(np, g, ans, x, kernel_size, stride, padding)
    compiled_indices = engine_nn.max_pool2d_indices(np, x, kernel_size, stride, padding)
    without_loops()
    # overlapping windows add their gradients in another order: equal to rounding
    np.testing.assert_allclose(compiled, engine_nn.max_pool2d_grad(np, g, ans, x, kernel_size, stride, padding), rtol=1e-6)
    assert np.array_equal(compiled_indices, engine_nn.max_pool2d_indices(np, x, kernel_size, stride, padding))
    np.testing.assert_allclose(compiled, _torch_grad(x, g, kernel_size, stride, padding), rtol=1e-6)
    _, torch_indices = F.max_pool2d(torch.from_numpy(x), kernel_size, stride, padding, return_indices=True)
    assert np.array_equal(compiled_indices, torch_indices.numpy())


@pytest.mark.parametrize("shape, kernel_size, stride, padding", POOLS)
def test_a_window_holding_nan_passes_its_gradient_to_its_last_nan_as_torch_does(shape, kernel_size, stride, padding):
    x = _ties(shape, 2)
    flat = x.reshape(-1)
    flat[np.random.default_rng(3).choice(flat.size, flat.size // 5, replace=False)] = np.nan
    ans = engine_nn.max_pool2d(np, x, kernel_size, stride, padding)
    assert np.isnan(ans).any()
    g = np.random.default_rng(4).standard_normal(ans.shape)
    np.testing.assert_allclose(engine_nn.max_pool2d_grad(np, g, ans, x, kernel_size, stride, padding),
                               _torch_grad(x, g, kernel_size, stride, padding), rtol=1e-12)
    _, torch_indices = F.max_pool2d(torch.from_numpy(x), kernel_size, stride, padding, return_indices=True)
    assert np.array_equal(engine_nn.max_pool2d_indices(np, x, kernel_size, stride, padding), torch_indices.numpy())


def test_other_dtypes_take_the_array_path():
    x = np.arange(16, dtype=np.int32).reshape(1, 1, 4, 4)
    assert backend.host_loops(np).max_pool2d_indices(x, ((2, 2), (2, 2), (0, 0), (2, 2))) is None
    np.testing.assert_array_equal(engine_nn.max_pool2d_indices(np, x, 2), [[[[5, 7], [13, 15]]]])
    half = x.astype(np.float16)
    assert backend.host_loops(np).max_pool2d_grad(np.ones((1, 1, 2, 2), np.float16), half, ((2, 2), (2, 2), (0, 0), (2, 2))) is None


def test_the_loops_are_for_numpy_arrays_only():
    assert backend.host_loops(np) is not None
    assert backend.host_loops(object()) is None  # any other array module (CuPy) keeps its array calls
