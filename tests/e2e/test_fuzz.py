"""Property-based fuzz (hypothesis): random command batches, and random bytes to every RPC.

Properties, for every example: the server answers (it never crashes and no stream dies for a well-formed
batch); every refusal is a typed status or a typed error result (never UNKNOWN or INTERNAL, and the server
logs no internal error); once everything is released or the session closed, no handle, failure record or
byte is left behind; another session's tensors and stats are untouched; health says SERVING throughout.

Bounded: ``GRADWIRE_FUZZ_EXAMPLES`` examples per property (default 800, about 20 s on 2 cores), derandomized so a CI run is
reproducible; set ``GRADWIRE_FUZZ_RANDOM=1`` to explore new examples.
"""

from __future__ import annotations

import logging
import math
import os
import uuid

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradwire as gw
from gradwire.v1 import gradwire_pb2 as pb
from gradwire.v1 import gradwire_pb2_grpc as pb_grpc
from gradwire.wire import SESSION_HEADER, TOKEN_HEADER
from tests.servers import start_server
from gradwire_server.engine import OPS
from gradwire_server.quotas import held_bytes

DEVICE = os.environ.get("GRADWIRE_TEST_DEVICE", "cpu")  # cuda: the same checks on a GPU server

EXAMPLES = int(os.environ.get("GRADWIRE_FUZZ_EXAMPLES", "800"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("GRADWIRE_FUZZ_RANDOM"), database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
UNTYPED = {"UNKNOWN", "INTERNAL", "DATA_LOSS"}
METHODS = {
    "OpenSession": "unary_unary", "CloseSession": "unary_unary", "Run": "stream_stream",
    "Upload": "stream_unary", "Download": "unary_stream", "GetServerInfo": "unary_unary",
}
TALLY = {"batches": 0, "commands": 0, "ok": 0, "errors": {}, "raw_calls": 0, "raw_codes": {}}


class _Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzz_server():
    server = start_server(device=DEVICE, max_session_bytes=16 << 20, max_tensor_elements=1 << 20, max_batch_commands=64, max_sessions=16)
    errors = _Errors()
    logging.getLogger("gradwire.server").addHandler(errors)
    server.logged_errors = errors.records
    yield server
    logging.getLogger("gradwire.server").removeHandler(errors)
    server.stop(grace=0.5)
    print(f"\nfuzz tally: {TALLY}")


@pytest.fixture(scope="module")
def bystander(fuzz_server):
    with gw.connect(fuzz_server.address, timeout=10, seed=3) as s:
        w = s.randn(3, 2, requires_grad=True)
        (w.exp() * w).sum().backward()
        s.snapshot = (w, w.detach().numpy(), w.grad.detach().numpy(), s.stats())
        yield s


@pytest.fixture(scope="module")
def channel(fuzz_server):
    with grpc.insecure_channel(fuzz_server.address) as ch:
        yield ch


def serving(channel) -> bool:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="gradwire.v1.Gradwire"), timeout=10)
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def open_raw(channel):
    """A session opened by hand: (metadata, id)."""
    sid = "fuzz-" + uuid.uuid4().hex
    token = pb_grpc.GradwireStub(channel).OpenSession(pb.OpenSessionRequest(session_id=sid, seed=0), timeout=10).token
    return ((SESSION_HEADER, sid), (TOKEN_HEADER, token)), sid


def server_side(server, sid):
    return next((x for x in server.registry.sessions() if x.id == sid), None)


def untouched(bystander):
    w, values, grad, stats = bystander.snapshot
    np.testing.assert_array_equal(w.detach().numpy(), values)
    np.testing.assert_array_equal(w.grad.numpy(), grad)
    assert bystander.stats() == stats


# --- strategies: commands built from the schema's messages, valid and invalid mixed -----------------------

HANDLE = st.integers(1, 6) | st.integers(0, 10) | st.sampled_from([2**63, 2**64 - 1])
SMALL_DIM = st.integers(0, 4)
ODD_DIM = st.sampled_from([-1, -(2**40), 2**31, 2**40, 2**62])
SHAPE = st.lists(SMALL_DIM, max_size=3) | st.lists(SMALL_DIM | ODD_DIM, max_size=4)
DTYPE = (st.sampled_from(["float32", "float64", "int64", "int32", "bool", "float16", "uint8", "int8", "int16"])
         | st.sampled_from(["float33", "", "object", "U4", "complex256", "uint16", "complex64", "complex128"]))
