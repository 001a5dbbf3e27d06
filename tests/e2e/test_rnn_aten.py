"""PyTorch's whole-sequence functions ``torch.lstm``, ``gru``, ``rnn_tanh`` and ``rnn_relu`` (the ATen ops under
nn.LSTM/GRU/RNN, over a flat weight list) through the SDK against torch's: outputs, final states and gradients for the
input, the initial state and every weight, in the padded and the packed form; their mistakes refused in torch's words."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

_MODULES = {"lstm": ("LSTM", {}), "gru": ("GRU", {}), "rnn_tanh": ("RNN", {}), "rnn_relu": ("RNN", {"nonlinearity": "relu"})}


def close(ours, theirs, what):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=what)


def _weights(session, name, num_layers=1, bidirectional=False, bias=True, proj_size=0, hidden=4):
    """torch's own flat weights (float64) for ``name``, as leaf tensors on both sides."""
    module_name, extra = _MODULES[name]
    torch.manual_seed(0)
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias, dtype=torch.float64, **extra)
    if proj_size:
        kwargs["proj_size"] = proj_size
    module = getattr(torch.nn, module_name)(3, hidden, **kwargs)
    arrays = [w.detach().numpy().copy() for w in module._flat_weights]
    return [session.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


def _states(session, name, layers, batch, hidden=4, proj_size=0, seed=1):
    rng = np.random.default_rng(seed)
    shapes = [(layers, batch, proj_size or hidden)] + ([(layers, batch, hidden)] if name == "lstm" else [])
    arrays = [rng.standard_normal(s) for s in shapes]
    ours, theirs = [session.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs, ((tuple(ours), tuple(theirs)) if name == "lstm" else (ours[0], theirs[0]))


def _backward_and_compare(session, g_results, t_results, leaves):
    """A random cotangent on every result, then each leaf's gradient against torch's."""
    rng = np.random.default_rng(7)
    g_loss, t_loss = 0, 0
    for g, t in zip(g_results, t_results):
        assert tuple(g.shape) == tuple(t.shape)
        close(g, t, "result")
        cotangent = rng.standard_normal(tuple(t.shape))
        g_loss, t_loss = g_loss + (g * session.tensor(cotangent)).sum(), t_loss + (t * torch.from_numpy(cotangent)).sum()
    g_loss.backward()
    t_loss.backward()
    for k, (g, t) in enumerate(leaves):
        close(g.grad, t.grad, f"gradient of leaf {k}")


_CASES = [
    ("lstm", {}),
    ("lstm", {"num_layers": 2, "bidirectional": True}),
    ("lstm", {"batch_first": True, "bias": False}),
    ("lstm", {"proj_size": 2, "num_layers": 2, "bidirectional": True}),
    ("lstm", {"proj_size": 2, "bias": False, "batch_first": True}),
    ("gru", {}),
    ("gru", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("gru", {"bias": False}),
    ("rnn_tanh", {"num_layers": 2}),
    ("rnn_tanh", {"bidirectional": True, "batch_first": True, "bias": False}),
    ("rnn_relu", {}),
    ("rnn_relu", {"num_layers": 2, "bidirectional": True}),
]


@pytest.mark.parametrize("name, kwargs", _CASES, ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'plain'}" for n, kw in _CASES])
def test_whole_sequence_functions_match_torch(session, name, kwargs):
    num_layers, bidirectional = kwargs.get("num_layers", 1), kwargs.get("bidirectional", False)
    batch_first, bias, proj_size = kwargs.get("batch_first", False), kwargs.get("bias", True), kwargs.get("proj_size", 0)
    params, t_params = _weights(session, name, num_layers, bidirectional, bias, proj_size)
    length, batch = 4, 2
    x = np.random.default_rng(0).standard_normal((batch, length, 3) if batch_first else (length, batch, 3))
    xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    states, t_states, (hx, t_hx) = _states(session, name, num_layers * (2 if bidirectional else 1), batch, proj_size=proj_size)
    # dropout > 0 with train=False: no dropout, as torch's
    ours = getattr(gw, name)(xs, hx, params, bias, num_layers, 0.5, False, bidirectional, batch_first)
    theirs = getattr(torch, name)(xt, t_hx, t_params, bias, num_layers, 0.5, False, bidirectional, batch_first)
    assert type(ours) is type(theirs) is tuple and len(ours) == len(theirs) == (3 if name == "lstm" else 2)
    _backward_and_compare(session, ours, theirs, [(xs, xt), *zip(states, t_states), *zip(params, t_params)])


def test_the_layers_run_the_same_function(session):
    """nn.LSTM's forward and gw.lstm over its _flat_weights agree, keyword arguments taken as torch's."""
    layer = gw.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, session=session, dtype=gw.float64)
    x = session.tensor(np.random.default_rng(2).standard_normal((2, 5, 3)))
    h0, c0 = session.zeros(4, 2, 4, dtype=gw.float64), session.zeros(4, 2, 4, dtype=gw.float64)
    out, (h, c) = layer(x, (h0, c0))
    f_out, f_h, f_c = gw.lstm(x, [h0, c0], layer._flat_weights, has_biases=True, num_layers=2, dropout=0.0, train=True,
                              bidirectional=True, batch_first=True)
    for a, b in ((out, f_out), (h, f_h), (c, f_c)):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_dropout_between_layers_when_training(session):
    """train=True with dropout draws gw's dropout between the layers, as nn.GRU does (the same draws from the same seed);
    dropout=1 zeroes the second layer's input, which torch's gives deterministically too."""
    params, t_params = _weights(session, "gru", num_layers=2)
    x = np.random.default_rng(3).standard_normal((5, 2, 3))
    h0 = np.zeros((2, 2, 4))
    layer = gw.nn.GRU(3, 4, num_layers=2, dropout=0.5, session=session, dtype=gw.float64)
    for name, p in zip(layer._flat_weights_names, params):
        getattr(layer, name).data = p.detach()
    session.manual_seed(5)
    out, h = layer(session.tensor(x), session.tensor(h0))
    session.manual_seed(5)
    f_out, f_h = gw.gru(session.tensor(x), session.tensor(h0), params, True, 2, 0.5, True, False, False)
    np.testing.assert_array_equal(out.detach().numpy(), f_out.detach().numpy())
    np.testing.assert_array_equal(h.detach().numpy(), f_h.detach().numpy())
    plain, _ = gw.gru(session.tensor(x), session.tensor(h0), params, True, 2, 0.5, False, False, False)
    assert not np.allclose(plain.detach().numpy(), f_out.detach().numpy())
    ours = gw.gru(session.tensor(x), session.tensor(h0), params, True, 2, 1.0, True, False, False)
    theirs = torch.gru(torch.from_numpy(x), torch.from_numpy(h0), t_params, True, 2, 1.0, True, False, False)
    for g, t in zip(ours, theirs):
        close(g, t, "dropout=1")


@pytest.mark.parametrize("name", ["lstm", "gru", "rnn_tanh"])
def test_packed_form_matches_torch(session, name):
    from gradwire.nn.utils.rnn import pack_sequence

    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((n, 3)) for n in (5, 3, 2)]
    seqs, t_seqs = [session.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]
    packed, t_packed = pack_sequence(seqs), torch.nn.utils.rnn.pack_sequence(t_seqs)
    params, t_params = _weights(session, name, num_layers=2, bidirectional=True)
    states, t_states, (hx, t_hx) = _states(session, name, 4, 3)
    ours = getattr(gw, name)(packed.data, packed.batch_sizes, hx, params, True, 2, 0.0, False, True)
    theirs = getattr(torch, name)(t_packed.data, t_packed.batch_sizes, t_hx, t_params, True, 2, 0.0, False, True)
    assert len(ours) == len(theirs) and tuple(ours[0].shape) == (10, 8)
    _backward_and_compare(session, ours, theirs, [*zip(seqs, t_seqs), *zip(states, t_states), *zip(params, t_params)])


def _refused_alike(ours, theirs, kind=RuntimeError):
    with pytest.raises(kind) as t_error:
        theirs()
    with pytest.raises(kind) as g_error:
        ours()
    assert str(g_error.value) == str(t_error.value)
    return g_error.value


def test_mistakes_refused_in_torchs_words(session):
    params, t_params = _weights(session, "gru", num_layers=2)
    lstm, t_lstm = _weights(session, "lstm")
    x, xt = session.zeros(5, 2, 3, dtype=gw.float64), torch.zeros(5, 2, 3, dtype=torch.float64)
    h, ht = session.zeros(2, 2, 4, dtype=gw.float64), torch.zeros(2, 2, 4, dtype=torch.float64)

    def both(name, *args, t_args=None, **kwargs):
        return (lambda: getattr(gw, name)(*args, **kwargs)), (lambda: getattr(torch, name)(*t_args, **kwargs))

    cases = [
        (("gru", x, h, params[:-1], True, 2, 0.0, False, False, False), (xt, ht, t_params[:-1], True, 2, 0.0, False, False, False)),
        (("gru", x, h, params, True, 1, 0.0, False, False, False), (xt, ht, t_params, True, 1, 0.0, False, False, False)),
        (("gru", x, h[:1], params, True, 1, 0.0, False, False, False), (xt, ht[:1], t_params, True, 1, 0.0, False, False, False)),
        (("gru", x, h[:1], params[:4], True, 1, 0.0, False, True, False), (xt, ht[:1], t_params[:4], True, 1, 0.0, False, True, False)),
        (("gru", x, h, params, True, 2, 1.5, True, False, False), (xt, ht, t_params, True, 2, 1.5, True, False, False)),
        (("lstm", x, (h[:1],), lstm, True, 1, 0.0, False, False, False), (xt, (ht[:1],), t_lstm, True, 1, 0.0, False, False, False)),
    ]
    messages = [str(_refused_alike(*both(*g, t_args=t))) for g, t in cases]
    assert messages == ["got an incorrect number of RNN parameters", "Expected more hidden states in stacked_rnn",
                        "Expected more weights in stacked_rnn", "Odd number of params or hiddens given to a bidirectional RNN",
                        "dropout probability has to be between 0 and 1, but got 1.5", "lstm expects two hidden states"]
    # an unbatched sequence: torch's ATen functions take a batch only (an IndexError there, from deep inside)
    with pytest.raises(IndexError):
        torch.gru(xt[:, 0], ht[:1, 0], t_params[:4], True, 1, 0.0, False, False, False)
    with pytest.raises(IndexError, match=r"gru: Expected input to be 3D \(a batch: torch.gru takes no unbatched sequence\), got 2D instead"):
        gw.gru(x[:, 0], h[:1, 0], params[:4], True, 1, 0.0, False, False, False)
    _refused_alike(lambda: gw.lstm(), lambda: torch.lstm(), kind=TypeError)  # both overloads named
    _refused_alike(*both("gru", x, h, [1, 2], True, 1, 0.0, False, False, False, t_args=(xt, ht, [1, 2], True, 1, 0.0, False, False, False)),
                   kind=TypeError)
    # where torch's own check is missing (it broadcasts or crashes), gw refuses in its layers' words
    with pytest.raises(gw.InvalidArgumentError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 1, 4\]"):
        gw.gru(x, h[:1, :1], params[:4], True, 1, 0.0, False, False, False)


def test_packed_form_checks_its_batch_sizes(session):
    params, _ = _weights(session, "gru")
    data, h = session.zeros(6, 3, dtype=gw.float64), session.zeros(1, 3, 4, dtype=gw.float64)
    t_data, t_h = torch.zeros(6, 3, dtype=torch.float64), torch.zeros(1, 3, 4, dtype=torch.float64)
    _, t_params = _weights(session, "gru")
    _refused_alike(lambda: gw.gru(data, session.tensor([3.0, 2.0, 1.0]), h, params, True, 1, 0.0, False, False),
                   lambda: torch.gru(t_data, torch.tensor([3.0, 2.0, 1.0]), t_h, t_params, True, 1, 0.0, False, False))
    for sizes in ([1, 2, 3], [3, 2], [3, 3, 0]):  # increasing, too few steps, an empty step: torch runs on regardless
        with pytest.raises(gw.InvalidArgumentError, match="batch_sizes must be positive and non-increasing and sum to data's 6 steps"):
            gw.gru(data, session.tensor(np.array(sizes, dtype=np.int64)), h, params, True, 1, 0.0, False, False)
