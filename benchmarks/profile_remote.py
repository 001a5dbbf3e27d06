"""Where the time of bench_remote.py's workloads goes, on the client and in the server process.

Not a benchmark (no reference, no ratio): a profiling aid for the figures that
bench_remote.py prints. It starts a server process of its own, ``profile_remote.py
--serve``, which builds the gradwire server in-process (``create_server``) with
timers around ``commands.run_batch`` (one batch of commands), around every engine
entry point that a command handler calls (``Engine.apply``, ``backward``,
``inplace``, ``index``, ...; outermost calls only), around ``Session.bind`` and
``Session.release``, and around the Upload and Download handlers. The client
runs one workload through the SDK and times its own side: the Python time spent
queueing commands, and the time blocked at the sync point. After a warm-up the
server's counters are reset (SIGUSR1); at the end the server writes them, and
its process CPU time, to a file (on SIGTERM) and this script prints both sides
per unit of work:

    client enqueue       Python time in the SDK calls before the sync point (building commands)
    client sync          time blocked in the sync call (item(), numpy(), ...): flush, round trip, server work
    server run_batch     time in commands.run_batch, of which
      engine             in the engine entry points (the arithmetic, graph recording, backward)
      bind/release       handle table bookkeeping (release also frees the tensors, and their graph)
      decode/dispatch    the rest: reading the protobuf commands, the handler table, params, results
      its thread's CPU   the CPU time of the thread running it (less than run_batch: it waited for the GIL or a core)
      to the early answer  from the batch's start to its early answer (the client's loss.item() returns then)
    server CPU           the server process's CPU time (all threads: gRPC's too), and by thread, of the
                         threads still there at the end (a Run stream's receiver has ended with its stream)

With ``--cprofile`` the client's main thread and the server's batch handling run
under cProfile too, and the top functions by own time are printed (cProfile
inflates Python-heavy code, so read those lists for shares, the timers above for
absolute figures).

Run: ``python benchmarks/profile_remote.py ops|mlp64|mlp1024|mlp64-nn|mlp1024-nn|upload|download|digits-cnn|digits-mlp [--cprofile]``
(``digits-*``: one epoch of examples/train_digits.py per unit, as bench_digits.py times it; the
syncs inside the epoch count as enqueue time there).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import signal
import sys
import tempfile
import threading
import time

import numpy as np

from bench_remote import ServerProcess, server_env  # light: no torch (see bench_remote.py)

# --- the server side ------------------------------------------------------------------

ENGINE_ENTRY_POINTS = (
    "apply", "backward", "grad", "inplace", "index", "to", "tensor", "adopt",
    "zeros", "ones", "full", "arange", "rand", "randn", "manual_seed",
)


def thread_cpu():
    """CPU seconds of each of this process's threads so far, by thread name (Linux: schedstat, in ns)."""
    by_name = {}
    python_names = {t.native_id: t.name for t in threading.enumerate()}  # gRPC's C threads: their comm
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = python_names.get(int(tid)) or f.read().strip()
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):  # the thread ended meanwhile
            continue
        name = re.sub(r"[0-9a-f]{8}|[0-9]+", "#", name)  # one line per kind of thread (gradwire-run-#-receive)
        by_name[name] = by_name.get(name, 0.0) + ns / 1e9
    return by_name


class Timers:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.totals = {}
        self.counts = {}
        self.cpu_start = time.process_time()
        self.wall_start = time.perf_counter()
        self.threads_start = thread_cpu()

    def add(self, name, seconds, count=1):
        with self.lock:
            self.totals[name] = self.totals.get(name, 0.0) + seconds
            self.counts[name] = self.counts.get(name, 0) + count


