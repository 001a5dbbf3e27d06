"""PyTorch's top-level factories (gw.tensor, gw.zeros, gw.linspace, gw.eye, ...) in the only open session, against torch."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

_LINSPACES = [(0, 1, 7), (-3.5, 2.25, 11), (-1, 1, 100), (0.1, 0.9, 33), (3, 17, 5), (2.74, -1.91, 195), (-9.18, 1.89, 123), (1, 2, 1), (5, 5, 0)]


@pytest.mark.parametrize("args", _LINSPACES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32"])
def test_linspace_is_torchs_to_the_bit(session, args, dtype):
    ours, theirs = gw.linspace(*args, dtype=dtype), torch.linspace(*args, dtype=getattr(torch, dtype))
    assert ours.dtype == np.dtype(dtype) and ours.tolist() == theirs.tolist()


def test_linspace_in_float16_is_within_a_rounding_of_torchs(session):
    ours, theirs = gw.linspace(-9.18, 1.89, 123, dtype="float16"), torch.linspace(-9.18, 1.89, 123, dtype=torch.float16)
    np.testing.assert_allclose(ours.numpy().astype(np.float32), theirs.numpy().astype(np.float32), rtol=1e-3, atol=2e-3)


def test_top_level_factories_use_the_open_session_as_torch_does(session):
    for ours, theirs in ((gw.tensor([1, 2]), torch.tensor([1, 2])), (gw.tensor(2.5), torch.tensor(2.5)),
                         (gw.zeros(2, 3), torch.zeros(2, 3)), (gw.ones((2,), dtype=gw.float64), torch.ones((2,), dtype=torch.float64)),
                         (gw.full((2, 2), 7), torch.full((2, 2), 7)), (gw.arange(5), torch.arange(5)), (gw.arange(0, 1, 0.25), torch.arange(0, 1, 0.25)),
                         (gw.eye(3), torch.eye(3)), (gw.eye(2, 4, dtype="int64"), torch.eye(2, 4, dtype=torch.int64)),
                         (gw.empty(2, 2), torch.zeros(2, 2))):
        assert ours.tolist() == theirs.tolist() and ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    x = gw.randn(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf and gw.is_tensor(x) and not gw.is_tensor(np.ones(1)) and gw.numel(gw.rand(2, 5)) == 10
    assert gw.as_tensor(x) is x and gw.as_tensor([1.0]).tolist() == [1.0]
    gw.manual_seed(7)
    first = gw.rand(4).tolist()
    gw.manual_seed(7)
    assert gw.rand(4).tolist() == first
    other = gw.connect()  # two sessions open: say which
    try:
        with pytest.raises(RuntimeError, match="2 gradwire sessions are open: pass session="):
            gw.zeros(2)
        assert gw.zeros(2, session=other).tolist() == [0.0, 0.0]
    finally:
        other.close()


def test_without_a_session_the_factories_say_so(monkeypatch):
    import weakref

    monkeypatch.setattr(gw.session, "_open_sessions", weakref.WeakSet())  # as in a process with none open
    with pytest.raises(RuntimeError, match="no gradwire session is open: call gw.connect"):
        gw.tensor([1.0])
