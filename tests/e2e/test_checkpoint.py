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


@pytest.mark.parametrize("to_file", [False, True])
def test_a_tensor_that_required_grad_requires_it_again_once_loaded_as_with_torch(session, tmp_path, to_file):
    import io

    values = [1.5, -2.0]
    w, tw = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    saved = lambda w: {"w": w, "y": w * 2, "d": w.detach(), "nest": [(w,)]}  # noqa: E731
    target = tmp_path / "g.safetensors" if to_file else io.BytesIO()
    gw.save(saved(w), target)
    torch_target = io.BytesIO()
    torch.save(saved(tw), torch_target)
    if not to_file:
        target.seek(0)
    torch_target.seek(0)
    back, theirs = gw.load(target, session), torch.load(torch_target)
    for key in ("w", "y", "d"):
        assert (back[key].requires_grad, back[key].is_leaf) == (theirs[key].requires_grad, theirs[key].is_leaf), key
    assert back["nest"][0][0].requires_grad and back["y"].grad_fn is None
    (back["w"] * back["y"]).sum().backward()  # they train on as leaves, as torch's do
    (theirs["w"] * theirs["y"]).sum().backward()
    assert back["w"].grad.tolist() == theirs["w"].grad.tolist() == [3.0, -4.0]
    assert back["y"].grad.tolist() == theirs["y"].grad.tolist() == values
    assert not back["d"].requires_grad and back["d"].grad is None


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


# --- gw.utils.checkpoint: activation checkpointing, against torch.utils.checkpoint --------------------------------------

import warnings  # noqa: E402

import torch.utils.checkpoint as torch_checkpoint  # noqa: E402

import gradwire.utils.checkpoint as gw_checkpoint  # noqa: E402

_XS = np.array([[1.0, 2.0], [-0.5, 0.25]])
_WS = np.array([[0.5, -1.0], [0.3, 0.2]])


def _lib_checkpoint(lib):
    return gw_checkpoint if lib is gw else torch_checkpoint


def _make(lib, session, array, requires_grad=False):
    return session.tensor(array, requires_grad=requires_grad) if lib is gw else torch.tensor(array, requires_grad=requires_grad)


def _linear(lib, session):
    layer = nn.Linear(2, 2, session=session).double() if lib is gw else torch.nn.Linear(2, 2).double()
    with (gw if lib is gw else torch).no_grad():
        layer.weight.copy_(_make(lib, session, _WS))
        layer.bias.fill_(0.1)
    return layer


def _as_np(t):
    return None if t is None else np.asarray(t.detach().tolist())


def _both(program, session):
    return program(gw, session), program(torch, None)


def _same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    else:
        assert ours == theirs


def test_non_reentrant_checkpoint_gives_the_parameters_their_grads_when_no_input_requires_grad(session):
    def program(lib, session):
        layer = _linear(lib, session)
        y = _lib_checkpoint(lib).checkpoint(layer, _make(lib, session, _XS), use_reentrant=False)
        (y ** 2).sum().backward()
        return y.requires_grad, _as_np(layer.weight.grad), _as_np(layer.bias.grad)

    ours, theirs = _both(program, session)
    assert theirs[0] is True
    _same(ours, theirs)


def test_non_reentrant_checkpoint_takes_grad_double_backward_hooks_and_keywords(session):
    def program(lib, session):
        x, w = _make(lib, session, _XS, True), _make(lib, session, _WS, True)
        calls = []

        def block(a, b, scale=1.0):
            h = (a @ b).tanh()
            h.register_hook(lambda g: calls.append(1) or g * 10)
            return h.sin() * scale

        y = _lib_checkpoint(lib).checkpoint(block, x, w, scale=3.0, use_reentrant=False)
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        g.sum().backward()
        return _as_np(g), _as_np(w.grad), len(calls)

    _same(*_both(program, session))


def test_reentrant_checkpoint_refuses_grad_and_backward_inputs_in_torchs_words(session):
    for lib, session_ in ((torch, None), (gw, session)):
        x = _make(lib, session_, _XS, True)
        for run in (lambda y: lib.autograd.grad(y.sum(), x), lambda y: y.sum().backward(inputs=[x])):
            y = _lib_checkpoint(lib).checkpoint(lambda a: a.sin() * 2, x, use_reentrant=True)
            with pytest.raises(RuntimeError, match=r"^When use_reentrant=True, torch.utils.checkpoint is incompatible with \.grad\(\) or "
                                                   r"passing an `inputs` parameter to \.backward\(\)\. To resolve this error"):
                run(y)
        y = _lib_checkpoint(lib).checkpoint(lambda a: a.sin() * 2, x, use_reentrant=True)
        y.sum().backward()  # a plain backward is fine
        np.testing.assert_allclose(_as_np(x.grad), 2 * np.cos(_XS), rtol=1e-12)


def test_checkpoints_warnings_and_argument_errors_are_torchs(session):
    x, tx = session.tensor(_XS, requires_grad=True), torch.tensor(_XS, requires_grad=True)
    calls = [
        lambda lib, a: _lib_checkpoint(lib).checkpoint(lambda b: b * 2, a),
        lambda lib, a: _lib_checkpoint(lib).checkpoint(lambda b: b * 2, a.detach(), use_reentrant=True),
        lambda lib, a: _lib_checkpoint(lib).checkpoint_sequential([lib.nn.Tanh(), lib.nn.Tanh()], 2, a),
    ]
    for call in calls:
        seen = []
        for lib, a in ((torch, tx), (gw, x)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                call(lib, a)
            seen.append([(w.category, str(w.message)) for w in caught if "checkpoint" in str(w.message) or "requires_grad" in str(w.message)])
        assert seen[0] and seen[1] == seen[0]
    errors = [
        lambda lib, a: _lib_checkpoint(lib).checkpoint(lambda b, s=1: b * s, a, s=2, use_reentrant=True),
        lambda lib, a: _lib_checkpoint(lib).checkpoint(lambda b: b, a, use_reentrant=True, debug=True),
        lambda lib, a: _lib_checkpoint(lib).checkpoint(lambda b: b, a, use_reentrant=False, determinism_check="strict"),
        lambda lib, a: _lib_checkpoint(lib).checkpoint_sequential([lib.nn.Tanh()], 1, a, use_reentrant=False, foo=1),
    ]
    for call in errors:
        with pytest.raises(ValueError) as theirs:
            call(torch, tx)
        with pytest.raises(ValueError) as ours:
            call(gw, x)
        assert str(ours.value) == str(theirs.value)


def test_checkpoint_sequential_matches_torch(session):
    def program(lib, session):
        layers = [lib.nn.Linear(2, 2), lib.nn.Tanh(), lib.nn.Linear(2, 2), lib.nn.Tanh(), lib.nn.Linear(2, 1)] if lib is torch else \
            [nn.Linear(2, 2, session=session), nn.Tanh(), nn.Linear(2, 2, session=session), nn.Tanh(), nn.Linear(2, 1, session=session)]
        seq = lib.nn.Sequential(*layers).double()
        with (gw if lib is gw else torch).no_grad():
            for p in seq.parameters():
                p.fill_(0.3)
        results = []
        for reentrant, segments in ((False, 2), (True, 3)):
            seq.zero_grad()
            x = _make(lib, session, _XS, True)
            y = _lib_checkpoint(lib).checkpoint_sequential(seq, segments, x, use_reentrant=reentrant)
            y.sum().backward()
            results += [_as_np(y), _as_np(x.grad), _as_np(seq[0].weight.grad)]
        return results

    _same(*_both(program, session))
