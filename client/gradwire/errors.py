"""The SDK's exceptions, and the one map from gRPC status codes to them.

Every error the SDK raises is a ``GradwireError``, a ``RuntimeError`` as in
PyTorch, so ``except RuntimeError`` keeps working. No raw ``grpc.RpcError``
reaches a user.
"""

from __future__ import annotations

import re

import grpc

_TOO_LARGE = re.compile(r"message larger than max \((\d+) vs\. (\d+)\)")


class GradwireError(RuntimeError):
    """Base of every gradwire error. ``code`` is the gRPC status name."""

    code = "UNKNOWN"

    def __init__(self, message: str, *, op: str | None = None, site: str | None = None, command: int | None = None):
        super().__init__(message)
        self.op = op  # for a deferred op error: the op that failed
        self.site = site  # "file.py:12": the user code that issued it
        self.command = command


class InvalidArgumentError(GradwireError):
    """Bad input: shapes that do not fit, an unsupported dtype, a bad parameter."""

    code = "INVALID_ARGUMENT"


class InvalidIndexError(InvalidArgumentError, IndexError):
    """An index or a dim outside the tensor: an ``IndexError`` too, as PyTorch raises one."""


class InvalidValueError(InvalidArgumentError, ValueError):
    """A bad argument that PyTorch refuses with a ``ValueError`` (a reduction's name, a batch norm's batch of one):
    a ``ValueError`` too, checked on the client."""


class LinAlgError(InvalidArgumentError):
    """A matrix that a decomposition or inverse cannot take (singular, not positive-definite), as
    ``torch.linalg.LinAlgError`` (a ``RuntimeError``); also ``gradwire.linalg.LinAlgError``."""


class NotFoundError(GradwireError):
    """An unknown handle, or a session that is unknown, closed or expired (the message says which)."""

    code = "NOT_FOUND"


class FailedPreconditionError(GradwireError):
    """The graph cannot do it: freed after backward, modified in place, or an input that failed."""

    code = "FAILED_PRECONDITION"


class ResourceExhaustedError(GradwireError):
    """A quota of the session or server."""

    code = "RESOURCE_EXHAUSTED"


class UnauthenticatedError(GradwireError):
    """A missing or invalid API key."""

    code = "UNAUTHENTICATED"


class PermissionDeniedError(GradwireError):
    code = "PERMISSION_DENIED"


class UnimplementedError(GradwireError, NotImplementedError):
    """An op without a derivative for one of its inputs."""

    code = "UNIMPLEMENTED"


class UnavailableError(GradwireError):
    """The server cannot be reached, or is shutting down."""

    code = "UNAVAILABLE"


class DeadlineExceededError(GradwireError):
    code = "DEADLINE_EXCEEDED"


class CancelledError(GradwireError):
    code = "CANCELLED"


class InternalError(GradwireError):
    code = "INTERNAL"


class SessionLostError(UnavailableError, NotFoundError):
    """The session is gone with the server that held it: its tensors and graph are lost.

    Its stream broke and no server answers for it, or the server now answering for
    its id (another replica behind a load balancer, or a restarted server) does not
    know it. Retrying cannot bring it back: open a new session. Both an
    ``UnavailableError`` and a ``NotFoundError``, for code written before it existed.
    """

    code = "UNAVAILABLE"


_BY_CODE = {cls.code: cls for cls in GradwireError.__subclasses__()}
_BY_CODE.update({"UNKNOWN": InternalError, "DATA_LOSS": InternalError, "ABORTED": UnavailableError, "OUT_OF_RANGE": InvalidArgumentError, "ALREADY_EXISTS": InvalidArgumentError})


# server exception classes (``Error.type``) that have a class of their own here, more precise than the code's
_BY_TYPE = {"IndexOutOfRange": InvalidIndexError, "LinAlgError": LinAlgError}


def error_for(code: str, message: str, type_name: str = "", **context) -> GradwireError:
    """The exception for a status code name, and the server's class name where that says more."""
    cls = _BY_TYPE.get(type_name)
    if cls is None or cls.code != code:
        cls = _BY_CODE.get(code, InternalError)
    return cls(message, **context)


def is_unknown_session(code: str, details: str, session_id: str) -> bool:
    """The server's answer for a session id it never saw (not one it closed or expired: those say so)."""
    return code == "NOT_FOUND" and details == f"unknown session {session_id}"


def from_rpc_error(error: grpc.RpcError, context: str | None = None) -> GradwireError:
    """The exception for a failed call; ``context`` (what ended) goes before the server's details."""
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    name = code.name if code is not None else "UNKNOWN"
    message = details or name
    too_large = _TOO_LARGE.search(message) if name == "RESOURCE_EXHAUSTED" else None
    if too_large:  # grpc's own words name no setting: say which limit it was
        message = f"max_message_bytes limit: a message of {too_large[1]} bytes exceeds {too_large[2]} ({message})"
    return error_for(name, f"{context}: {message} ({name})" if context else message)
