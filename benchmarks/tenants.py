"""Many tenants in one process: ``python -m benchmarks.tenants [--tenants 10000] [--quick]``.

A multi-tenant service holds one `TornadoClient` per tenant. This starts the local auth
server in its own process (so its CPU is not counted here) and a throwaway
``redis-server`` on an ephemeral port, makes ``--tenants`` clients (one per tenant: its
own ``tenant`` form field, hence its own token and store key) sharing ONE
`RedisTokenStore`, and prints:

- memory per client (Python heap, ``tracemalloc``), as built and once it holds a token;
- CPU per warm request (``time.process_time``) spread over every tenant, against the same
  number of requests through a single client, and through a raw ``AsyncHTTPClient``;
- asyncio tasks and pending loop timers with every client idle, against the count before
  the clients existed: an idle client must own neither;
- Redis commands per warm request, and what a restarted process (new clients, same
  Redis) costs: tokens come from Redis, not from the endpoint.

Timers are counted by the loop itself: the run uses a `CountingLoop`, an
``asyncio.SelectorEventLoop`` whose ``call_at`` (the public method through which
``call_later``, Tornado's ``IOLoop.call_later``/``add_timeout`` and every other timer
pass) remembers each handle until it runs or is cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import logging
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Sequence
from typing import Any, Callable, Optional

import redis
import redis.asyncio
from tornado.httpclient import AsyncHTTPClient

from tornado_alf import RedisTokenStore, TornadoClient

from ._procs import AuthServerInfo, auth_server
from ._report import INFO, Row, describe, machine, table, verdict


class CountingLoop(asyncio.SelectorEventLoop):
    """An event loop that can say how many timers are pending, through public methods only."""

    def __init__(self) -> None:
        super().__init__()
        self._timers: set[asyncio.TimerHandle] = set()

    def call_at(  # type: ignore[override]  # typeshed spells the callback with a TypeVarTuple
        self, when: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        handles: list[asyncio.TimerHandle] = []

        def run(*call_args: Any) -> None:
            self._timers.difference_update(handles)
            callback(*call_args)

        handle = super().call_at(when, run, *args, context=context)
        handles.append(handle)
        self._timers.add(handle)
        return handle

    def pending_timers(self) -> int:
        """Timers scheduled and neither run nor cancelled."""
        self._timers = {handle for handle in self._timers if not handle.cancelled()}
        return len(self._timers)


class WarningCount(logging.Handler):
    """Counts the WARNINGs of the ``tornado_alf`` logger while in use, instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1

    def __enter__(self) -> WarningCount:
        logger = logging.getLogger("tornado_alf")
        logger.addHandler(self)
        logger.propagate = False
        return self

    def __exit__(self, *exc_info: object) -> None:
        logger = logging.getLogger("tornado_alf")
        logger.removeHandler(self)
        logger.propagate = True


def tasks_now() -> int:
    """Tasks of the running loop other than the one asking."""
    return len(asyncio.all_tasks() - {asyncio.current_task()})


async def in_batches(calls: Sequence[Callable[[], Awaitable[Any]]], width: int) -> None:
    """Run ``calls``, ``width`` at a time."""
    for start in range(0, len(calls), width):
        await asyncio.gather(*(call() for call in calls[start:start + width]))


def heap() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


#: What counting Redis commands costs by itself (a connection's handshake, the INFO).
_OWN_COMMANDS = ("cmdstat_info", "cmdstat_hello", "cmdstat_client|setinfo")


def redis_commands(port: int) -> int:
    """Commands Redis has run so far, not counting those of this count."""
    with redis.Redis(port=port) as connection:
        info = connection.info("commandstats")
    return sum(int(stats["calls"]) for name, stats in info.items() if name not in _OWN_COMMANDS)


def make_clients(server: AuthServerInfo, store: RedisTokenStore, count: int) -> list[TornadoClient]:
    return [
        TornadoClient(server.token_endpoint, server.client_id, server.client_secret, token_storage=store,
                      token_request_params={"tenant": f"tenant-{number:05d}"})
        for number in range(count)
    ]


async def cpu_per_request(fetches: Sequence[Callable[[], Awaitable[Any]]], width: int) -> float:
    """Microseconds of this process's CPU per call of ``fetches``."""
    started = time.process_time()
    await in_batches(fetches, width)
    return (time.process_time() - started) / len(fetches) * 1e6


