"""``chatrec admin`` as a script runs it, on SQLite and PostgreSQL (R1, R3, R4, R6, R7, R12a,
R16, R18, R19).

Commands run in-process through Typer's runner (one as a separate process, to prove
the installed command line); what they changed is read back from the store.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncssh
import pytest
import typer.main
from click.testing import Result
from typer.testing import CliRunner

from chatrec.cli import app
from chatrec.cli.database import open_store
from chatrec.domain.queues import R3_REASON
from chatrec.services import passwords
from chatrec.services.admin.audit import EXPORT_COLUMNS
from chatrec.services.passwords import verify_password
from chatrec.store.records import SYSTEM_COMPANY_ID
from chatrec.store.store import Store
from tests.conftest import TEST_PASSWORD_COST

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

FLOW = """\
name: Claims
steps:
  - id: hi
    type: say
    text: Hello, this is claims.
  - id: go
    type: route
    queue: Claims
"""

BAD_FLOW = """\
name: Broken
steps:
  - id: hi
    type: shout
    text: Hello
  - id: go
    type: route
    queue: Nowhere
"""


def admin(database_url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["admin", *args, "--database-url", database_url], input=stdin)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The commands' data dir (and its secret key file), in the test's own folder."""
    folder = tmp_path / "data"
    monkeypatch.setenv("CHATREC_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """The store opened as the commands open it, so it reads the secrets they write."""
    opened = open_store(None, database_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def acme(database_url: str) -> str:
    """A recording company ``acme``, made through the command line."""
    ok(
        admin(
            database_url,
            "company",
            "create",
            "acme",
            "--name",
            "Acme",
            "--product",
            "call_recording",
            "--product",
            "webchat",
        )
    )
    return database_url


def counts(store: Store, company_id: str = "acme") -> dict[str, int]:
    return {
        "queues": len(store.list_queues(company_id)),
        "flows": len(store.list_flows(company_id)),
        "services": len(store.list_services(company_id)),
        "users": len(store.list_users(company_id)),
        "audit": len(store.list_audit(company_id)),
    }


def test_R1_an_operator_creates_provisions_and_shows_a_company(
    database_url: str, store: Store
) -> None:
    created = ok(
        admin(database_url, "company", "create", "acme", "--name", "Acme", "--product", "webchat")
    )
    assert "Nothing will be recorded (R1)" in created.stdout
    assert "call_recording" in created.stdout

    ok(
        admin(
            database_url,
            *("company", "provision", "--company", "acme", "--product", "call_recording"),
            *("--product", "webchat"),
        )
    )
    shown = ok(admin(database_url, "company", "show", "--company", "acme"))
    assert "Chats are recorded: the company has call_recording and webchat." in shown.stdout
    view = json.loads(
        ok(admin(database_url, "company", "show", "--company", "acme", "--json")).stdout
    )
    assert view["records"] is True
    assert view["products"] == ["call_recording", "webchat"]
    assert view["template_preview"].startswith("2024-03-14/")
    assert [line.action for line in store.list_audit("acme")] == [
        "company.created",
        "company.provisioned",
    ]
    assert store.list_audit("acme")[0].actor.startswith("cli:")


def test_R4_R7_R12a_logins_are_created_bulk_edited_and_given_new_passwords(
    acme: str, store: Store
) -> None:
    carol = json.loads(
        ok(
            admin(
                acme,
                *("user", "create", "--company", "acme", "carol", "--name", "Carol"),
                *("--role", "agent", "--no-permit-recordings", "--record-percentage", "50"),
                "--json",
            )
        ).stdout
    )
    generated = carol["password"]
    assert (carol["user"]["permit_recordings"], carol["user"]["record_percentage"]) == (False, 50)
    dave = ok(
        admin(
            acme,
            *("user", "create", "--company", "acme", "dave", "--name", "Dave", "--role", "agent"),
            "--password-stdin",
            stdin="correct horse battery\n",
        )
    )
    assert "password" not in dave.stdout  # given, so not echoed back
    dave_id = store.find_user_by_login("dave").user_id  # type: ignore[union-attr]
    carol_id = carol["user"]["user_id"]
    stored = store.get_user(carol_id)
    assert stored is not None
    assert verify_password(stored.password_hash, generated)

    ok(
        admin(
            acme, "user", "set", carol_id, dave_id, "--no-record-chats", "--record-percentage", "40"
        )
    )
    for user_id in (carol_id, dave_id):
        user = store.get_user(user_id)
        assert user is not None
        assert (user.record_chats, user.record_percentage) == (False, 40)

    # One unknown id: the bulk edit is refused whole.
    refused = admin(acme, "user", "set", carol_id, "u_nobody", "--record-chats")
    assert refused.exit_code == 1
    assert "error: no user 'u_nobody'" in refused.stderr
    assert store.get_user(carol_id).record_chats is False  # type: ignore[union-attr]

    reset = ok(admin(acme, "user", "reset-password", carol_id))
    new = reset.stdout.split("password (shown once): ")[1].strip()
    user = store.get_user(carol_id)
    assert user is not None
    assert verify_password(user.password_hash, new)
    assert not verify_password(user.password_hash, generated)
    listed = ok(admin(acme, "user", "list", "--company", "acme")).stdout
    assert {"carol", "dave"} <= set(listed.split())
    assert {generated, new}.isdisjoint(listed.split())


def test_R4_R12a_a_login_is_named_by_its_login_name_or_its_id(acme: str, store: Store) -> None:
    # No --company: acme is the only company.
    created = ok(admin(acme, "user", "create", "carol", "--name", "Carol", "--role", "agent"))
    assert "of company acme" in created.stdout
    carol = store.find_user_by_login("carol")
    assert carol is not None
    ok(admin(acme, "user", "set", "carol", "--no-permit-recordings"))  # by login name
    ok(admin(acme, "user", "set", carol.user_id, "--record-percentage", "40"))  # by id
    ok(admin(acme, "user", "reset-password", "Carol", "--password-stdin", stdin="a new secret\n"))
    changed = store.get_user(carol.user_id)
    assert changed is not None
    assert (changed.permit_recordings, changed.record_percentage) == (False, 40)
    assert verify_password(changed.password_hash, "a new secret")

    # --company scopes the search, and is checked like everywhere else.
    ok(admin(acme, "company", "create", "globex", "--name", "Globex"))
    elsewhere = admin(acme, "user", "set", "carol", "--company", "globex", "--record-chats")
    assert elsewhere.exit_code == 1
    assert "error: no user 'carol' in company 'globex'" in elsewhere.stderr

    # A login name that is another login's id: refused, naming both and how to name each.
    impostor = json.loads(
        ok(
            admin(
                acme,
                *("user", "create", carol.user_id, "--company", "globex"),
                *("--name", "Impostor", "--role", "agent", "--json"),
            )
        ).stdout
    )["user"]
    ambiguous = admin(acme, "user", "set", carol.user_id, "--no-record-chats")
    assert ambiguous.exit_code == 2
    assert (
        f"'{carol.user_id}' names two users: the id of 'carol' and the login name of "
        f"'{impostor['user_id']}'; give 'carol' for the first or '{impostor['user_id']}' for "
        "the second"
    ) in ambiguous.stderr
    assert store.get_user(carol.user_id).record_chats is True  # type: ignore[union-attr]
    ok(admin(acme, "user", "set", carol.user_id, "--company", "acme", "--no-record-chats"))
    assert store.get_user(carol.user_id).record_chats is False  # type: ignore[union-attr]
    assert store.get_user(impostor["user_id"]).record_chats is True  # type: ignore[union-attr]


def test_R18_the_company_is_inferred_when_there_is_one_and_asked_for_among_several(
    acme: str, store: Store
) -> None:
    ok(admin(acme, "queue", "create", "Claims"))
    assert [q.name for q in store.list_queues("acme")] == ["Claims"]
    ok(admin(acme, "company", "create", "globex", "--name", "Globex"))
    before = counts(store)
    for command in (["queue", "create", "Sales"], ["user", "list"], ["audit"]):
        refused = admin(acme, *command)
        assert refused.exit_code == 2, refused.output
        assert refused.stderr == (
            "error: there are several companies (acme, globex): say which with "
            "--company COMPANY_ID\n"
        )
    assert counts(store) == before


def _admin_commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    yield " ".join(path), command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _admin_commands(sub, (*path, name))


# The fewest arguments each command with --company needs to reach the company.
COMPANY_COMMANDS = {
    "audit": [],
    "canned add": ["greet", "Hello"],
    "canned list": [],
    "company provision": ["--product", "webchat"],
    "company set": ["--name", "Acme 2"],
    "company show": [],
    "company keys": [],
    "company rotate-key": [],
    "destination set": ["--host", "sftp.example", "--user", "acme", "--folder", "in"],
    "destination show": [],
    "destination test": [],
    "flow check": ["{flow}"],
    "flow list": [],
    "flow preview": ["{flow}"],
    "flow save": ["{flow}"],
    "import": ["{setup}"],
    "queue create": ["Claims"],
    "queue list": [],
    "service create": ["Chat"],
    "service list": [],
    "user create": ["erin", "--name", "Erin", "--role", "agent"],
    "user list": [],
    "user reset-password": ["ada"],
    "user set": ["ada", "--record-chats"],
}


def test_R18_every_admin_command_refuses_an_unknown_company_alike(
    acme: str, store: Store, tmp_path: Path
) -> None:
    """``--company`` is read one way in every admin command: an unknown id is "not found"
    (exit 1) before anything is read or changed."""
    admin_group = typer.main.get_command(app).commands["admin"]  # type: ignore[attr-defined]
    with_company = {
        path
        for path, command in _admin_commands(admin_group)
        if any("--company" in getattr(p, "opts", []) for p in command.params)
    }
    assert with_company == set(COMPANY_COMMANDS)
    (tmp_path / "flow.yaml").write_text(FLOW)
    (tmp_path / "setup.yaml").write_text("queues: [{name: Claims}]\n")
    files = {"{flow}": str(tmp_path / "flow.yaml"), "{setup}": str(tmp_path / "setup.yaml")}
    before = counts(store)
    for path, arguments in COMPANY_COMMANDS.items():
        given = [files.get(argument, argument) for argument in arguments]
        refused = admin(acme, *path.split(), *given, "--company", "nope")
        assert (refused.exit_code, refused.stderr) == (1, "error: no company 'nope'\n"), path
    assert counts(store) == before


@pytest.mark.parametrize(
    "flags",
    [
        ["--record"],
        ["--no-record"],
        ["--recording"],
        ["--record-chats"],
        ["--record-percentage", "50"],
        ["--permit-recordings"],
    ],
)
def test_R3_a_recording_flag_on_a_queue_is_refused_and_nothing_is_created(
    acme: str, store: Store, flags: list[str]
) -> None:
    before = counts(store)
    refused = admin(acme, "queue", "create", "--company", "acme", "Claims", *flags)
    assert refused.exit_code == 2
    assert R3_REASON in refused.stderr
    assert f"Refused: '{flags[0].replace('--no-', '--')}'" in refused.stderr
    assert counts(store) == before

    queue = json.loads(
        ok(admin(acme, "queue", "create", "--company", "acme", "Claims", "--json")).stdout
    )
    renamed = admin(acme, "queue", "rename", queue["queue_id"], "Claims 2", *flags)
    assert renamed.exit_code == 2
    assert R3_REASON in renamed.stderr
    assert [q.name for q in store.list_queues("acme")] == ["Claims"]


def test_R3_the_installed_command_refuses_recording_on_a_queue(acme: str, store: Store) -> None:
    run = subprocess.run(
        [
            *(sys.executable, "-m", "chatrec", "admin", "queue", "create"),
            *("--company", "acme", "Claims", "--record", "--database-url", acme),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.startswith(f"error: {R3_REASON}")
    assert store.list_queues("acme") == []


IMPORT_REFUSALS = [
    pytest.param(
        {
            "queues": [{"name": "Claims"}, {"name": "Sales", "record": True}],
            "flows": [{"source": FLOW}],
            "services": [{"name": "Claims", "flow": "Claims"}],
            "users": [{"login": "erin", "name": "Erin", "role": "agent"}],
        },
        [R3_REASON, "queues[1]", "Refused: 'record'"],
        id="R3-recording-key-on-a-queue",
    ),
    pytest.param(
        {"queues": [{"name": "Sales", "settings": {"record_percentage": 50}}]},
        [R3_REASON, "Refused: 'record_percentage'"],
        id="R3-recording-key-nested-in-a-queue",
    ),
    pytest.param(
        {
            "queues": [{"name": "Claims"}, {"name": "Claims"}],
            "flows": [
                {"source": BAD_FLOW},
                "missing.yaml",
                {"source": FLOW.replace("queue: Claims", "queue: Nowhere")},
            ],
            "services": [{"name": "Claims", "flow": "Nope"}],
            "users": [
                {"login": "erin", "name": "Erin", "role": "agent"},
                {"login": "ERIN", "name": "Erin 2", "role": "boss"},
                {"login": "fay", "name": "Fay", "role": "agent", "record_percentage": 101},
            ],
        },
        [
            "nothing was applied",
            "queues[1]: the company already has a queue named 'Claims'",
            "flows[0]: line 4",
            "flows[1]: cannot read 'missing.yaml'",
            "flows[2]: line 8, steps[1].queue: queue 'Nowhere' does not exist",
            "services[0]: no flow 'Nope'",
            "users[1]: role 'boss'",
            "users[2]: record percentage must be 0 to 100 (R7)",
        ],
        id="R19-every-problem-listed",
    ),
]


@pytest.mark.parametrize(("document", "messages"), IMPORT_REFUSALS)
def test_R3_R19_an_import_with_any_problem_applies_nothing(
    acme: str, store: Store, tmp_path: Path, document: dict[str, object], messages: list[str]
) -> None:
    file = tmp_path / "setup.json"
    file.write_text(json.dumps(document))
    before = counts(store)
    refused = admin(acme, "import", str(file), "--company", "acme")
    assert refused.exit_code == 2, refused.output
    for message in messages:
        assert message in refused.stderr
    assert counts(store) == before


LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcd", "bcde", strict=True)
)
"""Each level nine of the one before: nine to the tenth laughs from a few lines."""


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            f"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n{LAUGHS}queues: *e\n",
            "aliases (*name) are not allowed in an import (line 2, column 8)",
        ),
        (
            "queues: " + "[" * 100 + "]" * 100 + "\n",
            "the import is nested deeper than 32 levels (line 1, column 40)",
        ),
        (
            "queues: [{name: !!python/name:os.system General}]\n",
            "tags (such as !!str) are not allowed in an import (line 1, column 17)",
        ),
    ],
)
def test_R19_an_import_is_read_with_the_flow_loaders_limits(
    acme: str, store: Store, tmp_path: Path, document: str, message: str
) -> None:
    """A billion laughs, deep nesting and tags are refused as they are read."""
    file = tmp_path / "setup.yaml"
    file.write_text(document)
    before = counts(store)
    refused = admin(acme, "import", str(file), "--company", "acme")
    assert refused.exit_code == 2, refused.output
    assert refused.stderr == f"error: {file} cannot be read: {message}\n"
    assert counts(store) == before


def test_an_import_applies_queues_flows_services_and_users_and_audits_each(
    acme: str, store: Store, tmp_path: Path
) -> None:
    (tmp_path / "claims.yaml").write_text(FLOW)
    (tmp_path / "setup.yaml").write_text(
        "queues: [{name: Claims}, {name: General}]\n"
        "flows: [claims.yaml]\n"
        "services:\n  - {name: Claims, flow: Claims}\n  - {name: Chat}\n"
        "users:\n"
        "  - {login: erin, name: Erin, role: agent, record_percentage: 25}\n"
        "  - {login: gus, name: Gus, role: supervisor, permit_recordings: false}\n"
    )
    done = json.loads(
        ok(
            admin(acme, "import", str(tmp_path / "setup.yaml"), "--company", "acme", "--json")
        ).stdout
    )
    assert sorted(done["passwords"]) == ["erin", "gus"]
    assert [q.name for q in store.list_queues("acme")] == ["Claims", "General"]
    (flow,) = store.list_flows("acme")
    assert flow.name == "Claims"
    services = {service.name: service.flow_id for service in store.list_services("acme")}
    assert services == {"Claims": flow.flow_id, "Chat": None}
    erin = store.find_user_by_login("erin")
    gus = store.find_user_by_login("gus")
    assert erin is not None
    assert gus is not None
    assert (erin.role, erin.record_percentage) == ("agent", 25)
    assert (gus.role, gus.permit_recordings) == ("supervisor", False)
    assert verify_password(erin.password_hash, done["passwords"]["erin"])
    actions = [line.action for line in store.list_audit("acme")]
    assert actions[-8:] == [
        "queue.created",
        "queue.created",
        "flow.saved",
        "service.created",
        "service.created",
        "user.created",
        "user.created",
        "setup.imported",
    ]


def test_R19_flow_check_shows_each_problem_at_its_line(acme: str, tmp_path: Path) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text(BAD_FLOW)
    checked = admin(acme, "flow", "check", str(file), "--company", "acme")
    assert checked.exit_code == 2
    assert f"{file}: line 4" in checked.stderr  # the unknown step type
    assert "unknown step type 'shout'" in checked.stderr
    # From standard input, as JSON for an editor: the same problems with their lines.
    as_json = admin(acme, "flow", "check", "-", "--company", "acme", "--json", stdin=BAD_FLOW)
    assert as_json.exit_code == 2
    assert [p["line"] for p in json.loads(as_json.stdout)["problems"]] == [4]
    # A flow that loads but routes to a queue that does not exist: marked at its line.
    routed = admin(acme, "flow", "save", "-", "--company", "acme", stdin=FLOW)
    assert routed.exit_code == 2
    assert "<stdin>: line 8, steps[1].queue: queue 'Claims' does not exist" in routed.stderr

    ok(admin(acme, "queue", "create", "--company", "acme", "Claims"))
    saved = ok(admin(acme, "flow", "save", "-", "--company", "acme", "--json", stdin=FLOW))
    flow_id = json.loads(saved.stdout)["flow_id"]
    ok(admin(acme, "flow", "save", "-", "--company", "acme", "--flow-id", flow_id, stdin=FLOW))
    versions = json.loads(ok(admin(acme, "flow", "versions", flow_id, "--json")).stdout)
    assert [v["version"] for v in versions] == [2, 1]
    shown = ok(admin(acme, "flow", "show", flow_id, "--version", "1")).stdout
    assert shown.startswith(f"# flow {flow_id} 'Claims', version 1")
    preview = ok(admin(acme, "flow", "preview", "-", "--company", "acme", stdin=FLOW)).stdout
    assert "[routes the chat to queue 'Claims']" in preview


def test_the_audit_trail_exports_as_csv(acme: str) -> None:
    ok(admin(acme, "queue", "create", "--company", "acme", "Claims"))
    ok(admin(acme, "company", "set", "--company", "acme", "--retention-seconds", "60"))
    exported = ok(admin(acme, "audit", "--company", "acme", "--format", "csv")).stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [row["action"] for row in rows] == [
        "company.created",
        "queue.created",
        "company.updated",
    ]
    assert json.loads(rows[-1]["before"]) == {"retention_seconds": 0}
    assert json.loads(rows[-1]["after"]) == {"retention_seconds": 60}
    assert all(row["actor"].startswith("cli:") for row in rows)
    since = ok(admin(acme, "audit", "--company", "acme", "--since", "2999-01-01T00:00:00Z"))
    assert since.stdout.strip() == "no audit lines"


def _column_starts(header: str) -> list[int]:
    """Where each column of a table starts: its header's names stand two spaces apart."""
    return [match.start() for match in re.finditer(r"(?:^|(?<=  ))\S", header)]


def test_R14_the_audit_trail_prints_as_an_aligned_table(acme: str) -> None:
    ok(admin(acme, "queue", "create", "Claims"))
    ok(admin(acme, "user", "create", "erin", "--name", "Erin", "--role", "agent"))
    ok(admin(acme, "company", "set", "--retention-seconds", "60"))
    header, *rows = ok(admin(acme, "audit")).stdout.splitlines()
    assert re.split(r"\s{2,}", header) == [
        "WHEN (UTC)",
        "ACTOR",
        "ACTION",
        "TARGET",
        "CHAT",
        "CHANGE",
    ]
    starts = _column_starts(header)
    assert len(starts) == 6
    assert len(rows) == 4
    for row in rows:
        for start in starts[1:]:
            assert row[start - 2 : start] == "  ", (row, start)
            assert row[start] != " ", (row, start)
    assert rows[-1].endswith('{"retention_seconds": 0} → {"retention_seconds": 60}')


def test_R4_states_are_in_colour_on_a_terminal_and_json_has_none(acme: str) -> None:
    ok(admin(acme, "user", "create", "erin", "--name", "Erin", "--role", "agent"))
    ok(admin(acme, "user", "set", "erin", "--disable"))
    ok(admin(acme, "user", "create", "fay", "--name", "Fay", "--role", "agent"))
    terminal = {"FORCE_COLOR": "1", "COLUMNS": "200"}
    coloured = CliRunner().invoke(
        app, ["admin", "user", "list", "--database-url", acme], env=terminal
    )
    assert coloured.exit_code == 0, coloured.output
    assert re.search(r"\x1b\[31mdisabled *\x1b\[0m", coloured.stdout)  # red: look at it
    assert re.search(r"\x1b\[32menabled *\x1b\[0m", coloured.stdout)
    plain = ok(admin(acme, "user", "list")).stdout  # not a terminal: no colour
    assert "\x1b[" not in plain
    as_json = CliRunner().invoke(
        app, ["admin", "user", "list", "--json", "--database-url", acme], env=terminal
    )
    assert "\x1b[" not in as_json.stdout
    assert [(u["login"], u["disabled"]) for u in json.loads(as_json.stdout)] == [
        ("erin", True),
        ("fay", False),
    ]


def test_R18_a_destination_set_with_a_private_key_never_shows_it(
    acme: str, store: Store, tmp_path: Path
) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    server_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    (tmp_path / "id_ed25519").write_text(key)
    (tmp_path / "known_host").write_text(f"[sftp.example]:2222 {server_key}")
    ok(
        admin(
            acme,
            *("destination", "set", "--company", "acme", "--host", "sftp.example"),
            *("--port", "2222", "--user", "acme", "--folder", "incoming"),
            *("--private-key-file", str(tmp_path / "id_ed25519")),
            *("--host-key-file", str(tmp_path / "known_host"), "--done-marker"),
        )
    )
    saved = store.get_destination("acme")
    assert saved is not None
    assert saved.private_key == key.strip() + "\n"
    assert saved.done_marker

    body = key.splitlines()[1]
    shown = ok(admin(acme, "destination", "show", "--company", "acme"))
    as_json = ok(admin(acme, "destination", "show", "--company", "acme", "--json"))
    audit = ok(admin(acme, "audit", "--company", "acme", "--format", "json"))
    for output in (shown.stdout, as_json.stdout, audit.stdout):
        assert "PRIVATE KEY" not in output
        assert body not in output
    assert "private key (set, never shown)" in shown.stdout
    assert json.loads(as_json.stdout)["has_private_key"] is True

    # A later save without a secret keeps the stored key, port and pinned host key.
    ok(
        admin(
            acme,
            *("destination", "set", "--company", "acme", "--host", "sftp.example"),
            *("--user", "acme", "--folder", "drop"),
        )
    )
    kept = store.get_destination("acme")
    assert kept is not None
    assert (kept.private_key, kept.port, kept.host_key) == (
        saved.private_key,
        2222,
        saved.host_key,
    )

    # Another host, port or user without the secret: refused, the key is not sent there.
    for elsewhere in (
        ("--host", "sftp.evil.example", "--user", "acme"),
        ("--host", "sftp.example", "--port", "22", "--user", "acme"),
        ("--host", "sftp.example", "--user", "root"),
    ):
        refused = admin(
            acme, *("destination", "set", "--company", "acme", "--folder", "drop"), *elsewhere
        )
        assert refused.exit_code == 2, refused.output
        assert "enter the password or private key again" in refused.stderr
    assert store.get_destination("acme") == kept


def test_R6_template_preview_marks_the_problem_with_a_caret(acme: str) -> None:
    refused = CliRunner().invoke(app, ["admin", "template-preview", "{date}/{nope}_{chat_id}"])
    assert refused.exit_code == 2
    lines = refused.stderr.splitlines()
    assert lines[0].startswith("error: unknown token")
    assert lines[1:] == ["  {date}/{nope}_{chat_id}", "         ^"]
    good = CliRunner().invoke(app, ["admin", "template-preview", "{date}/{service}_{chat_id}"])
    assert (good.exit_code, good.stdout) == (0, "2024-03-14/Sales_c_01HRZ8K5J2W4\n")
    # Saving the same template as the company default is refused the same way.
    saved = admin(acme, "company", "set", "--company", "acme", "--template", "{date}/{nope}")
    assert saved.exit_code == 2
    assert saved.stderr.splitlines()[1:] == ["  {date}/{nope}", "         ^"]


def test_R18_the_command_line_hashes_passwords_at_the_configured_cost(
    acme: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATREC_PASSWORD_TIME_COST", "3")
    try:
        ok(
            admin(
                acme,
                "user",
                "create",
                "--company",
                "acme",
                "erin",
                "--name",
                "E",
                "--role",
                "agent",
            )
        )
    finally:
        passwords.configure(TEST_PASSWORD_COST)  # this process's own, for the next tests
    erin = store.find_user_by_login("erin")
    assert erin is not None
    cost = TEST_PASSWORD_COST  # but for the time cost the command was given
    assert erin.password_hash.split("$")[3] == f"m={cost.memory_kib},t=3,p={cost.parallelism}"


def test_R18_an_operator_login_belongs_to_the_system_company(acme: str, store: Store) -> None:
    ok(
        admin(
            acme,
            *("operator", "create", "olga", "--name", "Olga", "--password-stdin"),
            stdin="operator password 1\n",
        )
    )
    olga = store.find_user_by_login("olga")
    assert olga is not None
    assert (olga.company_id, olga.role) == (SYSTEM_COMPANY_ID, "operator")
    assert verify_password(olga.password_hash, "operator password 1")
    (line,) = store.list_audit(SYSTEM_COMPANY_ID)
    assert (line.action, line.detail["target"]) == ("operator.created", olga.user_id)
    assert store.list_users("acme") == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["company", "show", "--company", "nope"], 1, "no company 'nope'"),
        (["user", "set", "u_nope", "--record-chats"], 1, "no user 'u_nope'"),
        (["flow", "show", "f_nope"], 1, "no flow 'f_nope'"),
        (["destination", "test", "--company", "acme"], 1, "no recording platform"),
        (["user", "set", "u_nope"], 2, "nothing to change"),
        (["company", "create", "Bad!", "--name", "Bad"], 2, "company id 'Bad!'"),
        (["company", "create", "acme", "--name", "Again"], 2, "already exists"),
        (["company", "provision", "--company", "acme"], 2, "--product"),
        (["audit", "--company", "acme", "--since", "yesterday"], 2, "ISO 8601"),
        (["flow", "check", "missing.yaml", "--company", "acme"], 2, "cannot read missing.yaml"),
        (
            [
                *("user", "create", "--company", "acme", "bo", "--name", "Bo"),
                *("--role", "agent", "--record-percentage", "101"),
            ],
            2,
            "record percentage must be 0 to 100 (R7), not 101",
        ),
    ],
)
def test_R19_refusals_print_an_error_and_exit_with_its_code(
    acme: str, args: list[str], code: int, message: str
) -> None:
    result = admin(acme, *args)
    assert result.exit_code == code, result.output
    assert message in result.stderr


