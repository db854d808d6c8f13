"""Encryption at rest: what a shared store holds is sealed, rotates, and never opens elsewhere."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.doubles import CLIENT_SECRET, AsyncStore, DictStore, GetSetStore, client_for
from tornado_alf import EncryptedTokenStore
from tornado_alf.stores.codec import decode_token
from tornado_alf.stores.sealing import Sealer
from tornado_alf.testing import AuthServer

KEY_1 = Fernet.generate_key()
KEY_2 = Fernet.generate_key()


async def fetch_with(server: AuthServer, store: Any, **kwargs: Any) -> None:
    client = client_for(server, store, **kwargs)
    try:
        assert (await client.fetch(server.resource_url)).code == 200
    finally:
        client.close()


async def test_a_sealed_store_shares_tokens_and_holds_nothing_usable(auth_server: AuthServer) -> None:
    cache = DictStore()
    store = EncryptedTokenStore(cache, encryption_key=KEY_1)
    await fetch_with(auth_server, store)
    await fetch_with(auth_server, store)  # another client: the sealed token is read back
    assert auth_server.token_requests == 1
    [(key, value)] = cache.items()
    assert key.startswith("tornado-alf:")
    [token] = auth_server.issued
    assert token not in value
    assert CLIENT_SECRET not in value
    with pytest.raises(ValueError, match="Expecting value"):  # not a stored token to anyone without the key
        decode_token(value)
    assert Fernet(KEY_1).decrypt(value.encode()).decode().endswith("}")  # it is the key holder's to read


async def test_an_async_store_returning_bytes_works_sealed(auth_server: AuthServer) -> None:
    cache = AsyncStore()
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=KEY_1))
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=[KEY_1]))
    assert auth_server.token_requests == 1
    assert all(isinstance(value, bytes) for value in cache.values.values())


async def test_a_value_sealed_with_another_key_is_absent_and_replaced(
    auth_server: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    cache = DictStore()
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=KEY_1))
    before = dict(cache)
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=KEY_2))
    assert auth_server.token_requests == 2
    assert cache.keys() == before.keys()
    assert cache != before  # overwritten, sealed with KEY_2 now
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]  # not a store failure
    assert any("does not open" in r.getMessage() for r in caplog.records if r.levelname == "DEBUG")


async def test_keys_rotate_newest_first(auth_server: AuthServer) -> None:
    cache = DictStore()
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=KEY_1))  # old deployment
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=[KEY_2, KEY_1]))  # rotated
    assert auth_server.token_requests == 1  # the old key still opens
    auth_server.expires_in = 3600
    auth_server.revoke_all()  # the rotated client writes a new token, sealed with KEY_2
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=[KEY_2, KEY_1]))
    assert auth_server.token_requests == 2
    [value] = cache.values()
    assert Sealer(KEY_2).open(next(iter(cache)), value) is not None
    assert Sealer(KEY_1).open(next(iter(cache)), value) is None
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=KEY_2))  # old key retired
    assert auth_server.token_requests == 2


async def test_a_value_copied_under_another_key_does_not_open(auth_server: AuthServer) -> None:
    cache = DictStore()
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=KEY_1), scope="read")
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=KEY_1), scope="admin")
    assert auth_server.token_requests == 2
    read_key, admin_key = cache.keys()
    cache[admin_key] = cache[read_key]  # someone with write access to the cache swaps tokens
    await fetch_with(auth_server, EncryptedTokenStore(cache, encryption_key=KEY_1), scope="admin")
    assert auth_server.token_requests == 3


@pytest.mark.parametrize("planted", [
    "plain", "tampered", "garbage", "not ASCII", "not text",
])
async def test_anything_not_sealed_by_us_reads_as_absent(auth_server: AuthServer, planted: str) -> None:
    cache = DictStore()
    store = EncryptedTokenStore(cache, encryption_key=KEY_1)
    await fetch_with(auth_server, store)
    [key] = cache.keys()
    token = next(iter(auth_server.issued))
    cache[key] = {
        "plain": json.dumps({"access_token": token, "token_type": "Bearer", "issued_at": 1e10, "expires_at": 2e10}),
        "tampered": cache[key][:-8] + ("A" * 8 if not cache[key].endswith("A" * 8) else "B" * 8),
        "garbage": "gAAAAA" + "x" * 50,
        "not ASCII": "gAAAAA\u00e9\u20ac",
        "not text": 12345,
    }[planted]
    await fetch_with(auth_server, store)
    assert auth_server.token_requests == 2


async def test_invalidation_after_a_401_deletes_the_sealed_value(auth_server: AuthServer) -> None:
    cache = DictStore()
    client = client_for(auth_server, EncryptedTokenStore(cache, encryption_key=KEY_1))
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        auth_server.revoke_all()
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert auth_server.token_requests == 2
        [value] = cache.values()
        newest = decode_token(Sealer(KEY_1).open(next(iter(cache)), value) or "")
        assert auth_server.accepts(newest.access_token)
    finally:
        client.close()


async def test_a_store_without_delete_is_overwritten(auth_server: AuthServer) -> None:
    cache = GetSetStore()
    client = client_for(auth_server, EncryptedTokenStore(cache, encryption_key=KEY_1))
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        auth_server.revoke_all()
        assert (await client.fetch(auth_server.resource_url)).code == 200
        [value] = cache.values()
        newest = decode_token(Sealer(KEY_1).open(next(iter(cache)), value) or "")
        assert auth_server.accepts(newest.access_token)
    finally:
        client.close()


@pytest.mark.parametrize(("key", "error"), [
    ("not a key", ValueError), (b"", ValueError), ([], ValueError), ("x" * 44, ValueError),
    (KEY_1[:-2], ValueError), (12345, TypeError), ([KEY_1, 7], TypeError),
])
def test_a_bad_key_is_refused_without_being_shown(key: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        EncryptedTokenStore(DictStore(), encryption_key=key)
    assert "encryption_key" in str(caught.value)
    if isinstance(key, (str, bytes)) and key:
        assert str(key) not in str(caught.value)
        assert repr(key) not in str(caught.value)


def test_reprs_show_no_key() -> None:
    store = EncryptedTokenStore(DictStore(), encryption_key=[KEY_1, KEY_2])
    for text in (repr(store), str(store), repr(Sealer(KEY_1))):
        assert KEY_1.decode() not in text
        assert KEY_2.decode() not in text
    assert "2 key(s)" in repr(store)


def test_a_store_without_get_and_set_is_refused() -> None:
    with pytest.raises(TypeError, match="RedisTokenStore"):
        EncryptedTokenStore(object(), encryption_key=KEY_1)


def test_without_cryptography_the_message_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.fernet", None)
    with pytest.raises(ImportError, match=r"tornado-alf\[encryption\]"):
        Sealer(KEY_1)


SEALER_1, SEALER_2 = Sealer(KEY_1), Sealer([KEY_2, KEY_1])
store_keys = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"), max_size=60)


@settings(max_examples=300, deadline=None, database=None)
@given(key=store_keys, value=st.text(max_size=500))
def test_sealed_values_round_trip_and_open_only_under_their_key(key: str, value: str) -> None:
    sealed = SEALER_1.seal(key, value)
    assert sealed.isascii()
    assert SEALER_1.open(key, sealed) == value
    assert SEALER_1.open(key, sealed.encode()) == value
    assert SEALER_2.open(key, sealed) == value  # the rotated sealer still opens KEY_1's values
    assert SEALER_1.open(key + "x", sealed) is None
    assert Sealer(KEY_2).open(key, sealed) is None


@settings(max_examples=1000, deadline=None, database=None)
@example(raw="")
@example(raw="gAAAAA")
@example(raw="\u00e9")
@example(raw=b"\xff")
@given(raw=st.text(max_size=200) | st.binary(max_size=200)
       | st.binary(min_size=57, max_size=120).map(lambda b: "gAAAAA" + b.hex()))
def test_opening_anything_gives_none_or_the_value_never_an_exception(raw: Any) -> None:
    assert SEALER_1.open("tornado-alf:key", raw) is None
