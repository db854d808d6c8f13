"""A Redis restart under load: the worst request latency during the outage and the token requests it cost.

Run from the repository root (test dependencies installed)::

    python -m benchmarks.redis_restart

Starts the local auth server in a process of its own (short-lived tokens, a
token endpoint answering after ``--latency`` seconds), a private
``redis-server`` and ``--processes`` worker processes, each sending
``--rate`` requests per second through one `TornadoClient` sharing a
`RedisTokenStore`. After ``--warmup`` seconds Redis is killed (SIGKILL, as a
crash) and started again on the same port ``--down`` seconds later. Printed:
the worst request latency while Redis was down and in the second after it
came back (target: under 2 x the endpoint latency + 100 ms), every request's
status, and the token requests of the whole fleet per token lifetime, before
and after the restart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from benchmarks._procs import AuthServerInfo, child_env, read_line, stop
from benchmarks._report import ROOT
from tests.servers import RedisServer


async def work(config: dict[str, Any]) -> list[tuple[float, float, int]]:
    """One worker: open-loop requests at ``rate`` per second until ``until`` (wall clock)."""
    import redis.asyncio

    from tornado_alf import RedisTokenStore, TornadoClient

    connection = redis.asyncio.Redis(host="127.0.0.1", port=config["redis_port"])
    client = TornadoClient(
        config["token_endpoint"], config["client_id"], config["client_secret"],
        token_storage=RedisTokenStore(connection),
    )
    samples: list[tuple[float, float, int]] = []

    async def one() -> None:
        started = time.time()
        response = await client.fetch(config["resource_url"], raise_error=False)
        samples.append((started, time.time() - started, response.code))

    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    interval, due, tasks = 1 / config["rate"], time.monotonic(), []
    while time.time() < config["until"]:
        tasks.append(asyncio.ensure_future(one()))
        due += interval
        await asyncio.sleep(max(0.0, due - time.monotonic()))
    await asyncio.gather(*tasks)
    client.close()
    await connection.aclose()
    return samples


async def store_latency(redis_port: int, count: int = 5000) -> str:
    """How long a healthy Redis takes to answer: the figure ``store_timeout`` is chosen from."""
    import redis.asyncio

    connection = redis.asyncio.Redis(host="127.0.0.1", port=redis_port)
    started = time.perf_counter()
    await connection.get("tornado-alf:probe")
    cold = time.perf_counter() - started
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await connection.get("tornado-alf:probe")
        times.append(time.perf_counter() - started)
    await connection.aclose()
    times.sort()
    p50, p999 = times[len(times) // 2], times[int(len(times) * 0.999)]
    return (f"healthy Redis GET over {count}: median {p50 * 1000:.2f} ms, p99.9 {p999 * 1000:.2f} ms, "
            f"max {times[-1] * 1000:.2f} ms; first command on a new connection {cold * 1000:.2f} ms")


def start_auth_server(latency: float, lifetime: float) -> tuple[subprocess.Popen[str], AuthServerInfo]:
    argv = [sys.executable, "-m", "tornado_alf.testing", "--token-latency", str(latency), "--expires-in", str(lifetime)]
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        argv, cwd=ROOT, env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
    )
    return proc, AuthServerInfo(**json.loads(read_line(proc, timeout=30)))


def start_workers(args: argparse.Namespace, server: AuthServerInfo, redis_port: int) -> list[subprocess.Popen[str]]:
    config = {**server.__dict__, "redis_port": redis_port, "rate": args.rate,
              "until": time.time() + 5 + args.warmup + args.down + args.after}
    workers = []
    for _ in range(args.processes):
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-m", "benchmarks.redis_restart", "--worker", json.dumps(config)],
            cwd=ROOT, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        workers.append(proc)
    for proc in workers:
        if read_line(proc, timeout=30).strip() != "ready":
            raise SystemExit("a worker did not start")
    return workers


def run(args: argparse.Namespace) -> None:
    redis = RedisServer()
    redis.start()
    print(asyncio.run(store_latency(redis.port)))
    auth_proc, server = start_auth_server(args.latency, args.lifetime)
    workers: list[subprocess.Popen[str]] = []
    try:
        workers = start_workers(args, server, redis.port)
        for proc in workers:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        time.sleep(args.warmup)
        before = server.token_requests()
        down_at = time.time()
        redis.kill()
        time.sleep(args.down)
        redis.start()
        up_at = time.time()
        during = server.token_requests() - before
        samples = [sample for proc in workers for sample in json.loads(read_line(proc, timeout=120))]
        total = server.token_requests()
    finally:
        for proc in workers:
            stop(proc)
        stop(auth_proc)
        redis.stop()
    report(args, samples, down_at, up_at, during, total)


def report(
    args: argparse.Namespace, samples: list[tuple[float, float, int]], down_at: float, up_at: float,
    during: int, total: int,
) -> None:
    outage = [latency for started, latency, _ in samples if down_at <= started <= up_at + 1]
    calm = [latency for started, latency, _ in samples if started < down_at]
    codes: dict[int, int] = {}
    for _, _, code in samples:
        codes[code] = codes.get(code, 0) + 1
    target = 2 * args.latency + 0.1
    worst = max(outage, default=0.0)
    run_seconds = max(started for started, _, _ in samples) - min(started for started, _, _ in samples)
    print(f"{args.processes} worker processes x {args.rate:g} requests/s, tokens of {args.lifetime:g} s, "
          f"token endpoint latency {args.latency * 1000:.0f} ms; Redis killed for {up_at - down_at:.1f} s")
    print(f"  requests: {len(samples)}, statuses {codes}")
    print(f"  worst latency before the restart:       {max(calm, default=0.0) * 1000:.0f} ms")
    print(f"  worst latency during the outage (+1 s):  {worst * 1000:.0f} ms "
          f"(target < {target * 1000:.0f} ms: {'pass' if worst < target else 'FAIL'})")
    print(f"  token requests while Redis was down:    {during}")
    print(f"  token requests in the whole run:        {total} in {run_seconds:.0f} s "
          f"({total / max(run_seconds / args.lifetime, 1):.1f} per token lifetime for the fleet)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50, help="requests per second per process")
    parser.add_argument("--lifetime", type=float, default=6, help="expires_in of issued tokens, seconds")
    parser.add_argument("--latency", type=float, default=0.05, help="token endpoint latency, seconds")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before the restart")
    parser.add_argument("--down", type=float, default=3, help="seconds Redis stays down")
    parser.add_argument("--after", type=float, default=8, help="seconds of load after the restart")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(work(json.loads(args.worker)))), flush=True)
        return
    run(args)


if __name__ == "__main__":
    main()
