"""The administrative audit trail: who changed what, from what to what, when.

A change is audited as the fields that differ, before → after; secrets appear only as
"changed", never as values.  Staff recording actions (pause, resume, delete, flag
abusive) are audited by the chat service in the chat's own transaction.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chatrec.services.access import Actor, Role, company_for
from chatrec.store.records import AuditRecord
from chatrec.store.store import Store

REDACTED = "(secret)"


def changed_fields(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose values differ, as ``(before, after)`` restricted to them."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    keys += [key for key in before if key not in after]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def audit_line(
    actor: Actor,
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
    return AuditRecord(company_id, at, actor.name, action, None, detail)


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


def export_csv(entries: list[AuditRecord]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_row(entry) for entry in entries)
    return out.getvalue()


def audit_view(entry: AuditRecord) -> dict[str, Any]:
    """One audit line as a JSON object, as the API and the exports give it."""
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "chat_id": entry.chat_id,
        "detail": entry.detail,
    }


def export_json(entries: list[AuditRecord]) -> str:
    return json.dumps([audit_view(entry) for entry in entries], indent=2, default=str)


class AuditTrail:
    """Reading the company's audit trail: administrators (and operators) only."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self._clock = clock

    def read(
        self,
        actor: Actor,
        company_id: str | None = None,
        *,
        chat_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        company = company_for(actor, company_id, Role.ADMINISTRATOR)
        return self.store.list_audit(company, chat_id, since=since, limit=limit)

    def page(
        self,
        actor: Actor,
        company_id: str | None = None,
        *,
        chat_id: str | None = None,
        since: datetime | None = None,
        before: tuple[datetime, int] | None = None,
        limit: int = 100,
    ) -> list[tuple[int, AuditRecord]]:
        """A page of the trail, newest first, each line with its id (the next page's key)."""
        company = company_for(actor, company_id, Role.ADMINISTRATOR)
        return self.store.page_audit(company, chat_id, since=since, before=before, limit=limit)
