"""TLS and mutual TLS, with certificates the tests make: connections that work, and those refused cleanly."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import gradwire as gw
from tests.servers import start_server

from .certs import CertificateAuthority
from .test_cli import ServerProcess, call_with_deadline

KEY = "tls-test-key-0123456789"


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch):
    monkeypatch.delenv("GRADWIRE_API_KEY", raising=False)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA with a server certificate (localhost, 127.0.0.1) and a client one; a second CA that trusts neither."""
    directory = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority(directory)
    other = CertificateAuthority(directory, "another CA")

    class Pki:
        ca_path = str(ca.path)
        other_ca_path = str(other.path)
        server = ca.issue("gradwire server", server=True)
        client = ca.issue("gradwire client", server=False)
        stranger = other.issue("stranger client", server=False)

    return Pki


def start(**settings):
    return start_server(device="cpu", **settings)


@pytest.fixture(scope="module")
def tls_server(pki):
    server = start(tls_cert=str(pki.server.cert), tls_key=str(pki.server.key))
    yield server
    server.stop(grace=1.0)


@pytest.fixture(scope="module")
def mtls_server(pki):
    server = start(tls_cert=str(pki.server.cert), tls_key=str(pki.server.key), tls_client_ca=pki.ca_path, api_keys=KEY)
    yield server
    server.stop(grace=1.0)


def refusal(connect) -> Exception:
    """The error ``connect`` raised: it must not hang until its own 60 s timeout (a wait for a handshake that cannot succeed)."""
    outcome, value = call_with_deadline(connect, timeout=20.0)
    assert outcome == "error", f"connected: {value}"
    return value


def train_a_little(s):
    """Values and gradients through the session, inline and on the chunked streams."""
    x = s.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    big = np.arange(600_000, dtype=np.float32)  # 2.4 MB: Upload and Download
    np.testing.assert_array_equal(s.tensor(big).numpy(), big)


# --- TLS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_tls_connection_works(tls_server, pki, host):
    address = tls_server.address.replace("127.0.0.1", host)
    with gw.connect(address, tls_ca=pki.ca_path, timeout=10) as s:
        train_a_little(s)


def test_a_plain_client_to_a_tls_server_fails_cleanly(tls_server):
    error = refusal(lambda: gw.connect(tls_server.address, timeout=60))
    assert isinstance(error, gw.UnavailableError), f"{type(error).__name__}: {error}"
    message = str(error)
    # told at once why (not "no server answered within 60 s"), and what to do
    assert "closed the connection while it was being set up" in message and "tls=True" in message


def test_a_server_certificate_from_an_untrusted_ca_is_refused(tls_server, pki):
    for trusted in (pki.other_ca_path, None):  # another CA; the system's roots (tls=True)
        error = refusal(lambda: gw.connect(tls_server.address, tls=True, tls_ca=trusted, timeout=60))
        assert isinstance(error, gw.UnavailableError), f"{type(error).__name__}: {error}"
        assert "TLS handshake" in str(error) and "CERTIFICATE_VERIFY_FAILED" in str(error)


def test_a_tls_client_to_a_plain_server_fails_cleanly(server, pki):
    error = refusal(lambda: gw.connect(server.address, tls_ca=pki.ca_path, timeout=60))
    assert isinstance(error, gw.UnavailableError), f"{type(error).__name__}: {error}"
    assert "TLS handshake" in str(error)


def test_the_sdk_checks_its_tls_options(pki):
    with pytest.raises(gw.InvalidArgumentError, match="tls_cert= and tls_key="):
        gw.connect("127.0.0.1:1", tls_cert=str(pki.client.cert), timeout=1)
    with pytest.raises(gw.InvalidArgumentError, match="need a target"):
        gw.connect(tls=True)
    with pytest.raises(FileNotFoundError):
        gw.connect("127.0.0.1:1", tls_ca="/nonexistent/ca.pem", timeout=1)


# --- mutual TLS ---------------------------------------------------------------------------------


def test_mutual_tls_with_a_client_certificate_works(mtls_server, pki):
    with gw.connect(mtls_server.address, api_key=KEY, tls_ca=pki.ca_path, tls_cert=str(pki.client.cert), tls_key=str(pki.client.key), timeout=10) as s:
        train_a_little(s)


