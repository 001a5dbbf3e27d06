"""PyTorch's autograd semantics, as users know them: accumulation, functional grads, the graph,
grad mode, in-place updates and version counters, dtypes, seeding and graph lifetime."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradwire_server.engine import AccumulateGrad, DTypeError, Engine, GraphError, Node, is_grad_enabled, no_grad
from tests.conftest import assert_close, to_torch

# --- accumulation and functional gradients ----------------------------------------------------------------


def test_grad_accumulates_across_backward_passes_until_zeroed(engine):
    x = engine.tensor([1.0, -2.0, 3.0], requires_grad=True)
    tx = to_torch(x, requires_grad=True)
    y, ty = (x * x).sum(), (tx * tx).sum()
    assert x.grad is None  # before any backward pass

    y.backward(retain_graph=True)
    ty.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    ty.backward()
    assert_close(x.grad, tx.grad)
    assert_close(x.grad, 2 * first)

    x.grad.zero_()
    assert_close(x.grad, np.zeros(3, dtype=np.float32))
    (x * 3).sum().backward()
    assert_close(x.grad, np.full(3, 3.0, dtype=np.float32))


def test_retain_grad_fills_a_non_leafs_grad_as_torch_does(engine):
    x = engine.tensor([1.0, -2.0, 3.0], requires_grad=True)
    tx = to_torch(x, requires_grad=True)
    y, ty = x * x, tx * tx
    z, tz = (y * 3).sum(), (ty * 3).sum()
    for t in (y, ty, z, tz):
        t.retain_grad()
    assert y.retains_grad and z.retains_grad and not x.retains_grad
    x.retain_grad()  # a no-op on a leaf, as in torch
    assert not x.retains_grad
    z.backward(retain_graph=True)
    tz.backward(retain_graph=True)
    assert_close(y.grad, ty.grad)
    assert_close(z.grad, tz.grad)  # the root's own: ones
    assert_close(x.grad, tx.grad)
    z.backward()  # accumulates, as a leaf's does
    tz.backward()
    assert_close(y.grad, ty.grad)
    assert_close(y.grad, np.full(3, 6.0, dtype=np.float32))
    w = engine.tensor([1.0, 2.0])
    with pytest.raises(GraphError, match="can't retain_grad on Tensor that has requires_grad=False"):
        w.retain_grad()


def test_a_retained_grad_is_its_own_array(engine):
    # add's VJP hands the incoming gradient on unchanged: the retained .grad must not be that array
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = x + 1
    y.retain_grad()
    u = y + 0
    u.retain_grad()
    u.sum().backward()
    y.grad.array += 10
    assert_close(u.grad, np.ones(2, dtype=np.float32))
    assert_close(x.grad, np.ones(2, dtype=np.float32))


def test_functional_grad_fills_the_retained_grads_it_computes_as_torch_does(engine):
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    tx = to_torch(x, requires_grad=True)
    y, ty = x * 2, tx * 2
    w, tw = x * 5, tx * 5  # off the path from the output to y: its gradient is never computed
    for t in (y, ty, w, tw):
        t.retain_grad()
    engine.grad((y * y).sum(), [y], retain_graph=True)  # the input's own node: filled
    torch.autograd.grad((ty * ty).sum(), [ty], retain_graph=True)
    assert_close(y.grad, ty.grad)
    engine.grad((w + y).sum(), [y])
    torch.autograd.grad((tw + ty).sum(), [ty])
    assert_close(y.grad, ty.grad)
    assert w.grad is None and tw.grad is None
    assert x.grad is None and tx.grad is None


def test_functional_grad_matches_torch_and_leaves_grad_alone(engine):
    rng = np.random.default_rng(3)
    xs, ws = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    x, w = engine.tensor(xs, requires_grad=True), engine.tensor(ws, requires_grad=True)
    tx, tw = torch.tensor(xs, requires_grad=True), torch.tensor(ws, requires_grad=True)
    w.grad = engine.tensor(np.full((3, 2), 7.0))  # a stale gradient that grad() must not touch

    out, t_out = (x @ w).tanh(), (tx @ tw).tanh()
    cotangent = rng.standard_normal((4, 2))
    gx, gw = engine.grad(out, [x, w], grad_outputs=engine.tensor(cotangent))
    tgx, tgw = torch.autograd.grad(t_out, [tx, tw], grad_outputs=torch.from_numpy(cotangent))
    assert_close(gx, tgx)
    assert_close(gw, tgw)
    assert x.grad is None
    assert_close(w.grad, np.full((3, 2), 7.0))

    (single,) = engine.grad((x * x).sum(), x)  # one input in, a one-tuple out (as torch.autograd.grad)
    assert_close(single, 2 * xs)


def test_functional_grad_with_respect_to_a_non_leaf_stops_there(engine):
    """torch.autograd.grad(out, y) runs only the nodes between out and y."""
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.sum().backward()  # frees exp's residuals
    (g,) = engine.grad((y * 3).sum(), y)  # must not walk on into the freed ExpBackward0
    assert_close(g, np.full(2, 3.0, dtype=np.float32))

    x2 = engine.tensor([1.0, 2.0], requires_grad=True)
    y2 = x2.exp()
    engine.grad(y2.sum(), y2)  # must not free exp's residuals: the node was never run
    y2.sum().backward()
    assert_close(x2.grad, np.exp(np.array([1.0, 2.0], dtype=np.float32)))


def test_functional_grad_with_respect_to_an_input_and_a_later_intermediate(engine):
    x = engine.tensor([0.5, -1.0], requires_grad=True, dtype="float64")
    tx = to_torch(x, requires_grad=True)
    h, th = x.sin(), tx.sin()
    out, t_out = (h * h).sum(), (th * th).sum()
    gh, gx = engine.grad(out, [h, x])
    tgh, tgx = torch.autograd.grad(t_out, [th, tx])
    assert_close(gh, tgh)
    assert_close(gx, tgx)


def test_jacobian_of_one_input_matches_torch(engine):
    values = np.array([0.3, -1.2, 2.0])
    x = engine.tensor(values, dtype="float64")
    f = lambda v: (v * v).softmax(dim=0) * 2  # noqa: E731
    jac = engine.jacobian(f, x)
    expected = torch.autograd.functional.jacobian(f, torch.tensor(values))
    assert jac.shape == (3, 3)
    assert_close(jac, expected)
    assert x.grad is None and not x.requires_grad  # the caller's tensor is left as it was


def test_jacobian_of_an_output_that_depends_on_no_input_is_zeros_as_torchs(engine):
    x = engine.tensor([1.0, 2.0, 3.0])
    j = engine.jacobian(lambda a: engine.tensor([5.0, 6.0]), x)
    t = torch.autograd.functional.jacobian(lambda a: torch.tensor([5.0, 6.0]), torch.tensor([1.0, 2.0, 3.0]))
    assert_close(j, t)


def test_jacobian_of_two_inputs_matches_torch(engine):
    rng = np.random.default_rng(4)
    a_values, b_values = rng.standard_normal((2, 3)), rng.standard_normal(3)
    f = lambda a, b: (a * b).sum(dim=1).exp()  # noqa: E731
    ja, jb = engine.jacobian(f, (engine.tensor(a_values, dtype="float64"), engine.tensor(b_values, dtype="float64")))
    tja, tjb = torch.autograd.functional.jacobian(f, (torch.tensor(a_values), torch.tensor(b_values)))
    assert ja.shape == (2, 2, 3) and jb.shape == (2, 3)
    assert_close(ja, tja)
    assert_close(jb, tjb)


# --- the recorded graph ----------------------------------------------------------------------------------------


def _structure(fn, name_of):
    """A graph as nested (name, children) tuples; None where an input needs no gradient."""
    if fn is None:
        return None
    return name_of(fn), tuple(_structure(child, name_of) for child, _ in fn.next_functions)


def _small_graph(x, y, z):
    return ((x * y + z.exp() * 2 - x.sin()).relu() / 3).mean()


def test_grad_fn_names_and_next_functions_match_torch(engine):
    rng = np.random.default_rng(5)
    xs, ys, zs = (rng.standard_normal((2, 3)) for _ in range(3))
    x, y, z = engine.tensor(xs, requires_grad=True), engine.tensor(ys), engine.tensor(zs, requires_grad=True)
    tx, ty, tz = torch.tensor(xs, requires_grad=True), torch.tensor(ys), torch.tensor(zs, requires_grad=True)
    out, t_out = _small_graph(x, y, z), _small_graph(tx, ty, tz)

    assert out.grad_fn.name == "MeanBackward0"
    mine = _structure(out.grad_fn, lambda fn: fn.name)
    theirs = _structure(t_out.grad_fn, lambda fn: type(fn).__name__)
    assert mine == theirs

    # leaves end in their AccumulateGrad, one per leaf however often it is used
    mul = out.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0].next_functions[0][0].next_functions[0][0]
    assert mul.name == "MulBackward0"
    accumulate, none = (edge for edge, _ in mul.next_functions)
    assert isinstance(accumulate, AccumulateGrad) and accumulate.variable is x and none is None
    sin = out.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0].next_functions[1][0]
    assert sin.name == "SinBackward0" and sin.next_functions[0][0] is accumulate
    assert x.grad_fn is None and y.grad_fn is None


# --- grad mode, detach, requires_grad_ ---------------------------------------------------------------------------


def test_no_grad_records_nothing_and_restores_the_mode(engine):
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = x * 2
        with no_grad():
            pass
        assert not is_grad_enabled()  # a nested block does not turn grad back on
    assert is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    with pytest.raises(ValueError):
        with no_grad():
            raise ValueError("boom")
    assert is_grad_enabled()  # restored after an exception too
    assert (x * 2).requires_grad


def test_detach_shares_data_but_not_history(engine):
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.array, y.array)
    out = (d * x).sum()
    out.backward()
    assert_close(x.grad, d.numpy())  # d is a constant: no gradient flows through it into x twice


def test_requires_grad_flag_changes_only_on_leaves(engine):
    x = engine.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad

    y = x * 2
    with pytest.raises(GraphError, match="leaf"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="leaf"):
        (torch.tensor([1.0], requires_grad=True) * 2).requires_grad_(False)


@pytest.mark.parametrize("make", [
    lambda e: e.tensor([1, 2], requires_grad=True),
    lambda e: e.tensor([True, False], requires_grad=True),
    lambda e: e.tensor([1, 2], dtype="int32").requires_grad_(),
    lambda e: e.arange(3, requires_grad=True),
    lambda e: e.zeros(2, dtype="int64", requires_grad=True),
], ids=["int64", "bool", "int32-requires_grad_", "arange", "zeros-int64"])
def test_integer_and_bool_tensors_cannot_require_grad(engine, make):
    with pytest.raises(DTypeError, match="floating point"):
        make(engine)


# --- in place: optimizer steps and the version counter ---------------------------------------------------------------


def test_sgd_step_under_no_grad_equals_torchs(engine):
    rng = np.random.default_rng(6)
    xs, ys, w0 = rng.standard_normal((8, 3)), rng.standard_normal(8), rng.standard_normal(3)
    x, y = engine.tensor(xs, dtype="float64"), engine.tensor(ys, dtype="float64")
    w, b = engine.tensor(w0, requires_grad=True, dtype="float64"), engine.tensor(0.5, requires_grad=True, dtype="float64")
    tx, ty = torch.tensor(xs), torch.tensor(ys)
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    lr = 0.1
    for _ in range(3):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        t_loss = ((tx @ tw + tb - ty) ** 2).mean()
        t_loss.backward()
        assert_close(loss, t_loss)
        with no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
        with torch.no_grad():
            tw -= lr * tw.grad
            tb -= lr * tb.grad
            tw.grad.zero_()
            tb.grad.zero_()
        assert w.is_leaf and w.requires_grad and b.is_leaf
        assert_close(w, tw)
        assert_close(b, tb)
        assert_close(b.grad, tb.grad)  # a 0-d gradient zeroes in place like any other
    assert w.version == 3


def test_gradients_of_0d_leaves_are_arrays_that_update_in_place(engine):
    x = engine.tensor(1.5, requires_grad=True)
    y = engine.tensor(-2.0, requires_grad=True)
    (x * y).backward()
    assert isinstance(x.grad.array, np.ndarray) and x.grad.shape == ()
    (x * y).backward()  # accumulates in place
    assert x.grad.item() == -4.0 and y.grad.item() == 3.0
    x.grad.zero_()
    assert x.grad.item() == 0.0 and y.grad.item() == 3.0
    (gx,) = engine.grad(x * y, [x])
    assert isinstance(gx.array, np.ndarray) and gx.item() == -2.0
    with no_grad():
        x -= 0.5 * gx
    assert x.item() == 2.5


def test_in_place_on_a_leaf_that_requires_grad_raises_outside_no_grad(engine):
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="leaf"):
        w -= 1.0
    with pytest.raises(GraphError):
        w.zero_()
    assert_close(w, np.array([1.0, 2.0], dtype=np.float32))  # left unchanged
    assert w.version == 0


def test_in_place_change_to_a_saved_input_raises_instead_of_a_wrong_gradient(engine):
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    w = engine.tensor([3.0, 4.0], requires_grad=True)
    out = (x * w).sum()  # saves x and w
    with no_grad():
        w -= 1.0
    assert w.version == 1
    with pytest.raises(GraphError, match="modified by an inplace operation"):
        out.backward()
    assert x.grad is None


def test_in_place_change_through_a_view_is_seen(engine):
    """w.T saved by matmul shares w's version counter: w -= ... must invalidate it."""
    x = engine.tensor(np.ones((2, 3)), requires_grad=True)
    w = engine.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    out = (x @ w.T).sum()
    with no_grad():
        w -= 0.1 * engine.ones(4, 3)
    with pytest.raises(GraphError, match="modified by an inplace operation"):
        out.backward()

    # and the other way round: a view updated in place invalidates its saved base
    a = engine.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    out = (a * a).sum()
    with no_grad():
        view = a[0]
        view += 1.0
    assert a.version == view.version == 1
    with pytest.raises(GraphError, match="modified by an inplace operation"):
        out.backward()


