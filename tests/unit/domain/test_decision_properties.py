"""Properties of the decision over random journals (R12, R13, R14)."""

from __future__ import annotations

from hypothesis import given

from chatrec.domain.decision import decide_recordings
from chatrec.domain.journal import AgentAssigned, FlaggedAbusive, Journal, SupervisorJoined
from chatrec.domain.rules import rule_label
from chatrec.domain.settings import Product
from tests.unit.domain.builders import company
from tests.unit.domain.strategies import journals

COMPANY = company()


def _abusive(journal: Journal) -> bool:
    return bool(journal.of_type(FlaggedAbusive))


def _someone_without_permit(journal: Journal) -> bool:
    joins = journal.of_type(AgentAssigned) + journal.of_type(SupervisorJoined)
    return any(not join.settings.permit_recordings for join in joins)


@given(journals())
def test_R12a_non_abusive_chat_with_a_non_permitting_participant_produces_nothing(
    journal: Journal,
) -> None:
    decision = decide_recordings(COMPANY, journal)
    if _someone_without_permit(journal) and not _abusive(journal):
        assert decision.produced == ()


@given(journals())
def test_R13_abusive_chat_produces_at_least_one_recording_all_produced(journal: Journal) -> None:
    decision = decide_recordings(COMPANY, journal)
    if _abusive(journal):
        assert decision.produced
        assert decision.produced == decision.verdicts


@given(journals())
def test_R14_decision_is_deterministic_and_every_recording_is_explained(journal: Journal) -> None:
    first = decide_recordings(COMPANY, journal)
    assert first == decide_recordings(COMPANY, journal)
    sentences = first.sentences()
    assert len(sentences) >= len(first.verdicts)
    for verdict, sentence in zip(first.verdicts, sentences, strict=False):
        assert verdict.recording.recording_id in sentence
        assert sentence.startswith(f"{rule_label(verdict.rule)}: ")
    ids = [v.recording.recording_id for v in first.verdicts]
    assert len(ids) == len(set(ids))


@given(journals())
def test_R1_a_company_without_call_recording_produces_nothing(journal: Journal) -> None:
    decision = decide_recordings(company(products=frozenset({Product.WEBCHAT})), journal)
    assert decision.verdicts == ()
    assert decision.sentences()[0].startswith("Company provisioned to record (R1): no recording:")
