"""A customer's chat token ends with the chat, after a grace (R18), in-process with a clock.

Against a real server (no grace): ``tests/integration/live/test_limits.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatrec.demo.company import seed_demo
from chatrec.errors import AuthenticationError
from chatrec.live.bus import InProcessFanout
from chatrec.services.chats import ChatService
from chatrec.services.open_chats import ChatLimits
from chatrec.store.store import Store
from chatrec.store.writer import GroupCommitter

GRACE = timedelta(minutes=10)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_R18_a_chat_token_opens_its_ended_chat_during_the_grace_only(
    store: Store, tmp_path: Path
) -> None:
    seed_demo(store, tmp_path)
    clock = Clock()

    async def scenario() -> None:
        committer = GroupCommitter(store)
        committer.start()
        chats = ChatService(
            store,
            committer,
            InProcessFanout(),
            presences=store,
            inactivity_timeout=timedelta(hours=1),
            clock=clock,
            limits=ChatLimits(token_grace=GRACE),
        )
        try:
            started = await chats.start_chat("demo-support")
            chat_id, live = await chats.chat_for_customer(started.token)
            assert live is not None
            await chats.customer_ends(live)
            clock.now += GRACE  # a customer whose connection dropped still sees the end
            assert await chats.chat_for_customer(started.token) == (chat_id, None)
            clock.now += timedelta(seconds=1)
            with pytest.raises(AuthenticationError, match="its link has expired"):
                await chats.chat_for_customer(started.token)
        finally:
            await committer.stop()

    asyncio.run(scenario())
