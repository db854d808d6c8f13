"""What a new user meets first: refusals that say what to do (issue 16, items 3, 5 and 9).

Library and CLI (as a subprocess) against real servers on 127.0.0.1: a wrong token
endpoint URL answering 404 or 405, an ``http://`` issuer, and an issuer whose metadata
lists fewer auth methods than its token endpoint accepts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from tornado.web import Application, RequestHandler

from tests._serve import serve
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.test_cli import cli, env_for
from tests.test_discovery import Metadata, metadata  # noqa: F401 - fixture
from tornado_alf import TokenError, TornadoClient
from tornado_alf.testing import AuthServer

NOT_THE_ENDPOINT = "says the URL may not be the token endpoint (check its path)"


class _GetOnly(RequestHandler):
    def get(self) -> None:
        self.write("a page, not a token endpoint")


@pytest.fixture
async def web_page() -> AsyncIterator[str]:
    """An origin whose ``/page`` answers GET only (a POST gets 405); other paths 404."""
    async with serve(Application([(r"/page", _GetOnly)])) as origin:
        yield origin


# 5. a token endpoint URL that is not one


@pytest.mark.parametrize(("path", "status"), [("/no/such/path", 404), ("/page", 405)])
async def test_404_or_405_hints_the_url_may_not_be_the_token_endpoint(
    web_page: str, path: str, status: int
) -> None:
    client = TornadoClient(web_page + path, CLIENT_ID, CLIENT_SECRET)
    try:
        with pytest.raises(TokenError) as caught:
            await client.get_token()
    finally:
        client.close()
    assert caught.value.code == status
    host = web_page.removeprefix("http://")
    assert str(caught.value) == (
        f"token request failed ({status}): token endpoint {host} refused the request; {status} {NOT_THE_ENDPOINT}"
    )


async def test_other_refusals_do_not_blame_the_url(auth_server: AuthServer) -> None:
    auth_server.fail_next(status=400, body=b'{"error": "invalid_request"}')
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET)
    try:
        with pytest.raises(TokenError) as caught:
            await client.get_token()
    finally:
        client.close()
    assert caught.value.code == 400
    assert "may not be the token endpoint" not in str(caught.value)


@pytest.mark.parametrize(("path", "status"), [("/no/such/path", 404), ("/page", 405)])
async def test_cli_prints_the_hint_on_one_line(web_page: str, path: str, status: int) -> None:
    run = await cli("token", "--token-endpoint", web_page + path, "--client-id", CLIENT_ID,
                    env={"TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET})
    host = web_page.removeprefix("http://")
    assert (run.status, run.stdout) == (3, "")
    assert run.stderr == (
        f"tornado-alf: token endpoint {host} refused the request; {status} {NOT_THE_ENDPOINT} (HTTP {status})\n"
    )


# 3. an http:// issuer


async def test_cli_http_issuer_refusal_names_the_flag(auth_server: AuthServer) -> None:
    # Refused before any connection: the name need not resolve, and nothing leaves the machine.
    run = await cli("token", "--issuer", "http://auth.example.test", "--client-id", CLIENT_ID,
                    env={"TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET})
    assert (run.status, run.stdout) == (2, "")
    assert "--allow-insecure-http" in run.stderr
    assert len(run.stderr.splitlines()) == 1
    # Plain http to the loopback needs no flag (tests/test_insecure_http.py has the rule).
    run = await cli("token", "--issuer", auth_server.base_url, "--client-id", CLIENT_ID,
                    env={"TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET})
    assert run.status == 0, run.stderr


# 9. metadata listing only "none" (as oauth2-mock-server's does) for an endpoint that wants Basic


@pytest.fixture
def lists_only_none(metadata: Metadata, auth_server: AuthServer) -> str:  # noqa: F811 - the fixture
    """An issuer whose metadata lists only ``none``; its token endpoint accepts Basic and post."""
    metadata.documents["/.well-known/oauth-authorization-server"] = {
        "issuer": metadata.origin, "token_endpoint": auth_server.token_endpoint,
        "token_endpoint_auth_methods_supported": ["none"],
    }
    return metadata.origin


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tornado_alf" and r.levelno >= logging.WARNING]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_explicit_auth_method_is_used_with_one_warning(
    lists_only_none: str, auth_server: AuthServer, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    client = await TornadoClient.from_issuer(
        lists_only_none, CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True, auth_method=method
    )
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert (await client.fetch(auth_server.resource_url)).code == 200
    finally:
        client.close()
    sent = auth_server.token_request_log[0]
    if method == "client_secret_basic":
        assert sent["headers"]["Authorization"].startswith("Basic ")
    else:
        assert sent["form"]["client_secret"] == [CLIENT_SECRET]
    host = lists_only_none.removeprefix("http://")
    assert warnings_of(caplog) == [
        f"auth_method {method} is not in the token_endpoint_auth_methods_supported of {host} ['none']; "
        "using it as asked"
    ]


async def test_a_listed_method_gives_no_warning(
    metadata: Metadata, auth_server: AuthServer, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    metadata.documents["/.well-known/oauth-authorization-server"] = {
        "issuer": metadata.origin, "token_endpoint": auth_server.token_endpoint,
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post"],
    }
    client = await TornadoClient.from_issuer(metadata.origin, CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True)
    try:
        assert (await client.fetch(auth_server.resource_url)).code == 200
    finally:
        client.close()
    assert auth_server.token_request_log[0]["form"]["client_secret"] == [CLIENT_SECRET]  # chose as before
    assert warnings_of(caplog) == []


async def test_without_auth_method_nothing_matching_says_to_pass_one(
    lists_only_none: str, auth_server: AuthServer
) -> None:
    with pytest.raises(ValueError, match="lists \\['none'\\]\\); pass auth_method to use one anyway"):
        await TornadoClient.from_issuer(lists_only_none, CLIENT_ID, CLIENT_SECRET, allow_insecure_http=True)
    assert auth_server.token_requests == 0


async def test_cli_explicit_method_works_with_one_warning_line(lists_only_none: str, auth_server: AuthServer) -> None:
    env = {"TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET}
    run = await cli("fetch", "--raise", "--issuer", lists_only_none, "--allow-insecure-http", "--client-id", CLIENT_ID,
                    "--auth-method", "client_secret_basic", auth_server.resource_url, env=env)
    assert run.status == 0, run.stderr
    host = lists_only_none.removeprefix("http://")
    assert run.stderr == (
        "tornado-alf: warning: auth_method client_secret_basic is not in the token_endpoint_auth_methods_supported "
        f"of {host} ['none']; using it as asked\n"
    )
    assert auth_server.resource_requests == 1


async def test_cli_without_a_method_says_to_pass_auth_method(lists_only_none: str, auth_server: AuthServer) -> None:
    run = await cli("token", "--issuer", lists_only_none, "--allow-insecure-http", "--client-id", CLIENT_ID,
                    env={"TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET})
    assert (run.status, run.stdout) == (2, "")
    assert "pass --auth-method to use one anyway" in run.stderr
    assert len(run.stderr.splitlines()) == 1
    assert auth_server.token_requests == 0


async def test_cli_with_an_explicit_endpoint_warns_nothing(auth_server: AuthServer) -> None:
    # The CLI with an explicit endpoint never reads metadata: no warning there.
    run = await cli("token", "--auth-method", "client_secret_post", env=env_for(auth_server))
    assert (run.status, run.stderr) == (0, "")
