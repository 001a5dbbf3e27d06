"""torch.autograd's extras through a real session, against torch: ``autograd.backward`` (several tensors, ``inputs=``),
``functional.jvp``/``vhp``, ``gradcheck``/``gradgradcheck`` on custom Functions, anomaly detection, inference mode,
and ``gw.Generator`` (seeded draws of its own, its state, released with its handle; the data utilities' shuffling)."""

from __future__ import annotations

import gc
import importlib
import warnings

import numpy as np
import pytest

import gradwire as gw
from gradwire.autograd.gradcheck import GradcheckError
from gradwire.utils.data import DataLoader, RandomSampler, TensorDataset, random_split

torch = pytest.importorskip("torch")

X = np.array([0.5, -1.25, 2.0])
W = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])


def _np(t):
    return None if t is None else np.asarray(t.tolist())


# --- autograd.backward and Tensor.backward(inputs=) --------------------------------------------------------


def _backward_program(lib, make, inputs_of=None):
    x, w = make(X, True), make(W, True)
    y = w @ x
    z = (x * x).sum()
    kwargs = {} if inputs_of is None else {"inputs": inputs_of(x, w)}
    lib.autograd.backward([y, z], [make(np.array([1.0, -1.0]), False), None], **kwargs)
    return _np(x.grad), _np(w.grad)


@pytest.mark.parametrize("inputs_of", [None, lambda x, w: [x], lambda x, w: w], ids=["all", "x", "w"])
def test_autograd_backward_of_several_tensors_as_torch(session, inputs_of):
    ours = _backward_program(gw, lambda a, rg: session.tensor(a, requires_grad=rg), inputs_of)
    theirs = _backward_program(torch, lambda a, rg: torch.tensor(a, requires_grad=rg), inputs_of)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_tensor_backward_inputs_fills_only_those_and_accumulates(session):
    x = session.tensor(X, requires_grad=True)
    w = session.tensor(W, requires_grad=True)
    tx, tw = torch.tensor(X, requires_grad=True), torch.tensor(W, requires_grad=True)
    for _ in range(2):  # the second pass adds to the first
        ((w @ x) ** 2).sum().backward(inputs=[x])
        ((tw @ tx) ** 2).sum().backward(inputs=[tx])
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), rtol=1e-12)
    assert w.grad is None and tw.grad is None
    # a non-leaf input gets its .grad, as torch's
    h = w @ x
    (h * h).sum().backward(inputs=[h])
    th = tw @ tx
    (th * th).sum().backward(inputs=[th])
    np.testing.assert_allclose(_np(h.grad), th.grad.numpy(), rtol=1e-12)
    assert w.grad is None


def test_backward_inputs_errors_as_torch(session):
    x = session.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be empty."):
        (x * 2).sum().backward(inputs=[])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        gw.autograd.backward([x * 2])
    unused = session.tensor(1.0, requires_grad=True)
    (x * 2).sum().backward(inputs=[unused])  # not reached: its .grad stays None, as torch's
    assert unused.grad is None and x.grad is None


# --- functional.jvp and vhp --------------------------------------------------------------------------------


def test_jvp_and_vhp_as_torch(session):
    v, u = np.array([1.0, 0.5, -2.0]), np.array([0.25, -1.0, 3.0])

    def f(lib):
        return lambda a, b: (a * b).tanh() * a

    ours_out, ours = gw.autograd.functional.jvp(f(gw), (session.tensor(X), session.tensor(X[::-1].copy())), (session.tensor(v), session.tensor(u)))
    theirs_out, theirs = torch.autograd.functional.jvp(f(torch), (torch.tensor(X), torch.tensor(X[::-1].copy())), (torch.tensor(v), torch.tensor(u)))
    np.testing.assert_allclose(_np(ours_out), theirs_out.numpy(), rtol=1e-12)
    np.testing.assert_allclose(_np(ours), theirs.numpy(), rtol=1e-12)

    def g(a):
        return (a ** 3).sum() + (a[0] * a[1]).sin()

    ours_out, ours = gw.autograd.functional.vhp(g, session.tensor(X), session.tensor(v))
    theirs_out, theirs = torch.autograd.functional.vhp(g, torch.tensor(X), torch.tensor(v))
    np.testing.assert_allclose(ours_out.item(), theirs_out.item(), rtol=1e-12)
    np.testing.assert_allclose(_np(ours), theirs.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="The vector v can only be None"):
        gw.autograd.functional.jvp(f(gw), (session.tensor(X), session.tensor(X)))


# --- gradcheck on custom Functions -------------------------------------------------------------------------


def _square(lib, factor):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return factor * x * grad

    return Square


