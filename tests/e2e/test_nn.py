"""gradwire.nn against torch.nn: the same weights give the same outputs and gradients.

Each model is built in gradwire (weights drawn on the server), its state_dict is
copied into the same torch model, and both run the same inputs.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import gradwire as gw
import gradwire.nn.functional as F
from gradwire import nn

# torch 2.13 (the pinned one) has bias= on its norm layers and shows it in their reprs; an older torch (the GPU
# image's) has neither, and those comparisons are left out there
TORCH_NORMS_TAKE_BIAS = "bias" in inspect.signature(torch.nn.GroupNorm.__init__).parameters


def to_torch_model(model, reference):
    reference.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in model.state_dict().items()})
    return reference


def assert_close(actual, expected, rtol=2e-5, atol=1e-6, what=""):
    a = actual.detach().numpy() if isinstance(actual, gw.Tensor) else np.asarray(actual)
    b = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def compare(model, reference, x, targets, session, loss="cross_entropy"):
    """Outputs, loss and every parameter's gradient agree with torch's."""
    out = model(session.tensor(x))
    t_out = reference(torch.from_numpy(x))
    assert_close(out, t_out, what="output")
    assert out.shape == tuple(t_out.shape)  # inferred by the client, without asking the server
    if loss == "cross_entropy":
        value, t_value = F.cross_entropy(out, targets), TF.cross_entropy(t_out, torch.from_numpy(targets))
    else:
        value, t_value = F.mse_loss(out, session.tensor(targets)), TF.mse_loss(t_out, torch.from_numpy(targets))
    value.backward()
    t_value.backward()
    assert_close(value, t_value, what="loss")
    t_params = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        assert_close(p.grad, t_params[name].grad, rtol=1e-4, atol=1e-6, what=f"grad of {name}")


def test_mlp_matches_torch(session, rng):
    model = nn.Sequential(nn.Linear(6, 5, session=session), nn.Tanh(), nn.Linear(5, 4, session=session), nn.Sigmoid(),
                          nn.Linear(4, 3, bias=False, session=session))
    reference = to_torch_model(model, tnn.Sequential(tnn.Linear(6, 5), tnn.Tanh(), tnn.Linear(5, 4), tnn.Sigmoid(), tnn.Linear(4, 3, bias=False)))
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in reference.named_parameters()]
    compare(model, reference, rng.standard_normal((7, 6)).astype(np.float32), np.array([0, 2, 1, 1, 0, 2, 2]), session)


def test_cnn_matches_torch(session, rng):
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, session=session), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, (3, 2), stride=2, session=session), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 1 * 2, 3, session=session),
    )
    reference = to_torch_model(model, tnn.Sequential(
        tnn.Conv2d(2, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(4, 6, (3, 2), stride=2), tnn.ReLU(), tnn.Flatten(), tnn.Linear(12, 3),
    ))
    compare(model, reference, rng.standard_normal((5, 2, 8, 8)).astype(np.float32), np.array([0, 2, 1, 1, 0]), session)


class Tagger(nn.Module):
    """Embedding -> LayerNorm -> Linear, with a parameter of its own: registration by attribute."""

    def __init__(self, session):
        super().__init__()
        self.embed = nn.Embedding(10, 4, padding_idx=0, session=session)
        self.norm = nn.LayerNorm(4, session=session)
        self.head = nn.Linear(4, 3, session=session)
        self.scale = nn.Parameter(session.ones(3))
        self.note = "not registered"

    def forward(self, tokens):
        return self.head(self.norm(self.embed(tokens))) * self.scale


class TorchTagger(tnn.Module):
    def __init__(self):
        super().__init__()
        self.embed = tnn.Embedding(10, 4, padding_idx=0)
        self.norm = tnn.LayerNorm(4)
        self.head = tnn.Linear(4, 3)
        self.scale = tnn.Parameter(torch.ones(3))

    def forward(self, tokens):
        return self.head(self.norm(self.embed(tokens))) * self.scale


def test_custom_module_with_embedding_and_layer_norm_matches_torch(session):
    model = Tagger(session)
    assert [n for n, _ in model.named_parameters()] == ["scale", "embed.weight", "norm.weight", "norm.bias", "head.weight", "head.bias"]
    assert set(dict(model.named_children())) == {"embed", "norm", "head"} and "note" not in model.state_dict()
    assert np.all(model.embed.weight.detach().numpy()[0] == 0)  # the padding row starts at zero, as in PyTorch
    reference = to_torch_model(model, TorchTagger())
    tokens = np.array([[1, 0, 3, 3], [9, 2, 0, 5]])
    out, t_out = model(session.tensor(tokens)), reference(torch.from_numpy(tokens))
    assert_close(out, t_out, what="output")
    targets = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    loss = F.cross_entropy(out.reshape(-1, 3), targets.reshape(-1))
    t_loss = TF.cross_entropy(t_out.reshape(-1, 3), torch.from_numpy(targets.reshape(-1)))
    loss.backward()
    t_loss.backward()
    t_params = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        assert_close(p.grad, t_params[name].grad, rtol=1e-4, atol=1e-6, what=f"grad of {name}")
    assert np.all(model.embed.weight.grad.numpy()[0] == 0)


def test_initial_weights_follow_torch_bounds_and_the_session_seed(server):
    def weights(seed):
        with gw.connect(server.address, seed=seed) as s:
            layer = nn.Linear(50, 20, session=s)
            conv = nn.Conv2d(3, 8, 5, session=s)
            return layer.weight.detach().numpy(), layer.bias.detach().numpy(), conv.weight.detach().numpy()

    w, b, c = weights(1)
    assert np.abs(w).max() <= 1 / np.sqrt(50) and np.abs(w).max() > 0.9 / np.sqrt(50)
    assert np.abs(b).max() <= 1 / np.sqrt(50)
    assert np.abs(c).max() <= 1 / np.sqrt(75) and np.abs(c).max() > 0.9 / np.sqrt(75)
    assert np.array_equal(weights(1)[0], w) and not np.array_equal(weights(2)[0], w)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_functional_losses_match_torch(session, rng, reduction):
    x = rng.standard_normal((6, 4))
    targets = np.array([3, 0, 1, 1, 2, 0])
    for name in ("cross_entropy", "nll_loss", "mse_loss"):
        xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        if name == "nll_loss":
            args, t_args = (F.log_softmax(xs, 1), targets), (TF.log_softmax(xt, 1), torch.from_numpy(targets))
        elif name == "mse_loss":
            y = rng.standard_normal((6, 4))
            args, t_args = (xs, y), (xt, torch.from_numpy(y))
        else:
            args, t_args = (xs, session.tensor(targets)), (xt, torch.from_numpy(targets))
        out, t_out = getattr(F, name)(*args, reduction=reduction), getattr(TF, name)(*t_args, reduction=reduction)
        assert_close(out, t_out, rtol=1e-10, atol=1e-12, what=name)
        cotangent = rng.standard_normal(t_out.shape)
        out.backward(session.tensor(cotangent) if reduction == "none" else None)
        t_out.backward(torch.from_numpy(cotangent) if reduction == "none" else None)
        assert_close(xs.grad, xt.grad, rtol=1e-10, atol=1e-12, what=f"grad of {name}")


def test_cross_entropy_errors_are_torchs(session):
    x = session.tensor(np.zeros((3, 4), np.float32), requires_grad=True)
    with pytest.raises(gw.InvalidArgumentError, match="Target 4 is out of bounds"):
        F.cross_entropy(x, [0, 4, 1]).item()
    with pytest.raises(gw.InvalidArgumentError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)"):
        F.cross_entropy(x, [0, 1]).item()
    with pytest.raises(gw.InvalidArgumentError, match="not a valid value for reduction"):
        F.cross_entropy(x, [0, 1, 2], reduction="avg")
    assert np.isclose(F.cross_entropy(x, [0, 1, 2]).item(), np.log(4))  # the session carries on


@pytest.mark.parametrize("op, x_shape, w_shape, dilation", [
    ("conv2d", (2, 3, 7, 6), (4, 3, 2, 3), 1), ("conv2d", (1, 2, 6, 6), (2, 2, 4, 4), (1, 3)), ("conv1d", (1, 2, 9), (3, 2, 4), 1),
    ("conv3d", (1, 2, 5, 6, 7), (2, 2, 2, 3, 4), 1),
])
def test_same_padding_of_an_even_kernel_pads_the_far_side_as_torch(session, rng, op, x_shape, w_shape, dilation):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    results = []
    for lib, make in ((TF, torch.tensor), (F, session.tensor)):
        xt, wt = make(x, requires_grad=True), make(w, requires_grad=True)
        with pytest.warns(UserWarning, match="padding='same' with even kernel lengths") if lib is F else warnings.catch_warnings():
            out = getattr(lib, op)(xt, wt, padding="same", dilation=dilation)  # (torch warns once a process)
        (out * out).sum().backward()
        results.append((out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    assert results[1][0].shape[2:] == tuple(x_shape[2:])


def test_functional_conv_pool_softmax_match_torch(session, rng):
    x, w, b = rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    out = F.conv2d(session.tensor(x), session.tensor(w), session.tensor(b), stride=2, padding="valid")
    t_out = TF.conv2d(*map(torch.from_numpy, (x, w, b)), stride=2)
    assert_close(out, t_out, rtol=1e-10, atol=1e-12)
    same = F.conv2d(session.tensor(x), session.tensor(w), padding="same")
    assert_close(same, TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding="same"), rtol=1e-10, atol=1e-12)
    values, indices = F.max_pool2d(session.tensor(x), 3, stride=2, padding=1, return_indices=True)
    t_values, t_indices = TF.max_pool2d(torch.from_numpy(x), 3, stride=2, padding=1, return_indices=True)
    assert_close(values, t_values)
    assert np.array_equal(indices.numpy(), t_indices.numpy()) and indices.dtype == np.int64
    for name in ("softmax", "log_softmax"):
        assert_close(getattr(F, name)(session.tensor(x), 1), getattr(TF, name)(torch.from_numpy(x), 1), rtol=1e-10, atol=1e-12)
    for name in ("relu", "tanh", "sigmoid"):
        assert_close(getattr(F, name)(session.tensor(x)), getattr(TF, name)(torch.from_numpy(x)), rtol=1e-10, atol=1e-12)


def test_dropout_train_eval_and_seed(session):
    layer = nn.Dropout(0.25)
    x = session.ones(400, 50, requires_grad=True)

    def masked():
        y = layer(x)
        return y.detach().numpy()

    session.manual_seed(7)
    first = masked()
    session.manual_seed(7)
    assert np.array_equal(masked(), first)  # the mask comes from the session's seeded generator
    assert set(np.unique(first)) == {0.0, np.float32(1 / 0.75)}
    assert abs((first == 0).mean() - 0.25) < 0.02
    y = layer(x)
    y.sum().backward()
    kept = y.detach().numpy() != 0
    assert np.array_equal(x.grad.numpy() != 0, kept)  # the gradient flows through the kept elements only
    layer.eval()
    assert not layer.training
    assert np.array_equal(layer(x).detach().numpy(), np.ones((400, 50), np.float32))
    assert layer.train().training


def test_train_and_eval_reach_every_submodule(session):
    model = nn.Sequential(nn.Linear(3, 3, session=session), nn.Sequential(nn.Dropout(), nn.ReLU()))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    assert len(list(model.modules())) == 5 and len(list(model.children())) == 2


def test_state_dict_round_trip_with_torch(session, rng):
    model = nn.Sequential(nn.Linear(4, 3, session=session), nn.ReLU(), nn.Linear(3, 2, session=session))
    reference = tnn.Sequential(tnn.Linear(4, 3), tnn.ReLU(), tnn.Linear(3, 2))
    result = model.load_state_dict(reference.state_dict())  # torch tensors go in...
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, p), (t_name, t) in zip(model.state_dict().items(), reference.state_dict().items()):
        assert name == t_name and np.array_equal(p.numpy(), t.numpy())
    x = rng.standard_normal((5, 4)).astype(np.float32)
    assert_close(model(session.tensor(x)), reference(torch.from_numpy(x)))
    # ...and a state dict of one gradwire model loads into another, in place
    other = nn.Sequential(nn.Linear(4, 3, session=session), nn.ReLU(), nn.Linear(3, 2, session=session))
    weight = other[0].weight
    other.load_state_dict(model.state_dict())
    assert other[0].weight is weight and np.array_equal(weight.detach().numpy(), model[0].weight.detach().numpy())
    assert other[0].weight.requires_grad and other[0].weight.is_leaf


def test_load_state_dict_reports_bad_keys_and_sizes(session):
    model = nn.Linear(4, 3, session=session)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    with pytest.raises(gw.InvalidArgumentError, match='Missing key\\(s\\) in state_dict: "bias"'):
        model.load_state_dict({"weight": state["weight"]})
    assert model.load_state_dict({"weight": state["weight"]}, strict=False).missing_keys == ["bias"]
    with pytest.raises(gw.InvalidArgumentError, match='Unexpected key\\(s\\) in state_dict: "extra"'):
        model.load_state_dict({**state, "extra": state["bias"]})
    with pytest.raises(gw.InvalidArgumentError, match=r"size mismatch for weight: copying a param with shape torch.Size\(\[3, 3\]\)"):
        model.load_state_dict({**state, "weight": np.zeros((3, 3), np.float32)})


def test_zero_grad_and_to(session, rng):
    model = nn.Linear(3, 2, session=session)
    model(session.tensor(rng.standard_normal((4, 3)).astype(np.float32))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    before = model.weight.detach().numpy()
    model.to(gw.float64)
    assert model.weight.dtype == np.float64 and isinstance(model.weight, nn.Parameter) and model.weight.requires_grad
    assert np.array_equal(model.weight.detach().numpy(), before.astype(np.float64))
    assert model(session.tensor(rng.standard_normal((2, 3)))).dtype == np.float64
    assert model.to(session.device) is model
    # another device is checked and left alone: the parameters stay on the server's device, as cuda() and cpu() leave them
    assert model.to("cuda" if session.device == "cpu" else "cpu") is model and model.to(gw.device("cuda", 0)) is model
    assert model.weight.device == session.device
    with pytest.raises(gw.InvalidArgumentError, match="Expected one of cpu, cuda device type at start of device string: tpu"):
        model.to(gw.device("tpu"))


def test_registration_rules(session):
    model = nn.Linear(2, 2, session=session)
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter 'weight'"):
        model.weight = 3
    with pytest.raises(TypeError, match=r"cannot assign 'gradwire\.FloatTensor' as parameter 'weight'"):  # (torch's: torch.FloatTensor)
        model.weight = session.ones(2, 2)
    model.bias = None
    assert [n for n, _ in model.named_parameters()] == ["weight"]
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nothing'"):
        model.nothing
    assert repr(model) == "Linear(in_features=2, out_features=2, bias=False)"
    p = nn.Parameter(session.zeros(2), requires_grad=False)
    assert isinstance(p, gw.Tensor) and p.is_leaf and not p.requires_grad


def test_a_module_needs_a_session_when_several_are_open(server, session):
    with gw.connect(server.address) as other:
        with pytest.raises(gw.InvalidArgumentError, match="pass session="):
            nn.Linear(2, 2)
        assert nn.Linear(2, 2, session=other).weight._session is other


def test_a_training_step_never_waits_on_the_server(session, rng):
    """Every layer's output shape is inferred by the client: a step (slices of the data set, forward,
    loss, backward, optimizer step) is queued without one round trip."""
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, session=session), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.1),
        nn.LayerNorm(4 * 4 * 4, session=session), nn.Linear(64, 5, session=session), nn.Tanh(),
    )
    tagger = Tagger(session)
    optimizer = gw.optim.SGD(list(model.parameters()) + list(tagger.parameters()), lr=0.1)
    x = session.tensor(rng.standard_normal((16, 1, 8, 8)).astype(np.float32))
    y = session.tensor(rng.integers(0, 5, 16))
    tokens = session.tensor(rng.integers(0, 10, (16, 3)))
    before = model[0].weight.detach().numpy()
    sent = session._sent
    for step in range(3):
        order = session.tensor(rng.permutation(16))
        xb, yb = x[order][step * 4 : step * 4 + 4], y[order][step * 4 : step * 4 + 4]
        out = model(xb) + tagger(tokens[step * 4 : step * 4 + 4]).sum((1, 2)).unsqueeze(1)
        loss = F.cross_entropy(out, yb) + F.mse_loss(out, out.detach() * 0.5)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert out._shape == (4, 5) and loss._shape == ()
    assert session._sent == sent, "a training step waited for the server"
    assert not np.array_equal(model[0].weight.detach().numpy(), before)  # and the steps did train


def test_zero_grad_is_one_command_and_earlier_grad_reads_keep_their_values(session, rng):
    model = nn.Sequential(nn.Linear(3, 4, session=session), nn.ReLU(), nn.Linear(4, 2, session=session))
    optimizer = gw.optim.SGD(model.parameters(), lr=0.1)
    x = session.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    model(x).sum().backward()
    kept = model[0].weight.grad
    before = kept.numpy()
    for zero_grad in (model.zero_grad, optimizer.zero_grad):
        queued = session._next_command
        zero_grad()
        assert session._next_command == queued + 1  # one command for every parameter
        assert all(p.grad is None for p in model.parameters())
        zero_grad()  # nothing to reset: nothing sent
        assert session._next_command == queued + 1
        model(x).sum().backward()  # a fresh gradient, not accumulated onto the old one
        np.testing.assert_array_equal(model[0].weight.grad.numpy(), before)
    assert np.array_equal(kept.numpy(), before)  # g = p.grad keeps its tensor, as in PyTorch


def test_a_grad_reset_of_several_tensors_with_a_value_is_refused(session):
    a, b = session.ones(2, requires_grad=True), session.ones(2, requires_grad=True)
    (a * b).sum().backward()
    with session._lock:  # what a client other than the SDK could send
        command = session._command("set_grad")
        command.set_grad.tensor, command.set_grad.value = a._handle, b._handle
        command.set_grad.more.append(b._handle)
    with pytest.raises(gw.InvalidArgumentError, match="only have their grad set to None"):
        session.sync()
    np.testing.assert_array_equal(a.grad.numpy(), [1, 1])  # nothing changed


def test_non_default_arguments_reach_the_server(session, rng):
    """The SDK leaves out arguments equal to the server's defaults; the others must arrive."""
    x, targets = rng.standard_normal((6, 4)), np.array([3, 1, 1, 1, 2, 0])
    for kwargs in ({"ignore_index": 1}, {"ignore_index": 1, "reduction": "sum"}, {}):
        ours = F.cross_entropy(session.tensor(x), targets, **kwargs)
        assert_close(ours, TF.cross_entropy(torch.from_numpy(x), torch.from_numpy(targets), **kwargs), rtol=1e-10, atol=1e-12)
        ours = F.nll_loss(session.tensor(x), targets, **kwargs)
        assert_close(ours, TF.nll_loss(torch.from_numpy(x), torch.from_numpy(targets), **kwargs), rtol=1e-10, atol=1e-12)
    assert_close(F.layer_norm(session.tensor(x), 4, eps=0.5), TF.layer_norm(torch.from_numpy(x), (4,), eps=0.5), rtol=1e-10, atol=1e-12)
    images = rng.standard_normal((2, 1, 6, 6))
    for stride in (1, 2, 3):
        assert_close(F.max_pool2d(session.tensor(images), 3, stride), TF.max_pool2d(torch.from_numpy(images), 3, stride), rtol=0, atol=0)
    kept = F.dropout(session.ones(1000), p=0.9).numpy()
    assert 0.05 < (kept != 0).mean() < 0.15 and np.allclose(kept[kept != 0], 10)


