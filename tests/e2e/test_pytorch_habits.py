"""Things PyTorch users write without thinking: they behave as in PyTorch, and a mistake costs nothing later."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")


def test_a_bad_operand_is_refused_at_once_and_the_session_goes_on(session):
    x = session.tensor([1.0, 2.0])
    t = torch.tensor([1.0, 2.0])
    assert (x == None) is (t == None) is False  # noqa: E711 - what users write
    assert (x != None) is (t != None) is True  # noqa: E711
    assert (x == "a") is False
    with pytest.raises(TypeError) as theirs:
        t + [1.0, 2.0]
    with pytest.raises(TypeError) as ours:
        x + [1.0, 2.0]
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match=r"add\(\): expected a Tensor, a NumPy array or a number, got str"):
        x.add("one")
    with pytest.raises(TypeError, match="got str"):
        gw.where(x > 1, "a", 0.0)
    gc.collect()  # the outputs the refused ops would have made: nothing to release on the server
    assert (x * 2).tolist() == [2.0, 4.0]  # no error from before surfaces here
    session.sync()
    assert session.stats()["tensors"] == 1


def test_numpy_arrays_are_operands_as_in_torch(session):
    x, t = session.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    a = np.array([0.5, 0.25])  # float64: the result is float64, as torch's
    for ours, theirs in ((x + a, t + a), (a * x, torch.from_numpy(a) * t)):
        assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_iterating_and_unpacking_a_tensor(session):
    values = [[1, 2], [3, 4], [5, 6]]
    x, t = session.tensor(values), torch.tensor(values)
    assert [row.tolist() for row in x] == [row.tolist() for row in t]
    first, second, third = x[:, 0]
    assert (first.item(), second.item(), third.item()) == (1, 3, 5)
    assert len(list(session.tensor([1.0, 2.0, 3.0]))) == 3
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(session.tensor(3.0))
    with pytest.raises(IndexError) as theirs:
        t[3]
    with pytest.raises(IndexError) as ours:
        x[3]
    assert str(ours.value) == str(theirs.value)
    assert x[-3].tolist() == t[-3].tolist()


def test_a_0d_tensor_formats_as_its_value(session):
    loss, t = (session.tensor([1.5, 2.0]) * 2).sum(), torch.tensor(7.0)
    assert f"{loss:.4f}" == f"{t:.4f}" == "7.0000"
    assert f"{loss}" == "7.0"
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{session.tensor([1.0, 2.0]):.2f}"


def test_handwritten_sgd_through_data_matches_torch(session):
    start = np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32)
    p, q = session.tensor(start, requires_grad=True), torch.tensor(start, requires_grad=True)
    for _ in range(3):
        for w in (p, q):
            ((w * w).sum() + w.sum()).backward()
            w.data -= 0.1 * w.grad  # the old idiom: in place on .data, then assigned back
            w.grad = None
    np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6)
    assert p.requires_grad and p.is_leaf
    p.data = session.zeros(2, 2)  # a whole new value, outside autograd
    assert p.tolist() == [[0.0, 0.0], [0.0, 0.0]] and p.requires_grad
    with pytest.raises(gw.InvalidArgumentError, match="same shape and dtype"):
        p.data = session.zeros(3)


def test_a_grad_of_the_wrong_shape_or_dtype_is_refused_when_assigned_in_torchs_words(session):
    x, t = session.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    for values, dtype in (([5.0, 5.0, 5.0], "float32"), ([5.0, 5.0], "float64"), ([5.0, 5.0, 5.0], "float64"), ([[5.0], [5.0]], "float32")):
        with pytest.raises(RuntimeError) as theirs:
            t.grad = torch.tensor(values, dtype=getattr(torch, dtype))
        with pytest.raises(gw.InvalidArgumentError) as ours:  # at once (float64 too)
            x.grad = session.tensor(values, dtype=getattr(gw, dtype))
        assert str(ours.value) == str(theirs.value)
    assert x.grad is None
    assert (x * 3).tolist() == [3.0, 6.0]  # nothing left to fail at the next sync point


INTEGER_CASES = {  # what PyTorch gives for float ops on integer tensors, and for numbers alone in where()
    "exp": lambda m, x: x.exp(),
    "log": lambda m, x: (x + 1).log(),
    "sqrt": lambda m, x: x.sqrt(),
    "sin": lambda m, x: x.sin(),
    "cos": lambda m, x: x.cos(),
    "tanh": lambda m, x: x.tanh(),
    "sigmoid": lambda m, x: x.sigmoid(),
    "clamp with a float bound": lambda m, x: x.clamp(min=0.5),
    "clamp with an int bound": lambda m, x: x.clamp(min=2),
    "where with floats": lambda m, x: m.where(x > 1, 1.0, 0.0),
    "where with ints": lambda m, x: m.where(x > 1, 1, 0),
    "where with an int tensor and a float": lambda m, x: m.where(x > 1, x, 0.5),
}


@pytest.mark.parametrize("case", list(INTEGER_CASES))
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_float_ops_on_integer_tensors_give_torchs_dtype(session, case, dtype):
    values = np.array([0, 1, 2, 3]).astype(dtype)
    theirs = INTEGER_CASES[case](torch, torch.from_numpy(values))
    ours = INTEGER_CASES[case](gw, session.tensor(values))
    expected = np.dtype(str(theirs.dtype).replace("torch.", ""))
    assert ours.dtype == expected  # known before the server answers, and the same after
    array = ours.numpy()
    assert array.dtype == ours.dtype == expected
    np.testing.assert_allclose(array, theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("op", ["mean", "softmax", "log_softmax"])
def test_ops_torch_refuses_on_integer_tensors_are_refused(session, op):
    call = (lambda x: x.mean()) if op == "mean" else (lambda x: getattr(x, op)(0))
    with pytest.raises((RuntimeError, NotImplementedError)) as theirs:
        call(torch.tensor([1, 2]))
    with pytest.raises(gw.GradwireError) as ours:
        call(session.tensor([1, 2])).numpy()
    assert str(theirs.value) in str(ours.value)  # torch's words (softmax's: its kernel's name)
    assert session.tensor([1.0]).item() == 1.0


def test_conversions_flatten_and_index_as_in_torch(session):
    values = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    x, t = session.tensor(values), torch.from_numpy(values)
    for args in [(), (1,), (0, 1), (1, -1), (-2,)]:
        np.testing.assert_array_equal(x.flatten(*args).numpy(), t.flatten(*args).numpy())
    assert tuple(session.tensor(2.0).flatten().shape) == tuple(torch.tensor(2.0).flatten().shape) == (1,)
    for method in ("int", "bool", "half", "long", "double", "float"):
        ours, theirs = getattr(x, method)(), getattr(t, method)()
        assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", "")), method
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert (x.is_floating_point(), x.long().is_floating_point()) == (t.is_floating_point(), t.long().is_floating_point())
    assert [10, 20, 30][session.tensor(2)] == 30 and list(range(session.tensor([3]))) == [0, 1, 2]
    with pytest.raises(TypeError) as theirs:
        [1, 2][torch.tensor(1.0)]
    with pytest.raises(TypeError) as ours:
        [1, 2][session.tensor(1.0)]
    assert str(ours.value) == str(theirs.value)


def test_small_refusals_and_warnings_as_in_torch(session):
    x, t = session.ones(2, 2, 2), torch.ones(2, 2, 2)
    for call in (lambda a: a.t(), lambda a: bool(a[0, 0, :0]), lambda a: a[0, 0, ::-1], lambda a: a[0, 0, ::0]):
        with pytest.raises((RuntimeError, ValueError)) as theirs:
            call(t)
        with pytest.raises(type(theirs.value) if type(theirs.value) is ValueError else RuntimeError) as ours:
            call(x)
        assert str(ours.value) == str(theirs.value)
    leaf = session.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="not a leaf Tensor is being accessed"):
        assert (leaf * 2).grad is None


def test_retain_grad_fills_a_non_leafs_grad_as_in_torch(session):
    x, tx = session.tensor([1.0, -2.0, 3.0], requires_grad=True), torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y, ty = x.tanh() * 2, tx.tanh() * 2
    z, tz = (y * y).sum(), (ty * ty).sum()
    for t in (y, z, ty, tz):
        t.retain_grad()
    assert (y.retains_grad, x.retains_grad) == (ty.retains_grad, tx.retains_grad) == (True, False)
    x.retain_grad()  # a leaf: nothing to do, as in torch
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no non-leaf warning: it retains grad
        assert y.grad is None  # before backward
    z.backward(retain_graph=True)
    tz.backward(retain_graph=True)
    for ours, theirs in ((y, ty), (z, tz), (x, tx)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5)
    z.backward()  # a second pass adds, as it does into a leaf's .grad
    tz.backward()
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-5)
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(2).retain_grad()
    with pytest.raises(RuntimeError) as ours:
        session.ones(2).retain_grad()
    assert str(ours.value) == str(theirs.value)


def test_a_functional_grad_fills_the_retained_grads_on_its_paths_as_in_torch(session):
    x, tx = session.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    y, ty = x * 2, tx * 2
    w, tw = x * 5, tx * 5  # not on a path from the output to y: its gradient is never computed
    for t in (y, w, ty, tw):
        t.retain_grad()
    (g,) = gw.grad((w + y * y).sum(), [y])
    (tg,) = torch.autograd.grad((tw + ty * ty).sum(), [ty])
    np.testing.assert_allclose(g.numpy(), tg.numpy())
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy())
    assert w.grad is None and tw.grad is None
    assert x.grad is None and tx.grad is None


_DIM_MISTAKES = {  # each raises PyTorch's IndexError at once, before anything is queued
    "sum": lambda a, z, lib: a.sum(5),
    "sum of dims": lambda a, z, lib: a.sum((0, 2)),
    "mean": lambda a, z, lib: a.mean(-3),
    "max": lambda a, z, lib: a.max(2),
    "argmax": lambda a, z, lib: a.argmax(2),
    "softmax": lambda a, z, lib: a.softmax(2),
    "transpose": lambda a, z, lib: a.transpose(0, 3),
    "permute": lambda a, z, lib: a.permute(0, 2),
    "squeeze": lambda a, z, lib: a.squeeze(3),
    "unsqueeze": lambda a, z, lib: a.unsqueeze(4),
    "cat": lambda a, z, lib: lib.cat([a, a], dim=2),
    "stack": lambda a, z, lib: lib.stack([a, a], dim=-4),
    "flatten": lambda a, z, lib: a.flatten(0, 4),
    "size": lambda a, z, lib: a.size(2),
    "size of 0-d": lambda a, z, lib: z.size(0),
    "sum of 0-d": lambda a, z, lib: z.sum(1),
}


@pytest.mark.parametrize("mistake", _DIM_MISTAKES)
def test_a_dim_out_of_range_is_pytorchs_index_error_at_once(session, mistake):
    with pytest.raises(IndexError) as theirs:
        _DIM_MISTAKES[mistake](torch.ones(2, 3), torch.tensor(2.0), torch)
    with pytest.raises(IndexError) as ours:
        _DIM_MISTAKES[mistake](session.ones(2, 3), session.tensor(2.0), gw)
    assert str(ours.value) == str(theirs.value)
    del ours, theirs  # their tracebacks hold the inputs
    gc.collect()
    assert session.stats()["tensors"] == 0  # nothing of the refused op is left behind


def test_an_index_out_of_range_found_by_the_server_is_an_index_error(session):
    x = session.ones(2, 3)
    cases = (  # which values an index holds, only the server knows
        lambda a, make, F: a[make([5])],
        lambda a, make, F: a[np.array([7])],
        lambda a, make, F: F.cross_entropy(a, make([0, 4])),
    )
    for case in cases:
        with pytest.raises(IndexError) as theirs:
            case(torch.ones(2, 3), torch.tensor, torch.nn.functional)
        with pytest.raises(gw.InvalidIndexError) as ours:  # an IndexError and an InvalidArgumentError
            case(x, session.tensor, gw.nn.functional).numpy()
        assert str(theirs.value).rstrip(".") in str(ours.value)
    assert (x * 2).sum().item() == 12.0  # the session goes on


def test_a_0d_tensor_has_dim_0_as_in_torch(session):
    x, t = session.tensor(2.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)
    for op in (lambda a: a.max(0).values, lambda a: a.min(-1, keepdim=True)[0], lambda a: a.squeeze(0), lambda a: a.sum(0)):
        ours, theirs = op(x), op(t)
        assert ours.shape == tuple(theirs.shape) == ()
        ours.backward()
        theirs.backward()
        assert ours.item() == theirs.item() and x.grad.item() == t.grad.item()
    assert x.max(0).indices.item() == t.max(0).indices.item() == 0
    with pytest.raises(IndexError) as theirs:
        t.squeeze(1)
    with pytest.raises(IndexError) as ours:
        x.squeeze(1)
    assert str(ours.value) == str(theirs.value)


_MASK_AND_INTEGER_OPS = {
    "m & n": lambda m, n, i, f: m & n,
    "m | n": lambda m, n, i, f: m | n,
    "m ^ n": lambda m, n, i, f: m ^ n,
    "~m": lambda m, n, i, f: ~m,
    "m & 1 (int64, as torch)": lambda m, n, i, f: m & 1,
    "1 | m": lambda m, n, i, f: 1 | m,
    "m | True": lambda m, n, i, f: m | True,
    "(f > 0) & (f < 6)": lambda m, n, i, f: (f > 0) & (f < 6),
    "~i": lambda m, n, i, f: ~i,
    "i ^ 3": lambda m, n, i, f: i ^ 3,
    "m + 1 (int64, as torch)": lambda m, n, i, f: m + 1,
    "i // 2": lambda m, n, i, f: i // 2,
    "7 // i": lambda m, n, i, f: 7 // i,
    "i % 3": lambda m, n, i, f: i % 3,
    "i // 2.5": lambda m, n, i, f: i // 2.5,
    "f // 2": lambda m, n, i, f: f // 2,
    "f % i": lambda m, n, i, f: f % i,
    "-7.5 % f": lambda m, n, i, f: -7.5 % f,
    "methods": lambda m, n, i, f: m.bitwise_and(n).bitwise_xor(m).bitwise_or(n).bitwise_not(),
    "i.floor_divide(2).remainder(3)": lambda m, n, i, f: i.floor_divide(2).remainder(3),
}


@pytest.mark.parametrize("expression", _MASK_AND_INTEGER_OPS)
def test_mask_and_integer_operators_as_in_torch(session, expression):
    values = ([True, False, True, False], [False, False, True, True], [5, -3, 8, 2], [5.5, -3.25, 7.0, 0.5])
    ours = _MASK_AND_INTEGER_OPS[expression](*(session.tensor(v) for v in values))
    theirs = _MASK_AND_INTEGER_OPS[expression](*(torch.tensor(v) for v in values))
    assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))  # known before any sync, as torch's
    result = ours.numpy()
    assert result.dtype == ours.dtype
    np.testing.assert_array_equal(result, theirs.numpy())


def test_mask_operators_refuse_floats_and_integer_division_by_zero_as_torch(session):
    f, t = session.tensor([1.5, 2.0]), torch.tensor([1.5, 2.0])
    for refused in (lambda a: a & a, lambda a: ~a, lambda a: a.bitwise_not(), lambda a: (a > 0) | 1.5):
        with pytest.raises((TypeError, NotImplementedError)) as theirs:
            refused(t)
        with pytest.raises(type(theirs.value)) as ours:  # at once: the dtypes are known here
            refused(f)
        assert str(ours.value) == str(theirs.value)
    for divide in (lambda a: a.long() // 0, lambda a: a.long() % a.long().sub(1)):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            divide(t)
        with pytest.raises(gw.InvalidArgumentError, match="ZeroDivisionError"):
            divide(f).numpy()
    assert (f // 0).tolist() == (t // 0).tolist() == [float("inf")] * 2


def test_bool_shifts_and_bool_powers_as_torch(session):
    """A shift of a bool by a bool is refused at the call, as torch refuses it; a bool tensor to a bool power stays bool."""
    m, tm = session.tensor([True, False]), torch.tensor([True, False])
    for shift in (lambda a, b: a << b, lambda a, b: a >> b, lambda a, b: a.bitwise_left_shift_(b)):
        for other in (True, "tensor"):
            with pytest.raises(NotImplementedError) as theirs:
                shift(tm, tm if other == "tensor" else other)
            with pytest.raises(gw.UnimplementedError) as ours:  # at once: both dtypes are known
                shift(m, m if other == "tensor" else other)
            assert str(ours.value) == str(theirs.value)
    assert (m << 1).tolist() == (tm << 1).tolist() == [2, 0] and (m << 1).dtype == np.int64  # a number promotes it
    for power in (lambda a: a ** True, lambda a: a.pow(False), lambda a: a.clone().pow_(False)):
        ours, theirs = power(m), power(tm)
        assert ours.dtype == np.bool_ and theirs.dtype == torch.bool
        assert ours.tolist() == theirs.tolist()


def test_remainder_has_torchs_gradient_and_floor_division_none(session):
    x, tx = session.tensor([5.5, -3.2, 7.0], requires_grad=True), torch.tensor([5.5, -3.2, 7.0], requires_grad=True)
    y, ty = session.tensor([2.0, 2.0, -3.0], requires_grad=True), torch.tensor([2.0, 2.0, -3.0], requires_grad=True)
    (x % y * x).sum().backward()
    (tx % ty * tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-6)
    assert (x % y).grad_fn.name() == (tx % ty).grad_fn.name() == "RemainderBackward1"
    assert (x // y).requires_grad and (tx // ty).requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        (tx // ty).sum().backward()
    with pytest.raises(gw.UnimplementedError, match="derivative for aten::floor_divide is not implemented"):
        (x // y).sum().backward()
        session.sync()


_ASSIGNMENTS = {
    "row = number": lambda a, lib: a.__setitem__(0, 5.0),
    "column = tensor": lambda a, lib: a.__setitem__((slice(None), 1), lib.tensor([1.0, 2.0, 3.0])),
    "mask = number": lambda a, lib: a.__setitem__(a == 0, 7),
    "tensor index": lambda a, lib: a.__setitem__(lib.tensor([0, 2]), 3.0),
    "list index": lambda a, lib: a.__setitem__([0, 2], 4.0),
    "ellipsis": lambda a, lib: a.__setitem__((Ellipsis, -1), 1.5),
    "broadcast row": lambda a, lib: a.__setitem__(slice(1, 3), lib.tensor([1.0, 2.0, 3.0, 4.0])),
    "int into float": lambda a, lib: a.__setitem__((2, 2), 9),
}


@pytest.mark.parametrize("assignment", _ASSIGNMENTS)
def test_item_assignment_as_in_torch(session, assignment):
    x, t = session.tensor(np.arange(12.0).reshape(3, 4) % 3), torch.tensor(np.arange(12.0).reshape(3, 4) % 3, dtype=torch.float32)
    view, t_view = x[1], t[1]  # a view made before sees the change, as in torch
    _ASSIGNMENTS[assignment](t, torch)
    _ASSIGNMENTS[assignment](x, session)
    assert x.tolist() == t.tolist()
    assert view.tolist() == t_view.tolist()


def test_item_assignment_refusals_as_in_torch(session):
    x, t = session.zeros(3, 4), torch.zeros(3, 4)
    with pytest.raises(IndexError) as theirs:
        t[5] = 1.0
    with pytest.raises(IndexError) as ours:
        x[5] = 1.0
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError) as theirs:
        t[0] = np.ones(4, np.float32)
    with pytest.raises(TypeError) as ours:
        x[0] = np.ones(4, np.float32)
    assert str(ours.value) == str(theirs.value) == "can't assign a numpy.ndarray to a torch.FloatTensor"
    x[np.array([7])] = 1.0  # out of range: found by the server
    with pytest.raises(gw.InvalidIndexError, match="index 7 is out of bounds for dimension 0 with size 3"):
        x.numpy()
    x[1:] = session.tensor([1.0, 2.0])  # a value that cannot broadcast
    with pytest.raises(gw.InvalidArgumentError, match=r"value tensor of shape \[2\] cannot be broadcast to indexing result of shape \[2, 4\]"):
        x.numpy()
    w = session.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        w[0] = 3.0
    x[0, 0] = w.sum()  # recorded, as torch records it (tests/e2e/test_inplace_autograd.py)
    assert x.requires_grad and x.grad_fn.name() == "CopySlices"
    with gw.no_grad():
        w[0] = 3.0  # as an optimizer step would
        x[0, :2] = w
    assert w.tolist() == [3.0, 1.0] and x[0].tolist() == [3.0, 1.0, 0.0, 0.0]


def test_item_assignment_to_a_saved_tensor_is_caught_by_backward_as_in_torch(session):
    w, t_w = session.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    a, t_a = session.tensor([2.0, 3.0]), torch.tensor([2.0, 3.0])
    out, t_out = (w * a).sum(), (t_w * t_a).sum()  # the product saves a for w's gradient
    a[0], t_a[0] = 5.0, 5.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        t_out.backward()
    with pytest.raises(gw.FailedPreconditionError, match="modified by an inplace operation"):
        out.backward()
        session.sync()


_STATISTICS = {
    "var()": lambda a: a.var(),
    "std(1)": lambda a: a.std(1),
    "var(0, keepdim)": lambda a: a.var(0, keepdim=True),
    "var(unbiased=False)": lambda a: a.var(unbiased=False),
    "std(False)": lambda a: a.std(False),
    "var(dim=(0, 1), correction=0)": lambda a: a.var(dim=(0, 1), correction=0),
    "std(correction=2)": lambda a: a.std(correction=2),
}


@pytest.mark.parametrize("statistic", _STATISTICS)
def test_var_and_std_as_in_torch(session, statistic):
    values = np.random.default_rng(0).standard_normal((3, 4))
    x, t = session.tensor(values, requires_grad=True), torch.tensor(values, dtype=torch.float32, requires_grad=True)
    ours, theirs = _STATISTICS[statistic](x), _STATISTICS[statistic](t)
    assert ours.shape == tuple(theirs.shape)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5)
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_var_of_one_element_and_of_integers_as_in_torch(session):
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):  # torch's; the value is the same
        assert np.isnan(torch.tensor([2.0]).var().item())
    assert np.isnan(session.tensor([2.0]).var().item())
    with pytest.raises(RuntimeError) as theirs:
        torch.tensor([1, 2]).var()
    with pytest.raises(gw.InvalidArgumentError) as ours:
        session.tensor([1, 2]).var().item()
    assert str(theirs.value) in str(ours.value)


def test_masked_fill_as_in_torch(session):
    values = np.arange(6.0).reshape(2, 3)
    x, t = session.tensor(values, requires_grad=True), torch.tensor(values, dtype=torch.float32, requires_grad=True)
    mask = [True, False, True]
    v, tv = session.tensor(7.0, requires_grad=True), torch.tensor(7.0, requires_grad=True)
    ours = x.masked_fill(session.tensor(mask), -1.5) * 2 + x.masked_fill(session.tensor(mask), v)
    theirs = t.masked_fill(torch.tensor(mask), -1.5) * 2 + t.masked_fill(torch.tensor(mask), tv)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    assert v.grad.item() == tv.grad.item() == 4.0
    assert x.masked_fill(session.tensor(mask), -1.5).grad_fn.name() == "MaskedFillBackward0"
    i, ti = session.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    assert i.masked_fill(session.tensor(mask), 2.5).tolist() == ti.masked_fill(torch.tensor(mask), 2.5).tolist()  # cast to int
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks"):
        t.masked_fill(torch.tensor([1, 0, 1]), 0.0)
    with pytest.raises(gw.InvalidArgumentError, match="masked_fill_ only supports boolean masks"):
        x.masked_fill(session.tensor([1, 0, 1]), 0.0)


def test_torchs_functions_of_a_tensor(session):
    values = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32)
    x, t = session.tensor(values), torch.tensor(values)
    calls = (
        lambda lib, a: lib.exp(a), lambda lib, a: lib.sum(a, 1), lambda lib, a: lib.max(a, 0).values,
        lambda lib, a: lib.max(a, lib.zeros_like(a) if lib is torch else a * 0), lambda lib, a: lib.softmax(a, dim=1),
        lambda lib, a: lib.clamp(a, min=0.0), lambda lib, a: lib.matmul(a, lib.t(a)), lambda lib, a: lib.var(a, 0),
        lambda lib, a: lib.add(a, 1), lambda lib, a: lib.flatten(a), lambda lib, a: lib.remainder(a, 0.5),
        lambda lib, a: lib.masked_fill(a, a > 0, 0.0), lambda lib, a: lib.bitwise_not(a > 0),
    )
    for call in calls:
        np.testing.assert_allclose(call(gw, x).numpy(), call(torch, t).numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match=r"exp\(\): argument 'input' \(position 1\) must be Tensor, not list"):
        gw.exp([1.0])


_TENSOR_ONLY = {  # methods that refuse a number where their operand goes, and the dtype they take
    **dict.fromkeys(("maximum", "minimum", "fmax", "fmin", "atan2", "hypot", "logaddexp", "logaddexp2", "ldexp", "nextafter",
                     "heaviside", "logical_and", "isclose", "allclose", "equal", "dist", "dot", "inner", "outer", "mv", "matmul",
                     "expand_as", "view_as", "type_as", "atan2_", "heaviside_", "logical_or_", "igamma", "igammac_"), "float32"),
    **dict.fromkeys(("gcd", "lcm", "gcd_"), "int64"),
}


@pytest.mark.parametrize("name", list(_TENSOR_ONLY))
def test_a_number_where_a_tensor_is_required_is_refused_in_torchs_words(session, name):
    # torch counts the operand as position 1 in the method form, 2 in the function form, and names no position for a keyword
    dtype = _TENSOR_ONLY[name]
    x, t = session.ones(3, dtype=getattr(gw, dtype)), torch.ones(3, dtype=getattr(torch, dtype))
    forms = [lambda lib, a: getattr(a, name)(2)]
    if hasattr(torch, name):
        forms.append(lambda lib, a: getattr(lib, name)(a, 2.5))
    if name in ("maximum", "minimum"):
        forms += [lambda lib, a: getattr(lib, name)(True, a), lambda lib, a: getattr(a, name)(other=2)]
    for form in forms:
        with pytest.raises(TypeError) as theirs:
            form(torch, t)
        with pytest.raises(TypeError) as ours:
            form(gw, x)
        assert str(ours.value) == str(theirs.value)
        assert "must be Tensor, not" in str(ours.value)
    assert session.sync() is None  # nothing was queued: the session goes on


@pytest.mark.parametrize("call", ["max(2.0)", "min(dim=1.0)", "sum(1.0)", "argmax(0.5)", "softmax('a')", "cumsum(0.0)"])
def test_a_dim_that_is_not_an_int_is_refused_at_the_call(session, call):
    x, t = session.ones(2, 3), torch.ones(2, 3)
    with pytest.raises(TypeError):
        eval("t." + call)
    with pytest.raises(TypeError, match=r"argument 'dim' must be int, not (float|str)"):
        eval("x." + call)
    assert session.sync() is None  # nothing was queued

@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_igamma_and_igammac_are_torchs_as_methods_functions_and_in_place(session, name):
    a, x = np.array([1.0, 2.0, 0.5, 4.0]), np.array([0.5, 3.0, 2.0, 0.1])
    ours_x, theirs_x = session.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = getattr(session.tensor(a), name)(ours_x), getattr(torch.tensor(a), name)(theirs_x)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12)  # (a gradient for other only, as torch's)
    np.testing.assert_allclose(getattr(gw, name)(session.tensor(a), session.tensor(x)).numpy(), getattr(torch, name)(torch.tensor(a), torch.tensor(x)).numpy())
    in_place = session.tensor(a)
    getattr(in_place, name + "_")(session.tensor(x))
    np.testing.assert_allclose(in_place.numpy(), theirs.detach().numpy(), rtol=1e-12)

def test_complex_and_polar_name_the_argument_that_is_not_a_tensor(session):
    x, t = session.ones(3), torch.ones(3)
    for call in (lambda lib, a: lib.complex(2, a), lambda lib, a: lib.complex(a, 2), lambda lib, a: lib.polar(a, 2),
                 lambda lib, a: lib.polar(2, a)):
        with pytest.raises(TypeError) as theirs:
            call(torch, t)
        with pytest.raises(TypeError) as ours:
            call(gw, x)
        assert str(ours.value) == str(theirs.value)


_RNG = np.random.default_rng(0)
_PRINTED = {  # torch's number formats, widths, summaries of large tensors, line wraps and suffixes
    "matrix": [[1.0, 2.0], [3.0, 4.0]],
    "decimals": [1.5, -2.25, 3.0],
    "0-d": 3.0,
    "integers": [1, 2, 3],
    "int32": np.array([1, -20], np.int32),
    "masks": [True, False],
    "tiny and one: scientific": [[1e-8, 1.0]],
    "huge: scientific": [1e10, 1.0],
    "nan and inf": [float("nan"), 1.0, float("inf")],
    "zeros": [0.0, 0.0],
    "float64": np.array([0.1, 2.0]),
    "float16": np.array([0.5, 2.0], np.float16),
    "wrapped lines": _RNG.standard_normal(30).astype(np.float32),
    "3-d": (_RNG.standard_normal((3, 4, 5)) * 1000).astype(np.float32),
    "summarized vector": np.arange(2000.0, dtype=np.float32),
    "summarized matrix": _RNG.standard_normal((40, 50)).astype(np.float32),
    "summarized, one short dim": (_RNG.standard_normal((3, 700)) * 100).astype(np.float32),
    "summarized 3-d, a dim of one": _RNG.integers(-50, 50, (30, 40, 1)),
    "summarized 3-d": _RNG.standard_normal((11, 12, 13)),
    "empty": np.zeros((0, 3), np.float32),
}


@pytest.mark.parametrize("case", _PRINTED)
def test_a_tensor_prints_as_in_torch(session, case):
    values = np.asarray(_PRINTED[case])
    values = values.astype(np.float32) if values.dtype == np.float64 and case != "float64" else values
    assert repr(session.tensor(values)) == repr(torch.from_numpy(values.copy()))
    assert str(session.tensor(values)) == str(torch.from_numpy(values.copy()))


def test_printing_a_large_tensor_downloads_only_what_it_shows(session, monkeypatch):
    values = _RNG.standard_normal((1000, 2000)).astype(np.float32)  # 8 MB; its print shows 6 x 6 numbers
    x = session.tensor(values) * 1
    fetched = []
    fetch = type(session)._fetch
    monkeypatch.setattr(type(session), "_fetch", lambda self, t: fetched.append(fetch(self, t)) or fetched[-1])
    assert repr(x) == repr(torch.from_numpy(values.copy()))
    assert sum(a.nbytes for a in fetched) < 1000


def test_autograd_suffixes_print_as_in_torch(session):
    values = _RNG.standard_normal((3, 30)).astype(np.float32)
    w, t = session.tensor(values, requires_grad=True), torch.from_numpy(values.copy()).requires_grad_()
    for ours, theirs in ((w, t), (w * 2, t * 2), ((w * 2).sum(), (t * 2).sum()), (w.double(), t.double())):
        assert repr(ours) == repr(theirs)


_PIECES = {
    "unbind(1)": lambda a: a.unbind(1),
    "split(4, dim=1)": lambda a: a.split(4, dim=1),
    "split([1, 3])": lambda a: a.split([1, 3]),
    "chunk(4, 1)": lambda a: a.chunk(4, 1),
    "chunk(3)": lambda a: a.chunk(3),
    "gw.split(a, 10)": lambda a: (gw if isinstance(a, gw.Tensor) else torch).split(a, 10),
}


@pytest.mark.parametrize("pieces", _PIECES)
def test_splitting_a_tensor_as_in_torch(session, pieces):
    values = np.arange(24.0, dtype=np.float32).reshape(4, 6)
    x, t = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours, theirs = _PIECES[pieces](x), _PIECES[pieces](t)
    assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]
    assert [p.tolist() for p in ours] == [p.tolist() for p in theirs]
    sum((p * p * (i + 1)).sum() for i, p in enumerate(ours)).backward()
    sum((p * p * (i + 1)).sum() for i, p in enumerate(theirs)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_like_factories_shape_views_and_inference_mode_as_in_torch(session):
    x, t = session.ones(2, 3, dtype="float64"), torch.ones(2, 3, dtype=torch.float64)
    for name, args in (("zeros_like", ()), ("ones_like", ()), ("full_like", (2.5,)), ("rand_like", ()), ("randn_like", ())):
        ours, theirs = getattr(gw, name)(x, *args), getattr(torch, name)(t, *args)
        assert (ours.shape, ours.dtype, ours.requires_grad) == (tuple(theirs.shape), np.float64, False)
        if name in ("zeros_like", "ones_like", "full_like"):
            assert ours.tolist() == theirs.tolist()
    assert gw.zeros_like(x, dtype="int64").dtype == np.int64
    assert x.sum(0).expand_as(x).tolist() == t.sum(0).expand_as(t).tolist()
    assert x.view_as(session.ones(3, 2)).shape == tuple(t.view_as(torch.ones(3, 2)).shape) == (3, 2)
    w = session.ones(2, requires_grad=True)
    with gw.inference_mode():
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad


def test_gather_and_norm_as_in_torch(session):
    values = np.arange(12.0, dtype=np.float32).reshape(3, 4) - 5
    x, t = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    index = [[0, 3], [1, 1], [2, 0]]
    programs = (
        lambda a, lib, make: a.gather(1, make(index)) * 2,
        lambda a, lib, make: lib.gather(a, 0, make([[2, 0, 1, 1]])),
        lambda a, lib, make: a.norm(),
        lambda a, lib, make: a.norm(dim=1, keepdim=True),
        lambda a, lib, make: a.norm(1, dim=0),
        lambda a, lib, make: a.norm(float("inf")),
    )
    total, t_total = 0, 0
    for program in programs:
        ours, theirs = program(x, gw, session.tensor), program(t, torch, torch.tensor)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)
        total, t_total = total + ours.sum(), t_total + theirs.sum()
    total.backward()
    t_total.backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5)
    zero, t_zero = session.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    zero.norm().backward()
    t_zero.norm().backward()
    assert zero.grad.tolist() == t_zero.grad.tolist() == [0.0, 0.0, 0.0]  # no NaN at the origin
    with pytest.raises(gw.InvalidIndexError, match="index 5 is out of bounds for dimension 1 with size 4"):
        x.gather(1, [[0, 5]]).detach().numpy()


def test_numpy_of_a_tensor_that_requires_grad_is_refused_as_in_torch(session):
    w, t = session.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as theirs:
        t.numpy()
    with pytest.raises(RuntimeError) as ours:
        w.numpy()
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="Can't call numpy"):
        np.asarray(w * 2)
    assert w.detach().numpy().tolist() == w.numpy(force=True).tolist() == t.numpy(force=True).tolist() == [1.0, 2.0]
    assert w.tolist() == t.tolist() and (w * 2).sum().item() == (t * 2).sum().item() == 6.0  # these read values as torch's do
    assert "requires_grad=True" in repr(w) and session.tensor(w).requires_grad is False


_KEYS = ["1:3", "0", "0, 1:3", "1:3, 0", "None", "...", "..., 0", ":", ":, :", "0:4, 2", "0, 0, 0", "[0, 2]", "x > 0", "1:3, None",
         "None, 1:3", "::2", "-1", ":, 1:2, None", "..., None", "0:9"]


@pytest.mark.parametrize("key", _KEYS)
def test_indexing_names_its_node_as_torch_does(session, key):
    values = np.arange(120, dtype=np.float32).reshape(4, 5, 6) - 60
    x, t = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours, theirs = eval(f"x[{key}]"), eval(f"x[{key}]", {"x": t})
    assert ours.grad_fn.name() == type(theirs.grad_fn).__name__
    assert ours.shape == tuple(theirs.shape)


def test_one_tensor_assigned_as_grad_twice(session):
    """``p.grad = g`` again with the same g (the server keeps each assigned grad once, by identity)."""
    p, g = session.tensor([1.0, 2.0, 3.0], requires_grad=True), session.tensor([0.5, 0.5, 0.5])
    p.grad = g
    p.grad = g
    (p * 2).sum().backward()
    assert p.grad.tolist() == [2.5, 2.5, 2.5]


def test_local_torch_tensors_are_operands_as_numpy_arrays_are(session):
    """A batch from a torch DataLoader goes straight into a remote model: its values are uploaded."""
    x, t = session.ones(2, 3), torch.arange(6.0).reshape(2, 3)
    assert (x + t).tolist() == (t + 1).tolist() and isinstance(t + x, gw.Tensor)
    layer = gw.nn.Linear(3, 2, session=session)
    assert layer(t).shape == (2, 2)
    x.add_(t)
    x[0] = torch.tensor([9.0, 9.0, 9.0])
    assert x.tolist() == [[9.0, 9.0, 9.0], [4.0, 5.0, 6.0]]
    assert (x * torch.tensor([1, 2, 3])).dtype == gw.float32  # int64 values promote as torch's do
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        x + torch.ones(3, requires_grad=True)  # torch's own refusal: its graph cannot cross
    with pytest.raises(gw.InvalidArgumentError, match="expected a Tensor or a number, got str"):
        x.add_("one")
    assert x.tolist() == [[9.0, 9.0, 9.0], [4.0, 5.0, 6.0]]  # the refused command never went out


def test_device_idioms_of_pytorch_code_run_unchanged(session):
    """``device = "cuda" if cuda.is_available() else "cpu"``, ``.to(device)``, ``.cpu().numpy()``: a tensor stays on its
    server's device, whatever the client names, and reads back as ever."""
    device = gw.device("cuda" if gw.cuda.is_available() else "cpu")
    assert gw.cuda.is_available() == (session.device == "cuda") and gw.cuda.device_count() == int(session.device == "cuda")
    assert device == session.device and str(device) == session.device and repr(gw.device("cuda:1")) == "device(type='cuda', index=1)"
    x = session.tensor([1.0, 2.0]).to(device)
    assert x.cpu().numpy().tolist() == [1.0, 2.0] and x.cuda() is x and x.to("cpu", gw.float64).dtype == gw.float64
    assert gw.get_default_dtype() == gw.float32
    with pytest.raises(gw.InvalidArgumentError, match="Expected one of cpu, cuda device type"):
        x.to("mps")


