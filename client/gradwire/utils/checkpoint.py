"""``gradwire.utils.checkpoint``: trade compute for the server's memory, as ``torch.utils.checkpoint``."""

from __future__ import annotations

import contextlib
import warnings

from ..autograd.function import Function
from ..grad_mode import enable_grad
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "noop_context_fn"]

_DETERMINISM_CHECKS = ("default", "none")


def noop_context_fn():
    """The default ``context_fn``: no context for the forward, none for the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn, determinism_check="default", debug=False,
               early_stop=True, **kwargs):
    """``function(*args, **kwargs)``, checkpointed as ``torch.utils.checkpoint.checkpoint``.

    ``use_reentrant=True`` (PyTorch's default when it is not passed, with its warning): the forward runs under no_grad,
    keeping only the segment's inputs; the backward pass runs the function again, with grad, on the same inputs and
    differentiates that (one pass of its own, in the middle of the outer one), as PyTorch's reentrant variant. As
    there, parameters inside get gradients only where an input requires grad, keyword arguments are refused, and
    ``autograd.grad`` (or ``backward(inputs=...)``) through it raises. With ``preserve_rng_state`` (the default) the
    random ops inside (dropout) draw the same samples both times: the session's generator is reseeded for the segment
    from a seed forked off the last manual seed.

    ``use_reentrant=False``: the function runs as it is, in the caller's grad mode, its graph recorded as usual. That is
    the observable behaviour of PyTorch's non-reentrant variant (gradients for the parameters even where no input
    requires grad, ``autograd.grad``, double backward, hooks inside, keyword arguments) without its memory saving: the
    server keeps the segment's insides until the pass, as it would without the checkpoint. Nothing is recomputed, so
    the random ops draw once and ``preserve_rng_state`` has nothing to preserve. ``context_fn``'s first context
    manager is entered around the forward.
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in PyTorch 2.9, calling "
            "checkpoint without use_reentrant will raise an exception. use_reentrant=False is recommended, but if you need to "
            "preserve the current default behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
            "differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return _Checkpoint.apply(function, preserve, *args)
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, but got {determinism_check}")
    forward_context, _ = context_fn()
    with forward_context:
        return function(*args, **kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """``torch.utils.checkpoint.checkpoint_sequential``: ``functions`` (an ``nn.Sequential`` or a list of modules or
    functions) run in order on ``input``, in ``segments`` chunks, each but the last checkpointed (``checkpoint``)."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed explicitly. In version "
            "2.9 we will raise an exception if use_reentrant is not passed. use_reentrant=False is recommended, but if you need "
            "to preserve the current default behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
            "differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start, end, functions):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input

        return forward

    from ..nn import Sequential  # (here: nn imports the tensor layer this module sits beside)

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1  # the last chunk is not checkpointed
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)


class _Checkpoint(Function):
    """The reentrant variant: forward under no_grad (as every custom Function's), backward recomputes."""

    @staticmethod
    def forward(ctx, function, preserve_rng_state, *args):
        if not any(a.requires_grad for a in args if isinstance(a, Tensor)):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=4)
        ctx.function = function
        ctx.session = next((a._session for a in args if isinstance(a, Tensor)), None)
        ctx.seed = ctx.session._fork_seed() if preserve_rng_state and ctx.session is not None else None
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        ctx.args = tuple(_SAVED if isinstance(a, Tensor) else a for a in args)  # the others, kept as they are
        with _segment_seed(ctx):
            return function(*args)

    @staticmethod
    def backward(ctx, *grads):
        passes = ctx.session._passes_checkpoint_ok
        if passes and not passes[-1]:
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or passing an `inputs` parameter to "
                ".backward(). To resolve this error, you can either set use_reentrant=False, or call .backward() without passing "
                "the `inputs` argument.")
        saved = iter(ctx.saved_tensors)
        inputs = [a if a is not _SAVED else _fresh(next(saved)) for a in ctx.args]
        with enable_grad():
            with _segment_seed(ctx):
                outputs = ctx.function(*inputs)
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            pairs = [(out, g) for out, g in zip(outputs, grads) if isinstance(out, Tensor) and out.requires_grad]
            if not pairs:
                raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
            terms = [(out * g).sum() for out, g in pairs if g is not None]
        if terms:
            sum(terms[1:], terms[0]).backward()  # the parameters inside get their .grad; the inputs' come back below
        return (None, None) + tuple(x.grad if isinstance(x, Tensor) and x.requires_grad else None for x in inputs)


_SAVED = object()  # an argument's place in ctx.args where it is among the saved tensors


def _fresh(x):
    """A saved input as the recomputation's input: cut from the graph, requiring grad as it did."""
    return x.detach().requires_grad_(x.requires_grad)


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
