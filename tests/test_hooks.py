"""Observability: stats() and hooks count what the authorization server saw, and never hold a secret."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import logging
import pathlib
import types
import urllib.parse
from typing import Any

import pytest
import redis.asyncio
from prometheus_client import CollectorRegistry

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.doubles import client_for
from tests.servers import RedisServer
from tornado_alf import (
    ClientHooks,
    ClientStats,
    LoggingHooks,
    MemoryTokenStore,
    ReauthenticationEvent,
    RedisTokenStore,
    RefreshAheadEvent,
    Retry,
    RetryEvent,
    TokenError,
    TokenRequestEvent,
    TornadoClient,
)
from tornado_alf.testing import AuthServer

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "examples" / "prometheus_hooks.py"
QUICK_RETRY = Retry(total=2, backoff_factor=0.001, status_forcelist=(503,))


class Recording(ClientHooks):
    """Keeps every event; sets ``refreshed`` when a refresh ahead ends."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.refreshed = asyncio.Event()

    def on_token_request(self, event: TokenRequestEvent) -> None:
        self.events.append(event)

    def on_retry(self, event: RetryEvent) -> None:
        self.events.append(event)

    def on_reauthentication(self, event: ReauthenticationEvent) -> None:
        self.events.append(event)

    def on_refresh_ahead(self, event: RefreshAheadEvent) -> None:
        self.events.append(event)
        self.refreshed.set()

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]


def host_of(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


async def test_a_new_client_counts_nothing(auth_server: AuthServer) -> None:
    assert client_for(auth_server).stats() == ClientStats()


async def test_cold_herd_is_one_request_and_the_rest_coalesced(auth_server: AuthServer) -> None:
    hooks = Recording()
    client = client_for(auth_server, hooks=hooks)
    responses = await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(100)))
    assert all(response.code == 200 for response in responses)
    for _ in range(5):
        await client.fetch(auth_server.resource_url)
    stats = client.stats()
    assert stats.token_requests == auth_server.token_requests == 1
    assert stats.token_request_attempts == 1
    assert (stats.cache_misses, stats.coalesced_waiters, stats.cache_hits) == (100, 99, 5)
    assert (stats.token_request_failures, stats.retries, stats.store_hits) == (0, 0, 0)
    [event] = hooks.events
    assert (event.ok, event.status, event.attempts, event.error) == (True, 200, 1, None)
    assert event.host == host_of(auth_server.token_endpoint)
    assert event.seconds >= 0


async def test_retries_and_their_waits(auth_server: AuthServer) -> None:
    hooks = Recording()
    auth_server.fail_next(times=2, status=503)
    client = client_for(auth_server, hooks=hooks, token_retry=QUICK_RETRY)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    stats = client.stats()
    assert stats.token_request_attempts == auth_server.token_requests == 3
    assert (stats.token_requests, stats.retries, stats.token_request_failures) == (1, 2, 0)
    retries = hooks.of(RetryEvent)
    assert [(event.retry, event.total, event.status) for event in retries] == [(1, 2, 503), (2, 2, 503)]
    assert stats.retry_wait_seconds == pytest.approx(sum(event.wait for event in retries))
    assert stats.retry_wait_seconds == pytest.approx(QUICK_RETRY.backoff(1) + QUICK_RETRY.backoff(2))
    [request] = hooks.of(TokenRequestEvent)
    assert (request.ok, request.attempts) == (True, 3)


async def test_exhausted_retries_are_one_failed_request(auth_server: AuthServer) -> None:
    hooks = Recording()
    auth_server.fail_next(times=3, status=503)
    client = client_for(auth_server, hooks=hooks, token_retry=QUICK_RETRY)
    with pytest.raises(TokenError):
        await client.fetch(auth_server.resource_url)
    stats = client.stats()
    assert (stats.token_requests, stats.token_request_failures, stats.retries) == (1, 1, 2)
    assert stats.token_request_attempts == auth_server.token_requests == 3
    [request] = hooks.of(TokenRequestEvent)
    assert (request.ok, request.status, request.attempts) == (False, 503, 3)


async def test_oauth_error_code_reaches_the_event(auth_server: AuthServer) -> None:
    hooks = Recording()
    auth_server.fail_next(status=400, body=b'{"error": "invalid_scope"}')
    client = client_for(auth_server, hooks=hooks, token_retry=QUICK_RETRY)
    with pytest.raises(TokenError):
        await client.fetch(auth_server.resource_url)
    [request] = hooks.events
    assert (request.ok, request.status, request.error, request.attempts) == (False, 400, "invalid_scope", 1)
    assert client.stats().token_request_failures == 1


