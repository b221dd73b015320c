"""Records for store tests: one company (``acme``) with a login, a queue, a flow, a service.

Chats use :class:`tests.unit.domain.builders.ChatBuilder`, whose journals belong to
``acme`` and its service "Support".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from chatrec.domain.journal import CUSTOMER, Event, MessagePosted
from chatrec.store.records import (
    ChatChange,
    ChatRecord,
    ChatStatus,
    CompanyRecord,
    QueueRecord,
    RecordingFileRecord,
    RecordingRecord,
    ServiceRecord,
    UserRecord,
)
from chatrec.store.store import Store
from tests.unit.domain.builders import T0, ChatBuilder

ACME = CompanyRecord(
    company_id="acme",
    name="Acme",
    products=frozenset({"call_recording", "webchat"}),
    default_template="{date}/{company}_{chat_id}_{origin}_{recording_id}",
    formats=frozenset({"json", "vcon"}),
    done_marker=True,
    sampling_key=b"\x00\xffsecret-key",
    retention_seconds=3600,
)
BOB = UserRecord(
    user_id="bob",
    company_id="acme",
    login="Bob.Agent",
    name="Bob",
    role="agent",
    password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
    permit_recordings=False,
    record_chats=True,
    record_percentage=40,
    capacity=5,
)
GENERAL = QueueRecord(queue_id="q-general", company_id="acme", name="General")
SUPPORT = ServiceRecord(service_id="s-support", company_id="acme", name="Support", flow_id=None)
FLOW_SOURCE = "steps:\n  - say: Hello\n  - route: General\n"


def seed(store: Store) -> None:
    """The company of the builders' journals, with a login, a queue and a service."""
    store.create_company(ACME)
    store.create_user(BOB)
    store.create_queue(GENERAL)
    store.create_service(SUPPORT)


def chat_of(builder: ChatBuilder, *, status: ChatStatus = ChatStatus.ACTIVE) -> ChatRecord:
    """The chat row a builder's journal so far would have."""
    events = builder.events
    return ChatRecord(
        chat_id=builder.chat_id,
        company_id="acme",
        service_id=SUPPORT.service_id,
        token_hash=f"token-of-{builder.chat_id}",
        status=status,
        started_at=events[0].at,
        last_activity_at=events[-1].at,
        last_seq=len(events),
    )


def numbered(events: list[Event], first: int = 1) -> tuple[tuple[int, Event], ...]:
    return tuple(enumerate(events, start=first))


def new_chat(chat_id: str, *, start: datetime = T0) -> ChatChange:
    """A chat's first change: the row and its ``ChatStarted``, one customer message."""
    builder = ChatBuilder(chat_id, start=start).customer_says("Hello")
    return ChatChange(chat=chat_of(builder), events=numbered(builder.events), new_chat=True)


def next_message(change: ChatChange, text: str = "More") -> ChatChange:
    """The change that follows ``change``: one more customer message, the next number."""
    chat = change.chat
    at = chat.last_activity_at + timedelta(seconds=1)
    seq = chat.last_seq + 1
    record = replace(chat, last_seq=seq, last_activity_at=at)
    return ChatChange(chat=record, events=((seq, MessagePosted(at=at, actor=CUSTOMER, text=text)),))


def recording(
    recording_id: str, chat_id: str, base_name: str | None, *, files: int = 1
) -> RecordingRecord:
    return RecordingRecord(
        recording_id=recording_id,
        chat_id=chat_id,
        company_id="acme",
        origin="agent",
        reason="agent bob",
        outcome="produced" if base_name else "suppressed",
        rule="R5a",
        explanation=f"recording {recording_id} of chat {chat_id}",
        base_name=base_name,
        files=tuple(
            RecordingFileRecord(
                path=f"{base_name}.{n}.json",
                format="json",
                media_type="application/json",
                size=1000 + n,
                sha256=f"{n:064x}",
                spool_path=f"/spool/{chat_id}/{recording_id}/{base_name}.{n}.json",
            )
            for n in range(files if base_name else 0)
        ),
    )