def test_gradcheck_passes_a_correct_function_and_catches_a_wrong_one(session):
    x = session.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    assert gw.autograd.gradcheck(_square(gw, 2).apply, (x,)) is True
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(importlib.import_module("torch.autograd.gradcheck").GradcheckError) as theirs:
        torch.autograd.gradcheck(_square(torch, 3).apply, (tx,))
    with pytest.raises(GradcheckError) as ours:
        gw.autograd.gradcheck(_square(gw, 3).apply, (x,))
    assert str(ours.value) == str(theirs.value)  # "Jacobian mismatch for output 0 with respect to input 0,\nnumerical:..."
    assert isinstance(ours.value, RuntimeError)
    assert gw.autograd.gradcheck(_square(gw, 3).apply, (x,), raise_exception=False) is False


def test_gradcheck_several_inputs_and_outputs(session):
    a = session.tensor(X, requires_grad=True)
    b = session.tensor(W, requires_grad=True)
    assert gw.autograd.gradcheck(lambda a, b: ((b @ a).exp(), (a * a).sum()), (a, b))
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 1 with respect to input 0"):
        gw.autograd.gradcheck(lambda a, b: ((b @ a).exp(), _square(gw, 1).apply(a).sum()), (a, b))


def test_gradcheck_warns_on_single_precision_and_refuses_no_grad_inputs(session):
    x = session.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gw.autograd.gradcheck(lambda t: t * 2, (x,), raise_exception=False)
    assert any("Input #0 requires gradient and is not a double precision floating point" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="gradcheck expects at least one input tensor to require gradient"):
        gw.autograd.gradcheck(lambda t: t * 2, (session.tensor([1.0], dtype="float64"),))


def test_gradgradcheck(session):
    x = session.tensor(X, requires_grad=True)
    assert gw.autograd.gradgradcheck(lambda t: (t ** 3).sin(), (x,))
    # a first derivative right and a second wrong: gradgradcheck catches it, gradcheck does not
    class Cube(gw.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t ** 3

        @staticmethod
        def backward(ctx, grad):
            (t,) = ctx.saved_tensors
            return 3 * (t.detach() ** 2) * grad  # detached: no second derivative through t

    assert gw.autograd.gradcheck(Cube.apply, (x,))
    assert gw.autograd.gradgradcheck(Cube.apply, (x,), raise_exception=False) is False


# --- anomaly detection -------------------------------------------------------------------------------------


def test_anomaly_mode_raises_torchs_error_for_a_nan_gradient(session):
    def program(lib, make):
        x = make([0.0, 1.0])
        y = (x.sqrt() * 0).sum()  # sqrt's gradient at 0 is inf; times 0: NaN
        y.backward()
        return x

    tx = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            with pytest.raises(RuntimeError) as theirs:
                program(torch, lambda v: torch.tensor(v, requires_grad=True))
        with gw.autograd.detect_anomaly():
            assert gw.autograd.is_anomaly_enabled()
            with pytest.raises(RuntimeError) as ours:
                tx = program(gw, lambda v: session.tensor(v, requires_grad=True))
    assert str(theirs.value) == "Function 'SqrtBackward0' returned nan values in its 0th output."
    assert str(theirs.value) in str(ours.value)
    assert "test_autograd_extras.py" in str(ours.value).split(str(theirs.value))[1]  # the forward op's line
    assert tx is None and not gw.autograd.is_anomaly_enabled()
    # off: no error, NaN in the gradient, as torch's
    x = program(gw, lambda v: session.tensor(v, requires_grad=True))
    assert np.isnan(_np(x.grad)[0])
    # the session goes on after the error
    assert session.tensor([2.0]).sqrt().item() == pytest.approx(np.sqrt(2.0))


def test_anomaly_mode_mul_of_inf_and_zero_and_functional_grad(session):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gw.autograd.set_detect_anomaly(True)
    try:
        a = session.tensor([1.0, 2.0], requires_grad=True)
        b = session.tensor([float("inf"), 1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="Function 'MulBackward0' returned nan values in its 0th output."):
            (a * b * 0).sum().backward()
        with pytest.raises(RuntimeError, match="Function 'MulBackward0' returned nan values"):
            gw.grad((a * b * 0).sum(), [a])
        # check_nan=False: on, but no check
        with gw.autograd.set_detect_anomaly(True, check_nan=False):
            (gg,) = gw.grad((a * b * 0).sum(), [a])
            assert np.isnan(_np(gg)[0])
    finally:
        gw.autograd.set_detect_anomaly(False)
    assert not gw.autograd.is_anomaly_enabled()


def test_detect_anomaly_as_a_decorator(session):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @gw.autograd.detect_anomaly()
        def inside():
            return gw.autograd.is_anomaly_enabled()

        assert inside() and not gw.autograd.is_anomaly_enabled()
    assert any("Anomaly Detection has been enabled" in str(w.message) for w in caught)  # torch's warning


def test_is_inference_mode_enabled():
    assert gw.is_inference_mode_enabled() is torch.is_inference_mode_enabled() is False
    with gw.inference_mode():
        assert gw.is_inference_mode_enabled() and not gw.is_grad_enabled()
        with gw.inference_mode(False):
            assert not gw.is_inference_mode_enabled() and gw.is_grad_enabled()
    assert not gw.is_inference_mode_enabled()


# --- gw.Generator ------------------------------------------------------------------------------------------


def test_generator_draws_repeat_after_manual_seed_and_stand_apart_from_the_default(session):
    g = gw.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    assert g.manual_seed(7) is g and g.initial_seed() == 7
    first = [gw.rand(5, generator=g).numpy(), gw.randn(2, 3, generator=g).numpy(), gw.randint(0, 100, (6,), generator=g).numpy(),
             gw.randperm(8, generator=g).numpy(), gw.normal(0.0, 2.0, (4,), generator=g).numpy()]
    session.manual_seed(0)
    default = gw.rand(5).numpy()
    g.manual_seed(7)
    gw.rand(3)  # draws from the default generator between do not move g's
    again = [gw.rand(5, generator=g).numpy(), gw.randn(2, 3, generator=g).numpy(), gw.randint(0, 100, (6,), generator=g).numpy(),
             gw.randperm(8, generator=g).numpy(), gw.normal(0.0, 2.0, (4,), generator=g).numpy()]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], default)
    assert not np.array_equal(first[0], gw.rand(5, generator=gw.Generator().manual_seed(8)).numpy())
    # one seed, one stream: the default generator seeded alike draws the same, as torch's does
    session.manual_seed(7)
    np.testing.assert_array_equal(gw.rand(5).numpy(), first[0])
    torch.manual_seed(7)
    assert torch.equal(torch.rand(5), torch.rand(5, generator=torch.Generator().manual_seed(7)))


