"""What a DPoP proof costs per request (RFC 9449), next to the floor: one ES256 signature.

Without a network (an HTTP client that answers on the loop's next turn), so what remains is the Python on
the way: raw `AsyncHTTPClient.fetch`, `TornadoClient` with a Bearer token, and with a DPoP
key (a new ES256 proof on every request). The floor is one ES256 signature of a
proof-sized message by `cryptography`, measured in the same run, interleaved.
"""

from __future__ import annotations

import asyncio
import io
import json
import statistics
import time
from typing import Any, Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

from tornado_alf import TornadoClient

from ._load import configure_http, interleaved
from ._phases import Sizes
from ._report import Row, verdict

_TOKEN = {"access_token": "no-network", "expires_in": 3600}
URL = "http://127.0.0.1:9/resource"


class InstantDPoPHTTPClient(AsyncHTTPClient):
    """Answers on the loop's next turn (see `InstantHTTPClient`): a POST gets a token of the type asked for."""

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        body = b"{}"
        if request.method == "POST":
            body = json.dumps({**_TOKEN, "token_type": "DPoP" if "DPoP" in request.headers else "Bearer"}).encode()
        self.io_loop.add_callback(callback, HTTPResponse(request, 200, buffer=io.BytesIO(body)))


async def _measure(repetitions: int, calls: int) -> dict[str, list[float]]:
    http = AsyncHTTPClient()
    headers = {"Authorization": "Bearer no-network"}
    bearer = TornadoClient("http://127.0.0.1:9/token", "bench", "bench")
    dpop = TornadoClient("http://127.0.0.1:9/token", "bench", "bench", dpop_key=True)
    key = ec.generate_private_key(ec.SECP256R1())
    message = b"x" * 420  # about a proof's signing input: header with the jwk, claims with ath

    async def sign() -> None:
        key.sign(message, ec.ECDSA(hashes.SHA256()))

    variants: dict[str, Callable[[], Any]] = {
        "raw": lambda: http.fetch(URL, headers=headers),
        "bearer": lambda: bearer.fetch(URL),
        "dpop": lambda: dpop.fetch(URL),
        "es256": sign,
    }
    results: dict[str, list[float]] = {name: [] for name in variants}
    for order in interleaved(list(variants), repetitions + 1):
        for name in order:
            call = variants[name]
            start = time.thread_time_ns()
            for _ in range(calls):
                await call()
            results[name].append((time.thread_time_ns() - start) / calls / 1e3)
    bearer.close()
    dpop.close()
    return {name: values[1:] for name, values in results.items()}  # the first round warms up


def dpop_rows(sizes: Sizes) -> list[Row]:
    configure_http(InstantDPoPHTTPClient)
    try:
        us = asyncio.run(_measure(sizes.repetitions_no_network, sizes.calls_no_network))
    finally:
        configure_http(None)
    over = [d - r for d, r in zip(us["dpop"], us["raw"])]
    bearer_over = [b - r for b, r in zip(us["bearer"], us["raw"])]
    ratio = [o / s for o, s in zip(over, us["es256"])]
    median = statistics.median
    data = {"us_per_call": us, "dpop_over_raw_us": over, "ratio_to_signature": ratio}
    return [Row(
        "DPoP: client CPU above raw, us/request, vs one ES256 signature",
        f"{median(over):+.1f} us (Bearer {median(bearer_over):+.1f}; one ES256 signature "
        f"{median(us['es256']):.1f} us; ratio {median(ratio):.2f})",
        "<= 1.5 x signature", verdict(median(ratio) <= 1.5), data,
    )]
