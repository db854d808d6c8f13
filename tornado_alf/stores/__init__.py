"""Where tokens live between requests: the store protocol and the stores this package ships.

A store is any object with ``get(key)`` and ``set(key, value)``, sync or async,
optionally ``delete(key)``; `MemoryTokenStore`, `RedisTokenStore` and
`EncryptedTokenStore` are the ones shipped here.
"""

from __future__ import annotations

from .cache import MemoryTokenStore, TokenStore

__all__ = ["MemoryTokenStore", "TokenStore"]
