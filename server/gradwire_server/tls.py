"""Transport security: the server's TLS credentials from ``--tls-cert``, ``--tls-key`` and ``--tls-client-ca``."""

from __future__ import annotations

import ipaddress

import grpc


class TlsConfigError(ValueError):
    """TLS flags that do not go together, or files that cannot be read."""


def _read(path: str, flag: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as error:
        raise TlsConfigError(f"{flag} {path}: {error.strerror or error}") from None


def server_credentials(config) -> grpc.ServerCredentials | None:
    """TLS credentials when ``tls_cert`` and ``tls_key`` are set (mutual TLS with ``tls_client_ca``); None for plain text."""
    if not (config.tls_cert or config.tls_key or config.tls_client_ca):
        return None
    if not (config.tls_cert and config.tls_key):
        raise TlsConfigError("TLS needs both --tls-cert and --tls-key" + (" (--tls-client-ca alone does not enable it)" if config.tls_client_ca else ""))
    pair = (_read(config.tls_key, "--tls-key"), _read(config.tls_cert, "--tls-cert"))
    client_ca = _read(config.tls_client_ca, "--tls-client-ca") if config.tls_client_ca else None
    return grpc.ssl_server_credentials([pair], root_certificates=client_ca, require_client_auth=client_ca is not None)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server to this machine."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: assume it reaches beyond this machine


def exposure_warnings(address: str, host: str, keys: bool, tls: bool) -> list[str]:
    """What a server bound to ``host`` beyond loopback should warn of: no API keys, no TLS."""
    if is_loopback(host):
        return []
    warnings = []
    if not keys:
        warnings.append(f"no API keys configured: anyone who reaches {address} can use this server (set --api-keys-file or GRADWIRE_API_KEYS)")
    if not tls:
        warnings.append(f"no TLS: tensors{' and API keys' if keys else ''} travel in clear text beyond this machine (set --tls-cert and --tls-key)")
    return warnings
