"""A node catching up on a chat whose record it read before another node's commit, and
its journal after, keeps each event once (R20).

``OpenChats.refresh`` reads the chat's row, then the journal after the number memory
holds.  Another node committing between the two reads leaves memory with the newer
events but the older row; the next catch-up reads those events again from the older
number: a client is sent an event twice, and the copy whose time is earlier than the
event before it stops the node's next action on the chat (``JournalError``).  The
interleaving is made here by handing node two the row as it was before node one's
commit, the moment a busy database gives it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.services.test_chat_endings import alice_takes, demo_node, seed


def test_R20_a_catch_up_racing_another_node_s_commit_keeps_each_event_once(
    database_url: str, tmp_path: Path
) -> None:
    one, two = demo_node(database_url, tmp_path), demo_node(database_url, tmp_path)
    alice = seed(one.store, tmp_path)

    async def scenario() -> list[int]:
        for node in (one, two):
            node.committer.start()
        try:
            [chat_id] = await alice_takes(one.chats, alice, 1)
            here = one.chats.find(chat_id)
            there = await two.chats.ensure(chat_id)
            assert here is not None
            assert there is not None
            await one.chats.customer_says(here, "first, on node one")
            row_before = await asyncio.to_thread(two.store.get_chat, chat_id)
            await one.chats.customer_says(here, "second, on node one")
            reads = iter([row_before])
            real = two.store.get_chat
            two.store.get_chat = lambda chat_id: next(reads, None) or real(chat_id)  # type: ignore[method-assign]
            await two.chats.refresh(there)  # the row from before, the journal from after
            await two.chats.refresh(there)  # an ordinary catch-up later
            return [seq for seq, _ in there.events]
        finally:
            for node in (one, two):
                await node.committer.stop()

    try:
        seqs = asyncio.run(scenario())
    finally:
        one.store.close()
        two.store.close()
    assert seqs == list(range(1, len(seqs) + 1))