INDEX_KEYS = [
    lambda s: (slice(2, 5),),
    lambda s: (slice(None, None, 3), 1),
    lambda s: (Ellipsis, None, -1),
    lambda s: (s.tensor(np.array([4, 0, 4])),),
    lambda s: (slice(1, 3), s.tensor(np.array([[0, 1], [1, 0]]))),
    lambda s: (np.array([True, False, True, False, True, False]),),
    lambda s: ([0, 5], [1, 2]),
    lambda s: (s.tensor(np.array([1, 2])), slice(None), s.tensor(np.array([0, 3]))),
]


@pytest.mark.parametrize("make_key", INDEX_KEYS)
def test_the_client_knows_the_shape_of_an_indexed_tensor(session, make_key):
    """x[key]'s shape comes from NumPy's rules on the client, without a round trip, and is the server's."""
    values = np.arange(6 * 3 * 4, dtype=np.float32).reshape(6, 3, 4)
    x = session.tensor(values)
    key = make_key(session)
    numpy_key = tuple(k.numpy() if isinstance(k, gw.Tensor) else k for k in key)
    sent = session._sent
    y = x[key if len(key) > 1 else key[0]]
    assert y._shape == values[numpy_key].shape and session._sent == sent
    np.testing.assert_array_equal(y.numpy(), values[numpy_key])


