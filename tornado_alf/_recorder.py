"""Counts what the client does with tokens and tells the user's hooks, whose failures stay theirs."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, Callable, Optional

from .hooks import (
    RETRY_MESSAGE,
    ClientStats,
    ReauthenticationEvent,
    RefreshAheadEvent,
    RetryEvent,
    TokenRequestEvent,
)

log = logging.getLogger("tornado_alf")

HOOK_NAMES = ("on_token_request", "on_retry", "on_reauthentication", "on_refresh_ahead")
COUNTERS = tuple(field.name for field in dataclasses.fields(ClientStats))


class Recorder:
    """The counters of `ClientStats`, kept mutable here; events go to the hooks that want them.

    The hot path only increments an attribute (``cache_hits``); events are built
    for rare things only, and only when a hook listens.

    :arg hooks: the user's hook methods worth calling, by name (``_arguments.hook_methods``).
    """

    __slots__ = (*COUNTERS, "host", "_hooks", "_failed")

    # The counters, for mypy: set in __init__ through setattr.
    token_requests: int
    token_request_failures: int
    token_request_attempts: int
    retries: int
    retry_wait_seconds: float
    cache_hits: int
    cache_misses: int
    coalesced_waiters: int
    store_hits: int
    reauthentications: int
    reauthentications_suppressed: int
    refresh_ahead_ok: int
    refresh_ahead_failed: int

    def __init__(self, hooks: Optional[Mapping[str, Callable[[Any], None]]] = None, host: str = "") -> None:
        for name in COUNTERS:
            setattr(self, name, 0)
        self.retry_wait_seconds = 0.0
        self.host = host
        self._hooks = dict(hooks or {})
        self._failed: set[str] = set()

    def snapshot(self) -> ClientStats:
        """The counters now, frozen."""
        return ClientStats(**{name: getattr(self, name) for name in COUNTERS})

    def token_request(self, ok: bool, status: int, error: Optional[str], attempts: int, seconds: float) -> None:
        """A token request ended after ``attempts`` HTTP requests."""
        self.token_requests += 1
        if not ok:
            self.token_request_failures += 1
        if "on_token_request" in self._hooks:
            self._emit("on_token_request", TokenRequestEvent(self.host, ok, status, error, attempts, seconds))

    def retry(self, status: int, retry: int, total: int, wait: float) -> None:
        """An attempt failed with ``status``; retry number ``retry`` follows after ``wait`` seconds."""
        log.info(RETRY_MESSAGE, self.host, status, retry, total, wait)
        self.retries += 1
        self.retry_wait_seconds += wait
        if "on_retry" in self._hooks:
            self._emit("on_retry", RetryEvent(self.host, status, retry, total, wait))

    def reauthentication(self, resource_host: str, status: int) -> None:
        """The resource at ``resource_host`` rejected the token with ``status``; a new one was obtained."""
        self.reauthentications += 1
        if "on_reauthentication" in self._hooks:
            self._emit("on_reauthentication", ReauthenticationEvent(resource_host, status))

    def refresh_ahead(self, ok: bool, status: Optional[int], seconds: float) -> None:
        """A background refresh ended."""
        if ok:
            self.refresh_ahead_ok += 1
        else:
            self.refresh_ahead_failed += 1
        if "on_refresh_ahead" in self._hooks:
            self._emit("on_refresh_ahead", RefreshAheadEvent(self.host, ok, status, seconds))

    def _emit(self, name: str, event: object) -> None:
        try:
            self._hooks[name](event)
        # Whatever a user's hook raises, it must never fail the client's work.
        except Exception as exc:
            first = name not in self._failed
            self._failed.add(name)
            # Full traceback the first time a hook fails, one line after that.
            log.log(logging.WARNING if first else logging.DEBUG,
                    "hook %s raised %s; ignored", name, type(exc).__name__, exc_info=first)

    def __repr__(self) -> str:
        return f"<Recorder for {self.host}: {self.token_requests} token request(s), hooks: {len(self._hooks)}>"
