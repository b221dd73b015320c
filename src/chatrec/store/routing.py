"""Routing as every node shares it (R20): waiting chats, agents online, their load.

A node's routing reads here and gives chats by committing the agent's join with an
:class:`~chatrec.store.records.AgentClaim`, which the commit checks under the agent's
row lock (``changes.py``), so two nodes never fill one agent's last slot twice.  An
agent is online while a portal of theirs is counted on a node whose heartbeat is fresh
(or on the asking node itself, which is alive since it asks): when a node dies, its
agents go offline once its lease passes, without anyone cleaning up after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Exists, ScalarSelect

from chatrec.domain.roles import LoginRole
from chatrec.errors import AgentFullError
from chatrec.store.mapping import user_record
from chatrec.store.models import (
    CHAT_IS_OPEN,
    AgentSocketRow,
    ChatAgentRow,
    ChatRow,
    NodeRow,
    PresenceRow,
    RoutingAgentRow,
)
from chatrec.store.nodes import DATABASE_NOW, database_now
from chatrec.store.records import AgentClaim, AgentLoad, ChatChange, ChatStatus, FreeAgent
from chatrec.store.tables import USERS
from chatrec.store.transactions import StorePart


def ensure_agent(connection: Connection, user_id: str, company_id: str, now: datetime) -> None:
    """The agent's routing row, made the first time they are seen (idle from then on);
    two nodes seeing them first at once make one row, neither fails."""
    if connection.scalar(_KNOWN_AGENT, {"who": user_id}) is not None:
        return
    values = {"user_id": user_id, "company_id": company_id, "idle_since": now, "active_at": now}
    dialect = connection.dialect.name
    make = postgresql_insert if dialect == "postgresql" else sqlite_insert
    connection.execute(make(RoutingAgentRow).values(values).on_conflict_do_nothing())


def agent_online(session: Session, node_id: str, lease: timedelta) -> Exists:
    """Whether a portal of the agent (``RoutingAgentRow.user_id``) is on a live node."""
    return _online(node_id, database_now(session) - lease)


def _online(node_id: Any, since: Any) -> Exists:
    """:func:`agent_online`: on ``node_id``, or on a node whose heartbeat is ``since`` or
    later (values, or parameters of a statement built once)."""
    live = select(NodeRow.node_id).where(NodeRow.heartbeat_at >= since)
    return exists().where(
        AgentSocketRow.user_id == RoutingAgentRow.user_id,
        AgentSocketRow.connections > 0,
        or_(AgentSocketRow.node_id == node_id, AgentSocketRow.node_id.in_(live)),
    )


def _load() -> ScalarSelect[int]:
    """How many open chats the agent (``RoutingAgentRow.user_id``) is in."""
    return (
        select(func.count())
        .select_from(ChatAgentRow)
        .where(ChatAgentRow.user_id == RoutingAgentRow.user_id)
        .scalar_subquery()
    )


class RoutingStore(StorePart):
    """Reads and small writes of shared routing; each call one transaction."""

    def count_sockets(
        self, user_id: str, company_id: str, node_id: str, delta: int, now: datetime
    ) -> None:
        """An agent's portal that takes chats opened (``+1``) or closed (``-1``) here."""
        with self._write() as session:
            ensure_agent(session.connection(), user_id, company_id, now)
            row = session.get(AgentSocketRow, (user_id, node_id), with_for_update=True)
            if row is None:
                if delta > 0:
                    session.add(AgentSocketRow(user_id=user_id, node_id=node_id, connections=delta))
                return
            row.connections += delta
            if row.connections <= 0:
                session.delete(row)

    def agent_active(
        self, user_id: str, company_id: str, now: datetime, idle: bool = False
    ) -> None:
        """The agent used a portal now; ``idle``: they became free for chats, and their
        wait for the next counts from now (longest idle first)."""
        with self._write() as session:
            ensure_agent(session.connection(), user_id, company_id, now)
            values: dict[str, datetime] = {"active_at": now}
            if idle:
                values["idle_since"] = now
            session.execute(
                update(RoutingAgentRow).where(RoutingAgentRow.user_id == user_id).values(values)
            )

    def agent_load(self, user_id: str, node_id: str, lease: timedelta) -> AgentLoad:
        with self._read() as session:
            row = session.execute(
                select(
                    agent_online(session, node_id, lease), _load(), RoutingAgentRow.active_at
                ).where(RoutingAgentRow.user_id == user_id)
            ).first()
            if row is None:
                return AgentLoad(online=False, open_chats=0, active_at=None)
            return AgentLoad(online=bool(row[0]), open_chats=int(row[1]), active_at=row[2])

    def free_agents(
        self, company_id: str, node_id: str, lease: timedelta, limit: int | None = None
    ) -> list[FreeAgent]:
        """The company's agents who can take a chat now, in routing's order (the least
        loaded, then the one idle longest, then by id); the first ``limit`` of them.

        ``pair`` gives ``n`` chats only to the first ``n`` in that order (it takes each
        next agent in it, or one it already gave a chat), so routing asks for as many as
        it has chats to give: read whole, a company's free agents were read and mapped
        at every routed chat, a cost that grew with its staff (issue 13).
        """
        # Two reads, each at the driver: the lease is measured on the database's clock,
        # and the agents need no snapshot shared with it.
        now = self._plain_rows(DATABASE_NOW[self.engine.dialect.name], {})[0].now
        values = {"company_id": company_id, "node_id": node_id, "since": now - lease}
        if limit is None:
            rows = self._plain_rows(_FREE_AGENTS, values)
        else:
            rows = self._plain_rows(_FIRST_FREE_AGENTS, {**values, "limit": limit})
        return [
            FreeAgent(
                row.user_id, row.capacity, int(row.open_chats), row.idle_since, user_record(row)
            )
            for row in rows
        ]

    def waiting_chats(self, company_id: str, limit: int) -> list[tuple[str, str]]:
        """The company's queued chats, (chat, queue), the longest waiting first."""
        rows = self._plain_rows(_WAITING, {"company_id": company_id, "limit": limit})
        return [(chat_id, queue_id) for chat_id, queue_id in rows if queue_id is not None]

    def companies_waiting(self) -> list[str]:
        """Companies with a queued chat: every node offers them now and then, so none
        waits on a notice that was lost."""
        with self._read() as session:
            query = (
                select(ChatRow.company_id)
                .where(ChatRow.status == ChatStatus.QUEUED.value, ChatRow.queue_id.is_not(None))
                .distinct()
            )
            return list(session.scalars(query))

    def idle_chats(self, before: datetime, limit: int) -> list[str]:
        """Open chats whose last activity is older than ``before``, oldest first."""
        with self._read() as session:
            query = (
                select(ChatRow.chat_id)
                .where(
                    CHAT_IS_OPEN,
                    ChatRow.last_activity_at < before,
                )
                .order_by(ChatRow.last_activity_at)
                .limit(limit)
            )
            return list(session.scalars(query))

    def count_open_chats(self, company_id: str | None = None) -> int:
        """Open chats of the company on every node (of all companies: ``None``)."""
        with self._read() as session:
            return int(session.scalar(open_chats_counted(company_id)) or 0)

    def idle_available_agents(self, before: datetime) -> list[str]:
        """Available agents who used no portal, on any node, since ``before`` (one never
        seen by routing since their choice: since they chose)."""
        with self._read() as session:
            last = func.coalesce(RoutingAgentRow.active_at, PresenceRow.changed_at)
            query = (
                select(PresenceRow.user_id)
                .outerjoin(RoutingAgentRow, RoutingAgentRow.user_id == PresenceRow.user_id)
                .where(and_(PresenceRow.available, last < before))
                .order_by(PresenceRow.user_id)
            )
            return list(session.scalars(query))


