"""The token manager: one cached token, one request in flight, refreshed ahead of time."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import time
from collections.abc import Awaitable
from typing import Callable, Optional, Union

from ._cooldown import Cooldown, CooldownPolicy
from ._expiry import CachedToken, ExpiryPolicy
from ._recorder import Recorder
from ._token import Token
from .errors import TokenError
from .retry import NETWORK_FAILURE
from .stores.contract import CoolingDown
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
        cooldown: Optional[CooldownPolicy] = None,
        stale_grace: bool = True,
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
        self._cooldown = Cooldown(CooldownPolicy(0.0) if cooldown is None else cooldown, clock)
        self._stale_grace = stale_grace
        self._grace_warned: Optional[Token] = None

    def current(self) -> Optional[CachedToken]:
        """The cached token while it is valid, else ``None``; starts refresh ahead when due."""
        cached = self._cached
        if cached is None:
            return None
        now = self._clock()
        if now >= cached.refresh_at:
            if now >= cached.use_until and not self._in_grace(cached, now):
                return None
            if self._task is None and not self._cooldown.active():
                self._start(background=True)
        self._recorder.cache_hits += 1
        return cached

    def _in_grace(self, cached: CachedToken, now: float) -> bool:
        """Whether ``cached``, past its expiry margin, serves on because the endpoint is failing."""
        if not (self._stale_grace and self._cooldown.failing and now < cached.expires):
            return False
        if self._grace_warned is not cached.token:
            self._grace_warned = cached.token
            log.warning(
                "token endpoint %s is failing; the current token stays in use past its expiry margin "
                "until it expires in %.0f s", self._recorder.host, cached.expires - now,
            )
        return True

    def expires_at(self) -> Optional[float]:
        """When the cached token expires by ``expires_in`` (wall clock), if there is one. Starts nothing."""
        cached = self._cached
        if cached is None:
            return None
        expires_at = cached.token.expires_at
        return math.inf if expires_at is None else expires_at

    async def get(self) -> CachedToken:
        """A usable token: the cached one, or the result of the (shared) token request."""
        cached = self.current()
        if cached is not None:
            return cached
        self._recorder.cache_misses += 1
        if self._cooldown.active():
            self._recorder.cooldown_failures += 1
            raise self._cooldown.repeat()
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
        task = asyncio.ensure_future(self._obtain(background))
        if background:
            task.add_done_callback(functools.partial(self._refresh_done, self._clock()))
        else:
            task.add_done_callback(_retrieve)
        self._task = task
        return task

    async def _obtain(self, background: bool = False) -> CachedToken:
        try:
            token: Union[Token, CachedToken, None] = await self._usable_stored_token()
            if token is None:
                token = await self._fetch_or_stale(background)
            else:
                self._recorder.store_hits += 1
                self._cooldown.succeeded()
            if isinstance(token, CachedToken):
                return token
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

    async def _fetch_or_stale(self, background: bool) -> Union[Token, CachedToken]:
        """A new token; else, when the endpoint fails for a server-side reason, the stale one in its grace."""
        try:
            return await self._fetch_and_share()
        except TokenError:
            stale = None if background else await self._stale_token()
            if stale is None or not self._in_grace(stale, self._clock()):
                raise
            self._cached = stale
            return stale

    async def _stale_token(self) -> Optional[CachedToken]:
        """The token in memory, else the store's, whatever its deadlines: `_in_grace` judges it."""
        if self._cached is not None or self._cache is None or not self._stale_grace:
            return self._cached
        token = await self._cache.load(self._key)
        return None if token is None else self._policy.schedule(token, self._clock(), time.time())

    async def _fetch_and_share(self) -> Token:
        """A new token; with a store, fetched through it so processes sharing it fetch once."""
        if self._cache is None:
            return await self._request_noted()
        requested = False

        def request_token() -> Awaitable[Token]:
            nonlocal requested
            requested = True
            return self._request_noted()

        try:
            token = await self._cache.single_flight(self._key, request_token, self._is_usable)
        except CoolingDown as fleet:  # another process's request failed a moment ago
            self._cooldown.fleet_failed(fleet.status, fleet.seconds_left)
            self._recorder.cooldown_failures += 1
            raise self._cooldown.repeat() from None
        if not requested:  # another process fetched it, under the store's lock
            self._recorder.store_hits += 1
            self._cooldown.succeeded()
        return token

    async def _request_noted(self) -> Token:
        """Ask the endpoint; a server-side failure starts a cool-down, shared through the store."""
        try:
            token = await self._request_token()
        except TokenError as exc:
            seconds = self._cooldown.failed(exc)
            if seconds > 0 and self._cache is not None:
                await self._cache.start_cooldown(self._key, seconds, exc.code)  # before the fleet's lock is let go
            raise
        self._cooldown.succeeded()
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
            end = max(cached.use_until, cached.expires) if self._stale_grace else cached.use_until
            retry_at = now + min(REFRESH_RETRY_DELAY, max(0.0, (end - now) / 2))
            self._cached = dataclasses.replace(cached, refresh_at=retry_at)
        # A repeat during a cool-down: the failure it repeats was logged when it happened.
        log.log(
            logging.DEBUG if self._cooldown.is_repeat(failure) else logging.WARNING,
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
