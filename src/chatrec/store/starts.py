"""What a chat's start reads, in one read transaction instead of four (issue 13).

A start needs its service, the newest version of the service's flow (a saved version
never changes, so a node that holds it in memory reads no flow), the company (its
settings mask the pre-chat form's answers and decide the recording) and how many chats
the company has open on every node (its limit, issue 16).  Each was a read of its own.
"""

from __future__ import annotations

from sqlalchemy import func, select

from chatrec.store.mapping import company_record, record_of
from chatrec.store.models import CompanyRow, FlowVersionRow, ServiceRow
from chatrec.store.records import ChatStart, ServiceRecord
from chatrec.store.routing import open_chats_counted
from chatrec.store.transactions import StorePart


class StartStore(StorePart):
    def chat_start(self, service_id: str) -> ChatStart | None:
        """What starting a chat on the service needs; ``None`` for an unknown service."""
        newest = (
            select(func.max(FlowVersionRow.version))
            .where(FlowVersionRow.flow_id == ServiceRow.flow_id)
            .scalar_subquery()
        )
        with self._read() as session:
            found = session.execute(
                select(ServiceRow, newest).where(ServiceRow.service_id == service_id)
            ).first()
            if found is None:
                return None
            row, version = found
            company = session.get(CompanyRow, row.company_id)
            open_chats = session.scalar(open_chats_counted(row.company_id))
            return ChatStart(
                service=record_of(ServiceRecord, row),
                flow_version=version,
                company=None if company is None else company_record(company),
                open_chats=int(open_chats or 0),
            )
