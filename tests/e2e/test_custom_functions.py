"""Custom autograd functions (``gw.autograd.Function``) and activation checkpointing (``gw.utils.checkpoint``),
against PyTorch's: gradients through them, several outputs, an output the pass does not reach, a gradient
reversal, double backward through a differentiable custom backward, and the server memory a checkpoint saves."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import gradwire as gw
from gradwire.utils.checkpoint import checkpoint

torch = pytest.importorskip("torch")

X = np.linspace(-1.5, 2.0, 12).reshape(3, 4)


def _functions(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x * x * x * scale

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g * ctx.scale, None

    class Split(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y, x + y

        @staticmethod
        def backward(ctx, g_product, g_sum):  # an output the pass did not reach comes as zeros
            return g_product * 2 + g_sum, g_product - g_sum

    class ReverseGradient(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return -0.5 * g

    return Cube, Split, ReverseGradient


def _run(lib, session):
    make = (lambda a: torch.tensor(a, requires_grad=True)) if lib is torch else (lambda a: session.tensor(a, requires_grad=True))
    x, y = make(X), make(X[::-1].copy())
    Cube, Split, ReverseGradient = _functions(lib)
    out = Cube.apply(x.sin(), 2.0)
    assert out.requires_grad and not out.is_leaf
    product, _ = Split.apply(out, y)
    loss = (product.tanh() * ReverseGradient.apply(y * 3)).sum()
    loss.backward()
    a, b = Split.apply(x, y)
    (a * b).mean().backward()
    return [x.grad, y.grad]


def test_custom_functions_give_pytorchs_gradients(session):
    theirs, ours = _run(torch, None), _run(gw, session)
    for t, o in zip(theirs, ours):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)
    session.sync()
    assert session.stats()["graph_nodes"] == 0


def test_a_custom_functions_outputs_name_its_node_as_pytorch_does(session):
    described = []
    for lib in (torch, gw):
        make = (lambda a: torch.tensor(a, requires_grad=True)) if lib is torch else (lambda a: session.tensor(a, requires_grad=True))
        x, y = make(X), make(X)
        Cube, Split, _ = _functions(lib)
        outs = [Cube.apply(x.sin(), 2.0), *Split.apply(x, y * 2)]
        described.append([(out.grad_fn.name(), [None if f is None else f.name() for f, _ in out.grad_fn.next_functions]) for out in outs])
        described[-1].append(repr(outs[0]).endswith("grad_fn=<CubeBackward>)"))
    assert described[1] == described[0]
    assert described[0][0] == ("CubeBackward", ["SinBackward0"])  # (the number 2.0 is no input node)


def test_a_custom_backward_made_of_ops_is_differentiated_again(session):
    results = []
    for lib in (torch, gw):
        Cube, _, _ = _functions(lib)
        x = torch.tensor(X, requires_grad=True) if lib is torch else session.tensor(X, requires_grad=True)
        grad = torch.autograd.grad if lib is torch else gw.grad
        (g,) = grad(Cube.apply(x, 1.5).sum(), x, create_graph=True)  # 4.5 x^2, recorded
        results.append(grad(g.sum(), x)[0])  # 9 x
    np.testing.assert_allclose(results[1].numpy(), results[0].numpy(), rtol=1e-12)


def test_a_backward_that_returns_the_wrong_number_of_gradients_says_so(session):
    class Bad(gw.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = session.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"function BadBackward returned an incorrect number of gradients \(expected 1, got 2\)"):
        Bad.apply(x).sum().backward()
    (x * 2).sum().backward()  # the session goes on
    np.testing.assert_array_equal(x.grad.numpy(), np.full(X.shape, 2.0))


def _model(lib, session):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(4, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2)]
    reference = torch.nn.Sequential(*layers).double()
    if lib is torch:
        return reference
    model = gw.nn.Sequential(gw.nn.Linear(4, 32, session=session), gw.nn.Tanh(), gw.nn.Linear(32, 32, session=session), gw.nn.Tanh(),
                             gw.nn.Linear(32, 2, session=session)).double()
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    return model


def test_checkpointed_segments_give_pytorchs_gradients_and_hold_less(session):
    data = np.random.default_rng(0).normal(size=(64, 4))
    grads = []
    for lib in (torch, gw):
        model = _model(lib, session)
        x = torch.tensor(data, requires_grad=True) if lib is torch else session.tensor(data, requires_grad=True)
        run = torch.utils.checkpoint.checkpoint if lib is torch else checkpoint
        kwargs = {"use_reentrant": False if lib is torch else True}  # (gradwire's reentrant variant is the one that holds less)
        middle = run(lambda h: model[3](model[2](model[1](model[0](h)))), x, **kwargs)
        loss = (model[4](middle) ** 2).mean()
        if lib is gw:
            held_checkpointed = session.stats()["bytes"]
        loss.backward()
        grads.append([x.grad] + [p.grad for p in model.parameters()])
    for theirs, ours in zip(*grads):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)

    model = _model(gw, session)  # the same forward without the checkpoint holds the segment's insides too
    x = session.tensor(data, requires_grad=True)
    loss = (model(x) ** 2).mean()
    assert session.stats()["bytes"] > held_checkpointed + 3 * 64 * 32 * 8  # three (64, 32) float64 activations at least
    loss.backward()


def test_a_checkpointed_dropout_draws_the_same_samples_when_run_again(session):
    dropout = gw.nn.Dropout(0.5)
    x = session.tensor(np.ones((16, 16)), requires_grad=True)
    out = checkpoint(lambda h: dropout(h) * 3, x, use_reentrant=True)
    out.sum().backward()
    kept = out.detach().numpy() != 0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, 6.0, 0.0))  # 3 x the dropout's scale of 2, where kept
    gw.manual_seed(5)
    first = checkpoint(lambda h: dropout(h), x, use_reentrant=True).detach().numpy()
    gw.manual_seed(5)
    again = checkpoint(lambda h: dropout(h), x, use_reentrant=True).detach().numpy()
    np.testing.assert_array_equal(first, again)  # a seeded run stays reproducible


def test_a_custom_functions_outputs_are_released_without_the_garbage_collector(session):
    """No reference cycle through the outputs' node (its name is kept as a string until grad_fn is read)."""
    import gc

    Cube = _functions(gw)[0]
    x = session.tensor(X, requires_grad=True)
    (Cube.apply(x, 2.0) * 1.0).sum().backward()
    session.sync()
    before = session.stats()["tensors"]
    gc.disable()
    try:
        for _ in range(5):
            (Cube.apply(x, 2.0) * 1.0).sum().backward()
        session.sync()
        after = session.stats()["tensors"]
    finally:
        gc.enable()
    assert after <= before


