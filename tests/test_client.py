"""TornadoClient.fetch: the AsyncHTTPClient.fetch contract and the bearer token (replays: test_replay.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Generator
from typing import Any

import pytest
from tornado import gen
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.doubles import refused_url
from tornado_alf import TokenError, TornadoClient
from tornado_alf.testing import AuthServer


def bearer_of(server: AuthServer) -> str:
    authorization = server.last_resource_authorization
    assert authorization is not None
    return authorization


async def test_fetch_url_sends_the_issued_token_as_bearer(auth_server: AuthServer, client: TornadoClient) -> None:
    response = await client.fetch(auth_server.resource_url)
    assert response.code == 200
    scheme, token = bearer_of(auth_server).split(" ")
    assert scheme == "Bearer"
    assert token in auth_server.issued
    assert auth_server.token_requests == 1


async def test_fetch_url_kwargs_build_the_request(auth_server: AuthServer, client: TornadoClient) -> None:
    response = await client.fetch(auth_server.resource_url, method="POST", body='{"a": 1}')
    assert response.code == 200
    assert b'"method": "POST"' in response.body
    assert b'{\\"a\\": 1}' in response.body


async def test_kwargs_with_an_httprequest_raise_value_error_like_tornado(
    auth_server: AuthServer, client: TornadoClient
) -> None:
    request = HTTPRequest(auth_server.resource_url)
    with pytest.raises(ValueError, match="kwargs can't be used if request is an HTTPRequest object"):
        await client.fetch(request, method="POST")
    with pytest.raises(ValueError, match="kwargs can't be used if request is an HTTPRequest object"):
        await AsyncHTTPClient().fetch(request, method="POST")
    assert auth_server.token_requests == 0


async def test_a_callers_authorization_is_refused_not_replaced(auth_server: AuthServer, client: TornadoClient) -> None:
    with pytest.raises(ValueError, match="Authorization header"):
        await client.fetch(auth_server.resource_url, headers={"authorization": "Basic dXNlcjpwYXNz"})
    assert auth_server.resource_requests == 0


async def test_scheme_is_spelled_bearer_whatever_the_endpoint_said(auth_server: AuthServer) -> None:
    body = b'{"access_token": "tok-lower", "token_type": "bEaReR", "expires_in": 60}'
    auth_server.fail_next(status=200, body=body)
    auth_server.issued["tok-lower"] = float("inf")
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    await client.fetch(auth_server.resource_url)
    assert bearer_of(auth_server) == "Bearer tok-lower"


@pytest.mark.parametrize(
    "kwargs", [{"auth_username": "u", "auth_password": "p"}], ids=["auth_username"]
)
async def test_request_with_its_own_credentials_is_refused(
    auth_server: AuthServer, client: TornadoClient, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="auth_username"):
        await client.fetch(auth_server.resource_url, **kwargs)
    userinfo_url = auth_server.resource_url.replace("http://", "http://user:pw@")
    with pytest.raises(ValueError, match="user info"):
        await client.fetch(userinfo_url)
    assert auth_server.resource_requests == 0


async def test_raise_error_true_raises_http_client_error(auth_server: AuthServer, client: TornadoClient) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await client.fetch(auth_server.resource_url + "/status/404")
    assert caught.value.code == 404
    assert not isinstance(caught.value, TokenError)
    assert caught.value.response is not None


async def test_raise_error_false_returns_the_response(auth_server: AuthServer, client: TornadoClient) -> None:
    response = await client.fetch(auth_server.resource_url + "/status/503", raise_error=False)
    assert isinstance(response, HTTPResponse)
    assert response.code == 503


async def test_network_failure_of_the_resource_propagates_as_tornado_raises(
    auth_server: AuthServer, client: TornadoClient
) -> None:
    url = refused_url("/")
    with pytest.raises(Exception) as raw:  # noqa: PT011 - whatever Tornado raises, we raise too
        await AsyncHTTPClient().fetch(url, raise_error=False)
    with pytest.raises(type(raw.value)):
        await client.fetch(url, raise_error=False)


@pytest.mark.parametrize("raise_error", [True, False])
async def test_token_failure_raises_token_error_and_sends_nothing(
    auth_server: AuthServer, client: TornadoClient, raise_error: bool
) -> None:
    auth_server.fail_next(status=500)
    with pytest.raises(TokenError) as caught:
        await client.fetch(auth_server.resource_url, raise_error=raise_error)
    assert caught.value.code == 500
    assert auth_server.resource_requests == 0


async def test_thousand_concurrent_cold_fetches_make_one_token_request(
    auth_server: AuthServer, client: TornadoClient
) -> None:
    responses = await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(1000)))
    assert {response.code for response in responses} == {200}
    assert auth_server.token_requests == 1
    assert len(set(auth_server.issued)) == 1


async def test_yieldable_inside_gen_coroutine(auth_server: AuthServer, client: TornadoClient) -> None:
    @gen.coroutine
    def legacy_handler() -> Generator[Any, Any, int]:
        response: HTTPResponse = yield client.fetch(auth_server.resource_url)
        return response.code

    assert await legacy_handler() == 200


async def test_custom_http_client_is_used_for_token_and_resource_and_never_closed(
    auth_server: AuthServer,
) -> None:
    http_client = SimpleAsyncHTTPClient(force_instance=True, defaults={"user_agent": "custom-agent/1"})
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, http_client=http_client)
    await client.fetch(auth_server.resource_url)
    assert auth_server.token_request_log[0]["headers"]["User-Agent"] == "custom-agent/1"
    client.close()
    response = await http_client.fetch(auth_server.resource_url, raise_error=False)  # still open
    assert response.code == 401
    http_client.close()


async def test_fetch_after_close_is_refused(auth_server: AuthServer, client: TornadoClient) -> None:
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.fetch(auth_server.resource_url)
    response = await AsyncHTTPClient().fetch(auth_server.resource_url, raise_error=False)
    assert response.code == 401  # Tornado's shared client is left open


def test_client_created_before_the_loop_runs_works_on_it() -> None:
    script = """
import asyncio
from tornado.testing import bind_unused_port
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer

probe, port = bind_unused_port()
probe.close()
# At import time: no IOLoop exists yet.
client = TornadoClient(f"http://127.0.0.1:{port}/token", "id", "secret")

async def main():
    async with AuthServer("id", "secret").start(port) as server:
        response = await client.fetch(server.resource_url)
        print(response.code, server.token_requests)

asyncio.run(main())
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.stdout.split() == ["200", "1"], result.stderr


def test_repr_shows_state_never_the_secret_or_token(auth_server: AuthServer) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    assert CLIENT_SECRET not in repr(client)
    assert "no token" in repr(client)


async def test_repr_after_a_token_hides_it(auth_server: AuthServer, client: TornadoClient) -> None:
    await client.fetch(auth_server.resource_url)
    text = repr(client) + str(client)
    assert "valid" in text
    assert not any(token in text for token in auth_server.issued)
    assert CLIENT_SECRET not in text
