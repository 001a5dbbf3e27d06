"""``Parameter``: a Tensor that a ``Module`` registers as one of its weights; ``Buffer``: one it registers as a buffer."""

from __future__ import annotations

from .. import errors
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad (unless told otherwise) and that modules register, as ``torch.nn.Parameter``.

    ``Parameter(t)`` shares ``t``'s values on the server (no copy) and is a new leaf.
    """

    __slots__ = ()

    def __init__(self, data: Tensor, requires_grad: bool = True):
        if not isinstance(data, Tensor):
            raise errors.InvalidArgumentError(f"Parameter(): expected a gradwire Tensor, got {type(data).__name__}")
        session = data._session
        handle = session._handle()
        Tensor.__init__(self, session, handle, data._shape, data._dtype, False, True, None)
        with session._lock:  # a detached alias: the same array on the server, a fresh leaf
            command = session._command("Parameter")
            command.alias.source = data._handle
            command.alias.result = handle
            command.alias.shares_version = True
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A Tensor that a ``Module`` registers as a buffer when assigned as its attribute, as ``torch.nn.Buffer``
    (``module.stats = Buffer(t)`` is ``module.register_buffer("stats", t, persistent)``).

    ``Buffer(t)`` shares ``t``'s values on the server (no copy), detached, keeping ``t.requires_grad``;
    ``persistent=False`` keeps it out of ``state_dict``.
    """

    __slots__ = ("persistent",)

    def __init__(self, data: Tensor, *, persistent: bool = True):
        if not isinstance(data, Tensor):
            raise errors.InvalidArgumentError(f"Buffer(): expected a gradwire Tensor, got {type(data).__name__}")
        session = data._session
        handle = session._handle()
        Tensor.__init__(self, session, handle, data._shape, data._dtype, False, True, None)
        with session._lock:  # a detached alias, as Parameter's
            command = session._command("Buffer")
            command.alias.source = data._handle
            command.alias.result = handle
            command.alias.shares_version = True
        self.persistent = persistent
        if data.requires_grad:
            self.requires_grad_(True)