async def test_reauthentication_after_revocation(auth_server: AuthServer) -> None:
    hooks = Recording()
    client = client_for(auth_server, hooks=hooks)
    await client.fetch(auth_server.resource_url)
    auth_server.revoke_all()
    responses = await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(20)))
    assert all(response.code == 200 for response in responses)
    stats = client.stats()
    assert stats.reauthentications == auth_server.rejected_requests == 20
    assert stats.token_requests == auth_server.token_requests == 2
    events = hooks.of(ReauthenticationEvent)
    assert {(event.host, event.status) for event in events} == {(host_of(auth_server.resource_url), 401)}
    assert len(events) == 20


async def test_no_reauthentication_without_rejection(auth_server: AuthServer) -> None:
    client = client_for(auth_server)
    response = await client.fetch(auth_server.base_url + "/resource/status/403", raise_error=False)
    assert response.code == 403
    assert client.stats().reauthentications == 0


async def refresh_ahead(server: AuthServer, hooks: Recording, fail: bool = False, **options: Any) -> TornadoClient:
    """A client whose token is due for refresh after 0.2 s and expires after 2 s, fetching past 0.2 s."""
    client = client_for(server, hooks=hooks, max_token_lifetime=2.0, refresh_ahead=0.1, **options)
    await client.fetch(server.resource_url)
    await asyncio.sleep(0.3)
    if fail:
        server.fail_next(status=503)
    assert (await client.fetch(server.resource_url)).code == 200  # the current token, refresh or not
    await asyncio.wait_for(hooks.refreshed.wait(), 30)
    return client


async def test_refresh_ahead_ok(auth_server: AuthServer) -> None:
    hooks = Recording()
    client = await refresh_ahead(auth_server, hooks)
    stats = client.stats()
    assert (stats.refresh_ahead_ok, stats.refresh_ahead_failed) == (1, 0)
    assert stats.token_requests == auth_server.token_requests == 2
    [event] = hooks.of(RefreshAheadEvent)
    assert (event.ok, event.status, event.host) == (True, None, host_of(auth_server.token_endpoint))
    client.close()


async def test_refresh_ahead_failed(auth_server: AuthServer) -> None:
    hooks = Recording()
    client = await refresh_ahead(auth_server, hooks, fail=True)
    stats = client.stats()
    assert (stats.refresh_ahead_ok, stats.refresh_ahead_failed, stats.token_request_failures) == (0, 1, 1)
    assert stats.token_requests == auth_server.token_requests == 2
    [event] = hooks.of(RefreshAheadEvent)
    assert (event.ok, event.status) == (False, 503)
    client.close()


async def test_store_hits_between_two_clients(auth_server: AuthServer) -> None:
    store = MemoryTokenStore()
    first = client_for(auth_server, token_storage=store)
    second = client_for(auth_server, token_storage=store)
    await first.fetch(auth_server.resource_url)
    await second.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 1
    assert (first.stats().token_requests, first.stats().store_hits) == (1, 0)
    assert (second.stats().token_requests, second.stats().store_hits) == (0, 1)


async def test_store_hits_of_a_token_another_process_fetched(
    auth_server: AuthServer, shared_redis: RedisServer
) -> None:
    # Two clients with a Redis connection each, as in two processes: one fetches under
    # the store's lock, the other waits for it and takes the token from Redis.
    auth_server.token_latency = 0.05
    connections = [redis.asyncio.Redis(host="127.0.0.1", port=shared_redis.port) for _ in range(2)]
    clients = [client_for(auth_server, token_storage=RedisTokenStore(c)) for c in connections]
    responses = await asyncio.gather(*(c.fetch(auth_server.resource_url) for c in clients for _ in range(5)))
    assert {response.code for response in responses} == {200}
    stats = [client.stats() for client in clients]
    assert auth_server.token_requests == sum(s.token_requests for s in stats) == 1
    assert sum(s.store_hits for s in stats) == 1
    assert sum(s.coalesced_waiters for s in stats) == 8
    for connection in connections:
        await connection.aclose()


