"""Run a batch of commands against a session's engine, in order, one result per answering command.

One handler per command kind, in one table. A failing command never stops the
batch: its error is returned tagged with the command id, and the handles it
would have filled are marked failed, so later commands that use them fail with
a reason that names the first failure.
"""

from __future__ import annotations

import logging
from typing import NamedTuple, Sequence

import numpy as np

from gradwire.v1 import gradwire_pb2 as pb
from gradwire.wire import array_from_bytes, decode_param

from .engine import DROPPED, AnomalyError, Tensor, parse_dtype, set_grad_enabled
from .engine.dtypes import DEFAULT_FLOAT, grad_mismatch, parse_default_float
from .engine import graphview, optim
from .engine.profiler import Profiler
from .errors import DependencyFailed, InvalidRequest
from .sessions import GradAlias, Session
from .status import describe, status_of

log = logging.getLogger("gradwire.server")


# protocol extensions the handlers understand (ServerInfo.features): an SDK uses each only where the server names it
FEATURES = ("scaled_inplace",)  # Inplace.scale


def run_batch(session: Session, batch: pb.Batch, inline_bytes: int):
    """Yield the batch's replies: at most one early (partial) answer to a fetch, then the full reply.

    The early answer lets ``loss.item()`` return once the loss exists, while the server
    goes on with the backward pass and the update the client queued before it.
    """
    with session.engine.stream, session.engine.backend.quiet():  # the session's own CUDA stream; nothing on NumPy
        yield from _run(session, batch, inline_bytes)


def _run(session: Session, batch: pb.Batch, inline_bytes: int):
    commands = batch.commands[:]  # each command's Python object made once, for the look-ahead and the run alike
    early = _early_fetch(session, commands)  # (index of the op that makes the tensor, or -1: made before; index of its fetch)
    results = []
    answered = -1
    engine = session.engine
    if early is not None and early[0] < 0:
        answered = yield from _answer_early(session, batch.seq, commands, early, results, inline_bytes)
    for index, command in enumerate(commands):
        if index == answered:
            continue
        kind = command.WhichOneof("kind")
        try:
            handler = _HANDLERS.get(kind)
            if handler is None:
                raise InvalidRequest(f"command {command.id} has no kind")
            if engine.profiler is None:  # all that profiling costs while it is off
                result = handler(session, getattr(command, kind), inline_bytes)
            else:
                result = _profiled(session, command, kind, handler, inline_bytes)
            if result is not None:
                result.command = command.id
                results.append(result)
        except Exception as error:  # every failure becomes a typed reply; the server carries on
            if status_of(error).name == "INTERNAL":
                log.exception("internal error in command %s (%s) of session %s", command.id, kind, session.id)
            cause = error.caused_by if isinstance(error, DependencyFailed) else command.id
            for handle in _outputs_of(command, kind):
                session.mark_failed(handle, cause)
            context = _input_shapes(session, command.op) if kind == "op" else ""
            results.append(error_result(command.id, error, cause if cause != command.id else 0, context))
            continue
        if early is not None and index == early[0]:
            answered = yield from _answer_early(session, batch.seq, commands, early, results, inline_bytes)
    yield pb.BatchReply(seq=batch.seq, results=results)


def _answer_early(session: Session, seq: int, commands, early, results, inline_bytes: int):
    """Yield the early (partial) reply to fetch ``early[1]`` if nothing before it can change its tensor;
    the index of the fetch answered, or -1."""
    made, fetched = early
    if not _stays_final(session, commands, made, fetched):
        return -1
    fetch = commands[fetched]
    if session.engine.profiler is None:
        result = _fetch(session, fetch.fetch, inline_bytes)
    else:
        result = _profiled(session, fetch, "fetch", _fetch, inline_bytes)
    result.command = fetch.id
    results.append(result)
    yield pb.BatchReply(seq=seq, results=list(results), partial=True)
    results.clear()
    return fetched


# Commands that never write into an existing tensor's values or metadata: between an op and a
# fetch of its output they cannot change what the fetch would read. (Ops write only their outputs,
# batch_norm's training forward excepted: ``_op_writes``.) Those that update tensors
# in place are checked array by array (``_WRITTEN``); a release must not free the fetched
# tensor; any other kind keeps the fetch in its place.
_LEAVE_TENSORS_ALONE = frozenset({
    "put", "factory", "grad", "grad_of", "retain_grad", "manual_seed", "stats", "sync",
    "optimizer_create", "optimizer_get_state", "optimizer_set_state", "graph", "generator_create", "get_rng_state", "set_rng_state",
    "profile_start", "profile_range",
})


def _optimizer_step_writes(session, step):
    """The parameters, and the optimizer's state (which ``state_dict()`` hands out as tensors)."""
    arrays = _handle_arrays(session, [handle for group in step.groups[:] for handle in group.params[:]])
    optimizer = session.optimizers.get(step.optimizer)
    if optimizer is not None:
        arrays += [value for state in optimizer.state.values() for value in state.values() if not isinstance(value, float)]
    return arrays