def test_a_shape_that_depends_on_values_is_asked_for(session):
    x = session.tensor(np.arange(6.0))
    y = x[x > 2]  # a boolean tensor: the client cannot know how many are True
    assert y._shape is None and y.shape == (3,)


_LOSS_MODULES = [
    ("CrossEntropyLoss", {}, "classes"),
    ("CrossEntropyLoss", {"reduction": "sum", "ignore_index": 2}, "classes"),
    ("NLLLoss", {"reduction": "none"}, "classes"),
    ("MSELoss", {}, "values"),
    ("BCEWithLogitsLoss", {}, "probabilities"),
    ("BCEWithLogitsLoss", {"reduction": "none"}, "probabilities"),
    ("BCELoss", {"reduction": "sum"}, "probabilities"),
]


@pytest.mark.parametrize("name, options, targets", _LOSS_MODULES, ids=[f"{n}-{o}" for n, o, _ in _LOSS_MODULES])
def test_loss_modules_match_torch(session, rng, name, options, targets):
    scores = rng.standard_normal((6, 4)).astype(np.float32)
    if name == "BCELoss":
        scores = 1 / (1 + np.exp(-scores))
    target = {
        "classes": rng.integers(0, 4, 6),
        "values": rng.standard_normal((6, 4)).astype(np.float32),
        "probabilities": rng.uniform(0, 1, (6, 4)).astype(np.float32),
    }[targets]
    x, t = session.tensor(scores, requires_grad=True), torch.tensor(scores, requires_grad=True)
    ours, theirs = getattr(nn, name)(**options), getattr(tnn, name)(**options)
    assert repr(ours) == repr(theirs)
    value, t_value = ours(x, session.tensor(target)), theirs(t, torch.from_numpy(target))
    assert value.shape == tuple(t_value.shape)
    assert_close(value, t_value, what="loss")
    if name.startswith("BCE"):  # (cross_entropy is one fused node here, mse_loss a few ops: named otherwise)
        assert value.grad_fn.name() == t_value.grad_fn.name()
    (value * value).sum().backward()
    (t_value * t_value).sum().backward()
    assert_close(x.grad, t.grad, what="d loss / d input")


