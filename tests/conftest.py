"""Shared fixtures: a local authorization server per test, and a guard against leaked secrets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from tornado_alf.testing import AuthServer

#: Credentials every test server issues to; the leak guard hunts for them.
CLIENT_ID = "test-client"
CLIENT_SECRET = "s3cr3t-p@ss w+rd:/%&=?"  # the secret the issue names as the hard case


@pytest.fixture
async def auth_server() -> AsyncIterator[AuthServer]:
    """A token endpoint and protected resource on 127.0.0.1, fresh for each test."""
    async with AuthServer(CLIENT_ID, CLIENT_SECRET) as server:
        yield server


@pytest.fixture(autouse=True)
def no_secret_in_logs(
    caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Fail any test during which a log record shows the client secret or an issued token."""
    caplog.set_level(logging.DEBUG)
    yield
    secrets = {CLIENT_SECRET}
    if "auth_server" in request.fixturenames:
        server: AuthServer = request.getfixturevalue("auth_server")
        secrets.update(server.issued)
    for record in caplog.records:
        text = record.getMessage()
        leaked = [name for name in secrets if name in text]
        assert not leaked, f"log record from {record.name} leaks a secret or token"
