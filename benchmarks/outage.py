"""The token endpoint down under load: ``python -m benchmarks.outage [--seconds 60] [--baseline]``.

Starts a throwaway ``redis-server``, a struggling authorization server in its own process
(while down, its token endpoint answers 503 after ``--down-latency``) and ``--processes``
workers, each one `TornadoClient` sharing one `RedisTokenStore`, together sending
``--rate`` requests per second. After a warm-up the endpoint goes down for ``--seconds``,
then comes back. Tokens live so that the fleet's token enters its expiry margin early in
the outage and expires half-way through it: the first half tests the stale-token grace,
the second half the cool-down. It prints, counted by the workers and by the endpoint:

- calls whose token still had life left (by the endpoint's ``expires_in``): their failures
  (target 0);
- calls that needed a new token: how many failed at once as a repeat during a cool-down,
  and how long those took (target < 50 ms);
- token requests the endpoint received while down, and the shortest time between two of
  them (target: at least one cool-down: one request per cool-down for the whole fleet).

``--baseline`` runs the same with the grace and the cool-down turned off, for comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from ._procs import child_env, read_line, stop
from ._report import INFO, ROOT, Row, describe, machine, table, verdict

Record = tuple[float, float, str, bool]  # start (wall), seconds, outcome, token had life left


@dataclass(frozen=True)
class Plan:
    seconds: float  # the outage
    processes: int
    rate: float  # requests per second, whole fleet
    cooldown: float
    down_latency: float
    baseline: bool

    @property
    def warm(self) -> float:
        return max(3.0, self.seconds / 6)

    @property
    def expires_in(self) -> float:
        """The fleet's token (fetched at the start) expires half-way through the outage."""
        return self.warm + self.seconds / 2

    @property
    def tail(self) -> float:
        """After the outage: long enough for the last cool-down to end and the fleet to recover."""
        return max(self.warm, self.cooldown + 3)

    @property
    def total(self) -> float:
        return self.warm + self.seconds + self.tail

    def options(self) -> dict[str, Any]:
        if self.baseline:
            return {"failure_cooldown": 0, "stale_token_grace": False}
        return {"failure_cooldown": self.cooldown}


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "benchmarks._outage_roles", *args], cwd=ROOT, env=child_env(),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )


def order(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def run(plan: Plan, redis_port: int) -> tuple[list[Record], list[tuple[float, bool]], float]:
    """The calls of every worker, the endpoint's log, and when the outage started (wall clock)."""
    server = spawn("serve", json.dumps({"expires_in": plan.expires_in, "down_latency": plan.down_latency}))
    workers: list[subprocess.Popen[str]] = []
    try:
        info = json.loads(read_line(server, timeout=30))
        config = {**info, "redis_port": redis_port, "rate": plan.rate / plan.processes, "total": plan.total,
                  "options": plan.options()}
        workers = [spawn("work", json.dumps(config)) for _ in range(plan.processes)]
        for worker in workers:
            assert read_line(worker, timeout=60).strip() == "ready"
        t0 = time.time() + 0.5
        for worker in workers:
            order(worker, f"go {t0}")
        outage = t0 + plan.warm
        time.sleep(max(0.0, outage - time.time()))
        order(server, "down")
        time.sleep(max(0.0, outage + plan.seconds - time.time()))
        order(server, "up")
        records = [tuple(record) for worker in workers
                   for record in json.loads(read_line(worker, timeout=plan.total + 60))]
        order(server, "log")
        log = [(when, down) for when, down in json.loads(read_line(server, timeout=10))]
        return records, log, outage
    finally:
        for proc in (*workers, server):
            stop(proc)


def in_cooldown(start: float, failures: list[float], cooldown: float) -> bool:
    """Whether a call started inside a cool-down: after the fleet heard of a failure, before it ended."""
    return any(failed + 0.05 <= start < failed + cooldown - 0.05 for failed in failures)


def rows(plan: Plan, records: list[Record], log: list[tuple[float, bool]], outage: float) -> list[Row]:
    during = [r for r in records if outage <= r[0] < outage + plan.seconds]
    valid = [r for r in during if r[3]]
    needing = [r for r in during if not r[3]]
    down_requests = sorted(when for when, down in log if down)
    inside = [in_cooldown(r[0], down_requests, plan.cooldown) for r in needing]
    cooling = [r for r, flag in zip(needing, inside) if flag]
    repeats = sorted(r[1] * 1000 for r in cooling if r[2] == "repeat")
    between = sorted(r[1] * 1000 for r, flag in zip(needing, inside) if not flag)
    gaps = [b - a for a, b in zip(down_requests, down_requests[1:])]
    recovered = outage + plan.seconds
    after = [r for r in records if r[0] >= recovered + plan.cooldown + plan.down_latency + 0.5]
    first_ok = min((r[0] + r[1] for r in records if r[0] >= recovered and r[2] == "ok" and not r[3]), default=None)
    failed_valid = sum(1 for r in valid if r[2] != "ok")
    mode = "grace and cool-down OFF (baseline)" if plan.baseline else f"cool-down {plan.cooldown:g} s"
    found = [
        Row(f"calls during the {plan.seconds:g} s outage ({mode})", f"{len(during):,}", "info", INFO),
        Row("  of which the token had life left: failures", f"{failed_valid:,} of {len(valid):,}" + outcomes(
            [r for r in valid if r[2] != "ok"], outage), "0", verdict(failed_valid == 0)),
        Row("  of which needed a new token, inside a cool-down: failed at once as a repeat",
            f"{len(repeats):,} of {len(cooling):,}", "all", verdict(len(repeats) == len(cooling))),
    ]
    if repeats:
        found.append(Row("    their latency: median / p99 / max", spread(repeats), "< 50 ms",
                         verdict(repeats[-1] < 50)))
        slow = sum(1 for ms in repeats if ms >= 50)
        found.append(Row("    of them 50 ms or more", f"{slow:,} ({100 * slow / len(repeats):.2f} %)", "0",
                         verdict(slow == 0)))
    found.append(Row("  of which needed a new token between cool-downs (waited for the fleet's one request)",
                     f"{len(between):,}", "info", INFO))
    if between:
        found.append(Row("    their latency: median / p99 / max", spread(between), "info", INFO))
    allowed = int(plan.seconds // plan.cooldown) + 1
    found.append(Row("token requests at the endpoint while down (whole fleet)", f"{len(down_requests):,}",
                     f"<= {allowed} (one per cool-down)", verdict(len(down_requests) <= allowed)))
    if gaps:
        found.append(Row("  shortest time between two of them", f"{min(gaps):.2f} s",
                         f">= {plan.cooldown:g} s", verdict(min(gaps) >= plan.cooldown - 0.05)))
    found.append(Row("endpoint back: first call that needed a token succeeded after",
                     "never" if first_ok is None else f"{first_ok - recovered:.2f} s",
                     f"<= cool-down + {plan.down_latency:g} s", verdict(
                         first_ok is not None and first_ok - recovered <= plan.cooldown + plan.down_latency + 0.5)))
    ok_after = sum(1 for r in after if r[2] == "ok")
    found.append(Row("calls once the last cool-down is over: succeeded", f"{ok_after:,} of {len(after):,}",
                     "all", verdict(ok_after == len(after))))
    return found


def outcomes(failed: list[Record], outage: float) -> str:
    """What the failed calls met, and when (seconds into the outage)."""
    return "".join(f"; {r[2]} at {r[0] - outage:.2f} s" for r in failed[:5])


def spread(milliseconds: list[float]) -> str:
    """Median, p99 and max of sorted ``milliseconds``."""
    p99 = milliseconds[min(len(milliseconds) - 1, int(0.99 * len(milliseconds)))]
    return f"{statistics.median(milliseconds):.1f} / {p99:.1f} / {milliseconds[-1]:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    """Run the outage and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.outage", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the endpoint is down")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200, help="requests per second, whole fleet")
    parser.add_argument("--cooldown", type=float, default=5.0, help="failure_cooldown of every client")
    parser.add_argument("--down-latency", type=float, default=0.2, help="seconds the endpoint takes to fail")
    parser.add_argument("--baseline", action="store_true", help="grace and cool-down off, for comparison")
    args = parser.parse_args(argv)
    plan = Plan(args.seconds, args.processes, args.rate, args.cooldown, args.down_latency, args.baseline)
    from tests.servers import RedisServer

    redis_server = RedisServer()
    redis_server.start()
    try:
        records, log, outage = run(plan, redis_server.port)
    finally:
        redis_server.stop()
    found = rows(plan, records, log, outage)
    print(f"tornado_alf, endpoint down {plan.seconds:g} s, {plan.processes} processes x "
          f"{plan.rate / plan.processes:g} requests/s, one RedisTokenStore; token expires_in "
          f"{plan.expires_in:g} s; {describe(machine())}")
    print(table(found))
    return 0 if all(row.result != "FAIL" for row in found) else 1


if __name__ == "__main__":
    raise SystemExit(main())