def test_generator_in_samplers_and_state(session):
    g = gw.Generator().manual_seed(3)

    def draws():
        t = session.zeros(4, dtype="float64")
        return [t.uniform_(-1, 1, generator=g).numpy(), t.normal_(generator=g).numpy(), t.bernoulli_(0.5, generator=g).numpy(),
                t.exponential_(generator=g).numpy(), session.full((4,), 0.5).bernoulli(generator=g).numpy(),
                gw.multinomial(session.ones(5), 3, generator=g).numpy()]

    first = draws()
    g.manual_seed(3)
    np.testing.assert_equal(first, draws())
    state = g.get_state()
    assert state.dtype == np.uint8
    after = gw.randn(4, generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(after, gw.randn(4, generator=g).numpy())
    seed = g.seed()
    assert g.initial_seed() == seed
    # the session's default generator's state, as torch.get_rng_state
    saved = gw.get_rng_state()
    values = gw.rand(3).numpy()
    gw.set_rng_state(saved)
    np.testing.assert_array_equal(values, gw.rand(3).numpy())


def test_a_released_generator_frees_its_server_state(session):
    before = session.stats()
    g = gw.Generator().manual_seed(1)
    gw.rand(2, generator=g)
    assert session.stats()["generators"] == before["generators"] + 1
    del g
    gc.collect()
    assert session.stats() == before


def test_data_utilities_follow_a_generator(session):
    data = TensorDataset(session.arange(10))
    g = gw.Generator().manual_seed(5)
    epoch1 = [b[0].tolist() for b in DataLoader(data, batch_size=4, shuffle=True, generator=g)]
    epoch2 = [b[0].tolist() for b in DataLoader(data, batch_size=4, shuffle=True, generator=g)]
    assert sorted(sum(epoch1, [])) == list(range(10)) and epoch1 != epoch2  # each pass draws from g
    g.manual_seed(5)
    assert [b[0].tolist() for b in DataLoader(data, batch_size=4, shuffle=True, generator=g)] == epoch1
    sampler = RandomSampler(range(10), generator=g.manual_seed(2))
    order = list(sampler)
    g.manual_seed(2)
    assert list(sampler) == order and sorted(order) == list(range(10))
    parts = [p.indices for p in random_split(range(10), [6, 4], generator=g.manual_seed(9))]
    assert parts == [p.indices for p in random_split(range(10), [6, 4], generator=g.manual_seed(9))]


# --- autograd.grad's materialize_grads and is_grads_batched; functional's options, tuples and strict mode ----------


def _nested_np(value):
    if isinstance(value, (tuple, list)):
        return type(value)(_nested_np(v) for v in value)
    if isinstance(value, dict):
        return {k: _nested_np(v) for k, v in value.items()}
    if isinstance(value, (gw.Tensor, torch.Tensor)):
        return np.asarray(value.detach().tolist())
    return value


def _assert_same(ours, theirs):
    assert type(ours) is type(theirs), f"{type(ours)} != {type(theirs)}"
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same(a, b)
    elif isinstance(theirs, dict):
        assert ours.keys() == theirs.keys()
        for k in theirs:
            _assert_same(ours[k], theirs[k])
    elif isinstance(theirs, np.ndarray):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    else:
        assert ours == theirs


def _as_torch(session, program):
    """program(lib, make) in both libraries (make: an array as a tensor), its results compared."""
    ours = program(gw, lambda a, requires_grad=False: session.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad))
    theirs = program(torch, lambda a, requires_grad=False: torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad))
    _assert_same(_nested_np(ours), _nested_np(theirs))


