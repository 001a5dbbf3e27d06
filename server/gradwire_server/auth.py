"""API keys: where they come from, how they are kept, and the interceptor that checks them.

Keys come from a file (``--api-keys-file``: one key a line, ``#`` comments, or
``sha256:<hex>`` for a key kept hashed at rest) and from ``GRADWIRE_API_KEYS``
(comma-separated). Only their SHA-256 digests are kept in memory; a presented key
is hashed and compared with every digest in constant time. The file is read
again on ``reload()`` (SIGHUP), without a restart.

A key's identity, its *owner id*, is the hex digest of its SHA-256: sessions
belong to the owner id of the key that opened them, so a session opened with one
key cannot be used with another, and revoking a key ends its sessions.

With no file and no keys configured, the server is open (the embedded default).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading

import grpc

from gradwire.wire import API_KEY_HEADER

from .errors import Unauthenticated
from .status import describe, status_of

log = logging.getLogger("gradwire.server")

GRADWIRE_SERVICE = "gradwire.v1.Gradwire"
HASH_PREFIX = "sha256:"
# services that answer without a key: load-balancer probes and tooling
OPEN_SERVICES = frozenset({
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
})


class KeyFileError(ValueError):
    """A keys file that cannot be read or has a malformed line; the message names the line."""


def owner_of(key: str) -> str:
    """The owner id of a key: the hex digest of its SHA-256 (what a hashed line in the file holds)."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_key(text: str, where: str) -> bytes:
    """The SHA-256 digest of one key: ``text`` in clear, or ``sha256:<64 hex digits>``."""
    if text.startswith(HASH_PREFIX):
        digest = text[len(HASH_PREFIX):].strip().lower()
        try:
            raw = bytes.fromhex(digest)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise KeyFileError(f"{where}: a hashed key must be sha256: and 64 hex digits")
        return raw
    return hashlib.sha256(text.encode()).digest()


def parse_key_file(text: str, path: str) -> list[bytes]:
    """The digests of the keys in a keys file: one a line; blank lines and ``#`` comments skipped."""
    digests = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            digests.append(parse_key(line, f"{path} line {number}"))
    return digests


def parse_key_list(text: str) -> list[bytes]:
    """The digests of comma-separated keys (``GRADWIRE_API_KEYS``)."""
    return [parse_key(k.strip(), f"key {i} of GRADWIRE_API_KEYS") for i, k in enumerate(text.split(","), 1) if k.strip()]


class ApiKeys:
    """The keys this server accepts, as SHA-256 digests; ``enabled`` when any source is configured.

    A configured file makes the server require keys even while the file holds none: emptying
    the file revokes every key, it does not open the server.
    """

    def __init__(self, keys: str = "", keys_file: str = ""):
        self.keys_file = keys_file
        self._listed = parse_key_list(keys) if keys else []
        self._lock = threading.Lock()
        self.enabled = bool(keys_file or self._listed)
        self._digests: tuple[bytes, ...] = tuple(self._listed) + tuple(self._read_file())

    @classmethod
    def from_config(cls, config) -> "ApiKeys":
        return cls(config.api_keys, config.api_keys_file)

    def __len__(self):
        return len(set(self._digests))

    def _read_file(self) -> list[bytes]:
        if not self.keys_file:
            return []
        try:
            with open(self.keys_file, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as error:
            raise KeyFileError(f"cannot read the API keys file {self.keys_file}: {error}") from None
        return parse_key_file(text, self.keys_file)

    def reload(self) -> set[str]:
        """Read the keys file again; return the owner ids of the keys no longer accepted.

        A file that cannot be read or parsed changes nothing (the error is logged and raised):
        a half-written file must neither open the server nor lock everyone out.
        """
        if not self.keys_file:
            log.info("SIGHUP: no --api-keys-file to reload")
            return set()
        try:
            digests = tuple(self._listed) + tuple(self._read_file())
        except KeyFileError as error:
            log.error("API keys not reloaded, the previous keys stay in force: %s", error)
            raise
        with self._lock:
            revoked = {d.hex() for d in self._digests} - {d.hex() for d in digests}
            self._digests = digests
        log.info("API keys reloaded from %s: %d key(s), %d revoked", self.keys_file, len(set(digests)), len(revoked))
        return revoked

    def accepts(self, key: str | None) -> bool:
        """Whether ``key`` is valid here: every digest compared in constant time (no early exit)."""
        if not self.enabled:
            return True
        if not key:
            return False
        digest = hashlib.sha256(key.encode()).digest()
        found = False
        for known in self._digests:
            found |= hmac.compare_digest(digest, known)
        return found

    def owner(self, key: str | None) -> str | None:
        """The owner id that sessions opened with ``key`` belong to; None on an open server."""
        return owner_of(key or "") if self.enabled else None


def _refusal(handler, message: str):
    """A handler of the same kind as ``handler`` that refuses the call before reading a request."""
    error = Unauthenticated(message)

    def refuse(request, context):
        context.abort(status_of(error), describe(error))

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse)
    return grpc.unary_unary_rpc_method_handler(refuse)


class AuthInterceptor(grpc.ServerInterceptor):
    """Refuse every call outside the open services (health, reflection) without a valid API key.

    The refusal comes before any request is read (no deserializer runs, not even for the
    raw-bytes Upload), with UNAUTHENTICATED.
    """

    def __init__(self, keys: ApiKeys):
        self.keys = keys

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or not self.keys.enabled:
            return handler
        service = handler_call_details.method.lstrip("/").split("/", 1)[0]
        if service in OPEN_SERVICES:
            return handler
        key = None
        for name, value in handler_call_details.invocation_metadata or ():
            if name == API_KEY_HEADER:
                key = value
        if key is None:
            return _refusal(handler, f"this server requires an API key (metadata {API_KEY_HEADER}): pass api_key= or set GRADWIRE_API_KEY")
        if not self.keys.accepts(key):
            return _refusal(handler, "the API key is not valid on this server")
        return handler
