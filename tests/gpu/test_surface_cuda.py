"""The SDK's wider surface with the server on the GPU.

Imported, not copied: the e2e modules of PyTorch's functions, dtypes, linear algebra, layers, optimizers and
autograd's extras run through the SDK against a server with ``device="cuda"``, so a CuPy function that NumPy's
stand-in hides (tests/gpu/rehearsal) shows on the first lent GPU. (test_amp.py's regions are ``autocast("cpu")``,
which a CUDA session's tensors ignore, as PyTorch's do: it stays on the CPU.)
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.e2e import test_autograd_extras as _autograd_extras  # noqa: E402
from tests.e2e import test_dtypes_more as _dtypes  # noqa: E402
from tests.e2e import test_lbfgs_ctc_mha as _lbfgs_ctc_mha  # noqa: E402
from tests.e2e import test_linalg_decompositions as _linalg  # noqa: E402
from tests.e2e import test_nn_3d_and_grids as _nn_3d  # noqa: E402
from tests.e2e import test_nn_more as _nn_more  # noqa: E402
from tests.e2e import test_optim_more as _optim_more  # noqa: E402
from tests.e2e import test_torch_functions_more as _functions  # noqa: E402
from tests.gpu._reuse import reuse  # noqa: E402

MODULES = (_autograd_extras, _dtypes, _lbfgs_ctc_mha, _linalg, _nn_3d, _nn_more, _optim_more, _functions)
REUSED = {module.__name__: reuse(module, globals(), {"session", "server"}, {}) for module in MODULES}


def test_the_tests_were_found_and_none_shadows_another():
    names = [name for copied in REUSED.values() for name in copied]
    assert all(len(copied) >= 3 for copied in REUSED.values()), REUSED
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
