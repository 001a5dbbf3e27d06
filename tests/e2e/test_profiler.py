"""gw.profiler: torch.profiler for a remote session, through a real server, against torch's own profiler where it has one.

What ran is what is listed (the ops, each backward node under its grad_fn's name, the optimizer step, with torch's
counts), times nest (self <= total, a record_function range holds what was issued inside it), a schedule records
its active steps alone, the Chrome trace has a client and a server track, the server keeps a bounded number of
events and counts the rest, one session's profile sees nothing of another's, and off it leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter

import numpy as np
import pytest

import gradwire as gw
from tests.servers import start_server

torch = pytest.importorskip("torch")

X = np.random.default_rng(7).standard_normal((5, 4)).astype(np.float32)


def _mlp(lib, session=None):
    kw = {"session": session} if lib is gw else {}
    return lib.nn.Sequential(lib.nn.Linear(4, 8, **kw), lib.nn.ReLU(), lib.nn.Linear(8, 8, **kw), lib.nn.ReLU(), lib.nn.Linear(8, 2, **kw))


def _step(lib, model, opt, x):
    opt.zero_grad()
    loss = model(x).sum()
    loss.backward()
    opt.step()
    return loss


def _server_counts(prof):
    return Counter(e.name for e in prof.events() if e.track == "server")


def _torch_counts(prof):
    """torch's names as gradwire's: aten::x -> gradwire::x, torch::autograd::AccumulateGrad -> AccumulateGrad."""
    counts = Counter()
    for e in prof.events():
        name = e.name.replace("aten::", "gradwire::").replace("torch::autograd::", "")
        counts[name] += 1
    return counts


def test_a_training_step_lists_what_ran_with_torchs_counts(session):
    model, t_model = _mlp(gw), _mlp(torch)
    opt, t_opt = gw.optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(t_model.parameters(), lr=0.1)
    x, t_x = session.tensor(X), torch.tensor(X)
    with gw.profiler.profile() as prof:
        loss = _step(gw, model, opt, x)
        loss.item()
    with torch.profiler.profile() as t_prof:
        _step(torch, t_model, t_opt, t_x)
    ours, theirs = _server_counts(prof), _torch_counts(t_prof)
    for name in ("gradwire::linear", "gradwire::relu", "AddmmBackward0", "ReluBackward0", "SumBackward0", "AccumulateGrad",
                 "Optimizer.step#SGD.step"):
        assert ours[name] == theirs[name] > 0, (name, ours[name], theirs[name])
    assert (ours["gradwire::linear"], ours["AddmmBackward0"], ours["AccumulateGrad"], ours["Optimizer.step#SGD.step"]) == (3, 3, 6, 1)
    assert ours["gradwire::backward"] == 1 and ours["gradwire::fetch"] == 1
    # the backward nodes are the grad_fns the client sees, and they ran inside the backward pass
    assert loss.grad_fn.name() in ours
    [backward] = [e for e in prof.events() if e.name == "gradwire::backward"]
    nodes = [e for e in prof.events() if e.name.endswith("Backward0") or e.name == "AccumulateGrad"]
    assert len(nodes) == 12 and all(e.cpu_parent is backward for e in nodes)
    # averaged by name, in torch's table
    averages = {a.key: a for a in prof.key_averages()}
    assert averages["gradwire::linear"].count == 3 and averages["AccumulateGrad"].count == 6
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=5)
    lines = table.splitlines()
    header = lines[1].split()
    assert header[:14] == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%", "CPU", "total", "CPU", "time", "avg"]
    assert header[-3:] == ["#", "of", "Calls"] and (("CUDA" in header) is (session.device == "cuda"))  # CUDA columns on a GPU
    on_gpu = session.device == "cuda"  # torch's table then ends with the CUDA total too
    assert len(lines) == 3 + 5 + 1 + 1 + on_gpu and lines[-1 - on_gpu].startswith("Self CPU time total: ")
    selfs = [a.self_cpu_time_total for a in sorted(averages.values(), key=lambda a: -a.self_cpu_time_total)[:5]]
    assert [line.split()[0] for line in lines[3:8]] == [a.key.split()[0] for a in sorted(averages.values(), key=lambda a: -a.self_cpu_time_total)[:5]]
    assert selfs == sorted(selfs, reverse=True)


def test_times_are_positive_self_within_total_and_the_shapes_are_the_inputs(session):
    model = _mlp(gw)
    opt = gw.optim.SGD(model.parameters(), lr=0.1)
    x = session.tensor(X)
    with gw.profiler.profile(record_shapes=True) as prof:
        _step(gw, model, opt, x).item()
    events = prof.events()
    assert len(events) > 20
    for e in events:
        assert e.cpu_time_total > 0, e
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total, e
        if session.device == "cpu":
            assert e.device_time_total == 0  # a CPU server: no device time, and no CUDA columns
    for a in prof.key_averages():
        assert 0 < a.self_cpu_time_total <= a.cpu_time_total + 1e-9 and a.cpu_time == pytest.approx(a.cpu_time_total / a.count)
    assert ("CUDA" in prof.key_averages().table()) is (session.device == "cuda")
    by_shapes = {(a.key, str(a.input_shapes)) for a in prof.key_averages(group_by_input_shape=True)}
    # torch's Input Shapes: one list per input, the weight (out, in) and the bias
    assert {("gradwire::linear", "[[5, 4], [8, 4], [8]]"), ("gradwire::linear", "[[5, 8], [8, 8], [8]]"),
            ("gradwire::linear", "[[5, 8], [2, 8], [2]]"), ("gradwire::relu", "[[5, 8]]")} <= by_shapes
    assert "Input Shapes" in prof.key_averages(group_by_input_shape=True).table()


def test_record_function_ranges_contain_what_ran_inside_them(session):
    x = session.tensor(X, requires_grad=True)

    @gw.profiler.record_function("decorated")
    def tail(y):
        return y.exp().sum()

    with gw.profiler.profile() as prof:
        with gw.profiler.record_function("forward"):
            y = (x * 2).tanh()
        loss = tail(y)
        with gw.autograd.profiler.record_function("backward_pass"):
            loss.backward()
        x.grad.sum().item()
    events = prof.events()
    ranges = {e.name: e for e in events if e.track == "server" and e.name in ("forward", "decorated", "backward_pass")}
    assert set(ranges) == {"forward", "decorated", "backward_pass"}
    inside = lambda r: sorted(e.name for e in events if e.cpu_parent is r)  # noqa: E731
    assert inside(ranges["forward"]) == ["gradwire::mul", "gradwire::tanh"]
    assert inside(ranges["decorated"]) == ["gradwire::exp", "gradwire::sum"]
    assert inside(ranges["backward_pass"]) == ["gradwire::backward"]
    for r in ranges.values():
        children = [e for e in events if e.cpu_parent is r]
        assert r.cpu_time_total >= sum(c.cpu_time_total for c in children)
        assert r.self_cpu_time_total == pytest.approx(r.cpu_time_total - sum(c.cpu_time_total for c in children))
    # the ops issued outside every range are in none
    [outer_sum] = [e for e in events if e.name == "gradwire::sum" and e.cpu_parent is None]
    assert outer_sum.start_us > ranges["backward_pass"].end_us
    # the client's side of each range, and one wait: the item() at the end, blocked until the server answered
    client = Counter(e.name for e in events if e.track == "client")
    assert client == {"[client] forward": 1, "[client] decorated": 1, "[client] backward_pass": 1, "[client] wait": 1}
    # outside a profile a range records nothing and costs no command
    before = session.stats()
    with gw.profiler.record_function("nothing"):
        pass
    assert session.stats() == before


def test_schedule_records_the_active_steps_alone(session):
    for kwargs in ({"wait": 1, "warmup": 1, "active": 2, "repeat": 1}, {"wait": 2, "warmup": 0, "active": 1, "skip_first": 3},
                   {"wait": 1, "warmup": 1, "active": 1, "skip_first": 2, "skip_first_wait": 1}):
        with pytest.warns(UserWarning, match="won't be using warmup") if not kwargs["warmup"] else contextlib.nullcontext():
            ours = gw.profiler.schedule(**kwargs)
        with pytest.warns(UserWarning, match="won't be using warmup") if not kwargs["warmup"] else contextlib.nullcontext():
            theirs = torch.profiler.schedule(**kwargs)
        assert [ours(i).name for i in range(14)] == [theirs(i).name for i in range(14)], kwargs
    x = session.tensor(X)
    saved = []

    def ready(prof):
        saved.append(Counter(e.name for e in prof.events() if e.track == "server"))

    schedule = gw.profiler.schedule(wait=1, warmup=1, active=2, repeat=2)
    with gw.profiler.profile(schedule=schedule, on_trace_ready=ready) as prof:
        for step in range(9):
            for _ in range(step + 1):  # step k runs k + 1 muls: which steps were recorded shows in the count
                x = x * 1.0
            prof.step()
    # cycles of 4 steps: 0 waits, 1 warms up, 2 and 3 are recorded; then 4, 5 and 6, 7; twice, then nothing
    assert len(saved) == 2
    assert saved[0]["gradwire::mul"] == 3 + 4 and saved[1]["gradwire::mul"] == 7 + 8
    assert {k for k in saved[0] if k.startswith("ProfilerStep#")} == {"ProfilerStep#2", "ProfilerStep#3"}
    assert {k for k in saved[1] if k.startswith("ProfilerStep#")} == {"ProfilerStep#6", "ProfilerStep#7"}
    # each ProfilerStep range holds its step's ops
    steps = {e.name: e for e in prof.events() if e.name.startswith("ProfilerStep#") and e.track == "server"}
    assert Counter(e.cpu_parent.name for e in prof.events() if e.name == "gradwire::mul") == {"ProfilerStep#6": 7, "ProfilerStep#7": 8}
    assert set(steps) == {"ProfilerStep#6", "ProfilerStep#7"}


def test_the_chrome_trace_loads_and_has_the_client_and_the_server_on_tracks_of_their_own(session, tmp_path):
    x = session.tensor(X, requires_grad=True)
    with gw.profiler.profile(record_shapes=True) as prof:
        with gw.profiler.record_function("work"):
            (x * x).sum().backward()
        x.grad.numpy()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    names = {e["pid"]: e["args"]["name"] for e in trace["traceEvents"] if e["ph"] == "M" and e["name"] == "process_name"}
    assert sorted(names.values()) == ["gradwire client", f"gradwire server (session {session.id})"]
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    by_track = {names[pid]: {e["name"] for e in spans if e["pid"] == pid} for pid in names}
    assert {"gradwire::mul", "gradwire::sum", "gradwire::backward", "MulBackward0", "AccumulateGrad", "work"} <= by_track[f"gradwire server (session {session.id})"]
    assert by_track["gradwire client"] == {"[client] work", "[client] wait"}
    assert all(e["dur"] > 0 and e["ts"] >= -1e6 for e in spans)
    [mul] = [e for e in spans if e["name"] == "gradwire::mul"]
    assert mul["args"]["Input Dims"] == [[5, 4], [5, 4]]
    assert len(spans) == len(prof.events())


@pytest.fixture(scope="module")
def small_server():
    """A server keeping 40 events a profile, answering more than 1 KiB of them through the chunked download."""
    server = start_server(device="cpu", max_profile_events=40, inline_bytes=1024)
    yield server
    server.stop(grace=1.0)


def _many_ops(s, n):
    x = s.tensor(X)
    for _ in range(n):
        x = x + 1.0
    return x.sum().item()


def test_the_event_limit_drops_and_counts_and_many_events_come_through_the_chunked_download(server, small_server):
    counts = []
    for where in (server, small_server):
        with gw.connect(where.address, seed=0, timeout=10) as s:
            assert s.limits.max_profile_events == where.config.max_profile_events
            held = s.stats()
            with gw.profiler.profile(session=s) as prof:
                _many_ops(s, 60)
            events = [e for e in prof.events() if e.track == "server"]
            counts.append((len(events), prof.events().dropped))
            assert s.stats() == held  # the events' tensor (small_server: chunked) was released
            table = prof.key_averages().table()
    (everything, none_dropped), (kept, dropped) = counts
    assert none_dropped == 0 and everything > 40
    assert kept == 40 and dropped == everything - 40
    assert f"{dropped} server events dropped: a profile keeps at most 40 (the server's max_profile_events)" in table


def test_a_profile_sees_nothing_of_another_sessions_ops(server, session):
    with gw.connect(server.address, seed=1, timeout=10) as other:
        mine, theirs = session.tensor(X), other.tensor(X)
        with gw.profiler.profile(session=session) as prof:
            (mine * 2).sum().item()
            (theirs.exp() + 1).sum().item()  # the other session's: not in this profile
            other.sync()
        names = _server_counts(prof)
        assert names["gradwire::mul"] == 1 and names["gradwire::sum"] == 1
        assert "gradwire::exp" not in names and "gradwire::add" not in names and "gradwire::sync" not in names
        # its own profile, at the same time, is its own
        with gw.profiler.profile(session=other) as prof_other:
            (theirs.exp() + 1).sum().item()
        assert _server_counts(prof_other)["gradwire::exp"] == 1 and "gradwire::mul" not in _server_counts(prof_other)


def test_profiling_off_leaves_nothing_on_the_server(session):
    x = session.tensor(X, requires_grad=True)
    (x * 3).sum().backward()
    before = session.stats()
    assert before["profile_events"] == 0  # never profiled: nothing collected
    prof = gw.profiler.profile()
    prof.start()
    (x * 3).sum().backward()
    during = session.stats()
    assert during["profile_events"] >= 4  # mul, sum, backward and its nodes, collected on the server as they ran
    prof.stop()
    after = session.stats()
    assert after == {**before, "profile_events": 0}
    names = _server_counts(prof)
    assert names["gradwire::mul"] == 1 and names["MulBackward0"] == 1
    # ops before the start and after the stop are in no profile
    (x * 3).sum().backward()
    assert _server_counts(prof) == names
    prof2 = gw.profiler.profile()
    prof2.start()
    prof2.stop()
    assert set(_server_counts(prof2)) <= {"gradwire::release"}  # (the tensors collected meanwhile are freed: the server's work)


def test_the_legacy_alias(session):
    x = session.tensor(X, requires_grad=True)
    with gw.autograd.profiler.profile(record_shapes=True) as prof:
        with gw.autograd.profiler.record_function("label"):
            (x * x).sum().backward()
    assert {"label", "gradwire::mul", "MulBackward0"} <= {a.key for a in prof.key_averages()}
    assert "gradwire::mul" in prof.table(sort_by="cpu_time_total")
    off = gw.autograd.profiler.profile(enabled=False)
    with off:
        (x * x).sum().item()
    assert list(off.key_averages()) == [] and list(torch.autograd.profiler.profile().key_averages()) == []


def _raises_like(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as got:
        ours()
    assert str(got.value) == str(expected.value).splitlines()[0], (str(got.value), str(expected.value))


@pytest.mark.parametrize("call", [
    lambda lib: lib.profiler.schedule(wait=-1, warmup=0, active=1),
    lambda lib: lib.profiler.schedule(wait=0, warmup=0, active=0),
    lambda lib: lib.profiler.schedule(wait=0, warmup=-1, active=1),
    lambda lib: lib.profiler.schedule(wait=0, warmup=0, active=1, repeat=-1),
    lambda lib: lib.profiler.schedule(wait=0, warmup=0, active=1, skip_first=-1),
    lambda lib: lib.profiler.schedule(0, 0, 1),
    lambda lib: lib.profiler.schedule(wait=1, warmup=1, active=1)(-1),
    lambda lib: lib.profiler.profile(activities=["cpu"]),
    lambda lib: lib.profiler.profile(activities=[]),
    lambda lib: lib.profiler.profile(record_shapes=True, with_everything=True),
    lambda lib: lib.profiler.profile().key_averages(),
    lambda lib: lib.profiler.profile().events(),
    lambda lib: lib.profiler.profile().export_chrome_trace("/dev/null"),
    lambda lib: lib.profiler.record_function(),
])
def test_bad_arguments_give_torchs_errors(session, call):
    _raises_like(lambda: call(gw), lambda: call(torch))


def test_bad_table_arguments_and_names_give_torchs_errors(session):
    with gw.profiler.profile() as prof:
        (session.tensor(X) * 2).sum().item()
    with torch.profiler.profile() as t_prof:
        (torch.tensor(X) * 2).sum().item()
    _raises_like(lambda: prof.key_averages().table(sort_by="bogus"), lambda: t_prof.key_averages().table(sort_by="bogus"))

    def named(lib, prof_lib):
        with prof_lib.profile():
            with lib.profiler.record_function(3):
                pass

    _raises_like(lambda: named(gw, gw.profiler), lambda: named(torch, torch.profiler))


class _FakeDeviceClock:
    """Stands in for the CUDA events of a GPU server (engine/backend.py's DeviceClock): marks are the host's clock."""

    def mark(self):
        return time.perf_counter_ns()

    def elapsed_ns(self, start, end):
        return end - start


def test_device_time_fills_the_cuda_columns(session, monkeypatch):
    """The CUDA columns' plumbing on a CPU server, its device clock faked (the CUDA events themselves: tests/gpu)."""
    from gradwire_server.engine.backend import Backend

    monkeypatch.setattr(Backend, "device_clock", lambda self: _FakeDeviceClock())
    x = session.tensor(X, requires_grad=True)
    with gw.profiler.profile(activities=[gw.profiler.ProfilerActivity.CPU]) as prof:
        (x * 2).sum().backward()
    assert all(e.device_time_total == 0 for e in prof.events()) and "CUDA" not in prof.key_averages().table()
    with gw.profiler.profile(activities=[gw.profiler.ProfilerActivity.CPU, gw.profiler.ProfilerActivity.CUDA]) as prof:
        with gw.profiler.record_function("timed"):
            (x * 2).sum().backward()
        x.grad.sum().item()
    server = [e for e in prof.events() if e.track == "server"]
    assert all(e.device_time_total > 0 and 0 <= e.self_device_time_total <= e.device_time_total for e in server)
    [timed] = [e for e in server if e.name == "timed"]
    assert timed.self_device_time_total < timed.device_time_total  # its ops' device time is theirs
    lines = prof.key_averages().table(sort_by="self_cuda_time_total").splitlines()
    assert "Self CUDA   Self CUDA %    CUDA total  CUDA time avg    # of Calls" in lines[1]
    assert lines[-1].startswith("Self CUDA time total: ")


def test_one_profile_at_a_time(session):
    with gw.profiler.profile():
        with pytest.raises(RuntimeError, match="recording already"):
            gw.profiler.profile().start()


def _forward(x):
    return (x * 2).tanh().sum()  # the line the mul and the tanh are issued at


def test_with_stack_names_the_lines_that_issued_each_command(session):
    import inspect

    x = session.tensor(X, requires_grad=True)
    here = inspect.getsourcefile(_forward)
    issued_at = inspect.getsourcelines(_forward)[1] + 1
    with gw.profiler.profile(with_stack=True) as prof:
        forward_line = inspect.currentframe().f_lineno + 1
        loss = _forward(x)
        backward_line = inspect.currentframe().f_lineno + 1
        loss.backward()
        x.grad.numpy()
    by_name = {e.name: e for e in prof.events() if e.track == "server"}
    assert by_name["gradwire::mul"].stack[0] == f"{here}({issued_at}): _forward"
    assert by_name["gradwire::mul"].stack[1] == f"{here}({forward_line}): test_with_stack_names_the_lines_that_issued_each_command"
    assert by_name["TanhBackward0"].stack[0] == by_name["gradwire::backward"].stack[0] == f"{here}({backward_line}): test_with_stack_names_the_lines_that_issued_each_command"
    averages = prof.key_averages(group_by_stack_n=1)
    assert [a.stack for a in averages if a.key == "gradwire::tanh"] == [[f"{here}({issued_at}): _forward"]]
    table = averages.table(sort_by="cpu_time_total")
    assert "Source Location" in table.splitlines()[1] and f"({issued_at}): _forward" in table
    # without with_stack, no stacks and no column
    with gw.profiler.profile() as plain:
        _forward(x).item()
    assert all(e.stack == [] for e in plain.events()) and "Source Location" not in plain.key_averages().table()


def test_tensorboard_trace_handler_writes_a_trace_a_cycle(session, tmp_path):
    handler = gw.profiler.tensorboard_trace_handler(str(tmp_path / "logs"), worker_name="w")
    x = session.tensor(X)
    with gw.profiler.profile(schedule=gw.profiler.schedule(wait=0, warmup=1, active=1, repeat=3), on_trace_ready=handler) as prof:
        for _ in range(6):
            (x * 2).sum().item()
            prof.step()
    files = sorted((tmp_path / "logs").iterdir())
    assert len(files) == 3 and all(f.name.startswith("w.") and f.name.endswith(".pt.trace.json") for f in files)
    for f in files:
        names = {e["name"] for e in json.loads(f.read_text())["traceEvents"]}
        assert {"gradwire::mul", "gradwire::sum", "gradwire::fetch", "[client] wait"} <= names


def test_acc_events_keeps_every_cycle_and_a_failed_command_ends_the_profile(session):
    x = session.tensor(X)
    schedule = gw.profiler.schedule(wait=0, warmup=1, active=1, repeat=2)
    with gw.profiler.profile(schedule=schedule, acc_events=True) as prof:
        for _ in range(4):
            (x * 2).sum().item()
            prof.step()
    events = prof.events()
    assert _server_counts(prof)["gradwire::mul"] == 2 and [e.name for e in events if e.name.startswith("ProfilerStep")] == ["ProfilerStep#1", "ProfilerStep#3"]
    first, second = [e for e in events if e.name == "ProfilerStep#1"][0], [e for e in events if e.name == "ProfilerStep#3"][0]
    assert first.end_us <= second.start_us  # one time axis for both cycles
    assert all(len(e.cpu_children) == len(set(map(id, e.cpu_children))) for e in events)
    # an op that fails inside a profile: its error comes up at the stop, and the profile (and the server's collection) is over
    with pytest.raises(gw.InvalidArgumentError):
        with gw.profiler.profile():
            x @ session.tensor(np.ones((3, 3), np.float32))
    assert session.stats()["profile_events"] == 0
    with gw.profiler.profile() as again:
        (x * 2).sum().item()
    assert _server_counts(again)["gradwire::mul"] == 1