def test_R15_a_company_chooses_the_vcon_draft_its_files_follow(acme: str) -> None:
    refused = admin(acme, "company", "set", "--vcon-draft", "0.0.1")
    assert refused.exit_code == 2, refused.output
    assert "unknown vCon draft '0.0.1'; choose from ['core', 'container']" in refused.output
    shown = json.loads(ok(admin(acme, "company", "show", "--json")).stdout)
    assert shown["vcon_draft"] == "core"
    changed = ok(admin(acme, "company", "set", "--vcon-draft", "container", "--json")).stdout
    assert json.loads(changed)["vcon_draft"] == "container"
    assert "vCon draft: container" in ok(admin(acme, "company", "show")).stdout


def test_R22_masking_is_turned_off_and_given_patterns_of_the_company_s_own(
    acme: str, store: Store
) -> None:
    assert re.search(r"masking: +card numbers masked\n", ok(admin(acme, "company", "show")).stdout)
    national = r"National ID=\b[A-Z]{2}\d{6}[A-D]\b"
    refused = admin(acme, "company", "set", "--mask-pattern", r"Twice=(\d)\1", "--name", "X")
    assert refused.exit_code == 2, refused.output
    assert "masking pattern 'Twice': invalid escape sequence" in refused.stderr
    assert "no back-references" in refused.stderr
    assert store.get_company("acme").name == "Acme"  # type: ignore[union-attr]

    ok(admin(acme, "company", "set", "--mask-pattern", national, "--no-mask-card-numbers"))
    shown = json.loads(ok(admin(acme, "company", "show", "--json")).stdout)
    assert shown["mask_card_numbers"] is False
    assert shown["masking_patterns"] == [
        {"name": "National ID", "pattern": r"\b[A-Z]{2}\d{6}[A-D]\b"}
    ]
    assert "card numbers NOT masked" in ok(admin(acme, "company", "show")).stdout
    assert store.list_audit("acme")[-1].action == "company.card_masking_off"
    ok(admin(acme, "company", "set", "--no-mask-patterns"))
    assert store.get_company("acme").masking_patterns == ()  # type: ignore[union-attr]

    tried = CliRunner().invoke(
        app,
        ["admin", "mask-preview", "4111 1111 1111 1111 or AB123456C", "--mask-pattern", national],
    )
    assert ok(tried).stdout == "**** **** **** 1111 or *********\n"


