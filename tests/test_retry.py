"""Retry: urllib3's schedule as pure arithmetic, then the attempt loop against real servers."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator

import pytest
import urllib3
from tornado.httpclient import AsyncHTTPClient

from tests.conftest import CLIENT_ID, CLIENT_SECRET
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


async def test_unlisted_status_is_not_retried(auth_server: AuthServer) -> None:
    auth_server.fail_next(status=400, body=b'{"error": "invalid_scope"}')
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_retry=5)
    with pytest.raises(TokenError) as caught:
        await client.fetch(auth_server.resource_url)
    assert caught.value.error == "invalid_scope"
    assert auth_server.token_requests == 1


async def test_no_retry_by_default(auth_server: AuthServer) -> None:
    auth_server.fail_next(status=503)
    with pytest.raises(TokenError):
        await TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET).fetch(auth_server.resource_url)
    assert auth_server.token_requests == 1


@pytest.fixture
async def hang_up_server() -> AsyncIterator[tuple[str, list[int]]]:
    """Accepts connections and closes them at once: Tornado reports 599."""
    accepted: list[int] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/token", accepted
    server.close()
    await server.wait_closed()


async def test_network_failures_are_retried(hang_up_server: tuple[str, list[int]]) -> None:
    url, accepted = hang_up_server
    retry = Retry(total=2, backoff_factor=0.001)
    client = TornadoClient(url, CLIENT_ID, CLIENT_SECRET, token_retry=retry)
    with pytest.raises(TokenError) as caught:
        await client.fetch(url)
    assert caught.value.code == 599
    assert len(accepted) == 3


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