def test_placement_keywords_of_a_training_loop_run_unchanged(session):
    """``torch.zeros(n, device=x.device)``, ``x.to(device, non_blocking=True)``, ``x.device.type``, ``x.cuda(0)``, layouts
    and memory formats: accepted as PyTorch takes them, checked, and the tensors stay on the server's device."""
    x = session.tensor([[1.0, 2.0], [3.0, 4.0]])
    device = x.device
    assert device.type == session.device and device == session.device and str(device) == session.device
    made = [
        gw.zeros(2, device=device), gw.ones(2, device=device, dtype=gw.float64), gw.randn(2, device=device), gw.rand(2, device=str(device)),
        gw.full((2,), 3.0, device=device), gw.arange(2, device=device), gw.tensor([5.0, 6.0], device=device, requires_grad=True),
        gw.empty(2, device=device, memory_format=gw.contiguous_format), gw.eye(2, device=device), gw.linspace(0, 1, 2, device=device),
        gw.randint(0, 3, (2,), device=device), gw.randperm(2, device=device), gw.zeros_like(x, device=device, memory_format=gw.preserve_format),
        gw.empty_like(x, device=device), x.new_zeros(2, device=device), x.new_tensor([1, 2], device=device), gw.as_tensor([1.0], device=device),
        gw.ones(2, pin_memory=True, layout=gw.strided), gw.tril_indices(2, 2, device=device),
    ]
    assert all(t.device == device and t.layout is gw.strided for t in made)
    assert not any(getattr(x, name) for name in ("is_sparse", "is_sparse_csr", "is_quantized", "is_meta", "is_mps", "is_nested"))
    assert made[1].dtype == gw.float64 and made[6].requires_grad and made[12].shape == (2, 2)
    moved = x.to(device, non_blocking=True)
    assert moved is x and x.to(device, copy=True) is not x and x.to(device, gw.float64, non_blocking=True).dtype == gw.float64
    assert x.cuda(0) is x and x.cpu(memory_format=gw.contiguous_format) is x
    assert x.clone(memory_format=gw.channels_last).tolist() == x.tolist()
    model = gw.nn.Linear(2, 2, session=session)
    assert model.to(device, non_blocking=True) is model and model.to(memory_format=gw.channels_last) is model
    assert repr(gw.strided) == repr(torch.strided) and repr(gw.channels_last) == repr(torch.channels_last)
    with pytest.raises(gw.InvalidArgumentError, match="Expected one of cpu, cuda device type"):
        gw.zeros(2, device="mps")
    with pytest.raises(TypeError, match="argument 'layout' must be torch.layout, not int"):
        gw.zeros(2, layout=0)
    with pytest.raises(TypeError, match="argument 'memory_format' must be torch.memory_format, not str"):
        x.clone(memory_format="channels_last")


