"""Shared helpers for flow tests: flows from YAML, expected problems marked in the YAML."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest

from chatrec.domain.journal import Event
from chatrec.errors import FlowError
from chatrec.flows import Flow, FlowState, answer_flow, load_flow, start_flow
from chatrec.flows.examples import example_source
from tests.unit.domain.builders import T0

AT = T0 + timedelta(seconds=1)
MARK = "#!"


def flow(text: str) -> Flow:
    return load_flow(textwrap.dedent(text).lstrip("\n"))


def example(name: str) -> Flow:
    return load_flow(example_source(name), source=f"{name}.yaml")


def refusal(text: str) -> FlowError:
    with pytest.raises(FlowError) as caught:
        flow(text)
    return caught.value


def marked(text: str) -> list[tuple[int, str]]:
    """The ``#! fragment`` comments of a YAML text: a problem expected on that line."""
    lines = textwrap.dedent(text).lstrip("\n").splitlines()
    return [
        (number, line.split(MARK, 1)[1].strip())
        for number, line in enumerate(lines, start=1)
        if MARK in line
    ]


def check_refusal(text: str) -> FlowError:
    """The flow is refused with exactly the problems marked in it, each on its line."""
    error = refusal(text)
    expected = marked(text)
    found = [(problem.line, str(problem)) for problem in error.problems]
    assert len(found) == len(expected), "\n".join(text for _, text in found)
    for (line, fragment), (found_line, message) in zip(expected, found, strict=True):
        assert found_line == line, message
        assert fragment in message, message
    return error


def run(flow: Flow, answers: Iterable[str], *, at: datetime = AT) -> tuple[FlowState, list[Event]]:
    """Start the flow and give it the answers in turn; every event, in order."""
    state, events = start_flow(flow, at=at)
    for answer in answers:
        state, more = answer_flow(flow, state, answer, at=at)
        events += more
    return state, events
