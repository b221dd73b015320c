"""Journal events survive the store and the wire unchanged (R8 pause state, R14 replay)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from chatrec.domain.codec import EVENT_TYPES, decode_event, encode_event, type_name
from chatrec.domain.journal import Journal
from chatrec.errors import JournalError
from tests.unit.domain.strategies import journals


@given(journals())
def test_R14_every_event_round_trips_through_json(journal: Journal) -> None:
    for event in journal.events:
        encoded = json.loads(json.dumps(encode_event(event)))
        assert decode_event(encoded) == event


def test_every_event_type_has_a_distinct_name() -> None:
    names = [type_name(kind) for kind in EVENT_TYPES]
    assert len(set(names)) == len(names)
    assert "agent_assigned" in names


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "start_recording"}, "unknown event type 'start_recording'"),
        ({}, "unknown event type None"),
        (
            {"type": "discarded", "at": "2026-01-01T00:00:00+00:00", "extra": 1},
            r"unknown fields \['extra'\]",
        ),
        ({"type": "discarded", "at": "yesterday"}, "malformed discarded event"),
        ({"type": "discarded", "at": "2026-01-01T00:00:00+00:00"}, "malformed discarded"),
        (
            {
                "type": "discarded",
                "at": "2026-01-01T00:00:00+00:00",
                "actor": {"role": "robot", "name": "x"},
            },
            "malformed discarded event",
        ),
    ],
)
def test_R19_malformed_events_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(JournalError, match=message):
        decode_event(data)