def test_logistic_regression_with_bce_with_logits_matches_torch_step_by_step(session, rng):
    features, labels = rng.standard_normal((32, 5)).astype(np.float32), rng.integers(0, 2, (32, 1)).astype(np.float32)
    model = nn.Sequential(nn.Linear(5, 1, session=session))
    reference = to_torch_model(model, tnn.Sequential(tnn.Linear(5, 1)))
    opt, t_opt = gw.optim.SGD(model.parameters(), lr=0.5), torch.optim.SGD(reference.parameters(), lr=0.5)
    x, y = session.tensor(features), session.tensor(labels)
    for _ in range(5):
        opt.zero_grad()
        t_opt.zero_grad()
        loss, t_loss = nn.BCEWithLogitsLoss()(model(x), y), tnn.BCEWithLogitsLoss()(reference(torch.from_numpy(features)), torch.from_numpy(labels))
        loss.backward()
        t_loss.backward()
        opt.step()
        t_opt.step()
        assert loss.item() == pytest.approx(t_loss.item(), rel=1e-5)
    for (name, p), t_p in zip(model.named_parameters(), reference.parameters()):
        assert_close(p, t_p, what=name)
    probabilities = nn.Sigmoid()(model(x))
    assert_close(F.binary_cross_entropy(probabilities, labels), TF.binary_cross_entropy(torch.sigmoid(reference(torch.from_numpy(features))), torch.from_numpy(labels)))


def test_binary_losses_refuse_what_torch_refuses(session):
    x = session.tensor([0.5, 1.5])
    with pytest.raises(ValueError, match=r"Target size \(torch.Size\(\[3\]\)\) must be the same as input size \(torch.Size\(\[2\]\)\)"):
        TF.binary_cross_entropy_with_logits(torch.tensor([0.5, 1.5]), torch.tensor([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"Target size \(torch.Size\(\[3\]\)\) must be the same as input size \(torch.Size\(\[2\]\)\)"):
        F.binary_cross_entropy_with_logits(x, [1.0, 0.0, 1.0])  # at once, as torch's
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        TF.binary_cross_entropy(torch.tensor([0.5, 1.5]), torch.tensor([1.0, 0.0]))
    with pytest.raises(gw.InvalidArgumentError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(x, [1.0, 0.0]).item()


_CLASS_LOSS_OPTIONS = {
    "weight": dict(weight=[0.5, 2.0, 1.0, 0.25]),
    "weight-ignore-sum": dict(weight=[0.5, 2.0, 1.0, 0.25], ignore_index=1, reduction="sum"),
    "weight-none": dict(weight=[0.5, 2.0, 1.0, 0.25], reduction="none"),
    "smoothing": dict(label_smoothing=0.1),
    "smoothing-ignore": dict(label_smoothing=0.2, ignore_index=3),
    "smoothing-weight": dict(label_smoothing=0.15, weight=[0.5, 2.0, 1.0, 0.25]),
    "smoothing-weight-ignore-sum": dict(label_smoothing=0.15, weight=[0.5, 2.0, 1.0, 0.25], ignore_index=0, reduction="sum"),
    "smoothing-none": dict(label_smoothing=0.3, reduction="none"),
    "probabilities": dict(probabilities=True),
    "probabilities-smoothing-weight": dict(probabilities=True, label_smoothing=0.1, weight=[0.5, 2.0, 1.0, 0.25]),
    "probabilities-sum": dict(probabilities=True, reduction="sum"),
}


@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3)], ids=["NC", "NCd"])
@pytest.mark.parametrize("options", _CLASS_LOSS_OPTIONS)
def test_cross_entropy_options_match_torch(session, rng, options, shape):
    kwargs = dict(_CLASS_LOSS_OPTIONS[options])
    probabilities = kwargs.pop("probabilities", False)
    scores = rng.standard_normal(shape)
    target_shape = shape[:1] + shape[2:]
    targets = rng.dirichlet(np.ones(4), size=math.prod(target_shape)).reshape(target_shape + (4,))
    targets = np.moveaxis(targets, -1, 1) if probabilities else rng.integers(0, 4, target_shape)
    x, t_x = session.tensor(scores, requires_grad=True), torch.tensor(scores, requires_grad=True)
    theirs_kwargs = {k: torch.tensor(v, dtype=torch.float64) if k == "weight" else v for k, v in kwargs.items()}
    loss = F.cross_entropy(x, session.tensor(targets), **kwargs)
    t_loss = TF.cross_entropy(t_x, torch.from_numpy(targets), **theirs_kwargs)
    assert_close(loss, t_loss)
    (loss * loss).sum().backward()
    (t_loss * t_loss).sum().backward()
    assert_close(x.grad, t_x.grad)
    if not probabilities:  # the module form, and nll_loss on log-probabilities with the same weights
        assert_close(nn.CrossEntropyLoss(**kwargs)(x, targets), tnn.CrossEntropyLoss(**theirs_kwargs)(t_x, torch.from_numpy(targets)))
        if not kwargs.get("label_smoothing"):
            assert_close(F.nll_loss(x.log_softmax(1), targets, **kwargs), TF.nll_loss(t_x.log_softmax(1), torch.from_numpy(targets), **theirs_kwargs))


def test_cross_entropy_option_refusals_as_in_torch(session):
    x = session.zeros(2, 3)
    with pytest.raises(gw.InvalidArgumentError, match=r"weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: \[2\]"):
        F.cross_entropy(x, [0, 1], weight=[1.0, 2.0])
    with pytest.raises(gw.InvalidArgumentError, match="label_smoothing must be between 0.0 and 1.0. Got: 1.5"):
        F.cross_entropy(x, [0, 1], label_smoothing=1.5)
    for target in (np.full((2, 2), 0.5, dtype=np.float32), np.ones((2, 2), dtype=np.int64), np.ones(3, dtype=np.float32), np.ones(3, dtype=np.int32)):
        for loss, t_loss in ((F.cross_entropy, torch.nn.functional.cross_entropy), (F.nll_loss, torch.nn.functional.nll_loss)):
            with pytest.raises((RuntimeError, ValueError)) as theirs:  # the target's dims, then its batch size, then its dtype
                t_loss(torch.zeros(2, 3), torch.from_numpy(target))
            with pytest.raises(theirs.type) as ours:
                loss(x, session.tensor(target))
            assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_losses_with_weights_match_torch(session, rng, reduction):
    logits, labels = rng.standard_normal((6, 3)) * 4, rng.integers(0, 2, (6, 3)).astype(np.float64)
    weight, pos_weight = rng.uniform(0.5, 2.0, (6, 3)), np.array([3.0, 0.5, 1.0])
    x, t_x = session.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    cases = (
        (dict(pos_weight=pos_weight), dict(pos_weight=torch.from_numpy(pos_weight))),
        (dict(weight=weight), dict(weight=torch.from_numpy(weight))),
        (dict(weight=weight, pos_weight=pos_weight), dict(weight=torch.from_numpy(weight), pos_weight=torch.from_numpy(pos_weight))),
    )
    for ours, theirs in cases:
        x.grad, t_x.grad = None, None
        loss = F.binary_cross_entropy_with_logits(x, labels, reduction=reduction, **ours)
        t_loss = TF.binary_cross_entropy_with_logits(t_x, torch.from_numpy(labels), reduction=reduction, **theirs)
        assert_close(loss, t_loss)
        loss.sum().backward()
        t_loss.sum().backward()
        assert_close(x.grad, t_x.grad)
    p, t_p = x.sigmoid(), t_x.sigmoid()
    assert_close(nn.BCELoss(weight=session.tensor(weight), reduction=reduction)(p, labels),
                 tnn.BCELoss(weight=torch.from_numpy(weight), reduction=reduction)(t_p, torch.from_numpy(labels)))


