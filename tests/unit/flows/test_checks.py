"""The flow as a whole, checked on save so that every saved flow can run (R19).

Each case marks, with ``#!``, the line a problem must be reported on and a fragment of
its message; every problem the flow has is reported, in line order.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chatrec.flows import Flow
from tests.unit.flows.helpers import check_refusal, flow

INVALID_FLOWS = {
    "a duplicate step id": """
        name: t
        steps:
          - id: greet
            type: say
            text: Hello
          - id: greet  #! step id 'greet' is already used by steps[0]
            type: end
        """,
    "next naming no step": """
        name: t
        steps:
          - id: greet
            type: say
            text: Hello
            next: bye  #! there is no step 'bye'; the steps are 'greet', 'out'
          - {id: out, type: end}
        """,
    "a case and a default naming no step": """
        name: t
        steps:
          - id: q
            type: ask
            text: Which?
            var: v
          - id: b
            type: branch
            var: v
            cases:
              A: nowhere  #! steps[1].cases.A: there is no step 'nowhere'
            default: elsewhere  #! there is no step 'elsewhere'
          - {id: out, type: end}
        """,
    "a last step that neither routes nor ends": """
        name: t
        steps:
          - id: greet  #! the last step 'greet' must be a route or an end step
            type: say
            text: Hello
        """,
    "a step never reached": """
        name: t
        steps:
          - id: greet
            type: say
            text: Hello
            next: out
          - id: orphan  #! step 'orphan' is never reached from the first step 'greet'
            type: say
            text: Nobody reads me
          - {id: out, type: end}
        """,
    "no way to end or route: a loop that asks": """
        name: t
        steps:
          - id: q  #! no way out: from 'q', 'again' the flow never reaches a route or an end
            type: ask
            text: Name?
            var: name
          - id: again
            type: say
            text: Once more.
            next: q
          - {id: out, type: end}  #! step 'out' is never reached
        """,
    "a loop that asks nothing": """
        name: t
        steps:
          - id: q
            type: ask
            text: Again?
            var: again
            choices: ["Yes", "No"]
          - id: b  #! the flow loops through 'b', 'loop' without asking the customer anything
            type: branch
            var: again
            cases:
              "Yes": loop
            default: out
          - id: loop
            type: say
            text: Round we go.
            next: b
          - {id: out, type: end}
        """,
    "a step that jumps to itself": """
        name: t
        steps:
          - {id: q, type: ask, text: "Which?", var: v}
          - id: spin  #! the flow loops through 'spin' without asking
            type: branch
            var: v
            cases: {A: spin}
            default: out
          - {id: out, type: end}
        """,
    "a branch on a variable nothing sets": """
        name: t
        steps:
          - id: b
            type: branch
            var: topic  #! no ask or consent step sets 'topic'
            cases: {A: out}
            default: out
          - {id: out, type: end}
        """,
    "a branch on a variable set on only one way to it": """
        name: t
        steps:
          - id: c
            type: consent
            question: May we record?
          - id: on_consent
            type: branch
            var: consent
            cases:
              "No": b
            default: q
          - id: q
            type: ask
            text: Which topic?
            var: topic
            choices: [A, B]
          - id: b
            type: branch
            var: topic  #! 'topic' is not set by an ask or consent step on every way to branch 'b'
            cases: {A: out}
            default: out
          - {id: out, type: end}
        """,
    "a case no answer can match": """
        name: t
        steps:
          - id: c
            type: consent
            question: May we record?
          - id: b
            type: branch
            var: consent
            cases:
              "no": out
              Maybe: out  #! case 'Maybe' can never match: 'consent' is always one of Yes, No
            default: out
          - {id: out, type: end}
        """,
}


@pytest.mark.parametrize("text", INVALID_FLOWS.values(), ids=INVALID_FLOWS.keys())
def test_R19_invalid_flow_reports_every_problem_with_its_line(text: str) -> None:
    check_refusal(text)


def test_a_loop_that_asks_again_and_can_leave_is_accepted() -> None:
    loaded = flow(
        """
        name: t
        steps:
          - id: q
            type: ask
            text: Is that all?
            var: done
            choices: ["Yes", "No"]
          - id: b
            type: branch
            var: done
            cases:
              "No": q
            default: out
          - {id: out, type: route, queue: General}
        """
    )
    assert [step.id for step in loaded.steps] == ["q", "b", "out"]


def test_a_branch_on_free_text_accepts_any_case() -> None:
    loaded = flow(
        """
        name: t
        steps:
          - {id: q, type: ask, text: "Order number?", var: order}
          - id: b
            type: branch
            var: order
            cases: {"unknown": out}
            default: out
          - {id: out, type: end}
        """
    )
    assert len(loaded.steps) == 3


def test_a_variable_set_by_an_ask_and_a_consent_can_match_either_answers() -> None:
    loaded = flow(
        """
        name: t
        steps:
          - {id: c, type: consent, question: "Record?", var: answer}
          - {id: q, type: ask, text: "Which?", var: answer, choices: [Later]}
          - id: b
            type: branch
            var: answer
            cases: {"Yes": out, later: out}
            default: out
          - {id: out, type: end}
        """
    )
    assert len(loaded.steps) == 4


def test_R19_a_flow_built_in_code_is_checked_as_a_whole_too() -> None:
    data = {"name": "t", "steps": [{"id": "greet", "type": "say", "text": "Hello"}]}
    with pytest.raises(ValidationError, match="the last step 'greet' must be a route or an end"):
        Flow.model_validate(data)
