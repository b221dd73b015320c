"""A demo-like company of a test's own on a server shared by a module.

Starting ``chatrec demo`` costs seconds, so a module whose tests need no fresh server
shares one, and each test gets a :class:`Tenant`: a company seeded as
:func:`chatrec.demo.company.seed_demo` seeds the demo (the same users, services, flows
and queue), under ids of its own, so what one test leaves (an agent still available, a changed
setting) is not what the next one meets.  A tenant is used where a
:class:`ServerProcess` is: its users have the demo's logins (``"alice"``; logins are
unique per company, and it signs in naming its company), and :meth:`Tenant.id` turns
a demo id (``"demo-alice"``) into the tenant's.
"""

from __future__ import annotations

import functools
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from chatrec.demo.company import COMPANY_ID, SERVICES, USERS
from chatrec.domain.settings import DEFAULT_TEMPLATE
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
from tests.integration.server import ServerProcess

_numbers = itertools.count(1)
PASSWORD = "tenant-password-1"
"""Every tenant's users' password (hashed once per run: hashing is slow on purpose)."""
SHARED_LIMITS = {
    "CHATREC_LOGIN_ATTEMPTS_PER_MINUTE": "100000",
    "CHATREC_CHAT_STARTS_PER_MINUTE": "100000",
}
"""For a shared server: limits per client address, which its tests (all from 127.0.0.1)
would otherwise share."""
SHARED_METRICS_TOKEN = "metrics-token-of-the-shared-servers-0123"
"""The shared servers' ``/metrics`` token (``Authorization: Bearer …``)."""
DEMO_PREFIX = f"{COMPANY_ID}-"
OPERATORS = frozenset(user.login for user in USERS if user.role == "operator")


def operator_login(prefix: str, login: str) -> str:
    """Operators are all in the one system company, where logins are unique."""
    return f"{prefix}-{login}"


@functools.cache
def password_hash() -> str:
    """:data:`PASSWORD` hashed, once per run (at the run's cost: see tests/conftest.py)."""
    return hash_password(PASSWORD)


@dataclass
class Tenant(ServerProcess):
    """A company of its own on a shared server (which this object does not start)."""

    prefix: str = ""
    password: str = field(default="", repr=False)

    @property
    def company_id(self) -> str:
        return self.prefix

    def id(self, demo_id: str) -> str:
        """The tenant's id for the demo's ``demo_id`` (``"demo-alice"`` -> ``"t3x-alice"``)."""
        if not demo_id.startswith(DEMO_PREFIX):
            raise ValueError(f"not a demo id: {demo_id!r}")
        return f"{self.prefix}-{demo_id.removeprefix(DEMO_PREFIX)}"

    def logins(self) -> dict[str, str]:
        """Demo login -> password, as :meth:`ServerProcess.logins` gives them."""
        return {user.login: self.password for user in USERS} | self.extra_logins

    def sign_in(self, login: str) -> tuple[str, str | None]:
        if login in self.extra_logins:  # a test's own, in whichever company it chose
            return login, None
        if login in OPERATORS:
            return operator_login(self.prefix, login), SYSTEM_COMPANY_ID
        return login, self.company_id

    def token(self, login: str) -> str:
        """A session of the tenant's user with the demo's login ``login`` (or a test's own)."""
        actual, company = self.sign_in(login)
        body = {"login": actual, "password": self.logins()[login]}
        if company is not None:
            body["company"] = company
        response = httpx.post(f"{self.url}/api/login", json=body)
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    def set_company(self, **settings: object) -> dict[str, Any]:
        """Change the tenant company's settings as its administrator does, over the API."""
        answer = httpx.patch(
            f"{self.url}/api/admin/companies/{self.company_id}",
            json=settings,
            headers={"Authorization": f"Bearer {self.token('ada')}"},
        )
        assert answer.status_code == 200, answer.text
        company: dict[str, Any] = answer.json()
        return company

    @classmethod
    def seed(cls, server: ServerProcess, store: Store) -> Tenant:
        """A fresh demo-like company on ``server``'s database, through ``store``."""
        prefix = f"t{next(_numbers)}{secrets.token_hex(3)}"
        store.create_company(
            CompanyRecord(
                company_id=prefix,
                name="Demo Insurance",
                products=frozenset({"call_recording", "webchat"}),
                default_template=DEFAULT_TEMPLATE,
                formats=frozenset({"json", "text", "html", "vcon"}),
                sampling_key=secrets.token_bytes(32),
            )
        )
        store.create_queue(QueueRecord(f"{prefix}-general", prefix, "General"))
        for service_id, name, flow in SERVICES:
            flow_id = f"{prefix}-{flow}"
            store.save_flow(prefix, flow_id, flow, example_source(flow))
            store.create_service(ServiceRecord(f"{prefix}-{service_id}", prefix, name, flow_id))
        for user in USERS:
            store.create_user(
                UserRecord(
                    user_id=f"{prefix}-{user.login}",
                    company_id=SYSTEM_COMPANY_ID if user.role == "operator" else prefix,
                    login=operator_login(prefix, user.login)
                    if user.role == "operator"
                    else user.login,
                    name=user.name,
                    role=user.role,
                    password_hash=password_hash(),
                    permit_recordings=user.permit_recordings,
                    record_percentage=user.record_percentage,
                )
            )
        return cls(
            data_dir=server.data_dir,
            database_url=server.database_url,
            port=server.port,
            env=server.env,
            platform=server.platform,
            prefix=prefix,
            password=PASSWORD,
        )
