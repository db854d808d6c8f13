"""Token storage: the memory store, any get/set object, keys, values, and failing stores."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.doubles import AsyncStore, BrokenStore, DictStore, GetSetStore, SlowStore, client_for
from tornado_alf import MemoryTokenStore
from tornado_alf._arguments import token_http_options
from tornado_alf._token import Token
from tornado_alf._token_request import form_fields
from tornado_alf.auth.base import secret_fingerprint
from tornado_alf.stores.codec import decode_token, encode_token, token_key_digest
from tornado_alf.testing import AuthServer


def client_digest(token_endpoint: str) -> str:
    """The key digest of a client with the test credentials and default options."""
    return token_key_digest(
        token_endpoint, CLIENT_ID, form_fields(None, {}), auth_method="client_secret_basic",
        fingerprint=secret_fingerprint(CLIENT_SECRET), http_options=token_http_options(token_endpoint, None),
    )


@pytest.mark.parametrize("store_type", [MemoryTokenStore, GetSetStore, AsyncStore])
async def test_clients_sharing_a_store_share_one_token(auth_server: AuthServer, store_type: type) -> None:
    store = store_type()
    first, second = client_for(auth_server, store), client_for(auth_server, store)
    await first.fetch(auth_server.resource_url)
    token = auth_server.last_resource_authorization
    await second.fetch(auth_server.resource_url)
    assert auth_server.last_resource_authorization == token
    assert auth_server.token_requests == 1


async def test_a_valid_in_memory_token_costs_no_store_call(auth_server: AuthServer) -> None:
    store = GetSetStore()
    client = client_for(auth_server, store)
    await client.fetch(auth_server.resource_url)
    calls = list(store.calls)
    await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(50)))
    assert store.calls == calls == ["get", "set"]


async def test_stale_stored_entry_is_never_used(auth_server: AuthServer) -> None:
    store = GetSetStore()
    digest = client_digest(auth_server.token_endpoint)
    stale = Token("stale-token", expires_in=60, issued_at=time.time() - 120)
    store["tornado-alf:" + digest] = encode_token(stale)
    await client_for(auth_server, store).fetch(auth_server.resource_url)
    assert auth_server.last_resource_authorization != "Bearer stale-token"
    assert auth_server.token_requests == 1
    assert decode_token(store["tornado-alf:" + digest]).access_token in auth_server.issued


async def test_fresh_stored_entry_is_used_without_a_token_request(auth_server: AuthServer) -> None:
    store = GetSetStore()
    planted = auth_server.issue_token()
    digest = client_digest(auth_server.token_endpoint)
    store["tornado-alf:" + digest] = encode_token(Token(planted, expires_in=3600)).encode()  # bytes, as redis
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
    store = GetSetStore()
    before = time.time()
    await client_for(auth_server, store).fetch(auth_server.resource_url)
    (value,) = store.values()
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
    def recovered() -> bool:
        return any("answering again" in r.getMessage() for r in caplog.records)

    for _ in range(100):  # tried again once the backoff has passed, not on every fetch
        assert (await client.fetch(auth_server.resource_url)).code == 200
        if store and recovered():  # written to (a write-back, a new token) and read from again
            break
        await asyncio.sleep(0.06)
    assert store
    assert recovered()


async def test_a_slow_store_is_given_up_after_store_timeout(auth_server: AuthServer) -> None:
    # The store holds a valid token but answers after 0.5 s, inside the 1 s default: only a
    # client that honours store_timeout=0.05 gives up on it and asks the token endpoint.
    store = SlowStore(delay=0.5)
    planted = auth_server.issue_token()
    digest = client_digest(auth_server.token_endpoint)
    store["tornado-alf:" + digest] = encode_token(Token(planted, expires_in=3600))
    client = client_for(auth_server, store, store_timeout=0.05)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 1
    assert auth_server.last_resource_authorization != f"Bearer {planted}"
    client.close()


async def test_a_store_that_never_answers_does_not_hold_up_fetch(auth_server: AuthServer) -> None:
    client = client_for(auth_server, SlowStore(delay=None), store_timeout=0.05)
    response = await asyncio.wait_for(client.fetch(auth_server.resource_url), timeout=30)
    assert response.code == 200
    assert auth_server.token_requests == 1
    client.close()


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\xff", "not json", "[]", '{"access_token": 5}', '{"access_token": "a", "issued_at": "x"}', 42],
)
async def test_garbage_value_is_treated_as_absent(
    auth_server: AuthServer, garbage: object, caplog: pytest.LogCaptureFixture
) -> None:
    store = GetSetStore()
    digest = client_digest(auth_server.token_endpoint)
    store["tornado-alf:" + digest] = garbage
    assert (await client_for(auth_server, store).fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 1
    assert any(r.levelno == logging.WARNING for r in caplog.records)


async def test_401_deletes_the_stored_token_only_if_it_is_the_rejected_one(auth_server: AuthServer) -> None:
    store = DictStore()
    client = client_for(auth_server, store)
    await client.fetch(auth_server.resource_url)
    auth_server.revoke_all()
    await client.fetch(auth_server.resource_url)
    assert "delete" in store.calls
    (value,) = store.values()
    assert decode_token(value).access_token not in auth_server.revoked

    # Another process already replaced the rejected token: the newer one survives.
    store.calls.clear()
    newer = auth_server.issue_token()
    (key,) = store
    stale_client_token = decode_token(store[key]).access_token
    store[key] = encode_token(Token(newer, expires_in=3600))
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
