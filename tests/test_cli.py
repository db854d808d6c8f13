"""The ``tornado-alf`` command line, run for real as a subprocess against local servers.

The servers run on the test's own event loop, so the CLI runs through asyncio's
subprocess API: a blocking ``subprocess.run`` would starve them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import sys
import urllib.parse
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest
from joserfc.jwk import ECKey, RSAKey
from tornado.web import Application, RequestHandler

from tests._serve import serve
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.doubles import free_port
from tests.interop._pki import Pki
from tests.test_auth_methods import CLIENT_ID as JWT_CLIENT_ID
from tests.test_auth_methods import AssertionServer, mtls_token_endpoint, pki  # noqa: F401 - fixtures
from tornado_alf.testing import AuthServer

ROOT = Path(__file__).resolve().parents[1]
PYTHON_M = (sys.executable, "-m", "tornado_alf")
INVALID_CLIENT = "tornado-alf: token endpoint refused the client: invalid_client (Client authentication failed)\n"


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str


async def cli(
    *args: str,
    env: Optional[Mapping[str, str]] = None,
    stdin: bytes = b"",
    command: Sequence[str] = PYTHON_M,
) -> Run:
    """Run the CLI to completion; its exit status and output."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("TORNADO_ALF_")}
    # Asyncio debug mode would report slow callbacks of a loaded CI machine on the CLI's stderr.
    environment.pop("PYTHONASYNCIODEBUG", None)
    environment.update(env or {})
    process = await asyncio.create_subprocess_exec(
        *command, *args, cwd=ROOT, env=environment,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def env_for(server: AuthServer, secret: str = CLIENT_SECRET) -> dict[str, str]:
    return {
        "TORNADO_ALF_TOKEN_ENDPOINT": server.token_endpoint,
        "TORNADO_ALF_CLIENT_ID": CLIENT_ID,
        "TORNADO_ALF_CLIENT_SECRET": secret,
    }


def secret_spellings() -> set[str]:
    quoted = urllib.parse.quote(CLIENT_SECRET, safe="")
    basic = base64.b64encode(f"{urllib.parse.quote(CLIENT_ID, safe='')}:{quoted}".encode()).decode()
    return {CLIENT_SECRET, quoted, urllib.parse.quote_plus(CLIENT_SECRET), basic}


class _Echo(RequestHandler):
    def prepare(self) -> None:
        self.set_header("X-Echo", "yes")
        self.finish({
            "method": self.request.method,
            "headers": dict(self.request.headers.get_all()),
            "body": self.request.body.decode(),
        })


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    """A server that answers any request with its method, headers and body as JSON."""
    async with serve(Application([(r"/.*", _Echo)])) as origin:
        yield origin


# token


async def test_token_shows_type_scope_and_lifetime_but_not_the_token(auth_server: AuthServer) -> None:
    run = await cli("token", "--scope", "read", "--scope", "write", env=env_for(auth_server))
    assert run.status == 0, run.stderr
    lines = run.stdout.splitlines()
    assert f"token endpoint: {auth_server.token_endpoint}" in lines
    assert "token type:     Bearer" in lines
    assert "scope:          read write" in lines
    assert "lifetime:       3600 s" in lines
    assert any(line.startswith("expires at:") and line.endswith(" UTC") for line in lines)
    assert auth_server.token_requests == 1
    assert not any(token in run.stdout + run.stderr for token in auth_server.issued)


async def test_token_json_has_the_fields_and_no_token(auth_server: AuthServer) -> None:
    run = await cli("token", "--json", env=env_for(auth_server))
    assert run.status == 0, run.stderr
    document = json.loads(run.stdout)
    assert set(document) == {"token_endpoint", "token_type", "scope", "expires_in", "issued_at", "expires_at"}
    assert document["token_type"] == "Bearer"
    assert document["expires_in"] == 3600
    assert document["expires_at"] == pytest.approx(document["issued_at"] + 3600)
    assert not any(token in run.stdout for token in auth_server.issued)


async def test_show_token_prints_the_token_the_server_issued(auth_server: AuthServer) -> None:
    run = await cli("token", "--json", "--show-token", env=env_for(auth_server))
    assert run.status == 0, run.stderr
    assert json.loads(run.stdout)["access_token"] in auth_server.issued
    run = await cli("token", "--show-token", env=env_for(auth_server))
    shown = [line.split()[-1] for line in run.stdout.splitlines() if line.startswith("access token:")]
    assert len(shown) == 1
    assert shown[0] in auth_server.issued


async def test_issuer_discovery_finds_the_token_endpoint(auth_server: AuthServer) -> None:
    run = await cli(
        "token", "--json", "--issuer", auth_server.base_url, "--allow-insecure-http",
        "--client-id", CLIENT_ID, env={"TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET},
    )
    assert run.status == 0, run.stderr
    assert json.loads(run.stdout)["token_endpoint"] == auth_server.token_endpoint
    assert auth_server.token_requests == 1


async def test_http_issuer_without_the_flag_is_a_usage_error(auth_server: AuthServer) -> None:
    run = await cli("token", "--issuer", "http://as.tornado-alf.test", "--client-id", CLIENT_ID,
                    env={"TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET})
    assert run.status == 2
    assert run.stderr.startswith("tornado-alf: issuer is plain http:// to as.tornado-alf.test")
    assert "--allow-insecure-http" in run.stderr
    assert auth_server.token_requests == 0


# where the credentials come from


async def test_secret_from_a_file(auth_server: AuthServer, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(CLIENT_SECRET + "\n")
    run = await cli("token", "--token-endpoint", auth_server.token_endpoint, "--client-id", CLIENT_ID,
                    "--client-secret-file", str(secret_file))
    assert (run.status, run.stderr) == (0, "")
    assert auth_server.token_requests == 1


async def test_secret_from_stdin(auth_server: AuthServer) -> None:
    run = await cli("token", "--token-endpoint", auth_server.token_endpoint, "--client-id", CLIENT_ID,
                    "--client-secret-file", "-", stdin=CLIENT_SECRET.encode() + b"\n")
    assert (run.status, run.stderr) == (0, "")
    assert auth_server.token_requests == 1


async def test_secret_on_the_command_line_works_with_a_warning(auth_server: AuthServer) -> None:
    run = await cli("token", "--token-endpoint", auth_server.token_endpoint, "--client-id", CLIENT_ID,
                    "--client-secret", CLIENT_SECRET)
    assert run.status == 0
    assert run.stderr.startswith("tornado-alf: warning: --client-secret is visible to other users")
    assert CLIENT_SECRET not in run.stderr


async def test_environment_alone_and_flags_winning_over_it(auth_server: AuthServer) -> None:
    assert (await cli("token", env=env_for(auth_server))).status == 0
    wrong = {**env_for(auth_server, secret="wrong"), "TORNADO_ALF_CLIENT_ID": "someone-else"}
    assert (await cli("token", env=wrong)).status == 3
    run = await cli("token", "--client-id", CLIENT_ID, "--client-secret-file", "-",
                    env=wrong, stdin=CLIENT_SECRET.encode())
    assert run.status == 0, run.stderr
    assert auth_server.token_requests == 3


async def test_missing_credentials_are_usage_errors() -> None:
    run = await cli("token", "--token-endpoint", "http://127.0.0.1:9/token")
    assert run.status == 2
    assert run.stderr == "tornado-alf: no client id: pass --client-id or set TORNADO_ALF_CLIENT_ID\n"
    run = await cli("token", "--client-id", CLIENT_ID, env={"TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET})
    assert run.status == 2
    assert run.stderr.startswith("tornado-alf: no token endpoint")


# failures: one line, a status per class


async def test_invalid_client_exits_3_with_one_line(auth_server: AuthServer) -> None:
    run = await cli("token", env=env_for(auth_server, secret="wrong"))
    assert (run.status, run.stdout, run.stderr) == (3, "", INVALID_CLIENT)


async def test_invalid_client_on_fetch_exits_3_and_sends_nothing(auth_server: AuthServer) -> None:
    run = await cli("fetch", auth_server.resource_url, env=env_for(auth_server, secret="wrong"))
    assert (run.status, run.stderr) == (3, INVALID_CLIENT)
    assert auth_server.resource_requests == 0


async def test_token_endpoint_refusing_connections_exits_5() -> None:
    port = free_port()
    run = await cli("token", env={"TORNADO_ALF_TOKEN_ENDPOINT": f"http://127.0.0.1:{port}/token",
                                  "TORNADO_ALF_CLIENT_ID": CLIENT_ID, "TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET})
    assert run.status == 5
    assert run.stderr.startswith(f"tornado-alf: could not reach the token endpoint 127.0.0.1:{port}")
    assert len(run.stderr.splitlines()) == 1
    assert "Traceback" not in run.stderr


async def test_resource_refusing_connections_exits_5(auth_server: AuthServer) -> None:
    run = await cli("fetch", f"http://127.0.0.1:{free_port()}/api", env=env_for(auth_server))
    assert run.status == 5
    assert run.stderr.startswith("tornado-alf: could not reach the resource")
    assert len(run.stderr.splitlines()) == 1


async def test_resource_non_2xx_prints_the_body_and_exits_0_like_curl(auth_server: AuthServer) -> None:
    run = await cli("fetch", auth_server.resource_url + "/status/404", env=env_for(auth_server))
    assert run.status == 0
    assert json.loads(run.stdout)["path"] == "/resource/status/404"


async def test_resource_non_2xx_with_raise_exits_4_without_body(auth_server: AuthServer) -> None:
    url = auth_server.resource_url + "/status/503"
    run = await cli("fetch", "--raise", url, env=env_for(auth_server))
    assert (run.status, run.stdout) == (4, "")
    assert run.stderr == f"tornado-alf: resource answered 503 Service Unavailable: GET {url}\n"


@pytest.mark.parametrize("args", [
    ["token", "--no-such-option"],
    ["fetch"],
    ["nonsense"],
    ["fetch", "http://127.0.0.1:9/", "-H", "no colon"],
    ["fetch", "http://127.0.0.1:9/", "--client-secret-file", "-", "-d", "@-"],
    ["fetch", "http://127.0.0.1:9/", "-d", "@/no/such/file"],
    ["token", "--timeout", "0"],
    ["token", "--token-endpoint", "http://auth.example/token"],  # plain http off the loopback
])
async def test_usage_errors_exit_2(args: list[str]) -> None:
    run = await cli(*args, env={"TORNADO_ALF_TOKEN_ENDPOINT": "http://127.0.0.1:9/token",
                                "TORNADO_ALF_CLIENT_ID": CLIENT_ID, "TORNADO_ALF_CLIENT_SECRET": CLIENT_SECRET})
    assert run.status == 2
    assert "tornado-alf" in run.stderr
    assert "Traceback" not in run.stderr


async def test_ctrl_c_exits_130() -> None:
    asked = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        asked.set()
        await reader.read()  # until the CLI goes away
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    environment = {name: value for name, value in os.environ.items() if not name.startswith("TORNADO_ALF_")}
    environment.pop("PYTHONASYNCIODEBUG", None)
    environment["TORNADO_ALF_CLIENT_SECRET"] = CLIENT_SECRET
    process = await asyncio.create_subprocess_exec(
        *PYTHON_M, "token", "--token-endpoint", f"http://127.0.0.1:{port}/token", "--client-id", CLIENT_ID,
        cwd=ROOT, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    async with server:
        await asked.wait()
        process.send_signal(signal.SIGINT)
        out, err = await process.communicate()
    assert (process.returncode, out, err) == (130, b"", b"tornado-alf: interrupted\n")


# fetch


async def test_fetch_get_writes_the_body(auth_server: AuthServer) -> None:
    run = await cli("fetch", auth_server.resource_url + "/things", env=env_for(auth_server))
    assert (run.status, run.stderr) == (0, "")
    assert json.loads(run.stdout) == {"method": "GET", "path": "/resource/things", "body": ""}
    assert (auth_server.token_requests, auth_server.resource_requests, auth_server.rejected_requests) == (1, 1, 0)


async def test_fetch_post_data(auth_server: AuthServer) -> None:
    run = await cli("fetch", "-d", '{"a": 1}', auth_server.resource_url, env=env_for(auth_server))
    assert json.loads(run.stdout)["method"] == "POST"
    assert json.loads(run.stdout)["body"] == '{"a": 1}'
    run = await cli("fetch", "-X", "put", auth_server.resource_url, env=env_for(auth_server))
    assert json.loads(run.stdout)["method"] == "PUT"


async def test_fetch_data_from_a_file_and_stdin(auth_server: AuthServer, tmp_path: Path) -> None:
    body_file = tmp_path / "body.json"
    body_file.write_bytes(b'{"from": "file"}\n')
    run = await cli("fetch", "-d", f"@{body_file}", auth_server.resource_url, env=env_for(auth_server))
    assert json.loads(run.stdout)["body"] == '{"from": "file"}\n'
    run = await cli("fetch", "--data", "@-", auth_server.resource_url, env=env_for(auth_server),
                    stdin=b"from=stdin")
    assert json.loads(run.stdout)["body"] == "from=stdin"


async def test_fetch_headers_and_include(auth_server: AuthServer, echo: str) -> None:
    run = await cli(
        "fetch", "-i", "-X", "PATCH", "-H", "X-One: 1", "--header", "Content-Type: application/json",
        "-d", "{}", echo + "/api", env=env_for(auth_server),
    )
    assert run.status == 0, run.stderr
    head, _, body = run.stdout.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK\r\n")
    assert "X-Echo: yes" in head.split("\r\n")
    seen = json.loads(body)
    assert (seen["method"], seen["body"]) == ("PATCH", "{}")
    assert seen["headers"]["X-One"] == "1"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["Authorization"].removeprefix("Bearer ") in auth_server.issued


async def test_fetch_refuses_an_authorization_header_of_the_users(auth_server: AuthServer) -> None:
    run = await cli("fetch", "-H", "authorization: Basic bWluZQ==", auth_server.resource_url,
                    env=env_for(auth_server))
    assert run.status == 2
    assert "-H Authorization" in run.stderr
    assert "bWluZQ==" not in run.stderr
    assert (auth_server.token_requests, auth_server.resource_requests) == (0, 0)


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
async def test_verbose_shows_the_exchange_with_secret_and_token_masked(
    auth_server: AuthServer, auth_method: str
) -> None:
    run = await cli("fetch", "--verbose", "--auth-method", auth_method, "-d", "x=1",
                    auth_server.resource_url, env=env_for(auth_server))
    assert run.status == 0, run.stderr
    trace = run.stderr.splitlines()
    assert f"> POST {auth_server.token_endpoint}" in trace
    assert f"> POST {auth_server.resource_url}" in trace
    assert trace.count("< 200 OK") == 2
    assert "> Authorization: Bearer [hidden]" in trace
    assert '< {"access_token": "[hidden]", "token_type": "Bearer", "expires_in": 3600}' in trace
    if auth_method == "client_secret_basic":
        assert "> Authorization: Basic [hidden]" in trace
    else:
        assert "> grant_type=client_credentials&client_id=test-client&client_secret=[hidden]" in trace
    output = run.stdout + run.stderr
    assert len(auth_server.issued) == 1
    assert not [secret for secret in {*secret_spellings(), *auth_server.issued} if secret in output]


async def test_verbose_masks_a_token_the_resource_echoes(auth_server: AuthServer, echo: str) -> None:
    # The echo server quotes the Authorization header back in its JSON: masked by text.
    run = await cli("fetch", "-v", echo, env=env_for(auth_server))
    assert run.status == 0, run.stderr
    token = json.loads(run.stdout)["headers"]["Authorization"].removeprefix("Bearer ")
    assert token in auth_server.issued
    assert token not in run.stderr
    assert '"Authorization": "Bearer [hidden]"' in run.stderr


# help


@pytest.mark.parametrize("command", [[], ["token"], ["fetch"], ["demo"]])
async def test_help(command: list[str]) -> None:
    run = await cli(*command, "--help")
    assert (run.status, run.stderr) == (0, "")
    assert run.stdout.startswith(f"usage: tornado-alf {' '.join(command)}".rstrip())


async def test_installed_console_script() -> None:
    script = shutil.which("tornado-alf")
    if script is None:
        pytest.fail("the tornado-alf console script is not on PATH: install the package (pip install -e .)")
    # PYTHONPATH puts this checkout ahead of whichever one the package was installed from.
    run = await cli("token", "--help", command=[script], env={"PYTHONPATH": str(ROOT)})
    assert run.status == 0, run.stderr
    assert run.stdout.startswith("usage: tornado-alf token")
    assert "--show-token" in run.stdout


async def test_verbose_with_stderr_closed_still_fetches(auth_server: AuthServer) -> None:
    # The trace is diagnostics: a reader gone away (stderr piped to head) must not stall the request.
    read_end, write_end = os.pipe()
    os.close(read_end)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("TORNADO_ALF_")}
    environment.pop("PYTHONASYNCIODEBUG", None)
    process = await asyncio.create_subprocess_exec(
        *PYTHON_M, "fetch", "-v", auth_server.resource_url, cwd=ROOT, env={**environment, **env_for(auth_server)},
        stdout=asyncio.subprocess.PIPE, stderr=write_end,
    )
    os.close(write_end)
    out, _ = await process.communicate()
    assert process.returncode == 0
    assert json.loads(out)["path"] == "/resource"


# private_key_jwt and tls_client_auth


@pytest.mark.parametrize(
    ("key", "given_as", "flags", "expected_header"),
    [
        (RSAKey.generate_key(2048), "pem", ["--verbose"], {"alg": "RS256", "typ": "JWT"}),
        (RSAKey.generate_key(2048), "pem", ["--private-key-id", "k9", "--signing-alg", "PS256"],
         {"alg": "PS256", "typ": "JWT", "kid": "k9"}),
        (ECKey.generate_key("P-256", parameters={"kid": "e1"}), "jwk", [], {"alg": "ES256", "typ": "JWT", "kid": "e1"}),
    ],
    ids=["rsa-pem-verbose", "pem-with-kid-and-ps256", "ec-jwk"],
)
async def test_private_key_jwt_from_a_key_file(
    tmp_path: Path, key: Any, given_as: str, flags: list[str], expected_header: dict[str, str]
) -> None:
    key_file = tmp_path / "client.key"
    private = key.as_pem(private=True).decode() if given_as == "pem" else json.dumps(key.as_dict(private=True))
    key_file.write_text(private)
    public = type(key).import_key(key.as_dict(private=False))
    async with AssertionServer(public, expected_header["alg"]) as server:
        # No --auth-method: a key file implies private_key_jwt.
        run = await cli("token", "--json", "--token-endpoint", server.token_endpoint, "--client-id", JWT_CLIENT_ID,
                        "--private-key-file", str(key_file), *flags)
    assert run.status == 0, run.stderr
    assert json.loads(run.stdout)["token_type"] == "Bearer"
    assert server.headers == [expected_header]
    assert server.claims[0]["aud"] == server.token_endpoint
    private_part = key.as_dict(private=True)["d"]
    assert private_part not in run.stdout + run.stderr
    assert server.assertions[0] not in run.stdout + run.stderr
    if "--verbose" in flags:
        assert "client_assertion=[hidden]" in run.stderr


async def test_private_key_jwt_with_another_key_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "client.key"
    key_file.write_bytes(RSAKey.generate_key(2048).as_pem(private=True))
    public = RSAKey.import_key(RSAKey.generate_key(2048).as_dict(private=False))
    async with AssertionServer(public, "RS256") as server:
        run = await cli("token", "--token-endpoint", server.token_endpoint, "--client-id", JWT_CLIENT_ID,
                        "--auth-method", "private_key_jwt", "--private-key-file", str(key_file))
    assert (run.status, run.stderr) == (3, INVALID_CLIENT)


async def test_tls_client_auth_presents_the_client_certificate(
    pki: Pki, mtls_token_endpoint: tuple[str, list[dict[str, Any]]]  # noqa: F811 - fixtures
) -> None:
    url, log = mtls_token_endpoint
    run = await cli("token", "--token-endpoint", url, "--client-id", "mtls-client",
                    "--client-cert", str(pki.client_cert), "--client-key", str(pki.client_key),
                    "--ca-certs", str(pki.ca_cert))
    assert run.status == 0, run.stderr
    assert "Bearer" in run.stdout
    assert log[0]["form"] == {"grant_type": ["client_credentials"], "client_id": ["mtls-client"]}
    assert "Authorization" not in log[0]["headers"]


async def test_tls_client_auth_with_an_untrusted_certificate_is_refused(
    pki: Pki, mtls_token_endpoint: tuple[str, list[dict[str, Any]]]  # noqa: F811 - fixtures
) -> None:
    url, log = mtls_token_endpoint
    run = await cli("token", "--token-endpoint", url, "--client-id", "mtls-client",
                    "--auth-method", "tls_client_auth", "--client-cert", str(pki.stranger_cert),
                    "--client-key", str(pki.stranger_key), "--ca-certs", str(pki.ca_cert))
    assert run.status == 5
    # The server's refusal of the certificate reaches the client as an SSL alert or, when the
    # handshake is cut first, as an EOF "in violation of protocol": both name the TLS layer.
    assert run.stderr.startswith(f"tornado-alf: could not reach the token endpoint {url.split('/')[2]}: ")
    assert "SSL" in run.stderr or "_ssl.c" in run.stderr
    assert len(run.stderr.splitlines()) == 1
    assert log == []


KEY_MARKER = "do-not-print-this-key-material"


@pytest.mark.parametrize(("flags", "line"), [
    (["--auth-method", "private_key_jwt"], "--auth-method private_key_jwt needs --private-key-file PATH"),
    (["--private-key-file", "/no/such/key"],
     "cannot read the private key from /no/such/key: No such file or directory"),
    (["--private-key-file", "{tmp}/garbage.key"],
     "the private key file {tmp}/garbage.key holds neither a PEM key nor a JWK (JSON object)"),
    (["--private-key-file", "{tmp}/public.pem"],
     "private_key cannot sign <JwtAssertion RS256>: UnsupportedKeyOperationError"),
    (["--auth-method", "client_secret_post", "--private-key-file", "{tmp}/public.pem"],
     "--private-key-file is for --auth-method private_key_jwt, not client_secret_post"),
    (["--auth-method", "tls_client_auth"],
     "--auth-method tls_client_auth needs --client-cert PATH (and --client-key PATH)"),
    (["--client-cert", "/no/such/cert.pem"],
     "cannot read the client certificate from /no/such/cert.pem: No such file or directory"),
    (["--client-key", "{tmp}/garbage.key"], "--client-key needs --client-cert"),
])
async def test_key_and_certificate_usage_errors_exit_2_with_one_line(
    tmp_path: Path, flags: list[str], line: str
) -> None:
    (tmp_path / "garbage.key").write_text(f"not a key {KEY_MARKER}\n")
    (tmp_path / "public.pem").write_bytes(RSAKey.generate_key(2048).as_pem(private=False))
    public_pem = (tmp_path / "public.pem").read_text()
    run = await cli("token", "--token-endpoint", "http://127.0.0.1:9/token", "--client-id", JWT_CLIENT_ID,
                    *(flag.format(tmp=tmp_path) for flag in flags))
    assert (run.status, run.stdout) == (2, "")
    assert run.stderr == f"tornado-alf: {line.format(tmp=tmp_path)}\n"
    assert KEY_MARKER not in run.stderr
    assert public_pem.splitlines()[1] not in run.stderr
