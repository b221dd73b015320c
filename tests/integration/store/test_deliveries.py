"""The outbox on SQLite and PostgreSQL: leases, ordering, blocking, retries, purge (R16, R17)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import MetaData, event, insert, text

from chatrec.domain.journal import MessagePosted
from chatrec.errors import ActionError, ConflictError, NotFoundError
from chatrec.store.database import make_engine, writing
from chatrec.store.migrations import alembic_config, migrate
from chatrec.store.records import DeliveryKind, DeliveryRecord, DeliveryState
from chatrec.store.store import Store
from tests.integration.store.factories import (
    ACME,
    destination,
    ended_chat,
    new_chat,
    produced,
    seed_two_companies,
)
from tests.keys import SECRETS
from tests.unit.domain.builders import T0

NOW = T0 + timedelta(hours=1)
LEASE = 60.0
PENDING, DELIVERING, DELIVERED, BLOCKED = (
    DeliveryState.PENDING,
    DeliveryState.DELIVERING,
    DeliveryState.DELIVERED,
    DeliveryState.BLOCKED,
)


@pytest.fixture
def outbox(database_url: str) -> Iterator[Store]:
    """A store whose clock stands at ``NOW``: files are committed (and due) at ``NOW``."""
    opened = Store(database_url, secrets=SECRETS, clock=lambda: NOW)
    seed_two_companies(opened)
    opened.update_company(replace(ACME, retention_seconds=0))
    try:
        yield opened
    finally:
        opened.close()


def end_chats(store: Store, *chats: tuple[str, int], company_id: str = "acme") -> None:
    """End each (chat id, data files) with one produced recording ``R-<chat id>``."""
    changes = [
        ended_chat(
            chat_id,
            (produced(f"R-{chat_id}", chat_id, data=data, company_id=company_id),),
            company_id=company_id,
        )
        for chat_id, data in chats
    ]
    assert store.apply(changes) == [None] * len(changes)


def ids(deliveries: list[DeliveryRecord]) -> list[int]:
    return [delivery.delivery_id for delivery in deliveries]


def states(store: Store) -> dict[int, DeliveryState]:
    return {d.delivery_id: d.state for d in store.list_deliveries(limit=1000)}


def test_R16_a_claim_leases_a_recording_to_one_worker(outbox: Store) -> None:
    end_chats(outbox, ("C1", 2))
    claimed = outbox.claim_deliveries("w1", NOW, LEASE, 10)
    assert [(d.kind, d.remote_path) for d in claimed] == [
        (DeliveryKind.DATA, "C1/R-C1.0.json"),
        (DeliveryKind.DATA, "C1/R-C1.1.json"),
        (DeliveryKind.SIDECAR, "C1/R-C1.meta.json"),
    ]
    first = claimed[0]
    assert (first.state, first.lease_owner, first.attempts) == (DELIVERING, "w1", 1)
    assert first.lease_expires_at == NOW + timedelta(seconds=LEASE)
    assert (first.chat_id, first.company_id, first.base_name) == ("C1", "acme", "C1/R-C1")
    assert outbox.claim_deliveries("w2", NOW, LEASE, 10) == []


def taken_over(store: Store) -> tuple[list[DeliveryRecord], list[DeliveryRecord], datetime]:
    """C1's files claimed by w1, then by w2 once w1's lease ran out: (w1's claim, w2's,
    when)."""
    end_chats(store, ("C1", 1))
    claimed = store.claim_deliveries("w1", NOW, LEASE, 10)
    expired = NOW + timedelta(seconds=LEASE)
    return claimed, store.claim_deliveries("w2", expired, LEASE, 10), expired


def test_R16_a_sidecar_goes_only_after_every_data_file_of_its_recording(outbox: Store) -> None:
    end_chats(outbox, ("C1", 2))
    data0 = outbox.claim_deliveries("w1", NOW, LEASE, 1)
    assert [d.kind for d in data0] == [DeliveryKind.DATA]  # the sidecar waits for data 1
    outbox.mark_delivered(ids(data0), "w1", NOW)
    rest = outbox.claim_deliveries("w1", NOW, LEASE, 1)
    assert [d.kind for d in rest] == [DeliveryKind.DATA, DeliveryKind.SIDECAR]
    data1, sidecar = rest
    later = NOW + timedelta(seconds=10)
    plan = [
        (data1.delivery_id, "connection lost", later),
        (sidecar.delivery_id, "not attempted", NOW),
    ]
    assert outbox.mark_retries("w1", plan) == 2
    assert outbox.claim_deliveries("w1", NOW, LEASE, 10) == []  # due, but its data is not
    again = outbox.claim_deliveries("w1", later, LEASE, 10)
    assert ids(again) == [data1.delivery_id, sidecar.delivery_id]
    assert [d.attempts for d in again] == [2, 2]


def test_R16_a_file_put_back_untried_keeps_no_attempt(outbox: Store) -> None:
    """No platform to send to: the worker gives the claim's attempt back."""
    end_chats(outbox, ("C1", 1))
    claimed = outbox.claim_deliveries("w1", NOW, LEASE, 10)
    assert {d.attempts for d in claimed} == {1}
    plan = [(d.delivery_id, "no platform", NOW) for d in claimed]
    assert outbox.mark_retries("w1", plan, attempted=False) == len(claimed)
    assert {d.attempts for d in outbox.claim_deliveries("w1", NOW, LEASE, 10)} == {1}


