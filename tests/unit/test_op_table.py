"""One table of ops drives the gradient tests (PyTorch's OpInfo, in small).

Each row names an op of ``ops.OPS``, how to make its inputs, its parameters,
which inputs are differentiable and a PyTorch reference. For every row and
every differentiable input the engine's VJP is checked against central
differences in float64, and forward values and gradients against PyTorch on
the CPU. Adding an op without a row here fails ``test_every_op_has_a_row``.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gradwire_server.engine import NON_DIFFERENTIABLE, OPS, VJPS, Engine, no_grad
from tests.conftest import TORCH_DTYPES, assert_close, to_torch

# --- input generators: each is called with a seeded numpy Generator ------------------------------
# A shape tuple means standard-normal floats of the row's dtype. Floats made by a
# generator are cast to the row's dtype; integer and bool arrays keep theirs.
# Python numbers are passed as they are, to the engine and to PyTorch alike.


def pos(*shape, low=0.5, high=2.0):
    """Positive floats (log, sqrt, pow bases)."""
    return lambda rng: rng.uniform(low, high, shape)


def away(*shape, points=(0.0,), gap=0.15):
    """Floats in [-2, 2] at least ``gap`` from every point where the op has a kink (abs, relu, clamp)."""

    def make(rng):
        x = rng.uniform(-2, 2, shape)
        while True:
            near = np.zeros(shape, dtype=bool)
            for p in points:
                near |= np.abs(x - p) < gap
            if not near.any():
                return x
            x = np.where(near, rng.uniform(-2, 2, shape), x)

    return make


def distinct(*shape):
    """All-different floats at least 0.2 apart, so max/min/argmax have no ties."""
    n = int(np.prod(shape))
    return lambda rng: (rng.permutation(n) * 0.25 - n * 0.125 + rng.uniform(0, 0.05, n)).reshape(shape)


def grid(*shape, offset=0.0):
    """Floats on a 0.5-spaced grid shifted by ``offset``: two grids with offsets 0.25 apart never tie."""
    return lambda rng: rng.integers(-4, 4, shape) * 0.5 + offset


def well(*dims, negative=False):
    """Well-conditioned n x n matrices (a random one plus n on the diagonal), ``well(*batch, n)``; ``negative``: det < 0."""
    def make(rng):
        n = dims[-1]
        a = rng.standard_normal(dims + (n,)) + n * np.eye(n)
        if negative:
            a[..., 0, :] *= -1
        return a
    return make


def _det3(a):
    return (a[0, 0] * (a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1]) - a[0, 1] * (a[1, 0] * a[2, 2] - a[1, 2] * a[2, 0])
            + a[0, 2] * (a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0]))


def _sym(a):
    """(A + A^T) / 2: a symmetric matrix whose gradient is symmetric, for the ops that read one triangle."""
    if isinstance(a, torch.Tensor):
        return (a + a.mT) / 2
    e = a.engine
    return e.apply("mul", e.apply("add", a, e.apply("transpose", a, dim0=-1, dim1=-2)), 0.5)


def _spd(a):
    """(A + A^T) / 2 @ itself plus the identity: symmetric positive-definite, A's gradient symmetric (engine or torch)."""
    s = _sym(a)
    if isinstance(a, torch.Tensor):
        return s @ s + torch.eye(a.shape[-1], dtype=a.dtype)
    e = a.engine
    return e.apply("add", e.apply("matmul", s, s), e.tensor(np.eye(a.shape[-1], dtype=a.dtype)))


def _times(x, y):
    return x * y


def _squared(x):
    return x * x


def _flat(cat, *outputs):
    """The outputs flattened into one vector (engine.cat or torch.cat)."""
    return cat([o.reshape(-1) for o in outputs])


def _svd_invariants(cat, u, s, vh):
    """Functions of an SVD that flipping a singular pair's signs (u_i, v_i -> -u_i, -v_i) leaves alone: the first
    min(m, n) singular vectors squared, S, and U diag(S) Vh (A again), flattened into one vector."""
    k = s.shape[-1]
    u, vh = u[..., :, :k], vh[..., :k, :]
    return _flat(cat, u * u, s, vh * vh, (u * s.unsqueeze(-2)) @ vh)


def _eigh_invariants(cat, w, v):
    """The eigenvalues, the eigenvectors squared and V diag(w)^2 V^T: none changes when an eigenvector's sign does."""
    return _flat(cat, w, v * v, (v * (w * w).unsqueeze(-2)) @ v.transpose(-1, -2))


def const(values, dtype=None):
    return lambda rng: np.array(values, dtype=dtype)


# --- the table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    op: str
    inputs: tuple
    ref: Callable  # PyTorch reference: (*inputs) -> tensor or tuple of tensors
    params: dict = field(default_factory=dict)
    diff: tuple = (0,)  # the inputs that require grad
    call: Optional[Callable] = None  # (engine, *inputs) -> output; default engine.apply(op, *inputs, **params)
    dtypes: tuple = ("float32", "float64")  # float dtypes of the PyTorch comparison
    name: str = ""
    eps: float = 1e-6  # central-difference step
    numeric_tol: tuple = (1e-5, 1e-7)  # (rtol, atol) of the numerical check
    numeric: bool = True
    torch_tol: tuple = (None, None)  # (rtol, atol) against PyTorch in float64 where its kernel is the less exact (None: the default)

    def run(self, engine, *inputs):
        if self.call is not None:
            return self.call(engine, *inputs)
        return engine.apply(self.op, *inputs, **self.params)

    @property
    def id(self):
        return f"{self.op}-{self.name}" if self.name else self.op


def _makes_floats(spec):
    return np.asarray(spec(np.random.default_rng(0))).dtype.kind == "f"


def R(op, inputs, ref, name="", diff=None, call=None, dtypes=("float32", "float64"), eps=1e-6, numeric_tol=(1e-5, 1e-7), numeric=True,
      torch_tol=(None, None), **params):
    if diff is None:  # every float input, by default
        diff = tuple(i for i, s in enumerate(inputs) if isinstance(s, tuple) or (callable(s) and _makes_floats(s)))
    return Row(op, tuple(inputs), ref, params, tuple(diff), call, dtypes, name, eps, numeric_tol, numeric, torch_tol)


def _cmul(e, x, y):
    """complex(x, y) * exp(complex(y, x)) on the engine: a product and an exp of complex numbers (their rules conjugated)."""
    return e.apply("mul", e.apply("complex", x, y), e.apply("exp", e.apply("complex", y, x)))


def _ri(lib, z):
    """Every real and imaginary part of a complex result, as one real tensor."""
    if lib is torch:
        return torch.cat([z.real, z.imag])
    return lib.cat([lib.apply("real", z), lib.apply("imag", z)])


def _eig_invariants(lib, w, v):
    """What a phase of each eigenvector leaves alone: the eigenvalues' squares (both parts) and |V|^2, as one real tensor."""
    if lib is torch:
        return torch.cat([(w * w).real.reshape(-1), (w * w).imag.reshape(-1), (v.abs() ** 2).reshape(-1)])
    ww, vv = lib.apply("mul", w, w), lib.apply("abs", v)
    return lib.cat([lib.apply("reshape", part, shape=(-1,)) for part in (lib.apply("real", ww), lib.apply("imag", ww), lib.apply("mul", vv, vv))])


def _put(x, key, value):
    out = x.clone()
    out[key] = value
    return out


def _mask():
    return np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])


