"""The demo company that ``make run`` starts with, so a first user can chat at once.

Seeding is idempotent: the first run creates the company with random passwords and
keeps them in ``<data-dir>/demo-logins.json`` (mode 0600); later runs read them back.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from chatrec.domain.roles import LoginRole
from chatrec.domain.settings import DEFAULT_TEMPLATE
from chatrec.files import private_dir
from chatrec.flows.examples import example_source
from chatrec.services.passwords import hash_password
from chatrec.store.records import (
    SYSTEM_COMPANY_ID,
    CompanyRecord,
    QueueRecord,
    ServiceRecord,
    UserRecord,
)
from chatrec.store.store import Store

COMPANY_ID = "demo"
LOGINS_FILE = "demo-logins.json"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    login: str
    password: str
    name: str
    role: str
    note: str


@dataclass(frozen=True, slots=True)
class DemoUser:
    login: str
    name: str
    role: LoginRole
    permit_recordings: bool
    record_percentage: int
    note: str


USERS = (
    DemoUser("alice", "Alice Martin", LoginRole.AGENT, True, 100, "recorded in every chat"),
    DemoUser("bob", "Bob Chen", LoginRole.AGENT, False, 100, "Permit Recordings off (R12a)"),
    DemoUser("carol", "Carol Diaz", LoginRole.AGENT, True, 50, "half of her chats sampled (R7)"),
    DemoUser("sam", "Sam Okafor", LoginRole.SUPERVISOR, True, 100, "sees and joins all chats"),
    DemoUser("ada", "Ada Admin", LoginRole.ADMINISTRATOR, True, 100, "administers the company"),
    DemoUser("olga", "Olga Operator", LoginRole.OPERATOR, True, 100, "system operator: companies"),
)
SERVICES = (("support", "Support", "support"), ("sales", "Sales", "consent_first"))


def seed_demo(store: Store, data_dir: Path) -> list[DemoLogin]:
    """Create the demo company once; return its logins (with passwords)."""
    logins_path = data_dir / LOGINS_FILE
    if store.get_company(COMPANY_ID) is not None and logins_path.exists():
        return [DemoLogin(**entry) for entry in json.loads(logins_path.read_text())]
    if store.get_company(COMPANY_ID) is not None and all(
        store.get_user(f"demo-{user.login}") is not None for user in USERS
    ):
        # Seeded by another node of the same database (R20): its logins stand; new
        # passwords here would sign out whoever uses the ones that node printed.
        return [DemoLogin(user.login, "", user.name, user.role.value, user.note) for user in USERS]
    if store.get_company(COMPANY_ID) is None:
        store.create_company(
            CompanyRecord(
                company_id=COMPANY_ID,
                name="Demo Insurance",
                products=frozenset({"call_recording", "webchat"}),
                default_template=DEFAULT_TEMPLATE,
                formats=frozenset({"json", "text", "html", "vcon"}),
                sampling_key=secrets.token_bytes(32),
            )
        )
        store.create_queue(QueueRecord("demo-general", COMPANY_ID, "General"))
        for service_id, name, flow in SERVICES:
            flow_id = f"demo-{flow}"
            store.save_flow(COMPANY_ID, flow_id, flow, example_source(flow))
            store.create_service(ServiceRecord(f"demo-{service_id}", COMPANY_ID, name, flow_id))
    logins = []
    for user in USERS:
        password = secrets.token_urlsafe(9)
        record = UserRecord(
            user_id=f"demo-{user.login}",
            company_id=SYSTEM_COMPANY_ID if user.role is LoginRole.OPERATOR else COMPANY_ID,
            login=user.login,
            name=user.name,
            role=user.role,
            password_hash=hash_password(password),
            permit_recordings=user.permit_recordings,
            record_percentage=user.record_percentage,
        )
        if store.get_user(record.user_id) is None:
            store.create_user(record)
        else:
            store.update_user(record)
        logins.append(DemoLogin(user.login, password, user.name, user.role.value, user.note))
    private_dir(data_dir)
    descriptor = os.open(logins_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump([asdict(login) for login in logins], handle, indent=2)
    return logins
