"""Against PyTorch through a real server: optim.LBFGS (with and without the strong-Wolfe line search, its state
dict), F.ctc_loss / nn.CTCLoss (values and gradients) and F.multi_head_attention_forward."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
import gradwire.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def close(ours, theirs, what, rtol=1e-6, atol=1e-6):
    a = ours.detach().numpy() if isinstance(ours, gw.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


# --- LBFGS ------------------------------------------------------------------------------------------

def _problem(session, kind, seed=0):
    """A small float64 least-squares or (ridge) logistic-regression problem, badly scaled so that the
    line search zooms: gradwire's parameters, torch's, and a loss for each."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((30, 4)) * np.array([1.0, 3.0, 0.3, 5.0])
    y = (rng.random(30) < 0.5).astype(np.float64) if kind == "logistic" else rng.standard_normal(30)
    w, b = rng.standard_normal(4), rng.standard_normal(())
    ours = [session.tensor(w, dtype="float64", requires_grad=True), session.tensor(b, dtype="float64", requires_grad=True)]
    theirs = [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)]

    def loss(params, X, y, F):
        z = X.matmul(params[0]) + params[1]
        if kind == "logistic":
            return F.binary_cross_entropy_with_logits(z, y) + 0.01 * (params[0] ** 2).sum()
        return ((z - y) ** 2).mean()

    Xs, ys = session.tensor(X, dtype="float64"), session.tensor(y, dtype="float64")
    Xt, yt = torch.tensor(X), torch.tensor(y)
    return ours, theirs, (lambda p: loss(p, Xs, ys, F)), (lambda p: loss(p, Xt, yt, TF))


def _closure(opt, params, loss):
    def closure():
        opt.zero_grad()
        value = loss(params)
        value.backward()
        return value
    return closure


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("kind", ["least_squares", "logistic"])
def test_lbfgs_matches_torch_step_by_step(session, kind, line_search_fn):
    ours, theirs, our_loss, their_loss = _problem(session, kind)
    options = dict(lr=1, max_iter=4, history_size=3, line_search_fn=line_search_fn)  # the history fills and shifts
    gopt, topt = gw.optim.LBFGS(ours, **options), torch.optim.LBFGS(theirs, **options)
    for step in range(4):
        ours_loss = gopt.step(_closure(gopt, ours, our_loss))
        theirs_loss = topt.step(_closure(topt, theirs, their_loss))
        close(ours_loss, theirs_loss, f"loss of step {step}")
        for i, (p, q) in enumerate(zip(ours, theirs)):
            close(p, q, f"parameter {i} after step {step}")
    state, their_state = gopt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert list(state) == list(their_state)
    assert (state["func_evals"], state["n_iter"]) == (their_state["func_evals"], their_state["n_iter"])
    assert len(state["old_dirs"]) == len(their_state["old_dirs"]) == 3
    for name in ("d", "prev_flat_grad", "H_diag"):
        assert isinstance(state[name], gw.Tensor)  # the vectors stay on the server
        close(state[name], their_state[name], name)
    close(float(state["t"]), float(their_state["t"]), "t")


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_load_state_dict_continues_as_torch(session, line_search_fn):
    ours, theirs, our_loss, their_loss = _problem(session, "logistic", seed=3)
    options = dict(max_iter=3, history_size=4, line_search_fn=line_search_fn)
    gopt, topt = gw.optim.LBFGS(ours, **options), torch.optim.LBFGS(theirs, **options)
    for _ in range(2):
        gopt.step(_closure(gopt, ours, our_loss))
        topt.step(_closure(topt, theirs, their_loss))
    fresh = gw.optim.LBFGS(ours, lr=123.0)
    fresh.load_state_dict(gopt.state_dict())
    assert fresh.param_groups[0]["lr"] == 1 and fresh.param_groups[0]["max_iter"] == 3
    del gopt  # the copy stands alone
    for step in range(2):
        fresh.step(_closure(fresh, ours, our_loss))
        topt.step(_closure(topt, theirs, their_loss))
        for i, (p, q) in enumerate(zip(ours, theirs)):
            close(p, q, f"parameter {i} after step {step} of the restored optimizer")
    assert fresh.state_dict()["state"][0]["func_evals"] == topt.state_dict()["state"][0]["func_evals"]


