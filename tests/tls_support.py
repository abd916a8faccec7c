"""A certificate authority of the tests' own, and server certificates it signs.

Made with the ``cryptography`` package at run time, never downloaded, so HTTPS tests prove what
a real client does: verify a chain up to a CA it was told to trust. ``tests/conftest.py`` makes
one CA per session (fixtures ``local_ca`` and ``server_tls``); a test that needs a CA nobody
trusts makes another with :func:`make_ca`.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conformance._wire._serve import TLSFiles

# A VPC interface endpoint's DNS name for the SageMaker runtime: tests resolve it to loopback.
VPCE_HOST: Final = "vpce-0a1b2c3d4e5f60789-abcdefgh.runtime.sagemaker.us-east-1.vpce.amazonaws.com"
# The names a local server's certificate covers: loopback by name and address, and the VPCE name.
LOOPBACK_NAMES: Final = ("localhost", "127.0.0.1", "::1", VPCE_HOST)
_VALID: Final = datetime.timedelta(days=2)
_CA_USAGE: Final = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True,
    crl_sign=True, encipher_only=False, decipher_only=False,
)  # fmt: skip


@dataclass(frozen=True)
class LocalCA:
    """A CA: ``ca_file`` is what clients are told to trust; :meth:`issue` signs server certs."""

    directory: Path
    ca_file: Path
    _cert: x509.Certificate
    _key: ec.EllipticCurvePrivateKey

    def issue(self, hosts: Sequence[str] = LOOPBACK_NAMES, stem: str = "server") -> TLSFiles:
        """A server certificate for ``hosts`` (names or IP addresses) and its key, as files."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALID)
            .add_extension(x509.SubjectAlternativeName([_general_name(h) for h in hosts]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False
            )
            .sign(self._key, hashes.SHA256())
        )
        certfile = self.directory / f"{stem}.pem"
        keyfile = self.directory / f"{stem}.key"
        certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        keyfile.write_bytes(_private_pem(key))
        return TLSFiles(certfile=str(certfile), keyfile=str(keyfile))


def make_ca(directory: Path, name: str = "litellm-sagemaker-openai test CA") -> LocalCA:
    """A fresh self-signed CA whose certificate is written to ``directory/ca.pem``."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return LocalCA(directory=directory, ca_file=ca_file, _cert=cert, _key=key)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
