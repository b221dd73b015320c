"""Journal events to and from plain JSON-able dicts.

The store keeps the journal as rows of JSON and the wire carries it the same way; this
is the one mapping between the two, so an event written by one version of chatrec is
read back identically by the next.  Decoding is strict: an unknown type or field is a
:class:`~chatrec.errors.JournalError`, never a silently different event.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

from chatrec.domain.journal import (
    Actor,
    AgentAssigned,
    Answer,
    AttachmentSent,
    ChatEnded,
    ChatRole,
    ChatStarted,
    ConsentAnswered,
    ConsentAsked,
    CustomerDetails,
    DeletePressed,
    DeletionRequested,
    Discarded,
    Event,
    FlaggedAbusive,
    MessagePosted,
    NoteAdded,
    ParticipantLeft,
    RecordingPaused,
    RecordingRequested,
    RecordingResumed,
    StaffSnapshot,
    SupervisorJoined,
    Transferred,
    WrapUpChosen,
)
from chatrec.domain.sampling import SamplingDraw
from chatrec.errors import JournalError

EVENT_TYPES: tuple[type[Event], ...] = (
    ChatStarted,
    MessagePosted,
    AgentAssigned,
    Transferred,
    SupervisorJoined,
    ParticipantLeft,
    RecordingRequested,
    ConsentAsked,
    ConsentAnswered,
    Discarded,
    RecordingPaused,
    RecordingResumed,
    DeletionRequested,
    DeletePressed,
    FlaggedAbusive,
    ChatEnded,
    NoteAdded,
    WrapUpChosen,
    AttachmentSent,
)


def type_name(kind: type[Event]) -> str:
    """``AgentAssigned`` -> ``agent_assigned``: the ``type`` of an encoded event."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()


_BY_NAME = {type_name(kind): kind for kind in EVENT_TYPES}

TEXT_BODIES = (type_name(MessagePosted), type_name(NoteAdded))
"""The events whose ``text`` is what people wrote: what a purge empties (R17)."""

CHAT_STARTED = type_name(ChatStarted)


def purged_payload(kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """An encoded event as a purge leaves it (R17), or ``None`` if it keeps nothing a
    purge removes: a text emptied, and the customer's pre-chat details (R23) emptied to
    ``{}``, which says they were there and are gone."""
    if kind in TEXT_BODIES and payload.get("text"):
        return {**payload, "text": ""}
    if kind == CHAT_STARTED and payload.get("customer"):
        return {**payload, "customer": {}}
    return None


def emptied_by_purge(kind: str, payload: dict[str, Any]) -> bool:
    """Whether a purge emptied this stored event, so its stored digest stands for it."""
    return kind in TEXT_BODIES or (kind == CHAT_STARTED and payload.get("customer") == {})


def _encode_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Actor):
        return {"role": value.role.value, "name": value.name, "user_id": value.user_id}
    if isinstance(value, StaffSnapshot | SamplingDraw):
        return dataclasses.asdict(value)
    if isinstance(value, CustomerDetails):
        details = dataclasses.asdict(value)
        return details | {"answers": [dataclasses.asdict(answer) for answer in value.answers]}
    return value


_KEPT = object()
"""In an encoding plan, a field written whatever its value."""


def _plan(kind: type[Event]) -> tuple[str, tuple[tuple[str, object], ...]]:
    """How events of ``kind`` are encoded: their ``type``, and each field with the default
    that leaves it out (a field added later: events without it read and write as before)."""
    return type_name(kind), tuple(
        (field.name, field.default if field.metadata.get("omitted_when_default") else _KEPT)
        for field in dataclasses.fields(kind)
    )


_PLANS = {kind: _plan(kind) for kind in EVENT_TYPES}
"""Worked out once: every event of every chat is encoded as it is committed, for its
digest and its row (issue 13)."""


def encode_event(event: Event) -> dict[str, Any]:
    """The event as a dict of JSON values, with its ``type``."""
    kind = type(event)
    name, fields = _PLANS.get(kind) or _plan(kind)
    encoded: dict[str, Any] = {"type": name}
    for field, omitted_when in fields:
        value = getattr(event, field)
        if omitted_when is not _KEPT and value == omitted_when:
            continue
        encoded[field] = _encode_value(value)
    return encoded


def _actor(value: Any) -> Actor:
    return Actor(ChatRole(value["role"]), str(value["name"]), value.get("user_id"))


_DECODERS: dict[str, Any] = {
    "at": datetime.fromisoformat,
    "actor": _actor,
    "to_agent": lambda v: None if v is None else _actor(v),
    "settings": lambda v: StaffSnapshot(**v),
    "draw": lambda v: SamplingDraw(**v),
    "customer": lambda v: CustomerDetails(
        **v | {"answers": tuple(Answer(**answer) for answer in v.get("answers", ()))}
    ),
}


def decode_event(data: dict[str, Any]) -> Event:
    """Rebuild an event from :func:`encode_event`'s output; refuse anything else."""
    fields = dict(data)
    name = fields.pop("type", None)
    kind = _BY_NAME.get(str(name))
    if kind is None:
        raise JournalError(f"unknown event type {name!r}")
    known = {field.name for field in dataclasses.fields(kind)}
    unknown = set(fields) - known
    if unknown:
        raise JournalError(f"unknown fields {sorted(unknown)} for event {name}")
    try:
        values = {key: _DECODERS.get(key, lambda v: v)(value) for key, value in fields.items()}
        return kind(**values)
    except (KeyError, TypeError, ValueError) as error:
        raise JournalError(f"malformed {name} event: {error}") from error
