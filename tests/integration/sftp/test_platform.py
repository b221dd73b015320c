"""The demo recording platform ``make run`` starts beside the server (R16, issue 4 point 5)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from pathlib import Path
from typing import Literal

import pytest

from chatrec.delivery.model import Destination
from chatrec.delivery.sftp import SftpUploader
from chatrec.demo.platform import start_demo_platform
from chatrec.demo.sshd import free_port
from tests.integration.sftp.conftest import Rendered, ids_of
from tests.sshd import LOOPBACK_EGRESS

Backend = Literal["openssh", "asyncssh"]


def deliver_one(destination: Destination, rendered: Rendered, base: str) -> None:
    recording = rendered.recording(base, marker=True)

    async def scenario() -> dict[int, BaseException | None]:
        uploader = SftpUploader(egress=LOOPBACK_EGRESS)
        try:
            return await uploader.upload(destination, [recording])
        finally:
            await uploader.close()

    assert asyncio.run(scenario()) == dict.fromkeys(ids_of(recording))


@pytest.mark.parametrize("backend", ["openssh", "asyncssh"])
def test_R16_demo_platform_receives_recordings_and_keeps_its_host_key(
    tmp_path: Path, rendered: Rendered, backend: Backend
) -> None:
    data_dir = tmp_path / "var"
    port = free_port()

    with start_demo_platform(data_dir, port=port, backend=backend) as platform:
        first = platform.destination
        assert platform.backend == backend
        assert first.port == port
        assert first.company_id == "demo"
        deliver_one(first, rendered, "2024/05/chat-1")
        assert (data_dir / "platform/2024/05/chat-1.json").exists()

    with start_demo_platform(data_dir, port=port, backend=backend) as platform:
        # The pin a company saved still holds after a restart.
        assert platform.destination.host_key == first.host_key
        deliver_one(replace(first, done_marker=True), rendered, "chat-2")

    assert sorted(path.name for path in (data_dir / "platform").iterdir()) == [
        "2024",
        "chat-2.done",
        "chat-2.json",
        "chat-2.meta.json",
        "chat-2.txt",
    ]


def test_R16_demo_platform_moves_to_a_free_port_when_its_own_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with start_demo_platform(tmp_path / "var", port=port) as platform:
            assert platform.destination.port != port


def test_R16_demo_platform_replaces_the_sshd_a_killed_demo_left_behind(tmp_path: Path) -> None:
    port = free_port()
    orphan = start_demo_platform(tmp_path / "var", port=port, backend="openssh")
    try:
        with start_demo_platform(tmp_path / "var", port=port, backend="openssh") as platform:
            assert platform.destination.port == port
    finally:
        orphan.stop()
