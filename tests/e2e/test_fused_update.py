"""The hand-written SGD step's commands: ``p -= lr * p.grad`` as one command (the SDK sends a product that is a
temporary as the in-place command's scale: ``Inplace.scale``, ServerInfo feature ``scaled_inplace``; the server makes
it as the mul op would), and ``p.grad = None`` one after another as one command, as ``zero_grad()``'s.

Each test reads the commands the session sends (its stream's ``send``). The product is rounded before the update, as
torch's two ops round it (not fused into one multiply-add): bit for bit torch's on an update alone, and bit for bit
the unfused commands' after training steps (whose matmuls are not torch's to the last bit).
"""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
from gradwire import errors
from gradwire_server import commands

from tests.servers import start_server

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
W = RNG.standard_normal((30, 20)).astype(np.float32)
X = RNG.standard_normal((8, 30)).astype(np.float32)


@pytest.fixture
def sent(session, monkeypatch):
    """Every command the session sends from now on, as (kind, op name or in-place op, the command)."""
    seen = []
    send = session._stream.send

    def recording(batch):
        seen.extend(batch.commands)
        return send(batch)

    monkeypatch.setattr(session._stream, "send", recording)
    return seen


def _kinds(commands_sent):
    out = []
    for c in commands_sent:
        kind = c.WhichOneof("kind")
        out.append((kind, c.op.name if kind == "op" else c.inplace.op if kind == "inplace" else ""))
    return out


def _trained(lib, make, update, steps=3):
    """``steps`` steps of a linear layer's squared loss, ``update(p)`` under no_grad after each backward."""
    w = make(W)
    x = make(X, grad=False)
    for _ in range(steps):
        ((x @ w) ** 2).mean().backward()
        with (torch.no_grad() if lib is torch else gw.no_grad()):
            update(w)
        w.grad = None
    return w.detach().numpy()


def _fused_and_not(session, update):
    """The weights after training with fusion (the session as it is) and without it; torch's."""
    make = lambda a, grad=True: session.tensor(a, requires_grad=grad)  # noqa: E731
    fused = _trained(gw, make, update)
    session._fuses_products = False
    try:
        unfused = _trained(gw, make, update)
    finally:
        session._fuses_products = True
    theirs = _trained(torch, lambda a, grad=True: torch.tensor(a, requires_grad=grad), update)
    return fused, unfused, theirs


def _sgd(p):
    p -= 0.1 * p.grad


def test_the_product_is_rounded_before_the_update_as_torchs_two_ops_round_it(session, sent):
    p0, g0 = RNG.standard_normal(4000).astype(np.float32), RNG.standard_normal(4000).astype(np.float32)
    p, g = session.tensor(p0), session.tensor(g0)
    p -= 0.1 * g
    tp = torch.tensor(p0)
    tp -= 0.1 * torch.tensor(g0)
    np.testing.assert_array_equal(p.numpy(), tp.numpy())
    once = (p0.astype(np.float64) - np.float64(np.float32(0.1)) * g0.astype(np.float64)).astype(np.float32)
    assert (once != tp.numpy()).any()  # (a multiply-add rounded once would differ: the check can tell)
    assert ("op", "mul") not in _kinds(sent)
    [update] = [c.inplace for c in sent if c.WhichOneof("kind") == "inplace"]
    assert update.scale.f == pytest.approx(0.1) and update.other.handle == g._handle


def test_sgd_written_by_hand_goes_as_one_command_per_parameter(session, sent):
    fused, unfused, theirs = _fused_and_not(session, _sgd)
    np.testing.assert_array_equal(fused, unfused)
    np.testing.assert_allclose(fused, theirs, rtol=1e-5, atol=1e-6)
    kinds = _kinds(sent)
    assert kinds.count(("op", "mul")) == 3, kinds  # the unfused run's three (the loss is a matmul, a pow and a mean)
    updates = [c.inplace for c in sent if c.WhichOneof("kind") == "inplace" and c.inplace.op == "sub"]
    assert [u.HasField("scale") for u in updates] == [True] * 3 + [False] * 3
    assert all(u.scale.f == pytest.approx(0.1) for u in updates[:3])


@pytest.mark.parametrize("update", [
    lambda p: p.__iadd__(p.grad * -2),  # the number on the right, an int
    lambda p: p.__isub__(p.grad * 0.25),
    lambda p: p.data.sub_(0.05 * p.grad),  # sub_ through .data
])
def test_other_spellings_fuse_alike(session, sent, update):
    fused, unfused, theirs = _fused_and_not(session, update)
    np.testing.assert_array_equal(fused, unfused)
    np.testing.assert_allclose(fused, theirs, rtol=1e-5, atol=1e-6)
    assert _kinds(sent).count(("op", "mul")) == 3  # the unfused run's only


