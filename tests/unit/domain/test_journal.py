"""The journal's shape, which every rule relies on (R14, R15a: UTC times, order)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chatrec.domain.journal import (
    CUSTOMER,
    FLOW,
    ChatEnded,
    ChatStarted,
    Journal,
    MessagePosted,
    StaffSnapshot,
    Transferred,
)
from chatrec.errors import JournalError
from tests.unit.domain.builders import T0, ChatBuilder, agent

START = ChatStarted(at=T0, actor=CUSTOMER, chat_id="C1", company_id="acme", service="Support")


def test_R15a_naive_and_non_utc_times_are_refused() -> None:
    with pytest.raises(JournalError, match="timezone-aware UTC"):
        MessagePosted(at=datetime(2026, 1, 1, 10, 0), actor=CUSTOMER, text="hi")
    paris = timezone(timedelta(hours=1))
    with pytest.raises(JournalError, match="timezone-aware UTC"):
        MessagePosted(at=datetime(2026, 1, 1, 10, 0, tzinfo=paris), actor=CUSTOMER, text="hi")


def test_a_journal_starts_with_chat_started() -> None:
    with pytest.raises(JournalError, match="starts with ChatStarted"):
        Journal.of([MessagePosted(at=T0, actor=CUSTOMER, text="hi")])
    with pytest.raises(JournalError, match="starts with ChatStarted"):
        Journal.of([])


def test_events_never_go_back_in_time() -> None:
    earlier = MessagePosted(at=T0 - timedelta(seconds=1), actor=CUSTOMER, text="hi")
    with pytest.raises(JournalError, match="earlier than the ChatStarted"):
        Journal.of([START, earlier])


def test_nothing_follows_the_end() -> None:
    end = ChatEnded(at=T0, actor=CUSTOMER)
    with pytest.raises(JournalError, match="MessagePosted follows ChatEnded"):
        Journal.of([START, end, MessagePosted(at=T0, actor=CUSTOMER, text="late")])


def test_a_journal_extended_checks_what_it_adds_as_a_whole_journal_would() -> None:
    said = MessagePosted(at=T0 + timedelta(seconds=2), actor=CUSTOMER, text="hi")
    journal = Journal((START,))
    assert journal.extended([said]) == Journal((START, said))
    with pytest.raises(JournalError, match="earlier than the MessagePosted before it"):
        journal.extended([said, MessagePosted(at=T0, actor=CUSTOMER, text="back")])
    ended = journal.extended([ChatEnded(at=T0, actor=CUSTOMER, reason="done")])
    with pytest.raises(JournalError, match="MessagePosted follows ChatEnded"):
        ended.extended([said])


def test_journal_accessors() -> None:
    open_chat = ChatBuilder().customer_says("hi").journal()
    assert open_chat.chat_id == "C1"
    assert open_chat.ended is None
    ended = ChatBuilder().customer_says("hi").end("timeout").journal()
    assert ended.ended is not None
    assert ended.ended.reason == "timeout"
    assert [m.text for m in ended.of_type(MessagePosted)] == ["hi"]


@pytest.mark.parametrize(
    "target",
    [{}, {"to_agent": agent("bob"), "to_queue": "Sales"}],
    ids=["neither", "both"],
)
def test_a_transfer_goes_to_exactly_one_target(target: dict[str, object]) -> None:
    with pytest.raises(JournalError, match="exactly one agent or one queue"):
        Transferred(at=T0, actor=agent("alice"), **target)  # type: ignore[arg-type]


@pytest.mark.parametrize("percentage", [-1, 101])
def test_R7_snapshot_refuses_a_percentage_outside_0_to_100(percentage: int) -> None:
    with pytest.raises(JournalError, match="0-100"):
        StaffSnapshot(record_percentage=percentage)


def test_actor_staff_roles() -> None:
    assert agent("alice").is_staff
    assert not CUSTOMER.is_staff
    assert not FLOW.is_staff
    assert T0.tzinfo is UTC