def test_softmax_modules_match_torch(session, rng):
    values = rng.standard_normal((2, 3, 4)).astype(np.float32)
    for ours, theirs in ((nn.Softmax(dim=1), tnn.Softmax(dim=1)), (nn.LogSoftmax(-1), tnn.LogSoftmax(-1))):
        assert repr(ours) == repr(theirs)
        assert_close(ours(session.tensor(values)), theirs(torch.from_numpy(values)))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        implicit = nn.Softmax()(session.tensor(values))
    with pytest.warns(UserWarning):
        assert_close(implicit, tnn.Softmax()(torch.from_numpy(values)))


_ACTIVATIONS = [
    ("LeakyReLU", (0.2,), lambda F, x: F.leaky_relu(x, 0.2)),
    ("SiLU", (), lambda F, x: F.silu(x)),
    ("Softplus", (2.0, 3.0), lambda F, x: F.softplus(x, beta=2.0, threshold=3.0)),
    ("ELU", (0.5,), lambda F, x: F.elu(x, alpha=0.5)),
    ("GELU", (), lambda F, x: F.gelu(x)),
    ("GELU", ("tanh",), lambda F, x: F.gelu(x, approximate="tanh")),
]


@pytest.mark.parametrize("name, args, functional", _ACTIVATIONS, ids=[f"{a[0]}{a[1]}" for a in _ACTIVATIONS])
def test_activations_match_torch(session, rng, name, args, functional):
    values = rng.standard_normal((4, 5)).astype(np.float32) * 3
    x, t = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours, theirs = getattr(nn, name)(*args), getattr(tnn, name)(*args)
    assert repr(ours) == repr(theirs)
    out, t_out = ours(x), theirs(t)
    assert_close(out, t_out)
    assert_close(functional(F, x), functional(TF, t))
    assert out.grad_fn.name() == t_out.grad_fn.name()
    (out * out).sum().backward()
    (t_out * t_out).sum().backward()
    assert_close(x.grad, t.grad, what="d/dx")


def test_tril_triu_cumsum_log1p_expm1_match_torch(session, rng):
    values = rng.standard_normal((3, 4)).astype(np.float32)
    x, t = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    programs = (
        lambda a: a.tril(), lambda a: a.triu(1), lambda a: a.cumsum(1), lambda a: a.cumsum(-2),
        lambda a: (a.abs() * 0.5).log1p(), lambda a: a.expm1(),
    )
    total, t_total = 0, 0
    for program in programs:
        out, t_out = program(x), program(t)
        assert out.shape == tuple(t_out.shape) and out.grad_fn.name() == t_out.grad_fn.name()
        assert_close(out, t_out)
        total, t_total = total + (out * out).sum(), t_total + (t_out * t_out).sum()
    total.backward()
    t_total.backward()
    assert_close(x.grad, t.grad, rtol=1e-4, what="d/dx")
    counts, t_counts = session.tensor([1, 2, 3], dtype="int32").cumsum(0), torch.tensor([1, 2, 3], dtype=torch.int32).cumsum(0)
    assert counts.dtype == np.int64 == np.dtype(str(t_counts.dtype).removeprefix("torch."))  # known before a sync
    assert counts.tolist() == t_counts.tolist()
    with pytest.raises(gw.InvalidArgumentError, match="input tensor must have at least 2 dimensions"):
        session.tensor([1.0, 2.0]).tril().numpy()


def _build_tower(module, lib, **kw):
    """A custom model over containers, as PyTorch users write one (the same code for both libraries)."""
    module.blocks = lib.ModuleList([lib.Linear(4, 4, **kw) for _ in range(3)])
    module.heads = lib.ModuleDict({"score": lib.Linear(4, 2, **kw), "aux": lib.Linear(4, 1, **kw)})


def _run_tower(module, x):
    for block in module.blocks:
        x = block(x).relu()
    return module.heads["score"](x), module.heads["aux"](x)


class _Tower(nn.Module):
    def __init__(self, session):
        super().__init__()
        _build_tower(self, nn, session=session)

    forward = _run_tower


class _TorchTower(tnn.Module):
    def __init__(self):
        super().__init__()
        _build_tower(self, tnn)

    forward = _run_tower


def test_module_list_and_dict_match_torch(session, rng):
    model, reference = _Tower(session), _TorchTower()
    assert list(model.state_dict()) == list(reference.state_dict())
    assert repr(model.blocks) == repr(reference.blocks) and repr(model.heads) == repr(reference.heads)
    to_torch_model(model, reference)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    (score, aux), (t_score, t_aux) = model(session.tensor(x)), reference(torch.from_numpy(x))
    assert_close(score, t_score)
    assert_close(aux, t_aux)
    (score.sum() + aux.sum()).backward()
    (t_score.sum() + t_aux.sum()).backward()
    for (name, p), t_p in zip(model.named_parameters(), reference.parameters()):
        assert_close(p.grad, t_p.grad, what=name)
    # the list and dict operations, side by side
    for lib, tower in ((nn, model), (tnn, reference)):
        extra = lib.Linear(4, 4, session=session) if lib is nn else lib.Linear(4, 4)
        tower.blocks.append(extra)
        tower.blocks.insert(0, lib.ReLU())
        del tower.blocks[2]
        tower.heads["more"] = lib.Identity()
        tower.heads.pop("aux")
    assert list(model.state_dict()) == list(reference.state_dict())
    assert [type(m).__name__ for m in model.blocks] == [type(m).__name__ for m in reference.blocks]
    assert list(model.heads) == list(reference.heads) and "more" in model.heads and len(model.heads) == 2
    assert type(model.blocks[-1]) is nn.Linear and len(model.blocks[1:]) == len(reference.blocks[1:])
    with pytest.raises(IndexError):
        model.blocks[10]


@pytest.mark.parametrize("cls, shape, momentum", [("BatchNorm1d", (6, 3), 0.2), ("BatchNorm1d", (4, 3, 5), 0.2), ("BatchNorm2d", (4, 3, 5, 2), 0.2),
                                                  ("BatchNorm2d", (4, 3, 5, 2), None)])  # None: a cumulative average
def test_batch_norm_trains_and_evaluates_as_torchs(session, cls, shape, momentum):
    session.manual_seed(0)
    ours, theirs = getattr(gw.nn, cls)(3, momentum=momentum, session=session), getattr(torch.nn, cls)(3, momentum=momentum)
    with gw.no_grad(), torch.no_grad():
        for p, t in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
            values = np.random.default_rng(len(shape)).standard_normal(3).astype(np.float32)
            p.copy_(session.tensor(values))
            t.copy_(torch.from_numpy(values))
    rng = np.random.default_rng(1)
    for step in range(3):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, t_out = ours(xs), theirs(xt)
        assert out.grad_fn.name() == type(t_out.grad_fn).__name__
        cotangent = rng.standard_normal(shape).astype(np.float32)
        out.backward(session.tensor(cotangent))
        t_out.backward(torch.from_numpy(cotangent))
        assert_close(out, t_out, what=f"step {step} output")
        assert_close(xs.grad, xt.grad, what=f"step {step} d/dx")
        for name in ("weight", "bias"):
            assert_close(getattr(ours, name).grad, getattr(theirs, name).grad, what=f"step {step} d/d{name}")
        ours.weight.grad = ours.bias.grad = theirs.weight.grad = theirs.bias.grad = None
        # read in the batch that updates them: the read waits for the update
        assert_close(ours.running_mean, theirs.running_mean, what=f"step {step} running_mean")
        assert_close(ours.running_var, theirs.running_var, what=f"step {step} running_var")
    assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == 3
    assert set(ours.state_dict()) == set(theirs.state_dict())
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = ours(xs), theirs(xt)
    assert_close(out, t_out, what="eval output")
    out.sum().backward(), t_out.sum().backward()
    assert_close(xs.grad, xt.grad, what="eval d/dx")
    assert ours.num_batches_tracked.item() == 3 and (repr(ours) == repr(theirs) or not TORCH_NORMS_TAKE_BIAS)