ROWS = [
    # elementwise binary, with broadcasting and Python scalars on either side
    R("add", [(3, 4), (3, 4)], lambda x, y: x + y),
    R("add", [(3, 1), (1, 4)], lambda x, y: x + y, "bcast-3x1-1x4"),
    R("add", [(4,), (2, 3, 4)], lambda x, y: x + y, "bcast-rank"),
    R("add", [(2, 3), ()], lambda x, y: x + y, "0d-tensor"),
    R("add", [2.5, (3,)], lambda x, y: x + y, "scalar-left"),
    R("add", [(3,), 2], lambda x, y: x + y, "int-scalar-right", call=lambda e, x, y: x + y),
    R("sub", [(3, 4), (3, 4)], lambda x, y: x - y),
    R("sub", [(1, 4), (3, 1)], lambda x, y: x - y, "bcast"),
    R("sub", [1.5, (2, 3)], lambda x, y: x - y, "scalar-left", call=lambda e, x, y: x - y),
    R("sub", [(2, 3), 1.5], lambda x, y: x - y, "scalar-right"),
    R("mul", [(3, 4), (3, 4)], lambda x, y: x * y),
    R("mul", [(3, 1), (1, 4)], lambda x, y: x * y, "bcast", call=lambda e, x, y: x * y),
    R("mul", [(), ()], lambda x, y: x * y, "0d"),
    R("mul", [3.0, (2, 3)], lambda x, y: x * y, "scalar-left", call=lambda e, x, y: x * y),
    R("mul", [(2, 1, 3), (4, 1)], lambda x, y: x * y, "bcast-both"),
    R("div", [(3, 4), away(3, 4, gap=0.5)], lambda x, y: x / y),
    R("div", [(3, 1), away(1, 4, gap=0.5)], lambda x, y: x / y, "bcast", call=lambda e, x, y: x / y),
    R("div", [2.0, away(2, 3, gap=0.5)], lambda x, y: x / y, "scalar-left", call=lambda e, x, y: x / y),
    R("div", [(2, 3), 4.0], lambda x, y: x / y, "scalar-right"),
    R("pow", [pos(3, 4), 2], lambda x, y: x**y, "int-exponent", call=lambda e, x, y: x**y),
    R("pow", [pos(3, 4), 2.5], lambda x, y: x**y, "float-exponent"),
    R("pow", [pos(3, 4), (3, 4)], lambda x, y: x**y, "tensor-exponent"),
    R("pow", [pos(3, 1), (1, 4)], lambda x, y: x**y, "bcast"),
    R("pow", [2.0, (2, 3)], lambda x, y: x**y, "scalar-base", call=lambda e, x, y: x**y),
    R("pow", [const([0.0, 1.5, -2.0]), 0], lambda x, y: x**y, "zero-exponent"),
    R("pow", [const([0.0, 0.5, 2.0]), const([2.0, 1.5, 3.0])], lambda x, y: x**y, "zero-base", diff=(1,)),
    R("maximum", [grid(3, 4), grid(3, 4, offset=0.25)], torch.maximum),
    R("maximum", [grid(3, 1), grid(1, 4, offset=0.25)], torch.maximum, "bcast", call=lambda e, x, y: e.maximum(x, y)),
    R("minimum", [grid(3, 4), grid(3, 4, offset=0.25)], torch.minimum),
    R("minimum", [grid(2, 3, 1), grid(4, offset=0.25)], torch.minimum, "bcast", call=lambda e, x, y: e.minimum(x, y)),
    R("where", [const(_mask()), (3, 4), (3, 4)], torch.where),
    R("where", [const(_mask()[:, :1]), (1, 4), 0.0], torch.where, "bcast-scalar", call=lambda e, c, x, y: e.where(c, x, y)),
    R("where", [const(_mask()), (4,), (3, 1)], torch.where, "bcast", diff=(2,)),
    # elementwise unary
    R("neg", [(3, 4)], lambda x: -x, call=lambda e, x: -x),
    R("exp", [(3, 4)], torch.exp),
    R("exp", [()], torch.exp, "0d", call=lambda e, x: x.exp()),
    R("log", [pos(3, 4)], torch.log),
    R("sqrt", [pos(3, 4)], torch.sqrt, call=lambda e, x: x.sqrt()),
    R("abs", [away(3, 4)], torch.abs),
    R("sin", [(3, 4)], torch.sin),
    R("cos", [(3, 4)], torch.cos),
    R("tanh", [(3, 4)], torch.tanh),
    R("sigmoid", [(3, 4)], torch.sigmoid),
    R("sigmoid", [const([-40.0, -3.0, 0.5, 40.0])], torch.sigmoid, "saturated"),
    R("relu", [away(3, 4)], torch.relu, call=lambda e, x: x.relu()),
    R("clamp", [away(3, 4, points=(-0.5, 0.5))], lambda x: x.clamp(-0.5, 0.5), min=-0.5, max=0.5),
    R("clamp", [away(3, 4, points=(0.2,))], lambda x: x.clamp(min=0.2), "min", call=lambda e, x: x.clamp(min=0.2)),
    R("clamp", [away(3, 4, points=(-0.3,))], lambda x: x.clamp(max=-0.3), "max", max=-0.3),
    # matmul: 1-D, 2-D, batched, broadcast-batched
    R("matmul", [(4,), (4,)], torch.matmul, "dot"),
    R("matmul", [(3, 4), (4,)], torch.matmul, "mv"),
    R("matmul", [(4,), (4, 5)], torch.matmul, "vm", call=lambda e, x, y: x @ y),
    R("matmul", [(3, 4), (4, 5)], torch.matmul, "mm", call=lambda e, x, y: x @ y),
    R("matmul", [(2, 3, 4), (2, 4, 5)], torch.matmul, "bmm"),
    R("matmul", [(2, 1, 3, 4), (5, 4, 2)], torch.matmul, "bcast-batch"),
    R("matmul", [(2, 3, 4), (4, 5)], torch.matmul, "batch-2d"),
    R("matmul", [(4,), (2, 4, 5)], torch.matmul, "1d-batch"),
    R("matmul", [(2, 3, 4), (4,)], torch.matmul, "batch-1d"),
    R("matmul", [(3, 4), (4, 5)], torch.matmul, "frozen-right", diff=(0,)),
    # reductions
    R("sum", [(3, 4)], lambda x: x.sum(), "all"),
    R("sum", [(3, 4)], lambda x: x.sum(dim=0), "dim0", dim=0),
    R("sum", [(3, 4)], lambda x: x.sum(dim=1, keepdim=True), "dim1-keepdim", dim=1, keepdim=True),
    R("sum", [(2, 3, 4)], lambda x: x.sum(dim=-1), "dim-neg", call=lambda e, x: x.sum(dim=-1)),
    R("sum", [(2, 3, 4)], lambda x: x.sum(dim=(0, 2)), "dims", dim=(0, 2)),
    R("sum", [(2, 3, 4)], lambda x: x.sum(dim=(0, -1), keepdim=True), "dims-keepdim", dim=(0, -1), keepdim=True),
    R("sum", [()], lambda x: x.sum(), "0d"),
    R("mean", [(3, 4)], lambda x: x.mean(), "all"),
    R("mean", [(3, 4)], lambda x: x.mean(dim=0), "dim0", dim=0),
    R("mean", [(3, 4)], lambda x: x.mean(dim=1, keepdim=True), "dim1-keepdim", call=lambda e, x: x.mean(dim=1, keepdim=True)),
    R("mean", [(2, 3, 4)], lambda x: x.mean(dim=(0, 2)), "dims", dim=(0, 2)),
    R("mean", [(2, 3, 4)], lambda x: x.mean(dim=-2, keepdim=True), "dim-neg-keepdim", dim=-2, keepdim=True),
    R("max", [distinct(3, 4)], lambda x: x.max(), "all", call=lambda e, x: x.max()),
    R("max", [distinct(3, 4)], lambda x: x.max(dim=1), "dim1", dim=1),
    R("max", [distinct(3, 4)], lambda x: x.max(dim=0, keepdim=True), "dim0-keepdim", call=lambda e, x: x.max(dim=0, keepdim=True)),
    R("max", [distinct(2, 3, 4)], lambda x: x.max(dim=-1), "dim-neg", dim=-1),
    R("max", [distinct(2, 3, 4)], lambda x: x.max(dim=-2, keepdim=True), "dim-neg-keepdim", dim=-2, keepdim=True),
    R("min", [distinct(3, 4)], lambda x: x.min(), "all"),
    R("min", [distinct(3, 4)], lambda x: x.min(dim=1), "dim1", call=lambda e, x: x.min(dim=1)),
    R("min", [distinct(2, 3, 4)], lambda x: x.min(dim=1, keepdim=True), "dim1-keepdim", dim=1, keepdim=True),
    R("min", [distinct(2, 3, 4)], lambda x: x.min(dim=-1), "dim-neg", dim=-1),
    # softmax: also far from zero, where a naive exp overflows
    R("softmax", [(3, 4)], lambda x: x.softmax(dim=1), "dim1", dim=1),
    R("softmax", [(3, 4)], lambda x: x.softmax(dim=0), "dim0", call=lambda e, x: x.softmax(0)),
    R("softmax", [(2, 3, 4)], lambda x: x.softmax(dim=-1), "dim-neg", dim=-1),
    R("softmax", [const([[1000.0, 1001.0, 999.5], [-1000.0, -1002.0, -999.0]])], lambda x: x.softmax(dim=1), "large", dim=1),
    R("log_softmax", [(3, 4)], lambda x: x.log_softmax(dim=1), "dim1", dim=1),
    R("log_softmax", [(2, 3, 4)], lambda x: x.log_softmax(dim=0), "dim0", call=lambda e, x: x.log_softmax(0)),
    R("log_softmax", [const([[1000.0, 1001.0, 999.5], [-1000.0, -1002.0, -999.0]])], lambda x: x.log_softmax(dim=1), "large", dim=1),
    # shape ops (views)
    R("reshape", [(2, 3, 4)], lambda x: x.reshape(6, 4), shape=(6, 4)),
    R("reshape", [(2, 3, 4)], lambda x: x.reshape(4, -1), "minus-one", call=lambda e, x: x.reshape(4, -1)),
    R("reshape", [(2, 3)], lambda x: x.view(-1), "flat-view", call=lambda e, x: x.view(-1)),
    R("transpose", [(2, 3, 4)], lambda x: x.transpose(0, 2), dim0=0, dim1=2),
    R("transpose", [(3, 4)], lambda x: x.T, "T-2d", call=lambda e, x: x.T),
    R("transpose", [(2, 3, 4)], lambda x: x.transpose(-1, 0), "neg", call=lambda e, x: x.transpose(-1, 0)),
    R("permute", [(2, 3, 4)], lambda x: x.permute(2, 0, 1), dims=(2, 0, 1)),
    R("permute", [(2, 3, 4)], lambda x: x.permute(-1, 0, 1), "neg", call=lambda e, x: x.permute(-1, 0, 1)),
    R("expand", [(3, 1)], lambda x: x.expand(3, 4), sizes=(3, 4)),
    R("expand", [(3, 1)], lambda x: x.expand(2, -1, 4), "new-dim-minus-one", call=lambda e, x: x.expand(2, -1, 4)),
    R("expand", [(4,)], lambda x: x.expand(2, 3, 4), "rank", sizes=(2, 3, 4)),
    R("squeeze", [(3, 1, 4, 1)], lambda x: x.squeeze(), "all"),
    R("squeeze", [(3, 1, 4, 1)], lambda x: x.squeeze(1), "dim", dim=1),
    R("squeeze", [(3, 1, 4)], lambda x: x.squeeze(0), "non-1-dim", call=lambda e, x: x.squeeze(0)),
    R("squeeze", [(3, 1, 4, 1)], lambda x: x.squeeze((1, -1)), "dims", dim=(1, -1)),
    R("unsqueeze", [(3, 4)], lambda x: x.unsqueeze(0), "dim0", dim=0),
    R("unsqueeze", [(3, 4)], lambda x: x.unsqueeze(-1), "dim-neg", call=lambda e, x: x.unsqueeze(-1)),
    # indexing: basic and advanced, through x[key]
    R("index", [(4, 3)], lambda x: x[1], "int", call=lambda e, x: x[1]),
    R("index", [(4, 3)], lambda x: x[-1, 2], "int-int-neg", call=lambda e, x: x[-1, 2]),
    R("index", [(4, 3)], lambda x: x[1:3], "slice", call=lambda e, x: x[1:3]),
    R("index", [(5, 3)], lambda x: x[::2, 1:], "slice-step", call=lambda e, x: x[::2, 1:]),
    R("index", [(4, 3)], lambda x: x[None, 1], "none", call=lambda e, x: x[None, 1]),
    R("index", [(2, 3, 4)], lambda x: x[..., 1], "ellipsis", call=lambda e, x: x[..., 1]),
    R("index", [(2, 3, 4)], lambda x: x[0, ..., None], "ellipsis-none", call=lambda e, x: x[0, ..., None]),
    R("index", [(4, 3)], lambda x: x[[0, 2, 0, 0]], "int-list-repeated", call=lambda e, x: x[[0, 2, 0, 0]]),
    R("index", [(4, 3)], lambda x: x[[0, 3, 0], [1, 1, 1]], "int-lists", call=lambda e, x: x[[0, 3, 0], [1, 1, 1]]),
    R("index", [(4, 3)], lambda x: x[torch.tensor([2, 0, 2])], "int-tensor", call=lambda e, x: x[e.tensor([2, 0, 2])]),
    R("index", [(4, 3)], lambda x: x[1:, torch.tensor([[0, 2], [2, 2]])], "slice-int-tensor-2d",
      call=lambda e, x: x[1:, e.tensor([[0, 2], [2, 2]])]),
    R("index", [(3, 4)], lambda x: x[torch.from_numpy(_mask())], "bool-mask", call=lambda e, x: x[e.tensor(_mask())]),
    R("index", [(3, 4)], lambda x: x[[True, False, True]], "bool-rows", call=lambda e, x: x[[True, False, True]]),
    R("index", [(3, 4)], lambda x: x[torch.from_numpy(_mask()[:, 0]), 1:], "bool-slice",
      call=lambda e, x: x[_mask()[:, 0], 1:]),
    R("index", [(3, 3, 2)], lambda x: x[1, :, [0, 1, 1]], "int-slice-list", call=lambda e, x: x[1, :, [0, 1, 1]]),  # (the int selects first)
    R("index", [(1, 4, 3, 2)], lambda x: x[:, :, [2, 0], ..., torch.tensor([[1, 0], [0, 1]])], "lists-around-empty-ellipsis",
      call=lambda e, x: x[:, :, [2, 0], ..., e.tensor([[1, 0], [0, 1]])]),
    R("index", [(3, 4)], lambda x: x[True, [0, 2]], "bool-list", call=lambda e, x: x[True, [0, 2]]),
    # views taken with strides (writable: an in-place change to one goes into its base)
    R("diagonal", [(3, 4)], lambda x: x.diagonal(), offset=0, dim1=0, dim2=1),
    R("diagonal", [(2, 3, 4)], lambda x: x.diagonal(-1, 2, 1), "offset-dims", offset=-1, dim1=2, dim2=1),
    R("unfold", [(2, 7)], lambda x: x.unfold(1, 3, 2), dimension=1, size=3, step=2),
    R("unfold", [(5, 2)], lambda x: x.unfold(0, 3, 1), "overlapping", dimension=0, size=3, step=1),
    R("as_strided", [(3, 4)], lambda x: x.as_strided((3, 2), (3, 1), 1), size=(3, 2), stride=(3, 1), storage_offset=1),
    R("as_strided", [(6,)], lambda x: x.as_strided((2, 3), (1, 2)), "overlapping", size=(2, 3), stride=(1, 2)),
    R("view_dtype", [(3, 4)], lambda x: x.view(torch.int32 if x.dtype == torch.float32 else torch.int64), diff=(), call=lambda e, x: e.apply(
        "view_dtype", x, dtype=np.int32 if x.dtype == np.float32 else np.int64)),
    # writes out of place (x[key] = v and x.copy_(v) under autograd: Engine.apply_into writes the result back)
    R("contiguous", [(3, 4)], lambda x: (x * 2).contiguous(), "already", call=lambda e, x: e.apply("contiguous", x * 2)),  # (torch gives x back)
    R("contiguous", [(3, 4)], lambda x: x.t().contiguous(), "transposed", call=lambda e, x: e.apply("contiguous", x.T)),
    R("index_put", [(4, 3), (3,)], lambda x, v: _put(x, 1, v), "row-bcast", call=lambda e, x, v: e.index_put(x, v, (1,))),
    R("index_put", [(4, 3), (2, 1)], lambda x, v: _put(x, (slice(1, 3), slice(None, 2)), v), "block",
      call=lambda e, x, v: e.index_put(x, v, (slice(1, 3), slice(None, 2)))),
    R("index_put", [(4, 3), (2, 3)], lambda x, v: _put(x, [0, 2], v), "int-list", call=lambda e, x, v: e.index_put(x, v, ([0, 2],))),
    R("index_put", [(3, 4), ()], lambda x, v: _put(x, torch.from_numpy(_mask()), v), "bool-mask",
      call=lambda e, x, v: e.index_put(x, v, (e.tensor(_mask()),))),
    R("index_put", [(3, 4), (4,)], lambda x, v: x.clone().copy_(v), "all", call=lambda e, x, v: e.index_put(x, v, ())),
    R("copy_slices", [(4, 3), (2,)], lambda r, w: _put(r, (slice(1, 3), 1), w), "slice-select",
      call=lambda e, r, w: e.apply("copy_slices", r, w, steps=(("index", {"key": (slice(1, 3),)}), ("index", {"key": (slice(None), 1)})))),
    R("copy_slices", [(2, 6), (3, 2)], lambda r, w: _put(r.view(3, 4), (slice(None), slice(1, 3)), w).view(2, 6), "reshape-slice",
      call=lambda e, r, w: e.apply("copy_slices", r, w, steps=(("reshape", {"shape": (3, 4)}), ("index", {"key": (slice(None), slice(1, 3))})))),
    # joining
    R("cat", [(2, 3), (4, 3)], lambda x, y: torch.cat([x, y]), "dim0"),
    R("cat", [(2, 3), (2, 1), (2, 2)], lambda x, y, z: torch.cat([x, y, z], dim=1), "dim1-three", dim=1),
    R("cat", [(2, 3), (2, 2)], lambda x, y: torch.cat([x, y], dim=-1), "dim-neg-one-frozen", diff=(1,),
      call=lambda e, x, y: e.cat([x, y], dim=-1)),
    R("cat", [(2, 3), const([[1, 2, 3]], "int64")], lambda x, y: torch.cat([x, y]), "int-promoted", diff=(0,)),
    R("stack", [(2, 3), (2, 3), (2, 3)], lambda x, y, z: torch.stack([x, y, z]), "dim0"),
    R("stack", [(2, 3), (2, 3)], lambda x, y: torch.stack([x, y], dim=1), "dim1", dim=1),
    R("stack", [(2, 3), (2, 3)], lambda x, y: torch.stack([x, y], dim=-1), "dim-neg", call=lambda e, x, y: e.stack([x, y], dim=-1)),
    # copies
    R("to", [(3, 4)], lambda x: x.to(torch.float32), "float64-to-float32", call=lambda e, x: x.to("float32"),
      dtypes=("float64",), eps=1e-2, numeric_tol=(1e-4, 1e-5)),
    R("to", [(3, 4)], lambda x: x.to(torch.float64), "float32-to-float64", call=lambda e, x: x.to(np.float64),
      dtypes=("float32",), numeric=False),  # in float64 it is the identity: the row above checks the rule
    R("to", [(3, 4)], lambda x: x.to(torch.float16), "to-float16", dtype=np.dtype("float16"), dtypes=("float32",), numeric=False),
    R("to", [const([[1, 2], [3, -4]], "int64")], lambda x: x.to(torch.float32), "int-to-float", dtype=np.dtype("float32")),
    R("clone", [(3, 4)], lambda x: x.clone(), call=lambda e, x: x.clone()),
    # neural-network primitives
    R("linear", [(4, 3), (5, 3), (5,)], F.linear, "bias"),
    R("linear", [(4, 3), (5, 3)], F.linear, "no-bias"),
    R("linear", [(2, 4, 3), (5, 3), (5,)], F.linear, "batched"),
    R("linear", [(3,), (5, 3), (5,)], F.linear, "vector"),
    R("linear", [(4, 3), (5, 3), (5,)], F.linear, "frozen-input", diff=(1, 2)),
    R("conv2d", [(2, 3, 6, 5), (4, 3, 3, 3), (4,)], lambda x, w, b: F.conv2d(x, w, b), "bias"),
    R("conv2d", [(2, 3, 7, 7), (4, 3, 3, 2)], lambda x, w: F.conv2d(x, w, stride=2, padding=1), "stride-padding", stride=2, padding=1),
    R("conv2d", [(1, 2, 6, 7), (3, 2, 3, 3), (3,)], lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(0, 2)), "asymmetric",
      stride=(2, 1), padding=(0, 2)),
    R("conv2d", [(2, 5, 5), (3, 2, 2, 2), (3,)], lambda x, w, b: F.conv2d(x, w, b, padding=1), "unbatched", padding=1),
    R("conv2d", [(2, 3, 5, 5), (4, 3, 3, 3), (4,)], lambda x, w, b: F.conv2d(x, w, b, padding=1), "frozen-input", diff=(1, 2), padding=1),
    # four channels and more take the channels-last im2col
    R("conv2d", [(2, 4, 5, 6), (3, 4, 3, 2), (3,)], lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1), "channels-last",
      stride=(1, 2), padding=1),
    R("conv2d", [(5, 4, 4), (2, 5, 2, 2)], lambda x, w: F.conv2d(x, w, stride=2), "channels-last-unbatched", stride=2),
    # stride 1 and four channels or more: the input gradient is a full convolution with the flipped kernel
    R("conv2d", [(2, 4, 5, 6), (3, 4, 3, 2), (3,)], lambda x, w, b: F.conv2d(x, w, b, padding=(2, 1)), "full-conv-dx",
      padding=(2, 1)),
    R("conv2d", [(5, 4, 4), (2, 5, 2, 3)], lambda x, w: F.conv2d(x, w), "full-conv-dx-unbatched"),
    R("conv2d", [(1, 4, 4, 4), (2, 4, 2, 2)], lambda x, w: F.conv2d(x, w, padding=2), "padding-past-kernel", padding=2),
    # dilation and groups, on both layouts (channels first below 4 channels, last from 4) and the stride-1 full-conv dx
    R("conv2d", [(2, 3, 7, 8), (2, 3, 3, 2), (2,)], lambda x, w, b: F.conv2d(x, w, b, padding=1, dilation=(2, 3)), "dilated",
      padding=1, dilation=(2, 3)),
    R("conv2d", [(1, 4, 9, 8), (3, 4, 3, 3)], lambda x, w: F.conv2d(x, w, stride=2, padding=(2, 1), dilation=2), "dilated-strided-last",
      stride=2, padding=(2, 1), dilation=2),
    R("conv2d", [(2, 6, 6, 5), (4, 6, 3, 3)], lambda x, w: F.conv2d(x, w, padding=2, dilation=2), "dilated-full-conv-dx", padding=2, dilation=2),
    R("conv2d", [(2, 4, 5, 5), (6, 2, 3, 3), (6,)], lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2), "groups", padding=1, groups=2),
    R("conv2d", [(2, 3, 6, 6), (3, 1, 3, 3)], lambda x, w: F.conv2d(x, w, stride=2, groups=3), "depthwise", stride=2, groups=3),
    R("conv2d", [(4, 5, 5), (8, 2, 2, 2)], lambda x, w: F.conv2d(x, w, dilation=2, groups=2), "groups-dilated-unbatched", dilation=2, groups=2),
    R("conv_transpose2d", [(2, 4, 4, 3), (4, 3, 3, 3), (3,)], lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
      "strided", stride=2, padding=1, output_padding=1),
    R("conv_transpose2d", [(1, 6, 3, 4), (6, 2, 2, 3)], lambda x, w: F.conv_transpose2d(x, w, stride=(2, 1), groups=3, dilation=(1, 2)),
      "groups-dilated", stride=(2, 1), groups=3, dilation=(1, 2)),
    R("conv_transpose2d", [(3, 4, 4), (3, 2, 3, 3)], lambda x, w: F.conv_transpose2d(x, w, padding=1), "unbatched", padding=1),
    R("max_pool2d", [distinct(2, 3, 6, 6)], lambda x: F.max_pool2d(x, 2), "k2", kernel_size=2),
    R("max_pool2d", [distinct(2, 2, 7, 6)], lambda x: F.max_pool2d(x, 3, 2, 1), "overlapping-padded", kernel_size=3, stride=2, padding=1),
    R("max_pool2d", [distinct(2, 5, 7)], lambda x: F.max_pool2d(x, (2, 3), (1, 2)), "unbatched-rect", kernel_size=(2, 3), stride=(1, 2)),
    R("max_pool2d", [grid(2, 2, 5, 5)], lambda x: F.max_pool2d(x, 3, 1, 1), "ties", kernel_size=3, stride=1, padding=1,
      numeric=False),  # ties on purpose: the first maximum of a window takes its gradient, as in PyTorch
    # windows that tile the input (stride = kernel, no padding): the path without a padded copy
    R("max_pool2d", [grid(2, 2, 6, 6)], lambda x: F.max_pool2d(x, 2), "tiled-k2-ties", kernel_size=2, numeric=False),
    R("max_pool2d", [distinct(2, 2, 6, 9)], lambda x: F.max_pool2d(x, 3), "tiled-k3", kernel_size=3),
    R("max_pool2d", [grid(3, 4, 6)], lambda x: F.max_pool2d(x, (2, 3), (2, 3)), "tiled-rect-unbatched-ties", kernel_size=(2, 3),
      stride=(2, 3), numeric=False),
    # ceil_mode: a last window past the input's end (7 rows, kernel 2: four windows, the last of one row); dilation
    R("max_pool2d", [distinct(2, 2, 7, 5)], lambda x: F.max_pool2d(x, 2, ceil_mode=True), "ceil-k2", kernel_size=2, ceil_mode=True),
    R("max_pool2d", [distinct(2, 2, 8, 7)], lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), "ceil-overlapping-padded", kernel_size=3,
      stride=2, padding=1, ceil_mode=True),
    R("max_pool2d", [distinct(2, 2, 9, 8)], lambda x: F.max_pool2d(x, 3, 2, 1, dilation=2), "dilated", kernel_size=3, stride=2, padding=1,
      dilation=(2, 2)),
    R("max_pool2d", [distinct(2, 6, 9)], lambda x: F.max_pool2d(x, (2, 3), 2, (1, 0), (2, 1), ceil_mode=True), "dilated-ceil-unbatched",
      kernel_size=(2, 3), stride=(2, 2), padding=(1, 0), dilation=(2, 1), ceil_mode=True),
    R("max_pool2d_indices", [distinct(2, 2, 7, 5)], lambda x: F.max_pool2d(x, 3, 2, 1, dilation=(1, 2), ceil_mode=True, return_indices=True)[1],
      "dilated-ceil", kernel_size=3, stride=2, padding=1, dilation=(1, 2), ceil_mode=True, diff=()),
    R("avg_pool2d", [(2, 2, 7, 5)], lambda x: F.avg_pool2d(x, 2, ceil_mode=True), "ceil-k2", kernel_size=2, ceil_mode=True),
    R("avg_pool2d", [(2, 2, 8, 7)], lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), "ceil-padded", kernel_size=3, stride=2, padding=1,
      ceil_mode=True),
    R("avg_pool2d", [(2, 2, 8, 7)], lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), "ceil-exclude-pad",
      kernel_size=3, stride=2, padding=1, ceil_mode=True, exclude_pad=True),
    R("avg_pool2d", [(2, 2, 6, 6)], lambda x: F.avg_pool2d(x, 3, 2, 1, divisor_override=4), "divisor-override", kernel_size=3, stride=2,
      padding=1, divisor=4),
    R("avg_pool2d", [(2, 3, 6, 6)], lambda x: F.avg_pool2d(x, 2), "k2", kernel_size=2),
    R("avg_pool2d", [(2, 2, 7, 6)], lambda x: F.avg_pool2d(x, 3, 2, 1), "overlapping-padded", kernel_size=3, stride=2, padding=1),
    R("avg_pool2d", [(2, 2, 7, 6)], lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), "exclude-pad", kernel_size=3, stride=2,
      padding=1, exclude_pad=True),
    R("avg_pool2d", [(2, 5, 7)], lambda x: F.avg_pool2d(x, (2, 3), (1, 2)), "unbatched-rect", kernel_size=(2, 3), stride=(1, 2)),
    R("adaptive_avg_pool2d", [(2, 3, 6, 4)], lambda x: F.adaptive_avg_pool2d(x, (3, 2)), "tiled", output_size=(3, 2)),
    R("adaptive_avg_pool2d", [(2, 3, 7, 5)], lambda x: F.adaptive_avg_pool2d(x, (3, None)), "uneven-none", output_size=(3, None)),
    R("adaptive_avg_pool2d", [(3, 5, 5)], lambda x: F.adaptive_avg_pool2d(x, 4), "unbatched-uneven", output_size=4),
    R("im2col", [(2, 3, 5, 4)], lambda x: F.unfold(x, 2), "k2", kernel_size=(2, 2)),
    R("im2col", [(2, 2, 7, 6)], lambda x: F.unfold(x, (3, 2), dilation=(2, 1), padding=(1, 2), stride=(2, 3)), "dilated-padded-strided",
      kernel_size=(3, 2), dilation=(2, 1), padding=(1, 2), stride=(2, 3)),
    R("im2col", [(3, 5, 5)], lambda x: F.unfold(x, 3, padding=1), "unbatched", kernel_size=(3, 3), padding=(1, 1)),
    R("col2im", [(2, 12, 12)], lambda x: F.fold(x, (4, 5), 2), "k2-overlapping", output_size=(4, 5), kernel_size=(2, 2)),
    R("col2im", [(2, 12, 9)], lambda x: F.fold(x, (7, 6), (3, 2), dilation=(2, 1), padding=(1, 2), stride=(2, 3)), "dilated-padded-strided",
      output_size=(7, 6), kernel_size=(3, 2), dilation=(2, 1), padding=(1, 2), stride=(2, 3)),
    R("col2im", [(18, 9)], lambda x: F.fold(x, 3, 3, padding=1, stride=1), "unbatched", output_size=(3, 3), kernel_size=(3, 3), padding=(1, 1)),
    R("max_pool2d_indices", [grid(2, 3, 6, 6)], lambda x: F.max_pool2d(x, 2, return_indices=True)[1], "k2-ties", kernel_size=2, diff=()),
    R("max_pool2d_indices", [distinct(2, 2, 7, 6)], lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True)[1], "overlapping-padded",
      kernel_size=3, stride=2, padding=1, diff=()),
    R("max_pool2d_indices", [distinct(2, 5, 7)], lambda x: F.max_pool2d(x, (2, 3), (1, 2), return_indices=True)[1],
      "unbatched-rect", kernel_size=(2, 3), stride=(1, 2), diff=()),
    # batch_norm's inputs: (x[, running_mean, running_var][, weight, bias]); the running statistics get no gradient
    R("batch_norm", [(4, 3, 2, 3), const([0.1, -0.2, 0.3]), const([1.5, 0.5, 2.0]), (3,), (3,)],
      lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=True), "train", diff=(0, 3, 4), training=True, has_stats=True,
      affine=True, momentum=0.1, numeric_tol=(1e-4, 1e-6)),
    R("batch_norm", [(4, 3, 2, 3), const([0.1, -0.2, 0.3]), const([1.5, 0.5, 2.0]), (3,), (3,)],
      lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b), "eval", diff=(0, 3, 4), has_stats=True, affine=True),
    R("batch_norm", [(6, 4)], lambda x: F.batch_norm(x, None, None, training=True), "1d-no-stats", training=True,
      numeric_tol=(1e-4, 1e-6)),  # gradients that sum to zero per channel: central differences cancel
    R("batch_norm", [(5, 2, 7), (2,), (2,)], lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), "3d-affine-no-stats",
      training=True, affine=True, numeric_tol=(1e-4, 1e-6)),
    R("embedding", [const([[0, 2, 4], [2, 2, 1]], "int64"), (5, 3)], F.embedding),
    R("embedding", [const([0, 3, 1, 3], "int64"), (4, 2)], lambda i, w: F.embedding(i, w, padding_idx=3), "padding-idx", padding_idx=3,
      numeric=False),  # by definition no gradient reaches the padding row, though its values are read
    R("layer_norm", [(3, 5), (5,), (5,)], lambda x, w, b: F.layer_norm(x, (5,), w, b), "affine", normalized_shape=(5,)),
    R("layer_norm", [(2, 3, 4)], lambda x: F.layer_norm(x, (3, 4), eps=1e-3), "two-dims-plain",
      call=lambda e, x: e.apply("layer_norm", x, normalized_shape=(3, 4), eps=1e-3)),  # (R's eps is the difference step)
    R("dropout", [(3, 4), lambda rng: rng.uniform(0, 1, (3, 4))], lambda x, u: x * (u >= 0.3) / 0.7, diff=(0,), p=0.3),
    R("dropout", [(3, 4), lambda rng: rng.uniform(0, 1, (3, 4))], lambda x, u: x * 0, "p1", diff=(0,), p=1.0),
    R("nll_loss", [(4, 3), const([0, 2, 1, 2], "int64")], F.nll_loss, "mean"),
    R("nll_loss", [(4, 3), const([0, 2, -100, 2], "int64")], lambda x, t: F.nll_loss(x, t, reduction="sum"), "sum-ignored", reduction="sum"),
    R("nll_loss", [(2, 3, 4), const([[0, 2, 1, 2], [1, 1, 0, 2]], "int64")], lambda x, t: F.nll_loss(x, t, reduction="none"), "none-spatial",
      reduction="none"),
    R("cross_entropy", [(4, 3), const([0, 2, 1, 2], "int64")], F.cross_entropy, "mean"),
    R("cross_entropy", [(5, 4), const([3, 0, 1, 1, 2], "int64")], lambda x, t: F.cross_entropy(x, t, reduction="sum"), "sum", reduction="sum"),
    R("cross_entropy", [(4, 3), const([0, 2, 1, 2], "int64")], lambda x, t: F.cross_entropy(x, t, reduction="none"), "none", reduction="none"),
    R("cross_entropy", [(4, 3), const([0, 7, 1, 7], "int64")], lambda x, t: F.cross_entropy(x, t, ignore_index=7), "ignore-index", ignore_index=7),
    R("cross_entropy", [(5, 3), const([0, 1, 2, 1, 0], "int64")], lambda x, t: F.cross_entropy(x, t, ignore_index=1), "ignore-a-class",
      ignore_index=1),
    R("nll_loss", [(5, 3), const([0, 1, 2, 1, 0], "int64")], lambda x, t: F.nll_loss(x, t, ignore_index=1, reduction="none"),
      "none-ignore-a-class", ignore_index=1, reduction="none"),
    R("cross_entropy", [(2, 3, 2, 2), const([[[0, 2], [1, 2]], [[1, 1], [0, 2]]], "int64")], F.cross_entropy, "spatial"),
    R("cross_entropy", [(5,), const(3, "int64")], F.cross_entropy, "unbatched"),
    R("cross_entropy", [const([[1000.0, 1001.0, 999.5], [-1000.0, -1002.0, -999.0]]), const([1, 2], "int64")], F.cross_entropy, "large"),
    R("var", [(3, 4)], lambda x: x.var(), "all"),
    R("var", [(3, 4)], lambda x: x.var(1, keepdim=True), "dim1-keepdim", dim=1, keepdim=True),
    R("var", [(2, 3, 4)], lambda x: x.var((0, 2), correction=0), "dims-correction0", dim=(0, 2), correction=0),
    R("std", [(3, 4)], lambda x: x.std(0), "dim0", dim=0),
    R("std", [(5,)], lambda x: x.std(correction=2), "correction2", correction=2),
    R("masked_fill", [(3, 4), const(_mask())], lambda x, m: x.masked_fill(m, -2.5), value=-2.5),
    R("masked_fill", [(2, 3, 4), const(_mask()[0])], lambda x, m: x.masked_fill(m, 1.0), "bcast", value=1.0),
    R("binary_cross_entropy_with_logits", [(4, 3), lambda rng: rng.uniform(0, 1, (4, 3))], F.binary_cross_entropy_with_logits),
    R("binary_cross_entropy_with_logits", [(5,), lambda rng: rng.uniform(0, 1, 5)],
      lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"), "none", reduction="none"),
    R("binary_cross_entropy_with_logits", [const([-80.0, 80.0, 0.5]), const([1.0, 0.0, 0.25])],
      lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="sum"), "extreme-logits", reduction="sum"),
    R("binary_cross_entropy", [lambda rng: rng.uniform(0.05, 0.95, (4, 3)), lambda rng: rng.uniform(0, 1, (4, 3))], F.binary_cross_entropy),
    R("binary_cross_entropy", [lambda rng: rng.uniform(0.05, 0.95, 5), lambda rng: rng.uniform(0, 1, 5)],
      lambda x, y: F.binary_cross_entropy(x, y, reduction="sum"), "sum", reduction="sum"),
    R("gather", [(3, 4), const([[0, 3], [1, 1], [2, 0]], "int64")], lambda x, i: torch.gather(x, 1, i), "dim1", dim=1),
    R("gather", [(3, 4), const([[2, 0, 1], [0, 0, 2]], "int64")], lambda x, i: torch.gather(x, 0, i), "dim0-smaller", dim=0),
    R("norm", [(3, 4)], lambda x: torch.linalg.vector_norm(x), "all"),
    R("norm", [(3, 4)], lambda x: torch.linalg.vector_norm(x, dim=1, keepdim=True), "dim1-keepdim", dim=1, keepdim=True),
    R("norm", [away(3, 4)], lambda x: torch.linalg.vector_norm(x, 1, dim=0), "p1", p=1.0, dim=0),
    R("norm", [distinct(3, 4)], lambda x: torch.linalg.vector_norm(x, math.inf, dim=1), "inf", p=math.inf, dim=1),
    R("norm", [away(2, 5)], lambda x: torch.linalg.vector_norm(x, 3), "p3", p=3.0),
    R("log1p", [lambda rng: rng.uniform(-0.5, 2.0, (3, 4))], torch.log1p),
    R("expm1", [(3, 4)], torch.expm1),
    R("leaky_relu", [away(3, 4)], F.leaky_relu),
    R("leaky_relu", [away(3, 4)], lambda x: F.leaky_relu(x, 0.2), "slope", negative_slope=0.2),
    R("silu", [(3, 4)], F.silu),
    R("gelu", [(3, 4)], F.gelu),
    R("gelu", [(3, 4)], lambda x: F.gelu(x, approximate="tanh"), "tanh", approximate="tanh"),
    R("softplus", [(3, 4)], F.softplus),
    R("softplus", [const([-3.0, 0.5, 4.0, 30.0])], lambda x: F.softplus(x, beta=2.0, threshold=5.0), "beta-threshold", beta=2.0, threshold=5.0),
    R("elu", [away(3, 4)], F.elu),
    R("elu", [away(3, 4)], lambda x: F.elu(x, alpha=0.5), "alpha", alpha=0.5),
    R("tril", [(4, 4)], torch.tril),
    R("tril", [(2, 3, 4)], lambda x: torch.tril(x, -1), "batched-below", diagonal=-1),
    R("triu", [(3, 5)], lambda x: torch.triu(x, 1), "above", diagonal=1),
    R("cumsum", [(3, 4)], lambda x: torch.cumsum(x, 1), "dim1", dim=1),
    R("cumprod", [(3, 4)], lambda x: torch.cumprod(x, 1), "dim1", dim=1),
    R("cumprod", [const([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 0.5]])], lambda x: torch.cumprod(x, -1), "zeros", dim=-1),
    R("cumprod", [const([[2, 3], [4, 5]], "int64")], lambda x: torch.cumprod(x, 0), "int", dim=0, diff=()),
    # linear algebra: well-conditioned matrices (a random one plus n on the diagonal), a singular one, a negative det
    R("inv", [well(3)], torch.linalg.inv),
    R("inv", [well(2, 3)], torch.linalg.inv, "batched"),
    R("det", [well(3)], torch.linalg.det),
    R("det", [well(2, 3)], torch.linalg.det, "batched"),
    # at a singular matrix the derivative is adj(A)^T (the numeric check confirms it), which torch.linalg.det's own
    # backward gives as zeros (det times A^-T): the reference is the 3x3 cofactor expansion, differentiated by torch
    R("det", [const([[1.0, 2.0, 0.5], [2.0, 4.0, 1.0], [0.0, 1.0, 3.0]])], lambda a: _det3(a), "singular"),
    # slogdet: one op, (sign, logabsdet) sharing one node; the sign requires grad too, as torch's, and passes none back
    R("slogdet", [well(3, negative=True)], lambda a: torch.linalg.slogdet(a)[1], "negative-det", call=lambda e, a: e.apply("slogdet", a)[1]),
    R("slogdet", [well(2, 3)], lambda a: torch.linalg.slogdet(a)[1], "batched", call=lambda e, a: e.apply("slogdet", a)[1]),
    R("slogdet", [well(2, 3, negative=True)], lambda a: _times(*torch.linalg.slogdet(a)), "sign-times-logabsdet",
      call=lambda e, a: _times(*e.apply("slogdet", a))),
    R("solve", [well(3), (3,)], torch.linalg.solve, "vector"),
    R("solve", [well(3), (3, 2)], torch.linalg.solve, "matrix"),
    R("solve", [well(2, 3), (3,)], torch.linalg.solve, "batched-A-one-vector"),
    R("solve", [well(2, 3), (2, 3)], torch.linalg.solve, "batched-vectors"),
    R("solve", [well(3), (2, 3, 2)], torch.linalg.solve, "broadcast-A"),
    R("eigvalsh", [(3, 3)], lambda a: torch.linalg.eigvalsh(_sym(a)), call=lambda e, a: e.apply("eigvalsh", _sym(a))),
    R("eigvalsh", [(2, 4, 4)], lambda a: torch.linalg.eigvalsh(_sym(a), UPLO="U"), "batched-upper",
      call=lambda e, a: e.apply("eigvalsh", _sym(a), upper=True)),
    R("svdvals", [(3, 3)], torch.linalg.svdvals),
    R("svdvals", [(2, 4, 3)], torch.linalg.svdvals, "batched-tall"),
    R("svdvals", [(3, 5)], torch.linalg.svdvals, "wide"),
    # decompositions with several outputs, one node: singular vectors and eigenvectors are unique up to sign only, so
    # their rows check functions that a sign flip leaves alone (_svd_invariants, _eigh_invariants); Q and R are unique
    R("linalg_svd", [(3, 3)], lambda a: _svd_invariants(torch.cat, *torch.linalg.svd(a)), "square",
      call=lambda e, a: _svd_invariants(e.cat, *e.apply("linalg_svd", a, full_matrices=True))),
    R("linalg_svd", [(4, 3)], lambda a: _svd_invariants(torch.cat, *torch.linalg.svd(a, full_matrices=False)), "tall",
      call=lambda e, a: _svd_invariants(e.cat, *e.apply("linalg_svd", a, full_matrices=False))),
    R("linalg_svd", [(2, 3, 5)], lambda a: _svd_invariants(torch.cat, *torch.linalg.svd(a, full_matrices=False)), "batched-wide",
      call=lambda e, a: _svd_invariants(e.cat, *e.apply("linalg_svd", a, full_matrices=False))),
    # full matrices of a non-square A: the columns past min(m, n) are not unique, and not differentiated (as torch's)
    R("linalg_svd", [(5, 3)], lambda a: _svd_invariants(torch.cat, *torch.linalg.svd(a)), "full-tall",
      call=lambda e, a: _svd_invariants(e.cat, *e.apply("linalg_svd", a, full_matrices=True))),
    R("linalg_svd", [(4, 3)], lambda a: torch.linalg.svd(a)[1], "S-alone", call=lambda e, a: e.apply("linalg_svd", a, full_matrices=True)[1]),
    R("linalg_svd", [(3, 4)], lambda a: _squared(torch.linalg.svd(a, full_matrices=False)[2]), "Vh-alone",
      call=lambda e, a: _squared(e.apply("linalg_svd", a, full_matrices=False)[2])),
    R("linalg_eigh", [(4, 4)], lambda a: _eigh_invariants(torch.cat, *torch.linalg.eigh(_sym(a))),
      call=lambda e, a: _eigh_invariants(e.cat, *e.apply("linalg_eigh", _sym(a)))),
    R("linalg_eigh", [(2, 3, 3)], lambda a: _eigh_invariants(torch.cat, *torch.linalg.eigh(_sym(a), UPLO="U")), "batched-upper",
      call=lambda e, a: _eigh_invariants(e.cat, *e.apply("linalg_eigh", _sym(a), upper=True))),
    R("linalg_eigh", [(3, 3)], lambda a: _squared(torch.linalg.eigh(_sym(a))[1]), "vectors-alone",
      call=lambda e, a: _squared(e.apply("linalg_eigh", _sym(a))[1])),
    R("linalg_qr", [(4, 3)], lambda a: _flat(torch.cat, *torch.linalg.qr(a)), "tall", call=lambda e, a: _flat(e.cat, *e.apply("linalg_qr", a))),
    R("linalg_qr", [(3, 3)], lambda a: _flat(torch.cat, *torch.linalg.qr(a)), "square", call=lambda e, a: _flat(e.cat, *e.apply("linalg_qr", a))),
    R("linalg_qr", [(2, 3, 5)], lambda a: _flat(torch.cat, *torch.linalg.qr(a)), "batched-wide",
      call=lambda e, a: _flat(e.cat, *e.apply("linalg_qr", a))),
    R("linalg_qr", [(3, 4)], lambda a: _flat(torch.cat, *torch.linalg.qr(a, mode="complete")), "complete-wide",
      call=lambda e, a: _flat(e.cat, *e.apply("linalg_qr", a, mode="complete"))),
    R("linalg_qr", [(4, 3)], lambda a: torch.linalg.qr(a)[1], "R-alone", call=lambda e, a: e.apply("linalg_qr", a)[1]),
    # cholesky reads A's lower triangle: checked through sym(A) = (A + A^T) / 2, as its gradient is symmetric
    R("cholesky", [well(3)], lambda a: torch.linalg.cholesky(_spd(a)), call=lambda e, a: e.apply("cholesky", _spd(a))),
    R("cholesky", [well(2, 3)], lambda a: torch.linalg.cholesky(_spd(a), upper=True), "batched-upper",
      call=lambda e, a: e.apply("cholesky", _spd(a), upper=True)),
    R("cholesky_ex", [well(2, 3)], lambda a: torch.linalg.cholesky_ex(_spd(a)).L, "batched",
      call=lambda e, a: e.apply("cholesky_ex", _spd(a))[0]),
    R("cholesky_ex", [well(3)], lambda a: torch.linalg.cholesky_ex(_spd(a), upper=True).L, "upper",
      call=lambda e, a: e.apply("cholesky_ex", _spd(a), upper=True)[0]),
    # solve_triangular reads one triangle of A (off the diagonal where unitriangular): A's gradient is that triangle's
    R("solve_triangular", [well(3), (3, 2)], lambda a, b: torch.linalg.solve_triangular(a, b, upper=True), "upper", upper=True),
    R("solve_triangular", [well(2, 3), (3, 2)], lambda a, b: torch.linalg.solve_triangular(a, b, upper=False), "lower-broadcast"),
    R("solve_triangular", [(3, 3), (2, 3, 1)], lambda a, b: torch.linalg.solve_triangular(a, b, upper=True, unitriangular=True),
      "unitriangular", upper=True, unitriangular=True),
    # lu_factor: (LU, pivots, info), the packed factors differentiable (square, wide, tall; pivots fixed near the point)
    R("lu_factor", [(4, 4)], lambda a: torch.linalg.lu_factor(a).LU, "square", call=lambda e, a: e.apply("lu_factor", a)[0]),
    R("lu_factor", [(2, 3, 3)], lambda a: torch.linalg.lu_factor(a).LU, "batched", call=lambda e, a: e.apply("lu_factor", a)[0]),
    R("lu_factor", [(3, 5)], lambda a: torch.linalg.lu_factor(a).LU, "wide", call=lambda e, a: e.apply("lu_factor", a)[0]),
    R("lu_factor", [(2, 5, 3)], lambda a: torch.linalg.lu_factor(a).LU, "tall", call=lambda e, a: e.apply("lu_factor", a)[0]),
    R("geqrf", [(2, 5, 3)], lambda a: torch.geqrf(a)[0], "batched-tall", diff=(), call=lambda e, a: e.apply("geqrf", a)[0]),
    R("geqrf", [(3, 4)], lambda a: torch.geqrf(a)[1], "wide-tau", diff=(), call=lambda e, a: e.apply("geqrf", a)[1]),
    # LAPACK's Bunch-Kaufman (sytrf, sytrs) of a symmetric indefinite matrix: torch records a node whose backward raises
    R("ldl_factor", [(2, 4, 4)], lambda a: torch.linalg.ldl_factor_ex(_sym(a))[0], "batched-LD", diff=(), call=lambda e, a: e.apply("ldl_factor", _sym(a))[0]),
    R("ldl_factor", [(5, 5)], lambda a: torch.linalg.ldl_factor_ex(_sym(a))[1], "pivots", diff=(), call=lambda e, a: e.apply("ldl_factor", _sym(a))[1]),
    R("ldl_solve", [(2, 4, 4), (4, 3)], lambda a, b: torch.linalg.ldl_solve(*torch.linalg.ldl_factor(_sym(a)), b), "broadcast", diff=(),
      call=lambda e, a, b: e.apply("ldl_solve", *e.apply("ldl_factor", _sym(a))[:2], b)),
    R("lu_permutation", [const([[2, 3, 3], [1, 3, 3]], "int32")], lambda p: torch.lu_unpack(torch.zeros(2, 3, 3), p).P.argmax(-2), m=3),
    R("scatter", [(3, 4), const([[0, 1], [1, 3], [3, 0]], "int64"), (3, 2)], lambda x, i, src: torch.scatter(x, 1, i, src), dim=1),
    R("scatter", [(3, 2), const([[2, 0], [0, 1]], "int64"), (2, 2)], lambda x, i, src: torch.scatter(x, 0, i, src), "dim0", dim=0),
    R("scatter_add", [(3, 4), const([[0, 1], [1, 1], [3, 0]], "int64"), (3, 2)], lambda x, i, src: torch.scatter_add(x, 1, i, src),
      "dim1-repeats", dim=1),
    R("scatter_add", [(3, 2), const([[2, 0], [0, 0]], "int64"), (2, 2)], lambda x, i, src: torch.scatter_add(x, 0, i, src), "dim0", dim=0),
    # an index with fewer rows than x: src's gradient is g gathered where index reaches (torch's own backward
    # refuses a src larger than index)
    R("scatter_add", [(3, 4), const([[0, 3], [2, 2]], "int64"), (2, 2)], lambda x, i, src: torch.scatter_add(x, 1, i, src),
      "index-smaller", dim=1),
    # scatter_reduce: each reduction with and without x's own values; an index with fewer rows than x
    *[R("scatter_reduce", [(3, 4), const([[0, 1, 0, 3], [2, 2, 2, 0]], "int64"), (2, 4)],
        lambda x, i, src, r=reduce, s=include: torch.scatter_reduce(x, 1, i, src, r, include_self=s),
        f"{reduce}-{'self' if include else 'no-self'}", dim=1, reduce=reduce, include_self=include)
      for reduce in ("sum", "prod", "mean", "amax", "amin") for include in (True, False)],
    R("scatter_reduce", [(3, 2), const([[2, 0], [2, 2]], "int64"), (2, 2)], lambda x, i, src: torch.scatter_reduce(x, 0, i, src, "mean"), "dim0",
      dim=0, reduce="mean"),
    # zeros among a product's factors (one, or two, at a position): the gradient of each is the others' product, exactly
    R("scatter_reduce", [const([[0.0, 2.0, 1.5], [0.5, 0.0, 3.0]]), const([[0, 0, 1], [1, 1, 2]], "int64"), const([[1.5, 0.0, 2.0], [0.0, -1.0, 0.5]])],
      lambda x, i, src: torch.scatter_reduce(x, 1, i, src, "prod"), "prod-zeros", dim=1, reduce="prod"),
    # ties of amax with x's own value and among src's: shared evenly, as torch's (a kink: no numerical check)
    R("scatter_reduce", [const([[1.0, 2.0, 1.0], [3.0, 0.0, 3.0]]), const([[0, 0, 2], [1, 1, 0]], "int64"), const([[1.0, 1.0, 0.5], [1.0, 1.0, 3.0]])],
      lambda x, i, src: torch.scatter_reduce(x, 1, i, src, "amax", include_self=False), "amax-ties", dim=1, reduce="amax", include_self=False,
      numeric=False),
    R("index_put", [(4, 3), (3, 3)], lambda x, v: x.index_put((torch.tensor([0, 2, 0]),), v, accumulate=True), "accumulate-repeats",
      call=lambda e, x, v: e.index_put(x, v, ([0, 2, 0],), accumulate=True)),
    R("cumsum", [(2, 3, 4)], lambda x: torch.cumsum(x, -3), "dim-3", dim=-3),
    # floor division has no derivative in PyTorch (a backward through it raises: see test_ops_without_a_derivative)
    R("floor_divide", [grid(3, 4, offset=0.25), const([[1.5, -2.0, 0.75, 3.0]])], lambda x, y: x // y, "bcast", diff=()),
    R("floor_divide", [const([7, -7, 8], "int64"), 2], lambda x, y: x // y, "int-scalar", diff=()),
    R("remainder", [grid(3, 4, offset=0.1), const([[1.37, -0.93, 2.23, 0.71]])], lambda x, y: x % y, "bcast"),
    R("remainder", [(3, 4), 1.5], lambda x, y: x % y, "scalar-right"),
    R("remainder", [const([7, -7, 8], "int64"), const([3, 3, -3], "int64")], lambda x, y: x % y, "int", diff=()),
    # more elementwise maths (integer inputs compute in float32, as PyTorch's)
    R("rsqrt", [pos(3, 4)], torch.rsqrt),
    R("reciprocal", [away(3, 4, gap=0.3)], torch.reciprocal),
    R("reciprocal", [const([1, 2, -4], "int64")], torch.reciprocal, "int", diff=()),
    R("tan", [lambda rng: rng.uniform(-1.2, 1.2, (3, 4))], torch.tan),
    R("asin", [lambda rng: rng.uniform(-0.9, 0.9, (3, 4))], torch.asin),
    R("acos", [lambda rng: rng.uniform(-0.9, 0.9, (3, 4))], torch.acos),
    R("atan", [(3, 4)], torch.atan),
    R("asinh", [(3, 4)], torch.asinh),
    R("asinh", [const([-1e8, -3.0, 0.0, 1e-9, 1e30])], torch.asinh, "wide", numeric=False),  # no cancellation at either end
    R("acosh", [pos(3, 4, low=1.1, high=4.0)], torch.acosh),
    R("acosh", [const([1, 2, 10], "int64")], torch.acosh, "int", diff=()),
    R("atanh", [lambda rng: rng.uniform(-0.9, 0.9, (3, 4))], torch.atanh),
    R("atanh", [const([-1.0, -1e-12, 0.5, 1.0, 2.0])], torch.atanh, "edges", numeric=False),
    R("logcumsumexp", [(3, 4)], lambda x: torch.logcumsumexp(x, 1), dim=1),
    R("logcumsumexp", [(2, 3, 4)], lambda x: torch.logcumsumexp(x, -3), "dim-3", dim=-3),
    # terms 1000 apart: a shifted exp underflows, one logaddexp at a time does not; the gradient too
    R("logcumsumexp", [const([[-1000.0, 0.0, -2000.0, 3.0], [5.0, -800.0, 4.0, -np.inf]])], lambda x: torch.logcumsumexp(x, 1), "wide",
      dim=1, numeric=False),
    R("signbit", [const([-1.0, -0.0, 0.0, 2.0, -np.inf, np.nan, -np.nan])], torch.signbit, diff=()),
    R("signbit", [const([-3, 0, 4], "int64")], torch.signbit, "int", diff=()),
    R("frexp", [const([[0.0, 1.0, -3.5, 1e-30], [7.25, -0.125, np.inf, 1024.0]])], torch.frexp, numeric=False, dtypes=("float64",)),
    R("frexp", [(3, 4)], lambda x: torch.frexp(x * 100)[0], "mantissa", call=lambda e, x: e.apply("frexp", e.apply("mul", x, 100.0))[0]),
    R("gcd", [const([[12, -18, 0, 7]], "int64"), const([[8], [-6], [0]], "int64")], torch.gcd, diff=()),
    R("lcm", [const([4, -6, 0, 7], "int32"), const([6, 4, 5, -3], "int32")], torch.lcm, diff=()),
    R("nextafter", [(3, 4), (3, 4)], torch.nextafter),
    R("nextafter", [(3, 4), const([np.inf])], torch.nextafter, "up", diff=(0,), numeric=False),
    R("copysign", [away(3, 4), (3, 4)], torch.copysign),
    R("copysign", [const([[0.0, -0.0, 1.5, -2.0]]), const([[-1.0], [-0.0], [0.0], [np.inf]])], torch.copysign, "zeros-bcast", numeric=False),
    R("copysign", [const([3, -4, 0], "int64"), const([-1.0, 2.0, -0.0])], torch.copysign, "int", diff=(1,), numeric=False),
    R("heaviside", [const([-2.0, 0.0, 3.0, np.nan, 0.0]), const([0.5, 0.25, 0.5, 0.5, np.nan])], torch.heaviside, diff=()),
    R("sinh", [(3, 4)], torch.sinh),
    R("cosh", [(3, 4)], torch.cosh),
    R("log2", [pos(3, 4)], torch.log2),
    R("log10", [pos(3, 4)], torch.log10),
    R("log10", [const([1, 10, 1000], "int64")], torch.log10, "int", diff=()),
    R("exp2", [(3, 4)], torch.exp2),
    R("erf", [(3, 4)], torch.erf),
    R("erfinv", [lambda rng: rng.uniform(-0.9, 0.9, (3, 4))], torch.erfinv),
    R("erfc", [(3, 4)], torch.erfc),
    R("erfc", [const([-3, 0, 4], "int64")], torch.erfc, "int", diff=()),
    R("erfcx", [(3, 4)], torch.special.erfcx),
    R("erfcx", [const([-1.0, 5.0, 30.0, 1e4])], torch.special.erfcx, "tail", numeric_tol=(1e-5, 1e-9)),  # erfc underflows, erfcx does not
    R("lgamma", [pos(3, 4, low=0.1, high=6.0)], torch.lgamma),
    R("lgamma", [lambda rng: -rng.uniform(0.2, 0.8, (5,)) - rng.integers(0, 3, (5,))], torch.lgamma, "negative"),
    R("lgamma", [const([0.0, -1.0, 1.0, 3.0])], torch.lgamma, "poles", numeric=False),  # inf at 0 and the negative integers
    # the gradients below are polygamma(n >= 1): PyTorch's series is good to about 1e-9 relative, SciPy's to the last digit (mpmath)
    R("digamma", [pos(3, 4, low=0.2, high=6.0)], torch.digamma, torch_tol=(1e-8, 1e-12)),
    R("digamma", [const([0.0, -0.0, -2.0, 1.5])], torch.digamma, "poles", diff=()),  # -inf at +0, +inf at -0, NaN at -2
    R("polygamma", [pos(3, 4)], lambda x: torch.polygamma(1, x), "n1", n=1, torch_tol=(1e-8, 1e-12)),
    R("polygamma", [pos(3, 4)], lambda x: torch.polygamma(3, x), "n3", n=3, numeric_tol=(1e-5, 1e-6), torch_tol=(1e-8, 1e-12)),
    R("polygamma", [pos(2, 3)], lambda x: torch.polygamma(0, x), "n0", n=0, torch_tol=(1e-8, 1e-12)),
    R("i0", [(3, 4)], torch.i0),
    R("i0e", [(3, 4)], torch.special.i0e),
    R("i1", [(3, 4)], torch.special.i1),
    R("i1e", [(3, 4)], torch.special.i1e),
    R("ndtri", [pos(3, 4, low=0.05, high=0.95)], torch.special.ndtri),
    R("bessel_j0", [(3, 4)], torch.special.bessel_j0, diff=()),
    R("bessel_j1", [(3, 4)], torch.special.bessel_j1, diff=()),
    # torch.special's other Bessel functions and orthogonal polynomials: PyTorch's algorithms, no derivative
    R("airy_ai", [lambda rng: rng.uniform(-6.0, 6.0, (3, 4))], torch.special.airy_ai, diff=()),
    R("bessel_y0", [pos(3, 4, low=0.1, high=9.0)], torch.special.bessel_y0, diff=()),
    R("bessel_y1", [pos(3, 4, low=0.1, high=9.0)], torch.special.bessel_y1, diff=()),
    R("modified_bessel_i0", [lambda rng: rng.uniform(-10.0, 10.0, (3, 4))], torch.special.modified_bessel_i0, diff=()),
    R("modified_bessel_i1", [lambda rng: rng.uniform(-10.0, 10.0, (3, 4))], torch.special.modified_bessel_i1, diff=()),
    R("modified_bessel_k0", [pos(3, 4, low=0.1, high=4.0)], torch.special.modified_bessel_k0, diff=()),
    R("modified_bessel_k1", [pos(3, 4, low=0.1, high=4.0)], torch.special.modified_bessel_k1, diff=()),
    R("scaled_modified_bessel_k0", [pos(3, 4, low=0.1, high=4.0)], torch.special.scaled_modified_bessel_k0, diff=()),
    R("scaled_modified_bessel_k1", [pos(3, 4, low=0.1, high=4.0)], torch.special.scaled_modified_bessel_k1, diff=()),
    R("spherical_bessel_j0", [(3, 4)], torch.special.spherical_bessel_j0, diff=()),
    R("chebyshev_polynomial_t", [(3, 4), 5], torch.special.chebyshev_polynomial_t, diff=()),
    R("chebyshev_polynomial_u", [(3, 4), 9], torch.special.chebyshev_polynomial_u, diff=()),
    R("chebyshev_polynomial_v", [(3, 4), const([[0], [3], [10]], "int64")], torch.special.chebyshev_polynomial_v, diff=()),
    R("chebyshev_polynomial_w", [(3, 4), 4.5], torch.special.chebyshev_polynomial_w, diff=()),
    R("shifted_chebyshev_polynomial_t", [pos(3, 4, low=-0.2, high=1.2), 7], torch.special.shifted_chebyshev_polynomial_t, diff=()),
    R("shifted_chebyshev_polynomial_u", [pos(3, 4, low=-0.2, high=1.2), 3], torch.special.shifted_chebyshev_polynomial_u, diff=()),
    R("shifted_chebyshev_polynomial_v", [pos(3, 4, low=-0.2, high=1.2), 8], torch.special.shifted_chebyshev_polynomial_v, diff=()),
    R("shifted_chebyshev_polynomial_w", [pos(3, 4, low=-0.2, high=1.2), 5], torch.special.shifted_chebyshev_polynomial_w, diff=()),
    R("hermite_polynomial_h", [(3, 4), 6], torch.special.hermite_polynomial_h, diff=()),
    R("hermite_polynomial_he", [(3, 4), const([-1.0, 2.0, 5.0, 6.9])], torch.special.hermite_polynomial_he, diff=()),
    R("laguerre_polynomial_l", [pos(3, 4, low=-2.0, high=6.0), 7], torch.special.laguerre_polynomial_l, diff=()),
    R("legendre_polynomial_p", [lambda rng: rng.uniform(-1.0, 1.0, (3, 4)), 11], torch.special.legendre_polynomial_p, diff=()),
    R("logit", [pos(3, 4, low=0.05, high=0.95)], torch.logit),
    R("logit", [const([0.05, 0.5, 0.97, -0.5, 1.5])], lambda x: torch.logit(x, 0.1), "eps", call=lambda e, x: e.apply("logit", x, eps=0.1),
      numeric=False),  # (eps= is the row's step: the op's goes through call)
    R("entr", [pos(3, 4, low=0.1, high=3.0)], torch.special.entr),
    R("xlogy", [(3, 4), pos(3, 4)], torch.xlogy),
    R("xlog1py", [(3, 4), pos(3, 4)], torch.special.xlog1py),
    R("hypot", [(3, 4), away(3, 4)], torch.hypot),
    R("logaddexp", [(3, 4), (3, 4)], torch.logaddexp),
    R("gammainc", [pos(3, 4), pos(3, 4)], torch.special.gammainc, diff=(1,)),
    R("gammaincc", [pos(3, 4), pos(3, 4)], torch.special.gammaincc, diff=(1,)),
    R("zeta", [pos(3, 4, low=1.5, high=3.0), pos(3, 4)], torch.special.zeta, diff=(1,)),
    R("kthvalue", [distinct(3, 5)], lambda x: torch.kthvalue(x, 2), "k2", k=2),
    R("kthvalue", [distinct(4, 3)], lambda x: torch.kthvalue(x, 3, 0, keepdim=True), "dim0-keepdim", k=3, dim=0, keepdim=True),
    R("atan2", [(3, 4), away(3, 4, gap=0.3)], torch.atan2),
    R("atan2", [(3, 1), away(4, gap=0.3)], torch.atan2, "bcast"),
    R("atan2", [const([1, -2], "int64"), const([3, 3], "int64")], torch.atan2, "int", diff=()),
    R("fmod", [grid(3, 4, offset=0.1), const([[1.37, -0.93, 2.23, 0.71]])], torch.fmod, "bcast"),
    R("fmod", [(3, 4), 1.5], torch.fmod, "scalar-right"),
    R("fmod", [const([7, -7, 8], "int64"), const([3, 3, -3], "int64")], torch.fmod, "int", diff=()),
    # zero gradients almost everywhere, as PyTorch's (inputs away from the jumps)
    R("floor", [grid(3, 4, offset=0.25)], torch.floor),
    R("floor", [const([3, -2], "int64")], torch.floor, "int", diff=()),
    R("ceil", [grid(3, 4, offset=0.25)], torch.ceil),
    R("trunc", [grid(3, 4, offset=0.25)], torch.trunc),
    R("round", [grid(3, 4, offset=0.1)], torch.round),
    R("round", [const([0.5, 1.5, 2.5, -0.5, -1.5])], torch.round, "half-to-even", numeric=False),
    R("round", [grid(3, 4, offset=0.01)], lambda x: torch.round(x, decimals=1), "decimals", decimals=1, numeric=False),
    R("sign", [away(3, 4)], torch.sign),
    R("sign", [const([3, 0, -2], "int64")], torch.sign, "int", diff=()),
    R("sign", [const([True, False])], torch.sign, "bool", diff=()),
    # more reductions
    R("prod", [(3, 4)], torch.prod, "all"),
    R("prod", [(3, 4)], lambda x: torch.prod(x, 1), "dim1", dim=1),
    R("prod", [const([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5], [1.0, 2.0, 0.5]])], lambda x: torch.prod(x, 1, keepdim=True), "zeros-keepdim",
      dim=1, keepdim=True),
    R("prod", [const([[2, 3], [4, 5]], "int64")], lambda x: torch.prod(x, 0), "int", dim=0, diff=()),
    R("amax", [distinct(3, 4)], torch.amax, "all"),
    R("amax", [grid(3, 4)], lambda x: torch.amax(x, 1), "ties-dim1", dim=1),
    R("amin", [grid(2, 3, 4)], lambda x: torch.amin(x, (0, 2), keepdim=True), "ties-dims-keepdim", dim=(0, 2), keepdim=True),
    R("logsumexp", [(3, 4)], lambda x: torch.logsumexp(x, 1), "dim1", dim=1),
    R("logsumexp", [(2, 3, 4)], lambda x: torch.logsumexp(x, (0, 2), keepdim=True), "dims-keepdim", dim=(0, 2), keepdim=True),
    R("logsumexp", [const([[1000.0, 1000.0], [-np.inf, -np.inf]])], lambda x: torch.logsumexp(x, 1), "extremes", dim=1, numeric=False),
    # moving elements
    R("einsum", [(2, 3), (3, 4)], lambda x, y: torch.einsum("ij,jk->ik", x, y), "matmul", equation="ij,jk->ik"),
    R("einsum", [(2, 3, 4, 5), (2, 3, 6, 5)], lambda q, k: torch.einsum("bhqd,bhkd->bhqk", q, k), "attention", equation="bhqd,bhkd->bhqk"),
    R("einsum", [(3, 4)], lambda x: torch.einsum("ij->j", x), "sum-out", equation="ij->j"),
    R("einsum", [(3, 3)], lambda x: torch.einsum("ii->i", x), "diagonal", equation="ii->i"),
    R("einsum", [(3, 3)], lambda x: torch.einsum("ii->", x), "trace", equation="ii->"),
    R("einsum", [(2, 2, 3), (3, 4)], lambda x, y: torch.einsum("iij,jk->ik", x, y), "diagonal-contracted", equation="iij,jk->ik"),
    R("einsum", [(3, 2, 3, 1), (4,)], lambda x, y: torch.einsum("ijil,l->jl", x, y), "diagonal-broadcast-one", equation="ijil,l->jl"),
    R("einsum", [(3,), (4,), (2, 4)], lambda x, y, z: torch.einsum("i,j,kj->ik", x, y, z), "three", equation="i,j,kj->ik"),
    R("einsum", [(5, 1, 3), (2, 3)], lambda x, y: torch.einsum("...j,kj->...k", x, y), "broadcast-size-1", equation="Abj,kj->Abk"),
    R("pad", [(2, 3, 4)], lambda x: F.pad(x, (1, 2)), "last", pad=(1, 2)),
    R("pad", [(2, 3, 4)], lambda x: F.pad(x, (1, -1, -1, 2), value=0.5), "crop-value", pad=(1, -1, -1, 2), value=0.5),
    R("pad", [const([[1, 2], [3, 4]], "int64")], lambda x: F.pad(x, (0, 0, 1, 0), value=7), "int-rows", pad=(0, 0, 1, 0), value=7, diff=()),
    R("flip", [(3, 4)], lambda x: torch.flip(x, (0, 1)), "both", dims=(0, 1)),
    R("flip", [(2, 3, 4)], lambda x: torch.flip(x, (-1,)), "last", dims=(-1,)),
    R("roll", [(3, 4)], lambda x: torch.roll(x, 1, 1), "dim1", shifts=1, dims=1),
    R("roll", [(3, 4)], lambda x: torch.roll(x, (2, -1), (0, 1)), "two-dims", shifts=(2, -1), dims=(0, 1)),
    R("roll", [(3, 4)], lambda x: torch.roll(x, 5), "flat", shifts=5),
    R("repeat", [(3, 4)], lambda x: x.repeat(2, 1), "rows", sizes=(2, 1)),
    R("repeat", [(3,)], lambda x: x.repeat(2, 1, 3), "new-dims", sizes=(2, 1, 3)),
    R("mode", [distinct(3, 4)], lambda x: torch.mode(x), "distinct"),
    R("mode", [grid(4, 9)], lambda x: torch.mode(x, 0, keepdim=True), "ties-dim0-keepdim", dim=0, keepdim=True, numeric=False),
    R("mode", [grid(3, 4, 9)], lambda x: torch.mode(x, -2), "ties-dim-neg", dim=-2, numeric=False),
    R("sort", [distinct(3, 4)], lambda x: torch.sort(x), "last"),
    R("sort", [distinct(3, 4)], lambda x: torch.sort(x, 0, descending=True), "dim0-descending", dim=0, descending=True),
    R("sort", [grid(3, 6)], lambda x: torch.sort(x, stable=True), "ties", numeric=False),
    R("sort", [grid(3, 6)], lambda x: torch.sort(x, descending=True, stable=True), "ties-descending", descending=True, numeric=False),
    R("sort", [const([[1.0, np.nan, -2.0, np.nan, 0.5]])], lambda x: torch.sort(x, descending=True, stable=True), "nan", descending=True,
      numeric=False),
    R("topk", [distinct(3, 5)], lambda x: torch.topk(x, 2), "k2", k=2),
    R("cummax", [distinct(3, 4)], lambda x: torch.cummax(x, 1), "dim1", dim=1),
    R("cummax", [distinct(3, 4)], lambda x: torch.cummax(x, -2), "dim-2", dim=-2),
    R("cummax", [grid(3, 6)], lambda x: torch.cummax(x, 1), "ties", dim=1, numeric=False),
    R("cummax", [const([1.0, 3.0, 3.0, 2.0, np.nan, 5.0, np.nan])], lambda x: torch.cummax(x, 0), "nan", dim=0, numeric=False),
    R("cummax", [()], lambda x: torch.cummax(x, 0), "0d", dim=0),
    R("cummax", [const([[1, 3, 2], [4, 0, 4]], "int64")], lambda x: torch.cummax(x, 1), "int", dim=1, diff=()),
    R("cummin", [distinct(3, 4)], lambda x: torch.cummin(x, 0), "dim0", dim=0),
    R("cummin", [grid(3, 6)], lambda x: torch.cummin(x, -1), "ties", dim=-1, numeric=False),
    R("topk", [distinct(4, 3)], lambda x: torch.topk(x, 3, 0, largest=False), "smallest-dim0", k=3, dim=0, smallest=True),
    # no gradient: bitwise ops on masks and integers
    R("bitwise_and", [const(_mask()), const(_mask()[::-1].copy())], lambda x, y: x & y, diff=()),
    R("bitwise_or", [const(_mask()), True], lambda x, y: x | y, "scalar", diff=()),
    R("bitwise_xor", [const([3, 5, 6], "int64"), const([1, 1, 7], "int64")], lambda x, y: x ^ y, "int", diff=()),
    R("bitwise_left_shift", [const([1, -8, 5, 3, 100], "int64"), const([1, 2, 70, -1, 3], "int64")], lambda x, y: x << y, "int", diff=()),
    R("bitwise_left_shift", [const([1, -8, 100], "int8"), 2], lambda x, y: x << y, "int8-wraps", diff=()),
    R("bitwise_right_shift", [const([1, -8, 5, -3, 100], "int64"), const([1, 2, 70, 64, 3], "int64")], lambda x, y: x >> y, "int", diff=()),
    R("bitwise_right_shift", [const([200, 7], "uint8"), const([9, 1], "uint8")], lambda x, y: x >> y, "uint8", diff=()),
    R("bitwise_not", [const(_mask())], lambda x: ~x, diff=()),
    R("bitwise_not", [const([3, -5], "int64")], lambda x: ~x, "int", diff=()),
    # no gradient: comparisons and arg-reductions (ties on purpose: equal elements exist)
    R("eq", [grid(3, 4), grid(3, 4)], lambda x, y: x == y, call=lambda e, x, y: x == y, diff=()),
    R("ne", [grid(3, 4), grid(1, 4)], lambda x, y: x != y, "bcast", diff=()),
    R("lt", [grid(3, 4), grid(3, 4)], lambda x, y: x < y, diff=()),
    R("le", [grid(3, 4), 0.5], lambda x, y: x <= y, "scalar", call=lambda e, x, y: x <= y, diff=()),
    R("gt", [grid(3, 4), grid(3, 4)], lambda x, y: x > y, call=lambda e, x, y: x > y, diff=()),
    R("ge", [grid(3, 1), grid(4)], lambda x, y: x >= y, "bcast", diff=()),
    # no gradient: tests of values, logical ops, boolean reductions, counts
    R("isnan", [const([1.0, np.nan, np.inf, -np.inf])], torch.isnan, diff=()),
    R("isinf", [const([1.0, np.nan, np.inf, -np.inf])], torch.isinf, diff=()),
    R("isfinite", [const([1.0, np.nan, np.inf, -np.inf])], torch.isfinite, diff=()),
    R("isfinite", [const([1, 2], "int64")], torch.isfinite, "int", diff=()),
    R("logical_not", [grid(3, 4)], torch.logical_not, diff=()),
    R("logical_and", [grid(3, 4), const(_mask())], torch.logical_and, diff=()),
    R("logical_or", [grid(3, 1), grid(4)], torch.logical_or, "bcast", diff=()),
    R("logical_xor", [const(_mask()), const(_mask()[::-1].copy())], torch.logical_xor, diff=()),
    R("all", [grid(3, 4)], torch.all, "all", diff=()),
    R("all", [const(_mask())], lambda x: torch.all(x, 1), "dim1", dim=1, diff=()),
    R("any", [grid(3, 4)], lambda x: torch.any(x, 0, keepdim=True), "dim0-keepdim", dim=0, keepdim=True, diff=()),
    R("count_nonzero", [grid(3, 4)], torch.count_nonzero, "all", diff=()),
    R("searchsorted", [const([1.0, 3.0, 5.0, 7.0]), const([[0.5, 3.0, 9.0], [7.0, 5.0, 1.0]])], torch.searchsorted, diff=()),
    R("searchsorted", [const([1.0, 3.0, 5.0, 7.0]), const([0.5, 3.0, 7.0])], lambda s, v: torch.searchsorted(s, v, right=True, out_int32=True),
      "right-int32", right=True, out_int32=True, diff=()),
    R("searchsorted", [const([[1, 3, 5], [2, 4, 6]], "int64"), const([[2.5, 6.0], [2.0, 0.0]])], torch.searchsorted, "rows", diff=()),
    R("searchsorted", [const([1, 3, 5], "int64"), const(3, "int64")], torch.searchsorted, "0d-value", diff=()),
    R("nonzero", [grid(3, 4)], torch.nonzero, diff=()),
    R("nonzero", [const(_mask())], torch.nonzero, "mask", diff=()),
    R("unique", [const([3, 1, 3, 2, 1, 3], "int64")], lambda x: torch.unique(x, return_inverse=True, return_counts=True), diff=()),
    R("unique", [const([[1, 2], [1, 2], [0, 1]], "int64")], lambda x: torch.unique(x, return_inverse=True, return_counts=True, dim=0),
      "dim0", dim=0, diff=()),
    R("bincount", [const([3, 1, 3, 2, 1, 3], "int64")], torch.bincount, diff=()),
    R("one_hot", [const([[0, 2], [1, 2]], "int64")], lambda x: F.one_hot(x, 4), diff=(), num_classes=4),
    R("one_hot", [const([0, 3, 1], "int64")], F.one_hot, "inferred", diff=()),
    R("probabilities", [pos(2, 3)], lambda x: x.detach(), diff=()),  # torch.multinomial's check of its weights
    R("histc", [(40,)], lambda x: torch.histc(x, bins=6), "data-range", bins=6, diff=()),
    R("histc", [grid(5, 8)], lambda x: torch.histc(x, bins=8, min=-1, max=1), "range", bins=8, min=-1.0, max=1.0, diff=()),
    R("bincount", [const([0, 1], "int64")], lambda x: torch.bincount(x, minlength=5), "minlength", minlength=5, diff=()),
    R("bincount_weighted", [const([3, 1, 3, 0], "int64"), (4,)], lambda x, w: torch.bincount(x, w), diff=()),
    R("count_nonzero", [grid(3, 4)], lambda x: torch.count_nonzero(x, 1), "dim1", dim=1, diff=()),
    R("argmax", [distinct(3, 4)], lambda x: x.argmax(), "all", diff=()),
    R("argmax", [distinct(3, 4)], lambda x: x.argmax(dim=1), "dim1", call=lambda e, x: x.argmax(dim=1), diff=()),
    R("argmin", [distinct(3, 4)], lambda x: x.argmin(dim=0, keepdim=True), "dim0-keepdim", dim=0, keepdim=True, diff=()),
    R("argmin", [distinct(2, 3)], lambda x: x.argmin(), "all", call=lambda e, x: x.argmin(), diff=()),
    # complex numbers and the FFTs: real inputs made complex with ``complex``, real outputs through real/imag (every
    # part of a complex result in ``_ri``), so both the numerical check and torch's gradient apply
    R("complex", [(3, 4), (3, 4)], lambda x, y: torch.complex(x, y).abs(), call=lambda e, x, y: e.apply("abs", e.apply("complex", x, y))),
    R("real", [(3, 4), (3, 4)], lambda x, y: (torch.complex(x, y) * torch.complex(y, x).exp()).real,
      call=lambda e, x, y: e.apply("real", _cmul(e, x, y))),
    R("imag", [(3, 4), (3, 4)], lambda x, y: (torch.complex(x, y) * torch.complex(y, x).exp()).imag,
      call=lambda e, x, y: e.apply("imag", _cmul(e, x, y))),
    R("conj", [(3, 4), (3, 4)], lambda x, y: _ri(torch, torch.complex(x, y).conj() / torch.complex(y, x + 3)),
      call=lambda e, x, y: _ri(e, e.apply("div", e.apply("conj", e.apply("complex", x, y)), e.apply("complex", y, x + 3)))),
    R("angle", [(3, 4), (3, 4)], lambda x, y: torch.complex(x, y).angle(), call=lambda e, x, y: e.apply("angle", e.apply("complex", x, y))),
    R("angle", [away(3, 4)], torch.angle, "real"),
    R("fftn", [(3, 4), (3, 4)], lambda x, y: _ri(torch, torch.fft.fftn(torch.complex(x, y), s=(4, 3), dim=(0, 1), norm="ortho")),
      call=lambda e, x, y: _ri(e, e.apply("fftn", e.apply("complex", x, y), s=(4, 3), dim=(0, 1), norm="ortho"))),
    R("fftn", [(3, 5)], lambda x: _ri(torch, torch.fft.fft(x, n=4)), "real-input",
      call=lambda e, x: _ri(e, e.apply("fftn", x, s=(4,), dim=(1,), norm="backward"))),
    R("ifftn", [(3, 4), (3, 4)], lambda x, y: _ri(torch, torch.fft.ifftn(torch.complex(x, y), s=(2, 6), dim=(0, 1))),
      call=lambda e, x, y: _ri(e, e.apply("ifftn", e.apply("complex", x, y), s=(2, 6), dim=(0, 1), norm="backward"))),
    R("rfftn", [(3, 6)], lambda x: _ri(torch, torch.fft.rfftn(x, s=(3, 5), dim=(0, 1), norm="forward")),
      call=lambda e, x: _ri(e, e.apply("rfftn", x, s=(3, 5), dim=(0, 1), norm="forward"))),
    R("rfftn", [(2, 6)], lambda x: _ri(torch, torch.fft.rfft(x, n=8)), "padded",
      call=lambda e, x: _ri(e, e.apply("rfftn", x, s=(8,), dim=(1,), norm="backward"))),
    R("irfftn", [(3, 4), (3, 4)], lambda x, y: torch.fft.irfftn(torch.complex(x, y), s=(3, 6), dim=(0, 1)),
      call=lambda e, x, y: e.apply("irfftn", e.apply("complex", x, y), s=(3, 6), dim=(0, 1), norm="backward")),
    R("linalg_eig", [(4, 4)], lambda a: _eig_invariants(torch, *torch.linalg.eig(a)), call=lambda e, a: _eig_invariants(e, *e.apply("linalg_eig", a)),
      numeric_tol=(1e-4, 1e-6), dtypes=("float64",)),  # (float32: LAPACK's rounding differs from torch's beyond the table's tolerance)
    R("linalg_eig", [(2, 3, 3), (2, 3, 3)], lambda x, y: _eig_invariants(torch, *torch.linalg.eig(torch.complex(x, y))), "complex-batched",
      call=lambda e, x, y: _eig_invariants(e, *e.apply("linalg_eig", e.apply("complex", x, y))), numeric_tol=(1e-4, 1e-6),
      dtypes=("float64",)),
    R("irfftn", [(2, 4), (2, 4)], lambda x, y: torch.fft.irfft(torch.complex(x, y), n=5, norm="ortho"), "odd",
      call=lambda e, x, y: e.apply("irfftn", e.apply("complex", x, y), s=(5,), dim=(1,), norm="ortho")),
]

