"""Sign-in state (R18), inside the caller's transaction, which ``Store`` opens: sessions,
wrong sign-ins per login and client address, and the second factor's secret and codes.

A failure is counted on its row locked for the update (``FOR UPDATE`` on PostgreSQL;
SQLite's write transactions are ``BEGIN IMMEDIATE``), so failures at once each count.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from chatrec.store.models import LoginFailureRow, RecoveryCodeRow, SessionRow, UserRow
from chatrec.store.records import Pending, SessionRecord
from chatrec.store.secrets import SecretBox
from chatrec.store.transactions import require

LockAfter = Callable[[int], timedelta | None]
"""How long an address waits after so many failures in a row; ``None``: not at all."""


def session_record(row: SessionRow | Row[Any]) -> SessionRecord:
    return SessionRecord(
        token_hash=row.token_hash,
        user_id=row.user_id,
        expires_at=row.expires_at,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        pending=None if row.pending is None else Pending(row.pending),
    )


def touch_session(session: Session, token_hash: str, now: datetime, every: timedelta) -> None:
    """Note the session's use at ``now``, unless it was noted less than ``every`` ago."""
    session.execute(
        update(SessionRow)
        .where(SessionRow.token_hash == token_hash, SessionRow.last_seen_at < now - every)
        .values(last_seen_at=now)
    )


def end_sessions(session: Session, user_id: str, *, keep: str | None = None) -> int:
    """End every session of the login but ``keep`` (a token hash); how many ended."""
    statement = delete(SessionRow).where(SessionRow.user_id == user_id)
    if keep is not None:
        statement = statement.where(SessionRow.token_hash != keep)
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


def delete_stale_sessions(session: Session, now: datetime, idle_since: datetime | None) -> int:
    """Delete the sessions that expired, or were last used before ``idle_since``."""
    stale = SessionRow.expires_at <= now
    if idle_since is not None:
        stale = or_(stale, SessionRow.last_seen_at < idle_since)
    return int(getattr(session.execute(delete(SessionRow).where(stale)), "rowcount", 0) or 0)


def lock_of(session: Session, lock_key: str, address: str) -> datetime | None:
    row = session.get(LoginFailureRow, (lock_key, address))
    return None if row is None else row.locked_until


def count_failure(
    session: Session, lock_key: str, address: str, now: datetime, lock_after: LockAfter
) -> datetime | None:
    """Count one more wrong sign-in of ``lock_key`` from ``address``; until when this one
    locked it, or ``None``.  Tries while a lock holds count for nothing: they were
    refused unread."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginFailureRow)
        .values(lock_key=lock_key, address=address, failures=0, last_failure_at=now)
        .on_conflict_do_nothing()
    )
    row = session.get(LoginFailureRow, (lock_key, address), with_for_update=True)
    assert row is not None
    if row.locked_until is not None and row.locked_until > now:
        return None
    row.failures += 1
    row.last_failure_at = now
    wait = lock_after(row.failures)
    if wait is None:
        return None
    row.locked_until = now + wait
    user = session.get(UserRow, lock_key)
    if user is not None and (user.locked_until is None or user.locked_until < row.locked_until):
        user.locked_until = row.locked_until
    return row.locked_until


def clear_failures(session: Session, lock_key: str, address: str | None = None) -> None:
    """Forget the wrong sign-ins of ``lock_key`` from ``address``, or from everywhere."""
    statement = delete(LoginFailureRow).where(LoginFailureRow.lock_key == lock_key)
    if address is not None:
        statement = statement.where(LoginFailureRow.address == address)
    session.execute(statement)


def forget_failures(session: Session, now: datetime, before: datetime) -> int:
    """Delete the counts last added to before ``before`` whose lock has ended."""
    statement = delete(LoginFailureRow).where(
        LoginFailureRow.last_failure_at < before,
        or_(LoginFailureRow.locked_until.is_(None), LoginFailureRow.locked_until <= now),
    )
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


def _user(session: Session, user_id: str, *, for_update: bool = False) -> UserRow:
    row: UserRow = require(session, UserRow, user_id, "user", for_update=for_update)
    return row


def set_totp(
    session: Session, box: SecretBox, user_id: str, secret: str | None, *, enabled: bool
) -> None:
    """Keep the login's TOTP secret, encrypted (R18); ``None`` turns TOTP off and
    forgets its recovery codes."""
    row = _user(session, user_id, for_update=True)
    row.totp_secret = None if secret is None else box.encrypt(secret)
    row.totp_enabled = enabled
    row.totp_last_step = None
    if secret is None:
        session.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id))


def reencrypt_totp_secrets(session: Session, box: SecretBox) -> int:
    """Encrypt with ``box``'s first key the TOTP secrets under an older one (a key
    rotation); how many changed.  One no key opens raises ``SecretKeyError``."""
    changed = 0
    for row in session.scalars(select(UserRow).where(UserRow.totp_secret.is_not(None))):
        stored = row.totp_secret
        if stored is not None and not box.is_current(stored):
            row.totp_secret = box.encrypt(box.decrypt(stored))
            changed += 1
    return changed


def totp_secret(session: Session, box: SecretBox, user_id: str) -> str | None:
    stored = _user(session, user_id).totp_secret
    return None if stored is None else box.decrypt(stored)


def accept_totp_step(session: Session, user_id: str, step: int) -> bool:
    """Take the code of time step ``step``, once: whether it was still unused."""
    result = session.execute(
        update(UserRow)
        .where(
            UserRow.user_id == user_id,
            or_(UserRow.totp_last_step.is_(None), UserRow.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(getattr(result, "rowcount", 0))


def replace_recovery_codes(session: Session, user_id: str, code_hashes: list[str]) -> None:
    session.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id))
    session.add_all(RecoveryCodeRow(code_hash=h, user_id=user_id) for h in code_hashes)


def use_recovery_code(session: Session, user_id: str, code_hash: str, now: datetime) -> bool:
    """Spend the code, once: whether it was the login's and unused."""
    result = session.execute(
        update(RecoveryCodeRow)
        .where(
            and_(
                RecoveryCodeRow.code_hash == code_hash,
                RecoveryCodeRow.user_id == user_id,
                RecoveryCodeRow.used_at.is_(None),
            )
        )
        .values(used_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def unused_recovery_codes(session: Session, user_id: str) -> int:
    rows = session.scalars(
        select(RecoveryCodeRow.code_hash).where(
            RecoveryCodeRow.user_id == user_id, RecoveryCodeRow.used_at.is_(None)
        )
    )
    return len(rows.all())
