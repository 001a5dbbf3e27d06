"""Remote benchmark: gradwire through a server process on loopback, against local references, in one run.

The benchmark starts ``python -m gradwire_server --host 127.0.0.1 --port 0
--device cpu`` as a subprocess (stopped with SIGTERM at the end) and talks to it
through the SDK, as a user would. Three measurements, each printed with its
reference and their ratio:

(a) tiny pipelined ops: the op chain of ``bench_engine.py`` (15 ops on 3x4
    float32 tensors that require grad, forward and backward) run ``--op-chains``
    times in a row with a single sync at the end (reading a gradient's
    ``numpy()``), in microseconds per op, against the same chains in local
    PyTorch (CPU). Target: within 3x. For context, the same chain with a sync
    after each chain, and with a synchronous round trip (``session.sync()``)
    after every op and after backward, against the same torch chain and against
    torch's forward alone; and the round trip of a bare gRPC stream (16 bytes
    echoed by the bare server of part (c), fed as the SDK feeds its stream).
(b) one training step of a 784-256-256-10 ReLU MLP at batch 64 and 1024:
    forward, cross-entropy (log_softmax(1), ``logp[arange, targets]``, negated
    mean), backward, SGD ``p -= lr * p.grad`` under ``gw.no_grad()``,
    ``p.grad = None``, and ``loss.item()`` every step; against the same model in
    local PyTorch (``nn.Linear``, ``F.cross_entropy``, ``loss.item()``) from the
    same initial weights. The input batch and its targets are uploaded once and
    reused, as a data loader that keeps its batches on the server would; a
    variant uploads the input batch at every step. A third variant is written as
    a PyTorch user writes it, on both sides: ``nn.Sequential`` of ``nn.Linear``
    and ``nn.ReLU``, ``F.cross_entropy``, ``optim.SGD``'s ``step()`` (one command
    on the server) and ``zero_grad()``. Targets: within 1.2x at batch 64, 1.05x
    at batch 1024. For context at batch 64, that variant again in samples of
    200 steps: a 20-step sample starts right after the other side's turn, and
    its first steps pay the wake-up of a server gone idle; a loop that never
    pauses does not.
(c) upload and download of ``--transfer-mib`` MiB (256 by default):
    ``session.tensor(array)`` (the chunked Upload stream) and ``numpy()`` back
    (a fetch, then the chunked Download stream), against a bare gRPC byte stream
    in its own server process: generic handlers, raw ``bytes`` messages (no
    protobuf), the same chunk size; its receiver counts the bytes and keeps none,
    its sender slices them from a buffer it holds. It runs under the same glibc
    malloc thresholds as the gradwire server (see ``raw_server_main``). Target:
    gradwire at least 80% of the bare throughput each way. For context, a third
    side: the same bare stream whose receiver stores what it receives, each
    message copied into one buffer held across calls (the upload's server, the
    download's client), as gradwire's receivers copy the chunks into the tensor's
    memory: the difference between the two bare sides is what that one copy costs.

Each part asserts first that both sides compute or carry the same values. Samples
of the two sides alternate (swapping which goes first every repeat), after a
warm-up; figures are medians. Threads are equal: the server process gets
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` set to
``--threads``; in this process threadpoolctl limits NumPy's BLAS and
``torch.set_num_threads`` torch's pool to the same number (1 by default). The
client, the server and the torch reference share the machine's cores: while
gradwire runs, the client and the server process are two processes, each with
its own Python interpreter; while torch runs, the server is idle. CPU time per
unit of work of the client process and of the server process are printed too,
to say which side a remote figure is spent on. The code measured is the
checkout this file is in (its client/ and server/ go first on the path, here
and in the server processes), whatever copy of gradwire is installed.

Run: ``python benchmarks/bench_remote.py`` (``--quick`` for a smoke run of about 10 s; a full run takes about 40 s with one thread).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import queue
import resource
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # needed to pin NumPy's BLAS threads in this process
    sys.exit("bench_remote.py needs threadpoolctl: pip install threadpoolctl")

import grpc

# The checkout this file lives in is what is measured, whatever copy of gradwire is installed:
# its client/ and server/ go first on the path here and in the server processes.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKOUT_PATHS = [os.path.join(_ROOT, "client"), os.path.join(_ROOT, "server")]
for _path in reversed(CHECKOUT_PATHS):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# The workloads are bench_engine.py's, so that the two benchmarks measure the same work. They are
# imported where used, not here: bench_engine imports torch, and the bare server process (this
# file with --raw-server) and profile_remote.py's server process should carry no more than the
# plain gradwire server does.

STEADY_STEPS, STEADY_REPEATS = 200, 7  # the context line of (b)'s nn form at small batches
RAW_SERVICE = "gradwire_bench.RawBytes"  # the bare reference of part (c)
TOTAL_BYTES_HEADER = "x-total-bytes"  # the size of a stored upload, for its receiver's buffer
_MESSAGE_BYTES = 64 << 20  # the SDK's channel options, used for the bare channel too
_CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- processes ----------------------------------------------------------------------


class ServerProcess:
    """A server in a subprocess that prints ``listening on HOST:PORT ...`` once ready; stopped with SIGTERM."""

    def __init__(self, argv, env, name, start_timeout=120.0):
        self.name = name
        self.log = tempfile.TemporaryFile(mode="w+")  # its log; not a pipe, which could fill and block it
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.line = self._wait_for_ready_line(start_timeout)  # "listening on HOST:PORT (device ...)"
        self.address = self.line.split()[2]

    def _wait_for_ready_line(self, timeout):
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if sel.select(timeout=0.5):
                    line = self.proc.stdout.readline()
                    if line.startswith("listening on "):
                        return line.strip()
                    if not line and self.proc.poll() is not None:
                        break
                elif self.proc.poll() is not None:
                    break
        self.stop()
        raise RuntimeError(f"{self.name} did not start (exit status {self.proc.returncode}); its log:\n{self.log_tail()}")

    def log_tail(self, n=3000):
        self.log.seek(0)
        return self.log.read()[-n:]

    def cpu_and_faults(self):
        """(CPU seconds, user + system, all threads; minor page faults) of the process so far, from /proc."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is field 3 (state): minflt is field 10, utime 14, stime 15
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK, int(fields[7])

    def stop(self, timeout=30.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode


def code_version():
    """'<commit>' of the checkout, with ' + uncommitted changes in client/, server/, proto/' where there are some."""
    root = _ROOT
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "client", "server", "proto"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return (commit or "unknown") + (" + uncommitted changes in client/, server/, proto/" if dirty else "") + compiled_modules()


def compiled_modules():
    """'; server hot path: N of M modules compiled', as the server processes (same path) will find them."""
    try:
        from gradwire_server import compiled
    except ImportError:  # a checkout from before the compiled hot path
        return ""
    modules = compiled.status()
    return f"; server hot path: {sum(state == 'compiled' for state in modules.values())} of {len(modules)} modules compiled"


def server_env(threads):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(CHECKOUT_PATHS + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def self_cpu_and_faults():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_minflt


# --- the bare gRPC byte stream: server (run in its own process) and client -----------------


def raw_server_main(chunk_bytes, max_workers=4):
    """``bench_remote.py --raw-server``: a minimal gRPC server of raw bytes on a loopback port.

    Upload (stream -> unary): counts the bytes received and answers their number (8 bytes).
    UploadStored (stream -> unary): as Upload, and copies each message into one buffer of the
    size the metadata ``x-total-bytes`` gives (held across calls, as gradwire's server reuses
    its host buffers): what any receiver of a tensor has to do with the bytes.
    Download (unary -> stream): the request is a byte count n; sends n bytes in ``chunk_bytes``
    messages, each sliced from a buffer held in memory (allocated and touched at the first
    request of that size).
    Echo (stream -> stream): answers every message with itself (a round trip on an open stream).

    The process runs under the same glibc malloc thresholds as the gradwire server, which sets
    them process-wide when its NumPy backend starts (``keep_freed_host_memory``); with glibc's
    defaults this server page-faults in every megabyte it receives, and the reference would be
    slower for a reason that is not gRPC's.
    """
    from concurrent import futures

    from gradwire_server.engine.backend import keep_freed_host_memory

    kept = keep_freed_host_memory()
    buffers = {}  # Download's, by size
    kept_upload = {}  # UploadStored's buffer

    def echo(request_iterator, context):
        yield from request_iterator

    def upload(request_iterator, context):
        total = 0
        for chunk in request_iterator:
            total += len(chunk)
        return total.to_bytes(8, "little")

    def upload_stored(request_iterator, context):
        total = int(dict(context.invocation_metadata())[TOTAL_BYTES_HEADER])
        if kept_upload.get("buffer", np.empty(0)).size != total:
            kept_upload["buffer"] = np.full(total, 7, dtype=np.uint8)
        stored = kept_upload["buffer"]
        filled = 0
        for chunk in request_iterator:
            stored[filled : filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            filled += len(chunk)
        return filled.to_bytes(8, "little")

    def download(request, context):
        n = int.from_bytes(request, "little")
        if n not in buffers:
            buffers.clear()
            buffers[n] = np.full(n, 7, dtype=np.uint8)
        flat = memoryview(buffers[n])
        for offset in range(0, n, chunk_bytes):
            yield bytes(flat[offset : offset + chunk_bytes])

    handler = grpc.method_handlers_generic_handler(RAW_SERVICE, {
        "Upload": grpc.stream_unary_rpc_method_handler(upload),
        "UploadStored": grpc.stream_unary_rpc_method_handler(upload_stored),
        "Download": grpc.unary_stream_rpc_method_handler(download),
        "Echo": grpc.stream_stream_rpc_method_handler(echo),
    })
    options = [("grpc.max_receive_message_length", _MESSAGE_BYTES), ("grpc.max_send_message_length", _MESSAGE_BYTES)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), handlers=(handler,), options=options)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"listening on 127.0.0.1:{port} (raw bytes, chunks of {chunk_bytes} bytes, malloc thresholds raised: {kept})", flush=True)
    stopped = {"now": False}

    def stop(*_):
        stopped["now"] = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    while not stopped["now"]:
        time.sleep(0.1)
    server.stop(0).wait()


class RawClient:
    def __init__(self, address, chunk_bytes):
        options = [("grpc.max_send_message_length", _MESSAGE_BYTES), ("grpc.max_receive_message_length", _MESSAGE_BYTES)]
        self.channel = grpc.insecure_channel(address, options=options)
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.chunk_bytes = chunk_bytes
        self._upload = self.channel.stream_unary(f"/{RAW_SERVICE}/Upload")  # no (de)serializers: raw bytes
        self._download = self.channel.unary_stream(f"/{RAW_SERVICE}/Download")
        self._upload_stored = self.channel.stream_unary(f"/{RAW_SERVICE}/UploadStored")
        self._stored = np.empty(0, dtype=np.uint8)  # download_stored's buffer, reused as the SDK's BufferPool reuses

    def _chunks(self, array):
        """The array's bytes as ``bytes`` messages (each copied from it, as the SDK does)."""
        flat = memoryview(np.ascontiguousarray(array)).cast("B")
        step = self.chunk_bytes
        return (bytes(flat[o : o + step]) for o in range(0, len(flat), step))

    def upload(self, array):
        """Send the array's bytes; return the count received."""
        return int.from_bytes(self._upload(self._chunks(array)), "little")

    def download(self, nbytes):
        """Receive ``nbytes`` bytes; return the count received (the chunks are not kept)."""
        return sum(len(chunk) for chunk in self._download(nbytes.to_bytes(8, "little")))

    def upload_stored(self, array):
        """``upload``, to a receiver that copies the bytes into one buffer; return the count received."""
        reply = self._upload_stored(self._chunks(array), metadata=((TOTAL_BYTES_HEADER, str(array.nbytes)),))
        return int.from_bytes(reply, "little")

    def download_stored(self, nbytes):
        """``download``, copying the chunks into one buffer (kept for the next call); return the count received."""
        if self._stored.size != nbytes:
            self._stored = np.empty(nbytes, dtype=np.uint8)
        filled = 0
        for chunk in self._download(nbytes.to_bytes(8, "little")):
            self._stored[filled : filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            filled += len(chunk)
        return filled

    def round_trip(self, n):
        """Seconds per round trip of a 16-byte message on one open stream, fed and read as the SDK's
        command stream is (a queue-fed request iterator; ``next()`` on the replies), over ``n`` round trips."""
        requests = queue.SimpleQueue()
        replies = self.channel.stream_stream(f"/{RAW_SERVICE}/Echo")(iter(requests.get, None))
        message = bytes(16)
        requests.put(message)
        next(replies)  # the stream is open
        start = time.perf_counter()
        for _ in range(n):
            requests.put(message)
            next(replies)
        elapsed = (time.perf_counter() - start) / n
        requests.put(None)
        for _ in replies:
            pass
        return elapsed

    def close(self):
        self.channel.close()


# --- timing -------------------------------------------------------------------------


def interleaved(runners, repeats, settle=0.0, server=None):
    """Seconds per sample of each runner (a runner is one whole sample); the runners alternate within every repeat.

    Returns ``{name: [seconds, ...]}`` and ``{name: {"client_cpu", "server_cpu", "client_faults",
    "server_faults"}}``, each a total over the repeats. ``settle`` seconds of sleep before each sample
    let idle BLAS/OpenMP pools stop spinning (see bench_engine.py).
    """
    samples = {name: [] for name in runners}
    usage = {name: dict(client_cpu=0.0, server_cpu=0.0, client_faults=0, server_faults=0) for name in runners}
    for r in range(repeats):
        order = list(runners.items()) if r % 2 == 0 else list(reversed(runners.items()))
        for name, run in order:
            if settle:
                time.sleep(settle)
            c0, cf0 = self_cpu_and_faults()
            s0, sf0 = server.cpu_and_faults() if server else (0.0, 0)
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
            c1, cf1 = self_cpu_and_faults()
            s1, sf1 = server.cpu_and_faults() if server else (0.0, 0)
            u = usage[name]
            u["client_cpu"] += c1 - c0
            u["server_cpu"] += s1 - s0
            u["client_faults"] += cf1 - cf0
            u["server_faults"] += sf1 - sf0
    return samples, usage


def summarize(measured, ours, ref, per_sample):
    """Medians divided by ``per_sample`` (units of work in one sample: a number, or a number per side),
    the ratio ours / ref, the paired ratio, and CPU seconds and page faults per unit of work (client and
    server process) for each side."""
    samples, usage = measured
    if not isinstance(per_sample, dict):
        per_sample = dict.fromkeys(samples, per_sample)
    a = [t / per_sample[ours] for t in samples[ours]]
    b = [t / per_sample[ref] for t in samples[ref]]
    units = {name: per_sample[name] * len(s) for name, s in samples.items()}
    return {
        ours: statistics.median(a),
        ref: statistics.median(b),
        "ratio": statistics.median(a) / statistics.median(b),
        "paired": statistics.median(x / y for x, y in zip(a, b)),
        "usage": {name: {k: v / units[name] for k, v in u.items()} for name, u in usage.items()},
    }


def usage_line(usage, scale, unit, sides):
    parts = []
    for side in sides:
        u = usage[side]
        parts.append(f"{side}: client {u['client_cpu'] * scale:.1f}, server {u['server_cpu'] * scale:.1f}")
    return f"CPU {unit} per unit of work (client process, server process): " + "; ".join(parts)


# --- (a) tiny ops ---------------------------------------------------------------------


def op_chain_synced(x, b, d, w, sync):
    """``op_chain`` with ``sync()`` after every op: a synchronous round trip per op."""
    a = x + b
    sync()
    a = a * x
    sync()
    a = a - b
    sync()
    a = a / d
    sync()
    a = a * 0.5
    sync()
    a = a.exp()
    sync()
    a = a.tanh()
    sync()
    a = a.sigmoid()
    sync()
    a = a - 0.6
    sync()
    a = a.relu()
    sync()
    a = -a
    sync()
    a = a @ w
    sync()
    a = a.log_softmax(1)
    sync()
    a = a.mean(0)
    sync()
    a = a.sum()
    sync()
    return a


def bench_ops(session, torch, chains, repeats, synced_chains, synced_repeats, settle, server):
    from bench_engine import CHAIN_OPS, chain_inputs, op_chain

    arrays = chain_inputs()
    gw_leaves = {k: session.tensor(v, requires_grad=True) for k, v in arrays.items()}
    th_leaves = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    leaves_of = {"gradwire": gw_leaves, "torch": th_leaves}
    nothing = lambda: None  # noqa: E731

    def chain(leaves, sync=None):
        for t in leaves.values():
            t.grad = None
        if sync is None:
            loss = op_chain(leaves["x"], leaves["b"], leaves["d"], leaves["w"])
            loss.backward()
        else:
            loss = op_chain_synced(leaves["x"], leaves["b"], leaves["d"], leaves["w"], sync)
            loss.backward()
            sync()
        return loss

    def pipelined(name, n):
        leaves = leaves_of[name]

        def sample():
            for _ in range(n):
                chain(leaves)
            return leaves["x"].grad.numpy()  # the one sync point of the sample

        return sample

    def per_chain_sync(name, n):
        leaves = leaves_of[name]

        def sample():
            for _ in range(n):
                chain(leaves)
                leaves["x"].grad.numpy()  # a sync point after every chain

        return sample

    def per_op_sync(name, n):
        leaves = leaves_of[name]
        sync = session.sync if name == "gradwire" else nothing

        def sample():
            for _ in range(n):
                chain(leaves, sync)
            leaves["x"].grad.numpy()

        return sample

    def torch_forward(n):
        leaves = th_leaves

        def sample():
            for _ in range(n):
                op_chain(leaves["x"], leaves["b"], leaves["d"], leaves["w"])  # graph recorded, no backward

        return sample

    # the two sides compute the same thing, pipelined and synced
    for sync in (None, session.sync):
        loss_g, loss_t = chain(gw_leaves, sync), chain(th_leaves, nothing if sync else None)
        assert np.allclose(loss_g.item(), loss_t.item(), rtol=1e-5, atol=1e-6), (loss_g.item(), loss_t.item())
        for k in arrays:
            assert np.allclose(gw_leaves[k].grad.numpy(), th_leaves[k].grad.numpy(), rtol=1e-4, atol=1e-6), k

    # torch runs `chains` chains per sample in every variant: a sample of a few chains would
    # time little more than the timer
    results = {}
    for label, make, n, reps in (
        ("pipelined", pipelined, chains, repeats),
        ("sync per chain", per_chain_sync, max(1, chains // 10), repeats),
        ("sync per op", per_op_sync, synced_chains, synced_repeats),
    ):
        runners = {"gradwire": make("gradwire", n), "torch": make("torch", chains)}
        per_sample = {"gradwire": n * len(CHAIN_OPS), "torch": chains * len(CHAIN_OPS)}
        if label == "sync per op":  # a round trip per op against a torch op forward only, too
            runners["torch forward"] = torch_forward(chains)
            per_sample["torch forward"] = chains * len(CHAIN_OPS)
        interleaved(runners, 1, settle)  # warm-up
        measured = interleaved(runners, reps, settle, server)
        result = summarize(measured, "gradwire", "torch", per_sample)
        if label == "sync per op":
            forward = statistics.median(measured[0]["torch forward"]) / per_sample["torch forward"]
            result["torch forward"], result["forward ratio"] = forward, result["gradwire"] / forward
        results[label] = result, n, reps
    return results


# --- (b) MLP step ---------------------------------------------------------------------


def bench_mlp(session, gw, torch, batch, repeats, inner, settle, server, upload_each_step, lr=0.01):
    from bench_engine import make_mlp, mlp_loss, sgd_step, torch_nn_step

    rng = np.random.default_rng(batch)
    x_np = rng.standard_normal((batch, 784), dtype=np.float32)
    y_np = rng.integers(0, 10, batch)
    params, model = make_mlp(session, lr)  # session.tensor(array, requires_grad=True), as engine.tensor
    x_g, y_g, rows_g = session.tensor(x_np), session.tensor(y_np), session.arange(batch)  # uploaded once
    x_t, y_t = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def gradwire_step():
        x = session.tensor(x_np) if upload_each_step else x_g
        loss = mlp_loss(params, x, y_g, rows_g)
        sgd_step(params, loss, lr, gw.no_grad)
        return loss.item()

    def torch_step():
        return torch_nn_step(model, x_t, y_t, lr).item()

    result = time_training_steps(gradwire_step, torch_step, repeats, inner, settle, server)
    del params, x_g, y_g, rows_g
    gc.collect()
    session.sync()  # the releases go out now, not inside the next measurement
    return result


def bench_mlp_nn(session, gw, torch, batch, repeats, inner, settle, server, lr=0.01):
    """(b) as a PyTorch user writes it on both sides: nn.Sequential of nn.Linear and nn.ReLU,
    F.cross_entropy, optim.SGD's step() and zero_grad(), loss.item() every step."""
    import gradwire.nn.functional as gw_F

    rng = np.random.default_rng(batch)
    x_np = rng.standard_normal((batch, 784), dtype=np.float32)
    y_np = rng.integers(0, 10, batch)
    torch.manual_seed(0)
    model_t = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)
    )
    model_g = gw.nn.Sequential(
        gw.nn.Linear(784, 256, session=session), gw.nn.ReLU(), gw.nn.Linear(256, 256, session=session), gw.nn.ReLU(),
        gw.nn.Linear(256, 10, session=session),
    )
    model_g.load_state_dict(model_t.state_dict())
    opt_t, opt_g = torch.optim.SGD(model_t.parameters(), lr=lr), gw.optim.SGD(model_g.parameters(), lr=lr)
    x_g, y_g = session.tensor(x_np), session.tensor(y_np)  # uploaded once
    x_t, y_t = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def gradwire_step():
        loss = gw_F.cross_entropy(model_g(x_g), y_g)
        loss.backward()
        opt_g.step()
        opt_g.zero_grad()
        return loss.item()

    def torch_step():
        loss = torch.nn.functional.cross_entropy(model_t(x_t), y_t)
        loss.backward()
        opt_t.step()
        opt_t.zero_grad()
        return loss.item()

    result = time_training_steps(gradwire_step, torch_step, repeats, inner, settle, server)
    del model_g, opt_g, x_g, y_g
    gc.collect()
    session.sync()
    return result


def time_training_steps(gradwire_step, torch_step, repeats, inner, settle, server):
    """Check that both sides do the same work (equal losses on the first step and on the next,
    after one update), then time ``inner`` steps a sample, the sides alternating.
    Returns the summary and the losses of the checked steps."""
    for step in range(2):
        losses = gradwire_step(), torch_step()
        assert abs(losses[0] - losses[1]) <= 1e-4 * max(1.0, abs(losses[1])), f"step {step}: gradwire, torch losses {losses}"

    def steps(step):
        def sample():
            for _ in range(inner):
                step()

        return sample

    runners = {"gradwire": steps(gradwire_step), "torch": steps(torch_step)}
    interleaved(runners, 1, settle)  # warm-up
    return summarize(interleaved(runners, repeats, settle, server), "gradwire", "torch", inner), losses


# --- (c) transfers --------------------------------------------------------------------


def bench_transfer(session, raw, server, raw_server, mib, repeats):
    nbytes = mib << 20
    array = np.random.default_rng(1).standard_normal(nbytes // 4, dtype=np.float32)
    chunk = session.limits.chunk_bytes

    # the same bytes arrive both ways, and the bare stream carries as many
    t = session.tensor(array)
    back = t.numpy()
    assert back.shape == array.shape and back.dtype == array.dtype and np.array_equal(back, array), "gradwire round trip"
    del back
    assert raw.upload(array) == nbytes and raw.download(nbytes) == nbytes, "bare round trip"
    assert raw.upload_stored(array) == nbytes and raw.download_stored(nbytes) == nbytes, "bare round trip, stored"

    held = {"t": t}
    nothing = lambda: None  # noqa: E731

    def gw_free():  # before each timed upload, untimed: the server frees the last uploaded copy
        held.pop("t", None)
        gc.collect()
        session.sync()  # sends the release

    def gw_up():
        start = time.perf_counter()
        held["t"] = session.tensor(array)
        return time.perf_counter() - start

    def gw_down():
        start = time.perf_counter()
        out = held["t"].numpy()
        elapsed = time.perf_counter() - start
        assert out.nbytes == nbytes
        return elapsed

    def bare(transfer, arg):  # one timed transfer of the bare stream, which must carry every byte
        def sample():
            start = time.perf_counter()
            assert transfer(arg) == nbytes
            return time.perf_counter() - start

        return sample

    procs = {"gradwire": server, "bare": raw_server, "stored": raw_server}
    results = {}
    for direction, runners in (
        ("upload", {"gradwire": (gw_free, gw_up), "bare": (nothing, bare(raw.upload, array)), "stored": (nothing, bare(raw.upload_stored, array))}),
        ("download", {"gradwire": (nothing, gw_down), "bare": (nothing, bare(raw.download, nbytes)), "stored": (nothing, bare(raw.download_stored, nbytes))}),
    ):
        for prepare, run in runners.values():  # warm-up
            prepare()
            run()
        samples = {name: [] for name in runners}
        usage = {name: dict(client_cpu=0.0, server_cpu=0.0, client_faults=0, server_faults=0) for name in runners}
        for r in range(repeats):
            order = list(runners.items()) if r % 2 == 0 else list(reversed(runners.items()))
            for name, (prepare, run) in order:
                prepare()
                c0, cf0 = self_cpu_and_faults()
                s0, sf0 = procs[name].cpu_and_faults()
                samples[name].append(run())
                c1, cf1 = self_cpu_and_faults()
                s1, sf1 = procs[name].cpu_and_faults()
                u = usage[name]
                u["client_cpu"] += c1 - c0
                u["server_cpu"] += s1 - s0
                u["client_faults"] += cf1 - cf0
                u["server_faults"] += sf1 - sf0
        mb = nbytes / 1e6
        g, b, st = (statistics.median(samples[name]) for name in ("gradwire", "bare", "stored"))
        results[direction] = {
            "gradwire": mb / g, "bare": mb / b, "stored": mb / st, "ratio": b / g, "ratio_stored": st / g,
            "paired": statistics.median(y / x for x, y in zip(samples["gradwire"], samples["bare"])),
            "seconds": (g, b, st),
            "usage": {name: {k: v / repeats for k, v in u.items()} for name, u in usage.items()},
        }
    held.clear()
    gc.collect()
    session.sync()
    return results, chunk


# --- report -------------------------------------------------------------------------


def verdict(ok):
    return "met" if ok else "NOT met"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about 10 s (few repeats, 32 MiB transfers; noisy figures)")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="threads of the server's BLAS/OpenMP (environment) and of this process's NumPy BLAS and torch pool (default 1)",
    )
    parser.add_argument("--op-chains", type=int, default=200, help="chains per pipelined sample, one sync at its end (default 200)")
    parser.add_argument("--op-repeats", type=int, default=31, help="timed samples of the pipelined chains, per side (default 31)")
    parser.add_argument("--sync-chains", type=int, default=5, help="chains per sample with a sync after every op (default 5)")
    parser.add_argument("--sync-repeats", type=int, default=11, help="timed samples with a sync after every op, per side (default 11)")
    parser.add_argument("--echo-trips", type=int, default=500, help="round trips per sample of the bare echo (default 500)")
    parser.add_argument("--mlp-repeats", type=int, default=21, help="timed samples of the MLP step, per side and batch size (default 21)")
    parser.add_argument("--mlp-inner", type=int, default=0, help="steps per sample (default: 20 at batch 64, 3 at batch 1024)")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 1024], help="MLP batch sizes (default 64 1024)")
    parser.add_argument("--no-upload-variant", action="store_true", help="skip the MLP variant that uploads the batch every step")
    parser.add_argument("--nn-only", action="store_true", help="(b): only the variant written with nn, F.cross_entropy and optim.SGD")
    parser.add_argument("--transfer-mib", type=int, default=256, help="MiB per upload and download in (c) (default 256)")
    parser.add_argument("--transfer-repeats", type=int, default=21, help="timed transfers per side and direction (default 21: one sample swings by a quarter on a shared host)")
    parser.add_argument("--parts", default="abc", help="which parts to run (default abc)")
    parser.add_argument("--settle", type=float, default=None, help="seconds of sleep before each sample (default: 0 with one thread, 0.15 with more)")
    parser.add_argument("--raw-server", action="store_true", help=argparse.SUPPRESS)  # internal: the bare reference's process
    parser.add_argument("--chunk-bytes", type=int, default=1 << 20, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.raw_server:
        return raw_server_main(args.chunk_bytes)
    if args.quick:
        args.op_chains, args.op_repeats, args.sync_chains, args.sync_repeats = 50, 5, 2, 3
        args.mlp_repeats, args.transfer_mib, args.transfer_repeats, args.echo_trips = 3, min(args.transfer_mib, 32), 2, 100
    settle = args.settle if args.settle is not None else (0.0 if args.threads == 1 else 0.15)

    import torch
    from bench_engine import CHAIN_OPS, blas_description

    import gradwire as gw

    torch.set_num_threads(args.threads)
    env = server_env(args.threads)
    server_argv = [sys.executable, "-m", "gradwire_server", "--host", "127.0.0.1", "--port", "0", "--device", "cpu"]
    with contextlib.ExitStack() as stack, threadpool_limits(limits=args.threads, user_api="blas"):
        server = ServerProcess(server_argv, env, "gradwire server")
        stack.callback(server.stop)
        session = gw.connect(server.address)
        stack.callback(session.close)  # runs before server.stop
        raw_server = ServerProcess(
            [sys.executable, os.path.abspath(__file__), "--raw-server", "--chunk-bytes", str(session.limits.chunk_bytes)],
            env, "bare gRPC server",
        )
        stack.callback(raw_server.stop)
        raw = RawClient(raw_server.address, session.limits.chunk_bytes)
        stack.callback(raw.close)

        import google.protobuf
        from google.protobuf.internal import api_implementation

        print(f"gradwire remote benchmark{'  (--quick: few samples, noisy figures)' if args.quick else ''}")
        print(
            f"  python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, grpcio {grpc.__version__}, "
            f"protobuf {google.protobuf.__version__} ({api_implementation.Type()}), {os.cpu_count()} CPU core(s)"
        )
        print(f"  code: {code_version()}; gradwire imported from {os.path.dirname(gw.__file__)}")
        print(f"  server: {' '.join(['python'] + server_argv[1:])} (pid {server.proc.pid}) at {server.address}, device {session.device}")
        print(f"  bare gRPC server (parts a, c): python {os.path.basename(__file__)} --raw-server (pid {raw_server.proc.pid}) at {raw_server.address}")
        print(f"  server env: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS = {args.threads}")
        print(f"  this process: numpy BLAS {args.threads} thread(s) (threadpoolctl), torch intra-op {torch.get_num_threads()}; settle {settle} s before each sample")
        for row in blas_description():
            print(f"  client thread pool: {row}")
        for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if var in os.environ:
                print(f"  note: {var}={os.environ[var]} is set (the server inherits it)")
        print("  the client, the server process and the torch reference share the cores; CPU figures are per unit of work")
        print("  ratio = gradwire / torch time (median / median); 'paired' = median of the per-repeat ratios")
        print()

        if "a" in args.parts:
            ops = bench_ops(session, torch, args.op_chains, args.op_repeats, args.sync_chains, args.sync_repeats, settle, server)
            print(f"(a) per-op cost, 3x4 float32, inputs require grad: the chain of {len(CHAIN_OPS)} ops of bench_engine.py, forward + backward")
            print(f"    ops: {', '.join(CHAIN_OPS)}; before each chain the leaves' grads are set to None")
            for label, (res, n, reps) in ops.items():
                how = {
                    "pipelined": f"{n} chains, then one sync (a grad's numpy())",
                    "sync per chain": f"a sync (a grad's numpy()) after every chain; {n} chains per sample",
                    "sync per op": f"session.sync() after every op and after backward; {n} chains per sample",
                }[label]
                target = f"   target <= 3x: {verdict(res['ratio'] <= 3)}" if label == "pipelined" else "   (context)"
                print(f"    {label}: {how}; median of {reps} samples per side")
                print(
                    f"      gradwire {res['gradwire'] * 1e6:8.2f} us/op   torch {res['torch'] * 1e6:6.2f} us/op   "
                    f"ratio {res['ratio']:.3f}x (paired {res['paired']:.3f}x){target}"
                )
                if "torch forward" in res:
                    print(
                        f"      against torch forward only (graph recorded, no backward) {res['torch forward'] * 1e6:6.2f} us/op: "
                        f"ratio {res['forward ratio']:.0f}x"
                    )
                print(f"      {usage_line(res['usage'], 1e6, 'us', ('gradwire', 'torch'))}")
            c0, s0 = self_cpu_and_faults()[0], raw_server.cpu_and_faults()[0]
            rtts = [raw.round_trip(args.echo_trips) for _ in range(5)]
            c1, s1 = self_cpu_and_faults()[0], raw_server.cpu_and_faults()[0]
            trips = 5 * (args.echo_trips + 1)
            print(
                f"    for context: a bare gRPC round trip (16 bytes echoed on an open raw-bytes stream, fed like the SDK's) "
                f"{statistics.median(rtts) * 1e6:.0f} us (median of 5 x {args.echo_trips}); CPU us per round trip: "
                f"client {(c1 - c0) / trips * 1e6:.0f}, server {(s1 - s0) / trips * 1e6:.0f}"
            )
            print()

        if "b" in args.parts:
            print("(b) MLP training step 784-256-256-10 ReLU: cross-entropy, backward, SGD, grads set to None, loss.item() every step")
            print("    gradwire: x @ w + b, relu, log_softmax(1), logp[arange, targets], neg mean, through the server process")
            print("    torch:    nn.Linear layers, F.cross_entropy, in this process; same initial weights and batch")
            for batch in args.batches:
                inner = args.mlp_inner or (20 if batch <= 256 else 3)
                if args.quick:
                    inner = max(1, inner // 3)
                target = 1.2 if batch <= 64 else 1.05
                variants = ["nn"] if args.nn_only else ["tensor"] + ([] if args.no_upload_variant else ["upload"]) + ["nn"]
                for variant in variants:
                    if variant == "nn":
                        res, losses = bench_mlp_nn(session, gw, torch, batch, args.mlp_repeats, inner, settle, server)
                    else:
                        res, losses = bench_mlp(session, gw, torch, batch, args.mlp_repeats, inner, settle, server, variant == "upload")
                    tgt = f"   target <= {target}x: {verdict(res['ratio'] <= target)}"
                    if variant == "tensor":
                        label = "batch uploaded once, reused (as a data loader keeping batches on the server would)"
                    elif variant == "nn":
                        label = ("written as a PyTorch user writes it, on both sides: nn.Sequential, F.cross_entropy, "
                                 "optim.SGD step() and zero_grad(); batch uploaded once")
                    else:
                        label = "variant: the input batch uploaded every step (session.tensor(x) in the step)"
                        tgt = "   (context)"
                    print(f"    batch {batch:5d}, {label}")
                    print(
                        f"      gradwire {res['gradwire'] * 1e3:7.3f} ms   torch {res['torch'] * 1e3:7.3f} ms   "
                        f"ratio {res['ratio']:.3f}x (paired {res['paired']:.3f}x){tgt}"
                    )
                    u = res["usage"]
                    print(
                        f"      median of {args.mlp_repeats} samples x {inner} steps; CPU ms per step: gradwire client "
                        f"{u['gradwire']['client_cpu'] * 1e3:.2f} + server {u['gradwire']['server_cpu'] * 1e3:.2f}, torch "
                        f"{u['torch']['client_cpu'] * 1e3:.2f}; page faults per step: server {u['gradwire']['server_faults']:.0f}, "
                        f"torch {u['torch']['client_faults']:.0f}; loss after one step: gradwire {losses[0]:.6f}, torch {losses[1]:.6f}"
                    )
                    if variant == "nn" and batch <= 256 and not args.quick:
                        # each sample above starts right after the other side's turn, and a server gone idle wakes
                        # slowly (RESULTS.md, session 14): long samples show what a loop that never pauses pays
                        steady, _ = bench_mlp_nn(session, gw, torch, batch, STEADY_REPEATS, STEADY_STEPS, settle, server)
                        print(
                            f"      (context) steps back to back, median of {STEADY_REPEATS} samples x {STEADY_STEPS} steps: "
                            f"gradwire {steady['gradwire'] * 1e3:.3f} ms   torch {steady['torch'] * 1e3:.3f} ms   "
                            f"ratio {steady['ratio']:.3f}x (paired {steady['paired']:.3f}x)"
                        )
            print()

        if "c" in args.parts:
            res, chunk = bench_transfer(session, raw, server, raw_server, args.transfer_mib, args.transfer_repeats)
            print(f"(c) transfer of {args.transfer_mib} MiB float32 ({args.transfer_mib << 20} bytes), chunks of {chunk} bytes, median of {args.transfer_repeats} per side")
            print("    gradwire: upload = session.tensor(array) (Upload stream); download = tensor.numpy() (a fetch, then the Download stream)")
            print("    bare:     raw-bytes gRPC stream to its own server process (same malloc thresholds as the gradwire server):")
            print("              the receiver counts the bytes, the sender slices them from a buffer it holds")
            print("    stored:   (context) the bare stream, its receiver copying each message into one buffer, as gradwire's does")
            for direction, r in res.items():
                u = r["usage"]
                print(
                    f"    {direction:8s}: gradwire {r['gradwire']:7.0f} MB/s   bare {r['bare']:7.0f} MB/s   "
                    f"gradwire/bare {r['ratio']:.2f} (paired {r['paired']:.2f})   target >= 0.80: {verdict(r['ratio'] >= 0.8)}"
                )
                print(f"              (context) stored {r['stored']:7.0f} MB/s   gradwire/stored {r['ratio_stored']:.2f}")
                print(
                    f"              seconds: gradwire {r['seconds'][0]:.3f}, bare {r['seconds'][1]:.3f}, stored {r['seconds'][2]:.3f}; CPU s per transfer (client, server): "
                    f"gradwire {u['gradwire']['client_cpu']:.3f}, {u['gradwire']['server_cpu']:.3f}; bare {u['bare']['client_cpu']:.3f}, "
                    f"{u['bare']['server_cpu']:.3f}; page faults: gradwire {u['gradwire']['client_faults']:.0f}, {u['gradwire']['server_faults']:.0f}; "
                    f"bare {u['bare']['client_faults']:.0f}, {u['bare']['server_faults']:.0f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
