"""The uploader against a real OpenSSH sshd: what lands on its disk, and how it fails (R16)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from pathlib import Path

import asyncssh
import pytest

from chatrec.delivery.model import Destination, RecordingUpload
from chatrec.delivery.sftp import NO_PIN, SftpUploader
from chatrec.demo.sshd import write_private_key
from chatrec.errors import (
    AuthenticationFailedError,
    DeliveryError,
    FileDeliveryError,
    HostKeyError,
    PlatformUnreachableError,
    RemoteFolderMissingError,
    TransientDeliveryError,
)
from tests.integration.sftp.conftest import Rendered, ids_of, part_files
from tests.sshd import LOOPBACK_EGRESS, OpenSshServer


def upload(
    destination: Destination, *recordings: RecordingUpload, uploader: SftpUploader | None = None
) -> dict[int, BaseException | None]:
    async def scenario() -> dict[int, BaseException | None]:
        used = uploader or SftpUploader(egress=LOOPBACK_EGRESS)
        try:
            return await used.upload(destination, recordings)
        finally:
            if uploader is None:
                await used.close()

    return asyncio.run(scenario())


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_R16_recording_lands_byte_identical_with_sidecar_and_marker(
    sshd: OpenSshServer, rendered: Rendered
) -> None:
    recording = rendered.recording("2024/05/07/sales-42", marker=True)
    flat = rendered.recording("support-7")

    outcome = upload(sshd.destination(done_marker=True), recording, flat)

    assert outcome == dict.fromkeys(ids_of(recording, flat))
    expected = {
        item.remote_path: item.content
        for upload_ in (recording, flat)
        for item in (*upload_.files, upload_.sidecar)
        if item is not None
    }
    assert files_under(sshd.folder) == {**expected, "2024/05/07/sales-42.done": b""}
    assert part_files(sshd.folder) == []


def test_R16_delivering_twice_is_safe_same_name_same_bytes(
    sshd: OpenSshServer, rendered: Rendered
) -> None:
    recording = rendered.recording("2024/05/support-1", marker=True)
    destination = sshd.destination(done_marker=True)
    upload(destination, recording)
    before = {path: os.stat(sshd.folder / path) for path in files_under(sshd.folder)}

    again = upload(destination, recording)
    # A file the platform already holds needs no bytes: a retry does not even read them.
    without_bytes = replace(
        recording, files=tuple(replace(item, content=None) for item in recording.files)
    )
    and_again = upload(destination, without_bytes)

    assert again == and_again == dict.fromkeys(ids_of(recording))
    after = {path: os.stat(sshd.folder / path) for path in files_under(sshd.folder)}
    # Same files, not rewritten: a retry after a lost acknowledgement changes nothing.
    assert {path: (st.st_ino, st.st_mtime_ns) for path, st in after.items()} == {
        path: (st.st_ino, st.st_mtime_ns) for path, st in before.items()
    }


def test_R16_a_retry_keeps_a_file_in_place_and_a_first_attempt_writes_without_looking(
    sshd: OpenSshServer, rendered: Rendered
) -> None:
    recording = rendered.recording("first")
    ours = recording.files[0].content
    assert ours is not None
    target = sshd.folder / "first.json"
    target.write_bytes(b"x" * len(ours))  # the size of ours, not its bytes

    upload(sshd.destination(), recording)  # a retry: what is in place with its size stays
    assert target.read_bytes() == b"x" * len(ours)

    first = replace(
        recording, files=tuple(replace(item, first_attempt=True) for item in recording.files)
    )
    assert upload(sshd.destination(), first) == dict.fromkeys(ids_of(first))
    assert target.read_bytes() == ours  # nothing of ours could be there: written, not looked at
    assert part_files(sshd.folder) == []


@pytest.mark.parametrize(
    ("pin", "says"),
    [
        ("wrong", "not the pinned one"),
        ("", NO_PIN),
        ("   \n# nothing pinned yet\n", NO_PIN),
        ("ssh-ed25519 not-base64-at-all", "cannot be read"),
    ],
    ids=["another-key", "empty", "comment-only", "unreadable"],
)
def test_R16_unverified_host_key_is_refused_and_nothing_uploaded(
    sshd: OpenSshServer, rendered: Rendered, tmp_path: Path, pin: str, says: str
) -> None:
    if pin == "wrong":
        other = asyncssh.generate_private_key("ssh-ed25519")
        pin = other.export_public_key("openssh").decode()

    with pytest.raises(HostKeyError) as refused:
        upload(sshd.destination(host_key=pin), rendered.recording("r1"))

    assert says in refused.value.reason
    assert files_under(sshd.folder) == {}
    assert sshd.logins() == 0


def test_R16_a_pin_with_host_patterns_or_a_bare_key_is_accepted(
    sshd: OpenSshServer, rendered: Rendered
) -> None:
    bare = sshd.keys.host_public_key
    for pin in (sshd.host_key_line, bare, f"# pinned by ada\nelsewhere.example {bare} comment"):
        recording = rendered.recording(f"r{rendered.next_id}")
        assert upload(sshd.destination(host_key=pin), recording) == dict.fromkeys(ids_of(recording))


def test_R16_wrong_credentials_are_an_authentication_failure(
    sshd: OpenSshServer, rendered: Rendered, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    write_private_key(stranger, asyncssh.generate_private_key("ssh-ed25519"))
    cases = [
        {"private_key": stranger.read_text()},
        {"private_key": None, "password": "guess"},
        {"private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n"},
        {"private_key": None, "password": None},
    ]
    for changes in cases:
        with pytest.raises(AuthenticationFailedError):
            upload(sshd.destination(**changes), rendered.recording("r1"))
    assert files_under(sshd.folder) == {}


def test_R16_missing_folder_blocks_until_created(sshd: OpenSshServer, rendered: Rendered) -> None:
    destination = sshd.destination(folder=str(sshd.folder / "inbox"))
    recording = rendered.recording("2024/r1")

    with pytest.raises(RemoteFolderMissingError) as refused:
        upload(destination, recording)
    assert "inbox" in refused.value.reason
    assert not (sshd.folder / "inbox").exists()

    (sshd.folder / "inbox").mkdir()
    assert upload(destination, recording) == dict.fromkeys(ids_of(recording))
    assert (sshd.folder / "inbox/2024/r1.json").exists()


def test_R16_platform_down_is_passing_and_delivery_resumes(
    sshd: OpenSshServer, rendered: Rendered
) -> None:
    destination = sshd.destination(timeout_seconds=2.0)
    first, second, third = (rendered.recording(f"r{n}") for n in range(3))

    async def scenario() -> None:
        uploader = SftpUploader(egress=LOOPBACK_EGRESS)
        try:
            assert await uploader.upload(destination, [first]) == dict.fromkeys(ids_of(first))
            sshd.stop()  # with the pooled connection still open
            for _ in range(2):
                try:
                    outcome = await uploader.upload(destination, [second])
                except TransientDeliveryError:
                    continue
                # A pooled connection not yet seen closed fails file by file instead.
                for item in second.files:
                    assert isinstance(outcome[item.delivery_id], TransientDeliveryError)
            sshd.start()
            assert await uploader.upload(destination, [second, third]) == dict.fromkeys(
                ids_of(second, third)
            )
        finally:
            await uploader.close()

    asyncio.run(scenario())
    assert set(files_under(sshd.folder)) == {"r0.json", "r0.txt", "r0.meta.json"} | {
        f"r{n}{suffix}" for n in (1, 2) for suffix in (".json", ".txt", ".meta.json")
    }


def test_R16_sshd_killed_mid_upload_leaves_no_half_file_and_retry_delivers(
    sshd: OpenSshServer, rendered: Rendered
) -> None:
    big = os.urandom(20 * 1024 * 1024)
    recording = RecordingUpload("big", (rendered.item("2024/big.json", big),), None)
    destination = sshd.destination(timeout_seconds=5.0)
    part = sshd.folder / "2024" / ".big.json.part"

    async def scenario() -> dict[int, BaseException | None]:
        uploader = SftpUploader(egress=LOOPBACK_EGRESS)
        try:
            task = asyncio.create_task(uploader.upload(destination, [recording]))
            while not (part.exists() and part.stat().st_size > 0):
                assert not task.done(), "the upload ended before it could be interrupted"
                await asyncio.sleep(0.001)
            sshd.kill()
            return await task
        finally:
            await uploader.close()

    outcome = asyncio.run(scenario())

    assert isinstance(outcome[1], TransientDeliveryError)
    assert not (sshd.folder / "2024/big.json").exists()
    sshd.start()
    assert upload(destination, recording) == {1: None}
    assert (sshd.folder / "2024/big.json").read_bytes() == big
    assert part_files(sshd.folder) == []


def test_R16_bytes_changed_or_missing_in_the_database_fail_only_their_own_slot(
    sshd: OpenSshServer, rendered: Rendered
) -> None:
    changed = rendered.recording("changed")
    missing = rendered.recording("missing")
    fine = rendered.recording("fine")
    json, txt = changed.files
    changed = replace(changed, files=(replace(json, content=b"X" * json.size), txt))  # same size
    json, txt = missing.files
    missing = replace(missing, files=(json, replace(txt, content=None)))

    outcome = upload(sshd.destination(), changed, missing, fine)

    for broken in (changed.files[0], missing.files[1]):
        assert isinstance(outcome[broken.delivery_id], FileDeliveryError)
    assert "is not what was rendered" in str(outcome[changed.files[0].delivery_id])
    assert "missing from the database" in str(outcome[missing.files[1].delivery_id])
    for recording in (changed, missing):
        assert recording.sidecar is not None
        skipped = outcome[recording.sidecar.delivery_id]
        assert isinstance(skipped, FileDeliveryError)
        assert "not attempted" in skipped.reason
    assert all(outcome[delivery_id] is None for delivery_id in ids_of(fine))
    assert set(files_under(sshd.folder)) == {
        "changed.txt",
        "missing.json",
        "fine.json",
        "fine.txt",
        "fine.meta.json",
    }
    assert part_files(sshd.folder) == []


def test_R16_stale_part_files_are_cleaned_and_fresh_ones_kept(
    sshd: OpenSshServer, rendered: Rendered
) -> None:
    folder = sshd.folder / "2024"
    folder.mkdir()
    stale, fresh = folder / ".crashed.json.part", folder / ".in-flight.json.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    eleven_minutes_ago = time.time() - 11 * 60
    os.utime(stale, (eleven_minutes_ago, eleven_minutes_ago))
    recording = rendered.recording("2024/r1")

    assert upload(sshd.destination(), recording) == dict.fromkeys(ids_of(recording))

    assert not stale.exists()
    assert fresh.exists()


@pytest.mark.parametrize(("count", "connections"), [(4, 1), (12, 2)])
def test_R16_uploads_share_few_connections_up_to_the_bound(
    sshd: OpenSshServer, rendered: Rendered, count: int, connections: int
) -> None:
    # Two data files each: 4 recordings fit the 8 uploads one connection carries
    # (concurrency 16 over at most 2 connections); 12 need the second, never a third.
    recordings = [rendered.recording(f"2024/{n % 3}/r{n}", marker=True) for n in range(count)]
    destination = sshd.destination(done_marker=True, max_connections=2, concurrency=16)

    async def scenario() -> tuple[dict[int, BaseException | None], int]:
        uploader = SftpUploader(egress=LOOPBACK_EGRESS)
        try:
            outcome = await uploader.upload(destination, recordings)
            return outcome, uploader.connections_opened(destination)
        finally:
            await uploader.close()

    outcome, opened = asyncio.run(scenario())

    assert outcome == dict.fromkeys(ids_of(*recordings))
    assert opened == sshd.logins() == connections
    assert len(files_under(sshd.folder)) == count * 4


def test_R16_test_connection_shows_the_key_to_pin_then_passes(sshd: OpenSshServer) -> None:
    async def probe(destination: Destination) -> list[tuple[str, bool]]:
        uploader = SftpUploader(egress=LOOPBACK_EGRESS)
        try:
            steps = await uploader.probe(destination)
        finally:
            await uploader.close()
        assert steps[0].name == "connect"
        assert steps[0].host_key == sshd.host_key_line
        for step in steps:
            assert step.ok == (step.error is None)
        return [(step.name, step.ok) for step in steps]

    unpinned = asyncio.run(probe(sshd.destination(host_key="")))
    pinned = asyncio.run(probe(sshd.destination()))
    wrong_user = asyncio.run(probe(sshd.destination(username="nobody")))

    assert unpinned == [("connect", True), ("host key", False)]
    assert pinned == [
        ("connect", True),
        ("host key", True),
        ("log in", True),
        ("folder", True),
        ("write", True),
        ("rename", True),
        ("delete", True),
    ]
    assert wrong_user == [("connect", True), ("host key", True), ("log in", False)]
    assert files_under(sshd.folder) == {}


def test_R16_test_connection_reports_an_unreachable_platform(sshd: OpenSshServer) -> None:
    sshd.stop()

    async def probe() -> list[tuple[str, bool, type[DeliveryError] | None]]:
        uploader = SftpUploader(egress=LOOPBACK_EGRESS)
        try:
            steps = await uploader.probe(sshd.destination())
        finally:
            await uploader.close()
        return [
            (step.name, step.ok, type(step.error) if step.error is not None else None)
            for step in steps
        ]

    assert asyncio.run(probe()) == [("connect", False, PlatformUnreachableError)]


def test_R16_test_connection_names_a_missing_folder(sshd: OpenSshServer) -> None:
    destination = replace(sshd.destination(), folder=str(sshd.folder / "absent"))

    async def probe() -> list[tuple[str, bool]]:
        uploader = SftpUploader(egress=LOOPBACK_EGRESS)
        try:
            return [(step.name, step.ok) for step in await uploader.probe(destination)]
        finally:
            await uploader.close()

    assert asyncio.run(probe())[-1] == ("folder", False)
