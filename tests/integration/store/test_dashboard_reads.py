"""The supervisors' dashboard and report read a period's chats through an index of when
chats started, on SQLite and PostgreSQL: never every chat the company ever had."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from chatrec.store.models import ChatRow
from chatrec.store.store import Store
from tests.integration.store.factories import ended_chat, seed
from tests.integration.store.plans import gather_statistics, index_looks_up, statements_of
from tests.unit.domain.builders import T0


def test_the_dashboard_and_the_report_read_a_periods_chats_by_when_they_started(
    store: Store,
) -> None:
    seed(store)
    store.apply([ended_chat("C0")])
    chats = ChatRow.__table__
    with store.engine.begin() as connection:  # months of history before the period read
        row = dict(
            connection.execute(select(chats).where(chats.c.chat_id == "C0")).mappings().one()
        )
        history = [
            row
            | {
                "chat_id": f"H{n}",
                "token_hash": f"h{n}",
                "started_at": T0 - timedelta(days=90, minutes=n),
            }
            for n in range(3000)
        ]
        connection.execute(chats.insert(), history)
        gather_statistics(connection)
    day = T0 - timedelta(hours=1)
    read = statements_of(
        store,
        lambda: store.dashboard_inputs("acme", "n1", timedelta(seconds=30), day),
        "started_at",
    )
    read += statements_of(
        store, lambda: store.report_inputs("acme", day, T0 + timedelta(days=1)), "started_at"
    )
    assert len(read) >= 2
    with store.engine.connect() as connection:
        for statement, parameters in read:
            assert index_looks_up(connection, statement, parameters, "started_at", "chats"), (
                statement
            )
    facts, _ = store.report_inputs("acme", day, T0 + timedelta(days=1))
    assert [fact.chat_id for fact in facts] == ["C0"]
