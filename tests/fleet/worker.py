"""One process of a fleet: ``python -m tests.fleet.worker`` with a JSON config on stdin.

It reads one line of config, builds its client, prints ``ready``, waits for
``go`` on stdin so that every process of the fleet starts at once, runs
``concurrency`` concurrent fetches and prints one JSON line of results:
the status codes and, for the benchmarks, when this process wrote the token
to Redis (``wrote_at``) or first saw another process's (``saw_at``), in
wall-clock seconds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Coroutine
from typing import Any, Callable, Optional

from tornado_alf import RedisTokenStore, TornadoClient
from tornado_alf._token import Token


class TimedStore(RedisTokenStore):
    """A `RedisTokenStore` noting when it wrote a token and when it got one from the fleet."""

    wrote_at: Optional[float] = None
    saw_at: Optional[float] = None

    async def save(self, key: str, token: Token) -> None:
        await super().save(key, token)
        self.wrote_at = time.time()

    async def single_flight(self, *args: Any) -> Token:
        token = await super().single_flight(*args)
        if self.wrote_at is None:
            self.saw_at = time.time()
        return token


def redis_client(config: dict[str, Any]) -> Any:
    factory: Callable[..., Any]
    if config["library"] == "valkey":
        import valkey.asyncio
        factory = valkey.asyncio.ValkeyCluster if config["cluster"] else valkey.asyncio.Valkey
    else:
        import redis.asyncio
        factory = redis.asyncio.RedisCluster if config["cluster"] else redis.asyncio.Redis
    return factory(host="127.0.0.1", port=config["redis_port"])


async def run(config: dict[str, Any]) -> dict[str, Any]:
    connection = redis_client(config) if config.get("redis_port") else None
    store = TimedStore(connection, lock_timeout=config["lock_timeout"]) if connection else None
    # A cold cluster client's first command discovers the topology; under a loaded CI machine that can
    # outlast the 0.5 s default store_timeout, which these single-flight runs are not about.
    client = TornadoClient(
        config["token_endpoint"], config["client_id"], config["client_secret"], token_storage=store,
        store_timeout=config.get("store_timeout", 5.0),
    )
    try:
        responses = await asyncio.gather(
            *(client.fetch(config["resource_url"], raise_error=False) for _ in range(config["concurrency"]))
        )
    finally:
        client.close()
        if connection is not None:
            await connection.aclose()
    codes = Counter(str(r.code) for r in responses)
    return {"codes": dict(codes), "wrote_at": store and store.wrote_at, "saw_at": store and store.saw_at}


def serve(work: Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]) -> None:
    """The worker protocol: a config line, "ready", wait for "go", then the report of ``work`` as JSON."""
    config = json.loads(sys.stdin.readline())
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected 'go' on stdin")
    print(json.dumps(asyncio.run(work(config))), flush=True)


def main() -> None:
    serve(run)


if __name__ == "__main__":
    main()
