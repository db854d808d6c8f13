"""`RedisTokenStore`'s import path of release 1.0; it lives in `tornado_alf.stores.redis`."""

from __future__ import annotations

from .stores.redis import RedisTokenStore

__all__ = ["RedisTokenStore"]
