"""Per-agent sampling of chats for agent recordings (R7).

The draw is a keyed hash of the chat id and the agent id, so it is made once, when the
agent joins, and can be replayed from stored data by anyone holding the key; nothing
about it depends on a random generator or a clock.  The drawn value is a uniform
integer in ``[0, SCALE)`` and the agent is sampled in when it falls below
``percentage / 100`` of the scale: 0 % records none and 100 % records all, exactly.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

SCALE = 2**64


@dataclass(frozen=True, slots=True)
class SamplingDraw:
    """One agent's draw for one chat, as written to the journal when they join."""

    value: int
    percentage: int

    def __post_init__(self) -> None:
        if not 0 <= self.value < SCALE:
            raise ValueError(f"draw value {self.value} is outside [0, 2**64)")
        if not 0 <= self.percentage <= 100:
            raise ValueError(f"record percentage must be 0-100, got {self.percentage}")

    @property
    def sampled_in(self) -> bool:
        return self.value * 100 < self.percentage * SCALE

    @property
    def fraction(self) -> float:
        """The draw as a number in [0, 1), for explanations."""
        return self.value / SCALE


def draw_sample(key: bytes, chat_id: str, agent_id: str, percentage: int) -> SamplingDraw:
    """Draw whether ``agent_id``'s handling of ``chat_id`` is recorded (R7)."""
    if not key:
        raise ValueError("the sampling key must not be empty")
    message = f"{len(chat_id)}:{chat_id}|{agent_id}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return SamplingDraw(int.from_bytes(digest[:8], "big"), percentage)
