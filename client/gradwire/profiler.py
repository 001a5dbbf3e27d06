"""``gw.profiler``: ``torch.profiler`` for a remote session: where a step's time goes, on the server and here.

    with gw.profiler.profile(record_shapes=True) as prof:
        with gw.profiler.record_function("train_step"):
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        loss.item()
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

While a profile records, the server times every command it runs for the session (in the session's
stream, pipelined: starting costs no round trip) and sends the events back when the profile stops
(``max_profile_events`` bounds them; more are counted as dropped and the table says so). Names:

- ``gradwire::<op>``: an op (``gradwire::mul``, ``gradwire::linear``; ``gradwire::relu_`` in place, torch's
  ``aten::`` ops by another prefix), a factory (``gradwire::randn``), an in-place update (``gradwire::add_``);
- ``<Name>Backward0``: one node of a backward pass, named as its ``grad_fn``; ``AccumulateGrad``: a leaf's
  ``.grad`` accumulated; ``gradwire::backward`` (and ``gradwire::grad``): the whole pass, the nodes inside it;
- ``Optimizer.step#SGD.step``: an optimizer step, as torch's profiler names it;
- ``gradwire::<command>``: the rest of the server's work (``gradwire::put`` a tensor sent inline,
  ``gradwire::fetch`` a tensor read, ``gradwire::release`` tensors freed, ...);
- a ``record_function`` label: the range on the server, from the first command issued inside it to the last;
- ``[client] <label>``: the same range as the client saw it (the time the program spent issuing it), and
  ``[client] wait``: the client blocked at a sync point (``item()``, ``numpy()``, ...), the round trips.

CPU times are the server's wall clock around each engine call; on a CUDA server (``ProfilerActivity.CUDA``,
the default there) the CUDA columns are device time between CUDA events recorded around each call on the
session's stream. Server and client events are on separate tracks of the Chrome trace; the server's clock is
aligned with the client's at the stop (the middle of its round trip, made once nothing else is in flight: off by
half the difference between the two directions' latencies, some microseconds on loopback).
``with_stack=True``: each server event's ``stack`` is the user's frames that issued its command (``file(line):
function``, innermost first; a backward node's: the ``backward()`` call's), for ``key_averages(group_by_stack_n=N)``
and the table's Source Location. Not measured: memory (``profile_memory`` is accepted and not reported).
"""

from __future__ import annotations

import contextlib
import enum
import gzip
import json
import os
import socket
import time
import warnings

__all__ = [
    "EventList", "FunctionEvent", "FunctionEventAvg", "ProfilerAction", "ProfilerActivity", "profile", "record_function", "schedule",
    "supported_activities", "tensorboard_trace_handler",
]

_current = None  # the profile recording now: record_function's ranges go to it (one at a time, as torch's)


class ProfilerActivity(enum.Enum):
    """What to measure: ``CPU`` (the server's wall time per command, and the client's ranges and waits) and
    ``CUDA`` (device time per command, on a CUDA server)."""

    CPU = 0
    CUDA = 2


class ProfilerAction(enum.Enum):
    """What a ``schedule`` says for a step."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities():
    """``torch.profiler.supported_activities()``: the activities a profile may ask for (CUDA measures on a CUDA server)."""
    return {ProfilerActivity.CPU, ProfilerActivity.CUDA}


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0, skip_first_wait: int = 0):
    """``torch.profiler.schedule``: skip ``skip_first`` steps, then cycles of ``wait`` steps unrecorded, ``warmup``
    steps unrecorded, ``active`` steps recorded (``repeat`` cycles; 0: until the profile stops). A function of the
    step number giving a ``ProfilerAction``. ``skip_first_wait``: the first cycle does not wait."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} (need >= 0), "
            f"active={active} (need > 0), repeat={repeat} (need >= 0), skip_first={skip_first} (need >= 0)."
        )
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)
    cycle = wait + warmup + active

    def action(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        at = step % cycle
        if at < wait:
            return ProfilerAction.NONE
        if at < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if at < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return action


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False, use_python_export: bool = False):
    """``torch.profiler.tensorboard_trace_handler``: an ``on_trace_ready`` that writes each recorded span's Chrome trace
    into ``dir_name`` as ``{worker_name}.{time_ns}.pt.trace.json`` (``.gz`` with ``use_gzip``); ``worker_name`` defaults
    to ``{hostname}_{pid}``."""

    def handler(prof):
        nonlocal worker_name
        try:
            os.makedirs(dir_name, exist_ok=True)
        except Exception as error:
            raise RuntimeError("Can't create directory: " + dir_name) from error
        worker_name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{worker_name}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else ""))
        prof.export_chrome_trace(path)

    return handler


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