FLOAT = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, 1.0, -1.0, 0.5])
INT = st.integers(-3, 4) | st.sampled_from([2**62, -(2**62), 2**31])
NAME = st.sampled_from(sorted(OPS)) | st.sampled_from(["frobnicate", "", "__class__", "add_"])
PARAM_NAME = st.sampled_from(["dim", "keepdim", "shape", "dims", "dim0", "dim1", "sizes", "dtype", "min", "max", "key", "size", "fill_value", "start", "end", "step", "bogus"])


def index_part():
    return st.one_of(
        st.builds(pb.IndexPart, i=INT),
        st.builds(pb.IndexPart, slice=st.builds(pb.Slice, start=INT, stop=INT, step=INT)),
        st.just(pb.IndexPart(none=True)), st.just(pb.IndexPart(ellipsis=True)), st.builds(pb.IndexPart, handle=HANDLE),
    )


PARAM = st.one_of(
    st.builds(pb.Param, i=INT), st.builds(pb.Param, f=FLOAT), st.builds(pb.Param, b=st.booleans()), st.builds(pb.Param, s=DTYPE),
    st.builds(lambda v: pb.Param(ints=pb.IntList(values=v)), st.lists(INT | ODD_DIM, max_size=4)), st.just(pb.Param(none=True)),
    st.builds(lambda parts: pb.Param(key=pb.IndexKey(parts=parts)), st.lists(index_part(), max_size=3)),
)
PARAMS = st.dictionaries(PARAM_NAME, PARAM, max_size=3)
OPERAND = st.one_of(st.builds(pb.Operand, handle=HANDLE), st.builds(pb.Operand, f=FLOAT), st.builds(pb.Operand, i=INT), st.builds(pb.Operand, b=st.booleans()), st.just(pb.Operand()))


@st.composite
def tensor_data(draw):
    dtype, shape = draw(DTYPE), draw(SHAPE)
    try:
        size = np.dtype(dtype).itemsize * math.prod(shape) if all(n >= 0 for n in shape) and math.prod(shape) < 64 else None
    except TypeError:
        size = None
    exact = size is not None and draw(st.booleans() | st.just(True))
    data = draw(st.binary(min_size=size, max_size=size)) if exact else draw(st.binary(max_size=40))
    return pb.TensorData(dtype=dtype, shape=shape, data=data)