def _clip_grad_writes(session, clip):
    """The .grads there are now; one made later in the batch is a fresh array, unless a client assigned it."""
    tensors = [session.tensors.get(handle) for handle in clip.params[:]]
    return [t.grad.array for t in tensors if type(t) is Tensor and t.grad is not None] + [t.array for t in session.assigned_grads.values()]


def _op_writes(session, op):
    """An op ``into`` a tensor writes it; a training batch_norm updates its running statistics (inputs 1 and 2)
    in place; other ops write nothing."""
    written = _handle_arrays(session, (op.into,)) if op.into else []
    if op.name != "batch_norm" or "training" not in op.params or "has_stats" not in op.params:  # False params are not sent
        return written
    return written + _handle_arrays(session, _input_handles(op)[1:3])


_WRITTEN = {  # command kind -> the arrays it may update in place (None among them: one not known yet)
    "op": _op_writes,
    "inplace": lambda session, inplace: _handle_arrays(session, (inplace.target,)),
    "optimizer_step": _optimizer_step_writes,
    # backward accumulates into existing .grad tensors in place: those a client assigned (p.grad = t)
    "backward": lambda session, backward: [t.array for t in session.assigned_grads.values()],
    "clip_grad": _clip_grad_writes,
    # p.grad = t makes t's values a .grad that later commands of the batch may change in place
    "set_grad": lambda session, set_grad: _handle_arrays(session, (set_grad.value,)) if set_grad.value else [],
}


def _handle_arrays(session, handles):
    arrays = []
    for handle in handles:
        target = session.tensors.get(handle)  # made later in the batch: None, and unsafe
        arrays.append(target.array if type(target) is Tensor else None)
    return arrays


def _early_fetch(session: Session, commands):
    """(i, j): the batch's last fetch j, of the output of op i earlier in the batch, or of a tensor
    the session held before the batch (i = -1: answered before the batch runs); else None."""
    last = len(commands) - 1
    while last >= 0 and commands[last].WhichOneof("kind") == "release":
        last -= 1  # collected handles ride behind the fetch that flushed the batch
    if last < 1 or commands[last].WhichOneof("kind") != "fetch":
        return None  # a fetch alone in its batch is answered as soon as early anyway
    handle = commands[last].fetch.handle
    if type(session.tensors.get(handle)) is Tensor:  # made by an earlier batch: a progress read one update late
        return -1, last  # (a handle in use is never bound again: no op in this batch makes it)
    for index in range(last - 1, -1, -1):
        command = commands[index]
        kind = command.WhichOneof("kind")
        if kind == "op" and handle in command.op.outputs[:]:
            return index, last
        if kind == "grad_of" and command.grad_of.result == handle:
            return None  # x.grad read back: it is whole only once the batch is done (no need to look further)
    return None


def _stays_final(session: Session, commands, made: int, fetched: int) -> bool:
    """True when no command between ``made`` and ``fetched`` can change the fetched tensor (``made`` -1: from the batch's start)."""
    handle = commands[fetched].fetch.handle
    fetched_tensor = session.tensors.get(handle)
    if type(fetched_tensor) is not Tensor:
        return False
    target = fetched_tensor.array
    may_share_memory = session.engine.xp.may_share_memory
    # an array that owns its memory shares it only with its views: another owner cannot touch it
    # (the usual case, parameters and optimizer state against a fresh result; saves a call per array)
    owns_memory = target.base is None
    for command in commands[made + 1 : fetched]:
        kind = command.WhichOneof("kind")
        if kind in _LEAVE_TENSORS_ALONE:
            continue
        if kind == "release":
            if handle in command.release.handles[:]:
                return False
            continue
        written = _WRITTEN.get(kind)
        if written is None:
            return False
        for array in written(session, getattr(command, kind)):
            if array is None or array is target:
                return False
            if owns_memory and array.base is None:
                continue
            if may_share_memory(array, target):
                return False
    return True


def refuse_batch(session: Session, batch: pb.Batch, error: BaseException) -> pb.BatchReply:
    """Run none of a batch: its first command answers ``error``, and every handle the batch would have
    filled is marked failed by it, so the session stays usable and later uses say why."""
    if not batch.commands:
        return pb.BatchReply(seq=batch.seq)
    first = batch.commands[0].id
    for command in batch.commands:
        for handle in _outputs_of(command, command.WhichOneof("kind")):
            session.mark_failed(handle, first)
    return pb.BatchReply(seq=batch.seq, results=[error_result(first, error)])


def error_result(command_id: int, error: BaseException, caused_by: int = 0, context: str = "") -> pb.Result:
    return pb.Result(
        command=command_id,
        error=pb.Error(code=status_of(error).name, type=type(error).__name__, message=describe(error) + context, caused_by=caused_by,
                       forward_command=getattr(error, "trace", 0) if isinstance(error, AnomalyError) else 0),
    )


