"""A recording a server ended is delivered by a worker on another machine (R16, R20).

The server and the worker share only the database: each has a data folder of its own,
as on two machines.  The chat's end commits the recording's bytes with it, so the
worker, which never sees the server's disk, delivers them to a real OpenSSH sshd; once
they are delivered, the database keeps none of them.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

from chatrec.demo.company import COMPANY_ID
from chatrec.store.records import DeliveryRecord, DeliveryState
from chatrec.store.store import Store
from tests.integration.clients import Client, run
from tests.integration.delivery.test_worker_crash import destination_record
from tests.integration.server import SeededDemo, ServerProcess
from tests.keys import SECRETS
from tests.sshd import OpenSshServer


def a_chat_with_a_flow_recording(server: ServerProcess) -> str:
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, chat_id, _ = await Client.customer(server, "demo-support")
        chat["id"] = chat_id
        await customer.state(chat_id, lambda c: c["choices"] is not None)
        await customer.ok({"type": "message", "text": "Billing"})  # the flow records (R5b)
        await customer.ok({"type": "end"})
        await customer.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    return chat["id"]


def deliveries_of(store: Store, chat_id: str) -> list[DeliveryRecord]:
    return [d for d in store.list_deliveries(company_id=COMPANY_ID) if d.chat_id == chat_id]


def worker_once(database_url: str, data_dir: Path) -> None:
    """``chatrec worker --once`` as cron would run it on the worker's machine."""
    done = subprocess.run(
        [sys.executable, "-m", "chatrec", "worker", "--once", "--data-dir", str(data_dir),
         "--database-url", database_url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_R20_a_worker_with_another_data_folder_delivers_what_a_server_ended(
    database_url: str, tmp_path: Path, seeded_demo: SeededDemo
) -> None:
    server_dir, worker_dir = tmp_path / "server", tmp_path / "worker"
    if database_url.startswith("sqlite"):  # seeded already; PostgreSQL is seeded at start
        database_url = seeded_demo.copy_to(server_dir, tmp_path / "chatrec.db")
    server = ServerProcess(server_dir, database_url, env={"CHATREC_DELIVERY_IN_SERVER": "false"})
    store = Store(database_url, secrets=SECRETS)
    try:
        with OpenSshServer(tmp_path / "sshd") as sshd:
            server.start()
            try:
                store.set_destination(destination_record(sshd, company_id=COMPANY_ID))
                chat_id = a_chat_with_a_flow_recording(server)
            finally:
                server.stop()
            waiting = deliveries_of(store, chat_id)
            assert waiting, "the flow's recording was produced"
            assert {d.state for d in waiting} == {DeliveryState.PENDING}
            # Its bytes are in the database, and only there: the server wrote no file.
            held = store.delivery_contents([d.delivery_id for d in waiting])
            assert [len(held[d.delivery_id]) for d in waiting] == [d.size for d in waiting]
            assert not (server_dir / "spool").exists()

            deadline = time.monotonic() + 60
            while {d.state for d in deliveries_of(store, chat_id)} != {DeliveryState.DELIVERED}:
                assert time.monotonic() < deadline, deliveries_of(store, chat_id)
                worker_once(database_url, worker_dir)

            for delivery in waiting:
                landed = (sshd.folder / delivery.remote_path).read_bytes()
                assert landed == held[delivery.delivery_id], delivery.remote_path
                assert hashlib.sha256(landed).hexdigest() == delivery.sha256
            assert not list(sshd.folder.rglob("*.part"))
            # Delivered: the database keeps no copy (R16, R17).
            assert store.delivery_contents([d.delivery_id for d in waiting]) == {}
    finally:
        store.close()
