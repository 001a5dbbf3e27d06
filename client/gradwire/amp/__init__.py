"""``gw.amp``: automatic mixed precision, as ``torch.amp``: ``autocast`` (float16 matmuls and convolutions, float32
losses, as torch's op lists say) and ``GradScaler`` (loss scaling, its unscale and inf check on the server).

    scaler = gw.amp.GradScaler("cpu")            # "cuda" with a CUDA server
    with gw.amp.autocast("cpu"):
        loss = gw.nn.functional.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(opt)                              # skipped where a gradient held an inf or a NaN
    scaler.update()
"""

from __future__ import annotations

import sys
import types
import warnings

from .autocast_mode import autocast, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "is_autocast_available"]


def _device_namespace(device_type):
    """``gw.cuda.amp`` / ``gw.cpu.amp``: torch's deprecated per-device ``autocast`` and ``GradScaler``, which warn
    (FutureWarning, torch's words) and then are ``gw.amp``'s with ``device_type`` given."""
    from .autocast_mode import _FLOAT16

    module = types.ModuleType(f"gradwire.{device_type}.amp", f"``torch.{device_type}.amp``'s deprecated aliases.")

    class _autocast(autocast):
        __doc__ = f"Deprecated: ``gw.amp.autocast('{device_type}', ...)``, as ``torch.{device_type}.amp.autocast``."

        def __init__(self, enabled=True, dtype=_FLOAT16, cache_enabled=True):
            warnings.warn(
                f"`torch.{device_type}.amp.autocast(args...)` is deprecated. Please use `torch.amp.autocast('{device_type}', args...)` instead.",
                FutureWarning, stacklevel=2,
            )
            super().__init__(device_type, enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)

    class _GradScaler(GradScaler):
        __doc__ = f"Deprecated: ``gw.amp.GradScaler('{device_type}', ...)``, as ``torch.{device_type}.amp.GradScaler``."

        def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000, enabled=True):
            warnings.warn(
                f"`torch.{device_type}.amp.GradScaler(args...)` is deprecated. Please use `torch.amp.GradScaler('{device_type}', args...)` instead.",
                FutureWarning, stacklevel=2,
            )
            super().__init__(device_type, init_scale, growth_factor, backoff_factor, growth_interval, enabled)

    _autocast.__name__ = _autocast.__qualname__ = "autocast"
    _GradScaler.__name__ = _GradScaler.__qualname__ = "GradScaler"
    module.autocast, module.GradScaler = _autocast, _GradScaler
    sys.modules[module.__name__] = module  # from gradwire.cuda.amp import autocast
    return module
