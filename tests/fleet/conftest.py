"""Fixtures that run real Redis, Redis Cluster and memcached servers.

Servers shared by the session are emptied before each test that uses them;
a test that kills its server asks `redis_factory` for one of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.fleet.backends import KINDS, Backend
from tests.servers import MemcachedServer, RedisCluster, RedisServer, ask, stop_all
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer


@pytest.fixture(scope="session", autouse=True)
def _stop_servers_at_exit() -> Iterator[None]:
    yield
    stop_all()


@pytest.fixture(scope="session")
def _session_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(_session_redis: RedisServer) -> RedisServer:
    """The session's ``redis-server``, emptied for this test."""
    assert ask(_session_redis.port, b"FLUSHALL").startswith(b"+OK")
    return _session_redis


@pytest.fixture
def redis_factory() -> Iterator[Callable[[], RedisServer]]:
    """Start dedicated servers (to kill, restart, reconfigure); stopped after."""
    started: list[RedisServer] = []

    def start() -> RedisServer:
        server = RedisServer()
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def _session_cluster() -> Iterator[RedisCluster]:
    cluster = RedisCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_cluster(_session_cluster: RedisCluster) -> RedisCluster:
    """The session's 3-node Redis Cluster, emptied for this test."""
    for node in _session_cluster.nodes:
        assert ask(node.port, b"FLUSHALL").startswith(b"+OK")
    return _session_cluster


@pytest.fixture
def memcached_server() -> Iterator[MemcachedServer]:
    """A fresh ``memcached`` for this test (its item count is exact: nothing flushed lingers)."""
    server = MemcachedServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=KINDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Each client kind in turn: redis-py and valkey, on one server and on the cluster."""
    kind: str = request.param
    fixture = "redis_cluster" if kind.endswith("cluster") else "redis_server"
    made = Backend(kind, request.getfixturevalue(fixture))
    yield made
    await made.close()


@pytest.fixture
def make_client(auth_server: AuthServer) -> Iterator[Callable[..., TornadoClient]]:
    """Build `TornadoClient` objects for ``auth_server``; closed after the test."""
    made: list[TornadoClient] = []

    def make(token_storage: object, **options: Any) -> TornadoClient:
        client = TornadoClient(
            auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_storage=token_storage, **options
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
