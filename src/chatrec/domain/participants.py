"""Who took part in a chat, when, and who was its primary agent.

Read from the journal alone.  "Involved" staff (R12a) are the agents who handled the
chat and the supervisors who joined it; the primary agent named in a recording's
metadata is the agent who handled the chat longest (interpretations in SPEC.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatrec.domain.journal import (
    CUSTOMER,
    Actor,
    AgentAssigned,
    ChatRole,
    Journal,
    ParticipantLeft,
    SupervisorJoined,
    Transferred,
)


@dataclass(frozen=True, slots=True)
class Stint:
    """One continuous stretch of a participant in the chat."""

    actor: Actor
    joined_at: datetime
    left_at: datetime | None

    def duration(self, chat_end: datetime) -> timedelta:
        return (self.left_at or chat_end) - self.joined_at


def _key(actor: Actor) -> tuple[ChatRole, str | None, str]:
    return (actor.role, actor.user_id, actor.name if actor.user_id is None else "")


def stints(journal: Journal) -> list[Stint]:
    """Every stretch of every staff member and of the customer, in order of joining.

    A stint ends when its actor leaves, or, for an agent, when they transfer the chat
    away; a stint still open at the end has ``left_at`` ``None``.
    """
    found: list[Stint] = [Stint(CUSTOMER, journal.start.at, None)]
    open_at: dict[tuple[ChatRole, str | None, str], int] = {_key(CUSTOMER): 0}

    def close(actor: Actor, at: datetime) -> None:
        index = open_at.pop(_key(actor), None)
        if index is not None:
            found[index] = Stint(found[index].actor, found[index].joined_at, at)

    for event in journal.events:
        if isinstance(event, AgentAssigned | SupervisorJoined):
            if _key(event.actor) not in open_at:
                open_at[_key(event.actor)] = len(found)
                found.append(Stint(event.actor, event.at, None))
        elif isinstance(event, ParticipantLeft) or (
            isinstance(event, Transferred) and event.actor.role is ChatRole.AGENT
        ):
            close(event.actor, event.at)
    return found


def involved_staff(journal: Journal) -> list[AgentAssigned | SupervisorJoined]:
    """Every join of an agent or supervisor: the events R12a reads, with their snapshots."""
    return [e for e in journal.events if isinstance(e, AgentAssigned | SupervisorJoined)]


def primary_agent(journal: Journal) -> Actor | None:
    """The agent who handled the chat longest; ties go to the one who joined first."""
    end = journal.ended.at if journal.ended else journal.events[-1].at
    totals: dict[str, tuple[timedelta, int, Actor]] = {}
    for order, stint in enumerate(stints(journal)):
        if stint.actor.role is not ChatRole.AGENT or stint.actor.user_id is None:
            continue
        total, first, actor = totals.get(stint.actor.user_id, (timedelta(0), order, stint.actor))
        totals[stint.actor.user_id] = (total + stint.duration(end), first, actor)
    if not totals:
        return None
    return min(totals.values(), key=lambda t: (-t[0], t[1]))[2]


MOVES_AGENTS = (AgentAssigned, ParticipantLeft, Transferred)
"""Events after which the agents in a chat may differ (the others never change them)."""


def present_staff(chat_stints: Sequence[Stint]) -> dict[str, Actor]:
    """The staff in the chat now (an open stint), by user id."""
    return {
        s.actor.user_id: s.actor
        for s in chat_stints
        if s.left_at is None and s.actor.user_id is not None and s.actor.is_staff
    }


def present_agent_ids(journal: Journal) -> tuple[str, ...]:
    """The agents in the chat now, by user id: what their capacity counts (R20)."""
    present = present_staff(stints(journal))
    return tuple(sorted(uid for uid, actor in present.items() if actor.role is ChatRole.AGENT))