def test_mutual_tls_without_a_client_certificate_is_refused(mtls_server, pki):
    error = refusal(lambda: gw.connect(mtls_server.address, api_key=KEY, tls_ca=pki.ca_path, timeout=60))
    assert isinstance(error, gw.UnavailableError), f"{type(error).__name__}: {error}"
    assert "tls_cert= and tls_key=" in str(error)


def test_mutual_tls_with_a_certificate_of_another_ca_is_refused(mtls_server, pki):
    stranger = dict(tls_cert=str(pki.stranger.cert), tls_key=str(pki.stranger.key))
    error = refusal(lambda: gw.connect(mtls_server.address, api_key=KEY, tls_ca=pki.ca_path, timeout=60, **stranger))
    assert isinstance(error, gw.UnavailableError), f"{type(error).__name__}: {error}"


def test_mutual_tls_still_needs_the_api_key(mtls_server, pki):
    client = dict(tls_ca=pki.ca_path, tls_cert=str(pki.client.cert), tls_key=str(pki.client.key))
    with pytest.raises(gw.UnauthenticatedError):
        gw.connect(mtls_server.address, timeout=10, **client)


# --- the CLI ------------------------------------------------------------------------------------


def test_the_cli_serves_mutual_tls_with_api_keys(tmp_path, pki):
    keys = tmp_path / "keys"
    keys.write_text(KEY + "\n")
    process = ServerProcess(
        tmp_path, "--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key),
        "--tls-client-ca", pki.ca_path, "--api-keys-file", str(keys),
    )
    try:
        client = dict(tls_ca=pki.ca_path, tls_cert=str(pki.client.cert), tls_key=str(pki.client.key))
        with gw.connect(process.address, api_key=KEY, timeout=10, **client) as s:
            train_a_little(s)
        error = refusal(lambda: gw.connect(process.address, api_key=KEY, timeout=60))
        assert isinstance(error, gw.UnavailableError) and "tls=True" in str(error)
        assert process.proc.poll() is None  # a refused handshake leaves the server serving
        code, _ = process.terminate_and_wait()
        assert code == 0
    finally:
        process.close()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--tls-cert", "{cert}"], "TLS needs both --tls-cert and --tls-key"),
        (["--tls-client-ca", "{ca}"], "--tls-client-ca alone does not enable it"),
        (["--tls-cert", "{cert}", "--tls-key", "{missing}"], "--tls-key {missing}: No such file"),
    ],
    ids=["cert without key", "client CA alone", "missing key file"],
)
def test_the_cli_refuses_tls_flags_that_do_not_go_together(tmp_path, pki, flags, message):
    values = {"cert": str(pki.server.cert), "ca": pki.ca_path, "missing": str(tmp_path / "missing.key")}
    result = subprocess.run(
        [sys.executable, "-m", "gradwire_server", "--port", "0", "--device", "cpu", *(f.format(**values) for f in flags)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert message.format(**values) in result.stderr


def test_a_tls_server_answers_probes_on_its_plain_health_port(pki):
    """Probes speak plain text: --health-port serves the health service alone, and nothing else."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from gradwire.v1 import gradwire_pb2 as pb, gradwire_pb2_grpc as pb_grpc
    from gradwire_server import healthcheck

    server = start(tls_cert=str(pki.server.cert), tls_key=str(pki.server.key), health_port=0)
    try:
        probe = f"127.0.0.1:{server.health_port}"
        assert healthcheck.main(["--address", probe]) == 0
        assert healthcheck.main(["--address", server.address, "--timeout", "2"]) == 1  # the TLS port refuses plain text
        assert healthcheck.default_address({"GRADWIRE_PORT": "50051", "GRADWIRE_HEALTH_PORT": "8081"}) == "127.0.0.1:8081"
        with grpc.insecure_channel(probe) as channel:
            with pytest.raises(grpc.RpcError) as info:  # the gradwire service is not served in plain text
                pb_grpc.GradwireStub(channel).GetServerInfo(pb.ServerInfoRequest(), timeout=5)
            assert info.value.code() is grpc.StatusCode.UNIMPLEMENTED
        s = gw.connect(server.address, tls_ca=pki.ca_path, timeout=10)  # the TLS port serves as before
        assert s.ones(2).sum().item() == 2.0
        s.close()
    finally:
        server.stop(grace=0.5)
    with grpc.insecure_channel(probe) as channel:  # stopped with the server
        with pytest.raises(grpc.RpcError):
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
