"""Fleet-wide backoff: with RedisTokenStore, a failed token request cools down every process sharing the store.

Each "process" is a client with its own Redis connection and its own memory: the only
thing they share is what Redis holds. Counts are the endpoint's; keys and TTLs are
read from Redis itself.
"""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest

from tests.fleet.backends import Backend
from tornado_alf import RedisTokenStore, Retry, TokenError, TornadoClient
from tornado_alf.testing import AuthServer

MakeClient = Callable[..., TornadoClient]
ALWAYS = 10_000


def cooldown_ttls(backend: Backend) -> dict[str, int]:
    return {key: ttl for key, ttl in backend.ttls().items() if key.endswith(":cooldown")}


async def test_a_failure_cools_down_every_process_sharing_the_store(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.fail_next(ALWAYS, status=503)
    first, second = (make_client(RedisTokenStore(backend.client()), failure_cooldown=30) for _ in range(2))
    with pytest.raises(TokenError):
        await first.fetch(auth_server.resource_url)
    [(key, ttl)] = cooldown_ttls(backend).items()
    assert 25_000 < ttl <= 30_000
    assert backend.get(key) == b"503"
    with pytest.raises(TokenError) as caught:
        await second.fetch(auth_server.resource_url)  # a process that never failed itself
    assert caught.value.code == 503
    assert "repeat" in str(caught.value)
    assert auth_server.token_requests == 1


async def test_retry_after_is_what_the_fleet_waits(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.fail_next(1, status=503, headers={"Retry-After": "7"})
    client = make_client(RedisTokenStore(backend.client()), failure_cooldown=1)
    with pytest.raises(TokenError):
        await client.fetch(auth_server.resource_url)
    [ttl] = cooldown_ttls(backend).values()
    assert 6_000 < ttl <= 7_000


async def test_a_cold_fleet_against_a_failing_endpoint_makes_one_request(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.fail_next(ALWAYS, status=503)
    auth_server.token_latency = 0.1  # the others queue on the lock meanwhile
    # A cluster client's first command discovers the cluster: on a busy machine that can outlast
    # the default store_timeout, and a store that times out is skipped (its own rule, tested elsewhere).
    clients = [make_client(RedisTokenStore(backend.client()), failure_cooldown=30, store_timeout=5)
               for _ in range(8)]
    results = await asyncio.gather(*(c.fetch(auth_server.resource_url) for c in clients for _ in range(5)),
                                   return_exceptions=True)
    assert all(isinstance(result, TokenError) and result.code == 503 for result in results)
    assert auth_server.token_requests == 1


async def test_after_the_fleet_cool_down_one_process_asks_and_all_share_the_token(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.fail_next(1, status=503)
    clients = [make_client(RedisTokenStore(backend.client()), failure_cooldown=0.3) for _ in range(4)]
    with pytest.raises(TokenError):
        await clients[0].fetch(auth_server.resource_url)
    await asyncio.sleep(0.4)
    responses = await asyncio.gather(*(c.fetch(auth_server.resource_url) for c in clients))
    assert {response.code for response in responses} == {200}
    assert auth_server.token_requests == 2
    assert cooldown_ttls(backend) == {}


async def test_a_client_error_writes_no_cool_down(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.fail_next(1, status=401, body=b'{"error": "invalid_client"}')
    first, second = (make_client(RedisTokenStore(backend.client()), failure_cooldown=30) for _ in range(2))
    with pytest.raises(TokenError):
        await first.fetch(auth_server.resource_url)
    assert cooldown_ttls(backend) == {}
    assert (await second.fetch(auth_server.resource_url)).code == 200
    assert auth_server.token_requests == 2


async def test_retries_then_cool_down_for_the_fleet(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    auth_server.fail_next(ALWAYS, status=502)
    retry = Retry(total=2, backoff_factor=0.001)
    clients = [make_client(RedisTokenStore(backend.client()), failure_cooldown=30, token_retry=retry)
               for _ in range(3)]
    for client in clients:
        with pytest.raises(TokenError):
            await client.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 3  # one retry sequence for the fleet


async def test_processes_waiting_for_the_lock_hear_the_cool_down_without_taking_the_lock(
    backend: Backend, auth_server: AuthServer, make_client: MakeClient
) -> None:
    """Every waiter fails as a repeat once the holder's failure is in Redis, not only the next lock holder.

    A holder of another process keeps the lock (a foreign owner, for the whole test) and
    writes the cool-down: the waiters cannot take the lock, so they hear it on their
    own look, at once; they ask the endpoint nothing, and never wait out ``wait_timeout``.
    """
    auth_server.fail_next(1, status=503)
    with pytest.raises(TokenError):  # names the keys: the cool-down this writes, and the lock beside it
        await make_client(RedisTokenStore(backend.client()), failure_cooldown=30).fetch(auth_server.resource_url)
    [cooldown_key] = cooldown_ttls(backend)
    lock_key = cooldown_key.removesuffix(":cooldown") + ":lock"
    backend.set(cooldown_key, "503", "PX", 1)  # that cool-down over
    await asyncio.sleep(0.01)
    backend.set(lock_key, "another-process", "PX", 60_000)
    waiters = [make_client(RedisTokenStore(backend.client(), wait_timeout=60), failure_cooldown=30, store_timeout=5)
               for _ in range(7)]
    calls = [asyncio.ensure_future(waiter.fetch(auth_server.resource_url)) for waiter in waiters]
    await asyncio.sleep(0.3)  # every waiter polls the lock by now
    assert not any(call.done() for call in calls)
    backend.set(cooldown_key, "503", "PX", 30_000)  # the holder's request failed
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout=10)
    assert all(isinstance(result, TokenError) and result.code == 503 and "repeat" in str(result)
               for result in results), results
    assert auth_server.token_requests == 1
    assert backend.get(lock_key) == b"another-process"  # nobody took the lock to hear it