def test_batch_norm_refusals_as_in_torch(session):
    with pytest.raises(RuntimeError, match=r"expected 4D input \(got 3D input\)"):
        gw.nn.BatchNorm2d(3, session=session)(session.ones(2, 3, 4))
    with pytest.raises(RuntimeError, match="Expected more than 1 value per channel when training"):
        gw.nn.BatchNorm1d(3, session=session)(session.ones(1, 3)).sum().item()
    plain = gw.nn.BatchNorm1d(3, affine=False, track_running_stats=False, session=session).eval()
    t = torch.nn.BatchNorm1d(3, affine=False, track_running_stats=False).eval()
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    assert_close(plain(session.tensor(x)), t(torch.from_numpy(x)), what="batch statistics in eval without running ones")
    assert list(plain.state_dict()) == list(t.state_dict()) == []


@pytest.mark.skipif(not TORCH_NORMS_TAKE_BIAS, reason=f"torch {torch.__version__}'s norm layers take no bias= (2.13's do)")
def test_batch_norm_without_bias_as_in_torch(session):
    ours, theirs = gw.nn.BatchNorm1d(3, bias=False, session=session), torch.nn.BatchNorm1d(3, bias=False)
    assert repr(ours) == repr(theirs) and ours.bias is None and list(ours.state_dict()) == list(theirs.state_dict())
    x = np.arange(12, dtype=np.float32).reshape(4, 3) ** 1.5
    xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = ours(xs), theirs(xt)
    (out * out).sum().backward(), (t_out * t_out).sum().backward()
    assert_close(out, t_out, what="output")
    assert_close(xs.grad, xt.grad, what="d/dx")
    assert_close(ours.weight.grad, theirs.weight.grad, what="d/dweight")


_FUNCTIONAL = [  # (name, f(F, x, y)) on x of shape (2, 3, 7, 6) that requires grad and y of its shape
    ("avg_pool2d", lambda F_, x, y: F_.avg_pool2d(x, 2)),
    ("avg_pool2d-padded", lambda F_, x, y: F_.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
    ("adaptive_avg_pool2d", lambda F_, x, y: F_.adaptive_avg_pool2d(x, (3, 4))),
    ("adaptive_avg_pool2d-1", lambda F_, x, y: F_.adaptive_avg_pool2d(x, 1)),
    ("l1_loss", lambda F_, x, y: F_.l1_loss(x, y)),
    ("smooth_l1_loss", lambda F_, x, y: F_.smooth_l1_loss(x, y, reduction="sum", beta=0.5)),
    ("huber_loss", lambda F_, x, y: F_.huber_loss(x, y, reduction="none", delta=0.7)),
    ("normalize", lambda F_, x, y: F_.normalize(x, dim=2)),
    ("pad", lambda F_, x, y: F_.pad(x, (1, 2, -1, 0), value=0.25)),
    ("hardtanh", lambda F_, x, y: F_.hardtanh(x, -0.5, 0.5) + F_.relu6(x * 4)),
]


@pytest.mark.parametrize("name, f", _FUNCTIONAL, ids=[c[0] for c in _FUNCTIONAL])
def test_more_functional_matches_torch(session, name, f):
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((2, 3, 7, 6)).astype(np.float32), rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = f(F, xs, session.tensor(y)), f(TF, xt, torch.from_numpy(y))
    assert_close(out, t_out, what=f"{name} output")
    cotangent = rng.standard_normal(t_out.shape).astype(np.float32)
    out.backward(session.tensor(cotangent))
    t_out.backward(torch.from_numpy(cotangent))
    assert_close(xs.grad, xt.grad, what=f"{name} d/dx")


def test_more_layers_and_losses_match_torch(session):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    for ours, theirs in ((gw.nn.AvgPool2d(2, padding=1), torch.nn.AvgPool2d(2, padding=1)),
                         (gw.nn.AdaptiveAvgPool2d((2, None)), torch.nn.AdaptiveAvgPool2d((2, None))),
                         (gw.nn.ReLU6(), torch.nn.ReLU6()), (gw.nn.Hardtanh(-2, 2), torch.nn.Hardtanh(-2, 2)),
                         (gw.nn.Sequential(gw.nn.Flatten(), gw.nn.Unflatten(1, (3, -1))), torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Unflatten(1, (3, -1))))):
        assert repr(ours) == repr(theirs)
        assert_close(ours(session.tensor(x)), theirs(torch.from_numpy(x)), what=repr(theirs))
    y = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    for ours, theirs in ((gw.nn.L1Loss(), torch.nn.L1Loss()), (gw.nn.SmoothL1Loss(beta=0.3), torch.nn.SmoothL1Loss(beta=0.3)),
                         (gw.nn.HuberLoss(delta=2.0), torch.nn.HuberLoss(delta=2.0))):
        assert_close(ours(session.tensor(x), session.tensor(y)), theirs(torch.from_numpy(x), torch.from_numpy(y)), what=repr(theirs))
    labels = session.tensor([2, 0, 3]), torch.tensor([2, 0, 3])
    assert F.one_hot(labels[0]).tolist() == TF.one_hot(labels[1]).tolist()
    assert F.one_hot(labels[0], 6).dtype == np.int64 and F.one_hot(labels[0], 6).shape == (3, 6)
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor"):
        F.one_hot(session.tensor([1.0]))


