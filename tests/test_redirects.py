"""The token on every redirect hop at the caller's origin and on no other, with Tornado's redirect rules.

Real servers on 127.0.0.1 (and 127.0.0.2, same port), over http and https; run
under both HTTP clients (``--http-client=curl``) and on each Tornado of the CI matrix.
"""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
from tornado.httpclient import HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.interop._pki import Pki, make_pki
from tornado_alf import TornadoClient
from tornado_alf._redirects import origin, target
from tornado_alf.testing import AuthServer

STATUSES = [301, 302, 303, 307, 308]


@dataclass
class Hit:
    host: str  # the Host header: which origin the client meant
    method: str
    path: str
    authorization: Optional[str]
    cookie: Optional[str]
    body: bytes


class Site:
    """One Tornado app on some addresses, recording each request; ``/redirect?to=&status=`` redirects."""

    def __init__(self, auth_server: AuthServer, ssl_options: Optional[ssl.SSLContext] = None) -> None:
        self.auth_server = auth_server
        self.hits: list[Hit] = []
        self.scheme = "https" if ssl_options else "http"
        self.port = 0
        app = Application([(r"/.*", _SiteHandler, {"site": self})], log_function=lambda _: None)
        self._server = HTTPServer(app, ssl_options=ssl_options)

    def listen(self, host: str = "127.0.0.1") -> Site:
        sockets = bind_sockets(self.port, host)
        self.port = sockets[0].getsockname()[1]
        self._server.add_sockets(sockets)
        return self

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def redirect(self, to: str, status: int = 302, host: str = "127.0.0.1") -> str:
        return self.url("/redirect?" + urllib.parse.urlencode({"to": to, "status": status}), host)

    def bearers(self) -> list[Optional[str]]:
        return [hit.authorization for hit in self.hits]

    async def close(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()


class _SiteHandler(RequestHandler):
    def initialize(self, site: Site) -> None:
        self.site = site

    def check_xsrf_cookie(self) -> None:
        """No cookies checked here."""

    def prepare(self) -> None:
        request = self.request
        headers = request.headers
        self.site.hits.append(Hit(request.host, request.method or "", request.path, headers.get("Authorization"),
                                  headers.get("Cookie"), request.body))
        if request.path.endswith("/redirect"):
            self.set_status(int(self.get_argument("status")))
            self.set_header("Location", self.get_argument("to"))
        elif request.path == "/protected":
            token = (headers.get("Authorization") or "").partition(" ")[2]
            if not self.site.auth_server.accepts(token):
                self.set_status(401)
                self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
        else:
            self.write({"path": request.path, "method": request.method})
        self.finish()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture
async def sites(auth_server: AuthServer, pki: Pki) -> AsyncIterator[dict[str, Site]]:
    """``home`` on 127.0.0.1 and 127.0.0.2 at one port; ``other`` on another port; ``tls`` over https."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    made = {
        "home": Site(auth_server).listen(),
        "other": Site(auth_server).listen(),
        "tls": Site(auth_server, context).listen(),
    }
    made["home"].listen("127.0.0.2")  # another host, the same port
    yield made
    for site in made.values():
        await site.close()


@pytest.fixture
async def client(auth_server: AuthServer) -> AsyncIterator[TornadoClient]:
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    yield client
    client.close()


def bearer(auth_server: AuthServer) -> str:
    (token,) = auth_server.issued
    return f"Bearer {token}"


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("where", ["another port", "another host, same port", "localhost for 127.0.0.1",
                                   "127.0.0.1 for localhost", "scheme-relative", "another scheme"])
async def test_the_token_never_reaches_another_origin(
    auth_server: AuthServer, sites: dict[str, Site], client: TornadoClient, pki: Pki, status: int, where: str
) -> None:
    home, other, tls = sites["home"], sites["other"], sites["tls"]
    start, away = {
        "another port": (home.url("/redirect"), other.url("/open")),
        "another host, same port": (home.url("/redirect"), home.url("/open", host="127.0.0.2")),
        "localhost for 127.0.0.1": (home.url("/redirect"), home.url("/open", host="localhost")),
        "127.0.0.1 for localhost": (home.url("/redirect", host="localhost"), home.url("/open")),
        "scheme-relative": (home.url("/redirect"), f"//127.0.0.2:{home.port}/open"),
        "another scheme": (home.url("/redirect"), tls.url("/open")),
    }[where]
    start += "?" + urllib.parse.urlencode({"to": away, "status": status})
    response = await client.fetch(start, method="POST", body="x", ca_certs=str(pki.ca_cert))
    assert response.code == 200
    first, *later = home.hits + other.hits + tls.hits
    assert first.path == "/redirect"
    assert first.authorization == bearer(auth_server)
    assert [hit.path for hit in later] == ["/open"]
    assert [hit.authorization for hit in later] == [None]
    assert response.effective_url == urllib.parse.urljoin(start, away)


@pytest.mark.parametrize("status", STATUSES)
async def test_https_to_plain_http_never_carries_the_token(
    auth_server: AuthServer, sites: dict[str, Site], client: TornadoClient, pki: Pki, status: int
) -> None:
    tls, home = sites["tls"], sites["home"]
    response = await client.fetch(tls.redirect(home.url("/open"), status), ca_certs=str(pki.ca_cert))
    assert response.code == 200
    assert tls.bearers() == [bearer(auth_server)]
    assert home.bearers() == [None]


@pytest.mark.parametrize("status", STATUSES)
async def test_same_origin_hops_keep_the_token(
    auth_server: AuthServer, sites: dict[str, Site], client: TornadoClient, status: int
) -> None:
    home = sites["home"]
    # Relative, absolute, and absolute with the scheme and host in capitals: one origin.
    chain = home.redirect(home.redirect(f"HTTP://127.0.0.1:{home.port}/protected", status), status)
    response = await client.fetch(home.redirect(urllib.parse.urlsplit(chain).path + "?"
                                                 + urllib.parse.urlsplit(chain).query, status))
    assert response.code == 200
    assert [hit.path for hit in home.hits] == ["/redirect"] * 3 + ["/protected"]
    assert home.bearers() == [bearer(auth_server)] * 4
    assert auth_server.token_requests == 1


@pytest.mark.parametrize("status", STATUSES)
async def test_away_and_back_costs_no_token_request(
    auth_server: AuthServer, sites: dict[str, Site], client: TornadoClient, status: int
) -> None:
    home, other = sites["home"], sites["other"]
    for _ in range(5):
        response = await client.fetch(home.redirect(other.redirect(home.url("/protected"), status), status))
        assert response.code == 200
    assert auth_server.token_requests == 1
    assert other.bearers() == [None] * 5
    assert home.bearers() == [bearer(auth_server)] * 10


async def test_a_401_from_another_origin_starts_no_refresh(
    auth_server: AuthServer, sites: dict[str, Site], client: TornadoClient
) -> None:
    home, other = sites["home"], sites["other"]
    for _ in range(3):
        response = await client.fetch(home.redirect(other.url("/protected")), raise_error=False)
        assert response.code == 401
    assert auth_server.token_requests == 1
    assert other.bearers() == [None] * 3


async def test_a_401_back_at_the_origin_is_replayed_once(
    auth_server: AuthServer, sites: dict[str, Site], client: TornadoClient
) -> None:
    home, other = sites["home"], sites["other"]
    assert (await client.fetch(home.url("/protected"))).code == 200
    auth_server.revoke_all()
    response = await client.fetch(home.redirect(other.redirect(home.url("/protected"))))
    assert response.code == 200
    assert auth_server.token_requests == 2
    assert other.bearers() == [None, None]


@pytest.mark.parametrize(
    ("status", "method", "then"),
    [(301, "POST", "GET"), (302, "POST", "GET"), (303, "POST", "GET"), (303, "PUT", "GET"), (303, "HEAD", "HEAD"),
     (301, "PUT", "PUT"), (302, "PATCH", "PATCH"), (307, "POST", "POST"), (308, "POST", "POST")],
)
async def test_methods_and_bodies_follow_tornados_rules(
    sites: dict[str, Site], client: TornadoClient, status: int, method: str, then: str
) -> None:
    home, other = sites["home"], sites["other"]
    body = None if method == "HEAD" else b'{"a": 1}'
    request = HTTPRequest(home.redirect(other.url("/open"), status), method=method, body=body,
                          headers={"Content-Type": "application/json", "Cookie": "c=1"})
    response = await client.fetch(request)
    assert response.code == 200
    (hop,) = other.hits
    assert hop.method == then
    assert hop.body == (b"" if then in ("GET", "HEAD") else b'{"a": 1}')
    assert hop.cookie is None  # a cookie stays at its origin too
    assert response.request.url == request.url  # the caller's request, as Tornado gives it
    assert response.request.method == method
    assert request.headers.get("Authorization") is None  # the caller's request untouched


async def test_a_cookie_goes_along_at_the_origin(sites: dict[str, Site], client: TornadoClient) -> None:
    home = sites["home"]
    await client.fetch(home.redirect("/open"), headers={"Cookie": "c=1"})
    assert [hit.cookie for hit in home.hits] == ["c=1", "c=1"]


async def test_max_redirects_and_follow_redirects_are_honoured(
    auth_server: AuthServer, sites: dict[str, Site], client: TornadoClient
) -> None:
    home = sites["home"]
    three = home.redirect(home.redirect(home.redirect(home.url("/open"))))
    response = await client.fetch(three, max_redirects=2, raise_error=False)
    assert response.code == 302  # the third redirect is returned, as Tornado's simple client does
    assert len(home.hits) == 3
    home.hits.clear()
    response = await client.fetch(three, follow_redirects=False, raise_error=False)
    assert response.code == 302
    assert response.effective_url == three
    assert len(home.hits) == 1
    assert home.bearers() == [bearer(auth_server)]


async def test_location_is_resolved_against_each_hop(sites: dict[str, Site], client: TornadoClient) -> None:
    home, other = sites["home"], sites["other"]
    # At the other site, "next" is relative to /deep/redirect: /deep/next.
    deep = other.url("/deep/redirect?" + urllib.parse.urlencode({"to": "next", "status": 302}))
    response = await client.fetch(home.redirect(deep))
    assert [hit.path for hit in other.hits] == ["/deep/redirect", "/deep/next"]
    assert response.effective_url == other.url("/deep/next")


async def test_user_info_in_a_location_is_dropped(sites: dict[str, Site], client: TornadoClient) -> None:
    home, other = sites["home"], sites["other"]
    await client.fetch(home.redirect(f"http://user:pw@127.0.0.1:{other.port}/open"))
    await client.fetch(home.redirect(f"http://user:pw@127.0.0.1:{home.port}/open"))
    assert [hit.authorization for hit in other.hits] == [None]
    assert all(hit.authorization and hit.authorization.startswith("Bearer ") for hit in home.hits)


async def test_callbacks_see_only_the_response_returned(sites: dict[str, Site], client: TornadoClient) -> None:
    home, other = sites["home"], sites["other"]
    lines: list[str] = []
    chunks: list[bytes] = []
    response = await client.fetch(home.redirect(other.redirect(home.url("/open"))),
                                  header_callback=lines.append, streaming_callback=chunks.append)
    assert response.code == 200
    assert lines[0].startswith("HTTP/1.1 200")
    assert not any(line.lower().startswith("location:") for line in lines)
    assert b"".join(chunks) == b'{"path": "/open", "method": "GET"}'


def test_origins_normalise_default_ports_and_case() -> None:
    assert origin("HTTPS://Example.COM/a") == origin("https://example.com:443/b") == ("https", "example.com", 443)
    assert origin("http://example.com/") == origin("http://example.com:80")
    assert origin("http://example.com:443/") != origin("https://example.com/")
    assert origin("http://[::1]:8080/") == ("http", "::1", 8080)
    assert origin("http://example.com:99999/") is None
    assert target("http://a.test/x/y", "z") == "http://a.test/x/z"
    assert target("http://a.test/x", "//u:p@b.test:81/q") == "http://b.test:81/q"


async def test_kwargs_given_to_fetch_go_along_on_every_hop(
    sites: dict[str, Site], client: TornadoClient
) -> None:
    home = sites["home"]
    await client.fetch(home.redirect("/open", 307), method="PUT", body="payload", headers={"X-Trace": "1"})
    assert [(hit.method, hit.body) for hit in home.hits] == [("PUT", b"payload")] * 2


