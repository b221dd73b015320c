"""Which agent gets which waiting chat: the oldest waiting to the longest idle.

Pure: the state it pairs (waiting chats, agents who can take one) is read from the
database every node shares (``store/routing.py``), and a pairing is only a proposal
until the chat service commits the join, which the store refuses if another node gave
the chat or filled the agent first (R20).  An agent is offered chats only while
Available (their choice, which outlives their connections) and online (a portal of
theirs is connected to a live node).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from chatrec.store.records import FreeAgent

# Why an agent cannot take one more chat: their choice, no portal connected, no room.
Unavailable = Literal["away", "offline", "full"]


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


def pair(waiting: Sequence[tuple[str, str]], free: Sequence[FreeAgent]) -> list[Match]:
    """Pair the oldest waiting chats with the agents idle longest.

    ``waiting`` is (chat, queue), oldest first; ``free`` the agents who can take a chat
    now.  The least loaded agent goes first, then the one idle longest; one just given a
    chat has waited least, so the next chat goes to another agent while one is free.
    """
    load = {agent.user_id: agent.open_chats for agent in free}
    idle: dict[str, float] = {agent.user_id: agent.idle_since.timestamp() for agent in free}
    matches: list[Match] = []
    for chat_id, queue_id in waiting:
        room = [agent for agent in free if load[agent.user_id] < agent.capacity]
        if not room:
            break
        agent = min(room, key=lambda a: (load[a.user_id], idle[a.user_id], a.user_id))
        load[agent.user_id] += 1
        idle[agent.user_id] = math.inf
        matches.append(Match(chat_id, queue_id, agent.user_id))
    return matches
