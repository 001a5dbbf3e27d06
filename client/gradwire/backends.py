"""The process-wide switches that PyTorch training scripts set at the top: ``gw.backends.cudnn.benchmark``,
``gw.backends.cuda.matmul.allow_tf32``, ``gw.set_float32_matmul_precision``, ``gw.use_deterministic_algorithms``,
``gw.set_num_threads``, ``gw.set_default_device`` and ``gw.compile``.

They are accepted, kept and read back as in PyTorch so that such a script runs unchanged, but they change nothing:
the server chooses its kernels (NumPy's or CuPy's; no cuDNN autotuning, no TF32) and runs each op eagerly as it
arrives, and its kernels give the same result for the same input on every run.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from . import errors

_MATMUL_PRECISIONS = ("highest", "high", "medium")
_COMPILE_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")

cudnn = SimpleNamespace(enabled=True, benchmark=False, deterministic=False, allow_tf32=True,
                        is_available=lambda: False, version=lambda: None)
cuda = SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                                              allow_bf16_reduced_precision_reduction=True))
mps = SimpleNamespace(is_available=lambda: False, is_built=lambda: False)

_state = {"matmul_precision": "highest", "deterministic": False, "warn_only": False, "warn_always": False,
          "threads": os.cpu_count() or 1, "interop_threads": os.cpu_count() or 1}


def set_float32_matmul_precision(precision: str) -> None:
    """``torch.set_float32_matmul_precision``: kept and read back; the server's float32 matmuls are always full
    precision. An unknown name warns and is ignored, as in PyTorch."""
    if precision not in _MATMUL_PRECISIONS:
        import warnings

        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["matmul_precision"]


def set_num_threads(n: int) -> None:
    """``torch.set_num_threads``: kept and read back; the server's threads are its operator's to set."""
    _set_count("threads", n, "set_num_threads")


def get_num_threads() -> int:
    return _state["threads"]


def set_num_interop_threads(n: int) -> None:
    """``torch.set_num_interop_threads``: kept and read back, as ``set_num_threads``."""
    _set_count("interop_threads", n, "set_num_interop_threads")


def _set_count(key: str, n, name: str) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise RuntimeError(f"{name} expects a positive integer")
    _state[key] = n


def get_num_interop_threads() -> int:
    return _state["interop_threads"]


def set_default_device(device) -> None:
    """``torch.set_default_device``: checked, kept and read back; a tensor is made on its session's device."""
    from .tensor import device as _device

    _state["device"] = None if device is None else _device(device)


def get_default_device():
    """``torch.get_default_device``: the device ``set_default_device`` kept, ``device(type='cpu')`` before (as torch's)."""
    from .tensor import device as _device

    return _state.get("device") or _device("cpu")


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """``torch.use_deterministic_algorithms``: kept and read back; every server kernel is deterministic already."""
    for argument, value in (("'mode' (position 1)", mode), ("'warn_only'", warn_only)):
        if not isinstance(value, bool):
            raise TypeError(f"_set_deterministic_algorithms(): argument {argument} must be bool, "
                            f"not {type(value).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, warn_only


def set_warn_always(b: bool) -> None:
    """``torch.set_warn_always``: True makes the warnings PyTorch gives once a process (``gw.chain_matmul``'s
    deprecation, ...) warn at every call."""
    if not isinstance(b, bool):
        raise errors.InvalidArgumentError(f"setWarnOnlyOnce expects a bool, but got {type(b).__name__}")
    _state["warn_always"] = b


def is_warn_always_enabled() -> bool:
    return _state["warn_always"]


def set_flush_denormal(mode: bool) -> bool:
    """``torch.set_flush_denormal``: False, the mode not set (the server's kernels keep denormal numbers), as PyTorch
    answers where the machine cannot flush them."""
    return False


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode) -> None:
    """``torch.set_deterministic_debug_mode``: "default"/0, "warn"/1 or "error"/2, as ``use_deterministic_algorithms``
    off, on with ``warn_only``, on."""
    if not isinstance(debug_mode, (int, str)):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """``torch.get_deterministic_debug_mode``: 0, 1 or 2, as ``set_deterministic_debug_mode`` takes them."""
    return (1 if _state["warn_only"] else 2) if _state["deterministic"] else 0


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None, name=None,
            disable=False, **kwargs):
    """``torch.compile``: returns ``model`` itself (the server runs each op as it arrives; there is nothing to
    compile on the client). Usable as ``gw.compile(model)``, ``@gw.compile`` and ``@gw.compile(mode=...)``, with
    torch's checks of its arguments."""
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if mode is not None and mode not in _COMPILE_MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_COMPILE_MODES)}")
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                  options=options, name=name, disable=disable, **kwargs)
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    return model
