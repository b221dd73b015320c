"""Properties over random input: the flow code never crashes on what people send (R19)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrec.domain.journal import CUSTOMER, FLOW, Journal
from chatrec.errors import FlowError, FlowRuntimeError
from chatrec.flows import Flow, FlowState, answer_flow, load_flow, start_flow, validate_flow
from chatrec.flows.examples import example_source
from tests.unit.domain.builders import ChatBuilder
from tests.unit.flows.helpers import AT, example, flow

LOOPING = flow(
    """
    name: Looping
    steps:
      - {id: name, type: ask, text: "Your name?", var: name}
      - id: more
        type: ask
        text: Anything else?
        var: more
        choices: ["Yes", "No"]
      - id: again
        type: branch
        var: more
        cases: {"Yes": name}
        default: consent
      - {id: consent, type: consent, question: "Record?"}
      - id: check
        type: branch
        var: consent
        cases: {"No": forget}
        default: out
      - {id: forget, type: discard}
      - {id: out, type: end, text: Bye}
    """
)
FLOWS = [example("support"), example("consent_first"), LOOPING]
WORDS = ["Yes", "no", " YES ", "billing", "Technical problem", "something ELSE", "", "Ada"]

answers = st.lists(st.sampled_from(WORDS) | st.text(max_size=20), max_size=12)


@given(st.sampled_from(FLOWS), answers)
def test_R19_any_answers_never_crash_and_the_state_round_trips(
    flow: Flow, replies: list[str]
) -> None:
    state, events = start_flow(flow, at=AT)
    for reply in replies:
        stored = json.loads(json.dumps(state.to_dict()))
        assert FlowState.from_dict(stored) == state
        if state.finished:
            with pytest.raises(FlowRuntimeError):
                answer_flow(flow, state, reply, at=AT)
            continue
        state, more = answer_flow(flow, FlowState.from_dict(stored), reply, at=AT)
        events += more
    assert {event.actor for event in events} <= {FLOW, CUSTOMER}
    journal: Journal = ChatBuilder().add_all(events).end().journal()
    assert journal.ended is not None


def flow_or_refusal(load: Callable[[], Flow]) -> None:
    """Loading gives a flow or a FlowError that names at least one problem; nothing else."""
    try:
        load()
    except FlowError as error:
        refusal = error
    else:
        return
    assert refusal.problems


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
step_like = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "c"]), "type": st.sampled_from(["say", "ask", "end", "x"])},
    optional={
        "text": st.text(max_size=5),
        "var": st.sampled_from(["v", "1"]),
        "next": st.sampled_from(["a", "b", "zz"]),
        "queue": json_values,
    },
)


@given(
    json_values
    | st.fixed_dictionaries({"name": st.text(max_size=5), "steps": st.lists(step_like, max_size=4)})
)
def test_R19_any_data_is_a_flow_or_a_flow_error(data: object) -> None:
    flow_or_refusal(lambda: validate_flow(data))


YAML_TEXT = example_source("support")
yaml_chars = st.sampled_from(list("ab1:-[]{}&*!|>'\"#?,~%@` \t\n\x07"))


@st.composite
def mangled_examples(draw: st.DrawFn) -> str:
    """The support example with a random stretch replaced by YAML's own punctuation."""
    start = draw(st.integers(0, len(YAML_TEXT)))
    end = draw(st.integers(start, min(len(YAML_TEXT), start + 40)))
    return YAML_TEXT[:start] + draw(st.text(yaml_chars, max_size=10)) + YAML_TEXT[end:]


@given(st.text(max_size=200) | st.text(yaml_chars, max_size=200) | mangled_examples())
def test_R19_any_text_is_a_flow_or_a_flow_error(text: str) -> None:
    flow_or_refusal(lambda: load_flow(text))
