"""Two nodes acting on one chat through one database (R20).

Each node is a whole container (chat service, group committer, store) on the same
database, in one process; what they share is only the database.  Node B acts on its
cached copy after node A has moved the chat on: B catches up and acts again, so the
journal's numbers have no gap and every accepted action is in it once; an action on a
chat another node ended is refused as on one node.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.domain.journal import ChatEnded, MessagePosted
from chatrec.errors import ConflictError
from chatrec.web.container import Container
from chatrec.web.customer_api import CustomerRead, chat_customer
from tests.integration.services.test_chat_endings import alice_takes, demo_node, seed


def test_R20_a_node_acting_on_a_stale_chat_catches_up_and_numbers_stay_gap_free(
    database_url: str, tmp_path: Path
) -> None:
    one, two = demo_node(database_url, tmp_path), demo_node(database_url, tmp_path)
    alice = seed(one.store, tmp_path)

    async def scenario() -> tuple[list[int], list[str]]:
        for node in (one, two):
            node.committer.start()
        try:
            [chat_id] = await alice_takes(one.chats, alice, 1)
            here = one.chats.find(chat_id)
            there = await two.chats.ensure(chat_id)  # opened on node one, loaded here
            assert here is not None
            assert there is not None
            assert there.record.last_seq == here.record.last_seq

            await one.chats.customer_says(here, "first, on node one")
            # Node two's copy is one event behind: its number is taken; it catches up.
            await two.chats.staff_says(alice, there, "second, on node two")
            await one.chats.customer_says(here, "third, on node one")

            await one.chats.staff_ends(alice, here)
            with pytest.raises(ConflictError, match="this chat has ended"):
                await two.chats.staff_says(alice, there, "too late, on node two")
            assert two.chats.find(chat_id) is None
            journal = await asyncio.to_thread(one.store.load_journal, chat_id, 0)
        finally:
            for node in (one, two):
                await node.committer.stop()
        texts = [event.text for _, event in journal if isinstance(event, MessagePosted)]
        return [seq for seq, _ in journal], texts

    try:
        seqs, texts = asyncio.run(scenario())
    finally:
        one.store.close()
        two.store.close()
    assert seqs == list(range(1, len(seqs) + 1))
    assert texts[-3:] == ["first, on node one", "second, on node two", "third, on node one"]
    assert "too late, on node two" not in texts


def test_R20_an_idle_chat_swept_by_two_nodes_at_once_ends_once(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def node(name: str) -> Container:
        # Each node its own folder, as on its own machine: both render the end.
        folder = tmp_path / name
        return build(
            Config(data_dir=folder, database_url=database_url, inactivity_timeout_seconds=0.2)
        )

    one, two = node("one"), node("two")
    alice = seed(one.store, tmp_path / "one")
    # At once: each node has read the idle chats before either ends one. Left to timing,
    # a node that read after the other's end committed never met the chat at all.
    both_read = threading.Barrier(2, timeout=10)
    for each in (one, two):

        def idle_chats(
            cutoff: datetime, limit: int, read: Any = each.chats.store.idle_chats
        ) -> Any:
            found = read(cutoff, limit)
            both_read.wait()
            return found

        monkeypatch.setattr(each.chats.store, "idle_chats", idle_chats)

    async def scenario() -> list[int]:
        for node in (one, two):
            node.committer.start()
        try:
            [chat_id] = await alice_takes(one.chats, alice, 1)
            assert await two.chats.ensure(chat_id) is not None
            await asyncio.sleep(0.3)
            swept = await asyncio.gather(one.chats.sweep(), two.chats.sweep())
            assert one.chats.find(chat_id) is None
            assert two.chats.find(chat_id) is None
            journal = await asyncio.to_thread(one.store.load_journal, chat_id, 0)
            assert sum(isinstance(event, ChatEnded) for _, event in journal) == 1
            # The node whose end lost wrote nothing anywhere: its files were only in
            # the change the store refused, and the winner's are in the database.
            written = {p.name for p in tmp_path.rglob("*") if p.suffix in {".json", ".txt"}}
            assert written == {"demo-logins.json"}  # the demo's, not a recording
            recordings = await asyncio.to_thread(
                partial(one.store.get_recordings, chat_id, with_bytes=True)
            )
            assert all(f.content for r in recordings for f in r.files)
            return list(swept)
        finally:
            for node in (one, two):
                await node.committer.stop()

    try:
        assert sorted(asyncio.run(scenario())) == [0, 1]
    finally:
        one.store.close()
        two.store.close()


def test_R20_R23_the_customer_panel_answers_on_a_node_the_chat_was_not_opened_on(
    database_url: str, tmp_path: Path
) -> None:
    """The portal asks whichever node the balancer picks: that node loads the open chat
    rather than take it for an ended one it cannot find (404)."""
    one, two = demo_node(database_url, tmp_path), demo_node(database_url, tmp_path)
    alice = seed(one.store, tmp_path)
    page = "https://shop.example/claims?step=2"

    async def scenario() -> CustomerRead:
        for node in (one, two):
            node.committer.start()
        try:
            await one.chats.staff_connected(alice)
            await one.chats.set_presence(alice, True)
            started = await one.chats.start_chat("demo-support", page=page)
            chat = one.chats.find(started.chat.chat_id)
            assert chat is not None
            await one.chats.customer_says(chat, "Billing")  # the flow queues it: Alice's
            assert two.chats.find(chat.chat_id) is None  # never seen on node two
            return await chat_customer(chat.chat_id, alice, two)
        finally:
            for node in (one, two):
                await node.committer.stop()

    try:
        read = asyncio.run(scenario())
    finally:
        one.store.close()
        two.store.close()
    assert read.page == page