def test_R16_an_expired_lease_passes_to_another_worker(outbox: Store) -> None:
    end_chats(outbox, ("C1", 1))
    claimed = outbox.claim_deliveries("w1", NOW, LEASE, 10)
    assert outbox.claim_deliveries("w2", NOW + timedelta(seconds=LEASE - 1), LEASE, 10) == []
    expired = NOW + timedelta(seconds=LEASE)
    taken = outbox.claim_deliveries("w2", expired, LEASE, 10)
    assert ids(taken) == ids(claimed)
    assert {(d.lease_owner, d.attempts) for d in taken} == {("w2", 2)}
    assert outbox.mark_delivered(ids(claimed), "w1", expired) == []  # w1 lost its lease
    assert outbox.mark_retries("w1", [(claimed[0].delivery_id, "late", expired)]) == 0
    assert outbox.mark_delivered(ids(taken), "w2", expired) == ids(taken)
    delivered = outbox.get_delivery(taken[0].delivery_id)
    assert delivered is not None
    assert (delivered.state, delivered.delivered_at, delivered.lease_owner) == (
        DELIVERED,
        expired,
        None,
    )


def test_R16_a_failed_batch_goes_back_to_wait_each_file_with_its_time_where_still_held(
    outbox: Store,
) -> None:
    claimed, taken, expired = taken_over(outbox)
    assert ids(taken) == ids(claimed)
    end_chats(outbox, ("C2", 1))
    mine = outbox.claim_deliveries("w1", expired, LEASE, 10)  # w1 lost C1's, holds C2's
    assert len(mine) == 2
    plan = [
        (d.delivery_id, f"refused {d.delivery_id}", NOW + timedelta(minutes=i))
        for i, d in enumerate(claimed + mine)
    ]
    assert outbox.mark_retries("w1", plan) == len(mine)
    for delivery_id, reason, due in plan:
        shown = outbox.get_delivery(delivery_id)
        assert shown is not None
        if delivery_id in ids(mine):
            assert (shown.state, shown.last_error, shown.next_attempt_at, shown.lease_owner) == (
                PENDING,
                reason,
                due,
                None,
            )
        else:
            assert (shown.state, shown.lease_owner) == (DELIVERING, "w2")
    assert outbox.mark_retries("w1", []) == 0


def test_R16_a_retry_waits_visibly_until_it_is_due(outbox: Store) -> None:
    end_chats(outbox, ("C1", 1))
    data, _ = outbox.claim_deliveries("w1", NOW, LEASE, 10)
    due = NOW + timedelta(seconds=30)
    assert outbox.mark_retries("w1", [(data.delivery_id, "connection refused", due)]) == 1
    shown = outbox.get_delivery(data.delivery_id)
    assert shown is not None
    assert (shown.state, shown.attempts, shown.last_error, shown.next_attempt_at) == (
        PENDING,
        1,
        "connection refused",
        due,
    )
    assert outbox.claim_deliveries("w1", due - timedelta(seconds=1), LEASE, 10) == []
    assert data.delivery_id in ids(outbox.claim_deliveries("w1", due, LEASE, 10))