def test_an_input_whose_gradient_backward_returns_as_none_gets_none_as_in_pytorch(session):
    results = []
    for lib in (torch, gw):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, factor):
                ctx.save_for_backward(factor)
                return x * factor

            @staticmethod
            def backward(ctx, g):
                (factor,) = ctx.saved_tensors
                return g * factor, None  # none for the factor, though it requires grad

        make = (lambda a: torch.tensor(a, requires_grad=True)) if lib is torch else (lambda a: session.tensor(a, requires_grad=True))
        x, factor, other = make(X), make(X[::-1].copy()), make(X)
        Scale.apply(x, factor).sum().backward()
        alone = factor.grad  # None: nothing else reached it
        (Scale.apply(other, factor) + factor * 3).sum().backward()  # another path to the factor: only it counts
        grad = torch.autograd.grad if lib is torch else gw.grad
        unused = grad(Scale.apply(x, factor).sum(), factor, allow_unused=True)[0]
        results.append((alone, factor.grad, x.grad, unused))
    (t_alone, t_factor, t_x, t_unused), (alone, factor, x, unused) = results
    assert t_alone is None and alone is None and t_unused is None and unused is None
    np.testing.assert_array_equal(factor.numpy(), t_factor.numpy())  # 3s: the other path's
    np.testing.assert_allclose(x.numpy(), t_x.numpy(), rtol=1e-12)


