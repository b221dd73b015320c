"""The nodes serving a database, on its own clock (R20), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from chatrec.errors import NodeConflictError
from chatrec.store.models import NodeRow
from chatrec.store.store import Store

LEASE = timedelta(seconds=20)


def age(store: Store, node_id: str, by: timedelta) -> None:
    """Make a node's last heartbeat ``by`` older, as if it had gone silent."""
    with store.engine.begin() as connection:
        row = connection.execute(NodeRow.__table__.select().where(NodeRow.node_id == node_id)).one()
        connection.execute(
            update(NodeRow)
            .where(NodeRow.node_id == node_id)
            .values(heartbeat_at=row.heartbeat_at - by)
        )


def test_R20_a_node_joins_beats_with_its_connections_and_leaves(store: Store) -> None:
    joined = store.join_node("n1", "host-a", 101, "1.0", lease=LEASE)
    assert joined.connections == 0
    assert abs(joined.heartbeat_at - datetime.now(UTC)) < timedelta(minutes=5)
    beat_at = store.beat("n1", 7)
    [live] = store.live_nodes(LEASE)
    assert (live.node_id, live.host, live.pid, live.connections) == ("n1", "host-a", 101, 7)
    assert live.heartbeat_at == beat_at >= joined.heartbeat_at
    store.leave_node("n1")
    assert store.live_nodes(LEASE) == []


def test_R20_a_node_silent_past_its_lease_is_not_live_and_is_forgotten_after_an_hour(
    store: Store,
) -> None:
    store.join_node("n1", "host-a", 101, "1.0", lease=LEASE)
    age(store, "n1", LEASE + timedelta(seconds=1))
    assert store.live_nodes(LEASE) == []
    age(store, "n1", timedelta(hours=1))
    store.leave_node("other")  # nothing to leave: no error
    store.join_node("n2", "host-b", 202, "1.0", lease=LEASE)
    assert [n.node_id for n in store.live_nodes(LEASE)] == ["n2"]
    with pytest.raises(NodeConflictError, match="join again"):
        store.beat("n1", 0)


def test_R20_sqlite_refuses_a_second_live_node_and_postgresql_takes_it(store: Store) -> None:
    store.join_node("n1", "host-a", 101, "1.0", lease=LEASE)
    if store.engine.dialect.name == "sqlite":
        with pytest.raises(NodeConflictError) as refused:
            store.join_node("n2", "host-b", 202, "1.0", lease=LEASE)
        message = str(refused.value)
        assert "process 101 on host-a" in message
        assert "stop it first" in message
        assert "PostgreSQL" in message
        assert [n.node_id for n in store.live_nodes(LEASE)] == ["n1"]
    else:
        store.join_node("n2", "host-b", 202, "1.0", lease=LEASE)
        assert [n.node_id for n in store.live_nodes(LEASE)] == ["n1", "n2"]


def test_R20_a_node_known_gone_is_dropped_at_once_without_waiting_for_its_lease(
    store: Store,
) -> None:
    store.join_node("n1", "host-a", 101, "1.0", lease=LEASE)
    store.join_node("n2", "host-a", 102, "1.0", lease=LEASE, gone=lambda host, pid: pid == 101)
    assert [n.node_id for n in store.live_nodes(LEASE)] == ["n2"]
