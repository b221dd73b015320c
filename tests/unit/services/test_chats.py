"""The chat service end to end on in-memory fakes of its ports: no database, no thread
but asyncio's, milliseconds per test."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from chatrec.domain.journal import (
    AgentAssigned,
    ChatEnded,
    MessagePosted,
    RecordingPaused,
    RecordingResumed,
)
from chatrec.domain.roles import LoginRole
from chatrec.domain.settings import DEFAULT_TEMPLATE
from chatrec.errors import ConflictError
from chatrec.live.bus import InProcessFanout, chat_topic
from chatrec.live.carried import carried, may_concern
from chatrec.live.registry import LiveChat
from chatrec.services.chats import ChatService
from chatrec.store.records import (
    ChatStatus,
    CompanyRecord,
    FlowVersionRecord,
    PresenceCause,
    PresenceRecord,
    QueueRecord,
    ServiceRecord,
    UserRecord,
)
from tests.unit.services.fakes import FakeClock, FakeCommitter, FakePresences, FakeStore

T = TypeVar("T")
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
AGENT = UserRecord(
    user_id="u-alice",
    company_id="acme",
    login="alice",
    name="Alice Martin",
    role=LoginRole.AGENT,
    password_hash="-",
)


class Node:
    """One chat service over fakes, with what it committed and published."""

    def __init__(self) -> None:
        self.clock = FakeClock(START)
        self.store = FakeStore(
            companies={
                "acme": CompanyRecord(
                    company_id="acme",
                    name="Acme",
                    products=frozenset({"call_recording", "webchat"}),
                    default_template=DEFAULT_TEMPLATE,
                    formats=frozenset({"json", "text"}),
                    sampling_key=b"k" * 32,
                )
            },
            users={AGENT.user_id: AGENT},
            services={"s-web": ServiceRecord("s-web", "acme", "Support", None)},
            queues={"q-1": QueueRecord("q-1", "acme", "General")},
        )
        self.presences = FakePresences(
            {AGENT.user_id: PresenceRecord(AGENT.user_id, True, PresenceCause.AGENT, START)}
        )
        self.store.presences = self.presences
        self.committer = FakeCommitter(self.store)
        self.fanout = InProcessFanout()
        self.notices: list[dict[str, Any]] = []
        self.recordings_ready = 0
        self.chats = ChatService(
            self.store,
            self.committer,
            self.fanout,
            presences=self.presences,
            inactivity_timeout=timedelta(minutes=30),
            clock=self.clock,
            on_recordings=self._ready,
        )

    def _ready(self) -> None:
        self.recordings_ready += 1

    async def assigned_chat(self) -> LiveChat:
        """A customer's chat, queued and given to the Available, connected agent."""
        await self.chats.staff_connected(AGENT)
        started = await self.chats.start_chat("s-web")
        self.fanout.subscribe(chat_topic(started.chat.chat_id), self._heard)
        chat = self.chats.find(started.chat.chat_id)
        assert chat is not None
        return chat

    def _heard(self, topic: str, notice: dict[str, Any]) -> None:
        self.notices.append(notice)


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await scenario()

    return asyncio.run(main())


def test_a_started_chat_is_queued_and_given_to_the_available_agent() -> None:
    node = Node()
    chat = run(node.assigned_chat)
    assert chat.record.status is ChatStatus.ACTIVE
    assert chat.record.queue_id == "q-1"
    assert AGENT.user_id in chat.present()
    stored = node.store.load_journal(chat.chat_id)
    assert any(isinstance(event, AgentAssigned) for _, event in stored)
    assert node.store.chats[chat.chat_id] == chat.record  # memory follows the commit


def test_messages_are_committed_in_order_then_published() -> None:
    node = Node()

    async def scenario() -> tuple[LiveChat, int, int]:
        chat = await node.assigned_chat()
        asked = await node.chats.customer_says(chat, "Where is my order?")
        node.clock.advance(5)
        answered = await node.chats.staff_says(AGENT, chat, "On its way.")
        return chat, asked, answered

    chat, asked, answered = run(scenario)
    assert answered == asked + 1
    stored = dict(node.store.load_journal(chat.chat_id))
    messages = [stored[seq] for seq in (asked, answered)]
    assert [(m.actor.role.value, m.text) for m in messages if isinstance(m, MessagePosted)] == [
        ("customer", "Where is my order?"),
        ("agent", "On its way."),
    ]
    assert [n["seq"] for n in node.notices] == [asked, answered]


