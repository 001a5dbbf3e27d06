"""The one map from errors to gRPC status codes."""

from __future__ import annotations

import grpc

from . import errors
from .engine import errors as engine_errors

# Most specific first: the first matching class decides the code.
_STATUS_OF = (
    (errors.UnknownHandle, grpc.StatusCode.NOT_FOUND),
    (errors.SessionNotFound, grpc.StatusCode.NOT_FOUND),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.QuotaExceeded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.DependencyFailed, grpc.StatusCode.FAILED_PRECONDITION),
    (engine_errors.NoDerivative, grpc.StatusCode.UNIMPLEMENTED),
    (engine_errors.NotForComplex, grpc.StatusCode.UNIMPLEMENTED),
    (engine_errors.KernelNotImplemented, grpc.StatusCode.UNIMPLEMENTED),
    (engine_errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),  # shapes, dtypes, devices too
    (engine_errors.GraphError, grpc.StatusCode.FAILED_PRECONDITION),
    (MemoryError, grpc.StatusCode.RESOURCE_EXHAUSTED),
)


def status_of(error: BaseException) -> grpc.StatusCode:
    """The status code for an error; anything unexpected is INTERNAL."""
    for cls, code in _STATUS_OF:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.INTERNAL


def describe(error: BaseException) -> str:
    if status_of(error) is grpc.StatusCode.INTERNAL and not isinstance(error, errors.ServiceError):
        return f"internal error: {type(error).__name__}: {error}"
    return str(error)