def lock_agents(connection: Connection, changes: Sequence[ChatChange], now: datetime) -> None:
    """Hold, until the commit, the routing rows of every agent the changes move: those
    claimed, those put in or taken out of a chat.  Locked first and in one order, before
    any chat's row, so that two nodes' commits never wait on each other in a circle."""
    moving = [c for c in changes if c.agents is not None or c.claim is not None]
    if not moving:
        return
    for change in moving:
        if change.claim is not None:
            ensure_agent(connection, change.claim.user_id, change.chat.company_id, now)
    if connection.dialect.name == "sqlite":
        return  # its writers hold the whole database from BEGIN IMMEDIATE: nothing to lock
    chat_ids = [c.chat.chat_id for c in moving]
    users = set(
        connection.scalars(select(ChatAgentRow.user_id).where(ChatAgentRow.chat_id.in_(chat_ids)))
    )
    users |= {user for c in moving for user in c.agents or ()}
    users |= {c.claim.user_id for c in moving if c.claim is not None}
    connection.execute(
        select(RoutingAgentRow.user_id)
        .where(RoutingAgentRow.user_id.in_(sorted(users)))
        .order_by(RoutingAgentRow.user_id)
        .with_for_update()
    )


def claim_agent(connection: Connection, claim: AgentClaim, chat_id: str, now: datetime) -> None:
    """Give the agent the chat unless they are full (R20); call with their row locked
    (:func:`lock_agents`) and after the batch's earlier changes of their chats."""
    held = connection.scalar(_HELD_ELSEWHERE, {"who": claim.user_id, "chat": chat_id})
    if int(held or 0) >= claim.capacity:
        raise AgentFullError(claim.user_id, claim.capacity)
    connection.execute(_BUSY_FROM, {"who": claim.user_id, "at": now})