def serve(out_path, use_cprofile, capture_path=None):
    from gradwire_server import commands, servicer as servicer_module, sessions
    from gradwire_server.app import create_server, tune_garbage_collector
    from gradwire_server.config import Config
    from gradwire_server.engine import Engine

    timers = Timers()
    profile = cProfile.Profile() if use_cprofile else None
    depth = threading.local()

    def timed_entry(name, method):
        def wrapper(*args, **kwargs):
            level = getattr(depth, "n", 0)
            depth.n = level + 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                depth.n = level
                if level == 0:
                    timers.add(name, time.perf_counter() - start)

        return wrapper

    for name in ENGINE_ENTRY_POINTS:
        setattr(Engine, name, timed_entry("engine." + name, getattr(Engine, name)))
    sessions.Session.bind = timed_entry("session.bind", sessions.Session.bind)
    sessions.Session.release = timed_entry("session.release", sessions.Session.release)

    run_batch = commands.run_batch

    captured = []

    def timed_run_batch(session, batch, inline_bytes):
        if capture_path:
            captured.append(batch.SerializeToString())
        replies = run_batch(session, batch, inline_bytes)
        spent = spent_cpu = 0.0
        while True:  # time the batch's own work, not the sending of an early reply between its parts
            start, start_cpu = time.perf_counter(), time.thread_time()
            if profile:
                profile.enable()
            try:
                reply = next(replies, None)
            finally:
                if profile:
                    profile.disable()
                spent += time.perf_counter() - start
                spent_cpu += time.thread_time() - start_cpu
            if reply is None:
                break
            if reply.partial:
                timers.add("run_batch.to_early_answer", spent)
            if not reply.partial:  # the last: the caller may not ask for more
                timers.add("run_batch", spent)
                timers.add("run_batch.cpu", spent_cpu)
                timers.add("commands", 0.0, len(batch.commands))
            yield reply

    commands.run_batch = timed_run_batch  # the servicer calls commands.run_batch through the module

    upload = servicer_module.GradwireServicer.Upload
    download = servicer_module.GradwireServicer.Download

    def timed_upload(self, request_iterator, context):
        chunks = []

        def tee(iterator):
            for chunk in iterator:
                chunks.append(chunk)
                yield chunk

        start = time.perf_counter()
        try:
            return upload(self, tee(request_iterator) if capture_path else request_iterator, context)
        finally:
            timers.add("Upload handler (incl. waiting for chunks)", time.perf_counter() - start)
            if capture_path and chunks:  # for a replay, the upload as a put command, in a batch of seq 0
                from gradwire.v1 import gradwire_pb2 as pb

                from gradwire.wire import decode_chunk

                # Upload receives raw bytes: the header chunk, then hand-encoded data chunks
                header, batch = pb.TensorChunk.FromString(chunks[0]), pb.Batch(seq=0)
                put = batch.commands.add().put
                put.handle, put.requires_grad = header.handle, header.requires_grad
                put.tensor.dtype = header.meta.dtype
                put.tensor.shape.extend(header.meta.shape)
                put.tensor.data = header.data + b"".join(bytes(decode_chunk(raw)[1]) for raw in chunks[1:])
                captured.append(batch.SerializeToString())

    def timed_download(self, request, context):
        chunks = download(self, request, context)
        while True:
            start = time.perf_counter()
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            finally:
                timers.add("Download handler: making chunks", time.perf_counter() - start)
            yield chunk

    servicer_module.GradwireServicer.Upload = timed_upload
    servicer_module.GradwireServicer.Download = timed_download

    tune_garbage_collector()  # as gradwire-server does: the figures are the CLI server's
    server, port = create_server(Config(host="127.0.0.1", port=0, device="cpu"))
    server.start()
    print(f"listening on 127.0.0.1:{port} (profiling)", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: timers.reset())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(0.1):
        pass
    report = {
        "totals": timers.totals, "counts": timers.counts,
        "cpu": time.process_time() - timers.cpu_start, "wall": time.perf_counter() - timers.wall_start,
        "threads": {k: v - timers.threads_start.get(k, 0.0) for k, v in thread_cpu().items()},
    }
    if profile:
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(25)
        report["cprofile"] = text.getvalue()
    with open(out_path, "w") as f:
        json.dump(report, f)
    if capture_path:
        with open(capture_path, "wb") as f:
            for data in captured:
                f.write(len(data).to_bytes(8, "little") + data)
    server.stop(1.0)


