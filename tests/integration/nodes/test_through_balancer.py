"""Three nodes behind nginx serve one chat together (R20): a customer and a supervisor on
different nodes see the same chat; the supervisor pauses on one node and resumes on
another; the nodes are listed; a Redis restart loses nothing; a chat queued on one
node goes to the agent waiting on another.

Real parts throughout (tests/cluster.py): ``chatrec serve`` processes on a PostgreSQL
database and a ``redis-server`` of the module's own, behind nginx.  The agent's test
comes last and sets her Away again: the other tests' chats wait in the queue.
"""

from __future__ import annotations

import asyncio

import httpx

from chatrec.domain.journal import (
    AgentAssigned,
    ChatEnded,
    MessagePosted,
    RecordingPaused,
    RecordingResumed,
)
from tests.cluster import Cluster, run_with
from tests.harness import run_chatrec
from tests.integration.clients import Client


async def queued(rig: Cluster) -> tuple[Client, str]:
    """A customer through the balancer, past the support flow, waiting in the queue."""
    customer, chat_id = await rig.customer()
    await customer.state(chat_id, lambda c: c["choices"] is not None)
    await customer.ok({"type": "message", "text": "Billing"})
    await customer.state(chat_id, lambda c: c["status"] == "queued")
    return customer, chat_id


def no_event_twice(client: Client, chat_id: str) -> list[int]:
    """The sequence numbers a client received for a chat, checked to be unique."""
    seqs = [f["seq"] for f in client.frames if f["type"] == "event" and f["chat_id"] == chat_id]
    assert len(seqs) == len(set(seqs)), f"an event reached the client twice: {seqs}"
    return seqs


