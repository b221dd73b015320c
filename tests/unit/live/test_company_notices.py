"""Which staff sockets a company's notice is handed to (``live.company_notices``, issue 13):
every one it may concern, and not those of logins in no such chat (``growth_staff``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from chatrec.live.bus import InProcessFanout, company_topic
from chatrec.live.company_notices import CompanyNotices
from chatrec.live.registry import LiveChat
from tests.integration.store.factories import chat_of
from tests.unit.domain.builders import SAMPLING_KEY, ChatBuilder, agent, company

TOPIC = company_topic("acme")


@dataclass(eq=False)
class Socket:
    user_id: str
    sees_every_chat: bool = False
    heard: list[dict[str, Any]] = field(default_factory=list)

    def hear(self, topic: str, notice: dict[str, Any]) -> None:
        assert topic == TOPIC
        self.heard.append(notice)


@dataclass
class Desk:
    bus: InProcessFanout
    notices: CompanyNotices
    chat: LiveChat
    sockets: dict[str, Socket]
    leave: dict[str, Any]

    def handed(self, notice: dict[str, Any]) -> set[str]:
        for socket in self.sockets.values():
            socket.heard.clear()
        self.bus.publish(TOPIC, notice)
        return {name for name, socket in self.sockets.items() if notice in socket.heard}


@pytest.fixture
def desk() -> Desk:
    """Alice in the chat, Bob in none, Carol was sent it, Sam supervises."""
    builder = ChatBuilder().customer_says("Hello").assign(agent("u-alice"))
    events = list(enumerate(builder.events, start=1))
    chat = LiveChat(chat_of(builder), events, company(), SAMPLING_KEY)
    bus = InProcessFanout()
    notices = CompanyNotices(bus, lambda chat_id: chat if chat_id == chat.chat_id else None)
    sockets = {
        "alice": Socket("u-alice"),
        "bob": Socket("u-bob"),
        "carol": Socket("u-carol"),
        "sam": Socket("u-sam", sees_every_chat=True),
    }
    leave = {name: notices.join("acme", socket) for name, socket in sockets.items()}
    notices.saw("acme", sockets["carol"], chat.chat_id)
    return Desk(bus, notices, chat, sockets, leave)


def test_a_chat_s_notice_goes_to_who_is_in_it_was_sent_it_or_supervises(desk: Desk) -> None:
    notice = {"chat_id": desk.chat.chat_id, "seq": desk.chat.record.last_seq}
    assert desk.handed(notice) == {"alice", "carol", "sam"}  # not Bob, in no such chat
    typing = {"chat_id": desk.chat.chat_id, "typing": {"by": "customer"}}
    assert desk.handed(typing) == {"alice", "carol", "sam"}


def test_a_notice_about_no_chat_or_a_lost_one_goes_to_everyone(desk: Desk) -> None:
    everyone = set(desk.sockets)
    assert desk.handed({"presence": {"user_id": "u-bob"}}) == everyone
    assert desk.handed({"resync": True}) == everyone
    assert desk.handed({"assigned": desk.chat.chat_id}) == everyone
    # Another node's chat, or one this node holds behind: who is in it is not known here.
    assert desk.handed({"chat_id": "elsewhere", "seq": 4}) == everyone
    ahead = desk.chat.record.last_seq + 1
    assert desk.handed({"chat_id": desk.chat.chat_id, "seq": ahead}) == everyone


def test_another_node_s_notice_goes_to_the_staff_it_names(desk: Desk) -> None:
    named = {"chat_id": "elsewhere", "seq": 4, "staff": ["u-bob", 7]}
    assert desk.handed(named) == {"bob", "sam"}
    ahead = desk.chat.record.last_seq + 1
    behind = {"chat_id": desk.chat.chat_id, "seq": ahead, "staff": ["u-bob"]}
    assert desk.handed(behind) == {"alice", "bob", "carol", "sam"}


def test_a_socket_done_with_a_chat_or_gone_is_handed_nothing_more(desk: Desk) -> None:
    notice = {"chat_id": desk.chat.chat_id, "seq": desk.chat.record.last_seq}
    desk.notices.forgot("acme", desk.sockets["carol"], desk.chat.chat_id)
    desk.leave["alice"]()
    assert desk.handed(notice) == {"sam"}
    assert desk.handed({"presence": {}}) == {"bob", "carol", "sam"}
    for name in ("bob", "carol", "sam"):
        desk.leave[name]()
    assert desk.bus.topics() == 0  # the company's last socket gone, its topic is let go
    desk.notices.saw("acme", desk.sockets["carol"], desk.chat.chat_id)  # too late: nothing
    assert desk.handed(notice) == set()