def test_R16_concurrent_claimers_never_get_the_same_file(outbox: Store) -> None:
    end_chats(outbox, *((f"C{n}", 2) for n in range(20)))
    total = 60
    claims: list[list[int]] = [[] for _ in range(4)]
    failures: list[BaseException] = []

    def work(slot: int) -> None:
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                claimed = outbox.claim_deliveries(f"w{slot}", NOW, 600, 4)
                if claimed:
                    claims[slot] += ids(claimed)
                    outbox.mark_delivered(ids(claimed), f"w{slot}", NOW)
                elif outbox.delivery_stats().counts[DELIVERED] == total:
                    return
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    every = Counter(file_id for claimed in claims for file_id in claimed)
    assert len(every) == total
    assert max(every.values()) == 1


def test_R16_a_claimer_never_waits_for_or_takes_rows_another_holds(outbox: Store) -> None:
    """PostgreSQL skips rows locked by another claimer; SQLite lets one claimer at a time."""
    end_chats(outbox, ("C1", 1), ("C2", 1))
    rows = [d.delivery_id for d in outbox.list_deliveries(limit=10)]
    held = sorted(rows)[:2]  # C1's data file and sidecar
    holder = writing(outbox.engine).connect()
    try:
        holder.begin()  # on SQLite BEGIN IMMEDIATE: the one write lock
        if outbox.engine.dialect.name == "postgresql":
            holder.execute(
                text("SELECT file_id FROM recording_files WHERE file_id IN (:a, :b) FOR UPDATE"),
                {"a": held[0], "b": held[1]},
            )
            started = time.monotonic()
            claimed = outbox.claim_deliveries("w1", NOW, LEASE, 10)
            assert time.monotonic() - started < 2
            assert sorted(ids(claimed)) == sorted(set(rows) - set(held))
            holder.rollback()
            assert sorted(ids(outbox.claim_deliveries("w2", NOW, LEASE, 10))) == held
        else:
            result: list[list[int]] = []
            claimer = threading.Thread(
                target=lambda: result.append(ids(outbox.claim_deliveries("w1", NOW, LEASE, 10)))
            )
            claimer.start()
            claimer.join(timeout=0.3)
            assert claimer.is_alive()  # waits for the other writer to finish
            holder.commit()
            claimer.join(timeout=10)
            assert sorted(result[0]) == sorted(rows)
    finally:
        holder.close()


def test_R16_an_idle_poll_does_not_wait_for_the_write_lock(outbox: Store) -> None:
    """Nothing due: a worker's poll reads, and never queues behind chats being committed."""
    end_chats(outbox, ("C1", 1))
    assert outbox.claim_deliveries("w1", NOW, LEASE, 10)  # leased: nothing due until expiry
    holder = writing(outbox.engine).connect()
    try:
        holder.begin()  # on SQLite BEGIN IMMEDIATE: the one write lock, as a commit holds it
        result: list[list[DeliveryRecord]] = []
        poll = threading.Thread(
            target=lambda: result.append(outbox.claim_deliveries("w2", NOW, LEASE, 10))
        )
        poll.start()
        poll.join(timeout=5)
        assert not poll.is_alive(), "the idle poll waited for the write lock"
        assert result == [[]]
        holder.commit()
    finally:
        holder.close()


def test_R16_a_company_without_a_platform_is_claimed_to_say_so(outbox: Store) -> None:
    end_chats(outbox, ("C1", 1))
    assert outbox.get_destination("acme") is None
    assert len(outbox.claim_deliveries("w1", NOW, LEASE, 10)) == 2


