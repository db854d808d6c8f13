"""Start worker processes (`tests.fleet.worker`) and collect what they report."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import tornado_alf
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tornado_alf.testing import AuthServer

__all__ = ["Worker", "run_fleet"]

#: Import the same tornado_alf and tests as this process, whatever is installed.
_PYTHONPATH = os.pathsep.join(
    dict.fromkeys([str(Path(tornado_alf.__file__).parents[1]), str(Path(__file__).parents[2])])
)


class Worker:
    """One worker process, started and told its config; `go` lets it fetch."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, auth_server: AuthServer, **config: Any) -> Worker:
        """Start a worker for ``auth_server`` and wait until it is ready."""
        env = dict(os.environ, PYTHONPATH=_PYTHONPATH)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.fleet.worker",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
        )
        config = {
            "token_endpoint": auth_server.token_endpoint,
            "resource_url": auth_server.resource_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "library": "redis",
            "cluster": False,
            "lock_timeout": 10,
            "concurrency": 100,
            **config,
        }
        worker = cls(proc)
        worker._write(json.dumps(config))
        assert await worker._line(timeout=30) == "ready"
        return worker

    def _write(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")

    async def _line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        return (await asyncio.wait_for(self.proc.stdout.readline(), timeout)).decode().strip()

    def go(self) -> None:
        """Let the worker run its fetches."""
        self._write("go")
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    async def result(self, timeout: float = 60) -> dict[str, Any]:
        """The worker's JSON report, once it has exited."""
        line = await self._line(timeout)
        assert await asyncio.wait_for(self.proc.wait(), timeout) == 0
        report: dict[str, Any] = json.loads(line)
        return report

    async def kill(self) -> None:
        """SIGKILL the worker and reap it."""
        self.proc.kill()
        await self.proc.wait()


async def run_fleet(auth_server: AuthServer, processes: int, **config: Any) -> list[dict[str, Any]]:
    """Start ``processes`` workers, release them at once, and return their reports."""
    workers = await asyncio.gather(*(Worker.start(auth_server, **config) for _ in range(processes)))
    try:
        for worker in workers:
            worker.go()
        return list(await asyncio.gather(*(worker.result() for worker in workers)))
    finally:
        for worker in workers:
            if worker.proc.returncode is None:
                await worker.kill()