def test_R23_the_typing_preview_is_off_until_turned_on_and_audited(acme: str, store: Store) -> None:
    assert re.search(r"typing: +preview off\n", ok(admin(acme, "company", "show")).stdout)
    ok(admin(acme, "company", "set", "--typing-preview"))
    assert store.get_company("acme").typing_preview is True  # type: ignore[union-attr]
    shown = json.loads(ok(admin(acme, "company", "show", "--json")).stdout)
    assert shown["typing_preview"] is True
    last = store.list_audit("acme")[-1]
    assert last.action == "company.updated"
    assert last.detail["before"]["typing_preview"] is False
    assert last.detail["after"]["typing_preview"] is True
    ok(admin(acme, "company", "set", "--no-typing-preview"))
    assert store.get_company("acme").typing_preview is False  # type: ignore[union-attr]

    empty = admin(acme, "company", "set", "--wrap-up-required")
    assert empty.exit_code == 2, empty.output
    assert "cannot be required while the list is empty" in empty.stderr
    codes = ("--wrap-up-code", "Claim", "--wrap-up-code", "Billing", "--wrap-up-required")
    ok(admin(acme, "company", "set", *codes))
    shown = ok(admin(acme, "company", "show")).stdout
    assert re.search(r"wrap-up: +Claim, Billing \(required\)\n", shown), shown
    ok(admin(acme, "company", "set", "--no-wrap-up-codes", "--wrap-up-optional"))
    assert store.get_company("acme").wrap_up_codes == ()  # type: ignore[union-attr]


