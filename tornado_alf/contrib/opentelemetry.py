"""OpenTelemetry metrics and spans for `~tornado_alf.TornadoClient`, from its hooks and its stats.

Needs the ``tornado-alf[otel]`` extra (``opentelemetry-api``; add ``opentelemetry-sdk``
or a distribution to export anything)::

    from tornado_alf import TornadoClient
    from tornado_alf.contrib.opentelemetry import OpenTelemetryHooks

    telemetry = OpenTelemetryHooks()
    client = TornadoClient(token_endpoint, client_id, client_secret, hooks=telemetry)
    telemetry.observe(client)

Events (token requests, retries, re-authentications, refreshes ahead) become counters,
a latency histogram and one span per token request; the counts too frequent to be events
(cache hits and misses, coalesced waiters, store hits) and the remaining token lifetime
are read from `~tornado_alf.TornadoClient.stats` at each collection. Attributes hold
hosts, ports, statuses, OAuth error codes and counts: never a secret, token, assertion
or header.

.. versionadded:: 2.0
"""

from __future__ import annotations

import functools
import threading
import time
import urllib.parse
import weakref
from collections.abc import Iterable
from typing import Optional

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from tornado_alf import (
    ClientHooks,
    ClientStats,
    ReauthenticationEvent,
    RefreshAheadEvent,
    RetryEvent,
    TokenRequestEvent,
    TornadoClient,
    __version__,
)

__all__ = ["OpenTelemetryHooks"]

#: The instrumentation scope of every meter and tracer made here.
SCOPE = "tornado_alf"
#: The name of the span of each token request.
SPAN_NAME = "oauth2 token request"

#: RFC 6749 sec. 5.2 and RFC 8707 error codes: an ``outcome`` is one of these, or a generic
#: word. An endpoint writes ``error`` as it likes; a fixed set keeps metrics bounded and no
#: echoed value ever becomes an attribute.
OAUTH_ERRORS = frozenset({
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope", "invalid_target", "temporarily_unavailable",
    "server_error", "access_denied",
})

#: ClientStats counters read at each collection: (field, instrument name, description).
_STATS_COUNTERS = (
    ("cache_hits", "tornado_alf.token.cache.hits", "Token look-ups served by the cached token"),
    ("cache_misses", "tornado_alf.token.cache.misses", "Token look-ups that waited for a token"),
    ("coalesced_waiters", "tornado_alf.token.coalesced_waiters",
     "Token look-ups that joined a token acquisition already under way"),
    ("store_hits", "tornado_alf.token.store.hits", "Tokens taken from the token store"),
    ("cooldown_failures", "tornado_alf.token.cooldown_failures",
     "Token look-ups that failed at once, as a repeat, during a cool-down after a server-side failure"),
)


def outcome_of(ok: bool, status: Optional[int], error: Optional[str]) -> str:
    """``ok``, a known OAuth error code, ``unreachable`` (599), ``http_<status>``, or ``failed``."""
    if ok:
        return "ok"
    if error in OAUTH_ERRORS:
        return str(error)
    if status == 599:
        return "unreachable"
    if status is not None and 100 <= status <= 599:
        return f"http_{status}"
    return "failed"


def server_attributes(host: str) -> dict[str, AttributeValue]:
    """``server.address`` and ``server.port`` of a ``host[:port]`` (OpenTelemetry's names)."""
    parts = urllib.parse.urlsplit("//" + host)
    attributes: dict[str, AttributeValue] = {"server.address": parts.hostname or host}
    if parts.port is not None:
        attributes["server.port"] = parts.port
    return attributes


