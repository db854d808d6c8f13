"""Redis clients of each kind the store supports, and a synchronous look inside.

`Backend` makes asyncio clients (redis-py or valkey, single server or
cluster) for the code under test, and reads keys, values and TTLs straight
from each server node, so tests assert on what Redis really holds.
"""

from __future__ import annotations

import contextlib
from typing import Any

import redis
import redis.asyncio
import valkey.asyncio
from redis.crc import key_slot

from tests.servers import HOST, RedisCluster, RedisServer

__all__ = ["KINDS", "Backend"]

#: Client library and topology of every backend the store is tested on.
KINDS = ("redis", "valkey", "redis-cluster", "valkey-cluster")


class Backend:
    """Asyncio clients of one kind for one server or cluster; closes them all."""

    def __init__(self, kind: str, servers: RedisServer | RedisCluster) -> None:
        self.kind = kind
        self.cluster = isinstance(servers, RedisCluster)
        self.nodes = servers.nodes if isinstance(servers, RedisCluster) else [servers]
        self._clients: list[Any] = []

    def __repr__(self) -> str:
        return f"<Backend {self.kind} on {len(self.nodes)} node(s)>"

    def client(self, **options: Any) -> Any:
        """A new asyncio client of this kind, closed by `close`."""
        library = valkey.asyncio if self.kind.startswith("valkey") else redis.asyncio
        port = self.nodes[0].port
        if self.cluster:
            factory = getattr(library, "ValkeyCluster" if library is valkey.asyncio else "RedisCluster")
        else:
            factory = getattr(library, "Valkey" if library is valkey.asyncio else "Redis")
        made = factory(host=HOST, port=port, **options)
        self._clients.append(made)
        return made

    async def close(self) -> None:
        """Close every client made here."""
        for made in self._clients:
            await made.aclose()
        self._clients.clear()

    def _each_node(self) -> list[redis.Redis]:
        return [redis.Redis(host=HOST, port=node.port) for node in self.nodes]

    def ttls(self) -> dict[str, int]:
        """Every key on every node, with its TTL in milliseconds (-1: none)."""
        found: dict[str, int] = {}
        for node in self._each_node():
            with node:
                for key in node.keys("*"):
                    found[key.decode() if isinstance(key, bytes) else key] = node.pttl(key)
        return found

    def get(self, key: str) -> bytes | None:
        """The value of ``key``, from whichever node owns its slot."""
        value: bytes | None = self._on_owner(key, "GET", key)
        return value

    def set(self, key: str, value: str | bytes, *options: str | int) -> None:
        """Write ``key`` on the node that owns its slot (``options``: ``"PX", 1000``...)."""
        self._on_owner(key, "SET", key, value, *options)

    def _on_owner(self, key: str, *command: Any) -> Any:
        for node in self._each_node():
            with node, contextlib.suppress(redis.exceptions.MovedError):
                # redis-py leaves execute_command unannotated; its answer is Any anyway.
                return node.execute_command(*command)  # type: ignore[no-untyped-call]
        raise KeyError(key)

    @staticmethod
    def slot(key: str) -> int:
        """The Redis Cluster hash slot of ``key``."""
        return key_slot(key.encode())
