"""Pipelining and memory: long op chains without a round trip per op, flat server memory in a training loop."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest
import torch

import gradwire as gw

CHAIN_STEPS = 5_000  # two ops a step: 10,000 ops


def test_ten_thousand_op_chain_is_pipelined(session):
    start = np.linspace(-1.0, 1.0, 8, dtype=np.float32)
    x0 = session.tensor(start, requires_grad=True)
    session.sync()
    batches_before = session._sent
    x = x0
    for _ in range(CHAIN_STEPS):
        x = x * 1.0001 + 0.0
    value = x.detach().numpy()
    batches = session._sent - batches_before
    assert batches <= 10, f"{batches} batches for {2 * CHAIN_STEPS} ops: a round trip per op?"
    assert x.grad_fn.name() == "AddBackward0"
    assert session.stats()["graph_nodes"] == CHAIN_STEPS  # each mul by a scalar keeps its operand; the adds keep nothing

    expected = start.copy()  # the same float32 arithmetic in NumPy, op for op
    for _ in range(CHAIN_STEPS):
        expected = expected * np.float32(1.0001) + np.float32(0.0)
    np.testing.assert_array_equal(value, expected)
    np.testing.assert_allclose(value, start * 1.0001**CHAIN_STEPS, rtol=1e-3)

    x.sum().backward()
    grad = x0.grad.numpy()
    tx = torch.tensor(start, dtype=torch.float32, requires_grad=True)
    t = tx
    for _ in range(CHAIN_STEPS):
        t = t * 1.0001 + 0.0
    t.sum().backward()
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(grad, np.full(8, 1.0001**CHAIN_STEPS), rtol=1e-3)
    assert session._sent - batches_before <= 20
    assert session.stats()["graph_nodes"] == 0


def _train(session, steps, rng):
    """A 4-16-1 MLP regressing a fixed batch with SGD; returns the losses and the stats after each backward."""
    xa = rng.standard_normal((32, 4)).astype(np.float32)
    ya = (xa @ np.array([1.0, -2.0, 0.5, 3.0], dtype=np.float32))[:, None]
    x, y = session.tensor(xa), session.tensor(ya)
    params = [
        session.tensor(rng.standard_normal((4, 16)).astype(np.float32) * 0.5, requires_grad=True),
        session.zeros(16, requires_grad=True),
        session.tensor(rng.standard_normal((16, 1)).astype(np.float32) * 0.25, requires_grad=True),
        session.zeros(1, requires_grad=True),
    ]
    losses, stats = [], []
    for _ in range(steps):
        w1, b1, w2, b2 = params
        loss = ((((x @ w1 + b1).tanh() @ w2 + b2) - y) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
        stats.append(session.stats())
        with gw.no_grad():
            for p in params:
                p -= 0.05 * p.grad
        for p in params:
            p.grad = None
    return losses, stats


def test_training_loop_runs_in_flat_server_memory(server, rng):
    s = gw.connect(server.address, timeout=10)
    served = server.registry._sessions[s.id]
    losses, stats = _train(s, 1000, rng)
    assert losses[-1] < 0.1 * losses[0], f"the loss did not fall: {losses[0]} -> {losses[-1]}"
    assert all(np.isfinite(losses))
    holding = [step for step, st in enumerate(stats, 1) if st["graph_nodes"] != 0]
    assert not holding, f"saved tensors left after backward at steps {holding[:10]}: {stats[holding[0] - 1]}"
    assert stats[99] == stats[999], (stats[99], stats[999])  # step 100 and step 1000: same tensors, same bytes
    assert len({(st["tensors"], st["bytes"]) for st in stats[1:]}) == 1, "server memory changed between steps"
    assert stats[999]["tensors"] < 40, stats[999]  # data, params and one step's live handles

    s.close()
    assert s.id not in {x.id for x in server.registry.sessions()}
    assert served.tensors == {} and served.failed == {}
    with pytest.raises(gw.GradwireError, match="closed"):
        s.stats()


def test_collected_tensors_are_released(session):
    keep = session.ones(4)
    base = session.stats()["tensors"]
    made = [session.randn(256) for _ in range(50)]
    assert session.stats()["tensors"] == base + 50
    before_bytes = session.stats()["bytes"]
    del made
    gc.collect()
    session.sync()
    after = session.stats()
    assert after["tensors"] == base
    assert before_bytes - after["bytes"] == 50 * 256 * 4
    np.testing.assert_array_equal(keep.numpy(), np.ones(4, dtype=np.float32))


def test_stats_right_after_collection_counts_the_release(session):
    base = session.stats()["tensors"]
    x = session.ones(8)
    y = x * 2
    assert session.stats()["tensors"] == base + 2
    del x, y
    gc.collect()
    assert session.stats()["tensors"] == base  # no sync in between: stats() itself sends the release first


def test_intermediates_of_a_dropped_graph_are_released(session):
    w = session.randn(8, 8, requires_grad=True)
    session.sync()
    base = session.stats()["tensors"]
    out = w
    for _ in range(20):
        out = (out @ w).tanh()
    assert session.stats()["tensors"] == base + 40
    del out
    gc.collect()
    stats = session.stats()
    assert stats["tensors"] == base and stats["graph_nodes"] == 0, stats


def test_sync_is_a_command_answered_after_everything_before_it(session):
    x = session.ones(3)
    y = (x * 2).sum()
    sent = session._sent
    session.sync()
    assert session._sent == sent + 1 and session._acked == session._sent  # one batch, acknowledged
    assert not session._answers  # the sync's answer was taken
    assert y.item() == 6.0


# --- early answers: a fetch answered once its tensor is final ---------------------------------


class HeldBackward:
    """Every backward on the server waits until released: a value that arrives before that was answered early."""

    def __init__(self):
        self.may_run = threading.Event()

    def item(self, tensor):
        """``tensor.item()``, then let the backward run; (the value, whether it came before the backward)."""
        value = tensor.item()
        early = not self.may_run.is_set()
        self.may_run.set()
        return value, early


@pytest.fixture
def backward_may_run(monkeypatch):
    from gradwire_server import commands

    held = HeldBackward()
    run_backward = commands._HANDLERS["backward"]

    def held_backward(*args):
        assert held.may_run.wait(10), "item() did not return before the backward ran"
        return run_backward(*args)

    monkeypatch.setitem(commands._HANDLERS, "backward", held_backward)
    yield held
    held.may_run.set()  # a failed test leaves no server thread waiting


def test_item_returns_while_the_backward_queued_before_it_still_runs(session, backward_may_run):
    """``loss.item()`` after ``backward()`` and an update answers as soon as the loss exists."""
    w = session.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    with gw.no_grad():
        w -= 0.5 * w.grad
    value, answered_early = backward_may_run.item(loss)
    assert answered_early
    assert value == 14.0
    np.testing.assert_array_equal(w.detach().numpy(), [0.0, 0.0, 0.0])  # the update ran after, in order


def _torch_and_gradwire(session, program):
    data = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    return program(torch.tensor(data), torch), program(session.tensor(data), session)


@pytest.mark.parametrize(
    "program",
    [
        # an in-place update of the fetched tensor itself, after the op that made it
        lambda x, lib: (lambda y: (y.add_(1), y)[1])(x * 2),
        # through detach(), which shares its memory
        lambda x, lib: (lambda y: (y.detach().mul_(10), y)[1])(x * 2),
        # through a view made after it
        lambda x, lib: (lambda y: (y[1:].zero_(), y)[1])(x * 2),
        # an earlier tensor that the op's output is a view of
        lambda x, lib: (lambda y: (lambda v: (y.sub_(5), v)[1])(y[:2]))(x * 2),
    ],
    ids=["inplace", "detached-alias", "later-view", "view-of-updated"],
)
def test_a_fetch_sees_every_change_issued_before_it(session, program):
    with torch.no_grad():
        expected, result = _torch_and_gradwire(session, program)
        np.testing.assert_array_equal(result.numpy(), expected.numpy())
        assert result.tolist() == expected.tolist()


def test_an_error_after_an_early_answer_surfaces_at_the_next_sync_point(session):
    w = session.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    loss.backward()  # the graph is freed: this fails on the server, after the loss exists
    assert loss.item() == 5.0  # answered early, as a CUDA tensor's .item() can be before a later kernel fails
    with pytest.raises(gw.GradwireError, match=r"(?s)backward.*test_pipeline\.py.*retain_graph=True"):
        session.sync()
    assert (w * 3).tolist() == [3.0, 6.0]  # the session stays usable
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])  # the first backward's gradient


def test_item_answers_early_past_an_optimizer_step(session, backward_may_run):
    w = session.tensor([1.0, 2.0, 3.0], requires_grad=True)
    opt = gw.optim.SGD([w], lr=0.25)
    loss = (w * w).sum()
    loss.backward()
    opt.step()
    value, answered_early = backward_may_run.item(loss)
    assert answered_early and value == 14.0
    assert w.tolist() == [0.5, 1.0, 1.5]


def test_a_fetch_sees_an_optimizer_step_through_a_view(session):
    w = session.tensor([1.0, 2.0, 3.0], requires_grad=True)
    opt = gw.optim.SGD([w], lr=0.25)
    (w * w).sum().backward()
    with gw.no_grad():
        tail = w[1:]  # a view of the parameter, made by an op before the step
    opt.step()
    assert tail.tolist() == [1.0, 1.5]


def test_a_fetch_of_a_tensor_from_an_earlier_batch_is_answered_before_the_batch_runs(session, backward_may_run):
    """A progress read one update late (examples/train_digits.py): the value exists before the batch
    that asks for it, so the server answers at once and runs the batch's steps after."""
    w = session.tensor([1.0, 2.0, 3.0], requires_grad=True)
    opt = gw.optim.SGD([w], lr=0.25)
    earlier = (w * 2).sum()
    session.sync()  # `earlier` is computed in this batch; the next batch only reads it
    (w * w).sum().backward()
    opt.step()
    value, answered_early = backward_may_run.item(earlier)
    assert answered_early and value == 12.0
    assert w.tolist() == [0.5, 1.0, 1.5]


