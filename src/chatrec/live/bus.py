"""Fan-out of "something changed" notices to connected clients.

Services publish only after their change is committed (save, then publish), and a
notice carries no content a client could miss: it says "chat X has sequence N", and
each connection reads what it has not yet seen from the service by sequence number.
That is what lets a Redis-backed bus replace this in-process one for several nodes.

A notice is one dict handed to every listener as it is, never copied: neither the
publisher nor a listener changes it once published.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

Listener = Callable[[str, dict[str, Any]], None]


def chat_topic(chat_id: str) -> str:
    return f"chat:{chat_id}"


def company_topic(company_id: str) -> str:
    return f"company:{company_id}"


def user_topic(user_id: str) -> str:
    return f"user:{user_id}"


ACCESS_TOPIC = "access"
"""Where every node hears that access ended (``services.revocation``)."""

DELIVERIES_TOPIC = "deliveries"
"""Where delivery workers hear that a chat's end committed recordings to deliver (R16):
each looks at once instead of at its next poll."""


class Fanout(Protocol):
    """The one interface between services and whatever carries notices between nodes."""

    between_nodes: bool
    """Whether notices reach other nodes: a notice then carries what changed, so that
    they need not read it back from the database (R20)."""

    def publish(self, topic: str, notice: dict[str, Any]) -> None: ...

    def publish_all(self, topics: tuple[str, ...], notice: dict[str, Any]) -> None:
        """One notice to several topics: between nodes it travels once, not per topic."""
        ...

    def subscribe(self, topic: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener(topic, notice)`` for each notice; returns the unsubscribe."""
        ...


class NodeBus(Fanout, Protocol):
    """The bus a node runs: started and stopped with the server, and counted in tests."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def topics(self) -> int: ...

    def health(self) -> dict[str, str]:
        """What ``/api/health`` says of notices between nodes."""
        ...


class InProcessFanout:
    between_nodes = False

    """A single node's bus: listeners run synchronously and must not block."""

    async def start(self) -> None:
        """Nothing to connect to: one node alone."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    def health(self) -> dict[str, str]:
        return {"notices": "in process"}

    def __init__(self) -> None:
        self._listeners: defaultdict[str, list[Listener]] = defaultdict(list)

    def publish(self, topic: str, notice: dict[str, Any]) -> None:
        for listener in list(self._listeners.get(topic, ())):
            listener(topic, notice)

    def publish_all(self, topics: tuple[str, ...], notice: dict[str, Any]) -> None:
        for topic in topics:
            self.publish(topic, notice)

    def subscribe(self, topic: str, listener: Listener) -> Callable[[], None]:
        self._listeners[topic].append(listener)

        def unsubscribe() -> None:
            listeners = self._listeners.get(topic)
            if listeners and listener in listeners:
                listeners.remove(listener)
                if not listeners:
                    del self._listeners[topic]

        return unsubscribe

    def topics(self) -> int:
        """How many topics have listeners (tests check that nothing leaks)."""
        return len(self._listeners)

    def listened_topics(self) -> list[str]:
        """The topics with listeners now, to wake them all after notices were lost."""
        return list(self._listeners)
