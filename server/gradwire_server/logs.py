"""The server's logs: text, or one JSON object per line (``--log-format json``).

Every record made while a call is served carries the call's ``session_id`` (the
``gradwire-session`` header) and ``request_id`` (the ``x-request-id`` header, which
the nginx template sets from nginx's own ``$request_id``, so proxy and replica logs
join; a fresh id where no proxy sent one). Records made outside a call (the reaper,
a shutdown) pass ``extra={"session_id": ...}`` themselves.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import json
import logging
import sys
import uuid

from gradwire.wire import SESSION_HEADER

REQUEST_ID_HEADER = "x-request-id"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_session_id = contextvars.ContextVar("gradwire_session_id", default="")
_request_id = contextvars.ContextVar("gradwire_request_id", default="")

# attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged as a field
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class _CallIds(logging.Filter):
    """Give each record the session and request ids of the call being served, unless it brings its own."""

    def filter(self, record):
        if not getattr(record, "session_id", ""):
            record.session_id = _session_id.get()
        if not getattr(record, "request_id", ""):
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, session_id, request_id, and any extras."""

    def format(self, record):
        out = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "session_id": getattr(record, "session_id", ""),
            "request_id": getattr(record, "request_id", ""),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(log_format: str = "text", level=logging.INFO, stream=None):
    """Send the process's logs to ``stream`` (stderr) in ``log_format``: "text" or "json"."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_CallIds())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


@contextlib.contextmanager
def call_scope(context):
    """While a call is served: its session id and request id, for every record it logs."""
    metadata = dict(context.invocation_metadata() or ())
    session = _session_id.set(metadata.get(SESSION_HEADER, ""))
    request = _request_id.set(metadata.get(REQUEST_ID_HEADER) or uuid.uuid4().hex)
    try:
        yield
    finally:
        try:
            _request_id.reset(request)
            _session_id.reset(session)
        except ValueError:  # a stream's generator closed from another thread: its ids die with it
            pass
