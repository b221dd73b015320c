"""The outbox over HTTP: list, show and retry the company's deliveries (R16).

A delivery is a recording's way to the recording platform: its files (the data files
and their sidecar) inside, each with its own attempts and error; once every file is
delivered, it says when, and no longer when it is tried next.  For administrators and
supervisors of their own company, and operators of the company they name: another
company's recording is "not found", never "forbidden" (R18).  Destination secrets
never leave; and where the recordings go (the platform's host, port, user and folder)
is for those who manage the destination: supervisors see whether it is blocked and why,
with those left out of every error.

The per-file routes of the previous version (``/api/deliveries``) stay one version,
deprecated.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatrec.domain.roles import LoginRole
from chatrec.errors import NotFoundError
from chatrec.services.access import OVERSEERS, Principal, company_for
from chatrec.store.records import (
    DeliveryKind,
    DeliveryRecord,
    DeliveryState,
    DestinationRecord,
    RecordingDelivery,
)
from chatrec.web.container import Container
from chatrec.web.guard import CompanyId, GuardedRoute, Overseer, Services
from chatrec.web.paging import Cursor, Limit, Page, page_of, read_cursor

router = APIRouter(prefix="/api", route_class=GuardedRoute, tags=["deliveries"])


# A delivery id is a recording file's 32-bit key; a larger number names no delivery, and
# SQLite could not even bind it (a 500 rather than a clear 422, R19).
MAX_DELIVERY_ID = 2**31 - 1
DeliveryId = Annotated[int, Field(ge=1, le=MAX_DELIVERY_ID)]
RecordingId = Annotated[str, Field(min_length=1, max_length=64)]


class FileDeliveryRead(BaseModel):
    delivery_id: int
    kind: DeliveryKind
    remote_path: str
    size: int
    sha256: str
    state: DeliveryState
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="`null` once delivered")
    last_error: str | None
    delivered_at: datetime | None


class DeliveryRead(BaseModel):
    recording_id: str
    chat_id: str
    state: DeliveryState = Field(
        description="the most pressing of its files': blocked, delivering, pending; "
        "delivered once every file is"
    )
    attempts: int = Field(description="the most any of its files took")
    created_at: datetime
    next_attempt_at: datetime | None = Field(
        description="when a waiting file is tried next; `null` once delivered"
    )
    delivered_at: datetime | None = Field(description="when its last file was delivered")
    last_error: str | None
    files: list[FileDeliveryRead]


HIDDEN = "`null` for supervisors, who do not manage the destination"


class DestinationRead(BaseModel):
    host: str | None = Field(description=HIDDEN)
    port: int | None = Field(description=HIDDEN)
    username: str | None = Field(description=HIDDEN)
    folder: str | None = Field(description=HIDDEN)
    blocked_reason: str | None
    blocked_at: datetime | None


class DeliveryDetailRead(DeliveryRead):
    destination: DestinationRead | None


class DeliveryRetry(BaseModel):
    """Either ``recording_ids`` or ``all``: retry those, or every one not delivered."""

    model_config = ConfigDict(extra="forbid")
    recording_ids: Annotated[list[RecordingId] | None, Field(min_length=1, max_length=1000)] = None
    all: bool = False

    @model_validator(mode="after")
    def _one_choice(self) -> Self:
        if (self.recording_ids is None) == (not self.all):
            raise ValueError("give either recording_ids or all: true")
        return self


class RetryRead(BaseModel):
    retried: int = Field(description="files made due now")


def _waiting(record: DeliveryRecord) -> datetime | None:
    return None if record.state is DeliveryState.DELIVERED else record.next_attempt_at


DESTINATION_READERS = frozenset({LoginRole.ADMINISTRATOR, LoginRole.OPERATOR})
"""Who sees where recordings go, as ``services.admin.destinations`` decides who manages it."""


def _replace_name(text: str, name: str, said: str) -> str:
    # Whole names only: a host "sftp" must not change the word "sftp-server".
    return re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", said, text)


def without_destination(text: str | None, hidden: DestinationRecord | None) -> str | None:
    """An error as it reads for whoever may not see ``hidden``'s host, user and folder
    (R18): the errors of a delivery name them (``delivery.sftp.classify``).  ``None``:
    the reader may see them."""
    if text is None or hidden is None:
        return text
    text = text.replace(f"{hidden.host}:{hidden.port}", "the platform")
    text = text.replace(repr(hidden.username), "(its user)")
    text = _replace_name(text, hidden.host, "the platform")
    folder = hidden.folder.rstrip("/")
    if folder not in ("", "."):
        text = _replace_name(text, folder, "(its folder)")
    return text


async def _destination(
    principal: Principal, services: Container, company: str
) -> tuple[DestinationRecord | None, DestinationRead | None]:
    """The destination to leave out of what ``principal`` reads (``None`` if they may see it),
    and the destination as they read it (``None`` if there is none)."""
    found = await asyncio.to_thread(services.store.get_destination, company)
    if found is None:
        return None, None
    shown = principal.role in DESTINATION_READERS
    return None if shown else found, destination_read(found, shown=shown)


def file_read(record: DeliveryRecord, hidden: DestinationRecord | None = None) -> FileDeliveryRead:
    return FileDeliveryRead(
        delivery_id=record.delivery_id,
        kind=record.kind,
        remote_path=record.remote_path,
        size=record.size,
        sha256=record.sha256,
        state=record.state,
        attempts=record.attempts,
        created_at=record.created_at,
        next_attempt_at=_waiting(record),
        last_error=without_destination(record.last_error, hidden),
        delivered_at=record.delivered_at,
    )


def delivery_read(
    delivery: RecordingDelivery, hidden: DestinationRecord | None = None
) -> DeliveryRead:
    files = delivery.files
    waiting = [at for at in map(_waiting, files) if at is not None]
    delivered = delivery.state is DeliveryState.DELIVERED
    return DeliveryRead(
        recording_id=delivery.recording_id,
        chat_id=delivery.chat_id,
        state=delivery.state,
        attempts=max(f.attempts for f in files),
        created_at=min(f.created_at for f in files),
        next_attempt_at=min(waiting) if waiting else None,
        delivered_at=max(f.delivered_at for f in files if f.delivered_at) if delivered else None,
        last_error=without_destination(
            next((f.last_error for f in files if _waiting(f) and f.last_error), None), hidden
        ),
        files=[file_read(f, hidden) for f in files],
    )


def destination_read(record: DestinationRecord, *, shown: bool) -> DestinationRead:
    """The destination; without host, port, user and folder unless ``shown``."""
    hidden = None if shown else record
    return DestinationRead(
        host=record.host if shown else None,
        port=record.port if shown else None,
        username=record.username if shown else None,
        folder=record.folder if shown else None,
        blocked_reason=without_destination(record.blocked_reason, hidden),
        blocked_at=record.blocked_at,
    )


def _company(principal: Principal, company_id: str | None) -> str:
    """The overseer's own company, or the one an operator names (R18)."""
    return company_for(principal, company_id, *OVERSEERS)


