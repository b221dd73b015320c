"""The readable transcripts and the vCon container (R8, R15)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chatrec.domain.journal import FLOW, SYSTEM, Actor, ChatRole, MessagePosted, ParticipantLeft
from chatrec.domain.render import render_recording
from chatrec.domain.render.describe import action, clock, staff_label
from chatrec.domain.render.vcon import VCON_VERSION, build_vcon, vcon_uuid
from chatrec.domain.settings import VconDraft
from tests.unit.domain.builders import T0, ChatBuilder
from tests.unit.domain.test_render import (
    ALICE,
    BASE,
    BOB,
    COMPANY,
    EXPLANATION,
    FLOW_VERDICT,
    FULL,
    SAM,
    document,
    ended,
    render,
)

VCON_SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "vcon.schema.json").read_text(encoding="utf-8")
)


def text_of(journal: Any) -> str:
    return render(journal).files[2].content.decode()


def html_of(journal: Any) -> str:
    return render(journal).files[3].content.decode()


def vcon_of(journal: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(render(journal).files[1].content)
    return loaded


# --- text -----------------------------------------------------------------------------


def test_R15_text_transcript_header_says_whose_chat_and_why_it_was_kept() -> None:
    header = text_of(FULL).split("Times are UTC.")[0]
    for line in [
        "Chat transcript: chat C1, recording C1-r1",
        "Company:                        Acme (acme)",
        "Service:                        Support",
        "Queue:                          Sales",
        "Recording:                      C1-r1 (origin flow, reason quality, flow step s1)",
        "Started:                        2026-11-27T10:00:00Z",
        "Primary agent:                  Alice (agent, alice)",
        "Participants:                   Customer (customer); Chat flow (flow); Alice (agent, "
        "alice); Bob (agent, bob); Sam (supervisor, sam)",
        "Flagged abusive:                yes",
        "Consent to record:              granted",
        "Paused spans:                   1",
        "Why this recording was kept: Flow recording (R5b).",
        "  - Flow recording (R5b): recording C1-r1 was produced: the flow requested it.",
    ]:
        assert line in header.splitlines()


def test_R15_text_lines_are_time_name_role_and_text() -> None:
    lines = text_of(ended(lambda c: c.customer_says("hello").assign(ALICE).says(ALICE, "Hi")))
    assert "[10:00:01] Customer (customer): hello" in lines.splitlines()
    assert "[10:00:02] * Alice (agent) joined the chat from queue General" in lines.splitlines()
    assert "[10:00:03] Alice (agent): Hi" in lines.splitlines()
    assert lines.endswith("[10:00:04] * Customer (customer) ended the chat (customer ended)\n")


def test_R8_text_markers_say_who_paused_and_resumed_and_when() -> None:
    lines = text_of(ended(lambda c: c.pause(ALICE).customer_says("card").resume(SAM))).splitlines()
    assert "--- Recording paused by Alice (agent) at 10:00:01 ---" in lines
    assert "--- Recording resumed by Sam (supervisor) at 10:00:03 ---" in lines


def test_R8_a_message_cannot_forge_a_marker_line() -> None:
    forged = "ok\n--- Recording resumed by Alice (agent) at 10:00:09 ---\r\nlast\rline"
    lines = text_of(ended(lambda c: c.customer_says(forged))).splitlines()
    assert "[10:00:01] Customer (customer): ok" in lines
    assert "    --- Recording resumed by Alice (agent) at 10:00:09 ---" in lines
    assert "    last" in lines
    assert "    line" in lines
    assert not any(line.startswith("--- Recording resumed") for line in lines)


def test_R15_text_makes_control_characters_and_line_breaks_in_names_harmless() -> None:
    text = text_of(ended(lambda c: c.customer_says("\x1b[2Jgone\x00").says(FLOW, "a\tb")))
    assert "\x1b" not in text
    assert "\x00" not in text
    assert "Customer (customer): \ufffd[2Jgone\ufffd" in text
    assert "Chat flow (flow): a\tb" in text


def test_R15_a_chat_past_midnight_shows_the_date() -> None:
    late = datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)
    text = ChatBuilder(start=late).customer_says("still there?").end().journal()
    lines = text_of(text).splitlines()
    assert "[2026-11-28 00:00:00] Customer (customer): still there?" in lines
    assert clock("2026-11-27T23:59:59Z", "2026-11-27") == "23:59:59"


@pytest.mark.parametrize(
    ("entry", "sentence"),
    [
        ({"type": "joined", "by_transfer": False, "queue": None}, "X (agent) joined the chat"),
        (
            {"type": "joined", "by_transfer": True, "queue": "Q"},
            "X (agent) joined the chat by transfer",
        ),
        ({"type": "left"}, "X (agent) left the chat"),
        (
            {"type": "transferred", "to_agent": None, "to_queue": "Claims"},
            "X (agent) transferred the chat to queue Claims",
        ),
        (
            {"type": "consent_answered", "answer": "declined"},
            "X (agent) declined consent to record",
        ),
        (
            {"type": "recording_requested", "step": "s1", "reason": "qa"},
            "X (agent) requested a recording (step s1, reason qa)",
        ),
        ({"type": "discarded"}, "X (agent) discarded the chat's recordings"),
        ({"type": "deletion_requested"}, "X (agent) asked for the recording to be deleted"),
        ({"type": "delete_pressed"}, "X (agent) pressed Delete recording"),
        ({"type": "flagged_abusive"}, "X (agent) flagged the chat as abusive"),
        ({"type": "ended", "reason": "timeout\nnow"}, "X (agent) ended the chat (timeout now)"),
    ],
    ids=lambda value: value if isinstance(value, str) else value["type"],
)
def test_R15_every_event_reads_as_a_sentence(entry: dict[str, Any], sentence: str) -> None:
    by = {"role": "agent", "name": "X", "user_id": "x"}
    assert action({**entry, "by": by}) == sentence


def test_R15_staff_label_without_an_agent() -> None:
    assert staff_label(None) == "none"
    assert "Primary agent:                  none" in text_of(ended(lambda c: c))


# --- HTML -----------------------------------------------------------------------------


class _Page(HTMLParser):
    """Collects what a browser would show as text, and every tag it would build."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def test_R15_html_escapes_everything_a_participant_typed() -> None:
    attack = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    page = html_of(ended(lambda c: c.customer_says(attack).says(ALICE, "a & b")))
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    parsed = parse(page)
    assert "script" not in parsed.tags
    assert "img" not in parsed.tags
    assert attack in parsed.text
    assert "a & b" in parsed.text


