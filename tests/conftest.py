"""Shared fixtures: a local authorization server per test, and a guard against leaked secrets."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator

import pytest
import tornado
from tornado.httpclient import AsyncHTTPClient

from tornado_alf.testing import AuthServer

#: Credentials every test server issues to; the leak guard hunts for them.
CLIENT_ID = "test-client"
CLIENT_SECRET = "s3cr3t-p@ss w+rd:/%&=?"  # the secret the issue names as the hard case

#: Servers started during the current test, whose issued tokens must not leak either.
SERVERS_THIS_TEST: list[AuthServer] = []


@pytest.fixture
async def auth_server() -> AsyncIterator[AuthServer]:
    """A token endpoint and protected resource on 127.0.0.1, fresh for each test."""
    async with AuthServer(CLIENT_ID, CLIENT_SECRET) as server:
        SERVERS_THIS_TEST.append(server)
        yield server


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test during which a log record shows the client secret or an issued token."""
    caplog.set_level(logging.DEBUG)
    yield
    secrets = {CLIENT_SECRET}
    for server in SERVERS_THIS_TEST:
        secrets.update(server.issued)
    SERVERS_THIS_TEST.clear()
    for record in caplog.records:
        text = record.getMessage()
        leaked = [name for name in secrets if name in text]
        assert not leaked, f"log record from {record.name} leaks a secret or token"


@pytest.fixture(autouse=True)
def no_lost_asyncio_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test during which asyncio reported an exception nobody retrieved or a task lost pending.

    asyncio logs these (it does not warn), so ``-W error`` alone would let them pass.
    """
    yield
    lost = [
        record.getMessage().splitlines()[0]
        for phase in ("setup", "call")
        for record in caplog.get_records(phase)
        if record.name == "asyncio" and record.levelno >= logging.ERROR
    ]
    assert not lost, f"asyncio reported: {lost}"


# --- Which Tornado HTTP client the run uses (transport) -------------------------------------------
# ``python -m pytest --http-client=curl`` (or TORNADO_ALF_TEST_HTTP_CLIENT=curl) configures
# AsyncHTTPClient to CurlAsyncHTTPClient for the whole run, so every test that leaves
# ``http_client`` unset runs on Curl; CI runs the core tests under both (.ci/tornado-matrix).


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--http-client", choices=("simple", "curl"),
        default=os.environ.get("TORNADO_ALF_TEST_HTTP_CLIENT", "simple"),
        help="Tornado HTTP client behind AsyncHTTPClient() for this run (default: simple)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--http-client") == "curl":
        AsyncHTTPClient.configure("tornado.curl_httpclient.CurlAsyncHTTPClient")


def pytest_report_header(config: pytest.Config) -> str:
    return f"tornado {tornado.version}, http client: {AsyncHTTPClient.configured_class().__name__}"
