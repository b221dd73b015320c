"""Every record survives the store unchanged, and bad writes are refused whole (R18, R19)."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from chatrec.domain.roles import LoginRole
from chatrec.errors import DuplicateError, NotFoundError, StoreError
from chatrec.store.records import (
    AuditRecord,
    Pending,
    PresenceCause,
    PresenceRecord,
    QueueRecord,
    ServiceRecord,
    SessionRecord,
)
from chatrec.store.store import Store
from tests.integration.store.factories import (
    ACME,
    BOB,
    FLOW_SOURCE,
    GENERAL,
    SUPPORT,
    seed,
)
from tests.keys import SECRETS

OTHER = replace(ACME, company_id="globex", name="Globex", products=frozenset())


def test_company_round_trips(store: Store) -> None:
    store.create_company(ACME)
    assert store.get_company("acme") == ACME
    assert store.get_company("nobody") is None


def test_company_settings_can_be_changed(store: Store) -> None:
    store.create_company(ACME)
    changed = replace(ACME, products=frozenset({"webchat"}), formats=frozenset({"html"}))
    store.update_company(changed)
    assert store.get_company("acme") == changed


def test_a_company_id_is_taken_once(store: Store) -> None:
    store.create_company(ACME)
    with pytest.raises(DuplicateError, match="acme"):
        store.create_company(replace(ACME, name="Acme again"))


def test_user_round_trips_and_is_found_by_login_whatever_its_case(store: Store) -> None:
    seed(store)
    assert store.get_user("bob") == BOB
    assert store.find_user_by_login("bob.agent") == BOB
    assert store.find_user_by_login("BOB.AGENT") == BOB
    assert store.find_user_by_login("alice") is None
    assert store.get_user("alice") is None


def test_users_are_listed_per_company(store: Store) -> None:
    seed(store)
    store.create_company(OTHER)
    alice = replace(BOB, user_id="alice", login="alice", name="Alice")
    ann = replace(BOB, user_id="ann", company_id="globex", login="ann")
    store.create_user(alice)
    store.create_user(ann)
    assert store.list_users("acme") == [BOB, alice]
    assert store.list_users("globex") == [ann]


def test_R18_a_login_is_unique_within_its_company_whatever_its_case_not_across(
    store: Store,
) -> None:
    seed(store)
    store.create_company(OTHER)
    with pytest.raises(DuplicateError, match="login"):
        store.create_user(replace(BOB, user_id="bob2", login="BOB.agent"))
    twin = replace(BOB, user_id="bob2", company_id="globex", login="BOB.agent")
    store.create_user(twin)
    assert store.list_users("globex") == [twin]
    assert store.find_users_by_login("bob.AGENT") == [BOB, twin]
    assert store.find_users_by_login("bob.agent", "globex") == [twin]


def test_user_settings_are_updated(store: Store) -> None:
    seed(store)
    changed = replace(BOB, permit_recordings=True, record_percentage=0, disabled=True)
    store.update_user(changed)
    assert store.get_user("bob") == changed


def test_an_update_cannot_take_another_login_or_move_company(store: Store) -> None:
    seed(store)
    store.create_user(replace(BOB, user_id="alice", login="alice"))
    with pytest.raises(DuplicateError):
        store.update_user(replace(BOB, login="Alice"))
    with pytest.raises(NotFoundError):
        store.update_user(replace(BOB, company_id="globex"))
    with pytest.raises(NotFoundError):
        store.update_user(replace(BOB, user_id="carol"))
    assert store.get_user("bob") == BOB


def test_R18_nothing_is_created_in_an_unknown_company(store: Store) -> None:
    with pytest.raises(NotFoundError, match="company"):
        store.create_user(BOB)
    with pytest.raises(NotFoundError, match="company"):
        store.create_queue(GENERAL)
    with pytest.raises(NotFoundError, match="company"):
        store.save_flow("acme", "welcome", "Welcome", FLOW_SOURCE)


def test_queues_round_trip_and_are_found_by_name(store: Store) -> None:
    seed(store)
    vip = QueueRecord(queue_id="q-vip", company_id="acme", name="VIP")
    store.create_queue(vip)
    assert store.get_queue("q-general") == GENERAL
    assert store.find_queue("acme", "VIP") == vip
    assert store.find_queue("globex", "VIP") is None
    assert store.list_queues("acme") == [GENERAL, vip]
    with pytest.raises(DuplicateError, match="General"):
        store.create_queue(replace(vip, queue_id="q-other", name="General"))


def test_every_flow_save_is_a_new_version(store: Store) -> None:
    seed(store)
    first = store.save_flow("acme", "welcome", "Welcome", FLOW_SOURCE)
    second = store.save_flow("acme", "welcome", "Welcome v2", FLOW_SOURCE + "  - end\n")
    assert (first.version, second.version) == (1, 2)
    assert store.get_flow("welcome") == second
    assert store.get_flow("welcome", 1) == replace(first, name="Welcome v2")
    assert store.get_flow("welcome", 3) is None
    assert store.get_flow("nothing") is None
    assert first.created_at.tzinfo == UTC
    assert store.list_flows("acme") == [second]


def test_R18_a_flow_of_another_company_is_not_found(store: Store) -> None:
    seed(store)
    store.create_company(OTHER)
    store.save_flow("acme", "welcome", "Welcome", FLOW_SOURCE)
    with pytest.raises(NotFoundError):
        store.save_flow("globex", "welcome", "Stolen", FLOW_SOURCE)
    with pytest.raises(NotFoundError):
        store.create_service(ServiceRecord("s-globex", "globex", "Sales", "welcome"))
    assert store.get_flow("welcome", 2) is None


def test_services_round_trip_and_change_their_flow(store: Store) -> None:
    seed(store)
    store.save_flow("acme", "welcome", "Welcome", FLOW_SOURCE)
    sales = ServiceRecord("s-sales", "acme", "Sales", "welcome")
    store.create_service(sales)
    assert store.get_service("s-sales") == sales
    assert store.list_services("acme") == [sales, SUPPORT]
    moved = replace(SUPPORT, name="Help", flow_id="welcome")
    store.update_service(moved)
    assert store.get_service("s-support") == moved
    assert store.get_service("s-none") is None


def session(token_hash: str, user_id: str, now: datetime, **times: timedelta) -> SessionRecord:
    """A session of ``user_id`` made an hour before ``now``; ``expires``/``seen`` from now."""
    expires = now + times.get("expires", timedelta(hours=12))
    seen = now + times.get("seen", timedelta(0))
    return SessionRecord(token_hash, user_id, expires, now - timedelta(hours=1), seen)


def test_login_sessions_round_trip_and_expire_or_go_idle(store: Store) -> None:
    seed(store)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    live = replace(session("hash-live", "bob", now), pending=Pending.PASSWORD_CHANGE)
    old = session("hash-old", "bob", now, expires=-timedelta(seconds=1))
    idle = session("hash-idle", "bob", now, seen=-timedelta(minutes=31))
    for each in (live, old, idle):
        store.create_session(each)
    assert store.get_session("hash-live") == live
    assert store.session_and_user("hash-live") == (live, store.get_user("bob"))
    assert store.session_and_user("hash-unknown") is None
    store.update_user(replace(BOB, disabled=True))  # a staff frame sees it at once
    assert store.session_and_user("hash-live") == (live, replace(BOB, disabled=True))
    assert store.delete_expired_sessions(now) == 1
    assert store.get_session("hash-old") is None
    assert store.delete_expired_sessions(now, idle_since=now - timedelta(minutes=30)) == 1
    assert store.get_session("hash-idle") is None
    store.touch_session("hash-live", now + timedelta(minutes=1), every=timedelta(minutes=1))
    assert store.get_session("hash-live") == live
    store.touch_session("hash-live", now + timedelta(minutes=2), every=timedelta(minutes=1))
    touched = store.get_session("hash-live")
    assert touched is not None
    assert touched.last_seen_at == now + timedelta(minutes=2)
    store.delete_session("hash-live")
    store.delete_session("hash-live")
    assert store.get_session("hash-live") is None
    with pytest.raises(NotFoundError):
        store.create_session(session("hash-x", "nobody", now))


def test_a_staff_frame_s_read_gives_session_and_login_exactly_as_stored(store: Store) -> None:
    """The read every staff frame makes (issue 16) comes from the driver, past SQLAlchemy's
    column types (issue 13): every field, times to the microsecond, must be as stored."""
    seed(store)
    now = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)
    carol = replace(
        BOB,
        user_id="carol",
        login="Carol.Supervisor",
        name="Carol",
        role=LoginRole.SUPERVISOR,
        permit_recordings=True,
        record_chats=False,
        record_percentage=37,
        capacity=5,
        locked_until=now + timedelta(minutes=5, microseconds=7),
        must_change_password=True,
        totp_enabled=True,
    )
    store.create_user(carol)
    other_zone = timezone(timedelta(hours=-5))
    first = SessionRecord(
        "hash-carol", "carol", now.astimezone(other_zone) + timedelta(hours=8), now, now
    )
    store.create_session(first)
    found = store.session_and_user("hash-carol")
    assert found == (first, store.get_user("carol"))
    assert found is not None
    assert found[1] == carol
    for field in fields(carol):  # an SQLite 1 equals True: the types must match too
        assert type(getattr(found[1], field.name)) is type(getattr(carol, field.name))
    assert found[0].expires_at.tzinfo is UTC
    store.set_session_pending("hash-carol", Pending.TOTP_ENROLMENT)
    store.update_user(replace(carol, disabled=True, locked_until=None, totp_enabled=False))
    assert store.session_and_user("hash-carol") == (
        replace(first, pending=Pending.TOTP_ENROLMENT),
        replace(carol, disabled=True, locked_until=None, totp_enabled=False),
    )


def test_a_staff_frame_s_read_fails_as_a_store_error_and_recovers(store: Store) -> None:
    """R19: the database failing that read is "try again", not a driver's error, and the
    next read after the database is back works (no connection left broken)."""
    seed(store)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    store.create_session(session("hash-live", "bob", now))
    with store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE sessions RENAME TO sessions_away"))
    try:
        with pytest.raises(StoreError, match="try again") as refused:
            store.session_and_user("hash-live")
        # The operator's log is told which statement failed, as for any read (R18).
        assert "in: SELECT sessions.token_hash" in str(refused.value.cause)
    finally:
        with store.engine.begin() as connection:
            connection.execute(text("ALTER TABLE sessions_away RENAME TO sessions"))
    assert store.session_and_user("hash-live") == (
        session("hash-live", "bob", now),
        store.get_user("bob"),
    )


def test_a_staff_frame_s_read_of_a_database_out_of_reach_is_a_store_error() -> None:
    """R19: no database answering is "try again" too, not the driver's error."""
    unreachable = Store("postgresql+psycopg://postgres@127.0.0.1:1/test", secrets=SECRETS)
    try:
        with pytest.raises(StoreError, match="try again"):
            unreachable.session_and_user("hash-live")
    finally:
        unreachable.close()


