"""``chatrec deliveries`` as an administrator runs it, on SQLite and PostgreSQL (R16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from chatrec.cli import app
from chatrec.cli.deliveries import State
from chatrec.store.records import DeliveryState
from chatrec.store.store import Store
from tests.integration.delivery.world import HOST_KEY_REASON, NOW, build_world
from tests.keys import SECRETS


def chatrec(database_url: str, tmp_path: Path, *args: str) -> Result:
    """``chatrec deliveries`` in process: the installed command line is tested as a
    process in tests/integration/cli; a start-up per command would double this file's time."""
    options = ["--database-url", database_url, "--data-dir", str(tmp_path / "data")]
    return CliRunner().invoke(app, ["deliveries", *args, *options])


@pytest.fixture
def world(database_url: str) -> str:
    store = Store(database_url, secrets=SECRETS, clock=lambda: NOW)
    try:
        build_world(store)
    finally:
        store.close()
    return database_url


def test_R16_an_administrator_lists_shows_and_retries_deliveries(
    world: str, tmp_path: Path
) -> None:
    listing = ["deliveries", "list", "--state", "blocked", "--company", "acme"]
    listed = CliRunner().invoke(app, [*listing, "--database-url", world])
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.stdout.splitlines()
    assert header.split() == [
        "ID",
        "STATE",
        "TRIES",
        "COMPANY",
        "WHEN",
        "(UTC)",
        "PATH",
        "LAST",
        "ERROR",
    ]
    assert len(rows) == 3
    assert all(" blocked " in row and " acme " in row for row in rows)
    assert all(row.endswith(HOST_KEY_REASON) for row in rows)
    # For scripts: a JSON list of objects, the same deliveries.
    as_json = CliRunner().invoke(app, [*listing, "--json", "--database-url", world])
    assert as_json.exit_code == 0, as_json.output
    found = json.loads(as_json.stdout)
    assert [d["delivery_id"] for d in found] == [int(row.split()[0]) for row in rows]
    assert {(d["state"], d["company_id"], d["last_error"]) for d in found} == {
        ("blocked", "acme", HOST_KEY_REASON)
    }
    data_id = min(d["delivery_id"] for d in found)

    shown = chatrec(world, tmp_path, "show", str(data_id))
    assert shown.exit_code == 0, shown.output
    fields = dict(
        line.strip().split(":", 1) for line in shown.stdout.splitlines()[1:] if ":" in line
    )
    assert fields["attempts"].strip() == "1"
    assert fields["last error"].strip() == HOST_KEY_REASON
    assert fields["remote path"].strip() == "C1/R-C1.0.json"
    assert len(fields["sha256"].strip()) == 64
    assert (
        fields["destination"]
        .strip()
        .startswith("sftp://recordings@127.0.0.1:2222/upload (blocked since")
    )

    retried = chatrec(world, tmp_path, "retry", str(data_id))
    assert (retried.exit_code, retried.stdout.strip()) == (0, "1 deliveries due now")
    store = Store(world, secrets=SECRETS)
    try:
        assert {d.state for d in store.list_deliveries()} == {DeliveryState.PENDING}
        destination = store.get_destination("acme")
        assert destination is not None
        assert destination.blocked_reason is None
    finally:
        store.close()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "999"], 1, "no delivery 999"),
        (["retry", "999"], 1, "no deliveries [999]"),
        (["retry"], 2, "give delivery ids, or --all"),
        (["retry", "1", "--all"], 2, "give delivery ids, or --all"),
        (["list", "--state", "lost"], 2, "lost"),
    ],
)
def test_R19_the_command_line_refuses_what_it_cannot_do(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    url = f"sqlite:///{tmp_path / 'chatrec.db'}"
    store = Store(url, secrets=SECRETS)
    store.migrate()
    store.close()
    result = CliRunner().invoke(app, ["deliveries", *args, "--database-url", url])
    assert result.exit_code == code
    assert message in result.output


def test_the_command_line_knows_every_delivery_state() -> None:
    assert {state.value for state in State} == {state.value for state in DeliveryState}
