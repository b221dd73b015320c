"""The recording document: the one allow-list every format is rendered from (R15, R15a).

:func:`build_document` reads the journal through an explicit allow-list.  Each event
type that may reach a recording file has one branch in :func:`_entry` naming the fields
it copies; any other event type, and every field not named there (staff settings
snapshots, sampling draws, filename templates, flow ids, e-mails, tokens), stays
behind.  The JSON, vCon, text, HTML and sidecar renderers read this document, never the
journal, so nothing reaches a file without passing through here.

The customer's pre-chat details (R23) are metadata, ``customer``: what they typed in
the form and the page the chat started on, never anything else the journal knows.

Internal notes (R23) are entries of their own, ``note`` with ``internal: true``, unless
the company leaves them out of recordings; what is written while paused is left out
like a message.

Attachments (R23) are entries ``attachment`` with the file's name, sniffed type, size
and SHA-256 and ``file``, its name beside the recording (``None`` if its bytes were not
there to deliver); one sent while paused is left out like a message, name and all.

Pause (R8): a message posted between a ``RecordingPaused`` and the next
``RecordingResumed`` is left out entirely (no text, no placeholder, no length), and the
gap shows as a ``paused`` and a ``resumed`` marker saying who and when.  A second pause
while paused and a resume while not paused change nothing and leave no marker; a chat
that ends paused stays paused to the end.  Other events during a pause (joins,
transfers, consent answers) are kept: they are not something anybody said.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from chatrec.domain.decision import Verdict
from chatrec.domain.journal import (
    Actor,
    AgentAssigned,
    AttachmentSent,
    ChatEnded,
    ChatRole,
    ConsentAnswered,
    ConsentAsked,
    DeletePressed,
    DeletionRequested,
    Discarded,
    Event,
    FlaggedAbusive,
    Journal,
    MessagePosted,
    NoteAdded,
    ParticipantLeft,
    RecordingPaused,
    RecordingRequested,
    RecordingResumed,
    SupervisorJoined,
    Transferred,
    WrapUpChosen,
)
from chatrec.domain.participants import primary_agent
from chatrec.domain.settings import CompanySettings
from chatrec.errors import JournalError

Json = dict[str, Any]

SCHEMA_ID = "https://chatrec.example/schemas/recording/1"
SCHEMA_VERSION = 1


def iso(at: datetime) -> str:
    """ISO-8601 in UTC with ``Z`` (R15a); microseconds only when there are any."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def actor_json(actor: Actor) -> Json:
    """Who did something: role and display name, and the login id for staff only."""
    return {
        "role": actor.role.value,
        "name": actor.name,
        "user_id": actor.user_id if actor.is_staff else None,
    }


def actor_key(actor: Json) -> tuple[str, str | None, str]:
    """Identity of a document actor: staff by login id, everyone else by name."""
    return (actor["role"], actor["user_id"], actor["name"] if actor["user_id"] is None else "")


def _entry(event: Event, notes: bool, files: Mapping[str, str]) -> Json | None:
    """The allow-listed form of one event, or ``None`` for events no file shows;
    ``notes``: the company keeps internal notes in its recordings (R23); ``files``: the
    names the attachments are delivered under, by id."""
    head: Json = {"at": iso(event.at), "by": actor_json(event.actor)}
    match event:
        case MessagePosted():
            return {"type": "message", **head, "text": event.text}
        case AttachmentSent():
            return {
                "type": "attachment",
                **head,
                "name": event.name,
                "media_type": event.media_type,
                "size": event.size,
                "sha256": event.sha256,
                "file": files.get(event.attachment_id),
            }
        case NoteAdded():
            if not notes:
                return None
            note: Json = {"type": "note", **head, "internal": True, "text": event.text}
            return note | ({"with_transfer": True} if event.with_transfer else {})
        case AgentAssigned():
            return {
                "type": "joined",
                **head,
                "by_transfer": event.by_transfer,
                "queue": event.queue,
            }
        case SupervisorJoined():
            return {"type": "joined", **head, "by_transfer": False, "queue": None}
        case ParticipantLeft():
            return {"type": "left", **head}
        case Transferred():
            to_agent = actor_json(event.to_agent) if event.to_agent is not None else None
            return {"type": "transferred", **head, "to_agent": to_agent, "to_queue": event.to_queue}
        case ConsentAsked():
            return {"type": "consent_asked", **head, "question": event.question}
        case ConsentAnswered():
            answer = "granted" if event.granted else "declined"
            return {
                "type": "consent_answered",
                **head,
                "question": event.question,
                "answer": answer,
            }
        case RecordingRequested():
            return {
                "type": "recording_requested",
                **head,
                "step": event.step_id,
                "reason": event.reason,
            }
        case Discarded():
            return {"type": "discarded", **head}
        case DeletionRequested():
            return {"type": "deletion_requested", **head}
        case DeletePressed():
            return {"type": "delete_pressed", **head}
        case FlaggedAbusive():
            return {"type": "flagged_abusive", **head}
        case RecordingPaused():
            return {"type": "paused", **head}
        case RecordingResumed():
            return {"type": "resumed", **head}
        case ChatEnded():
            return {"type": "ended", **head, "reason": event.reason}
    return None


