"""A node killed with SIGKILL, and the database's connections cut, mid-chat (R20): the
customer reconnects through the balancer to another node and goes on from their last
sequence number; every acknowledged message is in the journal once, numbered without
gaps.  Real processes throughout (tests/cluster.py); the module's rig starts a killed
node again after each test.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import datetime

import httpx
from typer.testing import CliRunner

from chatrec.cli import app
from chatrec.domain.chain import check_chain
from chatrec.domain.journal import AgentAssigned, ChatEnded, MessagePosted
from chatrec.simulate.client import ClientError
from chatrec.store.records import DeliveryRecord, DeliveryState
from chatrec.store.store import Store
from tests.balancer import UPSTREAM_HEADER
from tests.cluster import Cluster, run_with
from tests.integration.clients import Client
from tests.integration.nodes.test_through_balancer import no_event_twice, queued
from tests.keys import SECRETS


async def joined_by_sam(rig: Cluster) -> tuple[Client, Client, str]:
    """A queued customer through the balancer, and Sam joined from another node."""
    customer, chat_id = await queued(rig)
    home = rig.node_of(customer)
    # On the node that answered the widget's POST, if it is another: that node's copy
    # was made before the customer moved on elsewhere (tests/integration/nodes/
    # test_through_balancer.py checks it is caught up).
    opened = rig.opened_on[chat_id]
    there = opened if opened is not home else next(n for n in rig.nodes if n is not home)
    sam = await rig.staff("sam", via=there)
    await sam.ok({"type": "join", "chat_id": chat_id})
    await customer.event(chat_id, lambda e: e["type"] == "joined")
    return customer, sam, chat_id


REFUSED: dict[str, str] = {}
"""Text -> why it was not acknowledged: ``<code>: <message>``."""
RETRY_LATER = "store_unavailable"
"""The code of a frame the database failed: nothing of it was stored; send it again."""


async def say(client: Client, text: str, acked: dict[str, int], chat_id: str | None = None) -> None:
    """Send a message; note its number if the server acknowledged it."""
    frame = {"type": "message", "text": text} | ({"chat_id": chat_id} if chat_id else {})
    try:
        answer = await client.send(frame)
    except ClientError as error:  # the connection died under it: not acknowledged
        REFUSED[text] = f"{error.code}: {error}"
        return
    if answer["type"] == "ack":
        acked[text] = answer["seq"]
        REFUSED.pop(text, None)  # refused before, stored now: sent again
    else:
        REFUSED[text] = f"{answer.get('code')}: {answer.get('message')}"


def last_seen(client: Client, chat_id: str) -> int:
    return max(no_event_twice(client, chat_id), default=0)


def check_journal(rig: Cluster, chat_id: str, acked: dict[str, int]) -> None:
    """Numbers 1..n; each acknowledged message once, under the number its ack gave; a
    message refused as ``store_unavailable`` not at all (nothing of it was stored)."""
    journal = rig.journal(chat_id)
    assert [seq for seq, _ in journal] == list(range(1, len(journal) + 1))
    posted = [(seq, e.text) for seq, e in journal if isinstance(e, MessagePosted)]
    texts = [text for _, text in posted]
    assert len(texts) == len(set(texts)), f"a message is in the journal twice: {texts}"
    assert {text: seq for seq, text in posted if text in acked} == acked
    failed = {text for text, why in REFUSED.items() if why.startswith(f"{RETRY_LATER}:")}
    assert not failed & set(texts), f"refused as not stored, yet stored: {failed & set(texts)}"


async def say_until_acked(client: Client, text: str, acked: dict[str, int]) -> None:
    """What a client does with a frame the database failed: send it again, a few times."""
    for _ in range(5):
        await say(client, text, acked)
        if text in acked or not REFUSED.get(text, "").startswith(f"{RETRY_LATER}:"):
            return
        await asyncio.sleep(0.2)


def port_of(rig: Cluster, client: Client) -> int:
    """The port of the node a client is on, whether it came through the balancer or not."""
    if client.ws.response is not None and UPSTREAM_HEADER in client.ws.response.headers:
        return rig.node_of(client).port
    return int(client.ws.remote_address[1])


def delivered(rig: Cluster, chat_id: str, timeout: float = 60) -> list[DeliveryRecord]:
    """The chat's deliveries once the workers delivered every one of them."""
    store = Store(rig.database_url, secrets=SECRETS)
    try:
        deadline = time.monotonic() + timeout
        while True:
            mine = [d for d in store.list_deliveries(limit=1000) if d.chat_id == chat_id]
            if mine and all(d.state is DeliveryState.DELIVERED for d in mine):
                return mine
            assert time.monotonic() < deadline, f"not all delivered: {mine}"
            time.sleep(0.2)
    finally:
        store.close()


