"""The outbox over HTTP: list, show and retry the company's deliveries (R16).

For administrators and supervisors, of their own company only: another company's
delivery is "not found", never "forbidden" (R18).  Destination secrets never leave.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatrec.errors import NotFoundError, PermissionDeniedError
from chatrec.store.records import DeliveryRecord, DeliveryState, DestinationRecord, UserRecord
from chatrec.web.api import Services, Staff

router = APIRouter(prefix="/api/deliveries", tags=["deliveries"])

OVERSEERS = {"administrator", "supervisor"}


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
    ids: Annotated[list[int] | None, Field(min_length=1, max_length=1000)] = None
    all: bool = False

    @model_validator(mode="after")
    def _one_choice(self) -> Self:
        if (self.ids is None) == (not self.all):
            raise ValueError("give either ids or all: true")
        return self


class RetryRead(BaseModel):
    retried: int


def _check_overseer(user: UserRecord) -> None:
    if user.role not in OVERSEERS:
        raise PermissionDeniedError("administrators and supervisors see deliveries")


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
) -> list[DeliveryRead]:
    """The company's deliveries, newest first, optionally in one state."""
    _check_overseer(user)
    found = await asyncio.to_thread(services.store.list_deliveries, state, user.company_id, limit)
    return [delivery_read(record) for record in found]


@router.get("/{delivery_id}")
async def show_delivery(delivery_id: int, user: Staff, services: Services) -> DeliveryDetailRead:
    """One delivery with its attempts, last error, checksum and destination."""
    _check_overseer(user)
    record = await asyncio.to_thread(services.store.get_delivery, delivery_id, user.company_id)
    if record is None:
        raise NotFoundError(f"no delivery {delivery_id}")
    destination = await asyncio.to_thread(services.store.get_destination, user.company_id)
    return DeliveryDetailRead(
        **delivery_read(record).model_dump(),
        destination=None if destination is None else destination_read(destination),
    )


@router.post("/retry")
async def retry_deliveries(body: DeliveryRetry, user: Staff, services: Services) -> RetryRead:
    """Make waiting or blocked deliveries due now and unblock their destination."""
    _check_overseer(user)
    retried = await asyncio.to_thread(
        lambda: services.store.retry_deliveries(body.ids, company_id=user.company_id)
    )
    services.worker.notify()
    return RetryRead(retried=retried)
