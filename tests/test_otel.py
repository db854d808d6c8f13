"""tornado_alf.contrib.opentelemetry: metrics and spans counted against a real local endpoint, and no secret.

The SDK's in-memory reader and exporter collect what an OpenTelemetry pipeline would
export; the figures are compared with what the authorization server itself counted.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Iterator
from typing import Any, Callable

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.doubles import client_for, refused_url
from tests.test_secrets import PATHS, Sweep
from tornado_alf import Retry, TokenError, TornadoClient
from tornado_alf.contrib.opentelemetry import SPAN_NAME, OpenTelemetryHooks, outcome_of
from tornado_alf.testing import AuthServer

QUICK_RETRY = Retry(total=3, backoff_factor=0.001, status_forcelist=(503,))


class Telemetry:
    """An SDK pipeline held in memory, and the hooks that feed it."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.hooks = OpenTelemetryHooks(self.meter_provider, self.tracer_provider)

    def spans(self) -> list[ReadableSpan]:
        return [span for span in self.exporter.get_finished_spans() if span.name == SPAN_NAME]

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """``(attributes, value)`` of each data point of metric ``name`` (sum, gauge or histogram count)."""
        data = self.reader.get_metrics_data()
        found: list[tuple[dict[str, Any], Any]] = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(
                            (dict(point.attributes or {}), getattr(point, "value", getattr(point, "count", None)))
                            for point in metric.data.data_points
                        )
        return found

    def total(self, name: str, **attributes: Any) -> Any:
        return sum(value for attrs, value in self.points(name) if attributes.items() <= attrs.items())

    def exported_text(self) -> str:
        """Everything an exporter would send: every span and every metric, as JSON."""
        data = self.reader.get_metrics_data()
        spans = [span.to_json() for span in self.exporter.get_finished_spans()]
        return "\n".join([*spans, data.to_json() if data else ""])

    def close(self) -> None:
        self.meter_provider.shutdown()
        self.tracer_provider.shutdown()


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    pipeline = Telemetry()
    yield pipeline
    pipeline.close()


async def test_a_cold_herd_with_retries_is_one_request_and_counted_waiters(
    auth_server: AuthServer, telemetry: Telemetry
) -> None:
    auth_server.fail_next(times=2, status=503)
    client = client_for(auth_server, hooks=telemetry.hooks, token_retry=QUICK_RETRY)
    telemetry.hooks.observe(client, "orders")
    responses = await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(20)))
    await client.fetch(auth_server.resource_url)
    client.close()
    assert [response.code for response in responses] == [200] * 20
    assert auth_server.token_requests == 3  # two 503s, then the token
    assert telemetry.total("tornado_alf.token.requests", **{"tornado_alf.outcome": "ok"}) == 1
    assert telemetry.total("tornado_alf.token.retries", **{"http.response.status_code": 503}) == 2
    assert telemetry.total("tornado_alf.token.request.duration") == 1
    client_label = {"tornado_alf.client": "orders"}
    assert telemetry.total("tornado_alf.token.cache.misses", **client_label) == 20
    assert telemetry.total("tornado_alf.token.coalesced_waiters", **client_label) == 19
    assert telemetry.total("tornado_alf.token.cache.hits", **client_label) == 1
    [(_, left)] = telemetry.points("tornado_alf.token.remaining_lifetime")
    assert 3500 < left <= 3600  # the endpoint's expires_in, less the time since
    expires_at = client.stats().token_expires_at
    assert expires_at is not None
    assert 3500 < expires_at - time.time() <= 3600


async def test_retries_are_events_of_the_token_request_span(auth_server: AuthServer, telemetry: Telemetry) -> None:
    auth_server.fail_next(times=2, status=503)
    client = client_for(auth_server, hooks=telemetry.hooks, token_retry=QUICK_RETRY)
    await client.fetch(auth_server.resource_url)
    client.close()
    [span] = telemetry.spans()
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes is not None
    assert span.attributes["tornado_alf.attempts"] == 3
    assert span.attributes["server.port"] == auth_server.port
    assert span.attributes["http.response.status_code"] == 200
    assert [event.name for event in span.events] == ["retry", "retry"]
    assert span.start_time is not None
    assert span.end_time is not None
    assert all(span.start_time <= event.timestamp <= span.end_time for event in span.events)


@pytest.mark.parametrize(("secret", "outcome", "status"), [
    ("wrong", "invalid_client", 401),
    (None, "unreachable", 599),
])
async def test_a_failed_token_request_is_an_error_span_and_counted_by_outcome(
    auth_server: AuthServer, telemetry: Telemetry, secret: Any, outcome: str, status: int
) -> None:
    endpoint = auth_server.token_endpoint if secret else refused_url()
    client = client_for(auth_server, hooks=telemetry.hooks, token_endpoint=endpoint, client_secret=secret or "x")
    with pytest.raises(TokenError):
        await client.fetch(auth_server.resource_url)
    client.close()
    assert telemetry.total("tornado_alf.token.requests", **{"tornado_alf.outcome": outcome}) == 1
    assert telemetry.total("tornado_alf.token.requests", **{"tornado_alf.outcome": "ok"}) == 0
    [span] = telemetry.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == outcome
    assert span.attributes["http.response.status_code"] == status


