"""``gw.random``: torch.random's functions, over the open sessions' default generators."""

from __future__ import annotations

import contextlib

from .factories import initial_seed, manual_seed, seed
from .generator import get_rng_state, set_rng_state
from .session import open_sessions

__all__ = ["fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed", "set_rng_state"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type="cuda"):
    """``torch.random.fork_rng``: on exit, every session open on entry has its default generator back in the state
    it had on entry, so random draws inside the block leave the stream after it unchanged. ``devices`` and
    ``device_type`` are accepted for torch's signature: a session's one generator serves its device."""
    if not enabled:
        yield
        return
    saved = [(session, session.get_rng_state()) for session in open_sessions()]
    try:
        yield
    finally:
        for session, state in saved:
            if not session.closed:
                session.set_rng_state(state)