# --- replay: captured batches through commands.run_batch, in this process, no gRPC ----------


def read_batches(path):
    from gradwire.v1 import gradwire_pb2 as pb

    batches = []
    with open(path, "rb") as f:
        while header := f.read(8):
            batches.append(pb.Batch.FromString(f.read(int.from_bytes(header, "little"))))
    return batches


def replay(path, repeats, skip, use_cprofile):
    """Run the captured batches of one session through commands.run_batch on fresh sessions,
    ``repeats`` times; time the batches after the first ``skip`` (set-up and warm-up). Prints the
    time per batch, and with the timers of ``serve`` (engine entry points, bind/release) the split
    between engine and decode/dispatch, without gRPC, threads or a client in the way."""
    from gradwire_server import commands, sessions
    from gradwire_server.engine import Backend, Engine
    from gradwire_server.quotas import SessionQuota

    batches = read_batches(path)
    backend = Backend("cpu")
    times = []
    profile = cProfile.Profile() if use_cprofile else None
    # the batches of the command stream count (seq >= 1); uploads captured as puts have seq 0
    first_timed = [i for i, b in enumerate(batches) if b.seq >= 1][skip] if skip < sum(b.seq >= 1 for b in batches) else len(batches)
    for r in range(repeats):
        session = sessions.Session("replay", "token", Engine(backend=backend))
        session.quota = SessionQuota(session, 1 << 62, 1 << 62)  # as the registry gives every session
        for i, batch in enumerate(batches):
            timed = i >= first_timed
            if timed and profile:
                profile.enable()
            start = time.perf_counter()
            for _ in commands.run_batch(session, batch, 1 << 20):
                pass
            if timed:
                times.append(time.perf_counter() - start)
                if profile:
                    profile.disable()
    return batches[first_timed:], times, profile



# --- the client side: workloads ---------------------------------------------------------


class ClientClock:
    """Client-side time: queueing commands (``enqueue``) and blocked at sync points (``sync``)."""

    def __init__(self, profile):
        self.enqueue = self.sync = 0.0
        self.profile = profile

    def run(self, enqueue, sync):
        t0 = time.perf_counter()
        if self.profile:
            self.profile.enable()
        value = enqueue()
        t1 = time.perf_counter()
        result = sync(value)
        if self.profile:
            self.profile.disable()
        t2 = time.perf_counter()
        self.enqueue += t1 - t0
        self.sync += t2 - t1
        return result


def workload_ops(s, gw, clock, repeats, chains=200):
    from bench_engine import CHAIN_OPS, op_chain

    rng = np.random.default_rng(0)
    leaves = {
        "x": s.tensor(rng.standard_normal((3, 4), dtype=np.float32), requires_grad=True),
        "b": s.tensor(rng.standard_normal((3, 4), dtype=np.float32), requires_grad=True),
        "d": s.tensor(rng.uniform(1.0, 2.0, (3, 4)).astype(np.float32), requires_grad=True),
        "w": s.tensor(rng.standard_normal((4, 3), dtype=np.float32), requires_grad=True),
    }

    def enqueue():
        for _ in range(chains):
            for t in leaves.values():
                t.grad = None
            op_chain(leaves["x"], leaves["b"], leaves["d"], leaves["w"]).backward()
        return leaves["x"].grad

    def sync(grad):
        return grad.numpy()

    def run(n):
        for _ in range(n):
            clock.run(enqueue, sync)

    return run, chains * len(CHAIN_OPS), "op"


def workload_mlp(s, gw, clock, batch, lr=0.01):
    from bench_engine import make_mlp, mlp_loss, sgd_step

    rng = np.random.default_rng(batch)
    params, _ = make_mlp(s, lr)
    x, y, rows = s.tensor(rng.standard_normal((batch, 784), dtype=np.float32)), s.tensor(rng.integers(0, 10, batch)), s.arange(batch)

    def enqueue():
        loss = mlp_loss(params, x, y, rows)
        sgd_step(params, loss, lr, gw.no_grad)
        return loss

    def sync(loss):
        return loss.item()

    def run(n):
        for _ in range(n):
            clock.run(enqueue, sync)

    return run, 1, "step"


