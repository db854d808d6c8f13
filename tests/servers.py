"""Real ``redis-server``, Redis Cluster and ``memcached`` processes for tests.

Every server listens on 127.0.0.1 on a port picked at run time, keeps its
files in its own temporary folder and persists nothing. `kill` sends SIGKILL,
the way a crashed host looks to a client; `start` again reuses the same port.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from tests.binaries import memcached_binary, redis_binaries

__all__ = ["MemcachedServer", "RedisCluster", "RedisServer", "free_port", "stop_all"]

HOST = "127.0.0.1"
_STARTUP_TIMEOUT = 10.0
_RUNNING: list[ServerProcess] = []
_DIRS: list[Path] = []  # every server's temp dir, removed by stop_all()


def free_port(*, with_bus: bool = False) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    :arg with_bus: also require ``port + 10000`` to be free, for the
        Redis Cluster bus of servers too old for ``cluster-port``.
    """
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            port: int = sock.getsockname()[1]
        if not with_bus or (port + 10000 < 65536 and _bindable(port + 10000)):
            return port
    raise RuntimeError("no free port pair found")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def ask(port: int, command: bytes, *, timeout: float = 2.0) -> bytes:
    """Send one inline command over a fresh socket and return the first reply."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(command + b"\r\n")
        return sock.recv(65536)


class ServerProcess:
    """One server process that can be started, killed and started again."""

    name = "server"
    ready_command = b""
    ready_reply = b""

    def __init__(self, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"tornado-alf-{self.name}-"))
        _DIRS.append(self.dir)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {HOST}:{self.port} {state}>"

    def argv(self) -> list[str]:
        """The command line that starts this server."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_text(self) -> str:
        """What the server wrote to its log so far."""
        path = self.dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        """Start the process and wait until it answers on its port."""
        self._log = (self.dir / "server.log").open("ab")
        self._proc = subprocess.Popen(
            self.argv(),
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _RUNNING.append(self)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running:
                break
            with contextlib.suppress(OSError):
                if ask(self.port, self.ready_command).startswith(self.ready_reply):
                    return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self!r} did not start:\n{self.log_text}")

    def kill(self) -> None:
        """SIGKILL the process, as a crash would, and reap it."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and reap it."""
        self._end(signal.SIGTERM)

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGCONT)

    def _end(self, sig: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
            proc.send_signal(sig)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self in _RUNNING:
            _RUNNING.remove(self)


class RedisServer(ServerProcess):
    """A ``redis-server`` that saves nothing and listens on 127.0.0.1 only."""

    name = "redis"
    ready_command = b"PING"
    ready_reply = b"+PONG"

    def __init__(self, port: int | None = None, *, cluster: bool = False) -> None:
        self.cluster = cluster
        super().__init__(port if port is not None else free_port(with_bus=cluster))

    @property
    def url(self) -> str:
        """A ``redis://`` URL for clients."""
        return f"redis://{HOST}:{self.port}/0"

    def argv(self) -> list[str]:
        """The command line that starts this server."""
        server, _ = redis_binaries()
        argv = [server, "--port", str(self.port), "--bind", HOST]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.dir)]
        if self.cluster:
            argv += ["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"]
            argv += ["--cluster-config-file", "nodes.conf"]
        return argv


class MemcachedServer(ServerProcess):
    """A ``memcached`` on 127.0.0.1 with a small memory limit."""

    name = "memcached"
    ready_command = b"version"
    ready_reply = b"VERSION"

    def argv(self) -> list[str]:
        """The command line that starts this server."""
        argv = [memcached_binary(), "-l", HOST, "-p", str(self.port), "-U", "0"]
        return [*argv, "-m", "16", "-t", "1", "-u", "root"]


class RedisCluster:
    """A Redis Cluster of three masters, no replicas, made by ``redis-cli``."""

    def __init__(self, size: int = 3) -> None:
        self.nodes = [RedisServer(cluster=True) for _ in range(size)]

    def __repr__(self) -> str:
        ports = ",".join(str(node.port) for node in self.nodes)
        return f"<RedisCluster {HOST}:{ports}>"

    @property
    def url(self) -> str:
        """A ``redis://`` URL of one node, enough for cluster clients."""
        return self.nodes[0].url

    def start(self) -> None:
        """Start the nodes, assign the slots and wait for ``cluster_state:ok``."""
        for node in self.nodes:
            node.start()
        _, cli = redis_binaries()
        addresses = [f"{HOST}:{node.port}" for node in self.nodes]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=True,
        )
        self._wait_ok()

    def _wait_ok(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            infos = [ask(node.port, b"CLUSTER INFO") for node in self.nodes]
            if all(b"cluster_state:ok" in info for info in infos):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self!r} never reached cluster_state:ok")

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()


def stop_all() -> None:
    """Stop every server still running and remove their folders (the end-of-session safety net)."""
    for server in list(_RUNNING):
        server.stop()
    while _DIRS:
        shutil.rmtree(_DIRS.pop(), ignore_errors=True)
