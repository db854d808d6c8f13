"""A fleet of DPoP clients sharing one Redis: the key's thumbprint is part of the store key.

Tokens bound to a key (RFC 9449 ``cnf.jkt``) work only with that key, so a process never
reads a token bound to another process's key. Processes configured with the same key
share one token; processes with keys of their own each fetch one. 4 processes x 100
cold fetches cost what that design promises: 1 token request, or 4.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import pytest
from joserfc.jwk import ECKey

from tests.dpop_server import DPoPServer, running
from tests.fleet.fleet import _PYTHONPATH
from tests.servers import RedisServer

PROCESSES = 4
CONCURRENCY = 100


async def run_dpop_fleet(server: DPoPServer, redis_port: int, keys: list[Any]) -> list[dict[str, Any]]:
    """One worker per key in ``keys``, released at once; their reports."""
    env = dict(os.environ, PYTHONPATH=_PYTHONPATH)
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.fleet.dpop_worker",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
        )
        for _ in keys
    ]
    try:
        for proc, key in zip(procs, keys):
            config = {"token_endpoint": server.token_endpoint, "resource_url": server.resource_url,
                      "redis_port": redis_port, "dpop_key": key, "concurrency": CONCURRENCY}
            assert proc.stdin is not None
            assert proc.stdout is not None
            proc.stdin.write(json.dumps(config).encode() + b"\n")
            assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.close()
        lines = [await asyncio.wait_for(proc.stdout.readline(), 60) for proc in procs if proc.stdout]
        assert [await asyncio.wait_for(proc.wait(), 30) for proc in procs] == [0] * len(procs)
        return [json.loads(line) for line in lines]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@pytest.mark.parametrize(
    ("shared", "token_requests"), [(False, PROCESSES), (True, 1)], ids=["keys-of-their-own", "one-shared-key"]
)
async def test_cold_fleet_costs_one_token_per_key(shared_redis: RedisServer, shared: bool, token_requests: int) -> None:
    shared_key = ECKey.generate_key("P-256").as_dict(private=True)
    keys: list[Any] = [shared_key if shared else True for _ in range(PROCESSES)]
    async with running(DPoPServer()) as server:
        server.token_latency = 0.2  # every process starts while the first token request is in flight
        reports = await run_dpop_fleet(server, shared_redis.port, keys)
    assert [report["codes"] for report in reports] == [{"200": CONCURRENCY}] * PROCESSES
    assert server.tokens_issued == token_requests
    assert sum(report["token_requests"] for report in reports) == token_requests
    assert len({cnf["jkt"] for cnf in server.bindings.values()}) == token_requests  # one token per key
    assert server.refusals == []
    assert server.replayed_proofs == 0
    assert server.resource_ok == PROCESSES * CONCURRENCY
