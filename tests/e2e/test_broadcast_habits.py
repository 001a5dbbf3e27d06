"""Broadcasting as PyTorch does it, through a real server: an in-place op never grows its tensor (refused in torch's
words), out-of-place functions broadcast their operands before reducing, ``&=`` and its kin write in place."""

from __future__ import annotations

import math

import pytest

import gradwire as gw
from tests.e2e._torch_compare import torch_words

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:Using a target size")  # (mse_loss's and l1_loss's, on both sides)

SHAPES = [(3,), (2, 3), (1, 3), (2, 1), (), (2,)]

# each f(x, y, lib): x and y of SHAPES, filled with distinct positive values
OPS = {
    "add_": lambda x, y, lib: x.add_(y), "sub_": lambda x, y, lib: x.sub_(y, alpha=2), "mul_": lambda x, y, lib: x.mul_(y),
    "div_": lambda x, y, lib: x.div_(y), "pow_": lambda x, y, lib: x.pow_(y), "copy_": lambda x, y, lib: x.copy_(y),
    "clamp_": lambda x, y, lib: x.clamp_(min=y), "addcmul_": lambda x, y, lib: x.addcmul_(y, y),
    "addcdiv_": lambda x, y, lib: x.addcdiv_(y, y), "atan2_": lambda x, y, lib: x.atan2_(y), "fmod_": lambda x, y, lib: x.fmod_(y),
    "+=": lambda x, y, lib: x.__iadd__(y), "*=": lambda x, y, lib: x.__imul__(y), "hypot_": lambda x, y, lib: x.hypot_(y),
    "copysign_": lambda x, y, lib: x.copysign_(y), "xlogy_": lambda x, y, lib: x.xlogy_(y), "eq_": lambda x, y, lib: x.eq_(y),
    "lt_": lambda x, y, lib: x.lt_(y), "logical_and_": lambda x, y, lib: (x > 1).logical_and_(y > 1),
    "&=": lambda x, y, lib: (x > 1).__iand__(y > 1), "|=": lambda x, y, lib: (x > 1).__ior__(y > 1),
    "floor_divide_": lambda x, y, lib: x.floor_divide_(y), "remainder_": lambda x, y, lib: x.remainder_(y),
    "where": lambda x, y, lib: lib.where(x > 2, x, y), "maximum": lambda x, y, lib: lib.maximum(x, y),
    "logaddexp": lambda x, y, lib: x.logaddexp(y),
    "mse_loss": lambda x, y, lib: lib.nn.functional.mse_loss(x, y), "l1_loss": lambda x, y, lib: lib.nn.functional.l1_loss(x, y, reduction="none"),
    "huber_loss": lambda x, y, lib: lib.nn.functional.huber_loss(x, y, reduction="none"),
    "soft_margin_loss": lambda x, y, lib: lib.nn.functional.soft_margin_loss(x, y),
    "kl_div": lambda x, y, lib: lib.nn.functional.kl_div(x, y, reduction="batchmean"),
    "cosine_similarity": lambda x, y, lib: lib.nn.functional.cosine_similarity(x, y, dim=-1) if x.ndim and y.ndim else x,
    "pairwise_distance": lambda x, y, lib: lib.nn.functional.pairwise_distance(x, y),
    "binary_cross_entropy_with_logits": lambda x, y, lib: lib.nn.functional.binary_cross_entropy_with_logits(x, y.sigmoid(), pos_weight=y),
}


def _outcome(lib, session, f, x_shape, y_shape):
    """f's result (shape, values rounded), or its error's message (gradwire's op prefix and context cut)."""
    def values(shape):
        count = math.prod(shape)
        made = (torch.arange(1.0, count + 1) if lib is torch else session.arange(1.0, count + 1)).reshape(shape)
        return made

    try:
        result = f(values(x_shape) * 1.5, values(y_shape) * 0.5 + 0.25, lib)
        return "values", tuple(result.shape), [round(v, 4) for v in result.double().reshape(-1).tolist()]
    except Exception as error:  # noqa: BLE001 - the message is what is compared
        return "error", torch_words(error)


