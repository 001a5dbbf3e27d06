"""Quotas: each limit refused before anything is allocated, with RESOURCE_EXHAUSTED and a message that names
the limit and the amount asked; the session stays usable and holds what it held before."""

from __future__ import annotations

import gc
import os
import re

import grpc
import numpy as np
import pytest

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb
from tests.servers import start_server
from gradwire_server.quotas import held_bytes

DEVICE = os.environ.get("GRADWIRE_TEST_DEVICE", "cpu")  # cuda: the same checks on a GPU server

MiB = 1 << 20
LIMITS = dict(max_session_bytes=1 * MiB, max_tensor_elements=200_000, max_sessions=3, max_batch_commands=50, max_message_bytes=256 << 10,
              max_session_handles=400)


@pytest.fixture(scope="module")
def quota_server():
    server = start_server(device=DEVICE, **LIMITS)
    yield server
    server.stop(grace=0.5)


@pytest.fixture
def s(quota_server):
    with gw.connect(quota_server.address, timeout=10) as session:
        yield session


def server_side(server, session):
    return next(x for x in server.registry.sessions() if x.id == session.id)


def refused(action, limit: str) -> str:
    """Run ``action`` (which reads a value, a sync point); it must be refused by ``limit``. The message."""
    with pytest.raises(gw.ResourceExhaustedError) as info:
        action()
    assert info.value.code == "RESOURCE_EXHAUSTED"
    message = str(info.value)
    assert f"{limit} limit" in message, message
    return message


def test_handles_past_the_session_limit_are_refused_and_released_ones_make_room(quota_server, s):
    """Tiny tensors cost the server far more than their bytes: their count is limited, so a flood cannot exhaust it."""
    held = [s.tensor(float(k)) for k in range(400)]
    assert s.stats()["tensors"] == 400
    message = refused(lambda: s.tensor(1.0).item(), "max_session_handles")
    assert "holds 400 handles" in message and "above 400" in message
    refused(lambda: (gw.Generator(session=s), s.sync()), "max_session_handles")
    del held[:10]
    gc.collect()
    assert (s.tensor(2.0) * 3).item() == 6.0  # released handles make room; the session goes on
    assert s.stats()["tensors"] <= 400


def test_a_put_over_the_session_bytes_is_refused_and_the_session_goes_on(quota_server, s):
    held = [s.tensor(np.full(12_000, k, dtype=np.float32)) for k in range(20)]  # 20 x 48,000 bytes inline
    before = s.stats()
    assert before == {"tensors": 20, "bytes": 960_000, "graph_nodes": 0, "generators": 0, "profile_events": 0}
    message = refused(lambda: s.tensor(np.ones(24_000, dtype=np.float32)).numpy(), "max_session_bytes")
    assert "a tensor of 96000 bytes would bring the 960000 bytes" in message and f"above {MiB}" in message
    assert s.stats() == before  # nothing bound, nothing held
    del held[0]  # room again, once a handle goes
    gc.collect()
    np.testing.assert_array_equal(s.tensor(np.ones(24_000, dtype=np.float32)).numpy()[:3], [1, 1, 1])
    np.testing.assert_array_equal(held[-1].numpy()[:2], [19, 19])


def test_an_upload_over_the_limits_is_refused_before_its_chunks(quota_server, s):
    assert s.limits.inline_bytes <= s.limits.max_message_bytes // 2  # the server keeps inline tensors within a message
    message = refused(lambda: s.tensor(np.zeros(300_000, dtype=np.float32)), "max_tensor_elements")
    assert "an uploaded tensor of 300000 elements exceeds 200000" in message
    keep = s.tensor(np.zeros(150_000, dtype=np.float32))  # 600,000 bytes, chunked
    message = refused(lambda: s.tensor(np.zeros(150_000, dtype=np.float32)), "max_session_bytes")
    assert "an uploaded tensor of 600000 bytes" in message
    assert s.stats()["bytes"] == 600_000
    assert keep.sum().item() == 0.0


