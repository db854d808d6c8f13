"""Bounded resources: memory flat over 100,000 requests, nothing pending after close()."""

from __future__ import annotations

import asyncio
import gc
import os

import psutil
import pytest
from tornado.httpclient import HTTPRequest, HTTPResponse

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.faultkit import InstantHTTPClient, library_tasks, pending_tasks, response, settle, watched_loop
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer

REQUESTS = 100_000
BATCH = 100  # concurrent fetches at a time
ROTATE_EVERY = 1_000  # the resource drops its token this often: a 401, one refresh, a replay
MIB = 1024 * 1024


class TokenService:
    """Token endpoint and resource answered in-process, counting what they are asked."""

    def __init__(self) -> None:
        self.issued = 0
        self.current = ""
        self.resource_requests = 0
        self.rejected = 0

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        if request.url.endswith("/token"):
            self.issued += 1
            self.current = f"token-{self.issued}"
            return response(request, 200, {"access_token": self.current, "expires_in": 3600})
        self.resource_requests += 1
        if self.resource_requests % ROTATE_EVERY == 0:
            self.current = "rotated"
        if request.headers.get("Authorization") != f"Bearer {self.current}":
            self.rejected += 1
            return response(request, 401)
        return response(request, 200, {"ok": True})


def rss() -> int:
    gc.collect()
    return psutil.Process(os.getpid()).memory_info().rss


async def run(client: TornadoClient, count: int) -> None:
    url = "http://127.0.0.1:1/resource"
    for _ in range(count // BATCH):
        responses = await asyncio.gather(*(client.fetch(url) for _ in range(BATCH)))
        assert responses[-1].code == 200


@pytest.mark.slow
async def test_memory_stays_flat_over_100000_requests() -> None:
    service = TokenService()
    http = InstantHTTPClient(force_instance=True, handler=service)
    client = TornadoClient("http://127.0.0.1:1/token", CLIENT_ID, CLIENT_SECRET, http_client=http)
    try:
        async with watched_loop() as problems:
            await run(client, 10_000)  # warm up: caches, allocator pools, code paths
            before = rss()
            await run(client, REQUESTS)
            after = rss()
        assert problems.contexts == []
    finally:
        client.close()
        http.close()
    growth = after - before
    print(f"RSS before {before / MIB:.1f} MiB, after {REQUESTS:,} more requests {after / MIB:.1f} MiB, "
          f"growth {growth / MIB:+.2f} MiB; {service.issued} tokens, {service.rejected} rejections")
    assert service.resource_requests >= 110_000
    # every rotation costs exactly one token request, however many of the batch were rejected
    assert service.issued == 1 + service.resource_requests // ROTATE_EVERY
    assert growth < 4 * MIB, f"RSS grew {growth / MIB:.1f} MiB over {REQUESTS:,} requests"


async def test_sockets_and_tasks_stay_bounded_over_real_connections(auth_server: AuthServer) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    process = psutil.Process(os.getpid())
    try:
        async with watched_loop() as problems:
            for _ in range(5):
                await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(20)))
            await settle()
            fds = process.num_fds()
            for round_number in range(20):
                if round_number % 5 == 0:
                    auth_server.revoke_all()  # a storm of 401s, a refresh, replays
                await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(20)))
            await settle()
            assert process.num_fds() <= fds + 2
            assert library_tasks() == set()
        assert problems.contexts == []
        assert auth_server.token_requests == 1 + 4
    finally:
        client.close()
    for _ in range(100):  # the test server's side of the last connections winds down
        if not pending_tasks():
            break
        await asyncio.sleep(0.01)
    assert pending_tasks() == set()
