"""Optimizers, checkpoints and graph pictures with the server on the GPU.

Imported, not copied: tests/e2e's test_optim.py (every optimizer step by step against
torch.optim), test_checkpoint.py (safetensors files to and from PyTorch), test_viz.py and
test_fused_update.py (the hand-written SGD step's commands: ``p -= lr * p.grad`` as one)
run through the SDK against a server with ``device="cuda"``; tests/unit's
test_optim_engine.py runs on a CuPy engine (updates in the parameters' own device memory).
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.e2e import test_fused_update as _fused  # noqa: E402
from tests.e2e import test_optim as _optim  # noqa: E402
from tests.e2e import test_viz as _viz  # noqa: E402
from tests.gpu._reuse import reuse  # noqa: E402
from tests.unit import test_optim_engine as _optim_engine  # noqa: E402

OPTIM = reuse(_optim, globals(), {"session"}, {})
VIZ = reuse(_viz, globals(), {"session"}, {})
ENGINE = reuse(_optim_engine, globals(), {"engine"}, {})
FUSED = reuse(_fused, globals(), {"session"}, {"test_a_server_without_the_feature_gets_the_mul": "starts a CPU server of its own"})
try:
    from tests.e2e import test_checkpoint as _checkpoint  # noqa: E402
except pytest.skip.Exception:  # safetensors is not installed where this runs: the module says so when collected
    CHECKPOINT = []
else:
    CHECKPOINT = reuse(_checkpoint, globals(), {"session"}, {})


def test_the_tests_were_found():
    assert len(OPTIM) >= 15 and len(VIZ) >= 5 and len(ENGINE) >= 3 and len(FUSED) >= 6, (OPTIM, VIZ, ENGINE, FUSED)
    assert not set(FUSED) & set(OPTIM + VIZ + ENGINE + CHECKPOINT)  # (one namespace: no test may hide another)
