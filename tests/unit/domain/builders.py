"""A fluent builder of chat journals for domain tests.

Each call appends one event one second after the previous, so journals read like the
story of a chat and keep the ordering the journal requires.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from chatrec.domain.attachments import sniff_media_type
from chatrec.domain.filenames import FilenameTemplate
from chatrec.domain.journal import (
    CUSTOMER,
    FLOW,
    Actor,
    AgentAssigned,
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
    Journal,
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
from chatrec.domain.sampling import draw_sample
from chatrec.domain.settings import CompanySettings, Product, RecordingFormat

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
SAMPLING_KEY = b"unit-test-sampling-key"
ALL_FORMATS = frozenset(RecordingFormat)


def agent(user_id: str) -> Actor:
    return Actor(ChatRole.AGENT, user_id.capitalize(), user_id)


def supervisor(user_id: str) -> Actor:
    return Actor(ChatRole.SUPERVISOR, user_id.capitalize(), user_id)


def company(
    *,
    products: frozenset[Product] = frozenset(Product),
    template: str = "{date}/{company}_{chat_id}_{origin}_{recording_id}",
    formats: frozenset[RecordingFormat] = frozenset({RecordingFormat.JSON}),
) -> CompanySettings:
    return CompanySettings(
        company_id="acme",
        name="Acme",
        products=products,
        default_template=FilenameTemplate.parse(template),
        formats=formats,
    )


class ChatBuilder:
    """Builds a journal event by event; :meth:`journal` returns it (ended or not)."""

    def __init__(
        self,
        chat_id: str = "C1",
        *,
        service: str = "Support",
        start: datetime = T0,
        customer: CustomerDetails | None = None,
    ) -> None:
        self.chat_id = chat_id
        self._now = start
        self.events: list[Event] = [
            ChatStarted(
                at=start,
                actor=CUSTOMER,
                chat_id=chat_id,
                company_id="acme",
                service=service,
                customer=customer,
            )
        ]

    def _tick(self) -> datetime:
        self._now += timedelta(seconds=1)
        return self._now

    def add(self, event: Event) -> ChatBuilder:
        self.events.append(event)
        return self

    def add_all(self, events: Iterable[Event]) -> ChatBuilder:
        """Append events as they are; later calls continue from the last one's time."""
        for event in events:
            self.add(event)
            self._now = max(self._now, event.at)
        return self

    def says(self, actor: Actor, text: str, masked: int = 0, masked_other: int = 0) -> ChatBuilder:
        message = MessagePosted(
            at=self._tick(), actor=actor, text=text, masked=masked, masked_other=masked_other
        )
        return self.add(message)

    def customer_says(self, text: str, masked: int = 0, masked_other: int = 0) -> ChatBuilder:
        return self.says(CUSTOMER, text, masked, masked_other)

    def notes(
        self, actor: Actor, text: str, *, with_transfer: bool = False, masked: int = 0
    ) -> ChatBuilder:
        """An internal note between staff (R23)."""
        note = NoteAdded(
            at=self._tick(), actor=actor, text=text, with_transfer=with_transfer, masked=masked
        )
        return self.add(note)

    def attaches(
        self, actor: Actor, attachment_id: str, name: str, content: bytes, *, paused: bool = False
    ) -> ChatBuilder:
        """A file sent in the chat (R23): its bytes' size and SHA-256, its type sniffed."""
        return self.add(
            AttachmentSent(
                at=self._tick(),
                actor=actor,
                attachment_id=attachment_id,
                name=name,
                media_type=sniff_media_type(content) or "application/octet-stream",
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                paused=paused,
            )
        )

    def wraps_up(self, actor: Actor, code: str) -> ChatBuilder:
        """The chat's wrap-up code, chosen (R23)."""
        return self.add(WrapUpChosen(at=self._tick(), actor=actor, code=code))

    def assign(
        self,
        who: Actor,
        *,
        permit: bool = True,
        record_chats: bool = True,
        percentage: int = 100,
        queue: str | None = "General",
        by_transfer: bool = False,
    ) -> ChatBuilder:
        assert who.user_id is not None
        return self.add(
            AgentAssigned(
                at=self._tick(),
                actor=who,
                settings=StaffSnapshot(
                    permit_recordings=permit,
                    record_chats=record_chats,
                    record_percentage=percentage,
                ),
                draw=draw_sample(SAMPLING_KEY, self.chat_id, who.user_id, percentage),
                queue=queue,
                by_transfer=by_transfer,
            )
        )

    def transfer(
        self, source: Actor, target: Actor, *, permit: bool = True, record_chats: bool = True
    ) -> ChatBuilder:
        """Transfer from ``source`` to agent ``target``: the transfer, then the target joins."""
        self.add(Transferred(at=self._tick(), actor=source, to_agent=target))
        return self.assign(
            target, permit=permit, record_chats=record_chats, queue=None, by_transfer=True
        )

    def transfer_to_queue(self, source: Actor, queue: str) -> ChatBuilder:
        return self.add(Transferred(at=self._tick(), actor=source, to_queue=queue))

    def supervisor_joins(self, who: Actor, *, permit: bool = True) -> ChatBuilder:
        snapshot = StaffSnapshot(permit_recordings=permit)
        return self.add(SupervisorJoined(at=self._tick(), actor=who, settings=snapshot))

    def leaves(self, who: Actor) -> ChatBuilder:
        return self.add(ParticipantLeft(at=self._tick(), actor=who))

    def flow_records(self, step_id: str, reason: str, template: str | None = None) -> ChatBuilder:
        return self.add(
            RecordingRequested(
                at=self._tick(), actor=FLOW, step_id=step_id, reason=reason, template=template
            )
        )

    def ask_consent(self, question: str = "May we record this chat?") -> ChatBuilder:
        return self.add(ConsentAsked(at=self._tick(), actor=FLOW, question=question))

    def consent(self, granted: bool, question: str = "May we record this chat?") -> ChatBuilder:
        self.ask_consent(question)
        return self.add(
            ConsentAnswered(at=self._tick(), actor=CUSTOMER, question=question, granted=granted)
        )

    def discard(self) -> ChatBuilder:
        return self.add(Discarded(at=self._tick(), actor=FLOW))

    def pause(self, who: Actor) -> ChatBuilder:
        return self.add(RecordingPaused(at=self._tick(), actor=who))

    def resume(self, who: Actor) -> ChatBuilder:
        return self.add(RecordingResumed(at=self._tick(), actor=who))

    def customer_asks_deletion(self) -> ChatBuilder:
        return self.add(DeletionRequested(at=self._tick(), actor=CUSTOMER))

    def press_delete(self, who: Actor) -> ChatBuilder:
        return self.add(DeletePressed(at=self._tick(), actor=who))

    def flag_abusive(self, who: Actor) -> ChatBuilder:
        return self.add(FlaggedAbusive(at=self._tick(), actor=who))

    def end(self, reason: str = "customer ended") -> ChatBuilder:
        return self.add(ChatEnded(at=self._tick(), actor=CUSTOMER, reason=reason))

    def journal(self) -> Journal:
        return Journal.of(self.events)
