"""A real OpenSSH ``sshd`` on a free loopback port, for every test that delivers (R16).

Built from the same pieces as the demo platform (``chatrec.demo.sshd``): its
own ed25519 host key, one authorized client key, ``internal-sftp`` forced, keys only,
client keepalives.  The remote folder is an absolute path in the test's tmp dir, so
a test reads what arrived straight from the disk.  Missing OpenSSH fails the test with
the command that installs it; it never skips.

    with OpenSshServer(tmp_path) as sshd:
        destination = sshd.destination()
"""

from __future__ import annotations

import getpass
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chatrec.delivery.egress import EgressPolicy
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

LOOPBACK_EGRESS = EgressPolicy.of(allow=LOOPBACK)
"""The egress policy of the uploaders tests build: the default, and 127.0.0.1 (every
test platform listens there), as ``CHATREC_EGRESS_ALLOW`` is set for the processes
(``tests/conftest.py``)."""


class OpenSshServer:
    """One sshd, its keys and its drop folder under ``workdir``; stop, kill, start again."""

    def __init__(self, workdir: Path) -> None:
        if not SSHD.exists():
            pytest.fail(
                f"OpenSSH server {SSHD} is not installed: run `make sshd` (installs "
                "openssh-server); delivery tests need a real sshd",
                pytrace=False,
            )
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.keys = ensure_keys(workdir / "keys")
        self.folder = workdir / "remote"
        self.folder.mkdir(exist_ok=True)
        self.user = getpass.getuser()
        self.port = free_port()
        self.process = sshd_in(workdir, keys=self.keys, port=self.port, user=self.user)
        self.config = self.process.config

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def host_key_line(self) -> str:
        """The server's key in known_hosts form, as an administrator pins it."""
        return known_hosts_line(LOOPBACK, self.port, self.keys.host_public_key)

    @property
    def client_key(self) -> str:
        """The private key text the server accepts."""
        return self.keys.client_private_key

    @property
    def log(self) -> str:
        return self.process.log.read_text() if self.process.log.exists() else ""

    def logins(self) -> int:
        """How many SSH logins the server has accepted so far."""
        return self.log.count("Accepted publickey for")

    def destination(self, **changes: Any) -> Destination:
        """A destination delivering into ``folder``, host key pinned, short timeouts."""
        base = loopback_destination(
            self.keys, port=self.port, user=self.user, folder=str(self.folder), company_id="acme"
        )
        return replace(base, **{"timeout_seconds": 5.0, **changes})

    def start(self) -> None:
        self.process.start()

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        self.process.kill()

    def __enter__(self) -> OpenSshServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
