"""Render the example chat of docs/recording-format.md in every format.

Writes the files of one recording (the primary agent's) under ``docs/examples/`` and
rewrites the example blocks of ``docs/recording-format.md`` between their marker
comments, so the documentation always shows what the code renders.  A unit test
re-renders and compares, so the two cannot drift apart:

    .venv/bin/python scripts/render_examples.py
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chatrec.domain.chain import GENESIS, chain_events
from chatrec.domain.decision import decide_recordings
from chatrec.domain.filenames import FilenameTemplate
from chatrec.domain.journal import (
    CUSTOMER,
    FLOW,
    Actor,
    AgentAssigned,
    Answer,
    ChatEnded,
    ChatRole,
    ChatStarted,
    ConsentAnswered,
    ConsentAsked,
    CustomerDetails,
    Event,
    Journal,
    MessagePosted,
    NoteAdded,
    RecordingPaused,
    RecordingRequested,
    RecordingResumed,
    StaffSnapshot,
    SupervisorJoined,
    Transferred,
    WrapUpChosen,
)
from chatrec.domain.manifest import SigningKey, sign_recording
from chatrec.domain.production import recording_bases
from chatrec.domain.render import RecordingFiles, render_recording
from chatrec.domain.sampling import draw_sample
from chatrec.domain.settings import DEFAULT_TEMPLATE, CompanySettings, Product, RecordingFormat

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
DOC = ROOT / "docs" / "recording-format.md"

COMPANY = CompanySettings(
    company_id="acme",
    name="Acme Insurance",
    products=frozenset(Product),
    default_template=FilenameTemplate.parse(DEFAULT_TEMPLATE),
    formats=frozenset(RecordingFormat),
)
ALICE = Actor(ChatRole.AGENT, "Alice Martin", "u-1042")
BOB = Actor(ChatRole.AGENT, "Bob Chen", "u-1077")
SAM = Actor(ChatRole.SUPERVISOR, "Sam Okafor", "u-2001")
START = datetime(2026, 11, 27, 9, 58, 2, tzinfo=UTC)
QUESTION = "May we record this chat for quality and training?"
SAMPLING_KEY = b"docs-example-sampling-key"


def _at(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


def _say(seconds: int, actor: Actor, text: str) -> MessagePosted:
    return MessagePosted(at=_at(seconds), actor=actor, text=text)


def example_journal() -> Journal:
    """A sales chat: flow greeting, consent, a record step, two agents, a pause, a note for
    the transfer, a supervisor, a wrap-up code."""
    staff = StaffSnapshot()
    alice_draw = draw_sample(SAMPLING_KEY, "C1001", "u-1042", staff.record_percentage)
    bob_draw = draw_sample(SAMPLING_KEY, "C1001", "u-1077", staff.record_percentage)
    events: list[Event] = [
        ChatStarted(
            at=START,
            actor=CUSTOMER,
            chat_id="C1001",
            company_id="acme",
            service="Sales",
            customer=CustomerDetails(
                name="Kenji Sato",
                email="kenji.sato@example.com",
                answers=(Answer("policy", "Policy number", "TRV-20931"),),
                page="https://www.acme.example/travel-insurance",
            ),
        ),
        _say(0, FLOW, "Welcome to Acme Insurance! This chat may be recorded."),
        ConsentAsked(at=_at(3), actor=FLOW, question=QUESTION),
        ConsentAnswered(at=_at(9), actor=CUSTOMER, question=QUESTION, granted=True),
        RecordingRequested(at=_at(10), actor=FLOW, step_id="record-sales", reason="sales-quality"),
        _say(10, FLOW, "Thank you. What can we help you with today?"),
        _say(28, CUSTOMER, "I'd like travel insurance for a trip to Japan."),
        _say(29, FLOW, "Let me find you someone from our Sales team."),
        AgentAssigned(at=_at(45), actor=ALICE, settings=staff, draw=alice_draw, queue="Sales"),
        _say(50, ALICE, "Hi, I'm Alice. Happy to help: when do you travel?"),
        _say(78, CUSTOMER, "From 3 to 17 January, two adults."),
        _say(123, ALICE, "Worldwide Plus covers that for EUR 84. Shall I set it up?"),
        _say(158, CUSTOMER, "Yes please, I'll pay by card."),
        RecordingPaused(at=_at(162), actor=ALICE),
        _say(176, CUSTOMER, "4111 1111 1111 1111, expiry 12/28, CVC 737"),
        _say(188, ALICE, "Thank you, the payment went through."),
        RecordingResumed(at=_at(190), actor=ALICE),
        _say(198, ALICE, "You're covered! Bob will now take you through the medical questions."),
        NoteAdded(
            at=_at(212),
            actor=ALICE,
            text="Paid by card; Worldwide Plus, 2 adults. Medical questions left.",
            with_transfer=True,
        ),
        Transferred(at=_at(213), actor=ALICE, to_agent=BOB),
        AgentAssigned(at=_at(219), actor=BOB, settings=staff, draw=bob_draw, by_transfer=True),
        _say(223, BOB, "Hello, I'm Bob. Is any treatment abroad planned?\nIf so, which?"),
        _say(268, CUSTOMER, "No, none."),
        SupervisorJoined(at=_at(279), actor=SAM, settings=staff),
        _say(300, BOB, "That completes the questionnaire. Anything else?"),
        _say(313, CUSTOMER, "No, that's all. Thanks!"),
        WrapUpChosen(at=_at(315), actor=BOB, code="Policy sold"),
        ChatEnded(at=_at(318), actor=CUSTOMER, reason="customer ended"),
    ]
    return Journal.of(events)


# The test vector's key (docs/verification.md): a private key everyone can read, so it
# must never sign anything but this example.
TEST_KEY = SigningKey.of("acme", bytes(range(32)), START - timedelta(days=30))


def example_files() -> RecordingFiles:
    """Every file of the example's agent recording of Alice, the primary agent, signed
    with the test key (R21)."""
    journal = example_journal()
    decision = decide_recordings(COMPANY, journal)
    bases = recording_bases(COMPANY, journal, decision)
    verdict = next(v for v in decision.produced if v.recording.agent == ALICE)
    base = bases[verdict.recording.recording_id]
    files = render_recording(COMPANY, journal, verdict, decision.sentences(), base)
    numbered = list(enumerate(journal.events, start=1))
    ended = journal.ended
    assert ended is not None
    return sign_recording(
        files,
        verdict,
        company_id=COMPANY.company_id,
        chat_id=journal.chat_id,
        journal_events=len(journal.events),
        journal_head=chain_events(journal.chat_id, GENESIS, numbered)[-1][1],
        key=TEST_KEY,
        published=[TEST_KEY.public],
        signed_at=ended.at,
    )


_FENCES = {
    "json": "json",
    "vcon": "json",
    "text": "text",
    "html": "html",
    "sidecar": "json",
    "manifest": "json",
    "key": "json",
}
_BLOCK = re.compile(r"(<!-- example:(\w+) -->\n).*?(<!-- /example:\2 -->)", re.DOTALL)


def sync_doc(doc: str, files: RecordingFiles) -> str:
    """``doc`` with each example block replaced by the file it names, fenced."""
    by_format = {file.format: file for file in files.all_files}

    def block(match: re.Match[str]) -> str:
        file = by_format[match.group(2)]
        body = file.content.decode("utf-8").rstrip("\n")
        fence = _FENCES[file.format]
        return f"{match.group(1)}`{file.path}`:\n\n````{fence}\n{body}\n````\n{match.group(3)}"

    return _BLOCK.sub(block, doc)


def main() -> None:
    files = example_files()
    for file in files.all_files:
        target = EXAMPLES / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(file.content)
    DOC.write_text(sync_doc(DOC.read_text(encoding="utf-8"), files), encoding="utf-8")


if __name__ == "__main__":
    main()
