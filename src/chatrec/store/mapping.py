"""Rows to records and back: the one place that knows both shapes.

Records are the frozen dataclasses of :mod:`chatrec.store.records`; rows are the
models of :mod:`chatrec.store.models`.  Values here are plain dicts of column values,
so the same mapping serves ORM objects and bulk statements.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Row

from chatrec.domain.codec import decode_event, encode_event
from chatrec.domain.filenames import name_key
from chatrec.domain.journal import Event
from chatrec.domain.masking import MaskPattern
from chatrec.domain.roles import LoginRole
from chatrec.errors import SecretKeyError
from chatrec.store.models import (
    ChatEventRow,
    ChatRow,
    CompanyRow,
    DestinationRow,
    FlowRow,
    FlowVersionRow,
    RecordingFileRow,
    RecordingRow,
    UserRow,
)
from chatrec.store.records import (
    SIDECAR_FORMAT,
    AuditRecord,
    ChatChange,
    ChatRecord,
    ChatStatus,
    CompanyRecord,
    DeliveryKind,
    DeliveryRecord,
    DeliveryState,
    DestinationRecord,
    FlowVersionRecord,
    RecordingFileRecord,
    RecordingRecord,
    UserRecord,
)
from chatrec.store.secrets import SecretBox

R = TypeVar("R")


def values_of(record: object, **overrides: Any) -> dict[str, Any]:
    """The record's fields as column values (records and rows share field names)."""
    assert dataclasses.is_dataclass(record)
    assert not isinstance(record, type)
    values = {name: getattr(record, name) for name in _field_names(type(record))}
    values.update(overrides)
    return values


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    """Looked up once per record type: the hot path maps a chat row per message."""
    return tuple(field.name for field in dataclasses.fields(kind))


def record_of(kind: type[R], row: object, **overrides: Any) -> R:
    """A record of ``kind`` from the row's attributes of the same names."""
    assert dataclasses.is_dataclass(kind)
    values = {
        field.name: getattr(row, field.name)
        for field in dataclasses.fields(kind)
        if field.name not in overrides
    }
    return kind(**values, **overrides)


def company_values(record: CompanyRecord) -> dict[str, Any]:
    return values_of(
        record,
        products=sorted(record.products),
        formats=sorted(record.formats),
        masking_patterns=[dataclasses.asdict(pattern) for pattern in record.masking_patterns],
        wrap_up_codes=list(record.wrap_up_codes),
        attachment_types=sorted(record.attachment_types),
    )


def company_record(row: CompanyRow | Row[Any]) -> CompanyRecord:
    return record_of(
        CompanyRecord,
        row,
        products=frozenset(row.products),
        formats=frozenset(row.formats),
        sampling_key=bytes(row.sampling_key),
        masking_patterns=tuple(
            MaskPattern(pattern["name"], pattern["pattern"])
            for pattern in row.masking_patterns or ()
        ),
        wrap_up_codes=tuple(row.wrap_up_codes or ()),
        attachment_types=frozenset(row.attachment_types or ()),
    )


def user_values(record: UserRecord) -> dict[str, Any]:
    """The column keeps the role's name: a login role is an enum only in the records."""
    return values_of(record, role=str(record.role), login_key=login_key(record.login))


def login_key(login: str) -> str:
    """Logins are unique and found whatever their case."""
    return login.casefold()


def user_record(row: UserRow | Row[Any]) -> UserRecord:
    """From the row, or from its columns read without the ORM (``store.routing``)."""
    return record_of(UserRecord, row, role=LoginRole(row.role))


def flow_version_record(flow: FlowRow, version: FlowVersionRow) -> FlowVersionRecord:
    return FlowVersionRecord(
        flow_id=flow.flow_id,
        company_id=flow.company_id,
        name=flow.name,
        version=version.version,
        source=version.source,
        created_at=version.created_at,
    )


def chat_values(record: ChatRecord) -> dict[str, Any]:
    """The chat's columns a live change writes: never ``purged_at``, which only a purge sets."""
    values = values_of(record, status=record.status.value)
    del values["purged_at"]
    return values


_WRITTEN_ONCE = ("customer_email",)
"""Set by the chat's start alone: no later change, however stale its copy, writes back
what the purge emptied (R17)."""


