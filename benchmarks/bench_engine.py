"""Engine benchmark: the gradwire autograd engine against PyTorch CPU, in one run.

Two measurements, each printed as engine time, torch time and their ratio
(engine / torch; below 1 means the engine is faster):

(a) per-op cost on tiny tensors (3x4 float32, every input requires grad): a
    chain of common ops, forward and backward, reported in microseconds per op.
    On tensors this small the arithmetic is nothing; this is the fixed cost of
    dispatching an op, recording the graph and walking it back.
(b) one MLP training step, 784-256-256-10 with ReLU, at batch 64 and 1024:
    forward, cross-entropy, backward, SGD ``p -= lr * p.grad`` under no_grad,
    ``p.grad = None``. Both sides start from the same weights and the same batch.

Before timing, each part asserts that both sides compute the same values (the
op chain's loss and gradients; the MLP's loss on a first step and, after the
update, on a second). Timings are medians over repeats, after a warm-up, with
engine and torch samples interleaved so that noise from other work on the
machine hits both alike. Thread counts are equal: NumPy's BLAS (through
threadpoolctl) and torch (``torch.set_num_threads``) both run ``--threads``
threads, 1 by default. Minor page faults per MLP step are printed as well.

Run: ``python benchmarks/bench_engine.py`` (``--quick`` for a few-second smoke run).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # needed to pin and report NumPy's BLAS threads
    sys.exit("bench_engine.py needs threadpoolctl: pip install threadpoolctl")

import torch

from gradwire_server.engine import Engine, no_grad

# --- the work: written once, run on both libraries ----------------------------------
# Engine tensors and torch tensors share these method names, so one function per
# workload is run on both sides and the two cannot drift apart.


def op_chain(x, b, d, w):
    """Forward of the tiny-tensor chain; returns a scalar. Counted in CHAIN_OPS."""
    a = x + b  # add
    a = a * x  # mul
    a = a - b  # sub
    a = a / d  # div
    a = a * 0.5  # mul by a Python scalar
    a = a.exp()  # exp
    a = a.tanh()  # tanh
    a = a.sigmoid()  # sigmoid
    a = a - 0.6  # sub a scalar (so that relu keeps some and drops some)
    a = a.relu()  # relu
    a = -a  # neg
    a = a @ w  # matmul with a 4x3
    a = a.log_softmax(1)  # log_softmax
    a = a.mean(0)  # mean over a dim
    return a.sum()  # sum


CHAIN_OPS = ["add", "mul", "sub", "div", "mul scalar", "exp", "tanh", "sigmoid", "sub scalar", "relu", "neg", "matmul", "log_softmax", "mean(0)", "sum"]


def mlp_loss(params, x, targets, rows):
    """Cross-entropy of a 784-256-256-10 ReLU MLP: log_softmax, pick the targets, negated mean."""
    w1, b1, w2, b2, w3, b3 = params
    h = (x @ w1 + b1).relu()
    h = (h @ w2 + b2).relu()
    logits = h @ w3 + b3
    logp = logits.log_softmax(1)
    return -logp[rows, targets].mean()


def sgd_step(params, loss, lr, no_grad_context):
    """Backward, then ``p -= lr * p.grad`` under no_grad and ``p.grad = None`` (zero_grad(set_to_none=True))."""
    loss.backward()
    with no_grad_context():
        for p in params:
            p -= lr * p.grad
    for p in params:
        p.grad = None


def torch_nn_step(model, x, targets, lr):
    """The step as a PyTorch user writes it: nn.Linear layers and F.cross_entropy."""
    loss = torch.nn.functional.cross_entropy(model(x), targets)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    for p in model.parameters():
        p.grad = None
    return loss


# --- timing -------------------------------------------------------------------------


def interleaved(runners, repeats, inner, settle=0.0):
    """Seconds per call of each runner, one sample per repeat; the runners alternate within every repeat.

    Returns ``{name: [sample, ...]}`` and ``{name: minor page faults per call}``.
    ``settle`` seconds of sleep before each sample let the other side's idle
    worker threads stop spinning (OpenBLAS spins for about 0.1 s after a call,
    OpenMP for a while too), so that with more than one thread neither side runs
    while the other's pool still holds a core.
    """
    samples = {name: [] for name in runners}
    faults = dict.fromkeys(runners, 0)
    for r in range(repeats):
        # alternate which side goes first, so neither always runs on a cache warmed by the other
        order = list(runners.items()) if r % 2 == 0 else list(reversed(runners.items()))
        for name, run in order:
            if settle:
                time.sleep(settle)
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            for _ in range(inner):
                run()
            samples[name].append((time.perf_counter() - start) / inner)
            faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
    return samples, {name: n / (repeats * inner) for name, n in faults.items()}


def summarize(measured, scale):
    """Medians (times ``scale``), their ratio, the median of the per-repeat ratios, page faults per call."""
    samples, faults = measured
    engine, torch_ = samples["engine"], samples["torch"]
    return {
        "faults": faults,
        "engine": statistics.median(engine) * scale,
        "torch": statistics.median(torch_) * scale,
        "ratio": statistics.median(engine) / statistics.median(torch_),
        "paired": statistics.median(e / t for e, t in zip(engine, torch_)),
    }


def chain_inputs() -> dict:
    """The arrays the tiny-op chain starts from (the same in every benchmark that runs it)."""
    rng = np.random.default_rng(0)
    return {
        "x": rng.standard_normal((3, 4), dtype=np.float32),
        "b": rng.standard_normal((3, 4), dtype=np.float32),
        "d": rng.uniform(1.0, 2.0, (3, 4)).astype(np.float32),  # a divisor away from zero
        "w": rng.standard_normal((4, 3), dtype=np.float32),
    }


def bench_ops(engine, repeats, inner, warmup, settle=0.0):
    arrays = chain_inputs()
    eng = {k: engine.tensor(v, requires_grad=True) for k, v in arrays.items()}
    tch = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}

    def run(leaves):
        def once():
            op_chain(leaves["x"], leaves["b"], leaves["d"], leaves["w"]).backward()
            for t in leaves.values():
                t.grad = None

        return once

    # the two sides compute the same thing
    loss_e = op_chain(eng["x"], eng["b"], eng["d"], eng["w"])
    loss_t = op_chain(tch["x"], tch["b"], tch["d"], tch["w"])
    loss_e.backward()
    loss_t.backward()
    assert np.allclose(loss_e.item(), loss_t.item(), rtol=1e-5, atol=1e-6), (loss_e.item(), loss_t.item())
    for k in arrays:
        assert np.allclose(eng[k].grad.numpy(), tch[k].grad.numpy(), rtol=1e-4, atol=1e-6), k

    runners = {"engine": run(eng), "torch": run(tch)}
    interleaved(runners, 1, warmup)
    return summarize(interleaved(runners, repeats, inner, settle), 1e6 / len(CHAIN_OPS))


def make_mlp(engine, lr, seed=0):
    """The same MLP twice: engine parameters (weights stored in x out) and a torch nn.Sequential holding copies."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
    arrays = []
    for layer in (model[0], model[2], model[4]):
        arrays += [layer.weight.detach().numpy().T.copy(), layer.bias.detach().numpy().copy()]
    params = [engine.tensor(a, requires_grad=True) for a in arrays]
    return params, model


