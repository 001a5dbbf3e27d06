"""nginx from deploy/nginx/gradwire.conf.template, and gradwire servers as processes, for the deploy tests."""

from __future__ import annotations

import os
import re
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "nginx" / "gradwire.conf.template"
NGINX = "/usr/sbin/nginx"
STARTUP_S = 30.0
LISTENING = re.compile(r"listening on (\S+):(\d+) \(device (\w+)\)")
METRICS = re.compile(r"metrics on http://(\S+):(\d+)/metrics")
_VARIABLE = re.compile(r"\$\{(\w+)\}")


def template_variables(text: str) -> set[str]:
    """The ``${NAME}`` variables a template asks for (nginx's own ``$name`` variables are not these)."""
    return set(_VARIABLE.findall(text))


def render(text: str, values: dict) -> str:
    """Substitute ``${NAME}`` as the nginx image's envsubst does, only for the names given; every one must be."""
    missing = template_variables(text) - set(values)
    if missing:
        raise KeyError(f"no value for template variable(s) {sorted(missing)}")
    return _VARIABLE.sub(lambda m: str(values[m.group(1)]), text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lines(stream, into: queue.Queue):
    for line in stream:
        into.put(line)
    into.put("")


class ServerProcess:
    """``python -m gradwire_server`` on 127.0.0.1, a port the OS picks, metrics on another, JSON logs."""

    def __init__(self, tmp_path: Path, name: str, *args):
        self.name = name
        self.log_path = tmp_path / f"{name}.log"
        self._log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gradwire_server", "--host", "127.0.0.1", "--port", "0", "--device", "cpu",
             "--metrics-port", "0", "--log-format", "json", *args],
            stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        self._stdout = queue.Queue()
        threading.Thread(target=_lines, args=(self.proc.stdout, self._stdout), daemon=True).start()

    def _line(self, what: str) -> str:
        try:
            return self._stdout.get(timeout=STARTUP_S)
        except queue.Empty:
            self.proc.kill()
            raise RuntimeError(f"no {what} line within {STARTUP_S} s; log: {self.logged()}") from None

    def wait_ready(self):
        line = self._line("'listening on'")
        match = LISTENING.fullmatch(line.strip())
        assert match, f"unexpected first line {line!r}; log: {self.logged()}"
        self.port = int(match.group(2))
        self.address = f"127.0.0.1:{self.port}"
        line = self._line("'metrics on'")
        match = METRICS.fullmatch(line.strip())
        assert match, f"unexpected second line {line!r}; log: {self.logged()}"
        self.metrics_url = f"http://127.0.0.1:{match.group(2)}/metrics"
        return self

    def logged(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def metrics(self) -> dict:
        """Every sample of the endpoint: {'name{label="v",...}': value}."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as reply:
            text = reply.read().decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                samples[key] = float(value)
        return samples

    def kill(self):
        """SIGKILL: the replica dies with its sessions, as a crashed or evicted one does."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._log.close()


def nginx_available() -> bool:
    return os.path.exists(NGINX) and os.access(NGINX, os.X_OK)


class Nginx:
    """nginx in the foreground (``daemon off``), from the template, with its own prefix, pid and logs under ``tmp_path``.

    The main configuration around the template is what the nginx image's own
    nginx.conf does: ``http { include conf.d/*.conf; }``.
    """

    def __init__(self, tmp_path: Path, upstreams: list[str]):
        self.prefix = tmp_path / "nginx"
        self.prefix.mkdir()
        self.port = free_port()
        servers = " ".join(f"server {address} max_fails=1 fail_timeout=10s;" for address in upstreams)
        (self.prefix / "gradwire.conf").write_text(
            render(TEMPLATE.read_text(), {"PROXY_LISTEN_PORT": f"127.0.0.1:{self.port}", "PROXY_UPSTREAM_SERVERS": servers})
        )
        user = "user root root;\n" if os.geteuid() == 0 else ""  # workers stay able to read the temp prefix
        (self.prefix / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {self.prefix}/nginx.pid;\nerror_log {self.prefix}/error.log info;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log {self.prefix}/access.log;\n"
            + "".join(f"    {kind}_temp_path {self.prefix}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + f"    include {self.prefix}/gradwire.conf;\n"
            "}\n"
        )
        self.address = f"127.0.0.1:{self.port}"
        command = [NGINX, "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"), "-e", str(self.prefix / "error.log")]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the rendered template:\n{check.stderr}")
        self._stderr = open(self.prefix / "stderr.log", "w")  # a file, not a pipe nobody reads
        self.proc = subprocess.Popen([*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=self._stderr)
        try:
            self._wait_listening()
        except BaseException:
            self.close()
            raise

    def _wait_listening(self):
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited ({self.proc.returncode}): {self.errors()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {self.address} within {STARTUP_S} s: {self.errors()}")

    def errors(self) -> str:
        logged = [self.prefix / name for name in ("stderr.log", "error.log")]
        return "".join(path.read_text() for path in logged if path.exists())

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish, then exit
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