def test_lbfgs_stops_at_once_when_the_gradient_is_small(session):
    p = session.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    opt = gw.optim.LBFGS([p])

    def closure():
        opt.zero_grad()
        loss = ((p - session.tensor([1.0, 2.0], dtype="float64")) ** 2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 0.0
    assert opt.state_dict()["state"][0] == {"func_evals": 1, "n_iter": 0}
    assert list(opt.state) == [p]


def test_lbfgs_raises_as_torch(session):
    p = session.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"step\(\) missing 1 required positional argument: 'closure'"):
        gw.optim.LBFGS([p]).step()
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        gw.optim.LBFGS([{"params": [p]}, {"params": [session.zeros(1, requires_grad=True)]}])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        gw.optim.LBFGS([p], lr=-1)
    assert gw.optim.LBFGS([p], max_iter=8).param_groups[0]["max_eval"] == 10
    opt = gw.optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = ((p - 1.0) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


# --- CTC ------------------------------------------------------------------------------------------------

_TARGETS = np.array([[1, 1, 2], [1, 2, 3], [4, 0, 0]])
_LENGTHS = [  # (input_lengths, target_lengths): full, shorter inputs, an empty target, impossible alignments
    ([6, 6, 6], [3, 3, 1]),
    ([5, 6, 2], [3, 2, 1]),
    ([3, 6, 4], [3, 2, 0]),  # the repeated 1, 1 needs a blank between: 3 steps cannot hold 1 _ 1 2
    ([6, 1, 6], [2, 3, 1]),  # 3 labels in 1 step
]


def _log_probs(session, seed=0, shape=(6, 3, 5)):
    x = np.random.default_rng(seed).standard_normal(shape)
    x = x - np.log(np.exp(x).sum(-1, keepdims=True))
    return session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("lengths", _LENGTHS, ids=["full", "shorter", "empty-target", "impossible"])
def test_ctc_loss_matches_torch(session, lengths, reduction, zero_infinity):
    input_lengths, target_lengths = lengths
    ours, theirs = _log_probs(session)
    loss = F.ctc_loss(ours, _TARGETS, input_lengths, target_lengths, reduction=reduction, zero_infinity=zero_infinity)
    their_loss = TF.ctc_loss(theirs, torch.tensor(_TARGETS), input_lengths, target_lengths, reduction=reduction, zero_infinity=zero_infinity)
    close(loss, their_loss, "loss", rtol=1e-9)
    cotangent = np.random.default_rng(1).standard_normal(their_loss.shape)
    loss.backward(session.tensor(cotangent))
    their_loss.backward(torch.tensor(cotangent))
    # NaN where PyTorch's is: over an impossible sample's steps when zero_infinity is False
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-7, atol=1e-9, equal_nan=True, err_msg="d/dlog_probs")


def test_ctc_loss_concatenated_targets_tensor_lengths_and_the_module(session):
    ours, theirs = _log_probs(session, seed=2, shape=(7, 3, 6))
    targets, target_lengths, input_lengths = [3, 3, 5, 1, 2, 2, 4, 1], [3, 1, 4], [7, 5, 6]
    loss = gw.nn.CTCLoss(blank=2)(ours, session.tensor(targets), session.tensor(input_lengths), session.tensor(target_lengths))
    their_loss = torch.nn.CTCLoss(blank=2)(theirs, torch.tensor(targets), torch.tensor(input_lengths), torch.tensor(target_lengths))
    close(loss, their_loss, "loss", rtol=1e-9)
    loss.backward()
    their_loss.backward()
    close(ours.grad, theirs.grad, "d/dlog_probs", rtol=1e-7, atol=1e-9)


def test_ctc_loss_unbatched_float32(session):
    x = np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32)
    ours, theirs = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss = F.ctc_loss(F.log_softmax(ours, 1), [1, 3], 5, 2, reduction="none")
    their_loss = TF.ctc_loss(theirs.log_softmax(1), torch.tensor([1, 3]), torch.tensor(5), torch.tensor(2), reduction="none")
    assert loss.shape == their_loss.shape == ()
    close(loss, their_loss, "loss", rtol=1e-5)
    loss.backward()
    their_loss.backward()
    close(ours.grad, theirs.grad, "d/dx", rtol=1e-4, atol=1e-5)


