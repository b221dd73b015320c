"""The recording document and its files (R8, R15, R15a).

The helpers at the top are shared by the other ``test_render_*`` modules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from chatrec.domain.decision import Origin, Outcome, Recording, Verdict, decide_recordings
from chatrec.domain.journal import (
    CUSTOMER,
    FLOW,
    SYSTEM,
    Actor,
    ChatEnded,
    ChatRole,
    ConsentAsked,
    Event,
    Journal,
    MessagePosted,
    ParticipantLeft,
)
from chatrec.domain.render import (
    EXTENSIONS,
    MEDIA_TYPES,
    SCHEMA_ID,
    RecordingFiles,
    RenderedFile,
    build_document,
    render_recording,
)
from chatrec.domain.settings import RecordingFormat
from chatrec.errors import JournalError
from tests.unit.domain.builders import ALL_FORMATS, T0, ChatBuilder, agent, company, supervisor

ALICE, BOB, SAM = agent("alice"), agent("bob"), supervisor("sam")
COMPANY = company(formats=ALL_FORMATS)
BASE = "2026-11-27/acme_C1_flow_C1-r1"
FLOW_VERDICT = Verdict(
    Recording("C1-r1", Origin.FLOW, "quality", T0, step_id="s1"), Outcome.PRODUCED, "R5b", ()
)
EXPLANATION = ("Flow recording (R5b): recording C1-r1 was produced: the flow requested it.",)

Story = Callable[[ChatBuilder], ChatBuilder]


def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped with chatrec, as a QA platform would download it."""
    path = resources.files("chatrec.domain").joinpath(f"schemas/{name}")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


RECORDING_SCHEMA = schema("recording-1.schema.json")
SIDECAR_SCHEMA = schema("recording-sidecar-1.schema.json")
REGISTRY: Registry[Any] = Registry().with_resource(
    RECORDING_SCHEMA["$id"], Resource.from_contents(RECORDING_SCHEMA)
)


