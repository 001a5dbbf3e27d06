"""Train a small CNN (or, with --mlp, an MLP) on scikit-learn's handwritten digits, remotely.

The model's weights, its gradients, the optimizer's state and the data set all
live on a gradwire server; this script only sends commands and reads back, now
and then, the running loss and accuracy for the progress bar (those of the update
before, which the server has ready: the read does not wait for the steps just sent). The digits are
scikit-learn's bundled set (1,797 8x8 images, no download); 20% are held out
for the test accuracy.

    python examples/train_digits.py                     # CNN, embedded server in this process
    python examples/train_digits.py --mlp               # the MLP
    python examples/train_digits.py --server host:port  # a server started with `gradwire-server`
    python examples/train_digits.py --local-torch       # the same model and loop in local PyTorch
    python examples/train_digits.py --quick             # 3 epochs: the CI smoke run

Needs the ``examples`` extra: ``pip install "gradwire[examples]"`` (scikit-learn, tqdm).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

DEFAULTS = {"cnn": {"epochs": 15, "lr": 5e-3}, "mlp": {"epochs": 30, "lr": 3e-3}}
QUICK_EPOCHS = 3


def load_data(seed=0):
    """(x_train, y_train, x_test, y_test): images scaled to [0, 1], (N, 1, 8, 8) float32; labels int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_size=0.2, random_state=seed, stratify=labels)
    return x_train, y_train, x_test, y_test


def build_model(nn, mlp, **kw):
    """The same architecture from ``gradwire.nn`` or ``torch.nn`` (``kw``: ``session=`` for gradwire)."""
    if mlp:
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 256, **kw), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10, **kw))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, **kw), nn.ReLU(), nn.MaxPool2d(2),  # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1, **kw), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 2 x 2
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(128, 10, **kw),
    )


class Remote:
    """The training loop's backend: gradwire, with data and model on the server."""

    name = "gradwire"

    def __init__(self, args):
        import gradwire as gw

        self.gw = gw
        self.F = gw.nn.functional
        self.stack, self.cat = gw.stack, gw.cat
        self.session = gw.connect(args.server, seed=args.seed)
        self.model = build_model(gw.nn, args.mlp, session=self.session)
        self.optimizer = gw.optim.Adam(self.model.parameters(), lr=args.lr)

    def upload(self, array):
        return self.session.tensor(array)

    def shuffled(self, x, y, order):
        order = self.session.tensor(order)
        return x[order], y[order]

    def zero(self):
        return self.session.zeros(())

    def no_grad(self):
        return self.gw.no_grad()

    def value(self, tensor):
        return tensor.item()

    def close(self):
        self.session.close()


class LocalTorch(Remote):
    """The same loop in local PyTorch, for comparison."""

    name = "torch"

    def __init__(self, args):
        import torch

        self.torch = torch
        self.stack, self.cat = torch.stack, torch.cat
        torch.manual_seed(args.seed)
        torch.set_num_threads(args.torch_threads)
        self.F = torch.nn.functional
        self.model = build_model(torch.nn, args.mlp)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=args.lr)

    def upload(self, array):
        return self.torch.from_numpy(array)

    def shuffled(self, x, y, order):
        order = self.torch.from_numpy(order)
        return x[order], y[order]

    def zero(self):
        return self.torch.zeros(())

    def no_grad(self):
        return self.torch.no_grad()

    def close(self):
        pass


