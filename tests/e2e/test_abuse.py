"""Abuse: whatever a client sends, it gets a typed error, and the server and every other session go on untouched.

Each test attacks from one session; a fixture checks after it that a victim session's tensors, gradient and
stats are as they were, that the attacker's session holds what it held before (no handle leaked) and can
still work, and that the health service says SERVING.
"""

from __future__ import annotations

import gc
import os

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb
from tests.servers import start_server

DEVICE = os.environ.get("GRADWIRE_TEST_DEVICE", "cpu")  # cuda: the same checks on a GPU server

TYPED = {"INVALID_ARGUMENT", "NOT_FOUND", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "UNIMPLEMENTED"}
METHODS = {  # every RPC of the service, and whether its requests and replies stream
    "OpenSession": (False, False), "CloseSession": (False, False), "Run": (True, True),
    "Upload": (True, False), "Download": (False, True), "GetServerInfo": (False, False),
}


@pytest.fixture(scope="module")
def abuse_server():
    server = start_server(device=DEVICE)  # the default limits
    yield server
    server.stop(grace=0.5)


@pytest.fixture(scope="module")
def victim(abuse_server):
    with gw.connect(abuse_server.address, timeout=10, seed=1) as s:
        w = s.randn(4, 3, requires_grad=True)
        (w * w).sum().backward()
        s.victim = (w, w.detach().numpy(), w.grad.detach().numpy(), s.stats())
        yield s


@pytest.fixture
def attacker(abuse_server, victim):
    s = gw.connect(abuse_server.address, timeout=10)
    keep = s.tensor([1.0, 2.0])  # handle 1
    s.sync()
    held = server_side(abuse_server, s)
    before = set(held.tensors)
    yield s
    # the attacker's session: usable, and holding exactly what it held before
    assert (keep * 2).numpy().tolist() == [2.0, 4.0]
    gc.collect()
    s.sync()  # the SDK's releases of collected tensors go out first
    assert set(held.tensors) == before, f"handles left behind: {sorted(set(held.tensors) - before)}"
    assert held.failed == {}, f"failed handles left behind: {sorted(held.failed)}"
    # the victim: untouched
    w, values, grad, stats = victim.victim
    np.testing.assert_array_equal(w.detach().numpy(), values)
    np.testing.assert_array_equal(w.grad.numpy(), grad)
    assert victim.stats() == stats
    assert health(abuse_server.address) == health_pb2.HealthCheckResponse.SERVING
    s.close()


def server_side(server, session):
    return next(x for x in server.registry.sessions() if x.id == session.id)


def health(address):
    with grpc.insecure_channel(address) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="gradwire.v1.Gradwire"), timeout=10).status


def raw(session, method, payload, metadata=None):
    """Call ``method`` with raw bytes (a list of them for a request stream). The replies, or the RpcError."""
    streaming_in, streaming_out = METHODS[method]
    kind = {(False, False): "unary_unary", (False, True): "unary_stream", (True, False): "stream_unary", (True, True): "stream_stream"}
    call = getattr(session._channel, kind[streaming_in, streaming_out])(f"/gradwire.v1.Gradwire/{method}", request_serializer=None, response_deserializer=None)
    try:
        reply = call(iter(payload) if streaming_in else payload, metadata=session._metadata if metadata is None else metadata, timeout=10)
        return list(reply) if streaming_out else reply
    except grpc.RpcError as error:
        return error


def refused_with(result, code: str, words: str):
    assert isinstance(result, grpc.RpcError), f"accepted: {result!r}"
    assert result.code().name == code, (result.code(), result.details())
    assert words in result.details(), result.details()
    error = gw.errors.from_rpc_error(result)  # through the SDK: a gw error subclass, with the server's words
    assert type(error) is not gw.errors.InternalError and error.code == code and words in str(error)


def run(session, *commands) -> list:
    """One unsequenced batch (seq 0: run as it comes) of ``commands`` (dicts of Command fields) on a raw Run stream: the results."""
    batch = pb.Batch(seq=0, commands=[pb.Command(id=k, **c) for k, c in enumerate(commands, 1)])
    return next(session._stub.Run(iter([batch]), metadata=session._metadata, timeout=10)).results


def errors_of(results) -> list:
    return [(r.command, r.error.code, r.error.message) for r in results if r.HasField("error")]


def one_error(results, code: str, words: str, command=1):
    [(cid, got, message)] = errors_of(results)
    assert (cid, got) == (command, code), message
    assert words in message, message