def test_a_gradient_of_the_wrong_shape_is_refused_and_another_dtype_is_cast_as_in_pytorch(session):
    class Wrong(gw.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum(0)

    class Single(gw.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return (g * 2).float()  # float32 for a float64 input: cast back, as PyTorch casts it

    x = session.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Function WrongBackward returned an invalid gradient at index 0 - got \[4\] but expected shape compatible with \[3, 4\]"):
        Wrong.apply(x).sum().backward()
    Single.apply(x).sum().backward()
    assert x.grad.dtype == gw.float64
    np.testing.assert_array_equal(x.grad.numpy(), np.full(X.shape, 2.0))


def _square(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    return Square


def _grads(lib, session, build, *arrays):
    """``build(lib, *leaves)`` -> a loss; the leaves' gradients after its backward, as NumPy arrays."""
    leaves = [torch.tensor(a, requires_grad=True) if lib is torch else session.tensor(a, requires_grad=True) for a in arrays]
    build(lib, *leaves).backward()
    return [x.grad.detach().numpy() if lib is torch else x.grad.numpy() for x in leaves]


_IN_PLACE_ON_THE_OUTPUT = {
    "mul_": lambda lib, h: h.mul_(2),
    "neg_": lambda lib, h: h.neg_(),
    "sigmoid_": lambda lib, h: h.sigmoid_(),
    "clamp_": lambda lib, h: h.clamp_(max=2.0),
    "zero_": lambda lib, h: h.zero_(),
    "setitem": lambda lib, h: h.__setitem__(0, 5.0),
    "slice mul_": lambda lib, h: h[0:1].mul_(4),
    "relu inplace": lambda lib, h: lib.nn.ReLU(inplace=True)(h),
    "add_": lambda lib, h: h.add_(1),
}


@pytest.mark.parametrize("change", list(_IN_PLACE_ON_THE_OUTPUT))
def test_an_in_place_change_to_an_output_is_part_of_the_gradient_as_in_pytorch(session, change):
    def build(lib, x):
        h = _square(lib).apply(x * 1)
        _IN_PLACE_ON_THE_OUTPUT[change](lib, h)
        return (h * (x.detach() + 3)).sum()  # a weight per element: the change's factor shows

    expected, got = (_grads(lib, session, build, X[0] - 0.25) for lib in (torch, gw))
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6, atol=1e-6)


def test_a_custom_linear_followed_by_an_in_place_relu_gives_pytorchs_gradients(session):
    def build(lib, x, w):
        class Linear(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, w):
                ctx.save_for_backward(x, w)
                return x @ w.t()

            @staticmethod
            def backward(ctx, g):
                x, w = ctx.saved_tensors
                return g @ w, g.t() @ x

        h = lib.nn.ReLU(inplace=True)(Linear.apply(x, w))
        return (Linear.apply(h, w[:, :3]) ** 2).sum()

    expected, got = (_grads(lib, session, build, X[:, :3], X[:, 1:4].T.copy()) for lib in (torch, gw))
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-10)


def test_an_input_changed_in_place_after_the_call_keeps_the_functions_gradient(session):
    def build(lib, a):
        class Triple(lib.autograd.Function):  # saves nothing: the later change is allowed
            @staticmethod
            def forward(ctx, x):
                return x * 3

            @staticmethod
            def backward(ctx, g):
                return g * 3

        x = a * 1
        y = Triple.apply(x)
        x.mul_(5)
        return y.sum() + (x * x).sum()

    expected, got = (_grads(lib, session, build, X) for lib in (torch, gw))
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)


@pytest.mark.parametrize("no_grad", [False, True])
def test_a_saved_input_changed_in_place_after_the_call_raises_as_in_pytorch(session, no_grad):
    for lib in (torch, gw):
        a = torch.tensor(X, requires_grad=True) if lib is torch else session.tensor(X, requires_grad=True)
        x = a if no_grad else a * 1  # (a leaf that requires grad: changed under no_grad only)
        y = _square(lib).apply(x)
        with lib.no_grad() if no_grad else contextlib.nullcontext():
            x.add_(1)
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation has been modified by an inplace operation"):
            y.sum().backward()
    (session.tensor(X, requires_grad=True) * 2).sum().backward()  # the session goes on


