"""``gradwire.nn.utils.init``: PyTorch's ``skip_init``."""

from __future__ import annotations

import inspect

from ..module import Module

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """A ``module_cls(*args, **kwargs)`` whose parameters and buffers are left uninitialized, as PyTorch's (which builds
    it on the meta device): here it is built and then emptied with ``to_empty`` (zeros), ready for the caller's own
    initialization or a ``load_state_dict``."""
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    device = kwargs.pop("device", "cpu")
    return module_cls(*args, **kwargs).to_empty(device=device)
