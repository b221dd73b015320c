"""A chat flow as an administrator saves it: a name and its steps (R3, R5b, R10, R19).

Constructing a :class:`Flow` validates it completely, each step on its own
(:mod:`chatrec.flows.steps`) and then the flow as a whole (:mod:`chatrec.flows.checks`),
so the interpreter never meets a flow it cannot run to a ``route`` or an ``end``.  Text
from an editor goes through :func:`chatrec.flows.loader.load_flow`, which adds the line
of each problem.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from chatrec.errors import FlowError
from chatrec.flows.checks import check_steps
from chatrec.flows.steps import (
    MAX_TEXT,
    ContinuingStep,
    Label,
    Step,
    StrictModel,
    following_id,
)

MAX_STEPS = 200

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT)]


class Flow(StrictModel):
    """A chat flow; runs from its first step (see :mod:`chatrec.flows.interpreter`)."""

    name: Label
    description: Description | None = None
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _check_whole_flow(self) -> Flow:
        # Raised as a ValueError, pydantic keeps it in the error's context, so the loader
        # can give every problem its own path and line.
        problems = check_steps(self.steps)
        if problems:
            raise FlowError(f"flow {self.name!r}", problems)
        return self

    @cached_property
    def positions(self) -> dict[str, int]:
        return {step.id: position for position, step in enumerate(self.steps)}

    def step(self, step_id: str) -> Step | None:
        position = self.positions.get(step_id)
        return None if position is None else self.steps[position]

    def next_id(self, step: ContinuingStep) -> str | None:
        """The id of the step that runs after ``step``: its ``next``, else the following one."""
        if step.next is not None:
            return step.next
        return following_id(self.steps, self.positions[step.id])
