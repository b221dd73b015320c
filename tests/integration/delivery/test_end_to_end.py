"""Chats through the live server land on the demo platform's real sshd (R15, R16, R17).

The server runs `chatrec demo` with its local recording platform (OpenSSH sshd when
installed); what the tests read is the platform's folder, as a QA system would.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from chatrec.cli import app
from chatrec.store.store import Store
from tests.integration.clients import run
from tests.integration.live.test_live_recording import SECRET, queued_to
from tests.integration.server import SeededDemo, ServerProcess
from tests.keys import SECRETS
from tests.vcon_library import read_with_vcon_library


@pytest.fixture
def server(database_url: str, tmp_path: Path, seeded_demo: SeededDemo) -> Iterator[ServerProcess]:
    if database_url.startswith("sqlite"):  # seeded already: the platform is set at start
        database_url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    # The default egress policy, which refuses loopback: `chatrec demo` allows exactly its
    # own platform's address and port, as `make run` relies on.
    process = ServerProcess(
        tmp_path / "data", database_url, platform=True, env={"CHATREC_EGRESS_ALLOW": ""}
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()
        process.stop_platform()


def landed(server: ServerProcess, chat_id: str, count: int, timeout: float = 60) -> list[Path]:
    """The chat's files on the platform once ``count`` of them are there (no .part)."""
    folder = server.data_dir / "platform"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [
            p
            for p in folder.rglob("*")
            if p.is_file() and chat_id in p.name and not p.name.endswith(".part")
        ]
        if len(found) >= count:
            return sorted(found)
        time.sleep(0.2)
    raise AssertionError(f"only {sorted(folder.rglob('*'))} arrived for {chat_id}")


def test_R15_R16_a_chat_s_recordings_arrive_complete_and_readable_by_their_consumers(
    server: ServerProcess,
) -> None:
    token = server.token("ada")
    auth = {"Authorization": f"Bearer {token}"}
    tested = httpx.post(f"{server.url}/api/admin/destination/test", json={}, headers=auth)
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"], tested.text
    # A QA platform built on the vCon project's Python library reads the older drafts.
    answer = httpx.patch(
        f"{server.url}/api/admin/companies/demo", json={"vcon_draft": "container"}, headers=auth
    )
    assert answer.status_code == 200, answer.text
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        await customer.ok({"type": "message", "text": "Hello, I have a question."})
        await alice.ok({"type": "pause", "chat_id": chat_id})
        await customer.ok({"type": "message", "text": f"card {SECRET}"})
        await alice.ok({"type": "resume", "chat_id": chat_id})
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    # Two recordings (flow and Alice's), four formats, a signed manifest and a sidecar
    # each (R21), and the company's key in keys/.
    files = landed(server, chat["id"], 12)
    assert not list((server.data_dir / "platform").rglob("*.part"))  # never half (R16)
    sidecars = [p for p in files if p.name.endswith(".meta.json")]
    assert len(sidecars) == 2
    for sidecar in sidecars:
        meta = json.loads(sidecar.read_bytes())
        for entry in meta["files"]:
            delivered = sidecar.parent / entry["name"]
            content = delivered.read_bytes()
            assert len(content) == entry["size"]
            assert hashlib.sha256(content).hexdigest() == entry["sha256"]
            assert SECRET.encode() not in content  # R8
    verify_as_the_qa_side_would(server.data_dir / "platform", files)
    # After a rotation, what was delivered before verifies with the keys as the server
    # publishes them now: the old one, valid until the rotation (R21).
    rotated = httpx.post(f"{server.url}/api/admin/companies/demo/signing-keys", headers=auth)
    assert rotated.status_code == 201, rotated.text
    published = httpx.get(f"{server.url}/api/companies/demo/signing-keys").json()
    assert [key["valid_until"] is None for key in published] == [False, True]
    fetched = Path(tempfile.mkdtemp(prefix="keys-"))
    for key in published:
        (fetched / f"{key['key_id']}.json").write_text(json.dumps(key))
    shutil.rmtree(server.data_dir / "platform" / "keys")  # only the keys fetched count
    after = verify(server.data_dir / "platform", "--keys", fetched)
    assert after.exit_code == 0, after.output
    assert f"signed by {published[0]['key_id']}" in after.stdout
    # Read with that library as such a platform would: every Dialog Object a text one,
    # the metadata attachment and the decision found by their types. Its validator knows
    # only audio media types for Dialog Objects, and refuses each text one for that alone.
    vcons = [p for p in files if p.name.endswith(".vcon.json")]
    assert len(vcons) == 2
    for path, read in read_with_vcon_library(vcons).items():
        assert "unreadable" not in read, (path, read)
        dialogs = len(json.loads(Path(path).read_bytes())["dialog"])
        assert read["text_dialogs"] == dialogs > 0
        assert read["attachment"]
        assert read["analysis"]
        assert read["parties"][0] == "Customer"
        assert read["errors"] == [
            f"Dialog {n} has invalid mimetype: text/plain" for n in range(dialogs)
        ]
    # The database lets go of the bytes once delivery is confirmed (R16), and the
    # server never wrote them to its disk.
    store = Store(server.database_url, secrets=SECRETS)
    try:
        ids = [d.delivery_id for d in store.list_deliveries(limit=1000) if d.chat_id == chat["id"]]
        assert len(ids) == 14  # each recording's files and the key beside them
        deadline = time.monotonic() + 30
        while store.delivery_contents(ids):
            assert time.monotonic() < deadline, "bytes kept in the database after delivery"
            time.sleep(0.2)
    finally:
        store.close()
    assert not (server.data_dir / "spool").exists()
    listed = httpx.get(f"{server.url}/api/admin/deliveries?state=delivered", headers=auth).json()
    mine = [d for d in listed["items"] if d["chat_id"] == chat["id"]]
    assert len(mine) == 2
    assert sorted(len(d["files"]) for d in mine) == [7, 7]


