"""Which resource answers make the client get a new token: reauth_statuses and RFC 6750 challenges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Optional

import pytest
from tornado.httpclient import HTTPClientError
from tornado.web import Application, RequestHandler

from tests._serve import serve
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.doubles import client_for
from tornado_alf import TornadoClient, bearer_challenge
from tornado_alf.testing import AuthServer


class Rejecting:
    """A resource that answers its first ``rejections`` requests with ``status`` and ``challenge``."""

    def __init__(self) -> None:
        self.status = 401
        self.challenge: Optional[str] = None
        self.rejections = 1
        self.hits = 0
        self.url = ""


class _Handler(RequestHandler):
    def initialize(self, resource: Rejecting) -> None:
        self.resource = resource

    def get(self) -> None:
        resource = self.resource
        resource.hits += 1
        if resource.hits <= resource.rejections:
            self.set_status(resource.status)
            if resource.challenge is not None:
                self.set_header("WWW-Authenticate", resource.challenge)
            self.finish()
        else:
            self.finish("ok")


@pytest.fixture
async def resource() -> AsyncIterator[Rejecting]:
    state = Rejecting()
    async with serve(Application([(r"/", _Handler, {"resource": state})])) as origin:
        state.url = origin + "/"
        yield state


@pytest.mark.parametrize(
    "challenge",
    [
        'Bearer realm="api", error="invalid_token", error_description="expired"',
        'Bearer realm="api"',  # no error: the request had no usable token in the server's eyes
        None,  # no challenge at all
        'Basic realm="api"',  # another scheme only
        'Bearer error="invalid_token", Basic realm="x"',
    ],
)
async def test_401_that_a_new_token_may_fix_is_replayed_once(
    auth_server: AuthServer, resource: Rejecting, challenge: Optional[str]
) -> None:
    resource.challenge = challenge
    client = client_for(auth_server)
    response = await client.fetch(resource.url)
    assert response.body == b"ok"
    assert (resource.hits, auth_server.token_requests) == (2, 2)
    client.close()


@pytest.mark.parametrize(
    "challenge",
    [
        'Bearer realm="api", error="insufficient_scope", scope="admin"',
        'Bearer error="invalid_request", error_description="two tokens"',
        'Basic realm="x", Bearer error=insufficient_scope, scope=admin',
    ],
)
async def test_401_that_a_new_token_cannot_fix_is_raised_without_refresh(
    auth_server: AuthServer, resource: Rejecting, challenge: str
) -> None:
    resource.challenge = challenge
    client = client_for(auth_server)
    with pytest.raises(HTTPClientError) as caught:
        await client.fetch(resource.url)
    assert caught.value.code == 401
    assert (resource.hits, auth_server.token_requests) == (1, 1)
    parsed = bearer_challenge(caught.value.response)
    assert parsed is not None
    assert parsed.error in ("insufficient_scope", "invalid_request")
    client.close()


async def test_insufficient_scope_is_returned_with_its_challenge_when_not_raising(
    auth_server: AuthServer, resource: Rejecting
) -> None:
    resource.challenge = 'Bearer error="insufficient_scope", scope="admin write"'
    client = client_for(auth_server)
    response = await client.fetch(resource.url, raise_error=False)
    challenge = bearer_challenge(response)
    assert response.code == 401
    assert challenge is not None
    assert (challenge.error, challenge.scope) == ("insufficient_scope", "admin write")
    assert resource.hits == 1
    client.close()


async def test_403_is_not_replayed_by_default(auth_server: AuthServer, resource: Rejecting) -> None:
    resource.status = 403
    client = client_for(auth_server)
    with pytest.raises(HTTPClientError) as caught:
        await client.fetch(resource.url)
    assert caught.value.code == 403
    assert (resource.hits, auth_server.token_requests) == (1, 1)
    client.close()


async def test_403_without_challenge_is_replayed_when_listed(auth_server: AuthServer, resource: Rejecting) -> None:
    # django-oauth-toolkit's ProtectedResourceView answers a bad token so.
    resource.status = 403
    client = client_for(auth_server, reauth_statuses=(401, 403))
    assert (await client.fetch(resource.url)).body == b"ok"
    assert (resource.hits, auth_server.token_requests) == (2, 2)
    client.close()


async def test_403_insufficient_scope_is_not_replayed_even_when_listed(
    auth_server: AuthServer, resource: Rejecting
) -> None:
    resource.status = 403
    resource.challenge = 'Bearer error="insufficient_scope"'
    client = client_for(auth_server, reauth_statuses=(401, 403))
    response = await client.fetch(resource.url, raise_error=False)
    assert response.code == 403
    assert (resource.hits, auth_server.token_requests) == (1, 1)
    client.close()


async def test_empty_reauth_statuses_never_replays(auth_server: AuthServer, resource: Rejecting) -> None:
    client = client_for(auth_server, reauth_statuses=())
    response = await client.fetch(resource.url, raise_error=False)
    assert response.code == 401
    assert (resource.hits, auth_server.token_requests) == (1, 1)
    client.close()


async def test_replay_happens_once_even_when_every_answer_rejects(
    auth_server: AuthServer, resource: Rejecting
) -> None:
    resource.status = 403
    resource.rejections = 10
    client = client_for(auth_server, reauth_statuses=[403])
    response = await client.fetch(resource.url, raise_error=False)
    assert response.code == 403
    assert (resource.hits, auth_server.token_requests) == (2, 2)
    client.close()


@pytest.mark.parametrize("statuses", [(200,), (500,), ("401",), (True,), 401, None])
def test_reauth_statuses_must_be_4xx_codes(statuses: Any) -> None:
    with pytest.raises(ValueError, match="reauth_statuses"):
        TornadoClient("https://as.tornado-alf.test/token", CLIENT_ID, CLIENT_SECRET, reauth_statuses=statuses)
