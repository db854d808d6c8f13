"""Where tokens live between requests: the store protocol, the memory store, the adapter.

A store is any object with ``get(key)`` and ``set(key, value)``, sync or async
(their results are awaited when awaitable), optionally ``delete(key)``: a dict-like
cache, ``redis.asyncio.Redis``, pymemcache, Django's cache. Values are JSON strings
that carry their own expiry, so a stale entry is never used.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import Any, Callable, Optional, Protocol, TypeVar, Union

from .._token import Token
from .codec import decode_token, encode_token

__all__ = ["MemoryTokenStore", "TokenStore"]

log = logging.getLogger("tornado_alf")

T = TypeVar("T")

#: Prefix of every key the generic adapter writes.
KEY_PREFIX = "tornado-alf:"

#: Top-level modules of clients whose get/set/delete take bytes only.
_BYTES_ONLY_CLIENTS = frozenset({"aiomcache"})


class TokenStore(Protocol):
    """What `TornadoClient` accepts as ``token_storage``: ``get`` and ``set``, sync or async.

    ``delete(key)`` is optional; with it, a token the resource rejected is removed
    (only while the store still holds that token).

    .. versionadded:: 1.0
    """

    def get(self, key: str) -> Any:
        """The value stored under ``key`` (or an awaitable of it); ``None`` when absent."""

    def set(self, key: str, value: str) -> Any:
        """Store ``value`` under ``key`` (may return an awaitable)."""


class MemoryTokenStore:
    """Tokens in this process's memory; clients given the same instance share tokens.

    .. versionadded:: 1.0
    """

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, key: str) -> Optional[str]:
        """The value stored under ``key``, or ``None``."""
        return self._values.get(key)

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        self._values[key] = value

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._values.pop(key, None)

    def __repr__(self) -> str:
        return f"<MemoryTokenStore, {len(self._values)} token(s)>"


class TokenCache(Protocol):
    """What the token manager talks to: tokens in, tokens out, keyed by identity digest."""

    async def load(self, key: str) -> Optional[Token]: ...

    async def save(self, key: str, token: Token) -> None: ...

    async def discard(self, key: str, token: Token) -> None: ...


async def _resolve(value: Union[T, Any]) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class GetSetCache:
    """A `TokenCache` over any object with get/set (and maybe delete), sync or async."""

    def __init__(self, store: Any, key_prefix: str = KEY_PREFIX) -> None:
        for method in ("get", "set"):
            if not callable(getattr(store, method, None)):
                name = type(store).__name__
                raise TypeError(f"token_storage must have get() and set(); {name} lacks {method}()")
        self.store = store
        self._prefix = key_prefix
        self._can_delete = callable(getattr(store, "delete", None))
        # aiomcache rejects str keys and values; every other client takes str.
        self._binary = type(store).__module__.partition(".")[0] in _BYTES_ONLY_CLIENTS

    def _wire(self, text: str) -> Union[str, bytes]:
        """``text`` as the store's client wants it (keys and values are ASCII)."""
        return text.encode("ascii") if self._binary else text

    async def load(self, key: str) -> Optional[Token]:
        raw = await _resolve(self.store.get(self._wire(self._prefix + key)))
        if raw is None:
            return None
        if not isinstance(raw, (str, bytes)):
            raise ValueError(f"stored value is a {type(raw).__name__}, not text")
        return decode_token(raw)

    async def save(self, key: str, token: Token) -> None:
        await _resolve(self.store.set(self._wire(self._prefix + key), self._wire(encode_token(token))))

    async def discard(self, key: str, token: Token) -> None:
        if not self._can_delete:
            return  # the next token simply overwrites it
        stored = await self.load(key)
        if stored is not None and stored.access_token == token.access_token:
            await _resolve(self.store.delete(self._wire(self._prefix + key)))

    def __repr__(self) -> str:
        return f"<GetSetCache over {type(self.store).__name__}>"


class StoreUnavailable(Exception):
    """A store command failed or timed out; `GuardedCache` has logged it already."""


class GuardedCache:
    """A `TokenCache` that never fails: each call bounded in time, failures logged once.

    A store is a cache, never a dependency: when it raises, hangs or holds
    garbage, the manager asks the token endpoint instead. One warning marks the
    start of an outage and one info line its end, however many requests pass.
    """

    def __init__(self, cache: TokenCache, timeout: float) -> None:
        self.cache = cache
        self.timeout = timeout
        self.failing = False

    async def load(self, key: str) -> Optional[Token]:
        token: Optional[Token] = await self._guarded("read", self.cache.load(key))
        return token

    async def save(self, key: str, token: Token) -> None:
        await self._guarded("write", self.cache.save(key, token))

    async def discard(self, key: str, token: Token) -> None:
        await self._guarded("delete", self.cache.discard(key, token))

    async def single_flight(
        self, key: str, fetch: Callable[[], Awaitable[Token]], is_usable: Callable[[Token], bool]
    ) -> Token:
        """Fetch a token and share it through the store.

        A cache with a ``single_flight`` method of its own (`RedisTokenStore`)
        runs it, with this guard around each of its commands, so one fetch
        serves every process that shares the store; otherwise the token is
        fetched here and saved.
        """
        flight = getattr(self.cache, "single_flight", None)
        if flight is not None:
            token: Token = await flight(key, fetch, is_usable, self.strict)
            return token
        token = await fetch()
        if token.expires_in != 0:
            await self.save(key, token)
        return token

    async def strict(self, action: str, call: Awaitable[T]) -> T:
        """Run one store call bounded in time; `StoreUnavailable` (logged) if it fails."""
        try:
            result = await asyncio.wait_for(call, self.timeout)
        except asyncio.CancelledError:
            raise
        # A store is arbitrary user code; whatever it raises means "no token from here".
        except Exception as exc:
            self._failed(action, exc)
            raise StoreUnavailable(action) from None
        if self.failing:
            self.failing = False
            log.info("token store %r is answering again", self.cache)
        return result

    async def _guarded(self, action: str, call: Awaitable[Any]) -> Any:
        try:
            return await self.strict(action, call)
        except StoreUnavailable:
            return None

    def _failed(self, action: str, exc: BaseException) -> None:
        if self.failing:
            log.debug("token store %s failed again: %s", action, type(exc).__name__)
            return
        self.failing = True
        reason = "timed out" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
        # Only the exception's type: its message could quote the value, a token.
        log.warning(
            "token store %r failed to %s (%s); using the token endpoint until it recovers",
            self.cache, action, reason,
        )

    def __repr__(self) -> str:
        state = "failing" if self.failing else "healthy"
        return f"<GuardedCache {state} {self.cache!r}>"
