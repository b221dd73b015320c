"""The supervisors' live dashboard (issue 15): queues, agents, services and the share
of chats answered in time, as every node's routing shares them (R20).

Read whole at each look (the page asks every few seconds): the figures are a handful of
grouped queries, and read from the database they are the same on every node.  Their
definitions are in ``domain.dashboard``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time

from fastapi import APIRouter
from pydantic import BaseModel, Field

from chatrec.domain.dashboard import service_level
from chatrec.errors import NotFoundError
from chatrec.services.access import OVERSEERS, company_for
from chatrec.web.guard import CompanyId, GuardedRoute, Overseer, Services

router = APIRouter(prefix="/api", route_class=GuardedRoute)


class QueueNow(BaseModel):
    queue_id: str
    name: str
    waiting: int
    longest_wait_seconds: float | None = Field(description="null with nobody waiting")


class AgentNow(BaseModel):
    user_id: str
    name: str
    state: str = Field(description="available, busy (Available and full), away or offline")
    away_reason: str | None = Field(description="why Away, when the agent said")
    state_seconds: float | None = Field(
        description="since their last presence change; null before their first"
    )
    open_chats: int
    capacity: int


class ServiceNow(BaseModel):
    service_id: str
    name: str
    open_chats: int


class ServiceLevelNow(BaseModel):
    target_seconds: int = Field(description="the company's answer target")
    answered_in_time: int
    counted: int = Field(
        description="chats taken by an agent, and chats still waiting beyond the target"
    )
    share: float | None = Field(description="answered_in_time / counted; null before any")


class DashboardRead(BaseModel):
    company_id: str
    at: datetime
    period_start: datetime = Field(description="the service level's period: today, UTC")
    queues: list[QueueNow]
    agents: list[AgentNow]
    services: list[ServiceNow]
    service_level: ServiceLevelNow


@router.get("/dashboard", operation_id="getDashboard", tags=["chats"])
async def dashboard(
    principal: Overseer, services: Services, company_id: CompanyId = None
) -> DashboardRead:
    """The company's queues, agents and services now, and today's share of chats an
    agent took within the company's answer target."""
    company_id = company_for(principal, company_id, *OVERSEERS)
    company = await asyncio.to_thread(services.store.get_company, company_id)
    if company is None:
        raise NotFoundError(f"no company {company_id!r}")
    now = datetime.now(UTC)
    since = datetime.combine(now.date(), time(), tzinfo=UTC)
    chats = services.chats
    found = await asyncio.to_thread(
        services.store.dashboard_inputs, company_id, chats.node_id, chats.node_lease, since
    )
    level = service_level(found.starts, company.answer_target_seconds, now)
    return DashboardRead(
        company_id=company_id,
        at=now,
        period_start=since,
        queues=[
            QueueNow(
                queue_id=q.queue_id,
                name=q.name,
                waiting=q.waiting,
                longest_wait_seconds=q.longest_wait(now),
            )
            for q in found.queues
        ],
        agents=[
            AgentNow(
                user_id=a.user_id,
                name=a.name,
                state=a.state,
                away_reason=a.away_reason if a.state == "away" else None,
                state_seconds=None
                if a.state_since is None
                else max(0.0, (now - a.state_since).total_seconds()),
                open_chats=a.open_chats,
                capacity=a.capacity,
            )
            for a in found.agents
        ],
        services=[
            ServiceNow(service_id=service_id, name=name, open_chats=count)
            for service_id, name, count in found.open_by_service
        ],
        service_level=ServiceLevelNow(
            target_seconds=level.target_seconds,
            answered_in_time=level.answered_in_time,
            counted=level.counted,
            share=level.share,
        ),
    )
