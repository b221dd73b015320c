"""The two example flows the demo uses, run end to end into the recording decision.

The flow's events go into a real journal after ``ChatStarted``; an agent then takes the
chat from the queue the flow routed it to, and :func:`decide_recordings` says what is
produced (R5a, R5b, R10, R12c).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatrec.domain.decision import Decision, Origin, Outcome, decide_recordings
from chatrec.domain.journal import ConsentAnswered, Discarded, RecordingRequested
from chatrec.flows import FlowState, load_flow
from chatrec.flows.examples import example_source
from tests.unit.domain.builders import ChatBuilder, agent, company
from tests.unit.flows.helpers import example, run

ALICE = agent("alice")


def chat_after(flow_name: str, answers: list[str]) -> tuple[FlowState, Decision]:
    """The customer answers the flow, an agent takes the chat from its queue, it ends."""
    state, events = run(example(flow_name), answers)
    assert state.routed_to == "General"
    chat = ChatBuilder().add_all(events)
    chat.assign(ALICE, queue=state.routed_to).customer_says("Thanks").end()
    return state, decide_recordings(company(), chat.journal())


def test_support_greets_asks_records_for_quality_and_routes_to_general() -> None:
    state, events = run(example("support"), ["billing"])
    assert state.variables == {"topic": "Billing"}
    (requested,) = [event for event in events if isinstance(event, RecordingRequested)]
    assert (requested.step_id, requested.reason, requested.template) == (
        "quality",
        "quality",
        "flows/{date}/{service}_{chat_id}_{reason}",
    )


def test_R5b_support_produces_the_flow_recording_beside_the_agents() -> None:
    _, decision = chat_after("support", ["Something else"])
    produced = {(v.recording.origin, v.recording.reason) for v in decision.produced}
    assert produced == {(Origin.FLOW, "quality"), (Origin.AGENT, "agent")}


def test_R5b_consent_yes_produces_the_flow_recording() -> None:
    state, decision = chat_after("consent_first", ["yes"])
    assert state.variables == {"consent": "Yes"}
    flow_recordings = [v for v in decision.produced if v.recording.origin is Origin.FLOW]
    assert [(v.recording.reason, v.rule) for v in flow_recordings] == [("consented", "R5b")]
    assert len(decision.produced) == 2


def test_R12c_consent_no_runs_discard_and_suppresses_every_recording() -> None:
    _, events = run(example("consent_first"), ["No"])
    assert [type(event) for event in events[1:3]] == [ConsentAnswered, Discarded]
    assert not any(isinstance(event, RecordingRequested) for event in events)
    _, decision = chat_after("consent_first", ["No"])
    assert decision.verdicts
    assert all(v.outcome is Outcome.SUPPRESSED and v.rule == "R12c" for v in decision.verdicts)
    assert "after the customer declined consent" in decision.sentences()[0]


def test_R12c_discard_discards_the_recordings_not_the_chat() -> None:
    state, _ = run(example("consent_first"), ["no"])
    assert (state.routed_to, state.ended) == ("General", False)


def test_the_complete_flows_in_the_administrators_guide_are_valid() -> None:
    guide = (Path(__file__).resolve().parents[3] / "docs" / "flows.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", guide, flags=re.DOTALL)
    flows = [block for block in blocks if block.startswith("name:")]
    assert len(flows) == 2
    for block in flows:
        assert load_flow(block, source="docs/flows.md").steps


def test_an_unknown_example_flow_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: support, consent_first"):
        example_source("nope")