COMMAND = st.one_of(
    st.builds(lambda h, t, r: {"put": pb.Put(handle=h, tensor=t, requires_grad=r)}, HANDLE, tensor_data(), st.booleans()),
    st.builds(lambda n, h, p, r: {"factory": pb.Factory(name=n, handle=h, params=p, requires_grad=r)},
              st.sampled_from(["zeros", "ones", "rand", "randn", "full", "arange", "eye"]), HANDLE, PARAMS, st.booleans()),
    st.builds(lambda n, i, p, o, g: {"op": pb.Op(name=n, inputs=i, params=p, outputs=o, no_grad=g)}, NAME, st.lists(OPERAND, max_size=3), PARAMS, st.lists(HANDLE, max_size=2), st.booleans()),
    # an op into a tensor (x.relu_(), x[k] = v under autograd): input 0 the target, mostly
    st.builds(lambda n, h, i, p, o, g, other: {"op": pb.Op(name=n, inputs=[pb.Operand(handle=h)] + i, params=p, outputs=o, no_grad=g, into=other or h)},
              NAME | st.sampled_from(["index_put", "copy_slices", "relu", "mul", "add", "clamp", "masked_fill", "dropout"]), HANDLE,
              st.lists(OPERAND, max_size=2), PARAMS, st.lists(HANDLE, max_size=1), st.booleans(), st.just(0) | HANDLE),
    st.builds(lambda r, g, k: {"backward": pb.Backward(root=r, gradient=g, retain_graph=k)}, HANDLE, HANDLE, st.booleans()),
    st.builds(lambda o, i, g, k, u, r: {"grad": pb.Grad(outputs=o, inputs=i, grad_outputs=g, retain_graph=k, allow_unused=u, results=r)},
              st.lists(HANDLE, max_size=2), st.lists(HANDLE, max_size=2), st.lists(HANDLE, max_size=2), st.booleans(), st.booleans(), st.lists(HANDLE, max_size=2)),
    # passes that stop at hooked tensors, and what goes on with them (or ends them)
    st.builds(lambda r, k, t, g: {"backward": pb.Backward(root=r, retain_graph=k, hooked=t, hook_grads=g)},
              HANDLE, st.booleans(), st.lists(HANDLE, max_size=2), st.lists(HANDLE, max_size=2)),
    st.builds(lambda o, i, u, r, t, g: {"grad": pb.Grad(outputs=o, inputs=i, allow_unused=u, results=r, hooked=t, hook_grads=g)},
              st.lists(HANDLE, max_size=1), st.lists(HANDLE, max_size=1), st.booleans(), st.lists(HANDLE, max_size=1),
              st.lists(HANDLE, max_size=2), st.lists(HANDLE, max_size=2)),
    st.builds(lambda g, a: {"resume": pb.Resume(gradient=g, abort=a)}, st.just(0) | HANDLE, st.booleans()),
    st.builds(lambda h: {"release": pb.Release(handles=h)}, st.lists(HANDLE, max_size=3)),
    st.builds(lambda h, m: {"fetch": pb.Fetch(handle=h, meta_only=m)}, HANDLE, st.booleans()),
    st.builds(lambda t, o, x, g: {"inplace": pb.Inplace(target=t, op=o, other=x, no_grad=g)}, HANDLE, st.sampled_from(["add", "sub", "mul", "div", "zero", "copy", "pow", "setitem"]), OPERAND, st.booleans()),
    st.builds(lambda t, x, g, k: {"inplace": pb.Inplace(target=t, op="setitem", other=x, no_grad=g, key=k)}, HANDLE, OPERAND, st.booleans(), PARAM),
    st.builds(lambda t: {"retain_grad": pb.RetainGrad(tensor=t)}, HANDLE),
    st.builds(lambda p, v, c, m, n, e, r: {"clip_grad": pb.ClipGrad(params=p, by_value=v, clip_value=c, max_norm=m, norm_type=n, error_if_nonfinite=e, result=r)},
              st.lists(HANDLE, max_size=3), st.booleans(), FLOAT, FLOAT, FLOAT, st.booleans(), HANDLE),
    st.builds(lambda t, r: {"grad_of": pb.GradOf(tensor=t, result=r)}, HANDLE, HANDLE),
    st.builds(lambda t, v: {"set_grad": pb.SetGrad(tensor=t, value=v)}, HANDLE, HANDLE),
    st.builds(lambda t, r: {"set_requires_grad": pb.SetRequiresGrad(tensor=t, requires_grad=r)}, HANDLE, st.booleans()),
    st.builds(lambda s, r, v: {"alias": pb.Alias(source=s, result=r, shares_version=v)}, HANDLE, HANDLE, st.booleans()),
    st.builds(lambda s, g: {"manual_seed": pb.ManualSeed(seed=s, generator=g)}, INT, st.just(0) | HANDLE),
    # generators: made, seeded, drawn from (a factory's "generator" param), their state read and written back, or garbage
    st.builds(lambda h, s: {"generator_create": pb.GeneratorCreate(generator=h, seed=s)}, HANDLE, INT),
    st.builds(lambda g, r: {"get_rng_state": pb.GetRngState(generator=g, result=r)}, st.just(0) | HANDLE, HANDLE),
    st.builds(lambda g, t: {"set_rng_state": pb.SetRngState(generator=g, state=t)}, st.just(0) | HANDLE, HANDLE),
    st.builds(lambda n, h, g: {"factory": pb.Factory(name=n, handle=h, params={"size": pb.Param(ints=pb.IntList(values=[2, 3])),
                                                                                "generator": pb.Param(i=g)})},
              st.sampled_from(["rand", "randn"]), HANDLE, INT),
    # several roots, inputs= and anomaly detection
    st.builds(lambda r, m, g, i, a: {"backward": pb.Backward(root=r, more_roots=m, more_gradients=g, inputs=i, detect_anomaly=a)},
              HANDLE, st.lists(HANDLE, max_size=2), st.lists(HANDLE, max_size=2), st.lists(HANDLE, max_size=2), st.booleans()),
    st.just({"stats": pb.StatsRequest()}), st.just({"sync": pb.Sync()}), st.just({}),
    st.builds(lambda h, k: {"optimizer_create": pb.OptimizerCreate(optimizer=h, kind=k)}, HANDLE, st.sampled_from(["sgd", "adam", "rmsprop", "adagrad", "rprop", "adadelta", "asgd", "lbfgs", ""])),
    st.builds(lambda h, groups: {"optimizer_step": pb.OptimizerStep(optimizer=h, groups=groups)}, HANDLE, st.lists(st.builds(
        pb.OptimizerGroup, params=st.lists(HANDLE, max_size=3), lr=FLOAT, weight_decay=FLOAT, momentum=FLOAT, dampening=FLOAT,
        nesterov=st.booleans(), beta1=FLOAT, beta2=FLOAT, eps=FLOAT, amsgrad=st.booleans(), maximize=st.booleans(), alpha=FLOAT,
        centered=st.booleans(), lr_decay=FLOAT, initial_accumulator_value=FLOAT, rho=FLOAT, etaminus=FLOAT, etaplus=FLOAT,
        step_size_min=FLOAT, step_size_max=FLOAT, lambd=FLOAT, t0=FLOAT), max_size=2)),
    st.builds(lambda h, slots: {"optimizer_get_state": pb.OptimizerGetState(optimizer=h, slots=slots)}, HANDLE,
              st.lists(st.builds(pb.OptimizerStateEntry, param=HANDLE, name=st.sampled_from(["exp_avg", "momentum_buffer", "step", "x"]), handle=HANDLE), max_size=2)),
    st.builds(lambda h, entries: {"optimizer_set_state": pb.OptimizerSetState(optimizer=h, entries=entries)}, HANDLE,
              st.lists(st.builds(pb.OptimizerStateEntry, param=HANDLE, name=st.sampled_from(["exp_avg", "exp_avg_sq", "momentum_buffer", "step", "x"]),
                                 handle=HANDLE) | st.builds(pb.OptimizerStateEntry, param=HANDLE, name=st.sampled_from(["step", "exp_avg"]), number=FLOAT), max_size=3)),
    st.builds(lambda h: {"graph": pb.GraphRequest(root=h)}, HANDLE),
    # the profiler: started, ranges begun and ended (by any id, some never begun), stopped with a handle for many events
    st.builds(lambda r, d: {"profile_start": pb.ProfileStart(record_shapes=r, device_time=d)}, st.booleans(), st.booleans()),
    st.builds(lambda i, n, e: {"profile_range": pb.ProfileRange(id=i, name=n, end=e)}, HANDLE, st.text(max_size=8), st.booleans()),
    st.builds(lambda h: {"profile_stop": pb.ProfileStop(result=h)}, st.just(0) | HANDLE),
)
VALID_PUT = st.builds(  # a few well-formed float tensors first, so more of the random commands have inputs to work on
    lambda h, shape, r, data: {"put": pb.Put(handle=h, tensor=pb.TensorData(dtype="float32", shape=shape, data=np.asarray(data, np.float32).tobytes()), requires_grad=r)},
    st.integers(1, 3), st.just([]), st.booleans(), st.floats(width=32),
) | st.builds(
    lambda h, r, data: {"put": pb.Put(handle=h, tensor=pb.TensorData(dtype="float32", shape=[2, 3], data=np.asarray(data, np.float32).tobytes()), requires_grad=r)},
    st.integers(1, 3), st.booleans(), st.lists(st.floats(width=32), min_size=6, max_size=6),
)
BATCH = st.builds(lambda a, b: a + b, st.lists(VALID_PUT, max_size=3), st.lists(COMMAND, min_size=1, max_size=24))


