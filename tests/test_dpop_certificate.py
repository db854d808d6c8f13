"""Certificate-bound tokens (RFC 8705 sec. 3): the token endpoint's client certificate shown to resources too.

`tests.dpop_server` runs over TLS and asks for a client certificate: the token it issues
records the certificate's ``x5t#S256`` and the resource accepts the token only from a
connection that presents that certificate.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.dpop_server import DPoPServer, running
from tests.interop._pki import _ca, _leaf, _pem_key
from tornado_alf import MemoryTokenStore, TornadoClient


@dataclasses.dataclass(frozen=True)
class Certs:
    ca: Path
    server: tuple[Path, Path]
    clients: tuple[tuple[Path, Path], ...]  # (cert, key) of two client certificates of the same CA


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    directory = tmp_path_factory.mktemp("pki")
    ca = _ca("tornado-alf DPoP test CA")
    made = {
        "server": _leaf(ca, "127.0.0.1", x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        ExtendedKeyUsageOID.SERVER_AUTH),
        "first": _leaf(ca, "first", x509.DNSName("first.tornado-alf.test"), ExtendedKeyUsageOID.CLIENT_AUTH),
        "second": _leaf(ca, "second", x509.DNSName("second.tornado-alf.test"), ExtendedKeyUsageOID.CLIENT_AUTH),
    }
    paths = {}
    for name, (cert, key) in {**made, "ca": ca}.items():
        paths[name] = (directory / f"{name}_cert.pem", directory / f"{name}_key.pem")
        paths[name][0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[name][1].write_bytes(_pem_key(key))
    return Certs(paths["ca"][0], paths["server"], (paths["first"], paths["second"]))


@pytest.fixture
async def server(certs: Certs) -> AsyncIterator[DPoPServer]:
    async with running(DPoPServer(), (*certs.server, certs.ca)) as started:
        yield started


@pytest.fixture
def clients() -> Iterator[list[TornadoClient]]:
    made: list[TornadoClient] = []
    yield made
    for client in made:
        client.close()


def options(certs: Certs, which: int = 0) -> dict[str, Any]:
    cert, key = certs.clients[which]
    return {"client_cert": str(cert), "client_key": str(key), "ca_certs": str(certs.ca)}


async def test_the_certificate_is_presented_to_the_resource_when_asked(
    server: DPoPServer, certs: Certs, clients: list[TornadoClient]
) -> None:
    client = TornadoClient(server.token_endpoint, "client", "secret", http_options=options(certs),
                           present_client_cert=True)
    clients.append(client)
    response = await client.fetch(server.resource_url, ca_certs=str(certs.ca))
    assert response.code == 200
    assert server.refusals == []
    assert "x5t#S256" in next(iter(server.bindings.values()))


async def test_without_the_option_the_bound_token_is_refused(
    server: DPoPServer, certs: Certs, clients: list[TornadoClient]
) -> None:
    client = TornadoClient(server.token_endpoint, "client", "secret", http_options=options(certs))
    clients.append(client)
    response = await client.fetch(server.resource_url, ca_certs=str(certs.ca), raise_error=False)
    assert response.code == 401
    assert server.refusals[0] == "certificate does not match cnf.x5t#S256"


async def test_clients_with_different_certificates_never_share_a_stored_token(
    server: DPoPServer, certs: Certs, clients: list[TornadoClient]
) -> None:
    store = MemoryTokenStore()
    for which in (0, 1, 0):
        client = TornadoClient(server.token_endpoint, "client", "secret", http_options=options(certs, which),
                               present_client_cert=True, token_storage=store)
        clients.append(client)
        assert (await client.fetch(server.resource_url, ca_certs=str(certs.ca))).code == 200
    assert server.tokens_issued == 2  # one per certificate; the third client reads the first one's
    assert server.refusals == []


async def test_dpop_and_a_certificate_together(
    server: DPoPServer, certs: Certs, clients: list[TornadoClient]
) -> None:
    client = TornadoClient(server.token_endpoint, "client", "secret", http_options=options(certs),
                           present_client_cert=True, dpop_key=True)
    clients.append(client)
    assert (await client.fetch(server.resource_url, ca_certs=str(certs.ca))).code == 200
    assert set(next(iter(server.bindings.values()))) == {"jkt", "x5t#S256"}
    assert server.refusals == []


def test_present_client_cert_needs_a_certificate() -> None:
    with pytest.raises(ValueError, match="present_client_cert"):
        TornadoClient("https://as.example/token", "client", "secret", present_client_cert=True)
    with pytest.raises(ValueError, match="present_client_cert"):
        TornadoClient("https://as.example/token", "client", "secret", present_client_cert=True,
                      http_options={"client_cert": "/nonexistent/cert.pem"})

