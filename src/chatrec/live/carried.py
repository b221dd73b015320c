"""What a notice between nodes carries: a chat's new events and its changed row (R20).

A notice says "chat X is at N"; between nodes it also carries the events numbered
since the publisher's previous notice and the row's fields an action changes, so that
the nodes that hear it bring their copies up to date without reading the database
back.  A copy takes them only if they follow on from it without a gap; a notice that
arrives after a lost one, or that repeats what the copy holds, is not taken, and the
node reads the store as before.  Notices stay hints: nothing correct depends on one.
Only committed events are published (save, then publish).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from chatrec.domain.codec import decode_event, encode_event
from chatrec.flows import FlowState
from chatrec.live.registry import LiveChat
from chatrec.store.records import ChatStatus

log = logging.getLogger(__name__)

CARRIED_FIELDS = (
    "status",
    "last_seq",
    "last_activity_at",
    "queue_id",
    "flow_state",
    "ended_at",
    "queued_at",
)
"""The chat row's fields an action may change: what a notice between nodes carries."""
_TIMES = frozenset({"last_activity_at", "ended_at", "queued_at"})


def carried(chat: LiveChat, after: int) -> dict[str, Any]:
    """The events numbered above ``after``, the row's changing fields and the staff who
    are or were in the chat, as JSON.  The staff let a node that has not cached the chat
    leave it unread when none of its agents takes part (:func:`may_concern`)."""
    events = []
    for seq, event in reversed(chat.events):
        if seq <= after:
            break
        events.append([seq, encode_event(event)])
    events.reverse()
    record: dict[str, Any] = {}
    for name in CARRIED_FIELDS:
        value = getattr(chat.record, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, ChatStatus):
            value = value.value
        record[name] = value
    staff = sorted({s.actor.user_id for s in chat.stints() if s.actor.user_id is not None})
    return {"events": events, "record": record, "staff": staff}


def followers_chat(notice: dict[str, Any]) -> str | None:
    """The chat whose followers alone a notice concerns; ``None`` for one every staff
    socket of the company hears (about no chat, a presence, a resync after lost notices)."""
    chat_id = notice.get("chat_id")
    if not isinstance(chat_id, str) or "presence" in notice or notice.get("resync"):
        return None
    return chat_id


def behind(chat: LiveChat | None, notice: dict[str, Any]) -> bool:
    """Whether a notice tells of more than this node's copy of the chat holds (or there is
    no copy): who is in the chat is then the notice's to say (:func:`may_concern`)."""
    known = notice.get("seq")
    return chat is None or (isinstance(known, int) and known > chat.record.last_seq)


def may_concern(notice: dict[str, Any], user_id: str, sees_every_chat: bool) -> bool:
    """Whether a chat a notice is about may be one the login follows: a supervisor
    follows every chat of the company, an agent those they are or were in (R18).  A
    notice that does not name the chat's staff (from one node, or after lost notices)
    may concern anyone."""
    staff = notice.get("staff")
    return sees_every_chat or not isinstance(staff, list) or user_id in staff


def row_of(record: dict[str, Any]) -> dict[str, Any]:
    """The fields :func:`carried` sent, typed again."""
    row = {name: record[name] for name in CARRIED_FIELDS}
    row["status"] = ChatStatus(row["status"])
    row["last_seq"] = int(row["last_seq"])
    for name in _TIMES:
        if row[name] is not None:
            row[name] = datetime.fromisoformat(row[name])
    return row


def take_carried(chat: LiveChat, notice: dict[str, Any] | None) -> bool:
    """Apply a notice's events and row to the copy if they follow on from it with no gap;
    false (and nothing changed) otherwise: the caller reads the store instead."""
    if not notice or "events" not in notice or "record" not in notice:
        return False
    try:
        events = [(int(seq), decode_event(event)) for seq, event in notice["events"]]
        changed = row_of(notice["record"])
    except (KeyError, TypeError, ValueError):
        log.warning("a notice of chat %s carried what this node cannot read", chat.chat_id)
        return False
    held = chat.events[-1][0] if chat.events else 0
    numbers = [seq for seq, _ in events]
    if (
        held != chat.record.last_seq
        or numbers != list(range(held + 1, held + 1 + len(numbers)))
        or not numbers
        or changed["last_seq"] != numbers[-1]
    ):
        return False
    chat.events.extend(events)
    chat.record = replace(chat.record, **changed)
    if chat.record.flow_state is not None:
        chat.flow_state = FlowState.from_dict(chat.record.flow_state)
    return True
