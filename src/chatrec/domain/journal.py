"""A chat as an ordered journal of events.

The journal is the single source of truth for everything the recording rules read:
who took part (with their settings as stored at the moment they joined, R12a and the
interpretation "changes take effect for chats joined after the change"), what the flow
did, and every staff recording action.  Events are plain frozen data; the time of each
comes in from outside (the domain never reads a clock) and must be timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from chatrec.domain.sampling import SamplingDraw
from chatrec.errors import JournalError


class ChatRole(StrEnum):
    """Who an actor is in a chat; the only roles that can appear in a journal.

    Not a login's role (:class:`chatrec.domain.roles.LoginRole`): the customer, the flow
    and the system have no login, and only the desk's logins take part in chats.
    """

    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    FLOW = "flow"
    SYSTEM = "system"


STAFF_CHAT_ROLES = frozenset({ChatRole.AGENT, ChatRole.SUPERVISOR})
"""The chat roles of staff: those the desk's logins (``roles.DESK_ROLES``) act under."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone or something that caused an event.

    ``user_id`` is the login id for staff and ``None`` for the customer, the flow and the
    system.  ``name`` is the display name shown in recordings (never an e-mail, R15a).
    """

    role: ChatRole
    name: str
    user_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_CHAT_ROLES


CUSTOMER = Actor(ChatRole.CUSTOMER, "Customer")
FLOW = Actor(ChatRole.FLOW, "Chat flow")
SYSTEM = Actor(ChatRole.SYSTEM, "System")


def require_utc(at: datetime) -> None:
    """Refuse naive or non-UTC times: every journal time is ISO-8601 UTC (R15a)."""
    if at.tzinfo is None or at.utcoffset() != timedelta(0):
        raise JournalError(f"event time {at.isoformat()} must be timezone-aware UTC")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every journal event: when it happened and who did it."""

    at: datetime
    actor: Actor

    def __post_init__(self) -> None:
        require_utc(self.at)


@dataclass(frozen=True, slots=True)
class Answer:
    """The customer's answer to one custom field of the pre-chat form, with the label the
    form asked it under (issue 15)."""

    key: str
    label: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerDetails:
    """What the customer told the pre-chat form and the page the chat started on (R23):
    personal data, masked as messages are (R22) and purged with them (R17)."""

    name: str = ""
    email: str = ""
    answers: tuple[Answer, ...] = ()
    page: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatStarted(Event):
    """The customer opened the chat on a service; the first event of every journal.

    ``customer``: the pre-chat details, if the customer gave any (issue 15); added later,
    so a journal without them encodes and hashes as before."""

    chat_id: str
    company_id: str
    service: str
    channel: str = "webchat"
    flow_id: str | None = None
    flow_version: int | None = None
    customer: CustomerDetails | None = field(default=None, metadata={"omitted_when_default": True})


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePosted(Event):
    """A message from the customer, an agent, a supervisor or the flow (by the actor).

    ``text`` is as kept, masked (R22): ``masked`` says how many card numbers were, and
    ``masked_other`` how many values the company's own patterns found."""

    text: str
    masked: int = field(default=0, metadata={"omitted_when_default": True})
    masked_other: int = field(default=0, metadata={"omitted_when_default": True})


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteAdded(Event):
    """An internal note between staff: never shown to the customer; in recordings marked
    internal unless the company leaves notes out (R23).  ``with_transfer``: written for
    the agent a transfer hands the chat to.  Masked as messages are (R22)."""

    text: str
    with_transfer: bool = field(default=False, metadata={"omitted_when_default": True})
    masked: int = field(default=0, metadata={"omitted_when_default": True})
    masked_other: int = field(default=0, metadata={"omitted_when_default": True})


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentSent(Event):
    """The actor sent a file into the chat (R23): what it is, never its bytes, which the
    store keeps apart under ``attachment_id`` and purges with the message texts (R17).

    ``media_type`` is read from the bytes; ``paused``: recording was paused when it was
    sent, so it is in no recording (R8)."""

    attachment_id: str
    name: str
    media_type: str
    size: int
    sha256: str
    paused: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class WrapUpChosen(Event):
    """A staff member in the chat chose its wrap-up code from the company's list; the
    last one chosen before the end is in the recordings' metadata (R23)."""

    code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StaffSnapshot:
    """A staff login's recording settings as stored when they joined (R4, R7, R12a)."""

    permit_recordings: bool = True
    record_chats: bool = True
    record_percentage: int = 100

    def __post_init__(self) -> None:
        if not 0 <= self.record_percentage <= 100:
            raise JournalError(f"record_percentage must be 0-100, got {self.record_percentage}")


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentAssigned(Event):
    """An agent took the chat, from a queue or by transfer (R5a).

    The actor is the agent.  ``settings`` is their login as stored at this moment and
    ``draw`` the sampling draw made now (R7); both are kept so the decision can be
    replayed from the journal alone.
    """

    settings: StaffSnapshot
    draw: SamplingDraw
    queue: str | None = None
    by_transfer: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Transferred(Event):
    """A staff member handed the chat to another agent or to a queue.

    Exactly one of ``to_agent`` and ``to_queue`` is set.  Joining the target agent is a
    separate ``AgentAssigned`` event so that every join carries its own snapshot.
    """

    to_agent: Actor | None = None
    to_queue: str | None = None

    def __post_init__(self) -> None:
        Event.__post_init__(self)
        if (self.to_agent is None) == (self.to_queue is None):
            raise JournalError("a transfer goes to exactly one agent or one queue")


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorJoined(Event):
    """A supervisor joined the conversation and is now involved (R12a)."""

    settings: StaffSnapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class ParticipantLeft(Event):
    """The actor left the chat (an agent, a supervisor or the customer)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingRequested(Event):
    """A flow ``record`` step ran (R5b); ``template`` ``None`` means the company default."""

    step_id: str
    reason: str
    template: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentAsked(Event):
    """The flow asked the customer for consent to record (R10)."""

    question: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentAnswered(Event):
    """The customer's answer, kept with the question it answered (R10)."""

    question: str
    granted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Discarded(Event):
    """The flow ran ``discard``: every recording of the chat is discarded (R10, R12c)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingPaused(Event):
    """Staff paused all recordings of the chat (R8)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingResumed(Event):
    """Staff resumed all recordings of the chat (R8)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletionRequested(Event):
    """The customer asked from the widget that the recording be deleted (R9)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletePressed(Event):
    """A staff member pressed Delete recording (R9, R12b)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FlaggedAbusive(Event):
    """A staff member flagged the chat abusive (R11, R13); the flag is never removed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatEnded(Event):
    """The chat ended; the last event of every finished journal."""

    reason: str = "ended"


