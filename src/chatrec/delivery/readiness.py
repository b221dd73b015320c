"""What an administrator must hear at start: recordings that have nowhere to go (R1, R16).

A company that records (both products) but has no recording platform, or one blocked
by a permanent error, keeps its recordings in the spool; the server says so in its log
when it starts rather than look healthy (no silent success).
"""

from __future__ import annotations

from chatrec.domain.settings import RECORDING_PRODUCTS
from chatrec.store.store import Store


def destination_warnings(store: Store) -> list[str]:
    """One sentence per recording company whose deliveries cannot go out now."""
    destinations = {found.company_id: found for found in store.list_destinations()}
    warnings = []
    for company in store.list_companies():
        if not company.products >= RECORDING_PRODUCTS:
            continue
        destination = destinations.get(company.company_id)
        if destination is None:
            warnings.append(
                f"company {company.company_id} records chats but has no recording platform: "
                "its recordings wait in the spool until one is configured"
            )
        elif destination.blocked_reason is not None:
            warnings.append(
                f"the recording platform of company {company.company_id} "
                f"({destination.host}:{destination.port}) is blocked since "
                f"{destination.blocked_at}: {destination.blocked_reason}; fix it, or run "
                "`chatrec deliveries retry --all` once fixed"
            )
    return warnings
