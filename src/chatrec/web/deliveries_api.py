"""The outbox over HTTP: list, show and retry the company's deliveries (R16).

For administrators and supervisors of their own company, and operators of the company
they name: another company's delivery is "not found", never "forbidden" (R18).
Destination secrets never leave.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatrec.errors import NotFoundError
from chatrec.services.access import OVERSEERS, Actor, company_for
from chatrec.store.records import DeliveryRecord, DeliveryState, DestinationRecord, UserRecord
from chatrec.web.admin_api import CompanyId
from chatrec.web.api import Services, Staff

router = APIRouter(prefix="/api/deliveries", tags=["deliveries"])


# A delivery id is a recording file's 32-bit key; a larger number names no delivery, and
# SQLite could not even bind it (a 500 rather than a clear 422, R19).
MAX_DELIVERY_ID = 2**31 - 1
DeliveryId = Annotated[int, Field(ge=1, le=MAX_DELIVERY_ID)]


class DeliveryRead(BaseModel):
    delivery_id: int
    recording_id: str
    chat_id: str
    kind: str
    state: DeliveryState
    remote_path: str
    size: int
    sha256: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


class DestinationRead(BaseModel):
    host: str
    port: int
    username: str
    folder: str
    blocked_reason: str | None
    blocked_at: datetime | None


class DeliveryDetailRead(DeliveryRead):
    destination: DestinationRead | None


class DeliveryRetry(BaseModel):
    """Either ``ids`` or ``all``: retry those deliveries, or every one not delivered."""

    model_config = ConfigDict(extra="forbid")
    ids: Annotated[list[DeliveryId] | None, Field(min_length=1, max_length=1000)] = None
    all: bool = False

    @model_validator(mode="after")
    def _one_choice(self) -> Self:
        if (self.ids is None) == (not self.all):
            raise ValueError("give either ids or all: true")
        return self


class RetryRead(BaseModel):
    retried: int


def _company(user: UserRecord, company_id: str | None) -> str:
    """The overseer's own company, or the one an operator names (R18)."""
    return company_for(Actor.of(user), company_id, *OVERSEERS)


def delivery_read(record: DeliveryRecord) -> DeliveryRead:
    return DeliveryRead(
        delivery_id=record.delivery_id,
        recording_id=record.recording_id,
        chat_id=record.chat_id,
        kind=record.kind.value,
        state=record.state,
        remote_path=record.remote_path,
        size=record.size,
        sha256=record.sha256,
        attempts=record.attempts,
        created_at=record.created_at,
        next_attempt_at=record.next_attempt_at,
        last_error=record.last_error,
        delivered_at=record.delivered_at,
    )


def destination_read(record: DestinationRecord) -> DestinationRead:
    return DestinationRead(
        host=record.host,
        port=record.port,
        username=record.username,
        folder=record.folder,
        blocked_reason=record.blocked_reason,
        blocked_at=record.blocked_at,
    )


@router.get("")
async def list_deliveries(
    user: Staff,
    services: Services,
    state: DeliveryState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    company_id: CompanyId = None,
) -> list[DeliveryRead]:
    """The company's deliveries, newest first, optionally in one state."""
    company = _company(user, company_id)
    found = await asyncio.to_thread(services.store.list_deliveries, state, company, limit)
    return [delivery_read(record) for record in found]


@router.get("/{delivery_id}")
async def show_delivery(
    delivery_id: Annotated[int, Path(ge=1, le=MAX_DELIVERY_ID)],
    user: Staff,
    services: Services,
    company_id: CompanyId = None,
) -> DeliveryDetailRead:
    """One delivery with its attempts, last error, checksum and destination."""
    company = _company(user, company_id)
    record = await asyncio.to_thread(services.store.get_delivery, delivery_id, company)
    if record is None:
        raise NotFoundError(f"no delivery {delivery_id}")
    destination = await asyncio.to_thread(services.store.get_destination, company)
    return DeliveryDetailRead(
        **delivery_read(record).model_dump(),
        destination=None if destination is None else destination_read(destination),
    )


@router.post("/retry")
async def retry_deliveries(
    body: DeliveryRetry, user: Staff, services: Services, company_id: CompanyId = None
) -> RetryRead:
    """Make waiting or blocked deliveries due now and unblock their destination."""
    company = _company(user, company_id)
    retried = await asyncio.to_thread(
        lambda: services.store.retry_deliveries(body.ids, company_id=company)
    )
    services.worker.notify()
    return RetryRead(retried=retried)
