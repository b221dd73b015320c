"""API tokens (R18), inside the caller's transaction, which ``Store`` opens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from chatrec.errors import NotFoundError, TooManyTokensError
from chatrec.store.mapping import record_of, values_of
from chatrec.store.models import ApiTokenRow, UserRow
from chatrec.store.records import ApiTokenRecord
from chatrec.store.transactions import require


def add_api_token(session: Session, token: ApiTokenRecord, live_limit: int | None) -> None:
    """Add the token, unless its login already has ``live_limit`` live ones.

    The login's row is locked first, so tokens made at once are each counted.
    """
    require(session, UserRow, token.user_id, "user", for_update=True)
    if live_limit is not None:
        live = session.scalar(
            select(func.count())
            .select_from(ApiTokenRow)
            .where(
                ApiTokenRow.user_id == token.user_id,
                ApiTokenRow.revoked_at.is_(None),
                or_(ApiTokenRow.expires_at.is_(None), ApiTokenRow.expires_at > token.created_at),
            )
        )
        if (live or 0) >= live_limit:
            raise TooManyTokensError(
                f"this login has {live} live API tokens, the most it may have "
                f"(CHATREC_API_TOKEN_MAX_PER_USER); revoke one it no longer uses with "
                "DELETE /api/tokens/{token_id} first"
            )
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


def revoke_api_token(session: Session, token_id: str, now: datetime) -> list[ApiTokenRecord]:
    """Revoke the token and every token made with it, at any depth (once: revoking one
    again keeps its first time).  The token comes first, then those made with it."""
    row = session.scalar(
        select(ApiTokenRow).where(ApiTokenRow.token_id == token_id).with_for_update()
    )
    if row is None:
        raise NotFoundError(f"no API token {token_id!r}")
    rows, parents = [row], [token_id]
    while parents:
        children = session.scalars(
            select(ApiTokenRow).where(ApiTokenRow.parent_id.in_(parents)).with_for_update()
        ).all()
        rows.extend(children)
        parents = [child.token_id for child in children]
    for each in rows:
        if each.revoked_at is None:
            each.revoked_at = now
    session.flush()
    return [record_of(ApiTokenRecord, each) for each in rows]


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