def test_one_dimensional_layers_match_torch(session):
    session.manual_seed(3)
    torch.manual_seed(3)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 11)).astype(np.float32)
    conv, t_conv = gw.nn.Conv1d(3, 4, 3, stride=2, padding=1, session=session), torch.nn.Conv1d(3, 4, 3, stride=2, padding=1)
    assert repr(conv) == repr(t_conv)
    with gw.no_grad(), torch.no_grad():
        conv.weight.copy_(session.tensor(t_conv.weight.numpy()))
        conv.bias.copy_(session.tensor(t_conv.bias.numpy()))
    for ours, theirs in ((conv, t_conv), (gw.nn.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1)),
                         (gw.nn.AvgPool1d(3, 2, 1), torch.nn.AvgPool1d(3, 2, 1)),
                         (gw.nn.Conv1d(3, 2, 5, padding="same", bias=False, session=session), None)):
        xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        if theirs is None:  # "same" padding: the length is kept
            assert ours(xs).shape == (2, 2, 11) and repr(ours) == repr(torch.nn.Conv1d(3, 2, 5, padding="same", bias=False))
            continue
        assert repr(ours) == repr(theirs)
        out, t_out = ours(xs), theirs(xt)
        assert_close(out, t_out, what=repr(theirs))
        (out * out).sum().backward(), (t_out * t_out).sum().backward()
        assert_close(xs.grad, xt.grad, what=f"{theirs!r} d/dx")
    assert_close(conv.weight.grad, t_conv.weight.grad, what="conv1d d/dweight")
    assert F.max_pool1d(session.tensor(x[0]), 2).shape == tuple(TF.max_pool1d(torch.from_numpy(x[0]), 2).shape)  # unbatched
    with pytest.raises(RuntimeError, match=r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d, but got input of size: \[2, 3, 4, 5\]"):
        F.conv1d(session.ones(2, 3, 4, 5), conv.weight)


@pytest.mark.parametrize("name, args", [("kaiming_normal_", {}), ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
                                        ("xavier_normal_", {"gain": 2.0}), ("trunc_normal_", {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 3.0}),
                                        ("normal_", {"mean": 1.0, "std": 0.5}), ("uniform_", {"a": -2.0, "b": 1.0})])
def test_init_distributions_match_torchs(session, name, args):
    """The same distribution as torch's (its mean, spread and bounds, over 160,000 samples), drawn on the server."""
    session.manual_seed(4)
    torch.manual_seed(4)
    ours, theirs = session.zeros(400, 400), torch.zeros(400, 400)
    getattr(nn.init, name)(ours, **args)
    getattr(torch.nn.init, name)(theirs, **args)
    a, b = ours.numpy(), theirs.numpy()
    assert abs(a.mean() - b.mean()) < 0.02 * max(b.std(), 1e-3) + 0.01 * abs(b.mean()) + 5e-3
    assert abs(a.std() / b.std() - 1) < 0.02
    if name in ("uniform_", "trunc_normal_"):  # bounded: the same bounds
        assert a.min() >= b.min() - 0.1 * b.std() - 1e-6 and a.max() <= b.max() + 0.1 * b.std() + 1e-6
    else:  # a normal's extremes are chance (two draws' differ by a third of a spread): its tails' weight instead
        def tails(v):
            return float((np.abs(v - v.mean()) > 3 * v.std()).mean())  # 0.27% for a normal: about 430 of 160,000

        assert abs(tails(a) - tails(b)) < 1e-3
    if name == "trunc_normal_":
        assert a.min() >= args["a"] and a.max() <= args["b"]


def test_eye_init_as_torchs(session):
    ours, theirs = session.ones(3, 5), torch.ones(3, 5)
    nn.init.eye_(ours), torch.nn.init.eye_(theirs)
    assert ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("old", ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                                 "kaiming_normal", "orthogonal", "sparse"])
def test_deprecated_init_names_warn_and_fill_as_torchs(session, old):
    args = {"constant": (0.5,), "sparse": (0.5,)}.get(old, ())
    ours, theirs = session.zeros(4, 3, 3), torch.zeros(4, 3, 3)
    if old in ("eye", "sparse"):
        ours, theirs = session.zeros(4, 3), torch.zeros(4, 3)
    with pytest.warns(FutureWarning) as t_record:
        getattr(torch.nn.init, old)(theirs, *args)
    with pytest.warns(FutureWarning) as record:
        assert getattr(nn.init, old)(ours, *args) is ours
    assert str(record[0].message) == str(t_record[0].message) == f"`nn.init.{old}` is now deprecated in favor of `nn.init.{old}_`."
    assert record[0].filename == __file__  # (pointing at the caller, as torch's stacklevel)
    if old in ("constant", "eye", "dirac"):  # deterministic fills: torch's values
        assert ours.tolist() == theirs.tolist()
    else:
        assert float(ours.abs().sum()) > 0


@pytest.mark.parametrize("shape, groups", [((4, 2, 3), 1), ((4, 2, 3, 3), 2), ((2, 3, 1, 3, 3), 1)])
def test_dirac_init_as_torchs(session, shape, groups):
    ours, theirs = session.ones(*shape), torch.ones(*shape)
    nn.init.dirac_(ours, groups), torch.nn.init.dirac_(theirs, groups)
    assert ours.tolist() == theirs.tolist()


def test_sparse_init_zeroes_the_share_of_each_column_torchs_does(session):
    session.manual_seed(2)
    ours, theirs = session.ones(10, 300), torch.ones(10, 300)
    nn.init.sparse_(ours, 0.3, std=0.5), torch.nn.init.sparse_(theirs, 0.3, std=0.5)
    a, b = ours.numpy(), theirs.numpy()
    assert ((a == 0).sum(0) == 3).all() and ((b == 0).sum(0) == 3).all()  # ceil(0.3 * 10) a column
    assert abs(a[a != 0].std() / b[b != 0].std() - 1) < 0.1
    for bad in (lambda m: m.nn.init.sparse_(m.ones(2, 2, 2), 0.1), lambda m: m.nn.init.dirac_(m.ones(3, 2, 2), groups=2)):
        with pytest.raises(ValueError) as theirs_error:
            bad(torch)
        with pytest.raises(ValueError, match=str(theirs_error.value)):
            bad(gw)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        nn.init.eye_(session.ones(3))


def test_module_conveniences_as_in_torch(session):
    model = nn.Sequential(nn.Linear(3, 4, session=session), nn.ReLU(), nn.Sequential(nn.Linear(4, 2, session=session)))
    assert model.cuda() is model and model.cpu() is model  # the server keeps the tensors where it chose
    assert model.get_submodule("2.0") is model[2][0] and model.get_parameter("2.0.bias") is model[2][0].bias
    with pytest.raises(AttributeError, match="has no attribute `9`"):
        model.get_submodule("9")
    calls = []
    pre = model[0].register_forward_pre_hook(lambda module, args: calls.append(("pre", args[0].shape)))
    post = model.register_forward_hook(lambda module, args, output: output * 2)
    x = session.ones(5, 3)
    doubled = model(x)
    post.remove()
    plain = model(x)
    assert calls == [("pre", (5, 3)), ("pre", (5, 3))]
    np.testing.assert_allclose(doubled.detach().numpy(), 2 * plain.detach().numpy())
    pre.remove()
    model(x)
    assert len(calls) == 2
    assert model.half()[0].weight.dtype == np.float16


def test_embedding_from_pretrained_as_torchs(session):
    values = np.arange(12, dtype=np.float32).reshape(4, 3)
    ours, theirs = nn.Embedding.from_pretrained(session.tensor(values)), torch.nn.Embedding.from_pretrained(torch.from_numpy(values))
    assert repr(ours) == repr(theirs) and ours.weight.requires_grad is theirs.weight.requires_grad is False
    indices = [[0, 3], [2, 2]]
    assert ours(session.tensor(indices)).tolist() == theirs(torch.tensor(indices)).tolist()
    trainable = nn.Embedding.from_pretrained(values, freeze=False, padding_idx=1, session=session)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1 and trainable.weight.detach().tolist() == values.tolist()


@pytest.mark.parametrize("shape, groups, affine", [((4, 6, 3, 3), 3, True), ((2, 4, 5), 2, False), ((3, 6), 2, True)])
def test_group_norm_matches_torch(session, shape, groups, affine):
    torch.manual_seed(6)
    theirs = torch.nn.GroupNorm(groups, shape[1], affine=affine)
    ours = nn.GroupNorm(groups, shape[1], affine=affine, session=session)
    assert repr(ours) == repr(theirs) or not TORCH_NORMS_TAKE_BIAS
    if affine:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-0.5, 0.5)
        ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = ours(xs), theirs(xt)
    assert_close(out, t_out, what="output")
    cotangent = np.random.default_rng(8).standard_normal(shape).astype(np.float32)
    out.backward(session.tensor(cotangent)), t_out.backward(torch.from_numpy(cotangent))
    assert_close(xs.grad, xt.grad, what="d/dx", atol=1e-5)
    if affine:
        assert_close(ours.weight.grad, theirs.weight.grad, what="d/dweight", atol=1e-5)
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible by num_groups"):
        F.group_norm(session.ones(2, 5, 3), 2)


