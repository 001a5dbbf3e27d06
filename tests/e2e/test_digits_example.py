"""examples/train_digits.py in its shortened CI mode: it trains, remotely, to a stated accuracy."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("tqdm")

import gradwire as gw  # noqa: E402

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "train_digits.py")


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("train_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_cnn_run_reaches_the_stated_accuracy(example, server, capsys):
    """--quick: 3 epochs of the CNN on a real server; about 94% on the held-out 20% (the full run reaches 98%)."""
    epochs = []
    args = example.parse_args(["--quick", "--quiet", "--server", server.address])
    assert args.epochs == example.QUICK_EPOCHS == 3
    result = example.train(args, on_epoch=lambda *row: epochs.append(row))
    assert result["accuracy"] >= 0.90, result
    assert [e[0] for e in epochs] == [1, 2, 3]
    losses = [e[1] for e in epochs]
    assert losses[-1] < losses[0] < 2.4 and np.isfinite(losses).all()  # starts near ln(10) = 2.30 and falls
    assert "test accuracy" in capsys.readouterr().out


def test_local_torch_trains_the_same_architecture(example, session):
    import torch

    for mlp in (False, True):
        ours = example.build_model(gw.nn, mlp, session=session)
        theirs = example.build_model(torch.nn, mlp)
        assert {k: v.shape for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
        theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
        ours.eval(), theirs.eval()
        x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
        np.testing.assert_allclose(ours(session.tensor(x)).detach().numpy(), theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