def test_a_function_that_returns_its_input_gives_backwards_gradient_alone(session):
    def build(lib, w):
        class ReverseGradient(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, scale):
                ctx.scale = scale
                return x

            @staticmethod
            def backward(ctx, g):
                return -ctx.scale * g, None

        return (ReverseGradient.apply(w * 3, 0.5) * (w.detach() + 1)).sum() + ReverseGradient.apply(w, 2.0).sum()

    expected, got = (_grads(lib, session, build, X) for lib in (torch, gw))
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
    x = session.tensor(X, requires_grad=True)
    assert _functions(gw)[2].apply(x) is not x


@pytest.mark.parametrize("style", ["ctx", "setup_context"])
def test_double_backward_through_a_saved_output_as_in_pytorch(session, style):
    results = []
    for lib in (torch, gw):
        if style == "ctx":
            class Exp(lib.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    r = x.exp()
                    ctx.save_for_backward(r)
                    return r

                @staticmethod
                def backward(ctx, g):
                    (r,) = ctx.saved_tensors
                    return g * r
        else:
            class Exp(lib.autograd.Function):
                @staticmethod
                def forward(x):
                    return x.exp()

                @staticmethod
                def setup_context(ctx, inputs, output):
                    ctx.save_for_backward(output)

                @staticmethod
                def backward(ctx, g):
                    (r,) = ctx.saved_tensors
                    return g * r

        x = torch.tensor(X, requires_grad=True) if lib is torch else session.tensor(X, requires_grad=True)
        (g,) = lib.autograd.grad((Exp.apply(x) * x).sum(), x, create_graph=True)
        (g2,) = lib.autograd.grad(g.sum(), x)
        results.append([t.detach().numpy() for t in (g, g2)])
    for e, g in zip(*results):
        np.testing.assert_allclose(g, e, rtol=1e-12)


def test_an_output_that_ctx_saved_is_released_without_the_garbage_collector(session):
    import gc

    class Exp(gw.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            r = x.exp()
            ctx.save_for_backward(r)
            return r

        @staticmethod
        def backward(ctx, g):
            (r,) = ctx.saved_tensors
            return g * r

    x = session.tensor(X, requires_grad=True)
    Exp.apply(x).sum().backward()
    session.sync()
    before = session.stats()["tensors"]
    gc.disable()
    try:
        for _ in range(5):
            Exp.apply(x).sum().backward()
        session.sync()
        after = session.stats()["tensors"]
    finally:
        gc.enable()
    assert after <= before


def test_backwards_gradients_beyond_the_inputs_and_for_non_tensors_are_checked_as_in_pytorch(session):
    def function(lib, extra):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return (g * 2,) + extra(lib)

        return Scale

    cases = [
        (lambda lib: (None, None, None), None),  # trailing Nones beyond the inputs: dropped
        (lambda lib: (None, None, lib.ones(1)), r"function ScaleBackward returned an incorrect number of gradients \(expected 2, got 4\)"),
        (lambda lib: (lib.ones(1),), "function ScaleBackward returned a gradient different than None at position 2, but the corresponding "
                                     "forward input was not a Variable"),
    ]
    for extra, error in cases:
        for lib in (torch, gw):
            x = torch.tensor(X, requires_grad=True) if lib is torch else session.tensor(X, requires_grad=True)
            loss = function(lib, extra).apply(x, 2.0).sum()
            if error is None:
                loss.backward()
                np.testing.assert_array_equal(x.grad.numpy(), np.full(X.shape, 2.0))
            else:
                with pytest.raises(RuntimeError, match=error):
                    loss.backward()


def test_a_function_called_on_an_instance_and_save_for_forward_behave_as_in_pytorch(session):
    for lib in (torch, gw):
        class Double(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_forward(x)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = torch.tensor(X, requires_grad=True) if lib is torch else session.tensor(X, requires_grad=True)
        Double.apply(x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.full(X.shape, 2.0))
        with pytest.warns(DeprecationWarning, match="should not be instantiated"):
            instance = Double()
        with pytest.raises(RuntimeError, match="Legacy autograd function with non-static forward method is deprecated"):
            instance(x)