def test_R23_an_administrator_sets_the_attachment_limits_each_checked(
    acme: str, store: Store
) -> None:
    shown = ok(admin(acme, "company", "show")).stdout
    assert re.search(r"files: +up to 10 MB: image/png, image/jpeg, .*text/plain\n", shown), shown
    limits = ("--attachment-max-bytes", "1048576", "--attachment-type", "image/png")
    ok(admin(acme, "company", "set", *limits, "--attachment-type", "application/pdf"))
    company = store.get_company("acme")
    assert company is not None
    assert company.attachment_max_bytes == 1048576
    assert company.attachment_types == {"image/png", "application/pdf"}
    shown = ok(admin(acme, "company", "show")).stdout
    assert re.search(r"files: +up to 1 MB: image/png, application/pdf\n", shown), shown
    refused = admin(acme, "company", "set", "--attachment-type", "application/x-msdownload")
    assert refused.exit_code == 2, refused.output
    assert "unknown attachment types application/x-msdownload" in refused.stderr
    too_big = admin(acme, "company", "set", "--attachment-max-bytes", "999999999")
    assert too_big.exit_code == 2, too_big.output
    ok(admin(acme, "company", "set", "--no-attachments"))
    assert re.search(r"files: +off", ok(admin(acme, "company", "show")).stdout)