def validator(schema_data: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema_data)
    return Draft202012Validator(
        schema_data, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def ended(story: Story, chat_id: str = "C1") -> Journal:
    return story(ChatBuilder(chat_id)).end().journal()


def render(
    journal: Journal, verdict: Verdict = FLOW_VERDICT, *, base: str = BASE
) -> RecordingFiles:
    return render_recording(COMPANY, journal, verdict, EXPLANATION, base)


def document(journal: Journal, verdict: Verdict = FLOW_VERDICT) -> dict[str, Any]:
    return build_document(COMPANY, journal, verdict, EXPLANATION)


def every_byte(files: RecordingFiles) -> list[bytes]:
    return [file.content for file in files.all_files]


def full_story(c: ChatBuilder) -> ChatBuilder:
    """One of every event type a recording can show."""
    return (
        c.add(MessagePosted(at=T0 + timedelta(seconds=1), actor=FLOW, text="Welcome"))
        .consent(True)
        .flow_records("s1", "quality", template="secret-template/{chat_id}")
        .customer_says("hello")
        .assign(ALICE, queue="Sales")
        .says(ALICE, "Hi, Alice here")
        .pause(ALICE)
        .resume(ALICE)
        .transfer(ALICE, BOB)
        .transfer_to_queue(BOB, "Claims")
        .supervisor_joins(SAM)
        .customer_asks_deletion()
        .press_delete(BOB)
        .flag_abusive(SAM)
        .discard()
        .leaves(SAM)
    )


FULL = ended(full_story)


# --- R15: what the document says -------------------------------------------------------


def test_R15_document_carries_the_chat_metadata() -> None:
    doc = document(FULL)
    assert doc["schema"] == SCHEMA_ID
    assert doc["schema_version"] == 1
    assert doc["recording_id"] == "C1-r1"
    assert doc["chat_id"] == "C1"
    assert doc["company"] == {"id": "acme", "name": "Acme"}
    assert doc["service"] == "Support"
    assert doc["queue"] == "Sales"
    assert (doc["origin"], doc["reason"], doc["flow_step"]) == ("flow", "quality", "s1")
    assert doc["recording_agent"] is None
    assert doc["started_at"] == "2026-11-27T10:00:00Z"
    assert doc["ended_at"] == FULL.events[-1].at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert doc["end_reason"] == "customer ended"
    assert doc["primary_agent"] == {"role": "agent", "name": "Alice", "user_id": "alice"}
    assert doc["decision"] == {
        "outcome": "produced",
        "rule": "R5b",
        "explanation": list(EXPLANATION),
    }


def test_R15_participants_are_everyone_in_order_of_appearance_with_role_name_and_login() -> None:
    assert document(FULL)["participants"] == [
        {"role": "customer", "name": "Customer", "user_id": None},
        {"role": "flow", "name": "Chat flow", "user_id": None},
        {"role": "agent", "name": "Alice", "user_id": "alice"},
        {"role": "agent", "name": "Bob", "user_id": "bob"},
        {"role": "supervisor", "name": "Sam", "user_id": "sam"},
    ]


def test_R15_the_system_takes_part_only_when_it_posts() -> None:
    quiet = ChatBuilder().add(ChatEnded(at=T0 + timedelta(seconds=1), actor=SYSTEM)).journal()
    assert [p["role"] for p in document(quiet)["participants"]] == ["customer"]
    notice = ended(lambda c: c.says(SYSTEM, "Chat moved"))
    assert [p["role"] for p in document(notice)["participants"]] == ["customer", "system"]


def test_R15_queue_is_the_first_queue_an_agent_came_from_or_null() -> None:
    assert document(ended(lambda c: c.assign(ALICE, queue=None)))["queue"] is None
    two = ended(lambda c: c.assign(ALICE, queue=None).assign(BOB, queue="B").assign(SAM, queue="C"))
    assert document(two)["queue"] == "B"
    assert document(ended(lambda c: c))["primary_agent"] is None


def test_R15_agent_recording_names_its_agent() -> None:
    journal = ended(lambda c: c.assign(ALICE).says(ALICE, "hi"))
    verdict = decide_recordings(COMPANY, journal).produced[0]
    doc = document(journal, verdict)
    assert (doc["origin"], doc["reason"], doc["flow_step"]) == ("agent", "agent", None)
    assert doc["recording_agent"] == {"role": "agent", "name": "Alice", "user_id": "alice"}
    assert doc["decision"]["rule"] == "R5a"


@pytest.mark.parametrize(
    ("story", "consent"),
    [
        (lambda c: c, "not_asked"),
        (lambda c: c.add(ConsentAsked(at=T0, actor=FLOW, question="OK?")), "unanswered"),
        (lambda c: c.consent(True), "granted"),
        (lambda c: c.consent(False), "declined"),
        (lambda c: c.consent(False).consent(True), "granted"),
    ],
    ids=["not asked", "unanswered", "granted", "declined", "last answer counts"],
)
def test_R15_outcome_says_what_the_customer_answered(story: Story, consent: str) -> None:
    assert document(ended(story))["outcome"]["consent"] == consent


def test_R15_outcome_flags() -> None:
    assert document(FULL)["outcome"] == {
        "abusive": True,
        "deletion_requested_by_customer": True,
        "delete_pressed": True,
        "discarded": True,
        "consent": "granted",
        "paused_spans": 1,
        "masked_card_numbers": 0,
        "masked_other_values": 0,
    }
    assert document(ended(lambda c: c))["outcome"] == {
        "abusive": False,
        "deletion_requested_by_customer": False,
        "delete_pressed": False,
        "discarded": False,
        "consent": "not_asked",
        "paused_spans": 0,
        "masked_card_numbers": 0,
        "masked_other_values": 0,
    }


def test_R22_R8_the_outcome_counts_the_masked_values_of_recorded_messages_only() -> None:
    journal = ended(
        lambda c: (
            c.customer_says("**** **** **** 1111", masked=1)
            .pause(ALICE)
            .customer_says("**** 4444, **** 1111 and **** 0005, ID *********", 3, 1)
            .resume(ALICE)
            .customer_says("***********0005 and ************4444", masked=2)
            .customer_says("my ID is ********* and ******", masked_other=2)
        )
    )
    doc = document(journal)
    # none of those said while paused
    assert doc["outcome"]["masked_card_numbers"] == 3
    assert doc["outcome"]["masked_other_values"] == 2
    texts = [e["text"] for e in doc["events"] if e["type"] == "message"]
    assert texts == [
        "**** **** **** 1111",
        "***********0005 and ************4444",
        "my ID is ********* and ******",
    ]
    assert all("masked" not in e for e in doc["events"])  # how many, never where


def test_R15_events_are_in_order_with_their_allow_listed_fields() -> None:
    alice = {"role": "agent", "name": "Alice", "user_id": "alice"}
    bob = {"role": "agent", "name": "Bob", "user_id": "bob"}
    events = [{k: v for k, v in e.items() if k != "at"} for e in document(FULL)["events"]]
    flow = {"role": "flow", "name": "Chat flow", "user_id": None}
    customer = {"role": "customer", "name": "Customer", "user_id": None}
    sam = {"role": "supervisor", "name": "Sam", "user_id": "sam"}
    question = "May we record this chat?"
    assert events == [
        {"type": "message", "by": flow, "text": "Welcome"},
        {"type": "consent_asked", "by": flow, "question": question},
        {"type": "consent_answered", "by": customer, "question": question, "answer": "granted"},
        {"type": "recording_requested", "by": flow, "step": "s1", "reason": "quality"},
        {"type": "message", "by": customer, "text": "hello"},
        {"type": "joined", "by": alice, "by_transfer": False, "queue": "Sales"},
        {"type": "message", "by": alice, "text": "Hi, Alice here"},
        {"type": "paused", "by": alice},
        {"type": "resumed", "by": alice},
        {"type": "transferred", "by": alice, "to_agent": bob, "to_queue": None},
        {"type": "joined", "by": bob, "by_transfer": True, "queue": None},
        {"type": "transferred", "by": bob, "to_agent": None, "to_queue": "Claims"},
        {"type": "joined", "by": sam, "by_transfer": False, "queue": None},
        {"type": "deletion_requested", "by": customer},
        {"type": "delete_pressed", "by": bob},
        {"type": "flagged_abusive", "by": sam},
        {"type": "discarded", "by": flow},
        {"type": "left", "by": sam},
        {"type": "ended", "by": customer, "reason": "customer ended"},
    ]


# --- R15a: the allow-list --------------------------------------------------------------


def test_R15a_no_internal_fields() -> None:
    """Snapshots, draws, templates, flow ids and a customer's token never reach a file."""
    customer = Actor(ChatRole.CUSTOMER, "Jane", "cust-token-5f3a9c")
    builder = ChatBuilder()
    builder.events[0] = type(builder.events[0])(
        at=T0,
        actor=customer,
        chat_id="C1",
        company_id="acme",
        service="Support",
        flow_id="flow-internal-77",
        flow_version=9,
    )
    journal = full_story(builder.says(customer, "hi")).end().journal()
    draws = [str(join.draw.value) for join in journal.events if hasattr(join, "draw")]
    forbidden = [
        "permit_recordings",
        "record_chats",
        "record_percentage",
        "settings",
        "draw",
        "secret-template",
        "flow-internal-77",
        "flow_version",
        "cust-token-5f3a9c",
        "@",
        *draws,
    ]
    for content in every_byte(render(journal)):
        text = content.decode()
        assert [word for word in forbidden if word in text] == []


@dataclass(frozen=True, slots=True, kw_only=True)
class InternalNote(Event):
    """An event type the renderers have never heard of."""

    secret: str


def test_R15a_a_journal_event_outside_the_allow_list_reaches_no_file() -> None:
    note = InternalNote(at=T0 + timedelta(seconds=1), actor=ALICE, secret="INTERNAL-NOTE")
    journal = ChatBuilder().add(note).end().journal()
    assert [e["type"] for e in document(journal)["events"]] == ["ended"]
    assert all(b"INTERNAL-NOTE" not in content for content in every_byte(render(journal)))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 11, 27, 10, 42, 7, tzinfo=UTC), "2026-11-27T10:42:07Z"),
        (datetime(2026, 11, 27, 10, 42, 7, 250000, tzinfo=UTC), "2026-11-27T10:42:07.250000Z"),
        (datetime(2026, 11, 27, 10, 42, 7, tzinfo=timezone(timedelta(0))), "2026-11-27T10:42:07Z"),
    ],
    ids=["seconds", "microseconds", "another UTC tzinfo"],
)
def test_R15a_timestamps_are_iso_8601_utc_with_z(at: datetime, expected: str) -> None:
    journal = ChatBuilder(start=at).end().journal()
    assert document(journal)["started_at"] == expected


