"""`GuardedCache`: a token cache that never fails a request and never holds one up for long.

A store is a cache, never a dependency: when it raises, hangs, ignores
cancellation or holds garbage, the token manager asks the token endpoint
instead. The health of each store is shared by every client that uses it:
one WARNING marks the start of an outage (naming its cause) and one INFO line
its end, whichever operations fail. During an outage the store is skipped and
tried again at most once per backoff interval; a token fetched meanwhile is
written back when the store answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import weakref
from collections.abc import Awaitable
from typing import Any, Callable, Optional, TypeVar, Union

from .._token import Token
from .contract import FleetCache, StoreUnavailable, TokenCache, shareable

__all__ = ["STORE_TIMEOUT", "GuardedCache"]

log = logging.getLogger("tornado_alf")

T = TypeVar("T")

#: Default bound on each store call, in seconds (see docs/storage: a healthy Redis answers in ~0.1 ms).
STORE_TIMEOUT = 0.5

#: First and longest pause before a failing store is tried again.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 8.0


class StoreHealth:
    """One store's outage state, shared by every `GuardedCache` over it."""

    def __init__(self) -> None:
        self.failed: set[str] = set()  # "read" and/or "write" when their last attempt failed
        self.retry_at = 0.0
        self.backoff = BACKOFF_FIRST


_HEALTH: weakref.WeakKeyDictionary[Any, StoreHealth] = weakref.WeakKeyDictionary()


def health_of(store: object) -> StoreHealth:
    """The health shared by every client of ``store`` (its own, for a store weakref cannot track)."""
    try:
        return _HEALTH.setdefault(store, StoreHealth())
    except TypeError:  # unhashable or not weakly referenceable (a dict subclass)
        return StoreHealth()


