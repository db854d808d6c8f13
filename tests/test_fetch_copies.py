"""What fetch() sends and what it leaves alone when it builds the request from a URL.

fetch() copies only what it does not own: a caller's HTTPRequest (see
test_client.py) or the headers mapping passed with a URL. A request it built
itself is sent as is, and sent again after a 401; these tests pin both at the
far end, on a real socket.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator

import pytest
from tornado.httpclient import HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPHeaders
from tornado.testing import bind_unused_port
from tornado.web import Application, RequestHandler

from tests.doubles import client_for
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer


class _EchoHandler(RequestHandler):
    """A protected resource that answers with the headers it received."""

    def initialize(self, auth: AuthServer, seen: list[dict[str, list[str]]]) -> None:
        self.auth = auth
        self.seen = seen

    def get(self) -> None:
        headers = {name: self.request.headers.get_list(name) for name in self.request.headers}
        self.seen.append(headers)
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not self.auth.accepts(token):
            self.set_status(401)
        self.finish(json.dumps({"ok": True}))


@pytest.fixture
async def echo(auth_server: AuthServer) -> AsyncIterator[tuple[str, list[dict[str, list[str]]]]]:
    seen: list[dict[str, list[str]]] = []
    sock, port = bind_unused_port()
    server = HTTPServer(Application([(r"/echo", _EchoHandler, {"auth": auth_server, "seen": seen})]))
    server.add_sockets([sock])
    yield f"http://127.0.0.1:{port}/echo", seen
    server.stop()


def _bearer_ok(auth_server: AuthServer, values: list[str]) -> bool:
    return len(values) == 1 and values[0].startswith("Bearer ") and values[0][7:] in auth_server.issued


async def test_a_headers_mapping_passed_with_a_url_is_not_changed(
    auth_server: AuthServer, echo: tuple[str, list[dict[str, list[str]]]]
) -> None:
    url, seen = echo
    headers = {"X-Trace": "t-1"}
    await client_for(auth_server).fetch(url, headers=headers)
    assert headers == {"X-Trace": "t-1"}
    assert _bearer_ok(auth_server, seen[0]["Authorization"])
    assert seen[0]["X-Trace"] == ["t-1"]


async def test_http_headers_passed_with_a_url_keep_repeated_fields_and_do_not_change(
    auth_server: AuthServer, echo: tuple[str, list[dict[str, list[str]]]]
) -> None:
    url, seen = echo
    headers = HTTPHeaders()
    headers.add("X-Multi", "a")
    headers.add("X-Multi", "b")
    before = list(headers.get_all())
    await client_for(auth_server).fetch(url, headers=headers)
    assert list(headers.get_all()) == before
    assert seen[0]["X-Multi"] == ["a", "b"]
    assert _bearer_ok(auth_server, seen[0]["Authorization"])


@pytest.mark.parametrize("form", ["url", "url with headers", "HTTPRequest"])
async def test_a_401_is_replayed_once_with_the_new_token_and_the_same_headers(
    auth_server: AuthServer, echo: tuple[str, list[dict[str, list[str]]]], form: str
) -> None:
    url, seen = echo
    client = client_for(auth_server)
    await client.fetch(url)
    auth_server.revoke_all()
    if form == "url":
        response = await client.fetch(url)
    elif form == "url with headers":
        response = await client.fetch(url, headers={"X-Trace": "t-3"})
    else:
        response = await client.fetch(HTTPRequest(url, headers={"X-Trace": "t-3"}))
    assert response.code == 200
    assert auth_server.token_requests == 2
    rejected, replayed = seen[1], seen[2]
    assert len(seen) == 3
    assert rejected["Authorization"] != replayed["Authorization"]
    assert _bearer_ok(auth_server, replayed["Authorization"])
    for name in ("Host", "User-Agent", "X-Trace"):
        assert replayed.get(name) == rejected.get(name)
        assert len(replayed.get(name, [])) <= 1


class _TracedRequest(HTTPRequest):
    """A caller's own HTTPRequest subclass, with state of its own."""

    def __init__(self, url: str, trace: str) -> None:
        super().__init__(url, headers={"X-Trace": trace})
        self.trace = trace


async def test_a_request_subclass_is_copied_too_and_left_alone(
    auth_server: AuthServer, echo: tuple[str, list[dict[str, list[str]]]]
) -> None:
    url, seen = echo
    request = _TracedRequest(url, "t-4")
    headers_object = request.headers
    await client_for(auth_server).fetch(request)
    assert request.headers is headers_object
    assert dict(request.headers) == {"X-Trace": "t-4"}
    assert request.trace == "t-4"
    assert _bearer_ok(auth_server, seen[0]["Authorization"])
    assert seen[0]["X-Trace"] == ["t-4"]


async def test_caller_request_is_never_mutated(auth_server: AuthServer, client: TornadoClient) -> None:
    request = HTTPRequest(
        auth_server.resource_url, method="PUT", body="x", headers={"X-Mine": "1"}
    )
    headers_before = request.headers
    snapshot = dict(request.headers)
    attributes = copy.copy(vars(request))
    auth_server.revoke_all()  # nothing issued yet; the replay path is exercised below
    response = await client.fetch(request)
    assert response.code == 200
    auth_server.revoke_all()
    assert (await client.fetch(request)).code == 200  # after a 401 and a replay
    assert request.headers is headers_before
    assert dict(request.headers) == snapshot
    assert vars(request) == attributes