# --- R8: pause ------------------------------------------------------------------------

PAUSE_CASES: list[tuple[str, Story, list[str], int]] = [
    (
        "what is said while paused is absent",
        lambda c: c.customer_says("before").pause(ALICE).customer_says("4111").resume(BOB),
        ["message:before", "paused:alice", "resumed:bob"],
        1,
    ),
    (
        "a second pause while paused is a no-op",
        lambda c: c.pause(ALICE).pause(BOB).says(ALICE, "card?").resume(BOB).customer_says("x"),
        ["paused:alice", "resumed:bob", "message:x"],
        1,
    ),
    (
        "a resume while not paused is a no-op",
        lambda c: c.resume(ALICE).customer_says("x").pause(ALICE).resume(ALICE).resume(BOB),
        ["message:x", "paused:alice", "resumed:alice"],
        1,
    ),
    (
        "a chat that ends paused is paused to the end",
        lambda c: c.pause(ALICE).customer_says("secret").says(FLOW, "bye"),
        ["paused:alice"],
        1,
    ),
    (
        "joins, transfers and consent during a pause stay",
        lambda c: c.pause(SAM).assign(ALICE).consent(False).transfer(ALICE, BOB).resume(SAM),
        [
            "paused:sam",
            "joined:alice",
            "consent_asked:flow",
            "consent_answered:customer",
            "transferred:alice",
            "joined:bob",
            "resumed:sam",
        ],
        1,
    ),
    (
        "two gaps are two spans",
        lambda c: c.pause(ALICE).resume(ALICE).customer_says("y").pause(BOB).resume(BOB),
        ["paused:alice", "resumed:alice", "message:y", "paused:bob", "resumed:bob"],
        2,
    ),
]


