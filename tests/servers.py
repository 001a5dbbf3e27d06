"""Servers for the tests: on 127.0.0.1 and a port the OS picks, started here and stopped by the test."""

from __future__ import annotations

from gradwire_server.app import create_server
from gradwire_server.config import Config


def start_server(**settings):
    """A started gradwire server with ``settings`` (Config fields) and its ``address``; the caller stops it."""
    server, port = create_server(Config(host="127.0.0.1", port=0, **settings))
    server.start()
    server.address = f"127.0.0.1:{port}"
    return server
