"""What a company offers customers: queues, chat flows (versioned) and services."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from chatrec.errors import DuplicateError, NotFoundError
from chatrec.store.mapping import (
    flow_version_record,
    record_of,
    values_of,
)
from chatrec.store.models import (
    CompanyRow,
    FlowRow,
    FlowVersionRow,
    QueueRow,
    ServiceRow,
)
from chatrec.store.records import (
    FlowVersionRecord,
    QueueRecord,
    ServiceRecord,
)
from chatrec.store.tables import QUEUES
from chatrec.store.transactions import (
    Audit,
    StorePart,
    add_audit_rows,
    require,
)


class CatalogStore(StorePart):
    """Queues, flows and services; a service starts chats, with a flow if it has one."""

    def create_queue(self, queue: QueueRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            require(session, CompanyRow, queue.company_id, "company")
            if session.get(QueueRow, queue.queue_id):
                raise DuplicateError(f"queue {queue.queue_id!r} already exists")
            if _find_queue(session, queue.company_id, queue.name):
                raise DuplicateError(f"the company already has a queue named {queue.name!r}")
            session.add(QueueRow(**values_of(queue)))
            add_audit_rows(session, audit)

    def update_queue(self, queue: QueueRecord, *, audit: Audit = ()) -> None:
        """Rename the queue; flows route to it by name, so they follow the new name."""
        with self._write() as session:
            row = require(session, QueueRow, queue.queue_id, "queue")
            if row.company_id != queue.company_id:
                raise NotFoundError(f"no queue {queue.queue_id!r} in this company")
            clash = _find_queue(session, queue.company_id, queue.name)
            if clash is not None and clash.queue_id != queue.queue_id:
                raise DuplicateError(f"the company already has a queue named {queue.name!r}")
            row.name = queue.name
            add_audit_rows(session, audit)

    def get_queue(self, queue_id: str) -> QueueRecord | None:
        row = self._plain_row(_QUEUE, {"queue_id": queue_id})
        return None if row is None else record_of(QueueRecord, row)

    def find_queue(self, company_id: str, name: str) -> QueueRecord | None:
        with self._read() as session:
            row = _find_queue(session, company_id, name)
            return None if row is None else record_of(QueueRecord, row)

    def list_queues(self, company_id: str) -> list[QueueRecord]:
        rows = self._plain_rows(_QUEUES_OF, {"company_id": company_id})
        return [record_of(QueueRecord, row) for row in rows]

    def save_flow(
        self, company_id: str, flow_id: str, name: str, source: str, *, audit: Audit = ()
    ) -> FlowVersionRecord:
        """Keep ``source`` as the flow's next version (1 for a new flow) and rename it.

        The store does not read the flow: callers validate it first (``flows.load_flow``).
        """
        with self._write() as session:
            require(session, CompanyRow, company_id, "company")
            flow = session.get(FlowRow, flow_id)
            if flow is None:
                flow = FlowRow(flow_id=flow_id, company_id=company_id, name=name)
                session.add(flow)
            elif flow.company_id != company_id:
                raise NotFoundError(f"no flow {flow_id!r} in company {company_id!r}")
            flow.name = name
            latest = session.scalar(
                select(func.max(FlowVersionRow.version)).where(FlowVersionRow.flow_id == flow_id)
            )
            version = FlowVersionRow(
                flow_id=flow_id, version=(latest or 0) + 1, source=source, created_at=self._clock()
            )
            session.add(version)
            session.flush()
            add_audit_rows(session, audit)
            return flow_version_record(flow, version)

    def get_flow(self, flow_id: str, version: int | None = None) -> FlowVersionRecord | None:
        """The given version of the flow, or its newest when ``version`` is ``None``."""
        with self._read() as session:
            flow = session.get(FlowRow, flow_id)
            if flow is None:
                return None
            query = select(FlowVersionRow).where(FlowVersionRow.flow_id == flow_id)
            if version is None:
                query = query.order_by(FlowVersionRow.version.desc()).limit(1)
            else:
                query = query.where(FlowVersionRow.version == version)
            row = session.scalar(query)
            return None if row is None else flow_version_record(flow, row)

    def list_flow_versions(self, flow_id: str) -> list[FlowVersionRecord]:
        """Every saved version of the flow, newest first."""
        with self._read() as session:
            flow = session.get(FlowRow, flow_id)
            if flow is None:
                return []
            rows = session.scalars(
                select(FlowVersionRow)
                .where(FlowVersionRow.flow_id == flow_id)
                .order_by(FlowVersionRow.version.desc())
            )
            return [flow_version_record(flow, row) for row in rows]

    def list_flows(self, company_id: str) -> list[FlowVersionRecord]:
        """The newest version of each of the company's flows, by name."""
        with self._read() as session:
            newest = (
                select(FlowVersionRow.flow_id, func.max(FlowVersionRow.version).label("version"))
                .group_by(FlowVersionRow.flow_id)
                .subquery()
            )
            rows = session.execute(
                select(FlowRow, FlowVersionRow)
                .join(newest, newest.c.flow_id == FlowRow.flow_id)
                .join(
                    FlowVersionRow,
                    (FlowVersionRow.flow_id == newest.c.flow_id)
                    & (FlowVersionRow.version == newest.c.version),
                )
                .where(FlowRow.company_id == company_id)
                .order_by(FlowRow.name, FlowRow.flow_id)
            )
            return [flow_version_record(flow, version) for flow, version in rows]

    def create_service(self, service: ServiceRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            require(session, CompanyRow, service.company_id, "company")
            _require_flow_of(session, service)
            if session.get(ServiceRow, service.service_id):
                raise DuplicateError(f"service {service.service_id!r} already exists")
            session.add(ServiceRow(**values_of(service)))
            add_audit_rows(session, audit)

    def update_service(self, service: ServiceRecord, *, audit: Audit = ()) -> None:
        """Rename the service, give it another flow or other business hours; its company
        never changes."""
        with self._write() as session:
            row = require(session, ServiceRow, service.service_id, "service")
            if row.company_id != service.company_id:
                raise NotFoundError(f"no service {service.service_id!r} in this company")
            _require_flow_of(session, service)
            row.name = service.name
            row.flow_id = service.flow_id
            row.hours, row.timezone = service.hours, service.timezone
            row.closed_message = service.closed_message
            row.pre_chat_form = service.pre_chat_form
            add_audit_rows(session, audit)

    def get_service(self, service_id: str) -> ServiceRecord | None:
        with self._read() as session:
            row = session.get(ServiceRow, service_id)
            return None if row is None else record_of(ServiceRecord, row)

    def list_services(self, company_id: str) -> list[ServiceRecord]:
        with self._read() as session:
            rows = session.scalars(
                select(ServiceRow)
                .where(ServiceRow.company_id == company_id)
                .order_by(ServiceRow.name)
            )
            return [record_of(ServiceRecord, row) for row in rows]


def _find_queue(session: Session, company_id: str, name: str) -> QueueRow | None:
    return session.scalar(
        select(QueueRow).where(QueueRow.company_id == company_id, QueueRow.name == name)
    )


def _require_flow_of(session: Session, service: ServiceRecord) -> None:
    if service.flow_id is None:
        return
    flow = session.get(FlowRow, service.flow_id)
    if flow is None or flow.company_id != service.company_id:
        raise NotFoundError(f"no flow {service.flow_id!r} in company {service.company_id!r}")


# Read at every routed chat and flow route: built once, read as plain rows (issue 13).
_QUEUE = select(QUEUES).where(QUEUES.c.queue_id == bindparam("queue_id"))
_QUEUES_OF = (
    select(QUEUES).where(QUEUES.c.company_id == bindparam("company_id")).order_by(QUEUES.c.name)
)