@pytest.mark.parametrize("take", [
    lambda x: x[[0, 1]],  # advanced indexing copies
    lambda x: x[x > 1.5],
    lambda x: x.reshape(2, 3).T.reshape(6)[:2],  # reshape of a non-contiguous tensor copies
], ids=["int-list", "bool-mask", "reshape-copy"])
def test_in_place_change_to_the_source_of_a_copy_is_allowed(engine, take):
    """Only real views share a version counter: a copy taken before the update keeps its values (as PyTorch)."""
    x = engine.tensor(np.arange(1.0, 7.0))
    w = engine.tensor([1.0, 1.0], requires_grad=True)
    taken = take(x)[:2]
    expected = taken.numpy().copy()
    out = (taken * w).sum()
    with no_grad():
        x += 1.0
    out.backward()
    assert_close(w.grad, expected)


def test_in_place_change_to_a_saved_output_raises(engine):
    x = engine.tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()  # saves its output
    out = (y * 2).sum()
    with no_grad():
        y += 1.0
    with pytest.raises(GraphError, match="modified by an inplace operation"):
        out.backward()


def test_in_place_change_to_an_unsaved_input_is_allowed(engine):
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    w = engine.tensor([3.0, 4.0], requires_grad=True)
    out = (x + w).sum()  # add keeps no residuals: nothing to invalidate (as in PyTorch)
    with no_grad():
        w *= 2.0
    out.backward()
    assert_close(x.grad, np.ones(2, dtype=np.float32))
    assert_close(w.grad, np.ones(2, dtype=np.float32))


