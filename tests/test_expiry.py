"""Caching and expiry of a token: the margin, refresh ahead, max_token_lifetime, the expires_in values."""

from __future__ import annotations

import asyncio
import logging
import math

import pytest

from tests.doubles import client_for
from tests.faultkit import FAST
from tornado_alf._expiry import ExpiryPolicy
from tornado_alf._token import Token
from tornado_alf.testing import AuthServer


def test_margin_is_capped_at_half_the_lifetime() -> None:
    policy = ExpiryPolicy(expiry_margin=30, refresh_ahead=None)
    assert policy.usable_lifetime(Token("t", expires_in=3600)) == 3570
    assert policy.usable_lifetime(Token("t", expires_in=20)) == 10
    assert policy.usable_lifetime(Token("t", expires_in=0)) == 0
    assert policy.usable_lifetime(Token("t")) == math.inf
    assert ExpiryPolicy(max_token_lifetime=300).usable_lifetime(Token("t", expires_in=3600)) == 300
    assert ExpiryPolicy(max_token_lifetime=300).usable_lifetime(Token("t")) == 300


def test_grant_places_deadlines_on_the_monotonic_clock() -> None:
    policy = ExpiryPolicy(expiry_margin=30, refresh_ahead=0.8)
    token = Token("tok-xyz", expires_in=100, issued_at=1_000.0)
    cached = policy.schedule(token, monotonic_now=50.0, wall_now=1_010.0)  # issued 10 s ago
    assert cached.use_until == pytest.approx(40 + 70)
    assert cached.refresh_at == pytest.approx(40 + 56)
    assert cached.authorization == "Bearer tok-xyz"
    assert "tok-xyz" not in repr(cached)


async def test_token_is_reused_until_lifetime_minus_margin(auth_server: AuthServer) -> None:
    auth_server.expires_in = 0.6  # usable for 0.3 s: the margin is capped at half
    client = client_for(auth_server, refresh_ahead=None)
    await client.fetch(auth_server.resource_url)
    await client.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 1
    await asyncio.sleep(0.35)
    await client.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 2


async def test_refresh_ahead_fetches_in_the_background_while_the_old_token_serves(auth_server: AuthServer) -> None:
    auth_server.expires_in = 2
    client = client_for(auth_server, expiry_margin=0, refresh_ahead=0.1)
    await client.fetch(auth_server.resource_url)
    old = auth_server.last_resource_authorization
    await asyncio.sleep(0.25)
    auth_server.token_latency = 0.2
    auth_server.expires_in = 3600  # the replacement lives long: exactly one refresh
    await client.fetch(auth_server.resource_url)
    assert auth_server.last_resource_authorization == old  # did not wait for the new token
    await asyncio.sleep(0.3)
    await client.fetch(auth_server.resource_url)
    assert auth_server.last_resource_authorization != old
    assert auth_server.token_requests == 2


async def test_failed_refresh_ahead_keeps_the_current_token(
    auth_server: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    auth_server.expires_in = 10
    client = client_for(auth_server, expiry_margin=0, refresh_ahead=0.01)
    await client.fetch(auth_server.resource_url)
    old = auth_server.last_resource_authorization
    auth_server.fail_next(status=500)
    await asyncio.sleep(0.15)
    for _ in range(3):
        assert (await client.fetch(auth_server.resource_url)).code == 200
        await asyncio.sleep(0.02)
    assert auth_server.last_resource_authorization == old
    assert auth_server.token_requests == 2  # one failed refresh, no storm of retries
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("background token refresh failed" in message for message in warnings)


async def test_max_token_lifetime_caps_reuse(auth_server: AuthServer) -> None:
    auth_server.expires_in = None
    client = client_for(auth_server, max_token_lifetime=0.2, refresh_ahead=None)
    await client.fetch(auth_server.resource_url)
    await client.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 1
    await asyncio.sleep(0.25)
    await client.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 2


async def test_missing_expires_in_is_used_until_rejected(auth_server: AuthServer) -> None:
    auth_server.expires_in = None
    client = client_for(auth_server)
    for _ in range(5):
        await client.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 1
    auth_server.revoke_all()
    await client.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 2


async def test_expires_in_zero_serves_its_waiters_and_is_not_cached(auth_server: AuthServer) -> None:
    auth_server.expires_in = 0
    client = client_for(auth_server)
    responses = await asyncio.gather(*(client.fetch(auth_server.resource_url) for _ in range(50)))
    assert {response.code for response in responses} == {200}
    assert auth_server.token_requests == 1
    await client.fetch(auth_server.resource_url)
    assert auth_server.token_requests == 2


async def test_expires_in_huge_is_cached_like_any_token(auth_server: AuthServer) -> None:
    auth_server.expires_in = 1e300
    client = client_for(auth_server, http_options=FAST)
    try:
        for _ in range(3):
            assert (await client.fetch(auth_server.resource_url)).code == 200
        assert auth_server.token_requests == 1
        assert "token valid" in repr(client)
    finally:
        client.close()
