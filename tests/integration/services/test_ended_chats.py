"""What a node keeps of a chat once it has ended, in process on the real store (issue 13).

The sockets that followed a chat each ask for its end as soon as they are told; the node
answers from the end it kept, and reads the store only for a client further behind,
which gets the journal as the store holds it (R17's purge included).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from chatrec.domain.journal import ChatEnded
from tests.integration.services.demo_node import demo_node, run_on


def test_an_ended_chats_end_is_served_from_memory_and_older_events_from_the_store(
    database_url: str, tmp_path: Path
) -> None:
    statements: list[str] = []
    with demo_node(database_url, tmp_path) as node:
        chats = node.chats

        async def scenario() -> None:
            started = await chats.start_chat("demo-support")
            chat = chats.find(started.chat.chat_id)
            assert chat is not None
            await chats.customer_says(chat, "Billing")
            seen = chat.record.last_seq
            end = await chats.customer_ends(chat)
            assert chats.find(chat.chat_id) is None

            event.listen(
                node.store.engine, "before_cursor_execute", lambda *a: statements.append(a[2])
            )
            tail = await chats.events_after(chat.chat_id, seen)
            assert await chats.ensure(chat.chat_id) is None
            assert statements == []  # neither read the store
            assert [seq for seq, _ in tail] == [end]
            assert isinstance(tail[0][1], ChatEnded)

            whole = await chats.events_after(chat.chat_id, 0)
            assert statements  # further behind: the store
            assert whole == node.store.load_journal(chat.chat_id)
            assert whole[-1] == tail[0]

        run_on(node, scenario)
