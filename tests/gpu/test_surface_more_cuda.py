"""The SDK's newer surface with the server on the GPU (session 12's e2e modules), as test_surface_cuda.py does for
the earlier ones: imported, not copied, so a CuPy function that NumPy's stand-in hides shows on the first lent GPU.
(The modules whose tables share a module-scoped session each have a file of their own: test_complex_cuda.py and
test_math_more_cuda.py.)"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.e2e import test_api_completeness as _api  # noqa: E402
from tests.e2e import test_bfloat16 as _bfloat16  # noqa: E402
from tests.e2e import test_distributions_more as _distributions  # noqa: E402
from tests.e2e import test_func_and_forward_ad as _func  # noqa: E402
from tests.e2e import test_linalg_more as _linalg  # noqa: E402
from tests.e2e import test_nn_layers_more as _nn_layers  # noqa: E402
from tests.e2e import test_parametrize_optim_data as _parametrize  # noqa: E402
from tests.e2e import test_profiler as _profiler  # noqa: E402
from tests.e2e import test_script_boilerplate as _boilerplate  # noqa: E402
from tests.e2e import test_shape_index_more as _shape_index  # noqa: E402
from tests.gpu._reuse import reuse  # noqa: E402

MODULES = (_api, _bfloat16, _distributions, _func, _linalg, _nn_layers, _parametrize, _profiler, _boilerplate,
           _shape_index)
CPU_ONLY = {  # module -> {test: why it stays on the CPU}
    _bfloat16: {"test_autocast_cpu_defaults_to_bfloat16_as_torch": "autocast('cpu') leaves a CUDA session's tensors alone, as torch's"},
}
REUSED = {module.__name__: reuse(module, globals(), {"session", "server"}, CPU_ONLY.get(module, {})) for module in MODULES}


def test_the_tests_were_found_and_none_shadows_another():
    names = [name for copied in REUSED.values() for name in copied]
    assert all(len(copied) >= 3 for copied in REUSED.values()), REUSED
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
