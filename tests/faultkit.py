"""Servers that misbehave on purpose, for the hardening tests.

`RawServer` speaks raw TCP on 127.0.0.1 so a test can send what no HTTP
framework would: half a header, a reset, a body that never ends. `ResourceApp`
is a Tornado resource that redirects, rejects and records the Authorization
header each hop received. `InstantHTTPClient` is an `AsyncHTTPClient` whose
``fetch_impl`` answers in-process, for runs too long for real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import logging
import os
import socket
import struct
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, Callable, Optional

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPHeaders
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

import tornado_alf
from tests.doubles import refused_url  # noqa: F401 - its old home, for tests written before tests.doubles
from tornado_alf import TokenError, TornadoClient
from tornado_alf.testing import AuthServer

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

#: Longest a raw server keeps one connection open, whatever its script says.
CONNECTION_LIMIT = 10.0


class RawServer:
    """A TCP server on 127.0.0.1 answering every connection with ``script``.

    ``script(reader, writer)`` runs after the request head and body were read;
    the connection is closed when it returns. ``connections`` counts accepts.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self._server: Optional[asyncio.base_events.Server] = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._idle = asyncio.Event()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/token"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        # Abort rather than cancel: asyncio 3.11's stream callback chokes on a cancelled handler.
        for writer in list(self._writers):
            writer.transport.abort()
        if self._writers:
            await asyncio.wait_for(self._idle.wait(), CONNECTION_LIMIT)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        self._idle.clear()
        try:
            await asyncio.wait_for(self._serve(reader, writer), CONNECTION_LIMIT)
        except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._writers.discard(writer)
            if not self._writers:
                self._idle.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        headers = HTTPHeaders.parse(head.decode("latin1").partition("\r\n")[2])
        length = int(headers.get("Content-Length", "0"))
        if length:
            await reader.readexactly(length)
        await self.script(reader, writer)


def reply(data: bytes, then: str = "close") -> Script:
    """A script sending ``data``, then closing (``close``), resetting (``reset``) or waiting (``hang``)."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if then == "reset":
            reset(writer)
        elif then == "hang":
            await reader.read()  # until the client gives up and closes
    return script


def trickle(interval: float = 0.02, limit: int = 400) -> Script:
    """A chunked 200 whose body never ends: one space every ``interval`` s (at most ``limit``)."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n")
        for _ in range(limit):
            await asyncio.sleep(interval)
            if writer.is_closing() or reader.at_eof():
                return
            writer.write(b"1\r\n \r\n")
            await writer.drain()
    return script


def reset(writer: asyncio.StreamWriter) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0), not a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# (case id, body of a 200 answer with "{token}" standing for a freshly issued token,
#  None when the token must be usable, else a fragment of the TokenError message)
BODIES_OF_200 = [
    ("html", b"<!DOCTYPE html><html><body>Sign in</body></html>", "is not JSON"),
    ("empty body", b"", "is not JSON"),
    ("truncated JSON", b'{"access_token": "{token}", "expires_in": 36', "is not JSON"),
    ("not UTF-8", b'{"access_token": "\xff\xfe"}', "is not JSON"),
    ("deeply nested", b"[" * 100_000, "is not JSON"),
    ("JSON array", b'[{"access_token": "{token}"}]', "not a JSON object"),
    ("JSON string", b'"{token}"', "not a JSON object"),
    ("JSON null", b"null", "not a JSON object"),
    ("no access_token", b'{"token_type": "Bearer"}', "access_token is missing"),
    ("access_token number", b'{"access_token": 12345}', "access_token is missing or not a non-empty string"),
    ("access_token list", b'{"access_token": ["{token}"]}', "not a non-empty string"),
    ("access_token object", b'{"access_token": {"value": "{token}"}}', "not a non-empty string"),
    ("access_token null", b'{"access_token": null}', "not a non-empty string"),
    ("access_token empty", b'{"access_token": ""}', "not a non-empty string"),
    ("access_token with CRLF", b'{"access_token": "{token}\\r\\nX-Injected: 1"}', "outside RFC 6749 VSCHAR"),
    ("access_token ending with a space", b'{"access_token": "{token} "}', "starts or ends with a space"),
    ("access_token starting with a space", b'{"access_token": " {token}"}', "starts or ends with a space"),
    ("access_token non-ASCII", b'{"access_token": "{token}\\u00e9"}', "outside RFC 6749 VSCHAR"),
    ("token_type mac", b'{"access_token": "{token}", "token_type": "mac"}', "token_type is not Bearer"),
    ("token_type number", b'{"access_token": "{token}", "token_type": 1}', "token_type is not Bearer"),
    ("expires_in negative", b'{"access_token": "{token}", "expires_in": -1}', "finite number >= 0"),
    ("expires_in NaN literal", b'{"access_token": "{token}", "expires_in": NaN}', "finite number >= 0"),
    ("expires_in NaN string", b'{"access_token": "{token}", "expires_in": "NaN"}', "finite number >= 0"),
    ("expires_in Infinity", b'{"access_token": "{token}", "expires_in": Infinity}', "finite number >= 0"),
    ("expires_in 1e400", b'{"access_token": "{token}", "expires_in": 1e400}', "finite number >= 0"),
    ("expires_in 10**400", b'{"access_token": "{token}", "expires_in": 1' + b"0" * 400 + b"}",
     "expires_in is not a number"),
    ("expires_in word", b'{"access_token": "{token}", "expires_in": "soon"}', "expires_in is not a number"),
    ("expires_in true", b'{"access_token": "{token}", "expires_in": true}', "must be a number, not bool"),
    ("expires_in object", b'{"access_token": "{token}", "expires_in": {}}', "must be a number, not dict"),
    ("expires_in zero", b'{"access_token": "{token}", "expires_in": 0}', None),
    ("expires_in huge", b'{"access_token": "{token}", "expires_in": 1e300}', None),
    ("expires_in numeric string", b'{"access_token": "{token}", "expires_in": "3600"}', None),
    ("expires_in missing", b'{"access_token": "{token}"}', None),
    ("token_type missing", b'{"access_token": "{token}", "expires_in": 60}', None),
    ("token_type lower case", b'{"access_token": "{token}", "token_type": "bearer"}', None),
    ("scope of wrong type", b'{"access_token": "{token}", "scope": 7}', None),
]


