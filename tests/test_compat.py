"""Code written for the original tornado-alf (``tornadoalf``) runs unchanged on the shim."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Generator
from typing import Any

import pytest
from tornado import gen
from tornado.httpclient import HTTPClientError, HTTPResponse

import tornado_alf
from tornado_alf.testing import AuthServer

LEGACY_ID = "legacy-client"
# '@' and ' ' are form-encoded by RFC 6749 sec. 2.3.1; the original sent them raw.
LEGACY_SECRET = "p@ss word"


@pytest.fixture
async def server() -> AsyncIterator[AuthServer]:
    async with AuthServer(LEGACY_ID, LEGACY_SECRET) as server:
        yield server


def legacy_client(server: AuthServer, secret: str = LEGACY_SECRET) -> Any:
    from tornadoalf.client import Client

    with pytest.deprecated_call():
        return Client(token_endpoint=server.token_endpoint, client_id=LEGACY_ID, client_secret=secret)


async def test_the_original_readme_example_runs_unchanged(server: AuthServer) -> None:
    # The original README's "Usage", with this server's URLs in place of example.com.
    from tornadoalf.client import Client

    with pytest.deprecated_call():
        client = Client(
            token_endpoint=server.token_endpoint,
            client_id=LEGACY_ID,
            client_secret=LEGACY_SECRET)

    resource_uri = server.resource_url

    @gen.coroutine
    def usage() -> Generator[Any, Any, HTTPResponse]:
        response = yield client.fetch(resource_uri,
            method='POST', body='{"name": "alf"}',
            headers={'Content-Type': 'application/json'})
        assert isinstance(response, HTTPResponse)
        return response

    response = await usage()
    assert response.code == 200
    assert json.loads(response.body) == {"method": "POST", "path": "/resource", "body": '{"name": "alf"}'}
    assert server.token_requests == 1
    client.close()


async def test_credentials_go_as_raw_basic_like_the_original(server: AuthServer) -> None:
    client = legacy_client(server)
    await client.fetch(server.resource_url)
    raw = base64.b64encode(f"{LEGACY_ID}:{LEGACY_SECRET}".encode()).decode()
    assert server.token_request_log[0]["headers"]["Authorization"] == "Basic " + raw
    client.close()


def test_construction_warns_and_names_the_new_import() -> None:
    from tornadoalf.client import Client

    with pytest.warns(DeprecationWarning, match="from tornado_alf import TornadoClient") as caught:
        Client("id", "secret", "https://auth.example.com/token")
    assert caught[0].filename == __file__  # points at the caller's line


async def test_positional_arguments_keep_the_original_order(server: AuthServer) -> None:
    from tornadoalf.client import Client

    with pytest.deprecated_call():
        client = Client(LEGACY_ID, LEGACY_SECRET, server.token_endpoint, {"user_agent": "legacy-app/1.0"})
    assert (await client.fetch(server.resource_url)).code == 200
    assert server.token_request_log[0]["headers"]["User-Agent"] == "legacy-app/1.0"  # http_options reached it
    client.close()


async def test_a_401_gets_a_new_token_and_is_replayed_once(server: AuthServer) -> None:
    client = legacy_client(server)
    await client.fetch(server.resource_url)
    server.revoke_all()
    response = await client.fetch(server.resource_url)
    assert response.code == 200
    assert (server.token_requests, server.rejected_requests, server.resource_requests) == (2, 1, 3)
    client.close()


async def test_a_second_401_is_returned_or_raised(server: AuthServer) -> None:
    client = legacy_client(server)
    server.reject_all_tokens = True
    response = await client.fetch(server.resource_url, raise_error=False)
    assert response.code == 401
    with pytest.raises(HTTPClientError) as caught:
        await client.fetch(server.resource_url)
    assert caught.value.code == 401
    # The first fetch: first try and one replay with a new token, refused too; the second
    # returns its 401 as it is (reauth_cooldown: the resource refuses what the endpoint issues).
    assert (server.rejected_requests, server.token_requests) == (3, 2)
    client.close()


async def test_token_error_surfaces_under_every_old_name(server: AuthServer) -> None:
    from tornadoalf.manager import TokenError, TokenHTTPError
    from tornadoalf.token import TokenError as TokenErrorFromToken

    client = legacy_client(server, secret="wrong")
    with pytest.raises(TokenHTTPError) as caught:
        await client.fetch(server.resource_url)
    error = caught.value
    assert isinstance(error, TokenError)
    assert isinstance(error, TokenErrorFromToken)
    assert isinstance(error, tornado_alf.TokenError)
    assert (error.code, error.error) == (401, "invalid_client")
    assert error.response is not None
    assert server.resource_requests == 0  # the resource request was not sent
    client.close()


async def test_a_callback_is_refused_clearly(server: AuthServer) -> None:
    client = legacy_client(server)
    with pytest.raises(TypeError, match=r"await client\.fetch"):
        await client.fetch(server.resource_url, callback=print)
    with pytest.raises(TypeError, match="Tornado 6 removed callbacks"):
        await client.fetch(server.resource_url, print)  # tornado-alf 0.x's positional callback
    assert (server.token_requests, server.resource_requests) == (0, 0)
    client.close()


async def test_token_manager_gets_caches_and_resets(server: AuthServer) -> None:
    from tornadoalf.manager import TokenManager

    with pytest.warns(DeprecationWarning, match="get_token"):
        manager = TokenManager(server.token_endpoint, LEGACY_ID, LEGACY_SECRET)
    assert not manager._has_token()
    first = await manager.get_token()
    assert first in server.issued
    assert manager._has_token()
    assert await manager.get_token() == first
    assert server.token_requests == 1
    manager.reset_token()  # tornado-alf 0.x: a plain call
    assert not manager._has_token()
    second = await manager.get_token()
    await manager.reset_token()  # tornado-alf 1.x: awaited
    third = await manager.get_token()
    assert len({first, second, third}) == 3
    assert server.token_requests == 3
    assert first not in repr(manager)


async def test_token_manager_raises_token_error(server: AuthServer) -> None:
    from tornadoalf.manager import TokenError, TokenManager

    with pytest.deprecated_call():
        manager = TokenManager(server.token_endpoint, LEGACY_ID, "wrong")
    with pytest.raises(TokenError):
        await manager.get_token()
    assert not manager._has_token()


def test_token_value_is_valid_until_it_expires() -> None:
    from tornadoalf.token import Token

    assert not Token().is_valid()
    assert Token("abc", expires_in=60).is_valid()
    assert not Token("abc", expires_in=0).is_valid()
    assert Token("abc", expires_in=None).is_valid()
    assert "abc" not in repr(Token("abc", expires_in=60))
