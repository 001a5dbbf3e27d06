"""More of gradwire.nn against torch.nn 2.13 (CPU): AdaptiveAvgPool1d, Unfold/Fold, EmbeddingBag, AlphaDropout,
weight_norm (both APIs) and spectral_norm; outputs and gradients, through a real session."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import gradwire as gw
import gradwire.nn.functional as F
from gradwire import nn

from .test_nn import assert_close


def _pair(session, array, requires_grad=True):
    """The same float64 values as a gradwire and a torch leaf."""
    return (session.tensor(array, dtype="float64", requires_grad=requires_grad),
            torch.tensor(array, dtype=torch.float64, requires_grad=requires_grad))


def _backward_both(g_out, t_out, rng):
    seed = rng.standard_normal(tuple(t_out.shape))
    (g_out * g_out._session.tensor(seed, dtype="float64")).sum().backward()
    (t_out * torch.tensor(seed)).sum().backward()


# --- adaptive_avg_pool1d ------------------------------------------------------------------------


@pytest.mark.parametrize("shape, size", [((2, 3, 9), 4), ((2, 3, 8), 4), ((3, 7), 3), ((2, 3, 5), 1), ((2, 2, 5), (7,))])
def test_adaptive_avg_pool1d_matches_torch(session, rng, shape, size):
    gx, tx = _pair(session, rng.standard_normal(shape))
    g_out, t_out = nn.AdaptiveAvgPool1d(size)(gx), tnn.AdaptiveAvgPool1d(size)(tx)
    assert g_out.shape == tuple(t_out.shape)
    assert_close(g_out, t_out, what="output")
    _backward_both(g_out, t_out, rng)
    assert_close(gx.grad, tx.grad, what="grad")
    assert_close(F.adaptive_avg_pool1d(gx, size), TF.adaptive_avg_pool1d(tx, size))


# --- unfold / fold ------------------------------------------------------------------------------

UNFOLDS = [
    ((2, 3, 5, 4), {"kernel_size": 2}),
    ((2, 2, 7, 6), {"kernel_size": (3, 2), "dilation": (2, 1), "padding": (1, 2), "stride": (2, 3)}),
    ((3, 5, 5), {"kernel_size": 3, "padding": 1}),
    ((1, 1, 6, 6), {"kernel_size": 3, "stride": 3}),
]


@pytest.mark.parametrize("shape, options", UNFOLDS)
def test_unfold_and_fold_match_torch(session, rng, shape, options):
    gx, tx = _pair(session, rng.standard_normal(shape))
    g_cols, t_cols = nn.Unfold(**options)(gx), tnn.Unfold(**options)(tx)
    assert g_cols.shape == tuple(t_cols.shape)  # inferred by the client
    assert_close(g_cols, t_cols, what="unfold")
    _backward_both(g_cols, t_cols, rng)
    assert_close(gx.grad, tx.grad, what="unfold's grad")
    assert g_cols.grad_fn.name() == t_cols.grad_fn.name()
    # fold, the adjoint: of fresh columns of the same shape, back to the input's size
    gc, tc = _pair(session, rng.standard_normal(tuple(t_cols.shape)))
    g_img, t_img = nn.Fold(shape[-2:], **options)(gc), tnn.Fold(shape[-2:], **options)(tc)
    assert g_img.shape == tuple(t_img.shape)
    assert_close(g_img, t_img, what="fold")
    _backward_both(g_img, t_img, rng)
    assert_close(gc.grad, tc.grad, what="fold's grad")
    assert g_img.grad_fn.name() == t_img.grad_fn.name()


def test_fold_of_unfold_counts_each_pixel_once_per_block(session):
    x = session.ones(1, 1, 4, 4)
    counts = F.fold(F.unfold(x, 2), (4, 4), 2, stride=1)  # the pixel's number of 2x2 blocks
    expected = TF.fold(TF.unfold(torch.ones(1, 1, 4, 4), 2), (4, 4), 2)
    np.testing.assert_array_equal(counts.numpy(), expected.numpy())


def test_fold_refuses_columns_that_do_not_fit(session):
    with pytest.raises(gw.errors.InvalidArgumentError, match="sliding blocks"):
        F.fold(session.zeros(1, 12, 7), (4, 5), 2).numpy()
    with pytest.raises(gw.errors.InvalidArgumentError, match="divisible"):
        F.fold(session.zeros(1, 7, 12), (4, 5), 2).numpy()


# --- EmbeddingBag -------------------------------------------------------------------------------

BAGS = [
    ("sum", {}), ("mean", {}), ("max", {}),
    ("sum", {"per_sample_weights": True}),
    ("mean", {"padding_idx": 2}),
    ("sum", {"include_last_offset": True}),
    ("max", {"padding_idx": 0}),
]


# include_last_offset is for 1-D input with offsets: no 2-D case of it
BAG_CASES = [(mode, options, two_d) for mode, options in BAGS for two_d in (False, True) if not (two_d and options.get("include_last_offset"))]


@pytest.mark.parametrize("mode, options, two_d", BAG_CASES, ids=[f"{m}-{o}-{'2d' if t else 'offsets'}" for m, o, t in BAG_CASES])
def test_embedding_bag_matches_torch(session, rng, mode, options, two_d):
    options = dict(options)
    weighted = options.pop("per_sample_weights", False)
    gbag = nn.EmbeddingBag(10, 4, mode=mode, session=session, dtype="float64", **options)
    tbag = tnn.EmbeddingBag(10, 4, mode=mode, dtype=torch.float64, **options)
    tbag.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in gbag.state_dict().items()})
    if two_d:
        indices = np.array([[1, 2, 4, 5], [4, 3, 2, 9], [2, 2, 0, 7]])
        g_offsets = t_offsets = None
    else:
        indices = np.array([1, 2, 4, 5, 4, 3, 2, 9, 2, 0, 7])
        offsets = np.array([0, 3, 3, 7] + ([11] if options.get("include_last_offset") else []))  # bag 1 is empty
        g_offsets, t_offsets = session.tensor(offsets), torch.from_numpy(offsets)
    kwargs_g, kwargs_t = {}, {}
    if weighted:
        gw_w, tw_w = _pair(session, rng.standard_normal(indices.shape))
        kwargs_g, kwargs_t = {"per_sample_weights": gw_w}, {"per_sample_weights": tw_w}
    g_out = gbag(session.tensor(indices), g_offsets, **kwargs_g)
    t_out = tbag(torch.from_numpy(indices), t_offsets, **kwargs_t)
    assert_close(g_out, t_out, what="output")
    _backward_both(g_out, t_out, rng)
    assert_close(gbag.weight.grad, tbag.weight.grad, what="weight's grad")
    if weighted:
        assert_close(kwargs_g["per_sample_weights"].grad, kwargs_t["per_sample_weights"].grad, what="per_sample_weights' grad")


def test_embedding_bag_refusals_as_torch(session):
    gweight, tweight = session.zeros(5, 2), torch.zeros(5, 2)
    cases = [
        ((session.tensor([[1, 2]]), gweight, session.tensor([0])), (torch.tensor([[1, 2]]), tweight, torch.tensor([0])), {}),
        ((session.tensor([1, 2]), gweight), (torch.tensor([1, 2]), tweight), {}),
        ((session.tensor([1, 2]), gweight, session.tensor([0])), (torch.tensor([1, 2]), tweight, torch.tensor([0])),
         {"mode": "mean", "per_sample_weights": "w"}),
    ]
    for g_args, t_args, kwargs in cases:
        g_kwargs = {k: (session.ones(2) if v == "w" else v) for k, v in kwargs.items()}
        t_kwargs = {k: (torch.ones(2) if v == "w" else v) for k, v in kwargs.items()}
        with pytest.raises((ValueError, NotImplementedError)) as expected:
            TF.embedding_bag(*t_args, **t_kwargs)
        with pytest.raises(expected.type) as raised:
            F.embedding_bag(*g_args, **g_kwargs)
        assert str(raised.value).split("<class")[0] == str(expected.value).split("<class")[0]  # (the type named: its own)


# --- AlphaDropout -------------------------------------------------------------------------------


def test_alpha_dropout_keeps_mean_and_variance_and_is_the_identity_in_eval(session):
    x = session.randn(200_000, dtype="float64")
    layer = nn.AlphaDropout(0.2)
    y = layer(x).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01
    # a dropped element is a' = -alpha * a + alpha * a * p, torch's value: the most common one
    alpha, p = 1.7580993408473766, 0.2
    a = 1 / np.sqrt((alpha**2 * p + 1) * (1 - p))
    dropped = np.isclose(y, -alpha * a + alpha * a * p)
    assert abs(dropped.mean() - p) < 0.01
    t = tnn.AlphaDropout(0.2)(torch.randn(200_000, dtype=torch.float64)).numpy()
    assert abs(np.isclose(t, -alpha * a + alpha * a * p).mean() - dropped.mean()) < 0.01
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    assert F.alpha_dropout(x, 0.5).numpy() is not None and F.alpha_dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(F.alpha_dropout(x, 1.0, training=True).numpy(), np.zeros(200_000))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.AlphaDropout(1.5)


def test_alpha_dropout_gradient_is_its_scale_where_kept(session):
    x = session.randn(1000, dtype="float64", requires_grad=True)
    y = F.alpha_dropout(x, 0.3, training=True)
    y.sum().backward()
    alpha, p = 1.7580993408473766, 0.3
    a = 1 / np.sqrt((alpha**2 * p + 1) * (1 - p))
    grad = x.grad.numpy()
    assert set(np.round(np.unique(grad), 12)) <= {0.0, round(a, 12)}
    kept = grad != 0
    np.testing.assert_allclose(y.detach().numpy()[kept], x.detach().numpy()[kept] * a + alpha * a * p, rtol=1e-12)


# --- weight_norm ----------------------------------------------------------------------------------


def _linear_pair(session, rng, out_features=4, in_features=3):
    g = nn.Linear(in_features, out_features, session=session).double()
    t = tnn.Linear(in_features, out_features).double()
    t.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in g.state_dict().items()})
    return g, t


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(session, rng, dim):
    g, t = _linear_pair(session, rng)
    with pytest.warns(FutureWarning) as gwarned:
        nn.utils.weight_norm(g, dim=dim)
    with pytest.warns(FutureWarning) as twarned:
        tnn.utils.weight_norm(t, dim=dim)
    assert str(gwarned[0].message) == str(twarned[0].message)
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert list(g.state_dict()) == list(t.state_dict())
    assert_close(g.weight_g, t.weight_g, what="weight_g")
    assert_close(g.weight, t.weight, what="weight")
    for step in range(2):  # the hook recomputes weight from g and v before each call
        with torch.no_grad():
            t.weight_g.mul_(1.5)
        with gw.no_grad():
            g.weight_g.mul_(1.5)
        x = rng.standard_normal((5, 3))
        g_out, t_out = g(session.tensor(x)), t(torch.tensor(x))
        assert_close(g_out, t_out, what=f"output {step}")
        _backward_both(g_out, t_out, rng)
    for name in ("weight_g", "weight_v", "bias"):
        assert_close(getattr(g, name).grad, getattr(t, name).grad, what=f"grad of {name}")
    with pytest.raises(RuntimeError) as raised, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nn.utils.weight_norm(g)
    assert str(raised.value) == "Cannot register two weight_norm hooks on the same parameter weight"
    nn.utils.remove_weight_norm(g)
    tnn.utils.remove_weight_norm(t)
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert_close(g.weight, t.weight, what="weight after removal")
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(g)


def test_weight_norm_on_a_convolution_matches_torch(session, rng):
    g = nn.Conv2d(2, 3, 3, session=session).double()
    t = tnn.Conv2d(2, 3, 3).double()
    t.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in g.state_dict().items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        nn.utils.weight_norm(g)
        tnn.utils.weight_norm(t)
    assert g.weight_g.shape == tuple(t.weight_g.shape) == (3, 1, 1, 1)
    x = rng.standard_normal((2, 2, 5, 5))
    g_out, t_out = g(session.tensor(x)), t(torch.tensor(x))
    assert_close(g_out, t_out)
    _backward_both(g_out, t_out, rng)
    assert_close(g.weight_v.grad, t.weight_v.grad)
    assert_close(g.weight_g.grad, t.weight_g.grad)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrizations_weight_norm_matches_torch(session, rng, dim):
    g, t = _linear_pair(session, rng)
    nn.utils.parametrizations.weight_norm(g, dim=dim)
    tnn.utils.parametrizations.weight_norm(t, dim=dim)
    assert list(g.state_dict()) == list(t.state_dict())
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert type(g).__name__ == type(t).__name__ == "ParametrizedLinear"
    assert_close(g.parametrizations.weight.original0, t.parametrizations.weight.original0)
    assert_close(g.weight, t.weight)
    x = rng.standard_normal((5, 3))
    g_out, t_out = g(session.tensor(x)), t(torch.tensor(x))
    assert_close(g_out, t_out)
    _backward_both(g_out, t_out, rng)
    for name, p in t.named_parameters():
        assert_close(dict(g.named_parameters())[name].grad, p.grad, what=f"grad of {name}")
    # assigning the weight goes through the right inverse, as torch's
    new = rng.standard_normal((4, 3))
    g.weight = session.tensor(new)
    with torch.no_grad():
        t.weight = torch.tensor(new)
    assert_close(g.parametrizations.weight.original0, t.parametrizations.weight.original0)
    assert_close(g.weight, t.weight)


# --- spectral_norm --------------------------------------------------------------------------------


def _with_torchs_vectors(g, t):
    """torch's u and v copied into gradwire's buffers (each draws its own at registration)."""
    g.load_state_dict({k: torch_value.numpy() for k, torch_value in t.state_dict().items()})


@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_spectral_norm_matches_torch(session, rng, n_power_iterations):
    g, t = _linear_pair(session, rng, 5, 3)
    nn.utils.spectral_norm(g, n_power_iterations=n_power_iterations)
    tnn.utils.spectral_norm(t, n_power_iterations=n_power_iterations)
    assert list(g.state_dict()) == list(t.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert g.weight_u.shape == (5,) and g.weight_v.shape == (3,)
    np.testing.assert_allclose(np.linalg.norm(g.weight_u.numpy()), 1.0, rtol=1e-12)
    _with_torchs_vectors(g, t)
    for step in range(3):  # training: each call moves u and v on
        x = rng.standard_normal((4, 3))
        g_out, t_out = g(session.tensor(x)), t(torch.tensor(x))
        assert_close(g_out, t_out, rtol=1e-9, atol=1e-12, what=f"output {step}")
        assert_close(g.weight_u, t.weight_u, rtol=1e-9, atol=1e-12, what=f"u {step}")
        assert_close(g.weight_v, t.weight_v, rtol=1e-9, atol=1e-12, what=f"v {step}")
        _backward_both(g_out, t_out, rng)
    assert_close(g.weight_orig.grad, t.weight_orig.grad, rtol=1e-9, atol=1e-12)
    assert_close(g.bias.grad, t.bias.grad, rtol=1e-9, atol=1e-12)
    g.eval(), t.eval()  # eval: u and v stay
    u = g.weight_u.numpy().copy()
    x = rng.standard_normal((4, 3))
    assert_close(g(session.tensor(x)), t(torch.tensor(x)), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(g.weight_u.numpy(), u)
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks on the same parameter weight"):
        nn.utils.spectral_norm(g)
    nn.utils.remove_spectral_norm(g)
    tnn.utils.remove_spectral_norm(t)
    assert list(g.state_dict()) == list(t.state_dict())
    assert_close(g.weight, t.weight, rtol=1e-9, atol=1e-12)


def test_spectral_norm_on_a_transposed_convolution_uses_dim_1(session, rng):
    g = nn.ConvTranspose2d(2, 3, 3, session=session).double()
    t = tnn.ConvTranspose2d(2, 3, 3).double()
    t.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in g.state_dict().items()})
    nn.utils.spectral_norm(g)
    tnn.utils.spectral_norm(t)
    assert g.weight_u.shape == tuple(t.weight_u.shape) == (3,)
    _with_torchs_vectors(g, t)
    x = rng.standard_normal((1, 2, 4, 4))
    g_out, t_out = g(session.tensor(x)), t(torch.tensor(x))
    assert_close(g_out, t_out, rtol=1e-9, atol=1e-12)
    _backward_both(g_out, t_out, rng)
    assert_close(g.weight_orig.grad, t.weight_orig.grad, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError) as expected:
        tnn.utils.spectral_norm(tnn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError) as raised:
        nn.utils.spectral_norm(nn.Linear(2, 2, session=session), n_power_iterations=0)
    assert str(raised.value) == str(expected.value)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5, 5)])
def test_batch_norm_momentum_none_is_a_cumulative_average_without_a_sync_point(session, rng, monkeypatch, shape):
    ours = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(3, momentum=None)
    theirs = (tnn.BatchNorm1d if len(shape) == 2 else tnn.BatchNorm2d)(3, momentum=None)
    waits = []
    real_wait = session._wait
    monkeypatch.setattr(session, "_wait", lambda *a, **k: waits.append(1) or real_wait(*a, **k))
    batches = [(rng.standard_normal(shape) * (i + 1) + i).astype(np.float32) for i in range(4)]
    outputs = [ours(session.tensor(x)) for x in batches]
    assert not waits  # four training forwards, nothing read back
    for x, out in zip(batches, outputs):
        assert_close(out, theirs(torch.tensor(x)), rtol=1e-5, atol=1e-5)
    assert_close(ours.running_mean, theirs.running_mean, rtol=1e-6, atol=1e-6)
    assert_close(ours.running_var, theirs.running_var, rtol=1e-6, atol=1e-6)
    assert ours.num_batches_tracked.item() == 4
    ours.eval(), theirs.eval()
    assert_close(ours(session.tensor(batches[0])), theirs(torch.tensor(batches[0])), rtol=1e-5, atol=1e-5)


# --- linear_cross_entropy: cross_entropy of linear's logits, with torch's checks ----------------------------------
_RNG = np.random.default_rng(31)
_X, _W, _T = _RNG.standard_normal((4, 5)), _RNG.standard_normal((3, 5)), np.array([0, 2, 1, -100])
LINEAR_CROSS_ENTROPY = {  # (input, linear_weight, target), keywords; float arrays are leaves that require grad
    "plain": ((_X, _W, _T), {}),
    "bias-sum": ((_X, _W, _T), dict(linear_bias=_RNG.standard_normal(3), reduction="sum")),
    "unbatched": ((_X[0], _W, np.array(2)), {}),
    "class-weights-smoothing-none": ((_X, _W, _T), dict(weight=_RNG.random(3), label_smoothing=0.1, reduction="none")),
    "ignore_index": ((_X, _W, np.array([0, 2, 1, 2])), dict(ignore_index=2)),
    "probabilities": ((_X, _W, _RNG.random((4, 3))), {}),
    "k-dimensional": ((_X, _RNG.standard_normal((3, 2, 5)), np.array([[0, 1], [2, 2], [1, 0], [0, 0]])), dict(linear_bias=_RNG.standard_normal((3, 2)))),
    "probabilities-with-ignore_index": ((_X, _W, _RNG.random((4, 3))), dict(ignore_index=1)),
    "3-d-input": ((_X[None], _W, _T), {}), "in-features-differ": ((_X, _W[:, :4], _T), {}),
    "bias-shape": ((_X, _W, _T), dict(linear_bias=_RNG.standard_normal(2))),
    "k-dimensional-unbatched": ((_X[0], _RNG.standard_normal((3, 2, 5)), _T[:1]), {}), "1-d-weight": ((_X, _W[0], _T), {}),
}


@pytest.mark.parametrize("name", sorted(LINEAR_CROSS_ENTROPY))
def test_linear_cross_entropy_matches_torch_values_gradients_and_refusals(session, name):
    args, keywords = LINEAR_CROSS_ENTROPY[name]
    outcomes = []
    for make, functional in ((lambda a, grad: torch.tensor(a, requires_grad=grad), TF), (lambda a, grad: session.tensor(a, requires_grad=grad), F)):
        leaves = [make(a, a.dtype.kind == "f") for a in args]
        extra = {k: make(v, k == "linear_bias") if isinstance(v, np.ndarray) else v for k, v in keywords.items()}
        try:
            loss = functional.linear_cross_entropy(*leaves, **extra)
        except RuntimeError as error:
            outcomes.append(str(error))
            continue
        loss.sum().backward()
        grads = [t.grad for t in leaves + list(extra.values()) if getattr(t, "requires_grad", False)]
        outcomes.append((loss.detach().numpy(), [g.numpy() for g in grads]))
    theirs, ours = outcomes
    if isinstance(theirs, str):
        assert ours == theirs
        return
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10)
    assert len(ours[1]) == len(theirs[1]) >= 2
    for g, t in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(g, t, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("call", [
    lambda f, m, x, w: f.cross_entropy(x, m.tensor([0, 1, 2, 1]), weight=w), lambda f, m, x, w: f.nll_loss(x, m.tensor([0, 1, 2, 1]), weight=w),
    lambda f, m, x, w: f.cross_entropy(x, m.tensor([0, 1, 2, 1]), weight=w, label_smoothing=0.1),
    lambda f, m, x, w: f.binary_cross_entropy(x.sigmoid(), x.detach() * 0 + 0.5, weight=w),
    lambda f, m, x, w: f.binary_cross_entropy_with_logits(x, x.detach() * 0 + 0.5, weight=w),
    lambda f, m, x, w: f.binary_cross_entropy_with_logits(x, x.detach() * 0 + 0.5, pos_weight=w),
    lambda f, m, x, w: f.multi_margin_loss(x, m.tensor([0, 1, 2, 1]), weight=w),
])
def test_a_loss_weight_that_requires_grad_is_refused_where_torch_has_no_gradient_for_it(session, call):
    values, weights = np.random.default_rng(8).standard_normal((4, 3)), np.array([0.5, 1.0, 2.0])
    with pytest.raises(RuntimeError) as theirs:
        call(TF, torch, torch.tensor(values, requires_grad=True), torch.tensor(weights, requires_grad=True))
    with pytest.raises(RuntimeError) as ours:
        call(F, session, session.tensor(values, requires_grad=True), session.tensor(weights, requires_grad=True))
    assert str(ours.value) == str(theirs.value)
    with torch.no_grad(), gw.no_grad():  # no graph, nothing to refuse
        expected = call(TF, torch, torch.tensor(values), torch.tensor(weights, requires_grad=True))
        got = call(F, session, session.tensor(values), session.tensor(weights, requires_grad=True))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-10)
    probabilities = np.full((4, 3), 1 / 3)  # class probabilities: the weight has a gradient there, in torch and here
    w, t_w = session.tensor(weights, requires_grad=True), torch.tensor(weights, requires_grad=True)
    F.cross_entropy(session.tensor(values), session.tensor(probabilities), weight=w).backward()
    TF.cross_entropy(torch.tensor(values), torch.tensor(probabilities), weight=t_w).backward()
    np.testing.assert_allclose(w.grad.numpy(), t_w.grad.numpy(), rtol=1e-10)
