"""A throwaway CA and server certificates with a chosen expiry, for loopback TLS servers."""

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_NAME = "Pharos Test CA"


@dataclass
class Certificate:
    cert_file: Path
    key_file: Path
    not_after: datetime

    def server_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pharos Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write(path, data):
    path.write_bytes(data)
    return path


class TestAuthority:
    """A CA whose certificate the probes are told to trust (``ca_file``)."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder):
        self.folder = Path(folder)
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(CA_NAME))
            .issuer_name(_name(CA_NAME))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=30))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = _write(self.folder / "ca.pem", self.certificate.public_bytes(serialization.Encoding.PEM))
        self.issued = 0

    @property
    def issuer(self):
        return self.certificate.subject.rfc4514_string()

    def issue(self, *, not_after, not_before=None, hosts=("127.0.0.1", "::1", "localhost")):
        """A server certificate valid until ``not_after`` for ``hosts``."""
        key = ec.generate_private_key(ec.SECP256R1())
        not_before = not_before or min(datetime.now(UTC), not_after) - timedelta(days=30)
        names = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(hosts[0]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.issued += 1
        stem = self.folder / f"server-{self.issued}"
        cert_file = _write(stem.with_suffix(".pem"), certificate.public_bytes(serialization.Encoding.PEM))
        key_file = _write(
            stem.with_suffix(".key"),
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        return Certificate(cert_file, key_file, certificate.not_valid_after_utc)
