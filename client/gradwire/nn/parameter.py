"""``Parameter``: a Tensor that a ``Module`` registers as one of its weights; ``Buffer``: one it registers as a buffer;
``UninitializedParameter`` / ``UninitializedBuffer``: a lazy module's placeholders, shapes unknown until its first forward."""

from __future__ import annotations

import sys

from .. import defaults, errors
from ..session import resolve_session
from ..tensor import Tensor, as_dtype


def _adopt(tensor, data, label):
    """Make ``tensor`` a detached alias of ``data``: the same array on the server (no copy), a fresh leaf."""
    session = data._session
    handle = session._handle()
    Tensor.__init__(tensor, session, handle, data._shape, data._dtype, False, True, None)
    with session._lock:
        command = session._command(label)
        command.alias.source = data._handle
        command.alias.result = handle
        command.alias.shares_version = True


class Parameter(Tensor):
    """A leaf Tensor that requires grad (unless told otherwise) and that modules register, as ``torch.nn.Parameter``.

    ``Parameter(t)`` shares ``t``'s values on the server (no copy) and is a new leaf.
    """

    __slots__ = ()

    def __init__(self, data: Tensor, requires_grad: bool = True):
        if not isinstance(data, Tensor):
            raise errors.InvalidArgumentError(f"Parameter(): expected a gradwire Tensor, got {type(data).__name__}")
        _adopt(self, data, "Parameter")
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def _copied(self, values):
        return Parameter(values, self.requires_grad)


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
        _adopt(self, data, "Buffer")
        self.persistent = persistent
        if data.requires_grad:
            self.requires_grad_(True)

    def _copied(self, values):
        return Buffer(values.requires_grad_(self.requires_grad), persistent=self.persistent)


_HANDLE = Tensor.__dict__["_handle"]  # the slot: an uninitialized tensor's property below stands in front of it


def _caller():
    """The op (or tensor method) that reached for an uninitialized tensor's array, for the message."""
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code.co_name
        if code in ("_op", "_op_into") and isinstance(frame.f_locals.get("name"), str):
            return frame.f_locals["name"]
        if not code.startswith("_") and code not in ("method", "function", "wrapper"):
            return code
        frame = frame.f_back
    return "an op"


class UninitializedTensorMixin:
    """What ``UninitializedParameter`` and ``UninitializedBuffer`` share: no shape, no array, ``materialize``."""

    __slots__ = ()
    _uninitialized = True
    cls_to_become: type = Tensor

    def _placeholder(self, session, dtype, requires_grad):
        Tensor.__init__(self, resolve_session(session), 0, None, as_dtype(dtype or defaults.current), bool(requires_grad), True, None)

    def _no_array(self):
        raise ValueError(f"Attempted to use an uninitialized parameter in {_caller()}. This error happens when you are using a `LazyModule` or "
                         "explicitly manipulating `torch.nn.parameter.UninitializedParameter` objects. When using LazyModules Call `forward` "
                         "with a dummy batch to initialize the parameters before calling torch functions")

    _handle = property(_no_array, lambda self, value: _HANDLE.__set__(self, value))

    @property
    def shape(self):
        raise errors.FailedPreconditionError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually happens in `load_state_dict` when trying to "
            "load an uninitialized parameter into an initialized one. Call `forward` to initialize the parameters before accessing their attributes.")

    def requires_grad_(self, requires_grad=True):
        self._requires_grad = bool(requires_grad)
        return self

    def detach(self):  # state_dict() holds the placeholder itself, as PyTorch's
        return self

    def to(self, *args, dtype=None, device=None):
        """The placeholder itself, to be materialized in ``dtype`` (a device is checked and left alone)."""
        from ..tensor import _to_dtype  # noqa: PLC0415

        dtype = _to_dtype(args, dtype, device)
        if dtype is not None:
            self._dtype = as_dtype(dtype)
        return self

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def materialize(self, shape, device=None, dtype=None):
        """Give this placeholder its ``shape`` (and ``dtype``): an array on the server (values unset: the layer
        initialises them), the object itself turned into ``cls_to_become`` (a Parameter, or a Tensor)."""
        shape = (int(shape),) if isinstance(shape, int) else tuple(int(n) for n in shape)
        session, requires_grad = self._session, self._requires_grad
        data = session.empty(shape, dtype=as_dtype(dtype) if dtype is not None else self._dtype)
        self.__class__ = self.cls_to_become
        _adopt(self, data, "materialize")
        if requires_grad:
            self.requires_grad_(True)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (a lazy module's, before its first forward), as
    ``torch.nn.parameter.UninitializedParameter``; ``materialize(shape)`` makes it a ``Parameter``."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None, *, session=None):
        self._placeholder(session, dtype, requires_grad)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet, as ``torch.nn.parameter.UninitializedBuffer``; ``materialize(shape)``
    makes it a Tensor."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True, *, session=None):
        self._placeholder(session, dtype, requires_grad)
