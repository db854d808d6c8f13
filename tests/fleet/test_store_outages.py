"""Shared stores that fail well: each case of issue 15 against a real redis-server.

A TTL Redis refuses, a blocking client, a store failing on one operation
only, a store coroutine that swallows cancellation, a client reused from a
new event loop, a paused or killed server: none fails a request, each costs
at most one ``store_timeout`` per token acquisition, and the warning says once
what really happened.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, Callable

import pytest
import redis
import redis.asyncio
import valkey

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.servers import HOST, RedisServer, ask
from tornado_alf import RedisTokenStore, TornadoClient
from tornado_alf.testing import AuthServer

MakeClient = Callable[..., TornadoClient]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tornado_alf" and r.levelno >= logging.WARNING]


def token_keys(server: RedisServer) -> list[str]:
    listed = ask(server.port, b"KEYS *").decode().split("\r\n")
    return [line for line in listed if line.startswith("tornado-alf:") and not line.endswith(":lock")]


def commands_run(server: RedisServer) -> dict[str, int]:
    """Calls per command since ``CONFIG RESETSTAT`` (handshakes included), the test's own left out."""
    stats = ask(server.port, b"INFO commandstats").decode()
    calls = {}
    for line in stats.splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line[len("cmdstat_"):].partition(":calls=")
            calls[name] = int(rest.split(",")[0])
    return {name: count for name, count in calls.items() if name not in ("config|resetstat", "info", "ping")}


@pytest.fixture
async def own_redis(redis_factory: Callable[[], RedisServer]) -> AsyncIterator[tuple[RedisServer, Any]]:
    """A server this test may kill or pause, and an asyncio client of it."""
    server = redis_factory()
    client = redis.asyncio.Redis(host=HOST, port=server.port)
    yield server, client
    await client.aclose()