def sidecars_of(files: list[DeliveryRecord]) -> list[DeliveryRecord]:
    return [d for d in files if d.remote_path.endswith(".meta.json")]


def test_R20_a_chat_served_by_three_nodes_is_transferred_and_delivered_once(
    nodes: Cluster,
) -> None:
    """Customer on one node, Alice on another, Carol on the third: messages, a pause on
    one node resumed on another, a transfer across nodes, a deletion request, the end;
    then every file the end produced is on the platform once, as its sidecar says."""
    rig = nodes
    one, two, three = rig.nodes

    async def scenario() -> str:
        alice = await rig.staff("alice", via=two)
        carol = await rig.staff("carol", via=three)
        try:
            await alice.ok({"type": "presence", "available": True})
            customer, chat_id = await rig.customer(via=one)
            await customer.state(chat_id, lambda c: c["choices"] is not None)
            await customer.ok({"type": "message", "text": "Billing"})
            await alice.state(chat_id, lambda c: c["status"] == "active")
            await alice.ok({"type": "message", "chat_id": chat_id, "text": "Alice on two"})
            await customer.event(chat_id, lambda e: e.get("text") == "Alice on two")
            await alice.ok({"type": "pause", "chat_id": chat_id})
            await customer.state(chat_id, lambda c: c["recording"] == "paused")
            await customer.ok({"type": "message", "text": "my password is Zanzibar-7731"})
            await carol.ok({"type": "presence", "available": True})
            await alice.ok({"type": "transfer", "chat_id": chat_id, "to_agent": "demo-carol"})
            await carol.state(chat_id, lambda c: c["status"] == "active")
            await carol.ok({"type": "resume", "chat_id": chat_id})  # on three, paused on two
            await customer.state(chat_id, lambda c: c["recording"] == "recording")
            await customer.ok({"type": "request_deletion"})
            await carol.state(chat_id, lambda c: c["deletion_requested"])  # R9: she sees it
            await carol.ok({"type": "message", "chat_id": chat_id, "text": "Carol on three"})
            await customer.event(chat_id, lambda e: e.get("text") == "Carol on three")
            await carol.ok({"type": "end", "chat_id": chat_id})
            await customer.state(chat_id, lambda c: c["status"] == "ended")
        finally:
            for agent in (alice, carol):
                await agent.ok({"type": "presence", "available": False})
        return chat_id

    chat_id = run_with(scenario)
    journal = rig.journal(chat_id)
    assert [seq for seq, _ in journal] == list(range(1, len(journal) + 1))
    joins = [e.actor.user_id for _, e in journal if isinstance(e, AgentAssigned)]
    assert joins == ["demo-alice", "demo-carol"]
    assert sum(isinstance(e, ChatEnded) for _, e in journal) == 1
    store = Store(rig.database_url, secrets=SECRETS)
    try:  # R21: chained as committed, whichever node committed each event
        chained = check_chain(chat_id, store.journal_chain(chat_id))
    finally:
        store.close()
    assert (chained.problems, chained.unchained, chained.events) == ((), 0, len(journal))
    files = delivered(rig, chat_id)
    assert rig.platform is not None
    folder = rig.platform.folder
    on_platform = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and (chat_id in p.name or p.parent.name == "keys")
    )
    # Each once, none half; the company's key, beside every recording, is one file (R21).
    assert on_platform == sorted({d.remote_path for d in files})
    proved = CliRunner().invoke(app, ["verify", str(folder)])  # R21, offline
    assert proved.exit_code == 0, proved.output
    assert proved.stdout.count(f"of chat {chat_id},") == len(sidecars_of(files))
    for d in files:
        content = (folder / d.remote_path).read_bytes()
        assert (len(content), hashlib.sha256(content).hexdigest()) == (d.size, d.sha256)
        assert b"Zanzibar" not in content  # said while paused (R8), paused on another node
    sidecars = [d for d in files if d.remote_path.endswith(".meta.json")]
    assert sidecars
    for sidecar in sidecars:
        meta = json.loads((folder / sidecar.remote_path).read_bytes())
        for entry in meta["files"]:
            named = (folder / sidecar.remote_path).parent / entry["name"]
            content = named.read_bytes()
            assert (len(content), hashlib.sha256(content).hexdigest()) == (
                entry["size"],
                entry["sha256"],
            )


