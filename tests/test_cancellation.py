"""Cancelled and timed-out waiters, and close() mid-request: nothing stuck, nothing left pending."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable

import pytest
from tornado import gen
from tornado.httpclient import AsyncHTTPClient
from tornado.util import TimeoutError as TornadoTimeoutError

from tests.doubles import client_for
from tests.faultkit import library_tasks, pending_tasks, settle, watched_loop
from tornado_alf import Retry, TokenError
from tornado_alf.testing import AuthServer

LATENCY = 0.3


async def until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    """Wait (bounded) until ``condition()`` holds."""
    deadline = asyncio.get_running_loop().time() + limit
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


async def nothing_pending() -> None:
    """Wait (bounded) until no task is pending once HTTP connections are closed.

    Curl keeps connections alive, and the test server's end of each waits for the
    next request: closing Tornado's shared client (a new one comes on the next
    call) ends them. The client's own token client is closed by its close().
    """
    AsyncHTTPClient().close()
    await until(lambda: not pending_tasks())


async def test_a_waiter_cancelled_by_wait_for_does_not_cancel_the_request_of_the_others(
    auth_server: AuthServer,
) -> None:
    auth_server.token_latency = LATENCY
    client = client_for(auth_server)
    async with watched_loop() as problems:
        others = [asyncio.ensure_future(client.fetch(auth_server.resource_url)) for _ in range(5)]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.fetch(auth_server.resource_url), timeout=LATENCY / 3)
        responses = await asyncio.gather(*others)
        assert [r.code for r in responses] == [200] * 5
        assert auth_server.token_requests == 1
        assert (await client.fetch(auth_server.resource_url)).code == 200  # the token was kept
        assert auth_server.token_requests == 1
        client.close()
        await settle()
        await nothing_pending()
    assert problems.contexts == []


async def test_a_waiter_timed_out_by_gen_with_timeout_does_not_disturb_the_others(
    auth_server: AuthServer,
) -> None:
    auth_server.token_latency = LATENCY
    client = client_for(auth_server)
    async with watched_loop() as problems:
        other = asyncio.ensure_future(client.fetch(auth_server.resource_url))
        # gen.with_timeout gives up waiting but leaves the wrapped fetch running.
        abandoned = asyncio.ensure_future(client.fetch(auth_server.resource_url))
        with pytest.raises(TornadoTimeoutError):
            await gen.with_timeout(datetime.timedelta(seconds=LATENCY / 3), abandoned)
        assert (await other).code == 200
        assert (await abandoned).code == 200
        assert auth_server.token_requests == 1
        client.close()
        await settle()
        await nothing_pending()
    assert problems.contexts == []


async def test_the_only_waiter_cancelled_leaves_the_token_for_the_next_fetch(auth_server: AuthServer) -> None:
    auth_server.token_latency = LATENCY
    client = client_for(auth_server)
    async with watched_loop() as problems:
        waiter = asyncio.ensure_future(client.fetch(auth_server.resource_url))
        await until(lambda: auth_server.token_requests == 1)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await until(lambda: "token valid" in repr(client))  # the request ran on, for nobody
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert auth_server.token_requests == 1
        assert auth_server.resource_requests == 1
        client.close()
        await settle()
        await nothing_pending()
    assert problems.contexts == []


async def test_a_request_that_fails_after_its_only_waiter_left_reports_nothing_and_is_retried(
    auth_server: AuthServer,
) -> None:
    auth_server.token_latency = LATENCY
    auth_server.fail_next(status=500)
    client = client_for(auth_server, failure_cooldown=0)  # retried at once, not after a cool-down
    async with watched_loop() as problems:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.fetch(auth_server.resource_url), timeout=LATENCY / 3)
        await until(lambda: "request in flight" not in repr(client))
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert auth_server.token_requests == 2
        client.close()
    # The failure nobody waited for is read by the client, not reported as never retrieved.
    assert problems.contexts == []


async def test_a_waiter_joining_a_hung_request_times_out_alone_and_the_client_recovers(
    auth_server: AuthServer,
) -> None:
    auth_server.token_latency = 0.6
    client = client_for(auth_server, http_options={"request_timeout": 0.4}, failure_cooldown=0)
    async with watched_loop() as problems:
        for _ in range(3):
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.fetch(auth_server.resource_url), timeout=0.1)
        assert auth_server.token_requests == 1  # the three waiters joined one request
        with pytest.raises(TokenError, match=r"Timeout|timed out"):  # simple, Curl
            await client.fetch(auth_server.resource_url)
        auth_server.token_latency = 0
        assert (await client.fetch(auth_server.resource_url)).code == 200
        client.close()
    assert problems.contexts == []


async def test_close_during_the_token_request_fails_its_waiters_with_token_error(auth_server: AuthServer) -> None:
    auth_server.token_latency = LATENCY
    client = client_for(auth_server)
    async with watched_loop() as problems:
        waiters = [asyncio.ensure_future(client.fetch(auth_server.resource_url)) for _ in range(10)]
        await until(lambda: auth_server.token_requests == 1)
        assert len(library_tasks()) == 11  # the token request and its ten waiters' waits for it
        assert not any(waiter.done() for waiter in waiters)
        client.close()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        errors = [result for result in results if type(result) is TokenError]
        assert len(errors) == len(results), results
        assert all(error.code == 599 and "closed" in str(error) for error in errors)
        assert auth_server.resource_requests == 0
        await settle()
        assert library_tasks() == set()
        # Tornado's HTTP exchange (the shared client's, not ours to close) ends with the answer.
        await nothing_pending()
        with pytest.raises(RuntimeError, match="closed"):
            await client.fetch(auth_server.resource_url)
    assert problems.contexts == []


async def test_close_during_a_retry_wait_fails_its_waiters_at_once(auth_server: AuthServer) -> None:
    auth_server.fail_next(times=5, status=503, headers={"Retry-After": "30"})
    client = client_for(auth_server, token_retry=Retry(total=3, backoff_factor=0))
    async with watched_loop() as problems:
        waiter = asyncio.ensure_future(client.fetch(auth_server.resource_url))
        await until(lambda: auth_server.token_requests == 1)
        await asyncio.sleep(0.05)  # now sleeping 30 s before the retry
        started = asyncio.get_running_loop().time()
        client.close()
        with pytest.raises(TokenError, match="closed"):
            await waiter
        assert asyncio.get_running_loop().time() - started < 1
        await settle()
        await nothing_pending()
        assert auth_server.token_requests == 1
    assert problems.contexts == []


async def test_close_during_a_background_refresh_keeps_nothing_running(auth_server: AuthServer) -> None:
    auth_server.expires_in = 2
    client = client_for(auth_server, expiry_margin=0, refresh_ahead=0.1)
    async with watched_loop() as problems:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        auth_server.token_latency = LATENCY
        await asyncio.sleep(0.25)  # past 10 % of the lifetime
        assert (await client.fetch(auth_server.resource_url)).code == 200  # starts the refresh, does not wait
        await until(lambda: auth_server.token_requests == 2)
        client.close()
        await settle()
        assert library_tasks() == set()
        await nothing_pending()
    assert problems.contexts == []


async def test_a_cancelled_fetch_mid_resource_request_leaves_the_client_usable(auth_server: AuthServer) -> None:
    client = client_for(auth_server)
    async with watched_loop() as problems:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        for _ in range(20):
            task = asyncio.ensure_future(client.fetch(auth_server.resource_url))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert auth_server.token_requests == 1
        client.close()
    assert problems.contexts == []
