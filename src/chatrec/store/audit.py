"""The audit trail: lines written with the change they describe, read in pages (R14)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select

from chatrec.store.mapping import (
    audit_record,
)
from chatrec.store.models import (
    AuditRow,
)
from chatrec.store.records import (
    AuditRecord,
)
from chatrec.store.transactions import (
    StorePart,
    add_audit_rows,
)


class AuditStore(StorePart):
    """Every company's audit trail."""

    def add_audit(self, entries: Sequence[AuditRecord]) -> None:
        """Audit lines of actions that change nothing else (a refused login, a probe)."""
        with self._write() as session:
            add_audit_rows(session, entries)

    def list_audit(
        self,
        company_id: str,
        chat_id: str | None = None,
        *,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """The company's audit trail in order, or only the lines about one chat (R14).

        With ``limit``, the newest ``limit`` lines (still oldest first).
        """
        with self._read() as session:
            query = select(AuditRow).where(AuditRow.company_id == company_id)
            if chat_id is not None:
                query = query.where(AuditRow.chat_id == chat_id)
            if since is not None:
                query = query.where(AuditRow.at >= since)
            if limit is None:
                rows = list(session.scalars(query.order_by(AuditRow.at, AuditRow.id)))
            else:
                newest = query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
                rows = list(reversed(session.scalars(newest).all()))
            return [audit_record(row) for row in rows]

    def page_audit(
        self,
        company_id: str,
        chat_id: str | None = None,
        *,
        since: datetime | None = None,
        before: tuple[datetime, int] | None = None,
        limit: int = 100,
    ) -> list[tuple[int, AuditRecord]]:
        """The company's audit lines newest first, each with its id, from ``before`` on.

        ``before`` is the (``at``, id) of the last line of a page: the next page holds the
        lines older than it.
        """
        return self._audit_page(company_id, chat_id, since, before, limit, newest_first=True)

    def page_audit_forward(
        self,
        company_id: str,
        chat_id: str | None = None,
        *,
        since: datetime | None = None,
        after: tuple[datetime, int] | None = None,
        limit: int,
    ) -> list[tuple[int, AuditRecord]]:
        """The company's audit lines oldest first, each with its id, after ``after`` (the
        (``at``, id) of the last line of the previous page): an export reads the whole
        trail this way, one page in memory at a time."""
        return self._audit_page(company_id, chat_id, since, after, limit, newest_first=False)

    def _audit_page(
        self,
        company_id: str,
        chat_id: str | None,
        since: datetime | None,
        last: tuple[datetime, int] | None,
        limit: int,
        *,
        newest_first: bool,
    ) -> list[tuple[int, AuditRecord]]:
        """A page of the trail in (``at``, id) order, either way, past ``last`` (the
        (``at``, id) of the previous page's last line)."""
        with self._read() as session:
            query = select(AuditRow).where(AuditRow.company_id == company_id)
            if chat_id is not None:
                query = query.where(AuditRow.chat_id == chat_id)
            if since is not None:
                query = query.where(AuditRow.at >= since)
            if last is not None:
                at, line = last
                query = query.where(
                    or_(AuditRow.at < at, and_(AuditRow.at == at, AuditRow.id < line))
                    if newest_first
                    else or_(AuditRow.at > at, and_(AuditRow.at == at, AuditRow.id > line))
                )
            order = (
                (AuditRow.at.desc(), AuditRow.id.desc())
                if newest_first
                else (AuditRow.at.asc(), AuditRow.id.asc())
            )
            rows = session.scalars(query.order_by(*order).limit(limit))
            return [(row.id, audit_record(row)) for row in rows]