def test_R8_pause_and_resume_are_journaled_and_audited_under_the_login() -> None:
    node = Node()

    async def scenario() -> LiveChat:
        chat = await node.assigned_chat()
        await node.chats.recording_action(AGENT, chat, RecordingPaused)
        assert chat.paused
        committed = len(node.committer.changes)
        with pytest.raises(ConflictError, match="already paused"):
            await node.chats.recording_action(AGENT, chat, RecordingPaused)
        assert len(node.committer.changes) == committed  # refused: nothing committed
        await node.chats.recording_action(AGENT, chat, RecordingResumed)
        return chat

    chat = run(scenario)
    assert not chat.paused
    kinds = [type(e) for _, e in node.store.load_journal(chat.chat_id)]
    assert kinds.count(RecordingPaused) == kinds.count(RecordingResumed) == 1
    audit = [(a.action, a.actor) for c in node.committer.changes for a in c.audit]
    assert ("pause", "alice") in audit
    assert ("resume", "alice") in audit


def test_R12_the_end_commits_its_recordings_and_frees_the_chat() -> None:
    node = Node()

    async def scenario() -> LiveChat:
        chat = await node.assigned_chat()
        await node.chats.customer_says(chat, "Hello")
        await node.chats.staff_ends(AGENT, chat)
        return chat

    chat = run(scenario)
    assert node.chats.find(chat.chat_id) is None
    end = node.committer.changes[-1]
    assert end.chat.status is ChatStatus.ENDED
    assert [type(e) for _, e in end.events] == [ChatEnded]
    assert [a.action for a in end.audit] == ["recording_decision"]
    produced = [r for r in end.recordings if r.files]
    assert produced, [r.explanation for r in end.recordings]
    # The bytes go with the end's commit (R20): no file is written before or after it.
    files = [f for r in produced for f in r.files]
    assert all(
        f.content is not None
        and len(f.content) == f.size
        and hashlib.sha256(f.content).hexdigest() == f.sha256
        for f in files
    )
    assert node.recordings_ready == 1


def test_R6_a_later_end_takes_no_name_the_store_holds() -> None:
    node = Node()

    async def scenario() -> None:
        for _ in range(2):
            chat = await node.assigned_chat()
            await node.chats.customer_says(chat, "Hello")
            await node.chats.customer_ends(chat)

    run(scenario)
    names = [r.base_name for r in node.store.recordings if r.base_name]
    assert len(names) >= 2
    assert len({name.casefold() for name in names}) == len(names)


def test_R20_a_notice_between_nodes_carries_what_changed_and_one_after_a_gap_is_not_taken() -> None:
    node = Node()

    async def scenario() -> None:
        chat = await node.assigned_chat()
        # Another node's copy, made before two actions.
        other = LiveChat(chat.record, list(chat.events), chat.company, chat.sampling_key)
        first = await node.chats.customer_says(chat, "Where is my order?")
        over_redis = json.loads(json.dumps(carried(chat, first - 1)))
        second = await node.chats.staff_says(AGENT, chat, "On its way.")
        later = json.loads(json.dumps(carried(chat, second - 1)))

        assert not node.chats._take_carried(other, later)  # a gap: the store is read instead
        assert node.chats._take_carried(other, over_redis)
        assert node.chats._take_carried(other, later)
        assert other.events == chat.events
        assert other.record == chat.record
        assert not node.chats._take_carried(other, later)  # already held: nothing twice

        # The staff in the chat go along: a node that has not cached it reads it only
        # for a login that may follow it (R18).
        assert later["staff"] == [AGENT.user_id]
        assert may_concern(later, AGENT.user_id, sees_every_chat=False)
        assert not may_concern(later, "u-bob", sees_every_chat=False)
        assert may_concern(later, "u-bob", sees_every_chat=True)
        assert may_concern({"chat_id": chat.chat_id}, "u-bob", sees_every_chat=False)

    run(scenario)


