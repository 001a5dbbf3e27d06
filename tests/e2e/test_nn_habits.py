"""What PyTorch users of torch.nn 2.13 rely on without thinking, checked against torch (CPU) through a real session:
a dtype cast that keeps the Parameter objects (an optimizer made before it keeps training), the deprecated
``size_average``/``reduce``, old BatchNorm checkpoints, parameter order, the containers' list methods, packed
sequences, padding modes, the Embedding options, PyTorch's error types and the reprs."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from torch.nn.utils import rnn as trnn

import gradwire as gw
import gradwire.nn.functional as F
from gradwire import nn
from gradwire.nn.utils import rnn as grnn

from .test_nn import assert_close


def _copy(reference, model, session):
    model.load_state_dict({k: session.tensor(v.detach().numpy()) for k, v in reference.state_dict().items()})


def _raised(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the class and words are what is compared
        return type(error), str(error)
    return None, None


# --- 1. a dtype cast converts in place ---------------------------------------------------------------


@pytest.mark.parametrize("cast", [lambda m, lib: m.double(), lambda m, lib: m.to(lib.float64), lambda m, lib: m.type(lib.float64),
                                  lambda m, lib: m.half().float()])
def test_module_cast_keeps_parameter_objects_and_their_grads(session, cast):
    model = nn.Linear(3, 2, session=session)
    weight, bias = model.weight, model.bias
    optimizer = gw.optim.SGD(model.parameters(), lr=0.5)
    x = session.randn(4, 3)
    model(x).sum().backward()
    cast(model, gw)
    assert model.weight is weight and model.bias is bias  # the optimizer's objects still
    assert weight.grad is not None and weight.grad.dtype == weight.dtype and weight.requires_grad
    reference = tnn.Linear(3, 2)
    reference(torch.randn(4, 3)).sum().backward()
    cast(reference, torch)
    assert str(reference.weight.grad.dtype).split(".")[1] == weight.grad.dtype.name
    before = weight.detach().numpy().copy()
    optimizer.zero_grad()
    model(x.to(weight.dtype)).sum().backward()
    optimizer.step()
    assert not np.allclose(weight.detach().numpy(), before)  # still trained


def test_module_cast_converts_floating_buffers_only(session):
    norm = nn.BatchNorm1d(3, session=session)
    mean = norm.running_mean
    norm.double()
    assert norm.running_mean is mean and mean.dtype == np.float64 and norm.num_batches_tracked.dtype == np.int64


# --- 2. size_average and reduce ----------------------------------------------------------------------


LEGACY = [dict(size_average=False), dict(reduce=False), dict(size_average=True, reduce=True), dict(size_average=False, reduce=False)]


@pytest.mark.parametrize("legacy", LEGACY)
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "SmoothL1Loss", "NLLLoss", "CrossEntropyLoss", "SoftMarginLoss"])
def test_loss_modules_honour_size_average_and_reduce(session, rng, name, legacy):
    scores = rng.standard_normal((4, 5))
    target = rng.integers(0, 5, 4) if name in ("NLLLoss", "CrossEntropyLoss") else rng.standard_normal((4, 5))
    with warnings.catch_warnings(record=True) as t_warned:
        warnings.simplefilter("always")
        expected = getattr(tnn, name)(**legacy)(torch.tensor(scores), torch.tensor(target))
    with warnings.catch_warnings(record=True) as g_warned:
        warnings.simplefilter("always")
        actual = getattr(nn, name)(**legacy)(session.tensor(scores), session.tensor(target))
    assert_close(actual, expected)
    assert [(w.category, str(w.message)) for w in g_warned] == [(w.category, str(w.message)) for w in t_warned]


@pytest.mark.parametrize("legacy", LEGACY)
def test_functional_losses_honour_size_average_and_reduce(session, rng, legacy):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(F.mse_loss(session.tensor(x), session.tensor(y), **legacy), TF.mse_loss(torch.tensor(x), torch.tensor(y), **legacy))
        # positionally, in PyTorch's places: cross_entropy(input, target, weight, size_average, ignore_index, reduce)
        target = np.array([1, 0, 3])
        assert_close(F.cross_entropy(session.tensor(x), session.tensor(target), None, legacy.get("size_average"), -100, legacy.get("reduce")),
                     TF.cross_entropy(torch.tensor(x), torch.tensor(target), None, legacy.get("size_average"), -100, legacy.get("reduce")))


def test_a_bad_reduction_is_a_value_error(session):
    x = session.zeros(2)
    for call in (lambda: F.mse_loss(x, x, reduction="avg"), lambda: F.kl_div(x, x, reduction="avg")):
        with pytest.raises(ValueError, match="^avg is not a valid value for reduction$"):
            call()


# --- 3. an old BatchNorm checkpoint ------------------------------------------------------------------


def test_batch_norm_loads_a_checkpoint_without_num_batches_tracked(session):
    reference, norm = tnn.BatchNorm1d(3), nn.BatchNorm1d(3, session=session)
    old = {k: v for k, v in reference.state_dict().items() if k != "num_batches_tracked"}  # no metadata: version 1
    assert str(norm.load_state_dict({k: session.tensor(v.numpy()) for k, v in old.items()})) == str(reference.load_state_dict(old))
    assert norm.state_dict()._metadata[""] == reference.state_dict()._metadata[""] == {"version": 2}
    saved = norm.state_dict()  # version 2 says the key was saved: a missing one is missing
    del saved["num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key.*"num_batches_tracked"'):
        norm.load_state_dict(saved)


# --- 4. parameter order ------------------------------------------------------------------------------


def test_reassigned_and_shared_parameters_keep_their_place(session):
    model, reference = nn.Linear(2, 3, session=session), tnn.Linear(2, 3)
    model.weight = nn.Parameter(session.zeros(3, 2))
    reference.weight = tnn.Parameter(torch.zeros(3, 2))
    assert list(model.state_dict()) == list(reference.state_dict()) == ["weight", "bias"]
    a, b = nn.Linear(2, 2, session=session), nn.Linear(2, 2, session=session)
    b.weight = a.weight
    assert [name for name, _ in b.named_parameters()] == ["weight", "bias"]


def test_parameter_dict_from_a_dict_sorts_its_keys(session):
    made = {"b": session.zeros(1), "a": session.zeros(1)}
    assert list(nn.ParameterDict(made)) == list(tnn.ParameterDict({"b": torch.zeros(1), "a": torch.zeros(1)})) == ["a", "b"]
    assert list(nn.ParameterDict(OrderedDict(made))) == ["b", "a"]


# --- 5. containers, packed sequences, init, convolutions, embeddings -----------------------------------


def test_sequential_list_methods_match_torch(session):
    def build(library, **kw):
        return library.Sequential(*(library.Linear(i + 1, i + 2, **kw) for i in range(3)))

    def shape(seq):
        return [(name, m.in_features) for name, m in seq.named_children()]

    for edit in (lambda s, lib, kw: s.__setitem__(1, lib.Linear(9, 9, **kw)), lambda s, lib, kw: s.__delitem__(0),
                 lambda s, lib, kw: s.__delitem__(slice(0, 2)), lambda s, lib, kw: s.insert(-1, lib.Linear(7, 7, **kw)),
                 lambda s, lib, kw: s.extend([lib.Linear(5, 5, **kw)]), lambda s, lib, kw: s.pop(1)):
        g, t = build(nn, session=session), build(tnn)
        edit(g, nn, {"session": session}), edit(t, tnn, {})
        assert shape(g) == shape(t)
    g, t = build(nn, session=session), build(tnn)
    assert shape(g + g) == shape(t + t) and shape(g * 2) == shape(t * 2) and shape(2 * g) == shape(2 * t)
    g += build(nn, session=session)
    g *= 2
    t += build(tnn)
    t *= 2
    assert shape(g) == shape(t)
    assert _raised(lambda: g + nn.ModuleList())[0] is ValueError and _raised(lambda: g * 0)[0] is ValueError


def test_module_list_pop_and_add(session):
    g = nn.ModuleList([nn.Linear(1, 1, session=session), nn.ReLU(), nn.Tanh()])
    t = tnn.ModuleList([tnn.Linear(1, 1), tnn.ReLU(), tnn.Tanh()])
    assert type(g.pop(1)).__name__ == type(t.pop(1)).__name__ == "ReLU"
    assert list(dict(g.named_children())) == list(dict(t.named_children())) == ["0", "1"]
    assert [type(m).__name__ for m in g + [nn.ReLU()]] == [type(m).__name__ for m in t + [tnn.ReLU()]]


def test_packed_sequence_is_torchs_named_tuple(session):
    a, b = np.array([1.0, 2.0, 3.0], np.float32), np.array([4.0, 5.0], np.float32)
    g = grnn.pack_sequence([session.tensor(b), session.tensor(a)], enforce_sorted=False)
    t = trnn.pack_sequence([torch.tensor(b), torch.tensor(a)], enforce_sorted=False)
    assert repr(g) == repr(t)
    assert g._fields == t._fields and len(g) == len(t) and g.is_cuda is False
    assert_close(g[1], t[1])
    assert g.to(gw.float64).data.dtype == np.float64 and g.double().data.dtype == np.float64 and g.to(gw.float32) is g
    assert [x.tolist() for x in grnn.unpack_sequence(g)] == [x.tolist() for x in trnn.unpack_sequence(t)]
    padded = grnn.pad_sequence([session.tensor(b), session.tensor(a)])
    assert [x.tolist() for x in grnn.unpad_sequence(padded, session.tensor([2, 3]))] == [[4.0, 5.0], [1.0, 2.0, 3.0]]


def test_calculate_gain_selu_and_transposed_convolutions():
    for name in ("selu", "conv_transpose2d", "leaky_relu"):
        assert nn.init.calculate_gain(name) == tnn.init.calculate_gain(name)
    assert _raised(lambda: nn.init.calculate_gain("leaky_relu", "x")) == _raised(lambda: tnn.init.calculate_gain("leaky_relu", "x"))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding, kernel", [(1, 3), ((1, 2), 3), ("same", 4), ("valid", 3)])
def test_conv_padding_modes_match_torch(session, rng, mode, padding, kernel):
    reference = tnn.Conv2d(2, 3, kernel, padding=padding, padding_mode=mode).double()
    model = nn.Conv2d(2, 3, kernel, padding=padding, padding_mode=mode, session=session, dtype="float64")
    _copy(reference, model, session)
    assert repr(model) == repr(reference)
    x = rng.standard_normal((2, 2, 5, 6))
    gx, tx = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = model(gx), reference(tx)
    assert_close(out, t_out)
    out.sum().backward(), t_out.sum().backward()
    assert_close(gx.grad, tx.grad)
    assert_close(model.weight.grad, reference.weight.grad)


def test_conv_refuses_as_torch_at_construction(session):
    for args, kw in (((1, 1, 3), {"padding_mode": "foo"}), ((1, 1, 3), {"padding": "same", "stride": 2}), ((1, 1, 3), {"padding": "full"})):
        g_error, t_error = _raised(lambda: nn.Conv2d(*args, session=session, **kw)), _raised(lambda: tnn.Conv2d(*args, **kw))
        assert g_error[0] is t_error[0] is ValueError
    assert _raised(lambda: nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect", session=session)) == \
        _raised(lambda: tnn.ConvTranspose2d(1, 1, 3, padding_mode="reflect"))


@pytest.mark.parametrize("dims", [1, 2])
def test_conv_transpose_output_size_matches_torch(session, rng, dims):
    torch_cls, cls = (tnn.ConvTranspose1d, nn.ConvTranspose1d) if dims == 1 else (tnn.ConvTranspose2d, nn.ConvTranspose2d)
    reference, model = torch_cls(2, 3, 3, stride=2, padding=1).double(), cls(2, 3, 3, stride=2, padding=1, session=session, dtype="float64")
    _copy(reference, model, session)
    x = rng.standard_normal((2, 2) + (5, 6)[:dims])
    size = [2 * n for n in x.shape[2:]]
    assert_close(model(session.tensor(x), output_size=size), reference(torch.tensor(x), output_size=size))
    too_big = [3 * n for n in x.shape[2:]]
    assert _raised(lambda: model(session.tensor(x), output_size=too_big)) == _raised(lambda: reference(torch.tensor(x), output_size=too_big))


@pytest.mark.parametrize("options", [dict(max_norm=1.0), dict(max_norm=1.5, norm_type=1.0), dict(scale_grad_by_freq=True),
                                     dict(scale_grad_by_freq=True, padding_idx=2)])
def test_embedding_options_match_torch(session, rng, options):
    table = rng.standard_normal((6, 3)) * 2
    index = np.array([[0, 2, 2], [5, 0, 1]])
    g_weight, t_weight = session.tensor(table, requires_grad=True), torch.tensor(table, requires_grad=True)
    out, t_out = F.embedding(session.tensor(index), g_weight, **options), TF.embedding(torch.tensor(index), t_weight, **options)
    assert_close(out, t_out)
    seed = rng.standard_normal(tuple(t_out.shape))
    (out * session.tensor(seed)).sum().backward(), (t_out * torch.tensor(seed)).sum().backward()
    assert_close(g_weight.grad, t_weight.grad)
    assert_close(g_weight, t_weight)  # max_norm renormalised the rows looked up, in place


def test_embedding_from_pretrained_with_options(session, rng):
    table = rng.standard_normal((6, 3)) * 2
    index = np.array([[0, 2, 2], [5, 0, 1]])
    model = nn.Embedding.from_pretrained(session.tensor(table), max_norm=1.0, scale_grad_by_freq=True)
    reference = tnn.Embedding.from_pretrained(torch.tensor(table), max_norm=1.0, scale_grad_by_freq=True)
    assert repr(model) == repr(reference)
    assert_close(model(session.tensor(index)), reference(torch.tensor(index)))
    bag = nn.EmbeddingBag.from_pretrained(session.tensor(table), mode="sum", max_norm=1.0, freeze=False)
    t_bag = tnn.EmbeddingBag.from_pretrained(torch.tensor(table), mode="sum", max_norm=1.0, freeze=False)
    assert repr(bag) == repr(t_bag) and bag.weight.requires_grad
    assert_close(bag(session.tensor(index)), t_bag(torch.tensor(index)))
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(3, 2, sparse=True, session=session)


# --- 6 and 7. PyTorch's error types and words --------------------------------------------------------


def test_value_errors_as_torch(session):
    norm, t_norm = nn.BatchNorm1d(3, session=session), tnn.BatchNorm1d(3)
    for g_call, t_call in (
        (lambda: norm(session.zeros(1, 3)), lambda: t_norm(torch.zeros(1, 3))),
        (lambda: norm(session.zeros(2, 3, 4, 5)), lambda: t_norm(torch.zeros(2, 3, 4, 5))),
        (lambda: F.gaussian_nll_loss(session.zeros(2), session.zeros(2), session.tensor([1.0, -1.0])),
         lambda: TF.gaussian_nll_loss(torch.zeros(2), torch.zeros(2), torch.tensor([1.0, -1.0]))),
        (lambda: nn.GroupNorm(3, 4, session=session), lambda: tnn.GroupNorm(3, 4)),
    ):
        g_error, t_error = _raised(g_call), _raised(t_call)
        assert t_error[0] is ValueError and issubclass(g_error[0], ValueError) and g_error[1] == t_error[1]


def test_registration_name_checks_as_torch(session):
    model, reference = nn.Linear(2, 2, session=session), tnn.Linear(2, 2)
    calls = [
        lambda m, t: m.register_buffer("weight", t), lambda m, t: m.register_buffer("a.b", t), lambda m, t: m.register_buffer("", t),
        lambda m, t: m.register_parameter("a.b", None), lambda m, t: m.register_parameter("", None),
        lambda m, t: m.register_parameter("forward", None), lambda m, t: m.register_buffer(1, None),
        lambda m, t: m.add_module("a.b", None), lambda m, t: m.add_module("weight", None), lambda m, t: m.add_module("", None),
    ]
    for call in calls:
        g_error, t_error = _raised(lambda: call(model, session.zeros(1))), _raised(lambda: call(reference, torch.zeros(1)))
        assert g_error == t_error and t_error[0] is not None


# --- 8 and 9. NaN where torch has 0 ------------------------------------------------------------------


@pytest.mark.parametrize("loss, options", [(loss, options) for loss in ("cross_entropy", "nll_loss")
                                            for options in ({}, {"weight": True}, {"label_smoothing": 0.1}, {"reduction": "none"})
                                            if loss == "cross_entropy" or "label_smoothing" not in options])
def test_every_target_ignored_gives_a_zero_gradient(session, rng, loss, options):
    x, target = rng.standard_normal((3, 4)), np.full(3, -100)
    kw = dict(options)
    g_kw, t_kw = dict(kw), dict(kw)
    if kw.pop("weight", None):
        g_kw["weight"], t_kw["weight"] = session.tensor(np.full(4, 2.0)), torch.full((4,), 2.0, dtype=torch.float64)
    gx, tx = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = getattr(F, loss)(gx, session.tensor(target), **g_kw), getattr(TF, loss)(tx, torch.tensor(target), **t_kw)
    np.testing.assert_array_equal(np.isnan(out.detach().numpy()), np.isnan(t_out.detach().numpy()))
    out.sum().backward(), t_out.sum().backward()
    assert_close(gx.grad, tx.grad)
    assert not np.isnan(gx.grad.numpy()).any()


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_attention_row_masked_whole_is_zero(session, rng, kind):
    q, k, v = rng.standard_normal((1, 3, 4)), rng.standard_normal((1, 5, 4)), rng.standard_normal((1, 5, 4))
    mask = np.ones((3, 5), bool)
    mask[1], mask[2, 2:] = False, False
    if kind == "float":
        mask = np.where(mask, 0.0, -np.inf)
    g_in = [session.tensor(a, requires_grad=True) for a in (q, k, v)]
    t_in = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*g_in, attn_mask=session.tensor(mask))
    t_out = TF.scaled_dot_product_attention(*t_in, attn_mask=torch.tensor(mask))
    assert_close(out, t_out)
    seed = rng.standard_normal(tuple(t_out.shape))
    (out * session.tensor(seed)).sum().backward(), (t_out * torch.tensor(seed)).sum().backward()
    for g, t in zip(g_in, t_in):
        assert_close(g.grad, t.grad)


# --- 10. reprs and messages --------------------------------------------------------------------------


def test_reprs_and_messages_as_torch(session):
    for g, t in ((nn.LayerNorm(3, session=session), tnn.LayerNorm(3)), (nn.LayerNorm(3, bias=False, session=session), tnn.LayerNorm(3, bias=False)),
                 (nn.LayerNorm(3, elementwise_affine=False), tnn.LayerNorm(3, elementwise_affine=False)),
                 (nn.EmbeddingBag(3, 2, session=session), tnn.EmbeddingBag(3, 2)),
                 (nn.Embedding(3, 2, padding_idx=1, max_norm=1.0, norm_type=3.0, scale_grad_by_freq=True, session=session),
                  tnn.Embedding(3, 2, padding_idx=1, max_norm=1.0, norm_type=3.0, scale_grad_by_freq=True))):
        assert repr(g) == repr(t)
    x, t_x = session.zeros(3, 2, 4), torch.zeros(3, 2, 4)
    g_error = _raised(lambda: nn.MultiheadAttention(4, 2, session=session)(x, x, x, attn_mask=session.zeros(2, 2)))
    t_error = _raised(lambda: tnn.MultiheadAttention(4, 2)(t_x, t_x, t_x, attn_mask=torch.zeros(2, 2)))
    assert g_error[1] == t_error[1]


_INTEGER_ACTIVATIONS = {  # torch keeps an integer input's dtype: the bounds and the value are cast to it
    "hardtanh": lambda f, x: f.hardtanh(x, -1.7, 2.7), "relu6": lambda f, x: f.relu6(x), "hardtanh_": lambda f, x: f.hardtanh_(x.clone(), -0.5, 2.5),
    "threshold": lambda f, x: f.threshold(x, 1.5, -2.2), "threshold_": lambda f, x: f.threshold_(x.clone(), 0.5, 9.7),
}


@pytest.mark.parametrize("dtype", ["int64", "int8", "uint8"])
@pytest.mark.parametrize("name", sorted(_INTEGER_ACTIVATIONS))
def test_clamping_activations_keep_an_integer_dtype_or_refuse_as_torch(session, name, dtype):
    values = [0, 1, 3, 7, 200] if dtype == "uint8" else [-3, 0, 1, 3, 7]
    x, t = session.tensor(values, dtype=getattr(gw, dtype)), torch.tensor(values, dtype=getattr(torch, dtype))
    try:
        expected = _INTEGER_ACTIVATIONS[name](TF, t)
    except RuntimeError as error:  # uint8: a negative limit, or a value outside the dtype
        with pytest.raises(RuntimeError) as ours:  # at once: the dtype is known
            _INTEGER_ACTIVATIONS[name](F, x)
        assert str(ours.value) == str(error)
        return
    result = _INTEGER_ACTIVATIONS[name](F, x)
    assert result.dtype == np.dtype(dtype)
    assert result.tolist() == expected.tolist()


@pytest.mark.parametrize("dtype", ["int32", "int16", "int64"])
def test_an_activation_bound_outside_an_integer_dtype_is_refused_naming_it_as_torch(session, dtype):
    calls = (lambda f, x: f.hardtanh(x, -1, 3e9), lambda f, x: f.threshold(x, 3e9, 1), lambda f, x: f.threshold(x, 1, 3e19))
    for call in calls:
        t = torch.tensor([1, 2], dtype=getattr(torch, dtype))
        try:
            expected = call(TF, t).tolist()
        except RuntimeError as error:  # int32 is torch's C++ "int": int16_t and int64_t keep their names
            with pytest.raises(RuntimeError) as ours:
                call(F, session.tensor([1, 2], dtype=getattr(gw, dtype)))
            assert str(ours.value) == str(error)
        else:
            assert call(F, session.tensor([1, 2], dtype=getattr(gw, dtype))).tolist() == expected


def test_activations_refuse_bool_and_integer_inputs_in_torchs_words(session):
    mask, torch_mask = session.tensor([True, False]), torch.tensor([True, False])
    at_once = (lambda f, x: f.hardtanh(x), lambda f, x: f.relu6(x), lambda f, x: f.threshold(x, 0.5, 0.0))
    for call in at_once:
        with pytest.raises((RuntimeError, NotImplementedError)) as theirs:
            call(TF, torch_mask)
        with pytest.raises(type(theirs.value)) as ours:
            call(F, mask)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(session.tensor([1.0]), 2.0, 1.0)
    longs, torch_longs = session.tensor([[1, 2], [3, 4]]), torch.tensor([[1, 2], [3, 4]])
    deferred = [(lambda f, x: x.relu(), mask), (lambda f, x: x.abs(), mask), (lambda f, x: x.argmax(), mask), (lambda f, x: x.argmin(0), mask),
                (lambda f, x: x.norm(), longs), (lambda f, x: x.softmax(0), longs), (lambda f, x: x.log_softmax(-1), longs),
                (lambda f, x: f.gelu(x), longs), (lambda f, x: f.leaky_relu(x), mask), (lambda f, x: f.silu(x), longs)]
    for call, x in deferred:
        with pytest.raises((RuntimeError, NotImplementedError)) as theirs:
            call(TF, torch_mask if x is mask else torch_longs)
        with pytest.raises(gw.GradwireError) as ours:  # at the sync point, naming the op
            call(F, x).numpy()
        assert str(theirs.value) in str(ours.value)


_BAD_WINDOWS = [
    lambda F, R: F.max_pool2d(R(1, 1, 4, 4), 2, -1), lambda F, R: F.max_pool2d(R(1, 1, 4, 4), 0), lambda F, R: F.max_pool2d(R(1, 1, 4, 4), -1, 1),
    lambda F, R: F.avg_pool2d(R(1, 1, 4, 4), 2, 0), lambda F, R: F.avg_pool2d(R(1, 1, 4, 4), 0, 1), lambda F, R: F.max_pool2d(R(1, 1, 4, 4), 2, 1, dilation=0),
    lambda F, R: F.max_pool1d(R(1, 4, 4), 2, 0), lambda F, R: F.conv2d(R(1, 1, 4, 4), R(1, 1, 2, 2), stride=0),
    lambda F, R: F.conv2d(R(1, 1, 4, 4), R(1, 1, 2, 2), stride=(1, -1)), lambda F, R: F.conv1d(R(1, 4, 4), R(1, 1, 2), stride=0),
    lambda F, R: F.conv3d(R(1, 1, 4, 4, 4), R(1, 1, 2, 2, 2), stride=0), lambda F, R: F.conv_transpose2d(R(1, 1, 4, 4), R(1, 1, 2, 2), stride=0),
    lambda F, R: F.conv2d(R(1, 1, 4, 4), R(1, 1, 2, 2), dilation=0), lambda F, R: F.conv2d(R(1, 1, 4, 4), R(1, 1, 2, 2), padding=-1),
]


@pytest.mark.parametrize("index", range(len(_BAD_WINDOWS)))
def test_bad_strides_kernels_dilations_and_paddings_are_refused_as_torch(session, index):
    """A zero stride raised ZeroDivisionError out of the SDK (the output's shape); now each is refused at the call,
    in PyTorch's words."""
    with pytest.raises(RuntimeError) as theirs:
        _BAD_WINDOWS[index](TF, lambda *shape: torch.ones(*shape))
    with pytest.raises(gw.InvalidArgumentError) as ours:
        _BAD_WINDOWS[index](F, session.ones)
    assert str(ours.value) == str(theirs.value)


_MISFITS = [  # a bias or weight that does not fit: refused in PyTorch's words (at the call, or at the next sync point)
    lambda F, R: F.conv2d(R(1, 3, 5, 5), R(4, 3, 3, 3), bias=R(3)), lambda F, R: F.conv2d(R(1, 3, 5, 5), R(4, 3, 3, 3), bias=R(4, 1)),
    lambda F, R: F.conv_transpose2d(R(1, 3, 5, 5), R(3, 4, 3, 3), bias=R(3)), lambda F, R: F.conv1d(R(3, 5), R(4, 3, 3, 3)),
    lambda F, R: F.linear(R(2, 3), R(4, 3), R(5)), lambda F, R: F.linear(R(3), R(4, 3), R(5)), lambda F, R: F.linear(R(2, 7, 3), R(4, 3), R(2, 4)),
]


@pytest.mark.parametrize("index", range(len(_MISFITS)))
def test_a_bias_or_weight_that_does_not_fit_is_refused_in_torchs_words(session, index):
    with pytest.raises(RuntimeError) as theirs:
        _MISFITS[index](TF, lambda *shape: torch.ones(*shape))
    with pytest.raises(gw.GradwireError) as ours:
        _MISFITS[index](F, session.ones).tolist()
    assert str(theirs.value) in str(ours.value)  # (linear's F.linear used to name x's and the weight's shapes)


@pytest.mark.parametrize("call", [
    lambda F, x: F.adaptive_avg_pool2d(x, 0), lambda F, x: F.adaptive_avg_pool2d(x, (0, 2)), lambda F, x: F.adaptive_max_pool2d(x, 0),
    lambda F, x: F.adaptive_max_pool2d(x, (2, 0), return_indices=True)[1], lambda F, x: F.adaptive_avg_pool1d(x[0], 0),
    lambda F, x: F.adaptive_avg_pool2d(x, -1), lambda F, x: F.adaptive_max_pool2d(x, -1),
])
def test_adaptive_pooling_to_size_zero_is_empty_and_below_refused_as_torch(session, call):
    values = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    try:
        expected = call(TF, torch.from_numpy(values))
    except RuntimeError as error:
        with pytest.raises(gw.GradwireError) as ours:
            call(F, session.tensor(values)).tolist()
        assert str(error) in str(ours.value)
        return
    result = call(F, session.tensor(values))
    assert result.shape == tuple(expected.shape) and result.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))