class _Cycle:
    """The client's side of one recorded span: its ranges and waits (perf_counter_ns)."""

    def __init__(self, origin: int):
        self.origin = origin  # the profile's start: every span of one profile on one time axis (acc_events)
        self.events = []  # (name, start_ns, end_ns)
        self.stacks = {}  # with_stack: command id -> the user's stack that issued it (the session fills it)

    def waited(self, start: int, end: int):
        self.events.append(("[client] wait", start, end))


class record_function(contextlib.ContextDecorator):
    """``torch.profiler.record_function``: a labelled range, as a context manager or a decorator.

    While a profile records, the range is on both tracks: on the server's, named ``name``, around the commands
    issued inside it (so its total is what the server spent on them, and they are its children); on the
    client's, named ``[client] name``, the time the program spent in it. Outside a profile it records nothing.
    """

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self.args = args
        self._open = []  # (profile, cycle, server range id, start) per entry: a decorated function may recurse

    def __enter__(self):
        if not isinstance(self.name, str):
            raise RuntimeError(f"profiler::_record_function_enter_new() Expected a value of type 'str' for argument 'name' but instead "
                               f"found type '{type(self.name).__name__}'.")
        prof = _current
        if prof is not None and prof._cycle is not None:
            range_id = prof._session._profile_range(self.name)
            self._open.append((prof, prof._cycle, range_id, time.perf_counter_ns()))
        else:
            self._open.append(None)
        return self

    def __exit__(self, *exc):
        opened = self._open.pop() if self._open else None
        if opened is not None:
            prof, cycle, range_id, start = opened
            if prof._cycle is cycle:  # (a range that outlived its profile's recording is dropped, as torch's)
                prof._session._profile_range(range_id=range_id)
                cycle.events.append((f"[client] {self.name}", start, time.perf_counter_ns()))
        return False