@FUZZ
@given(commands=BATCH)
def test_random_command_batches(fuzz_server, bystander, channel, commands):
    fuzz_server.logged_errors.clear()  # one failing example must not fail the next
    metadata, sid = open_raw(channel)
    try:
        batch = pb.Batch(seq=1, commands=[pb.Command(id=k, **c) for k, c in enumerate(commands, 1)])
        stub = pb_grpc.GradwireStub(channel)
        replies = list(stub.Run(iter([batch]), metadata=metadata, timeout=30))  # a well-formed batch never ends the stream
        assert [r.seq for r in replies] == [1]
        TALLY["batches"] += 1
        TALLY["commands"] += len(commands)
        answered = set()
        for result in replies[0].results:
            answered.add(result.command)
            if result.HasField("error"):
                assert result.error.code not in UNTYPED, result.error
                TALLY["errors"][result.error.code] = TALLY["errors"].get(result.error.code, 0) + 1
        TALLY["ok"] += len(commands) - sum(r.HasField("error") for r in replies[0].results)
        assert answered <= set(range(1, len(commands) + 1))
        assert not fuzz_server.logged_errors, fuzz_server.logged_errors[0].getMessage()

        # release everything the batch bound: nothing is left, not even a failure record or a byte
        session = server_side(fuzz_server, sid)
        with session.lock:
            handles = sorted(set(session.tensors) | set(session.failed) | set(session.optimizers))
        cleanup = pb.Batch(seq=2, commands=[pb.Command(id=1, release=pb.Release(handles=handles)), pb.Command(id=2, stats=pb.StatsRequest())])
        [reply] = list(stub.Run(iter([cleanup]), metadata=metadata, timeout=30))
        assert [r.HasField("error") for r in reply.results] == [False], reply
        assert reply.results[0].stats.tensors == 0 and reply.results[0].stats.bytes == 0
        with session.lock:
            assert session.tensors == {} and session.failed == {} and session.optimizers == {} and held_bytes(session) == 0
        assert serving(channel)
    finally:
        stub.CloseSession(pb.CloseSessionRequest(), metadata=metadata, timeout=10)