def _steps_before_backward(lib, case, tensor):
    """A graph, an in-place step on a tensor whose value no gradient that is due reads, then backward: the leaf's grad."""
    data = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    x = tensor(data)
    if case == "weight-after-matmul":  # x @ w: w's gradient reads x; x needs none, so w is not kept
        leaf = changed = tensor(np.ones((3, 4), dtype=np.float32), True)
        out = x @ leaf
    elif case == "weight-after-linear":
        leaf = changed = tensor(np.ones((4, 3), dtype=np.float32), True)
        out = lib.apply("linear", x, leaf) if lib is not torch else torch.nn.functional.linear(x, leaf)
    else:  # h * x: h's gradient reads x, not h
        leaf = tensor(data, True)
        changed = leaf * 1.0
        out = changed * x
    with torch.no_grad() if lib is torch else no_grad():
        changed -= 1.0
    out.sum().backward()
    return leaf.grad.numpy()


@pytest.mark.parametrize("case", ["weight-after-matmul", "weight-after-linear", "input-after-mul-by-a-constant"])
def test_an_input_no_due_gradient_reads_may_change_in_place_before_backward(engine, case):
    """PyTorch keeps an input only for the gradients that read it, and only where they are due: x @ w with x data
    keeps x (w's gradient reads it) but not w, so a step on w before the backward is no error. A change to what is
    kept still raises (the tests above)."""
    ours = _steps_before_backward(engine, case, lambda a, grad=False: engine.tensor(a, requires_grad=grad))
    theirs = _steps_before_backward(torch, case, lambda a, grad=False: torch.tensor(a, requires_grad=grad))
    np.testing.assert_array_equal(ours, theirs)


