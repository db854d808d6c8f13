"""The in-process measurements, each in its own event loop; each returns rows of the table."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

from tornado_alf import TornadoClient

from ._load import (
    Fetch,
    InstantHTTPClient,
    bearer_headers,
    configure_http,
    drive,
    interleaved,
    raw_fetch,
    timed,
)
from ._procs import AuthServerInfo
from ._report import INFO, Paired, Row, noise_note, verdict

VARIANTS = ["raw A", "tornado_alf", "raw B"]

#: Per variant, (wall seconds, process CPU seconds) of each repetition.
Results = dict[str, list[tuple[float, float]]]


@dataclass(frozen=True)
class Sizes:
    #: concurrency -> (repetitions, requests per variant per repetition). At concurrency 1 a
    #: repetition is one request per variant, so every pair is measured side by side.
    throughput: dict[int, tuple[int, int]]
    calls_no_network: int      # calls per variant per repetition, without a network
    repetitions_no_network: int
    callers: int               # herd and storm
    steady_seconds: float
    memory_requests: int
    fleet_processes: int
    fleet_cold: int
    fleet_warm: int
    fleet_rounds: int


FULL = Sizes({1: (3000, 1), 64: (100, 128)}, 2_000, 31, 1000, 4.0, 100_000, 8, 100, 200, 5)
QUICK = Sizes({1: (150, 1), 64: (6, 64)}, 1_000, 5, 1000, 1.5, 2_000, 8, 100, 20, 2)


def client_for(server: AuthServerInfo, **options: Any) -> TornadoClient:
    return TornadoClient(server.token_endpoint, server.client_id, server.client_secret, **options)


# -- warm throughput and CPU per request, against the real server -----------------------------------

async def _one_at_a_time(fetch: Fetch) -> tuple[float, float]:
    """Wall and process CPU seconds of one request alone in the loop."""
    for _ in range(3):  # let the previous request's closing callbacks run outside the window
        await asyncio.sleep(0)
    wall, cpu = time.perf_counter_ns(), time.process_time_ns()
    await fetch()
    return (time.perf_counter_ns() - wall) / 1e9, (time.process_time_ns() - cpu) / 1e9


async def _throughput(server: AuthServerInfo, concurrency: int, repetitions: int, requests: int) -> Results:
    raw = raw_fetch(server.resource_url, await bearer_headers(server))
    client = client_for(server)
    fetches = {"raw A": raw, "tornado_alf": lambda: client.fetch(server.resource_url), "raw B": raw}
    for fetch in fetches.values():  # warm up: token, code paths, allocator
        await drive(fetch, 100, concurrency)
    results: Results = {name: [] for name in VARIANTS}
    for order in interleaved(VARIANTS, repetitions):
        for name in order:
            if concurrency == 1 and requests == 1:
                results[name].append(await _one_at_a_time(fetches[name]))
            else:
                results[name].append(await timed(fetches[name], requests, concurrency))
    client.close()
    return results


def throughput_rows(server: AuthServerInfo, sizes: Sizes) -> list[Row]:
    rows = []
    for concurrency, (repetitions, requests) in sorted(sizes.throughput.items()):
        results = asyncio.run(_throughput(server, concurrency, repetitions, requests))
        rows += _throughput_rows(results, concurrency, requests)
    return rows


def _throughput_rows(results: Results, concurrency: int, requests: int) -> list[Row]:
    wall = {name: [w for w, _ in results[name]] for name in VARIANTS}
    cpu_us = {name: [c / requests * 1e6 for _, c in results[name]] for name in VARIANTS}
    # Ratios of requests per second, each against raw A of the same repetition.
    ratio = Paired([a / v for a, v in zip(wall["raw A"], wall["tornado_alf"])],
                   [a / b for a, b in zip(wall["raw A"], wall["raw B"])], neutral=1.0)
    extra = Paired([v - a for a, v in zip(cpu_us["raw A"], cpu_us["tornado_alf"])],
                   [b - a for a, b in zip(cpu_us["raw A"], cpu_us["raw B"])], neutral=0.0)
    rps = {name: requests * len(wall[name]) / sum(wall[name]) for name in VARIANTS}
    cpu = {name: statistics.median(cpu_us[name]) for name in VARIANTS}
    label = f"c={concurrency}"
    shape = {"repetitions": len(wall["raw A"]), "requests_per_repetition": requests}
    return [
        Row(f"Warm throughput {label}, req/s (raw A / tornado_alf / raw B)",
            f"{rps['raw A']:,.0f} / {rps['tornado_alf']:,.0f} / {rps['raw B']:,.0f} "
            f"({shape['repetitions']:,} x {requests} requests each)", "", INFO,
            {"requests_per_second": rps, **shape}),
        Row(f"Throughput ratio tornado_alf / raw, {label}",
            f"{ratio.median:.3f} ({noise_note(ratio, '.3f')})",
            ">= 0.97", verdict(ratio.median >= 0.97), {**ratio.as_data(), **shape}),
        Row(f"Client CPU above raw, {label}, us/request",
            f"{extra.median:+.1f} (raw {cpu['raw A']:.0f} us/request; {noise_note(extra, '+.1f')})",
            "<= 10", verdict(extra.median <= 10), {**extra.as_data(), "cpu_us_per_request": cpu, **shape}),
    ]


# -- the wrapper's own cost, without a network ------------------------------------------------------

async def _ns_per_call(
    variants: dict[str, Optional[type[Any]]], as_request: bool, repetitions: int, calls: int
) -> dict[str, list[float]]:
    """Thread CPU nanoseconds per fetch, without a network, of each variant; ``None`` is raw.

    Every other variant is a TornadoClient class. Blocks of ``calls`` run
    interleaved, in an order that rotates; the first round only warms up.
    """
    url = "http://127.0.0.1:9/resource"
    headers = {"Authorization": "Bearer no-network"}
    http = AsyncHTTPClient()
    fetches: dict[str, Callable[[], Any]] = {}
    for name, client_class in variants.items():
        if client_class is None:
            fetches[name] = (lambda: http.fetch(HTTPRequest(url, headers=headers))) if as_request else (
                lambda: http.fetch(url, headers=headers))
        else:
            client = client_class("http://127.0.0.1:9/token", "bench", "bench")
            # Bound through a local: mypy cannot infer a defaulted lambda against Callable[[], Any].
            fetch = (lambda c=client: c.fetch(HTTPRequest(url))) if as_request else (
                lambda c=client: c.fetch(url))
            fetches[name] = fetch
    results: dict[str, list[float]] = {name: [] for name in variants}
    for order in interleaved(list(variants), repetitions + 1):
        for name in order:
            call = fetches[name]
            start = time.thread_time_ns()
            for _ in range(calls):
                response: HTTPResponse = await call()
            results[name].append((time.thread_time_ns() - start) / calls)
            assert response.code == 200
    return {name: values[1:] for name, values in results.items()}


def ns_per_call(
    variants: dict[str, Optional[type[Any]]], as_request: bool, repetitions: int, calls: int
) -> dict[str, list[float]]:
    """`_ns_per_call` in a loop of its own, whose shared AsyncHTTPClient answers at once."""
    configure_http(InstantHTTPClient)
    try:
        return asyncio.run(_ns_per_call(variants, as_request, repetitions, calls))
    finally:
        configure_http(None)


FORMS = ((False, "fetch(url)"), (True, "fetch(HTTPRequest)"))


def no_network_rows(sizes: Sizes) -> list[Row]:
    rows = []
    variants = {"raw A": None, "tornado_alf": TornadoClient, "raw B": None}
    for as_request, form in FORMS:
        ns = ns_per_call(variants, as_request, sizes.repetitions_no_network, sizes.calls_no_network)
        extra = Paired([v - a for a, v in zip(ns["raw A"], ns["tornado_alf"])],
                       [b - a for a, b in zip(ns["raw A"], ns["raw B"])], neutral=0.0)
        raw = statistics.median(ns["raw A"])
        rows.append(Row(
            f"Wrapper cost without network, {form}, ns/call",
            f"{extra.median:+,.0f} (raw {raw:,.0f}, tornado_alf {statistics.median(ns['tornado_alf']):,.0f};"
            f" {noise_note(extra, '+,.0f')})",
            "lower is better", INFO, {**extra.as_data(), "ns_per_call": ns},
        ))
    return rows
