"""A service's business hours (issue 15): when customers may start a chat.

Written as a company writes them on a page, one line per day or range of days, in the
service's own time zone::

    Mon-Fri 09:00-17:30
    Sat 10:00-14:00, 15:00-18:00

Days not named are closed; no hours at all means always open.  Checked on save, so a
chat start never meets hours it cannot read; an hour range may not cross midnight (write
the next day's part on its own line).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatrec.errors import InvalidRequestError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LINE = re.compile(r"^(?P<days>[a-z]{3}(?:\s*-\s*[a-z]{3})?)\s+(?P<ranges>.+)$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
MAX_MESSAGE = 500


@dataclass(frozen=True, slots=True)
class BusinessHours:
    zone: str
    week: tuple[tuple[tuple[time, time], ...], ...]
    """Per weekday, Monday first, the open ranges."""

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.zone))
        now = local.time().replace(tzinfo=None)
        return any(start <= now < end for start, end in self.week[local.weekday()])


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequestError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or UTC"
        ) from None
    return name


def _time(hours: str, minutes: str, line: int) -> time:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time.max
    if h > 23 or m > 59:
        raise InvalidRequestError(f"line {line}: {hours}:{minutes} is not a time of day")
    return time(h, m)


@functools.lru_cache(maxsize=256)
def parse_hours(text: str, zone: str) -> BusinessHours | None:
    """The hours ``text`` says, in ``zone``; ``None`` (always open) for no text.

    Cached: every chat start and every widget's first look read a service's hours, and
    what they read is frozen (a refusal is raised again, never cached)."""
    zone = _zone(zone)
    week: list[list[tuple[time, time]]] = [[] for _ in DAYS]
    lines = [(n, raw.strip().lower()) for n, raw in enumerate(text.splitlines(), start=1)]
    if not any(line for _, line in lines):
        return None
    for number, line in lines:
        if not line:
            continue
        found = _LINE.match(line)
        if found is None:
            raise InvalidRequestError(
                f"line {number}: write a day or days and hours, such as 'Mon-Fri 09:00-17:30'"
            )
        first, _, last = (part.strip() for part in found["days"].partition("-"))
        if first not in DAYS or (last and last not in DAYS):
            raise InvalidRequestError(f"line {number}: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun")
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            raise InvalidRequestError(f"line {number}: {first}-{last} runs backwards")
        for part in found["ranges"].split(","):
            hours = _RANGE.match(part.strip())
            if hours is None:
                raise InvalidRequestError(f"line {number}: hours are written 09:00-17:30")
            opens = _time(hours[1], hours[2], number)
            closes = _time(hours[3], hours[4], number)
            if closes <= opens:
                raise InvalidRequestError(
                    f"line {number}: {part.strip()} ends before it starts; a range may not "
                    "cross midnight: write the next day's part on its own line"
                )
            for day in range(start, end + 1):
                week[day].append((opens, closes))
    return BusinessHours(zone, tuple(tuple(sorted(day)) for day in week))


def check_closed_message(message: str) -> str:
    kept = message.strip()
    if len(kept) > MAX_MESSAGE:
        raise InvalidRequestError(
            f"the closed message has {len(kept)} characters; at most {MAX_MESSAGE}"
        )
    return kept