def _summary(entry: dict[str, Any]) -> str:
    if entry["type"] == "message":
        return f"message:{entry['text']}"
    return f"{entry['type']}:{entry['by']['user_id'] or entry['by']['role']}"


@pytest.mark.parametrize(
    ("story", "expected", "spans"),
    [case[1:] for case in PAUSE_CASES],
    ids=[case[0] for case in PAUSE_CASES],
)
def test_R8_pause_markers_and_gaps(story: Story, expected: list[str], spans: int) -> None:
    doc = document(ended(story))
    assert [_summary(e) for e in doc["events"] if e["type"] != "ended"] == expected
    assert doc["outcome"]["paused_spans"] == spans


def test_R8_paused_text_is_in_no_format() -> None:
    journal = ended(
        lambda c: (
            c.assign(ALICE)
            .customer_says("I will pay by card")
            .pause(ALICE)
            .customer_says("4111 1111 1111 1111 exp 12/28")
            .says(ALICE, "CVC please")
            .customer_says("CVC 737")
            .resume(ALICE)
            .says(ALICE, "Thanks, paid")
        )
    )
    files = render(journal)
    assert len(files.all_files) == 5
    for content in every_byte(files):
        # Whole phrases: a bare "737" or "4111" may be in a file's SHA-256 in the sidecar.
        for secret in (b"4111 1111", b"CVC", b"exp 12/28", b"CVC 737"):
            assert secret not in content
    assert all(b"Thanks, paid" in file.content for file in files.files)


# --- refusals -------------------------------------------------------------------------


def test_R15_an_unended_chat_cannot_be_rendered() -> None:
    with pytest.raises(JournalError, match="has not ended"):
        render(ChatBuilder().customer_says("hi").journal())