@pytest.mark.parametrize("name", sorted(OPS))
def test_an_op_over_every_pair_of_shapes_is_torchs(session, name):
    for x_shape in SHAPES:
        for y_shape in SHAPES:
            theirs = _outcome(torch, session, OPS[name], x_shape, y_shape)
            assert _outcome(gw, session, OPS[name], x_shape, y_shape) == theirs, (x_shape, y_shape)


def test_cosine_similarity_of_broadcast_operands_takes_their_broadcast_norms(session):
    for x_shape, y_shape, dim in (((3,), (2, 1), -1), ((4, 1, 3), (5, 3), 2), ((1, 3), (4, 3), 1)):
        got = []
        for lib in (torch, gw):
            make = torch.arange if lib is torch else session.arange
            x = make(1.0, math.prod(x_shape) + 1).reshape(x_shape).sin().requires_grad_()
            y = make(1.0, math.prod(y_shape) + 1).reshape(y_shape).cos().requires_grad_()
            out = lib.nn.functional.cosine_similarity(x, y, dim=dim)
            out.sum().backward()
            got.append([out.detach().numpy(), x.grad.numpy(), y.grad.numpy()])
        for ours, theirs in zip(got[1], got[0]):
            assert ours.shape == theirs.shape
            assert ours == pytest.approx(theirs, abs=1e-6)


def test_bitwise_assignment_writes_in_place_as_torch(session):
    for lib, make in ((torch, torch.tensor), (gw, session.tensor)):
        mask = make([True, False, True])
        alias = mask
        mask &= make([True, True, False])
        mask |= make([False, True, False])
        assert mask is alias and alias.tolist() == [True, True, False]


# --- reductions and dim-taking ops over empty and 0-d tensors ------------------------------------------------------
REDUCTIONS = {
    "sum": lambda x, d: x.sum(d) if d is not None else x.sum(), "mean": lambda x, d: x.mean(d) if d is not None else x.mean(),
    "prod": lambda x, d: x.prod(d) if d is not None else x.prod(), "max": lambda x, d: x.max(d).values if d is not None else x.max(),
    "min": lambda x, d: x.min(d).values if d is not None else x.min(), "amax": lambda x, d: x.amax(d) if d is not None else x.amax(),
    "argmax": lambda x, d: x.argmax(d) if d is not None else x.argmax(), "std": lambda x, d: x.std(d) if d is not None else x.std(),
    "logsumexp": lambda x, d: x.logsumexp(0 if d is None else d), "softmax": lambda x, d: x.softmax(0 if d is None else d),
    "log_softmax": lambda x, d: x.log_softmax(0 if d is None else d), "cumsum": lambda x, d: x.cumsum(0 if d is None else d),
    "median": lambda x, d: x.median(d).values if d is not None else x.median(), "topk": lambda x, d: x.topk(1, -1 if d is None else d).values,
    "sort": lambda x, d: x.sort(-1 if d is None else d).values, "flip": lambda x, d: x.flip(0 if d is None else d),
    "kthvalue": lambda x, d: x.kthvalue(1, -1 if d is None else d).values, "all": lambda x, d: x.all(d) if d is not None else x.all(),
    "norm": lambda x, d: x.norm(dim=d), "max-keepdim": lambda x, d: x.max(d, keepdim=True).values if d is not None else x.max(),
}


def _reduced(lib, session, f, shape, dim):
    count = math.prod(shape)
    x = (torch.arange(1.0, count + 1) if lib is torch else session.arange(1.0, count + 1)).reshape(shape)
    try:
        out = f(x, dim)
        return "values", tuple(out.shape), [round(v, 4) if v == v else "nan" for v in out.double().reshape(-1).tolist()]
    except Exception as error:  # noqa: BLE001 - the kind and message are what is compared
        return "error", isinstance(error, IndexError), torch_words(error)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_of_empty_and_zero_dim_tensors_are_torchs(session, name):
    """An empty softmax is empty, a 0-d flip is itself, and max, argmax, median, kthvalue, ... along an empty dim are
    refused with torch's IndexError and words."""
    for shape in ((0,), (2, 0), (0, 3), (3,), (2, 3), ()):
        for dim in (None, 0, -1, 1):
            theirs = _reduced(torch, session, REDUCTIONS[name], shape, dim)
            assert _reduced(gw, session, REDUCTIONS[name], shape, dim) == theirs, (shape, dim)
