"""The token request (RFC 6749 sec. 4.4) and what the client makes of the answer."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.web import Application, RequestHandler

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.doubles import client_for
from tornado_alf import TokenError, TornadoClient
from tornado_alf.testing import AuthServer


async def test_basic_auth_percent_encodes_id_and_secret(auth_server: AuthServer) -> None:
    await client_for(auth_server).fetch(auth_server.resource_url)
    headers = auth_server.token_request_log[0]["headers"]
    scheme, encoded = headers["Authorization"].split(" ")
    assert scheme == "Basic"
    user, password = base64.b64decode(encoded).decode().split(":")
    assert password == "s3cr3t-p%40ss%20w%2Brd%3A%2F%25%26%3D%3F"
    assert urllib.parse.unquote(password) == CLIENT_SECRET == urllib.parse.unquote_plus(password)
    assert user == CLIENT_ID


async def test_raw_basic_auth_sends_credentials_unencoded(auth_server: AuthServer) -> None:
    with pytest.raises(TokenError) as caught:  # this server decodes form rules, so "+" turns to " "
        await client_for(auth_server, basic_auth_encoding="raw").fetch(auth_server.resource_url)
    assert caught.value.error == "invalid_client"
    encoded = auth_server.token_request_log[0]["headers"]["Authorization"].split(" ")[1]
    assert base64.b64decode(encoded).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"


async def test_client_secret_post_puts_credentials_in_the_body(auth_server: AuthServer) -> None:
    await client_for(auth_server, auth_method="client_secret_post").fetch(auth_server.resource_url)
    logged = auth_server.token_request_log[0]
    assert "Authorization" not in logged["headers"]
    assert logged["form"]["client_id"] == [CLIENT_ID]
    assert logged["form"]["client_secret"] == [CLIENT_SECRET]


async def test_form_carries_grant_type_scope_and_extra_params(auth_server: AuthServer) -> None:
    client = client_for(
        auth_server,
        scope=["read", "write"],
        token_request_params={"audience": "api", "resource": ["https://a.example", "https://b.example"]},
    )
    await client.fetch(auth_server.resource_url)
    logged = auth_server.token_request_log[0]
    assert logged["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert logged["form"]["grant_type"] == ["client_credentials"]
    assert logged["form"]["scope"] == ["read write"]
    assert logged["form"]["audience"] == ["api"]
    assert logged["form"]["resource"] == ["https://a.example", "https://b.example"]


async def test_scope_as_a_string_is_sent_as_is(auth_server: AuthServer) -> None:
    await client_for(auth_server, scope="read write").fetch(auth_server.resource_url)
    assert auth_server.token_request_log[0]["form"]["scope"] == ["read write"]


async def test_http_options_reach_the_token_request(auth_server: AuthServer) -> None:
    client = client_for(auth_server, http_options={"user_agent": "alf-test", "headers": {"X-Tenant": "7"}})
    await client.fetch(auth_server.resource_url)
    headers = auth_server.token_request_log[0]["headers"]
    assert headers["User-Agent"] == "alf-test"
    assert headers["X-Tenant"] == "7"


async def test_a_redirect_is_not_followed_and_names_the_location(auth_server: AuthServer) -> None:
    auth_server.fail_next(status=302, headers={"Location": "https://elsewhere.example/token"})
    with pytest.raises(TokenError, match=r"redirected to https://elsewhere\.example/token") as caught:
        await client_for(auth_server).fetch(auth_server.resource_url)
    assert caught.value.code == 302
    assert auth_server.token_requests == 1
    assert auth_server.resource_requests == 0


async def test_error_body_fields_surface_on_token_error(auth_server: AuthServer) -> None:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, "wrong-secret")
    with pytest.raises(TokenError) as caught:
        await client.fetch(auth_server.resource_url)
    error = caught.value
    assert isinstance(error, HTTPClientError)
    assert (error.code, error.error, error.error_description) == (401, "invalid_client", "Client authentication failed")
    assert error.response is not None
    assert error.response.code == 401
    assert "\n" not in str(error)
    assert "wrong-secret" not in str(error) + repr(error)
    assert "invalid_client" in str(error)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>busy</html>", "not JSON"),
        (b"", "not JSON"),
        (b'{"access_token": "abc"', "not JSON"),
        (b'["access_token"]', "not a JSON object"),
        (b'{"token_type": "Bearer"}', "access_token"),
        (b'{"access_token": ""}', "access_token"),
        (b'{"access_token": 12345}', "access_token"),
        (b'{"access_token": "line\\nbreak"}', "VSCHAR"),
        (b'{"access_token": "abc", "token_type": "mac"}', "token_type"),
        (b'{"access_token": "abc", "token_type": 1}', "token_type"),
        (b'{"access_token": "abc", "expires_in": -1}', "expires_in"),
        (b'{"access_token": "abc", "expires_in": true}', "expires_in"),
        (b'{"access_token": "abc", "expires_in": "soon"}', "expires_in"),
        (b'{"access_token": "abc", "expires_in": NaN}', "expires_in"),
        (b'{"access_token": "abc", "expires_in": 1e999}', "expires_in"),
        (b'{"access_token": "abc", "expires_in": "inf"}', "expires_in"),
        (b'{"access_token": "abc", "expires_in": [60]}', "expires_in"),
    ],
)
async def test_unusable_2xx_bodies_are_token_errors(auth_server: AuthServer, body: bytes, reason: str) -> None:
    auth_server.fail_next(status=200, body=body)
    with pytest.raises(TokenError, match=reason) as caught:
        await client_for(auth_server).fetch(auth_server.resource_url)
    assert caught.value.code == 200
    assert auth_server.resource_requests == 0


@pytest.mark.parametrize(
    "document",
    [
        {"access_token": "tok-a"},
        {"access_token": "tok-a", "token_type": "bearer", "expires_in": "3600"},
        {"access_token": "tok-a", "token_type": "BEARER", "expires_in": 59.5},
    ],
)
async def test_accepted_token_documents(auth_server: AuthServer, document: dict[str, object]) -> None:
    auth_server.fail_next(status=200, body=json.dumps(document).encode())
    auth_server.issued["tok-a"] = float("inf")
    response = await client_for(auth_server).fetch(auth_server.resource_url)
    assert response.code == 200
    assert auth_server.last_resource_authorization == "Bearer tok-a"


class _Redirect(RequestHandler):
    def post(self) -> None:
        self.redirect("/elsewhere", status=307)


def test_constructor_rejects_arguments_that_cannot_work() -> None:
    good: dict[str, Any] = {"token_endpoint": "https://auth.example/token", "client_id": "id", "client_secret": "s"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"token_endpoint": ""}, "token_endpoint"),
        ({"token_endpoint": "ftp://auth.example/token"}, "token_endpoint"),
        ({"token_endpoint": "auth.example/token"}, "token_endpoint"),
        ({"token_endpoint": "https://u:p@auth.example/token"}, "token_endpoint"),
        ({"client_id": ""}, "client_id"),
        ({"client_secret": None}, "client_secret"),
        ({"auth_method": "magic"}, "auth_method"),
        ({"basic_auth_encoding": "base32"}, "basic_auth_encoding"),
        ({"expiry_margin": -1}, "expiry_margin"),
        ({"refresh_ahead": 1.5}, "refresh_ahead"),
        ({"max_token_lifetime": 0}, "max_token_lifetime"),
        ({"store_timeout": 0}, "store_timeout"),
        ({"http_options": {"method": "GET"}}, "http_options"),
        ({"http_options": {"no_such_option": 1}}, "http_options"),
    ]
    for change, name in cases:
        with pytest.raises(ValueError, match=name):
            TornadoClient(**{**good, **change})


def test_misuse_of_types_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="scope"):
        # Deliberately the wrong type: the check at run time is what is tested.
        TornadoClient("https://a.example/t", "id", "s", scope=[1, 2])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="token_retry"):
        TornadoClient("https://a.example/t", "id", "s", token_retry="often")
    with pytest.raises(TypeError, match="token_storage"):
        TornadoClient("https://a.example/t", "id", "s", token_storage=object())


async def test_application_redirect_handler_is_not_followed() -> None:
    # Tornado's own RequestHandler.redirect, as a real server would answer.
    from tornado.httpserver import HTTPServer
    from tornado.testing import bind_unused_port

    sock, port = bind_unused_port()
    server = HTTPServer(Application([(r"/token", _Redirect)]))
    server.add_sockets([sock])
    try:
        client = TornadoClient(f"http://127.0.0.1:{port}/token", CLIENT_ID, CLIENT_SECRET)
        with pytest.raises(TokenError, match="redirected to /elsewhere") as caught:
            await client.fetch(f"http://127.0.0.1:{port}/resource")
        assert caught.value.code == 307
    finally:
        server.stop()
