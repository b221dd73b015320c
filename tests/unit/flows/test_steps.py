"""Each step checked on its own when a flow is saved (R3, R5b, R6, R10, R19).

Every case is a flow as an administrator would write it; a ``#!`` comment marks each
line a problem must be reported on, with a fragment of its message.
"""

from __future__ import annotations

import pytest

from chatrec.errors import FlowError
from chatrec.flows import R3_REASON, AskStep, ConsentStep, RecordStep, validate_flow
from tests.unit.flows.helpers import check_refusal, flow

INVALID_STEPS = {
    "a say step without text": """
        name: t
        steps:
          - id: greet  #! a say step needs 'text'
            type: say
          - {id: out, type: end}
        """,
    "a misspelt key: unknown, and the key it meant is missing": """
        name: t
        steps:
          - id: greet  #! a say step needs 'text'
            type: say
            txt: Hello  #! unknown key 'txt'; a say step takes id, next, type, text
          - {id: out, type: end}
        """,
    "an unknown step type": """
        name: t
        steps:
          - id: greet
            type: sya  #! unknown step type 'sya'; the step types are say, ask, branch
          - {id: out, type: end}
        """,
    "a step without a type": """
        name: t
        steps:
          - id: greet  #! every step needs a 'type'
          - {id: out, type: end}
        """,
    "a step that is not a mapping": """
        name: t
        steps:
          - greet  #! steps[0]: must be a mapping
          - {id: out, type: end}
        """,
    "a step id with spaces": """
        name: t
        steps:
          - id: say hello  #! step id 'say hello' must be 1 to 64 letters, digits, '_' or '-'
            type: end
        """,
    "a variable name starting with a digit": """
        name: t
        steps:
          - id: q
            type: ask
            text: Which?
            var: 1st  #! variable name '1st' must start with a letter
          - {id: out, type: end}
        """,
    "choices that are one answer in two spellings": """
        name: t
        steps:
          - id: q
            type: ask
            text: Which?
            var: v
            choices: [Billing, billing]  #! choices 'Billing' and 'billing' are the same answer
          - {id: out, type: end}
        """,
    "an empty list of choices": """
        name: t
        steps:
          - id: q
            type: ask
            text: Which?
            var: v
            choices: []  #! must have at least 1 item
          - {id: out, type: end}
        """,
    "an empty choice": """
        name: t
        steps:
          - id: q
            type: ask
            text: Which?
            var: v
            choices: [A, "  "]  #! choices[1]: must not be empty
          - {id: out, type: end}
        """,
    "R6 a record template with an unknown token": """
        name: t
        steps:
          - id: rec
            type: record
            reason: qa
            template: "{nope}/{chat_id}"  #! unknown token {nope}
          - {id: out, type: end}
        """,
    "R6 an absolute record template": """
        name: t
        steps:
          - id: rec
            type: record
            reason: qa
            template: /recordings/{chat_id}  #! remove the leading '/'
          - {id: out, type: end}
        """,
    "a record step without a reason": """
        name: t
        steps:
          - id: rec  #! a record step needs 'reason'
            type: record
          - {id: out, type: end}
        """,
    "R10 consent whose yes and no are one answer": """
        name: t
        steps:
          - id: c  #! yes 'Yes' and no 'YES' are the same answer
            type: consent
            question: May we record?
            no: YES
          - {id: out, type: end}
        """,
    "a branch with no case": """
        name: t
        steps:
          - {id: q, type: ask, text: "Which?", var: v}
          - id: b
            type: branch
            var: v
            cases: {}  #! must have at least 1 item
            default: out
          - {id: out, type: end}
        """,
    "branch cases that are one answer in two spellings": """
        name: t
        steps:
          - {id: q, type: ask, text: "Which?", var: v}
          - id: b
            type: branch
            var: v
            cases: {"yes": out, "Yes": out}  #! cases 'yes' and 'Yes' are the same answer
            default: out
          - {id: out, type: end}
        """,
    "an empty case": """
        name: t
        steps:
          - {id: q, type: ask, text: "Which?", var: v}
          - id: b
            type: branch
            var: v
            cases:
              "": out  #! steps[1].cases['']: must not be empty
            default: out
          - {id: out, type: end}
        """,
    "a text that is a list": """
        name: t
        steps:
          - id: greet
            type: say
            text: [Hello]  #! steps[0].text: must be text
          - {id: out, type: end}
        """,
    "a text that is too long": f"""
        name: t
        steps:
          - id: greet
            type: say
            text: {"x" * 2001}  #! must be at most 2000 characters
          - {{id: out, type: end}}
        """,
    "a route without a queue": """
        name: t
        steps:
          - id: out  #! a route step needs 'queue'
            type: route
        """,
    "a flow without a name": """
        description: nameless  #! a flow needs 'name'
        steps:
          - {id: out, type: end}
        """,
    "a flow with an unknown key": """
        name: t
        version: 2  #! unknown key 'version'; a flow takes name, description, steps
        steps:
          - {id: out, type: end}
        """,
    "steps that are not a list": """
        name: t
        steps: hello  #! steps: must be a list
        """,
    "a flow without steps": """
        name: t
        steps: []  #! must have at least 1 item
        """,
    "every problem at once, in line order": """
        name: t
        steps:
          - id: greet  #! a say step needs 'text'
            type: say
          - id: q
            type: ask
            text: Which?
            var: 2v  #! variable name '2v'
          - id: out
            type: route
            queue: General
            colour: blue  #! unknown key 'colour'
        """,
}


