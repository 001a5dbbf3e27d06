"""The hand-encoded data chunks of the chunked streams are ordinary TensorChunk messages."""

import numpy as np
import pytest

from gradwire.v1 import gradwire_pb2 as pb
from gradwire.wire import decode_chunk, encode_chunk, encode_param, put_param


@pytest.mark.parametrize("offset", [0, 1, 127, 128, 300, 1 << 20, (1 << 40) + 5])
@pytest.mark.parametrize("size", [0, 1, 1000])
def test_encoded_chunks_read_as_protobuf_and_back(offset, size):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8)
    raw = encode_chunk(offset, memoryview(data))
    parsed = pb.TensorChunk.FromString(raw)
    assert (parsed.offset, parsed.data) == (offset, data.tobytes())
    for wire_bytes in (raw, parsed.SerializeToString()):
        got_offset, got_data = decode_chunk(wire_bytes)
        assert (got_offset, bytes(got_data)) == (offset, data.tobytes())


@pytest.mark.parametrize(
    "chunk",
    [pb.TensorChunk(handle=3, data=b"x"), pb.TensorChunk(meta=pb.TensorMeta(), data=b"x"), pb.TensorChunk(total_bytes=9)],
)
def test_chunks_with_header_fields_are_left_to_protobuf(chunk):
    assert decode_chunk(chunk.SerializeToString()) is None


@pytest.mark.parametrize("raw", [b"\x32\x05ab", b"\x28", b"\x2f", b"\x28" + b"\xff" * 11])
def test_malformed_chunks_raise_value_error(raw):
    with pytest.raises(ValueError):
        decode_chunk(raw)


# --- params set in place: the same bytes as encode_param ------------------------------------

PARAMS = [0, 3, -2, 2**40, 1.5, -0.0, "mean", "", True, False, (), (2, -1), [3], np.int64(4), np.float32(0.5), np.bool_(True), None]


@pytest.mark.parametrize("value", PARAMS, ids=[f"{type(v).__name__}-{v!r}" for v in PARAMS])
def test_put_param_writes_what_encode_param_encodes(value):
    op = pb.Op()
    put_param(op.params, "key", value)
    assert op.params["key"].SerializeToString() == encode_param(value).SerializeToString()
    assert op.params["key"].WhichOneof("value") == encode_param(value).WhichOneof("value")  # an empty tuple is still ints


@pytest.mark.parametrize("value", [object(), ("a",), 1j])
def test_put_param_of_a_value_it_cannot_send_leaves_the_map_as_it_was(value):
    op = pb.Op()
    with pytest.raises((TypeError, ValueError)):
        put_param(op.params, "key", value)
    assert "key" not in op.params