def _raises_as_torch(session, program):
    """program(lib, make) raises the same kind of error with the same message in both libraries."""
    with pytest.raises(Exception) as theirs:
        program(torch, lambda a, requires_grad=False: torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad))
    kind = next(k for k in (ValueError, TypeError, NotImplementedError, AssertionError, RuntimeError) if isinstance(theirs.value, k))
    with pytest.raises(kind) as ours:
        program(gw, lambda a, requires_grad=False: session.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad))
    assert str(ours.value) == str(theirs.value)


def test_grad_materialize_grads_and_batched_grads_as_torch(session):
    def materialized(lib, make):
        x, z = make(X, True), make([3.0], True)
        plain = lib.autograd.grad((x ** 2).sum(), [x, z], materialize_grads=True)
        recorded = lib.autograd.grad((x ** 2).sum(), [x, z], materialize_grads=True, create_graph=True)
        return plain, recorded, [g.requires_grad for g in recorded]

    def batched(lib, make):
        x, z = make(X, True), make([3.0], True)
        y = x ** 3
        first = lib.autograd.grad(y, [x, z], make(np.eye(3)[:2]), retain_graph=True, is_grads_batched=True, allow_unused=True)
        g, = lib.autograd.grad(y.sum() + x[0] * x[1], x, create_graph=True)
        hessian = lib.autograd.grad(g, x, make(np.eye(3)), is_grads_batched=True)
        return first, hessian, lib.autograd.grad(y.sum(), {"x": x})

    _as_torch(session, materialized)
    _as_torch(session, batched)
    _raises_as_torch(session, lambda lib, make: lib.autograd.grad((make(X, True) * 2).sum(), [make(X, True)], materialize_grads=True, allow_unused=False))
    _raises_as_torch(session, lambda lib, make: lib.autograd.grad(make(X, True) * 2, make(X, True), make(np.ones((2, 2))), is_grads_batched=True))


def test_functional_jacobian_and_hessian_take_torchs_options_and_tuples(session):
    def jacobians(lib, make):
        jac = lib.autograd.functional.jacobian
        x, y = make(X), make([0.5, -2.0])
        pair = lambda a, b: (a.sum() * b, a * b[0])  # noqa: E731
        return (jac(lambda a: (a * 2, a.sum(), a ** 2), x), jac(pair, (x, y)), jac(pair, (x, y), vectorize=True),
                jac(pair, (x, y), vectorize=True, strategy="forward-mode"), jac(lambda a, b: a * 2, (x, y)))

    def hessians(lib, make):
        hess = lib.autograd.functional.hessian
        f = lambda a, b: (a ** 2).sum() * b.sum() + a[0] * b[0] ** 3  # noqa: E731
        x, y = make(X), make([0.5])
        return (hess(f, (x, y)), hess(lambda a: (a ** 3).sum(), x, vectorize=True),
                hess(lambda a: (a ** 3).sum(), x, vectorize=True, outer_jacobian_strategy="forward-mode"))

    def recorded(lib, make):
        x = make(X, True)
        jacobian = lib.autograd.functional.jacobian(lambda a: a ** 3, x, create_graph=True)
        g, = lib.autograd.grad(jacobian.sum(), x)
        hessian = lib.autograd.functional.hessian(lambda a: (a ** 4).sum(), x, create_graph=True)
        h, = lib.autograd.grad(hessian.sum(), x)
        return jacobian.requires_grad, g, hessian.requires_grad, h, lib.autograd.functional.jacobian(lambda a: a ** 3, x).requires_grad

    _as_torch(session, jacobians)
    _as_torch(session, hessians)
    _as_torch(session, recorded)


