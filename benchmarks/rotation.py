"""Credentials rotated under load against Authlib's server: ``python -m benchmarks.rotation [--quick]``.

Two phases against tests/interop/authlib_server.py (Authlib's Flask integration, in its
own process on 127.0.0.1), each with callers fetching the protected resource without pause:

1. assertion: the client authenticates with a platform token in a file (``client_assertion=
   FileSecret(...)``) that the "platform" replaces every ``--period`` seconds (each valid for three
   periods); tokens live half a period, so every assertion is used for token requests;
2. secret: the client secret in a file is rotated every ``--period`` seconds and the old one
   revoked at the server, with every token it got.

Prints calls, failed calls and token requests per phase. Default: 60 s with a 10 s period;
``--quick``: 6 s with a 1 s period.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Callable, Optional

from joserfc import jwt
from joserfc.jwk import RSAKey
from tornado.httpclient import AsyncHTTPClient

from tornado_alf import FileSecret, TornadoClient

SERVER = Path(__file__).resolve().parent.parent / "tests" / "interop" / "authlib_server.py"
CALLERS = 8


def write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(text + "\n")
    os.replace(temporary, path)


def assertion(platform: RSAKey, token_endpoint: str, lifetime: float) -> str:
    now = int(time.time())
    claims = {"iss": "assertion-client", "sub": "assertion-client", "aud": token_endpoint, "iat": now,
              "exp": now + lifetime, "jti": secrets.token_urlsafe(12)}
    token: str = jwt.encode({"alg": "RS256"}, claims, platform)
    return token


async def under_load(client: TornadoClient, url: str, duration: float,
                     rotate: Callable[[], Awaitable[None]], period: float) -> tuple[int, int]:
    """``(calls, failures)`` of CALLERS callers over ``duration`` while ``rotate`` runs every ``period``."""
    deadline = time.monotonic() + duration
    calls = failures = 0

    async def caller() -> None:
        nonlocal calls, failures
        while time.monotonic() < deadline:
            response = await client.fetch(url, raise_error=False)
            calls += 1
            failures += response.code != 200
            await asyncio.sleep(0.001)

    async def rotator() -> None:
        while time.monotonic() + period < deadline:
            await asyncio.sleep(period)
            await rotate()

    await asyncio.gather(rotator(), *(caller() for _ in range(CALLERS)))
    return calls, failures


async def phases(origin: str, directory: Path, platform: RSAKey, duration: float, period: float) -> list[str]:
    token_endpoint, resource = origin + "/token", origin + "/resource"
    lines = []
    write(directory / "expires_in", str(max(1, int(period / 2))))
    token_file = directory / "client-federated-token"
    write(token_file, assertion(platform, token_endpoint, period * 3))

    async def replace_assertion() -> None:
        write(token_file, assertion(platform, token_endpoint, period * 3))

    client = TornadoClient(token_endpoint, "assertion-client", client_assertion=FileSecret(token_file),
                           expiry_margin=0.2)
    calls, failures = await under_load(client, resource, duration, replace_assertion, period)
    lines.append(f"| assertion file replaced every {period:g} s for {duration:g} s | {calls:,} | {failures} | "
                 f"{client.stats().token_requests} |")
    client.close()

    write(directory / "expires_in", "3600")
    secret_file = directory / "client-secret"
    write(secret_file, "first-secret")
    write(directory / "secret", "first-secret")
    rotations = 0

    async def rotate_secret() -> None:
        nonlocal rotations
        rotations += 1
        new = f"secret-{rotations}-{secrets.token_hex(8)}"
        write(secret_file, new)  # deployed to the client's file, then revoked at the server
        write(directory / "secret", new)
        await AsyncHTTPClient().fetch(origin + "/revoke-all", method="POST", body=b"")

    client = TornadoClient(token_endpoint, "secret-client", FileSecret(secret_file))
    calls, failures = await under_load(client, resource, duration, rotate_secret, period)
    lines.append(f"| secret file rotated and revoked every {period:g} s for {duration:g} s ({rotations} rotations) "
                 f"| {calls:,} | {failures} | {client.stats().token_requests} |")
    client.close()
    return lines


def main(argv: Optional[list[str]] = None) -> None:
    """Start Authlib's server, run both phases, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rotation", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--period", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="6 s with a 1 s period")
    args = parser.parse_args(argv)
    duration, period = (6.0, 1.0) if args.quick else (args.duration, args.period)
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        platform = RSAKey.generate_key(2048)
        write(directory / "platform.jwk", json.dumps(platform.as_dict(private=False)))
        write(directory / "secret", "first-secret")
        write(directory / "expires_in", "3600")
        with (directory / "server.log").open("w") as log:
            server = subprocess.Popen(  # noqa: S603 - our own script
                [sys.executable, str(SERVER), name], stdout=subprocess.PIPE, stderr=log, text=True,
            )
            try:
                assert server.stdout is not None
                origin = json.loads(server.stdout.readline())["origin"]
                lines = asyncio.run(phases(origin, directory, platform, duration, period))
            finally:
                server.terminate()
                server.wait(timeout=30)
                if server.stdout is not None:
                    server.stdout.close()
    print(f"Rotation under load against Authlib's server ({CALLERS} callers without pause)")
    print("| phase | calls | failed | token requests |")
    print("|---|---:|---:|---:|")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
