"""SFTP secrets encrypted at rest, on SQLite and PostgreSQL (R18).

What is checked is what an attacker with the database would see: the raw column
values, and on SQLite the bytes of the database file and its write-ahead log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import asyncssh
import pytest
from sqlalchemy import make_url, text
from typer.testing import CliRunner

from chatrec.cli import app
from chatrec.errors import SecretKeyError
from chatrec.store.outbox import FORGOTTEN_SECRETS_REASON
from chatrec.store.secrets import KEY_VARIABLE, PREFIX, SecretBox, generate_key
from chatrec.store.store import Store
from tests.integration.store.factories import destination, seed_two_companies
from tests.keys import SECRET_KEY, SECRETS

PASSWORD = "Zebra-Quartz-7781-password"
LEGACY_PASSWORD = "Legacy-Okapi-5512-password"
PRIVATE_KEY = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()


@pytest.fixture
def saved(store: Store) -> Store:
    """Acme logs in with a password, Globex with a private key."""
    seed_two_companies(store)
    store.set_destination(destination("acme", password=PASSWORD, private_key=None))
    store.set_destination(destination("globex", private_key=PRIVATE_KEY))
    return store


def raw_secrets(store: Store) -> dict[str, tuple[str | None, str | None]]:
    query = text("SELECT company_id, password, private_key FROM destinations")
    with store.engine.connect() as connection:
        return {
            row.company_id: (row.password, row.private_key) for row in connection.execute(query)
        }


def file_bytes(store: Store) -> bytes:
    """The SQLite database file and its WAL, as a copy of the disk would hold them."""
    database = Path(str(make_url(str(store.engine.url)).database))
    wal = database.with_name(database.name + "-wal")
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def assert_no_secret_in_the_clear(store: Store, *secrets: str) -> None:
    for company_id, values in raw_secrets(store).items():
        for value in values:
            assert value is None or value.startswith(PREFIX), (company_id, value)
    if store.engine.dialect.name == "sqlite":
        on_disk = file_bytes(store)
        for secret in secrets:
            for line in filter(None, secret.splitlines()):
                assert line.encode() not in on_disk, line


@pytest.fixture
def other_key(database_url: str) -> Iterator[Store]:
    """The same database opened by a node configured with another key."""
    opened = Store(database_url, secrets=SecretBox([generate_key()], origin="the key in k"))
    try:
        yield opened
    finally:
        opened.close()


def test_R18_sftp_secrets_are_encrypted_at_rest_and_read_back(saved: Store) -> None:
    assert_no_secret_in_the_clear(saved, PASSWORD, PRIVATE_KEY)
    password, key = raw_secrets(saved)["acme"][0], raw_secrets(saved)["globex"][1]
    assert password is not None
    assert key is not None
    assert (SECRETS.decrypt(password), SECRETS.decrypt(key)) == (PASSWORD, PRIVATE_KEY)
    acme, globex = saved.get_destination("acme"), saved.get_destination("globex")
    assert acme is not None
    assert globex is not None
    assert (acme.password, acme.private_key) == (PASSWORD, None)
    assert (globex.password, globex.private_key) == (None, PRIVATE_KEY)
    assert [d.password or d.private_key for d in saved.list_destinations()] == [
        PASSWORD,
        PRIVATE_KEY,
    ]


def test_R18_a_node_with_another_key_is_told_what_to_do_and_changes_nothing(
    saved: Store, other_key: Store
) -> None:
    before = raw_secrets(saved)
    with pytest.raises(SecretKeyError) as refused:
        other_key.get_destination("acme")
    assert refused.value.company_id == "acme"
    assert str(refused.value).startswith(
        "the SFTP secrets of company 'acme' were saved with another key than the key in k: "
        "set CHATREC_SECRET_KEY (or the key file) to the key they were saved with"
    )
    with pytest.raises(SecretKeyError):
        other_key.list_destinations()
    with pytest.raises(SecretKeyError):
        other_key.migrate()
    assert raw_secrets(saved) == before


def test_R18_migrate_encrypts_secrets_saved_in_plain_text(saved: Store) -> None:
    with saved.engine.begin() as connection:
        connection.execute(
            text("UPDATE destinations SET password = :password WHERE company_id = 'acme'"),
            {"password": LEGACY_PASSWORD},
        )
    acme = saved.get_destination("acme")
    assert acme is not None
    assert acme.password == LEGACY_PASSWORD  # read as it was saved, before the migration
    if saved.engine.dialect.name == "sqlite":
        assert LEGACY_PASSWORD.encode() in file_bytes(saved)  # the check below can see it

    saved.migrate()

    assert_no_secret_in_the_clear(saved, LEGACY_PASSWORD, PASSWORD, PRIVATE_KEY)
    acme = saved.get_destination("acme")
    assert acme is not None
    assert acme.password == LEGACY_PASSWORD
    assert saved.encrypt_legacy_secrets() == 0  # nothing left to do


def test_R18_a_rotated_key_reads_old_secrets_and_migrate_moves_them_to_the_new_key(
    saved: Store, database_url: str
) -> None:
    new = generate_key()
    rotating = Store(database_url, secrets=SecretBox([new, SECRET_KEY]))
    only_new = Store(database_url, secrets=SecretBox([new]))
    try:
        globex = rotating.get_destination("globex")
        assert globex is not None
        assert globex.private_key == PRIVATE_KEY
        rotating.migrate()
        assert [d.password or d.private_key for d in only_new.list_destinations()] == [
            PASSWORD,
            PRIVATE_KEY,
        ]
        with pytest.raises(SecretKeyError):
            saved.get_destination("globex")
    finally:
        rotating.close()
        only_new.close()


def test_R18_with_the_key_lost_the_secrets_are_forgotten_and_their_platforms_blocked(
    saved: Store, other_key: Store
) -> None:
    assert other_key.migrate(forget_unreadable_secrets=True) == ["acme", "globex"]
    for company_id in ("acme", "globex"):
        found = other_key.get_destination(company_id)
        assert found is not None
        assert (found.password, found.private_key) == (None, None)
        assert found.blocked_reason == FORGOTTEN_SECRETS_REASON
    other_key.set_destination(destination("acme", password="entered again", private_key=None))
    acme = other_key.get_destination("acme")
    assert acme is not None
    assert (acme.password, acme.blocked_reason) == ("entered again", None)
    assert other_key.migrate(forget_unreadable_secrets=True) == []


def test_R18_saving_a_destination_again_keeps_no_old_secret_in_the_clear(saved: Store) -> None:
    acme = saved.get_destination("acme")
    assert acme is not None
    saved.set_destination(replace(acme, password=None, private_key=PRIVATE_KEY))
    assert_no_secret_in_the_clear(saved, PASSWORD, PRIVATE_KEY)


def test_R18_chatrec_migrate_with_another_key_says_what_to_set_and_can_forget(
    saved: Store, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, generate_key())
    options = ["--database-url", database_url, "--data-dir", str(tmp_path)]
    refused = CliRunner().invoke(app, ["migrate", *options])
    assert refused.exit_code == 1
    assert refused.output.startswith(
        "error: the SFTP secrets of company 'acme' were saved with another key than the key "
        "in CHATREC_SECRET_KEY: set CHATREC_SECRET_KEY"
    )
    forgot = CliRunner().invoke(app, ["migrate", "--forget-unreadable-secrets", *options])
    assert forgot.exit_code == 0, forgot.output
    assert forgot.output.splitlines() == [
        "forgot the SFTP secrets of company acme: enter its platform's password or private "
        "key again",
        "forgot the SFTP secrets of company globex: enter its platform's password or private "
        "key again",
        "database is up to date",
    ]
    acme = saved.get_destination("acme")
    assert acme is not None
    assert acme.blocked_reason == FORGOTTEN_SECRETS_REASON


def test_R18_totp_secrets_are_encrypted_at_rest_and_move_to_a_rotated_key(
    saved: Store, database_url: str
) -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    saved.set_totp("bob", secret, enabled=True)
    with saved.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT totp_secret FROM users WHERE user_id = 'bob'")
        ).scalar_one()
    assert stored.startswith(PREFIX)
    assert secret not in stored
    assert saved.totp_secret("bob") == secret
    rotating = Store(database_url, secrets=SecretBox([generate_key(), SECRET_KEY]))
    try:
        rotating.migrate()
        with pytest.raises(SecretKeyError):
            saved.totp_secret("bob")
        assert rotating.totp_secret("bob") == secret
    finally:
        rotating.close()
