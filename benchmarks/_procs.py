"""The processes a run needs: the local auth server and a throwaway redis-server, on 127.0.0.1."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from ._report import ROOT


def child_env() -> dict[str, str]:
    """The environment of every child: this checkout's tornado_alf first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """One line of a child's stdout, or `RuntimeError` if none comes within ``timeout`` seconds."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line:
        raise RuntimeError(f"child {proc.args!r} printed nothing within {timeout} s (exit {proc.poll()})")
    return line


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass(frozen=True)
class AuthServerInfo:
    token_endpoint: str
    resource_url: str
    client_id: str
    client_secret: str

    @property
    def control(self) -> tuple[str, int]:
        parts = urlsplit(self.token_endpoint)
        return parts.hostname or "127.0.0.1", parts.port or 80

    def call(self, method: str, path: str) -> dict[str, int]:
        """``GET /_control/stats`` or ``POST /_control/revoke``: the server's counters."""
        connection = http.client.HTTPConnection(*self.control, timeout=10)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            document: dict[str, int] = json.loads(response.read())
        finally:
            connection.close()
        return document

    def stats(self) -> dict[str, int]:
        return self.call("GET", "/_control/stats")

    def revoke(self) -> None:
        self.call("POST", "/_control/revoke")

    def token_requests(self) -> int:
        return self.stats()["token_requests"]


@contextlib.contextmanager
def auth_server(token_latency: float) -> Iterator[AuthServerInfo]:
    """``python -m tornado_alf.testing`` in its own process, so its CPU is not the client's."""
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "tornado_alf.testing", "--token-latency", str(token_latency)],
        cwd=ROOT, env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
    )
    try:
        yield AuthServerInfo(**json.loads(read_line(proc, timeout=30)))
    finally:
        stop(proc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RedisServer:
    port: int

    def client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def command(self, *args: str) -> Any:
        client = self.client()
        try:
            return client.execute_command(*args)
        finally:
            client.close()

    @staticmethod
    def command_calls(client: Any) -> dict[str, int]:
        """``INFO commandstats`` read through ``client``, as command -> calls."""
        stats = client.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}


@contextlib.contextmanager
def redis_server() -> Iterator[Optional[RedisServer]]:
    """A redis-server on an ephemeral 127.0.0.1 port with no persistence; ``None`` if none is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="alf-bench-redis-") as workdir:
        port = free_port()
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir, "--logfile", str(Path(workdir) / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, text=True,
        )
        try:
            server = RedisServer(port)
            _wait_for_ping(server, proc)
            yield server
        finally:
            stop(proc)


def _wait_for_ping(server: RedisServer, proc: subprocess.Popen[str]) -> None:
    import redis

    deadline = time.monotonic() + 10
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        try:
            server.command("PING")
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        else:
            return
    raise RuntimeError("redis-server did not answer PING within 10 s")