@pytest.mark.parametrize("text", INVALID_STEPS.values(), ids=INVALID_STEPS.keys())
def test_R19_invalid_flow_reports_every_problem_with_its_line(text: str) -> None:
    check_refusal(text)


RECORDING_KEYS = [
    "record",
    "recording",
    "record_chats",
    "record_percentage",
    "recorded",
    "recording_enabled",
    "Record_Percentage",
]


@pytest.mark.parametrize("key", RECORDING_KEYS)
def test_R3_route_with_recording_key_is_refused_quoting_the_reason(key: str) -> None:
    error = check_refusal(
        f"""
        name: t
        steps:
          - id: out
            type: route
            queue: General
            {key}: "50"  #! '{key}' is not allowed
        """
    )
    assert error.problems[0].message == f"'{key}' is not allowed. {R3_REASON}"
    assert error.problems[0].path == ("steps", 0, key)


def test_R3_reason_is_quoted_word_for_word() -> None:
    assert R3_REASON == (
        "Recording cannot be enabled on a queue (R3): recording follows the agents who "
        "handle a chat (record chats, record percentage) and the flow's record steps, never "
        "the queue."
    )


def test_R3_recording_keys_are_refused_on_any_step_and_on_the_flow() -> None:
    check_refusal(
        """
        name: t
        record_chats: "on"  #! (R3)
        steps:
          - id: greet
            type: say
            text: Hello
            recording: "on"  #! (R3)
          - {id: out, type: end}
        """
    )


def test_R3_a_flow_given_as_data_is_refused_with_the_reason_too() -> None:
    data = {
        "name": "t",
        "steps": [{"id": "out", "type": "route", "queue": "General", "record_chats": True}],
    }
    with pytest.raises(FlowError) as caught:
        validate_flow(data, source="api")
    (problem,) = caught.value.problems
    assert R3_REASON in problem.message
    assert problem.line is None
    assert str(caught.value).startswith("api: the flow is refused:")


def test_R5b_a_record_step_without_template_uses_the_company_default() -> None:
    loaded = flow(
        """
        name: t
        steps:
          - {id: rec, type: record, reason: "  quality "}
          - {id: out, type: end}
        """
    )
    step = loaded.steps[0]
    assert isinstance(step, RecordStep)
    assert step.template is None
    assert step.reason == "quality"


def test_R10_consent_defaults_to_yes_and_no_in_the_consent_variable() -> None:
    step = flow(
        """
        name: t
        steps:
          - {id: c, type: consent, question: "May we record?"}
          - {id: out, type: end}
        """
    ).steps[0]
    assert isinstance(step, ConsentStep)
    assert (step.var, step.yes, step.no) == ("consent", "Yes", "No")


def test_an_ask_without_choices_takes_free_text() -> None:
    step = flow(
        """
        name: t
        steps:
          - {id: q, type: ask, text: "Your name?", var: name}
          - {id: out, type: end}
        """
    ).steps[0]
    assert isinstance(step, AskStep)
    assert step.choices is None


def test_null_choices_and_template_mean_free_text_and_the_company_default() -> None:
    ask, record, _ = flow(
        """
        name: t
        steps:
          - {id: q, type: ask, text: "Your name?", var: name, choices: ~}
          - {id: rec, type: record, reason: qa, template: ~}
          - {id: out, type: end}
        """
    ).steps
    assert isinstance(ask, AskStep)
    assert isinstance(record, RecordStep)
    assert (ask.choices, record.template) == (None, None)
