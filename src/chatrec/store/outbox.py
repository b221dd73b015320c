"""The delivery outbox: destinations, and the leases workers hold on recording files (R16).

Every function runs inside the caller's transaction (``Store`` opens it).  Claiming is
the same code on both databases: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets many
claimers pass each other; on SQLite the write transaction starts with ``BEGIN
IMMEDIATE`` (``store.database``), so one claimer at a time and ``FOR UPDATE``, which
SQLite does not know, is left out by SQLAlchemy.  A claim is a lease: a worker that dies
mid-upload leaves its rows ``delivering`` until the lease expires, then any worker takes
them again.  No function here deletes a delivery.

It is long because a delivery's whole life in the database (destination, claim, lease,
retry, reading) is kept together: the lease rules are easier to check in one place.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CursorResult,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, aliased

from chatrec.errors import ActionError, NotFoundError
from chatrec.store.mapping import delivery_record, destination_record, destination_values
from chatrec.store.models import (
    CompanyRow,
    DestinationRow,
    RecordingFileRow,
    RecordingRow,
)
from chatrec.store.records import (
    SIDECAR_FORMAT,
    DeliveryRecord,
    DeliveryState,
    DeliveryStats,
    DestinationRecord,
    RecordingDelivery,
)
from chatrec.store.secrets import SecretBox
from chatrec.store.tables import RECORDING_FILES, RECORDINGS

File = RecordingFileRow
PENDING = DeliveryState.PENDING.value
DELIVERING = DeliveryState.DELIVERING.value
DELIVERED = DeliveryState.DELIVERED.value
BLOCKED = DeliveryState.BLOCKED.value

# The statement changes rows the session has not loaded: nothing to synchronise.
_BULK = {"synchronize_session": False}

FORGOTTEN_SECRETS_REASON = (
    "the SFTP password or private key was saved with a key that is lost, and was "
    "forgotten: enter it again"
)


# -- destinations -------------------------------------------------------------------------


def set_destination(
    session: Session, record: DestinationRecord, now: datetime, box: SecretBox
) -> None:
    """Create or replace the company's destination; a changed destination is unblocked.

    Its password or private key is stored encrypted by ``box`` (R18).
    """
    if session.get(CompanyRow, record.company_id) is None:
        raise NotFoundError(f"no company {record.company_id!r}")
    if (record.password is None) == (record.private_key is None):
        raise ActionError("a recording platform needs a password or a private key, not both")
    values = destination_values(record, box, blocked_reason=None, blocked_at=None, updated_at=now)
    row = session.get(DestinationRow, record.company_id)
    if row is None:
        session.add(DestinationRow(**values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    _release(session, [record.company_id], now)


def get_destination(session: Session, company_id: str, box: SecretBox) -> DestinationRecord | None:
    row = session.get(DestinationRow, company_id)
    return None if row is None else destination_record(row, box)


def list_destinations(session: Session, box: SecretBox) -> list[DestinationRecord]:
    rows = session.scalars(select(DestinationRow).order_by(DestinationRow.company_id))
    return [destination_record(row, box) for row in rows]


def encrypt_legacy_secrets(session: Session, box: SecretBox) -> int:
    """Encrypt with ``box``'s first key every secret not already so; how many changed.

    That is a secret saved in plain text before secrets were encrypted, and one
    encrypted with an older key of ``box`` (a rotation).  A secret that no key of
    ``box`` opens raises :class:`~chatrec.errors.SecretKeyError` and changes nothing.
    """
    changed = 0
    for row in session.scalars(select(DestinationRow).order_by(DestinationRow.company_id)):
        record = destination_record(row, box)
        for name in ("password", "private_key"):
            stored = getattr(row, name)
            if stored is not None and not box.is_current(stored):
                setattr(row, name, box.encrypt(getattr(record, name)))
                changed += 1
    return changed


def forget_unreadable_secrets(session: Session, box: SecretBox, now: datetime) -> list[str]:
    """Drop the secrets no key of ``box`` opens, blocking their destinations; whose.

    The way on after a lost key: each such destination waits, saying why, until an
    administrator enters its password or private key again.
    """
    forgotten = []
    for row in session.scalars(select(DestinationRow).order_by(DestinationRow.company_id)):
        secrets = [value for value in (row.password, row.private_key) if value is not None]
        if all(box.can_decrypt(value) for value in secrets):
            continue
        row.password = row.private_key = None
        block_destination(session, row.company_id, FORGOTTEN_SECRETS_REASON, now)
        forgotten.append(row.company_id)
    return forgotten


def block_destination(session: Session, company_id: str, reason: str, now: datetime) -> int:
    """Stop the destination's deliveries until a person acts; how many were blocked."""
    row = session.get(DestinationRow, company_id)
    if row is None:
        raise NotFoundError(f"company {company_id!r} has no recording platform")
    row.blocked_reason = reason
    row.blocked_at = now
    statement = (
        update(File)
        .where(File.state.in_([PENDING, DELIVERING]), File.recording_id.in_(_of(company_id)))
        .values(state=BLOCKED, last_error=reason, lease_owner=None, lease_expires_at=None)
        .execution_options(**_BULK)
    )
    return _count(session.execute(statement))


