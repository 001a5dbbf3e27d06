"""``gradwire.autograd.grad_mode``, as ``torch.autograd.grad_mode``: the context managers that switch graph recording,
the same objects as ``gw.no_grad`` and its kin."""

import functools
import threading

from ..grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled

__all__ = ["enable_grad", "inference_mode", "is_multithreading_enabled", "is_view_replay_enabled", "no_grad", "set_grad_enabled",
           "set_multithreading_enabled"]

_thread = threading.local()


def is_multithreading_enabled() -> bool:
    """``torch.autograd.is_multithreading_enabled``: this thread's setting (True unless switched off)."""
    return getattr(_thread, "multithreading", True)


def is_view_replay_enabled() -> bool:
    """``torch.autograd.is_view_replay_enabled``: False, PyTorch's default (views here are replayed from their records
    on the server in any case)."""
    return False


class set_multithreading_enabled:
    """``torch.autograd.set_multithreading_enabled(mode)``: kept per thread and read back, as a function, a context
    manager or a decorator; the server runs each backward pass on its own worker whatever it says."""

    def __init__(self, mode: bool) -> None:
        self.prev, self.mode = is_multithreading_enabled(), mode
        _thread.multithreading = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _thread.multithreading = self.prev

    def __call__(self, func):
        @functools.wraps(func)
        def decorated(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return decorated

    def clone(self) -> "set_multithreading_enabled":
        return type(self)(self.mode)
