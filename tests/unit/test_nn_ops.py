"""The neural-network primitives given bad input: a typed error naming the problem, never a crash."""

from __future__ import annotations

import numpy as np
import pytest

from gradwire_server.engine import Engine, InvalidArgument


def t(engine, *shape, dtype=np.float32, requires_grad=False):
    return engine.tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


BAD_CALLS = [
    ("conv2d-channels", lambda e: e.apply("conv2d", t(e, 2, 3, 5, 5), t(e, 4, 2, 3, 3)), "expected input.* to have 2 channels"),
    ("conv2d-2d-input", lambda e: e.apply("conv2d", t(e, 5, 5), t(e, 4, 1, 3, 3)), "Expected 3D \\(unbatched\\) or 4D"),
    ("conv2d-kernel-too-big", lambda e: e.apply("conv2d", t(e, 1, 1, 2, 2), t(e, 1, 1, 3, 3)), "Kernel size can't be greater"),
    ("conv2d-zero-stride", lambda e: e.apply("conv2d", t(e, 1, 1, 4, 4), t(e, 1, 1, 3, 3), stride=0), "non-positive stride"),
    ("conv2d-negative-padding", lambda e: e.apply("conv2d", t(e, 1, 1, 4, 4), t(e, 1, 1, 3, 3), padding=-1), "negative padding"),
    ("conv2d-three-strides", lambda e: e.apply("conv2d", t(e, 1, 1, 4, 4), t(e, 1, 1, 3, 3), stride=(1, 1, 1)), "stride"),
    ("conv2d-bias-shape", lambda e: e.apply("conv2d", t(e, 1, 1, 4, 4), t(e, 2, 1, 3, 3), t(e, 3)), "bias"),
    ("conv2d-no-weight", lambda e: e.apply("conv2d", t(e, 1, 1, 4, 4)), "conv2d"),
    ("conv2d-text-stride", lambda e: e.apply("conv2d", t(e, 1, 1, 4, 4), t(e, 1, 1, 3, 3), stride="two"), "conv2d"),
    ("max_pool2d-big-padding", lambda e: e.apply("max_pool2d", t(e, 1, 1, 4, 4), kernel_size=2, padding=2), "at most half"),
    ("max_pool2d-zero-kernel", lambda e: e.apply("max_pool2d", t(e, 1, 1, 4, 4), kernel_size=0), "greater than zero"),
    ("max_pool2d-no-kernel", lambda e: e.apply("max_pool2d", t(e, 1, 1, 4, 4)), "max_pool2d"),
    ("embedding-float-indices", lambda e: e.apply("embedding", t(e, 3), t(e, 4, 2)), "indices"),
    ("embedding-out-of-range", lambda e: e.apply("embedding", e.tensor([0, 4]), t(e, 4, 2)), "index out of range"),
    ("batch_norm-eval-without-statistics", lambda e: e.apply("batch_norm", t(e, 2, 3)), "running_mean must be defined in evaluation mode"),
    ("batch_norm-one-value-per-channel", lambda e: e.apply("batch_norm", t(e, 1, 3), training=True), "Expected more than 1 value per channel"),
    ("batch_norm-statistics-size", lambda e: e.apply("batch_norm", t(e, 2, 3), t(e, 4), t(e, 4), has_stats=True), "running_mean should contain 3 elements not 4"),
    ("batch_norm-1d", lambda e: e.apply("batch_norm", t(e, 3), training=True), "at least 2 dims"),
    ("layer_norm-shape", lambda e: e.apply("layer_norm", t(e, 2, 3), normalized_shape=(4,)), "normalized_shape"),
    ("layer_norm-no-shape", lambda e: e.apply("layer_norm", t(e, 2, 3)), "normalized_shape"),
    ("dropout-p", lambda e: e.apply("dropout", t(e, 3), t(e, 3), p=1.5), "between 0 and 1"),
    ("dropout-samples", lambda e: e.apply("dropout", t(e, 3), t(e, 4), p=0.5), "samples"),
    ("cross_entropy-float-target", lambda e: e.apply("cross_entropy", t(e, 2, 3), t(e, 2)), "integer dtype"),
    ("cross_entropy-target-range", lambda e: e.apply("cross_entropy", t(e, 2, 3), e.tensor([0, 3])), "Target 3 is out of bounds"),
    ("cross_entropy-negative-target", lambda e: e.apply("cross_entropy", t(e, 2, 3), e.tensor([-1, 0])), "Target -1 is out of bounds"),
    ("cross_entropy-batch", lambda e: e.apply("cross_entropy", t(e, 2, 3), e.tensor([0, 1, 2])), "batch_size"),
    ("cross_entropy-0d", lambda e: e.apply("cross_entropy", t(e), e.tensor(0)), "cross_entropy"),
    ("cross_entropy-reduction", lambda e: e.apply("cross_entropy", t(e, 2, 3), e.tensor([0, 1]), reduction="avg"), "reduction"),
    ("nll_loss-target-range", lambda e: e.apply("nll_loss", t(e, 2, 3), e.tensor([0, 5])), "Target 5 is out of bounds"),
    ("linear-shapes", lambda e: e.apply("linear", t(e, 2, 3), t(e, 4, 5)), "cannot be multiplied"),
    ("linear-0d", lambda e: e.apply("linear", t(e), t(e, 4, 5)), "cannot be multiplied"),
]


@pytest.mark.parametrize("name, call, message", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_a_typed_error(engine, name, call, message):
    with pytest.raises(InvalidArgument, match=message):
        call(engine)


def test_cross_entropy_mean_over_no_counted_target_is_nan_as_in_torch(engine):
    x = t(engine, 2, 3, requires_grad=True)
    loss = engine.apply("cross_entropy", x, engine.tensor([-100, -100]))
    assert np.isnan(loss.item())


def test_conv2d_gradients_accumulate_across_backward_passes(engine):
    x, w = t(engine, 1, 4, 4, 4, requires_grad=True), t(engine, 2, 4, 3, 3, requires_grad=True)
    for _ in range(2):
        engine.apply("conv2d", x, w, padding=1).sum().backward()
    once = Engine("cpu")
    x1, w1 = t(once, 1, 4, 4, 4, requires_grad=True), t(once, 2, 4, 3, 3, requires_grad=True)
    once.apply("conv2d", x1, w1, padding=1).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * w1.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 2 * x1.grad.numpy())
