"""tests/e2e/test_math_functions_more.py (more maths (inverse hyperbolics, logcumsumexp, frexp, statistics, in-place variants)) with the server on the GPU: imported, not copied. Its tables share one
module-scoped session, which serves every test of this file, so the module has a file of its own."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.e2e import test_math_functions_more as _module  # noqa: E402
from tests.gpu._reuse import reuse  # noqa: E402

REUSED = reuse(_module, globals(), {"session", "server"}, {})


def test_the_tests_were_found():
    assert len(REUSED) >= 3, REUSED
