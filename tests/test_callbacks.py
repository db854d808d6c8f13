"""``header_callback`` and ``streaming_callback`` see exactly the response `fetch` returns, on both HTTP clients.

An answer the request is sent again for (a 401 for the token) never reaches them;
the answer returned does, streamed as it comes. And `fetch` returns a `Future`, as
`AsyncHTTPClient.fetch` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from tornado import gen
from tornado.curl_httpclient import CurlAsyncHTTPClient
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.ioloop import IOLoop
from tornado.simple_httpclient import SimpleAsyncHTTPClient
from tornado.web import Application, RequestHandler

from tests.doubles import client_for
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer

FIRST, SECOND = b"first chunk;", b"second chunk"
#: Bound on how long the streaming resource waits for the caller to have seen its first chunk.
PATIENCE = 10.0


@pytest.fixture(params=[SimpleAsyncHTTPClient, CurlAsyncHTTPClient], ids=["simple", "curl"])
def http_client(request: pytest.FixtureRequest) -> Iterator[AsyncHTTPClient]:
    made: AsyncHTTPClient = request.param(force_instance=True)
    yield made
    made.close()


class _Stream(RequestHandler):
    """Checks the bearer token like the AuthServer's resource, then streams two chunks.

    The second goes out only once the caller has seen the first (or after
    ``PATIENCE``): a client that buffered the whole body would never see it early.
    """

    def initialize(self, server: AuthServer, seen_first: asyncio.Event, late: list[bool]) -> None:
        self.auth_server, self.seen_first, self.late = server, seen_first, late

    async def get(self) -> None:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not self.auth_server.accepts(token):
            self.auth_server.rejected_requests += 1
            self.set_status(401)
            self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            self.finish(b'{"error": "invalid_token"}')
            return
        self.write(FIRST)
        await self.flush()
        try:
            await asyncio.wait_for(self.seen_first.wait(), PATIENCE)
        except asyncio.TimeoutError:
            self.late.append(True)
        self.finish(SECOND)


class Site:
    def __init__(self, server: AuthServer) -> None:
        self.seen_first = asyncio.Event()
        self.late: list[bool] = []
        app = Application([("/stream", _Stream, {"server": server, "seen_first": self.seen_first, "late": self.late})])
        self.http_server = app.listen(0, "127.0.0.1")
        port = next(iter(self.http_server._sockets.values())).getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/stream"


@pytest.fixture
async def site(auth_server: AuthServer) -> AsyncIterator[Site]:
    made = Site(auth_server)
    yield made
    made.http_server.stop()
    await made.http_server.close_all_connections()


@pytest.fixture
def alf(auth_server: AuthServer, http_client: AsyncHTTPClient) -> Iterator[TornadoClient]:
    made = client_for(auth_server, http_client=http_client)
    yield made
    made.close()


class Seen:
    """What the caller's callbacks saw."""

    def __init__(self, site: Site | None = None) -> None:
        self.lines: list[str] = []
        self.chunks: list[bytes] = []
        self._site = site

    def header(self, line: str) -> None:
        self.lines.append(line)

    def chunk(self, data: bytes) -> None:
        self.chunks.append(data)
        if self._site is not None and FIRST in b"".join(self.chunks):
            self._site.seen_first.set()

    @property
    def status_lines(self) -> list[str]:
        return [line.strip() for line in self.lines if line.startswith("HTTP/")]


async def test_a_download_after_a_401_streams_only_the_replay(
    auth_server: AuthServer, alf: TornadoClient, site: Site
) -> None:
    await alf.get_token()
    auth_server.revoke_all()  # the cached token is now refused: the first attempt gets 401
    seen = Seen(site)
    response = await alf.fetch(site.url, header_callback=seen.header, streaming_callback=seen.chunk)
    assert response.code == 200
    assert auth_server.rejected_requests == 1  # the replay did happen
    assert b"".join(seen.chunks) == FIRST + SECOND  # not b'{"error": "invalid_token"}' first
    assert seen.status_lines == ["HTTP/1.1 200 OK"]
    assert not site.late  # streamed: the caller had the first chunk before the second was sent


