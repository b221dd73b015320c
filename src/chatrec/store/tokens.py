"""API tokens (R18), inside the caller's transaction, which ``Store`` opens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from chatrec.errors import NotFoundError
from chatrec.store.mapping import record_of, values_of
from chatrec.store.models import ApiTokenRow, UserRow
from chatrec.store.records import ApiTokenRecord


def add_api_token(session: Session, token: ApiTokenRecord) -> None:
    if session.get(UserRow, token.user_id) is None:
        raise NotFoundError(f"no user {token.user_id!r}")
    session.add(ApiTokenRow(**values_of(token)))


def find_api_token(session: Session, token_hash: str) -> ApiTokenRecord | None:
    row = session.get(ApiTokenRow, token_hash)
    return None if row is None else record_of(ApiTokenRecord, row)


def get_api_token(session: Session, token_id: str) -> ApiTokenRecord | None:
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_id == token_id))
    return None if row is None else record_of(ApiTokenRecord, row)


def list_api_tokens(session: Session, user_id: str) -> list[ApiTokenRecord]:
    rows = session.scalars(
        select(ApiTokenRow)
        .where(ApiTokenRow.user_id == user_id)
        .order_by(ApiTokenRow.created_at, ApiTokenRow.token_id)
    )
    return [record_of(ApiTokenRecord, row) for row in rows]


def revoke_api_token(session: Session, token_id: str, now: datetime) -> ApiTokenRecord:
    """Revoke the token (once: revoking it again keeps the first time)."""
    row = session.scalar(
        select(ApiTokenRow).where(ApiTokenRow.token_id == token_id).with_for_update()
    )
    if row is None:
        raise NotFoundError(f"no API token {token_id!r}")
    if row.revoked_at is None:
        row.revoked_at = now
    session.flush()
    return record_of(ApiTokenRecord, row)


def revoke_user_tokens(session: Session, user_id: str, now: datetime) -> int:
    """Revoke every live token of the login (its password was reset); how many."""
    result = session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def touch_api_token(session: Session, token_hash: str, now: datetime, every: timedelta) -> None:
    """Note the token's use at ``now``, unless it was noted less than ``every`` ago."""
    session.execute(
        update(ApiTokenRow)
        .where(
            ApiTokenRow.token_hash == token_hash,
            or_(ApiTokenRow.last_used_at.is_(None), ApiTokenRow.last_used_at < now - every),
        )
        .values(last_used_at=now)
    )
