"""bfloat16 on the GPU: whether CuPy holds ml_dtypes' bfloat16 (``Backend.bfloat16``, a probe), and what follows from
it: where it does, a CuPy engine's bfloat16 MLP step matches the NumPy engine's; where it does not, the server leaves
bfloat16 out of its dtypes and the client refuses it naming the device. Either way the test says which it found."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

pytest.importorskip("ml_dtypes")


def _step(engine, arrays):
    x, w1, w2 = (engine.tensor(a, requires_grad=k > 0) for k, a in enumerate(arrays))
    h = engine.apply("tanh", engine.apply("matmul", x, w1))
    loss = engine.apply("sum", engine.apply("matmul", h, w2))
    engine.backward(loss)
    return [engine.backend.asnumpy(t.array) for t in (loss, w1.grad, w2.grad)]


def test_bfloat16_on_cuda_is_held_or_refused(cuda_engine, cpu_engine, session, capsys):
    bf16 = np.dtype("bfloat16")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(bf16) for s in ((16, 32), (32, 64), (64, 8))]
    held = cuda_engine.backend.bfloat16
    with capsys.disabled():
        print(f"\nCuPy holds ml_dtypes' bfloat16: {held}")
    assert ("bfloat16" in session.server_info.dtypes) == held
    if held:
        ours, reference = _step(cuda_engine, arrays), _step(cpu_engine, arrays)
        for got, expected in zip(ours, reference):
            assert got.dtype == bf16
            np.testing.assert_allclose(got.astype(np.float32), expected.astype(np.float32), rtol=1.6e-2, atol=1e-2)
        assert session.tensor(arrays[0]).bfloat16().numpy().tobytes() == arrays[0].tobytes()
    else:
        with pytest.raises(gw.InvalidArgumentError, match=r"BFloat16 is not supported on this session's device \('cuda'\)"):
            session.tensor(arrays[0])
