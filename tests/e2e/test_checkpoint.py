"""gw.save / gw.load: safetensors files that PyTorch reads and writes, bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradwire as gw
from gradwire import nn

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")
from safetensors import safe_open  # noqa: E402


def _models(session):
    model = nn.Sequential(nn.Linear(3, 5, session=session), nn.ReLU(), nn.Linear(5, 2, session=session))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    return model, reference


def test_a_gradwire_checkpoint_loads_into_torch_bit_identical(session, tmp_path):
    model, reference = _models(session)
    path = tmp_path / "model.safetensors"
    gw.save(model.state_dict(), path)
    state = safetensors_torch.load_file(str(path))
    assert sorted(state) == sorted(reference.state_dict())
    reference.load_state_dict(state)
    for name, value in model.state_dict().items():
        theirs = reference.state_dict()[name].numpy()
        assert theirs.dtype == value.numpy().dtype
        assert theirs.tobytes() == value.numpy().tobytes(), name


def test_a_torch_checkpoint_loads_into_gradwire_bit_identical(session, tmp_path):
    model, reference = _models(session)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(reference.state_dict(), str(path))
    state = gw.load(path, session)
    assert sorted(state) == sorted(reference.state_dict())  # a file without gradwire's metadata: flat
    assert all(isinstance(v, gw.Tensor) and not v.requires_grad for v in state.values())
    model.load_state_dict(state)
    for name, value in reference.state_dict().items():
        assert model.state_dict()[name].numpy().tobytes() == value.numpy().tobytes(), name
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    out, expected = model(session.tensor(x)).detach().numpy(), reference(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)  # float32 matmuls: rounding order only


def test_there_and_back_keeps_every_dtype_and_order(session, tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "z.first": rng.standard_normal((2, 3)).astype(np.float32),
        "a.double": rng.standard_normal(4),
        "m.half": rng.standard_normal(3).astype(np.float16),
        "steps": np.array(7, dtype=np.int64),
        "ids": np.arange(5, dtype=np.int32),
        "mask": np.array([True, False, True]),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    state = {k: session.tensor(v) for k, v in arrays.items()}
    path = tmp_path / "all.safetensors"
    gw.save(state, path)
    back = gw.load(path, session)
    assert list(back) == list(arrays)  # the saved order, though safetensors sorts its keys
    for key, array in arrays.items():
        got = back[key].numpy()
        assert got.dtype == array.dtype and got.shape == array.shape and got.tobytes() == array.tobytes(), key
    through_torch = safetensors_torch.load_file(str(path))
    assert through_torch["mask"].dtype == torch.bool and through_torch["steps"].shape == ()


def test_large_tensors_travel_on_the_chunked_streams(session, tmp_path, monkeypatch):
    big = np.random.default_rng(0).standard_normal(3 * (1 << 20) // 8 + 5)  # 3 MiB: above the 1 MiB inline limit
    assert big.nbytes > session.limits.inline_bytes
    uploads, downloads = [], []
    real_upload, real_download = session._upload, session._download
    monkeypatch.setattr(session, "_upload", lambda handle, array, rg: (uploads.append(array.nbytes), real_upload(handle, array, rg))[1])
    monkeypatch.setattr(session, "_download", lambda handle: (downloads.append(handle), real_download(handle))[1])
    state = {"big": session.tensor(big), "small": session.tensor(np.ones(3))}
    path = tmp_path / "big.safetensors"
    gw.save(state, path)
    back = gw.load(path, session)
    assert back["big"].numpy().tobytes() == big.tobytes()
    assert uploads == [big.nbytes, big.nbytes]  # the original and the loaded copy; the small one went inline
    assert len(downloads) == 2  # saving, and reading back


def test_an_optimizer_checkpoint_continues_training_identically(session, server, tmp_path):
    """Train, save model and optimizer, train on; a new session loading the files trains the same."""
    x = np.random.default_rng(1).standard_normal((16, 3)).astype(np.float32)
    y = np.random.default_rng(2).standard_normal((16, 2)).astype(np.float32)

    def train(model, opt, session, steps):
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.mse_loss(model(session.tensor(x)), session.tensor(y)).backward()
            opt.step()

    model, _ = _models(session)
    opt = gw.optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    train(model, opt, session, 3)
    gw.save(model.state_dict(), tmp_path / "model.safetensors")
    gw.save(opt.state_dict(), tmp_path / "optim.safetensors")
    train(model, opt, session, 3)
    expected = {k: v.numpy() for k, v in model.state_dict().items()}

    with safe_open(str(tmp_path / "optim.safetensors"), framework="numpy") as f:
        assert sorted(f.keys()) == sorted(f"state.{i}.{k}" for i in range(4) for k in ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"))
        structure = json.loads(f.metadata()["gradwire.structure"])
    assert structure["__dict__"][0][0] == "state"

    with gw.connect(server.address, seed=5, timeout=10) as other:
        restored, _ = _models(other)
        restored.load_state_dict(gw.load(tmp_path / "model.safetensors", other))
        opt2 = gw.optim.Adam(restored.parameters(), lr=0.5)
        saved = gw.load(tmp_path / "optim.safetensors", other)
        assert saved["param_groups"][0]["betas"] == (0.9, 0.999) and saved["state"][0]["step"] == 3.0
        opt2.load_state_dict(saved)
        assert opt2.param_groups[0]["lr"] == 0.01
        train(restored, opt2, other, 3)
        for name, value in restored.state_dict().items():
            assert value.numpy().tobytes() == expected[name].tobytes(), name


def test_nested_structures_come_back_as_they_went(session, tmp_path):
    t = session.tensor([1.0, 2.0])
    state = {"a": {0: t, 1: {"k": (1, 2.5, None)}}, "b": [True, "text", 3], "c": float("inf")}
    gw.save(state, tmp_path / "n.safetensors")
    back = gw.load(tmp_path / "n.safetensors", session)
    assert back["a"][0].tolist() == [1.0, 2.0]
    assert back["a"][1] == {"k": (1, 2.5, None)} and back["b"] == [True, "text", 3] and back["c"] == float("inf")


def test_a_tensor_or_a_list_goes_to_a_file_object_and_back_as_with_torch_save(session, tmp_path):
    """torch.save's habits: any nest (a lone tensor too), a file object for the path, torch.load's keywords."""
    import io

    t = session.tensor([1.5, -2.0])
    buffer = io.BytesIO()
    gw.save(t, buffer)
    buffer.seek(0)
    back = gw.load(buffer)  # no session named: the only open one
    assert isinstance(back, gw.Tensor) and back.tolist() == [1.5, -2.0]
    gw.save([t, (t, 7)], tmp_path / "nest.pt")
    nest = gw.load(tmp_path / "nest.pt", map_location="cpu", weights_only=True)
    assert nest[0].tolist() == [1.5, -2.0] and nest[1][0].tolist() == [1.5, -2.0] and nest[1][1] == 7
    assert gw.load(tmp_path / "nest.pt", "cpu")[1][1] == 7  # torch.load(f, "cpu"): the map location, not a session


def test_a_torch_pickle_checkpoint_is_refused_with_the_way_to_convert_it(session, tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "model.pt")
    with pytest.raises(ValueError, match=r"written by torch.save .*safetensors.torch.save_file"):
        gw.load(tmp_path / "model.pt", session)
    with open(tmp_path / "model.pt", "rb") as f, pytest.raises(ValueError, match="written by torch.save"):
        gw.load(f, session)


def test_bad_input_raises_clearly(session, tmp_path):
    with pytest.raises(TypeError, match="cannot store a object"):
        gw.save({"x": object()}, tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="same key 'a.b'"):
        gw.save({"a": {"b": session.zeros(1)}, "a.b": session.zeros(1)}, tmp_path / "x.safetensors")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        gw.load(tmp_path / "missing.safetensors", session)


def test_a_torch_optimizer_checkpoint_continues_in_gradwire_as_in_torch(session, tmp_path):
    """torch trains 2 steps; its model and Adam state go through gw.save into gradwire; both train on alike."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    topt = torch.optim.Adam(reference.parameters(), lr=0.05, amsgrad=True)

    def torch_steps(n):
        for _ in range(n):
            topt.zero_grad()
            torch.nn.functional.mse_loss(reference(torch.from_numpy(x)), torch.from_numpy(y)).backward()
            topt.step()

    torch_steps(2)
    gw.save(reference.state_dict(), tmp_path / "model.safetensors")
    gw.save(topt.state_dict(), tmp_path / "optim.safetensors")  # torch tensors, a 0-d tensor step
    model = nn.Sequential(nn.Linear(3, 5, session=session, dtype="float64"), nn.Tanh(), nn.Linear(5, 2, session=session, dtype="float64"))
    model.load_state_dict(gw.load(tmp_path / "model.safetensors", session))
    gopt = gw.optim.Adam(model.parameters())
    gopt.load_state_dict(gw.load(tmp_path / "optim.safetensors", session))
    assert gopt.param_groups[0]["lr"] == 0.05 and gopt.param_groups[0]["amsgrad"] is True
    torch_steps(3)
    for _ in range(3):
        gopt.zero_grad()
        nn.functional.mse_loss(model(session.tensor(x)), session.tensor(y)).backward()
        gopt.step()
    for name, value in reference.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[name].numpy(), value.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
