"""The get/set adapter over the shared caches users already run, each one real.

memcached through pymemcache (sync) and aiomcache (async), and Django's cache
framework with its Redis backend: clients sharing a store make one token
request, and a token past its expiry is never taken from the store.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from typing import Any, Callable

import aiomcache
import pytest
from pymemcache.client.base import Client as PymemcacheClient

from tests.servers import HOST, RedisServer, ask
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer

MakeStore = Callable[[], Any]


class Stores:
    """Store objects of one kind on one server, and a count of what that server holds."""

    def __init__(self, factory: MakeStore, count: Callable[[], int]) -> None:
        self.factory = factory
        self.count = count
        self.made: list[Any] = []

    def make(self) -> Any:
        """A new store object (a client of its own, as each process has)."""
        self.made.append(self.factory())
        return self.made[-1]

    async def close(self) -> None:
        """Close every store object made here."""
        for store in self.made:
            closed = store.close()
            if inspect.isawaitable(closed):
                await closed


def django_cache_factory(shared_redis: RedisServer) -> MakeStore:
    """Django's cache framework with ``RedisCache``, configured the way a project would."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": shared_redis.url,
                }
            }
        )
    from django.core.cache import caches

    # A connection of its own for each client, as each process of a fleet has.
    return lambda: caches.create_connection("default")


@pytest.fixture(params=["pymemcache", "aiomcache", "django"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    """Store objects of one kind, all on the same real server; closed after the test."""
    if request.param == "django":
        shared_redis: RedisServer = request.getfixturevalue("shared_redis")
        made = Stores(django_cache_factory(shared_redis), lambda: int(ask(shared_redis.port, b"DBSIZE")[1:]))
    else:
        port = request.getfixturevalue("memcached_server").port
        library: Callable[[], Any] = (
            (lambda: PymemcacheClient((HOST, port))) if request.param == "pymemcache"
            else (lambda: aiomcache.Client(HOST, port))
        )
        made = Stores(library, lambda: memcached_items(port))
    yield made
    await made.close()


def memcached_items(port: int) -> int:
    stats = ask(port, b"stats").decode()
    return int(stats.split("STAT curr_items ")[1].split()[0])


async def test_two_clients_sharing_a_store_make_one_token_request(
    stores: Stores, auth_server: AuthServer, make_client: Callable[..., TornadoClient]
) -> None:
    first, second = make_client(stores.make()), make_client(stores.make())
    assert (await first.fetch(auth_server.resource_url)).code == 200
    responses = await asyncio.gather(*(second.fetch(auth_server.resource_url) for _ in range(10)))
    assert {r.code for r in responses} == {200}
    assert auth_server.token_requests == 1
    assert stores.count() == 1


async def test_an_expired_stored_token_is_never_used(
    stores: Stores, auth_server: AuthServer, make_client: Callable[..., TornadoClient]
) -> None:
    auth_server.expires_in = 0.4
    await make_client(stores.make()).fetch(auth_server.resource_url)
    expired = auth_server.last_resource_authorization
    await asyncio.sleep(0.5)  # the stored entry outlives its token: nothing here expires it
    assert (await make_client(stores.make()).fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 2
    assert auth_server.last_resource_authorization != expired
    assert auth_server.rejected_requests == 0