# --- device= on the layers, loss weights as buffers, LinearCrossEntropyLoss -------------------------------------------
def _layers_taking_device():
    import inspect

    names = []
    for name in dir(tnn):
        layer = getattr(tnn, name)
        if isinstance(layer, type) and issubclass(layer, tnn.Module) and hasattr(nn, name) and not name.startswith("Lazy"):
            try:
                if "device" in inspect.signature(layer.__init__).parameters:
                    names.append(name)
            except (TypeError, ValueError):
                pass
    return names + ["LSTM", "GRU", "RNN"]  # (torch's take it through **kwargs)


_LAYER_ARGS = {"LinearCrossEntropyLoss": (4, 3), "Bilinear": (3, 4, 5), "Linear": (3, 4), "Embedding": (5, 3), "EmbeddingBag": (5, 3), "PReLU": (), "LayerNorm": (4,),
               "RMSNorm": (4,), "GroupNorm": (2, 4), "MultiheadAttention": (4, 2), "Transformer": (), "TransformerEncoderLayer": (4, 2),
               "TransformerDecoderLayer": (4, 2), "LSTMCell": (3, 4), "GRUCell": (3, 4), "RNNCell": (3, 4), "LSTM": (3, 4), "GRU": (3, 4), "RNN": (3, 4),
               "RNNBase": ("LSTM", 3, 4), "RNNCellBase": (3, 4, True, 2), "AdaptiveLogSoftmaxWithLoss": (8, 10, [4])}


