"""The store seam: what a user's store offers, what the token manager asks of it, and how it fails.

One concept, named once each:

- a *token store* is the object a user passes as ``token_storage``: anything
  with ``get(key)`` and ``set(key, value)`` (`TokenStore`), or a `FleetCache`
  such as `RedisTokenStore`;
- a *token cache* is what the token manager talks to: tokens in, tokens out
  (`TokenCache`). `GetSetCache` makes one out of a token store, `GuardedCache`
  wraps one so that it never fails and never hangs;
- a `FleetCache` is a token cache that also runs one token request for every
  process sharing it (`FleetCache.single_flight`). It is recognised by its
  class, never by the names of its methods.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable
from typing import Any, Callable, Optional, Protocol, TypeVar

from .._token import Token

__all__ = [
    "KEY_PREFIX",
    "FleetCache",
    "Guard",
    "StoreUnavailable",
    "TokenCache",
    "TokenStore",
    "shareable",
    "wants_bytes",
]

T = TypeVar("T")

#: Prefix of every key a store is given.
KEY_PREFIX = "tornado-alf:"

#: Qualified names of client classes whose get/set/delete take bytes only (and their subclasses).
_BYTES_ONLY_CLASSES = frozenset({"aiomcache.client.Client"})


class StoreUnavailable(Exception):
    """A store call failed, timed out or was skipped during an outage; `GuardedCache` has logged it.

    `FleetCache` implementations let it propagate from their ``guard``; the
    token is then fetched without the store.
    """


#: Runs one store call (a function returning an awaitable) bounded in time;
#: raises `StoreUnavailable` when the store fails, hangs or is in an outage.
Guard = Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]


class TokenStore(Protocol):
    """What `TornadoClient` accepts as ``token_storage``: ``get`` and ``set``, sync or async.

    ``delete(key)`` is optional; with it, a token the resource rejected is removed
    (only while the store still holds that token; atomically when the store also
    has memcached's ``gets``/``cas``). A store whose client takes bytes only says
    so with a true ``wants_bytes`` attribute; wrappers pass their inner store's on.

    .. versionadded:: 1.0
    """

    def get(self, key: str) -> Any:
        """The value stored under ``key`` (or an awaitable of it); ``None`` when absent."""

    def set(self, key: str, value: str) -> Any:
        """Store ``value`` under ``key`` (may return an awaitable)."""


class TokenCache(Protocol):
    """What the token manager talks to: tokens in, tokens out, keyed by identity digest."""

    async def load(self, key: str) -> Optional[Token]:
        """The stored token, ``None`` if absent; `ValueError` if the value is garbage."""

    async def save(self, key: str, token: Token) -> None:
        """Store ``token``."""

    async def discard(self, key: str, token: Token) -> None:
        """Delete the stored token only while it is still ``token``."""


class FleetCache(abc.ABC):
    """A token cache that runs one token request for every process that shares it.

    Subclass it (as `RedisTokenStore` does) to be taken for a token cache
    rather than wrapped as a get/set store. `GuardedCache` bounds each call of
    ``load``/``save``/``discard``; in ``single_flight`` every store command
    goes through the ``guard`` it is given, which raises `StoreUnavailable`.
    """

    @abc.abstractmethod
    async def load(self, key: str) -> Optional[Token]:
        """The stored token, ``None`` if absent; `ValueError` if the value is garbage."""

    @abc.abstractmethod
    async def save(self, key: str, token: Token) -> None:
        """Store ``token`` (already known to be `shareable`)."""

    @abc.abstractmethod
    async def discard(self, key: str, token: Token) -> None:
        """Delete the stored token only while it is still ``token``."""

    @abc.abstractmethod
    async def single_flight(
        self,
        key: str,
        fetch: Callable[[], Awaitable[Token]],
        is_usable: Callable[[Token], bool],
        guard: Guard,
    ) -> Token:
        """A usable token: another process's, or one fetched under a fleet-wide lock."""

    async def diagnose(self, timeout: float) -> Optional[str]:
        """Why the store timed out, when a quick look (within ``timeout``) can tell; else ``None``.

        A client that retries refused connections (redis-py does, by default)
        shows a stopped server as a timeout; the warning should say "refused".
        """
        return None


def shareable(token: Token) -> bool:
    """Whether ``token`` may be written to a shared store.

    A token whose lifetime is 0 (``expires_in: 0``) serves the requests that
    waited for it and nobody else: written to a store, it would be read back
    already expired, or used by another process past its end.
    """
    return token.expires_in != 0


def wants_bytes(store: object) -> bool:
    """Whether ``store``'s get/set/delete take bytes keys and values rather than str.

    A store (or a wrapper around one) says so with a ``wants_bytes`` attribute;
    otherwise the bytes-only clients known here (aiomcache) are recognised by class.
    """
    declared = getattr(store, "wants_bytes", None)
    if isinstance(declared, bool):
        return declared
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(store).__mro__}
    return not names.isdisjoint(_BYTES_ONLY_CLASSES)