E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class Journal:
    """A chat's events in the order they happened.

    Construction checks the shape the rules rely on: it starts with ``ChatStarted``,
    times never go backwards, and nothing follows ``ChatEnded``.
    """

    events: tuple[Event, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.events or not isinstance(self.events[0], ChatStarted):
            raise JournalError("a journal starts with ChatStarted")
        for before, after in zip(self.events, self.events[1:], strict=False):
            if after.at < before.at:
                raise JournalError(
                    f"{type(after).__name__} at {after.at.isoformat()} is earlier than "
                    f"the {type(before).__name__} before it"
                )
            if isinstance(before, ChatEnded):
                raise JournalError(f"{type(after).__name__} follows ChatEnded")

    @classmethod
    def of(cls, events: Sequence[Event]) -> Journal:
        return cls(tuple(events))

    def extended(self, more: Sequence[Event]) -> Journal:
        """This journal and ``more`` after it, checking only what ``more`` adds: a live
        chat's journal grows an event at a time, and checking it whole each time made a
        message cost more the longer its chat."""
        previous = self.events[-1]
        for event in more:
            if isinstance(previous, ChatEnded):
                raise JournalError(f"{type(event).__name__} follows ChatEnded")
            if event.at < previous.at:
                raise JournalError(
                    f"{type(event).__name__} at {event.at.isoformat()} is earlier than "
                    f"the {type(previous).__name__} before it"
                )
            previous = event
        grown = object.__new__(Journal)
        object.__setattr__(grown, "events", (*self.events, *more))
        return grown

    @property
    def start(self) -> ChatStarted:
        first = self.events[0]
        assert isinstance(first, ChatStarted)
        return first

    @property
    def chat_id(self) -> str:
        return self.start.chat_id

    @property
    def ended(self) -> ChatEnded | None:
        last = self.events[-1]
        return last if isinstance(last, ChatEnded) else None

    def of_type(self, kind: type[E]) -> list[E]:
        return [event for event in self.events if isinstance(event, kind)]
