"""Token storage: the memory store, any get/set object, keys, values, and failing stores."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Optional

import pytest

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tornado_alf import MemoryTokenStore, TornadoClient
from tornado_alf._exchange import form_fields
from tornado_alf._settings import token_http_options
from tornado_alf._token import Token
from tornado_alf.auth.methods import secret_fingerprint
from tornado_alf.stores.codec import decode_token, encode_token, token_key_digest
from tornado_alf.testing import AuthServer


class DictStore:
    """A user's synchronous store, counting calls (a real object, not a mock of ours)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.calls: list[str] = []

    def get(self, key: str) -> Any:
        self.calls.append("get")
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.calls.append("set")
        self.values[key] = value


class DeletingStore(DictStore):
    def delete(self, key: str) -> None:
        self.calls.append("delete")
        self.values.pop(key, None)


class AsyncStore:
    """Like redis.asyncio: every call returns an awaitable."""

    def __init__(self) -> None:
        self.inner = DictStore()

    async def get(self, key: str) -> Any:
        await asyncio.sleep(0)
        return self.inner.get(key)

    async def set(self, key: str, value: str) -> None:
        await asyncio.sleep(0)
        self.inner.set(key, value)


class BrokenStore:
    def __init__(self) -> None:
        self.broken = True
        self.inner = DictStore()

    def get(self, key: str) -> Any:
        if self.broken:
            raise ConnectionError("store down")
        return self.inner.get(key)

    def set(self, key: str, value: str) -> None:
        if self.broken:
            raise ConnectionError("store down")
        self.inner.set(key, value)


class HangingStore:
    async def get(self, key: str) -> Optional[str]:
        await asyncio.sleep(3600)
        return None

    async def set(self, key: str, value: str) -> None:
        await asyncio.sleep(3600)



def client_digest(token_endpoint: str) -> str:
    """The key digest of a client with the test credentials and default options."""
    return token_key_digest(
        token_endpoint, CLIENT_ID, form_fields(None, {}), auth_method="client_secret_basic",
        fingerprint=secret_fingerprint(CLIENT_SECRET), http_options=token_http_options(token_endpoint, None),
    )


def client_for(server: AuthServer, store: object, **kwargs: Any) -> TornadoClient:
    return TornadoClient(server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_storage=store, **kwargs)


@pytest.mark.parametrize("store_type", [MemoryTokenStore, DictStore, AsyncStore])
async def test_clients_sharing_a_store_share_one_token(auth_server: AuthServer, store_type: type) -> None:
    store = store_type()
    first, second = client_for(auth_server, store), client_for(auth_server, store)
    await first.fetch(auth_server.resource_url)
    token = auth_server.last_resource_authorization
    await second.fetch(auth_server.resource_url)
    assert auth_server.last_resource_authorization == token
    assert auth_server.token_requests == 1


async def test_a_valid_in_memory_token_costs_no_store_call(auth_server: AuthServer) -> None:
    store = DictStore()
    client = client_for(auth_server, store)
    await client.fetch(auth_server.resource_url)
    calls = list(store.calls)
    await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(50)))
    assert store.calls == calls == ["get", "set"]


async def test_stale_stored_entry_is_never_used(auth_server: AuthServer) -> None:
    store = DictStore()
    digest = client_digest(auth_server.token_endpoint)
    stale = Token("stale-token", expires_in=60, issued_at=time.time() - 120)
    store.values["tornado-alf:" + digest] = encode_token(stale)
    await client_for(auth_server, store).fetch(auth_server.resource_url)
    assert auth_server.last_resource_authorization != "Bearer stale-token"
    assert auth_server.token_requests == 1
    assert decode_token(store.values["tornado-alf:" + digest]).access_token in auth_server.issued


async def test_fresh_stored_entry_is_used_without_a_token_request(auth_server: AuthServer) -> None:
    store = DictStore()
    planted = auth_server.issue_token()
    digest = client_digest(auth_server.token_endpoint)
    store.values["tornado-alf:" + digest] = encode_token(Token(planted, expires_in=3600)).encode()  # bytes, as redis
    await client_for(auth_server, store).fetch(auth_server.resource_url)
    assert auth_server.last_resource_authorization == f"Bearer {planted}"
    assert auth_server.token_requests == 0


