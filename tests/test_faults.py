"""Token endpoint faults against real servers on 127.0.0.1: a usable token or a clear TokenError.

Whatever the token endpoint does, `fetch` ends in one of two ways: the resource
gets the token the endpoint issued, or `TokenError` says what was wrong and the
resource is never asked (counted at the resource).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Optional

import pytest
from tornado.httpclient import HTTPRequest, HTTPResponse

from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.doubles import client_for, refused_url
from tests.faultkit import (
    BODIES_OF_200,
    FAST,
    RAW_FAULTS,
    InstantHTTPClient,
    RawServer,
    Script,
    response,
    token_error,
    trickle,
)
from tornado_alf import Retry, TokenError, TornadoClient
from tornado_alf.testing import AuthServer


@pytest.mark.parametrize(("body", "problem"), [case[1:] for case in BODIES_OF_200],
                         ids=[case[0] for case in BODIES_OF_200])
async def test_a_200_answer_gives_the_issued_token_or_says_what_was_wrong(
    auth_server: AuthServer, body: bytes, problem: Optional[str]
) -> None:
    token = auth_server.issue_token()
    auth_server.fail_next(status=200, body=body.replace(b"{token}", token.encode()),
                          headers={"Content-Type": "application/json"})
    client = client_for(auth_server, http_options=FAST)
    try:
        if problem is None:
            response = await client.fetch(auth_server.resource_url)
            assert response.code == 200
            assert auth_server.resource_requests == 1  # sent once, with the issued token
        else:
            error = await token_error(client, auth_server, raise_error=False)
            assert error.code == 200
            assert problem in str(error)
            assert error.response is not None
            assert error.response.code == 200
    finally:
        client.close()


async def test_a_gzip_body_that_is_not_gzip_is_a_token_error(auth_server: AuthServer) -> None:
    auth_server.fail_next(status=200, body=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    client = client_for(auth_server, http_options=FAST)
    try:
        error = await token_error(client, auth_server)
        # The body could not be read, as with a connection cut mid-answer: a transport failure.
        assert error.code == 599
        assert error.response is None or error.response.code == 599
    finally:
        client.close()


@pytest.mark.parametrize(("script", "problem"), [case[1:] for case in RAW_FAULTS],
                         ids=[case[0] for case in RAW_FAULTS])
async def test_a_broken_connection_is_a_599_token_error(
    auth_server: AuthServer, script: Script, problem: tuple[str, ...]
) -> None:
    async with RawServer(script) as raw:
        client = client_for(auth_server, http_options=FAST, token_endpoint=raw.url)
        try:
            started = time.monotonic()
            error = await token_error(client, auth_server)
            assert time.monotonic() - started < 3  # bounded by request_timeout=0.5
            assert error.code == 599
            assert error.response is None or error.response.code == 599
            assert any(fragment in str(error) for fragment in problem), str(error)
            assert raw.connections == 1
        finally:
            client.close()


async def test_connection_refused_is_a_599_token_error(auth_server: AuthServer) -> None:
    client = client_for(
        auth_server, http_options=FAST, token_endpoint=refused_url(), token_retry=Retry(total=2, backoff_factor=0)
    )
    try:
        error = await token_error(client, auth_server)
        assert error.code == 599
        assert error.response is None
        assert "Connection refused" in str(error) or "Could not connect" in str(error)  # simple, Curl
    finally:
        client.close()


async def test_a_never_ending_answer_is_cut_by_http_options_request_timeout(auth_server: AuthServer) -> None:
    async with RawServer(trickle(interval=0.01)) as raw:
        client = client_for(auth_server, token_endpoint=raw.url, http_options={"request_timeout": 0.3})
        try:
            started = time.monotonic()
            error = await token_error(client, auth_server)
            elapsed = time.monotonic() - started
            assert error.code == 599
            assert "Timeout" in str(error) or "timed out" in str(error)  # simple, Curl
            assert 0.25 < elapsed < 2
        finally:
            client.close()


async def test_a_redirecting_token_endpoint_is_not_followed(auth_server: AuthServer) -> None:
    auth_server.fail_next(status=307, headers={"Location": auth_server.token_endpoint})
    client = client_for(auth_server, http_options=FAST)
    try:
        error = await token_error(client, auth_server)
        assert error.code == 307
        assert "redirected" in str(error)
        assert auth_server.token_requests == 1  # the Location was not asked
    finally:
        client.close()


@pytest.mark.parametrize("failure", [{"status": 500}, {"status": 200, "body": b"[]"}], ids=["500", "unusable 200"])
async def test_every_waiter_of_a_failed_request_gets_the_token_error_and_the_next_fetch_tries_again(
    auth_server: AuthServer, failure: dict[str, Any]
) -> None:
    auth_server.token_latency = 0.05
    auth_server.fail_next(**failure)
    client = client_for(auth_server, http_options=FAST)
    try:
        results = await asyncio.gather(
            *(client.fetch(auth_server.resource_url) for _ in range(50)), return_exceptions=True
        )
        assert all(type(result) is TokenError for result in results)
        assert auth_server.token_requests == 1
        assert auth_server.resource_requests == 0
        assert (await client.fetch(auth_server.resource_url)).code == 200
        assert auth_server.token_requests == 2
        assert auth_server.resource_requests == 1
    finally:
        client.close()


def recording_client(seen: list[tuple[str, object, object]]) -> InstantHTTPClient:
    """An in-process HTTP client whose defaults say "no timeout", recording each request's deadlines."""

    def handler(request: HTTPRequest) -> HTTPResponse:
        seen.append((request.url, request.connect_timeout, request.request_timeout))
        if request.url.endswith("/token"):
            return response(request, 200, {"access_token": "issued", "expires_in": 60})
        return response(request, 200, {})

    return InstantHTTPClient(force_instance=True, handler=handler,
                             defaults={"connect_timeout": 0, "request_timeout": 0})


async def test_token_requests_have_a_deadline_whatever_the_http_client_defaults() -> None:
    seen: list[tuple[str, object, object]] = []
    http = recording_client(seen)
    client = TornadoClient("http://127.0.0.1:1/token", CLIENT_ID, CLIENT_SECRET, http_client=http)
    try:
        await client.fetch("http://127.0.0.1:1/resource")
        assert seen == [
            ("http://127.0.0.1:1/token", 20.0, 20.0),  # the token request: bounded
            ("http://127.0.0.1:1/resource", 0, 0),  # the caller's request: the client's defaults
        ]
    finally:
        client.close()
        http.close()


async def test_http_options_set_the_token_request_deadline() -> None:
    seen: list[tuple[str, object, object]] = []
    http = recording_client(seen)
    client = TornadoClient("http://127.0.0.1:1/token", CLIENT_ID, CLIENT_SECRET, http_client=http,
                           http_options={"request_timeout": 0.5, "connect_timeout": None})
    try:
        await client.fetch("http://127.0.0.1:1/resource")
        assert seen[0] == ("http://127.0.0.1:1/token", 20.0, 0.5)
    finally:
        client.close()
        http.close()


@pytest.mark.parametrize("options", [
    {"request_timeout": 0}, {"connect_timeout": 0}, {"request_timeout": -1},
    {"request_timeout": float("inf")}, {"request_timeout": "10"},
])
def test_a_token_request_without_a_deadline_is_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be a number of seconds > 0"):
        TornadoClient("http://127.0.0.1:1/token", CLIENT_ID, CLIENT_SECRET, http_options=options)
