"""An SFTP server on 127.0.0.1 built from OpenSSH's ``sshd``, the way a platform runs it.

Its pieces (key generation, the config, the process and its children, a destination
with the host key pinned) are public because three users build from them: the demo
platform (:mod:`chatrec.demo.platform`), ``tests/sshd.py`` and ``bench/sftp_peer.py``,
so the demo, the tests and the benchmarks run the same server the same way.  Nothing in
the product's delivery imports it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from chatrec.delivery.model import Destination
from chatrec.delivery.sftp.keys import known_hosts_line, public_line
from chatrec.files import PRIVATE_FILE, private_dir, write_private

SSHD = Path("/usr/sbin/sshd")
# sshd started as root refuses to run without its privilege-separation directory.
PRIVSEP_DIR = Path("/run/sshd")
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class SshKeys:
    """The files of one SFTP endpoint: its host key and the one client key it accepts."""

    host_key: Path
    client_key: Path
    authorized_keys: Path

    @property
    def host_public_key(self) -> str:
        """The host key as ``ssh-ed25519 AAAA…``, without a comment."""
        return public_line(asyncssh.read_private_key(self.host_key))

    @property
    def client_private_key(self) -> str:
        """The client key in OpenSSH text form, as a :class:`Destination` carries it."""
        return self.client_key.read_text()


def ensure_keys(directory: Path, client_key_name: str = "client") -> SshKeys:
    """Generate the ed25519 host and client keys once; later calls reuse them."""
    private_dir(directory)
    keys = SshKeys(
        host_key=directory / "ssh_host_ed25519_key",
        client_key=directory / client_key_name,
        authorized_keys=directory / "authorized_keys",
    )
    for path in (keys.host_key, keys.client_key):
        if not path.exists():
            write_private_key(path, asyncssh.generate_private_key("ssh-ed25519"))
    client = asyncssh.read_private_key(keys.client_key)
    write_private(keys.authorized_keys, (public_line(client) + "\n").encode())
    return keys


def write_private_key(path: Path, key: asyncssh.SSHKey) -> None:
    """Write a private key readable only by its owner (sshd refuses any other mode)."""
    write_private(path, key.export_private_key("openssh"))


def sshd_config(
    *, port: int, keys: SshKeys, pid_file: Path, user: str, listen: str = LOOPBACK
) -> str:
    """An sshd configuration that needs no system files and serves SFTP only.

    Keys only (no passwords), one allowed user, ``internal-sftp`` forced whatever the
    client asks, and client keepalives so a vanished uploader's session is ended.
    ``StrictModes no`` because test and demo folders are not owned the way sshd wants.
    """
    lines = [
        f"ListenAddress {listen}",
        f"Port {port}",
        f"HostKey {keys.host_key}",
        f"PidFile {pid_file}",
        f"AuthorizedKeysFile {keys.authorized_keys}",
        f"AllowUsers {user}",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        # What it stores is owner-only whatever the umask (R18): the demo's platform
        # folder is inside chatrec's data folder.
        "Subsystem sftp internal-sftp -u 0077",
        "ForceCommand internal-sftp -u 0077",
        "AllowTcpForwarding no",
        "AllowAgentForwarding no",
        "X11Forwarding no",
        "PermitTTY no",
        "ClientAliveInterval 5",
        "ClientAliveCountMax 3",
        "LogLevel INFO",
    ]
    return "\n".join(lines) + "\n"


def loopback_destination(
    keys: SshKeys, *, port: int, user: str, folder: str, company_id: str
) -> Destination:
    """Delivery to an SFTP server on this machine that holds ``keys``, its host key pinned
    as it answers on ``port``, as an administrator would pin a real platform's (R16)."""
    return Destination(
        company_id=company_id,
        host=LOOPBACK,
        port=port,
        username=user,
        folder=folder,
        host_key=known_hosts_line(LOOPBACK, port, keys.host_public_key),
        private_key=keys.client_private_key,
    )


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether a server could listen there now (as servers do, despite TIME_WAIT)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid``: sshd's per-connection processes start new sessions,
    so signalling the listener alone leaves established connections served."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after its last ")".
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in parents.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


@dataclass
class SshdProcess:
    """OpenSSH ``sshd -D -e -f <config>`` in the foreground, logging to ``log``.

    ``stop`` and ``kill`` end the connections it serves as well, as a machine going
    down does; ``start`` again listens on the same port.
    """

    config: Path
    port: int
    log: Path
    host: str = LOOPBACK
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if not SSHD.exists():
            raise FileNotFoundError(f"{SSHD} is not installed (run `make sshd`)")
        if os.geteuid() == 0:
            PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        descriptor = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        with os.fdopen(descriptor, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own config
                [str(SSHD), "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                umask=0o077,  # its pid file
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"sshd exited at start:\n{self.log.read_text()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.5),
            ):
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"sshd did not listen within {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        """End the server and every connection it serves (SIGTERM)."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """Kill the server and its connections at once (SIGKILL), as a crash would."""
        self._signal(signal.SIGKILL)

    def _signal(self, number: signal.Signals) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        for pid in [process.pid, *descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sshd_in(folder: Path, *, keys: SshKeys, port: int, user: str) -> SshdProcess:
    """OpenSSH serving SFTP with ``keys`` on ``port`` for ``user``; its configuration is
    written now, and it, the pid file and the log are kept in ``folder``."""
    config = folder / "sshd_config"
    text = sshd_config(port=port, keys=keys, pid_file=folder / "sshd.pid", user=user)
    write_private(config, text.encode())
    return SshdProcess(config=config, port=port, log=folder / "sshd.log")
