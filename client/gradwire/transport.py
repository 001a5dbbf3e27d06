"""The SDK's channel: plain or TLS, and waiting for it with a typed error that says why it failed.

A plain client that reaches a TLS server (or a TLS client a plain one, or a
mutual-TLS server without a client certificate) gets its connection closed at
once, over and over; waiting the whole ``timeout`` for it would look like a hang.
So while the channel is not ready, a fail-fast health probe asks gRPC why the last
attempt failed: a refused connection (no server yet) keeps us waiting up to the
timeout, a connection closed during setup or a failed TLS handshake is raised at once.
"""

from __future__ import annotations

import time

import grpc

from . import errors

_HEALTH_CHECK = "/grpc.health.v1.Health/Check"  # open without an API key; b"" is an empty HealthCheckRequest
_POLL_S = 0.25
_CLOSED_DURING_SETUP = ("socket closed", "connection reset", "end of tcp stream", "connection closed")
_HANDSHAKE = ("handshake", "ssl_error", "tsi_", "certificate")  # not "tls": a host name may hold it


def _read(path, what: str) -> bytes:
    with open(path, "rb") as f:  # a missing file is the caller's: FileNotFoundError, as open() raises
        data = f.read()
    if not data.strip():
        raise errors.InvalidArgumentError(f"{what} {path} is empty")
    return data


def open_channel(target: str, options, *, tls=False, tls_ca=None, tls_cert=None, tls_key=None) -> grpc.Channel:
    """A channel to ``target``: TLS when ``tls`` or any ``tls_*`` path is given, else plain text.

    ``tls_ca`` verifies the server (PEM; default: the system's roots); ``tls_cert`` and
    ``tls_key`` (PEM) are this client's certificate and key, for a server that requires them.
    """
    if bool(tls_cert) != bool(tls_key):
        raise errors.InvalidArgumentError("a client certificate needs both tls_cert= and tls_key=")
    if not (tls or tls_ca or tls_cert):
        return grpc.insecure_channel(target, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(tls_ca, "tls_ca") if tls_ca else None,
        private_key=_read(tls_key, "tls_key") if tls_key else None,
        certificate_chain=_read(tls_cert, "tls_cert") if tls_cert else None,
    )
    return grpc.secure_channel(target, credentials, options=options)


def wait_ready(channel: grpc.Channel, target: str, timeout: float):
    """Return once ``channel`` is connected; raise ``UnavailableError`` saying why it is not.

    At once for a connection the server closed during setup or a failed TLS handshake;
    after ``timeout`` seconds for a server that does not answer.
    """
    deadline = time.monotonic() + timeout
    ready = grpc.channel_ready_future(channel)
    probe = channel.unary_unary(_HEALTH_CHECK)  # no serializers: raw bytes both ways
    try:
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready.result(timeout=max(0.0, min(remaining, _POLL_S)))
                return
            except grpc.FutureTimeoutError:
                pass
            why = _last_failure(probe, deadline - time.monotonic())
            if why is None:
                return  # the probe got through: connected after all
            lowered = why.lower()
            if any(s in lowered for s in _CLOSED_DURING_SETUP):
                raise errors.UnavailableError(
                    f"{target} closed the connection while it was being set up ({why}). A TLS server closes "
                    f"plain connections: connect with tls=True (and tls_ca=); a mutual-TLS server closes those "
                    f"without a client certificate: pass tls_cert= and tls_key="
                )
            if any(s in lowered for s in _HANDSHAKE):
                raise errors.UnavailableError(
                    f"the TLS handshake with {target} failed ({why}); check tls_ca= (the CA that signed the "
                    f"server's certificate) and that the server serves TLS"
                )
            if time.monotonic() >= deadline:
                last = f" (last error: {why})" if why else ""
                raise errors.UnavailableError(f"no gradwire server answered at {target} within {timeout} s{last}")
    finally:
        ready.cancel()


def _last_failure(probe, remaining: float) -> str | None:
    """Why the channel's last connection attempt failed ("" while still connecting); None if connected."""
    try:
        probe(b"", timeout=min(max(remaining, 0.05), 1.0))
    except grpc.RpcError as error:
        code = error.code() if hasattr(error, "code") else None
        if code is grpc.StatusCode.UNAVAILABLE:
            return error.details() or ""
        if code is grpc.StatusCode.DEADLINE_EXCEEDED:
            return ""
    return None