def test_two_leaves_get_independent_grad_arrays(engine):
    a = engine.tensor([1.0, 2.0], requires_grad=True)
    b = engine.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.array, b.grad.array)
    a.grad.zero_()
    assert_close(b.grad, np.ones(2, dtype=np.float32))

    c = engine.tensor([1.0, 2.0], requires_grad=True)
    seed = engine.tensor([5.0, 6.0])
    (c.clone()).backward(seed)
    c.grad.zero_()
    assert_close(seed, np.array([5.0, 6.0], dtype=np.float32))  # the caller's gradient is not the leaf's


# --- dtypes and factories -------------------------------------------------------------------------------------------------


def test_default_dtypes(engine):
    assert engine.tensor([1.0, 2.0]).dtype == np.float32
    assert engine.tensor([1, 2]).dtype == np.int64
    assert engine.tensor([True]).dtype == np.bool_
    for factory in (engine.zeros, engine.ones, engine.rand, engine.randn):
        assert factory(2, 3).dtype == np.float32 and factory(2, 3).shape == (2, 3)
    assert engine.full((2,), 1.5).dtype == np.float32
    assert engine.arange(3).dtype == np.int64 and engine.arange(3.0).dtype == np.float32
    assert (engine.tensor([1, 2]) * 0.5).dtype == np.float32  # a float scalar makes an integer tensor float32
    assert (engine.tensor([1, 2]) / engine.tensor([2, 2])).dtype == np.float32


