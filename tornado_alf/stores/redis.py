"""Tokens shared by a fleet of processes through Redis, Redis Cluster or Valkey.

One key per token holds its JSON (`encode_token`) with a TTL equal to the
remaining lifetime the endpoint gave, so Redis drops stale tokens itself. A
short lock next to it (``SET NX PX``) lets one process fetch while the others
wait for the token to appear. Nothing here imports ``redis``: any client with
the ``redis.asyncio`` command methods works.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import Awaitable
from typing import Any, Callable, Optional, Union

from .._token import Token
from .codec import decode_token, encode_token
from .contract import KEY_PREFIX, CoolingDown, FleetCache, Guard, StoreUnavailable, shareable
from .redis_scripts import (
    COOLDOWN_LEFT,
    DISCARD_IF_SAME,
    DISCARD_IF_VALUE,
    MAX_TTL_MS,
    UNLOCK_IF_OWNER,
    check_async_client,
    remaining_ms,
    seconds,
)
from .sealing import EncryptionKeys, Sealer

__all__ = ["RedisTokenStore"]

#: First and longest pause between two looks of a process waiting for the token.
POLL_FIRST = 0.005
POLL_MAX = 0.05


class RedisTokenStore(FleetCache):
    """Tokens in Redis, fetched once per lifetime for every process that shares it.

    ::

        store = RedisTokenStore(redis.asyncio.Redis(host="redis"), key_prefix="myapp:alf:")
        client = TornadoClient(endpoint, client_id, secret, token_storage=store)

    Each token lives under ``<key_prefix>{<digest>}`` as JSON (``access_token``,
    ``token_type``, ``expires_at`` and ``issued_at`` in epoch seconds, ``scope``)
    with a TTL of the lifetime the endpoint gave (``expires_in``); each reader
    applies its own ``expiry_margin``. When no process holds a usable token,
    one takes the lock ``<key_prefix>{<digest>}:lock`` and fetches; the others
    look again with growing pauses (5 ms up to 50 ms) until the token appears.
    The braces are a Redis Cluster hash tag: a token and its lock share a slot.

    When the lock holder's token request fails for a server-side reason (5xx,
    429, no answer), it writes ``<key_prefix>{<digest>}:cooldown`` (the status,
    with a TTL of the client's cool-down) before it unlocks; until that key
    expires, a process that would fetch fails at once instead, so the fleet
    backs off together and the endpoint gets one request per cool-down.

    A store command that fails or exceeds the client's ``store_timeout`` never
    fails a request: the client asks the token endpoint itself and logs one
    warning per outage.

    :arg redis_client: a ``redis.asyncio.Redis`` or ``RedisCluster``, or
        ``valkey.asyncio.Valkey`` or ``ValkeyCluster`` (anything with async
        ``get``, ``set`` and ``eval``). The store never closes it.
    :arg str key_prefix: start of every key the store writes, lock included.
    :arg float lock_timeout: seconds after which the lock of a holder that
        crashed expires, so another process fetches instead; keep it above the
        time a token request (with its retries) takes.
    :arg float wait_timeout: longest wait for another process's token before
        fetching one without the lock; default ``2 * lock_timeout``.
    :arg encryption_key: seal stored tokens with this Fernet key, or a list of
        keys newest first (rotation); needs ``tornado-alf[encryption]``. A value
        that does not open with them reads as absent. See `EncryptedTokenStore`.
    :raises TypeError: for a blocking client (``redis.Redis``, ``valkey.Valkey``),
        before any command is sent.

    .. versionadded:: 1.0
    .. versionchanged:: 2.0
       Keys are scoped to the credentials; the TTL is clamped to what Redis
       accepts; blocking clients are refused.
    """

    def __init__(
        self,
        redis_client: Any,
        key_prefix: str = KEY_PREFIX,
        lock_timeout: float = 10,
        *,
        wait_timeout: Optional[float] = None,
        encryption_key: Optional[EncryptionKeys] = None,
    ) -> None:
        check_async_client(redis_client)
        if not isinstance(key_prefix, str) or key_prefix.partition("{")[2].startswith("}"):
            # "{}" as the first tag makes Redis Cluster hash whole keys: token and lock would part.
            raise ValueError("key_prefix must be a str whose first '{' does not open an empty '{}'")
        self.redis = redis_client
        self.key_prefix = key_prefix
        self.lock_timeout = seconds(lock_timeout, "lock_timeout")
        default_wait = 2 * self.lock_timeout
        self.wait_timeout = seconds(default_wait if wait_timeout is None else wait_timeout, "wait_timeout")
        self._sealer = None if encryption_key is None else Sealer(encryption_key)
        self._holding = 0
        self._waiting = 0

    def token_key(self, key: str) -> str:
        """The Redis key of the token named ``key``."""
        return f"{self.key_prefix}{{{key}}}"

    def lock_key(self, key: str) -> str:
        """The Redis key of the fetch lock for ``key``, in the token's hash slot."""
        return self.token_key(key) + ":lock"

    def cooldown_key(self, key: str) -> str:
        """The Redis key of the fleet's cool-down after a failed token request, in the token's hash slot."""
        return self.token_key(key) + ":cooldown"

    async def start_cooldown(self, key: str, seconds: float, status: int) -> None:
        """No process sharing this store asks the token endpoint for ``key`` in the next ``seconds``."""
        ttl_ms = math.ceil(seconds * 1000)
        if ttl_ms > 0:
            await self.redis.set(self.cooldown_key(key), str(int(status)), px=min(ttl_ms, MAX_TTL_MS))

    async def load(self, key: str) -> Optional[Token]:
        """The stored token, ``None`` if absent; `ValueError` if the value is garbage."""
        return self._decode(key, await self.redis.get(self.token_key(key)))

    async def save(self, key: str, token: Token) -> None:
        """Store ``token`` with a TTL of its remaining lifetime (none if it has no expiry)."""
        ttl_ms = remaining_ms(token)
        value = self._encode(key, token)
        if ttl_ms is None:
            await self.redis.set(self.token_key(key), value)
        elif ttl_ms > 0:  # an already expired token is not worth sharing
            await self.redis.set(self.token_key(key), value, px=ttl_ms)

    async def discard(self, key: str, token: Token) -> None:
        """Delete the stored token only while it is still ``token`` (compare-and-delete)."""
        token_key = self.token_key(key)
        if self._sealer is None:
            await self.redis.eval(DISCARD_IF_SAME, 1, token_key, token.access_token)
            return
        raw = await self.redis.get(token_key)
        stored = self._decode(key, raw)
        if stored is not None and stored.access_token == token.access_token:
            await self.redis.eval(DISCARD_IF_VALUE, 1, token_key, raw)

    def _encode(self, key: str, token: Token) -> str:
        text = encode_token(token)
        return text if self._sealer is None else self._sealer.seal(self.token_key(key), text)

    def _decode(self, key: str, raw: Union[str, bytes, None]) -> Optional[Token]:
        """The token in a stored value; ``None`` if absent or sealed with other keys."""
        if raw is None:
            return None
        if self._sealer is not None:
            opened = self._sealer.open(self.token_key(key), raw)
            if opened is None:
                return None
            raw = opened
        return decode_token(raw)

    async def single_flight(
        self,
        key: str,
        fetch: Callable[[], Awaitable[Token]],
        is_usable: Callable[[Token], bool],
        guard: Guard,
    ) -> Token:
        """A usable token: another process's, or fetched under the fleet-wide lock.

        The token manager calls this when neither it nor the store holds a
        usable token. Every Redis command goes through ``guard``; when one
        fails, the token is fetched without the store.

        :arg str key: the token's name (see `token_key`).
        :arg fetch: asks the token endpoint for a new token.
        :arg is_usable: whether a token another process stored is still good to use.
        :arg guard: runs one Redis command bounded in time, raising
            ``StoreUnavailable`` when it fails or the store is in an outage.
        """
        try:
            cooling = await self._cooling(key, guard)  # two round trips, not five, while the fleet cools down
            if cooling is not None:
                raise cooling
            turn = await self._wait_turn(key, is_usable, guard)
        except StoreUnavailable:
            return await fetch()
        if isinstance(turn, Token):
            return turn
        if turn is None:  # waited long enough: fetch without the lock, share all the same
            token = await fetch()
            await self._share(key, token, guard)
            return token
        return await self._fetch_holding(key, turn, fetch, guard)

    async def _wait_turn(
        self, key: str, is_usable: Callable[[Token], bool], guard: Guard
    ) -> Union[Token, str, None]:
        """Another process's token, our lock's owner id, or ``None`` when the wait ran out."""
        deadline = time.monotonic() + self.wait_timeout
        pause = POLL_FIRST
        self._waiting += 1
        try:
            while True:
                owner = await self._lock(key, guard)
                if owner is not None:
                    # The last holder may have written and unlocked since our look.
                    return await self._unlock_if_found(key, owner, is_usable, guard)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                await asyncio.sleep(min(pause, left))
                pause = min(pause * 2, POLL_MAX)
                token = await self._peek(key, is_usable, guard)
                if token is not None:
                    return token
                # The holder's request failed: every waiter hears it at its next look, not
                # only the one that gets the lock next (the others would wait their turn).
                cooling = await self._cooling(key, guard)
                if cooling is not None:
                    raise cooling
        finally:
            self._waiting -= 1

    async def _unlock_if_found(
        self, key: str, owner: str, is_usable: Callable[[Token], bool], guard: Guard
    ) -> Union[Token, str]:
        try:
            token = await self._peek(key, is_usable, guard)
            cooling = None if token is not None else await self._cooling(key, guard)
        except StoreUnavailable:
            return owner  # we hold the lock: fetch, so the others need not wait for its expiry
        if token is None:
            if cooling is None:
                return owner
            await self._unlock(key, owner, guard)
            raise cooling
        await self._unlock(key, owner, guard)
        return token

    async def _cooling(self, key: str, guard: Guard) -> Optional[CoolingDown]:
        """The fleet's cool-down, if a process's token request failed a moment ago."""
        status, ttl_ms = await guard("read", lambda: self.redis.eval(COOLDOWN_LEFT, 1, self.cooldown_key(key)))
        if not status or not isinstance(ttl_ms, int) or ttl_ms <= 0:
            return None
        try:
            code = int(status)
        except ValueError:
            return None  # not ours: a cool-down is only ever a status
        return CoolingDown(ttl_ms / 1000, code)

    async def _fetch_holding(
        self, key: str, owner: str, fetch: Callable[[], Awaitable[Token]], guard: Guard
    ) -> Token:
        """Fetch as the lock holder; share the token before unlocking so waiters find it."""
        self._holding += 1
        try:
            token = await fetch()
            await self._share(key, token, guard)
            return token
        finally:
            self._holding -= 1
            await self._unlock(key, owner, guard)

    async def _lock(self, key: str, guard: Guard) -> Optional[str]:
        owner = secrets.token_hex(16)
        ttl_ms = max(1, math.ceil(self.lock_timeout * 1000))
        taken = await guard("lock", lambda: self.redis.set(self.lock_key(key), owner, nx=True, px=ttl_ms))
        return owner if taken else None

    async def _unlock(self, key: str, owner: str, guard: Guard) -> None:
        # On failure the lock expires by itself after lock_timeout.
        with contextlib.suppress(StoreUnavailable):
            await guard("unlock", lambda: self.redis.eval(UNLOCK_IF_OWNER, 1, self.lock_key(key), owner))

    async def _peek(self, key: str, is_usable: Callable[[Token], bool], guard: Guard) -> Optional[Token]:
        raw = await guard("read", lambda: self.redis.get(self.token_key(key)))
        try:
            token = self._decode(key, raw)
        except ValueError:
            return None  # garbage: the holder overwrites it; load() reports it
        return token if token is not None and is_usable(token) else None

    async def _share(self, key: str, token: Token, guard: Guard) -> None:
        if not shareable(token):
            return
        # On failure guard has logged it; the token still serves this process.
        with contextlib.suppress(StoreUnavailable):
            await guard("write", lambda: self.save(key, token))

    async def diagnose(self, timeout: float) -> Optional[str]:
        """"connection refused" when the server of a single-node client refuses a TCP connection."""
        kwargs = getattr(getattr(self.redis, "connection_pool", None), "connection_kwargs", None)
        if not isinstance(kwargs, dict) or "host" not in kwargs or "port" not in kwargs:
            return None
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(kwargs["host"], kwargs["port"]), timeout)
        except ConnectionRefusedError:
            return "connection refused"
        except (OSError, asyncio.TimeoutError):
            return None
        writer.close()
        return None

    def __repr__(self) -> str:
        state = f"holding {self._holding} lock(s), {self._waiting} waiting"
        if self._sealer is not None:
            state += ", sealed"
        return (
            f"<RedisTokenStore {self.key_prefix!r} on {type(self.redis).__name__}, "
            f"lock_timeout={self.lock_timeout:g} s, {state}>"
        )