class profile:
    """``torch.profiler.profile`` for a gradwire session: a context manager (or ``start()``/``stop()``), with
    ``step()`` for a ``schedule``. ``key_averages()``, ``events()`` and ``export_chrome_trace(path)`` read the
    last recorded span; ``on_trace_ready(prof)`` is called at the end of each.

    ``session``: the session to profile (by default the only open one). The server's events are that
    session's alone. See the module's docstring for what is measured and how events are named.
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False, profile_memory=False,
                 with_stack=False, with_flops=False, with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None, post_processing_timeout_s=None, session=None):
        if activities is None:
            self.activities = None  # CPU, and CUDA where the server has it: decided at start
        else:
            self.activities = {a for a in activities if isinstance(a, ProfilerActivity)}
            if use_cuda:
                self.activities.add(ProfilerActivity.CUDA)
            if not self.activities:
                raise AssertionError("No valid profiler activities found")
        self.schedule = schedule if schedule is not None else _always_record
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.record_shapes = bool(record_shapes)
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.acc_events = acc_events
        self.step_num = 0
        self.current_action = None
        self._session_given = session
        self._session = None
        self._cycle = None  # the span being recorded, else None
        self._events = None  # the last recorded span's EventList
        self._step_range = None
        self._origin = 0  # perf_counter_ns() at start(): time 0 of the events

    # --- lifetime ------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        """Begin: the schedule's action for step 0 (without a schedule: recording)."""
        global _current
        if _current is self:
            return
        if _current is not None:  # (torch's would run, and report nothing right)
            raise RuntimeError("a gw.profiler profile is recording already: stop it before another starts")
        from .session import resolve_session

        self._session = resolve_session(self._session_given)
        if self.activities is None:
            self.activities = {ProfilerActivity.CPU} | ({ProfilerActivity.CUDA} if self._session.device == "cuda" else set())
        _current = self
        self._origin = time.perf_counter_ns()
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._transit(None, self.current_action)
        self._begin_step()

    def stop(self):
        """End: a span being recorded is collected (``on_trace_ready`` called)."""
        global _current
        if _current is not self:
            return
        try:
            self._end_step()
            if self._cycle is not None:
                self._save()
        finally:  # (a failed command's error comes up here: the profile is over all the same)
            _current = None

    def step(self):
        """The end of a training step: the schedule's action for the next step takes over."""
        if _current is not self:
            return
        self._end_step()
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(previous, self.current_action)
        self._begin_step()

    def _begin_step(self):
        if self.record_steps and self._cycle is not None:
            self._step_range = record_function(f"ProfilerStep#{self.step_num}")
            self._step_range.__enter__()

    def _end_step(self):
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None

    def _transit(self, previous, action):
        if previous in _RECORDING and (previous is ProfilerAction.RECORD_AND_SAVE or action not in _RECORDING):
            self._save()
        if action in _RECORDING and self._cycle is None:
            self._cycle = _Cycle(self._origin)
            self._session._profile_start(self._cycle, self.record_shapes, ProfilerActivity.CUDA in self.activities, bool(self.with_stack))

    def _save(self):
        """Stop the server's collection and read its events with the client's, then ``on_trace_ready``."""
        cycle, self._cycle = self._cycle, None
        answer, stopped = self._session._profile_stop()
        shift = stopped - cycle.origin - answer.stop_ns  # the server's clock onto the client's, at the stop
        events = [
            FunctionEvent(e.name, "server", (e.start_ns + shift) / 1e3, (e.start_ns + shift + e.duration_ns) / 1e3,
                          device_time_total=e.device_ns / 1e3 if e.device_ns >= 0 else 0.0,
                          input_shapes=[list(s.values) for s in e.shapes] if self.record_shapes else [], command=e.command,
                          stack=cycle.stacks.get(e.command, []))
            for e in answer.events
        ]
        events += [FunctionEvent(name, "client", (start - cycle.origin) / 1e3, (end - cycle.origin) / 1e3) for name, start, end in cycle.events]
        listed = EventList(events, dropped=answer.dropped, limit=self._session.limits.max_profile_events, session=self._session.id)
        if self.acc_events and self._events is not None:
            listed = EventList(list(self._events) + list(listed), dropped=self._events.dropped + listed.dropped, limit=listed.limit,
                               session=listed.session)
        self._events = listed
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    # --- results -------------------------------------------------------------------
    def events(self):
        """Every event of the last recorded span (an ``EventList``), server's and client's, by start time."""
        if self._events is None:
            raise AssertionError("Profiler must be initialized before accessing events")
        return self._events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0, group_by_overload_name: bool = False):
        """The events averaged by name (and input shapes): an ``EventList`` of ``FunctionEventAvg``, for ``table()``."""
        if self._events is None:
            raise AssertionError("Profiler must be initialized before getting key averages")
        return self._events.key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path: str, use_python_export: bool = False):
        """Write the last span as a Chrome trace (chrome://tracing, Perfetto): the client and the server on tracks of their own
        (a path ending in ``.gz``: gzipped)."""
        if self._events is None:
            raise AssertionError("Profiler must be initialized before exporting chrome trace")
        return self._events.export_chrome_trace(path)


# --- events -------------------------------------------------------------------------


class FunctionEvent:
    """One timed event (times in microseconds since the profile began, on the client's clock). ``track``: "server" or
    "client". ``self_*``: less the time of the events inside it on its track (``cpu_children``)."""

    def __init__(self, name, track, start_us, end_us, device_time_total=0.0, input_shapes=None, command=0, stack=None):
        self.name = name
        self.track = track
        self.start_us = start_us
        self.end_us = end_us
        self.device_time_total = device_time_total
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.command = command  # the command the server ran it for (0: a client event)
        self.stack = stack if stack is not None else []  # with_stack: the user's frames that issued that command
        self.id = 0
        self.count = 1
        self.cpu_children = []
        self.cpu_parent = None

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.end_us - self.start_us

    @property
    def self_cpu_time_total(self):
        return max(0.0, self.cpu_time_total - sum(child.cpu_time_total for child in self.cpu_children))

    @property
    def self_device_time_total(self):
        return max(0.0, self.device_time_total - sum(child.device_time_total for child in self.cpu_children))

    self_cuda_time_total = self_device_time_total
    cuda_time_total = property(lambda self: self.device_time_total)

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} track={self.track} cpu_time={_format_time(self.cpu_time_total)} "
                f"start_us={self.start_us:.3f} end_us={self.end_us:.3f} input_shapes={self.input_shapes}>")



