"""(a) The gradient-check table on the CuPy backend.

The rows are tests/unit/test_op_table.py's, imported (one table, PyTorch's OpInfo
in small). For every row:

- its VJPs, computed on the GPU in float64, against central differences of the
  GPU forward (as tests/unit checks them on NumPy);
- forward values, dtypes, ``requires_grad``, backward node names and gradients
  (through ``engine.grad`` and through ``backward()`` into ``.grad``) against the
  NumPy backend on the same inputs;
- the same against PyTorch CUDA on the same card, where torch has CUDA.

Matrix products run in full float32 on both GPU sides: PyTorch's TF32 is turned
off for this module, and CuPy uses TF32 only when ``CUPY_TF32=1`` is set.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gradwire_server.engine import Engine  # noqa: E402
from tests.conftest import assert_close  # noqa: E402
from tests.unit.test_op_table import (  # noqa: E402
    NUMERIC_ROWS, TORCH_CASES, check_numerical_gradient, engine_inputs, first, make_inputs,
)


@pytest.fixture(autouse=True, scope="module")
def _no_tf32():
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32 = previous


def _outputs(out):
    return out if isinstance(out, tuple) else (out,)


def _assert_on_gpu(tensor, what):
    import cupy

    assert isinstance(tensor.array, cupy.ndarray), f"{what}: a {type(tensor.array).__name__}, not a CuPy array"


@pytest.mark.parametrize("row", NUMERIC_ROWS, ids=lambda row: row.id)
def test_numerical_gradient_on_cuda(row):
    """Every VJP rule on CuPy equals central differences of the CuPy forward, in float64."""
    check_numerical_gradient(Engine("cuda", seed=0), row, check_placement=_assert_on_gpu)


def _run_side(engine, row, values, cotangent_from):
    """Outputs, and the gradients of the diff inputs both through engine.grad and through backward()."""
    inputs = engine_inputs(engine, row, values)
    outs = _outputs(row.run(engine, *inputs))
    if not row.diff:
        return outs, None, None, None
    y = outs[0]
    cotangent = cotangent_from(y)
    wrt = [inputs[i] for i in row.diff]
    functional = engine.grad(y, wrt, grad_outputs=engine.tensor(cotangent), retain_graph=True)
    assert all(x.grad is None for x in wrt), "engine.grad must not touch .grad"
    y.backward(gradient=engine.tensor(cotangent))
    accumulated = [x.grad for x in wrt]
    return outs, functional, accumulated, cotangent


@pytest.mark.parametrize("row, dtype", TORCH_CASES)
def test_cuda_matches_numpy(row, dtype, cuda_engine, cpu_engine):
    """The CuPy backend computes what the NumPy backend computes: values, dtypes, graph and gradients."""
    values, rng = make_inputs(row, dtype)
    drawn = {}

    def cotangent_from(y):  # one cotangent, drawn once, for both sides
        if "c" not in drawn:
            drawn["c"] = rng.standard_normal(y.shape).astype(y.dtype)
        return drawn["c"]

    c_outs, c_grads, c_acc, _ = _run_side(cpu_engine, row, values, cotangent_from)
    g_outs, g_grads, g_acc, _ = _run_side(cuda_engine, row, values, cotangent_from)

    assert len(g_outs) == len(c_outs)
    for k, (g, c) in enumerate(zip(g_outs, c_outs)):
        what = f"{row.id}-{dtype}: output {k}"
        _assert_on_gpu(g, what)
        assert g.shape == c.shape and g.dtype == c.dtype, f"{what}: {g.shape} {g.dtype} != {c.shape} {c.dtype}"
        assert g.requires_grad == c.requires_grad, what
        assert (g.grad_fn and g.grad_fn.name) == (c.grad_fn and c.grad_fn.name), what
        assert_close(g, c.numpy(), dtype=c.dtype, what=what)
    if not row.diff:
        return
    for i, g, c, ga, ca in zip(row.diff, g_grads, c_grads, g_acc, c_acc):
        what = f"{row.id}-{dtype}: d/d input {i}"
        _assert_on_gpu(g, what)
        _assert_on_gpu(ga, what + " (.grad)")
        assert g.dtype == c.dtype and ga.dtype == ca.dtype, what
        assert_close(g, c.numpy(), dtype=c.dtype, what=what)
        assert_close(ga, ca.numpy(), dtype=ca.dtype, what=what + " (.grad)")
        assert_close(ga, g.numpy(), dtype=g.dtype, what=what + " (.grad against engine.grad)")


def _torch_cuda_inputs(row, values):
    return [
        torch.from_numpy(np.array(v)).cuda().requires_grad_(i in row.diff) if isinstance(v, np.ndarray) else v
        for i, v in enumerate(values)
    ]


def _host(t):
    return t.detach().cpu()


@pytest.mark.parametrize("row, dtype", TORCH_CASES)
def test_cuda_matches_torch_cuda(row, dtype, cuda_engine, torch_cuda):
    """Forward values (and indices), dtypes, requires_grad and VJPs agree with PyTorch CUDA on the same card."""
    values, rng = make_inputs(row, dtype)
    inputs, t_inputs = engine_inputs(cuda_engine, row, values), _torch_cuda_inputs(row, values)
    out = row.run(cuda_engine, *inputs)
    with torch.device("cuda"):  # tensors a reference makes itself (index rows) land on the GPU too
        t_out = row.ref(*t_inputs)

    outs = _outputs(out)
    t_outs = tuple(t_out) if isinstance(t_out, tuple) else (t_out,)
    assert len(outs) == len(t_outs)
    # torch's kernel the less exact in float64 (polygamma: 1e-9): the row's torch_tol, values and gradients
    value_tol = row.torch_tol if np.dtype(dtype) == np.float64 and row.torch_tol != (None, None) else (None, None)
    for k, (o, t) in enumerate(zip(outs, t_outs)):
        assert t.is_cuda, f"{row.id}: the reference ran on {t.device}"
        assert_close(o, _host(t), rtol=value_tol[0], atol=value_tol[1], what=f"{row.id}: output {k}")
    y, t_y = outs[0], t_outs[0]
    assert y.requires_grad == t_y.requires_grad
    assert (y.grad_fn is None) == (t_y.grad_fn is None)
    if not row.diff:
        return

    cotangent = rng.standard_normal(y.shape).astype(y.dtype)
    wrt = [inputs[i] for i in row.diff]
    grads = cuda_engine.grad(y, wrt, grad_outputs=cuda_engine.tensor(cotangent))
    t_grads = torch.autograd.grad(t_y, [t_inputs[i] for i in row.diff], grad_outputs=torch.from_numpy(cotangent).cuda())
    # float32 gradients of decompositions differ with the algorithm (cuSOLVER's here, torch's own there) by more
    # than a rounding: 2.5e-4 relative seen for linalg_svd
    rtol, atol = (1e-3, 1e-5) if row.op in _DECOMPOSITIONS and np.dtype(dtype) == np.float32 else value_tol
    for i, g, t in zip(row.diff, grads, t_grads):
        assert_close(g, _host(t), rtol=rtol, atol=atol, what=f"{row.id}: d/d input {i}")


_DECOMPOSITIONS = frozenset({"linalg_svd", "linalg_eigh", "linalg_qr"})

