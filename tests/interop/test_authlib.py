"""Rotating credentials, client assertions and the JWT-bearer grant against Authlib's authorization server.

The server (tests/interop/authlib_server.py) is Authlib's Flask integration in its own
process; it reads the client secret and the platform key from files on every request,
so rewriting them rotates credentials at the server. No Authlib import here.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from tornado.httpclient import AsyncHTTPClient

from tests.doubles import Callers
from tornado_alf import FileSecret, JwtBearerGrant, TokenError, TornadoClient

SERVER = Path(__file__).with_name("authlib_server.py")
READY_TIMEOUT = 30.0


class Authlib:
    """A running Authlib server: its origin and the files it reads."""

    def __init__(self, directory: Path, origin: str, platform: RSAKey) -> None:
        self.directory = directory
        self.origin = origin
        self.platform = platform

    @property
    def token_endpoint(self) -> str:
        return self.origin + "/token"

    @property
    def resource_url(self) -> str:
        return self.origin + "/resource"

    def set(self, name: str, value: str) -> None:
        write(self.directory / name, value)

    async def revoke_all(self) -> None:
        await AsyncHTTPClient().fetch(self.origin + "/revoke-all", method="POST", body=b"")

    def assertion(self, issuer: str, subject: str, lifetime: float = 600) -> str:
        """A JWT the platform signs, for the token endpoint."""
        now = int(time.time())
        claims = {"iss": issuer, "sub": subject, "aud": self.token_endpoint, "iat": now, "exp": now + lifetime,
                  "jti": secrets.token_urlsafe(12)}
        token: str = jwt.encode({"alg": "RS256"}, claims, self.platform)
        return token


def write(path: Path, text: str) -> None:
    """Replace ``path`` whole (a new file renamed over it), as Kubernetes and secret agents do."""
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(text + "\n")
    os.replace(temporary, path)


def run_authlib(directory: Path) -> Iterator[Authlib]:
    platform = RSAKey.generate_key(2048)
    write(directory / "platform.jwk", json.dumps(platform.as_dict(private=False)))
    write(directory / "secret", "first-secret")
    write(directory / "expires_in", "3600")
    log = (directory / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(SERVER), str(directory)], stdout=subprocess.PIPE, stderr=log, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"Authlib server did not start:\n{(directory / 'server.log').read_text()[-2000:]}")
        yield Authlib(directory, json.loads(line)["origin"], platform)
    finally:
        process.terminate()
        process.wait(timeout=READY_TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()
        log.close()


@pytest.fixture(scope="module")
def authlib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Authlib]:
    yield from run_authlib(tmp_path_factory.mktemp("authlib"))


@pytest.fixture(autouse=True)
def _fresh(authlib: Authlib) -> None:
    authlib.set("secret", "first-secret")
    authlib.set("expires_in", "3600")


async def call(client: TornadoClient, url: str) -> dict[str, str]:
    response = await client.fetch(url)
    result: dict[str, str] = json.loads(response.body)
    return result


async def test_a_secret_rotated_on_disk_and_revoked_at_authlib_costs_no_call(
    authlib: Authlib, tmp_path: Path
) -> None:
    client_file = tmp_path / "client-secret"
    write(client_file, "first-secret")
    client = TornadoClient(authlib.token_endpoint, "secret-client", FileSecret(client_file))
    callers = Callers(client, authlib.resource_url, count=4, pause=0.002)
    for rotation in range(3):
        await callers.fifty_more()  # rotate under way, every 50 calls
        new = f"rotated-secret-{rotation}"
        write(client_file, new)  # the new secret is deployed ...
        authlib.set("secret", new)  # ... and the old one revoked at the server,
        await authlib.revoke_all()  # with every token it got
    await callers.fifty_more()
    await callers.stop()
    client.close()
    print(f"\nAuthlib secret rotation: {callers.calls} calls, {callers.failures} failed, 3 rotations")
    assert callers.failures == 0


async def test_the_rotation_race_against_authlib(authlib: Authlib, tmp_path: Path) -> None:
    client_file = tmp_path / "client-secret"
    write(client_file, "first-secret")
    asked: list[str] = []

    def from_vault() -> str:
        # The vault had the new secret one read before the client saw it.
        asked.append("read")
        return "first-secret" if len(asked) <= 2 else "raced-secret"

    client = TornadoClient(authlib.token_endpoint, "secret-client", from_vault)
    await client.fetch(authlib.resource_url)
    authlib.set("secret", "raced-secret")
    await authlib.revoke_all()
    assert (await client.fetch(authlib.resource_url)).code == 200
    client.close()
    # A callable is asked before each acquisition: the first token; the second acquisition's
    # (refused: invalid_client); read again at once, changed; asked as the acquisition starts over.
    assert len(asked) == 4


async def test_client_assertion_file_against_authlib(authlib: Authlib, tmp_path: Path) -> None:
    path = tmp_path / "federated-token"
    write(path, authlib.assertion("assertion-client", "assertion-client"))
    client = TornadoClient(authlib.token_endpoint, "assertion-client", client_assertion=FileSecret(path))
    assert (await call(client, authlib.resource_url))["client"] == "assertion-client"
    client.close()


async def test_an_expired_client_assertion_is_never_sent_to_authlib(authlib: Authlib, tmp_path: Path) -> None:
    path = tmp_path / "federated-token"
    write(path, authlib.assertion("assertion-client", "assertion-client", lifetime=-60))
    client = TornadoClient(authlib.token_endpoint, "assertion-client", client_assertion=FileSecret(path))
    with pytest.raises(TokenError, match="has expired"):
        await client.get_token()
    client.close()


async def test_assertion_file_replaced_every_second_under_load_against_authlib(
    authlib: Authlib, tmp_path: Path
) -> None:
    # Compressed: a 1 s replacement period over 6 s, tokens of 2 s (benchmarks/rotation.py runs 10 s over 60 s).
    authlib.set("expires_in", "2")
    path = tmp_path / "federated-token"
    write(path, authlib.assertion("assertion-client", "assertion-client", lifetime=10))
    client = TornadoClient(authlib.token_endpoint, "assertion-client", client_assertion=FileSecret(path),
                           expiry_margin=0.5)
    callers = Callers(client, authlib.resource_url, count=4, pause=0.005)
    for _ in range(6):  # the platform replaces the assertion every second
        await asyncio.sleep(1)
        write(path, authlib.assertion("assertion-client", "assertion-client", lifetime=10))
    await callers.stop()
    stats = client.stats()
    client.close()
    print(f"\nAuthlib assertion rotation: {callers.calls} calls, {callers.failures} failed")
    assert (callers.failures, callers.calls > 50, stats.token_requests >= 3) == (0, True, True)


async def test_jwt_bearer_grant_against_authlib(authlib: Authlib, tmp_path: Path) -> None:
    path = tmp_path / "assertion"
    write(path, authlib.assertion("bearer-client", "user-42"))
    client = TornadoClient(authlib.token_endpoint, "bearer-client", auth_method="none",
                           grant=JwtBearerGrant(FileSecret(path)))
    assert await call(client, authlib.resource_url) == {"client": "bearer-client", "user": "user-42"}
    # A new assertion for another subject, and every token revoked: the new one is read and used.
    write(path, authlib.assertion("bearer-client", "user-43"))
    await authlib.revoke_all()
    assert (await call(client, authlib.resource_url))["user"] == "user-43"
    client.close()


async def test_jwt_bearer_grant_with_a_foreign_signature_is_refused_by_authlib(authlib: Authlib) -> None:
    stranger = RSAKey.generate_key(2048)
    now = int(time.time())
    forged: str = jwt.encode({"alg": "RS256"}, {"iss": "bearer-client", "sub": "user-1", "aud": authlib.token_endpoint,
                                                "exp": now + 60}, stranger)
    client = TornadoClient(authlib.token_endpoint, "bearer-client", auth_method="none", grant=JwtBearerGrant(forged))
    with pytest.raises(TokenError) as caught:
        await client.get_token()
    client.close()
    assert caught.value.error == "invalid_grant"
    assert forged not in str(caught.value)
