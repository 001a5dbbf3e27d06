"""Tensors above the inline limit travel on the chunked Upload/Download streams, bit for bit."""

from __future__ import annotations

import gc
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb

from tests.servers import start_server

BIG_BYTES = 512 << 20
BIG_BUDGET_S = 30.0  # measured ~5 s up and down on 2 cores; far more means the chunked path regressed


@pytest.mark.large
def test_512_mib_round_trip_is_bit_exact(session):
    # random bits viewed as float32: NaN payloads, infinities and subnormals all have to survive
    bits = np.random.default_rng(7).integers(0, 2**32, size=BIG_BYTES // 4, dtype=np.uint32).reshape(8192, 16384)
    array = bits.view(np.float32)
    assert array.nbytes == BIG_BYTES > 100 * session.limits.inline_bytes
    start = time.monotonic()
    x = session.tensor(array)
    assert x.shape == (8192, 16384) and x.dtype == np.float32
    assert session.stats()["bytes"] >= BIG_BYTES
    back = x.numpy()
    elapsed = time.monotonic() - start
    assert back.shape == array.shape and back.dtype == np.float32
    assert np.array_equal(back.view(np.uint32), bits)  # bit-exact, NaNs included
    del back, array, bits
    del x
    gc.collect()
    assert session.stats()["bytes"] < BIG_BYTES  # freed on the server as soon as the handle went
    assert elapsed < BIG_BUDGET_S, f"512 MiB round trip took {elapsed:.1f} s"


@pytest.mark.parametrize("shape", [(0,), (3, 0, 2), (1,), (300_000,), (513, 1025)])
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.bool_])
def test_shapes_and_dtypes_round_trip(session, shape, dtype):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    x = session.tensor(array)
    back = x.numpy()
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_chunked_tensor_takes_part_in_ops_and_gradients(session):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((700, 700)).astype(np.float32)  # ~1.9 MiB: above the 1 MiB inline limit
    assert a.nbytes > session.limits.inline_bytes
    x = session.tensor(a, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(y.item(), float((a.astype(np.float64) ** 2).sum()), rtol=1e-4)
    grad = x.grad.numpy()  # a result above the limit comes back on the Download stream
    np.testing.assert_array_equal(grad, 2 * a)
    assert x.grad_fn is None and x.is_leaf


def test_non_contiguous_and_zero_d_arrays(session):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    for array in (base[:, ::2], base.T, np.float32(2.5), np.array(7, dtype=np.int64)):
        x = session.tensor(array)
        back = x.numpy()
        assert back.shape == np.shape(array)
        np.testing.assert_array_equal(back, array)


def _upload(session, chunks):
    """Send hand-made chunks on the session's Upload stream; the SDK's error comes back."""
    return session._unary(session._upload_raw, (c.SerializeToString() for c in chunks))


def _header(handle, shape, dtype="float32", total=None, data=b""):
    itemsize = np.dtype(dtype).itemsize
    total = itemsize * int(np.prod(shape)) if total is None else total
    return pb.TensorChunk(handle=handle, meta=pb.TensorMeta(dtype=dtype, shape=shape), total_bytes=total, data=data)


@pytest.mark.parametrize(
    "chunks, error, message",
    [
        ([pb.TensorChunk(offset=0, data=b"abcd")], gw.InvalidArgumentError, "first chunk must carry the header"),
        ([_header(90, [2], data=b"abcd"), pb.TensorChunk(offset=8, data=b"abcd")], gw.InvalidArgumentError, "out of order"),
        ([_header(91, [2], data=b"abcd")], gw.InvalidArgumentError, "chunks missing"),
        ([_header(92, [1], data=b"abcdefgh")], gw.InvalidArgumentError, "8 bytes sent for a tensor of 4"),
        ([_header(93, [2], total=5)], gw.InvalidArgumentError, "does not match dtype"),
        ([_header(94, [2], dtype="uint16")], gw.InvalidArgumentError, "unsupported dtype"),
        ([_header(95, [-3])], gw.InvalidArgumentError, "negative dimension"),
        ([_header(96, [1 << 40, 1 << 40], total=0)], gw.ResourceExhaustedError, "max_tensor_elements"),
    ],
)
def test_bad_uploads_get_typed_errors_and_the_session_carries_on(session, chunks, error, message):
    with pytest.raises(error, match=message):
        _upload(session, chunks)
    assert (session.ones(2) * 3).sum().item() == 6.0


class _CancelledCall:
    """A call's context as gRPC shows it when the client cancels an upload: its stream has ended, and the call is
    marked inactive a few milliseconds later (the race the Upload handler waits out)."""

    def __init__(self, metadata, inactive_after_s):
        self.metadata, self.inactive_at, self.aborted = metadata, None, None
        self.inactive_after_s = inactive_after_s

    def invocation_metadata(self):
        return self.metadata

    def is_active(self):
        if self.inactive_at is None:
            self.inactive_at = time.monotonic() + self.inactive_after_s
        return time.monotonic() < self.inactive_at

    def abort(self, code, details):
        self.aborted = (code.name, details)
        raise RuntimeError(details)


@pytest.mark.parametrize("inactive_after_s, told", [(0.01, None), (None, "chunks missing")])
def test_an_upload_whose_stream_ends_as_the_client_cancels_is_not_called_a_bad_request(server, session, caplog, inactive_after_s, told):
    caplog.set_level(logging.INFO, logger="gradwire.server")
    chunks = iter([_header(97, [1024], data=bytes(64)).SerializeToString()])  # 64 bytes of 4 KiB, then the end
    context = _CancelledCall(session._metadata, inactive_after_s if inactive_after_s is not None else 3600)
    try:
        server.servicer.Upload(chunks, context)
    except RuntimeError:
        pass
    said = [r.getMessage() for r in caplog.records if r.name == "gradwire.server"]
    if told is None:  # cancelled: nobody to answer, and no bad request in the log
        assert context.aborted is None
        assert any("the client ended the call after 64 of 4096 bytes" in m for m in said), said
        assert not any("INVALID_ARGUMENT" in m for m in said), said
    else:  # a client that ended its stream short and waits for the answer gets it
        assert context.aborted == ("INVALID_ARGUMENT", "upload: chunks missing: received 64 of 4096 bytes")
    assert (session.ones(2) * 3).sum().item() == 6.0


def test_reused_transfer_buffers_never_touch_arrays_still_held(session):
    big = np.arange(3 << 20, dtype=np.float32)  # 12 MiB: above the buffer pool's 8 MiB floor
    t = session.tensor(big)
    first = t.numpy()
    second = (t + 1).numpy()
    assert not np.shares_memory(first, second)
    del first
    third = (t * 2).numpy()  # may land in first's buffer, never in second's
    again = session.tensor(big - 1)  # the server's upload buffers follow the same rule
    np.testing.assert_array_equal(second, big + 1)
    np.testing.assert_array_equal(third, big * 2)
    np.testing.assert_array_equal(t.numpy(), big)
    np.testing.assert_array_equal(again.numpy(), big - 1)


def test_uploads_of_sessions_at_once_each_arrive_whole(server):
    # every upload's chunks are stored on gRPC's one polling thread (requestreceive): there the calls interleave
    arrays = [np.random.default_rng(n).standard_normal(1_300_000 + n).astype(np.float32) for n in range(4)]  # 5 MiB each
    sessions = [gw.connect(server.address, timeout=10) for _ in arrays]
    try:
        with ThreadPoolExecutor(len(arrays)) as pool:
            backs = list(pool.map(lambda s, a: [s.tensor(a + k).numpy() for k in range(3)], sessions, arrays))
        for array, back in zip(arrays, backs):
            for k in range(3):
                np.testing.assert_array_equal(back[k], array + k)
    finally:
        for s in sessions:
            s.close()


def test_uploads_of_one_size_reuse_one_server_buffer_without_the_cycle_collector():
    # an upload's buffer goes back to the server's pool when its tensor is freed: nothing of the call (the chunk
    # receiver's callbacks, an error's traceback) may keep it, not even until the cycle collector runs
    server = start_server(device="cpu")
    gc.disable()
    try:
        with gw.connect(server.address, timeout=10) as s:
            big = np.arange(3 << 20, dtype=np.float32)  # 12 MiB: above the pool's 8 MiB floor
            for n in range(4):
                t = s.tensor(big + n)
                assert t[-1].item() == big[-1] + n  # this upload's data, not the last one's
                del t
                s.sync()  # the release is applied
            pooled = server.registry.host_buffers._buffers
            assert [b.nbytes for b in pooled] == [big.nbytes]  # one buffer, taken by each upload in turn
    finally:
        gc.enable()
        server.stop(grace=1.0)


@pytest.mark.parametrize("n", [3, 1 << 19])  # inline, and on the Download stream
def test_numpy_gives_a_writable_copy(session, n):
    t = session.ones(n)
    a = t.numpy()
    a += 1  # a user's in-place edit: allowed, and the tensor stays as it was
    assert a[0] == 2.0 and t.numpy()[0] == 1.0