assert len({row.id for row in ROWS}) == len(ROWS), "row ids must be unique"

DIFFERENTIABLE_ROWS = [row for row in ROWS if row.diff]
NUMERIC_ROWS = [row for row in DIFFERENTIABLE_ROWS if row.numeric]
TORCH_CASES = [pytest.param(row, dtype, id=f"{row.id}-{dtype}") for row in ROWS for dtype in row.dtypes]


# --- making inputs ----------------------------------------------------------------------------------------


def make_inputs(row, dtype):
    """Fresh input values for ``row``, the same for the same row on every run."""
    rng = np.random.default_rng(zlib.crc32(row.id.encode()))
    values = []
    for spec in row.inputs:
        if isinstance(spec, tuple):
            value = np.asarray(rng.standard_normal(spec), dtype=dtype)
        elif callable(spec):
            value = np.asarray(spec(rng))
            if value.dtype.kind == "f":
                value = value.astype(dtype)
        else:
            value = spec
        values.append(value)
    return values, rng


def engine_inputs(engine, row, values):
    return [
        engine.tensor(v, requires_grad=i in row.diff) if isinstance(v, np.ndarray) else v
        for i, v in enumerate(values)
    ]


def torch_inputs(row, values):
    return [to_torch(v, requires_grad=i in row.diff) if isinstance(v, np.ndarray) else v for i, v in enumerate(values)]