def test_keys_are_memcached_safe_distinct_and_free_of_the_secret() -> None:
    keys = set()
    for scope in (None, "read", "write"):
        for params in ({}, {"audience": "a"}, {"audience": "b"}):
            digest = token_key_digest(
                "https://auth.example/token", "id", form_fields(scope, params), auth_method="none", fingerprint=""
            )
            keys.add("tornado-alf:" + digest)
    assert len(keys) == 9
    same = token_key_digest(
        "https://auth.example/token", "id", form_fields("read", {}), auth_method="none", fingerprint=""
    )
    assert "tornado-alf:" + same in keys
    for key in keys:
        assert len(key.encode()) <= 250
        assert key.isascii()
        assert key.isprintable()
        assert " " not in key
    assert CLIENT_SECRET not in "".join(keys)


async def test_stored_value_is_json_carrying_the_expiry(auth_server: AuthServer) -> None:
    store = DictStore()
    before = time.time()
    await client_for(auth_server, store).fetch(auth_server.resource_url)
    (value,) = store.values.values()
    document = json.loads(value)
    assert document["access_token"] in auth_server.issued
    assert before + 3600 <= document["expires_at"] <= time.time() + 3600


async def test_failing_store_never_fails_fetch_and_warns_once_per_outage(
    auth_server: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = BrokenStore()
    client = client_for(auth_server, store, max_token_lifetime=0.05)
    for _ in range(4):
        assert (await client.fetch(auth_server.resource_url)).code == 200
        await asyncio.sleep(0.06)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "tornado_alf"]
    assert len(warnings) == 1
    assert "ConnectionError" in warnings[0].getMessage()
    store.broken = False
    for _ in range(100):  # tried again once the backoff has passed, not on every fetch
        assert (await client.fetch(auth_server.resource_url)).code == 200
        if store.inner.values:
            break
        await asyncio.sleep(0.06)
    assert store.inner.values  # used again once it recovered
    assert any("answering again" in r.getMessage() for r in caplog.records)


async def test_hanging_store_is_bounded_by_the_store_timeout(auth_server: AuthServer) -> None:
    client = client_for(auth_server, HangingStore(), store_timeout=0.05)
    response = await asyncio.wait_for(client.fetch(auth_server.resource_url), timeout=5)
    assert response.code == 200


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\xff", "not json", "[]", '{"access_token": 5}', '{"access_token": "a", "issued_at": "x"}', 42],
)
async def test_garbage_value_is_treated_as_absent(
    auth_server: AuthServer, garbage: object, caplog: pytest.LogCaptureFixture
) -> None:
    store = DictStore()
    digest = client_digest(auth_server.token_endpoint)
    store.values["tornado-alf:" + digest] = garbage
    assert (await client_for(auth_server, store).fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 1
    assert any(r.levelno == logging.WARNING for r in caplog.records)


async def test_401_deletes_the_stored_token_only_if_it_is_the_rejected_one(auth_server: AuthServer) -> None:
    store = DeletingStore()
    client = client_for(auth_server, store)
    await client.fetch(auth_server.resource_url)
    auth_server.revoke_all()
    await client.fetch(auth_server.resource_url)
    assert "delete" in store.calls
    (value,) = store.values.values()
    assert decode_token(value).access_token not in auth_server.revoked

    # Another process already replaced the rejected token: the newer one survives.
    store.calls.clear()
    newer = auth_server.issue_token()
    (key,) = store.values
    stale_client_token = decode_token(store.values[key]).access_token
    store.values[key] = encode_token(Token(newer, expires_in=3600))
    auth_server.revoked.add(stale_client_token)
    await client.fetch(auth_server.resource_url)
    assert "delete" not in store.calls
    assert auth_server.last_resource_authorization == f"Bearer {newer}"


def test_memory_store_repr_hides_tokens() -> None:
    store = MemoryTokenStore()
    store.set("k", encode_token(Token("very-secret-token")))
    assert "very-secret-token" not in repr(store)
    assert "very-secret-token" not in repr(Token("very-secret-token"))
    assert "very-secret-token" not in str(Token("very-secret-token"))