def test_functional_products_take_tuples_create_graph_and_grad_mode_as_torch(session):
    def products(lib, make):
        F = lib.autograd.functional
        x, y = make(X), make(X[::-1].copy())
        f = lambda a, b: (a ** 3).sum() * b.sum()  # noqa: E731
        vs = (make([1.0, 0.0, 2.0]), make([2.0, -1.0, 0.5]))
        return (F.vjp(lambda a, b: (a * b, a.sum() * 2), (x, y), (make([1.0, -1.0, 0.5]), make(2.0))),
                F.jvp(lambda a, b: (a * b, a.sum() * 2), (x, y), vs), F.hvp(f, (x, y), vs), F.vhp(f, (x, y), vs),
                F.vjp(lambda a, b: a * 2, (x, y), make(np.ones(3))), F.hvp(lambda a: (a ** 3).sum(), make([2.0])))

    def recorded(lib, make):
        x = make(X, True)
        results = []
        for name in ("vjp", "jvp", "hvp", "vhp"):
            fn = (lambda a: (a ** 4).sum()) if name in ("hvp", "vhp") else (lambda a: a ** 3)
            out, product = getattr(lib.autograd.functional, name)(fn, x, make(np.ones(3)), create_graph=True)
            results += [out, product, lib.autograd.grad(product.sum(), x)]
        with lib.no_grad():
            out, product = lib.autograd.functional.vjp(lambda a: a ** 2, x, make(np.ones(3)))
        return results, out.requires_grad, product.requires_grad, product

    _as_torch(session, products)
    _as_torch(session, recorded)


@pytest.mark.parametrize("program", [
    lambda lib, make: lib.autograd.functional.jacobian(lambda a: lib.ones(2, dtype=lib.float64), make(X), strict=True),
    lambda lib, make: lib.autograd.functional.jacobian(lambda a, b: a * 2, (make(X), make(X)), strict=True),
    lambda lib, make: lib.autograd.functional.jacobian(lambda a: a * 2, make(X, True), create_graph=True, strict=True),
    lambda lib, make: lib.autograd.functional.jacobian(lambda a: a * 2, make(X), strict=True, vectorize=True),
    lambda lib, make: lib.autograd.functional.jacobian(lambda a: a * 2, make(X), strict=True, vectorize=True, strategy="forward-mode"),
    lambda lib, make: lib.autograd.functional.jacobian(lambda a: a * 2, make(X), create_graph=True, vectorize=True, strategy="forward-mode"),
    lambda lib, make: lib.autograd.functional.jacobian(lambda a: a * 2, make(X), strategy="forward-mode"),
    lambda lib, make: lib.autograd.functional.jacobian(lambda a: a * 2, make(X), strategy="sideways"),
    lambda lib, make: lib.autograd.functional.jacobian(lambda a: a, 3.0),
    lambda lib, make: lib.autograd.functional.jacobian(lambda a, b: a * b, [make(X), make(X)]),
    lambda lib, make: lib.autograd.functional.jacobian(lambda a: 3.0, make(X)),
    lambda lib, make: lib.autograd.functional.hessian(lambda a: (a * 2).sum(), make(X), strict=True),
    lambda lib, make: lib.autograd.functional.hessian(lambda a: (a ** 3).sum(), make(X), outer_jacobian_strategy="forward-mode"),
    lambda lib, make: lib.autograd.functional.hessian(lambda a: a ** 3, make(X)),
    lambda lib, make: lib.autograd.functional.hessian(lambda a: (a.sum(),), make(X)),
    lambda lib, make: lib.autograd.functional.vjp(lambda a, b: a * 2, (make(X), make(X)), make(np.ones(3)), strict=True),
    lambda lib, make: lib.autograd.functional.vjp(lambda a: a * 2, make(X), make(np.ones(2))),
    lambda lib, make: lib.autograd.functional.vjp(lambda a: (a * 2, a), make(X), (make(np.ones(3)),)),
    lambda lib, make: lib.autograd.functional.jvp(lambda a, b: a * 2, (make(X), make(X)), (make(X), make(X)), strict=True),
    lambda lib, make: lib.autograd.functional.hvp(lambda a: (a * 2).sum(), make(X), make(X), strict=True),
    lambda lib, make: lib.autograd.functional.vhp(lambda a: a ** 2, make(X), make(X)),
])
def test_functional_errors_as_torch(session, program):
    _raises_as_torch(session, program)
