"""Errors of the service layer (sessions, handles, quotas), beside the engine's own."""


class ServiceError(RuntimeError):
    """Base of the service's own errors."""


class UnknownHandle(ServiceError):
    """A handle this session never issued, or already released."""


class SessionNotFound(ServiceError):
    """No such session: never opened, closed, or expired (the message says which)."""


class Unauthenticated(ServiceError):
    """A missing or wrong token or API key."""


class QuotaExceeded(ServiceError):
    """A limit of the session or server; the message names the limit and the amount asked."""


class Unavailable(ServiceError):
    """The server is draining or shutting down."""


class InvalidRequest(ServiceError):
    """A malformed command: missing fields, bad dtype names, bytes that do not match their shape."""


class DependencyFailed(ServiceError):
    """A command whose input came from a command that failed."""

    def __init__(self, message, caused_by):
        super().__init__(message)
        self.caused_by = caused_by
