"""The server as operators run it: ``python -m gradwire_server``, used over loopback, stopped by SIGTERM."""

from __future__ import annotations

import ctypes
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import gradwire as gw
from gradwire_server.app import create_server
from gradwire_server.config import Config

STARTUP_S = 30.0  # importing numpy, grpc and the engine in a fresh interpreter
EXIT_S = 5.0  # SIGTERM to exit, with nothing left to drain
LISTENING = re.compile(r"listening on (\S+):(\d+) \(device (\w+)\)")


class ServerProcess:
    def __init__(self, tmp_path, *args):
        self.log = open(tmp_path / "server.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gradwire_server", "--port", "0", "--device", "cpu", *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        self.line = self._first_line()
        match = LISTENING.fullmatch(self.line.strip())
        assert match, f"unexpected first line {self.line!r}; log: {self.logged()}"
        self.host, self.port, self.device = match.group(1), int(match.group(2)), match.group(3)
        self.address = f"{self.host}:{self.port}"

    def _first_line(self) -> str:
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=STARTUP_S):
                self.proc.kill()
                pytest.fail(f"no 'listening on' line within {STARTUP_S} s; log: {self.logged()}")
        return self.proc.stdout.readline()

    def logged(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def terminate_and_wait(self, timeout=EXIT_S) -> tuple[int, float]:
        """SIGTERM, then (exit code, seconds to exit); fails the test past ``timeout``."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the server did not exit within {timeout} s of SIGTERM; log: {self.logged()}")
        return code, time.monotonic() - start

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


@pytest.fixture
def cli_server(tmp_path):
    server = ServerProcess(tmp_path)
    yield server
    server.close()


class Call:
    """``fn`` running in a thread; ``result()`` fails the test if it hangs."""

    def __init__(self, fn):
        self.outcome = {}
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn):
        try:
            self.outcome["ok"] = fn()
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            self.outcome["error"] = error

    def result(self, timeout=10.0):
        """('ok', value) or ('error', exception)."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the call hung for more than {timeout} s"
        return ("ok", self.outcome["ok"]) if "ok" in self.outcome else ("error", self.outcome["error"])


def call_with_deadline(fn, timeout=10.0):
    return Call(fn).result(timeout)


def assert_told_unavailable(error, session):
    """UNAVAILABLE or NOT_FOUND, as a gradwire error whose message says which session's stream ended."""
    assert isinstance(error, gw.GradwireError), f"{type(error).__name__}: {error}"
    assert isinstance(error, (gw.UnavailableError, gw.NotFoundError)), f"{type(error).__name__}: {error}"
    assert session.id in str(error), str(error)


def test_cli_serves_then_exits_cleanly_on_sigterm(cli_server):
    assert cli_server.host == "127.0.0.1" and cli_server.port > 0 and cli_server.device == "cpu"
    with gw.connect(cli_server.address, timeout=10) as s:
        assert s.device == "cpu"
        x = s.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    code, _ = cli_server.terminate_and_wait()
    assert code == 0, cli_server.logged()
    assert "draining" in cli_server.logged()


def _signal_thread(pid: int, tid: int, signum: int):
    """tgkill(2): a signal for one thread of another process, as the kernel picks one for kill()."""
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "tgkill"):
        pytest.skip("this C library has no tgkill()")
    assert libc.tgkill(pid, tid, signum) == 0, os.strerror(ctypes.get_errno())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads as /proc lists them: Linux")