class GuardedCache:
    """A `TokenCache` (or `FleetCache`) whose calls are bounded by ``timeout`` and never raise.

    :arg cache: the cache to guard.
    :arg store: the user's store object whose health is tracked (``cache`` itself by default).
    :arg timeout: seconds each store call may take; after it the call is abandoned.
    :arg max_lifetime: ``max_token_lifetime``: no token is shared for longer.
    """

    def __init__(
        self,
        cache: Union[TokenCache, FleetCache],
        timeout: float,
        *,
        store: object = None,
        max_lifetime: Optional[float] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.timeout = timeout
        self._health = health_of(cache if store is None else store)
        self._max_lifetime = max_lifetime
        self._clock = clock
        self._pending: dict[str, Token] = {}
        self._flusher: Optional[asyncio.Task[None]] = None

    @property
    def failing(self) -> bool:
        """Whether the store is in an outage."""
        return bool(self._health.failed)

    async def load(self, key: str) -> Optional[Token]:
        """The stored token; ``None`` if absent, garbage, or the store fails."""
        try:
            token: Union[Token, ValueError, None] = await self.strict(
                "read", lambda: _garbage_as_value(self.cache, key)
            )
        except StoreUnavailable:
            return None
        if isinstance(token, ValueError):
            # The store answered: no outage. The next token overwrites the value.
            log.warning("token store %r holds a value that is not a token (%s); replacing it", self.cache, token)
            return None
        return token

    async def save(self, key: str, token: Token) -> None:
        """Share ``token`` (if `shareable`); kept for a write-back if the store fails."""
        token = self._capped(token)
        if not shareable(token):
            return
        try:
            await self.strict("write", lambda: self.cache.save(key, token))
        except StoreUnavailable:
            self._keep(key, token)

    async def discard(self, key: str, token: Token) -> None:
        """Delete the stored token while it is still ``token``; nothing if the store fails."""
        self._pending.pop(key, None)
        with contextlib.suppress(StoreUnavailable):
            await self.strict("delete", lambda: self.cache.discard(key, token))

    async def single_flight(
        self, key: str, fetch: Callable[[], Awaitable[Token]], is_usable: Callable[[Token], bool]
    ) -> Token:
        """Fetch a token and share it: through the fleet's lock for a `FleetCache`, else fetched and saved."""

        async def capped_fetch() -> Token:
            return self._capped(await fetch())

        if not isinstance(self.cache, FleetCache):
            token = await capped_fetch()
            await self.save(key, token)
            return token
        token = await self.cache.single_flight(key, capped_fetch, is_usable, self.strict)
        if self.failing:
            self._keep(key, token)
        return token

    async def strict(self, action: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run one store call bounded in time; `StoreUnavailable` (logged) if it fails or is skipped."""
        health = self._health
        # An outage skips the store until the next retry, but a lock we hold is always
        # offered back: left behind, it would hold up the fleet for lock_timeout.
        if health.failed and self._clock() < health.retry_at and action != "unlock":
            raise StoreUnavailable(action)
        try:
            try:
                result = await self._bounded(call)
            except RuntimeError as exc:
                if not _loop_error(exc):
                    raise
                # A client bound to an event loop that has ended drops that connection; once more.
                log.debug("token store %r was bound to another event loop; retrying once", self.cache)
                result = await self._bounded(call)
        except asyncio.CancelledError:
            raise
        # A store is arbitrary user code; whatever it raises means "no token from here".
        except Exception as exc:
            await self._failed(action, exc)
            raise StoreUnavailable(action) from None
        self._answered(action)
        return result

    async def _bounded(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` awaited at most ``timeout``, then abandoned even if it ignores cancellation."""
        task = asyncio.ensure_future(call())
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout)
        except asyncio.CancelledError:
            _abandon(task)
            raise
        if not done:
            _abandon(task)
            raise asyncio.TimeoutError
        return task.result()

    async def _failed(self, action: str, exc: BaseException) -> None:
        health = self._health
        first = not health.failed
        health.failed.add(_kind(action))
        health.retry_at = self._clock() + health.backoff
        health.backoff = min(health.backoff * 2, BACKOFF_MAX)
        if not first:
            log.debug("token store %s failed again: %s", action, type(exc).__name__)
            return
        reason = await self._reason(exc)
        # Only our own words: the exception's message could quote the value, a token.
        log.warning(
            "token store %r failed to %s (%s); using the token endpoint until it recovers",
            self.cache, action, reason,
        )

    async def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, asyncio.TimeoutError):
            cause = None
            if isinstance(self.cache, FleetCache):
                cause = await self.cache.diagnose(min(self.timeout, 0.05))
            return cause or f"timed out after {self.timeout:g} s"
        return _cause(exc)

    def _answered(self, action: str) -> None:
        health = self._health
        if _kind(action) not in health.failed:
            return  # a store that fails only on reads (or writes) stays in its outage
        health.failed.discard(_kind(action))
        if not health.failed:
            health.backoff = BACKOFF_FIRST
            log.info("token store %r is answering again", self.cache)

    def _capped(self, token: Token) -> Token:
        limit = self._max_lifetime
        if limit is None or (token.expires_in is not None and token.expires_in <= limit):
            return token
        return dataclasses.replace(token, expires_in=limit)

    def _keep(self, key: str, token: Token) -> None:
        """Remember ``token`` to write back once the store answers again."""
        if not shareable(token):
            return
        self._pending[key] = token
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._write_back())
            self._flusher.add_done_callback(_retrieve)

    async def _write_back(self) -> None:
        """Write the kept tokens when the store answers again (unless it holds one by then)."""
        while self._pending:
            await asyncio.sleep(max(0.0, self._health.retry_at - self._clock()))
            key, token = next(iter(self._pending.items()))
            if token.expires_at is not None and token.expires_at <= time.time():
                self._pending.pop(key, None)
                continue
            try:
                await self._write_back_one(key, token)
            except StoreUnavailable:
                continue
            if self._pending.get(key) is token:
                del self._pending[key]

    async def _write_back_one(self, key: str, token: Token) -> None:
        stored = await self.strict("read", lambda: self.cache.load(key))
        if stored is None and self._pending.get(key) is token:
            await self.strict("write", lambda: self.cache.save(key, token))

    def __repr__(self) -> str:
        state = "failing" if self.failing else "healthy"
        return f"<GuardedCache {state} {self.cache!r}>"


async def _garbage_as_value(cache: Union[TokenCache, FleetCache], key: str) -> Union[Token, ValueError, None]:
    try:
        return await cache.load(key)
    except ValueError as exc:
        return ValueError(type(exc).__name__)


def _kind(action: str) -> str:
    return "read" if action == "read" else "write"


def _loop_error(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and "loop" in str(exc)


def _cause(exc: BaseException) -> str:
    """What went wrong, in words of ours: refused, event loop, or the exception's type."""
    seen: Optional[BaseException] = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if _loop_error(seen):
            return "client bound to another event loop; create it in the loop that uses it"
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


def _abandon(task: asyncio.Future[Any]) -> None:
    task.cancel()
    task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Future[Any]) -> None:
    # Read the outcome of an abandoned call so asyncio never reports it as unretrieved.
    if not task.cancelled():
        task.exception()