def test_R16_blocking_a_destination_holds_its_company_and_no_other(outbox: Store) -> None:
    outbox.set_destination(destination("acme"))
    outbox.set_destination(destination("globex", host="globex.example"))
    end_chats(outbox, ("C1", 1))
    end_chats(outbox, ("G1", 1), company_id="globex")
    claimed = outbox.claim_deliveries("w1", NOW, LEASE, 10)
    assert len(claimed) == 4
    reason = "the server's host key is not the pinned one"
    assert outbox.block_destination("acme", reason, NOW) == 2
    acme = outbox.list_deliveries(company_id="acme")
    assert {(d.state, d.last_error, d.lease_owner) for d in acme} == {(BLOCKED, reason, None)}
    blocked = outbox.get_destination("acme")
    assert blocked is not None
    assert (blocked.blocked_reason, blocked.blocked_at) == (reason, NOW)
    # Globex goes on; a chat of Acme ending meanwhile waits, blocked, from the start.
    globex = [d for d in claimed if d.company_id == "globex"]
    outbox.mark_retries("w1", [(delivery.delivery_id, "timeout", NOW) for delivery in globex])
    end_chats(outbox, ("C2", 1))
    assert {d.state for d in outbox.list_deliveries(company_id="acme")} == {BLOCKED}
    later = outbox.claim_deliveries("w1", NOW, LEASE, 10)
    assert {d.company_id for d in later} == {"globex"}
    assert outbox.delivery_stats().counts[BLOCKED] == 4


def test_R16_a_fixed_destination_delivers_its_blocked_files_at_once(outbox: Store) -> None:
    outbox.set_destination(destination("acme"))
    end_chats(outbox, ("C1", 1))
    later = NOW
    for fix in ("set_destination", "unblock", "retry_one", "retry_all"):
        assert len(outbox.claim_deliveries("w1", later, LEASE, 10)) == 2
        outbox.block_destination("acme", "permission denied", later)
        blocked = ids(outbox.list_deliveries(BLOCKED))
        later += timedelta(minutes=5)
        if fix == "set_destination":
            outbox.set_destination(destination("acme", folder=f"/fixed-at-{later:%H%M}"))
        elif fix == "unblock":
            assert outbox.unblock_destination("acme", later) == 2
        elif fix == "retry_one":  # the destination is unblocked: both files go
            assert outbox.retry_deliveries([min(blocked)], now=later) == 1
        else:
            assert outbox.retry_deliveries(None, company_id="acme", now=later) == 2
        fixed = outbox.get_destination("acme")
        assert fixed is not None
        assert fixed.blocked_reason is None, fix
        assert {d.state for d in outbox.list_deliveries()} == {PENDING}, fix


def test_R19_retrying_unknown_or_foreign_deliveries_changes_nothing(outbox: Store) -> None:
    end_chats(outbox, ("C1", 1))
    end_chats(outbox, ("G1", 1), company_id="globex")
    globex = ids(outbox.list_deliveries(company_id="globex"))
    before = states(outbox)
    with pytest.raises(NotFoundError, match="999"):
        outbox.retry_deliveries([globex[0], 999])
    with pytest.raises(NotFoundError):
        outbox.retry_deliveries(globex, company_id="acme")
    assert states(outbox) == before


def test_R16_a_retry_leaves_delivered_and_leased_files_alone(outbox: Store) -> None:
    end_chats(outbox, ("C1", 1))
    first = outbox.claim_deliveries("w1", NOW, LEASE, 2)  # C1's data file and sidecar
    outbox.mark_delivered(ids(first)[:1], "w1", NOW)
    end_chats(outbox, ("C2", 1))
    assert outbox.retry_deliveries(None) == 2  # C2's two files wait; nothing else moves
    assert Counter(states(outbox).values()) == {PENDING: 2, DELIVERING: 1, DELIVERED: 1}


def test_R16_stats_count_each_state_and_date_the_oldest_waiting(outbox: Store) -> None:
    empty = outbox.delivery_stats()
    assert empty.counts == dict.fromkeys(DeliveryState, 0)
    assert empty.oldest_waiting_at is None
    end_chats(outbox, ("C1", 1))
    claimed = outbox.claim_deliveries("w1", NOW, LEASE, 2)
    outbox.mark_delivered(ids(claimed)[:1], "w1", NOW)
    end_chats(outbox, ("C2", 1))
    stats = outbox.delivery_stats()
    assert stats.counts == {PENDING: 2, DELIVERING: 1, DELIVERED: 1, BLOCKED: 0}
    assert stats.oldest_waiting_at == NOW


