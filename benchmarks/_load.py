"""Load generation shared by every phase: bounded request loops, the raw baseline, the no-network client."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import Awaitable
from typing import Any, Callable

from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

from ._procs import AuthServerInfo

Fetch = Callable[[], Awaitable[HTTPResponse]]

#: Connections the shared AsyncHTTPClient may open at once: enough for concurrency 64.
MAX_CLIENTS = 64


def configure_http(impl: Any = None) -> None:
    """Tornado's shared client class for loops started from now on (``None``: simple_httpclient)."""
    if impl is None:
        AsyncHTTPClient.configure(None, max_clients=MAX_CLIENTS)
    else:
        AsyncHTTPClient.configure(impl)


async def drive(fetch: Fetch, requests: int, concurrency: int, timeout: float = 300.0) -> None:
    """``requests`` calls of ``fetch`` by ``concurrency`` workers; every one must succeed."""
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await fetch()

    workers = [worker() for _ in range(max(1, min(concurrency, requests)))]
    await asyncio.wait_for(asyncio.gather(*workers), timeout)


async def timed(fetch: Fetch, requests: int, concurrency: int) -> tuple[float, float]:
    """Wall seconds and process CPU seconds for `drive`."""
    wall, cpu = time.perf_counter(), time.process_time()
    await drive(fetch, requests, concurrency)
    return time.perf_counter() - wall, time.process_time() - cpu


async def bearer_headers(server: AuthServerInfo) -> dict[str, str]:
    """A fixed ``Authorization`` header for the raw baseline, from one token request of our own."""
    response = await AsyncHTTPClient().fetch(
        server.token_endpoint, method="POST", body="grant_type=client_credentials",
        auth_username=server.client_id, auth_password=server.client_secret,
    )
    return {"Authorization": "Bearer " + json.loads(response.body)["access_token"]}


def raw_fetch(url: str, headers: dict[str, str]) -> Fetch:
    """What a caller without tornado_alf writes: Tornado's shared client and a fixed header."""
    http = AsyncHTTPClient()
    return lambda: http.fetch(url, headers=headers)


def interleaved(names: list[str], repetitions: int) -> list[list[str]]:
    """Each repetition runs every variant once; the order rotates so none always goes first."""
    return [names[rep % len(names):] + names[:rep % len(names)] for rep in range(repetitions)]


_TOKEN_BODY = json.dumps({"access_token": "no-network", "token_type": "Bearer", "expires_in": 3600}).encode()


class InstantHTTPClient(AsyncHTTPClient):
    """Answers every request on the loop's next turn, without a network: what remains is the Python on the way.

    A POST (the token request) gets a token; anything else an empty 200. The answer
    comes on the next turn, as a real client's does, never while ``fetch`` runs: a
    caller awaits a pending future, as in production.
    """

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        body = _TOKEN_BODY if request.method == "POST" else b"{}"
        self.io_loop.add_callback(callback, HTTPResponse(request, 200, buffer=io.BytesIO(body)))


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
