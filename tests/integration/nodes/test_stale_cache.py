"""A node that cached a chat early serves it as committed, not as it cached it (R20).

The widget's ``POST /api/chats`` and its socket may reach different nodes: the node
that opened the chat caches it, the customer moves it on through another, and no
notice reaches the first node's cache while none of its clients follows the chat.  A
supervisor signing in there later, or the customer reconnecting there, must get the
chat as committed.  Each connection goes to a node directly, so the path is the same
at every run.

After a Redis restart the same holds: every node's listeners are woken with a
``resync`` notice, and each client must then get what other nodes committed while
Redis was away, without waiting for the chat's next event.
"""

from __future__ import annotations

import asyncio

import httpx

from chatrec.domain.journal import MessagePosted
from tests.cluster import Cluster, run_with
from tests.integration.clients import Client
from tests.integration.nodes.test_through_balancer import no_event_twice, queued


async def opened_on_one_queued_through_two(rig: Cluster) -> tuple[Client, str, str]:
    one, two = rig.nodes[0], rig.nodes[1]
    async with httpx.AsyncClient(base_url=one.url) as http:
        body = (await http.post("/api/chats", json={"service_id": "demo-support"})).json()
    chat_id, token = body["chat_id"], body["token"]
    customer = await Client.open(f"{two.ws_url}/ws/customer", {"token": token})
    customer.token = token
    await customer.state(chat_id, lambda c: c["choices"] is not None)
    await customer.ok({"type": "message", "text": "Billing"})
    await customer.state(chat_id, lambda c: c["status"] == "queued")
    return customer, chat_id, token


def test_R20_a_supervisor_signing_in_on_the_node_that_opened_the_chat_sees_it_as_committed(
    nodes: Cluster,
) -> None:
    rig = nodes

    async def scenario() -> None:
        _, chat_id, _ = await opened_on_one_queued_through_two(rig)
        sam = await rig.staff("sam", via=rig.nodes[0])
        summary = await sam.state(chat_id, lambda c: True)
        assert (summary["status"], summary["last_seq"]) == ("queued", 7)
        assert "Billing" in sam.texts(chat_id)

    run_with(scenario)


def test_R20_a_customer_reconnecting_to_the_node_that_opened_the_chat_sees_it_as_committed(
    nodes: Cluster,
) -> None:
    rig = nodes

    async def scenario() -> None:
        customer, chat_id, token = await opened_on_one_queued_through_two(rig)
        since = max(f["seq"] for f in customer.frames if f["type"] == "event")
        await customer.close()
        back = await Client.open(
            f"{rig.nodes[0].ws_url}/ws/customer", {"token": token, "last_seq": since}
        )
        summary = await back.state(chat_id, lambda c: True)
        assert (summary["status"], summary["choices"]) == ("queued", None)
        assert summary["last_seq"] == since

    run_with(scenario)


def test_R20_R8_a_supervisor_resumes_on_the_node_that_opened_the_chat_what_he_paused_elsewhere(
    nodes: Cluster,
) -> None:
    rig = nodes

    async def scenario() -> None:
        customer, chat_id, _ = await opened_on_one_queued_through_two(rig)
        sam = await rig.staff("sam", via=rig.nodes[1])
        await sam.ok({"type": "join", "chat_id": chat_id})
        await sam.ok({"type": "pause", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["recording"] == "paused")
        await sam.close()
        again = await rig.staff("sam", via=rig.nodes[0])
        answer = await again.send({"type": "resume", "chat_id": chat_id})
        assert answer["type"] == "ack", answer
        await customer.state(chat_id, lambda c: c["recording"] == "recording")

    run_with(scenario)


def test_R20_after_a_redis_restart_clients_on_every_node_catch_up_without_a_new_event(
    nodes: Cluster,
) -> None:
    rig = nodes

    async def scenario() -> str:
        customer, chat_id = await queued(rig)
        home = rig.node_of(customer)
        other = next(node for node in rig.nodes if node is not home)
        sam = await rig.staff("sam", via=other)
        await sam.ok({"type": "join", "chat_id": chat_id})
        await customer.event(chat_id, lambda e: e["type"] == "joined")
        rig.redis.stop()
        await asyncio.to_thread(
            rig.until,
            lambda: all(n.health().get("redis") == "lost" for n in rig.nodes),
            "every node says Redis is lost",
        )
        # Each node serves its own clients alone.
        await customer.ok({"type": "message", "text": "while Redis is away"})
        await sam.ok({"type": "message", "chat_id": chat_id, "text": "Sam, also while away"})
        await customer.event(chat_id, lambda e: e.get("text") == "while Redis is away")
        rig.redis.start()
        await asyncio.to_thread(
            rig.until,
            lambda: all(n.health().get("redis") == "connected" for n in rig.nodes),
            "every node says Redis is back",
        )
        # Back: each side catches up by sequence on what the other node committed.
        await customer.event(chat_id, lambda e: e.get("text") == "Sam, also while away")
        await sam.event(chat_id, lambda e: e.get("text") == "while Redis is away")
        await customer.ok({"type": "message", "text": "after"})
        await sam.event(chat_id, lambda e: e.get("text") == "after")
        await customer.ok({"type": "end"})
        await sam.state(chat_id, lambda c: c["status"] == "ended")
        no_event_twice(customer, chat_id)
        no_event_twice(sam, chat_id)
        return chat_id

    chat_id = run_with(scenario)
    journal = rig.journal(chat_id)
    assert [seq for seq, _ in journal] == list(range(1, len(journal) + 1))
    texts = [event.text for _, event in journal if isinstance(event, MessagePosted)]
    for said in ("while Redis is away", "Sam, also while away", "after"):
        assert texts.count(said) == 1
