"""TornadoClient.get_token and token_endpoint: the token fetch would send, for other transports."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tornado_alf import Token, TokenError, TornadoClient
from tornado_alf.testing import AuthServer


async def test_get_token_returns_the_token_the_server_issued(auth_server: AuthServer, client: TornadoClient) -> None:
    token = await client.get_token()
    assert isinstance(token, Token)
    assert token.access_token in auth_server.issued
    assert token.token_type == "Bearer"
    assert auth_server.token_requests == 1


async def test_get_token_and_fetch_share_one_token(auth_server: AuthServer, client: TornadoClient) -> None:
    tokens = await asyncio.gather(*(client.get_token() for _ in range(50)))
    await client.fetch(auth_server.resource_url)
    assert {token.access_token for token in tokens} == set(auth_server.issued)
    assert auth_server.last_resource_authorization == "Bearer " + tokens[0].access_token
    assert auth_server.token_requests == 1


async def test_get_token_raises_token_error_for_a_refused_client(auth_server: AuthServer) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, "wrong")
    with pytest.raises(TokenError) as caught:
        await client.get_token()
    assert caught.value.error == "invalid_client"
    client.close()


async def test_get_token_after_close_is_refused(client: TornadoClient) -> None:
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_token()


def test_token_endpoint_is_the_url_given(auth_server: AuthServer) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    assert client.token_endpoint == auth_server.token_endpoint
