"""The administrative audit trail: who changed what, from what to what, when.

A change is audited as the fields that differ, before → after; secrets appear only as
"changed", never as values.  Staff recording actions (pause, resume, delete, flag
abusive) are audited by the chat service in the chat's own transaction.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from chatrec.domain.roles import LoginRole
from chatrec.services.access import Principal, company_for
from chatrec.services.admin.ports import AuditAdminStore
from chatrec.store.records import AuditRecord

REDACTED = "(secret)"


def changed_fields(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose values differ, as ``(before, after)`` restricted to them."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    keys += [key for key in before if key not in after]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def audit_line(
    principal: Principal,
    company_id: str,
    action: str,
    at: datetime,
    *,
    target: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """One audit line; with both ``before`` and ``after``, only what changed is kept."""
    detail: dict[str, Any] = {"target": target}
    if before is not None and after is not None:
        detail["before"], detail["after"] = changed_fields(before, after)
    elif after is not None:
        detail["after"] = dict(after)
    elif before is not None:
        detail["before"] = dict(before)
    return AuditRecord(company_id, at, principal.name, action, None, detail)


EXPORT_COLUMNS = ("at", "actor", "action", "chat_id", "target", "before", "after", "detail")


def _row(entry: AuditRecord) -> dict[str, str]:
    detail = dict(entry.detail)
    target = detail.pop("target", "")
    before = detail.pop("before", None)
    after = detail.pop("after", None)

    def text(value: object) -> str:
        return "" if value is None else json.dumps(value, sort_keys=True, default=str)

    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "chat_id": entry.chat_id or "",
        "target": str(target),
        "before": text(before),
        "after": text(after),
        "detail": text(detail or None),
    }


def csv_chunks(pages: Iterable[Sequence[AuditRecord]]) -> Iterator[str]:
    """The CSV export, its header then one chunk a page, as the pages come."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for page in pages:
        writer.writerows(_row(entry) for entry in page)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():  # no page at all: the header alone
        yield out.getvalue()


def audit_view(entry: AuditRecord) -> dict[str, Any]:
    """One audit line as a JSON object, as the API and the exports give it."""
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "chat_id": entry.chat_id,
        "detail": entry.detail,
    }


def json_chunks(pages: Iterable[Sequence[AuditRecord]]) -> Iterator[str]:
    """The JSON export, one chunk a page: the text ``json.dumps(views, indent=2)`` gives for
    the whole list, made a line at a time."""
    opening = "["
    for page in pages:
        items = []
        for entry in page:
            text = json.dumps(audit_view(entry), indent=2, default=str)
            items.append("\n".join(f"  {line}" for line in text.split("\n")))
        if items:
            yield opening + "\n" + ",\n".join(items)
            opening = ","
    yield "[]" if opening == "[" else "\n]"


EXPORT_PAGE_LINES = 500


class AuditTrail:
    """Reading the company's audit trail: administrators (and operators) only."""

    def __init__(
        self,
        store: AuditAdminStore,
        clock: Callable[[], datetime],
        *,
        export_page_lines: int = EXPORT_PAGE_LINES,
    ) -> None:
        self.store = store
        self._clock = clock
        self.export_page_lines = export_page_lines

    def read(
        self,
        principal: Principal,
        company_id: str | None = None,
        *,
        chat_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        return self.store.list_audit(company, chat_id, since=since, limit=limit)

    def page(
        self,
        principal: Principal,
        company_id: str | None = None,
        *,
        chat_id: str | None = None,
        since: datetime | None = None,
        before: tuple[datetime, int] | None = None,
        limit: int = 100,
    ) -> list[tuple[int, AuditRecord]]:
        """A page of the trail, newest first, each line with its id (the next page's key)."""
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        return self.store.page_audit(company, chat_id, since=since, before=before, limit=limit)

    def export(
        self,
        principal: Principal,
        company_id: str | None = None,
        *,
        chat_id: str | None = None,
        since: datetime | None = None,
    ) -> Iterator[list[AuditRecord]]:
        """The whole trail (or since a time), oldest first, in pages read as they are taken:
        an export of any length holds one page in memory.  Who may read it is checked, and
        the first page read, before this returns, so a refusal or a failed database is
        told before any of the export is sent."""
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        read = functools.partial(
            self.store.page_audit_forward,
            company,
            chat_id,
            since=since,
            limit=self.export_page_lines,
        )
        return self._pages(read, read())

    def _pages(
        self,
        read: Callable[..., list[tuple[int, AuditRecord]]],
        page: list[tuple[int, AuditRecord]],
    ) -> Iterator[list[AuditRecord]]:
        while page:
            yield [entry for _, entry in page]
            if len(page) < self.export_page_lines:
                return
            line, last = page[-1]
            page = read(after=(last.at, line))