@pytest.mark.parametrize("dtype, expected", [
    (np.float64, "float64"), ("float64", "float64"), (np.dtype("float64"), "float64"), ("double", "float64"),
    ("float16", "float16"), ("int64", "int64"), (np.int32, "int32"), ("bool", "bool"), ("float32", "float32"),
])
def test_supported_dtypes_in_every_spelling(engine, dtype, expected):
    t = engine.tensor([1, 0, 1], dtype=dtype)
    assert t.dtype == np.dtype(expected)
    assert engine.zeros(2, dtype=dtype).dtype == np.dtype(expected)
    assert_close(t, to_torch(np.array([1, 0, 1], dtype=expected)))


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_backward_keeps_the_leafs_dtype(engine, dtype):
    values = np.array([0.5, -1.0, 2.0])
    x = engine.tensor(values, dtype=dtype, requires_grad=True)
    tx = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
    (x * x * 3).sum().backward()
    (tx * tx * 3).sum().backward()
    assert x.grad.dtype == np.dtype(dtype)
    assert_close(x.grad, tx.grad, rtol=1e-3 if dtype == "float16" else None)


def test_mixed_float_dtypes_promote_and_grads_come_back_in_each_dtype(engine):
    a = engine.tensor([1.0, 2.0], dtype="float32", requires_grad=True)
    b = engine.tensor([3.0, 4.0], dtype="float64", requires_grad=True)
    out = a * b
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert_close(a.grad, np.array([3.0, 4.0], dtype=np.float32))


