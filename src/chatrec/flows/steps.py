"""The steps a chat flow is made of, each checked on its own when a flow is saved.

Every model forbids unknown keys: a typo is refused rather than silently ignored, and
so is any attempt to switch recording on from a flow other than through a ``record``
step (R3, R5b).  Checks that need the whole flow (ids, references, loops) live in
:mod:`chatrec.flows.checks`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from chatrec.domain.filenames import FilenameTemplate

MAX_TEXT = 2000
MAX_LABEL = 100
MAX_CHOICES = 20

_STEP_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _check_step_id(value: str) -> str:
    if not _STEP_ID.fullmatch(value):
        raise ValueError(f"step id {value!r} must be 1 to 64 letters, digits, '_' or '-'")
    return value


def _check_variable(value: str) -> str:
    if not _VARIABLE.fullmatch(value):
        raise ValueError(
            f"variable name {value!r} must start with a letter or '_' and go on with "
            "letters, digits or '_' (at most 64)"
        )
    return value


StepId = Annotated[str, AfterValidator(_check_step_id)]
Variable = Annotated[str, AfterValidator(_check_variable)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LABEL)]


def same_answer(answer: str, option: str) -> bool:
    """Answers, choices and branch cases compare trimmed and case-insensitively."""
    return answer.strip().casefold() == option.strip().casefold()


def _refuse_lookalikes(labels: Sequence[str], what: str) -> None:
    seen: dict[str, str] = {}
    for label in labels:
        if label.casefold() in seen:
            raise ValueError(
                f"{what} {seen[label.casefold()]!r} and {label!r} are the same answer "
                "(answers are compared ignoring case)"
            )
        seen[label.casefold()] = label


class StrictModel(BaseModel):
    """Unknown keys are refused everywhere, and a validated flow never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Step(StrictModel):
    id: StepId


class _Continuing(_Step):
    """A step after which the flow goes on: to ``next``, else to the following step."""

    next: StepId | None = None


class SayStep(_Continuing):
    """The flow posts ``text`` to the customer."""

    type: Literal["say"]
    text: Text


class AskStep(_Continuing):
    """The flow asks ``text`` and waits; the answer is stored in ``var``.

    With ``choices`` only one of them is accepted (any other answer is asked again);
    without, any non-empty text is.
    """

    type: Literal["ask"]
    text: Text
    var: Variable
    choices: list[Label] | None = Field(default=None, min_length=1, max_length=MAX_CHOICES)

    @field_validator("choices")
    @classmethod
    def _distinct_choices(cls, choices: list[str] | None) -> list[str] | None:
        if choices is not None:
            _refuse_lookalikes(choices, "choices")
        return choices


class BranchStep(_Step):
    """Goes to the step of the case matching ``var``'s value, else to ``default``."""

    type: Literal["branch"]
    var: Variable
    cases: dict[Label, StepId] = Field(min_length=1)
    default: StepId

    @field_validator("cases")
    @classmethod
    def _distinct_cases(cls, cases: dict[str, str]) -> dict[str, str]:
        _refuse_lookalikes(list(cases), "cases")
        return cases


class RecordStep(_Continuing):
    """Starts a flow recording of the chat (R5b); ``template`` ``None`` = company default (R6)."""

    type: Literal["record"]
    reason: Label
    template: str | None = None

    @field_validator("template")
    @classmethod
    def _valid_template(cls, template: str | None) -> str | None:
        if template is not None:
            FilenameTemplate.parse(template)
        return template


class ConsentStep(_Continuing):
    """Asks the customer's consent to record (R10) and stores ``yes`` or ``no`` in ``var``.

    Declining changes nothing by itself: a flow that wants no recording on "No" branches
    on ``var`` to a ``discard`` step.
    """

    type: Literal["consent"]
    question: Text
    var: Variable = "consent"
    yes: Label = "Yes"
    no: Label = "No"

    @model_validator(mode="after")
    def _distinct_answers(self) -> ConsentStep:
        if same_answer(self.yes, self.no):
            raise ValueError(
                f"yes {self.yes!r} and no {self.no!r} are the same answer "
                "(answers are compared ignoring case)"
            )
        return self


class DiscardStep(_Continuing):
    """Marks every recording of the chat discarded (R10, R12c); the chat itself goes on."""

    type: Literal["discard"]


class RouteStep(_Step):
    """Puts the chat in ``queue`` to wait for an agent; the flow's run ends here."""

    type: Literal["route"]
    queue: Label


class EndStep(_Step):
    """Ends the chat, after posting ``text`` when there is one."""

    type: Literal["end"]
    text: Text | None = None


Step = Annotated[
    SayStep | AskStep | BranchStep | RecordStep | ConsentStep | DiscardStep | RouteStep | EndStep,
    Field(discriminator="type"),
]
ContinuingStep = SayStep | AskStep | RecordStep | ConsentStep | DiscardStep
"""The steps after which the flow goes on to another."""

STEP_TYPES: dict[str, type[StrictModel]] = {
    "say": SayStep,
    "ask": AskStep,
    "branch": BranchStep,
    "record": RecordStep,
    "consent": ConsentStep,
    "discard": DiscardStep,
    "route": RouteStep,
    "end": EndStep,
}


def following_id(steps: Sequence[Step], position: int) -> str | None:
    """Where the step at ``position`` goes when it names no ``next``: the one after it."""
    return steps[position + 1].id if position + 1 < len(steps) else None