def test_deepcopy_of_a_model_makes_a_target_network_as_in_torch(session):
    """``copy.deepcopy(model)`` (EMA weights, a DQN's target network): new leaves with the values and grads copied on
    the server, tied weights kept tied, in the same session; the copy moves apart from the original."""
    import copy
    import pickle

    model = gw.nn.Sequential(gw.nn.Linear(2, 3, session=session), gw.nn.BatchNorm1d(3, session=session), gw.nn.Linear(3, 3, session=session))
    model[0].bias = model[2].bias  # tied: one parameter in two places
    model(session.randn(4, 2)).sum().backward()
    opt = gw.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.step()
    target = copy.deepcopy(model)
    for (name, ours), theirs in zip(model.named_parameters(), target.parameters()):
        assert type(theirs) is gw.nn.Parameter and theirs is not ours and theirs.requires_grad, name
        assert theirs.tolist() == ours.tolist() and theirs.grad.tolist() == ours.grad.tolist(), name
    assert target[0].bias is target[2].bias and target[1].running_mean.tolist() == model[1].running_mean.tolist()
    with gw.no_grad():
        target[0].weight.add_(1.0)
    assert np.allclose((target[0].weight - model[0].weight).detach().numpy(), 1.0)  # the original is untouched
    state = copy.deepcopy(opt.state_dict())
    assert state["state"][0]["momentum_buffer"].tolist() == opt.state_dict()["state"][0]["momentum_buffer"].tolist()
    g = gw.Generator(session=session).manual_seed(3)
    assert session.rand(3, generator=copy.deepcopy(g)).tolist() == session.rand(3, generator=g).tolist()

    with pytest.raises(RuntimeError) as theirs:
        copy.deepcopy(torch.ones(1, requires_grad=True) * 2)
    with pytest.raises(gw.FailedPreconditionError) as ours:
        copy.deepcopy(model[0].weight * 2)
    assert str(ours.value) == str(theirs.value).split("  ")[0]
    with pytest.raises(TypeError, match="cannot be pickled: write it with gw.save"):
        pickle.dumps(model[0].weight)


