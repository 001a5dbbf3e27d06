"""The engine's side of torch.autograd's extras, without a network: backward of several roots and ``inputs=``,
anomaly detection's NaN check in the walk (and the forward op's id its error carries), generators of their own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradwire_server.engine import AnomalyError, Engine


@pytest.fixture
def eng():
    return Engine("cpu", seed=0)


def test_backward_of_several_roots_into_inputs_only(eng):
    x, w = eng.tensor(np.array([1.0, 2.0]), requires_grad=True), eng.tensor(np.array([3.0, -1.0]), requires_grad=True)
    y = eng.apply("mul", x, w)
    eng.backward([eng.apply("sum", y), y], [None, eng.tensor(np.array([1.0, 0.5]))], inputs=[x])
    tx, tw = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, -1.0], requires_grad=True)
    ty = tx * tw
    torch.autograd.backward([ty.sum(), ty], [None, torch.tensor([1.0, 0.5], dtype=torch.float64)], inputs=[tx])
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    assert w.grad is None


def test_anomaly_check_raises_with_the_node_and_its_forward_command(eng):
    x = eng.tensor(np.array([0.0, 4.0]), requires_grad=True)
    eng.trace = 42  # as the commands layer sets it for an op issued under anomaly detection
    root = eng.apply("sqrt", x)
    eng.trace = 0
    y = eng.apply("sum", eng.apply("mul", root, 0.0))
    with pytest.raises(AnomalyError, match=r"^Function 'SqrtBackward0' returned nan values in its 0th output\.$") as caught:
        eng.backward(y, retain_graph=True, check_nan=True)
    assert caught.value.trace == 42
    assert x.grad is None  # a failed pass gives no first .grad
    eng.backward(y)  # off: the NaN is data
    assert np.isnan(x.grad.numpy()[0])


def test_generators_of_their_own_and_their_state(eng):
    g = eng.new_generator(3)
    first = eng.rand(4, generator=g).numpy()
    eng.rand(2)  # the engine's own generator: g's stream does not move
    state = eng.rng_state(g)
    second = eng.randn(3, generator=g).numpy()
    eng.set_rng_state(state, g)
    np.testing.assert_array_equal(eng.randn(3, generator=g).numpy(), second)
    np.testing.assert_array_equal(eng.rand(4, generator=eng.new_generator(3)).numpy(), first)
    with pytest.raises(RuntimeError, match="set_rng_state"):
        eng.set_rng_state(eng.tensor(np.array([1.0])), g)
