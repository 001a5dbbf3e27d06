"""(b) The PyTorch-comparison programs on the CuPy backend.

Imported, not copied: tests/unit/test_seed_programs.py's programs run on a CuPy
engine (the ``engine`` fixture of tests/gpu), and tests/e2e/test_torch_parity.py's
run through the SDK against a server on the GPU (the ``session`` fixture). Both
compare with PyTorch as they do on the CPU. Tests that are about the CPU device
itself are left out, each with the reason.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.e2e import test_torch_parity as _parity  # noqa: E402
from tests.gpu._reuse import reuse  # noqa: E402
from tests.unit import test_seed_programs as _seed  # noqa: E402

CPU_ONLY = {
    "test_to_the_same_device_or_dtype_returns_the_tensor_itself": "asks for device 'cpu'; the CUDA variant is below",
}

SEED_PROGRAMS = reuse(_seed, globals(), {"engine"}, CPU_ONLY)
SDK_PROGRAMS = reuse(_parity, globals(), {"session", "server"}, {})


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_to_the_same_device_or_dtype_returns_the_tensor_itself_on_cuda(engine, device):
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    assert x.device == "cuda"
    assert x.to(device) is x
    assert x.to(device=device) is x
    assert x.to("float32") is x


def test_the_programs_were_found():
    assert len(SEED_PROGRAMS) >= 8, SEED_PROGRAMS
    assert len(SDK_PROGRAMS) >= 15, SDK_PROGRAMS
