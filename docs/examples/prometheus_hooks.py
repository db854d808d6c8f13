"""tornado-alf metrics for Prometheus: events through hooks, counters through stats().

``PrometheusHooks`` turns each event into ``prometheus_client`` counters and
histograms; ``ClientStatsCollector`` reads `TornadoClient.stats` at every
scrape, for the counts too frequent to be events (cache hits). Both register on
the registry given (here their own, so nothing clashes with a process-wide one).

Run it: ``python docs/examples/prometheus_hooks.py`` starts a local
authorization server, makes some requests and prints the exposition text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Optional

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from tornado_alf import (
    ClientHooks,
    ReauthenticationEvent,
    RefreshAheadEvent,
    Retry,
    RetryEvent,
    TokenRequestEvent,
    TornadoClient,
)
from tornado_alf.testing import AuthServer


class PrometheusHooks(ClientHooks):
    """Token requests, retries, re-authentications and refreshes as Prometheus metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.token_requests = Counter(
            "tornado_alf_token_requests", "Token requests, by endpoint and outcome",
            ["host", "outcome"], registry=registry,
        )
        self.token_request_seconds = Histogram(
            "tornado_alf_token_request_seconds", "Token request latency, retries included",
            ["host"], registry=registry,
        )
        self.retries = Counter(
            "tornado_alf_token_retries", "Token request retries, by the status retried",
            ["host", "status"], registry=registry,
        )
        self.reauthentications = Counter(
            "tornado_alf_reauthentications", "Requests sent again with a new token after a rejection",
            ["host", "status"], registry=registry,
        )
        self.refreshes = Counter(
            "tornado_alf_refresh_ahead", "Background refreshes, by outcome",
            ["host", "outcome"], registry=registry,
        )

    def on_token_request(self, event: TokenRequestEvent) -> None:
        """Count the request by outcome (``ok`` or the OAuth error code) and time it."""
        outcome = "ok" if event.ok else (event.error or str(event.status))
        self.token_requests.labels(event.host, outcome).inc()
        self.token_request_seconds.labels(event.host).observe(event.seconds)

    def on_retry(self, event: RetryEvent) -> None:
        """Count the retry by the status that caused it."""
        self.retries.labels(event.host, str(event.status)).inc()

    def on_reauthentication(self, event: ReauthenticationEvent) -> None:
        """Count the re-authentication by resource host and status."""
        self.reauthentications.labels(event.host, str(event.status)).inc()

    def on_refresh_ahead(self, event: RefreshAheadEvent) -> None:
        """Count the refresh by outcome."""
        self.refreshes.labels(event.host, "ok" if event.ok else "failed").inc()


class ClientStatsCollector(Collector):
    """The cache counters of `TornadoClient.stats`, read at scrape time."""

    def __init__(self, client: TornadoClient, name: str = "default") -> None:
        self.client = client
        self.name = name

    def collect(self) -> Iterator[CounterMetricFamily]:
        """One counter family per cache counter, read from the client now."""
        stats = self.client.stats()
        for field, help_text in (
            ("cache_hits", "Token look-ups served by the cached token"),
            ("cache_misses", "Token look-ups that waited for a token"),
            ("coalesced_waiters", "Callers that joined a token request already in flight"),
            ("store_hits", "Tokens taken from the token store"),
        ):
            family = CounterMetricFamily(f"tornado_alf_{field}", help_text, labels=["client"])
            family.add_metric([self.name], getattr(stats, field))
            yield family


async def main(registry: Optional[CollectorRegistry] = None) -> bytes:
    """Some traffic against a local server, then the metrics as Prometheus would scrape them."""
    registry = registry or CollectorRegistry()
    async with AuthServer("demo-client", "demo-secret") as server:
        client = TornadoClient(
            server.token_endpoint, "demo-client", "demo-secret",
            hooks=PrometheusHooks(registry),
            token_retry=Retry(total=2, backoff_factor=0.01, status_forcelist=(503,)),
        )
        registry.register(ClientStatsCollector(client))
        server.fail_next(status=503)  # one retry
        await asyncio.gather(*(client.fetch(server.resource_url) for _ in range(10)))
        server.revoke_all()  # one re-authentication
        await client.fetch(server.resource_url)
        client.close()
    return generate_latest(registry)


if __name__ == "__main__":
    print(asyncio.run(main()).decode())
