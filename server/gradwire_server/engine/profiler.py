"""One session's profile: timed events while profiling is on (``gw.profiler`` on the client).

The engine's part is small: ``Engine.profiler`` is None when off, and the backward walk times each node it
runs (``Engine._walk``) only when it is set. What runs the commands (``commands.py``) times each of them
here. Events are tuples, bounded by ``limit``: past it they are counted as dropped, not kept.

Times are ``time.perf_counter_ns()`` since the profile started; on CUDA (``device_time``) each timed call is
also bracketed by two events on the session's stream, read once, when the profile stops.
"""

from __future__ import annotations

from time import perf_counter_ns

# an event: (name, start_ns, duration_ns, device (a pair of CUDA events, or None), input shapes or None, command id)
NAME, START, DURATION, DEVICE, SHAPES, COMMAND = range(6)


class Profiler:
    """The events of one profile, at most ``limit`` of them."""

    def __init__(self, limit: int, record_shapes: bool = False, device_clock=None):
        self.limit = limit
        self.record_shapes = record_shapes
        self.device_clock = device_clock  # DeviceClock on CUDA when device time was asked for; else None
        self.events: list[tuple] = []
        self.dropped = 0
        self.command = 0  # the id of the command running now, which its events name
        self.ranges: dict[int, tuple] = {}  # an open record_function range: id -> (name, start, device mark)
        self.origin = perf_counter_ns()

    def mark(self):
        """A device event recorded now on the current stream (CUDA), or None."""
        return self.device_clock.mark() if self.device_clock is not None else None

    def add(self, name: str, start: int, end: int, shapes=None, device=None):
        """Keep one event (``start``, ``end``: ``perf_counter_ns()``; ``device``: (mark, mark) or None), or count it as dropped."""
        if len(self.events) >= self.limit:
            self.dropped += 1
            return
        self.events.append((name, start - self.origin, end - start, device, shapes, self.command))

    def timed(self, name: str, call, *args, shapes=None):
        """``call(*args)``, timed as event ``name`` (kept even when the call raises: its time was spent)."""
        mark = self.mark()
        start = perf_counter_ns()
        try:
            return call(*args)
        finally:
            end = perf_counter_ns()
            self.add(name, start, end, shapes, (mark, self.mark()) if mark is not None else None)

    def begin_range(self, range_id: int, name: str):
        self.ranges[range_id] = (name, perf_counter_ns(), self.mark())

    def end_range(self, range_id: int):
        """Close range ``range_id``; an id never begun (or begun before this profile) is ignored."""
        opened = self.ranges.pop(range_id, None)
        if opened is not None:
            name, start, mark = opened
            self.add(name, start, perf_counter_ns(), None, (mark, self.mark()) if mark is not None else None)

    def finish(self):
        """Close the ranges still open; the events with device times read (ns, -1 where none), and the end time."""
        for range_id in list(self.ranges):
            self.end_range(range_id)
        stop = perf_counter_ns() - self.origin
        clock = self.device_clock  # (each reading waits for its end event)
        events = [
            (e[NAME], e[START], e[DURATION], clock.elapsed_ns(*e[DEVICE]) if e[DEVICE] is not None else -1, e[SHAPES], e[COMMAND])
            for e in self.events
        ]
        self.events = []
        return events, self.dropped, stop

    def timed_input_grads(self, xp, traced=None):
        """The backward walk's ``input_grads(node, grad)``, each node timed under its grad_fn name
        (``traced``: create_graph's recorded rule in place of the node's own)."""
        record_shapes = self.record_shapes

        def input_grads(node, grad):
            shapes = [list(getattr(grad, "shape", ()))] if record_shapes and type(grad) is not list else None
            if traced is not None:
                return self.timed(node.name, traced, node, grad, shapes=shapes)
            return self.timed(node.name, node.input_grads, xp, grad, shapes=shapes)

        return input_grads

    def timed_accumulate(self, accumulate):
        """The walk's ``accumulate(leaf, grad)``, each call timed as ``AccumulateGrad``."""

        def timed(leaf, grad):
            shapes = [list(leaf.shape)] if self.record_shapes else None
            return self.timed("AccumulateGrad", accumulate, leaf, grad, shapes=shapes)

        return timed
