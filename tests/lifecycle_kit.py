"""Servers and clients for the token-lifecycle tests: a slow resource, both HTTP clients, a server thread.

`Resource` checks bearer tokens against an `AuthServer` and records, for every
request, the token it carried and the status it got; ``delay`` holds each
answer back, so that a test can act (close the client, let a refresh fail)
while requests are in flight. `ServerThread` runs both servers on a loop of
their own, for tests whose clients run loops in several threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Callable, Optional

from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from tests.conftest import CLIENT_ID, CLIENT_SECRET, SERVERS_THIS_TEST
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer

#: Tornado's two HTTP clients; every lifecycle guarantee is checked on each.
HTTP_CLIENTS = ("simple", "curl")


def new_http_client(kind: str) -> AsyncHTTPClient:
    """A private `AsyncHTTPClient` of ``kind`` for the running loop (close it after use)."""
    if kind == "curl":
        from tornado.curl_httpclient import CurlAsyncHTTPClient

        return CurlAsyncHTTPClient(force_instance=True)
    return AsyncHTTPClient(force_instance=True)


@contextlib.contextmanager
def configured_http_client(kind: str) -> Iterator[None]:
    """Make ``kind`` the class of every loop's shared `AsyncHTTPClient` for a while (sync tests only)."""
    saved = AsyncHTTPClient._save_configuration()
    if kind == "curl":
        AsyncHTTPClient.configure("tornado.curl_httpclient.CurlAsyncHTTPClient")
    try:
        yield
    finally:
        AsyncHTTPClient._restore_configuration(saved)


async def until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait (bounded) until ``condition()`` holds."""
    deadline = asyncio.get_running_loop().time() + limit
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


def leftover_tasks() -> list[str]:
    """Tasks still pending that run this library's code."""
    names = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        pending = task is not asyncio.current_task() and not task.done()
        if pending and code is not None and "tornado_alf" in code.co_filename:
            names.append(code.co_name)
    return names


def client_for(server: AuthServer, http_client: Optional[AsyncHTTPClient] = None, **kwargs: Any) -> TornadoClient:
    """A `TornadoClient` with the test credentials of ``server``."""
    return TornadoClient(server.token_endpoint, CLIENT_ID, CLIENT_SECRET, http_client=http_client, **kwargs)


@dataclasses.dataclass
class Hit:
    """One request the resource received: the token it carried (``None``: none), the answer, its ``X-Call``."""

    token: Optional[str]
    status: int
    call: Optional[str] = None


class Resource:
    """A protected resource that takes the tokens ``auth_server`` accepts, after ``delay`` seconds.

    ``/`` answers 200 or 401 (with an ``invalid_token`` Bearer challenge);
    ``hits`` records every request in order of arrival.
    """

    def __init__(self, auth_server: AuthServer) -> None:
        self.auth_server = auth_server
        self.delay = 0.0
        self.hits: list[Hit] = []
        self.url = ""
        self._server: Optional[HTTPServer] = None

    def start(self) -> Resource:
        """Listen on a free port of 127.0.0.1, on the current loop."""
        sockets = bind_sockets(0, "127.0.0.1")
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/"
        self._server = HTTPServer(Application([(r"/.*", _Handler, {"resource": self})], log_function=_quiet))
        self._server.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        """Stop listening and drop open connections."""
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    def statuses(self) -> list[int]:
        """The status of every answer, in order."""
        return [hit.status for hit in self.hits]


def _quiet(handler: RequestHandler) -> None:
    logging.getLogger("tests.resource").debug("%d %s", handler.get_status(), handler.request.method)


class _Handler(RequestHandler):
    def initialize(self, resource: Resource) -> None:
        self.resource = resource

    def check_xsrf_cookie(self) -> None:
        """No cookies here."""

    async def prepare(self) -> None:
        resource = self.resource
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        hit = Hit(token if scheme == "Bearer" else None, 0, self.request.headers.get("X-Call"))
        resource.hits.append(hit)
        if resource.delay:
            await asyncio.sleep(resource.delay)
        # Judged when answering: a token revoked while the answer was held back is refused.
        hit.status = 200 if hit.token is not None and resource.auth_server.accepts(hit.token) else 401
        self.set_status(hit.status)
        if hit.status == 401:
            self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
        self.finish(b"ok" if hit.status == 200 else b"")


@contextlib.asynccontextmanager
async def servers(**settings: Any) -> AsyncIterator[tuple[AuthServer, Resource]]:
    """An `AuthServer` (``settings`` are its attributes) and a `Resource` in front of it."""
    auth_server = AuthServer(CLIENT_ID, CLIENT_SECRET).start()
    SERVERS_THIS_TEST.append(auth_server)  # its tokens must not show in any log either
    for name, value in settings.items():
        setattr(auth_server, name, value)
    resource = Resource(auth_server).start()
    try:
        yield auth_server, resource
    finally:
        await resource.stop()
        await auth_server.__aexit__(None, None, None)


class ServerThread:
    """An `AuthServer` and a `Resource` on a loop of their own, in a daemon thread."""

    def __init__(self, **settings: Any) -> None:
        self._settings = settings
        self._ready = threading.Event()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._done: Optional[asyncio.Event] = None
        self.auth_server: Optional[AuthServer] = None
        self.resource: Optional[Resource] = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        async with servers(**self._settings) as (self.auth_server, self.resource):
            self._ready.set()
            await self._done.wait()

    def call(self, function: Any, *args: Any) -> None:
        """Run ``function(*args)`` on the servers' loop (to flip a switch between its requests)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(function, *args)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("servers did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None
        assert self._done is not None
        self._loop.call_soon_threadsafe(self._done.set)
        self._thread.join(10)
