"""engine/optim.py without a network: updates land in the parameters' own memory."""

from __future__ import annotations

import numpy as np
import pytest

from gradwire_server.engine import GraphError, InvalidArgument
from gradwire_server.engine.optim import Group, Optimizer


@pytest.mark.parametrize("kind, options", [
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("adam", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1}),
    ("adam", {"lr": 0.1, "decoupled_weight_decay": True, "weight_decay": 0.1}),
])
def test_a_step_updates_the_parameter_in_place_and_bumps_its_version(engine, kind, options):
    p = engine.tensor(np.arange(4.0), requires_grad=True)
    view = p.detach()  # shares p's memory and version counter
    (p * p).sum().backward()
    array, version, grad = p.array, p.version, p.grad.numpy().copy()
    Optimizer(kind, engine.xp).step([Group([(1, p)], **options)])
    assert p.array is array and view.version == version + 1
    assert not np.array_equal(view.numpy(), np.arange(4.0))
    np.testing.assert_array_equal(p.grad.numpy(), grad)  # weight decay did not write into .grad (host copies: CuPy too)


def test_parameters_without_a_grad_are_left_alone(engine):
    p = engine.tensor(np.ones(3), requires_grad=True)
    optimizer = Optimizer("adam", engine.xp)
    optimizer.step([Group([(1, p)], lr=0.1)])
    assert p.numpy().tolist() == [1.0, 1.0, 1.0] and optimizer.state == {} and p.version == 0


def test_state_is_freed_with_the_optimizer_and_counted(engine):
    p = engine.tensor(np.ones(3), requires_grad=True)
    (p * 2).sum().backward()
    optimizer = Optimizer("adam", engine.xp)
    optimizer.step([Group([(1, p)], lr=0.1, amsgrad=True)])
    assert optimizer.nbytes() == 3 * 3 * 8 and optimizer.get(1, "step") == 1.0


def test_bad_kinds_and_non_leaves_raise(engine):
    with pytest.raises(InvalidArgument, match="unknown optimizer 'lbfgs'; known: sgd, adam"):
        Optimizer("lbfgs", engine.xp)
    p = engine.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(GraphError, match="can't optimize a non-leaf Tensor"):
        Optimizer("sgd", engine.xp).step([Group([(1, p * 2)])])
