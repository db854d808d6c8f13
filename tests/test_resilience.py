"""When the token endpoint struggles: stale-token grace and the fail-fast cool-down, on real sockets.

Time is compressed: tokens live a second or two, cool-downs last tenths of a second.
Every count is the authorization server's own (requests it received, tokens it
accepted); nothing reads the client's internals.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable

import pytest

from tests.doubles import CLIENT_SECRET, refused_url
from tornado_alf import Retry, TokenError, TornadoClient
from tornado_alf.testing import AuthServer

MakeClient = Callable[..., TornadoClient]
ALWAYS = 10_000  # fail_next(ALWAYS): the endpoint is down for the rest of the test


def grace_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage() for record in caplog.records
        if record.name == "tornado_alf" and record.levelno == logging.WARNING
        and "until it expires" in record.getMessage()
    ]


@pytest.fixture
def short_tokens(auth_server: AuthServer) -> AuthServer:
    """Tokens of 1.2 s that the resource refuses once expired: a margin of 0.6 s is the grace."""
    auth_server.expires_in = 1.2
    auth_server.enforce_expiry = True
    return auth_server


async def past_the_margin(client: TornadoClient, server: AuthServer) -> None:
    """Get a token, let the endpoint fail from now on, and wait until the token is inside its margin."""
    await client.fetch(server.resource_url)
    server.fail_next(ALWAYS, status=503)
    await asyncio.sleep(0.75)  # used until 0.6 s (1.2 - min(30, 1.2 / 2)); expires at 1.2 s


# --- 1. stale-token grace ------------------------------------------------------------------------


async def test_a_token_in_its_margin_serves_until_its_real_expiry_when_the_endpoint_fails(
    short_tokens: AuthServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(refresh_ahead=None)
    await past_the_margin(client, short_tokens)
    responses = [await client.fetch(short_tokens.resource_url) for _ in range(5)]
    assert [response.code for response in responses] == [200] * 5
    assert short_tokens.token_requests == 2  # the first token, then one failed request
    assert short_tokens.rejected_requests == 0
    assert len(grace_warnings(caplog)) == 1


async def test_grace_never_goes_past_the_real_expiry(short_tokens: AuthServer, make_client: MakeClient) -> None:
    client = make_client(refresh_ahead=None, failure_cooldown=0)
    await past_the_margin(client, short_tokens)
    assert (await client.fetch(short_tokens.resource_url)).code == 200
    await asyncio.sleep(0.6)  # now past the 1.2 s the endpoint gave
    with pytest.raises(TokenError) as caught:
        await client.fetch(short_tokens.resource_url)
    assert caught.value.code == 503
    assert short_tokens.rejected_requests == 0  # an expired token was never sent


async def test_a_refresh_ahead_that_fails_leaves_the_token_serving_through_its_margin(
    short_tokens: AuthServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(refresh_ahead=0.3, failure_cooldown=0)
    await past_the_margin(client, short_tokens)
    for _ in range(10):
        assert (await client.fetch(short_tokens.resource_url)).code == 200
        await asyncio.sleep(0.02)
    assert short_tokens.rejected_requests == 0
    assert len(grace_warnings(caplog)) == 1


@pytest.mark.parametrize(("status", "body"), [
    (400, b'{"error": "invalid_client"}'),
    (401, b'{"error": "invalid_client"}'),
])
async def test_no_grace_when_the_endpoint_refuses_the_client(
    short_tokens: AuthServer, make_client: MakeClient, status: int, body: bytes
) -> None:
    client = make_client(refresh_ahead=None)
    await client.fetch(short_tokens.resource_url)
    short_tokens.fail_next(ALWAYS, status=status, body=body)
    await asyncio.sleep(0.75)
    with pytest.raises(TokenError) as caught:
        await client.fetch(short_tokens.resource_url)
    assert caught.value.code == status


async def test_grace_can_be_turned_off(short_tokens: AuthServer, make_client: MakeClient) -> None:
    client = make_client(refresh_ahead=None, stale_token_grace=False)
    await past_the_margin(client, short_tokens)
    with pytest.raises(TokenError):
        await client.fetch(short_tokens.resource_url)


# --- 2. fail fast during a cool-down --------------------------------------------------------------


async def test_calls_during_the_cool_down_fail_at_once_with_a_repeat_of_the_error(
    auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.fail_next(ALWAYS, status=503)
    client = make_client(failure_cooldown=60, token_retry=Retry(total=2, backoff_factor=0.001))
    with pytest.raises(TokenError) as first:
        await client.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 3  # one retry sequence
    results = await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(50)),
                                   return_exceptions=True)
    assert auth_server.token_requests == 3  # and none more
    assert all(isinstance(result, TokenError) and result.code == 503 for result in results)
    text = str(results[0])
    assert "repeat" in text
    assert "cool-down" in text
    assert "60" in text or "59" in text  # how long it lasts
    assert "repeat" not in str(first.value)


async def test_after_the_cool_down_the_next_call_asks_again(auth_server: AuthServer, make_client: MakeClient) -> None:
    auth_server.fail_next(1, status=503)
    client = make_client(failure_cooldown=0.2)
    with pytest.raises(TokenError):
        await client.fetch(auth_server.resource_url)
    with pytest.raises(TokenError):
        await client.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 1
    await asyncio.sleep(0.3)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 2


async def test_no_answer_at_all_is_cooled_down_too(make_client: MakeClient) -> None:
    client = make_client(token_endpoint=refused_url(), failure_cooldown=60)
    with pytest.raises(TokenError) as first:
        await client.fetch("http://127.0.0.1:1/")
    with pytest.raises(TokenError) as second:
        await client.fetch("http://127.0.0.1:1/")
    assert first.value.code == second.value.code == 599
    assert "repeat" in str(second.value)


@pytest.mark.parametrize(("retry_after", "backoff_max", "still_cooling"), [
    ("1", 120.0, True),   # Retry-After (1 s) wins over the 0.1 s cool-down
    ("100", 0.2, False),  # capped by backoff_max
])
async def test_retry_after_sets_the_cool_down_capped_by_backoff_max(
    auth_server: AuthServer, make_client: MakeClient, retry_after: str, backoff_max: float, still_cooling: bool
) -> None:
    auth_server.fail_next(1, status=429, headers={"Retry-After": retry_after})
    client = make_client(failure_cooldown=0.1, token_retry=Retry(total=0, backoff_max=backoff_max))
    with pytest.raises(TokenError):
        await client.fetch(auth_server.resource_url)
    await asyncio.sleep(0.4)
    if still_cooling:
        with pytest.raises(TokenError, match="repeat"):
            await client.fetch(auth_server.resource_url)
        assert auth_server.token_requests == 1
    else:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert auth_server.token_requests == 2


@pytest.mark.parametrize(("status", "body"), [
    (401, b'{"error": "invalid_client"}'),
    (400, b'{"error": "invalid_scope"}'),
    (403, b""),
])
async def test_a_client_error_is_never_cooled_down(
    auth_server: AuthServer, make_client: MakeClient, status: int, body: bytes
) -> None:
    auth_server.fail_next(1, status=status, body=body)
    client = make_client(failure_cooldown=60)
    with pytest.raises(TokenError):
        await client.fetch(auth_server.resource_url)
    assert (await client.fetch(auth_server.resource_url)).code == 200  # fixed at the server: seen at once
    assert auth_server.token_requests == 2


async def test_a_valid_token_is_unaffected_by_a_cool_down(auth_server: AuthServer, make_client: MakeClient) -> None:
    auth_server.expires_in = 2
    client = make_client(refresh_ahead=0.05, failure_cooldown=60)
    await client.fetch(auth_server.resource_url)
    auth_server.fail_next(ALWAYS, status=503)
    responses = []
    for _ in range(5):  # from 0.15 s to 0.75 s: refresh ahead is due, the token is used until 1 s
        await asyncio.sleep(0.15)
        responses += await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(10)))
    assert {response.code for response in responses} == {200}
    assert auth_server.token_requests == 2  # the token, then one refresh ahead; the cool-down holds the rest


@pytest.mark.parametrize(("argument", "value"), [
    ("failure_cooldown", -1), ("failure_cooldown", float("nan")), ("failure_cooldown", "5"),
    ("stale_token_grace", "yes"),
])
def test_bad_settings_are_refused_naming_the_argument(
    auth_server: AuthServer, make_client: MakeClient, argument: str, value: Any
) -> None:
    with pytest.raises((ValueError, TypeError), match=argument):
        make_client(**{argument: value})


async def test_a_repeat_shows_no_more_than_the_failure_it_repeats(
    auth_server: AuthServer, make_client: MakeClient
) -> None:
    body = json.dumps({"error": "temporarily_unavailable", "error_description": f"bad secret {CLIENT_SECRET}"})
    auth_server.fail_next(1, status=503, body=body.encode())
    client = make_client(failure_cooldown=60)
    with pytest.raises(TokenError) as first:
        await client.fetch(auth_server.resource_url)
    with pytest.raises(TokenError) as repeat:
        await client.fetch(auth_server.resource_url)
    assert repeat.value.error == first.value.error == "temporarily_unavailable"
    assert repeat.value.error_description == first.value.error_description == "bad secret [hidden]"
    for text in (str(repeat.value), repr(repeat.value), str(repeat.value.args)):
        assert CLIENT_SECRET not in text
        assert "repeat" in text
