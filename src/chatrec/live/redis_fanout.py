"""Notices between nodes over Redis pub/sub (R20).

A notice is a hint ("chat X is at sequence N"), never the content: every connection
reads what it has not seen from the database by sequence.  So this bus may lose
notices, and does, while Redis is away (pub/sub keeps nothing for an absent
subscriber); what it must do is say so and, when Redis is back, wake every local
listener once so each catches up by sequence.

Local listeners are called at once in the publisher's thread, as on one node, and the
notice also goes to Redis stamped with this node's id; each node hears the others'
notices on one pattern subscription and drops its own before parsing them.  The
subscriber is plain redis-py ``PubSub``, made anew after each lost connection
(``encode/broadcaster`` and a long-lived ``PubSub`` hang silently after a Redis
restart; ../shared/NODES.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from redis import Redis
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from chatrec.live.bus import InProcessFanout, Listener

log = logging.getLogger(__name__)

RESYNC = {"resync": True}
"""Given to every local listener when Redis is back: notices may have been missed."""

RETRY_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0)
PUBLISH_QUEUE = 10_000
"""Notices waiting for Redis beyond this are dropped: they are hints, and a node that
cannot publish says so in its health."""


def encode(node_id: str, topics: tuple[str, ...], notice: dict[str, Any]) -> bytes:
    """A notice as it travels on Redis: its sender's id, a space, then the JSON of its
    topics and notice.  The sender comes first so that a node drops its own notices
    without parsing them; one message for all its topics (a chat's and its company's),
    so a notice carrying a chat's events is encoded, sent and decoded once (R20)."""
    return node_id.encode() + b" " + orjson.dumps({"topics": topics, "notice": notice})


def sender(data: bytes) -> bytes:
    """Who sent a message :func:`encode` made (whatever precedes its first space)."""
    return data.partition(b" ")[0]


def decode(data: bytes) -> tuple[str, list[str], dict[str, Any]]:
    """The sender, topics and notice of a message :func:`encode` made; ``ValueError``
    for anything else on the channels."""
    node, _, body = data.partition(b" ")
    try:
        parsed = orjson.loads(body)
        topics = parsed["topics"]
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            raise TypeError("topics")
        return node.decode(), topics, dict(parsed["notice"])
    except (KeyError, TypeError, ValueError) as error:  # orjson's errors are ValueErrors
        raise ValueError(f"not a chatrec notice: {error}") from error


@dataclass(frozen=True, slots=True)
class FanoutState:
    """What ``/api/health`` says of the bus between nodes."""

    connected: bool
    since: datetime
    dropped: int


