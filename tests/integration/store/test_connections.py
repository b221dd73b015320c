"""A store keeps its connections: none opened and closed per transaction (issue 13)."""

from __future__ import annotations

from contextlib import ExitStack

from sqlalchemy import event, text

from chatrec.store.database import POOL_SIZE
from chatrec.store.store import Store

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
