"""Real SFTP servers for the uploader's tests (R16).

``sshd`` is OpenSSH, as a company's platform most likely runs it.  ``fault_platform``
is asyncssh's own SFTP server with one behaviour changed by subclassing (permission
denied, no posix-rename, files taken on arrival…), for faults OpenSSH will not stage
on demand — above all as root, which no file mode stops.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from chatrec.delivery.model import Destination, RecordingUpload, UploadItem
from chatrec.delivery.sftp import known_hosts_line
from chatrec.demo.sshd import LOOPBACK, ensure_keys, loopback_destination
from tests.sshd import OpenSshServer


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[OpenSshServer]:
    with OpenSshServer(tmp_path / "sshd") as server:
        yield server


class Rendered:
    """Recording files as the worker hands them over, their bytes read from the outbox."""

    def __init__(self) -> None:
        self.next_id = 1

    def item(self, remote_path: str, data: bytes) -> UploadItem:
        item = UploadItem(
            delivery_id=self.next_id,
            remote_path=remote_path,
            content=data,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        self.next_id += 1
        return item

    def recording(
        self, base: str, *, body: bytes | None = None, marker: bool = False
    ) -> RecordingUpload:
        """A recording ``base`` (may hold sub-folders): JSON and transcript, then sidecar."""
        body = body if body is not None else f'{{"recording": "{base}"}}\n'.encode()
        files = (
            self.item(f"{base}.json", body),
            self.item(f"{base}.txt", f"transcript of {base}\n".encode()),
        )
        sidecar = self.item(f"{base}.meta.json", f'{{"base": "{base}"}}\n'.encode())
        return RecordingUpload(
            recording_id=base.rsplit("/", 1)[-1],
            files=files,
            sidecar=sidecar,
            done_marker_path=f"{base}.done" if marker else None,
        )


@pytest.fixture
def rendered() -> Rendered:
    return Rendered()


def ids_of(*recordings: RecordingUpload) -> list[int]:
    return [
        item.delivery_id
        for recording in recordings
        for item in (*recording.files, *([recording.sidecar] if recording.sidecar else []))
    ]


def part_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.part"))


@dataclass
class PlatformLog:
    """What clients did on a fault platform: operations, connections, open writes."""

    events: list[tuple[str, str]] = field(default_factory=list)
    connections: int = 0
    open_writes: int = 0
    most_open_writes: int = 0

    def paths(self, operation: str) -> list[str]:
        return [path for done, path in self.events if done == operation]


@dataclass(frozen=True)
class FaultPlatform:
    """An asyncssh SFTP server rooted at ``root``; its drop folder is ``root/drop``."""

    root: Path
    destination: Destination
    log: PlatformLog

    @property
    def folder(self) -> Path:
        return self.root / "drop"


class PlatformServer(asyncssh.SFTPServer):
    """asyncssh's SFTP server chrooted at the platform root, noting what clients do.

    Fault tests subclass it and change one method, as asyncssh's own tests do.
    """

    def __init__(self, channel: asyncssh.SSHServerChannel, root: Path, log: PlatformLog) -> None:
        super().__init__(channel, chroot=str(root).encode())
        self.log = log
        self.writing: set[int] = set()

    def note(self, operation: str, path: bytes) -> None:
        self.log.events.append((operation, path.decode()))

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> Any:
        self.note("open", path)
        opened = super().open(path, pflags, attrs)
        if pflags & asyncssh.FXF_WRITE:
            self.writing.add(id(opened))
            self.log.open_writes += 1
            self.log.most_open_writes = max(self.log.most_open_writes, self.log.open_writes)
        return opened

    def close(self, file_obj: object) -> Any:
        if id(file_obj) in self.writing:
            self.writing.discard(id(file_obj))
            self.log.open_writes -= 1
        return super().close(file_obj)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
        self.note("posix_rename", newpath)
        return super().posix_rename(oldpath, newpath)

    def rename(self, oldpath: bytes, newpath: bytes) -> Any:
        self.note("rename", newpath)
        return super().rename(oldpath, newpath)

    def remove(self, path: bytes) -> Any:
        self.note("remove", path)
        return super().remove(path)

    def fsync(self, file_obj: object) -> Any:
        self.note("fsync", b"")
        return super().fsync(file_obj)


@asynccontextmanager
async def fault_platform(
    workdir: Path, server: type[PlatformServer] = PlatformServer
) -> AsyncIterator[FaultPlatform]:
    """Serve ``server`` on a free loopback port for the length of the block."""
    keys = ensure_keys(workdir / "fault-keys")
    root = workdir / "fault-root"
    (root / "drop").mkdir(parents=True, exist_ok=True)
    log = PlatformLog()

    served: list[asyncssh.SSHServerConnection] = []

    class Counting(asyncssh.SSHServer):
        def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
            log.connections += 1
            served.append(conn)

    acceptor = await asyncssh.listen(
        LOOPBACK,
        0,
        server_host_keys=[str(keys.host_key)],
        authorized_client_keys=str(keys.authorized_keys),
        server_factory=Counting,
        sftp_factory=lambda channel: server(channel, root, log),
        allow_scp=False,
    )
    port = acceptor.get_port()
    destination = replace(
        loopback_destination(keys, port=port, user="chatrec", folder="/drop", company_id="faulty"),
        timeout_seconds=5.0,
    )
    try:
        yield FaultPlatform(root=root, destination=destination, log=log)
    finally:
        acceptor.close()
        await acceptor.wait_closed()
        for conn in served:
            conn.close()
            await conn.wait_closed()


@dataclass
class PasswordPlatform:
    """An asyncssh SFTP server taking passwords, noting every (user, password) offered.

    ``password`` is the one it accepts (for user ``chatrec``); ``None``: none, as a trap
    set to collect what a client sends it.
    """

    host: str
    port: int
    host_key: str
    offered: list[tuple[str, str]]


@asynccontextmanager
async def password_platform(
    workdir: Path, password: str | None, host: str = LOOPBACK
) -> AsyncIterator[PasswordPlatform]:
    """Serve a :class:`PasswordPlatform` on a free port of ``host`` for the block; its
    SFTP root is ``workdir/root`` with a ``drop`` folder."""
    keys = ensure_keys(workdir / "keys")
    root = workdir / "root"
    (root / "drop").mkdir(parents=True, exist_ok=True)
    offered: list[tuple[str, str]] = []
    served: list[asyncssh.SSHServerConnection] = []

    class Passwords(asyncssh.SSHServer):
        def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
            served.append(conn)

        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, given: str) -> bool:
            offered.append((username, given))
            return password is not None and (username, given) == ("chatrec", password)

    acceptor = await asyncssh.listen(
        host,
        0,
        server_host_keys=[str(keys.host_key)],
        server_factory=Passwords,
        sftp_factory=lambda channel: PlatformServer(channel, root, PlatformLog()),
        allow_scp=False,
    )
    port = acceptor.get_port()
    pin = known_hosts_line(host, port, keys.host_public_key)
    try:
        yield PasswordPlatform(host=host, port=port, host_key=pin, offered=offered)
    finally:
        acceptor.close()
        await acceptor.wait_closed()
        for conn in served:
            conn.close()
            await conn.wait_closed()