@pytest.mark.parametrize("shapes, dim", [([(0,), (2, 3)], 1), ([(2, 3), (0,), (2, 4)], 1), ([(0,), (0,)], 0), ([(2, 3), (4, 3)], -2)])
def test_cat_skips_one_dimensional_empty_tensors_as_torch_does(session, shapes, dim):
    """``torch.cat([torch.empty(0), x], dim)``: the accumulator idiom; the empty tensor is skipped, its gradient empty."""
    arrays = [np.random.default_rng(3).standard_normal(shape).astype(np.float32) for shape in shapes]
    ours = [session.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = gw.cat(ours, dim), torch.cat(theirs, dim)
    assert out.shape == expected.shape and out.detach().numpy().tolist() == expected.detach().numpy().tolist()
    (out * out).sum().backward(), (expected * expected).sum().backward()
    for a, b in zip(ours, theirs):
        assert a.grad.shape == b.grad.shape and np.allclose(a.grad.numpy(), b.grad.numpy())


@pytest.mark.parametrize("shapes", [[(2, 3), (2, 4)], [(2,), (2, 3)], [(), (2,)]])
def test_cat_refuses_mismatched_tensors_in_torchs_words(session, shapes):
    with pytest.raises(RuntimeError) as theirs:
        torch.cat([torch.zeros(shape) for shape in shapes])
    with pytest.raises(gw.InvalidArgumentError) as ours:
        gw.cat([session.zeros(*shape) for shape in shapes]).tolist()
    assert f"cat: {theirs.value}" in str(ours.value)


_MISTAKES = [  # each refused by torch and by gradwire (at the next sync point), in torch's words
    "m.stack([m.zeros(2), m.zeros(3)])",
    "m.zeros(2, 3).gather(1, m.zeros(3, 1, dtype=m.int64))",
    "m.zeros(2, 3).permute(0, 0)",
    "m.zeros(2, 3).permute(0, 1, 2)",
    "m.zeros(2, 3).expand(3, 3)",
    "m.zeros(2, 3).expand(3)",
    "m.zeros(2, 3).expand(-1, 2, 3)",
    "m.zeros(4).view(-1, -1)",
    "m.zeros(3).sum(dim=(0, 0))",
    "m.einsum('ij,jk->ik', m.zeros(2, 3), m.zeros(2, 3))",
    "m.einsum('ii->i', m.zeros(2, 3))",
    "m.nn.functional.max_pool2d(m.zeros(1, 1, 2, 2), 3)",
    "m.nn.functional.cross_entropy(m.zeros(2, 3), m.zeros(2, 3, dtype=m.int64))",
    "m.nn.functional.embedding(m.tensor([0.5]), m.zeros(3, 2))",
    "m.nn.functional.one_hot(m.tensor([3]), 2)",
    "m.nn.functional.one_hot(m.tensor([-1]), 3)",
    "m.zeros(2, 3).repeat_interleave(m.tensor([1, 2]), dim=1)",
    "m.zeros(2, 3).repeat_interleave(m.tensor([1, -1]), dim=0)",
    "m.zeros(2).repeat_interleave(-1)",
    "m.arange(0, 5, -1)",
    "m.zeros(3).new_full((2,), 'a')",
    "m.zeros(2).sqrt().backward()",
    "m.zeros(2, 3).matmul(m.zeros(2))",
    "m.dot(m.zeros(2), m.zeros(3))",
    "m.bmm(m.zeros(2, 3, 4), m.zeros(2, 5, 4))",
    "m.bmm(m.zeros(2, 3, 4), m.zeros(1, 4, 5))",
    "m.bmm(m.zeros(2, 3, 4), m.zeros(3, 4, 5))",
    "m.baddbmm(m.zeros(2, 3, 5), m.zeros(2, 3, 4), m.zeros(1, 4, 5))",
    "m.zeros(2, 2)[:, :, 0]",
    "m.nn.functional.binary_cross_entropy(m.zeros(2), m.zeros(3))",
    "m.nn.functional.binary_cross_entropy_with_logits(m.zeros(2), m.zeros(3))",
    "m.nn.functional.conv1d(m.zeros(1, 3, 5), m.zeros(2, 2, 3))",
    "m.nn.functional.conv1d(m.zeros(1, 3, 2), m.zeros(2, 3, 3))",
    "m.nn.functional.max_pool1d(m.zeros(1, 2, 2), 3)",
    "m.nn.functional.interpolate(m.zeros(1, 1, 2, 2), size=(3, 3), mode='linear')",
    "m.autograd.grad(m.zeros(2, requires_grad=True).sum(), m.zeros(2, requires_grad=True))",
    "m.tensor([1, 2], requires_grad=True)",
    "m.zeros(2, dtype=m.int64).requires_grad_()",
    "m.zeros(2, 2)[m.tensor([True, False, True])]",
    "m.zeros(2, 2)[:, m.tensor([True, False, True])]",
    "m.tensor([1.0, -1.0]).multinomial(1)",
    "m.tensor([[1.0, 2.0], [0.0, 0.0]]).multinomial(1)",
    "m.distributions.Categorical(probs=m.tensor([0.5, float('nan')]), validate_args=False).sample()",
]


@pytest.mark.parametrize("mistake", _MISTAKES)
def test_a_mistake_is_refused_in_torchs_words(session, mistake):
    """The same kind of exception (a GradwireError where torch raises RuntimeError), at once or at the next sync point."""
    with pytest.raises(Exception) as theirs:
        eval(mistake, {"m": torch})
    with pytest.raises(type(theirs.value)) as ours:
        result = eval(mistake, {"m": gw})
        session.sync()
        result.tolist()
    assert str(theirs.value).splitlines()[0].replace("new_full()", "full()") in str(ours.value)


def test_one_hot_and_repeat_interleave_by_counts_as_in_torch(session):
    labels = np.array([[0, 2], [1, 2]])
    assert gw.nn.functional.one_hot(session.tensor(labels)).tolist() == torch.nn.functional.one_hot(torch.tensor(labels)).tolist()
    assert gw.nn.functional.one_hot(session.tensor(labels), 4).shape == (2, 2, 4)
    x, t = session.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True), torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    ours, theirs = x.repeat_interleave(session.tensor([1, 2]), dim=0), t.repeat_interleave(torch.tensor([1, 2]), dim=0)
    assert ours.tolist() == theirs.tolist()
    (ours * ours).sum().backward(), (theirs * theirs).sum().backward()
    assert x.grad.tolist() == t.grad.tolist()
    assert x.repeat_interleave(session.tensor(2), dim=1).tolist() == t.repeat_interleave(torch.tensor(2), dim=1).tolist()
    assert gw.repeat_interleave(session.tensor([1, 0, 2])).tolist() == torch.repeat_interleave(torch.tensor([1, 0, 2])).tolist()
    assert gw.nn.functional.linear(x, session.tensor([1.0, -1.0])).tolist() == torch.nn.functional.linear(t, torch.tensor([1.0, -1.0])).tolist()