def test_factories_are_sized_from_their_arguments(quota_server, s):
    message = refused(lambda: s.zeros(1000, 1000).numpy(), "max_tensor_elements")
    assert "a zeros tensor of 1000000 elements exceeds 200000" in message
    message = refused(lambda: s.randn(1 << 40, 1 << 40).numpy(), "max_tensor_elements")
    assert f"{1 << 80} elements" in message  # exact, however large
    refused(lambda: s.arange(0, 10**9).numpy(), "max_tensor_elements")
    a = s.ones(150_000)
    message = refused(lambda: s.full((150_000,), 2.0).numpy(), "max_session_bytes")
    assert "a full tensor of 600000 bytes" in message
    assert s.stats()["tensors"] == 1 and a.sum().item() == 150_000.0


def test_op_outputs_are_sized_before_the_op_runs(quota_server, s):
    column, row = s.ones(1000, 1), s.ones(1, 1000)
    message = refused(lambda: (column @ row).numpy(), "max_tensor_elements")  # a million-element outer product
    assert "the output of matmul of 1000000 elements exceeds 200000" in message
    refused(lambda: (column + row).numpy(), "max_tensor_elements")  # broadcasting to (1000, 1000)
    refused(lambda: column.expand(1000, 1000).numpy(), "max_tensor_elements")  # a view, but a tensor of 10**6 elements
    a = s.zeros(100_000)  # 400,000 bytes
    b = a + 1  # 800,000
    message = refused(lambda: (b * 2).numpy(), "max_session_bytes")
    assert "the output of mul of 400000 bytes would bring the 80" in message
    v = a.reshape(1000, 100)  # a view allocates nothing: allowed at the limit
    assert v.shape == (1000, 100) and v.sum().item() == 0.0
    assert s.stats()["tensors"] == 5


def test_an_index_over_the_session_bytes_is_dropped(quota_server, s):
    x = s.zeros(1000, 100)  # 400,000 bytes
    idx = s.zeros(2000, dtype=np.int64)  # 16,000 bytes
    before = s.stats()
    message = refused(lambda: x[idx].numpy(), "max_session_bytes")  # 800,000 more bytes, known only once made
    assert "the output of index of 800000 bytes" in message
    assert s.stats() == before
    assert x[idx[:10]].shape == (10, 100)


def test_backward_reserves_the_grads_it_will_make(quota_server, s):
    x = s.zeros(100_000, requires_grad=True)  # 400,000 bytes
    y = x * 2  # 400,000
    message = refused(lambda: (y.sum().backward(), s.sync()), "max_session_bytes")
    assert "the gradients of backward of 400000 bytes" in message
    assert x.grad is None
    del y
    gc.collect()
    s.sync()  # the release of y's handle goes out (the SDK sends releases with its next batch)
    x.sum().backward()  # room for the grad now
    assert x.grad.sum().item() == 100_000.0
    x.grad = None
    gc.collect()
    s.sync()  # and the release of the handle that read x.grad above
    message = refused(lambda: gw.autograd.grad((x * 3).sum(), x)[0].numpy(), "max_session_bytes")
    assert "the gradients of grad of 400000 bytes" in message


def test_a_recorded_backward_reserves_what_its_gradients_save(quota_server, s):
    x = s.zeros(40_000, requires_grad=True)  # 160,000 bytes
    y = x.exp().exp().exp().sum()  # each exp saves its output: 480,000 bytes of residuals, held
    message = refused(lambda: gw.autograd.grad(y, x, create_graph=True)[0].detach().numpy(), "max_session_bytes")
    assert "the recorded gradients of create_graph of 480000 bytes" in message
    (g,) = gw.autograd.grad(y, x)  # without create_graph: only the gradient itself
    assert g.sum().item() > 0


def test_optimizer_state_counts_and_a_step_reserves_it(quota_server, s):
    w = s.zeros(60_000, requires_grad=True)  # 240,000 bytes
    opt = gw.optim.Adam([w], lr=0.1)
    loss = (w * w).sum()  # w * w: 240,000 more, saved
    loss.backward()  # w.grad: 240,000
    message = refused(lambda: (opt.step(), s.sync()), "max_session_bytes")  # Adam's two moments: 480,000
    assert "the state of adam.step of 480000 bytes" in message
    del loss
    gc.collect()
    s.sync()  # the product and its graph go with the loss's handle
    opt.step()
    session = server_side(quota_server, s)
    assert s.stats()["bytes"] == 960_000  # w, its grad and the moments
    with session.lock:
        assert held_bytes(session) == 960_000


