"""What the supervisor's dashboard reads (issue 15): shared by every node, so every
node's dashboard shows the same figures (R20).  The figures' definitions are in
``domain.dashboard``; this reads their inputs, a few grouped queries per look."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from chatrec.domain.codec import type_name
from chatrec.domain.dashboard import AgentFigures, ChatStart, QueueFigures
from chatrec.domain.journal import AgentAssigned
from chatrec.domain.roles import LoginRole
from chatrec.store.models import (
    ChatAgentRow,
    ChatEventRow,
    ChatRow,
    PresenceRow,
    QueueRow,
    RoutingAgentRow,
    ServiceRow,
    UserRow,
)
from chatrec.store.records import ChatStatus
from chatrec.store.routing import agent_online
from chatrec.store.transactions import StorePart

ASSIGNED = type_name(AgentAssigned)


@dataclass(frozen=True, slots=True)
class DashboardInputs:
    agents: list[AgentFigures]
    queues: list[QueueFigures]
    open_by_service: list[tuple[str, str, int]]
    """(service id, name, open chats) for every service of the company."""
    starts: list[ChatStart]


class DashboardStore(StorePart):
    def dashboard_inputs(
        self, company_id: str, node_id: str, lease: timedelta, since: datetime
    ) -> DashboardInputs:
        with self._read() as session:
            load = (
                select(func.count())
                .select_from(ChatAgentRow)
                .where(ChatAgentRow.user_id == UserRow.user_id)
                .scalar_subquery()
            )
            online = agent_online(session, node_id, lease)
            agents = [
                AgentFigures(
                    user_id=row.user_id,
                    name=row.name,
                    available=bool(row.available),
                    away_reason=None if row.available else row.away_reason,
                    state_since=row.changed_at,
                    online=bool(row.online),
                    open_chats=int(row.load),
                    capacity=row.capacity,
                )
                for row in session.execute(
                    select(
                        UserRow.user_id,
                        UserRow.name,
                        UserRow.capacity,
                        PresenceRow.available,
                        PresenceRow.away_reason,
                        PresenceRow.changed_at,
                        load.label("load"),
                        online.label("online"),
                    )
                    .outerjoin(PresenceRow, PresenceRow.user_id == UserRow.user_id)
                    .outerjoin(RoutingAgentRow, RoutingAgentRow.user_id == UserRow.user_id)
                    .where(
                        UserRow.company_id == company_id,
                        UserRow.role == LoginRole.AGENT.value,
                        UserRow.disabled.is_(False),
                    )
                    .order_by(UserRow.name)
                )
            ]
            waiting = (
                select(
                    ChatRow.queue_id,
                    func.count().label("waiting"),
                    func.min(ChatRow.queued_at).label("oldest"),
                )
                .where(ChatRow.company_id == company_id, ChatRow.status == ChatStatus.QUEUED.value)
                .group_by(ChatRow.queue_id)
                .subquery()
            )
            queues = [
                QueueFigures(row.queue_id, row.name, int(row.waiting or 0), row.oldest)
                for row in session.execute(
                    select(QueueRow.queue_id, QueueRow.name, waiting.c.waiting, waiting.c.oldest)
                    .outerjoin(waiting, waiting.c.queue_id == QueueRow.queue_id)
                    .where(QueueRow.company_id == company_id)
                    .order_by(QueueRow.name)
                )
            ]
            open_chats = (
                select(ChatRow.service_id, func.count().label("open"))
                .where(ChatRow.company_id == company_id, ChatRow.status != ChatStatus.ENDED.value)
                .group_by(ChatRow.service_id)
                .subquery()
            )
            services = [
                (row.service_id, row.name, int(row.open or 0))
                for row in session.execute(
                    select(ServiceRow.service_id, ServiceRow.name, open_chats.c.open)
                    .outerjoin(open_chats, open_chats.c.service_id == ServiceRow.service_id)
                    .where(ServiceRow.company_id == company_id)
                    .order_by(ServiceRow.name)
                )
            ]
            of_period = select(ChatRow.chat_id).where(
                ChatRow.company_id == company_id, ChatRow.started_at >= since
            )
            taken = (
                select(ChatEventRow.chat_id, func.min(ChatEventRow.at).label("taken_at"))
                .where(ChatEventRow.type == ASSIGNED, ChatEventRow.chat_id.in_(of_period))
                .group_by(ChatEventRow.chat_id)
                .subquery()
            )
            starts = [
                ChatStart(row.started_at, row.taken_at, row.status == ChatStatus.QUEUED.value)
                for row in session.execute(
                    select(ChatRow.started_at, ChatRow.status, taken.c.taken_at)
                    .outerjoin(taken, taken.c.chat_id == ChatRow.chat_id)
                    .where(ChatRow.company_id == company_id, ChatRow.started_at >= since)
                )
            ]
        return DashboardInputs(agents, queues, services, starts)
