"""Token requests of a cold fleet, with and without RedisTokenStore, and how fast waiters see the token.

Run from the repository root (test dependencies installed)::

    python -m benchmarks.fleet --rounds 20

Each round starts a fresh local `AuthServer` (answering after ``--latency``
seconds) and ``--processes`` worker processes (`tests.fleet.worker`) that all
start ``--concurrency`` fetches at once on a cold client: once without a
store, once sharing a private ``redis-server``. The figures printed are the
token requests per round, and, for every process that did not fetch, the time
from the holder's write to Redis (``SET`` returned) to the moment its own
``single_flight`` handed it the token (wall clocks of one machine).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from typing import Any

from tests.fleet.fleet import run_fleet
from tests.servers import RedisServer, ask
from tornado_alf.testing import AuthServer


async def one_round(args: argparse.Namespace, redis_port: int | None) -> tuple[int, list[float]]:
    """Token requests made by one cold fleet, and each waiter's delay in seconds."""
    async with AuthServer("test-client", "s3cr3t-p@ss w+rd:/%&=?", token_latency=args.latency) as server:
        reports = await run_fleet(
            server, args.processes, redis_port=redis_port, concurrency=args.concurrency
        )
        if any(report["codes"] != {"200": args.concurrency} for report in reports):
            raise SystemExit(f"a request failed: {reports}")
        return server.token_requests, delays(reports)


def delays(reports: list[dict[str, Any]]) -> list[float]:
    wrote = [report["wrote_at"] for report in reports if report["wrote_at"] is not None]
    if len(wrote) != 1:
        return []
    return [report["saw_at"] - wrote[0] for report in reports if report["saw_at"] is not None]


def summary(values: list[float]) -> str:
    ms = sorted(value * 1000 for value in values)
    if not ms:
        return "none"
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return f"n={len(ms)} median {statistics.median(ms):.1f} ms, p90 {p90:.1f} ms, max {ms[-1]:.1f} ms"


async def main(args: argparse.Namespace) -> None:
    redis = RedisServer()
    redis.start()
    try:
        without = [(await one_round(args, None))[0] for _ in range(args.rounds)]
        with_store: list[int] = []
        waits: list[float] = []
        for _ in range(args.rounds):
            ask(redis.port, b"FLUSHALL")
            requests, seen = await one_round(args, redis.port)
            with_store.append(requests)
            waits.extend(seen)
    finally:
        redis.stop()
    fleet = f"{args.processes} processes x {args.concurrency} concurrent cold fetches"
    print(f"{fleet}, token endpoint latency {args.latency * 1000:.0f} ms, {args.rounds} rounds")
    print(f"  token requests per round without a store:  {without}")
    print(f"  token requests per round with Redis:       {with_store}")
    print(f"  holder's write -> waiter has the token:    {summary(waits)}")
    late = args.rounds * (args.processes - 1) - len(waits)
    print(f"  processes that found it stored on their first read (not timed): {late}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2, help="token endpoint latency, seconds")
    asyncio.run(main(parser.parse_args()))
