"""Rotating keys and platform-issued client assertions against node oidc-provider.

oidc-provider refuses a replayed assertion ``jti``: each token request below succeeds only
if the client read the file again after it was replaced.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.interop._oidc import RESOURCE, OidcProvider
from tornado_alf import FileSecret, TokenError, TornadoClient

CLIENT = "private-key-client"


def write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(text)
    os.replace(temporary, path)


def platform_assertion(provider: OidcProvider) -> str:
    """A client assertion as a platform would mint it for the registered key (kid rsa-1)."""
    now = int(time.time())
    claims = {"iss": CLIENT, "sub": CLIENT, "aud": provider.token_endpoint, "iat": now, "exp": now + 300,
              "jti": secrets.token_urlsafe(12)}
    token: str = jwt.encode({"alg": "RS256", "kid": "rsa-1"}, claims, provider.rsa_key)
    return token


async def subject_of(client: TornadoClient, url: str) -> str:
    response = await client.fetch(url)
    result: str = json.loads(response.body)["client_id"]
    return result


async def test_a_client_assertion_file_replaced_between_token_requests(
    oidc_provider: OidcProvider, protected_resource: str, tmp_path: Path
) -> None:
    path = tmp_path / "federated-token"
    client = TornadoClient(oidc_provider.token_endpoint, CLIENT, client_assertion=FileSecret(path),
                           resource=RESOURCE, max_token_lifetime=0.05)
    for _ in range(3):
        write(path, platform_assertion(oidc_provider))
        assert await subject_of(client, protected_resource) == CLIENT
        await asyncio.sleep(0.06)  # past max_token_lifetime: the next call needs a token request
    stats = client.stats()
    client.close()
    assert stats.token_requests == 3


async def test_a_replayed_assertion_is_refused_by_oidc_provider(
    oidc_provider: OidcProvider, protected_resource: str, tmp_path: Path
) -> None:
    # The control for the test above: the same file twice is refused (jti replay).
    path = tmp_path / "federated-token"
    write(path, platform_assertion(oidc_provider))
    client = TornadoClient(oidc_provider.token_endpoint, CLIENT, client_assertion=FileSecret(path),
                           resource=RESOURCE, max_token_lifetime=0.05)
    await subject_of(client, protected_resource)
    await asyncio.sleep(0.06)
    with pytest.raises(TokenError) as caught:
        await subject_of(client, protected_resource)
    client.close()
    assert caught.value.error == "invalid_client"


async def test_a_fresh_assertion_from_an_async_callable(
    oidc_provider: OidcProvider, protected_resource: str
) -> None:
    async def github_oidc() -> str:
        await asyncio.sleep(0)  # as if fetched from the platform's token endpoint
        return platform_assertion(oidc_provider)

    client = TornadoClient(oidc_provider.token_endpoint, CLIENT, client_assertion=github_oidc, resource=RESOURCE)
    assert await subject_of(client, protected_resource) == CLIENT
    client.close()


async def test_a_private_key_file_rotated_to_the_registered_key(
    oidc_provider: OidcProvider, protected_resource: str, tmp_path: Path
) -> None:
    path = tmp_path / "client-key.pem"
    write(path, RSAKey.generate_key(2048).as_pem(private=True).decode())  # not registered: refused
    client = TornadoClient(oidc_provider.token_endpoint, CLIENT, auth_method="private_key_jwt",
                           private_key=FileSecret(path), private_key_id="rsa-1", resource=RESOURCE)
    with pytest.raises(TokenError) as caught:
        await client.get_token()
    write(path, oidc_provider.rsa_key.as_pem(private=True).decode())
    assert await subject_of(client, protected_resource) == CLIENT
    client.close()
    assert caught.value.error == "invalid_client"
