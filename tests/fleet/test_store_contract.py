"""The store seam: what is taken for a get/set store, what for a fleet cache, and bytes-only clients.

Against a real memcached: `EncryptedTokenStore` over aiomcache (a client that
takes bytes only) shares sealed tokens; an object that happens to have
``load``/``save``/``discard`` is never mistaken for the internal cache; and
generic invalidation is an atomic compare-and-delete where memcached offers
``gets``/``cas``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, Callable, Optional

import aiomcache
import pytest
from cryptography.fernet import Fernet
from pymemcache.client.base import Client as PymemcacheClient

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.fleet.test_credential_keys import memcached_keys
from tests.servers import HOST, MemcachedServer
from tornado_alf import EncryptedTokenStore, MemoryTokenStore, TornadoClient
from tornado_alf._token import Token
from tornado_alf.stores.codec import encode_token
from tornado_alf.stores.contract import FleetCache, wants_bytes
from tornado_alf.testing import AuthServer

MakeClient = Callable[..., TornadoClient]


@pytest.fixture
async def aiomcache_clients(memcached_server: MemcachedServer) -> AsyncIterator[Callable[[], Any]]:
    made: list[Any] = []

    def make() -> Any:
        made.append(aiomcache.Client(HOST, memcached_server.port))
        return made[-1]

    yield make
    for client in made:
        await client.close()


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tornado_alf" and r.levelno >= logging.WARNING]


async def test_encrypted_store_over_aiomcache_shares_sealed_tokens(
    memcached_server: MemcachedServer,
    aiomcache_clients: Callable[[], Any],
    auth_server: AuthServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = Fernet.generate_key()
    first = make_client(EncryptedTokenStore(aiomcache_clients(), encryption_key=key))
    second = make_client(EncryptedTokenStore(aiomcache_clients(), encryption_key=key))
    assert (await first.fetch(auth_server.resource_url)).code == 200
    responses = await asyncio.gather(*(second.fetch(auth_server.resource_url) for _ in range(5)))
    assert {r.code for r in responses} == {200}
    assert auth_server.token_requests == 1  # the second client opened the first one's sealed token
    assert warnings(caplog) == []
    (stored_key,) = memcached_keys(memcached_server.port)
    stored = await aiomcache_clients().get(stored_key.encode())
    (issued,) = auth_server.issued
    assert stored is not None
    assert issued.encode() not in stored  # sealed at rest


async def test_wrappers_pass_wants_bytes_through(aiomcache_clients: Callable[[], Any]) -> None:
    raw = aiomcache_clients()
    assert wants_bytes(raw)
    assert wants_bytes(EncryptedTokenStore(raw, encryption_key=Fernet.generate_key()))
    assert not wants_bytes(EncryptedTokenStore(MemoryTokenStore(), encryption_key=Fernet.generate_key()))


class LoadSaveStore:
    """A user's store that also has methods named like the internal cache's: get/set is what counts."""

    def __init__(self, client: PymemcacheClient) -> None:
        self.client = client
        self.internal_calls = 0

    def get(self, key: str) -> Any:
        return self.client.get(key)

    def set(self, key: str, value: str) -> Any:
        return self.client.set(key, value)

    def load(self, *args: Any) -> None:
        self.internal_calls += 1

    def save(self, *args: Any) -> None:
        self.internal_calls += 1

    def discard(self, *args: Any) -> None:
        self.internal_calls += 1


async def test_load_save_discard_do_not_make_an_internal_cache(
    request: pytest.FixtureRequest, memcached_server: MemcachedServer, auth_server: AuthServer, make_client: MakeClient
) -> None:
    stores = [LoadSaveStore(PymemcacheClient((HOST, memcached_server.port))) for _ in range(2)]
    for store in stores:
        request.addfinalizer(store.client.close)
        assert (await make_client(store).fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 1  # shared through get/set
    assert [store.internal_calls for store in stores] == [0, 0]


async def test_an_object_with_only_load_save_discard_is_refused(auth_server: AuthServer) -> None:
    class Lookalike:
        async def load(self, key: str) -> None: ...
        async def save(self, key: str, token: Token) -> None: ...
        async def discard(self, key: str, token: Token) -> None: ...

    assert not isinstance(Lookalike(), FleetCache)
    with pytest.raises(TypeError, match="get"):
        TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_storage=Lookalike())


class RacingClient(PymemcacheClient):  # type: ignore[misc]
    """pymemcache where another process writes a newer token right after each read of ours."""

    newer: Optional[str] = None

    def _race(self, key: Any) -> None:
        if self.newer is not None:
            other = PymemcacheClient(self.server)
            other.set(key, self.newer)
            other.close()
            self.newer = None

    def get(self, key: Any, *args: Any, **kwargs: Any) -> Any:
        value = super().get(key, *args, **kwargs)
        self._race(key)
        return value

    def gets(self, key: Any, *args: Any, **kwargs: Any) -> Any:
        value = super().gets(key, *args, **kwargs)
        self._race(key)
        return value


async def test_invalidation_keeps_a_newer_token_written_meanwhile(
    request: pytest.FixtureRequest, memcached_server: MemcachedServer, auth_server: AuthServer, make_client: MakeClient
) -> None:
    store = RacingClient((HOST, memcached_server.port))
    request.addfinalizer(store.close)
    client = make_client(store)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    auth_server.revoke_all()  # the token we hold is rejected: the client discards it from the store
    newer = auth_server.issue_token()
    store.newer = encode_token(Token(newer, expires_in=3600))
    assert (await client.fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 1  # the newer token another process wrote was kept and used
    assert auth_server.last_resource_authorization == f"Bearer {newer}"
