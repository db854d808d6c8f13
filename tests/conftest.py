"""Shared fixtures: servers and clients for each test, and the guards every test runs under.

Test doubles (stores, the client factory, free ports) live in `tests.doubles`; tests/README.rst says
which file is the home of which behaviour.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import tornado
from tornado.httpclient import AsyncHTTPClient

from tests.doubles import CLIENT_ID, CLIENT_SECRET, client_for
from tests.servers import MemcachedServer, RedisCluster, RedisServer, ask, stop_all
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "SERVERS_THIS_TEST"]  # tests written before tests.doubles import these here

#: Servers started during the current test, whose issued tokens must not leak either.
SERVERS_THIS_TEST: list[AuthServer] = []


# --- the guards --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _every_auth_server_is_guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register each `AuthServer` a test starts, however it starts it, with the leak guard."""
    start = AuthServer.start

    @functools.wraps(start)  # the API surface test reads its docstring
    def start_and_register(server: Any, port: int = 0) -> Any:
        SERVERS_THIS_TEST.append(server)
        return start(server, port)

    monkeypatch.setattr(AuthServer, "start", start_and_register)


#: Shortest issued token the log check looks for.
MIN_TRACEABLE_TOKEN = 8


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test during which a log record shows the client secret or an issued token."""
    caplog.set_level(logging.DEBUG)
    yield
    secrets = {CLIENT_SECRET}
    for server in SERVERS_THIS_TEST:
        # Property tests issue tokens such as "" or "g", which any text contains; the
        # sweep in test_secrets.py covers leaks with tokens long enough to be told apart.
        secrets.update(token for token in server.issued if len(token) >= MIN_TRACEABLE_TOKEN)
    SERVERS_THIS_TEST.clear()
    for record in caplog.records:
        text = record.getMessage()
        leaked = [name for name in secrets if name in text]
        assert not leaked, f"log record from {record.name} leaks a secret or token"


@pytest.fixture(autouse=True)
def no_lost_asyncio_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test during which asyncio reported an exception nobody retrieved or a task lost pending.

    asyncio logs these (it does not warn), so ``-W error`` alone would let them pass.
    """
    yield
    lost = [
        record.getMessage().splitlines()[0]
        for phase in ("setup", "call")
        for record in caplog.get_records(phase)
        if record.name == "asyncio" and record.levelno >= logging.ERROR
    ]
    assert not lost, f"asyncio reported: {lost}"


# --- an authorization server and clients of it --------------------------------------------------


@pytest.fixture
async def auth_server() -> AsyncIterator[AuthServer]:
    """A token endpoint and protected resource on 127.0.0.1, fresh for each test."""
    async with AuthServer(CLIENT_ID, CLIENT_SECRET) as server:
        yield server


@pytest.fixture
async def client(auth_server: AuthServer) -> AsyncIterator[TornadoClient]:
    """A `TornadoClient` of ``auth_server`` with default options; closed after the test."""
    made = client_for(auth_server)
    yield made
    made.close()


@pytest.fixture
def make_client(auth_server: AuthServer) -> Iterator[Callable[..., TornadoClient]]:
    """Build `TornadoClient` objects of ``auth_server`` (``make(token_storage=None, **options)``); closed after."""
    made: list[TornadoClient] = []

    def make(token_storage: object = None, **options: Any) -> TornadoClient:
        made.append(client_for(auth_server, token_storage, **options))
        return made[-1]

    yield make
    for each in made:
        each.close()


# --- real Redis and memcached processes ---------------------------------------------------------


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
def shared_redis(_session_redis: RedisServer) -> RedisServer:
    """The session's ``redis-server``, emptied for this test: do not kill or reconfigure it."""
    assert ask(_session_redis.port, b"FLUSHALL").startswith(b"+OK")
    return _session_redis


@pytest.fixture
def redis_server(shared_redis: RedisServer) -> RedisServer:
    """Old name of `shared_redis`, kept for tests written before the rename."""
    return shared_redis


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


@pytest.fixture
def own_redis(redis_factory: Callable[[], RedisServer]) -> RedisServer:
    """A ``redis-server`` of this test's own, free to kill, pause or restart."""
    return redis_factory()


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


# --- Which Tornado HTTP client the run uses (transport) -------------------------------------------
# ``python -m pytest --http-client=curl`` (or TORNADO_ALF_TEST_HTTP_CLIENT=curl) configures
# AsyncHTTPClient to CurlAsyncHTTPClient for the whole run, so every test that leaves
# ``http_client`` unset runs on Curl; CI runs the core tests under both (.ci/tornado-matrix).


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--http-client", choices=("simple", "curl"),
        default=os.environ.get("TORNADO_ALF_TEST_HTTP_CLIENT", "simple"),
        help="Tornado HTTP client behind AsyncHTTPClient() for this run (default: simple)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--http-client") == "curl":
        AsyncHTTPClient.configure("tornado.curl_httpclient.CurlAsyncHTTPClient")


def pytest_report_header(config: pytest.Config) -> str:
    return f"tornado {tornado.version}, http client: {AsyncHTTPClient.configured_class().__name__}"