def test_parameter_containers_as_in_torch(session):
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(3, 4)), torch.nn.Parameter(torch.ones(4))])
    ours = nn.ParameterList([nn.Parameter(session.ones(3, 4)), session.ones(4)])
    assert repr(ours) == repr(theirs) and len(ours) == 2 and ours[1].shape == (4,) and ours[1].requires_grad
    holder, t_holder = nn.Module(), torch.nn.Module()
    holder.ps, t_holder.ps = ours, theirs
    assert repr(holder) == repr(t_holder) and list(holder.state_dict()) == list(t_holder.state_dict()) == ["ps.0", "ps.1"]
    assert len(list(holder.parameters())) == 2
    named = nn.ParameterDict({"scale": session.ones(2), "shift": nn.Parameter(session.zeros(2))})
    assert list(named.keys()) == ["scale", "shift"] and "scale" in named and named["shift"].requires_grad
    assert list(named.state_dict()) == ["scale", "shift"]


_DISTANCES = [
    ("kl_div", lambda F_, x, y: F_.kl_div(F_.log_softmax(x, 1), F_.softmax(y, 1), reduction="batchmean")),
    ("kl_div-log-target", lambda F_, x, y: F_.kl_div(F_.log_softmax(x, 1), F_.log_softmax(y, 1), reduction="sum", log_target=True)),
    ("kl_div-zero-targets", lambda F_, x, y: F_.kl_div(F_.log_softmax(x, 1), (y > 0.5) * 0.5, reduction="none")),
    ("cosine_similarity", lambda F_, x, y: F_.cosine_similarity(x, y)),
    ("pairwise_distance", lambda F_, x, y: F_.pairwise_distance(x, y, p=3.0, keepdim=True)),
]


@pytest.mark.parametrize("name, f", _DISTANCES, ids=[d[0] for d in _DISTANCES])
def test_divergences_and_distances_match_torch(session, name, f):
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal((4, 5)).astype(np.float32)
    xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = f(F, xs, session.tensor(y)), f(TF, xt, torch.from_numpy(y))
    assert_close(out, t_out, what=f"{name} output")
    cotangent = rng.standard_normal(t_out.shape).astype(np.float32)
    out.backward(session.tensor(cotangent)), t_out.backward(torch.from_numpy(cotangent))
    assert_close(xs.grad, xt.grad, what=f"{name} d/dx", atol=1e-5)
    assert repr(nn.KLDivLoss(reduction="batchmean")) == repr(torch.nn.KLDivLoss(reduction="batchmean"))
    assert repr(nn.CosineSimilarity()) == repr(torch.nn.CosineSimilarity())


_INTERPOLATIONS = [
    ((2, 3, 4, 5), {"scale_factor": 2}),
    ((2, 3, 4, 5), {"size": (7, 3)}),
    ((2, 3, 4, 5), {"scale_factor": 2, "mode": "bilinear"}),
    ((2, 3, 4, 5), {"size": (7, 9), "mode": "bilinear"}),
    ((2, 3, 4, 5), {"size": (3, 2), "mode": "bilinear"}),
    ((2, 3, 4, 5), {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True}),
    ((2, 3, 6), {"scale_factor": 2.5, "mode": "linear"}),
    ((2, 3, 6), {"size": 4}),
    ((2, 3, 5, 7), {"size": (9, 4), "mode": "bicubic"}),
    ((2, 3, 5, 7), {"size": (9, 4), "mode": "bicubic", "align_corners": True}),
    ((1, 2, 8, 6), {"scale_factor": 0.5, "mode": "bicubic"}),
    ((1, 2, 4, 4), {"scale_factor": 2.5, "mode": "bicubic"}),
    ((1, 2, 8, 6), {"size": (3, 4), "mode": "area"}),
    ((1, 2, 7), {"size": 5, "mode": "area"}),
    ((1, 2, 7, 5), {"size": (4, 9), "mode": "nearest-exact"}),
    ((1, 2, 7), {"scale_factor": 1.7, "mode": "nearest-exact"}),
]


@pytest.mark.parametrize("shape, kwargs", _INTERPOLATIONS, ids=[f"{s}-{k}" for s, k in _INTERPOLATIONS])
def test_interpolate_matches_torch(session, shape, kwargs):
    x = np.random.default_rng(14).standard_normal(shape).astype(np.float32)
    xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = F.interpolate(xs, **kwargs), TF.interpolate(xt, **kwargs)
    assert_close(out, t_out, what="output")
    cotangent = np.random.default_rng(15).standard_normal(tuple(t_out.shape)).astype(np.float32)
    out.backward(session.tensor(cotangent)), t_out.backward(torch.from_numpy(cotangent))
    assert_close(xs.grad, xt.grad, what="d/dx", atol=1e-5)


def test_upsample_module_and_refusals_as_in_torch(session):
    x = np.arange(8, dtype=np.float32).reshape(1, 1, 2, 4)
    layer, t_layer = nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Upsample(scale_factor=2, mode="bilinear")
    assert repr(layer) == repr(t_layer)
    assert_close(layer(session.tensor(x)), t_layer(torch.from_numpy(x)), what="upsample")
    refusals = [dict(size=3, scale_factor=2), dict(), dict(size=(2,)), dict(scale_factor=(2.0, 2.0, 2.0))]
    for kwargs in refusals:  # ValueErrors in torch's words (a size of too few dims used to resize the first ones only)
        with pytest.raises(ValueError) as theirs:
            torch.nn.functional.interpolate(torch.from_numpy(x), **kwargs)
        with pytest.raises(ValueError) as ours:
            F.interpolate(session.tensor(x), **kwargs)
        assert str(ours.value) == str(theirs.value)


def test_parameter_vectors_and_padded_sequences_as_in_torch(session):
    from torch.nn.utils import parameters_to_vector, vector_to_parameters
    from torch.nn.utils.rnn import pad_sequence

    torch.manual_seed(9)
    t_model = torch.nn.Linear(3, 2)
    model = nn.Linear(3, 2, session=session)
    model.load_state_dict(t_model.state_dict())
    vector, t_vector = gw.nn.utils.parameters_to_vector(model.parameters()), parameters_to_vector(t_model.parameters())
    assert_close(vector, t_vector, what="parameters as one vector")
    (vector * vector).sum().backward(), (t_vector * t_vector).sum().backward()
    assert_close(model.weight.grad, t_model.weight.grad, what="gradient through the vector")
    gw.nn.utils.vector_to_parameters(vector * 2, model.parameters())
    with torch.no_grad():
        vector_to_parameters(t_vector * 2, t_model.parameters())
    assert_close(model.bias, t_model.bias, what="parameters from a vector")
    rows = [np.arange(n * 2, dtype=np.float32).reshape(n, 2) for n in (3, 1, 2)]
    for kwargs in ({}, {"batch_first": True, "padding_value": -1.0}, {"padding_side": "left"}):
        ours = gw.nn.utils.pad_sequence([session.tensor(r) for r in rows], **kwargs)
        theirs = pad_sequence([torch.from_numpy(r) for r in rows], **kwargs)
        assert ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_non_constant_padding_takes_the_dims_torch_takes(session, mode):
    """One to three padded dims, on an input with one or two more (batched or not); others refused in torch's words."""
    for shape in ((5,), (3, 5), (2, 3, 7), (2, 3, 5, 6), (1, 2, 3, 4, 5)):
        for count in (2, 4, 6):
            outcomes = []
            for lib, ones in ((TF, torch.ones), (F, session.ones)):
                try:
                    outcomes.append(tuple(lib.pad(ones(shape), (1,) * count, mode=mode).shape))
                except RuntimeError as error:  # (NotImplementedError is one)
                    outcomes.append((isinstance(error, NotImplementedError), str(error)))
            assert outcomes[1] == outcomes[0], (shape, count)
