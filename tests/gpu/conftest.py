"""The GPU checks: the engine on its CuPy backend, and the server on the GPU.

Every test in tests/gpu is marked ``gpu`` and skipped, with the reason, where no
usable CUDA device and CuPy are found; the decision is the engine's own
(``Backend("cuda")``), taken once. ``GRADWIRE_REQUIRE_GPU=1`` (set by
run_on_device.sh) turns that skip into a failure, so that a run on a GPU machine
whose CuPy is broken cannot pass by skipping everything.

Fixtures: ``engine`` is a CuPy engine here (so that tests reused from tests/unit
run on the GPU); ``cpu_engine`` is the NumPy engine they are compared with;
``server``, ``session`` and ``rng`` mirror tests/e2e's, with the server on the GPU.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import numpy as np
import pytest

from gradwire_server.engine import Backend, Engine

GPU_DIR = Path(__file__).resolve().parent
REQUIRE_ENV = "GRADWIRE_REQUIRE_GPU"


def _gpu_problem() -> str | None:
    """None where the engine can run on CuPy; else why not, in words."""
    try:
        Backend("cuda")
    except RuntimeError as error:
        try:
            import cupy  # noqa: F401
        except Exception as import_error:  # not installed, or a broken CUDA install
            return f"no usable CUDA device and CuPy: CuPy cannot be imported ({type(import_error).__name__}: {import_error})"
        return f"no usable CUDA device and CuPy: {error}"
    return None


GPU_PROBLEM = _gpu_problem()


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a usable CUDA device and CuPy (tests/gpu); skipped where there is none")


# Known differences on a GPU machine: tests expected to fail there (xfail, not strict), by a fragment of their id.
# The tests compare with the pinned torch (2.13.0); the device image holds an older one, and nothing can be
# installed there (its wheel is larger than what a device call carries).
OLDER_TORCH = {
    **dict.fromkeys(["test_matches_torch[nextafter", "test_cuda_matches_torch_cuda[nextafter", "test_functions_match_torch[nextafter"],
                    "torch < 2.13 has no derivative for nextafter"),
    "test_functions_match_torch[aminmax": "torch < 2.13 has no derivative for aminmax",
    "test_tensor_leftover_compositions": "torch < 2.13 has no derivative for narrow_copy",
    "test_a_mistake_is_refused_in_torchs_words[m.autograd.grad(": "torch < 2.13 words allow_unused's refusal differently",
    "test_class_index_targets_of_another_dtype_are_refused_as_in_torch": "torch < 2.13 words the target dtype's refusal differently",
    "test_grad_materialize_grads_and_batched_grads_as_torch": "torch < 2.13 refuses what the test hands autograd.grad",
    "test_swalr_rates_match_torch": "torch < 2.13's SWALR message has a typo (must by one of)",
    "test_validation_of_numbers_is_always_on_and_of_tensors_on_request": "torch < 2.13 words a distributions refusal differently",
    "test_lazy_modules_match_torch": "torch < 2.13's norm layers have no bias= in their repr",
    "test_modules_match_torch": "torch < 2.13's norm layers have no bias= in their repr",
    "test_batch_norm3d_and_instance_norm3d_match_torch": "torch < 2.13's norm layers have no bias= in their repr",
    "test_shape_and_index_errors_are_torchs[rot90-dim-range]": "torch < 2.13 raises another exception type for rot90's dims",
    "test_bad_arguments_give_torchs_errors[<lambda>7]": "torch < 2.13 takes profile(activities=['cpu'])",
    "test_bad_arguments_give_torchs_errors[<lambda>8]": "torch < 2.13 takes profile(activities=[])",
}
ON_CUPY = {  # what CuPy's kernels do, and the engine leaves as they do
    "test_ops_over_each_small_integer_dtype_match_torch[int8]": "CuPy's float32 exp flushes a subnormal result to zero",
    "test_upload_and_download_are_bit_exact_as_torch_rounds": "CuPy's float32-to-bfloat16 cast flushes subnormals to zero",
}


def _older_torch() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2]) < (2, 13)


def _on_cupy() -> bool:
    if GPU_PROBLEM is not None:
        return False
    import cupy

    return not getattr(cupy, "NUMPY_STAND_IN", False)


def pytest_collection_modifyitems(config, items):
    # hooks of a conftest below the root see every collected item: act on tests/gpu's only, and the known
    # differences wherever the run holds them (tests/unit's comparisons with torch too)
    ours = [item for item in items if GPU_DIR in Path(str(item.fspath)).resolve().parents]
    for item in ours:
        item.add_marker(pytest.mark.gpu)
        if GPU_PROBLEM is not None and os.environ.get(REQUIRE_ENV) != "1":
            item.add_marker(pytest.mark.skip(reason=GPU_PROBLEM))
    known = (OLDER_TORCH if _older_torch() else {}) | (ON_CUPY if _on_cupy() else {})
    for item in items:
        reason = next((why for fragment, why in known.items() if fragment in item.nodeid), None)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))


@pytest.fixture(autouse=True)
def _gpu_required():
    # reached only when the test was not skipped: without a GPU that means GRADWIRE_REQUIRE_GPU=1
    if GPU_PROBLEM is not None:
        pytest.fail(f"{REQUIRE_ENV}=1 but {GPU_PROBLEM}", pytrace=False)


# --- engines ---------------------------------------------------------------------------------


@pytest.fixture
def engine():
    """The engine on CuPy: the fixture tests/unit's tests take, so they run on the GPU when reused here."""
    return Engine("cuda", seed=0)