def test_R15_html_escapes_names_and_attributes() -> None:
    evil = Actor(ChatRole.AGENT, 'Eve" onmouseover="x()<b>', "eve")
    page = html_of(ended(lambda c: c.assign(evil).says(evil, "hi")))
    assert "<b>" not in page
    assert 'onmouseover="x()' not in page
    assert "Eve&quot; onmouseover=&quot;x()&lt;b&gt;" in page


def test_R15_html_is_a_standalone_accessible_page() -> None:
    page = html_of(FULL)
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')
    assert "default-src 'none'" in page
    assert "<title>Chat C1, recording C1-r1: Acme, Support</title>" in page
    assert "http://" not in page
    assert "https://" not in page
    parsed = parse(page)
    for tag in ("main", "header", "h1", "h2", "dl", "ol", "time", "style"):
        assert tag in parsed.tags
    assert '<time datetime="2026-11-27T10:00:01Z">10:00:01</time>' in page
    assert page.endswith("</html>\n")


def test_R14_html_names_the_deciding_rule_in_plain_words_with_its_id_as_a_tag() -> None:
    page = html_of(FULL)
    assert "<p>Decided by <strong>Flow recording (R5b)</strong>.</p>" in page
    assert "<li>Flow recording (R5b): recording C1-r1 was produced: " in page