class ResourceApp:
    """A resource server on 127.0.0.1 that redirects and records what each hop received.

    Paths: ``/protected`` checks the bearer token with ``auth_server.accepts``;
    ``/open`` answers 200 to anyone; ``/deny`` answers 401 to anyone;
    ``/redirect?to=URL&status=302`` redirects; ``/echo`` is a careless token
    endpoint: its 400 quotes every credential it received (kept in ``echoed``).
    ``hits`` lists ``(path, Authorization header or None)`` for every request.
    """

    def __init__(self, auth_server: AuthServer) -> None:
        self.auth_server = auth_server
        self.hits: list[tuple[str, Optional[str]]] = []
        self.echoed: list[str] = []
        self.port = 0
        self._server: Optional[HTTPServer] = None

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def redirect_url(self, target: str, status: int = 302, host: str = "127.0.0.1") -> str:
        query = urllib.parse.urlencode({"to": target, "status": str(status)})
        return self.url(f"/redirect?{query}", host)

    def paths(self) -> list[str]:
        return [path for path, _ in self.hits]

    async def __aenter__(self) -> ResourceApp:
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        app = Application([(r"/.*", _ResourceHandler, {"app": self})], log_function=_quiet)
        self._server = HTTPServer(app)
        self._server.add_sockets(sockets)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.stop()
        await self._server.close_all_connections()


def _quiet(handler: RequestHandler) -> None:
    logging.getLogger("tests.resource").debug("%d %s", handler.get_status(), handler.request.path)


class _ResourceHandler(RequestHandler):
    def initialize(self, app: ResourceApp) -> None:
        self.app = app

    def _echo(self, header: Optional[str]) -> None:
        form = urllib.parse.parse_qs(self.request.body.decode(), keep_blank_values=True)
        assertions = form.get("client_assertion", [])
        received = [header or "", *form.get("client_secret", []), *assertions]
        self.app.echoed.extend(value for value in received if value)
        # A JWT is longer than the 200 characters an error keeps: quote its signature first.
        quoted = " | ".join([assertion.rpartition(".")[2] for assertion in assertions] + received)
        self.set_status(400)
        self.finish({"error": f"invalid_client {quoted}", "error_description": f"we got: {quoted}",
                     "error_uri": f"https://auth.example/why?got={urllib.parse.quote(quoted)}"})

    def _accepted(self, header: Optional[str]) -> bool:
        scheme, _, token = (header or "").partition(" ")
        return scheme == "Bearer" and self.app.auth_server.accepts(token)

    def check_xsrf_cookie(self) -> None:
        """No cookies here."""

    async def prepare(self) -> None:
        path = self.request.path
        header = self.request.headers.get("Authorization")
        self.app.hits.append((path, header))
        if path == "/echo":
            self._echo(header)
        elif path == "/redirect":
            self.set_status(int(self.get_argument("status", "302")))
            self.set_header("Location", self.get_argument("to"))
            self.finish()
        elif path == "/open" or (path == "/protected" and self._accepted(header)):
            self.finish({"ok": True})
        else:
            self.set_status(401)
            self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            self.finish()