def test_deliveries_are_listed_by_state_and_company_and_shown_within_it(outbox: Store) -> None:
    end_chats(outbox, ("C1", 1))
    end_chats(outbox, ("G1", 1), company_id="globex")
    everything = outbox.list_deliveries()
    assert ids(everything) == sorted(ids(everything), reverse=True)
    assert {d.company_id for d in outbox.list_deliveries(company_id="globex")} == {"globex"}
    assert outbox.list_deliveries(DELIVERED) == []
    assert len(outbox.list_deliveries(limit=1)) == 1
    foreign = everything[0]
    assert outbox.get_delivery(foreign.delivery_id) == foreign
    assert outbox.get_delivery(foreign.delivery_id, company_id="acme") is None
    assert outbox.get_delivery(999) is None


def test_R16_a_destination_round_trips_without_showing_its_secret(outbox: Store) -> None:
    record = destination("acme", password="s3cret", private_key=None, timeout_seconds=7.5)
    outbox.set_destination(record)
    stored = outbox.get_destination("acme")
    assert stored == replace(record, updated_at=NOW)
    assert "s3cret" not in repr(stored)
    assert outbox.list_destinations() == [stored]
    assert outbox.get_destination("globex") is None


def test_R19_a_destination_without_one_secret_or_company_is_refused(outbox: Store) -> None:
    for changes, error in [
        ({"company_id": "nobody"}, NotFoundError),
        ({"password": "both", "private_key": "set"}, ActionError),
        ({"password": None, "private_key": None}, ActionError),
    ]:
        with pytest.raises(error):
            outbox.set_destination(destination(**changes))
    assert outbox.list_destinations() == []


def test_R16_blocking_a_missing_destination_is_refused(outbox: Store) -> None:
    with pytest.raises(NotFoundError):
        outbox.block_destination("acme", "no", NOW)
    with pytest.raises(NotFoundError):
        outbox.unblock_destination("acme")


# -- the bytes ----------------------------------------------------------------------------


def held_bytes(store: Store, chat_id: str) -> dict[str, bytes | None]:
    return {
        file.path: file.content
        for recording in store.get_recordings(chat_id, with_bytes=True)
        for file in recording.files
    }


def test_R16_R20_a_files_bytes_are_in_the_database_until_it_is_delivered(outbox: Store) -> None:
    end_chats(outbox, ("C1", 2))
    expected = {f.path: f.content for f in produced("R-C1", "C1", data=2).files}
    assert held_bytes(outbox, "C1") == expected
    [data0, *_] = claimed = outbox.claim_deliveries("w1", NOW, LEASE, 10)
    contents = outbox.delivery_contents(ids(claimed))
    assert {d.remote_path: contents[d.delivery_id] for d in claimed} == expected
    assert outbox.mark_delivered([data0.delivery_id], "w1", NOW) == [data0.delivery_id]
    assert data0.delivery_id not in outbox.delivery_contents(ids(claimed))
    assert held_bytes(outbox, "C1") == {**expected, data0.remote_path: None}
    assert outbox.mark_delivered(ids(claimed), "w1", NOW) == ids(claimed)[1:]
    assert outbox.delivery_contents(ids(claimed)) == {}
    assert held_bytes(outbox, "C1") == dict.fromkeys(expected)


def test_R16_a_delivery_another_worker_took_keeps_its_bytes_for_that_worker(
    outbox: Store,
) -> None:
    claimed, taken, expired = taken_over(outbox)
    assert outbox.mark_delivered(ids(claimed), "w1", expired) == []  # not w1's any more
    assert set(outbox.delivery_contents(ids(taken))) == set(ids(taken))


def test_R16_listing_deliveries_or_explaining_a_chat_never_reads_their_bytes(outbox: Store) -> None:
    end_chats(outbox, ("C1", 2))
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(outbox.engine, "before_cursor_execute", record)
    try:
        [first, *_] = outbox.list_deliveries(limit=10)
        outbox.recording_deliveries("acme")
        outbox.get_delivery(first.delivery_id)
        outbox.delivery_stats()
        outbox.claim_deliveries("w1", NOW, LEASE, 10)
        [recording] = outbox.get_recordings("C1")  # as an explanation reads it (R14)
    finally:
        event.remove(outbox.engine, "before_cursor_execute", record)
    assert statements
    assert [s for s in statements if "content" in s] == []
    assert {file.content for file in recording.files} == {None}  # names, not bytes


# -- R17 -----------------------------------------------------------------------------------


def texts(store: Store, chat_id: str) -> list[str]:
    return [e.text for _, e in store.load_journal(chat_id) if isinstance(e, MessagePosted)]


