"""The token manager: one cached token, one request in flight, refreshed ahead of time."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Awaitable
from typing import Callable, Optional

from ._expiry import CachedToken, ExpiryPolicy
from ._recorder import Recorder
from ._token import Token
from .errors import TokenError
from .retry import NETWORK_FAILURE
from .stores.guard import GuardedCache

log = logging.getLogger("tornado_alf")

#: Longest pause after a failed background refresh before a later call tries again.
REFRESH_RETRY_DELAY = 10.0


class TokenManager:
    """Hands out the current token; fetches a new one once, for everybody who waits.

    Single flight: at most one token request per manager is in flight; each
    waiter awaits it through `asyncio.shield`, so a cancelled waiter never
    cancels the request the others wait for. A failure fails every waiter of
    that request; the next call starts a new one.
    """

    def __init__(
        self,
        request_token: Callable[[], Awaitable[Token]],
        cache: Optional[GuardedCache],
        key: str,
        policy: ExpiryPolicy,
        clock: Callable[[], float] = time.monotonic,
        recorder: Optional[Recorder] = None,
    ) -> None:
        self._request_token = request_token
        self._cache = cache
        self._key = key
        self._policy = policy
        self._clock = clock
        self._cached: Optional[CachedToken] = None
        self._rejected: Optional[Token] = None
        self._task: Optional[asyncio.Task[CachedToken]] = None
        self._closed = False
        self._recorder = Recorder() if recorder is None else recorder

    def current(self) -> Optional[CachedToken]:
        """The cached token while it is valid, else ``None``; starts refresh ahead when due."""
        cached = self._cached
        if cached is None:
            return None
        now = self._clock()
        if now >= cached.refresh_at:
            if now >= cached.use_until:
                return None
            if self._task is None:
                self._start(background=True)
        self._recorder.cache_hits += 1
        return cached

    async def get(self) -> CachedToken:
        """A usable token: the cached one, or the result of the (shared) token request."""
        cached = self.current()
        if cached is not None:
            return cached
        self._recorder.cache_misses += 1
        task = self._task
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = self._start(background=False)
        else:
            self._recorder.coalesced_waiters += 1
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if self._closed and task.cancelled():
                raise TokenError(NETWORK_FAILURE, "the client was closed while the token was being fetched") from None
            raise

    async def replace(self, rejected: CachedToken) -> CachedToken:
        """Drop ``rejected`` (only if it is still the current one) and get the next one."""
        if self._cached is rejected:
            self._cached = None
            self._rejected = rejected.token
        return await self.get()

    def close(self) -> None:
        """Cancel any token request in flight; its waiters get `TokenError`."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()

    def _start(self, background: bool) -> asyncio.Task[CachedToken]:
        task = asyncio.ensure_future(self._obtain())
        if background:
            task.add_done_callback(functools.partial(self._refresh_done, self._clock()))
        else:
            task.add_done_callback(_retrieve)
        self._task = task
        return task

    async def _obtain(self) -> CachedToken:
        try:
            token = await self._usable_stored_token()
            if token is None:
                token = await self._fetch_and_share()
            else:
                self._recorder.store_hits += 1
            cached = self._policy.schedule(token, self._clock(), time.time())
            if cached.use_until > self._clock():
                self._cached = cached
            return cached
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    async def _usable_stored_token(self) -> Optional[Token]:
        """A token from the shared store that is neither rejected, expired nor due for refresh."""
        if self._cache is None:
            return None
        rejected, self._rejected = self._rejected, None
        if rejected is not None:
            await self._cache.discard(self._key, rejected)
        token = await self._cache.load(self._key)
        if token is None or (rejected is not None and token.access_token == rejected.access_token):
            return None
        return token if self._is_usable(token) else None

    async def _fetch_and_share(self) -> Token:
        """A new token; with a store, fetched through it so processes sharing it fetch once."""
        if self._cache is None:
            return await self._request_token()
        requested = False

        def request_token() -> Awaitable[Token]:
            nonlocal requested
            requested = True
            return self._request_token()

        token = await self._cache.single_flight(self._key, request_token, self._is_usable)
        if not requested:  # another process fetched it, under the store's lock
            self._recorder.store_hits += 1
        return token

    def _is_usable(self, token: Token) -> bool:
        """Whether ``token`` is neither expired nor due for refresh by this client's policy."""
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
            retry_at = now + min(REFRESH_RETRY_DELAY, (cached.use_until - now) / 2)
            self._cached = dataclasses.replace(cached, refresh_at=retry_at)
        log.warning(
            "background token refresh failed (%s); the current token stays in use",
            failure,
        )

    def __repr__(self) -> str:
        state = "no token" if self._cached is None else f"token valid {self._cached.use_until - self._clock():.0f} s"
        flight = ", request in flight" if self._task is not None else ""
        return f"<TokenManager {state}{flight}>"


def _retrieve(task: asyncio.Task[CachedToken]) -> None:
    # Every waiter may have been cancelled; read the outcome so asyncio never
    # reports it as an exception nobody retrieved.
    if not task.cancelled():
        task.exception()