def test_R21_an_administrator_rotates_the_signing_key_and_the_old_one_stays_published(
    acme: str, store: Store
) -> None:
    listed = json.loads(ok(admin(acme, "company", "keys", "--json")).stdout)
    assert [key["valid_until"] for key in listed] == [None]  # made with the company
    rotated = json.loads(ok(admin(acme, "company", "rotate-key", "--json")).stdout)
    keys = json.loads(ok(admin(acme, "company", "keys", "--json")).stdout)
    assert [key["key_id"] for key in keys] == [listed[0]["key_id"], rotated["key_id"]]
    assert keys[0]["valid_until"] == rotated["valid_from"]
    assert keys[1]["valid_until"] is None
    assert "now (current)" in ok(admin(acme, "company", "keys")).stdout
    line = store.list_audit("acme")[-1]
    assert (line.action, line.detail["after"]) == (
        "company.signing_key_rotated",
        {"keys": [listed[0]["key_id"], rotated["key_id"]]},
    )
    signing, _ = store.signing_at("acme", datetime.fromisoformat(rotated["valid_from"]))
    assert signing is not None
    assert signing.public.key_id == rotated["key_id"]


def test_R23_the_companys_canned_responses_are_listed_added_set_and_removed_audited(
    acme: str, store: Store
) -> None:
    added = json.loads(
        ok(admin(acme, "canned", "add", "greet", "Hello {customer_name}", "--json")).stdout
    )
    assert (added["name"], added["text"], added["company_id"]) == (
        "greet",
        "Hello {customer_name}",
        "acme",
    )
    response_id = added["response_id"]
    changed = ok(admin(acme, "canned", "set", response_id, "--text", "Hi {agent_name}"))
    assert changed.stdout == f"{response_id}  /greet: Hi {{agent_name}}\n"
    listed = json.loads(ok(admin(acme, "canned", "list", "--json")).stdout)
    assert [(r["name"], r["text"]) for r in listed] == [("greet", "Hi {agent_name}")]
    assert "greet" in ok(admin(acme, "canned", "list")).stdout

    before = counts(store)
    refused = admin(acme, "canned", "add", "bye", "Bye {customer}")
    assert refused.exit_code == 2
    assert "unknown placeholder {customer}; the known ones are" in refused.stderr
    assert admin(acme, "canned", "add", "GREET", "again").exit_code == 2  # a taken name
    assert admin(acme, "canned", "set", response_id).exit_code == 2  # nothing to change
    assert admin(acme, "canned", "remove", "cr_nope").exit_code == 1
    assert counts(store) == before

    ok(admin(acme, "canned", "remove", response_id))
    assert ok(admin(acme, "canned", "list")).stdout == "no canned responses\n"
    actions = [e.action for e in store.list_audit("acme") if e.action.startswith("canned")]
    assert actions == [
        "canned_response.created",
        "canned_response.updated",
        "canned_response.removed",
    ]