@FUZZ
@given(method=st.sampled_from(sorted(METHODS)), messages=st.lists(st.binary(max_size=64), min_size=1, max_size=3))
def test_random_bytes_to_every_rpc(fuzz_server, bystander, channel, method, messages):
    fuzz_server.logged_errors.clear()
    before = {s.id for s in fuzz_server.registry.sessions()}
    metadata, sid = open_raw(channel)
    call = getattr(channel, METHODS[method])(f"/gradwire.v1.Gradwire/{method}", request_serializer=None, response_deserializer=None)
    try:
        if METHODS[method].startswith("stream"):
            reply = call(iter(messages), metadata=metadata, timeout=30)
        else:
            reply = call(messages[0], metadata=metadata, timeout=30)
        if METHODS[method].endswith("stream"):
            list(reply)
        code = "OK"
    except grpc.RpcError as error:
        code = error.code().name
        assert code not in UNTYPED, (method, messages, error.details())
        assert not isinstance(gw.errors.from_rpc_error(error), gw.errors.InternalError)
    TALLY["raw_calls"] += 1
    TALLY["raw_codes"][f"{method} {code}"] = TALLY["raw_codes"].get(f"{method} {code}", 0) + 1
    assert not fuzz_server.logged_errors, fuzz_server.logged_errors[0].getMessage()
    assert serving(channel)
    # close whatever it opened (random bytes can be a valid OpenSession) and the session it ran in
    for session in fuzz_server.registry.sessions():
        if session.id not in before:
            fuzz_server.registry.end(session, "closed by the fuzz test")
    assert {s.id for s in fuzz_server.registry.sessions()} == before


def test_after_the_fuzz_nothing_is_left_and_the_bystander_is_untouched(fuzz_server, bystander, channel):
    """Runs after the two properties (file order): the server holds the bystander's session alone."""
    untouched(bystander)
    [only] = fuzz_server.registry.sessions()
    assert only.id == bystander.id
    assert serving(channel)
    assert TALLY["batches"] == EXAMPLES and TALLY["raw_calls"] == EXAMPLES