@pytest.mark.parametrize("name", _layers_taking_device())
def test_every_layer_takes_torchs_device_keyword(session, name):
    args = _LAYER_ARGS.get(name, (4, 4, 3) if "Conv" in name else (4,))
    kwargs = {"d_model": 8, "nhead": 2, "num_encoder_layers": 1, "num_decoder_layers": 1, "dim_feedforward": 8} if name == "Transformer" else {}
    ours = getattr(nn, name)(*args, device="cpu", dtype=gw.float64, **kwargs)  # as model code writes factory_kwargs
    theirs = getattr(tnn, name)(*args, device="cpu", dtype=torch.float64, **kwargs)
    assert {k: tuple(p.shape) for k, p in ours.named_parameters()} == {k: tuple(p.shape) for k, p in theirs.named_parameters()}
    assert all(p.dtype == gw.float64 for p in ours.parameters())
    with pytest.raises(RuntimeError, match="device type at start of device string: tpu"):
        getattr(nn, name)(*args, device="tpu", **kwargs)


def test_loss_weights_are_buffers_as_torchs(session):
    weights = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MultiMarginLoss", "MultiLabelSoftMarginLoss"):
        ours, theirs = getattr(nn, name)(weight=session.tensor(weights)), getattr(tnn, name)(weight=torch.tensor(weights))
        assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"], name
    assert list(nn.BCEWithLogitsLoss(pos_weight=session.tensor(weights)).state_dict()) == ["pos_weight"]
    assert nn.CrossEntropyLoss().weight is None and list(nn.CrossEntropyLoss().state_dict()) == []
    x, t = np.random.default_rng(4).standard_normal((4, 3)).astype(np.float32), np.array([0, 1, 2, 1])
    loss = nn.CrossEntropyLoss(weight=session.tensor(weights))
    loss.load_state_dict({"weight": session.tensor([3.0, 1.0, 1.0])})  # the loaded weights are the ones used
    expected = tnn.CrossEntropyLoss(weight=torch.tensor([3.0, 1.0, 1.0]))(torch.tensor(x), torch.tensor(t)).item()
    assert loss(session.tensor(x), session.tensor(t)).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("out_features, bias", [((), False), ((), True), ((2,), True)])