def test_saved_residuals_count_towards_the_session_bytes(quota_server, s):
    """A raw client releases the handle of an intermediate its graph still saves: the bytes stay counted."""

    def run(*commands):
        batch = pb.Batch(seq=0, commands=[pb.Command(id=k, **c) for k, c in enumerate(commands, 1)])
        return next(s._stub.Run(iter([batch]), metadata=s._metadata, timeout=10)).results

    size = {"size": pb.Param(ints=pb.IntList(values=[50_000]))}  # 200,000 bytes each
    results = run(
        dict(factory=pb.Factory(name="zeros", handle=1, params=size, requires_grad=True)),
        dict(op=pb.Op(name="exp", inputs=[pb.Operand(handle=1)], outputs=[2])),
        dict(op=pb.Op(name="exp", inputs=[pb.Operand(handle=2)], outputs=[3])),  # saves its input's output
        dict(release=pb.Release(handles=[2])),
        dict(stats=pb.StatsRequest()),
    )
    assert results[0].stats.bytes == 400_000  # what the handles hold
    session = server_side(quota_server, s)
    with session.lock:
        assert held_bytes(session) == 600_000  # and the saved output of the first exp
    big = {"size": pb.Param(ints=pb.IntList(values=[120_000]))}  # 480,000 bytes
    [refusal] = run(dict(factory=pb.Factory(name="zeros", handle=4, params=big)))
    assert refusal.error.code == "RESOURCE_EXHAUSTED" and "max_session_bytes limit" in refusal.error.message
    assert run(dict(release=pb.Release(handles=[3])), dict(factory=pb.Factory(name="zeros", handle=5, params=big)), dict(sync=pb.Sync()))[0].command == 3
    with session.lock:
        assert held_bytes(session) == 680_000  # the graph went with handle 3


def test_sessions_per_server(quota_server):
    open_ = [gw.connect(quota_server.address, timeout=10) for _ in range(LIMITS["max_sessions"] - len(quota_server.registry.sessions()))]
    try:
        message = refused(lambda: gw.connect(quota_server.address, timeout=10), "max_sessions")
        assert "3 sessions are open; one more would make 4, above 3" in message
        assert open_[0].tensor([1.0]).item() == 1.0
    finally:
        for session in open_:
            session.close()


def test_the_sdk_keeps_batches_within_the_command_and_message_limits(quota_server, s):
    x = s.zeros(1)
    for _ in range(175):  # more than three batches' worth at the server's limit of 50 commands
        x = x + 1
    # 131,000 bytes each, inline: two of them and their commands overflow a 256 KiB message, so the SDK splits
    rows = [s.tensor(np.full(32_750, k, dtype=np.float32)) for k in range(6)]
    assert x.item() == 175.0
    assert [r[0].item() for r in rows] == list(range(6))


def test_a_message_over_the_limit_names_max_message_bytes(quota_server, s):
    """grpc refuses a message over the server's max_message_bytes itself; the SDK's error says which limit."""
    big = pb.Batch(seq=0, commands=[pb.Command(id=1, put=pb.Put(handle=7, tensor=pb.TensorData(dtype="uint8", shape=[300_000], data=bytes(300_000))))])
    with pytest.raises(grpc.RpcError) as info:
        next(s._stub.Run(iter([big]), metadata=s._metadata, timeout=10))
    assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    error = gw.errors.from_rpc_error(info.value)
    assert isinstance(error, gw.ResourceExhaustedError)
    assert re.match(rf"max_message_bytes limit: a message of 300\d\d\d bytes exceeds {256 << 10} \(", str(error)), str(error)
    assert s.tensor([2.0]).item() == 2.0  # the session's own stream never saw it