def workload_mlp_nn(s, gw, clock, batch, lr=0.01):
    """bench_remote.py's --nn-only variant: nn.Sequential, F.cross_entropy, optim.SGD."""
    rng = np.random.default_rng(batch)
    model = gw.nn.Sequential(
        gw.nn.Linear(784, 256, session=s), gw.nn.ReLU(), gw.nn.Linear(256, 256, session=s), gw.nn.ReLU(),
        gw.nn.Linear(256, 10, session=s),
    )
    optimizer = gw.optim.SGD(model.parameters(), lr=lr)
    x, y = s.tensor(rng.standard_normal((batch, 784), dtype=np.float32)), s.tensor(rng.integers(0, 10, batch))

    def enqueue():
        loss = gw.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    def run(n):
        for _ in range(n):
            clock.run(enqueue, lambda loss: loss.item())

    return run, 1, "step"


def workload_transfer(s, gw, clock, direction, mib=256):
    array = np.random.default_rng(1).standard_normal((mib << 20) // 4, dtype=np.float32)
    held = {"t": s.tensor(array)}

    def run(n):
        for _ in range(n):
            if direction == "upload":
                held.clear()
                s.sync()  # the release of the last copy goes out
                clock.run(lambda: None, lambda _: held.setdefault("t", s.tensor(array)))
            else:
                clock.run(lambda: held["t"], lambda t: t.numpy())

    return run, 1, "transfer"


def workload_digits(s, gw, clock, mlp):
    """One training epoch of examples/train_digits.py (the CNN, or the MLP) per unit; bench_digits.py times it."""
    from bench_digits import load_example

    example = load_example()
    args = example.parse_args(["--quiet"] + (["--mlp"] if mlp else []))
    backend = example.Remote.__new__(example.Remote)  # the example's backend, on this session
    backend.gw, backend.F, backend.session, backend.stack, backend.cat = gw, gw.nn.functional, s, gw.stack, gw.cat
    backend.model = example.build_model(gw.nn, mlp, session=s)
    backend.optimizer = gw.optim.Adam(backend.model.parameters(), lr=args.lr)
    data = example.load_data(0)
    trainer = example.Trainer(backend, data, args)
    orders = np.random.default_rng(0)

    def run(n):
        for _ in range(n):
            clock.run(lambda: trainer.epoch(orders.permutation(len(data[0]))), lambda loss: loss)

    return run, 1, "epoch"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", nargs="?", choices=("ops", "mlp64", "mlp1024", "mlp64-nn", "mlp1024-nn", "upload", "download", "digits-cnn", "digits-mlp"))
    parser.add_argument(
        "--replay", action="store_true",
        help="also capture the session's batches and run them again in-process through commands.run_batch "
        "(no gRPC), next to the same work straight on the engine (ops, mlp64, mlp1024)",
    )
    parser.add_argument("--cprofile", action="store_true", help="also run both sides under cProfile and print the top functions")
    parser.add_argument("--repeats", type=int, default=0, help="units of work measured (default: per workload)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads of the server process and torch (default 1)")
    parser.add_argument("--serve", metavar="OUT", help=argparse.SUPPRESS)  # internal: the profiled server process
    parser.add_argument("--capture", metavar="FILE", help=argparse.SUPPRESS)  # internal: where --serve writes the batches
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve, args.cprofile, args.capture)
    if args.workload is None:
        parser.error("a workload is required")

    import torch
    from threadpoolctl import threadpool_limits

    import gradwire as gw

    # this process: the same thread counts as bench_remote.py (the replay and the engine-alone
    # figures run here); the server process gets them through its environment
    torch.set_num_threads(args.threads)
    threadpool_limits(limits=args.threads, user_api="blas")

    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    capture = tempfile.NamedTemporaryFile(suffix=".batches", delete=False).name if args.replay else None
    argv = [sys.executable, os.path.abspath(__file__), "--serve", out] + (["--cprofile"] if args.cprofile else [])
    argv += ["--capture", capture] if capture else []
    server = ServerProcess(argv, server_env(args.threads), "profiling server")
    client_profile = cProfile.Profile() if args.cprofile else None
    clock = ClientClock(None)
    try:
        s = gw.connect(server.address)
        if args.workload == "ops":
            run, units, unit = workload_ops(s, gw, clock, 0)
            repeats = args.repeats or 20
        elif args.workload.startswith("digits"):
            run, units, unit = workload_digits(s, gw, clock, args.workload == "digits-mlp")
            repeats = args.repeats or 10
        elif args.workload.endswith("-nn"):
            run, units, unit = workload_mlp_nn(s, gw, clock, int(args.workload[3:-3]))
            repeats = args.repeats or (300 if args.workload == "mlp64-nn" else 40)
        elif args.workload.startswith("mlp"):
            run, units, unit = workload_mlp(s, gw, clock, int(args.workload[3:]))
            repeats = args.repeats or (300 if args.workload == "mlp64" else 40)
        else:
            run, units, unit = workload_transfer(s, gw, clock, args.workload)
            repeats = args.repeats or 5
        run(2)  # warm-up
        s.sync()
        setup_batches = s._sent  # command batches sent so far (set-up and warm-up): not timed in a replay
        server.proc.send_signal(signal.SIGUSR1)  # reset the server's counters
        time.sleep(0.3)
        clock.__init__(client_profile)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        run(repeats)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        s.close()
    finally:
        server.stop()
    with open(out) as f:
        report = json.load(f)
    os.unlink(out)

    n = repeats * units
    scale, label = (1e6, "us") if unit == "op" else (1e3, "ms")
    totals, counts = report["totals"], report["counts"]
    engine = sum(v for k, v in totals.items() if k.startswith("engine."))
    bookkeeping = totals.get("session.bind", 0.0) + totals.get("session.release", 0.0)
    batch = totals.get("run_batch", 0.0)
    print(f"{args.workload}: {repeats} x {units} {unit}(s); figures in {label} per {unit}")
    print(f"  client wall            {wall / n * scale:9.2f}")
    print(f"    enqueue (SDK calls)  {clock.enqueue / n * scale:9.2f}")
    print(f"    sync (blocked)       {clock.sync / n * scale:9.2f}")
    print(f"  client CPU (process)   {cpu / n * scale:9.2f}")
    print(f"  server run_batch       {batch / n * scale:9.2f}   ({counts.get('run_batch', 0) / repeats:.1f} batches, {counts.get('commands', 0) / n:.1f} commands per {unit})")
    print(f"    its thread's CPU     {totals.get('run_batch.cpu', 0.0) / n * scale:9.2f}   (less than run_batch: the thread waited, for the GIL or a core)")
    print(f"    to the early answer  {totals.get('run_batch.to_early_answer', 0.0) / n * scale:9.2f}")
    print(f"    engine               {engine / n * scale:9.2f}")
    for k in sorted(k for k in totals if k.startswith("engine.")):
        print(f"      {k:19s}{totals[k] / n * scale:9.2f}   ({counts[k] / n:.1f} calls per {unit})")
    print(f"    bind/release         {bookkeeping / n * scale:9.2f}")
    print(f"    decode/dispatch      {(batch - engine - bookkeeping) / n * scale:9.2f}")
    for k in ("Upload handler (incl. waiting for chunks)", "Download handler: making chunks"):
        if k in totals:
            print(f"  server {k}: {totals[k] / n * scale:.2f}")
    print(f"  server CPU (process)   {report['cpu'] / n * scale:9.2f}   by thread:")
    for name, seconds in sorted(report["threads"].items(), key=lambda kv: -kv[1]):
        if seconds / n * scale >= 0.01:
            print(f"      {name:19s}{seconds / n * scale:9.2f}")
    if client_profile:
        text = io.StringIO()
        pstats.Stats(client_profile, stream=text).sort_stats("tottime").print_stats(25)
        print("\n--- client main thread, cProfile, by own time ---")
        print(text.getvalue())
        print("--- server, commands.run_batch under cProfile, by own time ---")
        print(report.get("cprofile", ""))
    if capture:
        print_replay(args, capture, setup_batches, repeats, units, scale, label, unit)
        os.unlink(capture)
    return 0


