"""The supervisor's live figures (issue 15), computed from what the store reads.

Pure, so that each figure's definition is in one place and tested on its own:

- an agent's **state**: ``offline`` (no portal on a live node), ``away`` (their choice,
  with its reason), ``busy`` (Available and full) or ``available``; time in state is
  since their last presence change;
- a queue's **longest wait**: since the oldest of its waiting chats joined it;
- the **share answered within the target**, over the chats that started since the
  period's start: those an agent took within the company's target time, out of those
  an agent took plus those still waiting longer than the target (a chat still inside
  the target counts for neither yet; a chat the flow ended never reached a queue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AgentFigures:
    user_id: str
    name: str
    available: bool
    away_reason: str | None
    state_since: datetime | None
    online: bool
    open_chats: int
    capacity: int

    @property
    def state(self) -> str:
        if not self.online:
            return "offline"
        if not self.available:
            return "away"
        return "busy" if self.open_chats >= self.capacity else "available"


@dataclass(frozen=True, slots=True)
class QueueFigures:
    queue_id: str
    name: str
    waiting: int
    oldest_since: datetime | None

    def longest_wait(self, now: datetime) -> float | None:
        """Seconds the longest waiting chat has waited, ``None`` with none waiting."""
        return (
            None
            if self.oldest_since is None
            else max(0.0, (now - self.oldest_since).total_seconds())
        )


@dataclass(frozen=True, slots=True)
class ChatStart:
    """A chat of the period: when it started, when an agent first took it (if one did),
    and whether it waits in a queue now."""

    started_at: datetime
    taken_at: datetime | None
    waiting: bool


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    target_seconds: int
    answered_in_time: int
    counted: int

    @property
    def share(self) -> float | None:
        """Answered in time out of those counted; ``None`` before any is."""
        return None if self.counted == 0 else self.answered_in_time / self.counted


def service_level(chats: Sequence[ChatStart], target_seconds: int, now: datetime) -> ServiceLevel:
    in_time = counted = 0
    for chat in chats:
        if chat.taken_at is not None:
            counted += 1
            in_time += (chat.taken_at - chat.started_at).total_seconds() <= target_seconds
        elif chat.waiting and (now - chat.started_at).total_seconds() > target_seconds:
            counted += 1
    return ServiceLevel(target_seconds, in_time, counted)
