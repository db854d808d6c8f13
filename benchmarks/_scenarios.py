"""Token traffic under load: cold herd, 401 storm, refresh ahead, memory over many requests."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from ._load import drive, rss_bytes
from ._phases import Sizes, client_for
from ._procs import AuthServerInfo
from ._report import INFO, Row, verdict


async def _herd(server: AuthServerInfo, callers: int) -> dict[str, Any]:
    client = client_for(server)
    before = await asyncio.to_thread(server.token_requests)
    start = time.perf_counter()
    responses = await asyncio.wait_for(
        asyncio.gather(*(client.fetch(server.resource_url) for _ in range(callers))), 120
    )
    seconds = time.perf_counter() - start
    token_requests = await asyncio.to_thread(server.token_requests) - before
    stats = client.stats()
    client.close()
    return {"token_requests": token_requests, "seconds_to_last_response": seconds,
            "ok": sum(response.code == 200 for response in responses), "callers": callers,
            "client_token_requests": stats.token_requests, "coalesced_waiters": stats.coalesced_waiters}


def herd_rows(server: AuthServerInfo, sizes: Sizes) -> list[Row]:
    data = asyncio.run(_herd(server, sizes.callers))
    name = f"Cold-start herd ({sizes.callers:,} concurrent fetches, token endpoint 50 ms)"
    return [
        Row(f"{name}: token requests", str(data["token_requests"]), "exactly 1",
            verdict(data["token_requests"] == 1 and data["ok"] == data["callers"]), data),
        Row(f"{name}: time to last response", f"{data['seconds_to_last_response']:.2f} s", "", INFO, data),
    ]


async def _storm(server: AuthServerInfo, callers: int) -> dict[str, Any]:
    client = client_for(server)
    await client.fetch(server.resource_url)  # a cached token...
    await asyncio.to_thread(server.revoke)   # ...that the resource now rejects
    before = await asyncio.to_thread(server.token_requests)
    responses = await asyncio.wait_for(asyncio.gather(
        *(client.fetch(server.resource_url, raise_error=False) for _ in range(callers))
    ), 120)
    token_requests = await asyncio.to_thread(server.token_requests) - before
    stats = client.stats()
    client.close()
    return {"token_requests": token_requests, "callers": callers,
            "reauthentications": stats.reauthentications, "coalesced_waiters": stats.coalesced_waiters,
            "saw_401": sum(response.code == 401 for response in responses),
            "ok": sum(response.code == 200 for response in responses)}


def storm_rows(server: AuthServerInfo, sizes: Sizes) -> list[Row]:
    data = asyncio.run(_storm(server, sizes.callers))
    name = f"401 storm (token revoked, {sizes.callers:,} concurrent fetches)"
    return [
        Row(f"{name}: token requests", str(data["token_requests"]), "exactly 1",
            verdict(data["token_requests"] == 1), data),
        Row(f"{name}: callers that saw a 401", str(data["saw_401"]), "0",
            verdict(data["saw_401"] == 0 and data["ok"] == data["callers"]), data),
    ]


async def _steady(server: AuthServerInfo, seconds: float, concurrency: int = 16) -> dict[str, Any]:
    # Tokens usable for 1 s, refreshed ahead after 0.8 s: several refreshes within the run.
    client = client_for(server, max_token_lifetime=1.0, refresh_ahead=0.8)
    await client.fetch(server.resource_url)
    # Requests that found no valid cached token and waited for one: the client's own count.
    misses_before = client.stats().cache_misses
    before = await asyncio.to_thread(server.token_requests)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    requests, slowest = 0, 0.0

    async def worker() -> None:
        nonlocal requests, slowest
        for _ in range(1_000_000):
            if loop.time() >= deadline:
                return
            start = time.perf_counter()
            await client.fetch(server.resource_url)
            slowest = max(slowest, time.perf_counter() - start)
            requests += 1

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), seconds + 60)
    token_requests = await asyncio.to_thread(server.token_requests) - before
    stats = client.stats()
    client.close()
    return {"waited_for_token": stats.cache_misses - misses_before, "requests": requests, "seconds": seconds,
            "token_requests": token_requests, "slowest_request_s": slowest,
            "refresh_ahead_ok": stats.refresh_ahead_ok, "refresh_ahead_failed": stats.refresh_ahead_failed}


def steady_rows(server: AuthServerInfo, sizes: Sizes) -> list[Row]:
    data = asyncio.run(_steady(server, sizes.steady_seconds))
    return [Row(
        "Steady state, refresh ahead: requests that waited for a token",
        f"{data['waited_for_token']} of {data['requests']:,} over {data['seconds']:.1f} s "
        f"({data['token_requests']} background refreshes, "
        f"slowest request {data['slowest_request_s'] * 1e3:.0f} ms)",
        "0", verdict(data["waited_for_token"] == 0 and data["token_requests"] >= 1), data,
    )]


async def _memory(server: AuthServerInfo, requests: int, concurrency: int = 64) -> dict[str, Any]:
    client = client_for(server)
    await drive(lambda: client.fetch(server.resource_url), 2_000, concurrency)  # warm: pools, caches
    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    await drive(lambda: client.fetch(server.resource_url), requests, concurrency, timeout=600)
    seconds = time.perf_counter() - start
    gc.collect()
    after = rss_bytes()
    client.close()
    return {"requests": requests, "rss_before_bytes": before, "rss_after_bytes": after,
            "growth_mib": (after - before) / 2**20, "seconds": seconds}


def memory_rows(server: AuthServerInfo, sizes: Sizes) -> list[Row]:
    data = asyncio.run(_memory(server, sizes.memory_requests))
    return [Row(
        f"RSS growth over {data['requests']:,} warm requests (c=64)",
        f"{data['growth_mib']:+.2f} MiB ({data['rss_before_bytes'] / 2**20:.1f} -> "
        f"{data['rss_after_bytes'] / 2**20:.1f} MiB)",
        "< 5 MiB", verdict(data["growth_mib"] < 5), data,
    )]
