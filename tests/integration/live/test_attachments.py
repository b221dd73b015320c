"""Files sent in chats, end to end through the live server (R23, R8, R12, R17, R18).

A customer (by the chat's token) and an agent in the chat (by their session) send files
over HTTP; the server reads each file's type from its bytes and refuses what the
company does not take, keeping nothing; everyone in the chat sees the file, only they
can download it; a file sent while paused is in no recording file, the others are
beside each recording with their size and SHA-256 in its sidecar; a suppressed chat
has none; a purge empties every file's bytes.
"""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from sqlalchemy import select

from chatrec.store.models import AttachmentRow
from chatrec.store.store import Store
from tests.integration.clients import Client, run
from tests.integration.live.test_live_recording import queued_to, recorded
from tests.integration.tenant import Tenant
from tests.keys import SECRETS

PHOTO = b"\x89PNG\r\n\x1a\n" + b"holiday-photo-bytes" * 10
TERMS = b"%PDF-1.7\n terms and conditions"
CARD = b"\x89PNG\r\n\x1a\n" + b"Zanzibar-card-scan"
"""Sent while paused: neither its bytes nor its name may reach a recording (R8)."""
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    return tenant


def customer_sends(server: Tenant, token: str, name: str, content: bytes) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/widget/attachments",
        params={"name": name},
        content=content,
        headers={"X-Chat-Token": token, "Content-Type": "image/png"},
    )


def staff_sends(
    server: Tenant, login: str, chat_id: str, name: str, content: bytes
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/chats/{chat_id}/attachments",
        params={"name": name},
        content=content,
        headers={"Authorization": f"Bearer {server.token(login)}"},
    )


def staff_reads(server: Tenant, login: str, chat_id: str, attachment_id: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/chats/{chat_id}/attachments/{attachment_id}",
        headers={"Authorization": f"Bearer {server.token(login)}"},
    )


def kept(server: Tenant, chat_id: str) -> list[bytes | None]:
    """The bytes the database holds of the chat's files, in the order sent."""
    store = Store(server.database_url, secrets=SECRETS)
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(
                select(AttachmentRow.content)
                .where(AttachmentRow.chat_id == chat_id)
                .order_by(AttachmentRow.created_at)
            )
            return [row[0] for row in rows]
    finally:
        store.close()