def test_linear_cross_entropy_loss_module_as_torchs(session, out_features, bias):
    rng = np.random.default_rng(5)
    ours = nn.LinearCrossEntropyLoss(5, 3, out_features=out_features, bias=bias, dtype=gw.float64, label_smoothing=0.1)
    theirs = tnn.LinearCrossEntropyLoss(5, 3, out_features=out_features, bias=bias, dtype=torch.float64, label_smoothing=0.1)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    x = rng.standard_normal((4, 5))
    target = rng.integers(0, 3, (4, *out_features))
    g, t = ours(session.tensor(x), session.tensor(target)), theirs(torch.tensor(x), torch.tensor(target))
    g.backward()
    t.backward()
    assert g.item() == pytest.approx(t.item(), rel=1e-10)
    np.testing.assert_allclose(ours.linear.weight.grad.numpy(), theirs.linear.weight.grad.numpy(), rtol=1e-9)
    with pytest.raises(RuntimeError, match=r"expected weight shape to be \(3,\), got \(2,\)"):
        nn.LinearCrossEntropyLoss(5, 3, weight=session.ones(2))
    with pytest.raises(RuntimeError, match="expected label_smoothing to be in range"):
        nn.LinearCrossEntropyLoss(5, 3, label_smoothing=1.5)
    options = nn.LinearCrossEntropyOptions(batch_chunk_size=2)  # PyTorch's chunking: taken, the result the same
    assert ours.__class__(5, 3, options=options).options.batch_chunk_size == 2


