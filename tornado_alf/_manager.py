"""The token manager: one cached token, one request in flight per loop, refreshed ahead of time."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable
from typing import Callable, Optional

from ._expiry import CachedToken, ExpiryPolicy
from ._recorder import Recorder
from ._sources import CredentialChanged
from ._token import Token
from .errors import TokenError
from .retry import NETWORK_FAILURE
from .stores.guard import GuardedCache

log = logging.getLogger("tornado_alf")

#: Longest pause after a failed background refresh before a later call tries again.
REFRESH_RETRY_DELAY = 10.0

Loop = asyncio.AbstractEventLoop


class TokenManager:
    """Hands out the current token; fetches a new one once, for everybody who waits.

    Single flight per event loop: at most one token request is in flight on
    each loop; each waiter awaits its own loop's request through
    `asyncio.shield`, so a cancelled waiter never cancels the request the others
    wait for, and no loop awaits another loop's future. A failure fails every
    waiter of that request; the next call starts a new one. The token itself
    is shared by every loop.

    Loops in other threads read and write the same attributes, without a lock:
    each write is one assignment that never depends on a value read before it
    (the cached token is only ever replaced by a fresher one; a rejection and a
    failed refresh are noted beside it, naming the token they concern), so no
    thread can undo what another just did.
    """

    def __init__(
        self,
        request_token: Callable[[], Awaitable[Token]],
        cache: Optional[GuardedCache],
        key: str,
        policy: ExpiryPolicy,
        clock: Callable[[], float] = time.monotonic,
        recorder: Optional[Recorder] = None,
        prepare: Optional[Callable[[], Awaitable[str]]] = None,
    ) -> None:
        # prepare: reads rotating credentials before each acquisition, gives the store key.
        self._prepare = prepare
        self._request_token = request_token
        self._cache = cache
        self._key = key
        self._policy = policy
        self._clock = clock
        self._cached: Optional[CachedToken] = None
        # Access tokens the resource rejected, newest last: the cached token stops serving when
        # it is one of them. Appended, never overwritten, so that a stale rejection from another
        # thread cannot bring a rejected token back; a token pushed out is long superseded.
        self._rejected: collections.deque[str] = collections.deque(maxlen=8)
        self._to_discard: Optional[Token] = None  # rejected, still to be deleted from the store
        self._refresh_retry: Optional[tuple[Token, float]] = None  # after a failed refresh ahead
        self._flights: dict[Loop, asyncio.Task[CachedToken]] = {}
        self._closed = False
        self._recorder = Recorder() if recorder is None else recorder

    def current(self) -> Optional[CachedToken]:
        """The cached token while it is valid, else ``None``; starts refresh ahead when due."""
        cached = self._cached
        if cached is None:
            return None
        if self._rejected and cached.token.access_token in self._rejected:
            return None
        now = self._clock()
        if now >= cached.refresh_at:
            if now >= cached.use_until:
                return None
            if self._refresh_due(cached, now):
                self._start(asyncio.get_running_loop(), background=True)
        self._recorder.cache_hits += 1
        return cached

    async def get(self, after_rejection: bool = False) -> CachedToken:
        """A usable token: the cached one, or the result of this loop's (shared) token request.

        :arg after_rejection: the token is wanted because the resource rejected the last one.
        :raises TokenError: 599 once `close` was called, when a token request would be needed.
        """
        cached = self.current()
        if cached is not None:
            return cached
        self._recorder.cache_misses += 1
        loop = asyncio.get_running_loop()
        task = self._flights.get(loop)
        if task is None or task.done():
            task = self._start(loop, background=False, after_rejection=after_rejection)
        else:
            self._recorder.coalesced_waiters += 1
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if self._closed and task.cancelled():
                raise TokenError(NETWORK_FAILURE, "the client was closed while the token was being fetched") from None
            raise

    def invalidate(self, rejected: Token) -> None:
        """Stop serving ``rejected`` if it is still the current token; the next call gets another."""
        cached = self._cached
        if cached is not None and cached.token.access_token == rejected.access_token:
            if rejected.access_token not in self._rejected:
                self._rejected.append(rejected.access_token)
            self._to_discard = rejected

    def close(self) -> None:
        """Start no more token requests and cancel those in flight; their waiters get `TokenError`."""
        self._closed = True
        try:
            running: Optional[Loop] = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, task in list(self._flights.items()):
            if loop is running:
                task.cancel()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(task.cancel)  # a task is cancelled in its own thread

    def _refresh_due(self, cached: CachedToken, now: float) -> bool:
        """Whether to start a refresh ahead: none in flight on any loop, none failed just now."""
        if self._closed:
            return False
        retry = self._refresh_retry
        if retry is not None and retry[0] is cached.token and now < retry[1]:
            return False
        return not any(not task.done() and not loop.is_closed() for loop, task in list(self._flights.items()))

    def _start(self, loop: Loop, background: bool, after_rejection: bool = False) -> asyncio.Task[CachedToken]:
        task = loop.create_task(self._obtain(after_rejection))
        self._flights[loop] = task
        task.add_done_callback(functools.partial(self._landed, loop))
        # Checked once the task is listed, so that a close() in another thread either sees it or is seen.
        if self._closed:
            task.cancel()
            raise TokenError(599, "the client was closed; no token request starts")
        if background:
            task.add_done_callback(functools.partial(self._refresh_done, self._clock()))
        return task

    def _landed(self, loop: Loop, task: asyncio.Task[CachedToken]) -> None:
        if self._flights.get(loop) is task:
            del self._flights[loop]
        # Every waiter may have been cancelled; read the outcome so asyncio never
        # reports it as an exception nobody retrieved.
        if not task.cancelled():
            task.exception()

    def expired(self) -> bool:
        """Whether the token this manager held has expired and no new one is being fetched."""
        cached = self._cached
        return not self._flights and cached is not None and self._clock() >= cached.use_until

    async def _obtain(self, after_rejection: bool) -> CachedToken:
        try:
            return await self._obtain_once(after_rejection)
        except CredentialChanged:  # the rotation race: the credential changed under the refused request
            return await self._obtain_once(after_rejection)

    async def _obtain_once(self, after_rejection: bool) -> CachedToken:
        held_under = self._key  # a rejected token is discarded where it was stored, before a rotation
        if self._prepare is not None:
            self._key = await self._prepare()
        token = await self._usable_stored_token(held_under)
        arrived = token is None
        if token is None:
            token, arrived = await self._fetch_and_share()
        else:
            self._recorder.store_hits += 1
        now = self._clock()
        cached = self._policy.schedule(token, now, time.time(), arrived=arrived, after_rejection=after_rejection)
        if cached.use_until > now:
            if arrived and token.access_token in self._rejected:
                # The endpoint issued the rejected token again: asking once more would not help.
                with contextlib.suppress(ValueError):  # another thread removed it first
                    self._rejected.remove(token.access_token)
            self._cached = cached
        return cached

    async def _usable_stored_token(self, held_under: str) -> Optional[Token]:
        """A token from the shared store that is neither rejected, expired nor due for refresh."""
        if self._cache is None:
            return None
        discard, self._to_discard = self._to_discard, None
        if discard is not None:
            await self._cache.discard(held_under, discard)
        token = await self._cache.load(self._key)
        return token if token is not None and self._is_usable(token) else None

    async def _fetch_and_share(self) -> tuple[Token, bool]:
        """A new token, and whether it came from the endpoint now (not from another process).

        With a store, fetched through it so processes sharing it fetch once.
        """
        if self._cache is None:
            return await self._request_token(), True
        requested = False

        def request_token() -> Awaitable[Token]:
            nonlocal requested
            requested = True
            return self._request_token()

        token = await self._cache.single_flight(self._key, request_token, self._is_usable)
        if not requested:  # another process fetched it, under the store's lock
            self._recorder.store_hits += 1
        return token, requested

    def _is_usable(self, token: Token) -> bool:
        """Whether ``token`` is neither rejected, expired nor due for refresh by this client's policy."""
        if token.access_token in self._rejected:
            return False
        cached = self._policy.schedule(token, self._clock(), time.time())
        return self._clock() < min(cached.refresh_at, cached.use_until)

    def _refresh_done(self, started: float, task: asyncio.Task[CachedToken]) -> None:
        if task.cancelled():
            return
        failure = task.exception()
        status = failure.code if isinstance(failure, TokenError) else None
        self._recorder.refresh_ahead(failure is None, status, self._clock() - started)
        if failure is None:
            return
        cached = self._cached
        if cached is not None:
            now = self._clock()
            # Noted beside the token, never a changed copy of it: a 401 must still find it current.
            self._refresh_retry = (cached.token, now + min(REFRESH_RETRY_DELAY, (cached.use_until - now) / 2))
        log.warning(
            "background token refresh failed (%s); the current token stays in use",
            failure,
        )

    def __repr__(self) -> str:
        cached = self._cached
        state = "no token" if cached is None else f"token valid {cached.use_until - self._clock():.0f} s"
        flight = ", request in flight" if self._flights else ""
        return f"<TokenManager {state}{flight}>"
