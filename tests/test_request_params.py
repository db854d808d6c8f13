"""Token request parameters (scope, audience, RFC 8707 resource, extras) and the RFC 6749 error body."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tornado_alf import MemoryTokenStore, TokenError, TornadoClient
from tornado_alf.testing import AuthServer


async def _form_sent(auth_server: AuthServer, **kwargs: Any) -> dict[str, list[str]]:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, **kwargs)
    await client.fetch(auth_server.resource_url)
    client.close()
    form: dict[str, list[str]] = auth_server.token_request_log[-1]["form"]
    return form


async def test_scope_audience_and_repeated_resources_are_form_fields(auth_server: AuthServer) -> None:
    form = await _form_sent(
        auth_server,
        scope=["read", "write"],
        audience="https://api.tornado-alf.test",
        resource=["https://a.tornado-alf.test", "https://b.tornado-alf.test"],
        token_request_params={"tenant": "t1", "claims": ["x", "y"]},
    )
    assert form == {
        "grant_type": ["client_credentials"],
        "scope": ["read write"],
        "audience": ["https://api.tornado-alf.test"],
        "resource": ["https://a.tornado-alf.test", "https://b.tornado-alf.test"],
        "tenant": ["t1"],
        "claims": ["x", "y"],
    }


async def test_a_single_resource_string_is_one_field(auth_server: AuthServer) -> None:
    form = await _form_sent(auth_server, resource="https://a.tornado-alf.test")
    assert form["resource"] == ["https://a.tornado-alf.test"]


@pytest.mark.parametrize("name", ["audience", "resource"])
def test_a_param_given_twice_is_refused(name: str) -> None:
    as_argument: dict[str, Any] = {name: "y"}
    with pytest.raises(ValueError, match=f"{name} is given both as an argument and in token_request_params"):
        TornadoClient(
            "https://as.tornado-alf.test/token", CLIENT_ID, CLIENT_SECRET,
            token_request_params={name: "x"}, **as_argument,
        )


async def test_each_combination_of_params_has_its_own_token(auth_server: AuthServer) -> None:
    store = MemoryTokenStore()

    async def fetch_with(**kwargs: Any) -> None:
        client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_storage=store, **kwargs)
        await client.fetch(auth_server.resource_url)
        client.close()

    await fetch_with(resource="https://a.tornado-alf.test")
    await fetch_with(resource="https://a.tornado-alf.test")  # from the shared store
    assert auth_server.token_requests == 1
    await fetch_with(resource="https://b.tornado-alf.test")
    await fetch_with(resource=["https://a.tornado-alf.test", "https://b.tornado-alf.test"])
    await fetch_with(resource="https://a.tornado-alf.test", audience="x")
    await fetch_with(resource="https://a.tornado-alf.test", scope="read")
    assert auth_server.token_requests == 5


@pytest.mark.parametrize("status", [400, 401, 403, 500])
@pytest.mark.parametrize(
    "error",
    ["invalid_client", "invalid_scope", "unauthorized_client", "invalid_grant", "invalid_target"],
)
async def test_rfc6749_error_body_surfaces_whatever_the_status(
    auth_server: AuthServer, status: int, error: str
) -> None:
    body = {"error": error, "error_description": "told by the server", "error_uri": "https://as.test/errors/1"}
    auth_server.fail_next(status=status, body=json.dumps(body).encode())
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    with pytest.raises(TokenError) as caught:
        await client.fetch(auth_server.resource_url)
    err = caught.value
    assert (err.code, err.error, err.error_description, err.error_uri) == (
        status, error, "told by the server", "https://as.test/errors/1"
    )
    assert auth_server.resource_requests == 0
    client.close()