# --- multi_head_attention_forward -------------------------------------------------------------------------

_MHA_CASES = [  # (name, options): masks, weights, the extras of the functional
    ("plain", {}),
    ("kpm-bool-no-weights", {"key_padding_mask": "bool", "need_weights": False}),
    ("kpm-float-per-head", {"key_padding_mask": "float", "average_attn_weights": False}),
    ("mask-bool-2d", {"attn_mask": "bool2"}),
    ("mask-float-3d-kpm", {"attn_mask": "float3", "key_padding_mask": "bool"}),
    ("causal", {"attn_mask": "causal", "is_causal": True, "need_weights": False}),
    ("bias-kv-zero-attn", {"bias_kv": True, "add_zero_attn": True, "attn_mask": "bool2", "key_padding_mask": "bool"}),
    ("separate-weights", {"separate": True, "key_padding_mask": "bool"}),
    ("static-kv", {"static": True, "attn_mask": "float3"}),
    ("unbatched", {"unbatched": True, "attn_mask": "bool2", "key_padding_mask": "bool"}),
    ("no-bias", {"no_bias": True}),
]


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask and attn_mask")  # float and bool masks: both warn
@pytest.mark.parametrize("options", [o for _, o in _MHA_CASES], ids=[n for n, _ in _MHA_CASES])
def test_multi_head_attention_forward_matches_torch(session, options):
    rng = np.random.default_rng(4)
    L, S, N, E, H = 4, 5, 2, 6, 3
    kdim = 4 if options.get("separate") else E
    ours, theirs = {}, {}

    def both(name, array, grad=False):
        ours[name] = session.tensor(array, requires_grad=grad)
        theirs[name] = torch.tensor(array, requires_grad=grad)

    batch_shape = (lambda n, e: (n, e)) if options.get("unbatched") else (lambda n, e: (n, N, e))
    both("query", rng.standard_normal(batch_shape(L, E)), grad=True)
    both("key", rng.standard_normal(batch_shape(S, kdim)), grad=True)
    both("value", rng.standard_normal(batch_shape(S, kdim)), grad=True)
    if options.get("separate"):
        both("q_proj_weight", rng.standard_normal((E, E)) * 0.4, grad=True)
        both("k_proj_weight", rng.standard_normal((E, kdim)) * 0.4, grad=True)
        both("v_proj_weight", rng.standard_normal((E, kdim)) * 0.4, grad=True)
        ours["in_proj_weight"] = theirs["in_proj_weight"] = None
    else:
        both("in_proj_weight", rng.standard_normal((3 * E, E)) * 0.4, grad=True)
    if options.get("no_bias"):
        ours["in_proj_bias"] = theirs["in_proj_bias"] = ours["out_proj_bias"] = theirs["out_proj_bias"] = None
    else:
        both("in_proj_bias", rng.standard_normal(3 * E) * 0.1, grad=True)
        both("out_proj_bias", rng.standard_normal(E) * 0.1, grad=True)
    both("out_proj_weight", rng.standard_normal((E, E)) * 0.4, grad=True)
    if options.get("bias_kv"):
        both("bias_k", rng.standard_normal((1, 1, E)), grad=True)
        both("bias_v", rng.standard_normal((1, 1, E)), grad=True)
    else:
        ours["bias_k"] = theirs["bias_k"] = ours["bias_v"] = theirs["bias_v"] = None
    rows = (1 if options.get("unbatched") else N) * H
    if options.get("static"):
        both("static_k", rng.standard_normal((rows, S, E // H)), grad=True)
        both("static_v", rng.standard_normal((rows, S, E // H)), grad=True)
    mask = options.get("attn_mask")
    if mask == "bool2":
        allowed = rng.random((L, S)) < 0.3
        allowed[:, 0] = False  # every query keeps a key
        both("attn_mask", allowed)
    elif mask == "float3":
        both("attn_mask", rng.standard_normal((rows, L, S)))
    elif mask == "causal":
        both("attn_mask", np.triu(np.ones((L, S), dtype=bool), 1))
    padding = options.get("key_padding_mask")
    if padding:
        blocked = np.zeros((N, S), dtype=bool)
        blocked[0, -2:] = True
        blocked = blocked[0] if options.get("unbatched") else blocked
        both("key_padding_mask", blocked if padding == "bool" else np.where(blocked, -1e4, 0.0))
    flags = {k: options[k] for k in ("need_weights", "average_attn_weights", "is_causal") if k in options}

    def run(values, functional):
        args = [values[name] for name in ("query", "key", "value")] + [E, H, values["in_proj_weight"], values["in_proj_bias"],
                                                                        values["bias_k"], values["bias_v"], bool(options.get("add_zero_attn")),
                                                                        0.0, values["out_proj_weight"], values["out_proj_bias"]]
        extra = {name: values[name] for name in ("key_padding_mask", "attn_mask", "q_proj_weight", "k_proj_weight", "v_proj_weight",
                                                 "static_k", "static_v") if name in values}
        return functional(*args, use_separate_proj_weight=bool(options.get("separate")), **extra, **flags)

    out, weights = run(ours, F.multi_head_attention_forward)
    t_out, t_weights = run(theirs, TF.multi_head_attention_forward)
    close(out, t_out, "output", rtol=1e-9, atol=1e-10)
    assert (weights is None) == (t_weights is None)
    if weights is not None:
        close(weights, t_weights, "attention weights", rtol=1e-9, atol=1e-10)
    cotangent = rng.standard_normal(t_out.shape)
    out.backward(session.tensor(cotangent))
    t_out.backward(torch.tensor(cotangent))
    for name, t in theirs.items():
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:  # the key and value beside static ones
                assert ours[name].grad is None, name
            else:
                close(ours[name].grad, t.grad, f"d/d{name}", rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kwargs", [{"kdim": 4, "vdim": 3}, {"add_bias_kv": True, "add_zero_attn": True, "batch_first": True}])
def test_multihead_attention_module_with_the_functionals_extras(session, kwargs):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(6, 2, dtype=torch.float64, **kwargs)
    ours = gw.nn.MultiheadAttention(6, 2, session=session, dtype="float64", **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(5)
    L, S = ((2, 4), (2, 5)) if kwargs.get("batch_first") else ((4, 2), (5, 2))
    q = rng.standard_normal(L + (6,))
    k, v = rng.standard_normal(S + (kwargs.get("kdim", 6),)), rng.standard_normal(S + (kwargs.get("vdim", 6),))
    out, weights = ours(session.tensor(q), session.tensor(k), session.tensor(v))
    t_out, t_weights = theirs(torch.tensor(q), torch.tensor(k), torch.tensor(v))
    close(out, t_out, "output", rtol=1e-9, atol=1e-10)
    close(weights, t_weights, "weights", rtol=1e-9, atol=1e-10)
    out.sum().backward()
    t_out.sum().backward()
    for (name, p), (t_name, t_p) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == t_name
        close(p.grad, t_p.grad, f"d/d{name}", rtol=1e-8, atol=1e-10)


def test_multi_head_attention_forward_raises_as_torch(session):
    m = gw.nn.MultiheadAttention(4, 2, session=session)
    x = session.zeros(3, 2, 4)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="only bool and floating types of attn_mask are supported"):
        m(x, x, x, attn_mask=session.zeros(3, 3, dtype="int64"))
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is torch.Size\(\[3, 2\]\), but should be \(3, 3\)."):
        m(x, x, x, attn_mask=session.zeros(3, 2))
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 4, but got 5"):
        F.multi_head_attention_forward(session.zeros(3, 2, 5), x, x, 4, 2, m.in_proj_weight, m.in_proj_bias, None, None, False, 0.0,
                                       m.out_proj.weight, m.out_proj.bias)
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        m(x, x, x, attn_mask=session.zeros(3, 3), key_padding_mask=session.zeros(2, 3, dtype="bool"))
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        gw.nn.MultiheadAttention(5, 2, session=session)
