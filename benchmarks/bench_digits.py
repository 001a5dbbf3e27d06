"""The digits example's epoch time: gradwire through a server process against the same model in local PyTorch.

One run measures both sides: ``examples/train_digits.py``'s ``Trainer`` trains the
CNN (and, with ``--models cnn mlp``, the MLP) for one epoch per sample, once through
gradwire (a ``gradwire_server`` subprocess on loopback, started and stopped here,
as in bench_remote.py) and once in local PyTorch (``torch.nn``, ``torch.optim.Adam``),
the samples alternating (which side goes first swaps every repeat) after a warm-up
epoch each. An epoch is what the example does: one shuffle of the training set
(an index op on the server), 45 steps of batch 32 by default (forward, ``cross_entropy``,
``zero_grad``, ``backward``, ``Adam.step()``, the running loss and accuracy kept on
the server), a progress read every 10 steps (of the figures of the update before,
which the server answers at once: the example reads them one update late so the
read never drains the pipeline) and the epoch's mean loss read at its end. Figures are medians; the ratio is gradwire / torch.

Threads are equal, as in bench_remote.py: the server process gets
``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` = ``--threads``,
this process limits NumPy's BLAS (threadpoolctl) and torch's intra-op pool to the
same number (1 by default). The client, the server and torch share the machine's
cores.

Run: ``python benchmarks/bench_digits.py`` (about a minute; ``--repeats 3`` for a smoke run).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import platform
import sys
import types

import numpy as np

from bench_remote import ServerProcess, code_version, interleaved, server_env, summarize, usage_line
from threadpoolctl import threadpool_limits

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_example():
    spec = importlib.util.spec_from_file_location("train_digits", os.path.join(_ROOT, "examples", "train_digits.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["cnn", "mlp"], choices=["cnn", "mlp"])
    parser.add_argument("--repeats", type=int, default=9, help="timed epochs per side and model (default 9)")
    parser.add_argument("--batch-size", type=int, default=32, help="the example's batch size (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads of the server and of this process (default 1)")
    args = parser.parse_args(argv)

    import torch

    import gradwire as gw

    example = load_example()
    torch.set_num_threads(args.threads)
    server_argv = [sys.executable, "-m", "gradwire_server", "--host", "127.0.0.1", "--port", "0", "--device", "cpu"]
    data = example.load_data(0)
    with contextlib.ExitStack() as stack, threadpool_limits(limits=args.threads, user_api="blas"):
        server = ServerProcess(server_argv, server_env(args.threads), "gradwire server")
        stack.callback(server.stop)
        print("digits example benchmark: one training epoch, gradwire (server process) vs local PyTorch")
        print(f"  python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} CPU core(s)")
        print(f"  code: {code_version()}; gradwire imported from {os.path.dirname(gw.__file__)}")
        print(f"  server: python -m gradwire_server (pid {server.proc.pid}) at {server.address}; {args.threads} BLAS/OpenMP thread(s) "
              f"on each side, torch intra-op {torch.get_num_threads()}")
        print(f"  an epoch: {len(data[0])} images, batch {args.batch_size}, Adam; median of {args.repeats} epochs per side after one warm-up each")
        print()
        for model_name in args.models:
            ex_args = example.parse_args(["--quiet", "--batch-size", str(args.batch_size), "--server", server.address]
                                         + (["--mlp"] if model_name == "mlp" else []))
            remote = example.Remote(ex_args)
            stack.callback(remote.close)
            local = example.LocalTorch(types.SimpleNamespace(**{**vars(ex_args), "local_torch": True, "torch_threads": args.threads}))
            trainers = {"gradwire": example.Trainer(remote, data, ex_args), "torch": example.Trainer(local, data, ex_args)}
            orders = np.random.default_rng(0)
            losses = {name: [] for name in trainers}

            def runner(name):
                def sample():
                    losses[name].append(trainers[name].epoch(orders.permutation(len(data[0]))))

                return sample

            runners = {name: runner(name) for name in trainers}
            for run in runners.values():  # warm-up
                run()
            measured = interleaved(runners, args.repeats, server=server)
            res = summarize(measured, "gradwire", "torch", 1)
            accuracy = {name: t.evaluate() for name, t in trainers.items()}
            remote.close()
            target = "met" if res["ratio"] <= 1.3 else "MISSED"
            print(f"{model_name.upper()} ({'64-256-10, dropout' if model_name == 'mlp' else 'conv16-pool-conv32-pool-dropout-linear'}):")
            print(f"  epoch time: gradwire {res['gradwire'] * 1e3:8.1f} ms   torch {res['torch'] * 1e3:8.1f} ms   "
                  f"ratio {res['ratio']:.2f}x (paired {res['paired']:.2f}x)   target <= 1.3x: {target}")
            best = {name: min(samples) for name, samples in measured[0].items()}
            print(f"  best epoch: gradwire {best['gradwire'] * 1e3:8.1f} ms   torch {best['torch'] * 1e3:8.1f} ms   "
                  f"ratio {best['gradwire'] / best['torch']:.2f}x   (the least disturbed samples, on a shared machine)")
            steps = -(-len(data[0]) // args.batch_size)
            print(f"  per step:   gradwire {res['gradwire'] * 1e3 / steps:8.2f} ms   torch {res['torch'] * 1e3 / steps:8.2f} ms")
            print(f"  {usage_line(res['usage'], 1e3, 'ms', ('gradwire', 'torch'))}")
            print(f"  after {args.repeats + 1} epochs: train loss gradwire {losses['gradwire'][-1]:.4f}, torch {losses['torch'][-1]:.4f}; "
                  f"test accuracy gradwire {accuracy['gradwire']:.4f}, torch {accuracy['torch']:.4f}")
            print()


if __name__ == "__main__":
    main()
