"""Recurrent layers through the SDK against PyTorch's, with torch's own weights loaded: outputs, final
states and gradients (input, weights, initial state)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")


def close(ours, theirs, what, atol=1e-5):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5, atol=atol, err_msg=what)


_LAYERS = [
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"batch_first": True, "bias": False}),
    ("GRU", {}),
    ("GRU", {"num_layers": 2, "batch_first": True, "bidirectional": True}),
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
]


@pytest.mark.parametrize("name, kwargs", _LAYERS, ids=[f"{n}-{k}" for n, k in _LAYERS])
@pytest.mark.parametrize("with_state", [False, True])
def test_recurrent_layer_matches_torch(session, name, kwargs, with_state):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(3, 4, **kwargs)
    ours = getattr(gw.nn, name)(3, 4, session=session, **kwargs)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(1)
    length, batch = 5, 2
    x = rng.standard_normal((batch, length, 3) if kwargs.get("batch_first") else (length, batch, 3)).astype(np.float32)
    xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    if with_state:
        h0 = rng.standard_normal((layers, batch, 4)).astype(np.float32)
        hs, ht = session.tensor(h0, requires_grad=True), torch.tensor(h0, requires_grad=True)
        if name == "LSTM":
            c0 = rng.standard_normal((layers, batch, 4)).astype(np.float32)
            state, t_state = (hs, session.tensor(c0)), (ht, torch.from_numpy(c0))
        else:
            state, t_state = hs, ht
        out, final = ours(xs, state)
        t_out, t_final = theirs(xt, t_state)
    else:
        out, final = ours(xs)
        t_out, t_final = theirs(xt)
    close(out, t_out, "output")
    finals, t_finals = (final, t_final) if name == "LSTM" else ((final,), (t_final,))
    for k, (ours_state, their_state) in enumerate(zip(finals, t_finals)):
        close(ours_state, their_state, f"final state {k}")
    cotangent = rng.standard_normal(tuple(t_out.shape)).astype(np.float32)
    (out * session.tensor(cotangent)).sum().backward()
    (t_out * torch.from_numpy(cotangent)).sum().backward()
    close(xs.grad, xt.grad, "d/dinput")
    for (param_name, p), (_, t) in zip(ours.named_parameters(), theirs.named_parameters()):
        close(p.grad, t.grad, f"d/d{param_name}")
    if with_state:
        close(hs.grad, ht.grad, "d/dh0")


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_match_torch(session, name):
    torch.manual_seed(2)
    theirs, ours = getattr(torch.nn, name)(3, 4), getattr(gw.nn, name)(3, 4, session=session)
    assert repr(ours) == repr(theirs)
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(3)
    xs_t = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3)]
    state, t_state = None, None
    for x in xs_t:  # three steps, the state carried, as a hand-written loop does
        state, t_state = ours(session.tensor(x), state), theirs(torch.from_numpy(x), t_state)
    hs, ht = (state[0], t_state[0]) if name == "LSTMCell" else (state, t_state)
    close(hs, ht, "state after three steps")
    hs.sum().backward(), ht.sum().backward()
    close(ours.weight_hh.grad, theirs.weight_hh.grad, "d/dweight_hh")
    single = ours(session.tensor(xs_t[0][0]))  # unbatched
    assert (single[0] if name == "LSTMCell" else single).shape == (4,)


def test_unbatched_sequences_and_bad_sizes_as_in_torch(session):
    torch.manual_seed(4)
    theirs, ours = torch.nn.GRU(3, 4), gw.nn.GRU(3, 4, session=session)
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(5).standard_normal((6, 3)).astype(np.float32)
    out, h = ours(session.tensor(x))
    t_out, t_h = theirs(torch.from_numpy(x))
    close(out, t_out, "unbatched output")
    close(h, t_h, "unbatched state")
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 5"):
        ours(session.ones(2, 1, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]"):
        ours(session.ones(5, 2, 3), session.zeros(1, 3, 4))


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_packed_sequences_match_torch(session, mode):
    from gradwire.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence

    values, lengths = np.random.default_rng(3).standard_normal((3, 5, 4)), [5, 2, 3]
    torch.manual_seed(0)
    theirs = getattr(torch.nn, mode)(4, 6, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64)
    ours = getattr(gw.nn, mode)(4, 6, num_layers=2, bidirectional=True, batch_first=True, session=session, dtype=gw.float64)
    ours.load_state_dict(theirs.state_dict())
    x, tx = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    t_packed = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first=True, enforce_sorted=False)
    np.testing.assert_array_equal(packed.data.detach().numpy(), t_packed.data.detach().numpy())
    assert packed.batch_sizes.tolist() == t_packed.batch_sizes.tolist()
    (out, state), (t_out, t_state) = ours(packed), theirs(t_packed)
    (out, out_lengths), (t_out, t_lengths) = pad_packed_sequence(out, batch_first=True), torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True)
    h, t_h = (state[0], t_state[0]) if mode == "LSTM" else (state, t_state)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.detach().numpy(), t_h.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert out_lengths.tolist() == t_lengths.tolist()
    (out.sum() + (h * h).sum()).backward(), (t_out.sum() + (t_h * t_h).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    padded, _ = pad_packed_sequence(pack_sequence([x[0], x[2, :3]]), padding_value=-1.0, total_length=6)
    t_padded, _ = torch.nn.utils.rnn.pad_packed_sequence(torch.nn.utils.rnn.pack_sequence([tx[0], tx[2, :3]]), padding_value=-1.0, total_length=6)
    np.testing.assert_array_equal(padded.detach().numpy(), t_padded.detach().numpy())
    with pytest.raises(gw.InvalidArgumentError, match="must be sorted in decreasing order when `enforce_sorted` is True"):
        pack_padded_sequence(x, lengths, batch_first=True)


@pytest.mark.parametrize("kwargs", [{}, {"num_layers": 2, "bidirectional": True}, {"batch_first": True, "bias": False, "num_layers": 2}],
                         ids=["one-layer", "two-layers-bidirectional", "batch-first-no-bias"])
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_with_projections_matches_torch(session, kwargs, with_state):
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 5, proj_size=2, dtype=torch.float64, **kwargs)
    ours = gw.nn.LSTM(3, 5, proj_size=2, session=session, dtype=gw.float64, **kwargs)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    bound = 1 / math.sqrt(5)
    assert all(-bound <= v <= bound for p in ours.parameters() for v in p.detach().numpy().ravel())
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(2)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    x = rng.standard_normal((2, 4, 3) if kwargs.get("batch_first") else (4, 2, 3))
    xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if with_state:
        h0, c0 = rng.standard_normal((layers, 2, 2)), rng.standard_normal((layers, 2, 5))
        hs, cs = session.tensor(h0, requires_grad=True), session.tensor(c0, requires_grad=True)
        ht, ct = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
        (out, (h, c)), (t_out, (t_h, t_c)) = ours(xs, (hs, cs)), theirs(xt, (ht, ct))
    else:
        (out, (h, c)), (t_out, (t_h, t_c)) = ours(xs), theirs(xt)
    assert tuple(out.shape) == tuple(t_out.shape) and out.shape[-1] == 2 * (2 if kwargs.get("bidirectional") else 1)
    for ours_value, their_value, what in ((out, t_out, "output"), (h, t_h, "h_n"), (c, t_c, "c_n")):
        close(ours_value, their_value, what, atol=1e-10)
    cotangent = rng.standard_normal(tuple(t_out.shape))
    ((out * session.tensor(cotangent)).sum() + (h * h).sum() + c.sum()).backward()
    ((t_out * torch.from_numpy(cotangent)).sum() + (t_h * t_h).sum() + t_c.sum()).backward()
    close(xs.grad, xt.grad, "d/dinput", atol=1e-10)
    for (name, p), (_, t) in zip(ours.named_parameters(), theirs.named_parameters()):
        close(p.grad, t.grad, f"d/d{name}", atol=1e-10)
    if with_state:
        close(hs.grad, ht.grad, "d/dh0", atol=1e-10)
        close(cs.grad, ct.grad, "d/dc0", atol=1e-10)


def test_lstm_projection_checks_as_in_torch(session):
    for kwargs, message in (({"proj_size": 5}, "proj_size has to be smaller than hidden_size"),
                            ({"proj_size": -1}, "proj_size should be a positive integer or zero to disable projections")):
        with pytest.raises(ValueError, match=message):
            torch.nn.LSTM(3, 5, **kwargs)
        with pytest.raises(ValueError, match=message):
            gw.nn.LSTM(3, 5, session=session, **kwargs)
    ours = gw.nn.LSTM(3, 5, num_layers=2, proj_size=2, session=session)
    x = session.zeros(4, 2, 3)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 2, 2\), got \[2, 2, 5\]"):
        ours(x, (session.zeros(2, 2, 5), session.zeros(2, 2, 5)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(2, 2, 5\), got \[2, 2, 2\]"):
        ours(x, (session.zeros(2, 2, 2), session.zeros(2, 2, 2)))


@pytest.mark.parametrize("name, gates", [("lstm_cell", 4), ("gru_cell", 3), ("rnn_tanh_cell", 1), ("rnn_relu_cell", 1)])
@pytest.mark.parametrize("batched", [True, False])
def test_torchs_functional_cells_match_torch(session, name, gates, batched):
    rng = np.random.default_rng(21)
    arrays = [rng.standard_normal(s) for s in ((3, 4), (3, 5), (3, 5), (gates * 5, 4), (gates * 5, 5), (gates * 5,), (gates * 5,))]
    if not batched:
        arrays[:3] = [a[0] for a in arrays[:3]]
    ours = [session.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    def run(lib, t):
        hx = (t[1], t[2]) if name == "lstm_cell" else t[1]
        out = getattr(lib, name)(t[0], hx, *t[3:])
        return out if name == "lstm_cell" else (out,)
    if not batched:  # torch's functional cells take a batch only
        with pytest.raises(IndexError) as t_error:
            run(torch, theirs)
        with pytest.raises(IndexError) as g_error:
            run(gw, ours)
        assert str(g_error.value) == str(t_error.value)
        return
    g_out, t_out = run(gw, ours), run(torch, theirs)
    for g, t in zip(g_out, t_out):
        np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=1e-10)
    sum(o.sum() for o in g_out).backward()
    sum(o.sum() for o in t_out).backward()
    for g, t in zip(ours, theirs):
        if t.grad is None:
            assert g.grad is None
        else:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_base_classes_and_weight_lists_as_torchs(session):
    """Code that finds recurrent layers by ``isinstance(m, nn.RNNBase)`` and walks ``all_weights`` (the usual
    orthogonal-init loop) sees torch's classes, names and order; ``flatten_parameters()`` is accepted."""
    for name, kwargs in (("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}), ("GRU", {"bias": False}), ("RNN", {})):
        ours, theirs = getattr(gw.nn, name)(3, 4, **kwargs), getattr(torch.nn, name)(3, 4, **kwargs)
        assert isinstance(ours, gw.nn.RNNBase) and not isinstance(ours, gw.nn.RNNCellBase)
        assert ours._flat_weights_names == theirs._flat_weights_names
        assert [[tuple(p.shape) for p in layer] for layer in ours.all_weights] == [[tuple(p.shape) for p in layer] for layer in theirs.all_weights]
        assert all(p is getattr(ours, n) for p, n in zip(ours._flat_weights, ours._flat_weights_names))
        ours.flatten_parameters()
    assert [tuple(p.shape) for p in gw.nn.RNNBase("GRU", 3, 4, 2).parameters()] == [tuple(p.shape) for p in torch.nn.RNNBase("GRU", 3, 4, 2).parameters()]
    for build in (lambda nn: nn.RNNBase("LSTMX", 3, 4), lambda nn: nn.RNNBase("GRU", 3, 4)(None), lambda nn: nn.RNNCellBase(3, 4, True, 2)(None)):
        with pytest.raises((ValueError, NotImplementedError)) as t_error:
            build(torch.nn)
        with pytest.raises(type(t_error.value)) as g_error:
            build(gw.nn)
        assert str(g_error.value) == str(t_error.value)
    for name, chunks in (("LSTMCell", 4), ("GRUCell", 3), ("RNNCell", 1)):
        cell = getattr(gw.nn, name)(3, 4)
        assert isinstance(cell, gw.nn.RNNCellBase) and tuple(cell.weight_ih.shape) == (4 * chunks, 3)
        before = cell.weight_hh.detach().numpy().copy()
        cell.reset_parameters()  # torch's cells have it: a fresh uniform(-1/sqrt(h), 1/sqrt(h)) draw
        after = cell.weight_hh.detach().numpy()
        assert not np.array_equal(before, after) and np.abs(after).max() <= 0.5


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("input_dtype, model_dtype", [("float64", "float32"), ("float32", "float64"), ("int64", "float32")])
def test_an_input_of_another_dtype_than_the_weights_is_refused_as_torch(session, layer, input_dtype, model_dtype):
    x = np.ones((5, 2, 3), dtype=input_dtype)
    with pytest.raises(ValueError) as theirs:
        getattr(torch.nn, layer)(3, 4).to(getattr(torch, model_dtype))(torch.tensor(x))
    with pytest.raises(ValueError) as ours:
        getattr(gw.nn, layer)(3, 4, session=session).to(getattr(gw, model_dtype))(session.tensor(x))
    assert str(ours.value) == str(theirs.value)  # "... Convert input: input.to(torch.float32), or convert model: ..."