def unblock_destination(session: Session, company_id: str, now: datetime) -> int:
    """Let the destination's deliveries go again, due at once; how many were waiting."""
    row = session.get(DestinationRow, company_id)
    if row is None:
        raise NotFoundError(f"company {company_id!r} has no recording platform")
    row.blocked_reason = None
    row.blocked_at = None
    return _release(session, [company_id], now)


def _release(session: Session, company_ids: Collection[str], now: datetime) -> int:
    """Blocked and waiting files of the companies become due now."""
    recordings = select(RecordingRow.recording_id).where(RecordingRow.company_id.in_(company_ids))
    statement = (
        update(File)
        .where(File.state.in_([PENDING, BLOCKED]), File.recording_id.in_(recordings))
        .values(state=PENDING, next_attempt_at=now)
        .execution_options(**_BULK)
    )
    return _count(session.execute(statement))


def _of(company_id: str) -> Any:
    return select(RecordingRow.recording_id).where(RecordingRow.company_id == company_id)


def _count(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


# -- claiming -----------------------------------------------------------------------------


def _due(now: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """Waiting and due, or leased by a worker whose lease ran out."""
    return or_(
        and_(File.state == PENDING, File.next_attempt_at <= now),
        and_(File.state == DELIVERING, File.lease_expires_at <= now),
    )


def _undelivered_data(excluding: BindParameter[Any] | None = None) -> ColumnElement[bool]:
    """The file's recording still has a data file not delivered (and not in ``excluding``,
    a list of file ids bound when the statement runs)."""
    data = aliased(RecordingFileRow)
    conditions = [
        data.recording_id == File.recording_id,
        data.format != SIDECAR_FORMAT,
        data.state != DELIVERED,
    ]
    if excluding is not None:
        conditions.append(data.file_id.not_in(excluding))
    return exists().where(*conditions)


def any_due(session: Session, now: datetime) -> bool:
    """Whether a claim could find work: read first, so that an idle worker's poll does not
    take SQLite's write lock from the servers committing chats."""
    return session.scalar(select(File.file_id).where(_due(now)).limit(1)) is not None


def claim(
    session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[DeliveryRecord]:
    """Lease up to ``limit`` due files (and the sidecars they complete) to ``worker_id``.

    A sidecar is claimed only once every data file of its recording is delivered, or
    claimed in this same call, so the platform never sees a sidecar before its data.
    Files of a blocked destination wait; a company without a destination is claimed
    so the worker can say so on each file.  Statements built once, read as plain rows:
    every end of a chat wakes a worker to claim (issue 13).
    """
    connection = session.connection()
    first = connection.scalars(_FIRST_DUE, {"now": now, "limit": limit}).all()
    if not first:
        return []
    completing = connection.scalars(_COMPLETING, {"first": first, "now": now}).all()
    claimed = [*first, *completing]
    lease = {"owner": worker_id, "expires": now + timedelta(seconds=lease_seconds)}
    connection.execute(_LEASE, {"ids": claimed, **lease})
    rows = connection.execute(_CLAIMED, {"ids": claimed})
    return [delivery_record(row) for row in rows]


_DUE_AT: BindParameter[datetime] = bindparam("now")
_CLAIM_BLOCKED = exists().where(
    DestinationRow.company_id == RECORDINGS.c.company_id,
    DestinationRow.blocked_reason.is_not(None),
)
_FIRST_DUE = (
    select(File.file_id)
    .join(RECORDINGS, RECORDINGS.c.recording_id == File.recording_id)
    .where(
        _due(_DUE_AT),
        ~_CLAIM_BLOCKED,
        or_(File.format != SIDECAR_FORMAT, ~_undelivered_data()),
    )
    .order_by(File.next_attempt_at, File.file_id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=File)
)
_FIRST: BindParameter[list[int]] = bindparam("first", expanding=True)
_COMPLETING = (
    select(File.file_id)
    .where(
        File.recording_id.in_(select(File.recording_id).where(File.file_id.in_(_FIRST))),
        File.format == SIDECAR_FORMAT,
        File.file_id.not_in(_FIRST),
        or_(
            File.state == PENDING,
            and_(File.state == DELIVERING, File.lease_expires_at <= _DUE_AT),
        ),
        ~_undelivered_data(excluding=_FIRST),
    )
    .with_for_update(skip_locked=True)
)
_CLAIMED_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_LEASE = (
    update(File)
    .where(File.file_id.in_(_CLAIMED_IDS))
    .values(
        state=DELIVERING,
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("expires"),
        attempts=File.attempts + 1,
    )
)
_DELIVERY_COLUMNS = (
    *(
        getattr(File, name)
        for name in (
            "file_id",
            "recording_id",
            "format",
            "path",
            "size",
            "sha256",
            "state",
            "attempts",
            "created_at",
            "next_attempt_at",
            "last_error",
            "lease_owner",
            "lease_expires_at",
            "delivered_at",
        )
    ),
    RECORDINGS.c.chat_id,
    RECORDINGS.c.company_id,
    RECORDINGS.c.base_name,
)
"""What :func:`chatrec.store.mapping.delivery_record` reads of a file and its recording."""
_DELIVERIES = select(*_DELIVERY_COLUMNS).join_from(
    File, RECORDINGS, RECORDINGS.c.recording_id == File.recording_id
)
"""Every read of deliveries as the outbox shows them: a file's columns and its
recording's, as plain rows (the file's bytes are never among them)."""
_CLAIMED = _DELIVERIES.where(File.file_id.in_(_CLAIMED_IDS)).order_by(
    File.recording_id, File.file_id
)


def mark_delivered(
    session: Session, ids: Sequence[int], worker_id: str, now: datetime
) -> list[int]:
    """Confirm the files delivered where the lease is still ``worker_id``'s; those ids.

    Their bytes are emptied in the same statement: the platform holds them now, and a
    delivered recording is not kept twice (R16, R17).
    """
    if not ids:
        return []
    statement = (
        update(File)
        .where(File.file_id.in_(ids), File.state == DELIVERING, File.lease_owner == worker_id)
        .values(
            state=DELIVERED,
            delivered_at=now,
            content=None,
            last_error=None,
            lease_owner=None,
            lease_expires_at=None,
        )
        .returning(File.file_id)
        .execution_options(**_BULK)
    )
    return sorted(session.scalars(statement).all())


def contents(session: Session, ids: Collection[int]) -> dict[int, bytes]:
    """The bytes of the files ``ids`` that still hold them; a file without is left out."""
    if not ids:
        return {}
    rows = session.execute(select(File.file_id, File.content).where(File.file_id.in_(ids)))
    return {file_id: content for file_id, content in rows if content is not None}


RetryPlan = Sequence[tuple[int, str, datetime]]
"""Files to give back: each one's id, why its attempt failed, when to try it again."""


def mark_retries(
    session: Session, worker_id: str, plan: RetryPlan, *, attempted: bool = True
) -> int:
    """Give each file back to wait until its time, where the lease is still ours; how
    many.  One statement for them all: a platform that is down fails every file of a
    batch, and a write per file held the database's writer from the chats' commits.
    ``attempted=False`` (no platform to send to) gives back the attempt the claim
    counted: nothing was tried, and the back-off starts afresh once a platform is set."""
    if not plan:
        return 0
    values = [
        {"b_id": delivery_id, "b_owner": worker_id, "b_error": error, "b_due": due}
        for delivery_id, error, due in plan
    ]
    return _count(session.connection().execute(_RETRY if attempted else _POSTPONE, values))


_RETRY = (
    update(RECORDING_FILES)
    .where(
        RECORDING_FILES.c.file_id == bindparam("b_id"),
        RECORDING_FILES.c.state == DELIVERING,
        RECORDING_FILES.c.lease_owner == bindparam("b_owner"),
    )
    .values(
        state=PENDING,
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_due"),
        lease_owner=None,
        lease_expires_at=None,
    )
)
_POSTPONE = _RETRY.values(attempts=RECORDING_FILES.c.attempts - 1)


def retry(
    session: Session, ids: Sequence[int] | None, company_id: str | None, now: datetime
) -> int:
    """Make waiting and blocked files due now, unblocking the destinations they wait for.

    ``ids`` ``None`` means every such file (of ``company_id`` when given).  An unknown id,
    or one of another company, refuses the whole call.  Delivered files and files a
    worker holds are left as they are.  Blocked is a state of the destination: retrying
    one blocked file unblocks its destination, so every file waiting for it goes too.
    Returns how many of the chosen files were made due.
    """
    chosen = select(File.file_id, File.state, RecordingRow.company_id).join(
        RecordingRow, RecordingRow.recording_id == File.recording_id
    )
    if company_id is not None:
        chosen = chosen.where(RecordingRow.company_id == company_id)
    if ids is not None:
        chosen = chosen.where(File.file_id.in_(ids))
        missing = sorted(set(ids) - {row.file_id for row in session.execute(chosen)})
        if missing:
            raise NotFoundError(f"no deliveries {missing}")
    rows = session.execute(chosen.where(File.state.in_([PENDING, BLOCKED]))).all()
    unblock = update(DestinationRow).values(blocked_reason=None, blocked_at=None)
    if ids is not None:
        blocked = {row.company_id for row in rows if row.state == BLOCKED}
        unblock = unblock.where(DestinationRow.company_id.in_(blocked))
    elif company_id is not None:
        unblock = unblock.where(DestinationRow.company_id == company_id)
    unblocked = session.scalars(unblock.returning(DestinationRow.company_id)).all()
    _release(session, unblocked, now)
    if rows:
        session.execute(
            update(File)
            .where(File.file_id.in_([row.file_id for row in rows]))
            .values(state=PENDING, next_attempt_at=now)
            .execution_options(**_BULK)
        )
    return len(rows)


# -- reading ------------------------------------------------------------------------------


def _records(
    session: Session,
    where: ColumnElement[bool],
    *,
    order: tuple[Any, ...],
    limit: int | None = None,
) -> list[DeliveryRecord]:
    query = _DELIVERIES.where(where).order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    return [delivery_record(row) for row in session.execute(query)]


def list_deliveries(
    session: Session, state: DeliveryState | None, company_id: str | None, limit: int
) -> list[DeliveryRecord]:
    """Newest first, optionally only one state and one company."""
    conditions: list[ColumnElement[bool]] = []
    if state is not None:
        conditions.append(File.state == state.value)
    if company_id is not None:
        conditions.append(RecordingRow.company_id == company_id)
    return _records(session, and_(true(), *conditions), order=(File.file_id.desc(),), limit=limit)


# A recording's state is its most pressing file's: the higher rank wins.
_RANKS = (DELIVERED, PENDING, DELIVERING, BLOCKED)
_RANK = case(*((File.state == state, rank) for rank, state in enumerate(_RANKS)), else_=0)


def recording_deliveries(
    session: Session,
    company_id: str,
    *,
    state: DeliveryState | None = None,
    before: int | None = None,
    limit: int | None = None,
    recording_ids: Collection[str] | None = None,
) -> list[RecordingDelivery]:
    """The company's recordings with their files, newest first (by their newest file).

    ``state`` keeps the recordings in that state as a whole; ``before`` those whose
    newest file id is below it (the next page); ``recording_ids`` only those.
    """
    rank, newest = func.max(_RANK), func.max(File.file_id)
    query = (
        select(File.recording_id, rank, newest)
        .join(RecordingRow, RecordingRow.recording_id == File.recording_id)
        .where(RecordingRow.company_id == company_id)
        .group_by(File.recording_id)
        .order_by(newest.desc())
    )
    if recording_ids is not None:
        query = query.where(File.recording_id.in_(recording_ids))
    if state is not None:
        query = query.having(rank == _RANKS.index(state.value))
    if before is not None:
        query = query.having(newest < before)
    if limit is not None:
        query = query.limit(limit)
    found = session.execute(query).all()
    files: dict[str, list[DeliveryRecord]] = {row[0]: [] for row in found}
    for record in _records(session, File.recording_id.in_(files), order=(File.file_id,)):
        files[record.recording_id].append(record)
    return [
        RecordingDelivery(
            recording_id=recording_id,
            chat_id=files[recording_id][0].chat_id,
            state=DeliveryState(_RANKS[state_rank]),
            newest_file_id=newest_id,
            files=tuple(files[recording_id]),
        )
        for recording_id, state_rank, newest_id in found
    ]


def get_delivery(
    session: Session, delivery_id: int, company_id: str | None
) -> DeliveryRecord | None:
    found = _records(session, File.file_id == delivery_id, order=())
    if not found or (company_id is not None and found[0].company_id != company_id):
        return None
    return found[0]


def delivery_stats(session: Session) -> DeliveryStats:
    counts = dict.fromkeys(DeliveryState, 0)
    for state, count in session.execute(select(File.state, func.count()).group_by(File.state)):
        counts[DeliveryState(state)] = count
    oldest = session.scalar(select(func.min(File.created_at)).where(File.state != DELIVERED))
    return DeliveryStats(counts=counts, oldest_waiting_at=oldest)