@pytest.mark.parametrize("call", [
    lambda f, m: f.interpolate(m.ones(1, 1, 4), scale_factor=2, mode="bogus"), lambda f, m: f.interpolate(m.ones(1, 1, 4, 4), scale_factor=2, mode="bogus"),
    lambda f, m: f.interpolate(m.ones(1, 1, 4, 4, 4, 4), scale_factor=2), lambda f, m: f.interpolate(m.ones(1, 1, 4), scale_factor=2, align_corners=True),
    lambda f, m: f.unfold(m.ones(1, 1, 2, 2), kernel_size=3), lambda f, m: f.unfold(m.ones(1, 1, 5, 5), kernel_size=3, dilation=3),
    lambda f, m: f.unfold(m.ones(1, 2, 2), kernel_size=3, padding=(1, 0)), lambda f, m: f.pad(m.ones(1, 1, 2), (1, 1), mode="bogus"),
    lambda f, m: f.dropout(m.ones(2), p=1.5), lambda f, m: f.dropout2d(m.ones(1, 2, 2), p=-1), lambda f, m: f.alpha_dropout(m.ones(2), p=2.0),
])
def test_functional_refusals_are_torchs_class_and_words_at_the_call(session, call):
    with pytest.raises(Exception) as theirs:
        call(TF, torch)
    with pytest.raises(type(theirs.value)) as ours:  # ValueError where torch's is, NotImplementedError, RuntimeError
        call(F, session)
    assert str(ours.value) == str(theirs.value)
