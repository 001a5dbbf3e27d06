"""gw.amp against torch.amp on CPU: autocast's output dtypes op by op, and a small MLP trained with autocast and a
GradScaler, step by step (torch 2.13's CPU autocast with dtype=float16 asked for; the bfloat16 default is tested in test_bfloat16.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")
TF = torch.nn.functional
GF = gw.nn.functional


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    r = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    return {
        "a": r(4, 4), "b": r(4, 4), "v": r(4), "x3": r(2, 4, 4), "img": r(1, 2, 5, 5), "w": r(3, 2, 3, 3), "seq": r(1, 2, 6),
        "w1": r(3, 2, 3), "p": 1 / (1 + np.exp(-r(4, 4))), "t": np.array([0, 1, 2, 3]), "alpha": np.array([0.2], np.float32),
    }


# name -> f(lib, F, T): T(name) is the array of that name as a float32 tensor, T(name, "float16") cast first
CASES = {
    "mm": lambda lib, F, T: T("a").mm(T("b")),
    "matmul": lambda lib, F, T: T("a") @ T("b"),
    "bmm": lambda lib, F, T: T("x3").bmm(T("x3")),
    "linear": lambda lib, F, T: F.linear(T("a"), T("b"), T("v")),
    "conv1d": lambda lib, F, T: F.conv1d(T("seq"), T("w1")),
    "conv2d": lambda lib, F, T: F.conv2d(T("img"), T("w")),
    "conv_transpose2d": lambda lib, F, T: F.conv_transpose2d(T("img"), T("w").transpose(0, 1)),
    "addmm": lambda lib, F, T: lib.addmm(T("v"), T("a"), T("b")),
    "baddbmm": lambda lib, F, T: lib.baddbmm(T("x3"), T("x3"), T("x3")),
    "addbmm": lambda lib, F, T: lib.addbmm(T("a"), T("x3"), T("x3")),
    "prelu": lambda lib, F, T: F.prelu(T("a"), T("alpha")),
    "einsum": lambda lib, F, T: lib.einsum("ij,jk->ik", T("a"), T("b")),
    "sdpa": lambda lib, F, T: F.scaled_dot_product_attention(T("x3"), T("x3"), T("x3")),
    "mv": lambda lib, F, T: T("a").mv(T("v")),
    "dot": lambda lib, F, T: T("v").dot(T("v")),
    "addmv": lambda lib, F, T: lib.addmv(T("v"), T("a"), T("v")),
    "outer": lambda lib, F, T: lib.outer(T("v"), T("v")),
    "softmax": lambda lib, F, T: T("a", "float16").softmax(1),
    "log_softmax": lambda lib, F, T: T("a", "float16").log_softmax(1),
    "cross_entropy": lambda lib, F, T: F.cross_entropy(T("a", "float16"), T("t")),
    "cross_entropy_smoothed": lambda lib, F, T: F.cross_entropy(T("a", "float16"), T("t"), label_smoothing=0.1),
    "nll_loss": lambda lib, F, T: F.nll_loss(T("a", "float16"), T("t")),
    "mse_loss": lambda lib, F, T: F.mse_loss(T("a", "float16"), T("b", "float16")),
    "mse_loss_mixed": lambda lib, F, T: F.mse_loss(T("a"), T("b", "float16")),
    "l1_loss": lambda lib, F, T: F.l1_loss(T("a", "float16"), T("b", "float16")),
    "smooth_l1_loss": lambda lib, F, T: F.smooth_l1_loss(T("a", "float16"), T("b", "float16")),
    "huber_loss": lambda lib, F, T: F.huber_loss(T("a", "float16"), T("b", "float16")),
    "binary_cross_entropy": lambda lib, F, T: F.binary_cross_entropy(T("p", "float16"), T("p", "float16")),
    "bce_with_logits": lambda lib, F, T: F.binary_cross_entropy_with_logits(T("a", "float16"), T("p", "float16")),
    "layer_norm": lambda lib, F, T: F.layer_norm(T("a", "float16"), (4,)),
    "exp": lambda lib, F, T: T("a", "float16").exp(),
    "pow": lambda lib, F, T: T("a", "float16").pow(2),
    "sum": lambda lib, F, T: T("a", "float16").sum(),
    "mean": lambda lib, F, T: T("a", "float16").mean(),
    "prod": lambda lib, F, T: T("a", "float16").prod(),
    "cumsum": lambda lib, F, T: T("a", "float16").cumsum(0),
    "trace": lambda lib, F, T: T("a", "float16").trace(),
    "cdist": lambda lib, F, T: lib.cdist(T("a", "float16"), T("b", "float16")),
    "quantile": lambda lib, F, T: T("a", "float16").quantile(0.5),
    "cat": lambda lib, F, T: lib.cat([T("a"), T("b", "float16")]),
    "cat_float16": lambda lib, F, T: lib.cat([T("a", "float16"), T("b", "float16")]),
    "stack": lambda lib, F, T: lib.stack([T("a"), T("b", "float16")]),
    "add": lambda lib, F, T: T("a") + T("b", "float16"),
    "relu": lambda lib, F, T: T("a", "float16").relu(),
    "embedding": lambda lib, F, T: F.embedding(T("t"), T("a")),
    "mm_float64": lambda lib, F, T: T("a", "float64").mm(T("b", "float64")),
}


def _tensors(make):
    arrays = _arrays()

    def T(name, dtype=None):
        array = arrays[name]
        if dtype is not None:
            array = array.astype(dtype)
        return make(array)

    return T


@pytest.mark.parametrize("name", CASES)
def test_output_dtypes_match_torch_cpu_autocast(session, name):
    with torch.autocast("cpu", dtype=torch.float16):
        expected = CASES[name](torch, TF, _tensors(torch.from_numpy))
    with gw.amp.autocast("cpu", dtype=gw.float16):
        got = CASES[name](gw, GF, _tensors(session.tensor))
    assert str(got.dtype) == str(expected.dtype), name
    assert tuple(got.shape) == tuple(expected.shape)
    assert got.numpy(force=True).dtype == got.dtype  # the server agrees with the client's inference
    np.testing.assert_allclose(got.numpy(force=True).astype(np.float64), expected.detach().double().numpy(), rtol=2e-2, atol=2e-2)


def test_gradients_flow_back_through_the_casts_as_float32(session):
    a = _arrays()
    tw = torch.tensor(a["a"], requires_grad=True)
    gw_w = session.tensor(a["a"], requires_grad=True)
    with torch.autocast("cpu", dtype=torch.float16):
        tloss = TF.cross_entropy(torch.tensor(a["b"]) @ tw @ tw, torch.tensor(a["t"]))  # the weight used twice: cast once
    with gw.autocast("cpu", dtype="float16"):
        gloss = GF.cross_entropy(session.tensor(a["b"]) @ gw_w @ gw_w, session.tensor(a["t"]))
    tloss.backward()
    gloss.backward()
    assert gw_w.grad.dtype == gw.float32
    np.testing.assert_allclose(gw_w.grad.numpy(), tw.grad.numpy(), rtol=2e-2, atol=2e-3)
    assert gloss.grad_fn is not None and not gw.is_autocast_enabled("cpu")


def test_nested_disabled_region_and_the_decorator(session):
    a = session.tensor(_arrays()["a"])

    @gw.amp.autocast("cpu", dtype=gw.float16)
    def half_matmul(x):
        return x @ x

    with gw.amp.autocast("cpu", dtype=gw.float16):
        assert gw.is_autocast_enabled("cpu") and gw.get_autocast_dtype("cpu") == gw.float16
        inner = a @ a
        with gw.amp.autocast("cpu", enabled=False):
            assert not gw.is_autocast_enabled("cpu")
            plain = a @ a
            mixed = inner.float() @ a
        again = a @ a
    assert (inner.dtype, plain.dtype, mixed.dtype, again.dtype) == (gw.float16, gw.float32, gw.float32, gw.float16)
    assert half_matmul(a).dtype == gw.float16 and (a @ a).dtype == gw.float32
    assert not gw.is_autocast_enabled("cpu")
    with gw.autocast("cuda", enabled=False):  # another device's region leaves this server's tensors alone
        assert (a @ a).dtype == gw.float32


def test_autocast_arguments_and_aliases_as_torch(session):
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        gw.amp.autocast(0)
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'xpu'"):
        gw.amp.autocast("xpu")
    with pytest.warns(UserWarning, match="In CPU autocast, but the target dtype is not supported. Disabling autocast."):
        region = gw.amp.autocast("cpu", dtype="float64")
    with region:
        assert not gw.is_autocast_enabled("cpu")
    with pytest.raises(TypeError, match="requires a callable"):
        gw.amp.autocast("cpu")(3)
    for ours, theirs in ((lambda: gw.cpu.amp.autocast(), lambda: torch.cpu.amp.autocast()),
                         (lambda: gw.cpu.amp.GradScaler(), lambda: torch.cpu.amp.GradScaler())):
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            ours()
        with warnings.catch_warnings(record=True) as expected:
            warnings.simplefilter("always")
            theirs()
        assert [(w.category, str(w.message)) for w in got] == [(w.category, str(w.message)) for w in expected]
    with pytest.warns(FutureWarning, match=r"`torch.cuda.amp.autocast\(args...\)` is deprecated"), \
            pytest.warns(UserWarning, match="CUDA is not available"):
        region = gw.cuda.amp.autocast()  # this server computes on the CPU
    assert not region._enabled
    with pytest.warns(UserWarning, match="GradScaler is enabled, but CUDA is not available.  Disabling."):
        scaler = gw.amp.GradScaler()
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}


def _mlp(lib, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(np.float32) * 0.5 for k, s in
            (("w1", (16, 8)), ("b1", (16,)), ("w2", (4, 16)), ("b2", (4,)))}


def _forward(F, p, x):
    return F.linear(F.linear(x, p["w1"], p["b1"]).relu(), p["w2"], p["b2"])


def _train(lib, make, F, optim, batches, poison=(), clip=None, **scaler_args):
    """Trained with autocast and a GradScaler: each step's loss and scale, and the final weights. ``poison``: the
    steps whose input holds an inf (its gradients are inf/NaN: the step is skipped and the scale backs off)."""
    p = {k: make(v, True) for k, v in _mlp(lib).items()}
    opt = optim(list(p.values()))
    scaler = lib.amp.GradScaler("cpu", **scaler_args)
    losses, scales = [], []
    for i, (x, y) in enumerate(batches):
        if i in poison:
            x = x.copy()
            x[0, 0] = np.inf
        opt.zero_grad()
        with lib.autocast("cpu", dtype=lib.float16):
            loss = F.cross_entropy(_forward(F, p, make(x)), make(y))
        assert loss.dtype == lib.float32
        scaler.scale(loss).backward()
        if clip is not None:
            scaler.unscale_(opt)
            lib.nn.utils.clip_grad_norm_(p.values(), clip)
        scaler.step(opt)
        scaler.update()
        losses.append(float(loss.item()))
        scales.append(scaler.get_scale())
    return losses, scales, {k: v.detach().numpy() for k, v in p.items()}, scaler


def _batches(n=5):
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((6, 8)).astype(np.float32), rng.integers(0, 4, 6)) for _ in range(n)]


def _both(session, optim="SGD", **kwargs):
    theirs = _train(torch, lambda a, g=False: torch.tensor(a, requires_grad=g), TF,
                    lambda ps: getattr(torch.optim, optim)(ps, lr=0.1), _batches(kwargs.pop("steps", 5)), **kwargs)
    kwargs.pop("steps", None)
    ours = _train(gw, lambda a, g=False: session.tensor(a, requires_grad=g), GF,
                  lambda ps: getattr(gw.optim, optim)(ps, lr=0.1), _batches(len(theirs[0])), **kwargs)
    return ours, theirs


@pytest.mark.parametrize("optim", ["SGD", "Adam"])
def test_mlp_trained_with_autocast_and_grad_scaler_matches_torch(session, optim):
    (losses, scales, weights, _), (t_losses, t_scales, t_weights, _) = _both(session, optim, init_scale=2.0**10)
    np.testing.assert_allclose(losses, t_losses, rtol=1e-2, atol=1e-3)
    assert scales == t_scales
    for k in weights:
        np.testing.assert_allclose(weights[k], t_weights[k], rtol=1e-2, atol=2e-3, err_msg=k)


def test_inf_gradient_skips_the_step_and_backs_off_then_grows(session):
    (losses, scales, weights, scaler), (t_losses, t_scales, t_weights, t_scaler) = _both(
        session, init_scale=2.0**8, growth_interval=2, poison=(2,), steps=6
    )
    assert scales == t_scales == [2.0**8, 2.0**9, 2.0**8, 2.0**8, 2.0**9, 2.0**9]
    assert np.isnan(losses[2]) == np.isnan(t_losses[2])
    for k in weights:
        np.testing.assert_allclose(weights[k], t_weights[k], rtol=1e-2, atol=2e-3, err_msg=k)
        assert np.isfinite(weights[k]).all()
    assert scaler.state_dict() == t_scaler.state_dict()


def test_unscale_then_clip_as_torch(session):
    (losses, scales, weights, _), (t_losses, t_scales, t_weights, _) = _both(session, init_scale=2.0**10, clip=0.5, steps=3)
    np.testing.assert_allclose(losses, t_losses, rtol=1e-2, atol=1e-3)
    for k in weights:
        np.testing.assert_allclose(weights[k], t_weights[k], rtol=1e-2, atol=2e-3, err_msg=k)


def test_unscaled_grads_and_found_inf_match_torch(session):
    values = np.array([1.0, np.inf, 3.0], np.float32)
    results = []
    for lib, make in ((torch, lambda a, g=False: torch.tensor(a, requires_grad=g)), (gw, lambda a, g=False: session.tensor(a, requires_grad=g))):
        w, u = make(np.ones(3, np.float32), True), make(np.full(2, 2.0, np.float32), True)
        opt = lib.optim.SGD([w, u], lr=1.0)
        scaler = lib.amp.GradScaler("cpu", init_scale=4.0)
        (scaler.scale((w * make(values)).sum() + u.sum())).backward()
        scaler.unscale_(opt)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called on this optimizer since the last update\\(\\)."):
            scaler.unscale_(opt)
        assert scaler.step(opt) is None  # skipped
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called since the last update\\(\\)."):
            scaler.step(opt)
        scaler.update()
        results.append((w.grad.numpy(), u.grad.numpy(), w.detach().numpy(), scaler.get_scale(), scaler.state_dict()))
    (gw_g, gu_g, gw_w, g_scale, g_state), (tw_g, tu_g, tw_w, t_scale, t_state) = results[1], results[0]
    np.testing.assert_array_equal(gw_g, tw_g)
    np.testing.assert_array_equal(gu_g, tu_g)
    np.testing.assert_array_equal(gw_w, tw_w)
    assert g_scale == t_scale == 2.0 and g_state == t_state


def test_state_dict_round_trip_and_settings(session):
    (_, _, _, scaler), (_, _, _, t_scaler) = _both(session, init_scale=2.0**8, growth_interval=3, poison=(1,), steps=4)
    state = scaler.state_dict()
    assert state == t_scaler.state_dict() and state["_growth_tracker"] == 2
    fresh = gw.amp.GradScaler("cpu")
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state and fresh.get_scale() == state["scale"]
    assert (fresh.get_growth_factor(), fresh.get_backoff_factor(), fresh.get_growth_interval()) == (2.0, 0.5, 3)
    fresh.set_growth_interval(7)
    assert fresh.get_growth_interval() == 7 and fresh.is_enabled()
    with pytest.raises(RuntimeError, match="The source state dict is empty"):
        gw.amp.GradScaler("cpu").load_state_dict({})
    with pytest.raises(AssertionError, match="The growth factor must be > 1.0."):
        gw.amp.GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(AssertionError, match="Attempted update but _scale is None."):
        gw.amp.GradScaler("cpu").update()
    disabled = gw.amp.GradScaler("cpu", enabled=False)
    loss = session.tensor([2.0])
    assert disabled.scale(loss) is loss and disabled.get_scale() == 1.0


def test_scale_nested_outputs_and_new_scale(session):
    scaler = gw.amp.GradScaler("cpu", init_scale=8.0)
    a, b = session.tensor([1.0]), session.tensor([2.0])
    scaled = scaler.scale([a, (b, a)])
    assert isinstance(scaled, list) and isinstance(scaled[1], tuple)
    assert [t.item() for t in (scaled[0], *scaled[1])] == [8.0, 16.0, 8.0]
    scaler.update(new_scale=2.0)
    assert scaler.get_scale() == 2.0


def test_fp16_gradients_are_refused_as_torch(session):
    w = session.tensor(np.ones(2, np.float16), requires_grad=True)
    opt = gw.optim.SGD([w], lr=1.0)
    scaler = gw.amp.GradScaler("cpu")
    scaler.scale(w.sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
        scaler.step(opt)


def test_cuda_table_follows_torchs_cuda_lists(session, monkeypatch):
    """The 'cuda' table, on a session that says it computes on CUDA (the values still come from this CPU server):
    torch's CUDA lists keep softmax, exp, sum and layer_norm in float32, put mv in float16, promote dot, and refuse
    binary_cross_entropy. (A CPU session's tensors are left alone by autocast("cuda"), as torch leaves CPU tensors.)"""
    monkeypatch.setattr(session, "device", "cuda")
    a, v = session.tensor(_arrays()["a"]).half(), session.tensor(_arrays()["v"])
    with gw.amp.autocast("cuda"):
        assert gw.is_autocast_enabled("cuda") and not gw.is_autocast_enabled("cpu")
        got = {
            "softmax": a.softmax(1), "exp": a.exp(), "sum": a.sum(), "layer_norm": GF.layer_norm(a, (4,)), "mm": a.float() @ a.float(),
            "mv": a.float().mv(v), "dot": v.dot(v.half()), "relu": a.relu(), "cross_entropy": GF.cross_entropy(a, session.tensor([0, 1, 2, 3])),
        }
        with pytest.raises(RuntimeError, match="binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast"):
            GF.binary_cross_entropy(a.sigmoid(), a.sigmoid())
        with gw.amp.autocast("cpu", enabled=False):  # another device type's region: the CUDA one goes on
            assert (a.float() @ a.float()).dtype == gw.float16
    assert {k: str(t.dtype) for k, t in got.items()} == {
        "softmax": "torch.float32", "exp": "torch.float32", "sum": "torch.float32", "layer_norm": "torch.float32", "mm": "torch.float16", "mv": "torch.float16",
        "dot": "torch.float32", "relu": "torch.float16", "cross_entropy": "torch.float32",
    }
    assert got["softmax"].numpy().dtype == np.float32