async def test_a_returned_401_reaches_the_callbacks_once(auth_server: AuthServer, alf: TornadoClient) -> None:
    """Every token refused: the replay's 401 is returned, and only it reaches the callbacks."""
    auth_server.reject_all_tokens = True
    seen = Seen()
    response = await alf.fetch(auth_server.resource_url, raise_error=False,
                               header_callback=seen.header, streaming_callback=seen.chunk)
    assert response.code == 401
    assert auth_server.rejected_requests == 2
    assert seen.status_lines == ["HTTP/1.1 401 Unauthorized"]
    assert b"".join(seen.chunks) == b'{"error": "invalid_token"}'


async def test_a_401_in_the_cooldown_reaches_the_callbacks(auth_server: AuthServer, alf: TornadoClient) -> None:
    """Kept for a replay the cool-down then forbids: passed on after all, once, in order."""
    auth_server.reject_all_tokens = True
    await alf.fetch(auth_server.resource_url, raise_error=False)  # new token refused too: cool-down
    token_requests = auth_server.token_requests
    seen = Seen()
    with pytest.raises(HTTPClientError) as caught:
        await alf.fetch(auth_server.resource_url, header_callback=seen.header, streaming_callback=seen.chunk)
    assert caught.value.code == 401
    assert auth_server.token_requests == token_requests  # not replayed
    assert seen.status_lines == ["HTTP/1.1 401 Unauthorized"]
    assert seen.lines[-1].strip() == ""  # the whole header block, its end included
    assert b"".join(seen.chunks) == b'{"error": "invalid_token"}'


async def test_header_callback_after_a_401_sees_one_block(auth_server: AuthServer, alf: TornadoClient) -> None:
    await alf.get_token()
    auth_server.revoke_all()
    seen = Seen()
    response = await alf.fetch(auth_server.resource_url, header_callback=seen.header)
    assert response.code == 200
    assert seen.status_lines == ["HTTP/1.1 200 OK"]
    assert not any(line.lower().startswith("www-authenticate") for line in seen.lines)
    assert b'"method": "GET"' in response.body  # no streaming_callback: the body is the response's


async def test_fetch_returns_a_future(auth_server: AuthServer, alf: TornadoClient) -> None:
    future = alf.fetch(auth_server.resource_url)
    assert isinstance(future, asyncio.Future)
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    IOLoop.current().add_future(future, lambda f: done.set_result(f.result().code))
    assert await done == 200


async def test_a_fetch_nobody_awaits_still_sends(auth_server: AuthServer, alf: TornadoClient) -> None:
    alf.fetch(auth_server.resource_url)
    for _ in range(500):
        if auth_server.resource_requests:
            break
        await asyncio.sleep(0.01)
    assert auth_server.resource_requests == 1


async def test_fetch_is_yieldable_in_a_gen_coroutine(auth_server: AuthServer, alf: TornadoClient) -> None:
    @gen.coroutine
    def legacy() -> Any:
        response = yield alf.fetch(auth_server.resource_url)
        return response.code

    assert await legacy() == 200


async def test_cancelling_one_fetch_spares_the_token_request(auth_server: AuthServer, alf: TornadoClient) -> None:
    auth_server.token_latency = 0.3
    cancelled, waiting = alf.fetch(auth_server.resource_url), alf.fetch(auth_server.resource_url)
    await asyncio.sleep(0.05)  # both wait for the one token request
    assert cancelled.cancel()
    response = await waiting
    assert response.code == 200
    assert auth_server.token_requests == 1
    assert auth_server.resource_requests == 1  # the cancelled call's request never went out
    assert cancelled.cancelled()


@pytest.mark.parametrize(("name", "value"), [("X-Trace", "a\r\nInjected: 1"), ("X-Trace", "a\nb"), ("Bad\rName", "v")])
async def test_cr_or_lf_in_a_header_is_value_error(
    auth_server: AuthServer, alf: TornadoClient, name: str, value: str
) -> None:
    with pytest.raises(ValueError, match="CR, LF") as caught:
        await alf.fetch(auth_server.resource_url, headers={name: value})
    assert "Injected" not in str(caught.value)  # the value may be a secret: not quoted
    assert auth_server.resource_requests == 0