def first(out):
    return out[0] if isinstance(out, tuple) else out


def numerical_vjp(f, values, i, cotangent, eps):
    """d/d values[i] of sum(cotangent * f(values)) by central differences (float64 sums)."""
    x = values[i]
    grad = np.zeros(x.shape, dtype=np.float64)
    cotangent = np.asarray(cotangent, dtype=np.float64)
    for j in range(x.size):
        plus, minus = x.copy(), x.copy()
        plus.flat[j] += eps
        minus.flat[j] -= eps
        step = float(plus.flat[j]) - float(minus.flat[j])  # the step actually taken, after rounding
        args_plus, args_minus = list(values), list(values)
        args_plus[i], args_minus[i] = plus, minus
        up = np.sum(cotangent * f(args_plus).astype(np.float64))
        down = np.sum(cotangent * f(args_minus).astype(np.float64))
        grad.flat[j] = (up - down) / step
    return grad


# --- the tests ----------------------------------------------------------------------------------------------


def test_every_op_has_a_row():
    missing = sorted(set(OPS) - {row.op for row in ROWS})
    assert not missing, f"ops without a row in the gradient-test table: {missing}"


# recorded, but a backward through them raises: no rule, or rules that raise (vjps._no_derivative's)
NO_DERIVATIVE = sorted(op for op, vjp in VJPS.items() if all(rule is None or getattr(rule, "no_derivative", False) for rule in vjp.rules))


