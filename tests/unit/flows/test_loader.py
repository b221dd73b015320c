"""Reading a flow's text: YAML or JSON, every problem with its line (R19)."""

from __future__ import annotations

import json

import pytest
import yaml

from chatrec.errors import FlowError, FlowProblem
from chatrec.flows import BranchStep, ConsentStep, RouteStep, load_flow, validate_flow
from chatrec.flows.loader import MAX_DEPTH, MAX_FLOW_BYTES, LimitedLoader, line_of, load_limited
from tests.unit.flows.helpers import check_refusal, example, flow

VALID = "name: t\nsteps:\n  - {id: out, type: end}\n"


def only_problem(text: str) -> FlowProblem:
    with pytest.raises(FlowError) as caught:
        load_flow(text, source="editor")
    (problem,) = caught.value.problems
    assert caught.value.source == "editor"
    return problem


UNREADABLE = {
    "bad YAML syntax, with line and column": (
        "name: t\nsteps:\n  - {id: out, type: end\n",
        4,
        "expected ',' or '}'",
    ),
    "a list, not a mapping": ("- name: t\n", 1, "a flow must be a mapping with name"),
    "a text, not a mapping": ("just words\n", 1, "not str"),
    "nothing at all": ("# only a comment\n", 1, "the flow is empty"),
    "two documents": (VALID + "---\n" + VALID, 4, "expected a single document"),
    "an alias": ("name: &n t\nsteps:\n  - {id: *n, type: end}\n", 3, "aliases (*name)"),
    "a tag": ("name: !!binary dA==\nsteps: []\n", 1, "tags (such as !!str)"),
    "an unprintable character": ("name: t\nsteps:\n  - {id: \x07, type: end}\n", 3, "U+0007"),
    "a mapping as a key": ("{a: 1}: t\n", 1, "unhashable key"),
    "nesting too deep": ("name: " + "[" * (MAX_DEPTH + 1), 1, f"deeper than {MAX_DEPTH}"),
}


@pytest.mark.parametrize(("text", "line", "fragment"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_R19_unreadable_flow_is_refused_with_its_line(text: str, line: int, fragment: str) -> None:
    problem = only_problem(text)
    assert problem.line == line
    assert fragment in problem.message


def test_R19_bad_yaml_syntax_reports_line_and_column() -> None:
    problem = only_problem("name: t\nsteps:\n  - id: a\n   type: end\n")
    assert (problem.line, problem.column) == (4, 4)
    assert str(problem).startswith("line 4, column 4: ")


def test_R19_oversize_flow_is_refused_before_it_is_parsed() -> None:
    text = VALID + "#" * MAX_FLOW_BYTES
    problem = only_problem(text)
    assert problem.line is None
    assert problem.message == (
        f"the flow is {len(text)} bytes; at most {MAX_FLOW_BYTES} are accepted"
    )


def test_R19_duplicate_keys_are_refused_not_silently_overwritten() -> None:
    check_refusal(
        """
        name: t
        steps:
          - id: a
            type: say
            text: Hello
            text: Goodbye  #! key 'text' appears twice in one mapping (first on line 5)
          - {id: out, type: end}
        """
    )


def test_R19_duplicate_keys_are_reported_with_the_other_problems_in_line_order() -> None:
    check_refusal(
        """
        name: t
        name: u  #! key 'name' appears twice
        steps:
          - id: a  #! a say step needs 'text'
            type: say
          - {id: out, type: end, id: out2}  #! key 'id' appears twice
        """
    )


def test_yes_no_and_numbers_stay_text() -> None:
    loaded = flow(
        """
        name: 2024
        steps:
          - id: c
            type: consent
            question: "Record?"
            yes: Oui
            no: Non
          - id: b
            type: branch
            var: consent
            cases:
              Non: 1
            default: 1
          - {id: 1, type: route, queue: 42}
        """
    )
    consent, branch, route = loaded.steps
    assert isinstance(consent, ConsentStep)
    assert (consent.yes, consent.no) == ("Oui", "Non")
    assert isinstance(branch, BranchStep)
    assert branch.cases == {"Non": "1"}
    assert isinstance(route, RouteStep)
    assert (loaded.name, route.id, route.queue) == ("2024", "1", "42")


def test_null_means_no_value() -> None:
    loaded = load_flow("name: t\ndescription: ~\nsteps:\n  - {id: out, type: end, text: null}\n")
    assert loaded.description is None


def test_json_is_read_like_yaml() -> None:
    data = {"name": "t", "steps": [{"id": "out", "type": "route", "queue": "General"}]}
    assert load_flow(json.dumps(data, indent=2)) == validate_flow(data)


def test_R19_json_problems_have_lines_too() -> None:
    text = json.dumps({"name": "t", "steps": [{"id": "out", "type": "route"}]}, indent=2)
    problem = only_problem(text)
    assert problem.line == 4  # the line of the step's opening brace
    assert problem.message == "a route step needs 'queue'"


def test_R19_data_without_text_is_refused_with_paths_and_no_lines() -> None:
    with pytest.raises(FlowError) as caught:
        validate_flow({"name": "t", "steps": [{"id": "a", "type": "say", "text": 5}]})
    (problem,) = caught.value.problems
    assert (problem.path, problem.line, str(problem)) == (
        ("steps", 0, "text"),
        None,
        "steps[0].text: must be text",
    )


def test_R19_data_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(FlowError, match="a flow must be a mapping with name, description, steps"):
        validate_flow(["name", "t"])


def test_R19_other_pydantic_errors_keep_pydantic_words() -> None:
    data = {"name": "t", "steps": [{"id": "out", "type": "end"}] * 201}
    with pytest.raises(FlowError, match="steps: can have at most 200 items"):
        validate_flow(data)
    with pytest.raises(FlowError, match="name: Input should be a valid string, unable to parse"):
        validate_flow({"name": b"\xff", "steps": [{"id": "out", "type": "end"}]})


def test_a_problem_without_place_is_its_message() -> None:
    assert str(FlowProblem("the flow is empty")) == "the flow is empty"
    assert str(FlowProblem("x", ("steps", 0, "cases", "Not sure"))) == (
        "steps[0].cases['Not sure']: x"
    )


def test_a_flow_dumped_as_json_data_validates_back_to_itself() -> None:
    loaded = example("consent_first")
    assert validate_flow(loaded.model_dump(mode="json", exclude_none=True)) == loaded


class _ImportLike(LimitedLoader):
    """A loader as an import declares one: YAML's own types, the flow's limits."""

    document = "import"


def test_R19_a_limited_document_keeps_yamls_types_and_refuses_an_alias_by_its_name() -> None:
    assert load_limited("logins:\n  - name: ada\n    enabled: yes\n", _ImportLike) == {
        "logins": [{"name": "ada", "enabled": True}]
    }
    with pytest.raises(yaml.YAMLError, match=r"aliases \(\*name\) are not allowed in an import"):
        load_limited("a: &x [1]\nb: *x\n", _ImportLike)


def test_R19_line_of_points_at_the_key_a_path_names() -> None:
    text = "steps:\n  - type: greet\n    text: Hello\n  - type: route\n    queue: billing\n"
    assert line_of(text, ("steps", 1, "queue")) == 5
    assert line_of(text, ("steps", 0)) == 2
