"""Chats ending together, in-process on the real store, on SQLite and PostgreSQL (R6).

Names are chosen one ending at a time; spooling and the commit of each ending run side
by side.  A gate holds every ending's commit until all have chosen their names, so the
overlap is certain rather than left to timing.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.services.demo import COMPANY_ID, seed_demo
from chatrec.services.recordings import clashing
from chatrec.store.records import ChatChange, ChatStatus

ENDINGS = 3  # an agent's default capacity


def test_R6_chats_ending_together_get_distinct_names_and_are_not_serialised(
    database_url: str, tmp_path: Path
) -> None:
    container = build(Config(data_dir=tmp_path, database_url=database_url))
    store, chats = container.store, container.chats
    seed_demo(store, tmp_path)
    company = store.get_company(COMPANY_ID)
    assert company is not None
    store.update_company(replace(company, default_template="{service}/{agent}_{origin}"))
    alice = store.find_user_by_login("alice")
    assert alice is not None

    committer = container.committer
    commit = committer.commit
    waiting: list[ChatChange] = []
    all_planned = asyncio.Event()

    async def gated(change: ChatChange) -> None:
        if change.chat.status is ChatStatus.ENDED:
            waiting.append(change)
            if len(waiting) == ENDINGS:
                all_planned.set()
            # Were endings serialised until their commit, the second would never get here.
            await asyncio.wait_for(all_planned.wait(), timeout=20)
        await commit(change)

    async def scenario() -> list[str]:
        committer.start()
        try:
            await chats.staff_connected(alice)
            await chats.set_presence(alice, True)
            live = []
            for _ in range(ENDINGS):
                started = await chats.start_chat("demo-support")
                chat = chats.find(started.chat.chat_id)
                assert chat is not None
                await chats.customer_says(chat, "Billing")
                assert chat.record.status is ChatStatus.ACTIVE, chat.record.status
                live.append(chat)
            committer.commit = gated  # type: ignore[method-assign]
            await asyncio.gather(*(chats.staff_ends(alice, chat) for chat in live))
            return [chat.chat_id for chat in live]
        finally:
            await committer.stop()

    try:
        ended = asyncio.run(scenario())
        names = [
            recording.base_name
            for chat_id in ended
            for recording in store.get_recordings(chat_id)
            if recording.origin == "agent"
        ]
    finally:
        store.close()
    assert len(names) == ENDINGS, names
    assert len(set(names)) == ENDINGS, names
    assert "Support/Alice_Martin_agent" in names  # the first keeps the plain name


def test_R6_a_reserved_name_clashes_as_a_stored_one_would() -> None:
    reserved = {"Support/Alice_agent", "Support/alice_agent-3f2a", "Support/Alice_agent_2"}
    # Equal, or continued with "-" (a suffix given earlier), case-insensitively.
    assert clashing(reserved, ["support/ALICE_agent"]) == {
        "Support/Alice_agent",
        "Support/alice_agent-3f2a",
    }
    assert clashing(reserved, ["Support/Bob_agent"]) == set()
