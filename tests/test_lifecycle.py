"""The token's life around rejections and shutdown, on real sockets and both HTTP clients.

Each test breaks one rule of the contract's Re-authentication and Caching
sections: invalidation after a failed refresh ahead, ``body_producer`` requests,
the re-authentication cool-down, ``close()`` with calls in flight, a request's
own ``Authorization`` header, and the refresh point of a token from a slow endpoint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Callable

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from tests.lifecycle_kit import HTTP_CLIENTS, client_for, leftover_tasks, new_http_client, servers, until
from tornado_alf import TokenError, TornadoClient
from tornado_alf._expiry import ExpiryPolicy
from tornado_alf._token import Token
from tornado_alf.testing import AuthServer


@pytest.fixture(params=HTTP_CLIENTS)
async def http_client(request: pytest.FixtureRequest) -> AsyncIterator[AsyncHTTPClient]:
    client = new_http_client(request.param)
    yield client
    client.close()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tornado_alf" and r.levelno == logging.WARNING]


async def test_a_401_after_a_failed_refresh_ahead_still_invalidates_the_token(
    http_client: AsyncHTTPClient,
) -> None:
    async with servers(expires_in=3) as (auth_server, resource):
        # No cool-down after the failed refresh: the 401s must be free to get a new token at once.
        client = client_for(auth_server, http_client, expiry_margin=0, refresh_ahead=0.1, failure_cooldown=0)
        assert (await client.fetch(resource.url)).code == 200
        await asyncio.sleep(0.35)  # past the refresh point
        auth_server.fail_next(status=503)  # the refresh ahead fails...
        resource.delay = 0.3  # ...while five requests with the current token are in flight
        auth_server.revoke_all()
        responses = await asyncio.gather(*(client.fetch(resource.url, raise_error=False) for _ in range(5)))
        # before: five 401s (each replay re-sent the rejected token), 2 token requests, 5 reauthentications
        assert [r.code for r in responses] == [200] * 5
        assert auth_server.token_requests == 3  # the first, the failed refresh, one after the 401s
        stats = client.stats()
        assert (stats.refresh_ahead_failed, stats.reauthentications) == (1, 5)
        rejected = {hit.token for hit in resource.hits if hit.status == 401}
        assert len(rejected) == 1
        assert not [hit for hit in resource.hits[-5:] if hit.token in rejected]  # replays carry the new token
        client.close()


async def test_reauthentications_count_only_replays_with_another_token(auth_server: AuthServer) -> None:
    # An endpoint that hands out the same token again: a replay would only repeat the 401.
    body = b'{"access_token": "same-token", "token_type": "Bearer", "expires_in": 3600}'
    auth_server.fail_next(times=2, status=200, body=body)
    client = client_for(auth_server)
    response = await client.fetch(auth_server.resource_url, raise_error=False)
    assert (response.code, auth_server.token_requests, auth_server.resource_requests) == (401, 2, 1)
    assert client.stats().reauthentications == 0
    client.close()


async def test_a_401_on_a_body_producer_request_invalidates_the_token_without_replay(
    auth_server: AuthServer,
) -> None:
    # simple_httpclient only, whatever the run's default: Tornado's curl_httpclient ignores body_producer.
    simple = SimpleAsyncHTTPClient(force_instance=True)
    client = client_for(auth_server, http_client=simple)
    await client.fetch(auth_server.resource_url)
    auth_server.revoke_all()
    written: list[int] = []

    async def produce(write: Callable[[bytes], Awaitable[None]]) -> None:  # see test_replay.produce
        written.append(1)
        await write(b"upload")

    codes = []
    for _ in range(4):
        request = HTTPRequest(auth_server.resource_url, method="PUT", body_producer=produce)  # type: ignore[arg-type]
        codes.append((await client.fetch(request, raise_error=False)).code)
    # before: [401, 401, 401, 401] and still 1 token request
    assert codes == [401, 200, 200, 200]
    assert (auth_server.token_requests, len(written), auth_server.resource_requests) == (2, 4, 5)
    assert client.stats().reauthentications == 0  # invalidated, never sent again
    client.close()
    simple.close()


async def test_a_resource_that_refuses_every_token_costs_one_token_request_per_cooldown(
    auth_server: AuthServer, http_client: AsyncHTTPClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(auth_server, http_client, scope="orders:read", audience="https://api.test")
    await client.fetch(auth_server.resource_url)
    auth_server.reject_all_tokens = True  # wrong audience, say: every token is refused
    codes = [(await client.fetch(auth_server.resource_url, raise_error=False)).code for _ in range(50)]
    assert codes == [401] * 50
    # before: 51 token requests after the first; now the first 401, its new token, and then quiet
    assert auth_server.token_requests == 2
    assert auth_server.resource_requests == 1 + 51
    stats = client.stats()
    assert (stats.reauthentications, stats.reauthentications_suppressed) == (1, 49)
    warned = warnings_of(caplog)
    assert len(warned) == 1
    assert "refused a freshly issued token" in warned[0]
    assert all(word in warned[0] for word in ("scope", "audience", "resource", "30 s"))
    client.close()


async def test_after_the_cooldown_one_rejection_gets_one_new_token_and_one_more_warning(
    auth_server: AuthServer, http_client: AsyncHTTPClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(auth_server, http_client, reauth_cooldown=0.3)
    auth_server.reject_all_tokens = True
    for _ in range(5):
        await client.fetch(auth_server.resource_url, raise_error=False)
    assert (auth_server.token_requests, len(warnings_of(caplog))) == (2, 1)
    await asyncio.sleep(0.35)
    for _ in range(5):
        await client.fetch(auth_server.resource_url, raise_error=False)
    assert (auth_server.token_requests, len(warnings_of(caplog))) == (3, 2)
    assert client.stats().reauthentications_suppressed == 8
    auth_server.reject_all_tokens = False  # the operator fixed the audience: the next cool-down end heals
    await asyncio.sleep(0.35)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    client.close()


async def test_a_token_the_resource_took_once_is_an_ordinary_token_when_revoked(
    auth_server: AuthServer, http_client: AsyncHTTPClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(auth_server, http_client)
    await client.fetch(auth_server.resource_url)
    for _ in range(3):
        auth_server.revoke_all()  # the token obtained after the last 401 was accepted: no cool-down
        assert (await client.fetch(auth_server.resource_url)).code == 200
    assert (auth_server.token_requests, warnings_of(caplog)) == (4, [])
    assert client.stats().reauthentications_suppressed == 0
    client.close()


async def test_reauth_cooldown_zero_asks_on_every_rejection(auth_server: AuthServer) -> None:
    client = client_for(auth_server, reauth_cooldown=0)
    auth_server.reject_all_tokens = True
    for _ in range(3):
        await client.fetch(auth_server.resource_url, raise_error=False)
    assert auth_server.token_requests == 1 + 3
    client.close()


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), "30", True, None])
def test_reauth_cooldown_must_be_seconds(value: object) -> None:
    with pytest.raises(ValueError, match="reauth_cooldown"):
        TornadoClient("https://as.test/token", "id", "secret", reauth_cooldown=value)  # type: ignore[arg-type]


async def test_close_stops_token_requests_of_calls_in_flight(http_client: AsyncHTTPClient) -> None:
    async with servers() as (auth_server, resource):
        client = client_for(auth_server, http_client)
        await client.fetch(resource.url)
        resource.delay = 0.3
        auth_server.revoke_all()  # the ten calls below will each get a 401
        calls = [asyncio.ensure_future(client.fetch(resource.url)) for _ in range(10)]
        await until(lambda: len(resource.hits) == 11)
        client.close()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        # before: ten 200s after one more token request and ten replays
        assert [getattr(o, "code", o) for o in outcomes] == [599] * 10
        assert all(isinstance(o, TokenError) for o in outcomes)
        assert (auth_server.token_requests, len(resource.hits)) == (1, 11)
        assert leftover_tasks() == []


async def test_close_fails_the_waiters_of_a_token_request_and_leaves_no_task(http_client: AsyncHTTPClient) -> None:
    async with servers(token_latency=0.3) as (auth_server, resource):
        client = client_for(auth_server, http_client)
        calls = [asyncio.ensure_future(client.fetch(resource.url)) for _ in range(5)]
        await until(lambda: auth_server.token_requests == 1)
        client.close()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert [getattr(o, "code", o) for o in outcomes] == [599] * 5
        assert (auth_server.token_requests, resource.hits) == (1, [])
        assert leftover_tasks() == []
        await asyncio.sleep(0.4)  # Tornado keeps the abandoned request's socket until the endpoint answers


async def test_close_during_a_refresh_ahead_leaves_no_task(auth_server: AuthServer) -> None:
    auth_server.expires_in = 3
    client = client_for(auth_server, expiry_margin=0, refresh_ahead=0.1)
    await client.fetch(auth_server.resource_url)
    await asyncio.sleep(0.35)
    auth_server.token_latency = 0.5
    await client.fetch(auth_server.resource_url)  # starts the refresh, does not wait for it
    await until(lambda: auth_server.token_requests == 2)
    client.close()
    await asyncio.sleep(0)  # the cancellation lands
    assert leftover_tasks() == []
    assert client.stats().refresh_ahead_failed == 0  # a cancelled refresh is not a failure
    await asyncio.sleep(0.6)  # Tornado keeps the abandoned request's socket until the endpoint answers


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Basic dXNlcjpwYXNz"}, {"authorization": "Bearer mine"}, {"AUTHORIZATION": ""}],
    ids=["basic", "lowercase", "empty"],
)
async def test_a_request_with_its_own_authorization_header_is_refused(
    auth_server: AuthServer, http_client: AsyncHTTPClient, headers: dict[str, str]
) -> None:
    client = client_for(auth_server, http_client)
    with pytest.raises(ValueError, match="Authorization") as raised:
        await client.fetch(auth_server.resource_url, headers=headers)
    assert "dXNlcjpwYXNz" not in str(raised.value)
    assert "mine" not in str(raised.value)
    with pytest.raises(ValueError, match="Authorization"):
        await client.fetch(HTTPRequest(auth_server.resource_url, headers=headers))
    # before: sent, with the Bearer token in place of the caller's header
    assert (auth_server.token_requests, auth_server.resource_requests) == (0, 0)
    client.close()


async def test_a_fresh_token_from_a_slow_endpoint_starts_no_refresh(
    auth_server: AuthServer, http_client: AsyncHTTPClient
) -> None:
    # 0.5 s to answer; usable 4 s from the request: the old rule put the refresh point at 0.4 s.
    auth_server.expires_in = 4
    auth_server.token_latency = 0.5
    client = client_for(auth_server, http_client, expiry_margin=0, refresh_ahead=0.1)
    await client.fetch(auth_server.resource_url)
    await client.fetch(auth_server.resource_url)
    await asyncio.sleep(0.2)  # room for a refresh ahead to reach the endpoint, were one started
    # before: 2 (the second fetch started a refresh the moment the token arrived)
    assert auth_server.token_requests == 1
    await asyncio.sleep(0.3)  # now past 0.5 s + 0.1 x 3.5 s from the arrival
    await client.fetch(auth_server.resource_url)  # due now: starts the refresh
    await until(lambda: client.stats().refresh_ahead_ok == 1)
    assert auth_server.token_requests == 2
    client.close()


def test_refresh_point_counts_from_arrival_and_for_a_stored_token_from_issue() -> None:
    policy = ExpiryPolicy(expiry_margin=0, refresh_ahead=0.5)
    token = Token("tok", expires_in=10, issued_at=1_000.0)
    # Arrived just now, 4 s after it was asked for: half way from now to its end.
    arrived = policy.schedule(token, monotonic_now=104.0, wall_now=1_004.0, arrived=True)
    assert (arrived.use_until, arrived.refresh_at) == (110.0, 107.0)
    # Read from a store: when it reached the store is unknown, its issue stands in.
    stored = policy.schedule(token, monotonic_now=104.0, wall_now=1_004.0)
    assert (stored.use_until, stored.refresh_at) == (110.0, 105.0)
