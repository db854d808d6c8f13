"""`TokenError.args` carries what `str(err)` shows: nothing an endpoint echoed of the credentials.

Error trackers and structured loggers record ``err.args``; the endpoint here quotes back
everything it was sent (headers and form) in its error body.
"""

from __future__ import annotations

import json
import pickle
import urllib.parse
from collections.abc import AsyncIterator

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application, RequestHandler

from tornado_alf import TokenError, TornadoClient

from .conftest import CLIENT_ID, CLIENT_SECRET


class EchoingTokenHandler(RequestHandler):
    """Refuses every token request, quoting the request's credentials back in every field."""

    def check_xsrf_cookie(self) -> None:
        pass

    def post(self) -> None:
        echoed = f"{self.request.headers.get('Authorization', '')} {self.request.body.decode()}"
        self.set_status(400)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": echoed, "error_description": echoed, "error_uri": echoed}))


class EchoingTextHandler(EchoingTokenHandler):
    """The same echo as plain text: no RFC 6749 fields, only a raw body."""

    def post(self) -> None:
        self.set_status(401)
        self.finish(f"bad credentials: {self.request.headers.get('Authorization', '')} {self.request.body.decode()}")


@pytest.fixture
async def echo_endpoint() -> AsyncIterator[str]:
    sock, port = bind_unused_port()
    server = HTTPServer(Application([("/token", EchoingTokenHandler), ("/text", EchoingTextHandler)]))
    server.add_sockets([sock])
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        await server.close_all_connections()


def spellings_of_the_secret(error: TokenError) -> set[str]:
    """The secret as sent: raw, form-encoded, inside Basic credentials, and the JWT assertion."""
    sent = error.response.request if error.response is not None else None
    found = {CLIENT_SECRET, urllib.parse.quote(CLIENT_SECRET, safe=""), urllib.parse.quote_plus(CLIENT_SECRET)}
    if sent is not None:
        authorization = sent.headers.get("Authorization", "")
        if authorization:
            found.add(authorization.partition(" ")[2])
        assertion = urllib.parse.parse_qs(sent.body.decode()).get("client_assertion")
        if assertion:
            found.update({assertion[0], assertion[0].rpartition(".")[2]})
    return found


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post", "client_secret_jwt"])
@pytest.mark.parametrize("path", ["/token", "/text"])
async def test_args_hold_no_echoed_credential(echo_endpoint: str, auth_method: str, path: str) -> None:
    client = TornadoClient(echo_endpoint + path, CLIENT_ID, CLIENT_SECRET, auth_method=auth_method)
    with pytest.raises(TokenError) as caught:
        await client.get_token()
    client.close()
    error = caught.value
    hidden = spellings_of_the_secret(error)
    assert error.response is not None
    assert error.response.body is not None
    # The endpoint did echo a credential: the raw response, as documented, still holds it.
    assert any(secret.encode() in error.response.body for secret in hidden)
    for shown in (repr(error.args), str(error.args), pickle.dumps(error.args).decode("latin-1")):
        assert [secret for secret in hidden if secret in shown] == []
    assert str(error) in error.args
    assert error.args[0] == error.code