def test_R20_a_killed_node_s_customer_reconnects_through_the_balancer_losing_nothing(
    nodes: Cluster,
) -> None:
    rig = nodes
    acked: dict[str, int] = {}

    async def scenario() -> str:
        customer, sam, chat_id = await joined_by_sam(rig)
        home = rig.node_of(customer)
        burst = [asyncio.create_task(say(customer, f"before {i}", acked)) for i in range(12)]
        while len(acked) < 3:
            await asyncio.sleep(0.005)
        await asyncio.to_thread(home.kill)  # mid-burst
        await asyncio.gather(*burst)
        assert 3 <= len(acked) <= 12
        await sam.ok({"type": "message", "chat_id": chat_id, "text": "while you were away"})
        # The widget reconnects through the balancer, from the last number it saw.
        since = last_seen(customer, chat_id)
        moved = await Client.open(
            f"{rig.balancer.ws_url}/ws/customer", {"token": customer.token, "last_seq": since}
        )
        assert rig.node_of(moved) is not home
        await moved.event(chat_id, lambda e: e.get("text") == "while you were away")
        assert min(no_event_twice(moved, chat_id)) > since
        await say(moved, "back again", acked)
        assert "back again" in acked, REFUSED.get("back again")
        await sam.event(chat_id, lambda e: e.get("text") == "back again")
        for text in acked:  # the supervisor, on a live node, saw every acknowledged one
            assert text in sam.texts(chat_id)
        await moved.ok({"type": "end"})
        await sam.state(chat_id, lambda c: c["status"] == "ended")
        return chat_id

    chat_id = run_with(scenario)
    check_journal(rig, chat_id, acked)


def test_R20_R16_nodes_killed_one_after_another_mid_burst_lose_nothing_from_the_recording(
    nodes: Cluster,
) -> None:
    """Three times: the customer's node is killed mid-burst, the customer comes back
    through the balancer, the node starts again.  Every acknowledged message is in the
    journal once and in the delivered recording."""
    rig = nodes
    acked: dict[str, int] = {}

    async def scenario() -> str:
        customer, sam, chat_id = await joined_by_sam(rig)
        for round_ in range(3):
            home = rig.node_of(customer)
            burst = [
                asyncio.create_task(say(customer, f"round {round_} message {i}", acked))
                for i in range(8)
            ]
            while sum(text.startswith(f"round {round_} ") for text in acked) < 2:
                await asyncio.sleep(0.005)
            sam_too = port_of(rig, sam) == home.port
            await asyncio.to_thread(home.kill)
            await asyncio.gather(*burst)
            if sam_too:  # his portal reconnects too, through the balancer
                sam = await rig.staff("sam")
            since, token = last_seen(customer, chat_id), customer.token
            customer = await Client.open(
                f"{rig.balancer.ws_url}/ws/customer", {"token": token, "last_seq": since}
            )
            customer.token = token
            await asyncio.to_thread(rig.ensure_all_running)
        await say(customer, "all done", acked)
        await sam.event(chat_id, lambda e: e.get("text") == "all done")
        await customer.ok({"type": "end"})
        await sam.state(chat_id, lambda c: c["status"] == "ended")
        return chat_id

    chat_id = run_with(scenario)
    check_journal(rig, chat_id, acked)
    assert rig.platform is not None
    texts = [
        (rig.platform.folder / d.remote_path).read_text()
        for d in delivered(rig, chat_id)
        if d.format == "text"
    ]
    assert texts, "no text recording was delivered"
    for recording in texts:
        for said in acked:
            assert said in recording, f"{said!r} acknowledged, missing from the recording"


