"""Contract v3's redirect and replay rules with DPoP: a new proof for every hop and every replay.

The library follows redirects itself; each hop at the token's origin goes with the token and
a proof made for that hop (its method and URL), a hop elsewhere with neither.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.dpop_server import DPoPServer, running
from tornado_alf import TornadoClient


@pytest.fixture
async def server() -> AsyncIterator[DPoPServer]:
    async with running(DPoPServer()) as started:
        yield started


@pytest.fixture
def client(server: DPoPServer) -> Iterator[TornadoClient]:
    made = TornadoClient(server.token_endpoint, "client", "secret", dpop_key=True)
    yield made
    made.close()


def hop(server: DPoPServer, to: str, status: int = 307) -> str:
    return f"{server.origin}/hop?" + urllib.parse.urlencode({"to": to, "status": status})


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_each_same_origin_hop_has_a_proof_of_its_own(
    server: DPoPServer, client: TornadoClient, status: int
) -> None:
    response = await client.fetch(hop(server, "/api?after=hop", status))
    assert response.code == 200
    assert server.refusals == []
    assert server.replayed_proofs == 0
    resource_proofs = server.proofs[1:]  # after the token request's
    assert [p["htu"] for p in resource_proofs] == [f"{server.origin}/hop", f"{server.origin}/api"]
    assert len({p["jti"] for p in resource_proofs}) == 2


async def test_a_303_after_a_post_gets_a_get_proof(server: DPoPServer, client: TornadoClient) -> None:
    response = await client.fetch(hop(server, "/api", 303), method="POST", body="x=1")
    assert response.code == 200
    assert [p["htm"] for p in server.proofs[1:]] == ["POST", "GET"]


async def test_a_hop_to_another_origin_gets_neither_token_nor_proof(
    server: DPoPServer, client: TornadoClient
) -> None:
    async with running(DPoPServer()) as other:
        response = await client.fetch(hop(server, other.resource_url), raise_error=False)
        assert response.code == 401  # the other origin saw no token
        assert other.received == [("GET", "/api", False, False)]
    assert client.stats().reauthentications == 0  # a rejection from elsewhere says nothing of the token


async def test_away_and_back_the_proof_is_new_on_return(server: DPoPServer, client: TornadoClient) -> None:
    async with running(DPoPServer()) as other:
        back = f"{other.origin}/hop?" + urllib.parse.urlencode({"to": server.resource_url})
        response = await client.fetch(hop(server, back))
        assert other.received == [("GET", "/hop", False, False)]
    assert response.code == 200
    assert server.refusals == []
    assert [p["htu"] for p in server.proofs[1:]] == [f"{server.origin}/hop", f"{server.origin}/api"]
