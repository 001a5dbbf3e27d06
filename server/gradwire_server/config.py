"""Server configuration: every setting is a flag with an environment-variable twin.

Precedence: flag, then ``GRADWIRE_<NAME>`` environment variable, then default.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field, fields

from gradwire.wire import CHUNK_BYTES, INLINE_BYTES


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 50051
    device: str = "auto"  # auto | cpu | cuda
    # each open session stream holds a worker thread: keep some beyond max_sessions for health
    # checks, transfers and unary calls, or a full server fails its probes
    max_workers: int = 96
    max_sessions: int = 64
    max_session_bytes: int = 4 << 30  # tensors one session may hold
    max_tensor_elements: int = 1 << 31
    # handles one session may hold: each costs the server some 450 bytes beyond its array, which
    # max_session_bytes does not count, so a flood of tiny tensors cannot exhaust the host's memory
    max_session_handles: int = 1 << 20
    max_batch_commands: int = 100_000
    # events one session's profile keeps (gw.profiler): some 200 bytes each on the server (20 MB a session at most,
    # some thousands of steps of a small model); more are counted as dropped
    max_profile_events: int = 100_000
    max_message_bytes: int = 64 << 20  # one gRPC message (batches); tensors above inline_bytes are chunked
    inline_bytes: int = INLINE_BYTES
    chunk_bytes: int = CHUNK_BYTES
    idle_timeout_s: float = 3600.0
    reap_interval_s: float = 0.0  # 0: a quarter of idle_timeout_s, between 0.05 and 30 s
    ended_sessions_kept: int = 10_000
    drain_timeout_s: float = 30.0
    # authentication and transport security ("" = not set); see auth.py and tls.py
    api_keys_file: str = ""  # one key a line (or sha256:<hex>); reloaded on SIGHUP
    api_keys: str = field(default="", repr=False, metadata={"secret": True})  # comma-separated
    max_sessions_per_key: int = 32
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    metrics_port: int = -1  # Prometheus endpoint on host:metrics_port; -1: off; 0 picks a free port
    health_port: int = -1  # plain-text gRPC health service alone, for probes of a TLS server; -1: off; 0 picks one
    log_format: str = "text"  # text | json
    dedupe_window: int = 64  # replies kept per session, so a batch resent after a reconnect is not run twice
    keepalive_s: float = 30.0  # ping an idle connection this often; one silent for keepalive_s more is closed

    def limits_help(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_HELP = {
    "host": "address to bind (0.0.0.0 for every interface)",
    "port": "port to bind; 0 picks a free one",
    "device": "auto: CuPy where a CUDA device is usable, else NumPy; cpu; cuda",
    "max_workers": "worker threads: one per open session stream, plus headroom for health checks and transfers (keep above --max-sessions)",
    "max_sessions": "sessions open at once on this server",
    "max_session_bytes": "bytes of tensors one session may hold",
    "max_tensor_elements": "elements in one tensor",
    "max_session_handles": "handles (tensors, optimizers, generators) one session may hold at once",
    "max_batch_commands": "commands in one batch",
    "max_profile_events": "profiler events one session keeps while it profiles (gw.profiler); events past it are counted as dropped",
    "max_message_bytes": "largest gRPC message accepted",
    "inline_bytes": "tensors above this many bytes travel on the chunked streams",
    "chunk_bytes": "bytes per chunk on the chunked streams",
    "idle_timeout_s": "seconds a session may stay idle before it is reaped",
    "reap_interval_s": "seconds between sweeps for idle sessions (0: a quarter of idle_timeout_s, 0.05 to 30)",
    "ended_sessions_kept": "ended sessions remembered, to tell a call that its session was closed or expired, and when",
    "drain_timeout_s": "seconds SIGTERM waits for in-flight batches",
    "api_keys_file": "file of API keys, one a line (sha256:<hex> for a hashed one, # comments); reloaded on SIGHUP",
    "api_keys": "comma-separated API keys (prefer the environment twin or the file: a flag shows in ps)",
    "max_sessions_per_key": "sessions one API key may hold open at once",
    "tls_cert": "PEM certificate chain: serve TLS (with --tls-key)",
    "tls_key": "PEM private key of --tls-cert",
    "tls_client_ca": "PEM CA bundle: require client certificates it signed (mutual TLS)",
    "metrics_port": "serve Prometheus metrics at http://HOST:PORT/metrics; -1: off; 0 picks a free port",
    "health_port": "serve the gRPC health service alone, in plain text, on this port (probes of a TLS server); -1: off; 0 picks a free port",
    "log_format": "text, or json: one JSON object per line, with session and request ids",
    "dedupe_window": "replies kept per session to answer a batch resent after a reconnect without running it again",
    "keepalive_s": "seconds between keepalive pings on an idle connection; a peer silent that long again is dropped",
}


_CHOICES = {"device": ("auto", "cpu", "cuda"), "log_format": ("text", "json")}


def env_name(field_name: str) -> str:
    return "GRADWIRE_" + field_name.upper()


def parse_args(argv=None, environ=None) -> Config:
    """Build a Config from command-line flags and ``GRADWIRE_*`` environment variables."""
    environ = os.environ if environ is None else environ
    defaults = Config()
    parser = argparse.ArgumentParser(prog="gradwire-server", description="Serve remote autograd over gRPC.")
    for f in fields(Config):
        default = getattr(defaults, f.name)
        kind = type(default)
        if env_name(f.name) in environ:
            default = kind(environ[env_name(f.name)])
        kwargs = {"choices": _CHOICES[f.name]} if f.name in _CHOICES else {}
        parser.add_argument(
            "--" + f.name.replace("_", "-"), type=kind, default=default,
            help=f"{_HELP[f.name]} (env {env_name(f.name)}; default {'not shown' if f.metadata.get('secret') else '%(default)s'})", **kwargs,
        )
    args = parser.parse_args(argv)
    return dataclasses.replace(defaults, **vars(args))
