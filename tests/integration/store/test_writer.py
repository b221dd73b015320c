"""Group commit: many waiting messages share one commit, each learns its own outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import replace

import pytest
from sqlalchemy.exc import DBAPIError

from chatrec.errors import SequenceClashError, StoreError
from chatrec.store.records import ChatChange
from chatrec.store.store import Store
from chatrec.store.writer import GroupCommitter
from tests.integration.live.test_protocol_errors import table_away
from tests.integration.store.factories import (
    GLOBEX_SUPPORT,
    new_chat,
    next_message,
    seed,
    seed_two_companies,
)


class CountingStore:
    """The real store, counting the batches it is given."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.batches: list[int] = []

    def apply(self, changes: Sequence[ChatChange]) -> list[BaseException | None]:
        self.batches.append(len(changes))
        return self.store.apply(changes)


async def commit_all(committer: GroupCommitter, changes: list[ChatChange]) -> list[object]:
    committer.start()
    try:
        return await asyncio.gather(
            *(committer.commit(change) for change in changes), return_exceptions=True
        )
    finally:
        await committer.stop()


def test_concurrent_commits_share_batches_and_are_all_stored(store: Store) -> None:
    seed(store)
    counting = CountingStore(store)
    changes = [new_chat(f"C{n:03}") for n in range(200)]
    outcomes = asyncio.run(commit_all(GroupCommitter(counting), changes))
    assert outcomes == [None] * 200
    assert sum(counting.batches) == 200
    assert len(counting.batches) < 200
    assert len(store.open_chats()) == 200


def test_batches_never_exceed_the_cap(store: Store) -> None:
    seed(store)
    counting = CountingStore(store)
    changes = [new_chat(f"C{n:03}") for n in range(60)]
    asyncio.run(commit_all(GroupCommitter(counting, max_batch=7), changes))
    assert max(counting.batches) <= 7
    assert sum(counting.batches) == 60


def test_a_refused_change_fails_only_its_own_caller(store: Store) -> None:
    seed(store)
    starts = [new_chat(f"C{n}") for n in range(5)]
    store.apply(starts)
    follows = [next_message(start) for start in starts]
    store.apply([follows[2]])  # another writer already took C2's number
    outcomes = asyncio.run(commit_all(GroupCommitter(store), follows))
    assert [type(outcome) for outcome in outcomes] == [
        type(None),
        type(None),
        SequenceClashError,
        type(None),
        type(None),
    ]
    assert all(len(store.load_journal(f"C{n}")) == 3 for n in range(5))


class FailingStore:
    """A database that fails every commit, as an unreachable one would."""

    def __init__(self) -> None:
        self.calls = 0

    def apply(self, changes: Sequence[ChatChange]) -> list[BaseException | None]:
        self.calls += 1
        raise ConnectionError("database unreachable")


def test_a_failed_commit_reaches_every_waiter_of_the_batch() -> None:
    outcomes = asyncio.run(
        commit_all(GroupCommitter(FailingStore()), [new_chat(f"C{n}") for n in range(10)])
    )
    for outcome in outcomes:
        assert isinstance(outcome, StoreError)
        assert outcome.cause == "ConnectionError"
    assert len({id(outcome) for outcome in outcomes}) == 10