def test_R12_a_suppressed_recording_cannot_be_rendered() -> None:
    journal = ended(lambda c: c.assign(ALICE).press_delete(ALICE))
    verdict = decide_recordings(COMPANY, journal).verdicts[0]
    assert verdict.outcome is Outcome.SUPPRESSED
    with pytest.raises(JournalError, match="only produced recordings are rendered"):
        render(journal, verdict)


@pytest.mark.parametrize("base", ["", "/abs/x", "a//b", "a/../b", "./x", "a/"])
def test_R6_base_name_must_be_a_clean_relative_path(base: str) -> None:
    with pytest.raises(ValueError, match="relative path"):
        render(FULL, base=base)


# --- the files ------------------------------------------------------------------------


def test_R15_one_file_per_company_format_in_a_fixed_order_then_the_sidecar() -> None:
    files = render(FULL)
    assert [(f.path, f.format, f.media_type) for f in files.all_files] == [
        (f"{BASE}.json", "json", "application/json"),
        (f"{BASE}.vcon.json", "vcon", "application/vcon+json"),
        (f"{BASE}.txt", "text", "text/plain; charset=utf-8"),
        (f"{BASE}.html", "html", "text/html; charset=utf-8"),
        (f"{BASE}.meta.json", "sidecar", "application/json"),
    ]
    assert files.recording_id == "C1-r1"
    assert set(EXTENSIONS) == set(MEDIA_TYPES) == set(RecordingFormat)


def test_R15_only_the_formats_the_company_chose() -> None:
    chosen = company(formats=frozenset({RecordingFormat.HTML, RecordingFormat.JSON}))
    files = render_recording(chosen, FULL, FLOW_VERDICT, EXPLANATION, "x")
    assert [f.path for f in files.files] == ["x.json", "x.html"]


def test_R15_json_is_the_document_as_utf8_with_a_final_newline() -> None:
    journal = ended(lambda c: c.customer_says("Grüße, ☕ and 日本"))
    content = render(journal).files[0].content
    assert content.endswith(b"}\n")
    assert "Grüße, ☕ and 日本".encode() in content
    assert json.loads(content) == document(journal)


def test_R19_a_lone_surrogate_does_not_lose_the_recording() -> None:
    content = render(ended(lambda c: c.customer_says("bad \ud800 char"))).files[0].content
    assert json.loads(content)["events"][0]["text"] == "bad ? char"


@pytest.mark.parametrize("journal", [FULL, ended(lambda c: c)], ids=["full", "empty"])
def test_R15_json_validates_against_the_published_schema(journal: Journal) -> None:
    for verdict in (FLOW_VERDICT, *decide_recordings(COMPANY, FULL).produced):
        validator(RECORDING_SCHEMA).validate(document(journal, verdict))


def test_R15_schema_refuses_a_field_outside_the_allow_list() -> None:
    doc = document(FULL)
    doc["events"][0]["settings"] = {"permit_recordings": True}
    assert not validator(RECORDING_SCHEMA).is_valid(doc)


def test_R15_sidecar_checksums_match() -> None:
    files = render(FULL)
    sidecar = json.loads(files.sidecar.content)
    assert sidecar["files"] == [
        {
            "name": file.path.rsplit("/", 1)[-1],
            "format": file.format,
            "media_type": file.media_type,
            "size": len(file.content),
            "sha256": hashlib.sha256(file.content).hexdigest(),
        }
        for file in files.files
    ]


def test_R15_sidecar_says_who_what_why_and_when() -> None:
    files = render(FULL)
    sidecar = json.loads(files.sidecar.content)
    validator(SIDECAR_SCHEMA).validate(sidecar)
    doc = document(FULL)
    for key in ("chat_id", "recording_id", "company", "service", "queue", "origin", "reason"):
        assert sidecar[key] == doc[key]
    assert sidecar["primary_agent"] == doc["primary_agent"]
    assert sidecar["flags"] == doc["outcome"]
    assert (sidecar["started_at"], sidecar["ended_at"]) == (doc["started_at"], doc["ended_at"])


def test_R16_every_format_is_deterministic() -> None:
    first, second = render(FULL), render(ended(full_story))
    assert first == second
    assert [f.sha256 for f in first.all_files] == [f.sha256 for f in second.all_files]


