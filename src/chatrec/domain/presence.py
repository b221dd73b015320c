"""Why an agent is Away (issue 15): one of a fixed list, so that a supervisor's view and
a report can count them; chatrec's own reasons (the idle timeout, a logout) are the
presence's cause, not one of these."""

from __future__ import annotations

from enum import StrEnum


class AwayReason(StrEnum):
    BREAK = "break"
    MEAL = "meal"
    MEETING = "meeting"
    TRAINING = "training"
    AFTER_CHAT_WORK = "after_chat_work"
    OTHER = "other"


AWAY_LABELS: dict[AwayReason, str] = {
    AwayReason.BREAK: "Break",
    AwayReason.MEAL: "Meal",
    AwayReason.MEETING: "Meeting",
    AwayReason.TRAINING: "Training",
    AwayReason.AFTER_CHAT_WORK: "After-chat work",
    AwayReason.OTHER: "Other",
}
