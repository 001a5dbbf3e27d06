"""The engine's semantics and error tests again, on the CuPy backend.

tests/unit's tests that take the ``engine`` fixture (autograd semantics, typed
errors, ties and kinks) run here on a CuPy engine, and tests/e2e's PyTorch habits
(operands, iteration, dtypes of float ops on integer tensors) through a GPU server. A failure here is a place where
the GPU backend behaves differently from the NumPy one (an error CuPy raises
differently, or does not raise). Tests that check NumPy-specific facts are left
out, each with the reason.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.e2e import test_pytorch_habits as _habits  # noqa: E402
from tests.gpu._reuse import reuse  # noqa: E402
from tests.unit import test_autograd_semantics as _semantics  # noqa: E402
from tests.unit import test_errors as _errors  # noqa: E402
from tests.unit import test_op_table as _table  # noqa: E402

NUMPY_ONLY = {
    "test_detach_shares_data_but_not_history": "np.shares_memory on the arrays",
    "test_gradients_of_0d_leaves_are_arrays_that_update_in_place": "isinstance(..., np.ndarray)",
    "test_two_leaves_get_independent_grad_arrays": "np.shares_memory on the arrays",
}
CPU_ONLY = {
    "test_other_devices_are_refused": "expects .to('cuda') to be refused, as it is on a CPU engine",
}

REUSED = (
    reuse(_semantics, globals(), {"engine"}, NUMPY_ONLY)
    + reuse(_errors, globals(), {"engine"}, CPU_ONLY)
    + reuse(_table, globals(), {"engine"}, {})
)
HABITS = reuse(_habits, globals(), {"session"}, {})


def test_cuda_engine_refuses_other_devices(engine):
    from gradwire_server.engine import DeviceError

    with pytest.raises(DeviceError, match="cpu"):
        engine.ones(2).to("cpu")
    with pytest.raises(DeviceError):
        engine.ones(2).to(device="tpu")


def test_the_tests_were_found():
    assert len(REUSED) >= 30, REUSED
