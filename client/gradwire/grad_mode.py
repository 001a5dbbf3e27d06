"""``no_grad``: thread-local, for every session, as in PyTorch; inference mode and anomaly detection."""

from __future__ import annotations

import functools
import threading
import warnings

class _Mode(threading.local):
    enabled = True  # each thread starts here; a class default, as a missing attribute costs ten times more to read
    inference = False  # inside inference_mode()


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
        self.inference = bool(mode)
        self.previous_inference = []

    def __enter__(self):
        super().__enter__()
        self.previous_inference.append(_mode.inference)
        _mode.inference = self.inference

    def __exit__(self, *exc):
        _mode.inference = self.previous_inference.pop()
        super().__exit__(*exc)

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with inference_mode(self.inference):
                return func(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled() -> bool:
    """``torch.is_inference_mode_enabled()``: whether this thread is inside ``inference_mode()``."""
    return _mode.inference


# --- anomaly detection: one switch for the process, as PyTorch's ------------------------------------


class _Anomaly:
    enabled = False  # read by every op the SDK issues: a plain attribute, no thread-local
    check_nan = True


_anomaly = _Anomaly()


def is_anomaly_enabled() -> bool:
    """``torch.is_anomaly_enabled()``: whether anomaly detection is on."""
    return _anomaly.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """``torch.is_anomaly_check_nan_enabled()``: whether anomaly detection checks backward for NaNs."""
    return _anomaly.check_nan


def _set_anomaly(enabled, check_nan):
    _anomaly.enabled, _anomaly.check_nan = bool(enabled), bool(check_nan)


class detect_anomaly:
    """``torch.autograd.detect_anomaly(check_nan=True)``: a context manager (and decorator) for debugging autograd.

    While it is on, each op remembers the line of user code that issued it, and (with ``check_nan``) a backward
    pass whose node makes a NaN gradient fails with PyTorch's error, ``Function 'MulBackward0' returned nan values
    in its 0th output.``, followed by that forward op's line. The check runs on the server, node by node, in the
    passes issued while it is on; off, it costs nothing.
    """

    def __init__(self, check_nan=True):
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be enabled for debugging.",
                      stacklevel=2)

    def __enter__(self):
        _set_anomaly(True, self.check_nan)

    def __exit__(self, *args):
        _set_anomaly(self.prev, self.prev_check_nan)

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__(self.check_nan):
                return func(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """``torch.autograd.set_detect_anomaly(mode, check_nan=True)``: anomaly detection on or off, from the call on
    (as a function), or until the ``with`` block ends (as a context manager)."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        _set_anomaly(mode, check_nan)

    def __enter__(self):
        pass

    def __exit__(self, *args):
        _set_anomaly(self.prev, self.prev_check_nan)