@router.get("/admin/deliveries", operation_id="listDeliveries")
async def list_deliveries(
    principal: Overseer,
    services: Services,
    state: DeliveryState | None = None,
    company_id: CompanyId = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[DeliveryRead]:
    """The company's recordings on their way, newest first, a page at a time; ``state``
    keeps those in that state as a whole."""
    company = _company(principal, company_id)
    before = read_cursor(cursor, "deliveries", (int,))
    found = await asyncio.to_thread(
        lambda: services.store.recording_deliveries(
            company, state=state, before=before[0] if before else None, limit=limit + 1
        )
    )
    hidden, _ = await _destination(principal, services, company)
    return page_of(
        "deliveries",
        found,
        limit,
        lambda d: (d.newest_file_id,),
        lambda d: delivery_read(d, hidden),
    )


@router.get("/admin/deliveries/{recording_id}", operation_id="getDelivery")
async def show_delivery(
    recording_id: Annotated[str, Path(min_length=1, max_length=64)],
    principal: Overseer,
    services: Services,
    company_id: CompanyId = None,
) -> DeliveryDetailRead:
    """One recording's delivery: its files' attempts, last errors, checksums, and the
    destination they go to."""
    company = _company(principal, company_id)
    found = await asyncio.to_thread(
        lambda: services.store.recording_deliveries(company, recording_ids=[recording_id])
    )
    if not found:
        raise NotFoundError(f"no delivery of recording {recording_id!r}")
    hidden, destination = await _destination(principal, services, company)
    return DeliveryDetailRead(
        **delivery_read(found[0], hidden).model_dump(), destination=destination
    )


@router.post("/admin/deliveries/retry", operation_id="retryDeliveries")
async def retry_deliveries(
    body: DeliveryRetry, principal: Overseer, services: Services, company_id: CompanyId = None
) -> RetryRead:
    """Make the recordings' waiting or blocked files due now and unblock their destination."""
    company = _company(principal, company_id)

    def retry() -> int:
        ids = None
        if body.recording_ids is not None:
            wanted = set(body.recording_ids)
            found = services.store.recording_deliveries(company, recording_ids=wanted)
            missing = sorted(wanted - {d.recording_id for d in found})
            if missing:
                raise NotFoundError(f"no deliveries of recordings {missing}")
            ids = [f.delivery_id for d in found for f in d.files]
        return services.store.retry_deliveries(ids, company_id=company)

    retried = await asyncio.to_thread(retry)
    services.worker.notify()
    return RetryRead(retried=retried)


# -- one file at a time: the previous version's routes, deprecated --------------------------


class FileDeliveryOldRead(BaseModel):
    delivery_id: int
    recording_id: str
    chat_id: str
    kind: DeliveryKind
    state: DeliveryState
    remote_path: str
    size: int
    sha256: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


class FileDeliveryOldDetailRead(FileDeliveryOldRead):
    destination: DestinationRead | None


class FileDeliveryRetry(BaseModel):
    """Either ``ids`` or ``all``: retry those files, or every one not delivered."""

    model_config = ConfigDict(extra="forbid")
    ids: Annotated[list[DeliveryId] | None, Field(min_length=1, max_length=1000)] = None
    all: bool = False

    @model_validator(mode="after")
    def _one_choice(self) -> Self:
        if (self.ids is None) == (not self.all):
            raise ValueError("give either ids or all: true")
        return self


def file_old_read(
    record: DeliveryRecord, hidden: DestinationRecord | None = None
) -> FileDeliveryOldRead:
    return FileDeliveryOldRead(
        delivery_id=record.delivery_id,
        recording_id=record.recording_id,
        chat_id=record.chat_id,
        kind=record.kind,
        state=record.state,
        remote_path=record.remote_path,
        size=record.size,
        sha256=record.sha256,
        attempts=record.attempts,
        created_at=record.created_at,
        next_attempt_at=record.next_attempt_at,
        last_error=without_destination(record.last_error, hidden),
        delivered_at=record.delivered_at,
    )


@router.get(
    "/deliveries",
    operation_id="listFileDeliveriesDeprecated",
    deprecated=True,
    description="Replaced by `GET /api/admin/deliveries`: one item per recording, its files "
    "inside, a page at a time.",
)
async def list_file_deliveries(
    principal: Overseer,
    services: Services,
    state: DeliveryState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    company_id: CompanyId = None,
) -> list[FileDeliveryOldRead]:
    """The company's files on their way, newest first, optionally in one state."""
    company = _company(principal, company_id)
    found = await asyncio.to_thread(services.store.list_deliveries, state, company, limit)
    hidden, _ = await _destination(principal, services, company)
    return [file_old_read(record, hidden) for record in found]


@router.get(
    "/deliveries/{delivery_id}",
    operation_id="getFileDeliveryDeprecated",
    deprecated=True,
    description="Replaced by `GET /api/admin/deliveries/{recording_id}`.",
)
async def show_file_delivery(
    delivery_id: Annotated[int, Path(ge=1, le=MAX_DELIVERY_ID)],
    principal: Overseer,
    services: Services,
    company_id: CompanyId = None,
) -> FileDeliveryOldDetailRead:
    """One file's delivery with its attempts, last error, checksum and destination."""
    company = _company(principal, company_id)
    record = await asyncio.to_thread(services.store.get_delivery, delivery_id, company)
    if record is None:
        raise NotFoundError(f"no delivery {delivery_id}")
    hidden, destination = await _destination(principal, services, company)
    return FileDeliveryOldDetailRead(
        **file_old_read(record, hidden).model_dump(), destination=destination
    )


@router.post(
    "/deliveries/retry",
    operation_id="retryFileDeliveriesDeprecated",
    deprecated=True,
    description="Replaced by `POST /api/admin/deliveries/retry`, which names recordings.",
)
async def retry_file_deliveries(
    body: FileDeliveryRetry, principal: Overseer, services: Services, company_id: CompanyId = None
) -> RetryRead:
    """Make waiting or blocked files due now and unblock their destination."""
    company = _company(principal, company_id)
    retried = await asyncio.to_thread(
        lambda: services.store.retry_deliveries(body.ids, company_id=company)
    )
    services.worker.notify()
    return RetryRead(retried=retried)