def test_R20_database_connections_cut_mid_chat_nodes_reconnect_and_keep_what_they_acked(
    nodes: Cluster,
) -> None:
    rig = nodes
    acked: dict[str, int] = {}

    async def scenario() -> tuple[str, datetime]:
        customer, sam, chat_id = await joined_by_sam(rig)
        await say(customer, "before the cut", acked)
        burst = [
            *(asyncio.create_task(say(customer, f"customer {i}", acked)) for i in range(6)),
            *(asyncio.create_task(say(sam, f"sam {i}", acked, chat_id)) for i in range(6)),
        ]
        ended = await asyncio.to_thread(rig.database.terminate_connections)
        cut_at = await asyncio.to_thread(database_now, rig)
        await asyncio.gather(*burst)
        assert ended > 0
        # The nodes reconnect: a frame refused as store_unavailable (a connection that
        # died as it was used) is served when sent again, as docs/protocol.md says.
        for text in ("after the cut", "and once more"):
            await say_until_acked(customer, text, acked)
            assert text in acked, f"{text!r} was refused after the cut: {REFUSED.get(text)}"
        await sam.event(chat_id, lambda e: e.get("text") == "and once more")
        await customer.ok({"type": "end"})
        await sam.state(chat_id, lambda c: c["status"] == "ended")
        return chat_id, cut_at

    chat_id, cut_at = run_with(scenario)
    check_journal(rig, chat_id, acked)
    assert "before the cut" in acked
    # Every node's heartbeat reached the database again after the cut.
    rig.until(lambda: beats_after(rig, cut_at) == len(rig.nodes), "every node beats again")


def database_now(rig: Cluster) -> datetime:
    import psycopg

    with psycopg.connect(rig.database.admin_dsn, autocommit=True) as connection:
        row = connection.execute("SELECT now()").fetchone()
    assert row is not None
    now: datetime = row[0]
    return now


def beats_after(rig: Cluster, moment: datetime) -> int:
    answer = httpx.get(
        f"{rig.balancer.url}/api/admin/nodes",
        headers={"Authorization": f"Bearer {rig.token('olga')}"},
        timeout=10,
    )
    answer.raise_for_status()
    return sum(datetime.fromisoformat(n["heartbeat_at"]) > moment for n in answer.json())


def test_R20_a_node_says_the_database_is_unreachable_and_serves_again_when_it_returns(
    nodes: Cluster,
) -> None:
    rig = nodes
    node = rig.nodes[0]
    assert node.health()["database"] == "ok"
    rig.database.allow_connections(False)
    try:
        rig.database.terminate_connections()
        rig.until(lambda: node.health()["database"] == "unreachable", "health says unreachable")
        answer = httpx.get(f"{node.url}/api/health", timeout=5)
        assert answer.status_code == 503  # a balancer's health check sends nobody here
        assert answer.json()["status"] == "unavailable"
        assert "database_since" in answer.json()
    finally:
        rig.database.allow_connections(True)
    rig.until(lambda: node.health()["database"] == "ok", "health says the database is back")
    assert httpx.get(f"{node.url}/api/health", timeout=5).status_code == 200