def test_legacy_tensor_types_as_old_pytorch_code_uses_them(session):
    """``torch.FloatTensor([1, 2])``, ``torch.LongTensor(2, 3)``, ``isinstance(x, torch.FloatTensor)``, ``x.type(torch.LongTensor)``."""
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "ByteTensor", "BoolTensor", "HalfTensor"):
        ours_type, theirs_type = getattr(gw, name), getattr(torch, name)
        ours, theirs = ours_type([1, 0, 2]), theirs_type([1, 0, 2])
        assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype)
        assert ours_type(2, 3).shape == tuple(theirs_type(2, 3).shape) and ours_type().shape == tuple(theirs_type().shape)
        assert isinstance(ours, ours_type) and not isinstance(ours, gw.FloatTensor if name != "FloatTensor" else gw.LongTensor)
        assert session.zeros(2).type(ours_type).dtype == ours.dtype
    assert gw.FloatTensor(np.ones(2)).dtype == gw.float32 and gw.FloatTensor(gw.Size([2, 1])).shape == (2, 1)
    with pytest.raises(TypeError, match="new\\(\\) received an invalid combination of arguments"):
        gw.FloatTensor([1, 2], 3)


def test_a_shape_is_a_size_as_in_pytorch(session):
    ours, theirs = session.zeros(2, 3, 4).shape, torch.zeros(2, 3, 4).shape
    assert isinstance(ours, tuple) and ours == theirs == (2, 3, 4) and ours.numel() == theirs.numel() == 24
    assert repr(ours) == repr(theirs) == "torch.Size([2, 3, 4])" and repr(ours[1:]) == repr(theirs[1:]) and ours[-1] == 4
    assert session.zeros(2, 3).size() == (2, 3) and session.zeros(()).shape.numel() == 1