class RedisFanout:
    """The bus of a node among several: local delivery plus Redis pub/sub between nodes.

    ``start`` and ``stop`` run on the node's event loop; ``publish`` and ``subscribe``
    may be called from any thread, as services call them.
    """

    between_nodes = True

    def __init__(self, url: str, prefix: str = "chatrec:") -> None:
        self.url = url
        self.prefix = prefix
        self.node_id = uuid.uuid4().hex
        self._own = self.node_id.encode()
        self._local = InProcessFanout()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outgoing: asyncio.Queue[tuple[str, bytes]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = False
        self._since = datetime.now(UTC)
        self._dropped = 0
        self._subscribed = asyncio.Event()
        self._ever_subscribed = False

    # -- the Fanout interface ---------------------------------------------------------

    def publish(self, topic: str, notice: dict[str, Any]) -> None:
        self.publish_all((topic,), notice)

    def publish_all(self, topics: tuple[str, ...], notice: dict[str, Any]) -> None:
        self._local.publish_all(topics, notice)
        if self._loop is None or self._outgoing is None or not topics:
            return
        message = (self.prefix + topics[0], encode(self.node_id, topics, notice))
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._enqueue(message)
        else:
            self._loop.call_soon_threadsafe(self._enqueue, message)

    def subscribe(self, topic: str, listener: Listener) -> Callable[[], None]:
        return self._local.subscribe(topic, listener)

    def topics(self) -> int:
        return self._local.topics()

    # -- running ------------------------------------------------------------------------

    def state(self) -> FanoutState:
        return FanoutState(self._connected, self._since, self._dropped)

    def health(self) -> dict[str, str]:
        state = self.state()
        since = state.since.isoformat(timespec="seconds")
        if state.connected:
            return {"notices": "redis", "redis": "connected", "redis_since": since}
        # Serving its own clients only: the others' notices do not reach it (R20).
        return {"notices": "redis", "redis": "lost", "redis_since": since}

    async def start(self) -> None:
        """Start publishing and listening; returns once subscribed, or after a first
        failed attempt (the node serves its own clients meanwhile and says so)."""
        self._loop = asyncio.get_running_loop()
        self._outgoing = asyncio.Queue(PUBLISH_QUEUE)
        self._tasks = [
            asyncio.create_task(self._listen(), name="redis-fanout-listen"),
            asyncio.create_task(self._send(), name="redis-fanout-send"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._loop = None
        self._outgoing = None

    def _enqueue(self, message: tuple[str, bytes]) -> None:
        if self._outgoing is None:
            return  # stopped meanwhile: a publish from a thread that came too late
        try:
            self._outgoing.put_nowait(message)
        except asyncio.QueueFull:
            self._dropped += 1

    def _mark(self, connected: bool) -> None:
        if connected != self._connected:
            self._connected = connected
            self._since = datetime.now(UTC)
            if connected:
                log.info("Redis at %s reached: notices between nodes flow", self.url)
            else:
                log.warning("Redis at %s lost: this node serves its own clients only", self.url)

    async def _send(self) -> None:
        assert self._outgoing is not None
        client = aioredis.from_url(self.url)
        try:
            while True:
                channel, message = await self._outgoing.get()
                try:
                    await client.publish(channel, message)
                except (RedisError, OSError):
                    # Lost while Redis is away; clients catch up by sequence on resync.
                    self._dropped += 1
        finally:
            await client.aclose()

    async def _listen(self) -> None:
        attempt = 0
        while True:
            client = aioredis.from_url(self.url)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self.prefix + "*")
                self._mark(True)
                self._subscribed.set()
                if attempt > 0 or self._ever_subscribed:
                    self._resync()
                self._ever_subscribed = True
                attempt = 0
                async for message in pubsub.listen():
                    self._deliver(message)
            except (RedisError, OSError) as error:
                self._mark(False)
                self._subscribed.set()
                log.debug("Redis subscription failed: %s", error)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    # Untyped before redis 8.2, typed since: the same code checks with both.
                    await cast(Any, pubsub).aclose()
                with contextlib.suppress(RedisError, OSError):
                    await client.aclose()
            await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
            attempt += 1

    def _deliver(self, message: dict[str, Any]) -> None:
        if message.get("type") != "pmessage":
            return
        data: bytes = message["data"]
        if sender(data) == self._own:
            return  # this node's own: its listeners were told when it was published
        try:
            _, topics, notice = decode(data)
        except ValueError:
            log.warning("A notice on Redis that is not chatrec's was ignored")
            return
        for topic in topics:
            self._tell(topic, notice)

    def _tell(self, topic: str, notice: dict[str, Any]) -> None:
        # A listener that fails must not end this node's subscription for every other.
        try:
            self._local.publish(topic, notice)
        except Exception:
            log.exception("a listener of %s failed a notice from another node", topic)

    def _resync(self) -> None:
        """Every local listener reads what it missed while Redis was away."""
        for topic in self._local.listened_topics():
            self._tell(topic, dict(RESYNC))


class CommandFanout:
    """What a command (``chatrec admin``) publishes to the servers sharing Redis: it
    hears nothing itself, and a publish that fails is logged, as the servers' sweep then
    finds the change within ``CHATREC_SWEEP_INTERVAL_SECONDS`` (R18, R20)."""

    between_nodes = True

    def __init__(self, url: str, prefix: str = "chatrec:") -> None:
        self.url = url
        self.prefix = prefix
        self.node_id = f"command-{uuid.uuid4().hex}"

    def publish(self, topic: str, notice: dict[str, Any]) -> None:
        self.publish_all((topic,), notice)

    def publish_all(self, topics: tuple[str, ...], notice: dict[str, Any]) -> None:
        if not topics:
            return
        message = encode(self.node_id, topics, notice)
        try:
            with Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2) as client:
                client.publish(self.prefix + topics[0], message)
        except (RedisError, OSError) as error:
            log.warning("Redis unreachable, the servers see this change at their sweep: %s", error)

    def subscribe(self, topic: str, listener: Listener) -> Callable[[], None]:
        """A command listens to nothing."""
        return lambda: None