async def test_a_huge_lifetime_is_clamped_to_what_redis_accepts(
    redis_server: RedisServer, auth_server: AuthServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    auth_server.expires_in = 1e300
    connection = redis.asyncio.Redis(host=HOST, port=redis_server.port)
    try:
        for _ in range(2):
            assert (await make_client(RedisTokenStore(connection)).fetch(auth_server.resource_url)).code == 200
    finally:
        await connection.aclose()
    assert auth_server.token_requests == 1  # shared, not refused by Redis
    assert warnings(caplog) == []
    (key,) = token_keys(redis_server)
    assert int(ask(redis_server.port, f"PTTL {key}".encode())[1:]) > 0


async def test_the_ttl_is_clamped_to_max_token_lifetime(
    redis_server: RedisServer, auth_server: AuthServer, make_client: MakeClient
) -> None:
    connection = redis.asyncio.Redis(host=HOST, port=redis_server.port)
    try:
        client = make_client(RedisTokenStore(connection), max_token_lifetime=60)
        assert (await client.fetch(auth_server.resource_url)).code == 200
    finally:
        await connection.aclose()
    (key,) = token_keys(redis_server)
    assert 0 < int(ask(redis_server.port, f"PTTL {key}".encode())[1:]) <= 60_000


@pytest.mark.parametrize("library", [redis.Redis, valkey.Valkey])
def test_a_synchronous_client_is_refused_before_any_command(redis_server: RedisServer, library: Any) -> None:
    blocking = library(host=HOST, port=redis_server.port)
    try:
        with pytest.raises(TypeError, match=r"redis\.asyncio\.Redis"):
            RedisTokenStore(blocking)
    finally:
        blocking.close()
    assert ask(redis_server.port, b"DBSIZE") == b":0\r\n"


@pytest.mark.parametrize("denied", ["get", "set"])
async def test_a_store_failing_on_one_operation_warns_once(
    redis_server: RedisServer,
    auth_server: AuthServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    denied: str,
) -> None:
    rule = f"ACL SETUSER limited on >pw ~* +@all -{denied}".encode()
    assert ask(redis_server.port, rule).startswith(b"+OK")
    store = redis.asyncio.Redis(host=HOST, port=redis_server.port, username="limited", password="pw")
    try:
        client = make_client(store, max_token_lifetime=0.05)
        for _ in range(4):  # each fetch a new acquisition, spaced past the backoff
            assert (await client.fetch(auth_server.resource_url)).code == 200
            await asyncio.sleep(0.6)
    finally:
        await store.aclose()
    assert len(warnings(caplog)) == 1


class SwallowingRedis(redis.asyncio.Redis):
    """A get/set store whose ``get`` ignores cancellation until released, then fails late."""

    release: asyncio.Event

    async def get(self, name: Any) -> Any:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await self.release.wait()  # swallowed: cancellation alone never ends this call
        raise redis.exceptions.ConnectionError("late failure")


async def test_store_timeout_holds_against_a_store_that_swallows_cancellation(
    redis_server: RedisServer, auth_server: AuthServer, make_client: MakeClient
) -> None:
    store = SwallowingRedis(host=HOST, port=redis_server.port)
    store.release = asyncio.Event()
    try:
        client = make_client(store, store_timeout=0.2)
        response = await asyncio.wait_for(client.fetch(auth_server.resource_url), 3)
        assert response.code == 200
        store.release.set()  # the abandoned call ends, failing; nobody may be told it was lost
        await asyncio.sleep(0.05)
        gc.collect()
    finally:
        await store.aclose()


# redis-py cannot close the sockets of a loop that has ended; the scenario itself leaves them.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_client_reused_from_a_new_event_loop_is_not_an_outage(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    module_level = redis.asyncio.Redis(host=HOST, port=redis_server.port)

    async def one_run(last: bool) -> int:
        async with AuthServer(CLIENT_ID, CLIENT_SECRET) as server:
            client = TornadoClient(
                server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_storage=RedisTokenStore(module_level)
            )
            try:
                return (await client.fetch(server.resource_url)).code
            finally:
                client.close()
                if last:
                    await module_level.aclose()

    for run in range(3):
        ask(redis_server.port, b"FLUSHALL")
        assert asyncio.run(one_run(last=run == 2)) == 200
    gc.collect()  # the dead loops' sockets go now, while their ResourceWarnings are expected
    assert warnings(caplog) == []


# The read abandoned at the bound leaves redis-py's connection closing towards a paused server; its
# socket goes when collected, here, with its ResourceWarning expected (as for the dead loops below).
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_an_outage_costs_one_store_timeout_per_acquisition(
    own_redis: tuple[RedisServer, Any],
    auth_server: AuthServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, connection = own_redis
    client = make_client(RedisTokenStore(connection), store_timeout=0.2, max_token_lifetime=0.01)
    assert await connection.ping()  # a pooled connection, so the first command goes out at once
    assert ask(server.port, b"CONFIG RESETSTAT").startswith(b"+OK")
    server.pause()  # accepts connections, answers nothing; commands sent meanwhile run on resume
    try:
        for _ in range(5):  # five acquisitions within one backoff interval
            assert (await client.fetch(auth_server.resource_url)).code == 200
            await asyncio.sleep(0.02)  # past max_token_lifetime: the next fetch acquires again
    finally:
        server.resume()
    assert auth_server.token_requests == 5
    # One read, cut at the bound; the rest of that acquisition and the next ones skipped the store.
    for _ in range(50):
        if commands_run(server):
            break
        await asyncio.sleep(0.02)
    assert commands_run(server) == {"get": 1}
    (warning,) = warnings(caplog)
    assert "timed out" in warning
    await connection.aclose()
    gc.collect()


async def test_a_token_fetched_during_an_outage_is_written_back(
    own_redis: tuple[RedisServer, Any],
    auth_server: AuthServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, connection = own_redis
    client = make_client(RedisTokenStore(connection), store_timeout=0.2)
    server.pause()
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
    finally:
        server.resume()
    for _ in range(100):
        if token_keys(server):
            break
        await asyncio.sleep(0.05)
    newcomer = make_client(RedisTokenStore(connection))
    assert (await newcomer.fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 1  # the newcomer found the token written back
    assert any("answering again" in r.getMessage() for r in caplog.records)


async def test_the_warning_names_a_refused_connection(
    own_redis: tuple[RedisServer, Any],
    auth_server: AuthServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, connection = own_redis
    server.kill()
    client = make_client(RedisTokenStore(connection), store_timeout=0.3)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    (warning,) = warnings(caplog)
    assert "connection refused" in warning


@pytest.fixture(autouse=True)
def _no_stray_acl(redis_server: RedisServer) -> Iterator[None]:
    yield
    ask(redis_server.port, b"ACL DELUSER limited")


async def test_a_lock_is_released_even_when_sharing_the_token_failed(
    redis_server: RedisServer, auth_server: AuthServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    # SET is allowed on lock keys only: the lock is taken, writing the token fails.
    rule = b"ACL SETUSER limited on >pw ~* +@all -set (~*:lock +set)"
    assert ask(redis_server.port, rule).startswith(b"+OK")
    connection = redis.asyncio.Redis(host=HOST, port=redis_server.port, username="limited", password="pw")
    try:
        assert (await make_client(RedisTokenStore(connection)).fetch(auth_server.resource_url)).code == 200
    finally:
        await connection.aclose()
    assert "failed to write" in warnings(caplog)[0]
    assert ask(redis_server.port, b"KEYS *") == b"*0\r\n"  # no lock left to hold up the fleet