class OpenTelemetryHooks(ClientHooks):
    """Hooks that turn a client's events into OpenTelemetry metrics and spans.

    Pass it as ``TornadoClient(..., hooks=...)``; one object may serve several
    clients. Call `observe` with each client to also export its `~tornado_alf.ClientStats`
    cache counters and the remaining token lifetime.

    Metrics (attributes in brackets): ``tornado_alf.token.requests`` [``server.address``,
    ``server.port``, ``tornado_alf.outcome``], ``tornado_alf.token.request.duration``
    (seconds, retry waits included), ``tornado_alf.token.retries`` [server,
    ``http.response.status_code``], ``tornado_alf.reauthentications`` [resource server,
    status], ``tornado_alf.token.refreshes_ahead`` [outcome]; read from ``stats()``:
    ``tornado_alf.token.cache.hits``, ``.cache.misses``, ``tornado_alf.token.coalesced_waiters``,
    ``tornado_alf.token.store.hits``, ``tornado_alf.token.cooldown_failures`` and the
    gauge ``tornado_alf.token.remaining_lifetime`` [``tornado_alf.client``]. The outcome
    is ``ok``, a standard OAuth error code (``invalid_client``...), ``unreachable`` (599)
    or ``http_<status>``.

    Spans: one ``oauth2 token request`` span (kind CLIENT) per token request, from
    its first attempt to its end, child of the span current when the request
    started, with one ``retry`` event per retry and status ERROR on failure.

    :arg meter_provider: where the instruments live; default: the global one.
    :arg tracer_provider: where the spans go; default: the global one.
    """

    def __init__(
        self,
        meter_provider: Optional[metrics.MeterProvider] = None,
        tracer_provider: Optional[trace.TracerProvider] = None,
    ) -> None:
        self._clients: list[tuple[weakref.ref[TornadoClient], str]] = []
        # Retries seen since the last token request ended, per token endpoint host; hooks of
        # clients on several threads' loops may interleave, and collections run on another thread.
        self._retries_seen: dict[str, list[tuple[int, RetryEvent]]] = {}
        self._lock = threading.Lock()
        meter = (meter_provider or metrics.get_meter_provider()).get_meter(SCOPE, __version__)
        self._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(SCOPE, __version__)
        self._requests = meter.create_counter(
            "tornado_alf.token.requests", "{request}", "Token requests, by outcome (retries not counted apart)")
        self._duration = meter.create_histogram(
            "tornado_alf.token.request.duration", "s", "Token request duration, retry waits included")
        self._retries = meter.create_counter(
            "tornado_alf.token.retries", "{retry}", "Token request attempts repeated after a failure")
        self._reauthentications = meter.create_counter(
            "tornado_alf.reauthentications", "{request}",
            "Resource requests sent again with a new token after a rejection")
        self._refreshes = meter.create_counter(
            "tornado_alf.token.refreshes_ahead", "{refresh}", "Background refreshes ahead of expiry, by outcome")
        for field, name, description in _STATS_COUNTERS:
            meter.create_observable_counter(
                name, [functools.partial(self._observations, field)], "{lookup}", description)
        meter.create_observable_gauge(
            "tornado_alf.token.remaining_lifetime",
            [self._remaining_lifetimes], "s",
            "Seconds until the current token expires (0: no token)")

    def observe(self, client: TornadoClient, name: Optional[str] = None) -> None:
        """Export ``client``'s `~tornado_alf.ClientStats` counters and remaining token lifetime.

        Read at each metrics collection (on the exporter's thread; ``stats()`` is a
        snapshot of plain numbers). The client is held weakly: a client that is gone
        stops being reported.

        :arg client: the client to read.
        :arg str name: its ``tornado_alf.client`` attribute; default: its token endpoint's host.
        """
        label = name if name is not None else urllib.parse.urlsplit(client.token_endpoint).netloc
        with self._lock:
            self._clients.append((weakref.ref(client), label))

    def on_token_request(self, event: TokenRequestEvent) -> None:
        """Count the token request by outcome, time it, and record its span."""
        attributes = server_attributes(event.host)
        outcome = outcome_of(event.ok, event.status, event.error)
        self._requests.add(1, {**attributes, "tornado_alf.outcome": outcome})
        self._duration.record(event.seconds, attributes)
        end = time.time_ns()
        start = end - int(event.seconds * 1e9)
        with self._lock:
            retries = self._retries_seen.pop(event.host, [])
        span = self._tracer.start_span(SPAN_NAME, kind=SpanKind.CLIENT, start_time=start, attributes={
            **attributes,
            "http.request.method": "POST",
            "http.response.status_code": event.status,
            "tornado_alf.outcome": outcome,
            "tornado_alf.attempts": event.attempts,
        })
        for when, retry in retries:
            span.add_event("retry", {
                "http.response.status_code": retry.status, "tornado_alf.retry": retry.retry,
                "tornado_alf.retry.total": retry.total, "tornado_alf.retry.wait": retry.wait,
            }, timestamp=max(start, when))
        if not event.ok:
            span.set_status(Status(StatusCode.ERROR, outcome))
            span.set_attribute("error.type", outcome)
        span.end(end_time=end)

    def on_retry(self, event: RetryEvent) -> None:
        """Count the retry; it becomes an event of the token request's span."""
        self._retries.add(1, {**server_attributes(event.host), "http.response.status_code": event.status})
        with self._lock:
            self._retries_seen.setdefault(event.host, []).append((time.time_ns(), event))

    def on_reauthentication(self, event: ReauthenticationEvent) -> None:
        """Count the re-authentication, by resource server and rejecting status."""
        self._reauthentications.add(
            1, {**server_attributes(event.host), "http.response.status_code": event.status})

    def on_refresh_ahead(self, event: RefreshAheadEvent) -> None:
        """Count the refresh ahead by outcome."""
        self._refreshes.add(
            1, {**server_attributes(event.host), "tornado_alf.outcome": outcome_of(event.ok, event.status, None)})

    def _observations(self, field: str, options: CallbackOptions) -> Iterable[Observation]:
        """``field`` of the stats of every observed client still alive, read now."""
        return [
            Observation(getattr(stats, field), {"tornado_alf.client": label}) for label, stats in self._stats()
        ]

    def _remaining_lifetimes(self, options: CallbackOptions) -> Iterable[Observation]:
        """Seconds until each observed client's token expires: 0 without one, ``inf`` if it never does."""
        now = time.time()
        return [
            Observation(0.0 if stats.token_expires_at is None else max(0.0, stats.token_expires_at - now),
                        {"tornado_alf.client": label})
            for label, stats in self._stats()
        ]

    def _stats(self) -> list[tuple[str, ClientStats]]:
        with self._lock:
            self._clients = [(ref, label) for ref, label in self._clients if ref() is not None]
            clients = [(ref(), label) for ref, label in self._clients]
        return [(label, client.stats()) for client, label in clients if client is not None]

    def __repr__(self) -> str:
        return f"<OpenTelemetryHooks observing {len(self._clients)} client(s)>"

