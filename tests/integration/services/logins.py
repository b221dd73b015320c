"""What the login tests share: an injected clock, and a company with two logins."""

from __future__ import annotations

from datetime import UTC, datetime

from chatrec.services.access import Principal
from chatrec.services.admin import Administration
from chatrec.store.records import UserRecord

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OPERATOR = Principal.command_line("test")
PASSWORD = "the-right-password"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def company(admin: Administration, company_id: str) -> tuple[Principal, UserRecord]:
    """A company with an administrator, and an agent whose password is ``PASSWORD``."""
    admin.companies.create(OPERATOR, company_id, company_id.title(), ["call_recording", "webchat"])
    ada, _ = admin.users.create(
        OPERATOR, f"ada@{company_id}", "Ada", "administrator", company_id=company_id
    )
    carol, _ = admin.users.create(
        OPERATOR, f"carol@{company_id}", "Carol", "agent", company_id=company_id, password=PASSWORD
    )
    return Principal.of(ada), carol
