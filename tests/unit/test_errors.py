"""Typed errors: each names what went wrong (the op, the shapes, the input) and is the class the
server maps to a status. Where PyTorch raises for the same mistake, the message is PyTorch's."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
import torch

from gradwire_server.engine import (
    OPS, VJPS, DeviceError, DTypeError, EngineError, GraphError, InvalidArgument, NoDerivative, ShapeError, no_grad,
)
from gradwire_server.engine import Engine, ops


def _torch_message(f) -> str:
    with pytest.raises(RuntimeError) as info:
        f()
    return str(info.value)


def test_error_classes_are_runtime_errors():
    for cls in (EngineError, InvalidArgument, ShapeError, DTypeError, DeviceError, GraphError, NoDerivative):
        assert issubclass(cls, RuntimeError)
    assert issubclass(ShapeError, InvalidArgument) and issubclass(DTypeError, InvalidArgument)
    assert issubclass(NoDerivative, NotImplementedError)


# --- shapes ----------------------------------------------------------------------------------------------------


def test_broadcast_mismatch_names_the_op_and_both_shapes(engine):
    a, b = engine.zeros(2, 3), engine.zeros(2, 4)
    with pytest.raises(ShapeError) as info:
        a + b
    message = str(info.value)
    assert message.startswith("add")
    assert "(2, 3)" in message and "(2, 4)" in message
    assert "dimension 1" in message
    with pytest.raises(ShapeError, match=r"^mul.*\(3,\).*\(2, 4\)"):
        engine.zeros(3) * engine.zeros(2, 4)


def test_matmul_mismatch_names_both_shapes(engine):
    with pytest.raises(ShapeError) as info:
        engine.zeros(3, 4) @ engine.zeros(5, 6)
    message = str(info.value)
    assert message.startswith("matmul") and "3x4" in message and "5x6" in message
    assert "3x4 and 5x6" in _torch_message(lambda: torch.zeros(3, 4) @ torch.zeros(5, 6))


@pytest.mark.parametrize("f, op", [
    (lambda e: e.zeros(2, 3).reshape(5), "reshape"),
    (lambda e: e.cat([e.zeros(2, 3), e.zeros(2, 4)]), "cat"),
    (lambda e: e.zeros(2, 3).sum(dim=2), "sum"),
    (lambda e: e.zeros(2, 3).transpose(0, 3), "transpose"),
], ids=["reshape", "cat", "sum-dim", "transpose-dim"])
def test_other_shape_errors_are_typed_and_name_the_op(engine, f, op):
    with pytest.raises(InvalidArgument) as info:
        f(engine)
    assert str(info.value).startswith(op)


def test_the_engine_stays_usable_after_an_error(engine):
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ShapeError):
        x + engine.zeros(3)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


# --- dtypes ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["complex32", "uint16", np.clongdouble, np.uint32, "uint64", np.longdouble])
def test_unsupported_dtypes_raise_a_dtype_error(engine, dtype):
    with pytest.raises(DTypeError, match="unsupported dtype") as info:
        engine.tensor([1.0], dtype=dtype)
    assert "float32" in str(info.value)  # it says what is supported
    with pytest.raises(DTypeError):
        engine.zeros(2, dtype=dtype)
    with pytest.raises(DTypeError):
        engine.ones(2).to(dtype)


def test_an_unsupported_array_dtype_is_refused(engine):
    with pytest.raises(DTypeError, match="uint16"):
        engine.tensor(np.array([1, 2], dtype=np.uint16))
    with pytest.raises(DTypeError, match="complex256"):
        engine.tensor(np.array([1j], dtype=np.clongdouble))


def test_where_needs_a_boolean_condition(engine):
    with pytest.raises(DTypeError, match="where"):
        engine.where(engine.ones(2), engine.ones(2), engine.zeros(2))


def test_shifts_of_bool_by_bool_are_refused_and_bool_powers_of_a_bool_kept_as_torch(engine):
    mask, torch_mask = engine.tensor(np.array([True, False])), torch.tensor([True, False])
    for name, kernel in (("bitwise_left_shift", "lshift_cpu"), ("bitwise_right_shift", "rshift_cpu")):
        for other, torch_other in ((True, True), (mask, torch_mask)):
            with pytest.raises(NotImplementedError) as theirs:
                getattr(torch, name)(torch_mask, torch_other)
            with pytest.raises(InvalidArgument) as ours:  # (deferred to a sync point in the SDK, hence not NotImplementedError)
                engine.apply(name, mask, other)
            assert str(theirs.value) == f"\"{kernel}\" not implemented for 'Bool'"
            assert str(theirs.value).replace("_cpu", "") in str(ours.value)  # (as the float refusal: no device in the name)
        assert engine.apply(name, mask, 1).array.tolist() == getattr(torch, name)(torch_mask, 1).tolist()  # promoted to int64
    for exponent in (True, False):
        result, expected = engine.apply("pow", mask, exponent), torch.pow(torch_mask, exponent)
        assert result.array.dtype == np.bool_ and result.array.tolist() == expected.tolist()
    with pytest.raises(InvalidArgument, match="\"pow\" not implemented for 'Bool'"):
        engine.apply("pow", mask, mask)


def test_float_index_tensors_are_refused(engine):
    with pytest.raises(InvalidArgument, match="long, int, byte or bool"):
        engine.ones(3)[engine.tensor([0.0, 1.0])]


def test_other_devices_are_refused(engine):
    with pytest.raises(DeviceError, match="cuda"):
        engine.ones(2).to("cuda")
    with pytest.raises(DeviceError):
        engine.ones(2).to(device="tpu")


# --- ops without a derivative ----------------------------------------------------------------------------------------


@contextmanager
def _ops_without_vjp():
    """Two ops registered in OPS with no VJPS entry, removed on exit however the block ends."""
    names = ("gw_test_twice", "gw_test_scale")
    assert not set(names) & set(OPS)
    ops.defop(names[0], lambda xp, x: x * 2, "GwTestTwiceBackward0")
    ops.defop(names[1], lambda xp, x, y: x * y, "GwTestScaleBackward0", 2, broadcasts=True)
    try:
        yield names
    finally:
        for name in names:
            OPS.pop(name, None)
            VJPS.pop(name, None)


@pytest.fixture
def op_without_vjp():
    with _ops_without_vjp() as names:
        yield names


def test_an_op_without_a_vjp_raises_no_derivative_naming_op_and_input(engine, op_without_vjp):
    twice, scale = op_without_vjp
    assert twice not in VJPS
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = engine.apply(twice, x)
    np.testing.assert_allclose(y.numpy(), [2.0, 4.0])  # the forward works
    assert y.requires_grad and y.grad_fn.name == "GwTestTwiceBackward0"
    with pytest.raises(NoDerivative) as info:
        y.sum().backward()
    assert isinstance(info.value, NotImplementedError)
    assert f"'{twice}'" in str(info.value) and "input 0" in str(info.value)
    assert x.grad is None  # no silent zero gradient

    c = engine.tensor([3.0, 4.0])
    z = engine.apply(scale, c, x)  # only input 1 needs a gradient
    with pytest.raises(NoDerivative, match=rf"'{scale}'.*input 1"):
        engine.grad(z.sum(), [x])


def test_the_temporary_ops_are_removed_even_when_the_test_fails():
    before = set(OPS)
    with pytest.raises(KeyError):
        with _ops_without_vjp() as names:
            assert set(names) <= set(OPS)
            raise KeyError("a failing test")
    assert set(OPS) == before and not set(names) & set(VJPS)


def test_no_op_in_ops_lacks_a_vjp_unless_listed_non_differentiable():
    from gradwire_server.engine import NON_DIFFERENTIABLE

    assert sorted(set(OPS) - set(VJPS) - set(NON_DIFFERENTIABLE)) == []
    assert sorted(set(VJPS) - set(OPS)) == []


# --- backward misuse ------------------------------------------------------------------------------------------------------


def test_non_scalar_backward_needs_a_gradient(engine):
    x = engine.ones(2, 3, requires_grad=True)
    expected = _torch_message(lambda: (torch.ones(2, 3, requires_grad=True) * 2).backward())
    with pytest.raises(InvalidArgument) as info:
        (x * 2).backward()
    assert str(info.value) == expected == "grad can be implicitly created only for scalar outputs"


def test_a_gradient_of_the_wrong_shape_is_refused(engine):
    x = engine.ones(2, 3, requires_grad=True)
    expected = _torch_message(lambda: (torch.ones(2, 3, requires_grad=True) * 2).backward(torch.ones(3)))
    with pytest.raises(ShapeError) as info:
        (x * 2).backward(engine.ones(3))
    assert str(info.value) == expected
    with pytest.raises(ShapeError, match="Mismatch in shape"):
        engine.grad(x * 2, [x], grad_outputs=engine.ones(2, 2))


def test_backward_on_a_tensor_that_does_not_require_grad(engine):
    expected = _torch_message(lambda: torch.ones(2).sum().backward())
    with pytest.raises(GraphError) as info:
        engine.ones(2).sum().backward()
    assert str(info.value) == expected
    x = engine.ones(2, requires_grad=True)
    with no_grad():
        y = (x * 2).sum()
    with pytest.raises(GraphError, match="does not require grad"):
        y.backward()


def test_functional_grad_misuse(engine):
    x, c = engine.ones(2, requires_grad=True), engine.ones(2)
    with pytest.raises(GraphError, match="does not require grad"):
        engine.grad((x * c).sum(), [c])
    unused = engine.ones(2, requires_grad=True)
    with pytest.raises(GraphError, match="allow_unused"):
        engine.grad((x * 2).sum(), [x, unused])
    gx, gu = engine.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx is not None


# --- bad calls ------------------------------------------------------------------------------------------------------------


def test_unknown_op_and_wrong_arity(engine):
    x = engine.ones(2)
    with pytest.raises(InvalidArgument, match="unknown op 'no_such_op'"):
        engine.apply("no_such_op", x)
    with pytest.raises(InvalidArgument, match=r"add\(\) takes 2 input\(s\) but 1 were given"):
        engine.apply("add", x)
    with pytest.raises(InvalidArgument, match="exp"):
        engine.apply("exp", x, x)
    with pytest.raises(InvalidArgument, match="non-empty"):
        engine.apply("cat")
    with pytest.raises(InvalidArgument, match="list of Tensors"):
        engine.apply("stack", x, 1.0)
    with pytest.raises(InvalidArgument, match="expected a Tensor or a number"):
        engine.apply("add", x, "one")


INDEX_CASES = {
    "past the end": lambda e, x, xg: e.index(x, (np.array([5]),)),
    "below minus the size": lambda e, x, xg: e.index(x, (slice(None), np.array([-4]))),
    "after an ellipsis": lambda e, x, xg: e.index(x, (Ellipsis, np.array([3]))),
    "after a new axis": lambda e, x, xg: e.index(x, (None, np.array([1]), np.array([7]))),
    "assigned without grad": lambda e, x, xg: e.inplace("setitem", x, 1.0, key=(np.array([2]),)),
    "assigned with grad": lambda e, x, xg: e.index_put(xg * 1, e.tensor(np.float32(1)), (np.array([9]),)),
}


@pytest.mark.parametrize("case", INDEX_CASES, ids=list(INDEX_CASES))
def test_an_index_out_of_range_is_refused_alike_where_the_array_module_would_wrap_it(case):
    """CuPy wraps an integer index around where NumPy refuses it: on such a module the engine checks first
    (``Backend.wraps_indices``), and says what NumPy's refusal says, in PyTorch's words."""
    messages = []
    for wraps in (False, True):
        engine = Engine("cpu")
        engine.backend.wraps_indices = wraps  # NumPy playing a module that wraps: the check itself runs
        x = engine.tensor(np.ones((2, 3), np.float32))
        with pytest.raises(IndexError) as info:
            INDEX_CASES[case](engine, x, engine.tensor(np.ones((2, 3), np.float32), requires_grad=True))
        assert "is out of bounds for dimension" in str(info.value)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    engine = Engine("cpu")
    engine.backend.wraps_indices = True
    assert engine.index(engine.tensor(np.arange(6.0).reshape(2, 3)), (np.array([1, -2]),)).array[:, 0].tolist() == [3.0, 0.0]
    # indices in range after an ellipsis, or after a boolean mask, are checked against the dims they index
    cube = engine.tensor(np.arange(24.0).reshape(3, 4, 2))
    assert engine.index(cube, (Ellipsis, np.array([1, 3]), np.array([0, 1]))).array.tolist() == [[2.0, 7.0], [10.0, 15.0], [18.0, 23.0]]
    mask = np.array([[True, False, False, True]] * 3)
    assert engine.index(cube, (mask, np.array([1, 1, 0, 1, 1, 0]))).array.tolist() == [1.0, 7.0, 8.0, 15.0, 17.0, 22.0]



def test_an_index_checked_for_a_torch_call_takes_that_calls_rules_and_refuses_a_check_it_does_not_know():
    engine = Engine("cpu")
    for wraps in (False, True):  # (NumPy's and CuPy's way: the call's check comes first either way)
        engine.backend.wraps_indices = wraps
        x = engine.tensor(np.arange(6.0).reshape(2, 3))
        assert engine.index(x, (slice(None), np.array([-1])), check="index_fill_").array.ravel().tolist() == [2.0, 5.0]
        with pytest.raises(IndexError, match=r"^INDICES element is out of DATA bounds, id=-1 axis_dim=3$"):
            engine.index(x, (slice(None), np.array([-1])), check="index_select")
        with pytest.raises(IndexError, match=r"^index_copy_\(\): index 2 is out of bounds for dimension 0 with size 2$"):
            engine.index_put(x, engine.tensor(np.zeros(3)), (np.array([2]),), check="index_copy_")
        with pytest.raises(IndexError, match=r"^index 2 is out of bounds for dimension 1 with size 2$"):  # the call's dim, not the key's
            engine.index_put(engine.zeros((2,), dtype="bool"), engine.tensor(np.array(True)), (np.array([2]),), check="index_fill_", check_dim=1)
    with pytest.raises(InvalidArgument, match="unknown check 'bogus'"):
        engine.index(x, (np.array([0]),), check="bogus")
    with pytest.raises(InvalidArgument, match="one integer array"):
        engine.index(x, (np.array([0]), np.array([0])), check="take")


def test_a_grad_assigned_with_the_wrong_dtype_or_size_is_refused_in_torchs_words():
    from gradwire_server.engine.dtypes import grad_mismatch

    t = torch.zeros(2, requires_grad=True)
    for value in (torch.zeros(3), torch.zeros(2, dtype=torch.float64), torch.zeros(3, dtype=torch.int64), torch.zeros(2, 1)):
        with pytest.raises(RuntimeError) as theirs:
            t.grad = value
        ours = grad_mismatch(np.dtype(str(value.dtype).removeprefix("torch.")), tuple(value.shape), np.dtype(np.float32), (2,))
        assert ours == str(theirs.value)
    assert grad_mismatch(np.dtype(np.float32), (2,), np.dtype(np.float32), (2,)) is None
