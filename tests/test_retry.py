"""Retry of token requests: urllib3's schedule as pure arithmetic, then which statuses, network failures
and Retry-After waits are retried against real servers."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time

import pytest
import urllib3
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.doubles import client_for
from tests.faultkit import FAST, RawServer, reply, token_error
from tornado_alf import Retry, TokenError, TornadoClient
from tornado_alf._token_endpoint import TokenEndpoint
from tornado_alf._token_request import form_fields
from tornado_alf.auth.plain import ClientSecretBasic
from tornado_alf.retry import parse_retry_after
from tornado_alf.testing import AuthServer


def test_defaults_match_the_contract() -> None:
    retry = Retry()
    assert retry.total == 3
    assert set(retry.status_forcelist) == {429, 500, 502, 503, 504}
    assert (retry.backoff_factor, retry.backoff_max, retry.respect_retry_after_header) == (0.3, 120, True)


def test_backoff_follows_urllib3_2() -> None:
    retry = Retry(total=10, backoff_factor=0.5, backoff_max=5)
    ours = [retry.backoff(n) for n in range(1, 8)]
    assert ours == [0.0, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    theirs = urllib3.util.Retry(total=10, backoff_factor=0.5, backoff_max=5)
    for n in range(1, 8):
        theirs = theirs.increment(method="POST", url="/token")
        assert theirs.get_backoff_time() == ours[n - 1]


def test_retry_after_wins_and_is_capped() -> None:
    retry = Retry(backoff_factor=0.1, backoff_max=30)
    assert retry.wait_before(2, "7") == 7.0
    assert retry.wait_before(2, "3600") == 30.0
    assert retry.wait_before(2, "soon") == pytest.approx(0.2)
    assert Retry(respect_retry_after_header=False, backoff_factor=0.1).wait_before(2, "7") == pytest.approx(0.2)


def test_retry_after_http_date() -> None:
    now = time.time()
    in_ten = email.utils.formatdate(now + 10, usegmt=True)
    assert parse_retry_after(in_ten, now=now) == pytest.approx(10, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 100, usegmt=True), now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 -0000", now=0) == pytest.approx(1445412480)
    for junk in ["", "-1", "1.5", "tomorrow", "٣"]:
        assert parse_retry_after(junk) is None


def test_which_statuses_are_retried() -> None:
    retry = Retry()
    assert [code for code in (400, 401, 403, 429, 500, 501, 503, 599) if retry.is_retryable(code)] == [
        429, 500, 503, 599,
    ]


def test_token_retry_setting_forms() -> None:
    assert Retry.from_setting(None).total == 0
    assert Retry.from_setting(5) == Retry(total=5)
    mine = Retry(total=1)
    assert Retry.from_setting(mine) is mine
    theirs = urllib3.util.Retry(total=4, status_forcelist=[502], backoff_factor=2, allowed_methods=["GET"])
    converted = Retry.from_setting(theirs)
    assert (converted.total, set(converted.status_forcelist), converted.backoff_factor) == (4, {502}, 2.0)
    with pytest.raises(TypeError, match="token_retry"):
        Retry.from_setting("3")
    with pytest.raises(ValueError, match="total"):
        Retry(total=-1)


class Recorder:
    """A sleep that records what it was asked and sleeps not at all."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def endpoint(server: AuthServer, retry: Retry, sleep: Recorder) -> TokenEndpoint:
    auth = ClientSecretBasic(CLIENT_ID, CLIENT_SECRET)
    return TokenEndpoint(server.token_endpoint, auth, form_fields(None, {}), {}, retry, sleep)


async def test_listed_statuses_are_retried_with_the_schedule(auth_server: AuthServer) -> None:
    sleep = Recorder()
    auth_server.fail_next(times=3, status=503)
    token = await endpoint(auth_server, Retry(total=3, backoff_factor=0.25), sleep).request_token(AsyncHTTPClient())
    assert token.access_token in auth_server.issued
    assert auth_server.token_requests == 4
    assert sleep.waits == [0.0, 0.5, 1.0]


async def test_retry_after_header_is_honoured_and_capped(auth_server: AuthServer) -> None:
    sleep = Recorder()
    auth_server.fail_next(status=429, headers={"Retry-After": "2"})
    auth_server.fail_next(status=503, headers={"Retry-After": "999"})
    await endpoint(auth_server, Retry(backoff_max=60), sleep).request_token(AsyncHTTPClient())
    assert sleep.waits == [2.0, 60.0]


async def test_exhausted_retries_raise_with_the_last_response(auth_server: AuthServer) -> None:
    sleep = Recorder()
    auth_server.fail_next(times=2, status=502)
    auth_server.fail_next(status=503, body=b'{"error": "temporarily_unavailable"}')
    with pytest.raises(TokenError) as caught:
        await endpoint(auth_server, Retry(total=2, backoff_factor=0), sleep).request_token(AsyncHTTPClient())
    assert caught.value.code == 503
    assert caught.value.error == "temporarily_unavailable"
    assert auth_server.token_requests == 3


async def test_no_retry_by_default(auth_server: AuthServer) -> None:
    auth_server.fail_next(status=503)
    with pytest.raises(TokenError):
        await TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET).fetch(auth_server.resource_url)
    assert auth_server.token_requests == 1


