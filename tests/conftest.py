"""Shared helpers for the engine tests: an engine fixture and engine <-> PyTorch comparisons."""

from __future__ import annotations

import numpy as np
import pytest

from gradwire_server.engine import Engine, Tensor

torch = pytest.importorskip("torch")

TORCH_DTYPES = {
    np.dtype("float16"): torch.float16,
    np.dtype("float32"): torch.float32,
    np.dtype("float64"): torch.float64,
    np.dtype("int32"): torch.int32,
    np.dtype("int16"): torch.int16,
    np.dtype("int8"): torch.int8,
    np.dtype("uint8"): torch.uint8,
    np.dtype("int64"): torch.int64,
    np.dtype("bool"): torch.bool,
}

# (rtol, atol) for engine-vs-PyTorch comparisons: both compute in the same dtype,
# so they differ only by rounding order.
TOLERANCE = {np.dtype("float32"): (2e-5, 1e-6), np.dtype("float64"): (1e-10, 1e-12)}


def pytest_configure(config):
    # The engine silences NumPy's NaN/Inf RuntimeWarnings when imported (NaN and Inf are data, not
    # errors); pytest resets warning filters around each test, so the same policy is restated here.
    config.addinivalue_line("filterwarnings", r"ignore::RuntimeWarning:gradwire_server\.engine.*")


@pytest.fixture
def engine():
    return Engine("cpu", seed=0)


def as_numpy(x) -> np.ndarray:
    """A NumPy array from an engine tensor, a torch tensor or an array."""
    if isinstance(x, Tensor):
        return np.asarray(x.numpy())
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def to_torch(x, requires_grad=False):
    """A torch leaf with the same values and dtype as an engine tensor or a NumPy array."""
    t = torch.from_numpy(np.array(as_numpy(x)))
    return t.requires_grad_() if requires_grad else t


def assert_close(actual, expected, dtype=None, rtol=None, atol=None, what=""):
    """Same shape, same dtype (when both are typed) and close values."""
    a, b = as_numpy(actual), as_numpy(expected)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    if isinstance(actual, Tensor) and isinstance(expected, torch.Tensor):
        assert TORCH_DTYPES[np.dtype(actual.dtype)] == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    if a.dtype.kind in "biu" or b.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
        return
    default_rtol, default_atol = TOLERANCE.get(np.dtype(dtype or a.dtype), (1e-3, 1e-3))
    np.testing.assert_allclose(
        a, b, rtol=default_rtol if rtol is None else rtol, atol=default_atol if atol is None else atol, err_msg=what
    )