def recorded_events(journal: Journal) -> Iterator[Event]:
    """The journal's events in order minus what was said while paused, and repeated
    pauses or resumes (R8): all a recording may show or count."""
    paused = False
    for event in journal.events:
        if isinstance(event, RecordingPaused):
            if paused:
                continue
            paused = True
        elif isinstance(event, RecordingResumed):
            if not paused:
                continue
            paused = False
        elif paused and isinstance(event, MessagePosted | NoteAdded | AttachmentSent):
            continue
        yield event


def _participants(journal: Journal, events: Sequence[Json]) -> list[Json]:
    """Everyone the kept events show taking part, in order of first appearance.

    The system counts only when it posted a message; otherwise it merely ends chats.
    """
    pairs = [(actor_json(journal.start.actor), False)]
    pairs += [(entry["by"], entry["type"] == "message") for entry in events]
    found: dict[tuple[str, str | None, str], Json] = {}
    for actor, posted in pairs:
        if actor["role"] != ChatRole.SYSTEM.value or posted:
            found.setdefault(actor_key(actor), actor)
    return list(found.values())


def _consent(journal: Journal) -> str:
    """The customer's last answer, or whether they were asked at all (R10)."""
    answers = journal.of_type(ConsentAnswered)
    if answers:
        return "granted" if answers[-1].granted else "declined"
    return "unanswered" if journal.of_type(ConsentAsked) else "not_asked"


def _wrap_up(journal: Journal) -> Json | None:
    """The last wrap-up code chosen before the end, and who chose it when (R23)."""
    chosen = journal.of_type(WrapUpChosen)
    if not chosen:
        return None
    last = chosen[-1]
    return {"code": last.code, "at": iso(last.at), "by": actor_json(last.actor)}


def _customer(journal: Journal) -> Json | None:
    """The customer's pre-chat details and the page the chat started on (R23), or
    ``None`` if they gave none; as the journal keeps them, masked (R22)."""
    details = journal.start.customer
    if details is None:
        return None
    return {
        "name": details.name,
        "email": details.email,
        "fields": [{"key": a.key, "label": a.label, "value": a.value} for a in details.answers],
        "page": details.page,
    }


def _first_queue(journal: Journal) -> str | None:
    return next((join.queue for join in journal.of_type(AgentAssigned) if join.queue), None)


def build_document(
    company: CompanySettings,
    journal: Journal,
    verdict: Verdict,
    explanation: Sequence[str],
    attachment_files: Mapping[str, str] | None = None,
) -> Json:
    """The recording as JSON-ready data: chat metadata, outcome, decision and events;
    ``attachment_files``: the name each recorded attachment is delivered under, by id.

    Refuses a chat that has not ended and a recording that was not produced: a file
    must never be rendered for either (R12, R13).
    """
    ended = journal.ended
    if ended is None:
        raise JournalError(f"chat {journal.chat_id} has not ended; it cannot be rendered yet")
    if not verdict.produced:
        raise JournalError(
            f"recording {verdict.recording.recording_id} was {verdict.outcome}; "
            "only produced recordings are rendered"
        )
    recording = verdict.recording
    recorded = list(recorded_events(journal))
    notes = company.record_internal_notes
    files = attachment_files or {}
    events = [entry for e in recorded if (entry := _entry(e, notes, files)) is not None]
    # How many values the recorded messages (and notes) had masked (R22): never which.
    messages: list[MessagePosted | NoteAdded] = [
        e for e in recorded if isinstance(e, MessagePosted) or (notes and isinstance(e, NoteAdded))
    ]
    primary = primary_agent(journal)
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "recording_id": recording.recording_id,
        "chat_id": journal.chat_id,
        "company": {"id": company.company_id, "name": company.name},
        "service": journal.start.service,
        "channel": journal.start.channel,
        "queue": _first_queue(journal),
        "origin": recording.origin.value,
        "reason": recording.reason,
        "recording_agent": actor_json(recording.agent) if recording.agent else None,
        "flow_step": recording.step_id,
        "started_at": iso(journal.start.at),
        "ended_at": iso(ended.at),
        "end_reason": ended.reason,
        "participants": _participants(journal, events),
        "primary_agent": actor_json(primary) if primary else None,
        "wrap_up": _wrap_up(journal),
        "customer": _customer(journal),
        "outcome": {
            "abusive": bool(journal.of_type(FlaggedAbusive)),
            "deletion_requested_by_customer": bool(journal.of_type(DeletionRequested)),
            "delete_pressed": bool(journal.of_type(DeletePressed)),
            "discarded": bool(journal.of_type(Discarded)),
            "consent": _consent(journal),
            "paused_spans": sum(1 for entry in events if entry["type"] == "paused"),
            "masked_card_numbers": sum(message.masked for message in messages),
            "masked_other_values": sum(message.masked_other for message in messages),
        },
        "decision": {
            "outcome": verdict.outcome.value,
            "rule": verdict.rule,
            "explanation": list(explanation),
        },
        "events": events,
    }