async def test_urllib3_retry_is_honoured_for_the_post(auth_server: AuthServer) -> None:
    auth_server.fail_next(times=2, status=500)
    retry = urllib3.util.Retry(total=2, status_forcelist=[500], backoff_factor=0.001)
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_retry=retry)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 3


async def test_waiting_never_blocks_the_loop(auth_server: AuthServer) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(20):
            ticks += 1
            await asyncio.sleep(0.01)

    auth_server.fail_next(times=2, status=503)
    client = TornadoClient(
        auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_retry=Retry(total=2, backoff_factor=0.1)
    )
    ticking = asyncio.ensure_future(ticker())
    await client.fetch(auth_server.resource_url)
    ticks_during_fetch = ticks
    await ticking
    assert ticks_during_fetch >= 5  # the 0.2 s backoff let the other coroutine run


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_a_storm_of_retryable_statuses_is_retried_as_configured(
    auth_server: AuthServer, status: int
) -> None:
    auth_server.fail_next(times=10, status=status, body=b"<html>busy</html>")
    client = client_for(auth_server, http_options=FAST, token_retry=Retry(total=3, backoff_factor=0.001))
    try:
        error = await token_error(client, auth_server)
        assert error.code == status
        assert "refused the request" in str(error)
        assert auth_server.token_requests == 4  # one attempt, three retries
    finally:
        client.close()


async def test_a_storm_that_ends_gives_a_token(auth_server: AuthServer) -> None:
    auth_server.fail_next(times=3, status=503)
    client = client_for(auth_server, http_options=FAST, token_retry=Retry(total=3, backoff_factor=0.001))
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert auth_server.token_requests == 4
        assert auth_server.resource_requests == 1
    finally:
        client.close()


async def test_retry_after_seconds_is_waited_for(auth_server: AuthServer) -> None:
    auth_server.fail_next(times=1, status=503, headers={"Retry-After": "1"})
    client = client_for(auth_server, http_options=FAST, token_retry=Retry(total=1, backoff_factor=0))
    try:
        started = time.monotonic()
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert 0.9 < time.monotonic() - started < 3
        assert auth_server.token_requests == 2
    finally:
        client.close()


@pytest.mark.parametrize("retry_after", [
    "999999999999999999999999999999999999999",  # far beyond any sane wait: capped by backoff_max
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Thu, 01 Jan 1970 00:00:00 GMT",  # in the past: no wait
    "soon", "", "-5", "1.5", "\u00b2",  # not delay-seconds nor a date: the schedule applies
])
async def test_any_retry_after_ends_in_a_bounded_wait(auth_server: AuthServer, retry_after: str) -> None:
    auth_server.fail_next(times=2, status=503, headers={"Retry-After": retry_after})
    client = client_for(
        auth_server, http_options=FAST, token_retry=Retry(total=2, backoff_factor=0.001, backoff_max=0.05)
    )
    try:
        started = time.monotonic()
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert time.monotonic() - started < 2
        assert auth_server.token_requests == 3
    finally:
        client.close()


async def test_retry_after_is_ignored_when_not_respected(auth_server: AuthServer) -> None:
    auth_server.fail_next(times=1, status=503, headers={"Retry-After": "60"})
    retry = Retry(total=1, backoff_factor=0, respect_retry_after_header=False)
    client = client_for(auth_server, http_options=FAST, token_retry=retry)
    try:
        started = time.monotonic()
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert time.monotonic() - started < 2
    finally:
        client.close()


async def test_network_failures_are_retried_then_fail(auth_server: AuthServer) -> None:
    async with RawServer(reply(b"HTTP/1.1 200 OK\r\nContent-Le", "reset")) as raw:
        client = client_for(
            auth_server, http_options=FAST, token_endpoint=raw.url, token_retry=Retry(total=2, backoff_factor=0.001)
        )
        try:
            error = await token_error(client, auth_server)
            assert error.code == 599
            assert raw.connections == 3
        finally:
            client.close()


async def test_an_oauth_error_is_not_retried_and_names_the_error(auth_server: AuthServer) -> None:
    body = json.dumps({"error": "invalid_scope", "error_description": "scope 'x' is not allowed"}).encode()
    auth_server.fail_next(times=5, status=400, body=body)
    client = client_for(auth_server, http_options=FAST, token_retry=Retry(total=3, backoff_factor=0))
    try:
        error = await token_error(client, auth_server)
        assert (error.code, error.error, error.error_description) == (
            400, "invalid_scope", "scope 'x' is not allowed")
        assert auth_server.token_requests == 1
        assert isinstance(error, HTTPClientError)
    finally:
        client.close()


async def test_wrong_credentials_fail_once_with_invalid_client(auth_server: AuthServer) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, "wrong", token_retry=3, http_options=FAST)
    try:
        error = await token_error(client, auth_server)
        assert (error.code, error.error) == (401, "invalid_client")
        assert auth_server.token_requests == 1
    finally:
        client.close()


async def test_only_listed_statuses_are_retried(auth_server: AuthServer) -> None:
    auth_server.fail_next(times=1, status=503)
    auth_server.fail_next(times=1, status=400, body=b'{"error": "invalid_scope"}')
    client = TornadoClient(
        auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET,
        token_retry=Retry(total=5, status_forcelist=(503,), backoff_factor=0.001),
    )
    with pytest.raises(TokenError) as caught:
        await client.fetch(auth_server.resource_url)
    assert caught.value.error == "invalid_scope"
    assert auth_server.token_requests == 2
    client.close()
