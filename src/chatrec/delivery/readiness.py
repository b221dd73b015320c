"""What an administrator must hear at start: recordings that have nowhere to go (R1, R16).

A company that records (both products) but has no recording platform, or one blocked
by a permanent error, keeps its recordings waiting in the database; the server says so in its log
when it starts rather than look healthy (no silent success).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from chatrec.delivery.model import Destination
from chatrec.delivery.sftp import ProbeStep
from chatrec.delivery.worker import destination_of
from chatrec.domain.settings import RECORDING_PRODUCTS
from chatrec.store.store import Store

log = logging.getLogger(__name__)


class Prober(Protocol):
    async def probe(
        self, destination: Destination, *, write: bool = True, within: float | None = None
    ) -> list[ProbeStep]: ...


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
                "its recordings wait in the database until one is configured"
            )
        elif destination.blocked_reason is not None:
            warnings.append(
                f"the recording platform of company {company.company_id} "
                f"({destination.host}:{destination.port}) is blocked since "
                f"{destination.blocked_at}: {destination.blocked_reason}; fix it, or run "
                "`chatrec deliveries retry --all` once fixed"
            )
    return warnings


async def warn_unreachable(store: Store, prober: Prober, timeout: float = 30.0) -> list[str]:
    """Connect to every unblocked platform once at start; log each that cannot be reached.

    Deliveries would retry anyway, but a company with nothing to deliver yet would
    otherwise look healthy until its first chat ends (no silent success).
    """
    warnings = []
    for record in await asyncio.to_thread(store.list_destinations):
        if record.blocked_reason is not None:
            continue  # already said by destination_warnings
        try:
            async with asyncio.timeout(timeout):
                steps = await prober.probe(destination_of(record), write=False)
        except TimeoutError:
            steps = [ProbeStep("connect", False, f"no answer within {timeout:.0f} s")]
        failed = next((step for step in steps if not step.ok), None)
        if failed is not None:
            warnings.append(
                f"the recording platform of company {record.company_id} "
                f"({record.host}:{record.port}) failed at {failed.name!r}: {failed.detail}; "
                "deliveries wait and retry"
            )
    for warning in warnings:
        log.warning("%s", warning)
    return warnings