def _input_handles(op: pb.Op) -> list:
    """An op's inputs by handle, 0 for a number."""
    return op.tensor_inputs[:] or [operand.handle for operand in op.inputs[:]]


def _input_shapes(session: Session, op: pb.Op) -> str:
    """' [inputs: (3, 4), 2.0]': what an op was given, for its error message."""
    described = []
    for operand in list(op.inputs) or [pb.Operand(handle=handle) for handle in op.tensor_inputs]:
        kind = operand.WhichOneof("value")
        if kind == "handle":
            tensor = session.tensors.get(operand.handle)
            if type(tensor) is GradAlias:  # a .grad handle: describe the grad it stands for, if any
                tensor = tensor.owner.grad
            described.append(f"{tensor.dtype.name}{tuple(tensor.shape)}" if tensor is not None else f"tensor {operand.handle}")
        elif kind is not None:
            described.append(repr(getattr(operand, kind)))
    return f" [inputs: {', '.join(described)}]"


def tensor_meta(tensor: Tensor, chunked=False) -> pb.TensorMeta:
    return pb.TensorMeta(
        dtype=tensor.dtype.name, shape=tensor.shape, requires_grad=tensor.requires_grad,
        is_leaf=tensor.is_leaf, grad_fn=tensor.grad_fn.name if tensor.grad_fn is not None else "", chunked=chunked,
    )


def _outputs_of(command, kind) -> list[int]:
    """The handles a command would fill, so a failure can mark them."""
    if kind is None:
        return []
    body = getattr(command, kind)
    if kind == "op":
        return body.outputs[:]
    if kind in ("put", "factory"):
        return [body.handle]
    if kind == "grad":
        return list(body.results)
    if kind in ("grad_of", "alias", "get_rng_state"):
        return [body.result]
    if kind == "generator_create":
        return [body.generator]
    if kind == "optimizer_create":
        return [body.optimizer]
    if kind == "optimizer_get_state":
        return [slot.handle for slot in body.slots]
    if kind == "clip_grad":  # clip_grad_norm_'s total, unscale's found_inf
        return [body.result] if body.result else []
    if kind == "profile_stop":  # events too many to answer inline
        return [body.result] if body.result else []
    return []


def _operand(session: Session, operand: pb.Operand):
    kind = operand.WhichOneof("value")
    if kind == "handle":
        return session.tensor(operand.handle)
    if kind is None:
        raise InvalidRequest("empty operand")
    return getattr(operand, kind)


def _params(session: Session, params) -> dict:
    # by key: the map's items() is collections.abc's ItemsView, iterated in Python (a quarter slower)
    return {name: decode_param(params[name], session.tensor) for name in params}


# --- handlers: one per command kind ---------------------------------------------------


def _put(session, put, inline_bytes):
    try:
        session.quota.check_tensor(put.tensor.shape, parse_dtype(put.tensor.dtype))
        array = array_from_bytes(put.tensor.data, parse_dtype(put.tensor.dtype).name, put.tensor.shape)
    except ValueError as error:
        raise InvalidRequest(f"put: {error}") from None
    session.bind(put.handle, session.engine.tensor(array, requires_grad=put.requires_grad))


_FACTORIES = {
    "zeros": lambda e, size, **kw: e.zeros(size, **kw),
    "ones": lambda e, size, **kw: e.ones(size, **kw),
    "rand": lambda e, size, **kw: e.rand(size, **kw),
    "randn": lambda e, size, **kw: e.randn(size, **kw),
    "full": lambda e, size, fill_value, **kw: e.full(size, fill_value, **kw),
    "arange": lambda e, start, end=None, step=1, **kw: e.arange(start, end, step, **kw),
}


def _factory(session, factory, inline_bytes):
    make = _FACTORIES.get(factory.name)
    if make is None:
        raise InvalidRequest(f"unknown factory {factory.name!r}; known: {', '.join(_FACTORIES)}")
    params = _params(session, factory.params)
    if "generator" in params:  # rand(..., generator=g): g's handle
        params["generator"] = session.generator(params["generator"])
    session.quota.before_factory(factory.name, params)
    try:
        tensor = make(session.engine, requires_grad=factory.requires_grad, **params)
    except (TypeError, ValueError) as error:  # a parameter the engine cannot use: the client's error
        raise InvalidRequest(f"{factory.name}: {error}") from None
    session.bind(factory.handle, tensor)


def _checked(name, call):
    """An engine call whose wrong arity or unknown parameter is the client's error, not the server's."""

    def checked(engine, *inputs, **params):
        try:
            return call(engine, *inputs, **params)
        except TypeError as error:
            raise InvalidRequest(f"{name}(): {str(error).replace('<lambda>() ', '')}") from None

    return checked


