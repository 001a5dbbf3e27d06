"""``gradwire.utils.checkpoint``: trade compute for the server's memory, as ``torch.utils.checkpoint``."""

from __future__ import annotations

from .. import errors
from ..autograd.function import Function
from ..grad_mode import enable_grad
from ..tensor import Tensor


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)`` without keeping what its ops save for backward: the backward pass runs it
    again, with grad, on the same inputs, and differentiates that (one pass of its own, in the middle of the
    outer one). The session's memory then holds the segment's inputs and outputs, not its insides.

    With ``preserve_rng_state`` (the default) the random ops inside (dropout) draw the same samples both times:
    the session's generator is reseeded for the segment from a seed forked off the last manual seed.
    """
    if use_reentrant not in (None, True, False):
        raise errors.InvalidArgumentError(f"checkpoint: use_reentrant must be a bool, not {use_reentrant!r}")
    tensors = [a for a in args if isinstance(a, Tensor)]
    if not tensors:
        raise errors.InvalidArgumentError("checkpoint: at least one of the inputs must be a gradwire Tensor")
    return _Checkpoint.apply(function, kwargs, preserve_rng_state, *args)


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, function, kwargs, preserve_rng_state, *args):
        ctx.function, ctx.kwargs = function, kwargs
        ctx.session = next(a for a in args if isinstance(a, Tensor))._session
        ctx.seed = ctx.session._fork_seed() if preserve_rng_state else None
        ctx.save_for_backward(*args)
        with _segment_seed(ctx):
            return function(*args, **kwargs)

    @staticmethod
    def backward(ctx, *grads):
        inputs = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in ctx.saved_tensors]
        with enable_grad():
            with _segment_seed(ctx):
                outputs = ctx.function(*inputs, **ctx.kwargs)
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            terms = [(out * g).sum() for out, g in zip(outputs, grads) if isinstance(out, Tensor) and out.requires_grad and g is not None]
            total = sum(terms[1:], terms[0]) if terms else None
        if total is not None:
            total.backward()  # the parameters inside get their .grad; the inputs' come back below
        return (None, None, None) + tuple(x.grad if isinstance(x, Tensor) and x.requires_grad else None for x in inputs)


class _segment_seed:
    """Reseed for the segment with its forked seed, then reseed with a fresh fork: what follows draws anew."""

    def __init__(self, ctx):
        self.ctx = ctx

    def __enter__(self):
        if self.ctx.seed is not None:
            self.ctx.session._reseed(self.ctx.seed)

    def __exit__(self, *exc):
        if self.ctx.seed is not None:
            self.ctx.session._reseed(self.ctx.session._fork_seed())