Handler = Callable[[HTTPRequest], HTTPResponse]


class InstantHTTPClient(AsyncHTTPClient):
    """An `AsyncHTTPClient` answering in-process through ``handler(request) -> HTTPResponse``.

    Tornado's own extension point (``fetch_impl``): everything above it, the
    client's header handling and error rules, is Tornado's real code.
    """

    def initialize(self, defaults: Optional[dict[str, Any]] = None, *, handler: Optional[Handler] = None) -> None:
        # Optional only to keep AsyncHTTPClient.initialize's signature, as Tornado's own subclasses do.
        if handler is None:
            raise TypeError("InstantHTTPClient needs handler=")
        super().initialize(defaults)
        self.handler = handler

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        callback(self.handler(request))


def response(request: HTTPRequest, code: int, document: Any = None) -> HTTPResponse:
    body = b"" if document is None else json.dumps(document).encode()
    headers = HTTPHeaders({"Content-Type": "application/json"})
    return HTTPResponse(request, code, headers=headers, buffer=io.BytesIO(body))


class LoopProblems:
    """Everything the event loop reports to its exception handler during a test."""

    def __init__(self) -> None:
        self.contexts: list[dict[str, Any]] = []

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.contexts.append(context)

    def messages(self) -> list[str]:
        return [str(context.get("message")) for context in self.contexts]


@contextlib.asynccontextmanager
async def watched_loop() -> AsyncIterator[LoopProblems]:
    """Collect what the running loop reports (un-retrieved exceptions, destroyed pending tasks)."""
    loop = asyncio.get_running_loop()
    problems = LoopProblems()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(problems)
    try:
        yield problems
        gc.collect()  # a task or future nobody kept reports itself when collected
    finally:
        loop.set_exception_handler(previous)


def pending_tasks() -> set[asyncio.Task[Any]]:
    """Tasks of the running loop other than the current one."""
    return asyncio.all_tasks() - {asyncio.current_task()}


_LIBRARY = os.path.dirname(tornado_alf.__file__)


def library_tasks() -> set[asyncio.Task[Any]]:
    """Pending tasks running tornado_alf's own code (its test server excluded)."""
    found = set()
    for task in pending_tasks():
        filename = getattr(task.get_coro(), "cr_code", None)
        filename = filename.co_filename if filename is not None else ""
        if filename.startswith(_LIBRARY) and not filename.endswith("testing.py"):
            found.add(task)
    return found


async def settle(rounds: int = 20) -> None:
    """Let callbacks already scheduled run (bounded: ``rounds`` loop iterations)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


@contextlib.contextmanager
def records_at_debug() -> Iterator[list[logging.LogRecord]]:
    """Every record any logger emits while the block runs, the root logger at DEBUG."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler = Keep(logging.DEBUG)
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# (case id, script, fragments of which the TokenError's message shows one: the wording is
#  Tornado's, and differs between its versions and between the simple and the Curl client)
RAW_FAULTS = [
    ("reset before the status line", reply(b"", "reset"), ("Connection reset",)),
    ("reset mid-headers", reply(b"HTTP/1.1 200 OK\r\nContent-Le", "reset"), ("Connection reset",)),
    # Tornado 6.6's simple client logs the reset as "Uncaught exception" and only the request timeout ends it.
    ("reset mid-body", reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"acc", "reset"),
     ("Timeout", "Connection reset")),
    ("closed mid-body", reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"acc"),
     ("Connection closed", "bytes missing")),
    ("closed without answer", reply(b""), ("closed", "Empty reply")),
    # Tornado before 6.6 waits for the status line that never comes: its timeout ends it.
    ("not HTTP", reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), ("Connection closed", "Timeout", "HTTP/0.9")),
    ("bad chunk size", reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
     ("Connection closed", "chunk hex-length")),
    ("bad Content-Length", reply(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"),
     ("Connection closed", "Invalid Content-Length")),
    ("headers that never end", reply(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n", "hang"), ("Timeout", "timed out")),
    ("silent after accept", reply(b"", "hang"), ("Timeout", "timed out")),
    ("body that never ends", trickle(), ("Timeout", "timed out")),
]


#: Token request deadlines short enough for tests of endpoints that hang.
FAST = {"request_timeout": 0.5, "connect_timeout": 0.5}


async def token_error(client: TornadoClient, server: AuthServer, raise_error: bool = True) -> TokenError:
    """The TokenError ``fetch`` raises; fails if anything else comes out or the resource was asked."""
    before = server.resource_requests
    with pytest.raises(TokenError) as caught:
        await client.fetch(server.resource_url, raise_error=raise_error)
    assert server.resource_requests == before, "resource asked without a token"
    error = caught.value
    assert type(error) is TokenError
    assert "\n" not in str(error)
    return error
