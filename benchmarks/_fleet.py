"""Fleet: N processes, each a cold client, with and without one RedisTokenStore on a real redis-server.

The orchestrator (`fleet_rows`) starts its own auth server (token endpoint latency
``latency``), a throwaway ``redis-server`` and the workers (``python -m benchmarks._fleet``),
releases the workers at once for each round and counts token requests at the auth
server and Redis commands with ``INFO commandstats``. It also times, for every process
that waited for another one's token, the time from the lock holder's write to Redis
(``SET`` returned) to the moment its own ``single_flight`` handed it the token (wall
clocks of one machine). A worker reads its orders from stdin, one line each: its
configuration (JSON), then ``go`` (a new cold client sharing the store), ``solo`` (a new
cold client without a store), ``warm`` (warm fetches on the last shared client), ``quit``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import redis

from ._procs import AuthServerInfo, auth_server, child_env, read_line, stop
from ._report import INFO, NOT_RUN, ROOT, Row, verdict

TOKENS = "Fleet ({shape}, one RedisTokenStore): token requests per round"
ALONE = "Fleet ({shape}, no store): token requests per round"
DELAY = "Fleet: lock holder's write to a waiting process having the token"
COMMANDS = "Fleet: Redis commands per warm request"


@dataclass(frozen=True)
class FleetSize:
    processes: int
    cold: int  # concurrent cold fetches per process
    warm: int  # warm fetches per process, after the last round
    rounds: int
    latency: float  # token endpoint latency, seconds

    @property
    def shape(self) -> str:
        return (f"{self.processes} processes x {self.cold} concurrent cold fetches, "
                f"token endpoint {self.latency * 1000:.0f} ms, {self.rounds} rounds")


def fleet_rows(size: FleetSize) -> list[Row]:
    from tests.binaries import MissingBinaryError
    from tests.servers import RedisServer

    redis_server = RedisServer()  # the tests' throwaway redis-server: 127.0.0.1, a free port, no persistence
    try:
        redis_server.start()
    except MissingBinaryError:
        return not_run(size, "not run: no redis-server")
    try:
        with auth_server(size.latency) as server:
            data = _run(server, redis_server.port, size)
    finally:
        redis_server.stop()
        shutil.rmtree(redis_server.dir, ignore_errors=True)
    return rows(size, data)


def rows(size: FleetSize, data: dict[str, Any]) -> list[Row]:
    shared, alone, ok = data["token_requests_shared"], data["token_requests_alone"], data["cold_ok"]
    all_ok = all(count == size.processes * size.cold for count in ok)
    return [
        Row(TOKENS.format(shape=size.shape),
            f"{_list(shared)} ({'all' if all_ok else 'NOT all'} {size.processes * size.cold} answered 200 "
            f"each round, last after {max(data['cold_seconds']):.2f} s)",
            "exactly 1", verdict(all_ok and set(shared) == {1}), data),
        Row(ALONE.format(shape=size.shape), _list(alone), f"{size.processes} (one per process)", INFO, data),
        Row(DELAY, summary(data["delays"], size.rounds * (size.processes - 1)), "lower is better", INFO, data),
        Row(COMMANDS, f"{data['commands_per_warm_request']:.3f} ({data['warm_requests']:,} warm requests)",
            "0", verdict(data["warm_commands"] == 0), data),
    ]


def not_run(size: FleetSize, reason: str) -> list[Row]:
    return [
        Row(TOKENS.format(shape=size.shape), reason, "exactly 1", NOT_RUN),
        Row(ALONE.format(shape=size.shape), reason, f"{size.processes} (one per process)", NOT_RUN),
        Row(DELAY, reason, "lower is better", NOT_RUN),
        Row(COMMANDS, reason, "0", NOT_RUN),
    ]


def _list(counts: list[int]) -> str:
    return ", ".join(str(count) for count in counts)


def summary(delays: list[float], waiters: int) -> str:
    """Median, p90 and max in ms, and how many waiting processes were timed."""
    ms = sorted(delay * 1000 for delay in delays)
    if not ms:
        return f"none timed (of {waiters} processes that did not fetch)"
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return (f"median {statistics.median(ms):.1f} ms, p90 {p90:.1f} ms, max {ms[-1]:.1f} ms "
            f"({len(ms)} of {waiters} processes that did not fetch; the others found it stored at once)")


def delays(reports: list[dict[str, Any]]) -> list[float]:
    """For one round: each waiting process's delay after the one write to Redis."""
    wrote = [report["wrote_at"] for report in reports if report["wrote_at"] is not None]
    if len(wrote) != 1:
        return []
    return [report["saw_at"] - wrote[0] for report in reports if report["saw_at"] is not None]


