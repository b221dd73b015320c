"""Notices between nodes over a real Redis, lost and back (R20).

Each test runs its own ``redis-server``, so stopping it touches nothing else.  Two
:class:`RedisFanout` on one event loop stand for two nodes: what matters is that they
share only Redis.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis import Redis

from chatrec.live.redis_fanout import RESYNC, RedisFanout
from tests.redis_server import RedisServer

Heard = list[tuple[str, dict[str, Any]]]


def listener(heard: Heard) -> Callable[[str, dict[str, Any]], None]:
    return lambda topic, notice: heard.append((topic, notice))


async def until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.01)


def test_R20_a_notice_reaches_the_other_node_once_and_its_own_node_once(tmp_path: Path) -> None:
    async def run(url: str) -> None:
        one, two = RedisFanout(url, prefix="t1:"), RedisFanout(url, prefix="t1:")
        await one.start()
        await two.start()
        heard_one: Heard = []
        heard_two: Heard = []
        one.subscribe("chat:a", listener(heard_one))
        two.subscribe("chat:a", listener(heard_two))
        two.subscribe("chat:b", listener(heard_two))
        try:
            one.publish("chat:a", {"sequence": 7})
            await until(lambda: len(heard_two) == 1)
            # From a service's thread, as the thread pool calls it.
            sender = threading.Thread(target=one.publish, args=("chat:b", {"sequence": 1}))
            sender.start()
            sender.join()
            await until(lambda: len(heard_two) == 2)
            await asyncio.sleep(0.2)  # anything doubled would have come by now
            assert heard_one == [("chat:a", {"sequence": 7})]
            assert heard_two == [("chat:a", {"sequence": 7}), ("chat:b", {"sequence": 1})]
            assert one.state().connected
            assert two.state().connected

            # A chat's notice to its chat and its company travels once between nodes.
            two.subscribe("company:c", listener(heard_two))
            with Redis.from_url(url) as client:
                client.config_resetstat()
                one.publish_all(("chat:a", "company:c"), {"sequence": 8})
                await until(lambda: len(heard_two) == 4)
                published = client.info("commandstats")["cmdstat_publish"]["calls"]
            assert published == 1
            assert heard_two[2:] == [("chat:a", {"sequence": 8}), ("company:c", {"sequence": 8})]
            assert heard_one[1:] == [("chat:a", {"sequence": 8})]
        finally:
            await one.stop()
            await two.stop()

    with RedisServer(tmp_path) as redis:
        asyncio.run(run(redis.url))


def test_R20_nodes_with_other_prefixes_do_not_hear_each_other(tmp_path: Path) -> None:
    async def run(url: str) -> None:
        ours, theirs = RedisFanout(url, prefix="ours:"), RedisFanout(url, prefix="theirs:")
        await ours.start()
        await theirs.start()
        heard: Heard = []
        theirs.subscribe("chat:a", listener(heard))
        try:
            ours.publish("chat:a", {"sequence": 1})
            await asyncio.sleep(0.3)
            assert heard == []
        finally:
            await ours.stop()
            await theirs.stop()

    with RedisServer(tmp_path) as redis:
        asyncio.run(run(redis.url))


def test_R20_a_node_that_loses_redis_serves_its_own_and_resyncs_when_it_returns(
    tmp_path: Path,
) -> None:
    redis = RedisServer(tmp_path)

    async def run() -> None:
        one, two = RedisFanout(redis.url), RedisFanout(redis.url)
        await one.start()
        await two.start()
        heard_one: Heard = []
        heard_two: Heard = []
        one.subscribe("chat:a", listener(heard_one))
        two.subscribe("chat:a", listener(heard_two))
        try:
            redis.stop()
            await until(lambda: not two.state().connected and not one.state().connected)
            lost_since = two.state().since
            # Alone, a node still tells its own clients; the other node cannot hear it.
            one.publish("chat:a", {"sequence": 2})
            assert heard_one == [("chat:a", {"sequence": 2})]
            await asyncio.sleep(0.3)
            assert heard_two == []

            redis.start()
            # Back: every listener is told to catch up by sequence, and notices flow again.
            await until(lambda: two.state().connected and ("chat:a", RESYNC) in heard_two)
            assert two.state().since > lost_since
            await until(lambda: one.state().connected)
            one.publish("chat:a", {"sequence": 3})
            await until(lambda: ("chat:a", {"sequence": 3}) in heard_two)
            assert ("chat:a", {"sequence": 2}) not in heard_two
        finally:
            await one.stop()
            await two.stop()

    redis.start()
    try:
        asyncio.run(run())
    finally:
        redis.stop()


def test_R20_a_foreign_message_on_the_channel_is_ignored(tmp_path: Path) -> None:
    async def run(url: str) -> None:
        node = RedisFanout(url)
        await node.start()
        heard: Heard = []
        node.subscribe("chat:a", listener(heard))
        try:
            with Redis.from_url(url) as client:
                client.publish("chatrec:chat:a", b"not json")
                client.publish("chatrec:chat:a", b'{"node": "x"}')
                client.publish("chatrec:chat:a", b'x {"topics": "chat:a", "notice": {}}')
                client.publish("chatrec:chat:a", b'x {"topics": ["chat:a"]}')
                client.publish("chatrec:chat:a", b'x {"topics": ["chat:a"], "notice": 1}')
            other = RedisFanout(url)
            await other.start()
            other.publish("chat:a", {"sequence": 9})
            await until(lambda: heard == [("chat:a", {"sequence": 9})])
            assert node.state().connected
            await other.stop()
        finally:
            await node.stop()

    with RedisServer(tmp_path) as redis:
        asyncio.run(run(redis.url))


def test_R20_a_listener_that_fails_does_not_end_the_nodes_subscription(tmp_path: Path) -> None:
    async def run(url: str) -> None:
        one, two = RedisFanout(url), RedisFanout(url)
        await one.start()
        await two.start()
        heard: Heard = []

        def broken(topic: str, notice: dict[str, Any]) -> None:
            raise RuntimeError("a broken listener")

        two.subscribe("chat:a", broken)
        two.subscribe("chat:b", listener(heard))
        try:
            one.publish("chat:a", {"sequence": 1})
            one.publish("chat:b", {"sequence": 2})
            await until(lambda: heard == [("chat:b", {"sequence": 2})])
            assert two.state().connected
        finally:
            await one.stop()
            await two.stop()

    with RedisServer(tmp_path) as redis:
        asyncio.run(run(redis.url))
