"""``gw.func`` (torch.func's transforms: grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, vmap, functional_call),
``gw.autograd.forward_ad`` (dual tensors), ``create_graph=True`` in ``gw.autograd.functional``'s products, and the
names ``gw.autograd`` shares with ``torch.autograd`` (grad modes, ``Variable``), each against torch through a real server:
values, derivatives, and the errors torch raises."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
from gradwire.autograd import forward_ad as fwAD

torch = pytest.importorskip("torch")
tfunc = torch.func
tfwAD = torch.autograd.forward_ad

RNG = np.random.default_rng(11)
X = RNG.uniform(-1.5, 1.5, 4)
Y = RNG.uniform(-1.5, 1.5, 4)
V = RNG.standard_normal(4)
W = RNG.standard_normal(4)
M = RNG.standard_normal((3, 4))
B = RNG.standard_normal((5, 4))


def close(ours, theirs, rtol=1e-10, atol=1e-12):
    """ours (a gw tensor, or a tuple/list/dict of them) against theirs (torch's, the same structure)."""
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs)
        for k in theirs:
            close(ours[k], theirs[k], rtol, atol)
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), f"{type(ours)} {len(ours)} != {type(theirs)} {len(theirs)}"
        for a, b in zip(ours, theirs):
            close(a, b, rtol, atol)
    else:
        assert isinstance(ours, gw.Tensor), type(ours)
        assert tuple(ours.shape) == tuple(theirs.shape), f"shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)


def f(lib, x, y):
    """A scalar function of two vectors, with every kind of dependence."""
    return (lib.sin(x) * y ** 2).sum() + (x * x.exp()).sum() * y[0]


def g(lib, x, y):
    """A vector function of two vectors."""
    return lib.tanh(x) * y + (x ** 3)[lib.arange(3, -1, -1) if lib is torch else x.new_tensor([3, 2, 1, 0], dtype=gw.int64)]