def test_R20_a_chat_opened_on_another_node_is_read_once_however_many_ask_at_once() -> None:
    node = Node()
    # A second node over the same store: it has not cached the chat the first opened.
    other = ChatService(
        node.store,
        node.committer,
        InProcessFanout(),
        presences=node.presences,
        inactivity_timeout=timedelta(minutes=30),
        clock=node.clock,
    )
    reads: list[str] = []
    get_chat = node.store.get_chat

    def counted(chat_id: str) -> Any:
        reads.append(chat_id)
        return get_chat(chat_id)

    node.store.get_chat = counted  # type: ignore[method-assign]

    async def scenario() -> None:
        chat = await node.assigned_chat()
        # A notice reaches every staff connection of the company on the node together.
        copies = await asyncio.gather(*(other.ensure(chat.chat_id) for _ in range(5)))
        assert reads == [chat.chat_id]
        assert all(copy is copies[0] for copy in copies)
        assert copies[0] is not None
        assert copies[0].events == chat.events
        assert await other.ensure(chat.chat_id) is copies[0]  # cached: no read at all
        assert reads == [chat.chat_id]

    run(scenario)


def test_R22_a_card_number_is_masked_before_it_is_committed_or_published() -> None:
    node = Node()

    async def scenario() -> LiveChat:
        chat = await node.assigned_chat()
        await node.chats.customer_says(chat, "card 4111-1111-1111-1111 please")
        await node.chats.staff_says(AGENT, chat, "Read back: 5555 5555 5555 4444, right?")
        return chat

    chat = run(scenario)
    messages = [e for _, e in node.store.load_journal(chat.chat_id) if isinstance(e, MessagePosted)]
    assert [(m.text, m.masked) for m in messages[-2:]] == [
        ("card ****-****-****-1111 please", 1),
        ("Read back: **** **** **** 4444, right?", 1),
    ]
    assert chat.events[-1][1] == messages[-1]  # memory holds what was committed
    between_nodes = json.dumps(carried(chat, 0))  # what another node would be told
    assert "4111" not in between_nodes
    assert "5555" not in between_nodes


def test_R20_the_action_that_queues_a_chat_offers_that_chat_first() -> None:
    """A chat older than the one just queued waits with an agent free only when another
    node won the race for it; the queuing action gives its own chat then, and the older
    one is offered by the next dispatch (here, the end that frees the agent)."""
    node = Node()
    node.store.users[AGENT.user_id] = replace(AGENT, capacity=1)

    async def scenario() -> LiveChat:
        older = node.chats.find((await node.chats.start_chat("s-web")).chat.chat_id)
        assert older is not None
        assert older.record.status is ChatStatus.QUEUED  # no agent connected yet
        # Her portal counted by another node that lost the race for the older chat.
        node.store.count_sockets(AGENT.user_id, "acme", "another-node", 1, START)
        node.clock.advance(5)
        newer = node.chats.find((await node.chats.start_chat("s-web")).chat.chat_id)
        assert newer is not None
        assert newer.record.status is ChatStatus.ACTIVE
        assert older.record.status is ChatStatus.QUEUED
        await node.chats.customer_ends(newer)
        return older

    older = run(scenario)
    assert older.record.status is ChatStatus.ACTIVE
    assert AGENT.user_id in older.present()


def test_a_chats_start_reads_a_flow_version_once_and_a_newer_one_when_saved() -> None:
    """The service's read names its flow's newest version; a version never changes once
    saved, so only a version not yet in memory is read (issue 13: reads per chat)."""
    node = Node()
    source = (
        "name: welcome\nsteps:\n  - {id: hi, type: say, text: Hello}\n"
        "  - {id: go, type: route, queue: General}\n"
    )
    version = FlowVersionRecord("welcome", "acme", "Welcome", 1, source, START)
    node.store.flows["welcome"] = [version]
    node.store.services["s-flow"] = ServiceRecord("s-flow", "acme", "Sales", "welcome")
    read: list[tuple[str, int | None]] = []
    get_flow = node.store.get_flow

    def counted(flow_id: str, version: int | None = None) -> FlowVersionRecord | None:
        read.append((flow_id, version))
        return get_flow(flow_id, version)

    node.store.get_flow = counted  # type: ignore[method-assign]

    async def scenario() -> list[str]:
        said = []
        for _ in range(3):
            started = await node.chats.start_chat("s-flow")
            journal = node.store.load_journal(started.chat.chat_id)
            texts = [e.text for _, e in journal if isinstance(e, MessagePosted)]
            said.append(texts[0])
            if len(said) == 2:
                newer = replace(version, version=2, source=source.replace("Hello", "Hi"))
                node.store.flows["welcome"].append(newer)
        return said

    assert run(scenario) == ["Hello", "Hello", "Hi"]
    assert read == [("welcome", 1), ("welcome", 2)]
