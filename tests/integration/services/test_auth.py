"""Staff passwords at rest, on SQLite and PostgreSQL (R18)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from chatrec.services.access import Principal
from chatrec.services.admin import Administration
from chatrec.services.passwords import verify_password
from chatrec.store.store import Store

PASSWORD = "Narwhal-Copper-4471"


def test_R18_a_created_login_is_stored_as_an_argon2id_hash(store: Store) -> None:
    admin = Administration(store, lambda: datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    operator = Principal.command_line("test")
    admin.companies.create(operator, "acme", "Acme", ["call_recording", "webchat"])
    user, _ = admin.users.create(
        operator, "ada@acme", "Ada", "administrator", company_id="acme", password=PASSWORD
    )
    with store.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT password_hash FROM users WHERE user_id = :id"), {"id": user.user_id}
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD.lower())
