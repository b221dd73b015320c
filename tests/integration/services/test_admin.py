"""Administration use cases on the real store, SQLite and PostgreSQL (R1, R3, R4, R6, R7, R18).

Each change is checked before anything is kept, and audited in the same transaction.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncssh
import pytest

from chatrec.domain.masking import MaskPattern
from chatrec.errors import (
    ActionError,
    ConflictError,
    FlowError,
    MaskPatternError,
    NotFoundError,
    PermissionDeniedError,
    RecordingOnQueueError,
    TemplateError,
)
from chatrec.services.access import Principal
from chatrec.services.admin import Administration
from chatrec.services.admin.audit import AuditTrail, csv_chunks
from chatrec.services.admin.catalog import refuse_recording_on_queue
from chatrec.services.admin.destinations import DestinationSettings
from chatrec.services.admin.users import UserChanges
from chatrec.services.passwords import verify_password
from chatrec.store.records import ApiTokenRecord, SessionRecord
from chatrec.store.store import Store
from tests.keys import SECRETS

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OPERATOR = Principal.command_line("test")
FLOW = (
    "name: Support\nsteps:\n  - {id: hi, type: say, text: Hello}\n"
    "  - {id: go, type: route, queue: General}\n"
)


@pytest.fixture
def admin(store: Store) -> Administration:
    return Administration(store, lambda: T0)


def company_with_admin(admin: Administration, company_id: str = "acme") -> Principal:
    admin.companies.create(OPERATOR, company_id, company_id.title(), ["call_recording", "webchat"])
    ada, _ = admin.users.create(
        OPERATOR, f"ada@{company_id}", "Ada", "administrator", company_id=company_id
    )
    return Principal.of(ada)


def test_R1_a_company_without_both_products_says_nothing_will_be_recorded(
    admin: Administration,
) -> None:
    from chatrec.services.admin.companies import recording_status

    company = admin.companies.create(OPERATOR, "acme", "Acme", ["webchat"])
    status = recording_status(company)
    assert not status.records
    assert "not provisioned with call_recording" in status.sentence
    provisioned = admin.companies.provision(OPERATOR, "acme", ["webchat", "call_recording"])
    assert recording_status(provisioned).records


def test_R22_card_masking_is_on_until_turned_off_audited_and_own_patterns_are_checked(
    admin: Administration, store: Store
) -> None:
    ada = company_with_admin(admin)
    company = store.get_company("acme")
    assert company is not None
    assert company.mask_card_numbers
    assert company.masking_patterns == ()
    national = MaskPattern("National ID", r"\b[A-Z]{2}\d{6}[A-D]\b")

    # A refused pattern changes nothing, the other settings of the request included.
    for bad, problem in [
        (MaskPattern("Twice", r"(\d)\1"), "back-references"),
        (MaskPattern("Empty", r"\d*"), "empty text"),
        (MaskPattern(" ", r"\d+"), "name"),
    ]:
        with pytest.raises(MaskPatternError, match=problem):
            admin.companies.update(ada, retention_seconds=60, masking_patterns=[national, bad])
    with pytest.raises(MaskPatternError, match="two patterns have this name"):
        admin.companies.update(ada, masking_patterns=[national, MaskPattern("national id", "x+")])
    assert store.get_company("acme") == company

    admin.companies.update(ada, masking_patterns=[national])
    admin.companies.update(ada, mask_card_numbers=False)
    saved = store.get_company("acme")
    assert saved is not None
    assert (saved.mask_card_numbers, saved.masking_patterns) == (False, (national,))
    patterns, off = store.list_audit("acme")[-2:]
    assert patterns.action == "company.updated"
    assert patterns.detail["after"] == {
        "masking_patterns": [{"name": "National ID", "pattern": national.pattern}]
    }
    assert (off.action, off.actor) == ("company.card_masking_off", "ada@acme")
    assert (off.detail["before"], off.detail["after"]) == (
        {"mask_card_numbers": True},
        {"mask_card_numbers": False},
    )
    admin.companies.update(ada, mask_card_numbers=True)
    assert store.list_audit("acme")[-1].action == "company.card_masking_on"


def test_R18_only_operators_create_and_provision_companies(admin: Administration) -> None:
    ada = company_with_admin(admin)
    with pytest.raises(PermissionDeniedError, match="operator"):
        admin.companies.create(ada, "evil", "Evil", [])
    with pytest.raises(PermissionDeniedError):
        admin.companies.provision(ada, "acme", [])
    with pytest.raises(ActionError, match="company id"):
        admin.companies.create(OPERATOR, "system", "Nope", [])


def test_R6_an_invalid_default_template_is_refused_and_nothing_changes(
    admin: Administration, store: Store
) -> None:
    ada = company_with_admin(admin)
    before = store.get_company("acme")
    with pytest.raises(TemplateError, match="position"):
        admin.companies.update(ada, default_template="{date}/{nope}", formats=["vcon"])
    assert store.get_company("acme") == before
    admin.companies.update(ada, default_template="{date}/{chat_id}", retention_seconds=60)
    saved = store.get_company("acme")
    assert saved is not None
    assert saved.default_template == "{date}/{chat_id}"
    line = store.list_audit("acme")[-1]
    assert line.action == "company.updated"
    assert line.actor == "ada@acme"
    assert line.detail["before"] == {
        "default_template": before.default_template if before else None,
        "retention_seconds": 0,
    }
    assert line.detail["after"] == {"default_template": "{date}/{chat_id}", "retention_seconds": 60}


def test_R15_a_company_chooses_the_vcon_draft_of_its_files_audited(
    admin: Administration, store: Store
) -> None:
    ada = company_with_admin(admin)
    before = store.get_company("acme")
    with pytest.raises(ActionError, match="unknown vCon draft 'old'; choose from"):
        admin.companies.update(ada, vcon_draft="old", retention_seconds=60)
    assert store.get_company("acme") == before
    assert admin.companies.update(ada, vcon_draft="container").vcon_draft == "container"
    line = store.list_audit("acme")[-1]
    assert (line.detail["before"], line.detail["after"]) == (
        {"vcon_draft": "core"},
        {"vcon_draft": "container"},
    )


def test_R6_a_template_preview_shows_the_names_of_the_company_it_is_made_for(
    admin: Administration,
) -> None:
    from chatrec.services.admin.companies import preview_template

    template = "{company}/{service}/{queue}/{agent}_{agent_id}"
    ada = company_with_admin(admin, "demo-co")
    # A company with nothing but its name: its name, the neutral sample for the rest.
    assert preview_template(template, admin.companies.template_sample(ada)) == (
        "Demo-Co/Sales/New_business/Jane_Doe_u_4821"
    )
    admin.catalog.create_queue(ada, "Claims")
    admin.catalog.create_service(ada, "Support", None)
    agent, _ = admin.users.create(ada, "alice", "Alice Martin", "agent")
    admin.users.create(ada, "sam", "Sam Okafor", "supervisor")
    sample = admin.companies.template_sample(Principal.of(agent))
    assert preview_template(template, sample) == (
        f"Demo-Co/Support/Claims/Alice_Martin_{agent.user_id}"
    )
    # An operator belongs to no company: the neutral sample, as without a database.
    assert preview_template(template, admin.companies.template_sample(OPERATOR)) == (
        preview_template(template)
    )


def test_R7_R12a_recording_settings_of_logins_change_and_are_audited(
    admin: Administration, store: Store
) -> None:
    ada = company_with_admin(admin)
    carol, password = admin.users.create(ada, "carol", "Carol", "agent")
    assert verify_password(carol.password_hash, password)
    changed = admin.users.update(
        ada, carol.user_id, UserChanges(permit_recordings=False, record_percentage=50)
    )
    assert (changed.permit_recordings, changed.record_percentage) == (False, 50)
    line = store.list_audit("acme")[-1]
    assert line.detail == {
        "target": carol.user_id,
        "before": {"permit_recordings": True, "record_percentage": 100},
        "after": {"permit_recordings": False, "record_percentage": 50},
    }
    assert "password" not in json.dumps([entry.detail for entry in store.list_audit("acme")])
    with pytest.raises(ActionError, match="0 to 100"):
        admin.users.update(ada, carol.user_id, UserChanges(record_percentage=101))


def test_bulk_edit_applies_to_every_login_or_to_none(admin: Administration, store: Store) -> None:
    ada = company_with_admin(admin)
    agents = [admin.users.create(ada, f"agent{i}", f"Agent {i}", "agent")[0] for i in range(3)]
    ids = [agent.user_id for agent in agents]
    admin.users.update_many(ada, ids, UserChanges(record_chats=False))
    assert [store.get_user(i).record_chats for i in ids] == [False] * 3  # type: ignore[union-attr]
    other = company_with_admin(admin, "globex")
    with pytest.raises(NotFoundError):
        admin.users.update_many(other, ids, UserChanges(record_chats=True))
    assert [store.get_user(i).record_chats for i in ids] == [False] * 3  # type: ignore[union-attr]


def test_the_last_enabled_administrator_cannot_be_disabled_or_demoted(
    admin: Administration,
) -> None:
    ada = company_with_admin(admin)
    assert ada.user_id is not None
    with pytest.raises(ConflictError, match="without an enabled administrator"):
        admin.users.update(ada, ada.user_id, UserChanges(disabled=True))
    with pytest.raises(ConflictError):
        admin.users.update(ada, ada.user_id, UserChanges(role="agent"))
    admin.users.create(ada, "ben", "Ben", "administrator")
    admin.users.update(ada, ada.user_id, UserChanges(role="agent"))


def test_R18_password_reset_unlocks_ends_every_session_and_revokes_api_tokens(
    admin: Administration, store: Store
) -> None:
    ada = company_with_admin(admin)
    carol, _ = admin.users.create(ada, "carol", "Carol", "agent")
    from dataclasses import replace

    store.update_user(replace(carol, locked_until=T0 + timedelta(minutes=15)))
    store.count_login_failure(carol.user_id, "192.0.2.1", T0, lambda n: timedelta(minutes=15))
    store.create_session(SessionRecord("hash-1", carol.user_id, T0 + timedelta(hours=1), T0, T0))
    store.create_api_token(ApiTokenRecord("token-hash", "t1", carol.user_id, "script", T0))
    _, password = admin.users.reset_password(ada, carol.user_id, "a-new-long-password")
    assert password == "a-new-long-password"
    stored = store.get_user(carol.user_id)
    assert stored is not None
    assert stored.locked_until is None
    assert store.login_lock(carol.user_id, "192.0.2.1") is None
    assert stored.must_change_password
    assert verify_password(stored.password_hash, password)
    assert store.get_session("hash-1") is None
    token = store.get_api_token("t1")
    assert token is not None
    assert token.revoked_at == T0


def test_R18_another_companys_ids_are_not_found(admin: Administration) -> None:
    ada = company_with_admin(admin)
    other = company_with_admin(admin, "globex")
    carol, _ = admin.users.create(ada, "carol", "Carol", "agent")
    queue = admin.catalog.create_queue(ada, "General")
    flow = admin.catalog.save_flow(ada, FLOW)
    service = admin.catalog.create_service(ada, "Support", flow.flow_id)
    for attempt in (
        lambda: admin.users.get(other, carol.user_id),
        lambda: admin.catalog.rename_queue(other, queue.queue_id, "Mine"),
        lambda: admin.catalog.get_flow(other, flow.flow_id),
        lambda: admin.catalog.update_service(other, service.service_id, name="Mine"),
        lambda: admin.companies.get(other, "acme"),
        lambda: admin.audit.read(other, "acme"),
    ):
        with pytest.raises(NotFoundError):
            attempt()


def test_R18_supervisors_and_agents_do_not_administer(admin: Administration) -> None:
    ada = company_with_admin(admin)
    sam, _ = admin.users.create(ada, "sam", "Sam", "supervisor")
    alice, _ = admin.users.create(ada, "alice", "Alice", "agent")
    for actor in (Principal.of(sam), Principal.of(alice)):
        with pytest.raises(PermissionDeniedError):
            admin.users.create(actor, "eve", "Eve", "administrator")
        with pytest.raises(PermissionDeniedError):
            admin.companies.update(actor, default_template="{chat_id}")


def test_R3_a_queue_request_naming_recording_is_refused_quoting_the_rule() -> None:
    refuse_recording_on_queue({"name": "Claims"})
    with pytest.raises(RecordingOnQueueError, match=r"\(R3\).*'record_percentage'"):
        refuse_recording_on_queue({"name": "Claims", "record_percentage": 50})


def test_R19_flows_are_validated_with_lines_and_routes_to_known_queues(
    admin: Administration, store: Store
) -> None:
    ada = company_with_admin(admin)
    with pytest.raises(FlowError) as refused:
        admin.catalog.save_flow(ada, FLOW)
    assert "queue 'General' does not exist" in str(refused.value)
    admin.catalog.create_queue(ada, "General")
    with pytest.raises(FlowError) as invalid:
        admin.catalog.save_flow(
            ada, "name: Bad\nsteps:\n  - {id: hi, type: say, text: Hi}\n  - {id: r, type: record}\n"
        )
    assert invalid.value.problems[0].line == 4
    assert store.list_flows("acme") == []
    first = admin.catalog.save_flow(ada, FLOW)
    second = admin.catalog.save_flow(ada, FLOW.replace("Hello", "Hi"), flow_id=first.flow_id)
    assert (first.version, second.version) == (1, 2)
    versions = admin.catalog.flow_versions(ada, first.flow_id)
    assert [v.version for v in versions] == [2, 1]
    assert admin.catalog.get_flow(ada, first.flow_id, 1).source == FLOW
    saved = [e for e in store.list_audit("acme") if e.action == "flow.saved"]
    assert [e.detail["after"]["version"] for e in saved] == [1, 2]


def test_R10_a_flow_preview_runs_the_answers_without_a_chat(admin: Administration) -> None:
    from chatrec.flows.examples import example_source

    ada = company_with_admin(admin)
    admin.catalog.create_queue(ada, "General")
    preview = admin.catalog.preview(ada, example_source("consent_first"), ["No"])
    assert any("discards" in line for line in preview.lines)
    assert preview.routed_to == "General" or preview.ended


def private_key() -> str:
    return asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()


def test_R18_destination_secrets_are_kept_back_and_never_audited(
    admin: Administration, store: Store
) -> None:
    ada = company_with_admin(admin)
    key = private_key()
    settings = DestinationSettings("sftp.example", 22, "acme", "incoming", private_key=key)
    admin.destinations.set(ada, settings)
    admin.destinations.set(ada, DestinationSettings("SFTP.example", 22, "acme", "drop"))
    saved = store.get_destination("acme")
    assert saved is not None
    assert saved.private_key == key.strip() + "\n"
    assert saved.folder == "drop"
    # The key is kept only for the server and user it was given for (issue 16.2).
    for elsewhere in (
        ("sftp.evil.example", 22, "acme"),
        ("sftp.example", 2222, "acme"),
        ("sftp.example", 22, "root"),
    ):
        with pytest.raises(ActionError, match="enter the password or private key again"):
            admin.destinations.set(ada, DestinationSettings(*elsewhere, "drop"))
    trail = json.dumps([entry.detail for entry in store.list_audit("acme")])
    assert "PRIVATE KEY" not in trail
    with pytest.raises(ActionError, match="private key cannot be read"):
        admin.destinations.set(ada, DestinationSettings("h", 22, "u", "f", private_key="nope"))
    with pytest.raises(ActionError, match="pinned host key cannot be read"):
        admin.destinations.set(
            ada, DestinationSettings("h", 22, "u", "f", host_key="junk", password="pw")
        )
    assert store.get_destination("acme") == saved


def test_the_audit_trail_exports_as_csv_with_before_and_after(admin: Administration) -> None:
    ada = company_with_admin(admin)
    admin.catalog.create_queue(ada, "General")
    text = "".join(csv_chunks(admin.audit.export(ada)))
    header, *rows = text.splitlines()
    assert header == "at,actor,action,chat_id,target,before,after,detail"
    assert any("queue.created" in row and "General" in row for row in rows)


def test_the_audit_export_reads_the_trail_a_page_at_a_time(
    admin: Administration, store: Store, database_url: str
) -> None:
    """One page in memory whatever the trail's length, and the first read before any of
    it is sent (so a refusal is an answer, not a broken download)."""
    ada = company_with_admin(admin)
    for n in range(6):
        admin.catalog.create_queue(ada, f"Queue {n}")
    reads: list[tuple[int, int]] = []

    class CountingStore(Store):
        def page_audit_forward(self, *args: Any, **options: Any) -> Any:
            found = super().page_audit_forward(*args, **options)
            reads.append((options["limit"], len(found)))
            return found

    counting = CountingStore(database_url, secrets=SECRETS)
    try:
        pages = AuditTrail(counting, lambda: T0, export_page_lines=3).export(ada)
        assert reads == [(3, 3)]
        first = next(pages)
        assert len(reads) == 1
        rest = list(pages)
    finally:
        counting.close()
    whole = store.list_audit("acme")
    assert len(whole) == 8  # the company, Ada, six queues
    assert [first, *rest] == [whole[0:3], whole[3:6], whole[6:8]]
    assert reads == [(3, 3), (3, 3), (3, 2)]


def test_connection_test_reports_each_step_and_is_audited(
    admin: Administration, store: Store
) -> None:
    class Refusing:
        async def probe(
            self, destination: object, *, write: bool = True, within: float | None = None
        ) -> list[object]:
            from chatrec.delivery.sftp import ProbeStep

            return [ProbeStep("connect", False, "connection refused")]

    ada = company_with_admin(admin)
    settings = DestinationSettings("127.0.0.1", 1, "u", "f", password="pw")
    steps = asyncio.run(admin.destinations.test(ada, Refusing(), settings))  # type: ignore[arg-type]
    assert [step.ok for step in steps] == [False]
    assert store.list_audit("acme")[-1].detail["after"]["result"].startswith("connect failed")
    assert store.get_destination("acme") is None
