"""Fleet: N processes, each a cold client, sharing one RedisTokenStore on a real redis-server.

The orchestrator (`fleet_rows`) starts the workers (``python -m benchmarks._fleet``),
releases them at once, counts token requests at the auth server and Redis commands
with ``INFO commandstats``. A worker reads its orders from stdin, one line each:
its configuration (JSON), then ``go`` (cold fetches), ``warm`` (warm fetches), ``quit``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from typing import Any

import redis

from ._procs import AuthServerInfo, child_env, read_line, stop
from ._report import NOT_RUN, ROOT, Row, verdict

TOKENS = "Fleet ({processes} processes x {cold} concurrent cold fetches, one RedisTokenStore): token requests"
COMMANDS = "Fleet: Redis commands per warm request"


def fleet_rows(server: AuthServerInfo, processes: int, cold: int, warm: int) -> list[Row]:
    from tests.binaries import MissingBinaryError
    from tests.servers import RedisServer

    tokens = TOKENS.format(processes=processes, cold=cold)
    redis_server = RedisServer()  # the tests' throwaway redis-server: 127.0.0.1, a free port, no persistence
    try:
        redis_server.start()
    except MissingBinaryError:
        return not_run(tokens, "not run: no redis-server")
    try:
        data = _run(server, redis_server.port, processes, cold, warm)
    finally:
        redis_server.stop()
        shutil.rmtree(redis_server.dir, ignore_errors=True)
    return [
        Row(tokens, f"{data['token_requests']} ({data['cold_ok']} of {processes * cold} answered 200, "
                    f"last after {max(data['cold_seconds']):.2f} s)", "exactly 1",
            verdict(data["token_requests"] == 1 and data["cold_ok"] == processes * cold), data),
        Row(COMMANDS, f"{data['commands_per_warm_request']:.3f} ({data['warm_requests']:,} warm requests)",
            "0", verdict(data["warm_commands"] == 0), data),
    ]


def not_run(tokens: str, reason: str) -> list[Row]:
    return [Row(tokens, reason, "exactly 1", NOT_RUN), Row(COMMANDS, reason, "0", NOT_RUN)]


def _run(server: AuthServerInfo, redis_port: int, processes: int, cold: int, warm: int) -> dict[str, Any]:
    config = json.dumps({"server": server.__dict__, "redis_port": redis_port, "cold": cold, "warm": warm})
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks._fleet"], cwd=ROOT, env=child_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for _ in range(processes)
    ]
    try:
        _order(workers, config, expect="ready")
        watcher = redis.Redis(host="127.0.0.1", port=redis_port, socket_timeout=5)
        before = server.token_requests()
        calls_start = _command_calls(watcher)
        cold_reports = [json.loads(line) for line in _order(workers, "go")]
        token_requests = server.token_requests() - before
        calls_cold = _command_calls(watcher)
        _order(workers, "warm")
        calls_warm = _command_calls(watcher)
        watcher.close()
        _order(workers, "quit", expect="bye")
    finally:
        for worker in workers:
            stop(worker)
    cold_commands, warm_commands = _delta(calls_start, calls_cold), _delta(calls_cold, calls_warm)
    warm_requests = processes * warm
    return {
        "token_requests": token_requests,
        "cold_ok": sum(report["ok"] for report in cold_reports),
        "cold_seconds": [report["seconds"] for report in cold_reports],
        "cold_commands_by_name": cold_commands,
        "warm_requests": warm_requests,
        "warm_commands": sum(warm_commands.values()),
        "warm_commands_by_name": warm_commands,
        "commands_per_warm_request": sum(warm_commands.values()) / warm_requests,
    }


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


async def _worker() -> None:
    import redis.asyncio

    from tornado_alf import RedisTokenStore, TornadoClient

    from ._load import configure_http, drive

    config = json.loads(await _command())
    server = AuthServerInfo(**config["server"])
    configure_http(None)
    store = RedisTokenStore(redis.asyncio.Redis(host="127.0.0.1", port=config["redis_port"]))
    client = TornadoClient(server.token_endpoint, server.client_id, server.client_secret, token_storage=store)
    print("ready", flush=True)
    assert await _command() == "go"
    start = time.perf_counter()
    responses = await asyncio.wait_for(asyncio.gather(
        *(client.fetch(server.resource_url, raise_error=False) for _ in range(config["cold"]))
    ), 120)
    seconds = time.perf_counter() - start
    print(json.dumps({"ok": sum(r.code == 200 for r in responses), "seconds": seconds}), flush=True)
    assert await _command() == "warm"
    await drive(lambda: client.fetch(server.resource_url), config["warm"], 10)
    print("done", flush=True)
    assert await _command() == "quit"
    client.close()
    print("bye", flush=True)


if __name__ == "__main__":
    asyncio.run(_worker())
    sys.exit(0)
