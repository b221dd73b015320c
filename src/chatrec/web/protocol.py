"""The WebSocket protocol: the frames clients may send, validated, and how events look.

Every client frame is a JSON object with a ``type``; anything else is answered with an
``error`` frame and the connection survives (R19).  ``docs/protocol.md`` is the
reference for client authors; this module is its single source.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from chatrec.domain.journal import (
    Actor,
    AgentAssigned,
    AttachmentSent,
    ChatEnded,
    ChatStarted,
    ConsentAnswered,
    ConsentAsked,
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
    SupervisorJoined,
    Transferred,
    WrapUpChosen,
)
from chatrec.domain.presence import AwayReason

Ref = Annotated[str | None, Field(default=None, max_length=64)]
ChatId = Annotated[str, Field(min_length=1, max_length=64)]
MAX_SEEN = 2000
"""Chats a staff hello may say it has seen: more than a portal shows; the frame's size
limit bounds it as well."""


class Frame(BaseModel):
    # Strict: a wrong JSON type is bad_frame, never coerced ("no" is not False, R19).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    ref: Ref = None
    acked: ClassVar[bool] = True
    """Whether an accepted frame is answered with ``ack``: all but typing indicators."""


class Hello(Frame):
    """First frame of every connection: who you are and what you have seen."""

    type: Literal["hello"]
    token: Annotated[str | None, Field(default=None, max_length=200)] = None
    last_seq: Annotated[int, Field(ge=0)] = 0
    seen: Annotated[dict[ChatId, Annotated[int, Field(ge=0)]], Field(max_length=MAX_SEEN)] = {}
    """Staff: per chat the client holds, the highest ``seq`` it has; the welcome replays
    only what follows (a chat it does not name, from seq 1)."""


class Ping(Frame):
    type: Literal["ping"]


class CustomerMessage(Frame):
    type: Literal["message"]
    text: Annotated[str, Field(min_length=1)]


class CustomerTyping(Frame):
    """The customer is typing (``active``) or stopped; ``draft`` is shown to agents only
    where the company turns the preview on.  Never recorded (R23); not acknowledged."""

    acked: ClassVar[bool] = False
    type: Literal["typing"]
    active: bool
    draft: str | None = None


class RequestDeletion(Frame):
    type: Literal["request_deletion"]


class CustomerEnd(Frame):
    type: Literal["end"]


CustomerFrame = Annotated[
    Hello | Ping | CustomerMessage | CustomerTyping | RequestDeletion | CustomerEnd,
    Field(discriminator="type"),
]


class Presence(Frame):
    type: Literal["presence"]
    available: bool
    # Why Away, one of chatrec's reasons; left out when Available.
    # (Not strict: a JSON string names the reason.)
    reason: Annotated[AwayReason | None, Field(strict=False)] = None


class Active(Frame):
    """The agent is using the portal: their idle time starts again."""

    type: Literal["active"]


class Sync(Frame):
    """Ask for a chat's events after ``last_seq`` (after a reconnect)."""

    type: Literal["sync"]
    chat_id: ChatId
    last_seq: Annotated[int, Field(ge=0)] = 0


class StaffMessage(Frame):
    type: Literal["message"]
    chat_id: ChatId
    text: Annotated[str, Field(min_length=1)]


class StaffTyping(Frame):
    """The staff member is typing in ``chat_id`` (``active``) or stopped.  Never recorded
    (R23); not acknowledged."""

    acked: ClassVar[bool] = False
    type: Literal["typing"]
    chat_id: ChatId
    active: bool


class StaffNote(Frame):
    """An internal note to the chat's staff: never shown to the customer (R23)."""

    type: Literal["note"]
    chat_id: ChatId
    text: Annotated[str, Field(min_length=1)]


class WrapUp(Frame):
    """The chat's wrap-up code, one of the company's (``GET /api/wrap-up-codes``, R23)."""

    type: Literal["wrap_up"]
    chat_id: ChatId
    code: Annotated[str, Field(min_length=1, max_length=200)]


class ChatAction(Frame):
    """Actions on one chat; there is no "start recording" (R2)."""

    type: Literal["pause", "resume", "delete_recording", "flag_abusive", "join", "leave", "end"]
    chat_id: ChatId