def test_rendered_file_reports_size_sha256_and_name() -> None:
    file = RenderedFile("a/b/c.txt", "text", "text/plain", b"abc")
    assert file.size == 3
    assert file.sha256 == hashlib.sha256(b"abc").hexdigest()
    assert file.name == "c.txt"
    assert RenderedFile("c.txt", "text", "text/plain", b"").name == "c.txt"


def test_left_by_someone_other_than_staff_is_kept() -> None:
    left = ParticipantLeft(at=T0 + timedelta(seconds=1), actor=CUSTOMER)
    journal = ChatBuilder().add(left).end().journal()
    assert [e["type"] for e in document(journal)["events"]] == ["left", "ended"]


NOTE = "Asked for the policy number; customer upset about the delay"


def content_of(files: RecordingFiles, format_name: str) -> bytes:
    return next(f.content for f in files.files if f.format == format_name)


def test_R23_an_internal_note_is_in_every_format_marked_internal() -> None:
    journal = ended(
        lambda c: (
            c.customer_says("hello")
            .assign(ALICE)
            .notes(ALICE, NOTE)
            .notes(ALICE, "For Bob: renewal only", with_transfer=True)
            .transfer(ALICE, BOB)
        )
    )
    files = render(journal)
    notes = [e for e in json.loads(content_of(files, "json"))["events"] if e["type"] == "note"]
    assert [(n["internal"], n["text"], n.get("with_transfer")) for n in notes] == [
        (True, NOTE, None),
        (True, "For Bob: renewal only", True),
    ]
    validator(RECORDING_SCHEMA).validate(json.loads(content_of(files, "json")))
    text = content_of(files, "text").decode()
    assert f"[INTERNAL NOTE] Alice (agent): {NOTE}" in text
    assert "[INTERNAL NOTE FOR THE TRANSFER] Alice (agent): For Bob: renewal only" in text
    html = content_of(files, "html").decode()
    assert '<li class="note internal">' in html
    assert "Internal note</span>" in html
    vcon = json.loads(content_of(files, "vcon"))
    assert all(NOTE not in json.dumps(d) for d in vcon["dialog"])  # not what was said
    assert NOTE in json.dumps(vcon)  # but kept, marked, with chatrec's other events


def test_R23_R8_a_note_written_while_paused_is_in_no_file() -> None:
    journal = ended(
        lambda c: (
            c.assign(ALICE)
            .pause(ALICE)
            .notes(ALICE, "card 4111 read out, see paper")
            .resume(ALICE)
            .notes(ALICE, NOTE, masked=1)
        )
    )
    files = render(journal)
    for content in every_byte(files):
        assert b"paper" not in content
    assert json.loads(content_of(files, "json"))["outcome"]["masked_card_numbers"] == 1


def test_R23_a_company_that_leaves_notes_out_has_none_in_its_files() -> None:
    journal = ended(lambda c: c.assign(ALICE).notes(ALICE, NOTE, masked=2))
    leaves_out = replace(COMPANY, record_internal_notes=False)
    files = render_recording(leaves_out, journal, FLOW_VERDICT, EXPLANATION, BASE)
    for content in every_byte(files):
        assert NOTE.encode() not in content
    doc = build_document(leaves_out, journal, FLOW_VERDICT, EXPLANATION)
    assert doc["outcome"]["masked_card_numbers"] == 0  # what is not recorded is not counted


def test_R23_the_last_wrap_up_code_chosen_is_in_the_metadata_and_the_sidecar() -> None:
    journal = ended(lambda c: c.assign(ALICE).wraps_up(ALICE, "Claim").wraps_up(ALICE, "Billing"))
    files = render(journal)
    doc = json.loads(content_of(files, "json"))
    alice = {"role": "agent", "name": "Alice", "user_id": "alice"}
    assert doc["wrap_up"] == {"code": "Billing", "at": doc["wrap_up"]["at"], "by": alice}
    assert not [e for e in doc["events"] if "code" in e]  # the choice, not its history
    sidecar = json.loads(files.sidecar.content)
    assert sidecar["wrap_up"] == doc["wrap_up"]
    validator(SIDECAR_SCHEMA).validate(sidecar)
    validator(RECORDING_SCHEMA).validate(doc)
    assert "Wrap-up:" in content_of(files, "text").decode()
    assert "Billing (chosen by Alice (agent))" in content_of(files, "text").decode()
    none = json.loads(content_of(render(ended(lambda c: c.assign(ALICE))), "json"))
    assert none["wrap_up"] is None


