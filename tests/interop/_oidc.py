"""Running node oidc-provider (server.mjs) with clients, keys and certificates made here.

``npm ci`` runs first when ``node_modules`` is missing (a fresh clone, CI). There are no
skips: without node and npm the interop tests fail and say what to install.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
import selectors
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.jwt import JWTClaimsRegistry
from tornado.web import RequestHandler

from tests.interop._pki import CLIENT_SAN_DNS, Pki, make_pki

HERE = Path(__file__).parent
READY_TIMEOUT = 30.0
NPM_CI_TIMEOUT = 300
RESOURCE = "https://api.interop.tornado-alf.test"
OTHER_RESOURCE = "https://other.interop.tornado-alf.test"
# Reserved characters exercise RFC 6749 sec. 2.3.1 form-encoding of Basic credentials.
AWKWARD = "a:b+c%d e/f&g="


@dataclasses.dataclass(frozen=True)
class OidcProvider:
    """A running oidc-provider and the credentials of the clients registered with it."""

    issuer: str
    mtls_origin: str
    secrets: dict[str, str] = dataclasses.field(repr=False)
    rsa_key: RSAKey = dataclasses.field(repr=False)  # registered with private-key-client, kid "rsa-1"
    ec_key: ECKey = dataclasses.field(repr=False)  # registered with private-key-client, kid "ec-1"
    pki: Pki = dataclasses.field(repr=False)

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    @property
    def mtls_token_endpoint(self) -> str:
        return f"{self.mtls_origin}/token"


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(
            f"{tool} not found: the interop tests run node oidc-provider and need Node.js >= 18 "
            "with npm on PATH (e.g. apt-get install nodejs npm)",
            pytrace=False,
        )
    return path


def _npm_ci() -> None:
    if (HERE / "node_modules" / ".package-lock.json").exists():
        return
    npm = _require("npm")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=NPM_CI_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci failed in {HERE}:\n{result.stderr[-2000:]}", pytrace=False)


def _client(client_id: str, auth_method: str, **metadata: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "grant_types": ["client_credentials"],
        "response_types": [],
        "redirect_uris": [],
        "token_endpoint_auth_method": auth_method,
        "scope": "read write",
        **metadata,
    }


def _configuration(client_secrets: dict[str, str], rsa: RSAKey, ec: ECKey, pki: Pki) -> dict[str, Any]:
    public_jwks = {"keys": [rsa.as_dict(private=False), ec.as_dict(private=False)]}
    clients = [
        _client("basic-client", "client_secret_basic", client_secret=client_secrets["basic-client"]),
        _client("post-client", "client_secret_post", client_secret=client_secrets["post-client"]),
        _client("jwt-client", "client_secret_jwt", client_secret=client_secrets["jwt-client"]),
        _client("private-key-client", "private_key_jwt", jwks=public_jwks),
        _client("mtls-client", "tls_client_auth", tls_client_auth_san_dns=CLIENT_SAN_DNS),
        _client("public-client", "none"),
        _client("dpop-client", "client_secret_basic", client_secret=client_secrets["dpop-client"],
                dpop_bound_access_tokens=True),
        _client("mtls-bound-client", "tls_client_auth", tls_client_auth_san_dns=CLIENT_SAN_DNS,
                tls_client_certificate_bound_access_tokens=True),
        # Registered for the authorization code grant only: unauthorized_client here.
        {
            **_client("code-client", "client_secret_basic", client_secret=client_secrets["code-client"]),
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": ["https://rp.tornado-alf.test/callback"],
        },
    ]
    return {
        "clients": clients,
        "scopes": ["read", "write", "admin"],
        "resources": {RESOURCE: "read write", OTHER_RESOURCE: "read"},
        "tls": {
            "cert": pki.text("server_cert"),
            "key": pki.text("server_key"),
            "ca": pki.text("ca_cert"),
        },
    }


def _read_ready_line(process: subprocess.Popen[str], stderr_path: Path) -> dict[str, Any]:
    """The JSON line the server prints once it listens; fail with its stderr otherwise."""
    assert process.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                line = process.stdout.readline()
                if line:
                    ready: dict[str, Any] = json.loads(line)
                    return ready
            if process.poll() is not None:
                break
    process.kill()
    pytest.fail(f"oidc-provider did not start:\n{stderr_path.read_text()[-2000:]}", pytrace=False)


@contextlib.contextmanager
def run_oidc_provider(directory: Path) -> Iterator[OidcProvider]:
    """Start oidc-provider on 127.0.0.1 ports the OS picks; stop it on exit."""
    node = _require("node")
    _npm_ci()
    pki = make_pki(directory)
    client_secrets = {
        "basic-client": AWKWARD + secrets.token_urlsafe(32),
        "post-client": AWKWARD + secrets.token_urlsafe(32),
        "jwt-client": secrets.token_urlsafe(48),
        "code-client": secrets.token_urlsafe(32),
        "dpop-client": secrets.token_urlsafe(32),
    }
    rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
    stderr_path = directory / "stderr.log"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [node, str(HERE / "server.mjs")],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert process.stdin is not None
        process.stdin.write(json.dumps(_configuration(client_secrets, rsa, ec, pki)))
        process.stdin.close()
        ready = _read_ready_line(process, stderr_path)
        yield OidcProvider(ready["issuer"], ready["mtls_origin"], client_secrets, rsa, ec, pki)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


class JwtResource(RequestHandler):
    """A resource server that accepts oidc-provider's JWT access tokens for RESOURCE."""

    def initialize(self, keys: KeySet, issuer: str) -> None:
        self.keys = keys
        self.issuer = issuer

    def get(self) -> None:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer":
            self.reject('Bearer realm="interop"')
            return
        registry = JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": RESOURCE},
            exp={"essential": True},
        )
        try:
            claims = jwt.decode(token, self.keys, algorithms=["RS256"]).claims
            registry.validate(claims)
        except JoseError:
            self.reject('Bearer realm="interop", error="invalid_token"')
            return
        self.finish({"client_id": claims["client_id"], "scope": claims.get("scope")})

    def reject(self, challenge: str) -> None:
        self.set_status(401)
        self.set_header("WWW-Authenticate", challenge)
        self.finish()
