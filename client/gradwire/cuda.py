"""``gw.cuda``: PyTorch's ``torch.cuda.is_available()`` and ``device_count()``, about the servers of the open
sessions (a gradwire client needs no GPU of its own): so that ``"cuda" if gw.cuda.is_available() else "cpu"`` reads
as in PyTorch code."""

from __future__ import annotations

from .amp import _device_namespace
from .errors import ResourceExhaustedError
from .session import open_sessions

OutOfMemoryError = ResourceExhaustedError  # torch.cuda.OutOfMemoryError: the server's RESOURCE_EXHAUSTED (its memory, a quota)

amp = _device_namespace("cuda")  # torch.cuda.amp.autocast / GradScaler: deprecated aliases of gw.amp's, as torch's


def is_available() -> bool:
    """Whether an open session's server computes on CUDA (False with no session open)."""
    return bool(_cuda_sessions())


def device_count() -> int:
    """1 where an open session's server has CUDA (a session uses one device), else 0."""
    return int(is_available())


def _cuda_sessions():
    return [s for s in open_sessions() if s.device == "cuda"]


def synchronize(device=None) -> None:
    """Wait until the server of every open CUDA session has run all the work sent to it, as
    ``torch.cuda.synchronize`` waits for the GPU (an error that work raised surfaces here)."""
    for session in _cuda_sessions():
        session.sync()


def manual_seed(seed) -> None:
    """Reseed the generator of every open CUDA session (``torch.cuda.manual_seed``: the GPU's generator only)."""
    for session in _cuda_sessions():
        session.manual_seed(seed)


manual_seed_all = manual_seed  # a session uses one device


def memory_allocated(device=None) -> int:
    """The bytes that the open CUDA sessions' live tensors hold on their servers (``stats()["bytes"]``): this
    client's share of the GPU's memory, where ``torch.cuda.memory_allocated`` counts the process's."""
    return sum(session.stats()["bytes"] for session in _cuda_sessions())


def empty_cache() -> None:
    """Accepted for ``torch.cuda.empty_cache()``; it does nothing: the server's memory pool is shared by its
    sessions and managed by the server."""
