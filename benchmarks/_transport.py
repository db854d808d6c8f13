"""The HTTP clients: tornado_alf over raw Curl, and a token request beside a full resource queue."""

from __future__ import annotations

import asyncio
import time

from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from ._load import MAX_CLIENTS, configure_http
from ._phases import Sizes, _throughput, _throughput_rows, client_for
from ._procs import AuthServerInfo
from ._report import Row, verdict

CURL = "tornado.curl_httpclient.CurlAsyncHTTPClient"
QUEUED = 500
QUEUE_MAX_CLIENTS = 10


def curl_rows(server: AuthServerInfo, sizes: Sizes) -> list[Row]:
    """The throughput rows again, with Tornado's shared client a CurlAsyncHTTPClient."""
    AsyncHTTPClient.configure(CURL, max_clients=MAX_CLIENTS)
    try:
        rows = []
        for concurrency, (repetitions, requests) in sorted(sizes.throughput.items()):
            results = asyncio.run(_throughput(server, concurrency, repetitions, requests))
            for row in _throughput_rows(results, concurrency, requests):
                row.figure = row.figure.replace(f"c={concurrency}", f"Curl, c={concurrency}")
                rows.append(row)
        return rows
    finally:
        configure_http(None)


class _Held(RequestHandler):
    async def get(self) -> None:
        await self.application.settings["release"].wait()
        self.finish("done")


async def _refresh_beside_a_full_queue(server: AuthServerInfo) -> float:
    """Seconds a cold token request takes while ``max_clients`` requests are held and more are queued."""
    release = asyncio.Event()
    sockets = bind_sockets(0, "127.0.0.1")
    held = HTTPServer(Application([(r"/held", _Held)], release=release))
    held.add_sockets(sockets)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/held"
    resources = AsyncHTTPClient(force_instance=True, max_clients=QUEUE_MAX_CLIENTS)
    client = client_for(server, http_client=resources)
    queued = [asyncio.ensure_future(resources.fetch(url, request_timeout=120)) for _ in range(QUEUED)]
    await asyncio.sleep(0.5)  # the first max_clients reach the resource, the rest wait in the queue
    started = time.perf_counter()
    await client.get_token()
    seconds = time.perf_counter() - started
    release.set()
    await asyncio.gather(*queued)
    client.close()
    resources.close()
    held.stop()
    return seconds


def queue_rows(server: AuthServerInfo, token_latency: float) -> list[Row]:
    seconds = asyncio.run(_refresh_beside_a_full_queue(server))
    target = token_latency + 0.1
    return [Row(
        f"Token request beside {QUEUED} queued resource requests (max_clients={QUEUE_MAX_CLIENTS}), "
        f"endpoint {token_latency * 1000:.0f} ms",
        f"{seconds * 1000:.0f} ms", f"<= {target * 1000:.0f} ms", verdict(seconds <= target),
        {"seconds": seconds, "queued": QUEUED, "max_clients": QUEUE_MAX_CLIENTS, "token_latency": token_latency},
    )]