def sync_chat_agents(
    connection: Connection, chat_id: str, agents: tuple[str, ...], now: datetime
) -> None:
    """The chat's agents as the change leaves them; an agent left with no chat is idle
    from now."""
    current = set(connection.scalars(_AGENTS_OF_CHAT, {"chat": chat_id}))
    wanted = set(agents)
    gone = sorted(current - wanted)
    if gone:
        connection.execute(_LEAVE_CHAT, {"chat": chat_id, "gone": gone})
        connection.execute(_IDLE_FROM, {"gone": gone, "at": now})
    added = sorted(wanted - current)
    if added:
        connection.execute(_JOIN_CHAT, [{"chat_id": chat_id, "user_id": user} for user in added])


def open_chats_counted(company_id: str | None) -> Select[int]:
    """The count of the company's open chats on every node (of all companies: ``None``),
    which a chat's start reads too (``store.starts``)."""
    query = select(func.count()).select_from(ChatRow).where(CHAT_IS_OPEN)
    return query if company_id is None else query.where(ChatRow.company_id == company_id)


# Statements run at every chat's start, routing and end: built once, with parameters, as
# building them per call cost more than the database's work (issue 13, chat_lifecycle).
_KNOWN_AGENT = select(RoutingAgentRow.user_id).where(RoutingAgentRow.user_id == bindparam("who"))
_FREE_AGENTS = (
    select(USERS, _load().label("open_chats"), RoutingAgentRow.idle_since)
    .select_from(RoutingAgentRow)
    .join(USERS, USERS.c.user_id == RoutingAgentRow.user_id)
    .join(PresenceRow, PresenceRow.user_id == RoutingAgentRow.user_id)
    .where(
        RoutingAgentRow.company_id == bindparam("company_id"),
        PresenceRow.available,
        USERS.c.role == LoginRole.AGENT.value,
        USERS.c.disabled.is_(False),
        _load() < USERS.c.capacity,
        _online(bindparam("node_id"), bindparam("since")),
    )
    .order_by("open_chats", RoutingAgentRow.idle_since, USERS.c.user_id)
)
_FIRST_FREE_AGENTS = _FREE_AGENTS.limit(bindparam("limit"))
_WAITING = (
    select(ChatRow.chat_id, ChatRow.queue_id)
    .where(
        ChatRow.company_id == bindparam("company_id"),
        ChatRow.status == ChatStatus.QUEUED.value,
        ChatRow.queue_id.is_not(None),
    )
    .order_by(ChatRow.queued_at, ChatRow.chat_id)
    .limit(bindparam("limit"))
)
_HELD_ELSEWHERE = (
    select(func.count())
    .select_from(ChatAgentRow)
    .where(ChatAgentRow.user_id == bindparam("who"), ChatAgentRow.chat_id != bindparam("chat"))
)
_BUSY_FROM = (
    update(RoutingAgentRow)
    .where(RoutingAgentRow.user_id == bindparam("who"))
    .values(idle_since=bindparam("at"))
)
_AGENTS_OF_CHAT = select(ChatAgentRow.user_id).where(ChatAgentRow.chat_id == bindparam("chat"))
_LEAVE_CHAT = delete(ChatAgentRow).where(
    ChatAgentRow.chat_id == bindparam("chat"),
    ChatAgentRow.user_id.in_(bindparam("gone", expanding=True)),
)
# Never waits: an agent whose row another commit holds keeps their idle time, rather
# than this commit waiting on one that may wait on it.
_FREED = (
    select(RoutingAgentRow.user_id)
    .where(
        RoutingAgentRow.user_id.in_(bindparam("gone", expanding=True)),
        ~exists().where(ChatAgentRow.user_id == RoutingAgentRow.user_id),
    )
    .with_for_update(skip_locked=True)
)
_IDLE_FROM = (
    update(RoutingAgentRow)
    .where(RoutingAgentRow.user_id.in_(_FREED))
    .values(idle_since=bindparam("at"))
)
_JOIN_CHAT = insert(ChatAgentRow)
