"""Memory of on-behalf-of calls over many distinct subjects: ``python -m benchmarks.subjects [--quick]``.

Each subject gets its token by token exchange (RFC 8693) through
`TornadoClient.on_behalf_of`; the client keeps at most ``max_subjects`` of them (LRU).
The token endpoint answers in-process (an `AsyncHTTPClient` whose ``fetch_impl`` mints
the token without a socket) so that a million exchanges take minutes, not hours: what
is measured is the client's per-subject cache, not the network. Prints the resident set
size every tenth of the run; flat means bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import secrets
import time
from typing import Any, Callable, Optional

import psutil
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

from tornado_alf import TornadoClient

TOKEN_ENDPOINT = "https://auth.benchmark.invalid/token"


class InProcessEndpoint(AsyncHTTPClient):
    """Answers every request as a token endpoint would, without a socket; counts them."""

    requests = 0

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        type(self).requests += 1
        body = json.dumps({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 3600,
                           "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
        callback(HTTPResponse(request, 200, buffer=io.BytesIO(body.encode())))


def rss_mib(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


async def run(subjects: int, max_subjects: Optional[int], reports: int = 10) -> list[tuple[int, float]]:
    """Exchange a token for each of ``subjects`` distinct subject tokens; RSS at each report."""
    AsyncHTTPClient.configure(InProcessEndpoint)
    options: dict[str, Any] = {} if max_subjects is None else {"max_subjects": max_subjects}
    client = TornadoClient(TOKEN_ENDPOINT, "benchmark-client", "benchmark-secret", **options)
    process = psutil.Process()
    points: list[tuple[int, float]] = []
    step = max(1, subjects // reports)
    for n in range(1, subjects + 1):
        await client.on_behalf_of(f"subject-token-{n:09d}-{secrets.token_hex(8)}").get_token()
        if n % step == 0:
            gc.collect()
            points.append((n, rss_mib(process)))
    client.close()
    return points


def main(argv: Optional[list[str]] = None) -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.subjects", description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--max-subjects", type=int, default=None, help="default: the client's (10,000)")
    parser.add_argument("--quick", action="store_true", help="50,000 subjects")
    args = parser.parse_args(argv)
    subjects = 50_000 if args.quick else args.subjects
    started = time.monotonic()
    points = asyncio.run(run(subjects, args.max_subjects))
    elapsed = time.monotonic() - started
    print(f"on_behalf_of: {subjects:,} distinct subjects, max_subjects={args.max_subjects or 10_000:,}")
    print("| subjects so far | RSS (MiB) |")
    print("|---:|---:|")
    for n, rss in points:
        print(f"| {n:,} | {rss:.1f} |")
    held = args.max_subjects or 10_000
    full = next(((n, rss) for n, rss in points if n >= held), points[0])
    print(f"token exchanges: {InProcessEndpoint.requests:,}; RSS at the first report with the cache full "
          f"({full[0]:,} subjects): {full[1]:.1f} MiB, at the end: {points[-1][1]:.1f} MiB "
          f"({points[-1][1] - full[1]:+.1f} MiB); "
          f"{elapsed:.0f} s, {subjects / elapsed:,.0f} subjects/s")


if __name__ == "__main__":
    main()