def chunk(**fields) -> bytes:
    return pb.TensorChunk(**fields).SerializeToString()


def header(handle, dtype, shape, total, data=b"", **fields) -> bytes:
    return chunk(handle=handle, meta=pb.TensorMeta(dtype=dtype, shape=shape), total_bytes=total, data=data, **fields)


def release_all(session, *handles):
    assert errors_of(run(session, dict(release=pb.Release(handles=list(handles))))) == []


# --- malformed protobuf bytes, to every RPC --------------------------------------------------------

GARBAGE = [b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x08" + b"\x80" * 11]  # a bad tag, a short field, an endless varint


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("garbage", GARBAGE, ids=["bad-tag", "truncated", "endless-varint"])
def test_malformed_bytes_to_every_rpc(attacker, method, garbage):
    streaming_in, _ = METHODS[method]
    result = raw(attacker, method, [garbage] if streaming_in else garbage)
    words = "not a valid" if method != "Upload" else "upload"
    refused_with(result, "INVALID_ARGUMENT", words)


def test_a_malformed_batch_after_a_good_one_ends_only_that_stream(attacker):
    good = pb.Batch(seq=0, commands=[pb.Command(id=1, sync=pb.Sync())]).SerializeToString()
    refused_with(raw(attacker, "Run", [good, b"\xff\xff"]), "INVALID_ARGUMENT", "not a valid gradwire.v1.Batch")


# --- commands the engine cannot run ------------------------------------------------------------------


def test_unknown_op_and_factory_and_inplace(attacker):
    one_error(run(attacker, dict(op=pb.Op(name="frobnicate", inputs=[pb.Operand(f=1.0)], outputs=[50]))), "INVALID_ARGUMENT", "unknown op 'frobnicate'")
    one_error(run(attacker, dict(factory=pb.Factory(name="eye", handle=50))), "INVALID_ARGUMENT", "unknown factory 'eye'")
    release_all(attacker, 50)
    results = run(attacker, dict(factory=pb.Factory(name="zeros", handle=51, params={"size": pb.Param(ints=pb.IntList(values=[2]))})),
                  dict(inplace=pb.Inplace(target=51, op="explode", other=pb.Operand(f=1.0))))
    one_error(results, "INVALID_ARGUMENT", "explode", command=2)
    release_all(attacker, 51)


def test_a_command_with_no_kind_and_an_empty_operand(attacker):
    one_error(run(attacker, dict()), "INVALID_ARGUMENT", "has no kind")
    one_error(run(attacker, dict(op=pb.Op(name="neg", inputs=[pb.Operand()], outputs=[52]))), "INVALID_ARGUMENT", "empty operand")
    release_all(attacker, 52)


def test_wrong_arity(attacker):
    x = pb.Operand(handle=1)  # the attacker's own tensor
    one_error(run(attacker, dict(op=pb.Op(name="add", inputs=[x], outputs=[53]))), "INVALID_ARGUMENT", "add() takes 2 input(s) but 1 were given")
    one_error(run(attacker, dict(op=pb.Op(name="neg", inputs=[x, x, x], outputs=[54]))), "INVALID_ARGUMENT", "neg() takes 1 input(s) but 3 were given")
    one_error(run(attacker, dict(op=pb.Op(name="max", inputs=[x], params={"dim": pb.Param(i=0)}, outputs=[55]))), "INVALID_ARGUMENT", "max gives 2 output(s) but 1 handle(s)")
    release_all(attacker, 53, 54, 55)


def test_tensor_inputs_packed_alongside_operands_or_naming_unknown_handles(attacker):
    # the packed handles are a tensor-only op's inputs: the two forms together are refused, not merged
    one_error(run(attacker, dict(op=pb.Op(name="add", inputs=[pb.Operand(f=1.0)], tensor_inputs=[1], outputs=[63]))),
              "INVALID_ARGUMENT", "add: an op's inputs go in inputs or in tensor_inputs, not in both")
    one_error(run(attacker, dict(op=pb.Op(name="neg", tensor_inputs=[987654], outputs=[64]))), "NOT_FOUND", "unknown tensor handle 987654")
    one_error(run(attacker, dict(op=pb.Op(name="add", tensor_inputs=[1], outputs=[65]))), "INVALID_ARGUMENT", "add() takes 2 input(s) but 1 were given")
    results = run(attacker, dict(op=pb.Op(name="mul", tensor_inputs=[1, 1], outputs=[66])), dict(fetch=pb.Fetch(handle=66)))
    assert not any(r.HasField("error") for r in results), results
    release_all(attacker, 63, 64, 65, 66)


def test_a_failed_ops_error_names_its_inputs_in_either_form(attacker):
    shape = {"shape": pb.Param(ints=pb.IntList(values=[3]))}
    packed = run(attacker, dict(op=pb.Op(name="reshape", tensor_inputs=[1], params=shape, outputs=[67])))
    operands = run(attacker, dict(op=pb.Op(name="reshape", inputs=[pb.Operand(handle=1)], params=shape, outputs=[68])))
    one_error(packed, "INVALID_ARGUMENT", "[inputs: float32(2,)]")
    assert errors_of(packed) == errors_of(operands)
    one_error(run(attacker, dict(op=pb.Op(name="matmul", inputs=[pb.Operand(handle=1), pb.Operand(f=2.0)], outputs=[69]))),
              "INVALID_ARGUMENT", "[inputs: float32(2,), 2.0]")
    release_all(attacker, 67, 68, 69)


def test_dropout_with_a_number_no_input_or_too_many(attacker):
    x = pb.Operand(handle=1)
    one_error(run(attacker, dict(op=pb.Op(name="dropout", inputs=[pb.Operand(f=1.0)], outputs=[60]))), "INVALID_ARGUMENT", "must be Tensor")
    one_error(run(attacker, dict(op=pb.Op(name="dropout", outputs=[61]))), "INVALID_ARGUMENT", "dropout()")
    one_error(run(attacker, dict(op=pb.Op(name="dropout", inputs=[x, x, x], outputs=[62]))), "INVALID_ARGUMENT", "dropout() takes 2 input(s) but 3 were given")
    release_all(attacker, 60, 61, 62)


@pytest.mark.parametrize("dtype", ["float33", "complex1024", "object", "U8", "<f4 ", "float32\x00"])
def test_wrong_dtype_strings(attacker, dtype):
    one_error(run(attacker, dict(put=pb.Put(handle=56, tensor=pb.TensorData(dtype=dtype, shape=[1], data=b"\0" * 4)))), "INVALID_ARGUMENT", "")
    one_error(run(attacker, dict(factory=pb.Factory(name="ones", handle=57, params={"size": pb.Param(ints=pb.IntList(values=[1])), "dtype": pb.Param(s=dtype)}))), "INVALID_ARGUMENT", "")
    one_error(run(attacker, dict(op=pb.Op(name="to", inputs=[pb.Operand(handle=1)], params={"dtype": pb.Param(s=dtype)}, outputs=[58]))), "INVALID_ARGUMENT", "")
    refused_with(raw(attacker, "Upload", [header(59, dtype, [1], 4, data=b"\0" * 4)]), "INVALID_ARGUMENT", "")
    release_all(attacker, 56, 57, 58)


def test_params_of_the_wrong_kind_are_invalid_not_internal(attacker):
    """A string where a number goes: the op's size rules (the quota's look ahead) and factories must not trip on it."""
    one_error(run(attacker, dict(op=pb.Op(name="topk", inputs=[pb.Operand(handle=1)], params={"k": pb.Param(s="a")}, outputs=[66, 67]))),
              "INVALID_ARGUMENT", "topk")
    one_error(run(attacker, dict(factory=pb.Factory(name="full", handle=68, params={"size": pb.Param(ints=pb.IntList(values=[2])),
                                                                                   "fill_value": pb.Param(s="a")}))), "INVALID_ARGUMENT", "fill_value")
    release_all(attacker, 66, 67, 68)


def test_odd_index_keys_and_view_params_are_answered_not_internal(attacker):
    """A 0-d mask (a new dim, as PyTorch's: it was a server error), and the strided views' bad params."""
    x = pb.Operand(handle=1)
    ints = lambda *values: pb.Param(ints=pb.IntList(values=list(values)))  # noqa: E731
    results = run(attacker, dict(op=pb.Op(name="any", inputs=[x], outputs=[90])),
                  dict(op=pb.Op(name="index", inputs=[x], params={"key": pb.Param(key=pb.IndexKey(parts=[pb.IndexPart(handle=90)]))}, outputs=[91])),
                  dict(fetch=pb.Fetch(handle=91)))
    assert errors_of(results) == []
    one_error(run(attacker, dict(op=pb.Op(name="diagonal", inputs=[x], params={"offset": pb.Param(i=0), "dim1": pb.Param(i=0), "dim2": pb.Param(i=1)},
                                          outputs=[92]))), "INVALID_ARGUMENT", "diagonal")
    one_error(run(attacker, dict(op=pb.Op(name="unfold", inputs=[x], params={"dimension": pb.Param(i=0), "size": pb.Param(i=1), "step": pb.Param(i=0)},
                                          outputs=[93]))), "INVALID_ARGUMENT", "step is 0 but must be > 0")
    one_error(run(attacker, dict(op=pb.Op(name="as_strided", inputs=[x], params={"size": ints(3), "stride": ints(1), "storage_offset": pb.Param(i=0)},
                                          outputs=[94]))), "INVALID_ARGUMENT", "out of bounds for storage")
    one_error(run(attacker, dict(op=pb.Op(name="as_strided", inputs=[x], params={"size": ints(2), "stride": ints(-1)}, outputs=[95]))),
              "INVALID_ARGUMENT", "Negative strides")
    one_error(run(attacker, dict(op=pb.Op(name="view_dtype", inputs=[x], params={"dtype": pb.Param(s="float33")}, outputs=[96]))), "INVALID_ARGUMENT", "")
    release_all(attacker, 90, 91, 92, 93, 94, 95, 96)


# --- shapes and byte lengths --------------------------------------------------------------------------


def test_negative_dimensions(attacker):
    one_error(run(attacker, dict(put=pb.Put(handle=60, tensor=pb.TensorData(dtype="float32", shape=[-1], data=b"")))), "INVALID_ARGUMENT", "negative dimension")
    one_error(run(attacker, dict(factory=pb.Factory(name="zeros", handle=61, params={"size": pb.Param(ints=pb.IntList(values=[2, -5]))}))), "INVALID_ARGUMENT", "negative dimension")
    one_error(run(attacker, dict(op=pb.Op(name="reshape", inputs=[pb.Operand(handle=1)], params={"shape": pb.Param(ints=pb.IntList(values=[-2, -1]))}, outputs=[62]))), "INVALID_ARGUMENT", "reshape")
    refused_with(raw(attacker, "Upload", [header(63, "float32", [4, -3], 0)]), "INVALID_ARGUMENT", "negative dimension")
    release_all(attacker, 60, 61, 62)


def test_enormous_dimensions_are_refused_before_any_allocation(attacker):
    huge = [1 << 40, 1 << 40]
    one_error(run(attacker, dict(put=pb.Put(handle=64, tensor=pb.TensorData(dtype="float32", shape=huge, data=b"")))), "RESOURCE_EXHAUSTED", "max_tensor_elements limit")
    for name in ("zeros", "ones", "rand", "randn", "full"):
        params = {"size": pb.Param(ints=pb.IntList(values=huge)), "fill_value": pb.Param(f=1.0)}
        one_error(run(attacker, dict(factory=pb.Factory(name=name, handle=65, params=params))), "RESOURCE_EXHAUSTED", f"a {name} tensor of {1 << 80} elements")
    one_error(run(attacker, dict(factory=pb.Factory(name="arange", handle=66, params={"start": pb.Param(i=0), "end": pb.Param(i=1 << 62)}))), "RESOURCE_EXHAUSTED", "max_tensor_elements limit")
    one_error(run(attacker, dict(op=pb.Op(name="expand", inputs=[pb.Operand(handle=1)], params={"sizes": pb.Param(ints=pb.IntList(values=[1 << 40, 2]))}, outputs=[67]))), "RESOURCE_EXHAUSTED", "the output of expand")
    refused_with(raw(attacker, "Upload", [header(68, "float32", huge, 0)]), "RESOURCE_EXHAUSTED", "max_tensor_elements limit")
    release_all(attacker, 64, 65, 66, 67)


@pytest.mark.parametrize("length", [0, 3, 7, 9, 1 << 10])
def test_byte_lengths_that_do_not_match_shape_and_dtype(attacker, length):
    one_error(run(attacker, dict(put=pb.Put(handle=69, tensor=pb.TensorData(dtype="float64", shape=[1], data=b"\1" * length)))), "INVALID_ARGUMENT", "bytes do not match dtype float64 and shape [1]")
    refused_with(raw(attacker, "Upload", [header(70, "float64", [1], length, data=b"\1" * length)]), "INVALID_ARGUMENT", "does not match dtype float64")
    release_all(attacker, 69)


# --- chunked uploads ------------------------------------------------------------------------------------------


def test_upload_chunks_out_of_order_missing_or_too_many(attacker):
    first, second = b"\1" * 16, b"\2" * 16
    refused_with(raw(attacker, "Upload", [header(71, "float32", [8], 32, data=first), chunk(offset=24, data=second)]), "INVALID_ARGUMENT", "chunk out of order: expected offset 16, got 24")
    refused_with(raw(attacker, "Upload", [header(71, "float32", [8], 32, data=first)]), "INVALID_ARGUMENT", "chunks missing: received 16 of 32 bytes")
    refused_with(raw(attacker, "Upload", [header(71, "float32", [8], 32, data=first), chunk(offset=16, data=second), chunk(offset=32, data=second)]), "INVALID_ARGUMENT", "48 bytes sent for a tensor of 32 bytes")
    refused_with(raw(attacker, "Upload", [chunk(offset=0, data=first)]), "INVALID_ARGUMENT", "the first chunk must carry the header")
    refused_with(raw(attacker, "Upload", []), "INVALID_ARGUMENT", "the first chunk must carry the header")
    # and a good upload after them all binds, and can be released
    assert not isinstance(raw(attacker, "Upload", [header(71, "float32", [8], 32, data=first), chunk(offset=16, data=second)]), grpc.RpcError)
    release_all(attacker, 71)


# --- handles ------------------------------------------------------------------------------------------------------


def test_handles_never_issued(attacker):
    one_error(run(attacker, dict(op=pb.Op(name="neg", inputs=[pb.Operand(handle=10**12)], outputs=[72]))), "NOT_FOUND", "unknown tensor handle 1000000000000")
    one_error(run(attacker, dict(fetch=pb.Fetch(handle=999))), "NOT_FOUND", "unknown tensor handle 999")
    one_error(run(attacker, dict(backward=pb.Backward(root=999))), "NOT_FOUND", "unknown tensor handle 999")
    one_error(run(attacker, dict(set_grad=pb.SetGrad(tensor=1, value=998))), "NOT_FOUND", "unknown tensor handle 998")
    refused_with(raw(attacker, "Download", pb.DownloadRequest(handle=997).SerializeToString()), "NOT_FOUND", "unknown tensor handle 997")
    one_error(run(attacker, dict(release=pb.Release(handles=[996]))), "NOT_FOUND", "release of unknown tensor handle(s) [996]")
    release_all(attacker, 72)  # it failed, and the failure is released like a tensor


def test_reserved_and_reused_handles(attacker):
    one_error(run(attacker, dict(op=pb.Op(name="neg", inputs=[pb.Operand(handle=1)], outputs=[0]))), "INVALID_ARGUMENT", "handle 0 is reserved")
    one_error(run(attacker, dict(op=pb.Op(name="neg", inputs=[pb.Operand(handle=1)], outputs=[1]))), "INVALID_ARGUMENT", "handle 1 is already in use")


def test_releasing_a_handle_twice(attacker):
    results = run(attacker, dict(op=pb.Op(name="neg", inputs=[pb.Operand(handle=1)], outputs=[73])), dict(release=pb.Release(handles=[73])), dict(release=pb.Release(handles=[73])))
    one_error(results, "NOT_FOUND", "release of unknown tensor handle(s) [73]", command=3)


def test_another_sessions_handles_are_out_of_reach(abuse_server, attacker, victim):
    """Handles are per session: the victim's handle numbers name the attacker's own tensors, or nothing."""
    theirs = sorted(server_side(abuse_server, victim).tensors)
    results = run(attacker, *[dict(fetch=pb.Fetch(handle=h)) for h in theirs])
    for handle, result in zip(theirs, results):
        if handle == 1:  # the attacker's own first tensor
            assert result.tensor.data == np.array([1.0, 2.0], dtype=np.float32).tobytes()
        else:
            assert result.error.code == "NOT_FOUND" and f"unknown tensor handle {handle}" in result.error.message


# --- NaN and Inf are data -------------------------------------------------------------------------------------


def test_nan_and_inf_round_trip_and_flow_through_ops(attacker):
    values = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5], dtype=np.float32)
    x = attacker.tensor(values, requires_grad=True)
    back = x.detach().numpy()
    assert np.array_equal(back.view(np.uint32), values.view(np.uint32))  # bit for bit, the sign of -0.0 too
    y = (x * 2).sum()
    assert np.isnan(y.item())
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(6, 2.0, dtype=np.float32))
    assert np.array_equal(attacker.tensor([0.0, 1.0]).log().numpy(), [-np.inf, 0.0])
    big = np.full(300_000, np.nan, dtype=np.float32)  # on the chunked streams too
    big[::3] = np.inf
    assert np.array_equal(attacker.tensor(big).numpy(), big, equal_nan=True)
    del x, y, back
