"""Wire helpers shared by the SDK and the server: tensors <-> bytes, params <-> protobuf.

Tensors travel as raw C-order bytes with dtype and shape, never as repeated floats.
"""

from __future__ import annotations

import numpy as np

from .v1 import gradwire_pb2 as pb

SESSION_HEADER = "gradwire-session"
TOKEN_HEADER = "gradwire-token"
API_KEY_HEADER = "gradwire-api-key"

INLINE_BYTES = 1 << 20  # above this, tensors travel on the chunked Upload/Download streams
CHUNK_BYTES = 1 << 20


def to_tensor_data(array: np.ndarray) -> pb.TensorData:
    array = np.require(array, requirements="C")  # not ascontiguousarray: it makes a 0-d array 1-d
    return pb.TensorData(dtype=array.dtype.name, shape=array.shape, data=array.tobytes())


def array_from_bytes(data, dtype: str, shape) -> np.ndarray:
    """A read-only NumPy view of ``data`` (no copy), checked against dtype and shape."""
    dtype = np.dtype(dtype)
    shape = tuple(int(n) for n in shape)
    expected = dtype.itemsize * _count(shape)
    if len(data) != expected:
        raise ValueError(f"{len(data)} bytes do not match dtype {dtype.name} and shape {list(shape)} ({expected} bytes)")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def from_tensor_data(message: pb.TensorData) -> np.ndarray:
    return array_from_bytes(message.data, message.dtype, message.shape)


def _count(shape) -> int:
    n = 1
    for s in shape:
        if s < 0:
            raise ValueError(f"negative dimension {s} in shape {list(shape)}")
        n *= s
    return n


def chunk_views(array: np.ndarray, chunk_bytes: int = CHUNK_BYTES):
    """Yield ``(offset, memoryview)`` slices of a contiguous array's bytes, without copying."""
    flat = memoryview(np.ascontiguousarray(array)).cast("B")
    for offset in range(0, len(flat), chunk_bytes):
        yield offset, flat[offset : offset + chunk_bytes]


# --- params: Python values <-> pb.Param ---------------------------------------------------


def encode_param(value, handle_of=None) -> pb.Param:
    """Encode an op parameter: int, float, bool, str, None, a tuple of ints, or an index key.

    ``handle_of`` turns a tensor inside an index key into its handle.
    """
    if value is None:
        return pb.Param(none=True)
    if isinstance(value, (bool, np.bool_)):
        return pb.Param(b=bool(value))
    if isinstance(value, (int, np.integer)):
        return pb.Param(i=int(value))
    if isinstance(value, (float, np.floating)):
        return pb.Param(f=float(value))
    if isinstance(value, str):
        return pb.Param(s=value)
    if isinstance(value, IndexKey):
        return pb.Param(key=pb.IndexKey(parts=[_encode_index_part(p, handle_of) for p in value.parts]))
    if isinstance(value, (tuple, list)):
        return pb.Param(ints=pb.IntList(values=[int(v) for v in value]))
    raise TypeError(f"cannot send a parameter of type {type(value).__name__}")


def decode_param(param: pb.Param, tensor_of=None):
    kind = param.WhichOneof("value")
    if kind == "ints":
        return tuple(param.ints.values)
    if kind == "none" or kind is None:
        return None
    if kind == "key":
        return tuple(_decode_index_part(p, tensor_of) for p in param.key.parts)
    return getattr(param, kind)


class IndexKey:
    """An index key on its way to the wire: ints, slices, None, Ellipsis and handles."""

    __slots__ = ("parts",)

    def __init__(self, parts):
        self.parts = parts


class Handle(int):
    """A tensor handle inside an index key."""


def _encode_index_part(part, handle_of):
    if part is None:
        return pb.IndexPart(none=True)
    if part is Ellipsis:
        return pb.IndexPart(ellipsis=True)
    if isinstance(part, Handle):
        return pb.IndexPart(handle=int(part))
    if isinstance(part, (int, np.integer)) and not isinstance(part, bool):
        return pb.IndexPart(i=int(part))
    if isinstance(part, slice):
        fields = {k: int(v) for k, v in (("start", part.start), ("stop", part.stop), ("step", part.step)) if v is not None}
        return pb.IndexPart(slice=pb.Slice(**fields))
    raise TypeError(f"unsupported index of type {type(part).__name__}")


def _decode_index_part(part: pb.IndexPart, tensor_of):
    kind = part.WhichOneof("part")
    if kind == "i":
        return part.i
    if kind == "slice":
        s = part.slice
        return slice(
            s.start if s.HasField("start") else None,
            s.stop if s.HasField("stop") else None,
            s.step if s.HasField("step") else None,
        )
    if kind == "none":
        return None
    if kind == "ellipsis":
        return Ellipsis
    if kind == "handle":
        return tensor_of(part.handle)
    raise ValueError("empty index part")
