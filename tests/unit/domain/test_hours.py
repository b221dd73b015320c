"""A service's business hours (domain/hours.py; issue 15): read as written, checked on
save, open or closed at a moment in the service's own zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatrec.domain.hours import check_closed_message, parse_hours
from chatrec.errors import InvalidRequestError

WEEK = "Mon-Fri 09:00-17:30\n\n  Sat 10:00-12:00, 13:00-14:00  \n"  # blank lines are skipped


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (datetime(2026, 12, 4, 8, 59, tzinfo=UTC), True),  # Friday 09:59 in Berlin
        (datetime(2026, 12, 4, 7, 59, tzinfo=UTC), False),  # Friday 08:59 in Berlin
        (datetime(2026, 12, 4, 16, 30, tzinfo=UTC), False),  # 17:30: closed from then
        (datetime(2026, 12, 5, 11, 30, tzinfo=UTC), False),  # Saturday 12:30: lunch
        (datetime(2026, 12, 5, 12, 30, tzinfo=UTC), True),  # Saturday 13:30
        (datetime(2026, 12, 6, 12, 0, tzinfo=UTC), False),  # Sunday: not named, closed
        (datetime(2026, 7, 3, 7, 30, tzinfo=UTC), True),  # summer time: 09:30 in Berlin
    ],
)
def test_open_or_closed_in_the_services_own_zone(at: datetime, open_: bool) -> None:
    hours = parse_hours(WEEK, "Europe/Berlin")
    assert hours is not None
    assert hours.is_open(at) is open_


def test_no_hours_is_always_open_and_24_00_ends_a_day() -> None:
    assert parse_hours("  \n", "UTC") is None
    late = parse_hours("sun 20:00-24:00", "UTC")
    assert late is not None
    assert late.is_open(datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "zone", "message"),
    [
        ("Mon-Fri 09:00-17:30", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("Weekdays 09:00-17:00", "UTC", "line 1: write a day or days and hours"),
        ("Mon-Fry 09:00-17:00", "UTC", "line 1: days are Mon, Tue"),
        ("Fri-Mon 09:00-17:00", "UTC", "line 1: fri-mon runs backwards"),
        ("Mon 9-17", "UTC", "line 1: hours are written 09:00-17:30"),
        ("Mon 09:00-17:00\nTue 22:00-02:00", "UTC", "line 2: 22:00-02:00 ends before it starts"),
        ("Mon 25:00-26:00", "UTC", "line 1: 25:00 is not a time of day"),
    ],
)
def test_R19_hours_that_cannot_be_read_are_refused_with_what_to_change(
    text: str, zone: str, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_hours(text, zone)


def test_the_closed_message_is_kept_trimmed_and_bounded() -> None:
    assert check_closed_message("  Back at 9.  ") == "Back at 9."
    with pytest.raises(InvalidRequestError, match="at most 500"):
        check_closed_message("x" * 501)
