"""What the architecture pass promised beyond the layer check: one log line per retry per logger."""

from __future__ import annotations

import logging
import re
from typing import Any, Optional

import pytest

from tornado_alf import LoggingHooks, Retry, TornadoClient
from tornado_alf.testing import AuthServer

from .conftest import CLIENT_ID, CLIENT_SECRET

QUICK_RETRY = Retry(total=2, backoff_factor=0.001, status_forcelist=(503,))


def retry_lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[tuple[int, str]]:
    """Every record of ``logger`` about a retry, whatever its wording."""
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == logger]
    return [(level, text) for level, text in lines if re.search(r"\bretry \d+ of \d+", text)]


@pytest.mark.parametrize("hooks", [None, LoggingHooks()], ids=["no hooks", "LoggingHooks"])
async def test_each_retry_is_logged_once_at_info(
    auth_server: AuthServer, caplog: pytest.LogCaptureFixture, hooks: Optional[Any]
) -> None:
    auth_server.fail_next(times=2, status=503)
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_retry=QUICK_RETRY, hooks=hooks)
    await client.fetch(auth_server.resource_url)
    host = auth_server.token_endpoint.split("/")[2]
    assert retry_lines(caplog, "tornado_alf") == [
        (logging.INFO, f"token request to {host} answered 503: retry 1 of 2 in 0.000 s"),
        (logging.INFO, f"token request to {host} answered 503: retry 2 of 2 in 0.002 s"),
    ]
    assert client.stats().retries == 2
    client.close()


async def test_logging_hooks_on_another_logger_log_each_retry_there_once(
    auth_server: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    auth_server.fail_next(status=503)
    hooks = LoggingHooks(logging.getLogger("myapp.oauth"))
    client = TornadoClient(auth_server.token_endpoint, CLIENT_ID, CLIENT_SECRET, token_retry=QUICK_RETRY, hooks=hooks)
    await client.fetch(auth_server.resource_url)
    assert len(retry_lines(caplog, "myapp.oauth")) == 1
    assert len(retry_lines(caplog, "tornado_alf")) == 1
    client.close()
