"""One process of a DPoP fleet: ``python -m tests.fleet.dpop_worker`` with a JSON config on stdin.

Like `tests.fleet.worker`: reads its config, prints ``ready``, waits for ``go``, runs
``concurrency`` concurrent fetches through a `RedisTokenStore` with its ``dpop_key``
(``true`` for a key of its own, or a JWK shared by the fleet) and prints one JSON line:
the status codes and what its client counted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import redis.asyncio

from tests.fleet.worker import serve
from tornado_alf import RedisTokenStore, TornadoClient


async def run(config: dict[str, Any]) -> dict[str, Any]:
    connection = redis.asyncio.Redis(host="127.0.0.1", port=config["redis_port"])
    client = TornadoClient(
        config["token_endpoint"], "fleet-client", "fleet-secret",
        token_storage=RedisTokenStore(connection), dpop_key=config["dpop_key"],
    )
    try:
        responses = await asyncio.gather(
            *(client.fetch(config["resource_url"], raise_error=False) for _ in range(config["concurrency"]))
        )
    finally:
        client.close()
        await connection.aclose()
    stats = client.stats()
    return {"codes": dict(Counter(str(r.code) for r in responses)), "token_requests": stats.token_requests,
            "store_hits": stats.store_hits}


def main() -> None:
    serve(run)


if __name__ == "__main__":
    main()