def test_sigterm_that_one_of_grpcs_threads_takes_still_stops_the_server(cli_server):
    # the kernel may hand a process's SIGTERM to any thread; Python runs handlers in the main thread
    # only, so a main thread asleep in a lock slept on through it (the server never drained)
    with gw.connect(cli_server.address, timeout=10) as s:
        assert s.tensor([2.0]).item() == 2.0  # gRPC's threads are up
    pid = cli_server.proc.pid
    others = [int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid]
    assert others
    start = time.monotonic()
    _signal_thread(pid, others[-1], signal.SIGTERM)
    try:
        code = cli_server.proc.wait(timeout=EXIT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not exit within {EXIT_S} s of a SIGTERM to thread {others[-1]}; log: {cli_server.logged()}")
    assert code == 0 and "draining" in cli_server.logged(), cli_server.logged()
    assert time.monotonic() - start < EXIT_S


def test_sigterm_with_an_idle_client_exits_promptly(cli_server):
    s = gw.connect(cli_server.address, timeout=10)
    try:
        assert s.tensor([2.0]).item() == 2.0  # the session's stream is open, and idle
        code, _ = cli_server.terminate_and_wait()
        assert code == 0, cli_server.logged()
        kind, error = call_with_deadline(lambda: s.ones(2).sum().item())
        assert kind == "error", f"a call after shutdown returned {error!r}"
        assert_told_unavailable(error, s)
    finally:
        s.close()


def test_sigterm_with_commands_in_flight(cli_server):
    s = gw.connect(cli_server.address, timeout=10)
    try:
        x = s.randn(400, 400)
        for _ in range(60):
            x = (x @ x).tanh()
        total = x.sum()
        s.sync()  # the stream is live; now put a batch of heavy work on the wire without waiting
        for _ in range(60):
            x = (x @ x).tanh()
        total = x.sum()
        with s._lock:
            s._flush()
        assert s._sent > s._acked
        cli_server.proc.send_signal(signal.SIGTERM)

        kind, value = call_with_deadline(total.item)
        if kind == "ok":  # the server drained the batch it had: then, once it has begun shutting down, the next is refused
            assert np.isfinite(value)
            deadline = time.monotonic() + EXIT_S  # (the signal may reach the server after the batch's answer left it)
            while "shutting down" not in cli_server.logged() and time.monotonic() < deadline:
                time.sleep(0.01)
            kind, value = call_with_deadline(lambda: s.ones(1).sum().item())
        assert kind == "error", f"the server answered after shutdown: {value!r}"
        assert_told_unavailable(value, s)
        code = cli_server.proc.wait(timeout=EXIT_S)
        assert code == 0, cli_server.logged()
        # the session is done, and every later call says so at once
        kind, later = call_with_deadline(lambda: s.ones(1).numpy())
        assert kind == "error" and isinstance(later, gw.GradwireError)
        assert type(later) is type(value) and str(value) in str(later), "a later call must say why the session ended"
    finally:
        s.close()


def test_drain_finishes_the_batch_in_flight():
    """In process, so the test can see the batch running before it stops the server."""
    server, port = create_server(Config(host="127.0.0.1", port=0, device="cpu"))
    server.start()
    try:
        s = gw.connect(f"127.0.0.1:{port}", timeout=10, seed=1)
        served = server.registry._sessions[s.id]
        a = s.randn(300, 300) * 0.05
        s.sync()
        x = a
        for _ in range(200):
            x = (x @ a).tanh() + a
        fetch = Call(x.numpy)  # the ops and the fetch go out in one batch
        deadline = time.monotonic() + 10
        while not served.lock.locked():  # the batch is running on the server
            assert time.monotonic() < deadline, "the batch never started"
            time.sleep(0.001)
        stop_started = time.monotonic()
        stopper = Call(lambda: server.stop(30.0))
        kind, value = fetch.result()
        assert kind == "ok", f"the batch in flight was not drained: {value!r}"
        assert value.shape == (300, 300) and np.isfinite(value).all()
        assert stopper.result(timeout=40)[0] == "ok"
        assert time.monotonic() - stop_started < 15.0  # the idle stream left did not hold it for the 30 s grace
        assert server.registry.sessions() == []
        kind, error = call_with_deadline(lambda: s.ones(1).numpy())
        assert kind == "error"
        assert_told_unavailable(error, s)
        s.close()
    finally:
        server.stop(0)
