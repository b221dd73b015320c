"""What each administration use case needs of the store, declared as a narrow port.

:class:`chatrec.store.store.Store` fills them all; ``imports`` needs the catalog's and
the users' ports, as it runs those use cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from chatrec.store.records import (
    AuditRecord,
    CompanyRecord,
    DestinationRecord,
    FlowVersionRecord,
    QueueRecord,
    ServiceRecord,
    UserRecord,
)

Audit = Sequence[AuditRecord]


class AuditAdminStore(Protocol):
    """The audit trail read in pages (``admin.audit``, ``store.audit``)."""

    def list_audit(
        self,
        company_id: str,
        chat_id: str | None = ...,
        *,
        since: datetime | None = ...,
        limit: int | None = ...,
    ) -> list[AuditRecord]: ...
    def page_audit(
        self,
        company_id: str,
        chat_id: str | None = ...,
        *,
        since: datetime | None = ...,
        before: tuple[datetime, int] | None = ...,
        limit: int = ...,
    ) -> list[tuple[int, AuditRecord]]: ...
    def page_audit_forward(
        self,
        company_id: str,
        chat_id: str | None = ...,
        *,
        since: datetime | None = ...,
        after: tuple[datetime, int] | None = ...,
        limit: int,
    ) -> list[tuple[int, AuditRecord]]: ...


class CatalogAdminStore(Protocol):
    """Queues, flows and services (``admin.catalog``, ``store.catalog``)."""

    def create_queue(self, queue: QueueRecord, *, audit: Audit = ...) -> None: ...
    def update_queue(self, queue: QueueRecord, *, audit: Audit = ...) -> None: ...
    def get_queue(self, queue_id: str) -> QueueRecord | None: ...
    def list_queues(self, company_id: str) -> list[QueueRecord]: ...
    def save_flow(
        self, company_id: str, flow_id: str, name: str, source: str, *, audit: Audit = ...
    ) -> FlowVersionRecord: ...
    def get_flow(self, flow_id: str, version: int | None = ...) -> FlowVersionRecord | None: ...
    def list_flow_versions(self, flow_id: str) -> list[FlowVersionRecord]: ...
    def list_flows(self, company_id: str) -> list[FlowVersionRecord]: ...
    def create_service(self, service: ServiceRecord, *, audit: Audit = ...) -> None: ...
    def update_service(self, service: ServiceRecord, *, audit: Audit = ...) -> None: ...
    def get_service(self, service_id: str) -> ServiceRecord | None: ...
    def list_services(self, company_id: str) -> list[ServiceRecord]: ...


class CompanyAdminStore(Protocol):
    """Companies, and what their summaries count (``admin.companies``)."""

    def create_company(self, company: CompanyRecord, *, audit: Audit = ...) -> None: ...
    def update_company(self, company: CompanyRecord, *, audit: Audit = ...) -> None: ...
    def get_company(self, company_id: str) -> CompanyRecord | None: ...
    def list_companies(self) -> list[CompanyRecord]: ...
    def list_queues(self, company_id: str) -> list[QueueRecord]: ...
    def list_services(self, company_id: str) -> list[ServiceRecord]: ...
    def list_users(self, company_id: str) -> list[UserRecord]: ...


class DestinationAdminStore(Protocol):
    """A company's recording platform (``admin.destinations``, ``store.deliveries``)."""

    def get_company(self, company_id: str) -> CompanyRecord | None: ...
    def get_destination(self, company_id: str) -> DestinationRecord | None: ...
    def set_destination(self, destination: DestinationRecord, *, audit: Audit = ...) -> None: ...
    def add_audit(self, entries: Sequence[AuditRecord]) -> None: ...


class UserAdminStore(Protocol):
    """A company's logins (``admin.users``, ``store.companies``, ``store.access``)."""

    def create_user(self, user: UserRecord, *, audit: Audit = ...) -> None: ...
    def update_users(self, users: Sequence[UserRecord], *, audit: Audit = ...) -> None: ...
    def get_user(self, user_id: str) -> UserRecord | None: ...
    def find_users_by_login(self, login: str, company_id: str | None = ...) -> list[UserRecord]: ...
    def list_users(self, company_id: str) -> list[UserRecord]: ...
    def reset_credentials(self, user: UserRecord, now: datetime, *, audit: Audit = ...) -> None: ...
    def set_totp(
        self, user_id: str, secret: str | None, *, enabled: bool, audit: Audit = ...
    ) -> None: ...


class ImportStore(CatalogAdminStore, UserAdminStore, Protocol):
    """A company's import: its catalog and logins, and the audit of what it changed."""

    def get_company(self, company_id: str) -> CompanyRecord | None: ...

    def add_audit(self, entries: Sequence[AuditRecord]) -> None: ...


class AdminStore(
    AuditAdminStore,
    CompanyAdminStore,
    DestinationAdminStore,
    ImportStore,
    Protocol,
):
    """Every administration use case's port at once (``services.admin.Administration``)."""
