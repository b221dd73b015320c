"""The recording decision, rule by rule (R1, R4, R5, R7, R12, R13, R14).

Each table holds the seed's own cases for one rule; every case is a story of a chat
told with the journal builder and the outcome the spec demands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from chatrec.domain.decision import Decision, Origin, Outcome, decide_recordings
from chatrec.domain.rules import rule_label
from chatrec.domain.settings import Product
from tests.unit.domain.builders import ChatBuilder, agent, company, supervisor

ALICE, BOB, SAM = agent("alice"), agent("bob"), supervisor("sam")


def decide(story: Callable[[ChatBuilder], ChatBuilder]) -> Decision:
    return decide_recordings(company(), story(ChatBuilder()).end().journal())


@dataclass(frozen=True)
class Case:
    name: str
    story: Callable[[ChatBuilder], ChatBuilder]
    produced: int
    suppressed: int
    rule: str | None = None


def ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


def check(case: Case) -> Decision:
    decision = decide(case.story)
    outcomes = [verdict.outcome for verdict in decision.verdicts]
    assert outcomes.count(Outcome.PRODUCED) == case.produced, decision.sentences()
    assert outcomes.count(Outcome.SUPPRESSED) == case.suppressed, decision.sentences()
    if case.rule is not None:
        assert {verdict.rule for verdict in decision.verdicts} == {case.rule}
    return decision


R12_CASES = [
    Case(
        "R12a transfer to an agent whose Permit Recordings is off",
        lambda c: c.assign(ALICE).customer_says("hi").transfer(ALICE, BOB, permit=False),
        0,
        2,
        "R12a",
    ),
    Case(
        "R12a a supervisor without permit joins",
        lambda c: c.assign(ALICE).supervisor_joins(SAM, permit=False),
        0,
        1,
        "R12a",
    ),
    Case(
        "R12a the handling agent has permit off",
        lambda c: c.flow_records("s1", "sales").assign(ALICE, permit=False),
        0,
        2,
        "R12a",
    ),
    Case(
        "R12b customer asks, agent presses Delete",
        lambda c: c.assign(ALICE).customer_asks_deletion().press_delete(ALICE),
        0,
        1,
        "R12b",
    ),
    Case(
        "R12b agent presses Delete without being asked",
        lambda c: c.flow_records("s1", "qa").assign(ALICE).press_delete(ALICE),
        0,
        2,
        "R12b",
    ),
    Case(
        "R12c consent No then discard",
        lambda c: c.flow_records("s1", "qa").consent(False).discard().assign(ALICE),
        0,
        2,
        "R12c",
    ),
]


@pytest.mark.parametrize("case", R12_CASES, ids=ids(R12_CASES))
def test_R12_any_condition_suppresses_every_recording(case: Case) -> None:
    decision = check(case)
    assert decision.produced == ()


@pytest.mark.parametrize("case", R12_CASES, ids=ids(R12_CASES))
def test_R13_the_same_chat_flagged_abusive_is_produced(case: Case) -> None:
    decision = decide(lambda c: case.story(c).flag_abusive(ALICE))
    assert decision.verdicts
    assert all(v.outcome is Outcome.PRODUCED and v.rule == "R13" for v in decision.verdicts)
    # The overridden condition is still named, so a reviewer sees what was overruled.
    assert all(
        v.sentence().startswith("Abusive chats always recorded (R13): ")
        and f"{rule_label(case.rule)}: overridden: " in v.sentence()
        for v in decision.verdicts
    )


def test_R12a_permit_is_read_as_stored_when_the_participant_joined() -> None:
    """Interpretation: Permit Recordings changes take effect for chats joined after them."""
    decision = decide(lambda c: c.assign(ALICE, permit=True))
    assert [v.outcome for v in decision.verdicts] == [Outcome.PRODUCED]


def test_R12a_sentence_names_the_participant_and_time() -> None:
    decision = decide(lambda c: c.assign(ALICE).transfer(ALICE, BOB, permit=False))
    assert decision.sentences()[0].startswith("Permit Recordings veto (R12a): recording C1-r1 ")
    assert "agent Bob (Permit Recordings off) joined at 10:00:03" in decision.sentences()[0]


def test_R12c_consent_no_without_discard_changes_nothing() -> None:
    """Interpretation: declining consent changes nothing by itself; only discard does."""
    decision = decide(lambda c: c.consent(False).assign(ALICE))
    assert [v.outcome for v in decision.verdicts] == [Outcome.PRODUCED]


def test_R12c_discard_after_a_declined_consent_says_so() -> None:
    decision = decide(lambda c: c.flow_records("s1", "qa").consent(False).discard())
    assert "after the customer declined consent" in decision.sentences()[0]


def test_R12c_discard_without_consent_question_still_discards() -> None:
    decision = decide(lambda c: c.flow_records("s1", "qa").discard())
    assert decision.verdicts[0].outcome is Outcome.SUPPRESSED
    assert "declined" not in decision.sentences()[0]


def test_R12_several_conditions_are_all_named_in_rule_order() -> None:
    decision = decide(
        lambda c: (
            c.flow_records("s1", "qa")
            .discard()
            .assign(ALICE)
            .press_delete(ALICE)
            .supervisor_joins(SAM, permit=False)
        )
    )
    verdict = decision.verdicts[0]
    assert verdict.rule == "R12a"
    assert [fact.rule for fact in verdict.facts] == ["R12a", "R12b", "R12c"]
    # The deciding rule leads in plain words; the others follow, each under its name.
    assert verdict.sentence() == (
        "Permit Recordings veto (R12a): recording C1-r1 (flow recording (step s1, reason "
        "'qa')) was suppressed: supervisor Sam (Permit Recordings off) joined at 10:00:05; "
        "Delete recording pressed (R12b): agent Alice pressed Delete recording at 10:00:04; "
        "Discarded by the chat flow (R12c): the chat flow discarded the recordings at 10:00:02."
    )


R13_CASES = [
    Case(
        "R13 abusive with no recording requested gives one abusive recording",
        lambda c: c.flag_abusive(FLAG_BY),
        1,
        0,
        "R13",
    ),
    Case(
        "R13 abusive and the agent not sampled in",
        lambda c: c.assign(ALICE, percentage=0).flag_abusive(ALICE),
        1,
        0,
        "R13",
    ),
    Case(
        "R13 abusive and agent recording off",
        lambda c: c.assign(ALICE, record_chats=False).flag_abusive(ALICE),
        1,
        0,
        "R13",
    ),
]
FLAG_BY = SAM


@pytest.mark.parametrize("case", R13_CASES, ids=ids(R13_CASES))
def test_R13_abusive_chat_without_recordings_produces_one_with_reason_abusive(case: Case) -> None:
    decision = check(case)
    (verdict,) = decision.verdicts
    assert verdict.recording.origin is Origin.ABUSIVE
    assert verdict.recording.reason == "abusive"
    assert verdict.recording.template is None  # the company default (R13)


def test_R13_abusive_keeps_existing_recordings_and_adds_none() -> None:
    decision = decide(lambda c: c.flow_records("s1", "qa").assign(ALICE).flag_abusive(ALICE))
    assert [v.recording.origin for v in decision.verdicts] == [Origin.FLOW, Origin.AGENT]
    assert all(v.produced for v in decision.verdicts)


def test_R13_does_not_apply_in_a_company_that_records_nothing() -> None:
    """R13 holds 'in a company that records at all' (R1)."""
    journal = ChatBuilder().assign(ALICE).flag_abusive(ALICE).end().journal()
    unprovisioned = company(products=frozenset({Product.WEBCHAT}))
    assert decide_recordings(unprovisioned, journal).verdicts == ()


@pytest.mark.parametrize(
    ("products", "missing"),
    [
        (frozenset(), "call_recording and webchat"),
        (frozenset({Product.WEBCHAT}), "call_recording"),
        (frozenset({Product.CALL_RECORDING}), "webchat"),
    ],
)
def test_R1_company_not_provisioned_records_nothing_and_says_so(
    products: frozenset[Product], missing: str
) -> None:
    journal = ChatBuilder().flow_records("s1", "qa").assign(ALICE).end().journal()
    decision = decide_recordings(company(products=products), journal)
    assert decision.verdicts == ()
    assert decision.sentences() == [
        "Company provisioned to record (R1): no recording: "
        f"company Acme is not provisioned with {missing}."
    ]


def test_R1_provisioned_company_records_without_anyone_starting_it() -> None:
    decision = decide(lambda c: c.assign(ALICE).customer_says("hello"))
    assert [v.produced for v in decision.verdicts] == [True]


R5_CASES = [
    Case(
        "R4 agent recording off gives only flow recordings",
        lambda c: c.flow_records("s1", "sales").assign(ALICE, record_chats=False),
        1,
        0,
        "R5b",
    ),
    Case(
        "R5a A to B to A gives one agent recording per account",
        lambda c: c.assign(ALICE).transfer(ALICE, BOB).transfer(BOB, ALICE),
        2,
        0,
        "R5a",
    ),
    Case(
        "R5b five flow recordings",
        lambda c: (
            c.flow_records("s1", "a")
            .flow_records("s2", "b")
            .flow_records("s3", "c")
            .flow_records("s4", "d")
            .flow_records("s5", "e")
        ),
        5,
        0,
        "R5b",
    ),
    Case("R5 no agent and no record step gives nothing", lambda c: c.customer_says("hi"), 0, 0),
    Case(
        "R5a a supervisor joining adds no recording",
        lambda c: c.assign(ALICE).supervisor_joins(SAM),
        1,
        0,
        "R5a",
    ),
    Case(
        "R7 agent sampled out at 0 percent",
        lambda c: c.assign(ALICE, percentage=0),
        0,
        0,
    ),
]


@pytest.mark.parametrize("case", R5_CASES, ids=ids(R5_CASES))
def test_R5_recordings_a_chat_has(case: Case) -> None:
    check(case)


def test_R4_agent_recording_off_is_explained() -> None:
    decision = decide(lambda c: c.flow_records("s1", "sales").assign(ALICE, record_chats=False))
    assert decision.sentences()[-1] == (
        "Record chats switch (R4): no recording: "
        "record chats was off for agent Alice when they joined at 10:00:02."
    )


def test_R7_sampled_out_agent_is_explained_with_the_draw() -> None:
    decision = decide(lambda c: c.assign(ALICE, percentage=0))
    (sentence,) = decision.sentences()
    assert sentence.startswith(
        "Record percentage (R7): no recording: agent Alice was not sampled in (draw 0."
    )
    assert "against 0%" in sentence


def test_R5a_transfer_agent_ids_and_origins() -> None:
    decision = decide(lambda c: c.assign(ALICE).transfer(ALICE, BOB).transfer(BOB, ALICE))
    recordings = [v.recording for v in decision.verdicts]
    assert [r.recording_id for r in recordings] == ["C1-r1", "C1-r2"]
    assert [r.agent for r in recordings] == [ALICE, BOB]
    assert {r.origin for r in recordings} == {Origin.AGENT}


def test_R14_every_recording_has_one_sentence_with_its_rule() -> None:
    decision = decide(lambda c: c.flow_records("s1", "sales").assign(ALICE))
    assert decision.sentences() == [
        "Flow recording (R5b): recording C1-r1 (flow recording (step s1, reason 'sales')) "
        "was produced: the flow requested it at 10:00:01.",
        "Agent recording (R5a): recording C1-r2 (agent recording of Alice) was produced: "
        "agent Alice handled the chat from 10:00:02 with recording on and was sampled in.",
    ]


def test_R14_a_chat_with_no_recording_still_explains_itself() -> None:
    decision = decide(lambda c: c.customer_says("hi"))
    assert decision.sentences() == [
        "Recordings a chat has (R5): no recording: "
        "no agent handled the chat with recording on and the flow requested none."
    ]


def test_R14_abusive_recording_sentence() -> None:
    decision = decide(lambda c: c.flag_abusive(SAM))
    assert decision.sentences() == [
        "Abusive chats always recorded (R13): recording C1-r1 (abusive-chat recording) was "
        "produced: supervisor Sam flagged the chat abusive at 10:00:01."
    ]
