"""Wire helpers shared by the SDK and the server: tensors <-> bytes, params <-> protobuf.

Tensors travel as raw C-order bytes with dtype and shape, never as repeated floats.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

from .v1 import gradwire_pb2 as pb

SESSION_HEADER = "gradwire-session"
TOKEN_HEADER = "gradwire-token"
API_KEY_HEADER = "gradwire-api-key"
REPLIES_HEADER = ("gradwire-replies", "along")  # on a Run call: empty full replies may ride with the next one

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
        return pb.Param(ints=pb.IntList(values=[_wire_int(v) for v in value]))
    raise TypeError(f"cannot send a parameter of type {type(value).__name__}")


def put_param(params, key: str, value, handle_of=None):
    """``params[key] = encode_param(value)`` for a protobuf map of Params, without building a Param to copy.

    Every op's params go through here. The value is checked before the map gains ``key``,
    so a value that cannot be sent leaves the map as it was (as ``encode_param`` would).
    """
    kind = type(value)
    if kind is int:  # the common kinds first, by exact type
        try:
            params[key].i = value
        except ValueError:  # past int64: as a float up to 2**64 - 1, else PyTorch's OverflowError (not protobuf's words)
            del params[key]
            params[key].f = wide_int(value)
    elif kind is float:
        params[key].f = value
    elif kind is str:
        params[key].s = value
    elif kind is bool:
        params[key].b = value
    elif kind is tuple or kind is list:
        values = [_wire_int(v) for v in value]
        try:
            params[key].ints.values[:] = values  # sets the ints field even when empty
        except ValueError:  # a size or dim past int64
            del params[key]
            raise ValueError("Overflow when unpacking long long") from None
    else:
        param = encode_param(value, handle_of)
        params[key].CopyFrom(param)


def wide_int(value: int) -> float:
    """A Python int past int64 as PyTorch takes a number: up to 2**64 - 1 (a uint64) as a float, past that refused in
    PyTorch's words (the wire's ints are int64)."""
    if 0 < value < 2**64:
        return float(value)
    raise OverflowError("int too big to convert" if value > 0 else "can't convert negative int to unsigned")


def _wire_int(value) -> int:
    """An int for the wire, from an int only: the SDK turns a one-element tensor into its value before a command is
    filled, and a tensor's ``__int__`` here would read the server in the middle of filling one, sending it half made."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    raise TypeError(f"expected an int, got {type(value).__name__}")


def decode_param(param: pb.Param, tensor_of=None):
    kind = param.WhichOneof("value")
    if kind == "ints":  # (sliced: iterating a protobuf repeated field ends in an IndexError, made and caught)
        return tuple(param.ints.values[:])
    if kind == "none" or kind is None:
        return None
    if kind == "key":
        return tuple([_decode_index_part(p, tensor_of) for p in param.key.parts[:]])
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
        fields = {k: _wire_int(v) for k, v in (("start", part.start), ("stop", part.stop), ("step", part.step)) if v is not None}
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


# --- data chunks of the Upload/Download streams, encoded by hand ---------------------------
# A data chunk is a TensorChunk with only `offset` (field 5) and `data` (field 6). Encoding
# it by hand costs one copy of the bytes; protobuf's message object would cost three. The
# bytes on the wire are the same TensorChunk, so any protobuf peer reads and writes them.

_OFFSET_TAG = bytes([5 << 3 | 0])
_DATA_TAG = bytes([6 << 3 | 2])


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_chunk(offset: int, data) -> bytes:
    """A serialized TensorChunk(offset=offset, data=data); ``data`` is any bytes-like view."""
    prefix = (_OFFSET_TAG + _varint(offset) if offset else b"") + _DATA_TAG + _varint(len(data))
    return b"".join((prefix, data))


