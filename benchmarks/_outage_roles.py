"""The two kinds of child process of ``benchmarks.outage``: the struggling server and a worker.

``python -m benchmarks._outage_roles serve <json>`` runs an `AuthServer` whose token
endpoint can be switched down (it then answers 503 after a delay, as a struggling
identity provider does) and logs every token request it answers. Orders come on stdin,
one a line: ``down``, ``up``, ``log`` (print the log as JSON), ``quit``.

``python -m benchmarks._outage_roles work <json>`` runs one `TornadoClient` sharing a
`RedisTokenStore`, gets its first token, prints ``ready``, waits for ``go <t0>`` and then
sends requests at a fixed rate (open loop: a slow call never delays the next) until the
run ends; it prints one JSON record per call: start (wall clock), seconds, outcome, and
whether the token the client held had life left when the call started.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from typing import Any, Optional

import redis.asyncio
from tornado.httpclient import HTTPClientError
from tornado.ioloop import IOLoop

from tornado_alf import RedisTokenStore, TokenError, TornadoClient
from tornado_alf.testing import AuthServer, CannedResponse

DOWN_ANSWER = CannedResponse(503, b'{"error": "temporarily_unavailable"}', {"Content-Type": "application/json"})


class StrugglingServer(AuthServer):
    """An `AuthServer` whose token endpoint can be down; it logs ``(time, down)`` per token request."""

    def __init__(self, expires_in: float, down_latency: float) -> None:
        super().__init__(expires_in=expires_in, enforce_expiry=True)
        self.down = False
        self.down_latency = down_latency
        self.log: list[tuple[float, bool]] = []

    def switch(self, down: bool) -> None:
        self.down = down
        self.token_latency = self.down_latency if down else 0.0

    def take_canned(self) -> Optional[CannedResponse]:
        self.log.append((time.time(), self.down))
        return DOWN_ANSWER if self.down else super().take_canned()


def serve(config: dict[str, Any]) -> None:
    async def main() -> None:
        server = StrugglingServer(config["expires_in"], config["down_latency"]).start()
        print(json.dumps({"token_endpoint": server.token_endpoint, "resource_url": server.resource_url,
                          "client_id": server.client_id, "client_secret": server.client_secret}), flush=True)
        loop = IOLoop.current()
        done = asyncio.Event()

        def obey(line: str) -> None:
            if line in ("down", "up"):
                server.switch(line == "down")
            elif line == "log":
                print(json.dumps(server.log), flush=True)
            else:
                done.set()

        def read_orders() -> None:
            for line in sys.stdin:
                loop.add_callback(obey, line.strip())
            loop.add_callback(done.set)

        threading.Thread(target=read_orders, daemon=True).start()
        await done.wait()
        server.stop()

    asyncio.run(main())


async def one_call(client: TornadoClient, url: str) -> tuple[float, float, str, bool]:
    started = time.time()
    expires_at = client.stats().token_expires_at
    valid = expires_at is not None and expires_at > started
    try:
        await client.fetch(url)
        outcome = "ok"
    except TokenError as exc:
        outcome = "repeat" if "repeat" in str(exc) else f"token_error_{exc.code}"
    except HTTPClientError as exc:
        outcome = f"http_{exc.code}"
    return started, time.time() - started, outcome, valid


def work(config: dict[str, Any]) -> None:
    async def main() -> None:
        connection = redis.asyncio.Redis(port=config["redis_port"])
        client = TornadoClient(
            config["token_endpoint"], config["client_id"], config["client_secret"],
            token_storage=RedisTokenStore(connection), http_options={"request_timeout": 10}, **config["options"],
        )
        await client.fetch(config["resource_url"])
        print("ready", flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        t0 = float(line.split()[1])
        interval, end = 1 / config["rate"], t0 + config["total"]
        calls = []
        number = 0
        while (when := t0 + number * interval) < end:
            await asyncio.sleep(max(0.0, when - time.time()))
            calls.append(asyncio.ensure_future(one_call(client, config["resource_url"])))
            number += 1
        records = await asyncio.gather(*calls)
        print(json.dumps(records), flush=True)
        client.close()
        await connection.aclose()

    asyncio.run(main())


if __name__ == "__main__":
    role, settings = sys.argv[1], json.loads(sys.argv[2])
    serve(settings) if role == "serve" else work(settings)