def deliver_everything(store: Store) -> None:
    while claimed := store.claim_deliveries("w1", NOW, LEASE, 100):
        store.mark_delivered(ids(claimed), "w1", NOW)


def test_R17_bodies_are_purged_once_every_recording_is_delivered(outbox: Store) -> None:
    end_chats(outbox, ("C1", 1))
    assert outbox.chats_due_for_purge(NOW) == []
    deliver_everything(outbox)
    assert outbox.chats_due_for_purge(NOW) == ["C1"]
    assert texts(outbox, "C1") == ["my card is 4111", "ok"]
    assert outbox.purge_message_bodies("C1", NOW) == 2
    assert texts(outbox, "C1") == ["", ""]
    assert set(held_bytes(outbox, "C1").values()) == {None}
    chat = outbox.get_chat("C1")
    assert chat is not None
    assert chat.purged_at == NOW
    assert outbox.chats_due_for_purge(NOW) == []
    assert outbox.purge_message_bodies("C1", NOW) == 0
    audit = outbox.list_audit("acme", "C1")
    assert [entry.action for entry in audit] == ["message_bodies_purged"]
    assert "4111" not in repr(audit)


def test_R17_a_purge_empties_the_bytes_of_the_chats_files_too(outbox: Store) -> None:
    end_chats(outbox, ("C1", 1), ("C2", 1))
    outbox.purge_message_bodies("C1", NOW)
    assert set(held_bytes(outbox, "C1").values()) == {None}
    assert None not in held_bytes(outbox, "C2").values()


def test_R17_a_worker_purges_a_round_of_chats_at_once_all_or_none(outbox: Store) -> None:
    end_chats(outbox, ("C1", 1), ("C2", 1))
    assert outbox.apply([new_chat("C3")]) == [None]
    deliver_everything(outbox)
    with pytest.raises(ConflictError):
        outbox.purge_chats(["C1", "C3"], NOW)  # C3 is open: nothing is purged
    assert texts(outbox, "C1") == ["my card is 4111", "ok"]
    assert outbox.purge_chats(["C1", "C2"], NOW) == 4
    for chat_id in ("C1", "C2"):
        assert texts(outbox, chat_id) == ["", ""]
        assert set(held_bytes(outbox, chat_id).values()) == {None}
        audit = outbox.list_audit("acme", chat_id)
        assert [(entry.action, entry.detail) for entry in audit] == [
            ("message_bodies_purged", {"messages": 2})
        ]
    assert outbox.chats_due_for_purge(NOW) == []
    assert texts(outbox, "C3") == ["Hello"]


def test_R17_a_chat_without_produced_recordings_is_purged_at_once(outbox: Store) -> None:
    assert outbox.apply([ended_chat("C1")]) == [None]
    assert outbox.chats_due_for_purge(NOW) == ["C1"]


def test_R17_the_company_retention_delays_the_purge(outbox: Store) -> None:
    assert outbox.apply([ended_chat("G1", company_id="globex")]) == [None]  # retention 1 h
    chat = outbox.get_chat("G1")
    assert chat is not None
    assert chat.ended_at is not None
    ended: datetime = chat.ended_at
    assert outbox.chats_due_for_purge(ended + timedelta(minutes=59)) == []
    assert outbox.chats_due_for_purge(ended + timedelta(hours=1)) == ["G1"]


def test_R17_chats_due_are_found_across_companies_and_retentions_up_to_the_limit(
    outbox: Store,
) -> None:
    """Read per retention period, not per company (a purge look follows every delivery
    round): each company's own period still decides, and the limit holds across them."""
    changes = [ended_chat("C1"), ended_chat("G1", company_id="globex"), ended_chat("C2")]
    assert outbox.apply(changes) == [None, None, None]
    assert outbox.chats_due_for_purge(NOW) == ["C1", "C2"]  # globex keeps its hour
    later = NOW + timedelta(hours=2)
    assert outbox.chats_due_for_purge(later) == ["C1", "C2", "G1"]
    assert outbox.chats_due_for_purge(later, limit=2) == ["C1", "C2"]