# --- R23: attachments beside the recording --------------------------------------------

PHOTO = b"\x89PNG\r\n\x1a\n" + b"photo-bytes"
CARD_SCAN = b"%PDF-1.7 card 4111 scan"


def attachment_story(c: ChatBuilder) -> ChatBuilder:
    return (
        c.assign(ALICE)
        .attaches(CUSTOMER, "A1", "photo.png", PHOTO)
        .pause(ALICE)
        .attaches(CUSTOMER, "A2", "card-scan.pdf", CARD_SCAN, paused=True)
        .resume(ALICE)
        .attaches(ALICE, "A3", "terms.pdf", b"%PDF-1.4 terms")
    )


def test_R23_attachments_are_delivered_beside_the_recording_with_size_and_sha256() -> None:
    journal = ended(attachment_story)
    contents = {"A1": PHOTO, "A2": CARD_SCAN, "A3": b"%PDF-1.4 terms"}
    files = render_recording(COMPANY, journal, FLOW_VERDICT, EXPLANATION, BASE, contents)
    assert [(f.path, f.content) for f in files.attachments] == [
        (f"{BASE}.att1-photo.png", PHOTO),
        (f"{BASE}.att2-terms.pdf", b"%PDF-1.4 terms"),
    ]
    assert set(files.attachments) <= set(files.all_files)
    sidecar = json.loads(files.sidecar.content)
    validator(SIDECAR_SCHEMA).validate(sidecar)
    assert sidecar["attachments"] == [
        {
            "name": file.name,
            "sent_as": sent_as,
            "media_type": file.media_type,
            "size": len(file.content),
            "sha256": hashlib.sha256(file.content).hexdigest(),
        }
        for file, sent_as in zip(files.attachments, ["photo.png", "terms.pdf"], strict=True)
    ]
    doc = json.loads(content_of(files, "json"))
    validator(RECORDING_SCHEMA).validate(doc)
    sent = [e for e in doc["events"] if e["type"] == "attachment"]
    assert [(e["name"], e["file"], e["by"]["role"]) for e in sent] == [
        ("photo.png", "acme_C1_flow_C1-r1.att1-photo.png", "customer"),
        ("terms.pdf", "acme_C1_flow_C1-r1.att2-terms.pdf", "agent"),
    ]
    assert (sent[0]["size"], sent[0]["media_type"]) == (len(PHOTO), "image/png")
    text = content_of(files, "text").decode()
    assert "sent the file photo.png (image/png" in text
    assert "delivered as acme_C1_flow_C1-r1.att1-photo.png" in text


def test_R23_R8_a_file_sent_while_paused_is_in_no_file_not_even_its_name() -> None:
    journal = ended(attachment_story)
    contents = {"A1": PHOTO, "A2": CARD_SCAN, "A3": b"%PDF-1.4 terms"}
    files = render_recording(COMPANY, journal, FLOW_VERDICT, EXPLANATION, BASE, contents)
    scan_sha = hashlib.sha256(CARD_SCAN).hexdigest().encode()
    for content in every_byte(files):
        assert b"card-scan" not in content
        assert b"card 4111" not in content
        assert scan_sha not in content
    assert b"Recording paused by Alice" in content_of(files, "text")


def test_R23_an_attachment_whose_bytes_are_missing_is_named_not_delivered() -> None:
    files = render(ended(attachment_story))
    assert files.attachments == ()
    assert "attachments" not in json.loads(files.sidecar.content)
    doc = json.loads(content_of(files, "json"))
    assert [e["file"] for e in doc["events"] if e["type"] == "attachment"] == [None, None]
    assert "photo.png (image/png" in content_of(files, "text").decode()
    assert "not delivered" in content_of(files, "html").decode()