# ops that need the engine's argument handling rather than a plain table entry
_ENGINE_CALLS = {
    "index": _checked("index", lambda engine, x, key=(), check=None, check_dim=None: engine.index(x, key, check, check_dim)),
    "to": _checked("to", lambda engine, x, dtype=None: engine.to(x, dtype=dtype)),
    # the SDK sends dropout(x): the engine draws the samples; dropout(x, samples) is the op itself
    "dropout": _checked("dropout", lambda engine, x, *samples, p=0.5: engine.apply("dropout", x, *samples, p=p) if samples else engine.dropout(x, p)),
    "index_put": _checked("index_put", lambda engine, x, value, key=(), accumulate=False, check=None, check_dim=None:
                          engine.index_put(x, value, key, accumulate, check, check_dim)),
}


def _op(session, op, inline_bytes):
    tensors = session.tensors
    handles = op.tensor_inputs[:]  # a list: iterating a protobuf repeated field ends in an IndexError, made and caught
    if handles:  # the hot path: every input a tensor, by handle; a plain tensor looked up directly
        if op.inputs:
            raise InvalidRequest(f"{op.name}: an op's inputs go in inputs or in tensor_inputs, not in both")
        inputs = [tensors.get(handle) for handle in handles]
        for i, tensor in enumerate(inputs):
            if type(tensor) is not Tensor:
                inputs[i] = session.tensor(handles[i])  # a .grad's alias, or the error that says why there is none
    else:
        inputs = []
        for operand in op.inputs[:]:
            tensor = tensors.get(operand.handle)  # a number's operand reads handle 0, which is never bound
            inputs.append(tensor if type(tensor) is Tensor else _operand(session, operand))
    params = _params(session, op.params) if len(op.params) else {}
    default_dtype = params.pop("default_dtype", None) if params else None
    if not (op.trace or default_dtype):
        return _run_op(session, op, inputs, params)
    # the engine's state for this op alone: under anomaly detection the nodes it records keep its command id;
    # the client's set_default_dtype (the engine keeps no such state between ops)
    engine = session.engine
    engine.trace = op.trace
    if default_dtype:
        engine.default_float = parse_default_float(default_dtype)
    try:
        return _run_op(session, op, inputs, params)
    finally:
        engine.trace, engine.default_float = 0, DEFAULT_FLOAT


def _run_op(session, op, inputs, params):
    engine = session.engine
    name = op.name
    call = _ENGINE_CALLS.get(name)
    sized = session.quota.before_op(name, inputs, params)
    if op.into:
        _op_into(session, op, call, inputs, params)
        return
    if op.no_grad:
        with set_grad_enabled(False):
            out = call(engine, *inputs, **params) if call else engine.apply(name, *inputs, **params)
    else:
        out = call(engine, *inputs, **params) if call else engine.apply(name, *inputs, **params)
    handles = op.outputs[:]
    outputs = out if type(out) is tuple else (out,)
    if len(outputs) != len(handles):
        raise InvalidRequest(f"{name} gives {len(outputs)} output(s) but {len(handles)} handle(s) were sent")
    if not sized:
        session.quota.after_op(name, inputs, outputs)
    for handle, tensor in zip(handles, outputs):
        session.bind(handle, tensor)


def _op_into(session, op, call, inputs, params):
    """``x.name_(...)``: the op on input 0, its result written into that tensor (``Engine.apply_into``)."""
    if op.outputs or not inputs or _input_handles(op)[0] != op.into:
        raise InvalidRequest(f"{op.name}: an op into a tensor takes that tensor as input 0 and has no outputs")
    engine, rest = session.engine, inputs[1:]
    for other in rest:  # a source that is partly the memory written is refused, as PyTorch's
        engine.check_overlap(op.name, inputs[0], other, params.get("key") if op.name == "index_put" else None)

    def compute(source):
        return call(engine, source, *rest, **params) if call else engine.apply(op.name, source, *rest, **params)

    with set_grad_enabled(not op.no_grad):
        engine.apply_into(op.name, inputs[0], compute)


def _backward(session, backward, inline_bytes):
    gradient = session.tensor(backward.gradient) if backward.gradient else None
    root = session.tensor(backward.root)
    session.quota.before_backward(root)
    if backward.more_roots:  # torch.autograd.backward(tensors, grad_tensors): one pass from every root
        if len(backward.more_gradients) != len(backward.more_roots):
            raise InvalidRequest(f"backward: {len(backward.more_roots)} more roots but {len(backward.more_gradients)} gradients")
        more = [session.tensor(h) for h in backward.more_roots[:]]
        for tensor in more:
            session.quota.before_backward(tensor)
        root = [root, *more]
        gradient = [gradient, *(session.tensor(h) if h else None for h in backward.more_gradients)]
    roots = root if type(root) is list else [root]
    inputs = [session.tensor(h) for h in backward.inputs[:]] or None
    if backward.create_graph:
        session.quota.before_recorded_backward([r.grad_fn for r in roots])
    if backward.hooked:
        stops = {}
        walk = session.engine.backward_walk(root, gradient, backward.retain_graph, _hooked(session, backward), backward.create_graph,
                                            stops=stops, inputs=inputs, check_nan=backward.detect_anomaly)
        return _begin_pass(session, _Pass(walk, "backward", list(backward.hook_grads), backward.report, stops))
    with session.metrics.backward("backward"):
        session.engine.backward(root, gradient, backward.retain_graph, create_graph=backward.create_graph, inputs=inputs,
                                check_nan=backward.detect_anomaly)
    if backward.report:  # the client waits for this answer to know which leaves have a .grad
        return pb.Result(unused=pb.Unused(handles=_without_grad(session, backward.report)))


