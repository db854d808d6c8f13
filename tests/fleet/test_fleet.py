"""Several processes sharing one Redis (or cluster): one token request between them."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import pytest

from tests.fleet.backends import Backend
from tests.fleet.fleet import Worker, run_fleet
from tests.servers import RedisCluster, RedisServer
from tornado_alf import RedisTokenStore, TornadoClient
from tornado_alf.testing import AuthServer

PROCESSES = 4
CONCURRENCY = 100


def all_ok(reports: list[dict[str, Any]]) -> bool:
    return all(report["codes"] == {"200": CONCURRENCY} for report in reports)


@pytest.mark.parametrize("library", ["redis", "valkey"])
async def test_processes_cold_fetch_one_token(library: str, shared_redis: RedisServer, auth_server: AuthServer) -> None:
    auth_server.token_latency = 0.2  # every process starts while the first fetch is in flight
    reports = await run_fleet(
        auth_server, PROCESSES, library=library, redis_port=shared_redis.port, concurrency=CONCURRENCY
    )
    assert all_ok(reports)
    assert auth_server.token_requests == 1
    assert sum(report["wrote_at"] is not None for report in reports) == 1


async def test_processes_cold_fetch_one_token_on_the_cluster(
    redis_cluster: RedisCluster, auth_server: AuthServer
) -> None:
    auth_server.token_latency = 0.2
    port = redis_cluster.nodes[1].port
    reports = await run_fleet(auth_server, PROCESSES, cluster=True, redis_port=port, concurrency=CONCURRENCY)
    assert all_ok(reports)
    assert auth_server.token_requests == 1


async def test_processes_without_a_store_fetch_one_token_each(auth_server: AuthServer) -> None:
    auth_server.token_latency = 0.2
    reports = await run_fleet(auth_server, PROCESSES, redis_port=None, concurrency=CONCURRENCY)
    assert all_ok(reports)
    assert auth_server.token_requests == PROCESSES


async def test_killed_lock_holder_blocks_others_until_its_lock_expires(
    shared_redis: RedisServer,
    auth_server: AuthServer,
    make_client: Callable[..., TornadoClient],
) -> None:
    backend = Backend("redis", shared_redis)
    try:
        auth_server.token_latency = 3  # the holder is still waiting for its token when killed
        holder = await Worker.start(auth_server, redis_port=shared_redis.port, lock_timeout=1, concurrency=1)
        holder.go()
        await wait_for_lock(backend, auth_server)
        locked_at = time.monotonic()
        await holder.kill()
        auth_server.token_latency = 0
        clients = [make_client(RedisTokenStore(backend.client(), lock_timeout=1)) for _ in range(3)]
        responses = await asyncio.gather(*(c.fetch(auth_server.resource_url) for c in clients for _ in range(10)))
        waited = time.monotonic() - locked_at
    finally:
        await backend.close()
    assert {r.code for r in responses} == {200}
    assert 0.8 < waited < 1.8  # the lock's 1 s, then one fetch
    assert auth_server.token_requests == 2  # the dead holder's, then one for everybody else


async def wait_for_lock(backend: Backend, auth_server: AuthServer) -> None:
    """Return once a process holds the lock and its token request has arrived."""
    for _ in range(500):
        if auth_server.token_requests and any(key.endswith(":lock") for key in backend.ttls()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no process took the lock and asked for a token")