def verify(*args: object) -> Result:
    return CliRunner().invoke(app, ["verify", *map(str, args)])


def verify_as_the_qa_side_would(platform: Path, files: list[Path]) -> None:
    """R21: ``chatrec verify`` on the delivered folder proves both recordings; a copy
    tampered every way a file can be is caught, each change named."""
    proved = verify(platform)
    assert proved.exit_code == 0, proved.output
    assert proved.stdout.count("OK      ") == 2
    assert proved.stdout.endswith("2 recordings: 2 verify, 0 do not\n")
    copy = Path(tempfile.mkdtemp(prefix="tampered-"))
    shutil.copytree(platform, copy, dirs_exist_ok=True)
    at = {p.name: copy / p.relative_to(platform) for p in files}
    # The flow's recording is named by its step's template, the agent's by the default.
    flow = next(n for n in at if "_quality" in n and n.endswith(".txt")).removesuffix(".txt")
    agent = next(n for n in at if "_agent_" in n and n.endswith(".txt")).removesuffix(".txt")
    text = at[f"{flow}.txt"]
    text.write_bytes(text.read_bytes().replace(b"Hello", b"Jello"))  # same size
    sidecar = at[f"{flow}.meta.json"]
    before = sidecar.stat().st_size
    sidecar.write_bytes(sidecar.read_bytes().replace(b'"schema_version": 1', b'"schema_version":1'))
    at[f"{agent}.html"].unlink()
    vcon = at[f"{agent}.vcon.json"]
    size = vcon.stat().st_size
    vcon.write_bytes(vcon.read_bytes() + b" ")
    at[f"{agent}.txt"].with_name(f"{agent}.pdf").write_bytes(b"%PDF-1.7 not ours\n")
    caught = verify(copy, "--json")
    assert caught.exit_code == 1, caught.output
    found = {Path(r["path"]).name: r["problems"] for r in json.loads(caught.stdout)["recordings"]}
    assert found[f"{flow}.manifest.json"] == [
        f"file {flow}.txt has changed bytes (same size, different bytes)",
        f"the sidecar {flow}.meta.json was edited ({before - 1} bytes, not {before})",
    ]
    assert found[f"{agent}.manifest.json"] == [
        f"file {agent}.vcon.json has changed bytes ({size + 1} bytes, not {size})",
        f"missing file {agent}.html",
        f"extra file {agent}.pdf: not in the signed manifest",
    ]
    shutil.rmtree(copy)


def test_stopping_the_demo_stops_its_platform_too(tmp_path: Path, seeded_demo: SeededDemo) -> None:
    """SIGTERM ends `chatrec demo` and the sshd it started: nothing is left listening."""
    database_url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    server = ServerProcess(tmp_path / "data", database_url, platform=True)
    server.start()
    pid_file = server.data_dir / "platform-run" / "sshd.pid"
    try:
        sshd = int(pid_file.read_text().strip())
        server.stop()
        assert server.process is not None
        assert server.process.returncode == 128 + 15  # as a death by SIGTERM would say
        deadline = time.monotonic() + 10
        while Path(f"/proc/{sshd}").exists() and "zombie" not in _state(sshd):
            assert time.monotonic() < deadline, "the platform's sshd outlived the demo"
            time.sleep(0.1)
    finally:
        server.stop()
        server.stop_platform()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


PHOTO = b"\x89PNG\r\n\x1a\n" + b"a customer's photo" * 20


def test_R23_R21_an_attachment_lands_beside_its_recording_with_the_sidecar_s_sha256(
    server: ServerProcess,
) -> None:
    """Over the real sshd: the file sent in the chat arrives beside each recording, as
    its sidecar and signed manifest say; ``chatrec verify`` names it when it is changed
    or missing."""
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        sent = httpx.post(
            f"{server.url}/api/widget/attachments",
            params={"name": "photo.png"},
            content=PHOTO,
            headers={"X-Chat-Token": customer.token},
        )
        assert sent.status_code == 201, sent.text
        await alice.event(chat_id, lambda e: e["type"] == "attachment")
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    # Two recordings, each with its 4 formats, the photo, a manifest and a sidecar.
    files = landed(server, chat["id"], 14)
    photos = [p for p in files if p.name.endswith(".att1-photo.png")]
    assert len(photos) == 2
    for photo in photos:
        assert photo.read_bytes() == PHOTO
        base = photo.name.removesuffix(".att1-photo.png")
        meta = json.loads((photo.parent / f"{base}.meta.json").read_bytes())
        assert meta["attachments"] == [
            {
                "name": photo.name,
                "sent_as": "photo.png",
                "media_type": "image/png",
                "size": len(PHOTO),
                "sha256": hashlib.sha256(PHOTO).hexdigest(),
            }
        ]
    platform = server.data_dir / "platform"
    proved = verify(platform)
    assert proved.exit_code == 0, proved.output
    copy = Path(tempfile.mkdtemp(prefix="tampered-"))
    shutil.copytree(platform, copy, dirs_exist_ok=True)
    changed, missing = (copy / p.relative_to(platform) for p in photos)
    changed.write_bytes(PHOTO.replace(b"photo", b"phono"))
    missing.unlink()
    caught = verify(copy, "--json")
    assert caught.exit_code == 1, caught.output
    problems = [p for r in json.loads(caught.stdout)["recordings"] for p in r["problems"]]
    assert sorted(problems) == [
        f"file {changed.name} has changed bytes (same size, different bytes)",
        f"missing file {missing.name}",
    ]
    shutil.rmtree(copy)
