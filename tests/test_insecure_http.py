"""Plain http only to the loopback: token endpoints, issuers, resources and redirects, library and CLI."""

from __future__ import annotations

import asyncio
import ssl
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.interop._pki import Pki, make_pki
from tests.test_redirects import Site
from tornado_alf import TornadoClient
from tornado_alf._transport import Transport
from tornado_alf.testing import AuthServer

ENV = "TORNADO_ALF_ALLOW_INSECURE_HTTP"


@pytest.fixture(autouse=True)
def no_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


def mapped_client(host: str, *ports: int) -> AsyncHTTPClient:
    """A client of the configured kind that resolves ``host`` to 127.0.0.1: a name off the loopback, locally."""
    if AsyncHTTPClient.configured_class().__name__ == "CurlAsyncHTTPClient":
        import pycurl  # type: ignore[import-untyped]
        from tornado.curl_httpclient import CurlAsyncHTTPClient

        def resolve(curl: pycurl.Curl) -> None:
            curl.setopt(pycurl.RESOLVE, [f"{host}:{port}:127.0.0.1" for port in ports])

        return CurlAsyncHTTPClient(force_instance=True, defaults={"prepare_curl_callback": resolve})
    return SimpleAsyncHTTPClient(force_instance=True, hostname_mapping={host: "127.0.0.1"})


@pytest.mark.parametrize("endpoint", ["http://auth.example/token", "HTTP://auth.example:8080/token",
                                      "http://10.0.0.1/token", "http://127.0.0.1.example/token",
                                      "http://[::2]/token", "http://localhost.example/token"])
def test_a_plain_http_token_endpoint_off_the_loopback_is_refused(endpoint: str) -> None:
    with pytest.raises(ValueError, match="token_endpoint is plain http://") as caught:
        TornadoClient(endpoint, CLIENT_ID, CLIENT_SECRET)
    assert "allow_insecure_http=True" in str(caught.value)
    assert ENV in str(caught.value)
    assert "--allow-insecure-http" in str(caught.value)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1/token", "http://127.8.9.10:81/token", "http://[::1]/token",
                                      "http://localhost/token", "http://LOCALHOST:9/token",
                                      "https://auth.example/token"])
def test_https_and_the_loopback_need_no_opt_out(endpoint: str) -> None:
    TornadoClient(endpoint, CLIENT_ID, CLIENT_SECRET).close()


def test_the_argument_or_the_environment_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    TornadoClient("http://auth.example/token", CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True).close()
    for value in ("0", "true", "yes", ""):
        monkeypatch.setenv(ENV, value)
        with pytest.raises(ValueError, match="plain http"):
            TornadoClient("http://auth.example/token", CLIENT_ID, CLIENT_SECRET)
    monkeypatch.setenv(ENV, "1")
    TornadoClient("http://auth.example/token", CLIENT_ID, CLIENT_SECRET).close()


async def test_a_plain_http_resource_off_the_loopback_is_refused_before_any_token(auth_server: AuthServer) -> None:
    url = auth_server.resource_url.replace("127.0.0.1", "api.example")
    http_client = mapped_client("api.example", auth_server.port)
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, http_client=http_client)
    try:
        with pytest.raises(ValueError, match=r"request URL is plain http:// to api\.example"):
            await client.fetch(url)
        assert auth_server.token_requests == 0
        assert auth_server.resource_requests == 0
        assert (await client.fetch(auth_server.resource_url)).code == 200  # the loopback: fine
    finally:
        client.close()
    allowed = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, http_client=http_client,
                            allow_insecure_http=True)
    try:
        assert (await allowed.fetch(url)).code == 200  # the token went to api.example, as allowed
        assert auth_server.resource_requests == 2
    finally:
        allowed.close()
        http_client.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


