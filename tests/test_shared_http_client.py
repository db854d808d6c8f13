"""Without ``http_client``, every request goes through Tornado's shared AsyncHTTPClient of its loop.

The client remembers that shared client between requests; these tests pin that
it follows Tornado when the shared client is closed or the loop changes.
"""

from __future__ import annotations

import asyncio

from tornado.httpclient import AsyncHTTPClient
from tornado.testing import bind_unused_port

from tornado_alf import TornadoClient
from tornado_alf.testing import AuthServer


async def test_a_closed_shared_client_gives_way_to_tornados_next_one(auth_server: AuthServer) -> None:
    client = TornadoClient(auth_server.token_endpoint, auth_server.client_id, auth_server.client_secret)
    assert (await client.fetch(auth_server.resource_url)).code == 200
    AsyncHTTPClient().close()  # Tornado makes a new shared client for this loop on the next call
    assert (await client.fetch(auth_server.resource_url)).code == 200
    assert auth_server.resource_requests == 2
    assert auth_server.token_requests == 1


def test_one_client_serves_one_loop_after_another() -> None:
    probe, port = bind_unused_port()
    probe.close()
    client = TornadoClient(f"http://127.0.0.1:{port}/token", "id", "secret")

    async def one_loop() -> int:
        async with AuthServer("id", "secret").start(port) as server:
            response = await client.fetch(server.resource_url)
            return response.code

    assert asyncio.run(one_loop()) == 200
    assert asyncio.run(one_loop()) == 200  # a new loop and server (a 401, then a new token), the same client