def test_audit_lines_round_trip_in_order_and_by_company(store: Store) -> None:
    seed(store)
    store.create_company(OTHER)
    paris = timezone(timedelta(hours=1))
    first = AuditRecord("acme", datetime(2026, 1, 1, 9, tzinfo=UTC), "admin", "user_updated")
    second = AuditRecord(
        "acme",
        datetime(2026, 1, 1, 11, tzinfo=paris),
        "admin",
        "user_updated",
        detail={"user": "bob", "record_percentage": [100, 40], "why": None},
    )
    theirs = AuditRecord("globex", datetime(2026, 1, 1, 8, tzinfo=UTC), "admin", "created")
    store.add_audit([second, theirs, first])
    stored = store.list_audit("acme")
    assert stored == [first, second]
    assert stored[1].at.tzinfo == UTC
    assert store.list_audit("globex") == [theirs]


def test_an_agents_presence_is_kept_until_changed_and_only_for_a_known_login(store: Store) -> None:
    seed(store)
    alice = replace(BOB, user_id="alice", login="alice", name="Alice")
    store.create_user(alice)
    at = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    assert store.get_presence("bob") is None  # never chosen
    available = PresenceRecord("bob", True, PresenceCause.AGENT, at)
    store.set_presence(available)
    store.set_presence(PresenceRecord("alice", True, PresenceCause.AGENT, at))
    assert store.get_presence("bob") == available
    assert sorted(p.user_id for p in store.available_agents()) == ["alice", "bob"]
    away = PresenceRecord("bob", False, PresenceCause.IDLE_TIMEOUT, at + timedelta(minutes=30))
    store.set_presence(away)
    assert store.get_presence("bob") == away
    assert [p.user_id for p in store.available_agents()] == ["alice"]
    with pytest.raises(NotFoundError, match="nobody"):
        store.set_presence(replace(away, user_id="nobody"))
