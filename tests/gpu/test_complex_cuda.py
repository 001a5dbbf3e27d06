"""tests/e2e/test_complex_and_fft.py (complex tensors, gw.fft and linalg.eig) with the server on the GPU: imported, not copied. Its tables share one
module-scoped session, which serves every test of this file, so the module has a file of its own."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.e2e import test_complex_and_fft as _module  # noqa: E402
from tests.gpu._reuse import reuse  # noqa: E402

REUSED = reuse(_module, globals(), {"session", "server"}, {})


def test_the_tests_were_found():
    assert len(REUSED) >= 3, REUSED
