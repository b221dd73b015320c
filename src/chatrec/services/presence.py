"""Agents' presence: Available or Away, the agent's own choice.

The choice outlives the agent's connections (a reload, a dropped network, a server
restart): only the agent, their logout, or the idle timeout changes it.  Routing offers
chats to an agent only while they are Available *and* a portal of theirs is connected.
Where the choice is kept is behind :class:`PresenceStore` (the database today), so that
several nodes can share it; when each agent was last active is a node's own memory.
"""

from __future__ import annotations

from typing import Any, Protocol

from chatrec.store.records import PresenceRecord


class PresenceStore(Protocol):
    """Where chosen presences are kept; the store is one."""

    def get_presence(self, user_id: str) -> PresenceRecord | None: ...

    def set_presence(self, presence: PresenceRecord) -> None: ...

    def available_agents(self) -> list[PresenceRecord]: ...


def presence_view(presence: PresenceRecord | None) -> dict[str, Any]:
    """What clients are told: the choice, and who made it when (``None``: never chosen)."""
    if presence is None:
        return {"available": False, "changed_by": None, "changed_at": None, "away_reason": None}
    reason = presence.away_reason
    return {
        "available": presence.available,
        "changed_by": presence.changed_by.value,
        "changed_at": presence.changed_at.isoformat(),
        "away_reason": None if reason is None else reason.value,
    }
