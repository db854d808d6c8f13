"""The embedded demo: a local authorization server, one shared client, 200 coroutines."""

from __future__ import annotations

import asyncio
import time

from ..client import TornadoClient
from ..testing import AuthServer

CONCURRENCY = 200


async def run_demo(concurrency: int = CONCURRENCY) -> None:
    """Show single flight and 401 recovery against a local `AuthServer`, in a few lines."""
    async with AuthServer("demo-client", "demo-secret", token_latency=0.05) as server:
        client = TornadoClient(server.token_endpoint, "demo-client", "demo-secret")
        print(f"local authorization server on {server.base_url} (token endpoint latency 50 ms)")
        started = time.monotonic()
        responses = await asyncio.gather(*(client.fetch(server.resource_url) for _ in range(concurrency)))
        elapsed = time.monotonic() - started
        ok = sum(response.code == 200 for response in responses)
        print(
            f"{concurrency} concurrent requests on a cold client: {ok} answered 200 "
            f"in {elapsed * 1000:.0f} ms, {server.token_requests} token request(s) made"
        )
        server.revoke_all()
        before = server.token_requests
        responses = await asyncio.gather(*(client.fetch(server.resource_url) for _ in range(concurrency)))
        ok = sum(response.code == 200 for response in responses)
        print(
            f"token revoked by the server: {server.rejected_requests} request(s) saw 401, "
            f"{server.token_requests - before} refresh, {ok}/{concurrency} answered 200 after one replay"
        )
        print(
            f"total: {server.resource_requests} resource requests, "
            f"{server.token_requests} token requests"
        )
        stats = client.stats()
        print(
            f"client.stats(): {stats.token_requests} token requests, {stats.coalesced_waiters} callers "
            f"coalesced onto them, {stats.reauthentications} re-authentications"
        )
        client.close()
