"""RedisTokenStore on real servers, with each client kind: redis-py, valkey, cluster or not."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Callable

import pytest
import redis.asyncio

from tests.fleet.backends import Backend
from tornado_alf import RedisTokenStore, TornadoClient
from tornado_alf._token import Token
from tornado_alf.testing import AuthServer

MakeClient = Callable[..., TornadoClient]


def only_key(backend: Backend) -> str:
    keys = backend.ttls()
    assert len(keys) == 1, keys
    return next(iter(keys))


def stored(backend: Backend, key: str) -> dict[str, Any]:
    raw = backend.get(key)
    assert raw is not None
    value: dict[str, Any] = json.loads(raw)
    return value


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tornado_alf" and r.levelno >= logging.WARNING]


async def test_two_clients_share_one_token(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.token_latency = 0.05
    clients = [make_client(RedisTokenStore(backend.client())) for _ in range(2)]
    responses = await asyncio.gather(*(c.fetch(auth_server.resource_url) for c in clients for _ in range(20)))
    assert {r.code for r in responses} == {200}
    assert auth_server.token_requests == 1
    late = make_client(RedisTokenStore(backend.client()))
    assert (await late.fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 1


async def test_stored_json_and_ttl_of_the_lifetime(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.expires_in = 120
    client = make_client(RedisTokenStore(backend.client(), key_prefix="app:alf:"), scope="read write")
    await client.fetch(auth_server.resource_url)
    key = only_key(backend)  # the lock is gone
    assert key.startswith("app:alf:{")
    assert key.endswith("}")
    assert 118_000 < backend.ttls()[key] <= 120_000
    value = stored(backend, key)
    assert value["access_token"] in auth_server.issued
    assert value["token_type"] == "Bearer"
    assert value["scope"] == "read write"
    assert value["expires_at"] == pytest.approx(time.time() + 120, abs=3)


async def test_lock_while_fetching_has_prefix_ttl_and_the_token_slot(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.token_latency = 0.5
    client = make_client(RedisTokenStore(backend.client(), key_prefix="app:", lock_timeout=3))
    fetch = asyncio.ensure_future(client.fetch(auth_server.resource_url))
    for _ in range(200):
        if backend.ttls():
            break
        await asyncio.sleep(0.01)
    (lock, ttl), = backend.ttls().items()
    assert lock.startswith("app:{")
    assert lock.endswith("}:lock")
    assert 2_000 < ttl <= 3_000
    assert (await fetch).code == 200
    token_key = only_key(backend)
    assert lock == token_key + ":lock"
    assert backend.slot(lock) == backend.slot(token_key)


async def test_token_without_expiry_is_stored_without_ttl(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.expires_in = None
    await make_client(RedisTokenStore(backend.client())).fetch(auth_server.resource_url)
    key = only_key(backend)
    assert backend.ttls()[key] == -1
    assert stored(backend, key)["expires_at"] is None
    await make_client(RedisTokenStore(backend.client())).fetch(auth_server.resource_url)
    assert auth_server.token_requests == 1


async def test_token_with_zero_lifetime_is_not_stored(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.expires_in = 0
    assert (await make_client(RedisTokenStore(backend.client())).fetch(auth_server.resource_url)).code == 200
    assert backend.ttls() == {}


async def test_waiter_fetches_alone_when_the_lock_is_never_released(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    await make_client(RedisTokenStore(backend.client())).fetch(auth_server.resource_url)
    key = only_key(backend)
    backend.set(key, b"", "PX", 1)  # gone in a millisecond
    backend.set(key + ":lock", b"a-holder-that-hangs", "PX", 30_000)
    store = RedisTokenStore(backend.client(), lock_timeout=30, wait_timeout=0.3)
    started = time.monotonic()
    assert (await make_client(store).fetch(auth_server.resource_url)).code == 200
    assert 0.3 <= time.monotonic() - started < 2
    assert auth_server.token_requests == 2
    assert backend.get(key + ":lock") == b"a-holder-that-hangs"  # not someone else's to release
    assert stored(backend, key)["access_token"] in auth_server.issued


async def test_refresh_ahead_refreshes_once_for_all_clients(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.expires_in = 2  # usable 1 s (margin: half the lifetime), refreshed after 0.8 s
    clients = [make_client(RedisTokenStore(backend.client())) for _ in range(3)]
    await asyncio.gather(*(c.fetch(auth_server.resource_url) for c in clients))
    first = auth_server.last_resource_authorization
    await asyncio.sleep(0.85)
    await asyncio.gather(*(c.fetch(auth_server.resource_url) for c in clients))  # start the refreshes
    for _ in range(100):
        if auth_server.token_requests == 2 and not any("request in flight" in repr(c) for c in clients):
            break
        await asyncio.sleep(0.01)
    for client in clients:
        await client.fetch(auth_server.resource_url)
        assert auth_server.last_resource_authorization != first
    assert auth_server.token_requests == 2


async def test_401_deletes_only_the_rejected_token(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    first = make_client(RedisTokenStore(backend.client()))
    second = make_client(RedisTokenStore(backend.client()))
    await first.fetch(auth_server.resource_url)
    await second.fetch(auth_server.resource_url)
    auth_server.revoke_all()
    await second.fetch(auth_server.resource_url)  # rejected: stores a second token
    key = only_key(backend)
    newer = stored(backend, key)["access_token"]
    response = await first.fetch(auth_server.resource_url)  # rejected too, must not delete the newer one
    assert response.code == 200
    assert auth_server.token_requests == 2
    assert stored(backend, key)["access_token"] == newer
    assert auth_server.last_resource_authorization == "Bearer " + newer


async def test_compare_and_delete_script(backend: Backend, auth_server: AuthServer, make_client: MakeClient) -> None:
    store = RedisTokenStore(backend.client())
    await make_client(store).fetch(auth_server.resource_url)
    key = only_key(backend)
    digest = key[len("tornado-alf:{") : -1]
    assert store.token_key(digest) == key
    await store.discard(digest, Token("some-other-token"))
    assert backend.get(key) is not None
    await store.discard(digest, Token(stored(backend, key)["access_token"]))
    assert backend.ttls() == {}


async def test_garbage_value_is_replaced_with_one_warning(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    await make_client(RedisTokenStore(backend.client())).fetch(auth_server.resource_url)
    key = only_key(backend)
    backend.set(key, b"\xff{not json")
    client = make_client(RedisTokenStore(backend.client()))
    responses = await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(10)))
    assert {r.code for r in responses} == {200}
    assert auth_server.token_requests == 2
    assert len(warnings(caplog)) == 1
    assert stored(backend, key)["access_token"] in auth_server.issued
    await make_client(RedisTokenStore(backend.client())).fetch(auth_server.resource_url)
    assert auth_server.token_requests == 2  # the store serves again


async def test_stale_value_is_never_used(backend: Backend, auth_server: AuthServer, make_client: MakeClient) -> None:
    await make_client(RedisTokenStore(backend.client())).fetch(auth_server.resource_url)
    key = only_key(backend)
    planted = auth_server.issue_token()
    now = time.time()
    stale = {"access_token": planted, "token_type": "Bearer", "expires_at": now - 1, "issued_at": now - 61}
    backend.set(key, json.dumps({**stale, "scope": None}))  # no TTL: only the value says it is stale
    client = make_client(RedisTokenStore(backend.client()))
    assert (await client.fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 2
    assert auth_server.last_resource_authorization != "Bearer " + planted
    assert stored(backend, key)["access_token"] != planted


async def test_repr_shows_state_not_tokens(backend: Backend, auth_server: AuthServer, make_client: MakeClient) -> None:
    auth_server.token_latency = 1
    holder, waiter = RedisTokenStore(backend.client()), RedisTokenStore(backend.client())
    fetches = [asyncio.ensure_future(make_client(s).fetch(auth_server.resource_url)) for s in (holder, waiter)]
    during = ""
    for _ in range(100):  # until one holds the lock and the other waits for it
        await asyncio.sleep(0.01)
        during = repr(holder) + repr(waiter)
        if "holding 1 lock(s)" in during and "1 waiting" in during:
            break
    await asyncio.gather(*fetches)
    assert "holding 1 lock(s)" in during
    assert "1 waiting" in during
    for text in (during, repr(holder), repr(waiter)):
        assert "tornado-alf:" in text
        assert not any(token in text for token in auth_server.issued)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((object(),), TypeError),
        ((None,), TypeError),
    ],
)
def test_rejects_what_is_not_a_redis_client(args: tuple[Any, ...], error: type[Exception]) -> None:
    with pytest.raises(error, match="redis_client"):
        RedisTokenStore(*args)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"key_prefix": "app:{}:"}, "key_prefix"),
        ({"key_prefix": b"app:"}, "key_prefix"),
        ({"lock_timeout": 0}, "lock_timeout"),
        ({"lock_timeout": float("inf")}, "lock_timeout"),
        ({"lock_timeout": True}, "lock_timeout"),
        ({"wait_timeout": -1}, "wait_timeout"),
    ],
)
def test_rejects_bad_options(backend_free_client: Any, options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RedisTokenStore(backend_free_client, **options)


def test_key_prefix_may_carry_its_own_hash_tag() -> None:
    store = RedisTokenStore(redis.asyncio.Redis(), key_prefix="app:{tokens}:")
    assert Backend.slot(store.token_key("abc")) == Backend.slot(store.lock_key("abc"))
    assert store.lock_key("abc").startswith("app:{tokens}:")


@pytest.fixture
def backend_free_client() -> Any:
    """A client object that is never connected: option checks need no server."""
    return redis.asyncio.Redis()
