"""gradwire.nn with the server on the GPU.

Imported, not copied: tests/e2e's test_nn.py (modules and functional ops against torch.nn
with the same weights) and test_digits_example.py (the example's --quick run reaching its
accuracy) run through the SDK against a server with ``device="cuda"``; tests/unit's
test_nn_ops.py (bad input to the new primitives) runs on a CuPy engine. The primitives'
gradients are in the op table (test_op_table_cuda.py).
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.e2e import test_nn as _nn  # noqa: E402
from tests.gpu._reuse import reuse  # noqa: E402
from tests.unit import test_nn_ops as _nn_ops  # noqa: E402

NN = reuse(_nn, globals(), {"session", "server"}, {})
NN_OPS = reuse(_nn_ops, globals(), {"engine"}, {})
try:
    from tests.e2e import test_digits_example as _digits  # noqa: E402
except pytest.skip.Exception:  # scikit-learn or tqdm is not installed where this runs
    DIGITS = []
else:
    DIGITS = reuse(_digits, globals(), {"session", "server"}, {})


def test_the_tests_were_found():
    assert len(NN) >= 15 and len(NN_OPS) >= 3, (NN, NN_OPS)
