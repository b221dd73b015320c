"""The in-process fan-out: notices reach subscribers of a topic only, until they leave."""

from __future__ import annotations

from typing import Any

from chatrec.live.bus import InProcessFanout, chat_topic, company_topic, user_topic


def test_notices_reach_only_subscribers_of_the_topic_until_unsubscribed() -> None:
    bus = InProcessFanout()
    got: list[tuple[str, dict[str, Any]]] = []
    leave = bus.subscribe(chat_topic("c1"), lambda topic, notice: got.append((topic, notice)))
    bus.publish(chat_topic("c1"), {"seq": 1})
    bus.publish(chat_topic("c2"), {"seq": 9})
    leave()
    leave()
    bus.publish(chat_topic("c1"), {"seq": 2})
    assert got == [("chat:c1", {"seq": 1})]
    assert bus.topics() == 0
    assert company_topic("acme") == "company:acme"
    assert user_topic("u1") == "user:u1"
