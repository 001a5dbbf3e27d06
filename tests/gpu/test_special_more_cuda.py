"""tests/e2e/test_special_more.py (torch.special's other Bessel functions and its orthogonal polynomials, PyTorch's
algorithms in array ops) with the server on the GPU: imported, not copied, so CuPy's values are checked against torch's
as NumPy's are. Its tables share one module-scoped session, so the module has a file of its own."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.e2e import test_special_more as _module  # noqa: E402
from tests.gpu._reuse import reuse  # noqa: E402

REUSED = reuse(_module, globals(), {"session", "server"}, {})


def test_the_tests_were_found():
    assert len(REUSED) >= 3, REUSED