def test_R17_an_open_chat_is_never_purged(outbox: Store) -> None:
    assert outbox.apply([new_chat("C1")]) == [None]
    assert outbox.chats_due_for_purge(NOW + timedelta(days=1)) == []
    with pytest.raises(ConflictError):
        outbox.purge_message_bodies("C1", NOW)
    with pytest.raises(NotFoundError):
        outbox.purge_message_bodies("nobody", NOW)
    assert texts(outbox, "C1") == ["Hello"]


def test_R17_a_live_change_never_clears_the_purge_stamp(outbox: Store) -> None:
    assert outbox.apply([ended_chat("C1")]) == [None]
    outbox.purge_message_bodies("C1", NOW)
    chat = outbox.get_chat("C1")
    assert chat is not None
    assert outbox.apply([replace(ended_chat("C1"), new_chat=False, events=())]) == [None]
    again = outbox.get_chat("C1")
    assert again is not None
    assert again.purged_at == NOW


def test_R16_files_spooled_before_the_outbox_existed_are_due_after_the_upgrade(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    config = alembic_config()
    try:
        with writing(engine).begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        tables = MetaData()
        tables.reflect(engine)
        rows: list[tuple[str, dict[str, object]]] = [
            ("companies", {"company_id": "acme", "name": "Acme", "products": [],
                           "default_template": "{chat_id}", "formats": ["json"],
                           "done_marker": False, "sampling_key": b"k",
                           "retention_seconds": 0}),
            ("services", {"service_id": "s", "company_id": "acme", "name": "S"}),
            ("chats", {"chat_id": "C1", "company_id": "acme", "service_id": "s",
                       "token_hash": "t", "status": "ended", "started_at": T0,
                       "last_activity_at": T0, "last_seq": 0}),
            ("recordings", {"recording_id": "R1", "chat_id": "C1", "company_id": "acme",
                            "origin": "agent", "reason": "r", "outcome": "produced",
                            "rule": "R5a", "explanation": "e", "base_name": "b",
                            "base_name_key": "b"}),
            ("recording_files", {"recording_id": "R1", "path": "b.json", "format": "json",
                                 "media_type": "application/json", "size": 1, "sha256": "0",
                                 "spool_path": "/spool/b.json", "created_at": T0}),
        ]  # fmt: skip
        with engine.begin() as connection:
            for table, values in rows:
                connection.execute(insert(tables.tables[table]).values(values))
    finally:
        engine.dispose()
    migrate(database_url)
    store = Store(database_url, secrets=SECRETS)
    try:
        [waiting] = store.claim_deliveries("w1", NOW, LEASE, 10)
        assert (waiting.remote_path, waiting.next_attempt_at, waiting.attempts) == ("b.json", T0, 1)
    finally:
        store.close()


def test_R16_R20_the_upgrade_moves_waiting_spool_files_into_the_database(
    outbox: Store, database_url: str, tmp_path: Path
) -> None:
    end_chats(outbox, ("C1", 2))
    [data0, data1, sidecar] = outbox.list_deliveries(limit=10)[::-1]
    spool = tmp_path / "spool"  # what an older chatrec wrote: data1's file is gone
    spool.mkdir()
    (spool / "0.json").write_bytes(b'{"a": 1}')
    (spool / "meta.json").write_bytes(b"{}")
    config = alembic_config()
    files = text("UPDATE recording_files SET content = NULL")
    delivered = text("UPDATE recording_files SET state = 'delivered' WHERE file_id = :id")
    named = text("UPDATE recording_files SET spool_path = :path WHERE file_id = :id")
    with writing(outbox.engine).begin() as connection:
        connection.execute(files)
        connection.execute(delivered, {"id": sidecar.delivery_id})
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
        for file, name in ((data0, "0.json"), (data1, "1.json"), (sidecar, "meta.json")):
            connection.execute(named, {"path": str(spool / name), "id": file.delivery_id})
    migrate(database_url)
    assert held_bytes(outbox, "C1") == {
        data0.remote_path: b'{"a": 1}',
        data1.remote_path: None,  # the worker says so on its delivery
        sidecar.remote_path: None,  # delivered: its bytes are on the platform
    }
    with writing(outbox.engine).begin() as connection:
        config.attributes["connection"] = connection
        with pytest.raises(RuntimeError, match="1 recording files are not delivered yet"):
            command.downgrade(config, "0009")