def changed_values(change: ChatChange) -> dict[str, Any]:
    """The chat's id and the columns the change sets: those that differ from the row as
    its writer last knew it (every column when it does not say), ``last_seq`` always.
    Writing no more narrows what a stale copy could overwrite, and costs less."""
    values = chat_values(change.chat)
    for name in _WRITTEN_ONCE:
        del values[name]
    if change.before is None:
        return values
    before = chat_values(change.before)
    return {
        name: value
        for name, value in values.items()
        if name in _ALWAYS_WRITTEN or value != before[name]
    }


_ALWAYS_WRITTEN = frozenset({"chat_id", "last_seq"})


def chat_record(row: ChatRow | Row[Any]) -> ChatRecord:
    return record_of(ChatRecord, row, status=ChatStatus(row.status))


def event_values(
    chat_id: str, seq: int, event: Event, chained: tuple[bytes, bytes] | None = None
) -> dict[str, Any]:
    payload = encode_event(event)
    digest, link = chained or (None, None)
    return {
        "chat_id": chat_id,
        "seq": seq,
        "type": payload["type"],
        "at": event.at,
        "payload": payload,
        "digest": digest,
        "link": link,
    }


def change_events(change: ChatChange) -> list[dict[str, Any]]:
    """The rows of the change's events, each with its place in the chain when given."""
    chat_id = change.chat.chat_id
    if not change.chain:
        return [event_values(chat_id, seq, event) for seq, event in change.events]
    return [
        event_values(chat_id, seq, event, chained)
        for (seq, event), chained in zip(change.events, change.chain, strict=True)
    ]


def event_of(row: ChatEventRow) -> tuple[int, Event]:
    return row.seq, decode_event(row.payload)


def recording_values(record: RecordingRecord) -> dict[str, Any]:
    values = values_of(record, base_name_key=base_name_key(record.base_name))
    del values["files"]
    return values


def base_name_key(base_name: str | None) -> str | None:
    """The unique key of a stored base name: names clash as :func:`name_key` says (R6)."""
    return None if base_name is None else name_key(base_name)


def recording_record(
    row: RecordingRow, files: list[RecordingFileRow], *, with_bytes: bool
) -> RecordingRecord:
    """``with_bytes`` only if the rows' deferred ``content`` was loaded: reading it
    otherwise would query each file's bytes one by one."""
    bytes_of = {} if with_bytes else {"content": None}
    return record_of(
        RecordingRecord,
        row,
        files=tuple(record_of(RecordingFileRecord, f, **bytes_of) for f in files),
    )


def audit_record(row: object) -> AuditRecord:
    return record_of(AuditRecord, row)


def destination_values(
    record: DestinationRecord, box: SecretBox, **overrides: Any
) -> dict[str, Any]:
    """The destination's columns, its password and private key encrypted (R18)."""
    return values_of(
        record,
        password=_sealed(box, record.password),
        private_key=_sealed(box, record.private_key),
        **overrides,
    )


def destination_record(row: DestinationRow, box: SecretBox) -> DestinationRecord:
    """The destination with its secrets decrypted; a wrong key names the company."""
    try:
        password, private_key = _opened(box, row.password), _opened(box, row.private_key)
    except SecretKeyError as error:
        raise SecretKeyError(error.key_origin, row.company_id) from error.__cause__
    return record_of(DestinationRecord, row, password=password, private_key=private_key)


def _sealed(box: SecretBox, secret: str | None) -> str | None:
    return None if secret is None else box.encrypt(secret)


def _opened(box: SecretBox, stored: str | None) -> str | None:
    return None if stored is None else box.decrypt(stored)


def delivery_record(row: Row[Any]) -> DeliveryRecord:
    """A file's columns and its recording's, read as one row (``outbox._DELIVERIES``), as
    the outbox shows a delivery."""
    kind = DeliveryKind.SIDECAR if row.format == SIDECAR_FORMAT else DeliveryKind.DATA
    return DeliveryRecord(
        delivery_id=row.file_id,
        recording_id=row.recording_id,
        chat_id=row.chat_id,
        company_id=row.company_id,
        kind=kind,
        format=row.format,
        base_name=row.base_name or "",
        remote_path=row.path,
        size=row.size,
        sha256=row.sha256,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        delivered_at=row.delivered_at,
    )
