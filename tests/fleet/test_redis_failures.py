"""A Redis that is down, stopped, read-only or restarted never fails a request."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Callable

import pytest
import redis.asyncio

from tests.servers import RedisServer, ask, free_port
from tornado_alf import RedisTokenStore, TornadoClient
from tornado_alf.testing import AuthServer

MakeClient = Callable[..., TornadoClient]


@pytest.fixture
async def own_redis(redis_factory: Callable[[], RedisServer]) -> AsyncIterator[tuple[RedisServer, Any]]:
    """A server this test may kill, stop or reconfigure, and a client of it."""
    server = redis_factory()
    client = redis.asyncio.Redis(port=server.port)
    yield server, client
    await client.aclose()


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tornado_alf" and r.levelno == level]


async def fetch_all(client: TornadoClient, url: str, times: int = 5) -> set[int]:
    responses = await asyncio.gather(*(client.fetch(url) for _ in range(times)))
    return {r.code for r in responses}


async def test_killed_and_restarted_redis(
    own_redis: tuple[RedisServer, Any],
    auth_server: AuthServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, client_of_redis = own_redis
    client = make_client(RedisTokenStore(client_of_redis), store_timeout=0.3)
    url = auth_server.resource_url
    assert await fetch_all(client, url) == {200}
    server.kill()
    assert await fetch_all(client, url) == {200}  # the token in memory needs no Redis
    for _ in range(3):  # each round needs a new token while Redis is down
        auth_server.revoke_all()
        assert await fetch_all(client, url) == {200}
    assert auth_server.token_requests == 4
    assert len(records(caplog, logging.WARNING)) == 1
    server.start()  # same port, empty
    auth_server.revoke_all()
    assert await fetch_all(client, url) == {200}
    assert auth_server.token_requests == 5
    for _ in range(200):  # tried again after the backoff; the token fetched meanwhile is written back
        if any("answering again" in line for line in records(caplog, logging.INFO)):
            break
        await asyncio.sleep(0.05)
    assert len(records(caplog, logging.WARNING)) == 1
    assert any("answering again" in line for line in records(caplog, logging.INFO))
    newcomer = make_client(RedisTokenStore(client_of_redis))
    assert await fetch_all(newcomer, url) == {200}
    assert auth_server.token_requests == 5  # the restarted Redis serves the token again


async def test_stopped_redis_costs_one_store_timeout_per_call(
    own_redis: tuple[RedisServer, Any],
    auth_server: AuthServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, client_of_redis = own_redis
    client = make_client(RedisTokenStore(client_of_redis), store_timeout=0.2)
    server.pause()  # accepts connections, answers nothing
    try:
        started = time.monotonic()
        assert await fetch_all(client, auth_server.resource_url) == {200}
        elapsed = time.monotonic() - started
    finally:
        server.resume()
    assert 0.2 <= elapsed < 2  # one store_timeout: after the read is cut, the lock is not tried
    assert auth_server.token_requests == 1
    (warning,) = records(caplog, logging.WARNING)
    assert "timed out" in warning


async def test_read_only_redis(
    own_redis: tuple[RedisServer, Any],
    auth_server: AuthServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, client_of_redis = own_redis
    # A replica of a master that is not there: reads work, writes fail with READONLY.
    assert ask(server.port, f"REPLICAOF 127.0.0.1 {free_port()}".encode()).startswith(b"+OK")
    assert ask(server.port, b"SET probe 1").startswith(b"-READONLY")
    for _ in range(3):
        client = make_client(RedisTokenStore(client_of_redis))
        assert await fetch_all(client, auth_server.resource_url) == {200}
    assert auth_server.token_requests == 3
    assert len(records(caplog, logging.WARNING)) == 3  # one per client: each has its own outage
    assert ask(server.port, b"DBSIZE") == b":0\r\n"