def test_a_service_gets_business_hours_from_the_command_line(acme: str, store: Store) -> None:
    created = json.loads(
        ok(admin(acme, "service", "create", "Support", "--company", "acme", "--json")).stdout
    )
    service_id = created["service_id"]
    bad = admin(acme, "service", "set", service_id, "--hours", "Mon 9-17")
    assert bad.exit_code == 2, bad.output
    assert "hours are written 09:00-17:30" in bad.stderr
    hours = "Mon-Fri 09:00-17:30; Sat 10:00-12:00"
    shown = json.loads(
        ok(
            admin(
                acme,
                "service",
                "set",
                service_id,
                "--hours",
                hours,
                "--timezone",
                "Europe/Berlin",
                "--closed-message",
                "Back at 9.",
                "--json",
            )
        ).stdout
    )
    assert shown["hours"] == "Mon-Fri 09:00-17:30\nSat 10:00-12:00"
    kept = store.get_service(service_id)
    assert kept is not None
    assert (kept.timezone, kept.closed_message) == ("Europe/Berlin", "Back at 9.")


def test_R23_a_service_gets_a_pre_chat_form_from_the_command_line(acme: str, store: Store) -> None:
    created = json.loads(
        ok(admin(acme, "service", "create", "Support", "--company", "acme", "--json")).stdout
    )
    service_id = created["service_id"]
    for form, problem in [
        ("[{", "--pre-chat-form is not JSON"),
        ('{"key": "name"}', "is a JSON list of fields"),
        ('[{"key": "topic", "label": "Topic", "type": "select"}]', "give it its options"),
    ]:
        bad = admin(acme, "service", "set", service_id, "--pre-chat-form", form)
        assert bad.exit_code == 2, bad.output
        assert problem in bad.stderr
    form = '[{"key": "email", "label": "E-mail", "type": "email", "required": true}]'
    shown = json.loads(
        ok(admin(acme, "service", "set", service_id, "--pre-chat-form", form, "--json")).stdout
    )
    assert shown["pre_chat_form"] == [
        {"key": "email", "label": "E-mail", "type": "email", "required": True, "options": []}
    ]
    kept = store.get_service(service_id)
    assert kept is not None
    assert [field.key for field in kept.form] == ["email"]
