"""The real worker and SFTP uploader against a real OpenSSH sshd: faults, then fixes (R16).

The worker runs in the test's process with an injectable clock, so "ten minutes later"
and every back-off in between pass in an instant; the files are read from the sshd's
disk.  A permanent fault (pinned host key, missing folder) blocks the platform with a
reason an administrator can act on and uploads nothing; fixing it delivers everything.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncssh
import pytest

from chatrec.delivery.egress import EgressPolicy
from chatrec.delivery.sftp import SftpUploader, known_hosts_line
from chatrec.delivery.worker import DeliveryWorker
from chatrec.errors import EgressRefusedError
from chatrec.store.records import DeliveryState, DestinationRecord
from chatrec.store.store import Store
from tests.integration.delivery.test_worker_crash import destination_record
from tests.integration.store.factories import ended_chat, produced, seed
from tests.sshd import LOOPBACK_EGRESS, OpenSshServer

CHATS = 3


class Clock:
    """The worker's time: starts now, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[OpenSshServer]:
    server = OpenSshServer(tmp_path / "sshd")
    try:
        yield server
    finally:
        server.stop()


def end_chats(store: Store, destination: DestinationRecord | None = None) -> dict[str, bytes]:
    """Acme (with ``destination``) and ``CHATS`` ended chats, their recordings' bytes in
    the database; remote path → bytes."""
    seed(store)
    if destination is not None:
        store.set_destination(destination)
    recordings = [produced(f"R-S{n}", f"S{n}", data=2) for n in range(CHATS)]
    changes = [ended_chat(f"S{n}", (recordings[n],)) for n in range(CHATS)]
    assert store.apply(changes) == [None] * CHATS
    return {file.path: file.content or b"" for r in recordings for file in r.files}


def states(store: Store) -> set[DeliveryState]:
    return {d.state for d in store.list_deliveries(limit=1000)}


