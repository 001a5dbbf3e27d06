"""Attention through the SDK against PyTorch: nn.MultiheadAttention with torch's own weights loaded,
F.scaled_dot_product_attention and Dropout2d; outputs, attention weights and gradients."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import gradwire as gw
import gradwire.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def close(ours, theirs, what, rtol=1e-5, atol=1e-6):
    a = ours.detach().numpy() if isinstance(ours, gw.Tensor) else np.asarray(ours)
    np.testing.assert_allclose(a, theirs.detach().numpy(), rtol=rtol, atol=atol, err_msg=what)


_CASES = [  # (module kwargs, forward kwargs as (gw, torch) builders, input shape (L, N, E) before batch_first)
    ({}, {}, "LNE"),
    ({"batch_first": True}, {"need_weights": False}, "NLE"),
    ({"batch_first": True, "bias": False}, {"average_attn_weights": False}, "NLE"),
    ({}, {"attn_mask": "bool"}, "LNE"),
    ({}, {"attn_mask": "float", "key_padding_mask": True}, "LNE"),
    ({}, {"is_causal": True, "attn_mask": "causal"}, "LNE"),
    ({}, {}, "LE"),
]


@pytest.mark.parametrize("module_kwargs, call, layout", _CASES, ids=[f"{m}-{c}-{l}" for m, c, l in _CASES])
def test_multihead_attention_matches_torch(session, module_kwargs, call, layout):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 2, **module_kwargs)
    ours = gw.nn.MultiheadAttention(8, 2, session=session, **module_kwargs)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(1)
    L, S, N = 4, 5, 3
    shape_q, shape_kv = {"LNE": ((L, N, 8), (S, N, 8)), "NLE": ((N, L, 8), (N, S, 8)), "LE": ((L, 8), (S, 8))}[layout]
    q, k, v = rng.standard_normal(shape_q), rng.standard_normal(shape_kv), rng.standard_normal(shape_kv)
    qs, qt = session.tensor(q, dtype=np.float32, requires_grad=True), torch.tensor(q, dtype=torch.float32, requires_grad=True)
    ks, kt = session.tensor(k, dtype=np.float32), torch.tensor(k, dtype=torch.float32)
    vs, vt = session.tensor(v, dtype=np.float32), torch.tensor(v, dtype=torch.float32)
    ours_kwargs, theirs_kwargs = {}, {}
    for name, value in call.items():
        if name == "attn_mask":
            if value == "bool":
                mask = rng.random((L, S)) < 0.3
                mask[:, 0] = False  # every query keeps a key
                ours_kwargs[name], theirs_kwargs[name] = session.tensor(mask), torch.from_numpy(mask)
            elif value == "float":
                mask = rng.standard_normal((N * 2, L, S)).astype(np.float32)
                ours_kwargs[name], theirs_kwargs[name] = session.tensor(mask), torch.from_numpy(mask)
            else:  # causal: torch needs the mask too
                mask = np.triu(np.ones((L, S), dtype=bool), 1)
                ours_kwargs[name], theirs_kwargs[name] = session.tensor(mask), torch.from_numpy(mask)
        elif name == "key_padding_mask":
            padding = np.zeros((N, S), dtype=bool)
            padding[0, -2:] = True
            ours_kwargs[name], theirs_kwargs[name] = session.tensor(padding), torch.from_numpy(padding)
        else:
            ours_kwargs[name] = theirs_kwargs[name] = value
    out, weights = ours(qs, ks, vs, **ours_kwargs)
    t_out, t_weights = theirs(qt, kt, vt, **theirs_kwargs)
    close(out, t_out, "output")
    assert (weights is None) == (t_weights is None)
    if weights is not None:
        close(weights, t_weights, "attention weights")
    cotangent = rng.standard_normal(t_out.shape).astype(np.float32)
    out.backward(session.tensor(cotangent))
    t_out.backward(torch.from_numpy(cotangent))
    close(qs.grad, qt.grad, "d/dquery", atol=1e-5)
    close(ours.in_proj_weight.grad, theirs.in_proj_weight.grad, "d/din_proj_weight", atol=1e-5)
    close(ours.out_proj.weight.grad, theirs.out_proj.weight.grad, "d/dout_proj.weight", atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"is_causal": True}, {"scale": 0.3}, {"attn_mask": "bool"}, {"attn_mask": "float"}])
def test_scaled_dot_product_attention_matches_torch(session, kwargs):
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 3, 4, 5)).astype(np.float32) for _ in range(3))
    ours_kwargs, theirs_kwargs = dict(kwargs), dict(kwargs)
    if kwargs.get("attn_mask") == "bool":
        mask = rng.random((4, 4)) < 0.6
        mask[:, 0] = True  # True: may attend, as torch's SDPA reads a bool mask
        ours_kwargs["attn_mask"], theirs_kwargs["attn_mask"] = session.tensor(mask), torch.from_numpy(mask)
    elif kwargs.get("attn_mask") == "float":
        mask = rng.standard_normal((3, 4, 4)).astype(np.float32)
        ours_kwargs["attn_mask"], theirs_kwargs["attn_mask"] = session.tensor(mask), torch.from_numpy(mask)
    qs, qt = session.tensor(q, requires_grad=True), torch.tensor(q, requires_grad=True)
    out = F.scaled_dot_product_attention(qs, session.tensor(k), session.tensor(v), **ours_kwargs)
    t_out = TF.scaled_dot_product_attention(qt, torch.from_numpy(k), torch.from_numpy(v), **theirs_kwargs)
    close(out, t_out, "output")
    out.sum().backward(), t_out.sum().backward()
    close(qs.grad, qt.grad, "d/dquery", atol=1e-5)


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest(session):
    session.manual_seed(3)
    x = session.ones(8, 16, 3, 3, requires_grad=True)
    layer = gw.nn.Dropout2d(0.25)
    assert repr(layer) == repr(torch.nn.Dropout2d(0.25))
    out = layer(x)
    values = out.detach().numpy()
    per_channel = values.reshape(8, 16, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 1 / 0.75).all(-1)).all()  # each channel all dropped or all kept
    dropped = (per_channel == 0).all(-1).mean()
    assert 0.1 < dropped < 0.4
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), values)  # the gradient is the mask
    layer.eval()
    assert layer(x) is x


@pytest.mark.parametrize("kwargs", [{}, {"norm_first": True, "activation": "gelu", "batch_first": True}])
def test_transformer_encoder_matches_torch(session, kwargs):
    torch.manual_seed(5)
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kwargs)
    layer = gw.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, session=session, **kwargs)
    assert list(layer.state_dict()) == list(t_layer.state_dict())
    layer.load_state_dict(t_layer.state_dict())
    t_encoder = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    encoder = gw.nn.TransformerEncoder(layer, 2, norm=gw.nn.LayerNorm(8, session=session))
    assert list(encoder.state_dict()) == list(t_encoder.state_dict())
    with torch.no_grad():  # the copies start equal; make them differ, as training would
        t_encoder.layers[1].linear1.weight.mul_(0.5)
    encoder.load_state_dict(t_encoder.state_dict())
    x = np.random.default_rng(6).standard_normal((3, 4, 8)).astype(np.float32)
    padding = np.zeros((4, 3) if not kwargs.get("batch_first") else (3, 4), dtype=bool)
    padding[0, -1] = True
    xs, xt = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = encoder(xs, src_key_padding_mask=session.tensor(padding))
    t_out = t_encoder(xt, src_key_padding_mask=torch.from_numpy(padding))
    close(out, t_out, "encoder output", atol=1e-5)
    out.sum().backward(), t_out.sum().backward()
    close(xs.grad, xt.grad, "d/dinput", atol=1e-5)
    close(encoder.layers[0].linear1.weight.grad, t_encoder.layers[0].linear1.weight.grad, "d/dlinear1", atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"norm_first": True, "activation": "gelu", "batch_first": True}])
def test_transformer_decoder_matches_torch(session, kwargs):
    torch.manual_seed(7)
    t_layer = torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kwargs)
    layer = gw.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, session=session, **kwargs)
    assert list(layer.state_dict()) == list(t_layer.state_dict())
    t_decoder = torch.nn.TransformerDecoder(t_layer, 2, norm=torch.nn.LayerNorm(8))
    decoder = gw.nn.TransformerDecoder(layer, 2, norm=gw.nn.LayerNorm(8, session=session))
    assert list(decoder.state_dict()) == list(t_decoder.state_dict())
    with torch.no_grad():
        t_decoder.layers[1].multihead_attn.in_proj_weight.mul_(0.5)
    decoder.load_state_dict(t_decoder.state_dict())
    rng = np.random.default_rng(8)
    batch_first = kwargs.get("batch_first")
    tgt, memory = (rng.standard_normal((4, 3, 8) if batch_first else (3, 4, 8)).astype(np.float32),
                   rng.standard_normal((4, 5, 8) if batch_first else (5, 4, 8)).astype(np.float32))
    memory_padding = np.zeros((4, 5), dtype=bool)
    memory_padding[1, -2:] = True
    causal = torch.nn.Transformer.generate_square_subsequent_mask(3)
    ours_causal = gw.nn.Transformer.generate_square_subsequent_mask(3, session=session)
    assert ours_causal.tolist() == causal.tolist()
    ts, ms = session.tensor(tgt, requires_grad=True), session.tensor(memory, requires_grad=True)
    tt, mt = torch.tensor(tgt, requires_grad=True), torch.tensor(memory, requires_grad=True)
    out = decoder(ts, ms, tgt_mask=ours_causal, memory_key_padding_mask=session.tensor(memory_padding))
    t_out = t_decoder(tt, mt, tgt_mask=causal, memory_key_padding_mask=torch.from_numpy(memory_padding))
    close(out, t_out, "decoder output", atol=1e-5)
    (out * out).sum().backward(), (t_out * t_out).sum().backward()
    close(ts.grad, tt.grad, "d/dtgt", atol=1e-5)
    close(ms.grad, mt.grad, "d/dmemory", atol=1e-5)
    close(decoder.layers[0].multihead_attn.in_proj_weight.grad, t_decoder.layers[0].multihead_attn.in_proj_weight.grad, "d/dcross", atol=1e-5)


def test_transformer_matches_torch(session):
    torch.manual_seed(9)
    t_model = torch.nn.Transformer(8, 2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=12, dropout=0.0, batch_first=True)
    model = gw.nn.Transformer(8, 2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=12, dropout=0.0, batch_first=True, session=session)
    assert list(model.state_dict()) == list(t_model.state_dict())
    for name, p in model.named_parameters():  # the weight matrices start Xavier-uniform, the rest as their layers make them
        bound = math.sqrt(6.0 / sum(p.shape[:2])) if p.dim() > 1 else None
        if bound is not None:
            assert float(p.abs().max()) <= bound, name
    model.load_state_dict(t_model.state_dict())
    rng = np.random.default_rng(10)
    src, tgt = rng.standard_normal((2, 5, 8)).astype(np.float32), rng.standard_normal((2, 3, 8)).astype(np.float32)
    ss, ts = session.tensor(src, requires_grad=True), session.tensor(tgt)
    st, tt = torch.tensor(src, requires_grad=True), torch.tensor(tgt)
    mask = gw.nn.Transformer.generate_square_subsequent_mask(3, session=session)
    out = model(ss, ts, tgt_mask=mask, tgt_is_causal=True)
    t_out = t_model(st, tt, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(3), tgt_is_causal=True)
    close(out, t_out, "transformer output", atol=1e-5)
    out.sum().backward(), t_out.sum().backward()
    close(ss.grad, st.grad, "d/dsrc", atol=1e-5)


_GQA = [  # (query, key, value shapes, kwargs): key and value heads (dim -3) dividing query's
    ((2, 6, 4, 8), (2, 2, 5, 8), (2, 3, 5, 7), {}),
    ((6, 4, 8), (1, 4, 8), (2, 4, 8), {"is_causal": True}),
    ((1, 2, 4, 3, 8), (1, 2, 2, 5, 8), (1, 2, 2, 5, 8), {"scale": 0.3, "attn_mask": (3, 5)}),
    ((2, 4, 3, 8), (2, 4, 5, 8), (2, 4, 5, 8), {}),
]


@pytest.mark.parametrize("shapes", _GQA, ids=["heads-6-2-3", "3d-causal", "5d-mask", "same-heads"])
def test_scaled_dot_product_attention_gqa_matches_torch(session, shapes):
    *sizes, kwargs = shapes
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(size) for size in sizes]
    ours = [session.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    kwargs, t_kwargs = dict(kwargs), dict(kwargs)
    if "attn_mask" in kwargs:
        mask = rng.standard_normal(kwargs["attn_mask"])
        kwargs["attn_mask"], t_kwargs["attn_mask"] = session.tensor(mask), torch.tensor(mask)
    out = F.scaled_dot_product_attention(*ours, enable_gqa=True, **kwargs)
    t_out = TF.scaled_dot_product_attention(*theirs, enable_gqa=True, **t_kwargs)
    close(out, t_out, "output", rtol=1e-10, atol=1e-12)
    cotangent = rng.standard_normal(tuple(t_out.shape))
    (out * session.tensor(cotangent)).sum().backward()
    (t_out * torch.tensor(cotangent)).sum().backward()
    for name, a, b in zip("qkv", ours, theirs):
        close(a.grad, b.grad, f"d/d{name}", rtol=1e-10, atol=1e-12)


def test_scaled_dot_product_attention_checks_as_in_torch(session):
    def q(*shape, dtype="float32"):
        return session.zeros(*shape, dtype=dtype)

    def t(*shape, dtype=torch.float32):
        return torch.zeros(*shape, dtype=dtype)

    cases = [  # (gradwire's call, torch's, the error)
        (lambda: F.scaled_dot_product_attention(q(2, 4, 3, 5), q(2, 3, 3, 5), q(2, 3, 3, 5), enable_gqa=True),
         lambda: TF.scaled_dot_product_attention(t(2, 4, 3, 5), t(2, 3, 3, 5), t(2, 3, 3, 5), enable_gqa=True), RuntimeError),
        (lambda: F.scaled_dot_product_attention(q(4, 3, 5), q(3, 5), q(3, 5), enable_gqa=True),
         lambda: TF.scaled_dot_product_attention(t(4, 3, 5), t(3, 5), t(3, 5), enable_gqa=True), IndexError),
        (lambda: F.scaled_dot_product_attention(q(5), q(5), q(5), enable_gqa=True),
         lambda: TF.scaled_dot_product_attention(t(5), t(5), t(5), enable_gqa=True), RuntimeError),
        (lambda: F.scaled_dot_product_attention(q(3, 5), q(3, 5, dtype="float64"), q(3, 5)),
         lambda: TF.scaled_dot_product_attention(t(3, 5), t(3, 5, dtype=torch.float64), t(3, 5)), RuntimeError),
        (lambda: F.scaled_dot_product_attention(q(3, 5), q(3, 5), q(3, 5), attn_mask=q(3, 3, dtype="int64")),
         lambda: TF.scaled_dot_product_attention(t(3, 5), t(3, 5), t(3, 5), attn_mask=t(3, 3, dtype=torch.int64)), RuntimeError),
    ]
    for ours, theirs, kind in cases:
        with pytest.raises(kind) as expected:
            theirs()
        with pytest.raises(kind, match=re.escape(str(expected.value))):
            ours()
