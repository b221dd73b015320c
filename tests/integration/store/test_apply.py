"""One batch, many chats: each change commits whole or not at all (R6, R14, R19)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from chatrec.errors import ActionError, BaseNameTakenError, SequenceClashError
from chatrec.store.models import RecordingRow
from chatrec.store.records import AuditRecord, ChatChange, ChatStatus, RecordingRecord
from chatrec.store.store import Store
from tests.integration.store.factories import BOB, new_chat, next_message, recording, seed
from tests.integration.store.plans import gather_statistics, index_looks_up, statements_of


def ending(change: ChatChange, *recordings_of_chat: RecordingRecord) -> ChatChange:
    """``change`` turned into the chat's end: recordings and a decision audit line."""
    follow = next_message(change, "bye")
    chat = replace(follow.chat, status=ChatStatus.ENDED, ended_at=follow.chat.last_activity_at)
    audit = AuditRecord(
        company_id="acme",
        at=chat.last_activity_at,
        actor="system",
        action="recording_decision",
        chat_id=chat.chat_id,
        detail={"explanation": ["R5a: agent bob recorded"]},
    )
    return replace(
        follow,
        chat=chat,
        recordings=recordings_of_chat,
        audit=(audit,),
    )


def test_recordings_round_trip_with_their_files(store: Store) -> None:
    seed(store)
    start = new_chat("C1")
    produced = recording("C1-agent-bob", "C1", "2026-11-27/acme_C1_agent", files=3)
    suppressed = recording("C1-flow-1", "C1", None)
    store.apply([start, ending(start, produced, suppressed)])
    assert store.get_recordings("C1", with_bytes=True) == [produced, suppressed]
    assert store.get_recordings("C2") == []


def test_R14_one_bad_change_is_rolled_back_alone_with_its_events_recordings_and_audit(
    store: Store,
) -> None:
    seed(store)
    started = [new_chat(f"C{n}") for n in range(3)]
    store.apply(started)
    racer = next_message(started[1], "already here")  # another writer takes C1's number 3
    store.apply([racer])
    batch = [
        ending(started[0], recording("R0", "C0", "base-0")),
        ending(started[1], recording("R1", "C1", "base-1")),
        ending(started[2], recording("R2", "C2", "base-2")),
    ]
    outcomes = store.apply(batch)
    assert outcomes[0] is None
    assert isinstance(outcomes[1], SequenceClashError)
    assert outcomes[1].seqs == (3,)
    assert outcomes[2] is None
    for chat_id in ("C0", "C2"):
        chat = store.get_chat(chat_id)
        assert chat is not None
        assert chat.status is ChatStatus.ENDED
        assert len(store.load_journal(chat_id)) == 3
        assert len(store.list_audit("acme", chat_id)) == 1
    assert store.get_chat("C1") == racer.chat  # the row is as before the batch
    assert [text for _, e in store.load_journal("C1") if (text := getattr(e, "text", None))] == [
        "Hello",
        "already here",
    ]
    assert store.get_recordings("C1") == []
    assert store.list_audit("acme", "C1") == []
    assert store.taken_base_names("acme", ["base-1"]) == set()


def test_R6_a_base_name_is_used_once_per_company_whatever_its_case(store: Store) -> None:
    seed(store)
    first, second, third = (new_chat(f"C{n}") for n in range(3))
    store.apply([first, second, third])
    store.apply([ending(first, recording("R1", "C1", "2026/Acme_Chat"))])
    outcomes = store.apply(
        [
            ending(second, recording("R2", "C2", "2026/acme_chat")),
            ending(third, recording("R3", "C3", "2026/other"), recording("R4", "C3", "2026/OTHER")),
        ]
    )
    assert isinstance(outcomes[0], BaseNameTakenError)
    assert outcomes[0].names == ("2026/acme_chat",)
    assert isinstance(outcomes[1], BaseNameTakenError)
    assert store.get_recordings("C2") == []
    assert store.get_recordings("C3") == []


def test_R6_two_changes_of_one_batch_cannot_take_the_same_base_name(store: Store) -> None:
    seed(store)
    first, second = new_chat("C1"), new_chat("C2")
    store.apply([first, second])
    outcomes = store.apply(
        [
            ending(first, recording("R1", "C1", "same")),
            ending(second, recording("R2", "C2", "SAME")),
        ]
    )
    assert outcomes[0] is None
    assert isinstance(outcomes[1], BaseNameTakenError)


def test_R6_the_database_itself_refuses_a_base_name_twice(store: Store) -> None:
    seed(store)
    store.apply([new_chat("C1")])
    row = {
        "chat_id": "C1",
        "company_id": "acme",
        "origin": "agent",
        "reason": "r",
        "outcome": "produced",
        "rule": "R5a",
        "explanation": "",
        "base_name": "Name",
        "base_name_key": "name",
    }
    with store.engine.begin() as connection:
        connection.execute(insert(RecordingRow), [{**row, "recording_id": "R1"}])
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(insert(RecordingRow), [{**row, "recording_id": "R2"}])


def test_an_event_number_given_twice_in_one_change_is_refused(store: Store) -> None:
    seed(store)
    start = new_chat("C1")
    doubled = replace(start, events=(*start.events, start.events[-1]))
    [outcome] = store.apply([doubled])
    assert isinstance(outcome, SequenceClashError)
    assert store.get_chat("C1") is None


SUFFIXED = {"2026/Acme_C1", "2026/acme_c1-1a2b3c4d", "2026/ACME_C1-1a2b3c4d-2"}