def on_disk(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


class Deliverer:
    """The real worker and uploader, driven one round at a time on a fake clock."""

    def __init__(self, store: Store, egress: EgressPolicy = LOOPBACK_EGRESS) -> None:
        self.store = store
        self.clock = Clock()
        self.uploader = SftpUploader(egress=egress)
        self.worker = DeliveryWorker(
            store,
            self.uploader,
            worker_id="w-sshd",
            clock=self.clock,
            rng=random.Random(16),
        )

    async def rounds(self, count: int, step: float = 0.0) -> None:
        """``count`` rounds, the clock moving ``step`` seconds after each."""
        for _ in range(count):
            await self.worker.run_once()
            self.clock.advance(step)

    async def until_delivered(self, step: float = 30.0, most: int = 60) -> int:
        """Rounds until every delivery is delivered; how many it took."""
        for done in range(1, most + 1):
            await self.worker.run_once()
            if states(self.store) == {DeliveryState.DELIVERED}:
                return done
            self.clock.advance(step)
        raise AssertionError(f"not delivered: {self.store.list_deliveries(limit=1000)}")


def assert_delivered_once(store: Store, folder: Path, expected: dict[str, bytes]) -> None:
    assert states(store) == {DeliveryState.DELIVERED}
    assert on_disk(folder) == expected  # each once by name and bytes, no .part


def test_R16_a_wrong_pinned_host_key_blocks_until_the_right_key_is_pinned(
    store: Store, sshd: OpenSshServer
) -> None:
    expected = end_chats(store)
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    wrong = known_hosts_line(sshd.host, sshd.port, " ".join(stranger.split()[:2]))
    store.set_destination(destination_record(sshd, host_key=wrong))
    deliverer = Deliverer(store)

    async def scenario() -> None:
        try:
            with sshd:
                await deliverer.rounds(3, step=60)
                assert states(store) == {DeliveryState.BLOCKED}
                destination = store.get_destination("acme")
                assert destination is not None
                assert destination.blocked_reason
                assert "host key" in destination.blocked_reason
                for delivery in store.list_deliveries(limit=1000):
                    assert delivery.last_error
                    assert "host key" in delivery.last_error
                assert on_disk(sshd.folder) == {}
                assert sshd.logins() == 0

                store.set_destination(destination_record(sshd))
                await deliverer.until_delivered()
                assert_delivered_once(store, sshd.folder, expected)
        finally:
            await deliverer.worker.close()

    asyncio.run(scenario())
    assert deliverer.worker.counts.delivered == len(expected)


def test_R16_a_platform_the_egress_policy_refuses_is_blocked_without_a_connection(
    store: Store, sshd: OpenSshServer
) -> None:
    """The default policy refuses loopback: the worker blocks the platform with the
    operator's reason, and the sshd never sees a connection; allowed, it delivers
    (issue 16.3)."""
    expected = end_chats(store, destination_record(sshd))
    refusing = Deliverer(store, egress=EgressPolicy())

    async def scenario() -> None:
        try:
            with sshd:
                await refusing.rounds(2, step=60)
                assert states(store) == {DeliveryState.BLOCKED}
                destination = store.get_destination("acme")
                assert destination is not None
                assert destination.blocked_reason == EgressRefusedError(sshd.host, sshd.port).reason
                assert sshd.logins() == 0
                assert sshd.log.count("Connection closed by 127") <= 1  # its start-up check
                assert on_disk(sshd.folder) == {}

                allowing = Deliverer(store)
                try:
                    store.set_destination(destination_record(sshd))
                    await allowing.until_delivered()
                finally:
                    await allowing.worker.close()
                assert_delivered_once(store, sshd.folder, expected)
        finally:
            await refusing.worker.close()

    asyncio.run(scenario())


def test_R16_a_missing_remote_folder_blocks_until_created_and_retried(
    store: Store, sshd: OpenSshServer
) -> None:
    expected = end_chats(store)
    folder = sshd.folder / "recordings"
    store.set_destination(destination_record(sshd, folder=str(folder)))
    deliverer = Deliverer(store)

    async def scenario() -> None:
        try:
            with sshd:
                await deliverer.rounds(3, step=60)
                assert states(store) == {DeliveryState.BLOCKED}
                destination = store.get_destination("acme")
                assert destination is not None
                assert destination.blocked_reason
                assert str(folder) in destination.blocked_reason
                assert "does not exist" in destination.blocked_reason
                assert not folder.exists()
                assert on_disk(sshd.folder) == {}

                folder.mkdir()
                assert store.retry_deliveries(None, company_id="acme") == len(expected)
                await deliverer.until_delivered()
                assert_delivered_once(store, folder, expected)
        finally:
            await deliverer.worker.close()

    asyncio.run(scenario())
    assert deliverer.worker.counts.delivered == len(expected)


def test_R16_refused_credentials_block_until_the_right_key_is_set(
    store: Store, sshd: OpenSshServer
) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    expected = end_chats(store, destination_record(sshd, private_key=stranger))
    deliverer = Deliverer(store)

    async def scenario() -> None:
        try:
            with sshd:
                await deliverer.rounds(3, step=60)
                assert states(store) == {DeliveryState.BLOCKED}
                destination = store.get_destination("acme")
                assert destination is not None
                assert destination.blocked_reason
                assert "refused to log in user" in destination.blocked_reason
                assert on_disk(sshd.folder) == {}

                store.set_destination(destination_record(sshd))  # the administrator's fix
                await deliverer.until_delivered()
                assert_delivered_once(store, sshd.folder, expected)
        finally:
            await deliverer.worker.close()

    asyncio.run(scenario())
    assert deliverer.worker.counts.delivered == len(expected)


def test_R16_a_platform_down_when_chats_end_and_up_10_minutes_later_gets_all_once(
    store: Store, sshd: OpenSshServer
) -> None:
    # The sshd is not started: the platform is down when the chats end.
    expected = end_chats(store, destination_record(sshd))
    deliverer = Deliverer(store)

    async def scenario() -> None:
        try:
            started = deliverer.clock()
            while deliverer.clock() < started + timedelta(minutes=10):
                await deliverer.rounds(1, step=15)
            found = store.list_deliveries(limit=1000)
            assert {d.state for d in found} == {DeliveryState.PENDING}
            assert min(d.attempts for d in found) >= 3  # retried with back-off, not dropped
            assert all(d.last_error for d in found)
            destination = store.get_destination("acme")
            assert destination is not None
            assert destination.blocked_reason is None
            assert on_disk(sshd.folder) == {}

            sshd.start()
            await deliverer.until_delivered()
            assert_delivered_once(store, sshd.folder, expected)
            # Later rounds deliver nothing again.
            await deliverer.rounds(3, step=600)
            assert_delivered_once(store, sshd.folder, expected)
        finally:
            await deliverer.worker.close()

    asyncio.run(scenario())
    assert deliverer.worker.counts.delivered == len(expected)
    ids = [d.delivery_id for d in store.list_deliveries(limit=1000)]
    assert store.delivery_contents(ids) == {}  # delivered: the database keeps no copy
