"""Where tokens live between requests: the store seam and the stores this package ships.

A *token store* is what a user passes as ``token_storage``: any object with
``get(key)`` and ``set(key, value)``, sync or async, optionally ``delete(key)``
(`TokenStore`), or a `FleetCache` such as `RedisTokenStore`. Inside, the token
manager talks to a *token cache* (`contract.TokenCache`): `getset.GetSetCache`
turns a token store into one, `guard.GuardedCache` makes sure it never fails
a request. Modules: `contract` (protocols, `StoreUnavailable`, the sharing rule),
`memory`, `getset`, `guard`, `codec` (keys and values), `redis` and
`redis_scripts`, `sealing` (encryption).
"""

from __future__ import annotations

from .contract import TokenStore
from .memory import MemoryTokenStore

__all__ = ["MemoryTokenStore", "TokenStore"]
