"""Per-address limits shared by every node through a real Redis, and each node's own
while Redis is away (R19, R20)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chatrec.live.redis_limits import SharedAddressLimiter
from chatrec.web.ratelimit import AddressLimiter
from tests.redis_server import RedisServer


def node(url: str, per_minute: int = 3) -> SharedAddressLimiter:
    return SharedAddressLimiter(
        url, "logins", per_minute, AddressLimiter(per_minute), prefix="test:"
    )


def test_R19_R20_two_nodes_take_from_one_budget_per_address(tmp_path: Path) -> None:
    async def run(url: str) -> None:
        one, two = node(url), node(url)
        try:
            taken = [await (one if i % 2 else two).take("10.0.0.1") for i in range(3)]
            assert taken == [0.0, 0.0, 0.0]
            # The fourth attempt is refused on either node, with how long to wait.
            for limiter in (one, two):
                wait = await limiter.take("10.0.0.1")
                assert 0 < wait <= 20
            assert await two.take("10.0.0.2") == 0.0  # another address has its own
        finally:
            await one.close()
            await two.close()

    with RedisServer(tmp_path) as redis:
        asyncio.run(run(redis.url))


def test_R19_R20_while_redis_is_away_each_node_limits_alone(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)

    async def run() -> None:
        one = node(redis.url, per_minute=2)
        try:
            assert [await one.take("10.0.0.1") for _ in range(2)] == [0.0, 0.0]
            assert await one.take("10.0.0.1") > 0
            redis.stop()
            # Its own buckets: still a limit, never an error nor a lock-out.
            assert [await one.take("10.0.0.1") for _ in range(2)] == [0.0, 0.0]
            assert await one.take("10.0.0.1") > 0
            redis.start()
            # Shared again (this Redis kept nothing: a fresh budget).
            assert [await one.take("10.0.0.3") for _ in range(2)] == [0.0, 0.0]
            assert await one.take("10.0.0.3") > 0
        finally:
            await one.close()

    redis.start()
    try:
        asyncio.run(run())
    finally:
        redis.stop()