def print_replay(args, capture, setup_batches, repeats, units, scale, label, unit):
    """The captured batches again, in this process without gRPC, and the same work straight on the engine."""
    import gc

    from gradwire_server.engine import Engine, no_grad

    batches, times, profile = replay(capture, 3, setup_batches, args.cprofile)
    steady = [b for b in batches if b.commands]
    n = repeats * units
    per_repeat = sum(times) / 3
    print(f"\nreplay: the {len(steady)} batches of the measured part ({sum(len(b.commands) for b in steady)} commands), "
          f"3 times, through commands.run_batch in this process (no gRPC, no client)")
    print(f"  run_batch              {per_repeat / n * scale:9.2f} {label} per {unit}")

    # the same work straight on an engine in this process (bench_engine.py's way)
    engine = Engine(device="cpu")
    if args.workload == "ops":
        from bench_engine import op_chain

        rng = np.random.default_rng(0)
        leaves = [engine.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True) for shape in ((3, 4), (3, 4), (3, 4), (4, 3))]

        def work():
            for t in leaves:
                t.grad = None
            op_chain(*leaves).backward()

        per_unit, count = 15, 200
    elif args.workload.endswith("-nn"):  # the same layers, loss and optimizer, straight on the engine
        from gradwire_server.engine import optim

        batch = int(args.workload[3:-3])
        rng = np.random.default_rng(batch)
        sizes = ((784, 256), (256, 256), (256, 10))
        params = [engine.tensor(rng.standard_normal(shape, dtype=np.float32) * 0.05, requires_grad=True)
                  for fan_in, fan_out in sizes for shape in ((fan_out, fan_in), (fan_out,))]
        optimizer = optim.Optimizer("sgd", engine.xp)
        x, y = engine.tensor(rng.standard_normal((batch, 784), dtype=np.float32)), engine.tensor(rng.integers(0, 10, batch))

        def work():
            h = x
            for layer in range(3):
                h = engine.apply("linear", h, params[2 * layer], params[2 * layer + 1])
                h = engine.apply("relu", h) if layer < 2 else h
            loss = engine.apply("cross_entropy", h, y)
            engine.backward(loss)
            optimizer.step([optim.Group(list(enumerate(params)), lr=0.01)])
            for p in params:
                p.grad = None
            loss.item()

        per_unit, count = 1, 50 if batch <= 64 else 10
    elif not args.workload.startswith("mlp"):
        work = None  # no engine-alone reference for this workload
    else:
        from bench_engine import make_mlp, mlp_loss, sgd_step

        batch = int(args.workload[3:])
        rng = np.random.default_rng(batch)
        params, _ = make_mlp(engine, 0.01)
        x, y, rows = engine.tensor(rng.standard_normal((batch, 784), dtype=np.float32)), engine.tensor(rng.integers(0, 10, batch)), engine.arange(batch)

        def work():
            loss = mlp_loss(params, x, y, rows)
            sgd_step(params, loss, 0.01, no_grad)
            loss.item()

        per_unit, count = 1, 50 if batch <= 64 else 10
    if work is not None:
        for _ in range(count):
            work()
        gc.collect()
        samples = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(count):
                work()
            samples.append((time.perf_counter() - start) / (count * per_unit))
        samples.sort()
        print(f"  engine alone           {samples[3] * scale:9.2f} {label} per {unit} (the same work on an Engine in this process, median of 7)")
    if profile:
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(25)
        print("\n--- replay, commands.run_batch under cProfile, by own time ---")
        print(text.getvalue())


if __name__ == "__main__":
    sys.exit(main())
