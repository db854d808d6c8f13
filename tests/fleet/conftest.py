"""The fleet's client kinds; the Redis, Redis Cluster and memcached fixtures are in ``tests/conftest.py``.

Servers shared by the session (`shared_redis`, `redis_cluster`) are emptied before
each test that uses them; a test that kills its server asks `own_redis` or `redis_factory`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fleet.backends import KINDS, Backend


@pytest.fixture(params=KINDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Each client kind in turn: redis-py and valkey, on one server and on the cluster."""
    kind: str = request.param
    fixture = "redis_cluster" if kind.endswith("cluster") else "shared_redis"
    made = Backend(kind, request.getfixturevalue(fixture))
    yield made
    await made.close()
