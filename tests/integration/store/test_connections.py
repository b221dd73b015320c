"""A store keeps its connections: none opened and closed per transaction (issue 13)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import psycopg
import pytest
from sqlalchemy import event, text

from chatrec.store import database
from chatrec.store.database import POOL_SIZE
from chatrec.store.migrations import migrate
from chatrec.store.store import Store
from tests.conftest import _postgres_schema_url
from tests.keys import SECRETS

AT_ONCE = 8
"""Transactions at once, as the thread pool and the group commit hold them: more than
SQLAlchemy's default pool of five, no more than the store's."""


def test_connections_used_at_once_are_kept_for_the_next_transactions(store: Store) -> None:
    opened: list[object] = []
    event.listen(
        store.engine.pool, "connect", lambda connection, _record: opened.append(connection)
    )
    for _ in range(2):
        with ExitStack() as held:
            for _ in range(AT_ONCE):
                held.enter_context(store.engine.connect()).execute(text("SELECT 1"))
    assert AT_ONCE <= POOL_SIZE
    assert len(opened) <= AT_ONCE  # the second round opened none


@pytest.fixture
def postgres_store() -> Iterator[Store]:
    """A store on a PostgreSQL schema of the test's own: the pool checks are PostgreSQL's."""
    with _postgres_schema_url() as url:
        migrate(url)
        opened = Store(url, secrets=SECRETS)
        try:
            yield opened
        finally:
            opened.close()


def _pings(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every ping the pool sends before lending a connection."""
    pinged: list[object] = []
    ping = store.engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pinged.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(store.engine.dialect, "do_ping", counted)
    return pinged


def _backends(store: Store) -> list[int]:
    """The PostgreSQL backends of the connections the pool holds (lent at once, so each
    answers from its own)."""
    with ExitStack() as held:
        connections = [held.enter_context(store.engine.connect()) for _ in range(3)]
        return [int(c.execute(text("SELECT pg_backend_pid()")).scalar_one()) for c in connections]


def test_R19_a_connection_used_moments_ago_is_lent_without_a_round_trip(
    postgres_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinged = _pings(postgres_store, monkeypatch)
    for _ in range(20):
        assert postgres_store.get_company("nobody") is None  # at the driver
        assert postgres_store.list_companies() == []  # through a session
    assert pinged == []
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.05)
    time.sleep(0.1)
    assert postgres_store.get_company("nobody") is None
    assert len(pinged) == 1  # rested past the limit: checked once before use


def test_R19_connections_the_database_ended_are_replaced_before_use(
    postgres_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when PostgreSQL restarts under load: the connections were used moments ago,
    so none is pinged for its rest; each socket says the server ended it, and the next
    reads are served on new connections."""
    pinged = _pings(postgres_store, monkeypatch)
    cut = _backends(postgres_store)
    admin_url = postgres_store.engine.url.set(drivername="postgresql")
    with psycopg.connect(admin_url.render_as_string(False), autocommit=True) as admin:
        for pid in cut:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(100):  # until the backends have exited and said so
            alive = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (cut,)
            ).fetchone()
            if alive == (0,):
                break
            time.sleep(0.05)
    assert postgres_store.get_company("nobody") is None  # at the driver
    assert postgres_store.list_companies() == []  # through a session
    assert len(pinged) == 1  # the first dead one found replaced them all
    assert not set(_backends(postgres_store)) & set(cut)