def test_a_product_still_held_is_made_and_kept(session, sent):
    held = {gw: [], torch: []}

    def holding(lib):
        def update(p):
            product = 0.1 * p.grad
            p -= product
            held[lib].append(product)
        return update

    ours = _trained(gw, lambda a, grad=True: session.tensor(a, requires_grad=grad), holding(gw))
    theirs = _trained(torch, lambda a, grad=True: torch.tensor(a, requires_grad=grad), holding(torch))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert _kinds(sent).count(("op", "mul")) == 3
    assert all(not c.inplace.HasField("scale") for c in sent if c.WhichOneof("kind") == "inplace")
    for mine, torchs in zip(held[gw], held[torch]):
        np.testing.assert_allclose(mine.numpy(), torchs.numpy(), rtol=1e-5, atol=1e-7)


def test_a_product_used_twice_is_made_once(session, sent):
    a, b = session.tensor(W.copy()), session.tensor(W.copy())
    g = session.tensor(X[:, :20].repeat(4, 0)[:30])
    product = g * 3.0
    a -= product
    b += product
    del product
    expected = g.numpy() * np.float32(3.0)
    np.testing.assert_array_equal(a.numpy(), W - expected)
    np.testing.assert_array_equal(b.numpy(), W + expected)
    assert _kinds(sent).count(("op", "mul")) == 1


def test_a_product_that_requires_grad_stays_an_op(session, sent):
    x = session.tensor(X, requires_grad=True)
    y = session.tensor(np.zeros_like(X))
    y += x * 2.0  # recorded: y's grad_fn is the add's, with the mul behind it
    assert y.grad_fn is not None and y.grad_fn.name() == "AddBackward0"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full_like(X, 2.0))
    assert ("op", "mul") in _kinds(sent)


def test_while_profiling_the_mul_is_listed_as_torchs_would_be(session, sent):
    with gw.profiler.profile() as prof:
        _trained(gw, lambda a, grad=True: session.tensor(a, requires_grad=grad), _sgd, steps=1)
    assert ("op", "mul") in _kinds(sent)
    assert any(event.key == "gradwire::mul" for event in prof.key_averages())


def test_a_server_without_the_feature_gets_the_mul(monkeypatch):
    monkeypatch.setattr(commands, "FEATURES", ())
    server = start_server(device="cpu")
    try:
        with gw.connect(server.address, seed=0, timeout=10) as session:
            assert list(session.server_info.features) == []
            seen = []
            send = session._stream.send
            monkeypatch.setattr(session._stream, "send", lambda batch: (seen.extend(batch.commands), send(batch))[1])
            _trained(gw, lambda a, grad=True: session.tensor(a, requires_grad=grad), _sgd)
            assert _kinds(seen).count(("op", "mul")) == 3
            assert all(not c.inplace.HasField("scale") for c in seen if c.WhichOneof("kind") == "inplace")
    finally:
        server.stop(grace=1.0)


def test_the_server_refuses_a_scale_that_is_not_a_number(session):
    assert "scaled_inplace" in session.server_info.features
    p, g = session.tensor(W.copy()), session.tensor(W.copy())
    with session._lock:  # a hand-made command, as a client of the protocol could send it
        command = session._command("sub_")
        command.inplace.target, command.inplace.op = p._handle, "sub"
        command.inplace.other.handle = g._handle
        command.inplace.scale.handle = g._handle
    with pytest.raises(errors.InvalidArgumentError, match="a scale is a number"):
        session.sync()
    np.testing.assert_array_equal(p.numpy(), W)  # untouched, and the session goes on


def test_grads_set_to_none_one_after_another_go_as_one_command(session, sent):
    params = [session.tensor(W.copy(), requires_grad=True) for _ in range(3)]
    kept = session.tensor(W.copy(), requires_grad=True)
    sum(((p * p).sum() for p in params), kept.sum()).backward()
    for p in params:
        p.grad = None
    kept.grad = kept.grad * 2  # an assigned grad is a command of its own
    assert all(p.grad is None for p in params)
    np.testing.assert_array_equal(kept.grad.numpy(), np.full_like(W, 2.0))
    clears = [c.set_grad for c in sent if c.WhichOneof("kind") == "set_grad"]
    assert [(c.tensor, list(c.more), c.value != 0) for c in clears] == [
        (params[0]._handle, [params[1]._handle, params[2]._handle], False), (kept._handle, [], True)]
    (params[1] * 3).sum().backward()  # the server's .grads were cleared: a fresh one, not an accumulation
    np.testing.assert_array_equal(params[1].grad.numpy(), np.full_like(W, 3.0))
    assert params[0].grad is None
