"""Certificates the TLS tests make for themselves: a CA, a server certificate, client certificates."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Issued:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(directory: Path, stem: str, cert, key) -> Issued:
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return Issued(cert_path, key_path)


class CertificateAuthority:
    """A CA valid for a day; ``issue`` signs server or client certificates with it."""

    def __init__(self, directory: Path, name: str = "gradwire test CA"):
        self.directory = directory
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        self._now = datetime.datetime.now(datetime.timezone.utc)
        cert = self._builder(name, self.key.public_key()).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        self.cert = cert.sign(self.key, hashes.SHA256())
        stem = name.replace(" ", "-")
        self.path = _write(directory, stem, self.cert, self.key).cert

    def _builder(self, subject: str, public_key):
        return (
            x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(self.name)).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._now - datetime.timedelta(hours=1)).not_valid_after(self._now + datetime.timedelta(days=1))
        )

    def issue(self, subject: str, *, server: bool) -> Issued:
        """A certificate for ``subject``: a server's for localhost and 127.0.0.1, or a client's."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(subject, key.public_key()).add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        if server:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        return _write(self.directory, subject.replace(" ", "-"), builder.sign(self.key, hashes.SHA256()), key)
