"""`GetSetCache`: the token cache over any token store with get/set, sync or async.

A dict-like cache, pymemcache, aiomcache, Django's cache, ``redis.asyncio.Redis``:
their results are awaited when awaitable. Values are JSON strings that carry
their own expiry, so a stale entry is never used.
"""

from __future__ import annotations

import inspect
from typing import Any, Optional, Union

from .._token import Token
from .codec import decode_token, encode_token
from .contract import KEY_PREFIX, wants_bytes

__all__ = ["GetSetCache"]

#: What an atomic compare-and-delete leaves behind until memcached drops it: reads as absent.
TOMBSTONE = ""

#: Seconds a tombstone lives (memcached's smallest positive expiry; aiomcache refuses negative ones).
TOMBSTONE_SECONDS = 1


async def resolve(value: Any) -> Any:
    """``value``, awaited first when it is awaitable (async stores)."""
    if inspect.isawaitable(value):
        return await value
    return value


class GetSetCache:
    """A `TokenCache` over a `TokenStore`: get/set, and delete (atomic with gets/cas) when it has them.

    Keys and values are ASCII text, given as bytes to stores that want them (`wants_bytes`).
    """

    def __init__(self, store: Any, key_prefix: str = KEY_PREFIX) -> None:
        for method in ("get", "set"):
            if not callable(getattr(store, method, None)):
                name = type(store).__name__
                raise TypeError(f"token_storage must have get() and set(); {name} lacks {method}()")
        self.store = store
        self._prefix = key_prefix
        self._can_delete = callable(getattr(store, "delete", None))
        self._can_cas = all(callable(getattr(store, name, None)) for name in ("gets", "cas"))
        self._binary = wants_bytes(store)

    def _wire(self, text: str) -> Union[str, bytes]:
        """``text`` as the store's client wants it (keys and values are ASCII)."""
        return text.encode("ascii") if self._binary else text

    async def load(self, key: str) -> Optional[Token]:
        """The stored token, ``None`` if absent; `ValueError` if the value is garbage."""
        return _decoded(await resolve(self.store.get(self._wire(self._prefix + key))))

    async def save(self, key: str, token: Token) -> None:
        """Store ``token``."""
        await resolve(self.store.set(self._wire(self._prefix + key), self._wire(encode_token(token))))

    async def discard(self, key: str, token: Token) -> None:
        """Delete the stored token while it is still ``token`` (atomically with gets/cas)."""
        wire_key = self._wire(self._prefix + key)
        if self._can_cas:
            # gets/cas (memcached): overwrite only the value we compared, so a newer token stays.
            raw, cas = await resolve(self.store.gets(wire_key))
            stored = _decoded(raw)
            if stored is not None and stored.access_token == token.access_token:
                await resolve(self.store.cas(wire_key, self._wire(TOMBSTONE), cas, TOMBSTONE_SECONDS))
            return
        if not self._can_delete:
            return  # the next token simply overwrites it
        stored = await self.load(key)
        if stored is not None and stored.access_token == token.access_token:
            await resolve(self.store.delete(wire_key))

    def __repr__(self) -> str:
        return f"<GetSetCache over {type(self.store).__name__}>"


def _decoded(raw: object) -> Optional[Token]:
    if raw is None or raw in (TOMBSTONE, TOMBSTONE.encode()):
        return None
    if not isinstance(raw, (str, bytes)):
        raise ValueError(f"stored value is a {type(raw).__name__}, not text")
    return decode_token(raw)
