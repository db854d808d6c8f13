"""The server fixtures themselves: real processes, own ports, restartable."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.servers import MemcachedServer, RedisCluster, RedisServer, ask


def test_redis_server_is_private(shared_redis: RedisServer) -> None:
    assert shared_redis.port != 6379
    assert ask(shared_redis.port, b"CONFIG GET save").endswith(b"$0\r\n\r\n")
    assert b"appendonly\r\n$2\r\nno" in ask(shared_redis.port, b"CONFIG GET appendonly")


def test_kill_and_restart_on_same_port(
    redis_factory: Callable[[], RedisServer],
) -> None:
    server = redis_factory()
    port = server.port
    server.kill()
    assert not server.running
    with pytest.raises(ConnectionRefusedError):
        ask(port, b"PING")
    server.start()
    assert server.port == port
    assert ask(port, b"PING") == b"+PONG\r\n"


def test_cluster_has_three_masters_and_all_slots(redis_cluster: RedisCluster) -> None:
    info = ask(redis_cluster.nodes[0].port, b"CLUSTER INFO").decode()
    assert "cluster_state:ok" in info
    assert "cluster_slots_assigned:16384" in info
    assert "cluster_known_nodes:3" in info


def test_memcached_answers(memcached_server: MemcachedServer) -> None:
    assert ask(memcached_server.port, b"version").startswith(b"VERSION ")
