"""The nodes serving this database, each alive while its heartbeat is fresh (R20).

Every time here is the database's clock, read in the same transaction, so nodes whose
clocks disagree still agree on who is alive (a lease measured on a node's own clock
would not be; ../shared/NODES.md).  SQLite serves one node at a time: a second one is
refused while the first one's heartbeat is fresh.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, text, update
from sqlalchemy.orm import Session

from chatrec.errors import NodeConflictError
from chatrec.store.columns import UTCDateTime
from chatrec.store.models import AgentSocketRow, NodeRow
from chatrec.store.records import NodeRecord
from chatrec.store.transactions import StorePart

FORGET_AFTER = timedelta(hours=1)
"""A node silent this long is dropped from the table (it is long dead, or it starts again
and joins anew)."""


DATABASE_NOW = {
    "sqlite": text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') AS now").columns(now=UTCDateTime()),
    "postgresql": text("SELECT clock_timestamp() AS now").columns(now=UTCDateTime()),
}
""":func:`database_now` as a read for the driver (``StorePart._plain_row``), per dialect."""


def database_now(bind: Session | Connection) -> datetime:
    """The database's clock, in UTC, with at least millisecond precision."""
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    found = bind.scalar(DATABASE_NOW[dialect.name])
    assert isinstance(found, datetime)
    return found


def _record(row: NodeRow) -> NodeRecord:
    return NodeRecord(
        node_id=row.node_id,
        host=row.host,
        pid=row.pid,
        version=row.version,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        connections=row.connections,
    )


class NodeStore(StorePart):
    """Joining, beating, listing and leaving; one transaction each."""

    def join_node(
        self,
        node_id: str,
        host: str,
        pid: int,
        version: str,
        *,
        lease: timedelta,
        gone: Callable[[str, int], bool] = lambda host, pid: False,
    ) -> NodeRecord:
        """Register this node; on SQLite refuse while another node's heartbeat is fresh.

        ``gone(host, pid)`` says a node is known dead without waiting for its lease (its
        process on this machine has exited): its row is dropped at once.
        """
        with self._write() as session:
            now = database_now(session)
            session.execute(delete(NodeRow).where(NodeRow.heartbeat_at < now - FORGET_AFTER))
            others = []
            for other in _alive(session, now, lease):
                if gone(other.host, other.pid):
                    _forget_sockets(session, other.node_id)
                    session.delete(other)
                else:
                    others.append(other)
            if others and self.engine.dialect.name == "sqlite":
                raise _sqlite_taken(others[0], now, lease)
            row = NodeRow(
                node_id=node_id,
                host=host,
                pid=pid,
                version=version,
                started_at=now,
                heartbeat_at=now,
                connections=0,
            )
            session.add(row)
            session.flush()
            return _record(row)

    def beat(self, node_id: str, connections: int) -> datetime:
        """Say this node is alive, with its open connections; returns the database's time.

        A node silent for longer than :data:`FORGET_AFTER` (a suspended machine) was
        dropped; it is not re-registered here, so the caller learns it must join again.
        """
        with self._write() as session:
            now = database_now(session)
            changed = session.execute(
                update(NodeRow)
                .where(NodeRow.node_id == node_id)
                .values(heartbeat_at=now, connections=connections)
            )
            if getattr(changed, "rowcount", 1) == 0:
                raise NodeConflictError(f"node {node_id} is no longer registered; join again")
            return now

    def live_nodes(self, lease: timedelta) -> list[NodeRecord]:
        """The nodes whose heartbeat is younger than ``lease``, oldest first."""
        with self._read() as session:
            return [_record(row) for row in _alive(session, database_now(session), lease)]

    def leave_node(self, node_id: str) -> None:
        """A clean stop: the node is gone at once, not after its lease."""
        with self._write() as session:
            _forget_sockets(session, node_id)
            session.execute(delete(NodeRow).where(NodeRow.node_id == node_id))


def _forget_sockets(session: Session, node_id: str) -> None:
    """Agents' portals counted on a node that is gone are gone with it (R20)."""
    session.execute(delete(AgentSocketRow).where(AgentSocketRow.node_id == node_id))


def _alive(session: Session, now: datetime, lease: timedelta) -> list[NodeRow]:
    query = (
        select(NodeRow)
        .where(NodeRow.heartbeat_at >= now - lease)
        .order_by(NodeRow.started_at, NodeRow.node_id)
    )
    return list(session.scalars(query))


def _sqlite_taken(other: NodeRow, now: datetime, lease: timedelta) -> NodeConflictError:
    age = max(0.0, (now - other.heartbeat_at).total_seconds())
    wait = max(0.0, lease.total_seconds() - age)
    return NodeConflictError(
        f"another chatrec server (process {other.pid} on {other.host}, heard from "
        f"{age:.0f} s ago) is serving this SQLite database, which one server at a time "
        f"can use: stop it first, or wait {wait:.0f} s if it was killed. Several servers "
        "need PostgreSQL and Redis (R20)."
    )
