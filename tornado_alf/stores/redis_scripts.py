"""The Lua scripts and numeric limits `RedisTokenStore` sends to Redis, and the client check."""

from __future__ import annotations

import inspect
import math
import time
from typing import Optional

from .._token import Token

# Redis refuses an expiry past LLONG_MAX milliseconds since the epoch ("invalid expire
# time"); 2**62 ms (146 million years) from now stays far inside it.
MAX_TTL_MS = 2**62

# KEYS[1]: the token key. ARGV[1]: the access token the resource rejected.
# Returns 1 when the key held that token and is deleted, else 0: a newer token
# written by another process in the meantime stays.
DISCARD_IF_SAME = """
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local ok, value = pcall(cjson.decode, stored)
if ok and type(value) == 'table' and value['access_token'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1]: the token key. ARGV[1]: the exact stored value (sealed) that holds the
# rejected token; the script cannot open sealed values, the caller compared them.
# Returns 1 when the key still held that value and is deleted, else 0.
DISCARD_IF_VALUE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1]: the lock key. ARGV[1]: the owner id its holder wrote.
# Returns 1 when the lock was ours and is released, else 0 (it expired and
# maybe another process holds it now: theirs stays).
UNLOCK_IF_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def check_async_client(redis_client: object) -> None:
    """`TypeError` for anything but an asyncio Redis/Valkey client (before any command is sent)."""
    for method in ("get", "set", "eval"):
        if not callable(getattr(redis_client, method, None)):
            name = type(redis_client).__name__
            raise TypeError(f"redis_client must be an asyncio Redis client; {name} lacks {method}()")
    execute = getattr(redis_client, "execute_command", None)
    if execute is not None and not inspect.iscoroutinefunction(execute):
        # redis.Redis and valkey.Valkey block the event loop on every command.
        raise TypeError(
            f"redis_client is a synchronous {type(redis_client).__name__}; pass a redis.asyncio.Redis "
            "(or RedisCluster, valkey.asyncio.Valkey, ValkeyCluster) instead"
        )


def remaining_ms(token: Token) -> Optional[int]:
    """Milliseconds of life the endpoint gave ``token`` that are left (at most `MAX_TTL_MS`), or ``None``."""
    if token.expires_at is None:
        return None
    left = token.expires_at - time.time()
    return MAX_TTL_MS if left * 1000 >= MAX_TTL_MS else math.floor(left * 1000)


def seconds(value: float, name: str) -> float:
    """``value`` as float seconds; `ValueError` naming ``name`` unless finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a number of seconds > 0")
    return float(value)
