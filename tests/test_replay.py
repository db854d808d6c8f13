"""Replays after 401: once per request, once per token, never through redirects to another origin."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Optional

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.simple_httpclient import SimpleAsyncHTTPClient
from tornado.web import Application, RequestHandler

from tests.doubles import client_for
from tests.faultkit import ResourceApp
from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer


def issued_bearers(server: AuthServer) -> set[str]:
    return {"Bearer " + token for token in server.issued}


async def produce(write: Callable[[bytes], Awaitable[None]]) -> None:
    await write(b'{"streamed": true}')


async def test_a_401_on_a_body_producer_request_is_returned_as_is_and_drops_the_token(
    auth_server: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(auth_server, http_client=SimpleAsyncHTTPClient(force_instance=True))  # Curl ignores it
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        auth_server.revoke_all()
        # Tornado annotates body_producer as returning a Future, but awaits whatever it returns
        # (its docs: write returns a Future too): a coroutine function is what users pass.
        request = HTTPRequest(auth_server.resource_url, method="POST", body_producer=produce)  # type: ignore[arg-type]
        response = await client.fetch(request, raise_error=False)
        assert response.code == 401
        assert auth_server.token_requests == 1  # not sent again: the body cannot be re-read...
        assert (await client.fetch(request)).code == 200  # ...but the rejected token was dropped
        assert auth_server.token_requests == 2
        auth_server.revoke_all()
        as_kwargs = await client.fetch(
            auth_server.resource_url, method="POST", body_producer=produce, raise_error=False,
            headers={"Content-Length": "18"},
        )
        assert as_kwargs.code == 401  # the kwargs form is not sent again either
        assert (await client.fetch(request)).code == 200
        assert auth_server.token_requests == 3
        assert auth_server.resource_requests == 5
        lines = [r for r in caplog.records if r.name == "tornado_alf" and "body_producer" in r.getMessage()]
        assert len(lines) == 2
        assert all(record.levelno == logging.DEBUG for record in lines)
    finally:
        client.close()


async def test_a_401_after_a_same_origin_redirect_is_replayed_once(auth_server: AuthServer) -> None:
    async with ResourceApp(auth_server) as app:
        client = client_for(auth_server)
        try:
            assert (await client.fetch(app.redirect_url(app.url("/protected")))).code == 200
            auth_server.reject_all_tokens = True  # the new token is refused too
            response = await client.fetch(app.redirect_url(app.url("/protected")), raise_error=False)
            assert response.code == 401
            assert auth_server.token_requests == 2  # one refresh for the one request
            assert app.paths() == ["/redirect", "/protected"] * 3
            # the token went along on every same-origin hop
            assert all(header in issued_bearers(auth_server) for _, header in app.hits)
        finally:
            client.close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_the_token_never_follows_a_redirect_to_another_origin(auth_server: AuthServer, status: int) -> None:
    async with ResourceApp(auth_server) as here, ResourceApp(auth_server) as there:
        client = client_for(auth_server)
        targets = {
            "another port": there.url("/open"),
            "another host name, same port": here.url("/open", host="localhost"),
            "scheme-relative to another port": f"//127.0.0.1:{there.port}/open",
        }  # away and back again: tests/test_redirects.py
        try:
            for name, target in targets.items():
                here.hits.clear()
                there.hits.clear()
                response = await client.fetch(here.redirect_url(target, status))
                assert response.code == 200, name
                (first_path, first_header), *later = here.hits + there.hits
                assert first_path == "/redirect"
                assert first_header in issued_bearers(auth_server)
                assert later, name
                assert [header for _, header in later] == [None] * len(later), name
        finally:
            client.close()


async def test_the_token_follows_a_same_origin_redirect(auth_server: AuthServer) -> None:
    async with ResourceApp(auth_server) as here:
        client = client_for(auth_server)
        try:
            target = f"HTTP://127.0.0.1:{here.port}/protected"  # the scheme's case does not matter
            assert (await client.fetch(here.redirect_url(target, 307))).code == 200
            assert [path for path, _ in here.hits] == ["/redirect", "/protected"]
            assert all(header in issued_bearers(auth_server) for _, header in here.hits)
        finally:
            client.close()


async def test_a_401_from_another_origin_after_a_redirect_is_returned_without_a_refresh(
    auth_server: AuthServer,
) -> None:
    async with ResourceApp(auth_server) as here, ResourceApp(auth_server) as there:
        client = client_for(auth_server)
        try:
            for _ in range(3):
                response = await client.fetch(here.redirect_url(there.url("/protected")), raise_error=False)
                assert response.code == 401  # there never saw the token: it is not to blame
            assert auth_server.token_requests == 1
            assert [header for _, header in there.hits] == [None] * 3
        finally:
            client.close()


@pytest.mark.parametrize("raise_error", [True, False])
async def test_a_resource_rejecting_every_token_costs_one_refresh_per_request(
    auth_server: AuthServer, make_client: Callable[..., TornadoClient], raise_error: bool
) -> None:
    # The second 401 of a request is returned or raised like any other response.
    auth_server.reject_all_tokens = True
    client = make_client(reauth_cooldown=0)  # the cool-down's bound: tests/test_lifecycle.py
    for count in range(1, 6):
        if raise_error:
            with pytest.raises(HTTPClientError) as caught:
                await client.fetch(auth_server.resource_url)
            code = caught.value.code
        else:
            code = (await client.fetch(auth_server.resource_url, raise_error=False)).code
        assert code == 401
        assert auth_server.token_requests == count + 1
        assert auth_server.resource_requests == 2 * count


async def test_a_storm_of_401s_costs_one_refresh_per_token(auth_server: AuthServer) -> None:
    client = client_for(auth_server)
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        auth_server.reject_all_tokens = True
        responses = await asyncio.gather(
            *(client.fetch(auth_server.resource_url, raise_error=False) for _ in range(300))
        )
        assert {r.code for r in responses} == {401}
        # token 1 rejected by 300 requests -> one refresh; token 2 rejected too -> returned, no third.
        assert auth_server.token_requests == 2
        # Each is sent again with token 2, unless token 2's own rejection had already started the
        # re-authentication cool-down when its 401 came back (then it is returned as it is).
        suppressed = client.stats().reauthentications_suppressed
        assert auth_server.resource_requests == 1 + 300 + (300 - suppressed)
        assert client.stats().reauthentications == 300 - suppressed
    finally:
        client.close()


async def test_a_storm_of_401s_on_one_revoked_token_ends_in_successes(auth_server: AuthServer) -> None:
    client = client_for(auth_server)
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        auth_server.revoke_all()
        auth_server.token_latency = 0.05
        responses = await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(300)))
        assert {r.code for r in responses} == {200}
        assert auth_server.rejected_requests == 300
        assert auth_server.token_requests == 2
    finally:
        client.close()




class _SeeOther(RequestHandler):
    def initialize(self, auth_server: AuthServer, seen: list[tuple[str, Optional[str], bytes]]) -> None:
        self.auth_server = auth_server
        self.seen = seen

    def post(self) -> None:  # /start: record what arrived, then send the client on with 303
        self.seen.append((self.request.method or "", self.request.headers.get("Content-Type"), self.request.body))
        self.redirect("/protected", status=303)

    def get(self) -> None:  # /protected
        token = self.request.headers.get("Authorization", "").partition(" ")[2]
        self.set_status(200 if self.auth_server.accepts(token) else 401)
        self.finish()


async def test_a_replay_after_a_303_resends_the_callers_request_unchanged(auth_server: AuthServer) -> None:
    # Following a 303, Tornado turns the POST into a GET and deletes Content-Type from the
    # headers it sent; the replay must start again from the caller's request, not from that.
    seen: list[tuple[str, Optional[str], bytes]] = []
    sockets = bind_sockets(0, "127.0.0.1")
    args = {"auth_server": auth_server, "seen": seen}
    server = HTTPServer(Application([(r"/(?:start|protected)", _SeeOther, args)], log_function=lambda _: None))
    server.add_sockets(sockets)
    start = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/start"
    client = client_for(auth_server)
    try:
        await client.fetch(auth_server.resource_url)
        auth_server.revoke_all()  # the 303's target answers 401: refresh, then replay from /start
        for request in (
            HTTPRequest(start, method="POST", body='{"a": 1}', headers={"Content-Type": "application/json"}),
            start,
        ):
            kwargs: dict[str, Any] = {} if isinstance(request, HTTPRequest) else {
                "method": "POST", "body": '{"a": 1}', "headers": {"Content-Type": "application/json"}}
            assert (await client.fetch(request, **kwargs)).code == 200
            auth_server.revoke_all()
        assert auth_server.token_requests == 3
        assert seen == [("POST", "application/json", b'{"a": 1}')] * 4
    finally:
        client.close()
        server.stop()


async def test_401_gets_a_new_token_and_replays_once(auth_server: AuthServer, client: TornadoClient) -> None:
    await client.fetch(auth_server.resource_url)
    first = auth_server.last_resource_authorization
    auth_server.revoke_all()
    response = await client.fetch(auth_server.resource_url, method="POST", body="again")
    assert response.code == 200
    assert b'"body": "again"' in response.body
    assert auth_server.last_resource_authorization not in (None, first)
    assert auth_server.token_requests == 2
    assert auth_server.resource_requests == 3