class Transfer(Frame):
    type: Literal["transfer"]
    chat_id: ChatId
    to_agent: Annotated[str | None, Field(default=None, max_length=64)] = None
    to_queue: Annotated[str | None, Field(default=None, max_length=64)] = None
    # An internal note for whoever takes the chat next (R23).
    note: Annotated[str | None, Field(default=None, min_length=1)] = None


StaffFrame = Annotated[
    Hello
    | Ping
    | Presence
    | Active
    | Sync
    | StaffMessage
    | StaffNote
    | StaffTyping
    | WrapUp
    | ChatAction
    | Transfer,
    Field(discriminator="type"),
]

CUSTOMER_FRAMES: TypeAdapter[Any] = TypeAdapter(CustomerFrame)
STAFF_FRAMES: TypeAdapter[Any] = TypeAdapter(StaffFrame)


def _who(actor: Actor, *, with_id: bool) -> dict[str, Any]:
    who: dict[str, Any] = {"role": actor.role.value, "name": actor.name}
    if with_id and actor.user_id is not None:
        who["user_id"] = actor.user_id
    return who


def _body(event: Event, *, staff: bool) -> dict[str, Any] | None:
    """The fields of an event a client may see; ``None``: not shown to this audience.

    Customers never see recording internals beyond the state (R11a): not who deleted
    or flagged, not sampling, not permits (R15a).
    """
    match event:
        case ChatStarted():
            return {"type": "started", "service": event.service}
        case MessagePosted():
            return {"type": "message", "text": event.text}
        case AttachmentSent():  # to everyone in the chat; the bytes by its id (R23)
            return {
                "type": "attachment",
                "attachment_id": event.attachment_id,
                "name": event.name,
                "media_type": event.media_type,
                "size": event.size,
                "paused": event.paused,
            }
        case NoteAdded():  # between staff only (R23)
            return (
                {"type": "note", "text": event.text, "with_transfer": event.with_transfer}
                if staff
                else None
            )
        case AgentAssigned() | SupervisorJoined():
            body: dict[str, Any] = {"type": "joined"}
            if staff and isinstance(event, AgentAssigned):
                body["by_transfer"] = event.by_transfer
                body["queue"] = event.queue
            return body
        case ParticipantLeft():
            return {"type": "left"}
        case Transferred():
            body = {"type": "transferred"}
            if event.to_agent is not None:
                body["to_agent"] = _who(event.to_agent, with_id=staff)
            if staff and event.to_queue is not None:
                body["to_queue"] = event.to_queue
            return body
        case ConsentAsked():
            return {"type": "consent_asked", "question": event.question}
        case ConsentAnswered():
            return {"type": "consent_answered", "granted": event.granted}
        case RecordingPaused():
            return {"type": "paused"}
        case RecordingResumed():
            return {"type": "resumed"}
        case DeletionRequested():
            return {"type": "deletion_requested"}
        case ChatEnded():
            return {"type": "ended", "reason": event.reason}
        case RecordingRequested():
            return {"type": "recording_requested", "reason": event.reason} if staff else None
        case Discarded():
            return {"type": "discarded"} if staff else None
        case DeletePressed():
            return {"type": "delete_pressed"} if staff else None
        case FlaggedAbusive():
            return {"type": "flagged_abusive"} if staff else None
        case WrapUpChosen():
            return {"type": "wrap_up", "code": event.code} if staff else None
    return None


def event_view(event: Event, *, staff: bool) -> dict[str, Any] | None:
    """An event as a client sees it: an allow-list per audience (R15a, R18)."""
    body = _body(event, staff=staff)
    if body is None:
        return None
    return {**body, "at": event.at.isoformat(), "by": _who(event.actor, with_id=staff)}


def frame_text(frame: dict[str, Any]) -> str:
    """A frame as the text sent: orjson's, ten times quicker than the standard library's
    on every frame of every follower (issue 13).  What orjson refuses, a message's lone
    surrogate that the client's JSON escaped, goes as the standard library writes it."""
    try:
        return orjson.dumps(frame).decode()
    except orjson.JSONEncodeError:
        return json.dumps(frame)
