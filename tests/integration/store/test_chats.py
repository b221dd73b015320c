"""Chats and their journals survive the store: restarts resume from it (R8, R14, R19)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import make_url
from sqlalchemy.exc import StatementError

from chatrec.domain.codec import EVENT_TYPES
from chatrec.errors import DuplicateError, NotFoundError
from chatrec.store.database import make_engine
from chatrec.store.records import ChatChange, ChatStatus
from chatrec.store.store import Store
from tests.integration.store.factories import (
    FLOW_SOURCE,
    GENERAL,
    chat_of,
    new_chat,
    next_message,
    numbered,
    seed,
)
from tests.keys import SECRETS
from tests.unit.domain.builders import T0, ChatBuilder, agent, supervisor

BOB, ANN, SUE = agent("bob"), agent("ann"), supervisor("sue")


def every_kind_of_event() -> ChatBuilder:
    return (
        ChatBuilder("C1")
        .customer_says("Hi, my card number is…")
        .consent(granted=False)
        .discard()
        .flow_records("step-1", "quality", "{chat_id}/{reason}")
        .assign(BOB, percentage=40)
        .notes(BOB, "Asked for the invoice number")
        .attaches(BOB, "A1", "invoice.pdf", b"%PDF-1.7 invoice")
        .wraps_up(BOB, "Billing")
        .pause(BOB)
        .customer_says("4111 1111")
        .resume(BOB)
        .transfer(BOB, ANN, permit=False)
        .supervisor_joins(SUE)
        .customer_asks_deletion()
        .press_delete(ANN)
        .flag_abusive(SUE)
        .transfer_to_queue(ANN, "General")
        .leaves(SUE)
        .end()
    )


def test_R14_every_kind_of_event_round_trips_in_order(store: Store) -> None:
    seed(store)
    builder = every_kind_of_event()
    assert {type(event) for event in builder.events} == set(EVENT_TYPES)
    change = ChatChange(chat=chat_of(builder), events=numbered(builder.events), new_chat=True)
    assert store.apply([change]) == [None]
    assert store.load_journal("C1") == list(numbered(builder.events))


def test_a_reconnect_loads_only_the_events_after_its_last(store: Store) -> None:
    seed(store)
    first = new_chat("C1")
    second = next_message(first, "second")
    third = next_message(second, "third")
    assert store.apply([first, second, third]) == [None, None, None]
    assert [seq for seq, _ in store.load_journal("C1", after_seq=2)] == [3, 4]
    assert store.load_journal("C1", after_seq=4) == []
    assert store.load_journal("nobody") == []


def test_the_chat_row_round_trips_and_is_updated(store: Store) -> None:
    seed(store)
    flow = store.save_flow("acme", "welcome", "Welcome", FLOW_SOURCE)
    start = new_chat("C1")
    chat = replace(
        start.chat, flow_id=flow.flow_id, flow_version=flow.version, status=ChatStatus.FLOW
    )
    store.apply([replace(start, chat=chat)])
    assert store.get_chat("C1") == chat
    follow = next_message(replace(start, chat=chat))
    queued = replace(
        follow.chat,
        status=ChatStatus.QUEUED,
        queue_id=GENERAL.queue_id,
        flow_state={"step": "route", "answers": {"consent": False}, "visits": [1, 2]},
        ended_at=T0 + timedelta(minutes=5),
    )
    assert store.apply([replace(follow, chat=queued)]) == [None]
    assert store.get_chat("C1") == queued
    assert store.find_chat_by_token(chat.token_hash) == queued
    assert store.find_chat_by_token("unknown") is None
    assert store.get_chat("C2") is None


def test_datetimes_come_back_timezone_aware_utc(store: Store) -> None:
    seed(store)
    tokyo = timezone(timedelta(hours=9))
    change = new_chat("C1")
    local = replace(change.chat, started_at=datetime(2026, 11, 27, 19, 0, tzinfo=tokyo))
    store.apply([replace(change, chat=local)])
    stored = store.get_chat("C1")
    assert stored is not None
    assert stored.started_at == T0
    assert stored.started_at.tzinfo == UTC
    assert stored.last_activity_at.tzinfo == UTC
    [(_, started), *_] = store.load_journal("C1")
    assert started.at == T0
    assert started.at.tzinfo == UTC


def test_postgresql_sessions_in_another_time_zone_still_read_utc(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return  # SQLite has no session time zone
    options = f"{url.query.get('options', '')} -ctimezone=Pacific/Auckland".strip()
    engine = make_engine(database_url, connect_args={"options": options})
    store = Store(engine, secrets=SECRETS)
    try:
        seed(store)
        store.apply([new_chat("C1")])
        stored = store.get_chat("C1")
        assert stored is not None
        assert stored.started_at == T0
        assert stored.started_at.tzinfo == UTC
    finally:
        store.close()


def test_a_naive_datetime_is_refused_and_nothing_of_its_change_is_stored(store: Store) -> None:
    seed(store)
    change = new_chat("C1")
    naive = replace(change, chat=replace(change.chat, started_at=datetime(2026, 11, 27, 10)))
    [outcome] = store.apply([naive])
    assert isinstance(outcome, StatementError)
    assert "naive datetime" in str(outcome)
    assert store.get_chat("C1") is None


def test_changing_an_unknown_chat_is_refused(store: Store) -> None:
    seed(store)
    [outcome] = store.apply([next_message(new_chat("C9"))])
    assert isinstance(outcome, NotFoundError)
    assert store.load_journal("C9") == []


def test_a_chat_is_started_once(store: Store) -> None:
    seed(store)
    assert store.apply([new_chat("C1")]) == [None]
    [again] = store.apply([new_chat("C1")])
    assert isinstance(again, DuplicateError)
    other_with_same_token = new_chat("C2")
    clash = replace(
        other_with_same_token,
        chat=replace(other_with_same_token.chat, token_hash="token-of-C1"),
    )
    [stolen] = store.apply([clash])
    assert isinstance(stolen, DuplicateError)
    assert "token" in str(stolen)


def test_open_chats_are_those_not_ended_oldest_first(store: Store) -> None:
    seed(store)
    changes = [new_chat(f"C{n}", start=T0 + timedelta(minutes=n)) for n in range(4)]
    statuses = [ChatStatus.ENDED, ChatStatus.FLOW, ChatStatus.QUEUED, ChatStatus.ACTIVE]
    store.apply(
        [
            replace(change, chat=replace(change.chat, status=status))
            for change, status in zip(changes, statuses, strict=True)
        ]
    )
    assert [chat.chat_id for chat in store.open_chats()] == ["C1", "C2", "C3"]


def test_chats_are_listed_newest_first_by_status_and_limit(store: Store) -> None:
    seed(store)
    changes = [new_chat(f"C{n}", start=T0 + timedelta(minutes=n)) for n in range(4)]
    ended = {"C0", "C2"}
    store.apply(
        [
            replace(
                change,
                chat=replace(
                    change.chat,
                    status=ChatStatus.ENDED if change.chat.chat_id in ended else ChatStatus.FLOW,
                ),
            )
            for change in changes
        ]
    )
    listed = [chat.chat_id for chat in store.list_chats("acme")]
    assert listed == ["C3", "C2", "C1", "C0"]
    assert [c.chat_id for c in store.list_chats("acme", [ChatStatus.ENDED])] == ["C2", "C0"]
    assert [c.chat_id for c in store.list_chats("acme", limit=2)] == ["C3", "C2"]
    assert store.list_chats("globex") == []
