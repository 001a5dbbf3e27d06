"""``gw.accelerator``: ``torch.accelerator``'s questions, answered for the GPU the open sessions' servers run on
(``gw.cuda``'s answers; gradwire's only accelerator is CUDA, on the server)."""

from __future__ import annotations

from . import cpu, cuda, errors
from .tensor import device

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "device_count", "empty_cache", "is_available",
           "memory_allocated", "synchronize"]

is_available = cuda.is_available
device_count = cuda.device_count
synchronize = cuda.synchronize
memory_allocated = cuda.memory_allocated
empty_cache = cuda.empty_cache


def current_accelerator(check_available: bool = False):
    """``device("cuda")`` where an open session's server runs on a GPU, else None (``check_available`` changes nothing
    here: the accelerator is there exactly when it is available)."""
    return device("cuda") if is_available() else None


def current_device_index() -> int:
    """0 where a session runs on a GPU (a session uses one device); PyTorch's error where none does."""
    if not is_available():
        raise errors.FailedPreconditionError("Cannot access accelerator device when none is available.")
    return 0


current_device_idx = current_device_index


def get_device_module(device_=None):
    """``torch.get_device_module``: ``gw.cuda`` for a CUDA device, ``gw.cpu`` for the CPU (a ``gw.device`` or its
    name); with none, the current accelerator's (``gw.cuda`` where an open session's server runs on a GPU), else
    ``gw.cpu``."""
    if device_ is None:
        return cuda if is_available() else cpu
    if not isinstance(device_, (str, device)):
        raise errors.InvalidArgumentError(f"Invalid value of device '{device_}', expect torch.device, str, or None")
    return cuda if device(device_).type == "cuda" else cpu