def _without_grad(session, handles):
    return [h for h in handles if session.tensor(h).grad is None]


def _grad(session, grad, inline_bytes):
    outputs = [session.tensor(h) for h in grad.outputs]
    inputs = [session.tensor(h) for h in grad.inputs]
    grad_outputs = [session.tensor(h) if h else None for h in grad.grad_outputs] or None
    if len(grad.results) != len(inputs):
        raise InvalidRequest(f"grad: {len(inputs)} inputs but {len(grad.results)} result handles")
    session.quota.before_grad(inputs)
    if grad.create_graph:
        session.quota.before_recorded_backward([y.grad_fn for y in outputs])
    if grad.hooked:
        stops = {}
        walk = session.engine.grad_walk(outputs, inputs, grad_outputs, grad.retain_graph, grad.allow_unused, _hooked(session, grad), grad.create_graph,
                                        stops=stops, check_nan=grad.detect_anomaly)
        return _begin_pass(session, _Pass(walk, "grad", list(grad.hook_grads), grad.results, stops))
    with session.metrics.backward("grad"):
        grads = session.engine.grad(outputs, inputs, grad_outputs, grad.retain_graph, allow_unused=grad.allow_unused, create_graph=grad.create_graph,
                                    check_nan=grad.detect_anomaly)
    unused = _bind_grads(session, grad.results, grads)
    if grad.allow_unused:  # the client waits for this answer to know which gradients are None
        return pb.Result(unused=pb.Unused(handles=unused))


def _bind_grads(session, handles, grads):
    """Bind a Grad's results; the handles of those that are None (unused inputs)."""
    unused = []
    for handle, g in zip(handles, grads):
        if g is None:
            unused.append(handle)
        else:
            session.bind(handle, g)
    return unused


# --- passes stopped at tensor hooks --------------------------------------------------
# A pass with hooked tensors stops at each (``Engine.backward_walk``): the server binds the gradient
# there and answers; the client runs the tensor's hooks (which queue ops of their own) and sends a
# Resume with their result. A hook may run a pass of its own, which ends before the hook returns:
# the session keeps its stopped passes as a stack, and a Resume goes to the last.

MAX_STOPPED_PASSES = 16  # passes begun inside hooks, one inside another


class _Pass(NamedTuple):
    walk: object  # the engine's generator
    kind: str  # "backward" or "grad", for the metrics
    hook_grads: list  # where each stop's gradient is bound (a Resume may add stops: tensors hooked meanwhile)
    results: Sequence[int]  # a Grad's result handles; a Backward's leaves to report on
    stops: dict  # the walk's stops, which it reads as it goes


def _hooked(session, command):
    if len(command.hook_grads) != len(command.hooked):
        raise InvalidRequest(f"{len(command.hooked)} hooked tensors but {len(command.hook_grads)} handles for their gradients")
    return [session.tensor(h) for h in command.hooked]


def _begin_pass(session, stopped):
    if len(session.passes) >= MAX_STOPPED_PASSES:
        stopped.walk.close()
        raise InvalidRequest(f"more than {MAX_STOPPED_PASSES} backward passes stopped at hooks, one inside another")
    session.passes.append(stopped)
    return _go_on(session, None)


def _go_on(session, changed):
    """Run the last stopped pass to its next stop or its end; the HookStop answer."""
    stopped = session.passes[-1]
    try:
        with session.metrics.backward(stopped.kind):
            index, grad = stopped.walk.send(changed)
    except StopIteration as end:
        session.passes.pop()
        unused = _bind_grads(session, stopped.results, end.value) if stopped.kind == "grad" else _without_grad(session, stopped.results)
        return pb.Result(hook_stop=pb.HookStop(done=True, unused=unused))
    except BaseException:
        session.passes.pop()  # the walk is over: the error is the pass's answer
        raise
    session.bind(stopped.hook_grads[index], grad)
    return pb.Result(hook_stop=pb.HookStop(index=index))


