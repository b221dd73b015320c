"""Which agent gets which waiting chat: queues, presence, capacity, longest idle first.

In-memory state of one node, rebuilt on start from the store's open chats.  It never
touches the journal: the chat service asks it for matches and journals the joins.
An agent is offered chats only while Available (their choice, which outlives their
connections) and online (a portal of theirs is connected to this node).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

# Why an agent cannot take one more chat: their choice, no portal connected, no room.
Unavailable = Literal["away", "offline", "full"]


@dataclass
class AgentSlot:
    """An agent as routing sees them; ``idle_since`` orders who waited longest."""

    user_id: str
    company_id: str
    capacity: int
    available: bool = False
    online: bool = False
    chats: set[str] = field(default_factory=set)
    idle_since: float = 0.0

    @property
    def has_room(self) -> bool:
        return self.available and self.online and len(self.chats) < self.capacity


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether an agent can take one more chat now and, if not, why (transfer targets)."""

    available: bool
    online: bool
    capacity: int
    open_chats: int

    @property
    def free_slots(self) -> int:
        return max(0, self.capacity - self.open_chats)

    @property
    def reason(self) -> Unavailable | None:
        if not self.available:
            return "away"
        if not self.online:
            return "offline"
        if not self.free_slots:
            return "full"
        return None


@dataclass(frozen=True, slots=True)
class Match:
    chat_id: str
    queue_id: str
    user_id: str


class Router:
    """Queues of waiting chats per company and the agents who can take them."""

    def __init__(self) -> None:
        self._agents: dict[str, AgentSlot] = {}
        self._waiting: dict[str, deque[tuple[str, str]]] = {}

    def agent(self, user_id: str, company_id: str, capacity: int) -> AgentSlot:
        slot = self._agents.get(user_id)
        if slot is None:
            slot = self._agents[user_id] = AgentSlot(user_id, company_id, capacity)
        slot.capacity = capacity
        return slot

    def set_available(self, slot: AgentSlot, available: bool, now: float) -> None:
        if available and not slot.available and not slot.chats:
            slot.idle_since = now
        slot.available = available

    def set_online(self, slot: AgentSlot, online: bool) -> None:
        slot.online = online

    def availability(self, user_id: str, capacity: int) -> Availability:
        """For the agent's ``capacity`` as stored now; one this node has not met is away,
        offline and holds no chat."""
        slot = self._agents.get(user_id)
        if slot is None:
            return Availability(False, False, capacity, 0)
        return Availability(slot.available, slot.online, capacity, len(slot.chats))

    def available_agents(self) -> list[str]:
        """Agents whose choice is Available, online or not (for the idle timeout)."""
        return [slot.user_id for slot in self._agents.values() if slot.available]

    def holds(self, user_id: str, chat_id: str) -> None:
        """Record that the agent has the chat (assignment, transfer, or restart)."""
        slot = self._agents.get(user_id)
        if slot is not None:
            slot.chats.add(chat_id)

    def release(self, user_id: str, chat_id: str, now: float) -> None:
        slot = self._agents.get(user_id)
        if slot is not None and chat_id in slot.chats:
            slot.chats.discard(chat_id)
            if not slot.chats:
                slot.idle_since = now

    def refuse(self, company_id: str, matches: list[Match], now: float) -> None:
        """Undo matches whose agent may no longer take chats: the agents go offline (until
        they connect again) and the chats back to the head of their queue, in order."""
        for match in reversed(matches):
            self.release(match.user_id, match.chat_id, now)
            slot = self._agents.get(match.user_id)
            if slot is not None:
                slot.online = False
            self._waiting.setdefault(company_id, deque()).appendleft(
                (match.queue_id, match.chat_id)
            )

    def enqueue(self, company_id: str, queue_id: str, chat_id: str) -> None:
        waiting = self._waiting.setdefault(company_id, deque())
        if all(chat != chat_id for _, chat in waiting):
            waiting.append((queue_id, chat_id))

    def withdraw(self, chat_id: str) -> None:
        """Take a chat out of every queue (it ended, or staff took it directly)."""
        for waiting in self._waiting.values():
            for entry in [entry for entry in waiting if entry[1] == chat_id]:
                waiting.remove(entry)

    def waiting(self, company_id: str) -> list[tuple[str, str]]:
        return list(self._waiting.get(company_id, ()))

    def match(self, company_id: str, now: float) -> list[Match]:
        """Pair the oldest waiting chats with the agents idle longest, and record it."""
        matches: list[Match] = []
        waiting = self._waiting.get(company_id)
        while waiting:
            free = [
                slot
                for slot in self._agents.values()
                if slot.company_id == company_id and slot.has_room
            ]
            if not free:
                break
            slot = min(free, key=lambda s: (len(s.chats), s.idle_since, s.user_id))
            queue_id, chat_id = waiting.popleft()
            slot.chats.add(chat_id)
            slot.idle_since = now
            matches.append(Match(chat_id, queue_id, slot.user_id))
        return matches
