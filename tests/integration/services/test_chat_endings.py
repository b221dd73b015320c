"""Chats ending together, in-process on the real store, on SQLite and PostgreSQL (R6).

Names are chosen one ending at a time; rendering and the commit of each ending run side
by side.  A gate holds every ending's commit until all have chosen their names, so the
overlap is certain rather than left to timing.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.demo.company import COMPANY_ID, seed_demo
from chatrec.domain.filenames import clashing
from chatrec.services.chats import ChatService
from chatrec.store.records import ChatChange, ChatStatus, UserRecord
from chatrec.store.store import Store
from chatrec.store.writer import GroupCommitter
from chatrec.web.container import Container

ENDINGS = 3  # an agent's default capacity
TEMPLATE = "{service}/{agent}_{origin}"  # no chat id: Alice's chats all render one name


class Gate:
    """Holds the first commit of each of ``endings`` chat endings until all have come:
    by then every one has chosen its names.  Later commits (a retry) pass at once."""

    def __init__(self, endings: int) -> None:
        self.endings = endings
        self.waiting: list[ChatChange] = []
        self.all_planned = asyncio.Event()

    def around(self, committer: GroupCommitter) -> None:
        commit = committer.commit

        async def gated(change: ChatChange) -> None:
            if change.chat.status is ChatStatus.ENDED and not self.all_planned.is_set():
                self.waiting.append(change)
                if len(self.waiting) == self.endings:
                    self.all_planned.set()
                # Were endings serialised until their commit, the next would never come.
                await asyncio.wait_for(self.all_planned.wait(), timeout=20)
            await commit(change)

        committer.commit = gated  # type: ignore[method-assign]


def demo_node(database_url: str, data_dir: Path) -> Container:
    return build(Config(data_dir=data_dir, database_url=database_url))


def seed(store: Store, data_dir: Path) -> UserRecord:
    """The demo company with a template every chat of Alice's shares; Alice."""
    seed_demo(store, data_dir)
    company = store.get_company(COMPANY_ID)
    assert company is not None
    store.update_company(replace(company, default_template=TEMPLATE))
    alice = store.find_user_by_login("alice")
    assert alice is not None
    return alice


async def alice_takes(chats: ChatService, alice: UserRecord, count: int) -> list[str]:
    """``count`` Support chats through the flow, each taken by Alice."""
    await chats.staff_connected(alice)
    await chats.set_presence(alice, True)
    taken = []
    for _ in range(count):
        started = await chats.start_chat("demo-support")
        chat = chats.find(started.chat.chat_id)
        assert chat is not None
        await chats.customer_says(chat, "Billing")
        assert chat.record.status is ChatStatus.ACTIVE, chat.record.status
        taken.append(chat.chat_id)
    return taken


async def end_all(chats: ChatService, alice: UserRecord, chat_ids: list[str]) -> None:
    live = [chats.find(chat_id) for chat_id in chat_ids]
    await asyncio.gather(*(chats.staff_ends(alice, chat) for chat in live if chat is not None))


def agent_names(store: Store, chat_ids: list[str]) -> list[str | None]:
    return [
        recording.base_name
        for chat_id in chat_ids
        for recording in store.get_recordings(chat_id)
        if recording.origin == "agent"
    ]


def stored_names(store: Store, chat_ids: list[str]) -> list[str]:
    """The agent transcripts the ends committed, bytes and all."""
    return sorted(
        file.path
        for chat_id in chat_ids
        for recording in store.get_recordings(chat_id, with_bytes=True)
        for file in recording.files
        if file.path.endswith(".txt") and "agent" in file.path and file.content
    )


def test_R6_chats_ending_together_get_distinct_names_and_are_not_serialised(
    database_url: str, tmp_path: Path
) -> None:
    node = demo_node(database_url, tmp_path)
    alice = seed(node.store, tmp_path)
    gate = Gate(ENDINGS)

    async def scenario() -> list[str]:
        node.committer.start()
        try:
            chat_ids = await alice_takes(node.chats, alice, ENDINGS)
            gate.around(node.committer)
            await end_all(node.chats, alice, chat_ids)
            return chat_ids
        finally:
            await node.committer.stop()

    try:
        ended = asyncio.run(scenario())
        names = agent_names(node.store, ended)
    finally:
        node.store.close()
    assert len(names) == ENDINGS, names
    assert len(set(names)) == ENDINGS, names
    assert "Support/Alice_Martin_agent" in names  # the first keeps the plain name


