"""RedisTokenStore with encryption_key: sealed at rest, rotated keys, compare-and-delete on sealed values."""

from __future__ import annotations

import asyncio
from typing import Callable

from cryptography.fernet import Fernet

from tests.fleet.backends import Backend
from tornado_alf import RedisTokenStore, TornadoClient
from tornado_alf.testing import AuthServer

MakeClient = Callable[..., TornadoClient]
OLD_KEY = Fernet.generate_key()
NEW_KEY = Fernet.generate_key()


def sealed_value(backend: Backend) -> bytes:
    (key,) = backend.ttls()
    raw = backend.get(key)
    assert raw is not None
    return raw


async def test_sealed_tokens_are_shared_and_unreadable_in_redis(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    clients = [make_client(RedisTokenStore(backend.client(), encryption_key=NEW_KEY)) for _ in range(2)]
    responses = await asyncio.gather(*(c.fetch(auth_server.resource_url) for c in clients for _ in range(10)))
    assert {r.code for r in responses} == {200}
    assert auth_server.token_requests == 1
    raw = sealed_value(backend)
    (token,) = auth_server.issued
    assert token.encode() not in raw
    assert b"access_token" not in raw
    assert 0 < next(iter(backend.ttls().values())) <= 3600 * 1000
    assert "sealed" in repr(RedisTokenStore(backend.client(), encryption_key=NEW_KEY))


async def test_value_sealed_with_another_key_is_absent_and_rotation_reads_old_values(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    await make_client(RedisTokenStore(backend.client(), encryption_key=OLD_KEY)).fetch(auth_server.resource_url)
    assert auth_server.token_requests == 1
    rotated = make_client(RedisTokenStore(backend.client(), encryption_key=[NEW_KEY, OLD_KEY]))
    await rotated.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 1  # the old key still opens it
    stranger = make_client(RedisTokenStore(backend.client(), encryption_key=NEW_KEY))
    await stranger.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 2  # sealed with a key it lacks: treated as absent
    plain = make_client(RedisTokenStore(backend.client()))
    await plain.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 3  # a sealed value is garbage to a store without keys


async def test_401_deletes_the_sealed_token_only_while_it_is_the_rejected_one(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    first, second = (make_client(RedisTokenStore(backend.client(), encryption_key=NEW_KEY)) for _ in range(2))
    await first.fetch(auth_server.resource_url)
    await second.fetch(auth_server.resource_url)  # both now hold the same token in memory
    rejected = sealed_value(backend)
    auth_server.revoke_all()
    await first.fetch(auth_server.resource_url)  # 401: deletes the sealed value, stores a new one
    assert auth_server.token_requests == 2
    renewed = sealed_value(backend)
    assert renewed != rejected
    await second.fetch(auth_server.resource_url)  # 401 on the old token: the newer value survives
    assert auth_server.token_requests == 2
    assert sealed_value(backend) == renewed
    assert auth_server.last_resource_authorization is not None
    assert auth_server.accepts(auth_server.last_resource_authorization.split(" ")[1])
