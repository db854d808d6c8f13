"""The test doubles every test file shares: user stores, one client factory, free ports, callers under load.

These are real objects of the kinds users pass in (a dict with ``get``/``set``, a
coroutine client like ``redis.asyncio``), never mocks of Tornado, Redis or the
library. Fixtures that start servers live in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from tests.servers import free_port
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "AsyncStore",
    "BrokenStore",
    "Callers",
    "DictStore",
    "GetSetStore",
    "SlowStore",
    "client_for",
    "free_port",
    "refused_url",
]

#: Credentials every test server issues to; the leak guard hunts for them.
CLIENT_ID = "test-client"
CLIENT_SECRET = "s3cr3t-p@ss w+rd:/%&=?"  # the secret the issue names as the hard case


def client_for(server: AuthServer, token_storage: object = None, **options: Any) -> TornadoClient:
    """A `TornadoClient` with the test credentials for ``server``; ``options`` go to the constructor.

    Prefer the ``make_client`` fixture, which also closes what it made.
    """
    options.setdefault("token_endpoint", server.token_endpoint)
    options.setdefault("client_id", CLIENT_ID)
    options.setdefault("client_secret", CLIENT_SECRET)
    return TornadoClient(token_storage=token_storage, **options)


def refused_url(path: str = "/token") -> str:
    """A URL on 127.0.0.1 where nothing listens: the port was bound, then released."""
    return f"http://127.0.0.1:{free_port()}{path}"


class GetSetStore(dict[str, Any]):
    """A user's synchronous cache with only ``get`` and ``set``; counts the calls, content readable as a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.calls.append("get")
        return super().get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.calls.append("set")
        self[key] = value


class DictStore(GetSetStore):
    """The same with ``delete``, so the client can drop a rejected token."""

    def delete(self, key: str) -> None:
        self.calls.append("delete")
        self.pop(key, None)


class AsyncStore:
    """Like ``redis.asyncio``: every call is a coroutine, and values come back as bytes."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    async def get(self, key: str) -> Optional[bytes]:
        await asyncio.sleep(0)
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        await asyncio.sleep(0)
        self.values[key] = value.encode()


class BrokenStore(GetSetStore):
    """A store whose every call raises `ConnectionError` while ``broken`` is true."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = True

    def get(self, key: str, default: Any = None) -> Any:
        if self.broken:
            raise ConnectionError("store down")
        return super().get(key, default)

    def set(self, key: str, value: Any) -> None:
        if self.broken:
            raise ConnectionError("store down")
        super().set(key, value)


class SlowStore(GetSetStore):
    """A store whose ``get`` answers after ``delay`` seconds (``None``: never)."""

    def __init__(self, delay: Optional[float]) -> None:
        super().__init__()
        self.delay = delay

    async def get(self, key: str, default: Any = None) -> Any:
        await asyncio.sleep(3600 if self.delay is None else self.delay)
        return super().get(key, default)

    async def set(self, key: str, value: Any) -> None:  # type: ignore[override]
        super().set(key, value)


class Callers:
    """``count`` coroutines calling ``client.fetch(url)`` back to back until `stop`: what a service under load does.

    ``calls`` counts the answers, ``failures`` those that were not 200 (``raise_error=False``:
    a failure is counted, never raised). `fifty_more` waits for the next 50 calls, so that a
    test can change something (rotate a secret) while requests are under way.
    """

    def __init__(self, client: TornadoClient, url: str, count: int, pause: float) -> None:
        self.calls = self.failures = 0
        self._client, self._url, self._pause = client, url, pause
        self._stopping = asyncio.Event()
        self._fifty = asyncio.Event()
        self._tasks = [asyncio.ensure_future(self._call()) for _ in range(count)]

    async def _call(self) -> None:
        while not self._stopping.is_set():
            response = await self._client.fetch(self._url, raise_error=False)
            self.calls += 1
            self.failures += response.code != 200
            if self.calls % 50 == 0:
                self._fifty.set()
            await asyncio.sleep(self._pause)

    async def fifty_more(self) -> None:
        """Wait until another 50 calls were answered (every caller together)."""
        self._fifty.clear()
        await self._fifty.wait()

    async def stop(self) -> None:
        """Let every caller finish its call in flight, then return."""
        self._stopping.set()
        await asyncio.gather(*self._tasks)