def test_R6_two_nodes_choosing_one_name_settle_it_and_leave_nothing_stale(
    database_url: str, tmp_path: Path
) -> None:
    """Each node reserves names only for itself: the store refuses the second commit of
    a name, and that node chooses again, renders again and commits; nothing is lost."""
    first, second = demo_node(database_url, tmp_path), demo_node(database_url, tmp_path)
    alice = seed(first.store, tmp_path)
    gate = Gate(2)

    async def scenario() -> list[str]:
        for node in (first, second):
            node.committer.start()
        try:
            chat_ids = [*await alice_takes(first.chats, alice, 1)]
            chat_ids += await alice_takes(second.chats, alice, 1)
            for node in (first, second):
                gate.around(node.committer)
            await asyncio.gather(
                end_all(first.chats, alice, chat_ids[:1]),
                end_all(second.chats, alice, chat_ids[1:]),
            )
            return chat_ids
        finally:
            for node in (first, second):
                await node.committer.stop()

    try:
        ended = asyncio.run(scenario())
        names = agent_names(first.store, ended)
        stored = stored_names(first.store, ended)
        statuses = [first.store.get_chat(chat_id) for chat_id in ended]
    finally:
        first.store.close()
        second.store.close()
    assert all(chat is not None and chat.status is ChatStatus.ENDED for chat in statuses)
    assert len(set(names)) == 2, names
    assert "Support/Alice_Martin_agent" in names
    # The refused attempt left nothing: only the committed names' files are held, and
    # none was ever written to a disk (R20).
    assert stored == sorted(f"{name}.txt" for name in names if name)
    assert not list(tmp_path.rglob("*.txt"))


def test_R6_a_reserved_name_clashes_as_a_stored_one_would() -> None:
    reserved = {"Support/Alice_agent", "Support/alice_agent-3f2a", "Support/Alice_agent_2"}
    # Equal, or continued with "-" (a suffix given earlier), case-insensitively.
    assert clashing(reserved, ["support/ALICE_agent"]) == {
        "Support/Alice_agent",
        "Support/alice_agent-3f2a",
    }
    assert clashing(reserved, ["Support/Bob_agent"]) == set()


class DiedError(Exception):
    """The process stopping between rendering an end and committing it."""


def test_R16_R20_an_end_that_never_committed_leaves_no_recording_and_no_file(
    database_url: str, tmp_path: Path
) -> None:
    node = demo_node(database_url, tmp_path)
    alice = seed(node.store, tmp_path)

    async def scenario() -> str:
        node.committer.start()
        try:
            [chat_id] = await alice_takes(node.chats, alice, 1)
            commit = node.committer.commit

            async def dies_before_ending(change: ChatChange) -> None:
                if change.chat.status is ChatStatus.ENDED:
                    assert change.recordings, "rendered, with its bytes, for the commit"
                    raise DiedError
                await commit(change)

            node.committer.commit = dies_before_ending  # type: ignore[method-assign]
            with pytest.raises(DiedError):
                await end_all(node.chats, alice, [chat_id])
            return chat_id
        finally:
            await node.committer.stop()

    try:
        chat_id = asyncio.run(scenario())
        chat = node.store.get_chat(chat_id)
        recordings = node.store.get_recordings(chat_id)
        deliveries = node.store.list_deliveries(company_id=COMPANY_ID)
    finally:
        node.store.close()
    assert chat is not None
    assert chat.status is ChatStatus.ACTIVE  # ended again later, by anyone or the sweep
    assert recordings == []
    assert deliveries == []
    written = {p.name for p in tmp_path.rglob("*") if p.suffix in {".json", ".txt"}}
    assert written == {"demo-logins.json"}  # no leftover anywhere: nothing to sweep
