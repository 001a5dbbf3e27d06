"""``gw.cuda``: PyTorch's ``torch.cuda.is_available()`` and ``device_count()``, about the servers of the open
sessions (a gradwire client needs no GPU of its own): so that ``"cuda" if gw.cuda.is_available() else "cpu"`` reads
as in PyTorch code."""

from __future__ import annotations

from .amp import _device_namespace
from .session import _open_sessions

amp = _device_namespace("cuda")  # torch.cuda.amp.autocast / GradScaler: deprecated aliases of gw.amp's, as torch's


def is_available() -> bool:
    """Whether an open session's server computes on CUDA (False with no session open)."""
    return any(not s.closed and s.device == "cuda" for s in list(_open_sessions))


def device_count() -> int:
    """1 where an open session's server has CUDA (a session uses one device), else 0."""
    return int(is_available())
