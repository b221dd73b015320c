"""What a server and a worker write under the data folder is owner-only under the usual
umask 022 (R18): the database, the demo platform's files, the keys; and no recording
is ever written there by the server, whose ends commit the bytes (R16, R20)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.integration.clients import Client, run
from tests.integration.server import ServerProcess


def test_R16_R18_a_server_and_a_worker_write_only_owner_only_files_and_no_spool(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    # As an older chatrec or a restore left it: loose.
    (data / "old").mkdir(parents=True)
    (data / "old" / "left.json").write_text("{}")
    for path in (data, data / "old"):
        path.chmod(0o755)
    (data / "old" / "left.json").chmod(0o644)
    server = ServerProcess(
        data,
        f"sqlite:///{data / 'chatrec.db'}",
        platform=True,
        umask=0o022,
        env={"CHATREC_DELIVERY_IN_SERVER": "false"},  # the database keeps the files
    )
    server.start()
    try:

        async def a_chat_with_a_flow_recording() -> None:
            customer, chat_id, _ = await Client.customer(server, "demo-support")
            await customer.state(chat_id, lambda c: c["choices"] is not None)
            await customer.ok({"type": "message", "text": "Billing"})  # the flow records
            await customer.ok({"type": "end"})

        run(a_chat_with_a_flow_recording)
        assert not (data / "spool").exists()  # the end committed the bytes, nothing else
        assert not list((data / "platform").rglob("*.json"))
        assert {"chatrec.db-wal", "chatrec.db-shm"} <= set(os.listdir(data))
        assert loose(data) == {}  # the database, its WAL, the platform's keys
        worker = subprocess.run(
            [sys.executable, "-m", "chatrec", "worker", "--once", "--data-dir", str(data),
             "--database-url", server.database_url],
            capture_output=True, text=True, timeout=60, check=False, umask=0o022,
        )  # fmt: skip
        assert worker.returncode == 0, worker.stderr
        assert list((data / "platform").rglob("*.json")), worker.stderr
        assert loose(data) == {}  # what the platform stored
    finally:
        server.stop()
        server.stop_platform()

    # Two folders and a file left loose, and the server's log the test opened for it.
    log = server.log_path.read_text()
    assert "held 4 files or folders others could read" in log


def loose(data: Path) -> dict[str, str]:
    """Everything under ``data`` that others may read, with its mode."""
    return {
        str(path.relative_to(data)): oct(stat.S_IMODE(path.lstat().st_mode))
        for path in [data, *data.rglob("*")]
        if not path.is_symlink()
        and not stat.S_ISSOCK(path.lstat().st_mode)
        and stat.S_IMODE(path.lstat().st_mode) & 0o077
    }