class Run:
    """One benchmark run against ``server`` and a Redis on ``redis_port``."""

    def __init__(self, server: AuthServerInfo, redis_port: int, tenants: int, requests: int) -> None:
        self.server = server
        self.redis_port = redis_port
        self.tenants = tenants
        self.requests = requests
        self.rows: list[Row] = []

    async def main(self) -> list[Row]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, CountingLoop)
        # A pool that waits for a free connection: redis-py's default pool (at most 100
        # connections since redis-py 6) raises at once when 200 tenants want one together.
        pool = redis.asyncio.BlockingConnectionPool(port=self.redis_port, max_connections=50, timeout=1.0)
        connection = redis.asyncio.Redis(connection_pool=pool)
        store = RedisTokenStore(connection)
        await self.warm_up_machinery(store)
        base_tasks, base_timers = tasks_now(), loop.pending_timers()
        clients = await self.memory(store)
        await asyncio.sleep(0.5)  # anything a client left running would still be there
        idle_tasks, idle_timers = tasks_now(), loop.pending_timers()
        self.add(f"asyncio tasks, {self.tenants:,} idle clients (before any client)",
                 f"{idle_tasks} ({base_tasks})", "no more than before", idle_tasks <= base_tasks)
        self.add(f"pending loop timers, {self.tenants:,} idle clients (before any client)",
                 f"{idle_timers} ({base_timers})", "no more than before", idle_timers <= base_timers)
        await self.cpu(clients)
        await self.restart(store, "BlockingConnectionPool(max_connections=50)")
        default_pool = redis.asyncio.Redis(port=self.redis_port)
        await self.restart(RedisTokenStore(default_pool), "redis-py's default pool")
        for client in clients:
            client.close()
        await connection.aclose()
        await default_pool.aclose()
        return self.rows

    def add(self, figure: str, value: str, target: str, ok: Optional[bool] = None) -> None:
        self.rows.append(Row(figure, value, target, INFO if ok is None else verdict(ok)))

    async def warm_up_machinery(self, store: RedisTokenStore) -> None:
        """One client through the whole path first, so that imports and pools are not counted per tenant."""
        (client,) = make_clients(self.server, store, 1)
        await client.fetch(self.server.resource_url)
        await AsyncHTTPClient().fetch(self.server.resource_url, raise_error=False)
        client.close()
        await asyncio.gather(*(store.redis.ping() for _ in range(100)))  # fill the shared pool now
        with redis.Redis(port=self.redis_port) as connection:
            connection.flushall()

    async def memory(self, store: RedisTokenStore) -> list[TornadoClient]:
        tracemalloc.start()
        before = heap()
        clients = make_clients(self.server, store, self.tenants)
        built = heap()
        requests_before = self.server.token_requests()
        warnings = WarningCount()
        with warnings:
            await in_batches([functools.partial(client.fetch, self.server.resource_url) for client in clients], 50)
        warm = heap()
        tracemalloc.stop()
        per_built, per_warm = (built - before) / self.tenants, (warm - before) / self.tenants
        self.add("memory per client, as built (Python heap)", f"{per_built / 1024:.1f} KiB", "info")
        self.add("memory per client holding a token", f"{per_warm / 1024:.1f} KiB", "info")
        fetched = self.server.token_requests() - requests_before
        self.add(f"token requests for {self.tenants:,} cold tenants (50 at a time)",
                 f"{fetched:,} ({warnings.count:,} WARNINGs)", "one per tenant", fetched == self.tenants)
        return clients

    async def cpu(self, clients: list[TornadoClient]) -> None:
        url, count = self.server.resource_url, self.requests
        tenants = [clients[n % len(clients)] for n in range(count)]
        spread = [functools.partial(client.fetch, url) for client in tenants]
        single = [lambda: clients[0].fetch(url) for _ in range(count)]
        headers = {"Authorization": "Bearer " + (await clients[0].get_token()).access_token}
        raw = [lambda: AsyncHTTPClient().fetch(url, headers=headers) for _ in range(count)]
        commands_before = redis_commands(self.redis_port)
        figures: dict[str, list[float]] = {"spread": [], "single": [], "raw": []}
        for _ in range(3):  # interleaved, so that the machine's load drifts over all three alike
            for name, calls in (("spread", spread), ("single", single), ("raw", raw)):
                figures[name].append(await cpu_per_request(calls, 50))
        commands = redis_commands(self.redis_port) - commands_before
        spread_us, single_us, raw_us = (statistics.median(figures[name]) for name in ("spread", "single", "raw"))
        self.add(f"CPU per warm request, {count:,} over {len(clients):,} tenants", f"{spread_us:.0f} us", "info")
        self.add(f"CPU per warm request, {count:,} through one client", f"{single_us:.0f} us", "info")
        self.add("CPU per request, raw AsyncHTTPClient with a fixed header", f"{raw_us:.0f} us", "info")
        self.add("CPU, spread over tenants / one client (median of 3)", f"{spread_us / single_us:.2f}",
                 "<= 1.25", spread_us / single_us <= 1.25)
        self.add("Redis commands per warm request", f"{commands / (6 * count):.3f}", "0", commands == 0)

    async def restart(self, store: RedisTokenStore, pool: str) -> None:
        """New clients in the same process (as after a restart): every token should come from Redis."""
        clients = make_clients(self.server, store, self.tenants)
        requests_before, commands_before = self.server.token_requests(), redis_commands(self.redis_port)
        warnings = WarningCount()
        started = time.perf_counter()
        with warnings:
            await in_batches([client.get_token for client in clients], 200)
        seconds = time.perf_counter() - started
        fetched = self.server.token_requests() - requests_before
        commands = redis_commands(self.redis_port) - commands_before
        self.add(f"restart, {pool}: token requests for {self.tenants:,} tenants whose tokens are in Redis",
                 f"{fetched:,} ({warnings.count:,} WARNINGs)", "info")
        self.add(f"restart, {pool}: Redis commands, time per tenant (200 at a time)",
                 f"{commands / self.tenants:.2f}, {seconds / self.tenants * 1e6:.0f} us", "info")
        for client in clients:
            client.close()


def main(argv: Optional[list[str]] = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tenants", description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=3_000, help="warm requests per measurement")
    parser.add_argument("--quick", action="store_true", help="1,000 tenants, 1,000 requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.tenants, args.requests = 1_000, 1_000
    from tests.servers import RedisServer

    redis_server = RedisServer()
    redis_server.start()
    loop = CountingLoop()
    asyncio.set_event_loop(loop)
    try:
        with auth_server(0.0) as server:
            rows = loop.run_until_complete(Run(server, redis_server.port, args.tenants, args.requests).main())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        redis_server.stop()
    print(f"tornado_alf, {args.tenants:,} tenants sharing one RedisTokenStore; {describe(machine())}")
    print(table(rows))
    return 0 if all(row.result != "FAIL" for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