def test_R23_R8_files_from_both_sides_are_beside_the_recordings_but_not_the_paused_one(
    server: Tenant,
) -> None:
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat.update(id=chat_id, token=customer.token)
        sent = customer_sends(server, customer.token, "../My Photo.png", PHOTO)
        assert sent.status_code == 201, sent.text
        photo = sent.json()
        assert (photo["name"], photo["media_type"], photo["size"]) == (
            "My_Photo.png",
            "image/png",
            len(PHOTO),
        )
        assert photo["sha256"] == hashlib.sha256(PHOTO).hexdigest()
        assert photo["paused"] is False
        for client in (customer, alice):  # everyone in the chat sees it at once
            seen = await client.event(chat_id, lambda e: e["type"] == "attachment")
            assert seen["attachment_id"] == photo["attachment_id"]
            assert seen["by"]["role"] == "customer"
        chat["photo"] = photo["attachment_id"]
        terms = staff_sends(server, "alice", chat_id, "terms.pdf", TERMS)
        assert terms.status_code == 201, terms.text
        chat["terms"] = terms.json()["attachment_id"]
        await customer.event(chat_id, lambda e: e.get("name") == "terms.pdf")
        await alice.ok({"type": "pause", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["recording"] == "paused")
        card = customer_sends(server, customer.token, "card-scan.png", CARD)
        assert card.status_code == 201, card.text
        assert card.json()["paused"] is True
        chat["card"] = card.json()["attachment_id"]
        await alice.ok({"type": "resume", "chat_id": chat_id})
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    chat_id = chat["id"]
    files = recorded(server, chat_id)
    beside = {f.name.split(".att", 1)[1]: f.content for f in files if ".att" in f.name}
    assert sorted(beside) == ["1-My_Photo.png", "2-terms.pdf"]  # one flow, one agent recording
    attachments = [f for f in files if ".att" in f.name]
    assert len(attachments) == 4
    for file in files:  # R8: the paused file, bytes, name and hash, is in no file
        assert b"Zanzibar" not in file.content, file.path
        assert b"card-scan" not in file.content, file.path
        assert hashlib.sha256(CARD).hexdigest().encode() not in file.content, file.path
    sidecars = [json.loads(f.content) for f in files if f.path.endswith(".meta.json")]
    assert len(sidecars) == 2
    by_name = {f.name: f.content for f in attachments}
    for sidecar in sidecars:
        assert [a["sent_as"] for a in sidecar["attachments"]] == ["My_Photo.png", "terms.pdf"]
        for entry in sidecar["attachments"]:
            content = by_name[entry["name"]]
            assert entry["size"] == len(content)
            assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    manifests = [json.loads(f.content) for f in files if f.path.endswith(".manifest.json")]
    for manifest in manifests:  # R21: signed with the rest
        assert {f["name"] for f in manifest["files"]} >= {
            n for n in by_name if n.startswith(manifest["base"])
        }

    # Downloads: the customer by token, staff who took part; nobody else (R18).
    token = chat["token"]
    photo = httpx.get(
        f"{server.url}/api/widget/attachments/{chat['photo']}", headers={"X-Chat-Token": token}
    )
    assert photo.status_code == 200, photo.text
    assert photo.content == PHOTO
    assert photo.headers["content-type"] == "image/png"
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert photo.headers["content-disposition"].startswith("inline")
    terms = staff_reads(server, "alice", chat_id, chat["terms"])
    assert terms.status_code == 200
    assert terms.content == TERMS
    assert terms.headers["content-disposition"] == 'attachment; filename="terms.pdf"'
    assert staff_reads(server, "sam", chat_id, chat["card"]).content == CARD  # supervisor
    assert staff_reads(server, "bob", chat_id, chat["photo"]).status_code == 404  # not in it
    anonymous = httpx.get(f"{server.url}/api/chats/{chat_id}/attachments/{chat['photo']}")
    assert anonymous.status_code == 401
    wrong = httpx.get(
        f"{server.url}/api/widget/attachments/{chat['photo']}", headers={"X-Chat-Token": "x"}
    )
    assert wrong.status_code == 404

    # R17: a purge empties the bytes of every file, the paused one too.
    assert kept(server, chat_id) == [PHOTO, TERMS, CARD]
    store = Store(server.database_url, secrets=SECRETS)
    try:
        store.purge_message_bodies(chat_id)
    finally:
        store.close()
    assert kept(server, chat_id) == [None, None, None]
    gone = staff_reads(server, "alice", chat_id, chat["photo"])
    assert gone.status_code == 404
    assert "purged" in gone.json()["error"]["message"]


def test_R23_a_file_the_company_does_not_take_is_refused_naming_the_limit_and_kept_nowhere(
    server: Tenant,
) -> None:
    server.set_company(attachment_max_bytes=1024, attachment_types=["image/png", "image/jpeg"])
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        disguised = customer_sends(server, customer.token, "photo.png", TERMS)  # PDF bytes
        assert disguised.status_code == 415, disguised.text
        assert disguised.json()["error"]["code"] == "attachment_type"
        assert "application/pdf" in disguised.json()["error"]["message"]
        program = staff_sends(server, "alice", chat_id, "photo.png", EXE)
        assert program.status_code == 415
        assert "does not recognise" in program.json()["error"]["message"]
        big = customer_sends(server, customer.token, "big.png", PHOTO * 10)
        assert big.status_code == 413, big.text
        assert "at most 1 KB (1024 bytes)" in big.json()["error"]["message"]
        empty = customer_sends(server, customer.token, "empty.png", b"")
        assert empty.status_code == 422
        outsider = staff_sends(server, "bob", chat_id, "photo.png", PHOTO)
        assert outsider.status_code == 404  # not a chat of Bob's
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")
        assert not [e for e in alice.events(chat_id) if e["type"] == "attachment"]
        after = customer_sends(server, customer.token, "late.png", PHOTO)
        assert after.status_code == 409  # the chat has ended

    try:
        run(scenario)
    finally:
        server.set_company(
            attachment_max_bytes=10 * 1024 * 1024,
            attachment_types=[
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
                "text/plain",
            ],
        )
    assert kept(server, chat["id"]) == []


def test_R23_a_company_may_turn_attachments_off(server: Tenant) -> None:
    server.set_company(attachments_enabled=False)

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        refused = customer_sends(server, customer.token, "photo.png", PHOTO)
        assert refused.status_code == 422
        assert "does not take attachments" in refused.json()["error"]["message"]
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    try:
        run(scenario)
    finally:
        server.set_company(attachments_enabled=True)


def test_R12_R23_a_suppressed_chat_delivers_no_attachment(server: Tenant) -> None:
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        assert customer_sends(server, customer.token, "photo.png", PHOTO).status_code == 201
        await alice.event(chat_id, lambda e: e["type"] == "attachment")
        await alice.ok({"type": "delete_recording", "chat_id": chat_id})
        await alice.ok({"type": "end", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    assert recorded(server, chat["id"]) == []


def test_R18_an_agent_not_in_the_chat_cannot_send_into_it(server: Tenant) -> None:
    async def scenario() -> None:
        customer, _, chat_id = await Client.customer(server, server.id("demo-support"))
        refused = staff_sends(server, "alice", chat_id, "photo.png", PHOTO)
        assert refused.status_code == 404  # an agent sees only the chats they are in
        await customer.ok({"type": "end"})

    run(scenario)