def test_a_size_stays_a_size_when_extended_as_torchs():
    for ours, theirs in ((gw.Size([2, 3]), torch.Size([2, 3])),):
        assert repr(ours + (4,)) == repr(theirs + (4,)) and repr((1,) + ours) == repr((1,) + theirs)
        assert repr(ours * 2) == repr(theirs * 2)
        with pytest.raises(TypeError) as err:
            theirs + [1]
        with pytest.raises(TypeError, match=str(err.value).replace("(", r"\(").replace(")", r"\)")):
            ours + [1]


def test_clamp_takes_tensor_bounds_with_torchs_values_dtypes_and_gradients(session):
    x, t = session.tensor([1.0, 5.0, -3.0], requires_grad=True), torch.tensor([1.0, 5.0, -3.0], requires_grad=True)
    lo, tlo = session.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    hi, thi = session.tensor(4.0, requires_grad=True), torch.tensor(4.0, requires_grad=True)
    ours, theirs = x.clamp(lo, hi), t.clamp(tlo, thi)
    ours.sum().backward()
    theirs.sum().backward()
    for a, b in ((ours, theirs), (x.grad, t.grad), (lo.grad, tlo.grad), (hi.grad, thi.grad)):
        gw.testing.assert_close(a, b)
    ints, tints = session.tensor([1, 5, -3]), torch.tensor([1, 5, -3])
    gw.testing.assert_close(ints.clamp(session.tensor(0.5), 2), tints.clamp(torch.tensor(0.5), 2))
    gw.testing.assert_close(gw.clamp(ints, max=session.tensor(2)), torch.clamp(tints, max=torch.tensor(2)))


def _grad_mode_habits(lib, x):
    """What a script sees of the grad mode when it uses the switches as functions, bare decorators and on generators."""
    seen = []
    lib.set_grad_enabled(False)  # as a plain call: from here on (eval scripts' first line)
    seen += [(x * 2).requires_grad, lib.is_grad_enabled()]
    lib.set_grad_enabled(True)
    with lib.set_grad_enabled(False):
        seen.append((x * 2).requires_grad)
    seen.append((x * 2).requires_grad)

    @lib.no_grad
    def bare():
        return (x * 2).requires_grad

    @lib.no_grad()
    def steps():
        yield (x * 2).requires_grad, lib.is_grad_enabled()
        yield lib.is_grad_enabled()

    seen += [bare(), [(step, lib.is_grad_enabled()) for step in steps()]]

    @lib.set_grad_enabled(False)
    def decorated():
        return lib.is_grad_enabled()

    seen += [lib.is_grad_enabled(), decorated()]  # decorating changed nothing outside the call

    @lib.inference_mode
    def inferring():
        return lib.is_grad_enabled(), lib.is_inference_mode_enabled()

    @lib.enable_grad
    def enabled():
        return lib.is_grad_enabled()

    with lib.no_grad():
        seen += [inferring(), enabled(), lib.is_grad_enabled()]
    return seen + [lib.is_grad_enabled(), lib.is_anomaly_enabled()]


def test_grad_mode_switches_work_as_calls_bare_decorators_and_on_generators(session):
    try:
        assert _grad_mode_habits(gw, session.ones(2, requires_grad=True)) == _grad_mode_habits(torch, torch.ones(2, requires_grad=True))
    finally:
        gw.set_grad_enabled(True)
        torch.set_grad_enabled(True)
    with pytest.raises(RuntimeError, match="Cannot decorate classes"):
        gw.no_grad()(type("Model", (), {}))


