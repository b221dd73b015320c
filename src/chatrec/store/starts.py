"""What a chat's start reads, at the driver, in three reads instead of four (issue 13).

A start needs its service, the newest version of the service's flow (a saved version
never changes, so a node that holds it in memory reads no flow), the company (its
settings mask the pre-chat form's answers and decide the recording) and how many chats
the company has open on every node (its limit, issue 16).  Each was a read of its own.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select

from chatrec.store.companies import COMPANY_BY_ID
from chatrec.store.mapping import company_record, record_of
from chatrec.store.models import ChatRow, FlowVersionRow
from chatrec.store.records import ChatStart, ServiceRecord
from chatrec.store.routing import open_chats_counted
from chatrec.store.tables import SERVICES
from chatrec.store.transactions import StorePart


class StartStore(StorePart):
    def chat_start(self, service_id: str) -> ChatStart | None:
        """What starting a chat on the service needs; ``None`` for an unknown service."""
        # Three reads at the driver, not one transaction: none needs the others' snapshot
        # (a company's settings, its count of open chats and the service are each as of
        # now), and through SQLAlchemy they cost several times the database's work.
        row = self._plain_row(_SERVICE, {"service_id": service_id})
        if row is None:
            return None
        company = self._plain_row(COMPANY_BY_ID, {"company_id": row.company_id})
        counted = self._plain_row(_OPEN_CHATS, {"company_id": row.company_id})
        return ChatStart(
            service=record_of(ServiceRecord, row),
            flow_version=row.flow_version,
            company=None if company is None else company_record(company),
            open_chats=int(counted[0] or 0) if counted is not None else 0,
        )


# Built once, read as plain rows: a start's reads were most of its cost (chat_lifecycle).
_NEWEST_VERSION = (
    select(func.max(FlowVersionRow.version))
    .where(FlowVersionRow.flow_id == SERVICES.c.flow_id)
    .scalar_subquery()
)
_SERVICE = select(SERVICES, _NEWEST_VERSION.label("flow_version")).where(
    SERVICES.c.service_id == bindparam("service_id")
)
_OPEN_CHATS = open_chats_counted(None).where(ChatRow.company_id == bindparam("company_id"))
