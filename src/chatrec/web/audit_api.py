"""The audit trail's API (R18): pages of it, and its export as CSV or JSON lines."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict

from chatrec.services.admin.audit import csv_chunks, json_chunks
from chatrec.store.records import AuditRecord
from chatrec.web.guard import (
    Administrator,
    CompanyId,
    GuardedRoute,
    Services,
)
from chatrec.web.paging import Cursor, Limit, Page, page_of, read_cursor

router = APIRouter(prefix="/api/admin", route_class=GuardedRoute)

# -- the audit trail ------------------------------------------------------------------


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    actor: str
    action: str
    chat_id: str | None
    detail: dict[str, object]


def _audit_read(line: tuple[int, AuditRecord]) -> AuditRead:
    return AuditRead.model_validate(line[1])


@router.get("/audit-entries", operation_id="listAuditEntries", tags=["audit"])
def list_audit_entries(
    principal: Administrator,
    services: Services,
    company_id: CompanyId = None,
    chat_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[AuditRead]:
    """The audit trail, newest first, a page at a time: changes, staff recording actions,
    decisions; optionally only about one chat, or since a time."""
    before = read_cursor(cursor, "audit-entries", (datetime, int))
    found = services.admin.audit.page(
        principal, company_id, chat_id=chat_id, since=since, before=before, limit=limit + 1
    )
    return page_of("audit-entries", found, limit, lambda line: (line[1].at, line[0]), _audit_read)


@router.get(
    "/audit",
    operation_id="listAuditDeprecated",
    tags=["audit"],
    deprecated=True,
    description="Replaced by `GET /api/admin/audit-entries`, newest first, a page at a time.",
)
def audit(
    principal: Administrator,
    services: Services,
    company_id: CompanyId = None,
    chat_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
) -> list[AuditRead]:
    """The newest audit lines, oldest first."""
    entries = services.admin.audit.read(
        principal, company_id, chat_id=chat_id, since=since, limit=limit
    )
    return [AuditRead.model_validate(entry) for entry in entries]


DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, "application/json": {}}}
}


@router.get(
    "/audit-entries/export",
    operation_id="exportAuditEntries",
    tags=["audit"],
    response_class=Response,
    responses=DOWNLOAD,
)
@router.get(
    "/audit/export",
    operation_id="exportAuditDeprecated",
    tags=["audit"],
    response_class=Response,
    responses=DOWNLOAD,
    deprecated=True,
    description="Moved to `GET /api/admin/audit-entries/export`.",
)
def export_audit(
    principal: Administrator,
    services: Services,
    company_id: CompanyId = None,
    format: Literal["csv", "json"] = "csv",
    since: datetime | None = None,
) -> Response:
    """The whole audit trail (or since a time), oldest first, as a CSV or JSON download,
    streamed: read from the database a page at a time while it is sent."""
    pages = services.admin.audit.export(principal, company_id, since=since)
    chunks = csv_chunks(pages) if format == "csv" else json_chunks(pages)
    media = "text/csv" if format == "csv" else "application/json"
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="chatrec-audit.{format}"'},
    )
