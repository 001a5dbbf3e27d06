"""What the client infers of an op's output (shape and dtype, without asking) is what the server makes, and torch's."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

OPERANDS = [
    (("float32", (3, 4)), ("float32", (3, 4))),
    (("float32", (3, 1)), ("float32", (1, 4))),
    (("float64", (4,)), ("float32", (2, 3, 4))),
    (("int64", (2, 3)), ("float32", (3,))),
    (("int64", (2, 3)), ("int32", (2, 1))),
    (("int64", (2, 3)), 1.5),
    (("int64", (2, 3)), 2),
    (("float32", ()), ("float64", (5,))),
    (2.0, ("int32", (3,))),
    # a 0-d tensor decides only where its category is higher (PyTorch's rule for "wrapped" tensors)
    (("float32", (3,)), ("float64", ())),
    (("int32", (2, 3)), ("int64", ())),
    (("int64", (2,)), ("float64", ())),
    (("float64", ()), ("float32", ())),
]


def _make(session, spec, rng):
    if not isinstance(spec, tuple):
        return spec, spec
    dtype, shape = spec
    array = np.asarray((rng.integers(1, 5, shape) if dtype.startswith("int") else rng.standard_normal(shape) + 3).astype(dtype))
    return session.tensor(array), torch.from_numpy(array)


BINARY = {"add": operator.add, "mul": operator.mul, "sub": operator.sub, "div": operator.truediv, "lt": operator.lt, "maximum": None}


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("a, b", OPERANDS, ids=[str(p) for p in OPERANDS])
def test_elementwise_inference_matches_the_server_and_torch(session, rng, op, a, b):
    (ga, ta), (gb, tb) = _make(session, a, rng), _make(session, b, rng)
    if op == "maximum":
        if not (isinstance(ga, gw.Tensor) and isinstance(gb, gw.Tensor)):
            pytest.skip("maximum takes two tensors")
        gout, tout = gw.maximum(ga, gb), torch.maximum(ta, tb)
    else:
        gout, tout = BINARY[op](ga, gb), BINARY[op](ta, tb)
    inferred = (gout._shape, gout._dtype)
    assert inferred[0] is not None, "the client should know this shape"
    values = gout.numpy()  # the server's result
    assert inferred == (values.shape, values.dtype)
    assert inferred == (tuple(tout.shape), np.dtype(str(tout.dtype).removeprefix("torch.")))
