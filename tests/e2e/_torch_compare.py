"""The e2e tests' check that gradwire does what torch does: the same function run through both, then compared.

Imported at module level by the test modules (tests/gpu imports those modules and reruns their tests on a GPU server,
so these helpers travel with them)."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")


def assert_matches_torch(session, f, *arrays, rtol=1e-10, atol=1e-12, float32_floor=None):
    """f(gw, ...) against f(torch, ...) on the same arrays (float inputs require grad): every output's shape, dtype,
    values and requires_grad, and every input's gradient of a weighted sum of the outputs that require grad (an input
    torch gives no gradient gets none either). f may return one tensor or a tuple or list of them.

    float32_floor: (rtol, atol) that float32 outputs are held to at the least (a last-place difference of the kernels
    when float64 inputs give a float32 result); their gradients keep rtol and atol."""
    ours = [session.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out, t_out = f(gw, *ours), f(torch, *theirs)
    outs, t_outs = (out, t_out) if isinstance(t_out, (tuple, list)) else ((out,), (t_out,))
    assert len(outs) == len(t_outs)
    total, t_total = 0.0, 0.0
    for k, (o, t) in enumerate(zip(outs, t_outs)):
        assert tuple(o.shape) == tuple(t.shape), f"output {k}: shape {tuple(o.shape)} != {tuple(t.shape)}"
        assert str(o.dtype) == str(t.dtype), f"output {k}: dtype {o.dtype} != {t.dtype}"
        o_rtol, o_atol = rtol, atol
        if float32_floor is not None and t.dtype == torch.float32:
            o_rtol, o_atol = max(rtol, float32_floor[0]), max(atol, float32_floor[1])
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=o_rtol, atol=o_atol, err_msg=f"output {k}")
        assert o.requires_grad == t.requires_grad, f"output {k}: requires_grad"
        if t.requires_grad:
            weights = np.linspace(0.5, 1.5, t.numel()).reshape(tuple(t.shape))
            total, t_total = total + (o * session.tensor(weights)).sum(), t_total + (t * torch.tensor(weights)).sum()
    if isinstance(t_total, torch.Tensor):
        total.backward()
        t_total.backward()
    for k, (x, t) in enumerate(zip(ours, theirs)):
        assert (x.grad is None) == (t.grad is None), f"input {k}: a gradient where torch gives none, or none where it gives one"
        if t.grad is not None:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(force=True), rtol=rtol, atol=atol, err_msg=f"d/d input {k}")


def assert_same_error(ours, theirs, same_type=False):
    """ours(gw) and theirs(torch) both raise, and gradwire's message holds torch's; with same_type, gradwire's
    exception is also of torch's type (torch's RuntimeError: a gw error, which is one)."""
    with pytest.raises(Exception) as t_info:
        theirs(torch)
    with pytest.raises(Exception) as info:
        ours(gw)
    if same_type:
        assert isinstance(info.value, type(t_info.value)), (type(info.value), type(t_info.value))
    assert str(t_info.value) in str(info.value), (str(info.value), str(t_info.value))


def torch_words(error) -> str:
    """An error's first line as torch says it: of gradwire's, the deferred error's frame ("op (issued at ...) failed:
    ... [inputs: ...]"), the shapes it adds and an op's name in front cut away (torch's own pass through unchanged)."""
    message = str(error).splitlines()[0]
    if " failed: " in message:
        message = message.split(" failed: ", 1)[1]
    for context in (" [inputs:", " (input shape", " (shapes"):
        message = message.split(context)[0]
    head, _, rest = message.partition(": ")
    return rest if rest and head.replace("_", "").isalnum() else message
