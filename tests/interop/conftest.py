"""Fixtures: one node oidc-provider per session and a resource server that trusts it."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from joserfc.jwk import KeySet
from tornado.httpclient import AsyncHTTPClient
from tornado.web import Application

from tests._serve import serve
from tests.interop._oidc import JwtResource, OidcProvider, run_oidc_provider


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """One oidc-provider process for the session, configured with generated credentials."""
    with run_oidc_provider(tmp_path_factory.mktemp("oidc-provider")) as provider:
        yield provider


@pytest.fixture
async def protected_resource(oidc_provider: OidcProvider) -> AsyncIterator[str]:
    """URL of a resource that checks tokens against oidc-provider's published JWKS."""
    jwks = await AsyncHTTPClient().fetch(f"{oidc_provider.issuer}/jwks")
    keys = KeySet.import_key_set(json.loads(jwks.body))
    app = Application([(r"/api", JwtResource, {"keys": keys, "issuer": oidc_provider.issuer})])
    async with serve(app) as origin:
        yield f"{origin}/api"


@pytest.fixture(autouse=True)
def no_interop_secret_in_logs(
    caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Fail a test during which a log record shows a secret registered with oidc-provider."""
    caplog.set_level(logging.DEBUG)
    yield
    if "oidc_provider" not in request.fixturenames:
        return
    provider: OidcProvider = request.getfixturevalue("oidc_provider")
    for record in caplog.records:
        text = record.getMessage()
        assert not any(secret in text for secret in provider.secrets.values()), (
            f"log record from {record.name} leaks a client secret"
        )