class Trainer:
    """One model, its optimizer and the data set on one backend; ``epoch()`` trains one pass over the data."""

    def __init__(self, backend, data, args):
        x_train, y_train, x_test, y_test = data
        self.backend, self.args = backend, args
        # the data set goes to the server once; every epoch's shuffle is one index op there
        self.x, self.y = backend.upload(x_train), backend.upload(y_train)
        self.x_eval, self.y_eval = backend.upload(x_test), backend.upload(y_test)
        self.n, self.n_eval = len(x_train), len(x_test)

    def epoch(self, order, bar=None):
        """Train on the data in ``order``; returns the mean of the batches' losses (a sync point at the end)."""
        backend, model, optimizer, F = self.backend, self.backend.model, self.backend.optimizer, self.backend.F
        batch, steps = self.args.batch_size, (self.n + self.args.batch_size - 1) // self.args.batch_size
        model.train()
        xs, ys = backend.shuffled(self.x, self.y, order)
        # the running loss and accuracy stay on the server: each step keeps its loss, its logits and
        # its targets, and they are summed there once per log_every steps (a few ops per update, none
        # per step). The bar shows the figures of the
        # update before: they were computed while this update's steps were being sent, so
        # reading them never waits for the steps queued since (the server answers such a read
        # as soon as the batch arrives) and the server never waits for the next steps.
        loss_sum, correct, losses, outputs, targets = backend.zero(), backend.zero(), [], [], []
        shown = (backend.stack([loss_sum, correct]), 0)  # (figures, steps they cover)
        for step in range(steps):
            xb, yb = xs[step * batch : (step + 1) * batch], ys[step * batch : (step + 1) * batch]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss)
            outputs.append(logits)
            targets.append(yb)
            if (step + 1) % self.args.log_every == 0 or step + 1 == steps:
                with backend.no_grad():
                    loss_sum = loss_sum + backend.stack(losses).sum()
                    correct = correct + (backend.cat(outputs).argmax(1) == backend.cat(targets)).sum()
                losses, outputs, targets = [], [], []
                if step + 1 < steps:  # a sync point, one update late: one round trip every log_every steps
                    figures, covered = shown
                    shown = (backend.stack([loss_sum, correct]), step + 1)
                    total_loss, total_correct = figures.tolist()
                    if bar is not None and covered:
                        bar.set_postfix({"loss": f"{total_loss / covered:.4f}", "acc": f"{total_correct / (covered * batch):.3f}"},
                                        refresh=False)
            if bar is not None:
                bar.update()
        return backend.value(loss_sum) / steps

    def evaluate(self):
        """Accuracy on the held-out images."""
        model = self.backend.model
        model.eval()
        with self.backend.no_grad():
            correct = (model(self.x_eval).argmax(1) == self.y_eval).sum()
        return self.backend.value(correct) / self.n_eval


def train(args, on_epoch=None):
    """Train and evaluate; returns a dict of the test accuracy, the final training loss and the epoch times."""
    from tqdm import tqdm

    backend = (LocalTorch if args.local_torch else Remote)(args)
    try:
        trainer = Trainer(backend, load_data(args.seed), args)
        order_rng = np.random.default_rng(args.seed)
        steps = (trainer.n + args.batch_size - 1) // args.batch_size
        epoch_times, accuracy, train_loss = [], 0.0, float("nan")
        for epoch in range(1, args.epochs + 1):
            start = time.perf_counter()
            with tqdm(total=steps, desc=f"epoch {epoch}/{args.epochs} [{backend.name}]", unit="step", disable=args.quiet) as bar:
                train_loss = trainer.epoch(order_rng.permutation(trainer.n), bar)
                epoch_times.append(time.perf_counter() - start)
                accuracy = trainer.evaluate()
                bar.set_postfix(loss=f"{train_loss:.4f}", test_acc=f"{accuracy:.4f}")
            if args.quiet:
                print(f"epoch {epoch}: train loss {train_loss:.4f}, test accuracy {accuracy:.4f}, {epoch_times[-1]:.2f} s")
            if on_epoch is not None:
                on_epoch(epoch, train_loss, accuracy, epoch_times[-1])
    finally:
        backend.close()
    return {"accuracy": accuracy, "train_loss": train_loss, "epoch_times": epoch_times}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlp", action="store_true", help="train the MLP (64-256-10) instead of the CNN")
    parser.add_argument("--local-torch", action="store_true", help="train the same model in local PyTorch instead")
    parser.add_argument("--server", default=None, help="host:port of a gradwire server (default: an embedded one)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: 15 for the CNN, 30 for the MLP)")
    parser.add_argument("--quick", action="store_true", help=f"a short run for CI: {QUICK_EPOCHS} epochs")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=None, help="Adam's learning rate (default: 5e-3 for the CNN, 3e-3 for the MLP)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the weights, the shuffles and the split")
    parser.add_argument("--log-every", type=int, default=10, help="steps between progress-bar updates of loss and accuracy")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch's intra-op threads with --local-torch (default 1: for models this small, more threads only wait on each other)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars: one line per epoch")
    args = parser.parse_args(argv)
    defaults = DEFAULTS["mlp" if args.mlp else "cnn"]
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else defaults["epochs"]
    if args.lr is None:
        args.lr = defaults["lr"]
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    result = train(args)
    total = time.perf_counter() - start
    model = "MLP" if args.mlp else "CNN"
    where = "local PyTorch" if args.local_torch else "gradwire"
    print(f"{model} on {where}: test accuracy {result['accuracy']:.4f} after {args.epochs} epochs, "
          f"{total:.1f} s in all, {np.median(result['epoch_times']):.3f} s per epoch (median)")
    return result


if __name__ == "__main__":
    main()
