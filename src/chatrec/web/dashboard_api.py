"""The supervisors' live dashboard and report (issue 15): queues, agents, services and
the share of chats answered in time, as every node's routing shares them (R20); and
over a chosen period, what the chats came to, as JSON or CSV.

Read whole at each look (the page asks every few seconds): the figures are a handful of
grouped queries, and read from the database they are the same on every node.  Their
definitions are in ``domain.dashboard``.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from chatrec.domain.dashboard import service_level
from chatrec.domain.report import CSV_COLUMNS, MAX_DAYS, ChatFacts, build_report, csv_row
from chatrec.errors import InvalidRequestError, NotFoundError
from chatrec.services.access import OVERSEERS, company_for
from chatrec.web.container import Container
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


# -- the report over a period -------------------------------------------------------------


def _period(first: date | None, last: date | None) -> tuple[date, date]:
    """The report's days, UTC, both included: the last 7 days unless given."""
    today = datetime.now(UTC).date()
    last = last or today
    first = first or last - timedelta(days=6)
    if first > last:
        raise InvalidRequestError(f"the period starts ({first}) after it ends ({last})")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidRequestError(
            f"a report covers at most {MAX_DAYS} days; choose a shorter period"
        )
    return first, last


def _facts(
    services: Container, company_id: str, first: date, last: date
) -> tuple[list[ChatFacts], list[tuple[str, str]]]:
    start = datetime.combine(first, time(), tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    return services.store.report_inputs(company_id, start, end)


First = Annotated[date | None, Query(alias="from", description="the first day, UTC")]
Last = Annotated[date | None, Query(alias="to", description="the last day, UTC, included")]


@router.get("/report", operation_id="getReport", tags=["chats"])
def report(
    principal: Overseer,
    services: Services,
    company_id: CompanyId = None,
    first: First = None,
    last: Last = None,
) -> dict[str, Any]:
    """Chats started in the period (the last 7 days unless given): per day and service,
    first-response and handle times, transfers, wrap-up codes, and recordings produced
    and suppressed by rule (``domain.report`` says what each figure counts)."""
    company_id = company_for(principal, company_id, *OVERSEERS)
    first, last = _period(first, last)
    chats, recordings = _facts(services, company_id, first, last)
    return {"company_id": company_id, **build_report(chats, recordings, first, last)}


@router.get(
    "/report/export",
    operation_id="exportReport",
    tags=["chats"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_report(
    principal: Overseer,
    services: Services,
    company_id: CompanyId = None,
    first: First = None,
    last: Last = None,
) -> Response:
    """The period's chats, one CSV row each: what the report sums."""
    company_id = company_for(principal, company_id, *OVERSEERS)
    first, last = _period(first, last)
    chats, _ = _facts(services, company_id, first, last)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(chat) for chat in chats)
    name = f"chatrec-report-{company_id}-{first}-{last}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