def bench_mlp(engine, batch, repeats, inner, warmup, settle=0.0, lr=0.01):
    rng = np.random.default_rng(batch)
    x_np = rng.standard_normal((batch, 784), dtype=np.float32)
    y_np = rng.integers(0, 10, batch)
    params, model = make_mlp(engine, lr)
    x_e, y_e, rows_e = engine.tensor(x_np), engine.tensor(y_np), engine.arange(batch)
    x_t, y_t = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def engine_step():
        loss = mlp_loss(params, x_e, y_e, rows_e)
        sgd_step(params, loss, lr, no_grad)
        return loss

    def torch_step():
        return torch_nn_step(model, x_t, y_t, lr)

    # the same work: equal losses on the first step and on the next, after one update
    for step in range(2):
        losses = engine_step().item(), torch_step().item()
        assert abs(losses[0] - losses[1]) <= 1e-4 * max(1.0, abs(losses[1])), f"step {step}: engine, torch losses {losses}"

    runners = {"engine": engine_step, "torch": torch_step}
    interleaved(runners, 1, warmup)
    return summarize(interleaved(runners, repeats, inner, settle), 1e3), losses


# --- report -------------------------------------------------------------------------


def blas_description():
    rows = []
    for pool in threadpool_info():
        arch = f", kernel {pool['architecture']}" if pool.get("architecture") else ""
        lib = os.path.basename(pool["filepath"])
        rows.append(f"{pool['internal_api']} {pool.get('version') or ''} ({lib}{arch}), {pool['num_threads']} thread(s)")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds (few repeats, noisy figures)")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="threads for both NumPy's BLAS and torch's intra-op pool (default 1: on a small shared machine "
        "two spinning pools fight for the cores; pass the core count to measure multi-threaded)",
    )
    parser.add_argument("--op-repeats", type=int, default=31, help="timed samples of the op chain, per side (default 31)")
    parser.add_argument("--op-inner", type=int, default=200, help="chain runs (forward + backward) per sample (default 200)")
    parser.add_argument("--mlp-repeats", type=int, default=21, help="timed samples of the MLP step, per side and batch size (default 21)")
    parser.add_argument("--mlp-inner", type=int, default=0, help="steps per sample (default: 20 at batch 64, 3 at batch 1024)")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 1024], help="MLP batch sizes (default 64 1024)")
    parser.add_argument(
        "--settle", type=float, default=None,
        help="seconds of sleep before each sample (default: 0 with one thread, 0.15 with more)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.op_repeats, args.op_inner, args.mlp_repeats = 5, 50, 3
    settle = args.settle if args.settle is not None else (0.0 if args.threads == 1 else 0.15)

    torch.set_num_threads(args.threads)
    engine = Engine(device="cpu")
    with threadpool_limits(limits=args.threads, user_api="blas"):
        print(f"gradwire engine benchmark{'  (--quick: few samples, noisy figures)' if args.quick else ''}")
        print(f"  python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} CPU core(s)")
        print(f"  threads: numpy BLAS {args.threads}, torch intra-op {torch.get_num_threads()}; settle {settle} s before each sample")
        for row in blas_description():
            print(f"  thread pool: {row}")
        print(f"  torch BLAS: {'MKL' if torch.backends.mkl.is_available() else 'not MKL'}; engine device: {engine.device}")
        for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            if var in os.environ:
                print(f"  note: {var}={os.environ[var]} is set")
        print("  ratio = engine / torch (median / median); 'paired' = median of the per-repeat ratios")
        print()

        per_op = bench_ops(engine, args.op_repeats, args.op_inner, warmup=max(args.op_inner, 50), settle=settle)
        print(f"(a) per-op cost, 3x4 float32, inputs require grad: a chain of {len(CHAIN_OPS)} ops, forward + backward")
        print(f"    ops: {', '.join(CHAIN_OPS)}")
        print(f"    median of {args.op_repeats} samples x {args.op_inner} chains per side")
        print(
            f"    engine {per_op['engine']:6.2f} us/op   torch {per_op['torch']:6.2f} us/op   "
            f"ratio {per_op['ratio']:.2f}x (paired {per_op['paired']:.2f}x)   target <= 3x: {'met' if per_op['ratio'] <= 3 else 'NOT met'}"
        )
        print()

        print("(b) MLP training step 784-256-256-10 ReLU: cross-entropy, backward, SGD, grads set to None")
        print("    engine: x @ w + b, relu, log_softmax(1), logp[arange, targets], neg mean")
        print("    torch:  nn.Linear layers, F.cross_entropy; same initial weights and batch")
        for batch in args.batches:
            inner = args.mlp_inner or (20 if batch <= 256 else 3)
            if args.quick:
                inner = max(1, inner // 3)
            mlp, losses = bench_mlp(engine, batch, args.mlp_repeats, inner, warmup=inner, settle=settle)
            print(
                f"    batch {batch:5d}: engine {mlp['engine']:7.3f} ms   torch {mlp['torch']:7.3f} ms   "
                f"ratio {mlp['ratio']:.3f}x (paired {mlp['paired']:.3f}x)   target <= 1.1x: {'met' if mlp['ratio'] <= 1.1 else 'NOT met'}"
            )
            print(
                f"                 median of {args.mlp_repeats} samples x {inner} steps; "
                f"page faults per step: engine {mlp['faults']['engine']:.0f}, torch {mlp['faults']['torch']:.0f}; "
                f"loss after one step: engine {losses[0]:.6f}, torch {losses[1]:.6f}"
            )


if __name__ == "__main__":
    main()
