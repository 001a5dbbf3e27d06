"""The host buffer pool reuses a buffer only when no array or view refers to it."""

import numpy as np
import pytest

from gradwire.wire import BufferPool


def test_a_buffer_in_use_is_never_handed_out_again():
    pool = BufferPool(min_bytes=1)
    first = pool.take(64)
    view = first.view(np.float32).reshape(4, 4)[1:]  # a view keeps its buffer in use
    del first
    second = pool.take(64)
    assert not np.shares_memory(second, view)
    second[:] = 1
    view[:] = 2
    assert (second == 1).all()


def test_a_free_buffer_is_reused_and_clear_drops_it():
    pool = BufferPool(min_bytes=1)
    address = pool.take(64).ctypes.data  # dropped at once: free
    again = pool.take(64)
    assert again.ctypes.data == address
    del again
    pool.clear()
    assert pool._buffers == []


def test_small_buffers_are_left_to_malloc_and_the_pool_is_bounded():
    pool = BufferPool(max_bytes=100, min_bytes=32)
    pool.take(16)
    assert pool._buffers == []
    held = [pool.take(40) for _ in range(3)]  # in use: all kept, over the bound
    assert len(pool._buffers) == 3
    del held
    newest = pool.take(50)  # a new size: free buffers are dropped down to the bound
    assert sum(b.nbytes for b in pool._buffers) <= 100
    assert any(b is newest for b in pool._buffers)


@pytest.mark.parametrize(
    "allocate",
    [
        lambda n: np.frombuffer(bytearray(n), dtype=np.uint8),  # memory of another kind, as CuPy's pinned memory
        lambda n: np.frombuffer(np.empty(n, dtype=np.uint8), dtype=np.uint8),  # a view of an array that owns it
    ],
    ids=["foreign-memory", "view-of-owner"],
)
def test_buffers_that_do_not_own_their_memory_are_in_use_while_a_view_lives(allocate):
    pool = BufferPool(min_bytes=1, allocate=allocate)
    first = pool.take(64)
    view = first.view(np.float32).reshape(4, 4)[1:]  # NumPy points this view at the bytearray, not at `first`
    del first
    second = pool.take(64)
    assert not np.shares_memory(second, view)
    del view, second
    assert pool.take(64) is pool._buffers[0]  # free again once no view lives: reused


def test_clear_drops_free_buffers_behind_ones_in_use_of_the_same_size():
    pool = BufferPool(min_bytes=1)
    in_use = pool.take(64)
    pool.take(64)  # dropped at once: free, behind the one in use
    pool.clear()
    assert len(pool._buffers) == 1 and pool._buffers[0] is in_use
