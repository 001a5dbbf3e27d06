"""A real gradwire server on a loopback port for the e2e tests, and sessions on it."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
from tests.servers import start_server


def pytest_configure(config):
    config.addinivalue_line("markers", "large: moves hundreds of MiB (seconds, about 2 GiB of RAM); deselect with -m 'not large'")


@pytest.fixture(scope="session")
def server():
    """One server for the whole e2e run, on 127.0.0.1 and a port the OS picks; stopped at the end."""
    server = start_server(device="cpu")
    yield server
    server.stop(grace=1.0)


@pytest.fixture
def session(server):
    """A fresh session on the shared server, closed after the test."""
    s = gw.connect(server.address, seed=0, timeout=10)
    yield s
    s.close()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
