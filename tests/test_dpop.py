"""DPoP end to end (RFC 9449) against `tests.dpop_server`, which verifies every proof it gets.

Runs under whichever HTTP client the session configured (``--http-client=curl``). The
server counts at its end: token requests, nonce challenges, proofs, reused ``jti``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from joserfc.jwk import ECKey

from tests.dpop_server import MADE, DPoPServer, running
from tornado_alf import MemoryTokenStore, TokenError, TornadoClient


@pytest.fixture
async def server() -> AsyncIterator[DPoPServer]:
    async with running(DPoPServer()) as started:
        yield started


@pytest.fixture
def clients() -> Iterator[list[TornadoClient]]:
    made: list[TornadoClient] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture(autouse=True)
def no_token_or_proof_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    MADE.clear()
    yield
    secrets = [token for each in MADE for token in each.issued]
    secrets += [proof["jti"] for each in MADE for proof in each.proofs]
    for record in caplog.records:
        assert not any(secret in record.getMessage() for secret in secrets), "a token or proof was logged"


def dpop_client(clients: list[TornadoClient], server: DPoPServer, **options: Any) -> TornadoClient:
    options.setdefault("dpop_key", True)
    clients.append(TornadoClient(server.token_endpoint, "client", "secret", **options))
    return clients[-1]


async def test_tokens_are_bound_to_the_key_and_each_request_has_its_own_proof(
    server: DPoPServer, clients: list[TornadoClient]
) -> None:
    client = dpop_client(clients, server)
    responses = await asyncio.gather(*(client.fetch(server.resource_url + "?page=2") for _ in range(50)))
    assert {r.code for r in responses} == {200}
    assert server.refusals == []
    assert server.resource_ok == 50
    assert server.tokens_issued == 1
    assert next(iter(server.bindings.values()))["jkt"] == server.proofs[0]["jkt"]  # cnf.jkt of the client's key
    assert server.replayed_proofs == 0
    assert len({proof["jti"] for proof in server.proofs}) == 51  # the token request's and 50 resource proofs
    assert (await client.get_token()).token_type == "DPoP"


async def test_a_post_gets_a_proof_for_post(server: DPoPServer, clients: list[TornadoClient]) -> None:
    client = dpop_client(clients, server)
    response = await client.fetch(server.resource_url, method="POST", body="x=1")
    assert response.code == 200
    assert server.refusals == []
    assert server.proofs[-1]["htm"] == "POST"


async def test_the_token_endpoints_nonce_is_answered_once_without_a_retry(
    server: DPoPServer, clients: list[TornadoClient]
) -> None:
    server.token_nonce = True
    client = dpop_client(clients, server)
    assert (await client.fetch(server.resource_url)).code == 200
    assert (server.token_posts, server.tokens_issued, server.nonce_challenges["token"]) == (2, 1, 1)
    stats = client.stats()
    assert (stats.token_requests, stats.retries, stats.token_request_failures) == (1, 0, 0)


async def test_the_nonce_kept_from_the_last_response_saves_the_next_challenge(
    server: DPoPServer, clients: list[TornadoClient]
) -> None:
    server.token_nonce = True
    client = dpop_client(clients, server, token_storage=MemoryTokenStore(), max_token_lifetime=0.05)
    await client.fetch(server.resource_url)
    await asyncio.sleep(0.06)  # the token expired: the next fetch asks again, with the nonce it has
    await client.fetch(server.resource_url)
    assert (server.token_posts, server.tokens_issued, server.nonce_challenges["token"]) == (3, 2, 1)


async def test_a_nonce_that_is_refused_again_is_a_token_error(server: DPoPServer, clients: list[TornadoClient]) -> None:
    server.token_nonce = True
    client = dpop_client(clients, server)
    original = server.verify

    def rotate_then_verify(*args: Any) -> dict[str, Any]:
        server.rotate_nonce()  # every answer carries a nonce the next request cannot have
        return original(*args)

    server.verify = rotate_then_verify  # type: ignore[method-assign,assignment]
    with pytest.raises(TokenError) as caught:
        await client.fetch(server.resource_url)
    assert (caught.value.code, caught.value.error) == (400, "use_dpop_nonce")
    assert server.token_posts == 2  # the request and its one resend with the nonce, no more


async def test_the_resources_nonce_is_answered_once_with_no_token_request(clients: list[TornadoClient]) -> None:
    async with running(DPoPServer()) as auth, running(DPoPServer(resource_nonce=True)) as resource:
        resource.cnf_of = auth.bindings.get  # the resource trusts the tokens auth issues
        client = dpop_client(clients, auth)
        for _ in range(5):
            assert (await client.fetch(resource.resource_url)).code == 200
        assert resource.nonce_challenges["resource"] == 1
        resource.rotate_nonce()
        assert (await client.fetch(resource.resource_url)).code == 200
        assert resource.nonce_challenges["resource"] == 2
        assert auth.tokens_issued == 1
        assert client.stats().reauthentications == 0
        assert resource.refusals == []
        assert resource.replayed_proofs == 0
        assert resource.proofs[-1]["nonce"] == resource.nonce


async def test_a_token_issued_as_bearer_is_used_as_bearer(server: DPoPServer, clients: list[TornadoClient]) -> None:
    server.token_type = "Bearer"
    client = dpop_client(clients, server)
    response = await client.fetch(server.resource_url)
    assert response.code == 200
    assert b'"Bearer"' in response.body
    assert len(server.proofs) == 1  # the token request's; a Bearer token goes without one


async def test_a_rejected_token_is_replaced_and_the_replay_has_a_fresh_proof(
    server: DPoPServer, clients: list[TornadoClient]
) -> None:
    client = dpop_client(clients, server)
    await client.fetch(server.resource_url)
    server.bindings.clear()  # every issued token is revoked
    assert (await client.fetch(server.resource_url)).code == 200
    assert server.tokens_issued == 2
    assert client.stats().reauthentications == 1
    assert server.replayed_proofs == 0


async def test_clients_with_different_keys_never_share_a_stored_token(
    server: DPoPServer, clients: list[TornadoClient]
) -> None:
    store = MemoryTokenStore()
    shared_key = ECKey.generate_key("P-256").as_dict(private=True)
    first = dpop_client(clients, server, token_storage=store, dpop_key=shared_key)
    same = dpop_client(clients, server, token_storage=store, dpop_key=shared_key)
    other = dpop_client(clients, server, token_storage=store)
    plain = dpop_client(clients, server, token_storage=store, dpop_key=None)
    for client in (first, same, other, plain):
        assert (await client.fetch(server.resource_url)).code == 200
    assert server.tokens_issued == 3  # the shared key's, the other key's, and a Bearer one
    assert server.refusals == []



async def test_a_proof_the_endpoint_quotes_back_is_hidden_in_the_error(
    server: DPoPServer, clients: list[TornadoClient]
) -> None:
    server.echo_proof = True
    client = dpop_client(clients, server)
    with pytest.raises(TokenError) as caught:
        await client.get_token()
    quoted = caught.value.error_description or ""
    assert quoted == "[hidden]"
    seen = server.received[-1]
    assert seen[3]  # the request did carry a proof
    for text in (str(caught.value), repr(caught.value), repr(caught.value.args)):
        assert "eyJ" not in text  # no JWS (a proof's header starts so)
