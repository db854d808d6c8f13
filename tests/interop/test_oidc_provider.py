"""tornado_alf against node oidc-provider, an independently written, certified OpenID provider.

Each auth method obtains a JWT access token for RESOURCE (oidc-provider issues one only
when exactly one ``resource`` is sent) and uses it on a resource server that verifies it
against the provider's published keys.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.interop._oidc import OTHER_RESOURCE, RESOURCE, OidcProvider
from tornado_alf import TokenError, TornadoClient


async def _call(client: TornadoClient, url: str) -> dict[str, Any]:
    try:
        response = await client.fetch(url)
    finally:
        client.close()
    body: dict[str, Any] = json.loads(response.body)
    return body


async def test_client_secret_basic(oidc_provider: OidcProvider, protected_resource: str) -> None:
    # The secret holds ':', '+', '%', ' ', '/', '&' and '=': RFC 6749 sec. 2.3.1 encoding
    # is what lets oidc-provider read it back.
    client = TornadoClient(
        oidc_provider.token_endpoint, "basic-client", oidc_provider.secrets["basic-client"],
        resource=RESOURCE, scope=["read", "not-a-known-scope"],
    )
    assert await _call(client, protected_resource) == {"client_id": "basic-client", "scope": "read"}


async def test_client_secret_post(oidc_provider: OidcProvider, protected_resource: str) -> None:
    client = TornadoClient(
        oidc_provider.token_endpoint, "post-client", oidc_provider.secrets["post-client"],
        auth_method="client_secret_post", resource=RESOURCE, scope="read write",
    )
    assert await _call(client, protected_resource) == {"client_id": "post-client", "scope": "read write"}


async def test_client_secret_jwt(oidc_provider: OidcProvider, protected_resource: str) -> None:
    client = TornadoClient(
        oidc_provider.token_endpoint, "jwt-client", oidc_provider.secrets["jwt-client"],
        auth_method="client_secret_jwt", resource=RESOURCE,
    )
    assert (await _call(client, protected_resource))["client_id"] == "jwt-client"


@pytest.mark.parametrize(
    ("key_form", "signing_alg", "private_key_id"),
    [
        ("rsa-pem", None, None),  # RS256, no kid: oidc-provider tries every registered key
        ("rsa-pem", "PS256", "rsa-1"),
        ("ec-jwk", None, None),  # ES256, kid "ec-1" taken from the JWK
    ],
)
async def test_private_key_jwt(
    oidc_provider: OidcProvider,
    protected_resource: str,
    key_form: str,
    signing_alg: str | None,
    private_key_id: str | None,
) -> None:
    private_key: Any = (
        oidc_provider.rsa_key.as_pem(private=True)
        if key_form == "rsa-pem"
        else oidc_provider.ec_key.as_dict(private=True)
    )
    client = TornadoClient(
        oidc_provider.token_endpoint, "private-key-client", auth_method="private_key_jwt",
        private_key=private_key, signing_alg=signing_alg, private_key_id=private_key_id,
        resource=RESOURCE,
    )
    assert (await _call(client, protected_resource))["client_id"] == "private-key-client"


async def test_tls_client_auth(oidc_provider: OidcProvider, protected_resource: str) -> None:
    pki = oidc_provider.pki
    client = TornadoClient(
        oidc_provider.mtls_token_endpoint, "mtls-client", auth_method="tls_client_auth",
        resource=RESOURCE,
        http_options={"client_cert": str(pki.client_cert), "client_key": str(pki.client_key),
                      "ca_certs": str(pki.ca_cert)},
    )
    assert (await _call(client, protected_resource))["client_id"] == "mtls-client"


async def test_tls_client_auth_with_an_untrusted_certificate_is_invalid_client(
    oidc_provider: OidcProvider, protected_resource: str
) -> None:
    pki = oidc_provider.pki
    client = TornadoClient(
        oidc_provider.mtls_token_endpoint, "mtls-client", auth_method="tls_client_auth",
        http_options={"client_cert": str(pki.stranger_cert), "client_key": str(pki.stranger_key),
                      "ca_certs": str(pki.ca_cert)},
    )
    with pytest.raises(TokenError) as caught:
        await _call(client, protected_resource)
    assert caught.value.error == "invalid_client"


async def test_none_auth_method_is_a_public_client(
    oidc_provider: OidcProvider, protected_resource: str
) -> None:
    client = TornadoClient(
        oidc_provider.token_endpoint, "public-client", auth_method="none", resource=RESOURCE
    )
    assert (await _call(client, protected_resource))["client_id"] == "public-client"


@pytest.mark.parametrize(
    ("client_id", "auth_method"),
    [("basic-client", "client_secret_basic"), ("post-client", "client_secret_post"),
     ("jwt-client", "client_secret_jwt")],
)
async def test_wrong_secret_is_invalid_client(
    oidc_provider: OidcProvider, protected_resource: str, client_id: str, auth_method: str
) -> None:
    client = TornadoClient(
        oidc_provider.token_endpoint, client_id, "wrong-" + oidc_provider.secrets[client_id],
        auth_method=auth_method,
    )
    with pytest.raises(TokenError) as caught:
        await _call(client, protected_resource)
    assert caught.value.error == "invalid_client"
    assert caught.value.code == 401
    assert oidc_provider.secrets[client_id] not in str(caught.value)


async def test_unregistered_private_key_is_invalid_client(
    oidc_provider: OidcProvider, protected_resource: str
) -> None:
    from joserfc.jwk import RSAKey

    client = TornadoClient(
        oidc_provider.token_endpoint, "private-key-client", auth_method="private_key_jwt",
        private_key=RSAKey.generate_key(2048).as_pem(private=True),
    )
    with pytest.raises(TokenError) as caught:
        await _call(client, protected_resource)
    assert caught.value.error == "invalid_client"


async def test_scope_the_client_may_not_have_is_invalid_scope(
    oidc_provider: OidcProvider, protected_resource: str
) -> None:
    client = TornadoClient(
        oidc_provider.token_endpoint, "basic-client", oidc_provider.secrets["basic-client"],
        scope="read admin",
    )
    with pytest.raises(TokenError) as caught:
        await _call(client, protected_resource)
    assert (caught.value.code, caught.value.error) == (400, "invalid_scope")
    assert caught.value.error_description == "requested scope is not allowed"


async def test_client_without_the_grant_is_refused(
    oidc_provider: OidcProvider, protected_resource: str
) -> None:
    # RFC 6749 sec. 5.2 would say unauthorized_client; oidc-provider says invalid_request.
    # Either way the caller reads the server's code from TokenError.error.
    client = TornadoClient(
        oidc_provider.token_endpoint, "code-client", oidc_provider.secrets["code-client"]
    )
    with pytest.raises(TokenError) as caught:
        await _call(client, protected_resource)
    assert (caught.value.code, caught.value.error) == (400, "invalid_request")
    assert caught.value.error_description == "requested grant type is not allowed for this client"


async def test_two_resources_are_sent_as_two_fields(
    oidc_provider: OidcProvider, protected_resource: str
) -> None:
    # oidc-provider refuses more than one resource for this grant: the refusal proves
    # both arrived as separate fields (RFC 8707 sec. 2).
    client = TornadoClient(
        oidc_provider.token_endpoint, "basic-client", oidc_provider.secrets["basic-client"],
        resource=[RESOURCE, OTHER_RESOURCE],
    )
    with pytest.raises(TokenError) as caught:
        await _call(client, protected_resource)
    assert caught.value.error == "invalid_target"
    assert "single resource" in (caught.value.error_description or "")


async def test_token_for_another_resource_is_refused_by_the_resource(
    oidc_provider: OidcProvider, protected_resource: str
) -> None:
    client = TornadoClient(
        oidc_provider.token_endpoint, "basic-client", oidc_provider.secrets["basic-client"],
        resource=OTHER_RESOURCE,
    )
    with pytest.raises(HTTPClientError) as caught:
        await _call(client, protected_resource)
    assert caught.value.code == 401


async def test_discovery_from_the_issuer(oidc_provider: OidcProvider, protected_resource: str) -> None:
    # oidc-provider serves only openid-configuration: the RFC 8414 document is a 404 first.
    client = await TornadoClient.from_issuer(
        oidc_provider.issuer, "jwt-client", oidc_provider.secrets["jwt-client"],
        allow_insecure_http=True, auth_method="client_secret_jwt", resource=RESOURCE,
    )
    assert (await _call(client, protected_resource))["client_id"] == "jwt-client"


async def test_discovery_picks_the_method_the_credentials_allow(
    oidc_provider: OidcProvider, protected_resource: str
) -> None:
    client = await TornadoClient.from_issuer(
        oidc_provider.issuer, "private-key-client", allow_insecure_http=True,
        private_key=oidc_provider.ec_key.as_dict(private=True), resource=RESOURCE,
    )
    assert (await _call(client, protected_resource))["client_id"] == "private-key-client"


async def test_discovery_over_plain_http_on_the_loopback_needs_no_opt_in(oidc_provider: OidcProvider) -> None:
    # Plain http is refused off the loopback only (tests/test_insecure_http.py): a local provider is fine.
    client = await TornadoClient.from_issuer(
        oidc_provider.issuer, "basic-client", oidc_provider.secrets["basic-client"]
    )
    try:
        assert (await client.get_token()).access_token
    finally:
        client.close()
