"""Platform faults OpenSSH will not stage on demand, on asyncssh's SFTP server (R16).

Each server below is asyncssh's real one with one method changed.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from chatrec.delivery.model import RecordingUpload
from chatrec.delivery.sftp import SftpUploader
from chatrec.errors import (
    FileDeliveryError,
    RemotePermissionError,
    TransientDeliveryError,
)
from tests.integration.sftp.conftest import (
    FaultPlatform,
    PlatformServer,
    Rendered,
    fault_platform,
    ids_of,
    part_files,
)
from tests.sshd import LOOPBACK_EGRESS


class DeniesWrites(PlatformServer):
    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> Any:
        if pflags & asyncssh.FXF_WRITE:
            raise asyncssh.SFTPPermissionDenied("read-only for this user")
        return super().open(path, pflags, attrs)


class DeniesRenames(PlatformServer):
    def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
        raise asyncssh.SFTPPermissionDenied("renames are not allowed here")


class WithoutExtensions(PlatformServer):
    """A server that lacks posix-rename and fsync, as some appliances do."""

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
        raise NotImplementedError

    def fsync(self, file_obj: object) -> Any:
        raise NotImplementedError


class TakesFilesOnArrival(PlatformServer):
    """Moves each file away the moment it gets its final name (a platform importer)."""

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
        super().posix_rename(oldpath, newpath)
        Path(self.map_path(newpath).decode()).unlink()


class TruncatesOnArrival(PlatformServer):
    def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
        super().posix_rename(oldpath, newpath)
        Path(self.map_path(newpath).decode()).write_bytes(b"")


class SlowWrites(PlatformServer):
    async def write(self, file_obj: object, offset: int, data: bytes) -> Any:
        await asyncio.sleep(0.05)
        return super().write(file_obj, offset, data)


class HangsOnWrite(PlatformServer):
    """Never answers a write; lets go only when the client has hung up."""

    async def write(self, file_obj: object, offset: int, data: bytes) -> Any:
        await self.connection.wait_closed()
        return 0


async def deliver(
    platform: FaultPlatform, *recordings: RecordingUpload, **changes: Any
) -> tuple[dict[int, BaseException | None], SftpUploader]:
    uploader = SftpUploader(egress=LOOPBACK_EGRESS)
    try:
        outcome = await uploader.upload(replace(platform.destination, **changes), recordings)
    finally:
        await uploader.close()
    return outcome, uploader


def test_R16_permission_denied_on_write_is_permanent_and_sidecar_not_attempted(
    tmp_path: Path, rendered: Rendered
) -> None:
    recording = rendered.recording("2024/r1")

    async def scenario() -> dict[int, BaseException | None]:
        async with fault_platform(tmp_path, DeniesWrites) as platform:
            outcome, _ = await deliver(platform, recording)
            assert part_files(platform.folder) == []
            return outcome

    outcome = asyncio.run(scenario())

    for item in recording.files:
        assert isinstance(outcome[item.delivery_id], RemotePermissionError)
    assert recording.sidecar is not None
    assert isinstance(outcome[recording.sidecar.delivery_id], FileDeliveryError)


def test_R16_permission_denied_on_rename_leaves_no_part_file(
    tmp_path: Path, rendered: Rendered
) -> None:
    recording = rendered.recording("r1")

    async def scenario() -> None:
        async with fault_platform(tmp_path, DeniesRenames) as platform:
            outcome, _ = await deliver(platform, recording)
            for item in recording.files:
                error = outcome[item.delivery_id]
                assert isinstance(error, RemotePermissionError)
                assert "renames are not allowed here" in error.reason
            assert list(platform.folder.iterdir()) == []

    asyncio.run(scenario())


def test_R16_without_posix_rename_a_stale_final_file_is_replaced(
    tmp_path: Path, rendered: Rendered
) -> None:
    recording = rendered.recording("r1")

    async def scenario() -> None:
        async with fault_platform(tmp_path, WithoutExtensions) as platform:
            (platform.folder / "r1.json").write_bytes(b"an older, longer one, half-read")
            outcome, _ = await deliver(platform, recording)
            assert outcome == dict.fromkeys(ids_of(recording))
            item = recording.files[0]
            assert (platform.folder / "r1.json").read_bytes() == item.content
            # Replaced only once the new bytes were complete under the .part name.
            events = platform.log.events
            assert events.index(("remove", "/drop/r1.json")) < events.index(
                ("rename", "/drop/r1.json")
            )
            assert events.index(("open", "/drop/.r1.json.part")) < events.index(
                ("remove", "/drop/r1.json")
            )
            assert platform.log.paths("posix_rename") == []
            assert platform.log.paths("fsync") == []
            assert part_files(platform.folder) == []

    asyncio.run(scenario())


def test_R16_sidecar_after_all_data_files_and_marker_after_sidecar(
    tmp_path: Path, rendered: Rendered
) -> None:
    recordings = [rendered.recording(f"r{n}", marker=True) for n in range(3)]

    async def scenario() -> None:
        async with fault_platform(tmp_path) as platform:
            outcome, _ = await deliver(platform, *recordings, done_marker=True)
            assert outcome == dict.fromkeys(ids_of(*recordings))
            renamed = platform.log.paths("posix_rename")
            assert platform.log.paths("fsync")  # used when offered
            for n in range(3):
                order = [
                    renamed.index(f"/drop/r{n}{suffix}")
                    for suffix in (".json", ".txt", ".meta.json", ".done")
                ]
                assert max(order[:2]) < order[2] < order[3]

    asyncio.run(scenario())


def test_R16_R21_a_file_every_recording_carries_goes_once_and_no_copy_fails(
    tmp_path: Path, rendered: Rendered
) -> None:
    """The signing key each recording of a company carries (R21): delivered beside three
    recordings at once, it was written by three uploads into one ``.part``, and the later
    renames found it gone; now one upload puts it and every recording shares its outcome."""
    key = b'{"key_id": "ed25519-1"}\n'
    recordings = [
        replace(recording, files=(*recording.files, rendered.item("keys/ed25519-1.json", key)))
        for recording in (rendered.recording(f"r{n}") for n in range(3))
    ]

    async def scenario() -> None:
        async with fault_platform(tmp_path, SlowWrites) as platform:
            outcome, _ = await deliver(platform, *recordings)
            assert outcome == dict.fromkeys(ids_of(*recordings))
            assert platform.log.paths("posix_rename").count("/drop/keys/ed25519-1.json") == 1
            assert (platform.folder / "keys" / "ed25519-1.json").read_bytes() == key
            assert part_files(platform.folder) == []

    asyncio.run(scenario())


@pytest.mark.parametrize("verify", [True, False])
def test_R16_platform_taking_files_on_arrival_is_delivered_not_retried_forever(
    tmp_path: Path, rendered: Rendered, verify: bool
) -> None:
    recording = rendered.recording("r1")

    async def scenario() -> None:
        async with fault_platform(tmp_path, TakesFilesOnArrival) as platform:
            outcome, uploader = await deliver(platform, recording, verify_after_rename=verify)
            assert outcome == dict.fromkeys(ids_of(recording))
            assert uploader.taken_on_arrival == (3 if verify else 0)
            assert list(platform.folder.iterdir()) == []

    asyncio.run(scenario())


def test_R16_check_after_rename_catches_a_file_changed_on_arrival(
    tmp_path: Path, rendered: Rendered
) -> None:
    recording = rendered.recording("r1")

    async def scenario() -> None:
        async with fault_platform(tmp_path, TruncatesOnArrival) as platform:
            outcome, _ = await deliver(platform, recording)
            for item in recording.files:
                error = outcome[item.delivery_id]
                assert isinstance(error, FileDeliveryError)
                assert "after the rename" in error.reason

    asyncio.run(scenario())


def test_R16_recordings_upload_concurrently_over_one_connection(
    tmp_path: Path, rendered: Rendered
) -> None:
    recordings = [rendered.recording(f"r{n}") for n in range(4)]

    async def scenario() -> None:
        async with fault_platform(tmp_path, SlowWrites) as platform:
            outcome, _ = await deliver(platform, *recordings, concurrency=16, max_connections=2)
            assert outcome == dict.fromkeys(ids_of(*recordings))
            assert platform.log.connections == 1
            # More files in flight at once than one recording has: recordings overlap.
            assert platform.log.most_open_writes > 2

    asyncio.run(scenario())


def test_R16_every_network_operation_has_a_timeout(tmp_path: Path, rendered: Rendered) -> None:
    recording = rendered.recording("r1")

    async def scenario() -> None:
        async with fault_platform(tmp_path, HangsOnWrite) as platform:
            started = time.monotonic()
            outcome, _ = await deliver(platform, recording, timeout_seconds=0.5)
            assert time.monotonic() - started < 3
            for item in recording.files:
                assert isinstance(outcome[item.delivery_id], TransientDeliveryError)

            # A server that accepts the connection and never says a word.
            with socket.socket() as silent:
                silent.bind(("127.0.0.1", 0))
                silent.listen()
                mute = replace(platform.destination, port=silent.getsockname()[1])
                started = time.monotonic()
                with pytest.raises(TransientDeliveryError):
                    await SftpUploader(egress=LOOPBACK_EGRESS).upload(
                        replace(mute, timeout_seconds=0.5), [recording]
                    )
                assert time.monotonic() - started < 3

    asyncio.run(scenario())
