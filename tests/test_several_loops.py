"""One client serving event loops that run at the same time in different threads.

Contract: at most one token request in flight per loop, a token obtained on one
loop serves the others, no future of one loop awaited on another. The servers
run on a loop of their own (`ServerThread`); each client loop uses Tornado's
shared `AsyncHTTPClient` of its loop, of the class under test.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Callable, Union

import pytest
from tornado.httpclient import AsyncHTTPClient

from tests.lifecycle_kit import HTTP_CLIENTS, ServerThread, client_for, configured_http_client
from tornado_alf import TornadoClient

Outcome = Union[int, BaseException]


def in_threads(count: int, main: Callable[[], Awaitable[list[Outcome]]]) -> list[Outcome]:
    """Run ``main()`` on a new loop in each of ``count`` threads at once; every outcome, in order."""
    outcomes: list[Outcome] = []
    start = threading.Barrier(count)

    async def on_loop() -> list[Outcome]:
        try:
            return await main()
        finally:
            AsyncHTTPClient().close()  # the loop's shared client, made for this run

    def run() -> None:
        start.wait()
        try:
            outcomes.extend(asyncio.run(on_loop()))
        except BaseException as exc:  # reported to the test below
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


async def callers(client: TornadoClient, url: str, count: int, gap: float) -> list[Outcome]:
    """``count`` concurrent fetches of ``url``, started ``gap`` seconds apart; their statuses or errors."""

    async def one(delay: float) -> Outcome:
        await asyncio.sleep(delay)
        try:
            return (await client.fetch(url, raise_error=False)).code
        except Exception as exc:  # any failure is what the test reports
            return exc

    return list(await asyncio.gather(*(one(i * gap) for i in range(count))))


@pytest.mark.parametrize("kind", HTTP_CLIENTS)
def test_two_loops_at_once_make_at_most_one_token_request_each(kind: str) -> None:
    with configured_http_client(kind), ServerThread(token_latency=0.2) as servers:
        assert servers.auth_server is not None
        assert servers.resource is not None
        client = client_for(servers.auth_server)
        url = servers.resource.url
        outcomes = in_threads(2, lambda: callers(client, url, 50, 0.01))
        token_requests = servers.auth_server.token_requests
    # before: 56 token requests (each loop overwrote the other's request in flight)
    assert outcomes == [200] * 100
    assert token_requests <= 2
    assert client.stats().token_requests == token_requests


@pytest.mark.parametrize("kind", HTTP_CLIENTS)
def test_a_token_obtained_on_one_loop_serves_another(kind: str) -> None:
    with configured_http_client(kind), ServerThread() as servers:
        assert servers.auth_server is not None
        assert servers.resource is not None
        client = client_for(servers.auth_server)
        url = servers.resource.url
        assert in_threads(1, lambda: callers(client, url, 5, 0)) == [200] * 5
        assert in_threads(2, lambda: callers(client, url, 5, 0)) == [200] * 10
        assert servers.auth_server.token_requests == 1


@pytest.mark.parametrize("kind", HTTP_CLIENTS)
def test_revocations_while_two_loops_run_cost_at_most_one_token_request_per_loop_each(kind: str) -> None:
    revocations = 8
    with configured_http_client(kind), ServerThread(token_latency=0.02) as servers:
        auth_server, resource = servers.auth_server, servers.resource
        assert auth_server is not None
        assert resource is not None
        client = client_for(auth_server, reauth_cooldown=0)

        def revoke_now_and_then() -> None:
            for _ in range(revocations):
                threading.Event().wait(0.05)
                servers.call(auth_server.revoke_all)

        revoker = threading.Thread(target=revoke_now_and_then)
        revoker.start()
        outcomes = in_threads(2, lambda: callers(client, resource.url, 100, 0.005))
        revoker.join()
        token_requests = auth_server.token_requests
    assert all(outcome in (200, 401) for outcome in outcomes), outcomes
    # Each revocation can cost one token request on each loop, no more: a lost update of the
    # cached token (one loop dropping the token the other just installed) would cost more.
    assert token_requests <= 2 * (revocations + 1)