def _read_varint(raw, pos):
    result = shift = 0
    while True:
        if pos >= len(raw):
            raise ValueError("truncated varint")
        byte = raw[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def decode_chunk(raw: bytes):
    """``(offset, data)`` of a serialized data chunk, ``data`` a memoryview into ``raw`` (no copy).

    Returns None when the chunk carries header fields (handle, meta, ...): parse it with
    ``TensorChunk.FromString`` instead. Raises ValueError on malformed bytes.
    """
    view = memoryview(raw)
    pos, offset, data = 0, 0, view[0:0]
    while pos < len(raw):
        tag, pos = _read_varint(raw, pos)
        field, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, pos = _read_varint(raw, pos)
            if field == 5:
                offset = value if value < (1 << 63) else value - (1 << 64)
            elif value:
                return None
        elif wire_type == 2:
            length, pos = _read_varint(raw, pos)
            if pos + length > len(raw):
                raise ValueError("truncated field")
            if field == 6:
                data = view[pos : pos + length]
            elif length or field == 2:
                return None
            pos += length
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
    return offset, data


# --- host buffers for large transfers -------------------------------------------------------


def _references_when_free(allocate) -> int:
    """What ``_references`` reports, inside ``_free_buffer``'s loop, for a buffer only the pool holds."""
    buffers = [allocate(1)]
    for buffer in buffers:
        return _references(buffer)


def _references(buffer) -> int:
    """References to the array that a buffer's views refer to as their base.

    That is the buffer itself, unless it is a view of another ndarray: NumPy then points
    new views at the first array up the chain that owns its data. (A buffer over pinned
    memory has a base of another type, so its views point at the buffer.)
    """
    while not buffer.flags.owndata and type(buffer.base) is np.ndarray:
        buffer = buffer.base
    return sys.getrefcount(buffer)


def _refcounts_are_reliable() -> bool:
    gil = getattr(sys, "_is_gil_enabled", lambda: True)
    return hasattr(sys, "getrefcount") and gil()


class BufferPool:
    """Large host buffers for the chunked streams, reused once nothing refers to them.

    A fresh buffer of hundreds of MiB costs the kernel's zeroing of every page on
    first touch; a repeated transfer of the same size (a data batch, a checkpoint)
    reuses the buffer of the last one instead, once its array is gone. An array, and
    every view of it, refers to its buffer, so CPython's reference count tells when a
    buffer is free. Buffers under ``min_bytes`` are left to malloc; free buffers
    beyond ``max_bytes`` in all are dropped, and ``clear()`` drops every free one.
    """

    def __init__(self, max_bytes: int = 1 << 30, min_bytes: int = 8 << 20, allocate=None):
        self.max_bytes = max_bytes
        self.min_bytes = min_bytes
        self._allocate = allocate or _new_buffer  # the server passes pinned host memory on CUDA
        self._buffers: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._free_refs = _references_when_free(self._allocate) if _refcounts_are_reliable() else None

    def take(self, nbytes: int) -> np.ndarray:
        """A uint8 buffer of ``nbytes``: a free pooled one of that size, or a new one."""
        if self._free_refs is None or nbytes < self.min_bytes:
            return self._allocate(nbytes)
        with self._lock:
            buffer = _free_buffer(self._buffers, nbytes, self._free_refs)
            if buffer is None:
                buffer = self._allocate(nbytes)
                self._buffers.append(buffer)
                self._trim()
            return buffer

    def _trim(self):
        held = sum(b.nbytes for b in self._buffers)
        while held > self.max_bytes:
            victim = _free_buffer(self._buffers, None, self._free_refs)
            if victim is None:
                break
            self._buffers = [b for b in self._buffers if b is not victim]  # by identity: == on arrays is elementwise
            held -= victim.nbytes
            del victim

    def clear(self):
        """Drop every free buffer; the ones in use stay until their arrays are gone."""
        with self._lock:
            while (victim := _free_buffer(self._buffers, None, self._free_refs)) is not None:
                self._buffers = [b for b in self._buffers if b is not victim]  # by identity: == on arrays is elementwise
                del victim


def _new_buffer(nbytes: int) -> np.ndarray:
    return np.empty(nbytes, dtype=np.uint8)


def _free_buffer(buffers, nbytes, free_refs):
    """The first buffer of ``nbytes`` (None: any size) that only the pool refers to."""
    for buffer in buffers:
        if (nbytes is None or buffer.nbytes == nbytes) and _references(buffer) <= free_refs:
            return buffer
    return None
