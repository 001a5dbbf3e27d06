"""``gw.cpu``: ``torch.cpu.amp``'s deprecated ``autocast`` and ``GradScaler`` aliases (``gw.amp``'s with device "cpu")."""

from __future__ import annotations

from .amp import _device_namespace

amp = _device_namespace("cpu")