@pytest.mark.parametrize("where", ["earlier batch", "same batch"])
def test_an_early_answer_never_skips_an_update_issued_before_the_fetch(session, where):
    """What the fetched tensor shares with an optimizer's state, a .grad that backward adds into,
    or an in-place update: each is seen by the fetch, as in PyTorch."""
    def program(lib, tensor, sync):
        w = tensor([1.0, 2.0, 3.0], requires_grad=True)
        opt = lib.optim.Adam([w], lr=0.1)
        (w * w).sum().backward()
        opt.step()
        exp_avg = opt.state_dict()["state"][0]["exp_avg"]  # the live state, as torch hands it out
        assigned = tensor([10.0, 10.0, 10.0])
        v = tensor([1.0, 1.0, 1.0], requires_grad=True)
        v.grad = assigned
        plain = (w * 1.0).detach()
        sync()
        with lib.no_grad():
            plain += 5.0
        (w * w).sum().backward()
        opt.step()
        (v * 3).sum().backward()
        return exp_avg, assigned, plain

    session_tensor = lambda data, requires_grad=False: session.tensor(data, requires_grad=requires_grad)
    sync = session.sync if where == "earlier batch" else (lambda: None)
    got = [program(gw, session_tensor, sync)[i].tolist() for i in range(3)]  # each read the last command of its batch
    expected = [t.tolist() for t in program(torch, lambda data, requires_grad=False: torch.tensor(data, requires_grad=requires_grad), lambda: None)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_item_answers_early_past_gradient_clipping(session, backward_may_run):
    w = session.tensor([1.0, 2.0, 3.0], requires_grad=True)
    opt = gw.optim.SGD([w], lr=0.25)
    opt.zero_grad()
    loss = (w * w).sum()
    loss.backward()
    gw.nn.utils.clip_grad_norm_([w], 1.0)
    opt.step()
    value, answered_early = backward_may_run.item(loss)
    assert answered_early and value == 14.0


def test_a_fetch_of_an_assigned_grad_sees_the_clipping_after_it(session):
    w, t = session.tensor([3.0, 4.0], requires_grad=True), torch.tensor([3.0, 4.0], requires_grad=True)
    g, tg = session.tensor([3.0, 4.0]) * 2, torch.tensor([3.0, 4.0]) * 2
    w.grad, t.grad = g, tg  # g is w's .grad now: clipping scales it in place
    gw.nn.utils.clip_grad_norm_(w, 1.0)
    torch.nn.utils.clip_grad_norm_(t, 1.0)
    np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-6)
