"""Reads at the driver (``store.driver_reads``) give what SQLAlchemy's would (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, select

from chatrec.store.records import Pending, SessionRecord
from chatrec.store.store import Store
from chatrec.store.tables import SESSIONS
from tests.integration.store.factories import seed

NOW = datetime(2026, 11, 27, 12, 0, 0, 250000, tzinfo=UTC)

_LIVE_AT = (
    select(SESSIONS.c.token_hash, SESSIONS.c.expires_at, SESSIONS.c.pending)
    .where(
        SESSIONS.c.expires_at > bindparam("at"),
        SESSIONS.c.pending.is_(None) | (SESSIONS.c.pending == Pending.PASSWORD_CHANGE.value),
    )
    .order_by(SESSIONS.c.expires_at)
)
"""A time bound by the caller, a literal of the statement's own, an order."""


def test_a_driver_read_binds_and_reads_values_as_sqlalchemy_does(store: Store) -> None:
    seed(store)
    for name, hours, pending in (
        ("gone", -1, None),
        ("soon", 1, None),
        ("later", 2, Pending.PASSWORD_CHANGE),
        ("enrolling", 3, Pending.TOTP_ENROLMENT),
    ):
        expires = NOW + timedelta(hours=hours)
        store.create_session(SessionRecord(name, "bob", expires, NOW, NOW, pending))
    # Given in another zone: stored times are UTC, so the bound one must become UTC too.
    at = NOW.astimezone(timezone(timedelta(hours=5, minutes=30)))
    rows = store._plain_rows(_LIVE_AT, {"at": at})
    with store.engine.connect() as connection:
        expected = connection.execute(_LIVE_AT, {"at": at}).all()
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
    assert [(row.token_hash, row.pending) for row in rows] == [
        ("soon", None),
        ("later", "password_change"),
    ]
    assert rows[0].expires_at == NOW + timedelta(hours=1)
    assert rows[0].expires_at.tzinfo is UTC
    assert store._plain_row(_LIVE_AT, {"at": NOW + timedelta(days=1)}) is None


def test_a_driver_read_refuses_a_list_parameter_the_caller_would_give(store: Store) -> None:
    """A caller's list would need expanding at every call: such reads stay on SQLAlchemy."""
    by_ids = select(SESSIONS.c.token_hash).where(
        SESSIONS.c.token_hash.in_(bindparam("ids", expanding=True))
    )
    with pytest.raises(ValueError, match="no list parameter"):
        store._plain_rows(by_ids, {"ids": ["a", "b"]})


def test_a_driver_read_refuses_a_parameter_left_out(store: Store) -> None:
    """Never run with NULL in place of a value the caller forgot, as SQLAlchemy refuses."""
    with pytest.raises(ValueError, match="a value is required for at"):
        store._plain_rows(_LIVE_AT, {})
