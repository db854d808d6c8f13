"""Observability: what the client did with tokens, as counters and as events.

`TornadoClient.stats` returns a `ClientStats` snapshot of counters; a
`ClientHooks` given as ``TornadoClient(..., hooks=...)`` hears of each token
request, retry, re-authentication and refresh ahead as it happens. Neither ever
holds a client secret, a token or a header: events carry hosts, statuses,
OAuth error codes, counts and durations only.

.. versionadded:: 1.0
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Optional

__all__ = [
    "ClientHooks",
    "ClientStats",
    "LoggingHooks",
    "ReauthenticationEvent",
    "RefreshAheadEvent",
    "RetryEvent",
    "TokenRequestEvent",
]

#: The one line a retry is logged with, by the client itself on the ``tornado_alf`` logger.
RETRY_MESSAGE = "token request to %s answered %d: retry %d of %d in %.3f s"


@dataclasses.dataclass(frozen=True)
class ClientStats:
    """Counters of one `TornadoClient` since it was created.

    A frozen `dataclass <dataclasses.dataclass>`: each counter is a field, and
    ``dataclasses.asdict(client.stats())`` turns a snapshot into a dict of numbers, ready
    for ``json.dumps`` or a metrics system.

    :arg int token_requests: token requests this client sent and saw to an end,
        successful or not; one request counts once however many attempts it took.
        A token another process fetched through a shared store is not one.
    :arg int token_request_failures: those of ``token_requests`` that ended in `TokenError`.
    :arg int token_request_attempts: HTTP requests sent to the token endpoint
        (first attempts plus retries).
    :arg int retries: attempts that repeated a failed one.
    :arg float retry_wait_seconds: the waits before those retries, summed.
    :arg int cache_hits: token look-ups (one per `~TornadoClient.fetch`, plus one
        per replay) served at once by the valid in-memory token.
    :arg int cache_misses: look-ups that found no valid in-memory token and waited.
    :arg int coalesced_waiters: of ``cache_misses``, those that joined a token
        acquisition another caller (or a refresh ahead) had already started,
        instead of starting one.
    :arg int store_hits: tokens taken from ``token_storage`` instead of asking the endpoint.
    :arg int reauthentications: resource answers with a re-authentication status
        (401 by default) after which a new token was obtained and the request sent again.
    :arg int reauthentications_suppressed: rejections returned as they were, without
        a new token, because a token obtained after a rejection was itself rejected
        and the ``reauth_cooldown`` it started had not ended.
    :arg int refresh_ahead_ok: background refreshes that brought a new token.
    :arg int refresh_ahead_failed: background refreshes that failed (the current token stayed in use).
    """

    token_requests: int = 0
    token_request_failures: int = 0
    token_request_attempts: int = 0
    retries: int = 0
    retry_wait_seconds: float = 0.0
    cache_hits: int = 0
    cache_misses: int = 0
    coalesced_waiters: int = 0
    store_hits: int = 0
    reauthentications: int = 0
    reauthentications_suppressed: int = 0
    refresh_ahead_ok: int = 0
    refresh_ahead_failed: int = 0


@dataclasses.dataclass(frozen=True)
class TokenRequestEvent:
    """A token request came to an end (`ClientHooks.on_token_request`).

    :arg str host: the token endpoint's ``host[:port]``.
    :arg bool ok: whether a usable token came back.
    :arg int status: HTTP status of the last answer; 599 for a network failure or timeout.
    :arg error: the OAuth ``error`` code of a failure (RFC 6749 sec. 5.2), if the endpoint sent one.
    :arg int attempts: HTTP requests it took (1 plus the retries).
    :arg float seconds: time from the first attempt to the end, retry waits included.
    """

    host: str
    ok: bool
    status: int
    error: Optional[str]
    attempts: int
    seconds: float


@dataclasses.dataclass(frozen=True)
class RetryEvent:
    """A token request attempt failed and will be retried (`ClientHooks.on_retry`).

    :arg str host: the token endpoint's ``host[:port]``.
    :arg int status: status of the failed attempt; 599 for a network failure or timeout.
    :arg int retry: the number of the retry about to be made (1, 2, ...).
    :arg int total: the most retries the policy allows.
    :arg float wait: seconds the client waits before it.
    """

    host: str
    status: int
    retry: int
    total: int
    wait: float


@dataclasses.dataclass(frozen=True)
class ReauthenticationEvent:
    """The resource rejected the token and the request is sent again with a new one.

    :arg str host: the resource's ``host[:port]`` (no path, no query).
    :arg int status: the rejecting status (401, or another of ``reauth_statuses``).
    """

    host: str
    status: int


@dataclasses.dataclass(frozen=True)
class RefreshAheadEvent:
    """A background refresh ahead of expiry ended (`ClientHooks.on_refresh_ahead`).

    :arg str host: the token endpoint's ``host[:port]``.
    :arg bool ok: whether it brought a new token; if not, the current one stays in use.
    :arg status: the `TokenError` code of a failure; ``None`` on success or a failure of another kind.
    :arg float seconds: how long it took.
    """

    host: str
    ok: bool
    status: Optional[int]
    seconds: float


class ClientHooks:
    """Callbacks a `TornadoClient` calls as things happen; each does nothing here.

    Subclass it and override what you need. Hooks run synchronously on the
    IOLoop, in the middle of the client's work: keep them quick and never block
    (increment a metric, log a line). An exception a hook raises is logged and
    otherwise ignored; it never fails a `~TornadoClient.fetch`. An object of
    another class with some of these ``on_*`` methods serves as well.
    """

    def on_token_request(self, event: TokenRequestEvent) -> None:
        """A token request ended, successfully or not (after its retries)."""

    def on_retry(self, event: RetryEvent) -> None:
        """A token request attempt failed; a retry follows after ``event.wait`` seconds."""

    def on_reauthentication(self, event: ReauthenticationEvent) -> None:
        """The resource rejected the token; a new one was obtained and the request is sent again."""

    def on_refresh_ahead(self, event: RefreshAheadEvent) -> None:
        """A background refresh ahead of expiry ended."""


class LoggingHooks(ClientHooks):
    """Hooks that log every event on the ``tornado_alf`` logger (or the one given).

    Failures, retries and re-authentications at INFO, successes at DEBUG.
    A line names only the fields of the event: hosts, statuses, counts, durations.
    The client logs each retry on ``tornado_alf`` itself, so `on_retry` adds its
    line only on another logger: a retry is logged once per logger.

    :arg logger: where to log; default ``logging.getLogger("tornado_alf")``.
    """

    def __init__(self, logger: Optional[logging.Logger] = None) -> None:
        self.logger = logger or logging.getLogger("tornado_alf")

    def on_token_request(self, event: TokenRequestEvent) -> None:
        """Log the end of a token request."""
        self.logger.log(
            logging.DEBUG if event.ok else logging.INFO,
            "token request to %s %s: status %d, error %s, %d attempt(s), %.3f s",
            event.host, "succeeded" if event.ok else "failed", event.status, event.error,
            event.attempts, event.seconds,
        )

    def on_retry(self, event: RetryEvent) -> None:
        """Log a retry about to be made, unless on ``tornado_alf``, where the client logs it already."""
        if self.logger is not logging.getLogger("tornado_alf"):
            self.logger.info(RETRY_MESSAGE, event.host, event.status, event.retry, event.total, event.wait)

    def on_reauthentication(self, event: ReauthenticationEvent) -> None:
        """Log a re-authentication."""
        self.logger.info("%s answered %d: new token obtained, request sent again", event.host, event.status)

    def on_refresh_ahead(self, event: RefreshAheadEvent) -> None:
        """Log the end of a refresh ahead."""
        self.logger.log(
            logging.DEBUG if event.ok else logging.INFO,
            "refresh ahead from %s %s (status %s) in %.3f s",
            event.host, "succeeded" if event.ok else "failed", event.status, event.seconds,
        )
