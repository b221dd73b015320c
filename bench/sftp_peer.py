"""The SFTP server both sides of a delivery benchmark talk to, and OpenSSH's own client.

:class:`SftpPeer` is a real OpenSSH ``sshd`` on a free loopback port, built from the
pieces the demo platform and ``tests/sshd.py`` use (``chatrec.demo.sshd``):
its own host key, one authorized client key, ``internal-sftp``.  :func:`sftp_batch`
runs ``sftp -b`` with that same client key and the host key pinned, the baseline the
benchmarks hold chatrec's uploader against.
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from chatrec.delivery.model import Destination
from chatrec.delivery.sftp import known_hosts_line
from chatrec.demo.sshd import (
    LOOPBACK,
    SSHD,
    ensure_keys,
    free_port,
    loopback_destination,
    sshd_in,
)

SFTP = shutil.which("sftp") or "/usr/bin/sftp"


class SftpPeer:
    """One sshd storing into ``<workdir>/remote``; a context manager that stops it."""

    def __init__(self, workdir: Path) -> None:
        if not SSHD.exists():
            raise SystemExit(f"{SSHD} is not installed: run `make sshd` (openssh-server)")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.keys = ensure_keys(workdir / "keys")
        self.folder = workdir / "remote"
        self.folder.mkdir(exist_ok=True)
        self.user = getpass.getuser()
        self.port = free_port()
        self.known_hosts = workdir / "known_hosts"
        self.process = sshd_in(workdir, keys=self.keys, port=self.port, user=self.user)

    def destination(self, port: int | None = None, **changes: Any) -> Destination:
        """A destination delivering into ``folder``, its host key pinned; ``port`` is where
        to connect (a proxy's, say), the server being the same."""
        base = loopback_destination(
            self.keys, port=self.port, user=self.user, folder=str(self.folder), company_id="acme"
        )
        return replace(base, port=port or self.port, **changes)

    def pin_for(self, port: int) -> None:
        """Write the known_hosts ``sftp`` reads: the host key, for the port it dials."""
        self.known_hosts.write_text(
            known_hosts_line(LOOPBACK, port, self.keys.host_public_key) + "\n"
        )

    def clear(self) -> None:
        """Empty the remote folder: the next run finds none of the files there already."""
        for entry in self.folder.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def __enter__(self) -> SftpPeer:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()


def part_name(remote: str) -> str:
    """The temporary name chatrec writes ``remote`` under: ``.<name>.part`` beside it."""
    path = Path(remote)
    return str(path.parent / f".{path.name}.part")


def batch_of_deliveries(files: Sequence[tuple[Path, str]], *, fsync: bool) -> str:
    """``sftp -b`` commands delivering each file as chatrec does: ``put`` under the
    temporary name (``-f``: fsynced on the server, when ``fsync``), then ``rename`` into
    place (OpenSSH's client uses ``posix-rename@openssh.com`` when the server has it, as
    chatrec does); folders first."""
    folders = sorted({str(Path(remote).parent) for _, remote in files} - {"."})
    lines = [f"-mkdir {folder}" for folder in folders]
    put = "put -f" if fsync else "put"
    for local, remote in files:
        part = part_name(remote)
        lines += [f"{put} {local} {part}", f"rename {part} {remote}"]
    return "\n".join(lines) + "\n"


def sftp_batch(peer: SftpPeer, batch: Path, *, port: int | None = None) -> float:
    """Run ``sftp -b batch`` against the peer (through ``port`` if given); seconds taken.

    The server's key is pinned (``StrictHostKeyChecking yes`` with a known_hosts file
    of its key only), the client key is the one chatrec uses, and no user or system
    ssh configuration is read, so both clients do the same work to log in.
    """
    dial = port or peer.port
    peer.pin_for(dial)
    command = [
        SFTP,
        "-q",
        "-b",
        str(batch),
        "-P",
        str(dial),
        "-i",
        str(peer.keys.client_key),
        "-F",
        "/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"UserKnownHostsFile={peer.known_hosts}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        f"{peer.user}@{LOOPBACK}",
    ]
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - OpenSSH's sftp with our own arguments
        command, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"sftp -b failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds
