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


_TORCH_CASES = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "maximize": True, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "betas": (0.3, 0.9), "maximize": True}),  # 1 - beta1 >= 0.5: lerp's other formula
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("kind, options", _TORCH_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_steps_match_torch_optim_and_leave_grad_alone(engine, kind, options, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    shapes = [(7, 5), (5,), ()]
    start = [rng.standard_normal(s).astype(dtype) for s in shapes]
    mine = [engine.tensor(a, requires_grad=True) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    torch_kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
    torch_opt = torch_kind(theirs, foreach=False, **options)
    group = dict(options)
    if "betas" in group:
        group["beta1"], group["beta2"] = group.pop("betas")
    ours = Optimizer("sgd" if kind == "sgd" else "adam", engine.xp)
    for _ in range(4):
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        for p, q, g in zip(mine, theirs, grads):
            p.grad, q.grad = engine.tensor(g.copy()), torch.tensor(g.copy())
        ours.step([Group(list(enumerate(mine)), decoupled_weight_decay=kind == "adamw", **group)])
        torch_opt.step()
        for p, q, g in zip(mine, theirs, grads):
            np.testing.assert_array_equal(p.grad.numpy(), g)  # updates never write into .grad
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-7)


def test_sgd_update_of_a_parameter_whose_grad_is_itself_is_right(engine):
    # p.grad aliasing p's memory (p.grad = p.detach()): the in-place update reads what it writes
    p = engine.tensor(np.arange(1.0, 5.0), requires_grad=True)
    p.grad = p.detach()
    Optimizer("sgd", engine.xp).step([Group([(0, p)], lr=0.5)])
    np.testing.assert_array_equal(p.numpy(), np.arange(1.0, 5.0) * 0.5)


def test_sgd_update_with_mixed_layouts_takes_the_general_path(engine):
    p = engine.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    p.grad = engine.tensor(np.asfortranarray(np.ones((2, 3))))  # F-ordered grad, C-ordered parameter
    Optimizer("sgd", engine.xp).step([Group([(0, p)], lr=1.0)])
    np.testing.assert_array_equal(p.numpy(), np.arange(6.0).reshape(2, 3) - 1)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_axpy_updates_in_place_in_either_layout_and_reads_overlapping_input_before_writing(layout):
    from gradwire_server.engine.backend import axpy

    x = np.asarray(np.arange(12, dtype=np.float32).reshape(3, 4), order=layout)
    y = np.asarray(np.ones((3, 4), np.float32), order=layout)
    assert axpy(np, 0.5, x, y) is y
    np.testing.assert_array_equal(y, 1 + 0.5 * np.arange(12, dtype=np.float32).reshape(3, 4))
    buffer = np.arange(6, dtype=np.float64)
    axpy(np, 2.0, buffer[:-1], buffer[1:])  # x and y overlap: the result is as if x were read first
    np.testing.assert_array_equal(buffer, [0, 1 + 0, 2 + 2, 3 + 4, 4 + 6, 5 + 8])


@pytest.mark.parametrize("layout", ["C", "F"])
def test_axpy_of_a_large_array_in_pieces_gives_torchs_add_bitwise(layout):
    """Updates above one BLAS piece (backend._AXPY_CHUNK) go piece by piece on the caller's thread: the same bits."""
    import torch

    from gradwire_server.engine.backend import _AXPY_CHUNK, axpy

    rng = np.random.default_rng(3)
    shape = (3, _AXPY_CHUNK // 3 + 7, 5)  # not a whole number of pieces
    x = np.asarray(rng.standard_normal(shape, dtype=np.float32), order=layout)
    y = np.asarray(rng.standard_normal(shape, dtype=np.float32), order=layout)
    # torch on tensors of the same layout: it walks memory in order as BLAS does, so both round the same elements
    # in their vector loops and the same few in their scalar tails (a C copy of F arrays is a different order)
    expected = torch.from_numpy(y.copy(order="K")).add_(torch.from_numpy(x.copy(order="K")), alpha=-0.01).numpy()
    assert axpy(np, -0.01, x, y) is y
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("n", [1, 31, 127, 129, 1000, 8192 + 77])
def test_axpy_of_any_length_gives_torchs_add_bitwise(n):
    """A length that is not a whole number of BLAS vector blocks: the tail is fused by hand, as torch fuses it."""
    import torch

    from gradwire_server.engine.backend import axpy

    rng = np.random.default_rng(n)
    x, y = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    expected = torch.from_numpy(y.copy()).add_(torch.from_numpy(x), alpha=0.37).numpy()
    np.testing.assert_array_equal(axpy(np, 0.37, x, y), expected)


def test_adagrad_refuses_a_decay_that_makes_the_rate_infinite():
    from gradwire_server.engine import Engine, InvalidArgument
    from gradwire_server.engine.optim import Group, Optimizer

    engine = Engine(device="cpu")
    p = engine.tensor([1.0, 2.0], requires_grad=True)
    p.grad = engine.tensor([0.5, 0.5])
    optimizer = Optimizer("adagrad", engine.xp)
    optimizer.step([Group(params=[(1, p)], lr=0.1, lr_decay=-1.0)])  # step 1: the rate is lr
    with pytest.raises(InvalidArgument, match="makes the rate infinite at step 2"):
        optimizer.step([Group(params=[(1, p)], lr=0.1, lr_decay=-1.0)])
