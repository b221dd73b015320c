"""Delivery (R16) and purge (R17): destinations, the outbox, retention.

The rows are written by ``outbox`` and ``retention``; here each call is one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from chatrec.store import outbox, retention
from chatrec.store.records import (
    DeliveryRecord,
    DeliveryState,
    DeliveryStats,
    DestinationRecord,
    RecordingDelivery,
)
from chatrec.store.transactions import (
    Audit,
    StorePart,
    add_audit_rows,
)


class DeliveryStore(StorePart):
    """Where recordings go, their deliveries, and the purge of old message texts."""

    def set_destination(self, destination: DestinationRecord, *, audit: Audit = ()) -> None:
        """Create or replace the company's recording platform; its deliveries go again.

        Changing a destination is how an administrator fixes a blocked one, so it is
        unblocked, and its waiting deliveries are due at once.
        """
        with self._write() as session:
            outbox.set_destination(session, destination, self._clock(), self._secrets)
            add_audit_rows(session, audit)

    def get_destination(self, company_id: str) -> DestinationRecord | None:
        """The destination, secrets decrypted; :class:`~chatrec.errors.SecretKeyError`
        if they were saved with another key."""
        with self._read() as session:
            return outbox.get_destination(session, company_id, self._secrets)

    def list_destinations(self) -> list[DestinationRecord]:
        with self._read() as session:
            return outbox.list_destinations(session, self._secrets)

    def block_destination(self, company_id: str, reason: str, now: datetime) -> int:
        """Stop the company's deliveries with ``reason`` until fixed; how many were blocked."""
        with self._write() as session:
            return outbox.block_destination(session, company_id, reason, now)

    def unblock_destination(self, company_id: str, now: datetime | None = None) -> int:
        """Let the company's deliveries go again at once; how many were waiting."""
        with self._write() as session:
            return outbox.unblock_destination(session, company_id, now or self._clock())

    def claim_deliveries(
        self, worker_id: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[DeliveryRecord]:
        """Lease due deliveries to ``worker_id``; see :func:`chatrec.store.outbox.claim`."""
        with self._read() as session:
            if not outbox.any_due(session, now):
                return []
        with self._write() as session:
            return outbox.claim(session, worker_id, now, lease_seconds, limit)

    def mark_delivered(self, ids: Sequence[int], worker_id: str, now: datetime) -> list[int]:
        """Confirm deliveries still leased to ``worker_id``; the ids confirmed."""
        with self._write() as session:
            return outbox.mark_delivered(session, ids, worker_id, now)

    def delivery_contents(self, ids: Collection[int]) -> dict[int, bytes]:
        """The bytes of deliveries a worker claimed; one whose bytes are gone is left out
        (delivered meanwhile by another worker, or lost before the bytes were kept here)."""
        with self._read() as session:
            return outbox.contents(session, ids)

    def mark_retries(
        self, worker_id: str, plan: outbox.RetryPlan, *, attempted: bool = True
    ) -> int:
        """Put deliveries leased to ``worker_id`` back to wait, each until its time with
        its reason, in one transaction; how many were still ours.  ``attempted=False``:
        none was tried (no platform), so the claim's attempt is given back."""
        with self._write() as session:
            return outbox.mark_retries(session, worker_id, plan, attempted=attempted)

    def retry_deliveries(
        self,
        ids: Sequence[int] | None,
        *,
        company_id: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Make the deliveries (``None``: all) due now and unblock their destinations."""
        with self._write() as session:
            return outbox.retry(session, ids, company_id, now or self._clock())

    def list_deliveries(
        self,
        state: DeliveryState | None = None,
        company_id: str | None = None,
        limit: int = 100,
    ) -> list[DeliveryRecord]:
        with self._read() as session:
            return outbox.list_deliveries(session, state, company_id, limit)

    def recording_deliveries(
        self,
        company_id: str,
        *,
        state: DeliveryState | None = None,
        before: int | None = None,
        limit: int | None = None,
        recording_ids: Collection[str] | None = None,
    ) -> list[RecordingDelivery]:
        """The company's recordings with their files' deliveries, newest first."""
        with self._read() as session:
            return outbox.recording_deliveries(
                session,
                company_id,
                state=state,
                before=before,
                limit=limit,
                recording_ids=recording_ids,
            )

    def get_delivery(
        self, delivery_id: int, company_id: str | None = None
    ) -> DeliveryRecord | None:
        """The delivery, or ``None`` if unknown or of another company than ``company_id``."""
        with self._read() as session:
            return outbox.get_delivery(session, delivery_id, company_id)

    def delivery_stats(self) -> DeliveryStats:
        with self._read() as session:
            return outbox.delivery_stats(session)

    def chats_due_for_purge(self, now: datetime, limit: int = 100) -> list[str]:
        with self._read() as session:
            return retention.chats_due_for_purge(session, now, limit)

    def purge_message_bodies(self, chat_id: str, now: datetime | None = None) -> int:
        """Empty an ended chat's message texts (R17); how many messages had text."""
        with self._write() as session:
            return retention.purge_message_bodies(session, chat_id, now or self._clock())

    def purge_chats(self, chat_ids: Sequence[str], now: datetime) -> int:
        """Purge several chats' message bodies in one transaction (a worker's round's worth,
        one commit instead of one each); how many messages had text.  All or none: a
        chat that cannot be purged fails the call, and the caller purges one by one."""
        with self._write() as session:
            return sum(retention.purge_chats(session, chat_ids, now).values())