def both(session, *arrays):
    return [session.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


def raises_like(ours, theirs):
    """ours() and theirs() raise the same kind of error with the same message."""
    with pytest.raises(Exception) as t:
        theirs()
    kind = ValueError if isinstance(t.value, ValueError) else TypeError if isinstance(t.value, TypeError) else RuntimeError
    with pytest.raises(kind) as o:
        ours()
    assert str(o.value) == str(t.value), f"{o.value!r} != {t.value!r}"


# --- gw.autograd's names ------------------------------------------------------------------------------------------


def test_autograd_namespace_has_torch_names():
    assert gw.autograd.no_grad is gw.no_grad and gw.autograd.enable_grad is gw.enable_grad
    assert gw.autograd.set_grad_enabled is gw.set_grad_enabled and gw.autograd.inference_mode is gw.inference_mode
    assert gw.autograd.grad_mode.no_grad is gw.no_grad and gw.autograd.grad_mode.inference_mode is gw.inference_mode
    assert gw.autograd.anomaly_mode.detect_anomaly is gw.autograd.detect_anomaly
    assert gw.autograd.anomaly_mode.set_detect_anomaly is gw.autograd.set_detect_anomaly
    assert gw.nn.utils.stateless.functional_call is not None and gw.vmap is gw.func.vmap


def test_grad_modes_through_autograd(session):
    x = session.tensor(X, requires_grad=True)
    with gw.autograd.no_grad():
        assert not (x * 2).requires_grad
        with gw.autograd.enable_grad():
            assert (x * 2).requires_grad
    with gw.autograd.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with gw.autograd.grad_mode.inference_mode():
        assert not (x * 2).requires_grad and gw.is_inference_mode_enabled()
    assert (x * 2).requires_grad


def test_variable_as_torch(session):
    from torch.autograd import Variable as TVariable

    for requires_grad in (False, True):
        base, t_base = session.tensor(X, requires_grad=True) * 2, torch.tensor(X, requires_grad=True) * 2
        v, tv = gw.autograd.Variable(base, requires_grad=requires_grad), TVariable(t_base, requires_grad=requires_grad)
        assert (v.requires_grad, v.is_leaf, v.grad_fn) == (tv.requires_grad, tv.is_leaf, None)
        close(v, tv)
    v = gw.autograd.Variable(session.tensor(X), requires_grad=True)
    (v * v).sum().backward()
    close(v.grad, torch.tensor(2 * X))
    assert isinstance(v, gw.autograd.Variable) and not isinstance(3, gw.autograd.Variable)
    raises_like(lambda: gw.autograd.Variable([1.0, 2.0]), lambda: TVariable([1.0, 2.0]))


# --- autograd.functional with create_graph ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["jvp", "vjp", "hvp", "vhp"])
def test_functional_products_with_create_graph(session, name):
    """The product is recorded: its derivative with respect to the input (which requires grad) and to v, as torch's."""
    ours_fn = getattr(gw.autograd.functional, name)
    theirs_fn = getattr(torch.autograd.functional, name)
    scalar = name in ("hvp", "vhp")
    fn = (lambda lib: (lambda x: (lib.sin(x) * x ** 2).sum())) if scalar else (lambda lib: (lambda x: lib.tanh(x) * x.exp()))
    x, tx = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    v, tv = session.tensor(V, requires_grad=True), torch.tensor(V, requires_grad=True)
    out, product = ours_fn(fn(gw), x, v, create_graph=True)
    t_out, t_product = theirs_fn(fn(torch), tx, tv, create_graph=True)
    close(out, t_out)
    close(product, t_product)
    assert product.requires_grad and out.requires_grad
    weights = torch.tensor(W)
    ours = gw.autograd.grad((product * session.tensor(W)).sum(), [x, v])
    theirs = torch.autograd.grad((t_product * weights).sum(), [tx, tv])
    close(list(ours), list(theirs))
    # without create_graph: detached, as before
    out, product = ours_fn(fn(gw), x, v)
    assert not product.requires_grad and not out.requires_grad


def test_functional_create_graph_on_plain_inputs(session):
    """Inputs that do not require grad: the results still have a graph (to fresh leaves), as torch's."""
    out, product = gw.autograd.functional.jvp(lambda x: x ** 3, session.tensor(X), session.tensor(V), create_graph=True)
    t_out, t_product = torch.autograd.functional.jvp(lambda x: x ** 3, torch.tensor(X), torch.tensor(V), create_graph=True)
    close(product, t_product)
    assert (out.requires_grad, product.requires_grad) == (t_out.requires_grad, t_product.requires_grad)


# --- forward_ad ------------------------------------------------------------------------------------------------------


def test_forward_ad_matches_torch(session):
    (x, y, v), (tx, ty, tv) = both(session, X, Y, V)
    with fwAD.dual_level(), tfwAD.dual_level():
        d, td = fwAD.make_dual(x, v), tfwAD.make_dual(tx, tv)
        out, t_out = g(gw, d, y), g(torch, td, ty)
        unpacked, t_unpacked = fwAD.unpack_dual(out), tfwAD.unpack_dual(t_out)
        assert isinstance(unpacked, fwAD.UnpackedDualTensor) and unpacked._fields == ("primal", "tangent")
        close(unpacked.primal, t_unpacked.primal)
        close(unpacked.tangent, t_unpacked.tangent)
        assert not unpacked.primal.requires_grad and not unpacked.tangent.requires_grad
        close(fwAD.unpack_dual(d).tangent, tv)  # a dual's own tangent
        # a scalar through reductions and indexing, and a second dual
        d2, td2 = fwAD.make_dual(y, session.tensor(W)), tfwAD.make_dual(ty, torch.tensor(W))
        close(fwAD.unpack_dual(f(gw, d, d2)).tangent, tfwAD.unpack_dual(f(torch, td, td2)).tangent)
        # no dependence on a dual: None, as torch
        assert fwAD.unpack_dual(y * 2).tangent is None and tfwAD.unpack_dual(ty * 2).tangent is None
        assert fwAD.unpack_dual(session.tensor(X, requires_grad=True) * 2).tangent is None
    assert fwAD.unpack_dual(out).tangent is None  # the level is gone, as torch's


def test_forward_ad_with_reverse_mode(session):
    """A dual made from a primal that requires grad: its tangent is differentiable, the primal keeps its graph."""
    x, tx = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    with fwAD.dual_level(), tfwAD.dual_level():
        unpacked = fwAD.unpack_dual((fwAD.make_dual(x, session.tensor(V)) ** 3).sin())
        t_unpacked = tfwAD.unpack_dual((tfwAD.make_dual(tx, torch.tensor(V)) ** 3).sin())
        close(unpacked.tangent, t_unpacked.tangent)
        assert unpacked.primal.requires_grad and unpacked.tangent.requires_grad
        close(gw.autograd.grad(unpacked.tangent.sum(), x)[0], torch.autograd.grad(t_unpacked.tangent.sum(), tx)[0])


def test_forward_ad_levels_and_errors(session):
    x, tx = session.tensor(X), torch.tensor(X)
    raises_like(lambda: fwAD.make_dual(x, x), lambda: tfwAD.make_dual(tx, tx))
    assert fwAD.unpack_dual(x).tangent is None
    assert fwAD.enter_dual_level() == tfwAD.enter_dual_level() == 0
    try:
        raises_like(lambda: fwAD.make_dual(x, x[:2]), lambda: tfwAD.make_dual(tx, tx[:2]))
        raises_like(lambda: fwAD.make_dual(x.to(gw.int64), x.to(gw.int64)), lambda: tfwAD.make_dual(tx.long(), tx.long()))
        raises_like(lambda: fwAD.make_dual(x, x, level=3), lambda: tfwAD.make_dual(tx, tx, level=3))
        raises_like(fwAD.enter_dual_level, tfwAD.enter_dual_level)
        d, td = fwAD.make_dual(x, x), tfwAD.make_dual(tx, tx)
        raises_like(lambda: fwAD.make_dual(d, x), lambda: tfwAD.make_dual(td, tx))
        raises_like(lambda: fwAD.unpack_dual(3), lambda: tfwAD.unpack_dual(3))
        raises_like(lambda: fwAD.exit_dual_level(level=1), lambda: tfwAD.exit_dual_level(level=1))
    finally:
        fwAD.exit_dual_level()
        tfwAD.exit_dual_level()
    raises_like(fwAD.exit_dual_level, tfwAD.exit_dual_level)


# --- gw.func: grad, grad_and_value -------------------------------------------------------------------------------


@pytest.mark.parametrize("argnums", [0, 1, -1, (0, 1), (1,)])
def test_grad_and_value_argnums(session, argnums):
    (x, y), (tx, ty) = both(session, X, Y)
    ours = gw.func.grad_and_value(lambda a, b: f(gw, a, b), argnums=argnums)(x, y)
    theirs = tfunc.grad_and_value(lambda a, b: f(torch, a, b), argnums=argnums)(tx, ty)
    close(ours, theirs)
    close(gw.func.grad(lambda a, b: f(gw, a, b), argnums=argnums)(x, y), tfunc.grad(lambda a, b: f(torch, a, b), argnums=argnums)(tx, ty))
    assert not ours[1].requires_grad and not x.requires_grad


def test_grad_has_aux_pytrees_and_unused(session):
    (x, y), (tx, ty) = both(session, X, Y)

    def loss(lib, params, k):
        value = (params["w"] * params["b"][0]).sum() * k + params["unused"].sum() * 0
        return value, {"norm": params["w"].norm(), "k": params["w"][:2] * k}

    params = {"w": x, "b": (y,), "unused": x * 1}
    t_params = {"w": tx, "b": (ty,), "unused": tx * 1}
    gradients, aux = gw.func.grad(lambda p, k: loss(gw, p, k), has_aux=True)(params, 3.0)
    t_gradients, t_aux = tfunc.grad(lambda p, k: loss(torch, p, k), has_aux=True)(t_params, 3.0)
    close(gradients, t_gradients)
    close(aux["norm"], t_aux["norm"])
    close(aux["k"], t_aux["k"])
    assert not aux["norm"].requires_grad
    (g_value, (value, aux2)) = gw.func.grad_and_value(lambda p, k: loss(gw, p, k), has_aux=True)(params, 2.0)
    (t_g, (t_value, _)) = tfunc.grad_and_value(lambda p, k: loss(torch, p, k), has_aux=True)(t_params, 2.0)
    close((g_value, value), (t_g, t_value))
    raises_like(lambda: gw.func.grad(lambda a: (a.sum(), 1.0), has_aux=True)(x), lambda: tfunc.grad(lambda a: (a.sum(), 1.0), has_aux=True)(tx))
    # a function that ignores its input: zeros, as torch
    close(gw.func.grad(lambda a: y.sum())(x), tfunc.grad(lambda a: ty.sum())(tx))


def test_nested_grad_and_hessian(session):
    (x, y), (tx, ty) = both(session, X, Y)
    close(gw.func.grad(lambda a: gw.func.grad(lambda b: f(gw, b, y))(a).sum())(x),
          tfunc.grad(lambda a: tfunc.grad(lambda b: f(torch, b, ty))(a).sum())(tx))
    close(gw.func.hessian(lambda a: f(gw, a, y))(x), tfunc.hessian(lambda a: f(torch, a, ty))(tx))
    close(gw.func.hessian(lambda a, b: f(gw, a, b), argnums=(0, 1))(x, y), tfunc.hessian(lambda a, b: f(torch, a, b), argnums=(0, 1))(tx, ty))


def test_grad_of_input_that_requires_grad_is_differentiable(session):
    """MAML's shape: the gradient with respect to parameters that require grad is itself differentiable."""
    x, tx = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    step = x - 0.1 * gw.func.grad(lambda a: (a.sin() ** 2).sum())(x)
    t_step = tx - 0.1 * tfunc.grad(lambda a: (a.sin() ** 2).sum())(tx)
    (step ** 2).sum().backward()
    (t_step ** 2).sum().backward()
    close(x.grad, tx.grad)


def test_transforms_under_no_grad(session):
    """A transform differentiates inside no_grad() too (torch.func's rule), and its results carry no graph."""
    (y, v), (ty, tv) = both(session, Y, V)
    x, tx = session.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    with gw.no_grad(), torch.no_grad():
        ours = [gw.func.grad(lambda a: f(gw, a, y))(x), gw.func.jvp(lambda a: g(gw, a, y), (x,), (v,)),
                gw.func.jacrev(lambda a: g(gw, a, y))(x), gw.func.vjp(lambda a: g(gw, a, y), x)[1](v)]
        theirs = [tfunc.grad(lambda a: f(torch, a, ty))(tx), tfunc.jvp(lambda a: g(torch, a, ty), (tx,), (tv,)),
                  tfunc.jacrev(lambda a: g(torch, a, ty))(tx), tfunc.vjp(lambda a: g(torch, a, ty), tx)[1](tv)]
    close(ours, theirs)
    assert not ours[0].requires_grad and not ours[1][1].requires_grad


def test_grad_errors_as_torch(session):
    (x, y), (tx, ty) = both(session, X, Y)
    raises_like(lambda: gw.func.grad(lambda a: a * 2)(x), lambda: tfunc.grad(lambda a: a * 2)(tx))
    raises_like(lambda: gw.func.grad(lambda a: a[:1].sum(0, keepdim=True))(x), lambda: tfunc.grad(lambda a: a[:1].sum(0, keepdim=True))(tx))
    raises_like(lambda: gw.func.grad(lambda a: 3.0)(x), lambda: tfunc.grad(lambda a: 3.0)(tx))
    for argnums in (1, -2, (0, 0), (), 1.0):
        raises_like(lambda: gw.func.grad(lambda a: a.sum(), argnums=argnums)(x), lambda: tfunc.grad(lambda a: a.sum(), argnums=argnums)(tx))
    raises_like(lambda: gw.func.grad(lambda a: a.sum())(), lambda: tfunc.grad(lambda a: a.sum())())
    raises_like(lambda: gw.func.grad(lambda a: a.sum())(3.0), lambda: tfunc.grad(lambda a: a.sum())(3.0))
    raises_like(lambda: gw.func.grad(lambda a: a.sum(), has_aux=True)(x), lambda: tfunc.grad(lambda a: a.sum(), has_aux=True)(tx))
    raises_like(lambda: gw.func.grad(lambda a: (a.sum(), 1, 2), has_aux=True)(x), lambda: tfunc.grad(lambda a: (a.sum(), 1, 2), has_aux=True)(tx))
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        gw.func.grad(lambda a: a.sum())(session.tensor([1, 2]))


# --- vjp, jvp, jacrev, jacfwd -------------------------------------------------------------------------------------


def test_vjp_and_jvp(session):
    (x, y, v, w), (tx, ty, tv, tw) = both(session, X, Y, V, W)
    out, fn = gw.func.vjp(lambda a, b: g(gw, a, b), x, y)
    t_out, t_fn = tfunc.vjp(lambda a, b: g(torch, a, b), tx, ty)
    close(out, t_out)
    close(fn(v), t_fn(tv))
    close(fn(w), t_fn(tw))  # again: the graph is kept
    assert not out.requires_grad
    # several outputs in a dict, one primal, aux
    out, fn, aux = gw.func.vjp(lambda a: ({"s": a.sin(), "c": a.cos() * y}, a.sum()), x, has_aux=True)
    t_out, t_fn, t_aux = tfunc.vjp(lambda a: ({"s": a.sin(), "c": a.cos() * ty}, a.sum()), tx, has_aux=True)
    close((out, aux), (t_out, t_aux))
    close(fn({"s": v, "c": w}), t_fn({"s": tv, "c": tw}))
    raises_like(lambda: gw.func.vjp(lambda a: a * 2, x)[1](v[:2]), lambda: tfunc.vjp(lambda a: a * 2, tx)[1](tv[:2]))
    raises_like(lambda: gw.func.vjp(lambda a: 2, x), lambda: tfunc.vjp(lambda a: 2, tx))
    raises_like(lambda: gw.func.vjp(lambda a: a * 2)[1](v), lambda: tfunc.vjp(lambda a: a * 2)[1](tv))
    with pytest.raises(RuntimeError, match="Expected pytree structure of cotangents to be the same as pytree structure of outputs"):
        gw.func.vjp(lambda a: a * 2, x)[1]((v,))

    ours = gw.func.jvp(lambda a, b: g(gw, a, b), (x, y), (v, w))
    theirs = tfunc.jvp(lambda a, b: g(torch, a, b), (tx, ty), (tv, tw))
    close(ours, theirs)
    assert not ours[1].requires_grad
    # an output that does not depend on the primals: a zero tangent, as torch
    close(gw.func.jvp(lambda a: (a.exp(), y * 2), (x,), (v,)), tfunc.jvp(lambda a: (a.exp(), ty * 2), (tx,), (tv,)))
    close(gw.func.jvp(lambda a: (a.sum(), a * 2), (x,), (v,), has_aux=True), tfunc.jvp(lambda a: (a.sum(), a * 2), (tx,), (tv,), has_aux=True))
    raises_like(lambda: gw.func.jvp(lambda a: a * 2, x, v), lambda: tfunc.jvp(lambda a: a * 2, tx, tv))
    raises_like(lambda: gw.func.jvp(lambda a: a * 2, (x,), (v[:2],)), lambda: tfunc.jvp(lambda a: a * 2, (tx,), (tv[:2],)))
    raises_like(lambda: gw.func.jvp(lambda a: a * 2, (), ()), lambda: tfunc.jvp(lambda a: a * 2, (), ()))
    with pytest.raises(RuntimeError, match="Expected primals and tangents to have the same python structure"):
        gw.func.jvp(lambda a: a * 2, (x,), (v, v))
    raises_like(lambda: gw.func.jvp(lambda a: a.sum(), (x,), (v,), has_aux=True), lambda: tfunc.jvp(lambda a: a.sum(), (tx,), (tv,), has_aux=True))


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_jacobians(session, jac):
    ours_t, theirs_t = getattr(gw.func, jac), getattr(tfunc, jac)
    (x, y, m), (tx, ty, tm) = both(session, X, Y, M)
    close(ours_t(lambda a, b: g(gw, a, b))(x, y), theirs_t(lambda a, b: g(torch, a, b))(tx, ty))
    close(ours_t(lambda a, b: g(gw, a, b), argnums=(0, 1))(x, y), theirs_t(lambda a, b: g(torch, a, b), argnums=(0, 1))(tx, ty))
    # a matrix output, a tuple of outputs, has_aux, a scalar output
    close(ours_t(lambda a: (m @ a.tanh()).reshape(1, 3) * a.sum())(x), theirs_t(lambda a: (tm @ a.tanh()).reshape(1, 3) * a.sum())(tx))
    close(ours_t(lambda a: (a.sum(), a * y))(x), theirs_t(lambda a: (a.sum(), a * ty))(tx))
    close(ours_t(lambda a: (a.exp(), a.max()), has_aux=True)(x), theirs_t(lambda a: (a.exp(), a.max()), has_aux=True)(tx))
    raises_like(lambda: ours_t(lambda a: a * 2, argnums=2)(x), lambda: theirs_t(lambda a: a * 2, argnums=2)(tx))


# --- vmap ----------------------------------------------------------------------------------------------------------


def test_vmap_values_and_gradients(session):
    (b, y, m), (tb, ty, tm) = both(session, B, Y, M)
    b.requires_grad_()
    tb.requires_grad_()
    cases = [
        (lambda lib: lib.vmap(lambda r: (r.sin() * r).sum()), (b,), (tb,)),
        (lambda lib: lib.vmap(lambda r, c: r * c, in_dims=(0, None)), (b, y), (tb, ty)),
        (lambda lib: lib.vmap(lambda r, c: r * c, in_dims=(1, 0), out_dims=1), (b, y), (tb, ty)),
        (lambda lib: lib.vmap(lambda r: (r, r.sum()), out_dims=(1, 0)), (b,), (tb,)),
        (lambda lib: lib.vmap(lambda r: r @ (m if lib is gw else tm).T, in_dims=-2), (b,), (tb,)),
        (lambda lib: lib.vmap(lib.vmap(lambda e: e * e + 1)), (b,), (tb,)),
        (lambda lib: lib.vmap(lambda d: d["a"] * d["b"][0], in_dims=({"a": 0, "b": (None,)},)), ({"a": b, "b": (y,)},), ({"a": tb, "b": (ty,)},)),
        (lambda lib: lib.vmap(lambda r, scale: r * scale, in_dims=(0, None), chunk_size=2), (b, 2.0), (tb, 2.0)),
    ]
    for k, (make, args, t_args) in enumerate(cases):
        ours, theirs = make(gw)(*args), make(torch)(*t_args)
        close(ours, theirs)
        outs, t_outs = (ours, theirs) if isinstance(theirs, tuple) else ((ours,), (theirs,))
        grads = gw.autograd.grad(sum(o.sum() for o in outs), b)
        t_grads = torch.autograd.grad(sum(o.sum() for o in t_outs), tb)
        close(grads, t_grads)
    # per-example gradients: vmap over grad
    per_example = gw.func.vmap(gw.func.grad(lambda r, c: (r.sin() * c).sum()), in_dims=(0, None))(b.detach(), y)
    t_per_example = tfunc.vmap(tfunc.grad(lambda r, c: (r.sin() * c).sum()), in_dims=(0, None))(tb.detach(), ty)
    close(per_example, t_per_example)
    # a keyword argument is not batched
    close(gw.vmap(lambda r, *, c: r * c)(b, c=y), torch.vmap(lambda r, *, c: r * c)(tb, c=ty))


def test_vmap_errors_as_torch(session):
    (b, y), (tb, ty) = both(session, B, Y)
    ones, t_ones = session.ones(2), torch.ones(2)
    pairs = [
        (lambda lib, a, o: lib.vmap(lambda p, q: p + q)(a, o)),
        (lambda lib, a, o: lib.vmap(lambda p, q: p + q, in_dims=(None, None))(a, o)),
        (lambda lib, a, o: lib.vmap(lambda p: p, in_dims=2)(a)),
        (lambda lib, a, o: lib.vmap(lambda p: p, in_dims=[0])(a)),
        (lambda lib, a, o: lib.vmap(lambda p: 3.0)(a)),
        (lambda lib, a, o: lib.vmap(lambda p: p)()),
        (lambda lib, a, o: lib.vmap(lambda p: p, chunk_size=0)(a)),
        (lambda lib, a, o: lib.vmap(lambda p: p)(o.sum())),
        (lambda lib, a, o: lib.vmap(lambda p, k: p * k)(a, 2.0)),
    ]
    for make in pairs:
        raises_like(lambda: make(gw, b, ones), lambda: make(torch, tb, t_ones))
    for ours, theirs in [(lambda: gw.vmap(lambda p: p, in_dims=(0, 0))(b), lambda: torch.vmap(lambda p: p, in_dims=(0, 0))(tb)),
                         (lambda: gw.vmap(lambda p: p.sum(), out_dims=(0, 1))(b), lambda: torch.vmap(lambda p: p.sum(), out_dims=(0, 1))(tb))]:
        with pytest.raises(ValueError) as t:
            theirs()
        with pytest.raises(ValueError) as o:
            ours()
        assert str(o.value).split(" structure ")[0] == str(t.value).split(" structure ")[0]  # torch's TreeSpec printing aside
    with pytest.raises(IndexError, match="Dimension out of range"):
        gw.vmap(lambda p: p, out_dims=2)(b)


# --- functional_call -----------------------------------------------------------------------------------------------


class _Tied(gw.nn.Module):
    def __init__(self, lib, session=None):
        super().__init__()
        kwargs = {"session": session} if session is not None else {}
        self.l1, self.l2 = lib.nn.Linear(4, 4, **kwargs), lib.nn.Linear(4, 3, **kwargs)
        self.l3 = lib.nn.Linear(4, 4, **kwargs)
        self.l3.weight = self.l1.weight  # tied
        self.register_buffer("shift", session.ones(3) if session is not None else torch.ones(3))

    def forward(self, x, scale=1.0):
        return self.l2(self.l3(self.l1(x).tanh())) * scale + self.shift


class _TorchTied(torch.nn.Module):
    forward = _Tied.forward

    def __init__(self):
        torch.nn.Module.__init__(self)
        self.l1, self.l2, self.l3 = torch.nn.Linear(4, 4), torch.nn.Linear(4, 3), torch.nn.Linear(4, 4)
        self.l3.weight = self.l1.weight
        self.register_buffer("shift", torch.ones(3))


_TorchTied.__name__ = "_Tied"  # torch's messages name the class


def _models(session):
    model, reference = _Tied(gw, session), _TorchTied()
    reference.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    return model, reference


B32 = B.astype(np.float32)


def close32(ours, theirs):
    close(ours, theirs, rtol=2e-5, atol=1e-6)


def test_functional_call_as_torch(session):
    model, reference = _models(session)
    (b,), (tb,) = both(session, B32)
    w1, w2 = RNG.standard_normal((4, 4)).astype(np.float32), RNG.standard_normal(3).astype(np.float32)
    before = model.l1.weight.detach().numpy().copy()
    for tie in (True, False):
        given = {"l1.weight": session.tensor(w1, requires_grad=True), "shift": session.tensor(w2)}
        t_given = {"l1.weight": torch.tensor(w1, requires_grad=True), "shift": torch.tensor(w2)}
        out = gw.func.functional_call(model, given, (b,), {"scale": 2.0}, tie_weights=tie)
        t_out = tfunc.functional_call(reference, t_given, (tb,), {"scale": 2.0}, tie_weights=tie)
        close32(out, t_out)
        out.sum().backward()
        t_out.sum().backward()
        close32(given["l1.weight"].grad, t_given["l1.weight"].grad)
    np.testing.assert_array_equal(model.l1.weight.detach().numpy(), before)  # restored
    assert model.l1.weight is model.l3.weight and isinstance(model.shift, gw.Tensor)
    # a tuple of dicts; a single argument not in a tuple; the old home, with torch's warning
    out = gw.func.functional_call(model, ({"l2.bias": session.zeros(3)}, {"shift": session.zeros(3)}), b)
    t_out = tfunc.functional_call(reference, ({"l2.bias": torch.zeros(3)}, {"shift": torch.zeros(3)}), tb)
    close32(out, t_out)
    with pytest.warns(FutureWarning, match="torch.func.functional_call"):
        close32(gw.nn.utils.stateless.functional_call(model, {"shift": session.zeros(3)}, (b,)),
              tfunc.functional_call(reference, {"shift": torch.zeros(3)}, (tb,)))
    # grad over a model's parameters, as torch.func's recipe
    params = {k: v.detach() for k, v in model.named_parameters()}
    t_params = {k: v.detach() for k, v in reference.named_parameters()}
    close32(gw.func.grad(lambda p: gw.func.functional_call(model, p, (b,)).pow(2).mean())(params),
          tfunc.grad(lambda p: tfunc.functional_call(reference, p, (tb,)).pow(2).mean())(t_params))


def test_functional_call_errors_as_torch(session):
    model, reference = _models(session)
    (b,), (tb,) = both(session, B32)
    z, tz = session.zeros(4, 4), torch.zeros(4, 4)
    raises_like(lambda: gw.func.functional_call(model, {"l1.weight": z, "l3.weight": z + 1}, (b,)),
                lambda: tfunc.functional_call(reference, {"l1.weight": tz, "l3.weight": tz + 1}, (tb,)))
    raises_like(lambda: gw.func.functional_call(model, {"l1.weight": z, "zz": z}, (b,), strict=True),
                lambda: tfunc.functional_call(reference, {"l1.weight": tz, "zz": tz}, (tb,), strict=True))
    raises_like(lambda: gw.func.functional_call(model, ({"shift": z[0, :3]}, {"shift": z[0, :3]}), (b,)),
                lambda: tfunc.functional_call(reference, ({"shift": tz[0, :3]}, {"shift": tz[0, :3]}), (tb,)))
    # an unexpected name without strict is ignored by the module; tied names given the same tensor are fine
    close32(gw.func.functional_call(model, {"l1.weight": z, "l3.weight": z, "zz": z}, (b,)),
          tfunc.functional_call(reference, {"l1.weight": tz, "l3.weight": tz, "zz": tz}, (tb,)))
    assert not hasattr(model, "zz")



# --- vmap's randomness and in-place checks, linearize, grad_fn's type and t()'s node ------------------------------


def test_vmap_refuses_random_ops_and_unbatched_in_place_changes_as_torch(session):
    (b,), (tb,) = both(session, B)
    calls = [
        lambda lib, a: lib.vmap(lambda r: r + lib.rand(4, dtype=lib.float64))(a),
        lambda lib, a: lib.vmap(lambda r: lib.nn.functional.dropout(r, 0.5))(a),
        lambda lib, a: lib.vmap(lambda r: r.clone().normal_())(a),
        lambda lib, a: lib.vmap(lambda p, q: p.add_(q), in_dims=(None, 0))(lib.zeros(4, dtype=lib.float64), a),
        lambda lib, a: lib.vmap(lambda p, q: p.mul_(q), in_dims=(None, 0))(lib.ones(4, dtype=lib.float64), a),
        lambda lib, a: lib.vmap(lambda p, q: p.copy_(q), in_dims=(None, 0))(lib.ones(4, dtype=lib.float64), a),
    ]
    for call in calls:
        raises_like(lambda: call(gw, b), lambda: call(torch, tb))
    unbatched = session.ones(4, dtype=gw.float64)
    with pytest.raises(RuntimeError):
        gw.vmap(lambda p, q: p.add_(q), in_dims=(None, 0))(unbatched, b)
    np.testing.assert_array_equal(unbatched.numpy(), np.ones(4))  # refused before any element changed it
    # in place on a batched slice is fine, and so are the "same" and "different" randomness modes
    close(gw.vmap(lambda r: r.clone().mul_(2))(b), torch.vmap(lambda r: r.clone().mul_(2))(tb))
    same = gw.vmap(lambda r: r * 0 + gw.rand(4, dtype=gw.float64), randomness="same")(b).numpy()
    assert (same == same[0]).all()
    different = gw.vmap(lambda r: r * 0 + gw.rand(4, dtype=gw.float64), randomness="different")(b).numpy()
    assert not (different == different[0]).all()


def test_linearize_as_torch(session):
    (x, y, v, w), (tx, ty, tv, tw) = both(session, X, Y, V, W)
    fn = (lambda lib: lambda a, b: (lib.sin(a) * b, (a * b).sum()))
    out, jvp_fn = gw.func.linearize(fn(gw), x, y)
    t_out, t_jvp_fn = tfunc.linearize(fn(torch), tx, ty)
    close(out, t_out)
    close(jvp_fn(v, w), t_jvp_fn(tv, tw))
    close(jvp_fn(w, v), t_jvp_fn(tw, tv))  # again, at the same point
    raises_like(lambda: jvp_fn(v, session.ones(3, dtype=gw.float64)), lambda: t_jvp_fn(tv, torch.ones(3, dtype=torch.float64)))


def test_a_grad_fns_type_is_named_as_its_node_and_t_is_tbackward(session):
    (m,), (tm,) = both(session, M)
    m.requires_grad_()
    tm.requires_grad_()
    (row,), (t_row,) = both(session, X)
    row.requires_grad_()
    t_row.requires_grad_()
    for make in (lambda a, r: a * 2, lambda a, r: a.t(), lambda a, r: a.T, lambda a, r: a.mT, lambda a, r: a.H, lambda a, r: a.mH,
                 lambda a, r: a.transpose(0, 1), lambda a, r: r.t(), lambda a, r: a.sum()):
        ours, theirs = make(m, row), make(tm, t_row)
        name = ours.grad_fn.name()  # (reading grad_fn is free; its name is asked of the server once)
        assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__ == name == theirs.grad_fn.name()
        assert isinstance(ours.grad_fn, gw.autograd.graph.Node)
    first, second = (m * 2).grad_fn, (m * 3).grad_fn
    first.name(), second.name()
    assert type(first) is type(second)
    session.sync()
    answered = session._next_command
    assert (m * 4).grad_fn is not None and session._next_command == answered + 1  # one op queued, no fetch: no sync point
    ours = m.t()
    ours.sum().backward()  # t()'s node still differentiates as the transpose it is
    np.testing.assert_array_equal(m.grad.numpy(), np.ones(M.shape))


def test_stack_module_state_ensembles_as_torch(session):
    """torch's model-ensembling idiom: the models' parameters stacked into new leaves, vmap over them with
    functional_call: the same outputs and gradients as torch's; its checks in its words."""
    models = [gw.nn.Sequential(gw.nn.Linear(4, 3, dtype=gw.float64), gw.nn.BatchNorm1d(3, dtype=gw.float64), gw.nn.Linear(3, 2, dtype=gw.float64))
              for _ in range(3)]
    references = [torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2)).double() for _ in range(3)]
    for model, reference in zip(models, references):
        reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
        model.eval(), reference.eval()
    params, buffers = gw.func.stack_module_state(models)
    t_params, t_buffers = tfunc.stack_module_state(references)
    assert list(params) == list(t_params) and list(buffers) == list(t_buffers)
    for name, p in params.items():
        assert p.is_leaf and p.requires_grad and tuple(p.shape) == tuple(t_params[name].shape)
    assert not buffers["1.running_var"].requires_grad
    ensemble = lambda lib, p, b, x: lib.func.functional_call(models[0] if lib is gw else references[0], (p, b), (x,))  # noqa: E731
    out = gw.func.vmap(lambda p, b, x: ensemble(gw, p, b, x), (0, 0, None))(params, buffers, session.tensor(B))
    t_out = tfunc.vmap(lambda p, b, x: ensemble(torch, p, b, x), (0, 0, None))(t_params, t_buffers, torch.tensor(B))
    close(out, t_out)
    (out ** 2).sum().backward()
    (t_out ** 2).sum().backward()
    close({k: p.grad for k, p in params.items()}, {k: p.grad for k, p in t_params.items()})
    assert all(p.grad is None for p in models[1].parameters())  # new leaves: the models' own parameters get nothing

    models[1].train()
    with pytest.raises(RuntimeError, match="Expected all models to have the same training/eval mode"):
        gw.func.stack_module_state(models)
    with pytest.raises(RuntimeError, match="Expected all models to be of the same class"):
        gw.func.stack_module_state([models[0], gw.nn.Linear(4, 3).eval()])
    with pytest.raises(RuntimeError, match="Expected at least one model, got 0"):
        gw.func.stack_module_state([])
    models[1].eval()
    models[1][0].weight.requires_grad_(False)
    with pytest.raises(RuntimeError, match=r"Expected 0.weight from each model to have the same .requires_grad"):
        gw.func.stack_module_state(models)