def _resume(session, resume, inline_bytes):
    if not session.passes:
        raise InvalidRequest("resume: no backward pass is stopped at a hooked tensor")
    if resume.abort:
        session.passes.pop().walk.close()
        return None
    try:
        changed = DROPPED if resume.drop else session.tensor(resume.gradient) if resume.gradient else None
        if len(resume.hooked) != len(resume.hook_grads):
            raise InvalidRequest(f"resume: {len(resume.hooked)} hooked tensors but {len(resume.hook_grads)} handles for their gradients")
        stopped = session.passes[-1]
        for tensor, handle in zip(_hooked(session, resume), resume.hook_grads):  # hooked during the hooks: later stops
            session.engine.stop_at(stopped.stops, tensor, len(stopped.hook_grads))
            stopped.hook_grads.append(handle)
    except Exception:
        session.passes.pop().walk.close()  # the hooks' result never came: nothing to go on with
        raise
    return _go_on(session, changed)


def _release(session, release, inline_bytes):
    session.release(release.handles[:])


def _fetch(session, fetch, inline_bytes):
    tensor = session.tensor(fetch.handle)
    chunked = tensor.array.nbytes > inline_bytes
    if fetch.meta_only or chunked:
        return pb.Result(meta=tensor_meta(tensor, chunked))
    array = tensor.numpy()  # tobytes() writes C order; ascontiguousarray would make a 0-d array 1-d
    return pb.Result(tensor=pb.TensorData(dtype=array.dtype.name, shape=array.shape, data=array.tobytes()))


def _inplace(session, inplace, inline_bytes):
    target = session.tensor(inplace.target)
    other = _operand(session, inplace.other) if inplace.HasField("other") else None
    key = decode_param(inplace.key, session.tensor) if inplace.HasField("key") else None
    if inplace.HasField("scale"):  # `p -= lr * p.grad` in one command: the product made as its mul op makes it
        scale = _operand(session, inplace.scale)
        if type(scale) is Tensor or type(other) is not Tensor or key is not None:
            raise InvalidRequest("inplace: a scale is a number, and scales a tensor operand (no key)")
        with set_grad_enabled(False):
            other = session.engine.apply("mul", other, scale)
    with set_grad_enabled(not inplace.no_grad):
        session.engine.inplace(inplace.op, target, other, key)


def _grad_of(session, grad_of, inline_bytes):
    session.bind(grad_of.result, GradAlias(session.tensor(grad_of.tensor)))


def _set_grad(session, set_grad, inline_bytes):
    tensor = session.tensor(set_grad.tensor)
    if set_grad.more:
        if set_grad.value:
            raise InvalidRequest("set_grad: several tensors can only have their grad set to None")
        tensors = [tensor] + [session.tensor(h) for h in set_grad.more[:]]  # all found before any changes
        for t in tensors:
            session.settle_grad_aliases(t)
            t.grad = None
        return
    session.settle_grad_aliases(tensor)
    if not set_grad.value:
        tensor.grad = None
        return
    value = session.tensor(set_grad.value)
    mismatch = grad_mismatch(value.dtype, value.shape, tensor.dtype, tensor.shape)
    if mismatch is not None:
        raise InvalidRequest(mismatch)
    tensor.grad = value
    session.assigned_grads[id(value)] = value  # a later backward accumulates into it in place


def _set_requires_grad(session, command, inline_bytes):
    session.tensor(command.tensor).requires_grad_(command.requires_grad)


def _retain_grad(session, command, inline_bytes):
    session.tensor(command.tensor).retain_grad()


def _alias(session, alias, inline_bytes):
    source = session.tensor(alias.source)
    session.bind(alias.result, source.pinned() if alias.keeps_graph else source.detach() if alias.shares_version else source.data)


def _manual_seed(session, command, inline_bytes):
    seed = command.seed % 2**64  # a negative seed wraps around, as torch.manual_seed's does
    if command.generator:
        session.generator(command.generator)  # (a known one)
        session.generators[command.generator] = session.engine.new_generator(seed)
    else:
        session.engine.manual_seed(seed)


def _generator_create(session, command, inline_bytes):
    session.bind_generator(command.generator, session.engine.new_generator(command.seed % 2**64))


def _get_rng_state(session, command, inline_bytes):
    generator = session.generator(command.generator) if command.generator else None
    session.bind(command.result, session.engine.rng_state(generator))


def _set_rng_state(session, command, inline_bytes):
    generator = session.generator(command.generator) if command.generator else None
    session.engine.set_rng_state(session.tensor(command.state), generator)


def _sync(session, command, inline_bytes):
    return pb.Result()  # answered in order: every command before it has run


def _stats(session, command, inline_bytes):
    return pb.Result(stats=pb.SessionStats(**session.stats()))


def _optimizer_create(session, command, inline_bytes):
    session.bind_optimizer(command.optimizer, optim.Optimizer(command.kind, session.engine.xp))


