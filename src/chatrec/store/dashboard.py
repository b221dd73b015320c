"""What the supervisors' dashboard and report read (issue 15): shared by every node, so
every node shows the same figures (R20).  The figures' definitions are in
``domain.dashboard`` and ``domain.report``; this reads their inputs, a few grouped
queries per look."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from chatrec.domain.codec import type_name
from chatrec.domain.dashboard import AgentFigures, ChatStart, QueueFigures
from chatrec.domain.journal import AgentAssigned, MessagePosted, Transferred, WrapUpChosen
from chatrec.domain.report import ChatFacts
from chatrec.domain.roles import LoginRole
from chatrec.store.models import (
    CHAT_IS_OPEN,
    ChatAgentRow,
    ChatEventRow,
    ChatRow,
    PresenceRow,
    QueueRow,
    RecordingRow,
    RoutingAgentRow,
    ServiceRow,
    UserRow,
)
from chatrec.store.records import ChatStatus
from chatrec.store.routing import agent_online
from chatrec.store.transactions import StorePart

ASSIGNED = type_name(AgentAssigned)
MESSAGE = type_name(MessagePosted)
TRANSFERRED = type_name(Transferred)
WRAP_UP = type_name(WrapUpChosen)
STAFF_ROLES = ("agent", "supervisor")


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
                .where(ChatRow.company_id == company_id, CHAT_IS_OPEN)
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

    def report_inputs(
        self, company_id: str, start: datetime, end: datetime
    ) -> tuple[list[ChatFacts], list[tuple[str, str]]]:
        """The facts of the company's chats started in [``start``, ``end``), and each of
        their decided recordings' (outcome, rule)."""
        period = select(ChatRow.chat_id).where(
            ChatRow.company_id == company_id, ChatRow.started_at >= start, ChatRow.started_at < end
        )
        in_period = ChatEventRow.chat_id.in_(period)
        with self._read() as session:

            def first_at(*conditions: Any) -> dict[str, datetime]:
                rows = session.execute(
                    select(ChatEventRow.chat_id, func.min(ChatEventRow.at))
                    .where(in_period, *conditions)
                    .group_by(ChatEventRow.chat_id)
                )
                return {str(chat_id): at for chat_id, at in rows.all()}

            joined = first_at(ChatEventRow.type == ASSIGNED)
            role = ChatEventRow.payload["actor"]["role"].as_string()
            answered = first_at(ChatEventRow.type == MESSAGE, role.in_(STAFF_ROLES))
            transfers = {
                chat_id: int(count)
                for chat_id, count in session.execute(
                    select(ChatEventRow.chat_id, func.count())
                    .where(in_period, ChatEventRow.type == TRANSFERRED)
                    .group_by(ChatEventRow.chat_id)
                )
            }
            wrap_ups: dict[str, str] = {}
            for chat_id, payload in session.execute(
                select(ChatEventRow.chat_id, ChatEventRow.payload)
                .where(in_period, ChatEventRow.type == WRAP_UP)
                .order_by(ChatEventRow.chat_id, ChatEventRow.seq)
            ):
                wrap_ups[chat_id] = str(payload["code"])  # the last chosen stays
            chats = [
                ChatFacts(
                    chat_id=row.chat_id,
                    service=row.name,
                    started_at=row.started_at,
                    ended_at=row.ended_at,
                    first_join_at=joined.get(row.chat_id),
                    first_staff_message_at=answered.get(row.chat_id),
                    transfers=transfers.get(row.chat_id, 0),
                    wrap_up=wrap_ups.get(row.chat_id),
                )
                for row in session.execute(
                    select(ChatRow.chat_id, ServiceRow.name, ChatRow.started_at, ChatRow.ended_at)
                    .join(ServiceRow, ServiceRow.service_id == ChatRow.service_id)
                    .where(ChatRow.chat_id.in_(period))
                    .order_by(ChatRow.started_at, ChatRow.chat_id)
                )
            ]
            decided = [
                (str(outcome), str(rule))
                for outcome, rule in session.execute(
                    select(RecordingRow.outcome, RecordingRow.rule).where(
                        RecordingRow.chat_id.in_(period)
                    )
                )
            ]
        return chats, decided
