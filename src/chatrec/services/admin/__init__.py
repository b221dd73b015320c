"""Administration use cases: each checks access, validates, and commits with its audit line.

The HTTP API, the console pages and ``chatrec admin`` all call these; none of them
writes to the store directly, so every change is checked and audited once (R18).
"""

from collections.abc import Callable
from datetime import datetime

from chatrec.services.admin.audit import AuditTrail
from chatrec.services.admin.canned import CannedAdmin
from chatrec.services.admin.catalog import CatalogAdmin
from chatrec.services.admin.companies import CompanyAdmin
from chatrec.services.admin.destinations import DestinationAdmin
from chatrec.services.admin.imports import ImportAdmin
from chatrec.services.admin.ports import AdminStore
from chatrec.services.admin.users import UserAdmin
from chatrec.services.revocation import Revocations

__all__ = [
    "Administration",
    "AuditTrail",
    "CannedAdmin",
    "CatalogAdmin",
    "CompanyAdmin",
    "DestinationAdmin",
    "ImportAdmin",
    "UserAdmin",
]


class Administration:
    """Every administration use case over one store, for the API, the console and the CLI."""

    def __init__(
        self,
        store: AdminStore,
        clock: Callable[[], datetime],
        *,
        revocations: Revocations | None = None,
    ) -> None:
        """``revocations`` ends the open access of logins disabled, given another role or
        a new password; without it (the command line) each node's sweep finds them."""
        self.companies = CompanyAdmin(store, clock)
        self.users = UserAdmin(store, clock, revocations)
        self.catalog = CatalogAdmin(store, clock)
        self.canned = CannedAdmin(store, clock)
        self.destinations = DestinationAdmin(store, clock)
        self.audit = AuditTrail(store, clock)
        self.imports = ImportAdmin(store, clock)