def test_every_differentiable_op_is_differentiated():
    """Each op outside NON_DIFFERENTIABLE has at least one row that checks a gradient numerically."""
    checked = {row.op for row in NUMERIC_ROWS}
    missing = sorted(set(OPS) - set(NON_DIFFERENTIABLE) - set(NO_DERIVATIVE) - checked)
    assert not missing, f"differentiable ops whose gradient no row checks: {missing}"


def check_numerical_gradient(engine, row, check_placement=lambda tensor, what: None):
    """Every differentiable input's VJP on ``engine`` equals central differences of its forward, in float64.

    ``check_placement`` is called on the output and each gradient (the GPU tests check the device).
    """
    values, rng = make_inputs(row, np.float64)
    inputs = engine_inputs(engine, row, values)
    out = first(row.run(engine, *inputs))
    assert out.requires_grad
    check_placement(out, f"{row.id}: output")
    cotangent = rng.standard_normal(out.shape).astype(out.dtype)
    out.backward(gradient=engine.tensor(cotangent))

    def forward(args):
        with no_grad():
            return first(row.run(engine, *engine_inputs(engine, row, args))).numpy()

    rtol, atol = row.numeric_tol
    for i, x in enumerate(inputs):
        if i not in row.diff:
            assert not hasattr(x, "grad") or x.grad is None, f"input {i} does not require grad but got one"
            continue
        assert x.grad is not None, f"input {i} got no gradient"
        check_placement(x.grad, f"{row.id}: d/d input {i}")
        assert x.grad.shape == x.shape and x.grad.dtype == x.dtype, f"input {i}: grad {x.grad.shape} {x.grad.dtype}"
        expected = numerical_vjp(forward, values, i, cotangent, row.eps)
        assert_close(x.grad, expected, rtol=rtol, atol=atol, what=f"{row.id}: d/d input {i}")


