"""``no_grad``: thread-local, for every session, as in PyTorch."""

from __future__ import annotations

import functools
import threading

class _Mode(threading.local):
    enabled = True  # each thread starts here; a class default, as a missing attribute costs ten times more to read


_mode = _Mode()


def is_grad_enabled() -> bool:
    """Whether ops issued on this thread now record a graph."""
    return _mode.enabled


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off on this thread."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self.previous = []

    def __enter__(self):
        self.previous.append(is_grad_enabled())
        _mode.enabled = self.mode

    def __exit__(self, *exc):
        _mode.enabled = self.previous.pop()

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):  # not self.__class__: no_grad() takes no mode
                return func(*args, **kwargs)

        return wrapper


class no_grad(set_grad_enabled):
    """Ops inside record no graph: for evaluation and optimizer steps."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    def __init__(self):
        super().__init__(True)


class inference_mode(set_grad_enabled):
    """``torch.inference_mode()``: here, as ``no_grad()`` (``inference_mode(False)``: as ``enable_grad()``)."""

    def __init__(self, mode=True):
        super().__init__(not mode)
