"""``gw.Generator``: a random generator of its own, as ``torch.Generator``; ``get_rng_state``/``set_rng_state``.

Its state lives on the server, in the session (a handle, as an optimizer's): the factories and samplers that take
``generator=`` draw from it there, so a run seeded with ``manual_seed`` repeats, apart from the session's default
generator's stream. Collected, it is freed on the server with the next batch.
"""

from __future__ import annotations

import secrets

from .session import checked_seed, resolve_session
from .tensor import device as _device

__all__ = ["Generator", "get_rng_state", "set_rng_state"]

_DEFAULT_SEED = 67280421310721  # PyTorch's default seed of a new Generator


class Generator:
    """``torch.Generator(device='cpu')``: ``manual_seed(n)`` (returns self), ``seed()``, ``initial_seed()``,
    ``get_state()``/``set_state()``; in ``session=``, or the only open session."""

    def __init__(self, device="cpu", *, session=None):
        self._handle = 0
        self.device = _device(device)
        self._session = resolve_session(session)
        self._initial = _DEFAULT_SEED
        self._handle = self._session._generator_create(self._initial)

    def manual_seed(self, seed) -> "Generator":
        """Reseed it: the draws that follow repeat those after any other ``manual_seed(seed)``."""
        self._initial = checked_seed(seed)
        self._session._reseed(self._initial, self._handle)
        return self

    def seed(self) -> int:
        """Reseed it from a non-deterministic random number, and return that number."""
        seed = secrets.randbits(63)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        """The seed it was last seeded with (PyTorch's default, 67280421310721, for a new one)."""
        return self._initial

    def get_state(self):
        """Its state, a uint8 tensor (opaque bytes), for ``set_state``."""
        return self._session.get_rng_state(self._handle)

    def set_state(self, new_state) -> "Generator":
        """Restore a state ``get_state`` gave."""
        self._session.set_rng_state(new_state, self._handle)
        return self

    def __deepcopy__(self, memo):
        """A new generator in the same session, in this one's state, as ``copy.deepcopy`` of PyTorch's."""
        copied = Generator(self.device, session=self._session)
        copied._initial = self._initial
        return copied.set_state(self.get_state())

    def __repr__(self):
        return f"<gradwire.Generator object at {id(self):#x}>"

    def __del__(self):
        try:
            if self._handle:
                self._session._release(self._handle)  # the server frees its state with the next batch
        except Exception:
            pass


def get_rng_state(*, session=None):
    """``torch.get_rng_state()``: the state of the session's default generator, a uint8 tensor."""
    return resolve_session(session).get_rng_state()


def set_rng_state(new_state, *, session=None):
    """``torch.set_rng_state(new_state)``: restore the session's default generator's state."""
    resolve_session(session or getattr(new_state, "_session", None)).set_rng_state(new_state)