@pytest.mark.parametrize(
    ("candidates", "taken"),
    [
        ([], set()),
        (["2026/acme_c1"], SUFFIXED),
        (["2026/ACME_C1"], SUFFIXED),
        (["2026/acme_c"], set()),  # a prefix is not a clash
        (["2026/acme%"], set()),  # nor a LIKE wildcard
        (["2026/acme_c1_"], {"2026/acme_c1_-"}),
        (["2026/acme_c1_x", "2026/nothing"], {"2026/acme_c1_x"}),
    ],
)
def test_R6_taken_base_names_are_the_equal_and_suffixed_ones(
    store: Store, candidates: list[str], taken: set[str]
) -> None:
    seed(store)
    start = new_chat("C1")
    store.apply([start])
    names = [*SUFFIXED, "2026/acme_c1_x", "2026/acme_c1_-", "2026/acme_c1x", "2026/acmexc1-9"]
    store.apply(
        [
            ChatChange(
                chat=start.chat,
                recordings=tuple(recording(f"R{n}", "C1", name) for n, name in enumerate(names)),
            )
        ]
    )
    assert store.taken_base_names("acme", candidates) == taken
    assert store.taken_base_names("globex", candidates) == set()


def test_R6_many_candidates_are_looked_up_at_once(store: Store) -> None:
    seed(store)
    start = new_chat("C1")
    store.apply([start])
    store.apply([ChatChange(chat=start.chat, recordings=(recording("R1", "C1", "name-250"),))])
    candidates = [f"name-{n}" for n in range(300)]
    assert store.taken_base_names("acme", candidates) == {"name-250"}


def test_R6_the_names_an_end_takes_are_a_range_of_the_index_not_the_whole_history(
    store: Store,
) -> None:
    """A ``LIKE`` prefix walked every recording the company ever had, at every end."""
    seed(store)
    start = new_chat("C1")
    store.apply([start])
    store.apply([ChatChange(chat=start.chat, recordings=(recording("R0", "C1", "2026/x"),))])
    recordings = RecordingRow.__table__
    with store.engine.begin() as connection:  # a history of names, as planners see it
        row = dict(
            connection.execute(recordings.select().where(recordings.c.recording_id == "R0"))
            .mappings()
            .one()
        )
        names = [f"2026/other-{n}" for n in range(3000)]
        connection.execute(
            recordings.insert(),
            [
                row | {"recording_id": f"H{n}", "base_name": m, "base_name_key": m}
                for n, m in enumerate(names)
            ],
        )
        gather_statistics(connection)
    candidates = ["2026/x", "2026/x_2", "2026/x_3"]  # an end names a file per recording
    read = statements_of(store, lambda: store.taken_base_names("acme", candidates), "base_name")
    assert len(read) == 1
    with store.engine.connect() as connection:
        assert index_looks_up(connection, *read[0], "base_name_key"), read[0][0]
    assert store.taken_base_names("acme", ["2026/x"]) == {"2026/x"}
    assert store.taken_base_names("acme", ["2026/other"]) == set(names)


def test_an_empty_batch_commits_nothing(store: Store) -> None:
    assert store.apply([]) == []
    assert store.open_chats() == []


def test_R19_a_value_the_database_cannot_keep_fails_its_change_alone(store: Store) -> None:
    seed(store)
    bad, good = new_chat("C1"), new_chat("C2")
    nul = replace(bad, chat=replace(bad.chat, token_hash="token\x00"))
    outcomes = store.apply([nul, good])
    assert outcomes[1] is None
    if store.engine.dialect.name == "sqlite":
        assert outcomes[0] is None  # SQLite keeps NUL characters
        return
    assert isinstance(outcomes[0], ActionError)
    assert store.get_chat("C1") is None
    with pytest.raises(ActionError, match="cannot keep a value"):
        store.update_user(replace(BOB, name="Bob\x00"))
    assert store.get_user("bob") == BOB


def test_a_change_writes_only_the_columns_its_writer_changed(store: Store) -> None:
    """A writer with a stale copy of the row does not undo another's change to a column
    it did not touch (R20: two nodes may hold the same chat)."""
    seed(store)
    start = new_chat("C1")
    store.apply([start])
    other = next_message(start, "from the other node")
    moved = replace(other.chat, flow_state={"node": "menu", "tries": 2})
    assert store.apply([replace(other, chat=moved, before=start.chat)]) == [None]
    stale = next_message(other, "from this node")  # this node's copy: no flow_state
    assert stale.chat.flow_state is None
    assert store.apply([replace(stale, before=other.chat)]) == [None]
    stored = store.get_chat("C1")
    assert stored is not None
    assert stored.flow_state == {"node": "menu", "tries": 2}
    assert stored.last_seq == stale.chat.last_seq
    assert stored.last_activity_at == stale.chat.last_activity_at
    # Without ``before`` every column is written, as a writer that does not say asks.
    store.apply([next_message(stale, "all columns")])
    again = store.get_chat("C1")
    assert again is not None
    assert again.flow_state is None


def test_a_naive_time_in_a_batch_of_messages_fails_its_change_alone(store: Store) -> None:
    seed(store)
    first, second = new_chat("C1"), new_chat("C2")
    store.apply([first, second])
    good = replace(next_message(first), before=first.chat)
    bad = next_message(second)
    naive = replace(bad.chat, last_activity_at=bad.chat.last_activity_at.replace(tzinfo=None))
    outcomes = store.apply([good, replace(bad, chat=naive, before=second.chat)])
    assert outcomes[0] is None
    assert "naive datetime" in str(outcomes[1])
    assert [seq for seq, _ in store.load_journal("C1")] == [1, 2, 3]
    assert [seq for seq, _ in store.load_journal("C2")] == [1, 2]