async def test_a_hook_that_raises_never_breaks_fetch(
    auth_server: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(ClientHooks):
        def on_token_request(self, event: TokenRequestEvent) -> None:
            raise RuntimeError("a bug in the user's hook")

    client = client_for(auth_server, hooks=Broken())
    assert (await client.fetch(auth_server.resource_url)).code == 200
    auth_server.revoke_all()
    assert (await client.fetch(auth_server.resource_url)).code == 200
    assert client.stats().token_requests == auth_server.token_requests == 2
    complaints = [r for r in caplog.records if "hook on_token_request raised RuntimeError" in r.getMessage()]
    assert [r.levelno for r in complaints] == [logging.WARNING, logging.DEBUG]


async def test_an_object_with_some_hook_methods_serves(auth_server: AuthServer) -> None:
    retries: list[RetryEvent] = []
    auth_server.fail_next(status=503)
    client = client_for(auth_server, hooks=types.SimpleNamespace(on_retry=retries.append), token_retry=QUICK_RETRY)
    await client.fetch(auth_server.resource_url)
    assert [event.status for event in retries] == [503]


def test_unusable_hooks_are_refused() -> None:
    with pytest.raises(TypeError, match=r"hooks must be a tornado_alf\.ClientHooks"):
        TornadoClient("http://127.0.0.1:9/token", CLIENT_ID, CLIENT_SECRET, hooks=object())
    with pytest.raises(TypeError, match=r"hooks\.on_retry must be callable"):
        TornadoClient("http://127.0.0.1:9/token", CLIENT_ID, CLIENT_SECRET,
                      hooks=types.SimpleNamespace(on_retry=3))


async def test_events_and_stats_hold_no_secret(auth_server: AuthServer) -> None:
    hooks = Recording()
    auth_server.fail_next(status=503)
    client = await refresh_ahead(auth_server, hooks, token_retry=QUICK_RETRY)
    auth_server.revoke_all()
    await client.fetch(auth_server.resource_url)
    auth_server.fail_next(status=400, body=b'{"error": "invalid_client"}')
    auth_server.revoke_all()
    with pytest.raises(TokenError):
        await client.fetch(auth_server.resource_url)
    kinds = {type(event) for event in hooks.events}
    assert kinds == {TokenRequestEvent, RetryEvent, ReauthenticationEvent, RefreshAheadEvent}
    secrets = {CLIENT_SECRET, *auth_server.issued}
    assert len(secrets) > 3
    for shown in [*hooks.events, client.stats()]:
        for text in (repr(shown), str(dataclasses.asdict(shown))):
            assert not [secret for secret in secrets if secret in text]
    client.close()


async def test_logging_hooks_log_events(auth_server: AuthServer, caplog: pytest.LogCaptureFixture) -> None:
    auth_server.fail_next(status=503)
    client = client_for(auth_server, hooks=LoggingHooks(), token_retry=QUICK_RETRY)
    await client.fetch(auth_server.resource_url)
    auth_server.revoke_all()
    await client.fetch(auth_server.resource_url)
    host, resource_host = host_of(auth_server.token_endpoint), host_of(auth_server.resource_url)
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "tornado_alf"]
    assert (logging.INFO, f"token request to {host} answered 503: retry 1 of 2 in 0.000 s") in lines
    assert (logging.INFO, f"{resource_host} answered 401: new token obtained, request sent again") in lines
    succeeded = [text for level, text in lines if level == logging.DEBUG and " succeeded: status 200" in text]
    assert len(succeeded) == 2


def load_example() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("prometheus_hooks_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_prometheus_example_counts(auth_server: AuthServer) -> None:
    example = load_example()
    registry = CollectorRegistry()
    client = client_for(auth_server, hooks=example.PrometheusHooks(registry), token_retry=QUICK_RETRY)
    registry.register(example.ClientStatsCollector(client, "api"))
    auth_server.fail_next(status=503)
    await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(10)))
    await client.fetch(auth_server.resource_url)
    auth_server.revoke_all()
    await client.fetch(auth_server.resource_url)
    host = host_of(auth_server.token_endpoint)

    def value(name: str, **labels: str) -> Any:
        return registry.get_sample_value(name, labels)

    assert value("tornado_alf_token_requests_total", host=host, outcome="ok") == auth_server.token_requests - 1 == 2
    assert value("tornado_alf_token_request_seconds_count", host=host) == 2
    assert value("tornado_alf_token_retries_total", host=host, status="503") == 1
    assert value("tornado_alf_reauthentications_total", host=host_of(auth_server.resource_url), status="401") == 1
    assert value("tornado_alf_coalesced_waiters_total", client="api") == 9
    assert value("tornado_alf_cache_hits_total", client="api") == client.stats().cache_hits == 2
    client.close()


async def test_prometheus_example_main_runs() -> None:
    text = (await load_example().main(CollectorRegistry())).decode()
    assert 'outcome="ok"} 2.0' in text
    assert 'status="503"} 1.0' in text
    assert 'status="401"} 1.0' in text
    assert 'tornado_alf_coalesced_waiters_total{client="default"} 9.0' in text