@pytest.mark.parametrize("row", NUMERIC_ROWS, ids=lambda row: row.id)
def test_numerical_gradient(row):
    """The VJP of every differentiable input equals central differences of the forward, in float64."""
    check_numerical_gradient(Engine("cpu", seed=0), row)


@pytest.mark.parametrize("row, dtype", TORCH_CASES)
def test_matches_torch(row, dtype):
    """Forward values (and indices), dtypes, requires_grad and VJPs agree with PyTorch on the CPU."""
    engine = Engine("cpu", seed=0)
    values, rng = make_inputs(row, dtype)
    inputs, t_inputs = engine_inputs(engine, row, values), torch_inputs(row, values)
    out, t_out = row.run(engine, *inputs), row.ref(*t_inputs)

    outs = out if isinstance(out, tuple) else (out,)
    t_outs = tuple(t_out) if isinstance(t_out, tuple) else (t_out,)
    assert len(outs) == len(t_outs)
    rtol, atol = row.torch_tol if dtype == "float64" else (None, None)
    for k, (o, t) in enumerate(zip(outs, t_outs)):
        assert_close(o, t, rtol=rtol, atol=atol, what=f"{row.id}: output {k}")
    y, t_y = outs[0], t_outs[0]
    assert y.requires_grad == t_y.requires_grad
    assert (y.grad_fn is None) == (t_y.grad_fn is None)
    if not row.diff:
        return

    cotangent = rng.standard_normal(y.shape).astype(y.dtype)
    wrt = [inputs[i] for i in row.diff]
    grads = engine.grad(y, wrt, grad_outputs=engine.tensor(cotangent))
    t_grads = torch.autograd.grad(t_y, [t_inputs[i] for i in row.diff], grad_outputs=torch.from_numpy(cotangent))
    for i, g, t in zip(row.diff, grads, t_grads):
        assert_close(g, t, rtol=rtol, atol=atol, what=f"{row.id}: d/d input {i}")
    assert all(x.grad is None for x in wrt), "engine.grad must not touch .grad"


