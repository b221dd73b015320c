"""An outbox to look at: Acme's platform blocked, Globex's waiting, staff of both.

``acme`` has one recording (two data files and a sidecar) claimed and then blocked on a
host key; ``globex`` has one recording waiting with no platform configured.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chatrec.delivery.worker import awaiting_platform_reason
from chatrec.services.passwords import hash_password
from chatrec.store.store import Store
from tests.integration.store.factories import (
    BOB,
    destination,
    ended_chat,
    produced,
    seed_two_companies,
)

# An hour ago: the files wait, and the oldest has waited a while, whenever tests run.
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
PASSWORD = "correct horse battery"
HOST_KEY_REASON = "the server's host key is not the pinned one"
STAFF = {
    "ada": ("acme", "administrator"),
    "sam": ("acme", "supervisor"),
    "al": ("acme", "agent"),
    "gus": ("globex", "administrator"),
}


def build_world(store: Store, *, staff: bool = False) -> None:
    """The outbox above, at ``NOW`` (the store's clock should say ``NOW`` too).

    ``staff`` adds the logins (a password hash each).
    """
    seed_two_companies(store)
    if staff:
        password_hash = hash_password(PASSWORD)
        for login, (company_id, role) in STAFF.items():
            store.create_user(
                replace(
                    BOB,
                    user_id=login,
                    login=login,
                    name=login.capitalize(),
                    company_id=company_id,
                    role=role,
                    password_hash=password_hash,
                )
            )
    store.set_destination(destination("acme"))
    acme = produced("R-C1", "C1", data=2)
    globex = produced("R-G1", "G1", data=1, company_id="globex")
    changes = [ended_chat("C1", (acme,)), ended_chat("G1", (globex,), company_id="globex")]
    assert store.apply(changes) == [None, None]
    # As the worker leaves them: waiting, with no attempt counted.
    reason = awaiting_platform_reason("globex")
    claimed = store.claim_deliveries("w1", NOW, 60, 10)
    plan = [(d.delivery_id, reason, NOW) for d in claimed if d.company_id == "globex"]
    store.mark_retries("w1", plan, attempted=False)
    store.block_destination("acme", HOST_KEY_REASON, NOW)
