"""The local auth server in a process of its own, and how to talk to children."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
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
