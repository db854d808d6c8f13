"""Credential sources: a secret read from a file or a callable, rotated under a running client."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.doubles import CLIENT_ID, CLIENT_SECRET, Callers
from tests.servers import RedisServer, ask
from tornado_alf import FileSecret, MemoryTokenStore, RedisTokenStore, TokenError, TornadoClient
from tornado_alf._sources import expired, jwt_claims
from tornado_alf.testing import AuthServer

NEW_SECRET = "r0tat3-p@ss w+rd:/%&=?"  # same length as CLIENT_SECRET on purpose (see the race test)
assert len(NEW_SECRET) == len(CLIENT_SECRET)


def write(path: Path, text: str) -> None:
    """Replace ``path`` as secret managers do: a new file renamed over the old one."""
    temporary = path.with_suffix(".new")
    temporary.write_text(text + "\n")
    os.replace(temporary, path)


def rotate_at_server(server: AuthServer, secret: str) -> None:
    """The server takes only ``secret`` from now on, and every token issued so far is revoked."""
    server.client_secret = secret
    server.revoke_all()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "client-secret"
    write(path, CLIENT_SECRET)
    return path


async def test_a_secret_rotated_on_disk_keeps_a_client_under_load_working(
    auth_server: AuthServer, secret_file: Path
) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, FileSecret(secret_file))
    callers = Callers(client, auth_server.resource_url, count=8, pause=0.001)
    secrets = [NEW_SECRET, "third-secret", "fourth secret"]
    for secret in secrets:
        await callers.fifty_more()  # rotate under way, every 50 calls
        write(secret_file, secret)  # the file first, as an operator rotating does
        rotate_at_server(auth_server, secret)  # then the old secret is revoked, tokens with it
    await callers.fifty_more()
    await callers.stop()
    client.close()
    assert callers.failures == 0
    # One token per secret: a warm request never read the file.
    assert auth_server.token_requests == len(secrets) + 1


@pytest.mark.parametrize("store", [None, MemoryTokenStore()], ids=["no store", "memory store"])
async def test_the_rotation_race_reads_the_file_again_after_invalid_client(
    auth_server: AuthServer, secret_file: Path, store: object
) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, FileSecret(secret_file), token_storage=store)
    await client.fetch(auth_server.resource_url)
    # A rewrite that a stat cannot see: same size, inode and modification time.
    stat = os.stat(secret_file)
    with open(secret_file, "r+") as file:  # noqa: ASYNC230 - a test's setup, no loop work to block
        file.write(NEW_SECRET)
    os.utime(secret_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    rotate_at_server(auth_server, NEW_SECRET)
    response = await client.fetch(auth_server.resource_url)
    client.close()
    assert response.code == 200
    # The refused request with the old secret, then the one with the secret read again.
    assert auth_server.token_requests == 3
    assert auth_server.token_request_log[-2]["headers"]["Authorization"] != (
        auth_server.token_request_log[-1]["headers"]["Authorization"]
    )


async def test_an_unchanged_secret_refused_is_not_sent_again(auth_server: AuthServer, secret_file: Path) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, FileSecret(secret_file))
    auth_server.client_secret = NEW_SECRET  # the server rotated, the file did not
    with pytest.raises(TokenError) as caught:
        await client.fetch(auth_server.resource_url)
    client.close()
    assert (caught.value.code, caught.value.error, auth_server.token_requests) == (401, "invalid_client", 1)


async def test_a_warm_request_never_looks_at_the_file(auth_server: AuthServer, secret_file: Path) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, FileSecret(secret_file))
    await client.fetch(auth_server.resource_url)
    secret_file.unlink()  # noqa: ASYNC240 - a test's setup
    for _ in range(5):
        await client.fetch(auth_server.resource_url)
    auth_server.revoke_all()  # now a token request is due, and the file is gone
    with pytest.raises(TokenError) as caught:
        await client.fetch(auth_server.resource_url)
    client.close()
    message = str(caught.value)
    assert str(secret_file) in message
    assert "FileNotFoundError" in message
    assert CLIENT_SECRET not in message
    assert CLIENT_SECRET not in repr(caught.value.args)
    assert auth_server.token_requests == 1


@pytest.mark.parametrize("content", [b"", b"\xff\xfe not utf-8"])
async def test_an_empty_or_undecodable_file_is_named_not_shown(
    auth_server: AuthServer, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "secret"
    path.write_bytes(content)
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, FileSecret(path))
    with pytest.raises(TokenError, match=str(path)):
        await client.get_token()
    client.close()
    assert auth_server.token_requests == 0


async def test_sync_and_async_callables_are_asked_per_token_request(auth_server: AuthServer) -> None:
    asked: list[str] = []
    current = [CLIENT_SECRET]

    def sync_secret() -> str:
        asked.append("sync")
        return current[0]

    async def async_secret() -> str:
        asked.append("async")
        await asyncio.sleep(0)
        return current[0]

    for source in (sync_secret, async_secret):
        client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, source)
        for _ in range(3):
            await client.fetch(auth_server.resource_url)
        current[0] = NEW_SECRET
        rotate_at_server(auth_server, NEW_SECRET)
        await client.fetch(auth_server.resource_url)
        client.close()
        current[0] = CLIENT_SECRET
        rotate_at_server(auth_server, CLIENT_SECRET)
    assert asked == ["sync", "sync", "async", "async"]


async def test_a_callable_that_raises_is_named_and_its_message_never_shown(auth_server: AuthServer) -> None:
    def vault_lookup() -> str:
        raise RuntimeError(f"vault said: {CLIENT_SECRET} is sealed")

    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, vault_lookup)
    with pytest.raises(TokenError) as caught:
        await client.get_token()
    client.close()
    text = f"{caught.value} {caught.value.args!r}"
    assert ("vault_lookup" in text, "RuntimeError" in text) == (True, True)
    assert (CLIENT_SECRET in text, "sealed" in text) == (False, False)
    assert (caught.value.__cause__, caught.value.__suppress_context__) == (None, True)


@pytest.mark.parametrize("returned", [None, 42, ""])
async def test_a_callable_returning_no_secret_is_refused(auth_server: AuthServer, returned: Any) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, lambda: returned)
    with pytest.raises(TokenError, match="client_secret from callable"):
        await client.get_token()
    client.close()


def test_reprs_show_the_source_never_the_value(secret_file: Path) -> None:
    source = FileSecret(secret_file)
    client = TornadoClient("https://auth.example/token", CLIENT_ID, source)
    for text in (repr(source), repr(client), str(source)):
        assert CLIENT_SECRET not in text
    assert str(secret_file) in repr(source)


@pytest.mark.parametrize("bad", [42, b"bytes is no secret here", ["a list"]])
def test_client_secret_of_another_type_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="client_secret"):
        TornadoClient("https://auth.example/token", CLIENT_ID, bad)  # type: ignore[arg-type]


def test_file_secret_needs_a_path() -> None:
    with pytest.raises(ValueError, match="FileSecret"):
        FileSecret("")


async def test_a_shared_store_never_hands_one_secrets_token_to_another(
    auth_server: AuthServer, tmp_path: Path
) -> None:
    store = MemoryTokenStore()
    right, wrong = tmp_path / "right", tmp_path / "wrong"
    write(right, CLIENT_SECRET)
    write(wrong, "not-the-secret")
    good = TornadoClient(auth_server.token_endpoint, CLIENT_ID, FileSecret(right), token_storage=store)
    bad = TornadoClient(auth_server.token_endpoint, CLIENT_ID, FileSecret(wrong), token_storage=store)
    await good.fetch(auth_server.resource_url)
    with pytest.raises(TokenError) as caught:
        await bad.fetch(auth_server.resource_url)
    # Once its file holds the right secret, the second client shares the first one's token.
    write(wrong, CLIENT_SECRET)
    await bad.fetch(auth_server.resource_url)
    good.close()
    bad.close()
    assert (caught.value.error, auth_server.token_requests) == ("invalid_client", 2)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(),
    st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.text(), st.text(), st.text()),
    st.builds(lambda payload: "e30." + base64.urlsafe_b64encode(payload).decode().rstrip("=") + ".sig",
              st.binary()),
    st.builds(lambda claims: "e30." + base64.urlsafe_b64encode(json.dumps(claims).encode()).decode() + ".sig",
              st.dictionaries(st.sampled_from(["exp", "iss", "sub"]),
                              st.one_of(st.integers(), st.floats(), st.text(), st.booleans(), st.none()))),
))
def test_reading_an_assertion_refuses_garbage_with_value_error_only(token: str) -> None:
    # What a platform file may hold is untrusted: either claims come out, or ValueError.
    try:
        claims = jwt_claims(token)
    except ValueError:
        return
    assert isinstance(claims, dict)
    assert expired(claims) in (True, False)


async def test_a_fleet_sharing_redis_follows_a_rotated_secret(
    auth_server: AuthServer, secret_file: Path, redis_server: RedisServer
) -> None:
    connection = redis.asyncio.Redis(host="127.0.0.1", port=redis_server.port)
    fleet = [TornadoClient(auth_server.token_endpoint, CLIENT_ID, FileSecret(secret_file),
                           token_storage=RedisTokenStore(connection)) for _ in range(3)]
    try:
        for client in fleet:
            await client.fetch(auth_server.resource_url)
        write(secret_file, NEW_SECRET)
        rotate_at_server(auth_server, NEW_SECRET)
        codes = [(await client.fetch(auth_server.resource_url)).code for client in fleet]
    finally:
        for client in fleet:
            client.close()
        await connection.aclose()
    # One token per secret for the whole fleet, under a key of its own; the revoked one was discarded.
    assert (codes, auth_server.token_requests) == ([200, 200, 200], 2)
    keys = [line for line in ask(redis_server.port, b"KEYS *").decode().split("\r\n") if "tornado-alf:" in line]
    assert len([key for key in keys if not key.endswith(":lock")]) == 1


async def test_a_directory_instead_of_a_file_is_named(auth_server: AuthServer, tmp_path: Path) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, FileSecret(tmp_path))
    with pytest.raises(TokenError, match=rf"client_secret from file {tmp_path} cannot be read \(IsADirectoryError"):
        await client.get_token()
    client.close()