class FunctionEventAvg:
    """The events of one key: ``count`` of them, their times summed (``cpu_time``, ``device_time``: the average)."""

    def __init__(self, key, input_shapes=None, stack=None):
        self.key = key
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.device_time_total = self.self_device_time_total = 0.0

    def add(self, event):
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        self.device_time_total += event.device_time_total
        self.self_device_time_total += event.self_device_time_total
        return self

    @property
    def cpu_time(self):
        return self.cpu_time_total / max(self.count, 1)

    @property
    def device_time(self):
        return self.device_time_total / max(self.count, 1)

    cuda_time = device_time
    cuda_time_total = property(lambda self: self.device_time_total)
    self_cuda_time_total = property(lambda self: self.self_device_time_total)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={_format_time(self.self_cpu_time_total)} "
                f"cpu_time={_format_time(self.cpu_time_total)} count={self.count} input_shapes={self.input_shapes}>")


class EventList(list):
    """A list of events (``FunctionEvent``, or ``FunctionEventAvg`` from ``key_averages``), with torch's ``table()``.

    ``dropped``: events the server did not keep (past ``limit``, its ``max_profile_events``)."""

    def __init__(self, events=(), dropped=0, limit=0, session="", nested=True):
        super().__init__(events)
        self.dropped, self.limit, self.session = dropped, limit, session
        if nested:
            self._nest()

    def _nest(self):
        """Order by start and link each event to the innermost one around it on its track."""
        self.sort(key=lambda e: (e.start_us, -e.end_us))
        for i, event in enumerate(self):
            event.id = i + 1
            event.cpu_parent, event.cpu_children = None, []
        for track in ("server", "client"):
            stack = []
            for event in (e for e in self if e.track == track):
                while stack and stack[-1].end_us <= event.start_us:
                    stack.pop()
                if stack and event.end_us <= stack[-1].end_us:
                    event.cpu_parent = stack[-1]
                    stack[-1].cpu_children.append(event)
                stack.append(event)

    @property
    def self_cpu_time_total(self):
        """The self CPU times summed: all the time measured, each moment once per track."""
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0):
        """Averages by name, and by input shapes and the innermost ``group_by_stack_n`` frames of the stack where asked."""
        averages = {}
        for event in self:
            key = (event.key, str(event.input_shapes) if group_by_input_shape else None,
                   tuple(event.stack[:group_by_stack_n]) if group_by_stack_n > 0 else None)
            if key not in averages:
                averages[key] = FunctionEventAvg(event.key, event.input_shapes if group_by_input_shape else [],
                                                 event.stack[:group_by_stack_n] if group_by_stack_n > 0 else [])
            averages[key].add(event)
        return EventList(averages.values(), self.dropped, self.limit, self.session, nested=False)

    def total_average(self):
        """One ``FunctionEventAvg`` of every event, keyed "Total"."""
        total = FunctionEventAvg("Total")
        for event in self:
            total.add(event)
        return total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55, max_shapes_column_width=80,
              header=None, top_level_events_only=False, time_unit=None):
        """torch's table: Name, Self CPU %, Self CPU, CPU total %, CPU total, CPU time avg (the CUDA columns where there is
        device time), # of Calls (and Input Shapes when grouped by them, Source Location where there are stacks), sorted
        by ``sort_by`` (an attribute, descending)."""
        return _table(self, sort_by, row_limit, max_name_column_width, max_shapes_column_width, max_src_column_width, header,
                      top_level_events_only, time_unit)

    def export_chrome_trace(self, path: str):
        """Write the events as a Chrome trace: process 0 the client, process 1 the server (a ``.gz`` path: gzipped)."""
        trace = []
        for pid, label in ((0, "gradwire client"), (1, f"gradwire server (session {self.session})")):
            trace.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": label}})
            trace.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": "client" if pid == 0 else "session"}})
        for event in self:
            args = {}
            if event.input_shapes:
                args["Input Dims"] = event.input_shapes
            if event.command:
                args["Command"] = event.command
            if event.device_time_total:
                args["Device time (us)"] = round(event.device_time_total, 3)
            trace.append({
                "ph": "X", "cat": "user_annotation" if event.track == "client" else "cpu_op", "name": event.name,
                "pid": 0 if event.track == "client" else 1, "tid": 0, "ts": round(event.start_us, 3),
                "dur": round(event.cpu_time_total, 3), "args": args,
            })
        with (gzip.open if path.endswith(".gz") else open)(path, "wt") as out:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ms", "gradwireDroppedEvents": self.dropped}, out)