@pytest.fixture
def cuda_engine():
    return Engine("cuda", seed=0)


@pytest.fixture
def cpu_engine():
    return Engine("cpu", seed=0)


@pytest.fixture(scope="session")
def torch_cuda():
    """torch with a usable CUDA device, or a skip saying why not."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip(f"torch {torch.__version__} has no usable CUDA device: no PyTorch CUDA reference")
    return torch


# --- a server on the GPU (the fixtures tests/e2e's tests take) ---------------------------------------


@pytest.fixture(scope="session")
def server():
    """One server on the GPU for the run, on 127.0.0.1 and a port the OS picks; stopped at the end."""
    from tests.servers import start_server

    server = start_server(device="cuda")
    try:
        assert server.backend.device == "cuda", server.backend
        yield server
    finally:
        server.stop(grace=1.0)


@pytest.fixture
def session(server):
    import gradwire as gw

    s = gw.connect(server.address, seed=0, timeout=30)
    assert s.device == "cuda", s.device
    yield s
    s.close()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# --- device memory ---------------------------------------------------------------------------------


def pool_used_bytes() -> int:
    """Bytes of CuPy's default memory pool in use, after collecting garbage (blocks are 512-byte multiples)."""
    import cupy

    gc.collect()
    return cupy.get_default_memory_pool().used_bytes()


def pool_round(nbytes: int) -> int:
    """The bytes CuPy's pool hands out for an array of ``nbytes`` bytes (512-byte blocks; none for an empty array)."""
    import cupy

    if getattr(cupy, "NUMPY_STAND_IN", False):  # rehearsal/cupy: NumPy's allocations are counted as they are
        return nbytes
    return -(-nbytes // 512) * 512


def settled_pool_bytes(timeout=10.0) -> int:
    """The pool's used bytes once three readings 50 ms apart agree (server threads may still be freeing)."""
    deadline = time.monotonic() + timeout
    readings = [pool_used_bytes()]
    while time.monotonic() < deadline and (len(readings) < 3 or len(set(readings[-3:])) > 1):
        time.sleep(0.05)
        readings.append(pool_used_bytes())
    return readings[-1]


def wait_for_pool(predicate, timeout=10.0) -> int:
    """Poll the pool's used bytes until ``predicate(used)`` holds or ``timeout`` passes; return the last reading.

    Server threads free a closed session's arrays on their own schedule (the stream's worker
    ends after the client's close returns), so a reading right after ``close()`` may be early.
    """
    deadline = time.monotonic() + timeout
    used = pool_used_bytes()
    while not predicate(used) and time.monotonic() < deadline:
        time.sleep(0.05)
        used = pool_used_bytes()
    return used
