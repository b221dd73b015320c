"""Running a flow: the events each step journals and the state the server keeps.

Rules: R3 (routing carries no recording setting), R5b (record), R10 (consent),
R12c (discard), R19 (bad input changes nothing and never crashes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from chatrec.domain.journal import (
    CUSTOMER,
    FLOW,
    ConsentAnswered,
    ConsentAsked,
    Discarded,
    MessagePosted,
    RecordingRequested,
)
from chatrec.errors import FlowRuntimeError, JournalError
from chatrec.flows import (
    AskStep,
    BranchStep,
    ConsentStep,
    DiscardStep,
    EndStep,
    Flow,
    FlowState,
    SayStep,
    answer_flow,
    start_flow,
    waiting_step,
)
from tests.unit.flows.helpers import AT, flow, run

ASKING = flow(
    """
    name: Asking
    steps:
      - {id: hello, type: say, text: Hello!}
      - id: topic
        type: ask
        text: What is it about?
        var: topic
        choices: [Billing, Technical problem]
      - id: by_topic
        type: branch
        var: topic
        cases: {billing: invoice}
        default: name
      - {id: invoice, type: say, text: Have your invoice ready.}
      - {id: name, type: ask, text: "Your name?", var: name}
      - id: qa
        type: record
        reason: quality
        template: "flows/{chat_id}_{reason}"
      - {id: default_qa, type: record, reason: training}
      - {id: bye, type: end, text: Goodbye.}
    """
)

CONSENTING = flow(
    """
    name: Consenting
    steps:
      - id: consent
        type: consent
        question: May we record this chat?
        yes: Oui
        no: Non
      - id: on_answer
        type: branch
        var: consent
        cases: {non: forget}
        default: queue
      - {id: forget, type: discard}
      - {id: queue, type: route, queue: General}
    """
)


def texts(events: Sequence[object]) -> list[str]:
    return [event.text for event in events if isinstance(event, MessagePosted)]


def test_start_says_and_asks_then_waits_for_the_answer() -> None:
    state, events = start_flow(ASKING, at=AT)
    assert texts(events) == ["Hello!", "What is it about?"]
    assert all(event.actor == FLOW and event.at == AT for event in events)
    assert state == FlowState("topic")
    assert state.waiting_for == "topic"
    assert not state.finished


@pytest.mark.parametrize("answer", ["Billing", "billing", "  BILLING \n"])
def test_an_answer_matches_its_choice_trimmed_and_ignoring_case(answer: str) -> None:
    state, events = run(ASKING, [answer])
    assert state.variables == {"topic": "Billing"}
    assert texts(events)[2:] == ["Have your invoice ready.", "Your name?"]


def test_an_answer_not_among_the_choices_is_asked_again_with_the_choices() -> None:
    before, _ = start_flow(ASKING, at=AT)
    after, events = answer_flow(ASKING, before, "Sales", at=AT)
    assert after == before
    assert texts(events) == ["Please answer Billing or Technical problem. What is it about?"]


def test_the_customers_answer_is_not_journalled_by_the_flow() -> None:
    _, events = run(ASKING, ["Technical problem"])
    assert all(event.actor == FLOW for event in events)
    assert "Technical problem" not in texts(events)


def test_a_branch_with_no_matching_case_takes_its_default() -> None:
    _, events = run(ASKING, ["Technical problem"])
    assert texts(events)[2:] == ["Your name?"]


def test_free_text_is_stored_trimmed_and_an_empty_answer_is_asked_again() -> None:
    state, events = run(ASKING, ["Billing", "   "])
    assert state.waiting_for == "name"
    assert texts(events)[-1] == "Please type an answer. Your name?"
    state, _ = answer_flow(ASKING, state, "  Ada Lovelace ", at=AT)
    assert state.variables == {"topic": "Billing", "name": "Ada Lovelace"}


def test_R5b_record_steps_request_recordings_with_reason_and_template() -> None:
    state, events = run(ASKING, ["Billing", "Ada"])
    requested = [event for event in events if isinstance(event, RecordingRequested)]
    assert [(r.step_id, r.reason, r.template, r.actor) for r in requested] == [
        ("qa", "quality", "flows/{chat_id}_{reason}", FLOW),
        ("default_qa", "training", None, FLOW),
    ]
    assert texts(events)[-1] == "Goodbye."
    assert state.ended
    assert state.finished
    assert state.waiting_for is None
    assert state.routed_to is None


def test_R10_consent_asks_the_question_and_stores_the_answer_with_it() -> None:
    state, events = start_flow(CONSENTING, at=AT)
    assert events == [ConsentAsked(at=AT, actor=FLOW, question="May we record this chat?")]
    state, events = answer_flow(CONSENTING, state, " oui ", at=AT)
    assert events == [
        ConsentAnswered(at=AT, actor=CUSTOMER, question="May we record this chat?", granted=True)
    ]
    assert state.variables == {"consent": "Oui"}
    assert state.routed_to == "General"


def test_R12c_consent_no_runs_discard() -> None:
    state, events = run(CONSENTING, ["NON"])
    assert events[1:] == [
        ConsentAnswered(at=AT, actor=CUSTOMER, question="May we record this chat?", granted=False),
        Discarded(at=AT, actor=FLOW),
    ]
    assert state.routed_to == "General"


def test_R10_an_answer_that_is_neither_yes_nor_no_is_asked_again() -> None:
    state, events = run(CONSENTING, ["maybe"])
    assert state.waiting_for == "consent"
    assert texts(events) == ["Please answer Oui or Non. May we record this chat?"]
    assert not any(isinstance(event, ConsentAnswered) for event in events)


def test_R3_route_only_names_the_queue_and_finishes_the_flow() -> None:
    state, events = run(CONSENTING, ["Oui"])
    assert state.to_dict() == {
        "version": 1,
        "step_id": "queue",
        "variables": {"consent": "Oui"},
        "routed_to": "General",
        "ended": False,
    }
    assert not any(isinstance(event, RecordingRequested | Discarded) for event in events)


def test_an_end_without_text_says_nothing() -> None:
    state, events = start_flow(flow("name: t\nsteps:\n  - {id: out, type: end}\n"), at=AT)
    assert (state, events) == (FlowState("out", ended=True), [])


def test_R19_an_answer_after_the_flow_finished_is_refused() -> None:
    state, _ = run(CONSENTING, ["Oui"])
    with pytest.raises(FlowRuntimeError, match="the flow has finished and takes no more answers"):
        answer_flow(CONSENTING, state, "hello", at=AT)


def test_waiting_step_tells_the_widget_what_answers_the_flow_expects() -> None:
    state, _ = start_flow(ASKING, at=AT)
    step = waiting_step(ASKING, state)
    assert isinstance(step, AskStep)
    assert step.choices == ["Billing", "Technical problem"]
    consent, _ = start_flow(CONSENTING, at=AT)
    assert isinstance(waiting_step(CONSENTING, consent), ConsentStep)
    finished, _ = run(CONSENTING, ["Non"])
    assert waiting_step(CONSENTING, finished) is None


STALE_STATES = {
    "a step this flow does not have": FlowState("gone"),
    "a step that waits for nothing": FlowState("hello"),
}


@pytest.mark.parametrize("state", STALE_STATES.values(), ids=STALE_STATES.keys())
def test_R19_a_state_that_does_not_fit_the_flow_is_refused(state: FlowState) -> None:
    with pytest.raises(FlowRuntimeError, match="is not an ask or consent step of this flow"):
        answer_flow(ASKING, state, "Billing", at=AT)


def test_R19_times_must_be_utc() -> None:
    with pytest.raises(JournalError, match="timezone-aware UTC"):
        start_flow(ASKING, at=datetime(2026, 1, 1, 12, 0))


def unchecked(*steps: SayStep | AskStep | BranchStep | DiscardStep | EndStep) -> Flow:
    """A flow that bypassed validation, as a corrupted store could hand one back."""
    return Flow.model_construct(name="unchecked", steps=list(steps))


UNRUNNABLE = {
    "a loop that asks nothing": (
        unchecked(
            SayStep(id="a", type="say", text="x", next="b"),
            DiscardStep(id="b", type="discard", next="a"),
        ),
        "step 'a' came round again without an answer",
    ),
    "a next naming no step": (
        unchecked(SayStep(id="a", type="say", text="x", next="b")),
        "there is no step 'b'",
    ),
    "a last step that neither routes nor ends": (
        unchecked(SayStep(id="a", type="say", text="x")),
        "step 'a' is the last and neither routes nor ends",
    ),
}


@pytest.mark.parametrize(("broken", "message"), UNRUNNABLE.values(), ids=UNRUNNABLE.keys())
def test_R19_a_flow_that_bypassed_validation_stops_with_an_error_never_a_hang(
    broken: Flow, message: str
) -> None:
    with pytest.raises(FlowRuntimeError, match=message):
        start_flow(broken, at=AT)


def test_a_branch_on_a_variable_never_set_takes_its_default() -> None:
    broken = unchecked(
        BranchStep(id="b", type="branch", var="v", cases={"x": "b"}, default="out"),
        EndStep(id="out", type="end"),
    )
    state, _ = start_flow(broken, at=AT)
    assert state == FlowState("out", ended=True)


def test_a_runtime_error_points_at_the_step() -> None:
    broken = UNRUNNABLE["a loop that asks nothing"][0]
    with pytest.raises(FlowRuntimeError) as caught:
        start_flow(broken, at=AT)
    assert caught.value.problems[0].path == ("steps", 0)
    assert str(caught.value).startswith("flow 'unchecked': the flow cannot go on:")


def test_state_round_trips_through_a_plain_dict() -> None:
    state, _ = run(ASKING, ["billing"])
    data = state.to_dict()
    assert data == {
        "version": 1,
        "step_id": "name",
        "variables": {"topic": "Billing"},
        "routed_to": None,
        "ended": False,
    }
    assert FlowState.from_dict(data) == state


def test_state_variables_cannot_be_changed_behind_the_flows_back() -> None:
    answers = {"topic": "Billing"}
    state = FlowState("name", answers)
    answers["topic"] = "Sales"
    assert state.variables == {"topic": "Billing"}
    with pytest.raises(TypeError):
        state.variables["topic"] = "Sales"  # type: ignore[index]


BAD_STORED = {
    "not a mapping": ("name", ()),
    "an unknown version": (
        {"version": 2, "step_id": "a", "variables": {}, "routed_to": None, "ended": False},
        ("version",),
    ),
    "a variable that is not text": (
        {"version": 1, "step_id": "a", "variables": {"n": 1}, "routed_to": None, "ended": False},
        ("variables", "n"),
    ),
    "a missing key": (
        {"version": 1, "step_id": "a", "variables": {}, "ended": False},
        ("routed_to",),
    ),
    "an unknown key": (
        {"version": 1, "step_id": "a", "variables": {}, "routed_to": None, "ended": False, "x": 1},
        ("x",),
    ),
}


@pytest.mark.parametrize(("data", "path"), BAD_STORED.values(), ids=BAD_STORED.keys())
def test_R19_a_malformed_stored_state_is_refused(data: object, path: tuple[str, ...]) -> None:
    with pytest.raises(FlowRuntimeError) as caught:
        FlowState.from_dict(data)
    assert caught.value.problems[0].path == path
    assert caught.value.source == "stored flow state"


def test_R19_a_state_both_routed_and_ended_is_refused() -> None:
    with pytest.raises(FlowRuntimeError, match="either routes the chat or ends it"):
        FlowState.from_dict(
            {"version": 1, "step_id": "a", "variables": {}, "routed_to": "Q", "ended": True}
        )


def test_steps_are_immutable_once_validated() -> None:
    step = ASKING.steps[0]
    with pytest.raises(ValueError, match="frozen"):
        step.__setattr__("id", "other")  # an assignment type checkers let through
    assert isinstance(ASKING.steps[-1], EndStep)
