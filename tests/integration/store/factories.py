"""Records for store tests: one company (``acme``) with a login, a queue, a flow, a service.

Chats use :class:`tests.unit.domain.builders.ChatBuilder`, whose journals belong to
``acme`` and its service "Support".  For the outbox: a second company (``globex``),
destinations, and ended chats with produced recordings, their bytes in the change.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta

from chatrec.domain.journal import CUSTOMER, Event, MessagePosted
from chatrec.domain.roles import LoginRole
from chatrec.store.records import (
    ChatChange,
    ChatRecord,
    ChatStatus,
    CompanyRecord,
    DestinationRecord,
    QueueRecord,
    RecordingFileRecord,
    RecordingRecord,
    ServiceRecord,
    UserRecord,
)
from chatrec.store.store import Store
from tests.unit.domain.builders import T0, ChatBuilder, agent

BOB_ACTOR = agent("bob")

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
    role=LoginRole.AGENT,
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
                content=bytes([n]) * (1000 + n),
            )
            for n in range(files if base_name else 0)
        ),
    )


GLOBEX = replace(ACME, company_id="globex", name="Globex", sampling_key=b"globex-key")
GLOBEX_SUPPORT = ServiceRecord(
    service_id="g-support", company_id="globex", name="Support", flow_id=None
)


def destination(company_id: str = "acme", **changes: object) -> DestinationRecord:
    """A key-authenticated destination; the tests of the worker never connect to it."""
    record = DestinationRecord(
        company_id=company_id,
        host="127.0.0.1",
        port=2222,
        username="recordings",
        folder="/upload",
        host_key="[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnly",
        private_key="-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n",
        done_marker=True,
    )
    return replace(record, **changes)


def seed_two_companies(store: Store) -> None:
    seed(store)
    store.create_company(GLOBEX)
    store.create_service(GLOBEX_SUPPORT)


def file_bytes(chat_id: str, recording_id: str, path: str) -> bytes:
    """What a recording file holds: distinct for every file, so a mix-up shows."""
    return f"{chat_id}/{recording_id}/{path}\n".encode() * 3


def produced(
    recording_id: str,
    chat_id: str,
    *,
    data: int = 2,
    company_id: str = "acme",
) -> RecordingRecord:
    """A produced recording: ``data`` data files, then its sidecar, with their bytes."""
    base = f"{chat_id}/{recording_id}"
    names = [(f"{base}.{n}.json", "json") for n in range(data)] + [(f"{base}.meta.json", "sidecar")]
    files = []
    for path, kind in names:
        content = file_bytes(chat_id, recording_id, path)
        files.append(
            RecordingFileRecord(
                path=path,
                format=kind,
                media_type="application/json",
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
            )
        )
    return RecordingRecord(
        recording_id=recording_id,
        chat_id=chat_id,
        company_id=company_id,
        origin="agent",
        reason="agent bob",
        outcome="produced",
        rule="R5a",
        explanation=f"recording {recording_id} of chat {chat_id}",
        base_name=base,
        files=tuple(files),
    )


def ended_chat(
    chat_id: str,
    recordings: tuple[RecordingRecord, ...] = (),
    *,
    company_id: str = "acme",
    start: datetime = T0,
) -> ChatChange:
    """A whole chat in one change: started, two messages, ended with ``recordings``."""
    builder = (
        ChatBuilder(chat_id, start=start).customer_says("my card is 4111").says(BOB_ACTOR, "ok")
    )
    builder.end()
    service = SUPPORT.service_id if company_id == "acme" else GLOBEX_SUPPORT.service_id
    chat = replace(
        chat_of(builder, status=ChatStatus.ENDED),
        company_id=company_id,
        service_id=service,
        ended_at=builder.events[-1].at,
    )
    return ChatChange(
        chat=chat, events=numbered(builder.events), recordings=recordings, new_chat=True
    )