def _one_element_tensors_as_numbers(lib, n, x):
    """Sizes, dims, counts and slice bounds given as one-element tensors (``x[:lengths[i]]``), as PyTorch reads them."""
    return [
        x[:n], x[n:], x[n - 1:n + 1], x[::n], x[n], lib.arange(n), lib.arange(n * 1.25), lib.linspace(n - 2, n, n + 1),
        lib.ones(2, 3).view(n, 3), lib.ones(2, 3).reshape(n, -1), x.expand(n, 5), lib.zeros(n), lib.zeros((n, n)), lib.randn(n, 2).shape,
        x.topk(n).values, x.narrow(0, n, 2), x.repeat(n), x.split(n), x.chunk(n), lib.ones(2, 3).sum(dim=n - 2),
        lib.ones(2, 3).max(dim=n - 1).values, lib.full((2,), lib.tensor(3.0)), lib.ones(4, 3)[1, :n], x.roll(n), x.new_zeros(n),
        x.unsqueeze(n - 2),
    ]


def test_one_element_tensors_stand_for_numbers_as_in_torch(session):
    ours = _one_element_tensors_as_numbers(gw, session.tensor(2), session.arange(5))
    theirs = _one_element_tensors_as_numbers(torch, torch.tensor(2), torch.arange(5))
    for mine, torchs in zip(ours, theirs, strict=True):
        if isinstance(torchs, torch.Size):
            assert tuple(mine) == tuple(torchs)
        elif isinstance(torchs, tuple):
            assert [p.tolist() for p in mine] == [p.tolist() for p in torchs]
        else:
            assert mine.tolist() == torchs.tolist() and str(mine.dtype) == str(torchs.dtype)
    with pytest.raises(TypeError, match="only integer tensors of a single element can be converted to an index"):
        session.arange(5)[:session.tensor([1, 2])]
    with pytest.raises(TypeError):  # a float where the wire wants an int: refused before anything is queued
        session.arange(6).view(2.0, 3)
    gc.collect()
    assert (session.ones(2) + 1).tolist() == [2.0, 2.0]  # nothing half sent: the next sync has no error from before
    session.sync()


