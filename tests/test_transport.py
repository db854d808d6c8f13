"""HTTP clients: token requests beside a full resource queue, Curl's limits refused early, config carried over."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from tornado.curl_httpclient import CurlAsyncHTTPClient
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.simple_httpclient import SimpleAsyncHTTPClient
from tornado.web import Application, RequestHandler

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.test_insecure_http import mapped_client
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer

#: A guard, not a measurement: a token request stuck behind the resource queue never ends by itself.
STUCK = 10.0


class _Held(RequestHandler):
    async def get(self) -> None:
        self.application.settings["arrived"].append(1)
        await self.application.settings["release"].wait()
        self.finish("done")


@pytest.fixture
async def held() -> AsyncIterator[tuple[str, asyncio.Event, list[int]]]:
    """A resource that answers only once ``release`` is set; ``arrived`` counts the requests it holds."""
    release, arrived = asyncio.Event(), list[int]()
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(Application([(r"/held", _Held)], release=release, arrived=arrived))
    server.add_sockets(sockets)
    yield f"http://127.0.0.1:{sockets[0].getsockname()[1]}/held", release, arrived
    release.set()
    server.stop()
    await server.close_all_connections()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


@pytest.mark.parametrize("given", [False, True], ids=["Tornado's shared client", "http_client="])
async def test_a_token_request_never_waits_in_the_resource_queue(
    auth_server: AuthServer, held: tuple[str, asyncio.Event, list[int]], given: bool
) -> None:
    url, release, arrived = held
    resources = AsyncHTTPClient(force_instance=True, max_clients=3) if given else AsyncHTTPClient()
    limit = 3 if given else 10  # Tornado's default max_clients
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET,
                           http_client=resources if given else None)
    try:
        busy = [asyncio.ensure_future(resources.fetch(url)) for _ in range(limit + 20)]  # full, and a queue
        await until(lambda: len(arrived) == limit)
        # The resources answer only after the token came: had the token request queued behind them,
        # this would never end.
        token = await asyncio.wait_for(client.get_token(), STUCK)
        assert token.access_token in auth_server.issued
        release.set()
        assert {(await done).code for done in busy} == {200}
    finally:
        client.close()
        if given:
            resources.close()


async def test_token_requests_keep_the_http_clients_configuration(auth_server: AuthServer) -> None:
    # The token endpoint is known by a name only the resource client's resolver knows.
    endpoint = auth_server.token_endpoint.replace("127.0.0.1", "auth.internal")
    http_client = mapped_client("auth.internal", auth_server.port)
    client = TornadoClient(endpoint, CLIENT_ID, CLIENT_SECRET, http_client=http_client, allow_insecure_http=True)
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert auth_server.token_requests == 1
    finally:
        client.close()
        http_client.close()


async def produce(write: Callable[[bytes], Awaitable[None]]) -> None:
    await write(b"{}")


async def test_a_body_producer_with_curl_is_refused_before_any_token(auth_server: AuthServer) -> None:
    curl = CurlAsyncHTTPClient(force_instance=True)
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, http_client=curl)
    request = HTTPRequest(auth_server.resource_url, method="POST", body_producer=produce)  # type: ignore[arg-type]
    try:
        with pytest.raises(ValueError, match="body_producer is not supported with CurlAsyncHTTPClient"):
            await client.fetch(request)
        assert auth_server.token_requests == 0
        assert auth_server.resource_requests == 0
    finally:
        client.close()
        curl.close()
    simple = SimpleAsyncHTTPClient(force_instance=True)
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, http_client=simple)
    try:
        assert (await client.fetch(request)).code == 200  # the simple client streams it
    finally:
        client.close()
        simple.close()


PRE_LOOP = """
import asyncio, sys
from tornado.curl_httpclient import CurlAsyncHTTPClient
from tornado_alf import TornadoClient

http_client = CurlAsyncHTTPClient(force_instance=True)  # at import time, before any loop runs
client = TornadoClient("http://127.0.0.1:9/token", "id", "secret", http_client=http_client)

async def main():
    try:
        await client.fetch("http://127.0.0.1:9/resource")
    except RuntimeError as exc:
        print(exc)

asyncio.run(main())
"""


def test_a_curl_client_made_before_the_loop_is_refused_not_hung() -> None:
    run = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", PRE_LOOP],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert "http_client is a CurlAsyncHTTPClient of another event loop" in run.stdout


def test_a_curl_client_of_a_finished_loop_is_refused() -> None:
    async def make() -> CurlAsyncHTTPClient:
        return CurlAsyncHTTPClient(force_instance=True)

    curl = asyncio.run(make())
    client = TornadoClient("http://127.0.0.1:9/token", "id", "secret", http_client=curl)

    async def use() -> None:
        with pytest.raises(RuntimeError, match="another event loop"):
            await client.fetch("http://127.0.0.1:9/resource")

    asyncio.run(use())
    client.close()


async def test_curls_debug_log_never_shows_credentials(
    auth_server: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tornado.curl_httpclient")
    curl = CurlAsyncHTTPClient(force_instance=True)  # made verbose: its logger is at DEBUG now
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, http_client=curl,
                           auth_method="client_secret_post")
    try:
        assert (await client.fetch(auth_server.resource_url, headers={"Cookie": "session=c00kie"})).code == 200
    finally:
        client.close()
        curl.close()
    lines = [record.getMessage() for record in caplog.records if record.name == "tornado.curl_httpclient"]
    assert any(line.startswith("> Authorization: ") for line in lines)  # it did log the headers...
    assert any(line.startswith("> POST /token") for line in lines)
    text = "\n".join(lines)
    assert "c00kie" not in text  # ...and the conftest guard hunts the secret and the token
