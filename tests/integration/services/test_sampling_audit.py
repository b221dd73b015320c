"""Each agent's sampling draw is in the chat's audit trail, committed with the join (R7).

In-process, through the chat service on the real store, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.demo.company import COMPANY_ID, seed_demo
from chatrec.domain.journal import AgentAssigned
from chatrec.store.records import ChatStatus, UserRecord
from chatrec.store.store import Store

SECRET_WORDS = "my card is under the mat"


def _login(store: Store, login: str) -> UserRecord:
    user = store.find_user_by_login(login)
    assert user is not None
    return user


def test_R7_every_draw_is_audited_when_an_agent_is_assigned_and_when_transferred_to(
    database_url: str, tmp_path: Path
) -> None:
    node = build(Config(data_dir=tmp_path, database_url=database_url))
    seed_demo(node.store, tmp_path)
    alice, carol = _login(node.store, "alice"), _login(node.store, "carol")

    async def scenario() -> str:
        node.committer.start()
        try:
            chats = node.chats
            for agent in (alice, carol):
                await chats.staff_connected(agent)
            await chats.set_presence(alice, True)
            started = await chats.start_chat("demo-support")
            chat = chats.find(started.chat.chat_id)
            assert chat is not None
            await chats.customer_says(chat, "Billing")  # the flow routes; Alice takes it
            assert chat.record.status is ChatStatus.ACTIVE
            await chats.customer_says(chat, SECRET_WORDS)
            await chats.set_presence(carol, True)
            await chats.transfer(alice, chat, to_agent=carol.user_id)
            return chat.chat_id
        finally:
            await node.committer.stop()

    try:
        chat_id = asyncio.run(scenario())
        joins = [e for _, e in node.store.load_journal(chat_id, 0) if isinstance(e, AgentAssigned)]
        trail = node.store.list_audit(COMPANY_ID, chat_id)
    finally:
        node.store.close()

    draws = [line for line in trail if line.action == "sampling_draw"]
    assert [(line.chat_id, line.actor) for line in draws] == [(chat_id, "system")] * 2
    assert [line.detail for line in draws] == [
        {
            "target": join.actor.user_id,
            "agent": login,
            "record_percentage": percentage,
            "draw": join.draw.value,
            "fraction": round(join.draw.fraction, 4),
            "sampled_in": join.draw.sampled_in,
            "by_transfer": by_transfer,
        }
        for join, login, percentage, by_transfer in zip(
            joins, ("alice", "carol"), (100, 50), (False, True), strict=True
        )
    ]
    assert [line.at for line in draws] == [join.at for join in joins]
    assert draws[0].detail["sampled_in"] is True  # 100 % records every chat
    assert SECRET_WORDS not in json.dumps([line.detail for line in trail])  # R17