def test_rand_and_randn_are_reproducible_under_manual_seed():
    e = Engine("cpu", seed=0)
    e.manual_seed(123)
    first = (e.rand(3, 4).numpy(), e.randn(5, dtype="float64").numpy())
    e.manual_seed(123)
    second = (e.rand(3, 4).numpy(), e.randn(5, dtype="float64").numpy())
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert second[1].dtype == np.float64
    assert ((first[0] >= 0) & (first[0] < 1)).all()
    e.manual_seed(124)
    assert not np.array_equal(e.rand(3, 4).numpy(), first[0])
    # engines (sessions) do not share a generator
    other = Engine("cpu", seed=123)
    e.manual_seed(123)
    e.rand(10)
    np.testing.assert_array_equal(other.rand(3, 4).numpy(), first[0])


# --- graph lifetime ---------------------------------------------------------------------------------------------------------


def _nodes(tensor):
    """Every Node reachable from tensor.grad_fn."""
    seen, stack = {}, [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen[id(fn)] = fn
        stack.extend(child for child, _ in fn.next_functions)
    return [fn for fn in seen.values() if isinstance(fn, Node)]


def _program(engine):
    x = engine.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    w = engine.tensor(np.linspace(0.5, 2, 12).reshape(3, 4), requires_grad=True)
    return x, w, ((x @ w).tanh().exp() * x.sum(dim=1, keepdim=True)).log_softmax(dim=1).mean()


def test_backward_frees_every_saved_tensor(engine):
    x, w, out = _program(engine)
    nodes = _nodes(out)
    assert any(node.saved_tensors for node in nodes)  # the graph does hold residuals before backward
    out.backward()
    assert [node.name for node in nodes if node.saved_tensors] == []


def test_retain_graph_keeps_saved_tensors_and_allows_a_second_pass(engine):
    x, w, out = _program(engine)
    out.backward(retain_graph=True)
    held = [node.name for node in _nodes(out) if node.saved_tensors]
    assert {"MmBackward0", "TanhBackward0", "ExpBackward0", "LogSoftmaxBackward0"} <= set(held)
    first = x.grad.numpy().copy()
    out.backward()
    assert_close(x.grad, 2 * first)


def test_second_backward_through_a_freed_graph_names_retain_graph(engine):
    x, w, out = _program(engine)
    out.backward()
    with pytest.raises(GraphError, match="retain_graph=True"):
        out.backward()
    with pytest.raises(GraphError, match="retain_graph=True"):
        engine.grad(out, [x])


def test_functional_grad_frees_the_graph_too(engine):
    x, w, out = _program(engine)
    engine.grad(out, [x, w])
    assert [node.name for node in _nodes(out) if node.saved_tensors] == []


def test_a_dim_outside_the_tensor_is_an_index_error_with_torchs_words(engine):
    from gradwire_server.engine import IndexOutOfRange

    x, z = engine.tensor(np.ones((2, 3), np.float32)), engine.tensor(2.0, requires_grad=True)
    for call, torch_call in (
        (lambda: engine.apply("sum", x, dim=2), lambda: torch.ones(2, 3).sum(2)),
        (lambda: engine.apply("transpose", x, dim0=0, dim1=-3), lambda: torch.ones(2, 3).transpose(0, -3)),
        (lambda: engine.apply("max", z, dim=1), lambda: torch.tensor(2.0).max(1)),
        (lambda: engine.apply("squeeze", z, dim=-2), lambda: torch.tensor(2.0).squeeze(-2)),
    ):
        with pytest.raises(IndexError) as theirs:
            torch_call()
        with pytest.raises(IndexOutOfRange) as ours:
            call()
        assert str(ours.value).endswith(str(theirs.value))
    values, indices = engine.apply("max", z, dim=0)  # a 0-d tensor's dim 0 (and -1) is itself
    (values * 3).backward()
    assert (values.shape, indices.item(), z.grad.item()) == ((), 0, 3.0)
    assert engine.apply("squeeze", z, dim=-1).grad_fn.name == "SqueezeBackward1"
    engine.apply("sum", z, dim=0).backward()
    assert z.grad.item() == 4.0


def test_in_place_ops_under_autograd_record_as_torchs(engine):
    values = np.arange(6.0).reshape(2, 3) - 2.5
    x, tx = engine.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    h, th = x * 2, tx * 2
    h += x
    th += tx
    engine.inplace("setitem", h, 0.0, (0, 1))
    th[0, 1] = 0.0
    h *= x
    th *= tx
    row, t_row = h[1], th[1]
    engine.apply_into("relu", row, lambda source: engine.apply("relu", source))
    t_row.relu_()
    assert h.grad_fn.name == th.grad_fn.name().replace("torch::autograd::", "") == "CopySlices"
    engine.apply("sum", h * h).backward()
    (th * th).sum().backward()
    np.testing.assert_allclose(h.numpy(), th.detach().numpy())  # (numpy(): a host copy on CuPy too)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    leaf = engine.tensor(values, requires_grad=True)
    with pytest.raises(GraphError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        leaf += 1.0
    with pytest.raises(GraphError, match="a view of a leaf Variable that requires grad is being used in an in-place operation"):
        engine.apply_into("relu", leaf[0], lambda source: engine.apply("relu", source))


def test_tensor_hooks_in_process_change_the_gradient_where_torchs_do(engine):
    x = engine.tensor([1.0, -2.0, 3.0], requires_grad=True)
    tx = to_torch(x, requires_grad=True)
    h, th = x * x, tx * tx
    th.register_hook(lambda g: g * 3)
    tx.register_hook(lambda g: g + 1)
    (th.exp() * tx).sum().backward()
    engine.backward((h.exp() * x).sum(), hooks=[(h, lambda g: g * 3), (x, lambda g: g + 1)])
    assert_close(x.grad, tx.grad)

    h, th = x * x, tx * tx
    th.register_hook(lambda g: g * 0)
    (ours,) = engine.grad((h + x).sum(), x, hooks=[(h, lambda g: g * 0), (x, lambda g: g + 1)])
    (theirs,) = torch.autograd.grad((th + tx).sum(), tx)  # tx's +1 hook still on: applies to the captured gradient
    assert_close(ours, theirs)


def test_a_hook_that_changes_the_gradients_size_is_refused(engine):
    x = engine.tensor([1.0, -2.0, 3.0], requires_grad=True)
    h = x * 2
    with pytest.raises(GraphError, match="hook has changed the size of value"):
        engine.backward(h.sum(), hooks=[(h, lambda g: g[:2])])
    with pytest.raises(GraphError, match="cannot register a hook on a tensor that doesn't require gradient"):
        engine.backward((x * 2).sum(), hooks=[(engine.tensor([1.0]), lambda g: g)])


# --- ops with several differentiable outputs: one node, as torch's ----------------------------------------------


def _svd_pair(engine, values):
    a = engine.tensor(values, requires_grad=True)
    ta = to_torch(a, requires_grad=True)
    return a, ta, engine.apply("linalg_svd", a, full_matrices=False), torch.linalg.svd(ta, full_matrices=False)


def test_the_outputs_of_an_svd_share_one_node_and_its_rule_runs_once(engine, monkeypatch):
    from gradwire_server.engine import graph

    values = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    a, ta, (u, s, vh), (tu, ts, tvh) = _svd_pair(engine, values)
    assert u.grad_fn is s.grad_fn is vh.grad_fn and u.grad_fn.name_() == "LinalgSvdBackward0"
    assert [t.output_nr for t in (u, s, vh)] == [0, 1, 2]
    y = ((u * u) @ s).sum() + (vh * vh).sum() * s.sum()
    calls = []
    original = graph.Node.input_grads
    monkeypatch.setattr(graph.Node, "input_grads", lambda self, *args, **kw: calls.append(self.name) or original(self, *args, **kw))
    y.backward()
    (((tu * tu) @ ts).sum() + (tvh * tvh).sum() * ts.sum()).backward()
    assert calls.count("LinalgSvdBackward0") == 1
    assert_close(a.grad, ta.grad, rtol=1e-4, atol=1e-5)
    consumer = ((u * u) @ s).grad_fn
    assert [(edge.name_(), nr) for edge, nr in consumer.next_functions] == [("MulBackward0", 0), ("LinalgSvdBackward0", 1)]


def test_hooks_captures_and_retained_grads_of_each_output_of_a_node(engine):
    values = np.random.default_rng(1).standard_normal((3, 3)).astype(np.float32)
    a, ta, (u, s, vh), (tu, ts, tvh) = _svd_pair(engine, values)
    s.retain_grad()
    ts.retain_grad()
    assert s.retains_grad and not u.retains_grad
    ts.register_hook(lambda g: g * 2)
    loss, t_loss = (u * u).sum() * 0 + (s * s).sum() + (vh * vh)[0].sum() * 0, (tu * tu).sum() * 0 + (ts * ts).sum() + (tvh * tvh)[0].sum() * 0
    t_loss.backward(retain_graph=True)
    engine.backward(loss, hooks=[(s, lambda g: g * 2)], retain_graph=True)
    assert_close(a.grad, ta.grad, rtol=1e-4, atol=1e-5)
    assert_close(s.grad, ts.grad)
    assert u.grad is None
    (g_s,) = engine.grad(loss, s)
    assert_close(g_s, 2 * s.numpy())


def test_in_place_change_to_a_saved_output_of_a_node_with_several_raises(engine):
    a = engine.tensor(np.eye(3, dtype=np.float32) * 2 + 0.1, requires_grad=True)
    w, v = engine.apply("linalg_eigh", a)
    loss = (v * v).sum() + w.sum()
    engine.inplace("mul", v, 2.0)  # v.mul_(2): v now comes from the multiplication, its old value saved by eigh's node
    assert v.grad_fn.name_() == "MulBackward0" and v.output_nr == 0 and w.output_nr == 0
    with pytest.raises(GraphError, match="modified by an inplace operation"):
        loss.backward()


def test_slogdet_is_one_op_whose_sign_passes_no_gradient(engine):
    values = np.array([[0.0, 2.0], [3.0, 1.0]], dtype=np.float32)
    a = engine.tensor(values, requires_grad=True)
    sign, logabsdet = engine.apply("slogdet", a)
    assert sign.grad_fn is logabsdet.grad_fn and sign.requires_grad
    (sign * 5).sum().backward(retain_graph=True)
    assert_close(a.grad, np.zeros((2, 2), dtype=np.float32))
    logabsdet.backward()
    assert_close(a.grad, np.linalg.inv(values).T)
    with pytest.raises(GraphError, match="retain_graph=True"):
        sign.backward()


def test_a_graph_picture_draws_a_node_with_several_outputs_once(engine):
    from gradwire_server.engine.graphview import describe

    a = engine.tensor(np.random.default_rng(2).standard_normal((3, 3)).astype(np.float32), requires_grad=True)
    q, r = engine.apply("linalg_qr", a)  # (mode "reduced": the default)
    nodes, edges = describe((q * r).sum())
    names = [n.name for n in nodes if n.is_op]
    assert names.count("LinalgQrBackward0") == 1 and "MulBackward0" in names
