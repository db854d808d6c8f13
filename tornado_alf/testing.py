"""A local authorization server and protected resource for tests and demos.

`AuthServer` runs on 127.0.0.1 on a free port of the current IOLoop. It issues
client-credentials tokens (RFC 6749 sec. 4.4) to one client, counts what it is
asked, and has switches for the failures a real server produces: errors and
garbage answers, latency, short lifetimes and revoked tokens::

    async with AuthServer(client_id="me", client_secret="s3cret") as server:
        client = TornadoClient(server.token_endpoint, "me", "s3cret")
        response = await client.fetch(server.resource_url)
        assert server.token_requests == 1

``/.well-known/oauth-authorization-server`` serves its RFC 8414 metadata, with
``base_url`` as the issuer. ``python -m tornado_alf.testing`` runs one in its own process and prints its URLs
as JSON; ``GET /_control/stats`` and ``POST /_control/revoke`` drive it from afar.

.. versionadded:: 1.0
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, TypeVar

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

__all__ = ["AuthServer", "CannedResponse"]

#: `AuthServer` or a subclass: `AuthServer.start` and ``async with`` give back the same type.
_Server = TypeVar("_Server", bound="AuthServer")


@dataclass
class CannedResponse:
    """An answer the token endpoint gives instead of a token (see `AuthServer.fail_next`).

    :arg int status: its HTTP status.
    :arg bytes body: its body, sent as is.
    :arg headers: its headers.
    """

    status: int = 503
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


class AuthServer:
    """Token endpoint (``/token``) and protected resource (``/resource...``) for one client.

    :arg str client_id: the only client the endpoint accepts.
    :arg str client_secret: its secret, by HTTP Basic (form-encoded, RFC 6749
        sec. 2.3.1) or in the form body.
    :arg expires_in: ``expires_in`` of issued tokens in seconds, ``None`` to omit it.
    :arg float token_latency: seconds the endpoint waits before answering.
    :arg bool enforce_expiry: whether the resource rejects tokens past ``expires_in``.

    Switches are plain attributes (``expires_in``, ``token_latency``,
    ``enforce_expiry``, ``reject_all_tokens``) and the methods `fail_next`,
    `revoke_all`. Counters: ``token_requests``, ``resource_requests``,
    ``rejected_requests`` (401s sent). ``token_request_log`` keeps each token
    request's headers and form fields; ``last_resource_authorization`` the
    Authorization header of the latest resource request. The resource answers
    ``/resource/status/<code>`` with that status once the token is accepted.
    """

    def __init__(
        self,
        client_id: str = "test-client",
        client_secret: str = "test-secret",  # noqa: S107 - a fixture's credential
        *,
        expires_in: Optional[float] = 3600,
        token_latency: float = 0.0,
        enforce_expiry: bool = False,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.token_latency = token_latency
        self.enforce_expiry = enforce_expiry
        self.reject_all_tokens = False
        self.last_resource_authorization: Optional[str] = None
        self.token_requests = 0
        self.resource_requests = 0
        self.rejected_requests = 0
        self.token_request_log: list[dict[str, Any]] = []
        self.issued: dict[str, float] = {}  # token -> expiry (wall clock)
        self.revoked: set[str] = set()
        self._canned: list[CannedResponse] = []
        self._server: Optional[HTTPServer] = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_endpoint(self) -> str:
        """The token endpoint URL."""
        return self.base_url + "/token"

    @property
    def resource_url(self) -> str:
        """A protected resource URL; any path below it is protected too."""
        return self.base_url + "/resource"

    def start(self: _Server, port: int = 0) -> _Server:
        """Listen on 127.0.0.1 (a free port by default) on the current IOLoop; returns the server."""
        sockets = bind_sockets(port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(_application(self))
        self._server.add_sockets(sockets)
        return self

    def stop(self) -> None:
        """Stop listening; safe to call twice."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    async def __aenter__(self: _Server) -> _Server:
        return self if self._server is not None else self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        server = self._server
        self.stop()
        if server is not None:
            # A client's keep-alive connection (Curl's) would outlive the server otherwise.
            await server.close_all_connections()

    def fail_next(
        self,
        times: int = 1,
        status: int = 503,
        body: bytes = b"",
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        """Answer the next ``times`` token requests with ``status``, ``body`` and ``headers``."""
        self._canned.extend(CannedResponse(status, body, dict(headers or {})) for _ in range(times))

    def revoke_all(self) -> None:
        """Make the resource reject every token issued so far."""
        self.revoked.update(self.issued)

    def issue_token(self) -> str:
        """Mint a token as the endpoint would (also usable to plant one in a store)."""
        token = secrets.token_urlsafe(24)
        lifetime = float("inf") if self.expires_in is None else self.expires_in
        self.issued[token] = time.time() + lifetime
        return token

    def accepts(self, token: str) -> bool:
        """Whether the resource takes ``token`` now."""
        expiry = self.issued.get(token)
        if expiry is None or token in self.revoked or self.reject_all_tokens:
            return False
        return not (self.enforce_expiry and time.time() >= expiry)

    def stats(self) -> dict[str, int]:
        """The counters, as a dict."""
        return {
            "token_requests": self.token_requests,
            "resource_requests": self.resource_requests,
            "rejected_requests": self.rejected_requests,
        }

    def take_canned(self) -> Optional[CannedResponse]:
        """The next answer queued by `fail_next`, if any."""
        return self._canned.pop(0) if self._canned else None

    def client_from(self, handler: RequestHandler, form: dict[str, list[str]]) -> Optional[str]:
        """The client id the request authenticated as, or ``None``."""
        header = handler.request.headers.get("Authorization", "")
        if header[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, _, password = decoded.partition(":")
            pair: tuple[Optional[str], Optional[str]] = (
                urllib.parse.unquote_plus(user),
                urllib.parse.unquote_plus(password),
            )
        else:
            pair = (_single(form, "client_id"), _single(form, "client_secret"))
        if pair == (self.client_id, self.client_secret):
            return self.client_id
        return None

    def __repr__(self) -> str:
        return f"<AuthServer {self.base_url}, {self.token_requests} token request(s)>"


def _single(form: dict[str, list[str]], name: str) -> Optional[str]:
    values = form.get(name, [])
    return values[0] if len(values) == 1 else None


class _Handler(RequestHandler):
    def initialize(self, server: AuthServer) -> None:
        self.server = server

    def check_xsrf_cookie(self) -> None:
        """No cookies here: nothing to check."""

    def answer(self, status: int, document: Mapping[str, Any], **headers: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.set_header(name.replace("_", "-"), value)
        self.finish(json.dumps(document))


class _TokenHandler(_Handler):
    async def post(self) -> None:
        server = self.server
        server.token_requests += 1
        form = urllib.parse.parse_qs(self.request.body.decode("utf-8", "replace"), keep_blank_values=True)
        server.token_request_log.append({"headers": dict(self.request.headers), "form": form})
        if server.token_latency:
            await asyncio.sleep(server.token_latency)
        canned = server.take_canned()
        if canned is not None:
            self.set_status(canned.status)
            for name, value in canned.headers.items():
                self.set_header(name, value)
            self.finish(canned.body)
            return
        if form.get("grant_type") != ["client_credentials"]:
            self.answer(400, {"error": "unsupported_grant_type"})
        elif server.client_from(self, form) is None:
            self.answer(401, {"error": "invalid_client", "error_description": "Client authentication failed"},
                        WWW_Authenticate='Basic realm="token"')
        else:
            self.answer(200, _token_document(server, form))


def _token_document(server: AuthServer, form: dict[str, list[str]]) -> dict[str, Any]:
    document: dict[str, Any] = {"access_token": server.issue_token(), "token_type": "Bearer"}
    if server.expires_in is not None:
        document["expires_in"] = server.expires_in
    if "scope" in form:
        document["scope"] = form["scope"][0]
    return document


class _ResourceHandler(_Handler):
    async def prepare(self) -> None:
        server = self.server
        server.resource_requests += 1
        server.last_resource_authorization = self.request.headers.get("Authorization")
        scheme, _, token = (server.last_resource_authorization or "").partition(" ")
        if scheme != "Bearer" or not server.accepts(token):
            server.rejected_requests += 1
            self.answer(401, {"error": "invalid_token"},
                        WWW_Authenticate='Bearer realm="resource", error="invalid_token"')
            return
        self.answer(int(self.path_args[0]) if self.path_args else 200, {
            "method": self.request.method,
            "path": self.request.path,
            "body": self.request.body.decode("utf-8", "replace"),
        })


class _MetadataHandler(_Handler):
    def get(self) -> None:
        # RFC 8414 sec. 2: enough for TornadoClient.from_issuer(server.base_url, ...).
        self.answer(200, {
            "issuer": self.server.base_url,
            "token_endpoint": self.server.token_endpoint,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })


class _StatsHandler(_Handler):
    def get(self) -> None:
        self.answer(200, self.server.stats())


class _RevokeHandler(_Handler):
    def post(self) -> None:
        self.server.revoke_all()
        self.answer(200, self.server.stats())


def _application(server: AuthServer) -> Application:
    args = {"server": server}
    return Application([
        (r"/token", _TokenHandler, args),
        (r"/resource/status/([1-5][0-9][0-9])", _ResourceHandler, args),
        (r"/resource.*", _ResourceHandler, args),
        (r"/.well-known/oauth-authorization-server", _MetadataHandler, args),
        (r"/_control/stats", _StatsHandler, args),
        (r"/_control/revoke", _RevokeHandler, args),
    ], log_function=_quiet_access_log)


def _quiet_access_log(handler: RequestHandler) -> None:
    # Rejections are this server's job; Tornado would log each 401 as a warning.
    logging.getLogger("tornado_alf.testing").debug(
        "%d %s", handler.get_status(), handler.request.method
    )


async def _serve_forever(port: int, expires_in: Optional[float], token_latency: float) -> None:
    server = AuthServer(expires_in=expires_in, token_latency=token_latency).start(port)
    print(json.dumps({
        "token_endpoint": server.token_endpoint,
        "resource_url": server.resource_url,
        "client_id": server.client_id,
        "client_secret": server.client_secret,
    }), flush=True)
    await asyncio.Event().wait()


def main(argv: Optional[list[str]] = None) -> None:
    """Run an `AuthServer` in this process until it is killed, printing its URLs as JSON."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tornado_alf.testing", description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--expires-in", type=float, default=3600)
    parser.add_argument("--token-latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    asyncio.run(_serve_forever(args.port, args.expires_in, args.token_latency))


if __name__ == "__main__":
    main()
