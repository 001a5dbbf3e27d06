"""``no_grad``: thread-local, for every session, as in PyTorch; inference mode and anomaly detection."""

from __future__ import annotations

import functools
import inspect
import threading
import warnings

class _Mode(threading.local):
    enabled = True  # each thread starts here; a class default, as a missing attribute costs ten times more to read
    inference = False  # inside inference_mode()


_mode = _Mode()


def is_grad_enabled() -> bool:
    """Whether ops issued on this thread now record a graph."""
    return _mode.enabled


class _GradMode:
    """A mode for this thread's ops: a context manager, and a decorator that enters a fresh copy around each call
    (around each step of a generator function too, as PyTorch's)."""

    def __init__(self, enabled: bool, inference: bool = False):
        self.enabled, self.inference = bool(enabled), bool(inference)
        self.previous = []

    def __enter__(self):
        self.previous.append((_mode.enabled, _mode.inference))
        _mode.enabled, _mode.inference = self.enabled, self.inference

    def __exit__(self, *exc):
        _mode.enabled, _mode.inference = self.previous.pop()

    def clone(self):
        return _GradMode(self.enabled, self.inference)

    def __call__(self, func):
        if inspect.isclass(func):
            raise RuntimeError("Cannot decorate classes; it is ambiguous whether or not only the constructor or all "
                               "methods should have the context manager applied; additionally, decorating a class at "
                               "definition-site will prevent use of the identifier as a conventional type.  To specify "
                               "which methods to decorate, decorate each of them individually.")
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def generator(*args, **kwargs):
                return (yield from _stepped_in(self.clone, func(*args, **kwargs)))

            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper


def _stepped_in(mode, steps):
    """Run the generator ``steps`` one step at a time inside a fresh ``mode()``, so its body sees the mode and the
    code between its steps does not; return what it returns."""
    try:
        with mode():
            value = next(steps)
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                with mode():
                    steps.close()
                raise
            except BaseException as error:
                with mode():
                    value = steps.throw(error)
            else:
                with mode():
                    value = steps.send(sent)
    except StopIteration as end:
        return end.value


class set_grad_enabled(_GradMode):
    """``torch.set_grad_enabled(mode)``: graph recording on or off on this thread, from the call on (as a function),
    or until the ``with`` block ends, or around each call of the function it decorates."""

    def __init__(self, mode: bool):
        self.prev = _mode.enabled
        super().__init__(mode, _mode.inference)
        _mode.enabled = self.enabled

    def __exit__(self, *exc):
        super().__exit__(*exc)
        _mode.enabled = self.prev

    def __call__(self, func):
        _mode.enabled = self.prev  # decorating changes nothing now, as PyTorch's
        return super().__call__(func)

    def clone(self):
        return _GradMode(self.enabled, _mode.inference)


class _BareDecorator:
    """Lets a mode that takes no argument decorate without parentheses too: ``@gw.no_grad`` as ``@gw.no_grad()``."""

    def __new__(cls, func=None):
        if func is None:
            return super().__new__(cls)
        return cls()(func)


class no_grad(_BareDecorator, _GradMode):
    """Ops inside record no graph: for evaluation and optimizer steps."""

    def __init__(self, func=None):
        super().__init__(False)


class enable_grad(_BareDecorator, _GradMode):
    def __init__(self, func=None):
        super().__init__(True)


class inference_mode(_GradMode):
    """``torch.inference_mode()``: here, as ``no_grad()`` (``inference_mode(False)``: as ``enable_grad()``), and
    ``@gw.inference_mode`` decorates as ``@gw.inference_mode()``."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)

    def __init__(self, mode=True):
        super().__init__(not mode, bool(mode))


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


def set_anomaly_enabled(mode, check_nan=True) -> None:
    """``torch.set_anomaly_enabled``: anomaly detection on or off for the process (``detect_anomaly`` without a block)."""
    _set_anomaly(mode, check_nan)


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
