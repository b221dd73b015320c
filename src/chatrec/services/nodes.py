"""This server as one node among those serving the database (R20).

A node joins before it touches any chat (on SQLite a second one is refused there,
with what to do), says it is alive every ``interval`` with its open connections, and
leaves at a clean stop.  A node killed without leaving is taken for dead once its
lease passes, measured on the database's clock; ``chatrec nodes`` lists the live ones.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from chatrec.errors import NodeConflictError, StoreError
from chatrec.services.ports import NodeRegistry
from chatrec.store.records import NodeRecord

log = logging.getLogger(__name__)


def process_gone(pid: int) -> bool:
    """Whether no process ``pid`` runs on this machine (signal 0 tests, sends nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # someone else's process: alive
    return False


class NodeHeartbeat:
    """Joins, beats and leaves for this process; ``connections`` counts its sockets."""

    def __init__(
        self,
        registry: NodeRegistry,
        *,
        version: str,
        interval: timedelta,
        lease: timedelta,
        connections: Callable[[], int] = lambda: 0,
    ) -> None:
        self.registry = registry
        self.version = version
        self.interval = interval
        self.lease = lease
        self.connections = connections
        self.node_id = uuid.uuid4().hex[:16]
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.joined: NodeRecord | None = None
        # When a heartbeat first failed to reach the database (None: the last one did).
        self.database_lost: datetime | None = None

    def _gone(self, host: str, pid: int) -> bool:
        # A node of this machine whose process has exited, or that had our own pid (a
        # container started again), is dead now: no need to wait for its lease.
        return host == self.host and (pid == self.pid or process_gone(pid))

    def join(self) -> NodeRecord:
        """Register, or raise :class:`NodeConflictError` saying what to do (SQLite)."""
        if self.joined is None:
            self.joined = self.registry.join_node(
                self.node_id, self.host, self.pid, self.version, lease=self.lease, gone=self._gone
            )
            log.info("node %s joined (process %d on %s)", self.node_id, self.pid, self.host)
        return self.joined

    async def run(self) -> None:
        """Beat until cancelled; a failed beat is logged and tried again next time."""
        while True:
            await asyncio.sleep(self.interval.total_seconds())
            try:
                await asyncio.to_thread(self.registry.beat, self.node_id, self.connections())
            except NodeConflictError:
                # Silent so long it was forgotten (a suspended machine): join again.
                self.joined = None
                await asyncio.to_thread(self.join)
            except StoreError as error:
                log.warning("node %s could not say it is alive: %s", self.node_id, error)
                if self.database_lost is None:
                    self.database_lost = datetime.now(UTC)
                continue
            self.database_lost = None

    def health(self) -> dict[str, str]:
        """What ``/api/health`` says of the database, from the last heartbeat: a health
        check that queried it would cost the database a read per probe of every node."""
        if self.database_lost is None:
            return {"database": "ok"}
        return {"database": "unreachable", "database_since": self.database_lost.isoformat()}

    def live(self) -> list[NodeRecord]:
        """Every node heard from within the lease, this one included."""
        return self.registry.live_nodes(self.lease)

    def leave(self) -> None:
        if self.joined is None:
            return
        try:
            self.registry.leave_node(self.node_id)
        except StoreError as error:
            log.warning("node %s left without saying so: %s", self.node_id, error)
        self.joined = None
