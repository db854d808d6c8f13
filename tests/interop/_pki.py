"""A throwaway certificate authority for TLS tests: a server and a client certificate."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_SAN_DNS = "interop-client.tornado-alf.test"


@dataclasses.dataclass(frozen=True)
class Pki:
    """PEM files on disk (Tornado wants paths) and their text (node wants strings)."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path  # signed by another CA: a certificate the server must not trust
    stranger_key: Path

    def text(self, name: str) -> str:
        path: Path = getattr(self, name)
        return path.read_text()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = _certificate(name, key, None, [(x509.BasicConstraints(ca=True, path_length=0), True)])
    return cert, key


def _leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    name: str,
    san: x509.GeneralName,
    usage: x509.ObjectIdentifier,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = _certificate(
        name,
        key,
        (ca[0].subject, ca[1]),
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.SubjectAlternativeName([san]), False),
            (x509.ExtendedKeyUsage([usage]), False),
        ],
    )
    return cert, key


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and client certificates, written to ``directory``."""
    ca = _ca("tornado-alf test CA")
    localhost = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    client_san = x509.DNSName(CLIENT_SAN_DNS)
    server = _leaf(ca, "127.0.0.1", localhost, ExtendedKeyUsageOID.SERVER_AUTH)
    client = _leaf(ca, "interop-client", client_san, ExtendedKeyUsageOID.CLIENT_AUTH)
    stranger = _leaf(_ca("someone else's CA"), "stranger", client_san, ExtendedKeyUsageOID.CLIENT_AUTH)
    files = {
        "ca_cert": ca[0].public_bytes(serialization.Encoding.PEM),
        "server_cert": server[0].public_bytes(serialization.Encoding.PEM),
        "server_key": _pem_key(server[1]),
        "client_cert": client[0].public_bytes(serialization.Encoding.PEM),
        "client_key": _pem_key(client[1]),
        "stranger_cert": stranger[0].public_bytes(serialization.Encoding.PEM),
        "stranger_key": _pem_key(stranger[1]),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = directory / f"{name}.pem"
        paths[name].write_bytes(data)
    return Pki(**paths)
