"""Store keys are scoped to the credentials: clients that would get different tokens never share one.

Against each real shared store (Redis through `RedisTokenStore`, memcached
through pymemcache, Django's cache on Redis): the same ``client_id`` with
another secret, another auth method or another token-request header gets a
token of its own, never the one stored for the first client.
"""

from __future__ import annotations

import hashlib
import socket
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from typing import Any, Callable

import pytest
import redis.asyncio
from joserfc.jwk import RSAKey
from pymemcache.client.base import Client as PymemcacheClient

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.fleet.test_generic_stores import django_cache_factory
from tests.servers import HOST, MemcachedServer, RedisServer, ask
from tornado_alf import RedisTokenStore, TokenError, TornadoClient
from tornado_alf.auth import client_authentication
from tornado_alf.stores.codec import token_key_digest
from tornado_alf.testing import AuthServer

KINDS = ("redis", "memcached", "django")


class Shared:
    """One real store server and a way to make a store object of it per client (as per process)."""

    def __init__(self, make: Callable[[], Any], keys: Callable[[], list[str]]) -> None:
        self.make = make
        self.listed = keys


def memcached_keys(port: int) -> list[str]:
    """Every key memcached holds (``lru_crawler metadump``)."""
    with socket.create_connection((HOST, port), timeout=2) as sock:
        sock.sendall(b"lru_crawler metadump all\r\n")
        dump = b""
        while not dump.endswith(b"END\r\n"):
            dump += sock.recv(65536)
    lines = dump.decode().splitlines()
    return [urllib.parse.unquote(part[4:]) for line in lines for part in line.split() if part.startswith("key=")]


@pytest.fixture(params=KINDS)
async def shared(request: pytest.FixtureRequest) -> AsyncIterator[Shared]:
    clients: list[Any] = []
    if request.param == "memcached":
        port = request.getfixturevalue("memcached_server").port

        def make_memcached() -> Any:
            clients.append(PymemcacheClient((HOST, port)))
            return clients[-1]

        yield Shared(make_memcached, lambda: memcached_keys(port))
    else:
        server: RedisServer = request.getfixturevalue("redis_server")

        def redis_keys() -> list[str]:
            listed = ask(server.port, b"KEYS *").decode()
            return [line for line in listed.split("\r\n") if "tornado-alf:" in line]

        if request.param == "django":
            yield Shared(django_cache_factory(server), redis_keys)
        else:

            def make_redis() -> Any:
                clients.append(redis.asyncio.Redis(host=HOST, port=server.port))
                return RedisTokenStore(clients[-1])

            yield Shared(make_redis, redis_keys)
    for client in clients:
        closed = client.aclose() if hasattr(client, "aclose") else client.close()
        if closed is not None:
            await closed


@pytest.fixture
def clients() -> Iterator[Callable[..., TornadoClient]]:
    made: list[TornadoClient] = []

    def make(endpoint: str, secret: Any, store: Any, **options: Any) -> TornadoClient:
        made.append(TornadoClient(endpoint, CLIENT_ID, secret, token_storage=store, **options))
        return made[-1]

    yield make
    for client in made:
        client.close()


async def test_a_wrong_secret_never_gets_the_stored_token(
    shared: Shared, auth_server: AuthServer, clients: Callable[..., TornadoClient]
) -> None:
    assert (await clients(auth_server.token_endpoint, CLIENT_SECRET, shared.make()).fetch(
        auth_server.resource_url)).code == 200
    wrong = clients(auth_server.token_endpoint, "mistyped-secret", shared.make())
    with pytest.raises(TokenError) as caught:
        await wrong.fetch(auth_server.resource_url)
    assert caught.value.code == 401  # as without a store: the endpoint refuses the wrong secret
    assert auth_server.token_requests == 2


async def test_a_public_client_never_reuses_a_confidential_clients_token(
    shared: Shared, auth_server: AuthServer, clients: Callable[..., TornadoClient]
) -> None:
    await clients(auth_server.token_endpoint, CLIENT_SECRET, shared.make()).fetch(auth_server.resource_url)
    public = clients(auth_server.token_endpoint, None, shared.make(), auth_method="none")
    with pytest.raises(TokenError):
        await public.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 2


async def test_a_token_request_header_scopes_the_key(
    shared: Shared, auth_server: AuthServer, clients: Callable[..., TornadoClient]
) -> None:
    for tenant in ("tenant-a", "tenant-b", "tenant-a"):
        client = clients(
            auth_server.token_endpoint, CLIENT_SECRET, shared.make(), http_options={"headers": {"X-Tenant": tenant}}
        )
        assert (await client.fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 2  # the second tenant-a client reads the first one's token
    keys = [key for key in shared.listed() if not key.endswith(":lock")]
    assert len(keys) == 2


async def test_keys_are_short_printable_and_free_of_the_secret(
    memcached_server: MemcachedServer, auth_server: AuthServer, clients: Callable[..., TornadoClient]
) -> None:
    long_endpoint = auth_server.token_endpoint + "?" + "x" * 300
    secret_digest = hashlib.sha256(CLIENT_SECRET.encode()).hexdigest()
    for scope in ("read " * 100, None):
        store = PymemcacheClient((HOST, memcached_server.port))
        client = clients(long_endpoint, CLIENT_SECRET, store, scope=scope)
        await client.fetch(auth_server.resource_url)
        store.close()
    keys = memcached_keys(memcached_server.port)
    assert len(keys) == 2
    for key in keys:
        assert len(key.encode()) <= 250
        assert key.isascii()
        assert key.isprintable()
        assert CLIENT_SECRET not in key
        assert secret_digest not in key


def test_each_credential_has_its_own_fingerprint() -> None:
    endpoint = "https://auth.example/token"

    def digest(method: str, secret: Any = None, **options: Any) -> str:
        auth = client_authentication(method, "id", secret, assertion_audience=endpoint, **options)
        return token_key_digest(endpoint, "id", [], auth_method=method, fingerprint=auth.fingerprint)

    key_a, key_b = RSAKey.generate_key(2048), RSAKey.generate_key(2048)
    seen = [
        digest("client_secret_basic", "one"),
        digest("client_secret_basic", "two"),
        digest("client_secret_post", "one"),
        digest("client_secret_jwt", "a-long-enough-hmac-secret-one"),
        digest("client_secret_jwt", "a-long-enough-hmac-secret-two"),
        digest("private_key_jwt", private_key=key_a.as_pem(private=True)),
        digest("private_key_jwt", private_key=key_b.as_pem(private=True)),
        digest("none"),
    ]
    assert len(set(seen)) == len(seen)
    assert digest("private_key_jwt", private_key=key_a.as_pem(private=True)) == seen[5]
    assert digest("client_secret_basic", "one") == seen[0]