def _scaled_sums_bounds_and_outs(lib):
    a, b = lib.tensor([[1.0, 5.0], [3.0, 2.0]]), lib.tensor([[2.0, 2.0], [2.0, 2.0]])
    results = [a.add(b, alpha=2), lib.add(a, b, alpha=2), a.sub(b, alpha=0.5), lib.sub(a, b, alpha=2), a.max(b), a.min(b),
               a.max(other=b), lib.max(a, b)]
    for bounds in ({"min": b}, {"max": lib.tensor(2.0)}):
        clamped = a.clone()
        results.append(clamped.clamp_(**bounds))
    clamped = a.clone()
    clamped.clamp_max_(b)
    out = lib.empty(4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = lib.mul(a, b, out=out)
    empty = lib.empty(0)
    lib.add(a, b, out=empty)
    results += [clamped, out, written is out, [str(w.message)[:40] for w in caught], empty]
    refusals = []
    for call in (lambda: a.clamp(), lambda: lib.add(lib.ones(2, dtype=lib.int64), lib.ones(2, dtype=lib.int64), alpha=0.5),
                 lambda: lib.add(a, b, out=lib.empty(2, 2, dtype=lib.int64)), lambda: lib.add(a.clone().requires_grad_(), b, out=lib.empty(2, 2))):
        with pytest.raises(RuntimeError) as error:
            call()
        refusals.append(str(error.value))
    x, low = lib.tensor([1.0, 5.0, -3.0], requires_grad=True), lib.tensor([0.0, 0.0, 0.0], requires_grad=True)
    (x * 1).clamp_(min=low).sum().backward()  # a tensor bound takes the gradient where it binds
    return [r.tolist() if hasattr(r, "tolist") else r for r in results] + refusals + [x.grad.tolist(), low.grad.tolist()]


def test_alpha_tensor_bounds_elementwise_max_and_out_as_in_torch(session):
    assert _scaled_sums_bounds_and_outs(gw) == _scaled_sums_bounds_and_outs(torch)


def test_lists_of_numpy_scalars_keep_their_dtypes_as_in_torch(session):
    f64, f32, f16, i32 = np.float64, np.float32, np.float16, np.int32
    for data in ([f64(1.0), f64(2.0)], [f32(1.0), 2.0], [1.0, f64(2.0)], [i32(1), i32(2)], [[f64(1.0)], [2.0]], [f16(1)],
                 [1, f64(2.0)], [i32(1), 2], [1.0, 2.0], [1, 2]):
        assert str(session.tensor(data).dtype) == str(torch.tensor(data).dtype), data


def _numpy_names_and_scalar_habits(lib):
    x = lib.arange(6.0).reshape(2, 3)
    results = [x.sum(axis=1), x.sum(1, keepdims=True), lib.cat([x, x], axis=1), x.softmax(axis=0), x.argmax(axis=1), x.std(axis=0),
               x.max(axis=1).values, lib.stack([x, x], axis=0), lib.sum(x, axis=0), x.mean(axis=(0, 1)), x.cumsum(axis=1),
               x.max(dim=1, keepdims=True).values, x.amax(axis=0), x.sum(dim=()), x.mean(dim=[]), lib.cat([x, x], 0, out=lib.empty(0)),
               int(lib.tensor(3.7)), repr(lib.tensor([], dtype=lib.int64)), repr(lib.zeros(0, 3, dtype=lib.bool)), repr(lib.tensor([]))]
    for call, kind in ((lambda: int(lib.ones(2)), ValueError), (lambda: float(lib.ones(2)), ValueError), (lambda: x[1.0], IndexError),
                       (lambda: lib.allclose(lib.ones(2), lib.ones(2, dtype=lib.float64)), RuntimeError)):
        with pytest.raises(kind) as error:
            call()
        results.append(str(error.value))
    return [r.tolist() if hasattr(r, "tolist") else r for r in results]


def test_numpy_names_for_dims_and_scalar_conversions_as_in_torch(session):
    assert _numpy_names_and_scalar_habits(gw) == _numpy_names_and_scalar_habits(torch)


def test_float_of_a_tensor_that_requires_grad_warns_as_torch(session):
    texts = []
    for x in (session.ones((), requires_grad=True), torch.ones((), requires_grad=True)):
        with pytest.warns(UserWarning) as caught:
            assert float(x) == 1.0
        texts.append(str(caught[0].message).split(" (Triggered")[0])
    assert texts[0] == texts[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(session.ones(())) == 1.0 and session.ones((), requires_grad=True).item() == 1.0  # no warning, as torch


def test_class_index_targets_of_another_dtype_are_refused_as_in_torch(session):
    F, tF = gw.nn.functional, torch.nn.functional
    for loss, t_loss in ((F.cross_entropy, tF.cross_entropy), (F.nll_loss, tF.nll_loss)):
        for target in (np.array([0, 1], dtype=np.int32), np.array([0.0, 1.0], dtype=np.float32)):
            with pytest.raises(RuntimeError) as theirs:
                t_loss(torch.ones(2, 3), torch.from_numpy(target))
            with pytest.raises(RuntimeError) as ours:
                loss(session.ones(2, 3), session.tensor(target))
            assert str(ours.value) == str(theirs.value)  # "expected target dtype to be Long or Byte, but got Int"
        byte = np.array([0, 1], dtype=np.uint8)
        assert loss(session.ones(2, 3), session.tensor(byte)).item() == pytest.approx(t_loss(torch.ones(2, 3), torch.from_numpy(byte)).item())


def test_accelerator_answers_for_the_sessions_server(session):
    on_gpu = session.device == "cuda"
    assert gw.accelerator.is_available() is on_gpu and gw.accelerator.device_count() == int(on_gpu)
    if on_gpu:
        assert gw.accelerator.current_accelerator() == gw.device("cuda") and gw.accelerator.current_device_index() == 0
    else:  # as torch on a machine without one
        assert gw.accelerator.current_accelerator() is torch.accelerator.current_accelerator() is None
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available."):
            gw.accelerator.current_device_index()
    device = "cuda" if gw.accelerator.is_available() else "cpu"  # the tutorials' line
    assert session.ones(2).to(device).device == session.device
    # torch's top-level names for the amp scaler, an out-of-memory error and the dtype class
    assert gw.GradScaler is gw.amp.GradScaler and isinstance(gw.float32, gw.dtype) and isinstance(gw.bfloat16, gw.dtype)
    assert gw.OutOfMemoryError is gw.cuda.OutOfMemoryError is gw.ResourceExhaustedError and issubclass(gw.OutOfMemoryError, RuntimeError)
    # device-generic code: the module of a device (of the current accelerator's, or the CPU's, by default)
    assert gw.get_device_module() is (gw.cuda if on_gpu else gw.cpu) and gw.get_device_module("cuda:0") is gw.cuda
    assert gw.get_device_module(gw.device("cpu")) is gw.cpu and torch.get_device_module("cpu") is torch.cpu
    with pytest.raises(RuntimeError) as theirs:
        torch.get_device_module(3)
    with pytest.raises(RuntimeError) as ours:
        gw.get_device_module(3)
    assert str(ours.value) == str(theirs.value)


def test_einsum_takes_torchs_sublist_form(session):
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    ga, gb, ta, tb = session.tensor(a), session.tensor(b), torch.from_numpy(a), torch.from_numpy(b)
    for args in (lambda x, y: (x, [0, 1], y, [1, 2], [0, 2]), lambda x, y: (x, [0, 1], y, [1, 2]),
                 lambda x, y: (x, [Ellipsis, 1], y, [1, 2], [Ellipsis, 2]), lambda x, y: (x, [0, 1], [1]), lambda x, y: (x, [0, 1])):
        np.testing.assert_array_equal(gw.einsum(*args(ga, gb)).numpy(), torch.einsum(*args(ta, tb)).numpy())
    with pytest.raises(ValueError) as theirs:
        torch.einsum(ta, [0, 60], tb, [60, 2])
    with pytest.raises(ValueError) as ours:
        gw.einsum(ga, [0, 60], gb, [60, 2])
    assert str(ours.value) == str(theirs.value)


def test_diff_takes_prepend_and_append_and_differs_bools_by_xor_as_torch(session):
    values = np.array([[1.0, 4.0, 9.0], [2.0, 3.0, 5.0]], dtype=np.float32)
    x, t = session.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    calls = [lambda L, x, z, o: L.diff(x, prepend=z(2, 1)), lambda L, x, z, o: L.diff(x, n=2, prepend=z(2, 2), append=o(2, 1)),
             lambda L, x, z, o: x.diff(1, 0, None, o(1, 3)), lambda L, x, z, o: L.diff(x, n=0), lambda L, x, z, o: L.diff(x, n=5)]
    for call in calls:
        ours, theirs = call(gw, x, session.zeros, session.ones), call(torch, t, torch.zeros, torch.ones)
        assert ours.shape == theirs.shape and ours.tolist() == theirs.tolist()
    weights = np.array([[1.0, -2.0, 3.0, 0.5]], dtype=np.float32)
    (calls[1](gw, x, session.zeros, session.ones) * session.tensor(weights)).sum().backward()
    (calls[1](torch, t, torch.zeros, torch.ones) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
    masks = ([True, False, True], [True])
    assert session.tensor(masks[0]).diff(n=2).tolist() == torch.tensor(masks[0]).diff(n=2).tolist()
    assert session.tensor(masks[0]).diff(prepend=session.tensor(masks[1])).dtype == np.bool_
    refused = [lambda L, T: L.diff(T([[1.0]]), prepend=0.0), lambda L, T: L.diff(T([[1.0, 2.0]]), prepend=T([[0.0], [0.0]])),
               lambda L, T: L.diff(T([1.0]), n=-1), lambda L, T: L.diff(T(1.0)), lambda L, T: L.diff(T([[1.0]]), append=T([1.0]))]
    for call in refused:
        with pytest.raises((TypeError, RuntimeError)) as theirs:
            call(torch, torch.tensor)
        with pytest.raises(type(theirs.value) if type(theirs.value) is TypeError else gw.GradwireError) as ours:
            call(gw, session.tensor)
        assert str(ours.value) == str(theirs.value)


def test_bool_and_float16_reductions_as_torch(session):
    mask, torch_mask = session.tensor([[True, False], [True, True]]), torch.tensor([[True, False], [True, True]])
    for call in (lambda x: x.trace(), lambda x: x.median(0), lambda x: x.median(), lambda x: x.flatten().bincount(),
                 lambda x: x.float().flatten().bincount()):
        with pytest.raises(NotImplementedError) as theirs:
            call(torch_mask)
        with pytest.raises(gw.UnimplementedError) as ours:  # at the call: the dtype is known
            call(mask)
        assert str(ours.value) == str(theirs.value)
    halves = np.array([[1.0, np.nan, 2.0], [np.nan, np.nan, np.nan]], dtype=np.float16)
    ours, theirs = session.tensor(halves).nanmean(1), torch.tensor(halves).nanmean(1)
    assert ours.dtype == np.float16 and theirs.dtype == torch.float16
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


_INPLACE_CASES = {  # (target values, dtype), (operand values, dtype), the in-place call
    "uint8 += int64 wraps": (([0, 3, 250], "uint8"), ([-9, 4, 12], "int64"), lambda x, y: x.add_(y)),
    "int8 *= int32 wraps": (([-3, 100, 7], "int8"), ([5, 3, -2], "int32"), lambda x, y: x.mul_(y)),
    "uint8 **= int64": (([0, 3, 250], "uint8"), ([1, 4, 2], "int64"), lambda x, y: x.pow_(y)),
    "uint8 //= int64": (([0, 3, 250], "uint8"), ([1, 4, 12], "int64"), lambda x, y: x.floor_divide_(y)),
    "int64 /= int64": (([1, 2, 3], "int64"), ([1, 2, 3], "int64"), lambda x, y: x.div_(y)),
    "bool /= bool": (([True, False], "bool"), ([True, True], "bool"), lambda x, y: x.__itruediv__(y)),
    "int32 += float32": (([1, 2, 3], "int32"), ([0.5, 1.5, 2.5], "float32"), lambda x, y: x.add_(y)),
    "int64 clamp_ float32 bound": (([1, 2, 3], "int64"), ([0.5, 1.5, 2.5], "float32"), lambda x, y: x.clamp_(y)),
    "bool clamp_min_ int64 bound": (([True, False, True], "bool"), ([0, 1, 0], "int64"), lambda x, y: x.clamp_min_(y)),
    "int64 addcmul_ uint8 factors": (([1, 2, 3], "int64"), ([250, 3, 16], "uint8"), lambda x, y: x.addcmul_(y, y)),
    "float32 addcmul uint8 factors": (([1.5, 2.0, 3.0], "float32"), ([250, 3, 16], "uint8"), lambda x, y: x.addcmul(y, y)),
    "bool addcmul_": (([True, False, True], "bool"), ([True, True, False], "bool"), lambda x, y: x.addcmul_(y, y)),
    "float32 addcdiv int64": (([1.5, 2.0, 3.0], "float32"), ([1, 2, 3], "int64"), lambda x, y: x.addcdiv(y, y)),
    "float32 lerp_ float64 end": (([1.5, 2.0, 3.0], "float32"), ([1.0, 2.0, 3.0], "float64"), lambda x, y: x.lerp_(y, 0.5)),
    "float64 lerp int64 end": (([1.5, 2.0, 3.0], "float64"), ([1, 2, 3], "int64"), lambda x, y: x.lerp(y, 0.5)),
    "float32 lerp int64 weight": (([1.5, 2.0, 3.0], "float32"), ([1, 0, 1], "int64"), lambda x, y: x.lerp(x, y)),
    "int64 lerp": (([1, 2, 3], "int64"), ([1, 2, 3], "int64"), lambda x, y: x.lerp(y, 0.5)),
}


@pytest.mark.parametrize("case", sorted(_INPLACE_CASES))
def test_in_place_casts_and_mixed_dtype_updates_as_torch(session, case):
    """An in-place op may write its result into a narrower dtype of its category (wrapping), never into a lower category;
    addcmul computes in the dtype of all three tensors; lerp wants one float dtype: all as PyTorch, in its words."""
    (xv, xd), (yv, yd), call = _INPLACE_CASES[case]
    try:
        expected = call(torch.tensor(xv, dtype=getattr(torch, xd)), torch.tensor(yv, dtype=getattr(torch, yd)))
    except (RuntimeError, NotImplementedError) as error:
        with pytest.raises(type(error)) as ours:
            call(session.tensor(xv, dtype=getattr(gw, xd)), session.tensor(yv, dtype=getattr(gw, yd))).numpy()
        assert str(error) in str(ours.value)
        return
    result = call(session.tensor(xv, dtype=getattr(gw, xd)), session.tensor(yv, dtype=getattr(gw, yd)))
    assert result.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))
    np.testing.assert_allclose(result.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("call", [
    lambda L, x: x.var(()), lambda L, x: x.std(dim=[]), lambda L, x: x.var((), keepdim=True), lambda L, x: L.var_mean(x, ())[0],
    lambda L, x: x.std((), correction=0), lambda L, x: x.norm(dim=()), lambda L, x: L.linalg.vector_norm(x, 3, dim=[]), lambda L, x: x.count_nonzero(()),
])
def test_an_empty_dim_list_reduces_every_dim_as_torch(session, call):
    """``()`` for dim means every dim to var, std, norm and count_nonzero as to sum (they went elementwise: var of each
    element alone, NaN)."""
    values = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    ours, theirs = call(gw, session.tensor(values)), call(torch, torch.from_numpy(values))
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_in_asks_the_server_once_as_torch(session, monkeypatch):
    values = np.arange(12).reshape(3, 4)
    x, t = session.tensor(values), torch.from_numpy(values.copy())
    for element in (5, 50, 5.0, True):
        assert (element in x) == (element in t)
    assert (session.tensor([4, 5, 6, 7]) in x) == (torch.tensor([4, 5, 6, 7]) in t)  # broadcast against each row
    for bad in ("a", [1, 2]):
        with pytest.raises(RuntimeError) as theirs:
            bad in t
        with pytest.raises(RuntimeError) as ours:
            bad in x
        assert str(ours.value) == str(theirs.value)
    fetched = []
    fetch = type(session)._fetch
    monkeypatch.setattr(type(session), "_fetch", lambda self, tensor: fetched.append(tensor) or fetch(self, tensor))
    assert 11 in session.tensor(np.arange(1000).reshape(100, 10))
    assert len(fetched) == 1  # one reduction, not a walk of the rows
