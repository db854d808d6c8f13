"""The test scaffolding itself: every authorization server a test starts is under the leak guard."""

from __future__ import annotations

from tests.conftest import SERVERS_THIS_TEST
from tests.doubles import CLIENT_ID, CLIENT_SECRET
from tornado_alf.testing import AuthServer


async def test_servers_started_any_way_are_registered_with_the_leak_guard(auth_server: AuthServer) -> None:
    by_hand = AuthServer(CLIENT_ID, CLIENT_SECRET).start()
    try:
        async with AuthServer("other-client", "other-secret") as in_context:
            assert [auth_server, by_hand, in_context] == SERVERS_THIS_TEST
    finally:
        by_hand.stop()