# --- the table ----------------------------------------------------------------------


def _format_time(us, unit=None):
    if unit == "s" or (unit is None and us >= 1e6):
        return f"{us / 1e6:.3f}s"
    if unit == "ms" or (unit is None and us >= 1e3):
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _share(part, whole):
    return "NaN" if whole == 0 else f"{part * 100.0 / whole:.2f}%"


def _trim_path(path, width):
    if len(path) > width:
        path = path[len(path) - width :]
        if len(path) > 3:
            path = "..." + path[3:]
    return path


def _table(events, sort_by, row_limit, max_name_width, max_shapes_width, max_src_width, header, top_level_only, time_unit):
    rows = list(events)
    if top_level_only:
        rows = [e for e in rows if getattr(e, "cpu_parent", None) is None]
    if sort_by is not None:
        attribute = sort_by.replace("cuda", "device").replace("gpu", "device")
        rows.sort(key=lambda e: getattr(e, attribute), reverse=True)
    if not rows:
        return ""
    has_device = any(e.self_device_time_total > 0 for e in rows)
    has_shapes = any(e.input_shapes for e in rows)
    has_stack = any(e.stack for e in rows)
    name_width = min(max(len(e.key) for e in rows) + 4, max_name_width)
    shapes_width = min(max(len(str(e.input_shapes)) for e in rows) + 4, max_shapes_width)
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if has_device:
        headers += ["Self CUDA", "Self CUDA %", "CUDA total", "CUDA time avg"]
    headers.append("# of Calls")
    widths = [name_width] + [12] * (len(headers) - 1)
    if has_shapes:
        headers.append("Input Shapes")
        widths.append(shapes_width)
    row_format = "".join(f"{{: >{w}}}  " for w in widths)
    if has_stack:
        headers.append("Source Location")
        src_width = min(max(len(e.stack[0]) for e in rows if e.stack) + 4, max_src_width)
        widths.append(src_width)
        row_format += f"{{: <{src_width}}}  "
    rule = "".join("-" * w + "  " for w in widths)
    self_cpu = sum(e.self_cpu_time_total for e in events)
    self_device = sum(e.self_device_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * len(rule), header]
    lines += [rule, row_format.format(*headers), rule]
    for event in rows[:row_limit] if row_limit is not None and row_limit >= 0 else rows:
        name = event.key
        if len(name) >= max_name_width - 3:
            name = name[: max_name_width - 3] + "..."
        cells = [name, _share(event.self_cpu_time_total, self_cpu), _format_time(event.self_cpu_time_total, time_unit),
                 _share(event.cpu_time_total, self_cpu), _format_time(event.cpu_time_total, time_unit),
                 _format_time(event.cpu_time_total / max(event.count, 1), time_unit)]
        if has_device:
            cells += [_format_time(event.self_device_time_total, time_unit), _share(event.self_device_time_total, self_device),
                      _format_time(event.device_time_total, time_unit), _format_time(event.device_time_total / max(event.count, 1), time_unit)]
        cells.append(event.count)
        if has_shapes:
            cells.append(str(event.input_shapes)[:shapes_width])
        if has_stack:
            cells.append(_trim_path(event.stack[0], src_width) if event.stack else "")
        lines.append(row_format.format(*cells))
        if has_stack:  # the outer frames below, one a line, then a blank line
            blank = [""] * (len(headers) - 1)
            lines += [row_format.format(*blank, _trim_path(frame, src_width)) for frame in event.stack[1:]]
            lines.append(row_format.format(*blank, ""))
    lines.append(rule)
    lines.append(f"Self CPU time total: {_format_time(self_cpu, time_unit)}")
    if has_device:
        lines.append(f"Self CUDA time total: {_format_time(self_device, time_unit)}")
    if events.dropped:
        lines.append(f"{events.dropped} server events dropped: a profile keeps at most {events.limit} (the server's max_profile_events)")
    return "\n".join(lines) + "\n"
