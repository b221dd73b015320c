"""The supervisors' report over a period (issue 15): what each figure means, once.

Over the chats that *started* in the period:

- **first response**: from the chat's start to the first message of a staff member;
- **handle time**: from the first agent joining to the chat's end;
- **transfers**: ``transferred`` events, and the chats with at least one;
- **wrap-up codes**: the code each ended chat was left with (R23), or none;
- **recordings**: each decided recording's outcome and the rule that decided it (R14).

Times are summarised as count, mean, median and 90th percentile, in seconds; a chat
without the moment a time needs (never answered, not ended) is not in that time's
count.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

MAX_DAYS = 366
"""The longest period a report covers: a year, a leap one included."""


@dataclass(frozen=True, slots=True)
class ChatFacts:
    chat_id: str
    service: str
    started_at: datetime
    ended_at: datetime | None
    first_join_at: datetime | None
    first_staff_message_at: datetime | None
    transfers: int
    wrap_up: str | None

    @property
    def first_response_seconds(self) -> float | None:
        if self.first_staff_message_at is None:
            return None
        return (self.first_staff_message_at - self.started_at).total_seconds()

    @property
    def handle_seconds(self) -> float | None:
        if self.first_join_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.first_join_at).total_seconds()


def summary(values: Iterable[float]) -> dict[str, Any]:
    """Count, mean, median and 90th percentile (nearest rank), in seconds, rounded."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "mean": None, "median": None, "p90": None}

    def rank(share: float) -> float:
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]

    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {
        "count": len(ordered),
        "mean": round(sum(ordered) / len(ordered), 1),
        "median": round(median, 1),
        "p90": round(rank(0.9), 1),
    }


def build_report(
    chats: Sequence[ChatFacts], recordings: Iterable[tuple[str, str]], first: date, last: date
) -> dict[str, Any]:
    """The report's figures; ``recordings`` are each decided recording's (outcome, rule)."""
    per_day = Counter(chat.started_at.date().isoformat() for chat in chats)
    days = (last - first).days + 1
    every_day = [date.fromordinal(first.toordinal() + n).isoformat() for n in range(days)]
    ended = [chat for chat in chats if chat.ended_at is not None]
    decided = Counter(recordings)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "chats": {
            "started": len(chats),
            "ended": len(ended),
            "per_day": [{"day": day, "chats": per_day.get(day, 0)} for day in every_day],
            "per_service": dict(sorted(Counter(chat.service for chat in chats).items())),
        },
        "first_response_seconds": summary(
            t for chat in chats if (t := chat.first_response_seconds) is not None
        ),
        "handle_seconds": summary(t for chat in chats if (t := chat.handle_seconds) is not None),
        "transfers": {
            "count": sum(chat.transfers for chat in chats),
            "chats_transferred": sum(1 for chat in chats if chat.transfers),
        },
        "wrap_up_codes": dict(sorted(Counter(chat.wrap_up or "(none)" for chat in ended).items())),
        "recordings": [
            {"outcome": outcome, "rule": rule, "count": count}
            for (outcome, rule), count in sorted(decided.items())
        ],
    }


CSV_COLUMNS = (
    "chat_id",
    "service",
    "started_at",
    "ended_at",
    "first_response_seconds",
    "handle_seconds",
    "transfers",
    "wrap_up",
)


def csv_row(chat: ChatFacts) -> list[str]:
    """One chat as the CSV export has it: times ISO-8601 UTC, seconds with one decimal."""

    def seconds(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    return [
        chat.chat_id,
        chat.service,
        chat.started_at.isoformat(),
        chat.ended_at.isoformat() if chat.ended_at else "",
        seconds(chat.first_response_seconds),
        seconds(chat.handle_seconds),
        str(chat.transfers),
        chat.wrap_up or "",
    ]
