"""The compiled loops (engine/loops.py) against the array-call paths they stand in for, and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradwire_server.engine import backend
from gradwire_server.engine import nn as engine_nn

pytest.importorskip("numba")

F = torch.nn.functional

POOLS = [  # (input shape, kernel_size, stride, padding, dilation, ceil_mode)
    ((2, 3, 6, 6), 2, None, 0, 1, False),  # tiles the input: the digits CNN's pooling
    ((2, 2, 7, 6), 3, 2, 1, 1, False),  # overlapping, padded
    ((2, 5, 7), (2, 3), (1, 2), 0, 1, False),  # unbatched, rectangular, overlapping
    ((1, 2, 5, 5), 3, 1, 1, 1, False),  # every element in up to nine windows
    ((2, 2, 6, 9), 3, None, 0, 1, False),
    ((2, 2, 7, 5), 2, None, 0, 1, True),  # kernel 2, ceil_mode: last windows of one row or column
    ((2, 2, 8, 7), 3, 2, 1, 1, True),  # padded, ceil_mode
    ((2, 2, 9, 8), 3, 2, 1, 2, False),  # dilated
    ((1, 3, 9, 10), (2, 3), (2, 1), (1, 1), (3, 2), True),  # all of it
]
POOL_IDS = [f"{shape}-k{k}-s{s}-p{p}-d{d}{'-ceil' if c else ''}" for shape, k, s, p, d, c in POOLS]


@pytest.fixture
def without_loops(monkeypatch):
    """Run the engine's array-call paths on NumPy, as where Numba is not installed."""

    def off():
        monkeypatch.setattr(backend, "_loops", False)

    return off


def _ties(shape, seed):
    """Values on a coarse grid: many windows hold their maximum twice or more."""
    return np.random.default_rng(seed).integers(-3, 3, shape).astype(np.float64)


def _torch_grad(x, g, *pool):
    xt = torch.from_numpy(x.copy()).requires_grad_()
    F.max_pool2d(xt, *pool).backward(torch.from_numpy(g))
    return xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel_size, stride, padding, dilation, ceil_mode", POOLS, ids=POOL_IDS)
def test_max_pool2d_grad_and_indices_match_the_array_path_and_torch(without_loops, shape, kernel_size, stride, padding, dilation, ceil_mode,
                                                                   dtype):
    pool = (kernel_size, stride, padding, dilation, ceil_mode)
    x = _ties(shape, 0).astype(dtype)
    ans = engine_nn.max_pool2d(np, x, *pool)
    g = np.random.default_rng(1).standard_normal(ans.shape).astype(dtype)
    compiled = engine_nn.max_pool2d_grad(np, g, ans, x, *pool)
    compiled_indices = engine_nn.max_pool2d_indices(np, x, *pool)
    without_loops()
    # overlapping windows add their gradients in another order: equal to rounding (of sums of O(1) terms)
    atol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(compiled, engine_nn.max_pool2d_grad(np, g, ans, x, *pool), rtol=1e-6, atol=atol)
    assert np.array_equal(compiled_indices, engine_nn.max_pool2d_indices(np, x, *pool))
    np.testing.assert_allclose(compiled, _torch_grad(x, g, *pool), rtol=1e-6, atol=atol)
    _, torch_indices = F.max_pool2d(torch.from_numpy(x), *pool, return_indices=True)
    assert np.array_equal(compiled_indices, torch_indices.numpy())


@pytest.mark.parametrize("shape, kernel_size, stride, padding, dilation, ceil_mode", POOLS, ids=POOL_IDS)
def test_a_window_holding_nan_passes_its_gradient_to_its_last_nan_as_torch_does(shape, kernel_size, stride, padding, dilation, ceil_mode):
    pool = (kernel_size, stride, padding, dilation, ceil_mode)
    x = _ties(shape, 2)
    flat = x.reshape(-1)
    flat[np.random.default_rng(3).choice(flat.size, flat.size // 5, replace=False)] = np.nan
    ans = engine_nn.max_pool2d(np, x, *pool)
    assert np.isnan(ans).any()
    g = np.random.default_rng(4).standard_normal(ans.shape)
    np.testing.assert_allclose(engine_nn.max_pool2d_grad(np, g, ans, x, *pool), _torch_grad(x, g, *pool), rtol=1e-12)
    _, torch_indices = F.max_pool2d(torch.from_numpy(x), *pool, return_indices=True)
    assert np.array_equal(engine_nn.max_pool2d_indices(np, x, *pool), torch_indices.numpy())


def test_other_dtypes_take_the_array_path():
    x = np.arange(16, dtype=np.int32).reshape(1, 1, 4, 4)
    assert backend.host_loops(np).max_pool2d_indices(x, ((2, 2), (2, 2), (0, 0), (2, 2), (1, 1))) is None
    np.testing.assert_array_equal(engine_nn.max_pool2d_indices(np, x, 2), [[[[5, 7], [13, 15]]]])
    half = x.astype(np.float16)
    assert backend.host_loops(np).max_pool2d_grad(np.ones((1, 1, 2, 2), np.float16), half, ((2, 2), (2, 2), (0, 0), (2, 2), (1, 1))) is None


def test_the_loops_are_for_numpy_arrays_only():
    assert backend.host_loops(np) is not None
    assert backend.host_loops(object()) is None  # any other array module (CuPy) keeps its array calls