# ops that keep only the inputs their due gradients read (``reads`` in the VJP table): the rule of each input
# must work with the others' shapes alone where they need no gradient
@pytest.mark.parametrize("row", [row for row in ROWS if row.op in VJPS and VJPS[row.op].reads is not None and len(row.diff) > 1],
                         ids=lambda row: row.id)
def test_each_input_alone_requiring_grad_gets_torchs_gradient(row):
    """With only input i requiring grad, the op keeps what i's rule reads and nothing else; the gradient is torch's."""
    for i in row.diff:
        alone = dataclasses.replace(row, diff=(i,))
        engine = Engine("cpu", seed=0)
        values, rng = make_inputs(alone, np.float64)
        inputs, t_inputs = engine_inputs(engine, alone, values), torch_inputs(alone, values)
        y, t_y = first(alone.run(engine, *inputs)), first(alone.ref(*t_inputs))
        cotangent = rng.standard_normal(y.shape)
        (g,) = engine.grad(y, [inputs[i]], grad_outputs=engine.tensor(cotangent))
        (t,) = torch.autograd.grad(t_y, [t_inputs[i]], grad_outputs=torch.from_numpy(cotangent))
        assert_close(g, t, what=f"{row.id}: d/d input {i}, alone")


_DIAGONAL = np.diag([2.0, -3.0])  # a factored LD (no swaps: pivots 1, 2) for ldl_solve
# op: (the input that requires grad, the op on the engine, on torch, torch's ATen name)
NO_DERIVATIVE_CALLS = {
    "floor_divide": ([5.5, -3.0], lambda e, x: e.apply("floor_divide", x, e.tensor([2.0, 2.0])),
                     lambda t: torch.floor_divide(t, torch.tensor([2.0, 2.0], dtype=t.dtype)), "floor_divide"),
    "heaviside": ([5.5, -3.0], lambda e, x: e.apply("heaviside", x, e.tensor([2.0, 2.0])),
                  lambda t: torch.heaviside(t, torch.tensor([2.0, 2.0], dtype=t.dtype)), "heaviside"),
    "ldl_factor": ([[2.0, 1.0], [1.0, -3.0]], lambda e, x: e.apply("ldl_factor", x)[0], lambda t: torch.linalg.ldl_factor(t)[0],
                   "linalg_ldl_factor_ex"),
    "ldl_solve": ([[1.0], [2.0]], lambda e, b: e.apply("ldl_solve", e.tensor(_DIAGONAL), e.tensor(np.array([1, 2], dtype=np.int32)), b),
                  lambda t: torch.linalg.ldl_solve(torch.tensor(_DIAGONAL), torch.tensor([1, 2], dtype=torch.int32), t), "linalg_ldl_solve"),
}