async def test_a_redirect_from_https_to_plain_http_off_the_loopback_gets_no_token(
    auth_server: AuthServer, pki: Pki
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    secure, plain = Site(auth_server, context).listen(), Site(auth_server).listen()
    http_client = mapped_client("api.example", secure.port, plain.port)
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, http_client=http_client)
    try:
        start = secure.redirect(plain.url("/open", host="api.example"), host="api.example")
        response = await client.fetch(start, validate_cert=False)  # the certificate names 127.0.0.1
        assert response.code == 200
        assert [hit.authorization is not None for hit in secure.hits] == [True]
        assert [hit.authorization for hit in plain.hits] == [None]
    finally:
        client.close()
        http_client.close()
        await secure.close()
        await plain.close()


async def test_from_issuer_uses_the_same_rule(auth_server: AuthServer) -> None:
    with pytest.raises(ValueError, match=r"issuer is plain http:// to as\.example"):
        await TornadoClient.from_issuer("http://as.example", CLIENT_ID, CLIENT_SECRET)
    client = await TornadoClient.from_issuer(auth_server.base_url, CLIENT_ID, CLIENT_SECRET)  # loopback: no flag
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
    finally:
        client.close()


async def cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tornado_alf", *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_the_cli_applies_the_same_rule(auth_server: AuthServer) -> None:
    credentials = ("--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET)
    status, err = await cli("token", "--token-endpoint", "http://auth.example/token", *credentials)
    assert status == 2
    assert "token_endpoint is plain http:// to auth.example" in err
    assert "--allow-insecure-http" in err
    assert "Traceback" not in err
    status, err = await cli("fetch", "http://api.example/", "--token-endpoint", auth_server.token_endpoint,
                            *credentials)
    assert status == 2
    assert "request URL is plain http://" in err
    assert auth_server.token_requests == 0  # refused before any token was asked for


# The verdict of the last allowed origin is remembered (a prefix test instead of a parse on every
# request): any sequence of URLs is decided as the full check decides each one alone.
_SCHEMES = st.sampled_from(["http", "https", "HTTP", "Http"])
_HOSTS = st.sampled_from([
    "127.0.0.1", "127.0.0.9", "localhost", "LOCALHOST", "[::1]", "example.com", "10.0.0.1",
    "127.0.0.1.example.com", "localhost.evil.example", "127.0.0.1.", "0x7f000001",
])
_PORTS = st.sampled_from(["", ":80", ":8080", ":8080.evil", ":65535"])
_TAILS = st.sampled_from(["", "/", "/x", "?q=1", "#f", "/a?b#c", "\\@evil.example/", ".evil.example/"])
_URLS = st.builds(lambda s, h, p, t: f"{s}://{h}{p}{t}", _SCHEMES, _HOSTS, _PORTS, _TAILS)


# Look-alikes: the start of an earlier URL (as far as its authority goes, or a little less),
# then something else: another host that begins the same, another port, user info.
_SUFFIXES = st.sampled_from([".evil.example/", "0/", ":1/", "@evil.example/", "/x", "", "1.example/"])


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_url_after_others_is_refused_exactly_when_it_is_refused_alone(data: st.DataObject) -> None:
    urls = [data.draw(_URLS)]
    for _ in range(data.draw(st.integers(1, 5))):
        earlier = data.draw(st.sampled_from(urls))
        start = earlier.split("/")[2] if earlier.count("/") >= 2 else ""
        cut = data.draw(st.integers(0, len(start)))
        look_alike = earlier[: len(earlier.split("//")[0]) + 2 + cut] + data.draw(_SUFFIXES)
        urls.append(data.draw(st.sampled_from([look_alike, data.draw(_URLS)])))

    async def verdicts(transport: Transport, sequence: list[str]) -> list[str]:
        return [_verdict(transport, url) for url in sequence]

    remembered = asyncio.run(verdicts(Transport(None, insecure_http_allowed=False), urls))
    alone = [asyncio.run(verdicts(Transport(None, insecure_http_allowed=False), [url]))[0] for url in urls]
    assert remembered == alone, urls


def _verdict(transport: Transport, url: str) -> str:
    """``allowed``, or the message of the `ValueError` (plain http off the loopback, a malformed URL)."""
    try:
        transport.for_request(HTTPRequest(url))
    except ValueError as error:
        return str(error)
    return "allowed"