def _run(server: AuthServerInfo, redis_port: int, size: FleetSize) -> dict[str, Any]:
    config = json.dumps({"server": server.__dict__, "redis_port": redis_port, "cold": size.cold,
                         "warm": size.warm})
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks._fleet"], cwd=ROOT, env=child_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for _ in range(size.processes)
    ]
    watcher = redis.Redis(host="127.0.0.1", port=redis_port, socket_timeout=5)
    try:
        _order(workers, config, expect="ready")
        data = _rounds(server, watcher, workers, size)
        calls_cold = _command_calls(watcher)
        _order(workers, "warm")
        warm_commands = _delta(calls_cold, _command_calls(watcher))
        _order(workers, "quit", expect="bye")
    finally:
        watcher.close()
        for worker in workers:
            stop(worker)
    warm_requests = size.processes * size.warm
    return {**data, "warm_requests": warm_requests, "warm_commands": sum(warm_commands.values()),
            "warm_commands_by_name": warm_commands,
            "commands_per_warm_request": sum(warm_commands.values()) / warm_requests}


def _rounds(server: AuthServerInfo, watcher: Any, workers: list[subprocess.Popen[str]],
            size: FleetSize) -> dict[str, Any]:
    data: dict[str, Any] = {"token_requests_alone": [], "token_requests_shared": [], "cold_ok": [],
                            "cold_seconds": [], "delays": []}
    for order, key in (("solo", "token_requests_alone"), ("go", "token_requests_shared")):
        for _ in range(size.rounds):
            watcher.flushall()
            before = server.token_requests()
            reports = [json.loads(line) for line in _order(workers, order)]
            data[key].append(server.token_requests() - before)
            if order == "go":
                data["cold_ok"].append(sum(report["ok"] for report in reports))
                data["cold_seconds"].extend(report["seconds"] for report in reports)
                data["delays"].extend(delays(reports))
    return data


def _command_calls(watcher: Any) -> dict[str, int]:
    """``INFO commandstats``, as command -> calls."""
    stats = watcher.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Commands run between two snapshots, less the watcher's own INFO (its only command)."""
    delta = {name: calls - before.get(name, 0) for name, calls in after.items()}
    return {name: count for name, count in delta.items() if count and name != "info"}


def _order(workers: list[subprocess.Popen[str]], line: str, expect: str = "") -> list[str]:
    """Send ``line`` to every worker (all first, so they start together), then read one answer each."""
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(line + "\n")
        worker.stdin.flush()
    answers = [read_line(worker, timeout=120).strip() for worker in workers]
    if expect and any(answer != expect for answer in answers):
        raise RuntimeError(f"fleet worker answered {answers!r}, expected {expect!r}")
    return answers


# -- the worker -------------------------------------------------------------------------------------

async def _command() -> str:
    line: str = await asyncio.to_thread(sys.stdin.readline)  # typeshed: sys.stdin may be None, so Any
    return line.strip()


async def _cold(server: AuthServerInfo, cold: int, store: Any) -> tuple[Any, dict[str, Any]]:
    """A new client, ``cold`` concurrent fetches at once; the client and one JSON-able report."""
    from tornado_alf import TornadoClient

    client = TornadoClient(server.token_endpoint, server.client_id, server.client_secret, token_storage=store)
    start = time.perf_counter()
    responses = await asyncio.wait_for(asyncio.gather(
        *(client.fetch(server.resource_url, raise_error=False) for _ in range(cold))
    ), 120)
    report = {"ok": sum(r.code == 200 for r in responses), "seconds": time.perf_counter() - start,
              "wrote_at": getattr(store, "wrote_at", None), "saw_at": getattr(store, "saw_at", None)}
    return client, report


async def _worker() -> None:
    import redis.asyncio

    from tests.fleet.worker import TimedStore

    from ._load import configure_http, drive

    config = json.loads(await _command())
    server = AuthServerInfo(**config["server"])
    configure_http(None)
    connection = redis.asyncio.Redis(host="127.0.0.1", port=config["redis_port"])
    client = None
    print("ready", flush=True)
    while (order := await _command()) in ("go", "solo"):
        if client is not None:
            client.close()
        store = TimedStore(connection) if order == "go" else None
        client, report = await _cold(server, config["cold"], store)
        print(json.dumps(report), flush=True)
    assert order == "warm"
    assert client is not None
    await drive(lambda: client.fetch(server.resource_url), config["warm"], 10)
    print("done", flush=True)
    assert await _command() == "quit"
    client.close()
    await connection.aclose()
    print("bye", flush=True)


if __name__ == "__main__":
    asyncio.run(_worker())
    sys.exit(0)