def _optimizer_step(session, command, inline_bytes):
    optimizer = session.optimizer(command.optimizer)
    groups = []
    for g in command.groups[:]:
        params = [(handle, session.tensor(handle)) for handle in g.params[:]]
        groups.append(optim.Group(
            params, lr=g.lr, weight_decay=g.weight_decay, maximize=g.maximize, momentum=g.momentum, dampening=g.dampening,
            nesterov=g.nesterov, beta1=g.beta1, beta2=g.beta2, eps=g.eps, amsgrad=g.amsgrad,
            decoupled_weight_decay=g.decoupled_weight_decay, alpha=g.alpha, centered=g.centered, lr_decay=g.lr_decay,
            initial_accumulator_value=g.initial_accumulator_value, momentum_decay=g.momentum_decay, rho=g.rho,
            etaminus=g.etaminus, etaplus=g.etaplus, step_size_min=g.step_size_min, step_size_max=g.step_size_max,
            lambd=g.lambd, t0=g.t0, beta2_decay=g.beta2_decay, eps1=g.eps1 if g.HasField("eps1") else None, eps2=g.eps2, d=g.d,
            ns_coefficients=tuple(g.ns_coefficients[:]), ns_steps=g.ns_steps, adjust_lr_fn=g.adjust_lr_fn or None,
        ))
    session.quota.before_step(optimizer, groups)
    optimizer.step(groups)


def _optimizer_get_state(session, command, inline_bytes):
    optimizer = session.optimizer(command.optimizer)
    entries, numbered = [], set()
    for slot in command.slots:
        value = optimizer.get(slot.param, slot.name)
        if value is not None:
            session.bind(slot.handle, Tensor(value, session.engine))  # the state itself, as PyTorch's state_dict holds it
            entries.append(pb.OptimizerStateEntry(param=slot.param, name=slot.name, handle=slot.handle))
        if slot.param not in numbered:
            numbered.add(slot.param)
            for name in optim.STATE_NUMBERS[optimizer.kind]:
                number = optimizer.get(slot.param, name)
                if number is not None:
                    entries.append(pb.OptimizerStateEntry(param=slot.param, name=name, number=number))
    return pb.Result(optimizer_state=pb.OptimizerState(entries=entries))


def _optimizer_set_state(session, command, inline_bytes):
    optimizer = session.optimizer(command.optimizer)
    entries = []
    for entry in command.entries:
        kind = entry.WhichOneof("value")
        if kind is None:
            raise InvalidRequest(f"optimizer state {entry.name!r} of parameter {entry.param} has no value")
        value = session.tensor(entry.handle) if kind == "handle" else entry.number
        entries.append((entry.param, session.tensor(entry.param), entry.name, value))
    session.quota.reserve(sum(p.array.nbytes for _, p, _, v in entries if isinstance(v, Tensor)), "the loaded optimizer state")
    optimizer.load(entries)


def _clip_grad(session, command, inline_bytes):
    """``clip_grad_norm_``/``clip_grad_value_``/``GradScaler.unscale_``: the params' .grads scaled or clamped in place
    (their versions move on)."""
    grads = [g for g in (session.tensor(h).grad for h in command.params) if g is not None]
    for g in grads:
        if not getattr(g.array.flags, "writeable", True):  # (CuPy's arrays have no such flag: all writable)
            raise InvalidRequest("clip_grad: a .grad is a read-only view (an expanded tensor?): assign a copy to it first")
    xp = session.engine.xp
    if command.unscale:
        result = Tensor(optim.unscale_grads(xp, [g.array for g in grads], command.inv_scale), session.engine)
    elif command.by_value:
        optim.clip_grad_value(xp, [g.array for g in grads], command.clip_value)
        result = None
    else:
        total = optim.clip_grad_norm(xp, [g.array for g in grads], command.max_norm, command.norm_type, command.error_if_nonfinite)
        result = Tensor(total, session.engine)
    for g in grads:
        g._version[0] += 1
    if result is not None:
        session.bind(command.result, result)


def _graph(session, command, inline_bytes):
    nodes, edges = graphview.describe(session.tensor(command.root))
    handles = {id(t): h for h, t in session.tensors.items() if type(t) is Tensor}
    handles[id(session.tensor(command.root))] = command.root
    return pb.Result(graph=pb.Graph(
        nodes=[
            pb.GraphNode(id=n.id, is_op=n.is_op, name=n.name, shape=n.shape, dtype=n.dtype, requires_grad=n.requires_grad,
                         is_leaf=n.is_leaf, handle=handles.get(id(n.tensor), 0) if n.tensor is not None else 0, freed=n.freed)
            for n in nodes
        ],
        edges=[pb.GraphEdge(src=src, dst=dst) for src, dst in edges],
    ))


# --- the profiler (engine/profiler.py) ------------------------------------------------
# While a profile is on, each command runs through ``_profiled``: timed under a name that says what it was
# (gw.profiler documents them), with its inputs' shapes where asked for. Backward passes time each of their
# nodes themselves (``Engine._walk``); the profile's own commands are not events.