def test_every_op_without_a_derivative_has_a_call_below():
    assert sorted(NO_DERIVATIVE_CALLS) == NO_DERIVATIVE


@pytest.mark.parametrize("op", NO_DERIVATIVE)
def test_ops_without_a_derivative_record_one_that_raises_as_torchs_do(op):
    values, call, t_call, aten = NO_DERIVATIVE_CALLS[op]
    engine = Engine("cpu", seed=0)
    x = engine.tensor(np.array(values), requires_grad=True)
    out, t_out = call(engine, x), t_call(to_torch(x, requires_grad=True))
    assert out.requires_grad and t_out.requires_grad
    with pytest.raises(NotImplementedError, match=f"derivative .*{op}.* not implemented"):
        engine.apply("sum", out).backward()
    with pytest.raises(RuntimeError, match=f"derivative for aten::{aten} is not implemented"):
        t_out.sum().backward()


# rows of ops on floats (bitwise ops take none: test_bitwise_ops_refuse_floats_as_torchs_do)
# (bincount's weights and geqrf: torch records a node whose backward raises; gradwire's output has no grad: both refuse a backward)
NO_GRAD_ROWS = [row for row in ROWS if row.op in NON_DIFFERENTIABLE and not row.op.startswith("bitwise_") and row.op not in ("bincount_weighted", "geqrf")
                and any(isinstance(spec, tuple) or (callable(spec) and _makes_floats(spec)) for spec in row.inputs)]


@pytest.mark.parametrize("op, inputs", [("bitwise_and", 2), ("bitwise_or", 2), ("bitwise_xor", 2), ("bitwise_not", 1),
                                        ("bitwise_left_shift", 2), ("bitwise_right_shift", 2)])
def test_bitwise_ops_refuse_floats_as_torchs_do(op, inputs):
    from gradwire_server.engine import InvalidArgument

    engine = Engine("cpu", seed=0)
    x, t = engine.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    with pytest.raises((TypeError, NotImplementedError)) as theirs:
        getattr(torch, op)(*[t] * inputs)
    with pytest.raises(InvalidArgument) as ours:
        engine.apply(op, *[x] * inputs)
    assert str(theirs.value).replace("_cpu", "") in str(ours.value)


@pytest.mark.parametrize("op", ["gather", "scatter", "scatter_add"])
@pytest.mark.parametrize("dtype", ["float32", "uint8", "int16", "bool"])
def test_gather_and_scatter_take_int32_and_int64_indices_only_as_torchs_do(op, dtype):
    from gradwire_server.engine import InvalidArgument

    engine = Engine("cpu", seed=0)
    x, t = engine.tensor(np.ones((2, 3), np.float32)), torch.ones(2, 3)
    index = np.zeros((1, 1), dtype)
    args = {"gather": lambda a, i: (a, i), "scatter": lambda a, i: (a, i, a[:1, :1]), "scatter_add": lambda a, i: (a, i, a[:1, :1])}[op]
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch, op)(*(lambda a, i: (a, 1, *args(a, i)[1:]))(t, torch.from_numpy(index)))
    with pytest.raises(InvalidArgument) as ours:
        engine.apply(op, *args(x, engine.tensor(index)), dim=1)
    assert str(theirs.value) in str(ours.value)
    for ok in ("int32", "int64"):
        assert engine.apply(op, *args(x, engine.tensor(np.zeros((1, 1), ok))), dim=1).numpy().shape == ((1, 1) if op == "gather" else (2, 3))


@pytest.mark.parametrize("row", NO_GRAD_ROWS, ids=lambda row: row.id)
def test_non_differentiable_outputs_do_not_require_grad(row):
    """Comparisons and arg-reductions of inputs that require grad give outputs without grad (as PyTorch)."""
    engine = Engine("cpu", seed=0)
    values, _ = make_inputs(row, np.float32)
    inputs = [engine.tensor(v, requires_grad=v.dtype.kind == "f") if isinstance(v, np.ndarray) else v for v in values]
    t_inputs = [to_torch(v, requires_grad=v.dtype.kind == "f") if isinstance(v, np.ndarray) else v for v in values]
    assert any(getattr(x, "requires_grad", False) for x in inputs)
    out, t_out = row.run(engine, *inputs), row.ref(*t_inputs)
    assert out.requires_grad is False and t_out.requires_grad is False
    assert out.grad_fn is None and out.is_leaf
    assert TORCH_DTYPES[out.dtype] == t_out.dtype


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_min_with_dim_return_named_values_and_indices(engine, dim):
    x = engine.tensor(np.arange(12.0)[::-1].reshape(3, 4) % 5, requires_grad=True)
    t = to_torch(x, requires_grad=True)
    for name in ("max", "min"):
        result, expected = getattr(x, name)(dim=dim), getattr(t, name)(dim=dim)
        assert type(result).__name__ == name and result._fields == ("values", "indices")
        assert_close(result.values, expected.values, what=f"{name} values")
        assert_close(result.indices, expected.indices, what=f"{name} indices")
        assert result.values.requires_grad and not result.indices.requires_grad


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_is_finite_at_large_inputs(engine, op):
    x = engine.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -3000.0]], requires_grad=True)
    y = getattr(x, op)(dim=1)
    (y * engine.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])).sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()
    t = to_torch(x, requires_grad=True)
    assert_close(y, getattr(t, op)(dim=1))


KINKS = [
    ("maximum", lambda m, x, y: m.maximum(x, y)),
    ("minimum", lambda m, x, y: m.minimum(x, y)),
    ("max-all", lambda m, x, y: (x * y).max()),
    ("min-all", lambda m, x, y: (x * y).min()),
    ("clamp-at-bounds", lambda m, x, y: (x * y).clamp(-1.0, 1.0)),
    ("relu-at-0", lambda m, x, y: (x * y).relu()),
    ("abs-at-0", lambda m, x, y: (x * y).abs()),
]


@pytest.mark.parametrize("name, f", KINKS, ids=[k[0] for k in KINKS])
def test_ties_and_kinks_follow_torch(engine, name, f):
    """Where the derivative is undefined (ties, abs/relu at 0, clamp at a bound) the engine picks PyTorch's value."""
    x_values = np.array([[1.0, -1.0, 0.0, 2.0], [1.0, 0.5, 0.0, 2.0]])
    y_values = np.array([[1.0, 1.0, 0.0, 1.0], [1.0, 3.0, 1.0, 1.0]])  # x == y, x * y in {-1, 0, 1, 2} with ties
    x, y = engine.tensor(x_values, requires_grad=True), engine.tensor(y_values, requires_grad=True)
    tx, ty = to_torch(x, requires_grad=True), to_torch(y, requires_grad=True)
    out, t_out = f(engine, x, y), f(torch, tx, ty)
    assert_close(out, t_out)
    cotangent = np.arange(1.0, 1.0 + out.numel()).reshape(out.shape)
    grads = engine.grad(out, [x, y], grad_outputs=engine.tensor(cotangent))
    t_grads = torch.autograd.grad(t_out, [tx, ty], grad_outputs=torch.from_numpy(cotangent))
    for k, (g, t) in enumerate(zip(grads, t_grads)):
        assert_close(g, t, what=f"{name}: d/d input {k}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelus_gradient_at_zero_infinities_nan_and_the_tails_is_torchs(engine, dtype):
    """gelu's backward divides the CDF out of its forward's answer: at 0, +-inf and NaN it takes the CDF's own value
    (the gradient at +-inf is NaN all the same, inf times a density of 0, as torch's), and in the tails (an answer near
    underflow) it keeps torch's gradient."""
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, 1e-40, -3.0, -8.0, 2.5, 9.0], dtype)
    x = engine.tensor(values, requires_grad=True)
    engine.apply("gelu", x).backward(engine.tensor(np.ones_like(values)))
    t = torch.tensor(values, requires_grad=True)
    torch.nn.functional.gelu(t).backward(torch.ones_like(t))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-12, equal_nan=True)
    assert x.grad.numpy()[:2].tolist() == [0.5, 0.5]


SELECTS = [("leaky_relu", "negative_slope", slope, lambda t, v: torch.nn.functional.leaky_relu(t, v)) for slope in (0.01, 0.2, 1.0, 1.5, 0.0, -0.3)]
SELECTS += [("elu", "alpha", alpha, lambda t, v: torch.nn.functional.elu(t, v)) for alpha in (1.0, 0.3, 2.0)]


@pytest.mark.parametrize("op, param, value, theirs", SELECTS, ids=[f"{op}-{value}" for op, _, value, _ in SELECTS])
def test_sign_selecting_activations_and_their_gradients_are_torchs(engine, op, param, value, theirs):
    """leaky_relu (a slope in (0, 1]) and elu (an alpha in (0, 1]) take the larger of their two branches, and their
    gradients' factors as a maximum, not a select: torch's values (to a rounding of exp on another device), zeros'
    signs, infinities and NaN included; other parameters select."""
    values = np.array([3.0, -2.0, 0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 0.5], np.float32)
    cotangent = np.array([1.0, -1.0, -0.0, 2.0, 1.0, 1.0, 1.0, -3.0, 0.25, np.nan], np.float32)
    x = engine.tensor(values, requires_grad=True)
    y = engine.apply(op, x, **{param: value})
    y.backward(engine.tensor(cotangent))
    t = torch.tensor(values, requires_grad=True)
    t_y = theirs(t, value)
    t_y.backward(torch.from_numpy(cotangent))
    checked = ~np.isnan(values) if op == "elu" else np.ones(values.shape, bool)  # elu's gradient at NaN: ours NaN, torch's 1
    for ours, expected, what in ((y.numpy(), t_y.detach().numpy(), "output"), (x.grad.numpy()[checked], t.grad.numpy()[checked], "gradient")):
        np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=0, equal_nan=True, err_msg=what)
        np.testing.assert_array_equal(np.signbit(ours), np.signbit(expected), err_msg=f"{what}: signs")
