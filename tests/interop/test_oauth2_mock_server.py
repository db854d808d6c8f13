"""``from_issuer`` and ``tornado-alf --issuer`` against node oauth2-mock-server (issue 16, item 9).

Its metadata lists only ``none`` in ``token_endpoint_auth_methods_supported``; the wrapper
in ``mock_server/server.mjs`` makes its token endpoint insist on HTTP Basic, as the servers
it stands in for do. An explicit ``auth_method`` is used with one WARNING; without one,
nothing matches and the error says to pass one.
"""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop._oidc import NPM_CI_TIMEOUT, _read_ready_line, _require
from tests.test_cli import cli
from tornado_alf import TokenError, TornadoClient

HERE = Path(__file__).parent / "mock_server"
CLIENT_ID = "mock-client"


@pytest.fixture(scope="module")
def client_secret() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def mock_issuer(tmp_path_factory: pytest.TempPathFactory, client_secret: str) -> Iterator[str]:
    """The issuer URL of a running oauth2-mock-server that accepts CLIENT_ID by Basic only."""
    node = _require("node")
    if not (HERE / "node_modules" / ".package-lock.json").exists():
        subprocess.run([_require("npm"), "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                       capture_output=True, timeout=NPM_CI_TIMEOUT)
    stderr_path = tmp_path_factory.mktemp("oauth2-mock-server") / "stderr.log"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen([node, str(HERE / "server.mjs")], cwd=HERE, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert process.stdin is not None
        process.stdin.write(json.dumps({"client_id": CLIENT_ID, "client_secret": client_secret}))
        process.stdin.close()
        yield str(_read_ready_line(process, stderr_path)["issuer"])
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def tornado_alf_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tornado_alf" and r.levelno >= logging.WARNING]


async def test_explicit_basic_is_used_with_one_warning(
    mock_issuer: str, client_secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = await TornadoClient.from_issuer(
        mock_issuer, CLIENT_ID, client_secret, allow_insecure_http=True, auth_method="client_secret_basic"
    )
    try:
        assert client.token_endpoint == f"{mock_issuer}/token"
        token = await client.get_token()
        assert token.expires_in is not None
    finally:
        client.close()
    host = mock_issuer.removeprefix("http://")
    assert tornado_alf_warnings(caplog) == [
        f"auth_method client_secret_basic is not in the token_endpoint_auth_methods_supported of {host} "
        "['none']; using it as asked"
    ]


async def test_the_server_refuses_another_method(mock_issuer: str, client_secret: str) -> None:
    # What makes the test above mean something: the method used is the one asked for.
    client = await TornadoClient.from_issuer(
        mock_issuer, CLIENT_ID, client_secret, allow_insecure_http=True, auth_method="client_secret_post"
    )
    try:
        with pytest.raises(TokenError) as caught:
            await client.get_token()
    finally:
        client.close()
    assert (caught.value.code, caught.value.error) == (401, "invalid_client")


async def test_without_auth_method_the_error_says_to_pass_one(mock_issuer: str, client_secret: str) -> None:
    with pytest.raises(ValueError, match=r"it lists \['none'\]\); pass auth_method to use one anyway"):
        await TornadoClient.from_issuer(mock_issuer, CLIENT_ID, client_secret, allow_insecure_http=True)


async def test_cli_token_with_explicit_method(mock_issuer: str, client_secret: str) -> None:
    run = await cli("token", "--json", "--issuer", mock_issuer, "--allow-insecure-http", "--client-id", CLIENT_ID,
                    "--auth-method", "client_secret_basic", env={"TORNADO_ALF_CLIENT_SECRET": client_secret})
    assert run.status == 0, run.stderr
    assert json.loads(run.stdout)["token_endpoint"] == f"{mock_issuer}/token"
    assert run.stderr.count("tornado-alf: warning: auth_method client_secret_basic is not in") == 1
    assert len(run.stderr.splitlines()) == 1
    run = await cli("token", "--issuer", mock_issuer, "--allow-insecure-http", "--client-id", CLIENT_ID,
                    env={"TORNADO_ALF_CLIENT_SECRET": client_secret})
    assert run.status == 2
    assert "pass --auth-method to use one anyway" in run.stderr