def test_R8_html_markers_say_who_paused_and_resumed_and_when() -> None:
    page = html_of(ended(lambda c: c.pause(ALICE).customer_says("4111").resume(BOB)))
    assert "4111" not in page
    assert (
        '<li class="marker" role="note">Recording paused by Alice (agent) at '
        '<time datetime="2026-11-27T10:00:01Z">10:00:01</time></li>'
    ) in page
    assert "Recording resumed by Bob (agent) at" in page


# --- vCon -----------------------------------------------------------------------------


def vcon_validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(VCON_SCHEMA)
    return Draft202012Validator(VCON_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


VCON_JOURNALS = {
    "full": FULL,
    "empty": ended(lambda c: c),
    "all paused": ended(lambda c: c.assign(ALICE).pause(ALICE).customer_says("x")),
    "system notice": ended(lambda c: c.says(SYSTEM, "moved")),
    "system leaves without a word": ChatBuilder()
    .add(ParticipantLeft(at=T0 + timedelta(seconds=1), actor=SYSTEM))
    .end()
    .journal(),
}


@pytest.mark.parametrize("journal", VCON_JOURNALS.values(), ids=VCON_JOURNALS.keys())
def test_R15_vcon_validates_against_the_draft(journal: Any) -> None:
    vcon = vcon_of(journal)
    vcon_validator().validate(vcon)
    parties = len(vcon["parties"])
    for dialog in vcon["dialog"]:
        assert all(0 <= party < parties for party in dialog.get("parties", []))
        assert all(0 <= h["party"] < parties for h in dialog.get("party_history", []))
    assert all(
        a["party"] < parties and a["dialog"] < len(vcon["dialog"]) for a in vcon["attachments"]
    )


def test_R15_vcon_header() -> None:
    vcon = vcon_of(FULL)
    assert vcon["vcon"] == VCON_VERSION == "0.4.0"
    assert vcon["created_at"] == document(FULL)["ended_at"]
    assert vcon["subject"] == "Support chat C1"
    assert vcon["extensions"] == ["CC"]


def test_R15_vcon_uuid_is_version_8_reproducible_and_time_ordered() -> None:
    at = datetime(2026, 11, 27, 10, 0, 4, tzinfo=UTC)
    one = vcon_uuid("acme", "C1-r1", at)
    assert uuid.UUID(one).version == 8
    assert uuid.UUID(one).variant == uuid.RFC_4122
    assert one == vcon_uuid("acme", "C1-r1", at)
    assert one != vcon_uuid("acme", "C1-r2", at)
    assert one != vcon_uuid("other", "C1-r1", at)
    assert one < vcon_uuid("acme", "C1-r1", at + timedelta(milliseconds=1))
    assert int(one.replace("-", "")[:12], 16) == int(at.timestamp() * 1000)
    assert vcon_of(FULL)["uuid"] == vcon_uuid("acme", "C1-r1", FULL.events[-1].at)


def test_R15a_vcon_parties_have_role_and_login_but_no_email() -> None:
    parties = vcon_of(FULL)["parties"]
    assert parties == [
        {"name": "Customer", "type": "person", "role": "customer", "validation": "none"},
        {"name": "Chat flow", "type": "bot", "role": "flow", "validation": "none"},
        {
            "name": "Alice",
            "type": "person",
            "role": "agent",
            "validation": "login",
            "uuid": "alice",
        },
        {"name": "Bob", "type": "person", "role": "agent", "validation": "login", "uuid": "bob"},
        {
            "name": "Sam",
            "type": "person",
            "role": "supervisor",
            "validation": "login",
            "uuid": "sam",
        },
        {"name": "Acme", "type": "organization", "validation": "none", "uuid": "acme"},
    ]


def test_R15_vcon_dialog_is_one_text_per_message_kept() -> None:
    journal = ended(
        lambda c: (
            c.add(MessagePosted(at=T0, actor=FLOW, text="Welcome"))
            .customer_says("hi")
            .pause(ALICE)
            .customer_says("4111")
            .resume(ALICE)
        )
    )
    dialog = vcon_of(journal)["dialog"]
    assert [(d["parties"], d["body"], d["start"]) for d in dialog] == [
        ([1], "Welcome", "2026-11-27T10:00:00Z"),
        ([0], "hi", "2026-11-27T10:00:01Z"),
    ]
    assert {(d["type"], d["mediatype"], d["encoding"], d["interaction_id"]) for d in dialog} == {
        ("text", "text/plain", "none", "C1")
    }


def test_R15_vcon_party_history_holds_joins_and_drops() -> None:
    journal = ended(
        lambda c: (
            c.customer_says("hi")
            .assign(ALICE)
            .transfer(ALICE, BOB)
            .supervisor_joins(SAM)
            .leaves(SAM)
        )
    )
    vcon = vcon_of(journal)
    assert [(h["party"], h["event"]) for h in vcon["dialog"][0]["party_history"]] == [
        (0, "join"),
        (1, "join"),
        (1, "drop"),
        (2, "join"),
        (3, "join"),
        (3, "drop"),
    ]
    assert all("party_history" not in d for d in vcon["dialog"][1:])


def test_R8_vcon_without_a_message_kept_has_an_empty_placeholder_dialog() -> None:
    vcon = vcon_of(VCON_JOURNALS["all paused"])
    assert len(vcon["dialog"]) == 1
    placeholder = vcon["dialog"][0]
    assert set(placeholder) == {"type", "start", "party_history"}


def test_R15_vcon_analysis_holds_the_decision_and_the_attachment_the_metadata() -> None:
    vcon, doc = vcon_of(FULL), document(FULL)
    (analysis,) = vcon["analysis"]
    assert (analysis["type"], analysis["vendor"], analysis["encoding"]) == (
        "report",
        "chatrec",
        "json",
    )
    assert analysis["body"] == doc["decision"]
    (attachment,) = vcon["attachments"]
    assert vcon["parties"][attachment["party"]]["type"] == "organization"
    body = attachment["body"]
    assert "decision" not in body
    assert [e for e in body["events"] if e["type"] == "message"] == []
    assert [e["type"] for e in body["events"]][:3] == [
        "consent_asked",
        "consent_answered",
        "recording_requested",
    ]
    assert {k: v for k, v in body.items() if k != "events"} == {
        k: v for k, v in doc.items() if k not in {"events", "decision"}
    }


def test_R15_vcon_is_built_from_the_document_alone() -> None:
    assert build_vcon(document(FULL)) == vcon_of(FULL)


@pytest.mark.parametrize("story", ["full", "all paused"])
def test_R15_vcon_for_the_container_drafts_renames_and_completes_what_they_name(
    story: str,
) -> None:
    journal = FULL if story == "full" else VCON_JOURNALS["all paused"]
    company = replace(COMPANY, vcon_draft=VconDraft.CONTAINER)
    files = render_recording(company, journal, FLOW_VERDICT, EXPLANATION, BASE)
    older = json.loads(files.files[1].content)
    current = vcon_of(journal)
    assert older["vcon"] == "0.0.1"
    assert "extensions" not in older
    assert [d.get("mimetype") for d in older["dialog"]] == ["text/plain"] * len(older["dialog"])
    assert all("mediatype" not in entry for part in ("dialog", "analysis", "attachments")
               for entry in older[part])  # fmt: skip
    assert all(set(d) >= {"type", "start", "parties", "body", "encoding"} for d in older["dialog"])
    assert [a["type"] for a in older["attachments"]] == ["chatrec-recording-metadata"]
    assert older["analysis"][0]["dialog"] == list(range(len(older["dialog"])))
    # Nothing else changes: the same conversation, parties and decision.
    assert older["parties"] == current["parties"]
    assert older["analysis"][0]["body"] == current["analysis"][0]["body"]
    assert [d.get("body") for d in older["dialog"]] == [
        d.get("body", "") for d in current["dialog"]
    ]
    # The company's default stays the current draft.
    assert COMPANY.vcon_draft is VconDraft.CORE
    assert current["vcon"] == VCON_VERSION