class AnswerLostStore:
    """The real store, whose connection dies once the database committed, before it
    answers (``pg_terminate_backend`` at that instant): the commit seems to fail."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def apply(self, changes: Sequence[ChatChange]) -> list[BaseException | None]:
        self.store.apply(changes)
        raise ConnectionError("server closed the connection unexpectedly")

    def committed(self, changes: Sequence[ChatChange]) -> list[bool]:
        return self.store.committed(changes)


def test_R19_R20_a_commit_whose_answer_was_lost_is_found_stored_and_acknowledged(
    store: Store,
) -> None:
    seed(store)
    starts = [new_chat(f"C{n}") for n in range(3)]
    store.apply(starts)
    follows = [next_message(start, "said once") for start in starts]
    outcomes = asyncio.run(commit_all(GroupCommitter(AnswerLostStore(store)), follows))
    assert outcomes == [None, None, None]  # stored: saying "try again" would store it twice
    assert all(len(store.load_journal(f"C{n}")) == 3 for n in range(3))
    # A batch that truly failed is still reported so, after the same look.
    never = next_message(follows[0], "never sent")
    assert store.committed([follows[1], never]) == [True, False]


def test_R18_a_failed_commit_carries_no_data_of_its_batch(store: Store, database_url: str) -> None:
    """The batch mixes companies: neither the error, nor its cause, nor the database's own
    error (hidden parameters) holds a value of it; the cause names the statement."""
    seed_two_companies(store)
    acme = new_chat("C1")
    globex_chat = replace(
        acme.chat,
        chat_id="G1",
        company_id="globex",
        service_id=GLOBEX_SUPPORT.service_id,
        token_hash="token-of-G1",
    )
    globex = replace(acme, chat=globex_chat)
    # Both stored, so the commit below fails at the journal alone: with the token of C1,
    # G1 was refused here, and the commit below then failed as "no chat 'G1' to change"
    # or as "try again" depending on how the committer batched it.
    assert store.apply([acme, globex]) == [None, None]
    texts = ("Acme: my password is hunter2", "Globex: my policy is Zanzibar-7731")
    changes = [next_message(acme, texts[0]), next_message(globex, texts[1])]
    with table_away(database_url, "chat_events"):
        with pytest.raises(DBAPIError) as failed:
            store.apply(changes)
        outcomes = asyncio.run(commit_all(GroupCommitter(store), changes))
    assert not any(text in str(failed.value) for text in texts)
    for outcome in outcomes:
        assert isinstance(outcome, StoreError)
        assert outcome.args == ("the commit failed; nothing of it was stored; try again",)
        assert outcome.__cause__ is None
        assert outcome.cause is not None
        assert "chat_events" in outcome.cause
        assert str(outcome) == f"{outcome.args[0]} ({outcome.cause})"
        assert not any(text in str(outcome) for text in texts)
        assert "token-of-" not in str(outcome)


class SlowStore:
    """Holds the first batch until released, so later commits queue up behind it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.release = threading.Event()
        self.batches: list[int] = []

    def apply(self, changes: Sequence[ChatChange]) -> list[BaseException | None]:
        self.release.wait(timeout=10)
        self.batches.append(len(changes))
        return self.store.apply(changes)


def test_stop_commits_everything_already_queued(store: Store) -> None:
    seed(store)
    slow = SlowStore(store)

    async def scenario() -> list[object]:
        committer = GroupCommitter(slow)
        committer.start()
        waiters = [asyncio.ensure_future(committer.commit(new_chat(f"C{n}"))) for n in range(20)]
        await asyncio.sleep(0)  # every commit is queued
        stopping = asyncio.ensure_future(committer.stop())
        await asyncio.sleep(0.05)
        slow.release.set()
        await stopping
        with pytest.raises(StoreError, match="not accepting"):
            await committer.commit(new_chat("late"))
        return await asyncio.gather(*waiters)

    assert asyncio.run(scenario()) == [None] * 20
    assert sum(slow.batches) == 20
    assert len(store.open_chats()) == 20


def test_commit_before_start_is_refused() -> None:
    async def scenario() -> None:
        await GroupCommitter(FailingStore()).commit(new_chat("C1"))

    with pytest.raises(StoreError, match="not accepting"):
        asyncio.run(scenario())


def test_a_committer_starts_once() -> None:
    async def scenario() -> None:
        committer = GroupCommitter(FailingStore())
        committer.start()
        try:
            with pytest.raises(RuntimeError, match="already started"):
                committer.start()
        finally:
            await committer.stop()

    asyncio.run(scenario())
    with pytest.raises(ValueError, match="max_batch"):
        GroupCommitter(FailingStore(), max_batch=0)