def test_functionalize_replace_batch_norms_debug_unwrap_and_autograd_switches_as_torch(session):
    double_in_place = lambda x: x.mul_(2).add(1)  # noqa: E731
    assert gw.func.functionalize(double_in_place)(session.ones(2)).tolist() == tfunc.functionalize(double_in_place)(torch.ones(2)).tolist()
    with pytest.raises(RuntimeError) as t_error:
        tfunc.functionalize(double_in_place, remove="views")
    with pytest.raises(RuntimeError) as error:
        gw.func.functionalize(double_in_place, remove="views")
    assert str(error.value) == str(t_error.value)
    model = gw.nn.Sequential(gw.nn.Linear(3, 4), gw.nn.BatchNorm1d(4), gw.nn.Sequential(gw.nn.BatchNorm1d(4)))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Sequential(torch.nn.BatchNorm1d(4)))
    assert gw.func.replace_all_batch_norm_modules_(model) is model
    tfunc.replace_all_batch_norm_modules_(reference)
    assert list(model.state_dict()) == list(reference.state_dict()) and repr(model) == repr(reference)
    model.eval()
    out = model(session.randn(5, 3))  # no running statistics: each batch's own, even in eval
    assert np.allclose(out.detach().numpy().mean(0), 0, atol=1e-5)
    x = session.ones(2)
    assert gw.func.debug_unwrap(x) is x
    assert gw.autograd.is_multithreading_enabled() is torch.autograd.is_multithreading_enabled() is True
    with gw.autograd.set_multithreading_enabled(False):
        assert gw.autograd.is_multithreading_enabled() is False
    assert gw.autograd.is_multithreading_enabled() is True
    assert gw.autograd.is_view_replay_enabled() is torch.autograd.is_view_replay_enabled() is False
