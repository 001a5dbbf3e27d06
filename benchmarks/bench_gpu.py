"""GPU benchmark: the remote MLP training step with the server on a GPU, against PyTorch CUDA on the same card.

The step is bench_engine.py's (imported, so the benchmarks measure the same work):
a 784-256-256-10 ReLU MLP at batch 4096 (``--batches``), cross-entropy
(log_softmax(1), ``logp[arange, targets]``, negated mean), backward, SGD
``p -= lr * p.grad`` under no_grad, ``p.grad = None``, and ``loss.item()`` every
step, a sync point on every side. The sides, from the same initial weights and
batch, in one run on one card:

- remote: the SDK in this process, the server in a subprocess
  (``python -m gradwire_server --device cuda --port 0``, stopped with SIGTERM at the
  end; ``--embedded`` puts it in this process instead), talking over loopback. The
  batch and its targets are uploaded once and reused, as a data loader that keeps
  its batches on the server would.
- torch: ``nn.Linear`` layers and ``F.cross_entropy`` on CUDA in this process.
- remote, nn form: the same step as a PyTorch user writes it with the SDK
  (``gw.nn.Sequential`` of ``Linear`` and ``ReLU``, ``F.cross_entropy``, ``optim.SGD``'s
  ``step()`` and ``zero_grad()``), against the same torch side; printed beside the target's
  figure, not in place of it.
- two diagnostics: the engine in this process on CuPy (no gRPC: what the remote
  step costs without its transport), and the remote step with one sync per sample
  instead of per step (what the per-step round trip costs).

The printed ratio is remote / torch (medians; below 1 means gradwire is faster);
the target is 1.5x. Before timing, each side's loss after one step and after a
second must match torch's. Samples of the sides alternate, in a rotating order,
after a warm-up. Matrix products are full float32 on both sides (torch's TF32 off;
CuPy's is off unless ``CUPY_TF32=1``). CPU time of this process and of the server
process per remote step are printed too.

Without a usable GPU (CuPy and a CUDA build of PyTorch) it says so and exits 0.

Run from the repository root: ``python benchmarks/bench_gpu.py`` (``--quick`` for a
smoke run; ``--json PATH`` also writes the figures as JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np



def gpu_problem() -> str | None:
    """None where CuPy runs the engine on a CUDA device and torch has CUDA; else why not."""
    try:
        import cupy
    except Exception as error:  # not installed, or a broken CUDA install
        return f"CuPy cannot be imported ({type(error).__name__}: {error})"
    if getattr(cupy, "NUMPY_STAND_IN", False):
        return "CuPy is tests/gpu/rehearsal's NumPy stand-in (a rehearsal), not CuPy"
    from gradwire_server.engine import Backend

    try:
        Backend("cuda")
    except RuntimeError as error:
        return str(error)
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    if not torch.cuda.is_available():
        return f"PyTorch {torch.__version__} sees no CUDA device (a CPU build?)"
    return None


# --- the server process -----------------------------------------------------------------------


def server_process(device="cuda"):
    """``python -m gradwire_server`` on a free loopback port (bench_remote's ServerProcess), this checkout first on its path."""
    from bench_remote import CHECKOUT_PATHS, ServerProcess

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(CHECKOUT_PATHS + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    argv = [sys.executable, "-m", "gradwire_server", "--host", "127.0.0.1", "--port", "0", "--device", device]
    return ServerProcess(argv, env, "the gradwire server", start_timeout=180.0)


class EmbeddedServer:
    """The server in this process (``--embedded``): no second interpreter, but one GIL for client and server."""

    def __init__(self, device="cuda"):
        from gradwire_server.app import create_server
        from gradwire_server.config import Config

        self.server, port = create_server(Config(host="127.0.0.1", port=0, device=device))
        self.server.start()
        self.address, self.line = f"127.0.0.1:{port}", f"embedded on 127.0.0.1:{port} (device {self.server.backend.device})"

    def cpu_and_faults(self):
        return float("nan"), 0  # it shares this process's CPU time

    def stop(self):
        self.server.stop(grace=1.0)


# --- timing -----------------------------------------------------------------------------------


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def measure(runners, repeats, inner, server):
    """Seconds per step of each runner (``run(inner)`` does ``inner`` steps and syncs), one sample per repeat.

    The order of the runners rotates every repeat, so no side always runs right after the same
    other side. Returns samples per runner and, for runners whose name starts with "remote",
    CPU seconds per step of this process and of the server process.
    """
    names = list(runners)
    samples = {name: [] for name in names}
    cpu = {name: {"client": 0.0, "server": 0.0} for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            own, theirs = own_cpu_seconds(), server.cpu_and_faults()[0]
            start = time.perf_counter()
            runners[name](inner)
            samples[name].append((time.perf_counter() - start) / inner)
            cpu[name]["client"] += own_cpu_seconds() - own
            cpu[name]["server"] += server.cpu_and_faults()[0] - theirs
    steps = repeats * inner
    return samples, {name: {k: v / steps for k, v in c.items()} for name, c in cpu.items()}


def bench_batch(batch, session, engine, args):
    import torch

    import gradwire as gw
    from bench_engine import make_mlp, mlp_loss, sgd_step, torch_nn_step
    from gradwire_server.engine import no_grad as engine_no_grad

    rng = np.random.default_rng(batch)
    x_np = rng.standard_normal((batch, 784), dtype=np.float32)
    y_np = rng.integers(0, 10, batch)

    params_r, model = make_mlp(session, args.lr)  # the same torch-initialised weights on every side
    params_e, _ = make_mlp(engine, args.lr)
    model_r = gw.nn.Sequential(  # the step as a PyTorch user writes it, remotely: nn layers and optim.SGD
        gw.nn.Linear(784, 256, session=session), gw.nn.ReLU(), gw.nn.Linear(256, 256, session=session), gw.nn.ReLU(),
        gw.nn.Linear(256, 10, session=session),
    )
    model_r.load_state_dict(model.state_dict())
    optimizer_r = gw.optim.SGD(model_r.parameters(), lr=args.lr)
    model = model.cuda()
    x_r, y_r, rows_r = session.tensor(x_np), session.tensor(y_np), session.arange(batch)
    x_e, y_e, rows_e = engine.tensor(x_np), engine.tensor(y_np), engine.arange(batch)
    x_t, y_t = torch.from_numpy(x_np).cuda(), torch.from_numpy(y_np).cuda()

    def remote_step():
        loss = mlp_loss(params_r, x_r, y_r, rows_r)
        sgd_step(params_r, loss, args.lr, gw.no_grad)
        return loss

    def remote_nn_step():
        loss = gw.nn.functional.cross_entropy(model_r(x_r), y_r)
        loss.backward()
        optimizer_r.step()
        optimizer_r.zero_grad()
        return loss

    def engine_step():
        loss = mlp_loss(params_e, x_e, y_e, rows_e)
        sgd_step(params_e, loss, args.lr, engine_no_grad)
        return loss

    def torch_step():
        return torch_nn_step(model, x_t, y_t, args.lr)

    # the same work: equal losses on the first step and on the next, after one update
    losses = []
    for step in range(2):
        losses = [remote_step().item(), engine_step().item(), torch_step().item(), remote_nn_step().item()]
        ref = losses[2]
        for name, value in zip(("remote", "engine", "remote_nn"), losses[:2] + losses[3:]):
            assert abs(value - ref) <= 1e-4 * max(1.0, abs(ref)), f"batch {batch}, step {step}: {name} loss {value}, torch {ref}"

    def every_step(step):
        def run(inner):
            for _ in range(inner):
                step().item()

        return run

    def one_sync(inner):
        for _ in range(inner):
            loss = remote_step()
        loss.item()

    runners = {
        "remote": every_step(remote_step),
        "remote_nn": every_step(remote_nn_step),
        "torch": every_step(torch_step),
        "engine": every_step(engine_step),
        "remote_one_sync": one_sync,
    }
    measure(runners, 1, args.warmup, args.server)
    samples, cpu = measure(runners, args.repeats, args.inner, args.server)
    ms = {name: statistics.median(s) * 1e3 for name, s in samples.items()}
    return {
        "batch": batch,
        "ms_per_step": ms,
        "ratio_remote_torch": ms["remote"] / ms["torch"],
        "ratio_engine_torch": ms["engine"] / ms["torch"],
        "ratio_remote_nn_torch": ms["remote_nn"] / ms["torch"],
        "paired_ratio_remote_nn_torch": statistics.median(r / t for r, t in zip(samples["remote_nn"], samples["torch"])),
        "paired_ratio_remote_torch": statistics.median(r / t for r, t in zip(samples["remote"], samples["torch"])),
        "cpu_ms_per_remote_step": {k: v * 1e3 for k, v in cpu["remote"].items()},
        "cpu_ms_per_remote_nn_step": {k: v * 1e3 for k, v in cpu["remote_nn"].items()},
        "loss_after_one_step": losses,
        "samples": args.repeats,
        "steps_per_sample": args.inner,
    }


def card_description():
    import cupy
    import torch

    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return {
        "card": torch.cuda.get_device_name(0),
        "cupy_card": name,
        "memory_gib": round(props.get("totalGlobalMem", 0) / 2**30, 1),
        "cupy": cupy.__version__,
        "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
        "cuda_driver": cupy.cuda.runtime.driverGetVersion(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "torch_tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "CUPY_TF32": os.environ.get("CUPY_TF32", "unset"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (few samples, noisy figures)")
    parser.add_argument("--batches", type=int, nargs="+", default=[4096], help="batch sizes (default 4096)")
    parser.add_argument("--repeats", type=int, default=15, help="timed samples per side and batch size (default 15)")
    parser.add_argument("--inner", type=int, default=20, help="steps per sample (default 20)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps per side before timing (default 10)")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--embedded", action="store_true", help="run the server in this process instead of a subprocess")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.inner, args.warmup = 3, 5, 3

    problem = gpu_problem()
    if problem is not None:
        print(f"bench_gpu.py: no GPU to measure on, nothing measured: {problem}.")
        print("  It needs a CUDA device, CuPy, and a CUDA build of PyTorch (tests/gpu/run_on_device.sh runs it on a lent GPU).")
        return 0

    import torch

    import gradwire as gw
    from gradwire_server.engine import Engine

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_engine, for the shared workload
    torch.backends.cuda.matmul.allow_tf32 = False
    card = card_description()
    print(f"gradwire GPU benchmark{'  (--quick: few samples, noisy figures)' if args.quick else ''}")
    print(f"  card: {card['card']} ({card['memory_gib']} GiB)" + (f"; CuPy names it {card['cupy_card']}" if card["cupy_card"] != card["card"] else ""))
    print(
        f"  python {card['python']}, numpy {card['numpy']}, cupy {card['cupy']} (CUDA runtime {card['cuda_runtime']}, "
        f"driver {card['cuda_driver']}), torch {card['torch']} (CUDA {card['torch_cuda']}); {os.cpu_count()} CPU cores"
    )
    print(f"  TF32 matrix products: torch {card['torch_tf32_matmul']}, CUPY_TF32={card['CUPY_TF32']}")

    server = EmbeddedServer() if args.embedded else server_process()
    args.server = server
    results = []
    try:
        print(f"  server: {server.line}")
        with gw.connect(server.address, seed=0, timeout=60) as session:
            assert session.device == "cuda", f"the server runs on {session.device!r}, not 'cuda'"
            engine = Engine("cuda", seed=0)
            print()
            print("MLP training step 784-256-256-10 ReLU: cross-entropy, backward, SGD, grads set to None, loss.item() every step")
            for batch in args.batches:
                r = bench_batch(batch, session, engine, args)
                results.append(r)
                ms, cpu = r["ms_per_step"], r["cpu_ms_per_remote_step"]
                met = "met" if r["ratio_remote_torch"] <= 1.5 else "NOT met"
                print(f"  batch {batch}: median of {r['samples']} samples x {r['steps_per_sample']} steps per side")
                print(f"    torch CUDA, local                  {ms['torch']:8.3f} ms/step")
                print(f"    gradwire remote, server on the GPU {ms['remote']:8.3f} ms/step   ratio {r['ratio_remote_torch']:.2f}x "
                      f"(paired {r['paired_ratio_remote_torch']:.2f}x)   target <= 1.5x: {met}")
                print(f"    gradwire remote, nn.Sequential + optim.SGD {ms['remote_nn']:8.3f} ms/step   ratio {r['ratio_remote_nn_torch']:.2f}x "
                      f"(paired {r['paired_ratio_remote_nn_torch']:.2f}x; CPU per step: this process "
                      f"{r['cpu_ms_per_remote_nn_step']['client']:.3f} ms, server {r['cpu_ms_per_remote_nn_step']['server']:.3f} ms)")
                print(f"    diagnostics: engine in-process on CuPy {ms['engine']:.3f} ms/step ({r['ratio_engine_torch']:.2f}x torch); "
                      f"remote with one sync per {r['steps_per_sample']} steps {ms['remote_one_sync']:.3f} ms/step")
                print(f"    CPU per remote step: this process {cpu['client']:.3f} ms, server process {cpu['server']:.3f} ms")
                print(f"    loss after one step: remote {r['loss_after_one_step'][0]:.6f}, engine {r['loss_after_one_step'][1]:.6f}, "
                      f"torch {r['loss_after_one_step'][2]:.6f}")
    finally:
        server.stop()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"card": card, "server": server.line, "results": results, "argv": sys.argv[1:]}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