def test_R20_R8_R12a_customer_and_supervisor_on_different_nodes_pause_on_one_resume_on_another(
    nodes: Cluster,
) -> None:
    rig = nodes

    async def scenario() -> str:
        customer, chat_id = await queued(rig)
        home = rig.node_of(customer)
        # Not the node that answered the widget's POST either: its copy of the chat is
        # stale until a notice reaches it while a client there follows the chat (a bug
        # reported with issue 12, its reproduction comes with the fix).
        opened = rig.opened_on[chat_id].port
        sam = await rig.through_balancer(lambda: rig.staff("sam"), avoid={home.port, opened})
        pausing = rig.node_of(sam)
        await sam.state(chat_id, lambda c: c["status"] == "queued")
        await customer.ok({"type": "message", "text": "Hello from the customer"})
        await sam.event(chat_id, lambda e: e.get("text") == "Hello from the customer")
        await sam.ok({"type": "join", "chat_id": chat_id})
        await customer.event(chat_id, lambda e: e["type"] == "joined")
        await sam.ok({"type": "message", "chat_id": chat_id, "text": "Sam here"})
        await customer.event(chat_id, lambda e: e.get("text") == "Sam here")
        await sam.ok({"type": "pause", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["recording"] == "paused")
        await customer.ok({"type": "message", "text": "said while paused"})
        await sam.event(chat_id, lambda e: e.get("text") == "said while paused")
        await sam.close()
        # His portal reconnects; the balancer takes it to yet another node.
        again = await rig.through_balancer(lambda: rig.staff("sam"), avoid={pausing.port, opened})
        await again.state(chat_id, lambda c: c["recording"] == "paused")
        await again.ok({"type": "resume", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["recording"] == "recording")
        await customer.ok({"type": "message", "text": "Thanks"})
        await again.event(chat_id, lambda e: e.get("text") == "Thanks")
        await again.ok({"type": "end", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["status"] == "ended")
        said = ["Billing", "Hello from the customer", "Sam here", "said while paused", "Thanks"]
        assert customer.texts(chat_id) == again.texts(chat_id)  # the flow's too
        assert [text for text in customer.texts(chat_id) if text in said] == said
        no_event_twice(customer, chat_id)
        no_event_twice(again, chat_id)
        return chat_id

    chat_id = run_with(scenario)
    journal = rig.journal(chat_id)
    assert [seq for seq, _ in journal] == list(range(1, len(journal) + 1))
    kinds = [type(event) for _, event in journal]
    assert kinds.count(RecordingPaused) == kinds.count(RecordingResumed) == 1
    assert kinds.count(ChatEnded) == 1
    texts = [event.text for _, event in journal if isinstance(event, MessagePosted)]
    assert sorted(texts) == sorted(set(texts))  # each message once


def test_R20_the_three_nodes_are_listed_by_the_command_and_the_api(nodes: Cluster) -> None:
    rig = nodes
    pids = {node.pid for node in rig.nodes}
    listed = run_chatrec(
        *("nodes", "--database-url", rig.database_url, "--data-dir", str(rig.folder / "cli")),
        env=rig.chatrec_env(),
    )
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()[1:]
    assert {int(row.split()[2]) for row in rows} == pids
    answer = httpx.get(
        f"{rig.balancer.url}/api/admin/nodes",
        headers={"Authorization": f"Bearer {rig.token('olga')}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert sorted(node["pid"] for node in answer.json()) == sorted(pids)


async def through_a_redis_restart(rig: Cluster) -> tuple[Client, Client, str]:
    """A queued customer and Sam joined from another node; Redis stopped until every
    node says so, one message each meanwhile (each node serving its own clients
    alone), then Redis started until every node says it is back."""
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
    return customer, sam, chat_id


def test_R20_a_redis_restart_mid_chat_each_node_serves_its_own_and_the_next_event_brings_all(
    nodes: Cluster,
) -> None:
    rig = nodes

    async def scenario() -> str:
        customer, sam, chat_id = await through_a_redis_restart(rig)
        # Back: the chat's next notice brings each side what the other node committed
        # meanwhile, by sequence (without a next event too: the test after the next).
        await customer.ok({"type": "message", "text": "after"})
        await sam.event(chat_id, lambda e: e.get("text") == "after")
        await sam.ok({"type": "message", "chat_id": chat_id, "text": "and Sam after"})
        await customer.event(chat_id, lambda e: e.get("text") == "and Sam after")
        assert "Sam, also while away" in customer.texts(chat_id)
        assert "while Redis is away" in sam.texts(chat_id)
        await customer.ok({"type": "end"})
        await sam.state(chat_id, lambda c: c["status"] == "ended")
        no_event_twice(customer, chat_id)
        no_event_twice(sam, chat_id)
        return chat_id

    chat_id = run_with(scenario)
    journal = rig.journal(chat_id)
    assert [seq for seq, _ in journal] == list(range(1, len(journal) + 1))
    texts = [event.text for _, event in journal if isinstance(event, MessagePosted)]
    for said in ("while Redis is away", "Sam, also while away", "after", "and Sam after"):
        assert texts.count(said) == 1


def test_R20_a_chat_queued_on_node_one_is_assigned_to_the_agent_on_node_two(
    nodes: Cluster,
) -> None:
    rig = nodes
    one, two = rig.nodes[0], rig.nodes[1]

    async def scenario() -> str:
        alice = await rig.staff("alice", via=two)
        await alice.ok({"type": "presence", "available": True})
        try:
            customer, chat_id = await rig.customer(via=one)
            await customer.state(chat_id, lambda c: c["choices"] is not None)
            await customer.ok({"type": "message", "text": "Billing"})
            await alice.state(chat_id, lambda c: c["status"] == "active")
            await customer.event(chat_id, lambda e: e["type"] == "joined")
            await alice.ok({"type": "message", "chat_id": chat_id, "text": "Alice, from two"})
            await customer.event(chat_id, lambda e: e.get("text") == "Alice, from two")
            await customer.ok({"type": "end"})
            await alice.state(chat_id, lambda c: c["status"] == "ended")
        finally:
            await alice.ok({"type": "presence", "available": False})
        return chat_id

    chat_id = run_with(scenario)
    joins = [e for _, e in rig.journal(chat_id) if isinstance(e, AgentAssigned)]
    assert [join.actor.user_id for join in joins] == ["demo-alice"]


# -- a node that cached a chat early serves it as committed, not as it cached it -------
#
# A node that cached a chat early serves it as committed, not as it cached it (R20).
#
# The widget's ``POST /api/chats`` and its socket may reach different nodes: the node
# that opened the chat caches it, the customer moves it on through another, and no
# notice reaches the first node's cache while none of its clients follows the chat.  A
# supervisor signing in there later, or the customer reconnecting there, must get the
# chat as committed.  Each connection goes to a node directly, so the path is the same
# at every run.
#
# After a Redis restart the same holds: every node's listeners are woken with a
# ``resync`` notice, and each client must then get what other nodes committed while
# Redis was away, without waiting for the chat's next event.


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
        customer, sam, chat_id = await through_a_redis_restart(rig)
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