_OPTIMIZER_NAMES = {  # torch.optim's class names, for "Optimizer.step#SGD.step" as torch's profiler names a step
    "sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adamax": "Adamax", "radam": "RAdam", "nadam": "NAdam",
    "adadelta": "Adadelta", "rprop": "Rprop", "asgd": "ASGD",
}
_NOT_EVENTS = frozenset({"profile_start", "profile_range", "profile_stop"})


def _event_name(session, kind, body) -> str:
    if kind == "op":
        return f"gradwire::{body.name}_" if body.into else f"gradwire::{body.name}"
    if kind == "inplace":
        return "gradwire::setitem" if body.op == "setitem" else f"gradwire::{body.op}_"
    if kind == "factory":
        return f"gradwire::{body.name}"
    if kind == "optimizer_step":
        optimizer = session.optimizers.get(body.optimizer)
        name = _OPTIMIZER_NAMES.get(optimizer.kind, optimizer.kind) if optimizer is not None else "Optimizer"
        if name == "Adam" and any(g.decoupled_weight_decay for g in body.groups):
            name = "AdamW"
        return f"Optimizer.step#{name}.step"
    return f"gradwire::{kind}"


def _event_shapes(session, kind, body):
    """record_shapes: an op's inputs' shapes, [] for a number (torch's Input Shapes); other commands' none."""
    if kind != "op":
        return []
    shapes = []
    for handle in _input_handles(body):
        tensor = session.tensors.get(handle)  # (0 for a number: never bound)
        if type(tensor) is GradAlias:
            tensor = tensor.owner.grad
        shapes.append(list(tensor.shape) if tensor is not None else [])
    return shapes


def _profiled(session, command, kind, handler, inline_bytes):
    profiler = session.engine.profiler
    body = getattr(command, kind)
    if kind in _NOT_EVENTS:
        return handler(session, body, inline_bytes)
    profiler.command = command.id
    shapes = _event_shapes(session, kind, body) if profiler.record_shapes else None
    return profiler.timed(_event_name(session, kind, body), handler, session, body, inline_bytes, shapes=shapes)


def _profile_start(session, command, inline_bytes):
    engine = session.engine
    clock = engine.backend.device_clock() if command.device_time else None
    engine.profiler = Profiler(session.max_profile_events, command.record_shapes, clock)


def _profile_range(session, command, inline_bytes):
    profiler = session.engine.profiler
    if profiler is None:
        return  # a range of a profile that is not on (one stopped, or never started): nothing to time
    if command.end:
        profiler.end_range(command.id)
    elif len(profiler.ranges) >= MAX_OPEN_RANGES:
        raise InvalidRequest(f"profile_range: more than {MAX_OPEN_RANGES} ranges open at once")
    else:
        profiler.begin_range(command.id, command.name)


MAX_OPEN_RANGES = 10_000  # record_function ranges open at once, one inside another (a client that never ends them)


def _profile_stop(session, command, inline_bytes):
    """The events of the profile (none where it was not on), inline or, too many for a reply, in a tensor."""
    engine = session.engine
    profiler, engine.profiler = engine.profiler, None
    if profiler is None:
        return pb.Result(profile=pb.ProfileEvents())
    events, dropped, stop = profiler.finish()
    answer = pb.ProfileEvents(
        events=[
            pb.ProfileEvent(name=name, start_ns=start, duration_ns=duration, device_ns=device,
                            shapes=[pb.IntList(values=s) for s in shapes] if shapes else (), command=cid)
            for name, start, duration, device, shapes, cid in events
        ],
        dropped=dropped, stop_ns=stop,
    )
    if answer.ByteSize() <= inline_bytes or not command.result:
        return pb.Result(profile=answer)
    data = np.frombuffer(answer.SerializeToString(), dtype=np.uint8)
    session.bind(command.result, session.engine.tensor(data))
    return pb.Result(profile=pb.ProfileEvents(dropped=dropped, stop_ns=stop, chunked=True))


_HANDLERS = {
    "put": _put,
    "factory": _factory,
    "op": _op,
    "backward": _backward,
    "grad": _grad,
    "release": _release,
    "fetch": _fetch,
    "inplace": _inplace,
    "grad_of": _grad_of,
    "set_grad": _set_grad,
    "set_requires_grad": _set_requires_grad,
    "retain_grad": _retain_grad,
    "clip_grad": _clip_grad,
    "resume": _resume,
    "alias": _alias,
    "manual_seed": _manual_seed,
    "stats": _stats,
    "sync": _sync,
    "optimizer_create": _optimizer_create,
    "optimizer_step": _optimizer_step,
    "optimizer_get_state": _optimizer_get_state,
    "optimizer_set_state": _optimizer_set_state,
    "graph": _graph,
    "generator_create": _generator_create,
    "get_rng_state": _get_rng_state,
    "set_rng_state": _set_rng_state,
    "profile_start": _profile_start,
    "profile_range": _profile_range,
    "profile_stop": _profile_stop,
}