async def test_the_token_span_is_a_child_of_the_callers_span(auth_server: AuthServer, telemetry: Telemetry) -> None:
    client = client_for(auth_server, hooks=telemetry.hooks)
    with telemetry.tracer_provider.get_tracer("app").start_as_current_span("handler") as handler:
        await client.fetch(auth_server.resource_url)
    client.close()
    [span] = telemetry.spans()
    assert span.parent is not None
    assert span.parent.span_id == handler.get_span_context().span_id


async def test_reauthentications_and_refreshes_ahead_are_counted(
    auth_server: AuthServer, telemetry: Telemetry
) -> None:
    auth_server.expires_in = 2
    client = client_for(auth_server, hooks=telemetry.hooks, expiry_margin=0, refresh_ahead=0.05)
    telemetry.hooks.observe(client)
    await client.fetch(auth_server.resource_url)
    auth_server.revoke_all()
    await client.fetch(auth_server.resource_url)  # 401, new token, replay
    await asyncio.sleep(0.15)
    await client.fetch(auth_server.resource_url)  # due: one refresh ahead in the background
    for _ in range(100):
        if telemetry.total("tornado_alf.token.refreshes_ahead"):
            break
        await asyncio.sleep(0.01)
    client.close()
    assert telemetry.total("tornado_alf.reauthentications", **{"http.response.status_code": 401}) == 1
    assert telemetry.total("tornado_alf.token.refreshes_ahead", **{"tornado_alf.outcome": "ok"}) == 1
    assert telemetry.total("tornado_alf.token.requests") == auth_server.token_requests == 3
    assert len(telemetry.spans()) == 3


async def test_a_client_that_is_gone_is_no_longer_reported(auth_server: AuthServer, telemetry: Telemetry) -> None:
    client = client_for(auth_server)
    telemetry.hooks.observe(client, "gone")
    await client.fetch(auth_server.resource_url)
    assert telemetry.total("tornado_alf.token.cache.misses", **{"tornado_alf.client": "gone"}) == 1
    client.close()
    del client
    gc.collect()  # the client's parts refer to each other
    assert telemetry.points("tornado_alf.token.remaining_lifetime") == []


def test_outcomes_are_a_bounded_vocabulary() -> None:
    assert outcome_of(True, 200, None) == "ok"
    assert outcome_of(False, 400, "invalid_scope") == "invalid_scope"
    assert outcome_of(False, 400, "invalid_client s3cr3t") == "http_400"  # an echoed value never becomes a label
    assert outcome_of(False, 599, None) == "unreachable"
    assert outcome_of(False, None, None) == "failed"


# --- the secret sweep: every path of tests/test_secrets.py, exported -------------------------------


class TelemetrySweep(Sweep):
    """The secret sweep's paths, each client reporting to ``telemetry``."""

    def __init__(self, server: AuthServer, telemetry: Telemetry) -> None:
        super().__init__(server)
        self.telemetry = telemetry

    def client(self, **kwargs: Any) -> TornadoClient:
        client = super().client(hooks=self.telemetry.hooks, **kwargs)
        self.telemetry.hooks.observe(client)
        return client


def leaks(text: str, needles: dict[str, str]) -> list[str]:
    return [name for name, needle in needles.items() if needle in text]


@pytest.mark.parametrize("path", list(PATHS.values()), ids=list(PATHS))
async def test_no_secret_token_or_assertion_in_any_span_or_metric(
    auth_server: AuthServer, telemetry: Telemetry, path: Callable[[Sweep], Awaitable[None]]
) -> None:
    sweep = TelemetrySweep(auth_server, telemetry)
    await path(sweep)
    exported = telemetry.exported_text()
    assert "tornado_alf" in exported  # the pipeline did receive the client's metrics
    assert leaks(exported, sweep.needles()) == []


async def test_the_sweep_finds_a_token_put_where_it_must_not_be(
    auth_server: AuthServer, telemetry: Telemetry
) -> None:
    sweep = TelemetrySweep(auth_server, telemetry)
    client = sweep.client()
    token = await client.get_token()
    client.close()
    with telemetry.tracer_provider.get_tracer("careless").start_as_current_span("leak") as span:
        span.set_attribute("token", token.access_token)
    assert leaks(telemetry.exported_text(), sweep.needles()) == ["access token 0"]


async def test_calls_failed_during_a_cool_down_are_counted(auth_server: AuthServer, telemetry: Telemetry) -> None:
    auth_server.fail_next(10, status=503)
    client = client_for(auth_server, hooks=telemetry.hooks, failure_cooldown=60)
    telemetry.hooks.observe(client, "down")
    for _ in range(3):
        with pytest.raises(TokenError):
            await client.fetch(auth_server.resource_url)
    client.close()
    assert auth_server.token_requests == 1
    assert telemetry.total("tornado_alf.token.requests", **{"tornado_alf.outcome": "http_503"}) == 1
    assert telemetry.total("tornado_alf.token.cooldown_failures", **{"tornado_alf.client": "down"}) == 2
