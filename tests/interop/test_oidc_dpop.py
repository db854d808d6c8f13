"""Sender-constrained tokens from node oidc-provider: DPoP with nonces, and certificate-bound tokens.

oidc-provider (``features.dPoP`` requiring nonces, ``features.mTLS.certificateBoundAccessTokens``)
issues JWT access tokens for RESOURCE whose ``cnf`` names the client's DPoP key (``jkt``)
or certificate (``x5t#S256``). The resource is `tests.dpop_server`'s: it checks the JWT
against the provider's published keys, then every DPoP proof (signature, ``htm``/``htu``,
``ath``, a ``jti`` never seen before, ``cnf.jkt``) or the presented certificate.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Optional

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from tornado.httpclient import AsyncHTTPClient

from tests.dpop_server import DPoPServer, running
from tests.interop._oidc import RESOURCE, OidcProvider
from tornado_alf import TornadoClient


@pytest.fixture
async def resource(oidc_provider: OidcProvider) -> AsyncIterator[DPoPServer]:
    """A resource over TLS (asking for a client certificate) that accepts the provider's JWTs."""
    jwks = await AsyncHTTPClient().fetch(f"{oidc_provider.issuer}/jwks")
    keys = KeySet.import_key_set(json.loads(jwks.body))
    registry = JWTClaimsRegistry(iss={"essential": True, "value": oidc_provider.issuer},
                                 aud={"essential": True, "value": RESOURCE}, exp={"essential": True})

    def cnf_of(token: str) -> Optional[dict[str, str]]:
        try:
            claims = jwt.decode(token, keys, algorithms=["RS256"]).claims
            registry.validate(claims)
        except (JoseError, ValueError):
            return None
        cnf = claims.get("cnf")
        return dict(cnf) if isinstance(cnf, dict) else {}

    pki = oidc_provider.pki
    async with running(DPoPServer(), (pki.server_cert, pki.server_key, pki.ca_cert)) as server:
        server.cnf_of = cnf_of
        yield server


async def test_dpop_with_nonces_at_the_token_endpoint_and_the_resource(
    oidc_provider: OidcProvider, resource: DPoPServer
) -> None:
    resource.resource_nonce = True
    client = TornadoClient(
        oidc_provider.token_endpoint, "dpop-client", oidc_provider.secrets["dpop-client"],
        resource=RESOURCE, dpop_key=True,
    )
    ca = str(oidc_provider.pki.ca_cert)
    try:
        for _ in range(5):
            response = await client.fetch(resource.resource_url, ca_certs=ca)
            assert json.loads(response.body) == {"scheme": "DPoP", "method": "GET"}
        stats = client.stats()
    finally:
        client.close()
    # oidc-provider asked for a nonce once; the token request was answered with it, no retry.
    assert (stats.token_requests, stats.retries, stats.token_request_failures) == (1, 0, 0)
    assert resource.nonce_challenges["resource"] == 1
    assert stats.reauthentications == 0
    assert resource.refusals == []
    assert resource.replayed_proofs == 0
    assert resource.resource_ok == 5


@pytest.mark.parametrize("dpop_key", ["ec-jwk", "rsa-pem-rs256", "rsa-jwk-ps256"])
async def test_each_key_type_oidc_provider_accepts(
    oidc_provider: OidcProvider, resource: DPoPServer, dpop_key: str
) -> None:
    keys: dict[str, Any] = {
        "ec-jwk": oidc_provider.ec_key.as_dict(private=True),
        "rsa-pem-rs256": oidc_provider.rsa_key.as_pem(private=True),
        "rsa-jwk-ps256": {**oidc_provider.rsa_key.as_dict(private=True), "alg": "PS256"},
    }
    client = TornadoClient(
        oidc_provider.token_endpoint, "dpop-client", oidc_provider.secrets["dpop-client"],
        resource=RESOURCE, dpop_key=keys[dpop_key],
    )
    try:
        response = await client.fetch(resource.resource_url, ca_certs=str(oidc_provider.pki.ca_cert))
    finally:
        client.close()
    assert response.code == 200
    assert resource.refusals == []
    assert resource.proofs[-1]["jkt"] == resource.proofs[0]["jkt"]


async def test_certificate_bound_token_is_presented_to_the_resource(
    oidc_provider: OidcProvider, resource: DPoPServer
) -> None:
    pki = oidc_provider.pki
    options = {"client_cert": str(pki.client_cert), "client_key": str(pki.client_key), "ca_certs": str(pki.ca_cert)}
    bound = TornadoClient(oidc_provider.mtls_token_endpoint, "mtls-bound-client", auth_method="tls_client_auth",
                          resource=RESOURCE, http_options=options, present_client_cert=True)
    unbound = TornadoClient(oidc_provider.mtls_token_endpoint, "mtls-bound-client", auth_method="tls_client_auth",
                            resource=RESOURCE, http_options=options)
    try:
        ok = await bound.fetch(resource.resource_url, ca_certs=str(pki.ca_cert))
        refused = await unbound.fetch(resource.resource_url, ca_certs=str(pki.ca_cert), raise_error=False)
    finally:
        bound.close()
        unbound.close()
    assert ok.code == 200
    assert refused.code == 401
    # The unbound client's request and its replay with a new token, both without the certificate.
    assert resource.refusals == ["certificate does not match cnf.x5t#S256"] * 2

