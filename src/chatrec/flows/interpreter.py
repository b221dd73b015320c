"""Running a chat flow: a pure state machine the server drives, one call per turn.

:func:`start_flow` runs a flow from its first step until it waits for the customer (an
``ask`` or ``consent`` step), routes the chat to a queue, or ends it.
:func:`answer_flow` gives the waiting step the customer's answer and runs on in the same
way.  Both return the new :class:`FlowState` and the journal events to append, all at
the time given: nothing here reads a clock, stores anything or sends anything.

What the events say, and what they leave to the server:

* the flow's words (``say``, ``ask``, ``end`` and the request to answer again) are
  ``MessagePosted`` by the flow; a consent question is ``ConsentAsked`` and its answer
  ``ConsentAnswered`` by the customer, with the question it answers (R10);
* the customer's answer itself is *not* among the events: the server journals every
  customer message before it calls :func:`answer_flow`;
* ``record`` is ``RecordingRequested`` (R5b) and ``discard`` is ``Discarded`` (R12c),
  which discards the chat's recordings, not the chat;
* ``route`` and ``end`` are outcomes in the state (``routed_to``, ``ended``): the server
  queues the chat, or ends it, with its own events.  Routing carries no recording
  setting; a queue has none (R3).

A run takes each step at most once between two answers.  Saved flows cannot loop
without asking (:mod:`chatrec.flows.checks`), so meeting a step again means the flow
bypassed validation; that is a :class:`FlowRuntimeError`, never a hang.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from chatrec.domain.journal import (
    CUSTOMER,
    FLOW,
    ConsentAnswered,
    ConsentAsked,
    Discarded,
    Event,
    MessagePosted,
    RecordingRequested,
    require_utc,
)
from chatrec.errors import FlowProblem, FlowRuntimeError
from chatrec.flows.schema import Flow
from chatrec.flows.steps import (
    AskStep,
    BranchStep,
    ConsentStep,
    ContinuingStep,
    DiscardStep,
    EndStep,
    RecordStep,
    RouteStep,
    SayStep,
    same_answer,
)

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class FlowState:
    """Where a chat's flow stands; the server stores it with the chat (:meth:`to_dict`).

    ``step_id`` is the step the run stopped at: the ``ask`` or ``consent`` step waiting
    for an answer, or the ``route`` or ``end`` step that finished it.  ``variables`` holds
    the answers so far, as the choice or consent answer was written in the flow.
    """

    step_id: str
    variables: Mapping[str, str] = field(default_factory=dict)
    routed_to: str | None = None
    ended: bool = False

    def __post_init__(self) -> None:
        if self.routed_to is not None and self.ended:
            raise FlowRuntimeError(
                "flow state", [FlowProblem("a flow either routes the chat or ends it, not both")]
            )
        object.__setattr__(self, "variables", MappingProxyType(dict(self.variables)))

    @property
    def finished(self) -> bool:
        """The flow has routed or ended the chat and takes no more answers."""
        return self.ended or self.routed_to is not None

    @property
    def waiting_for(self) -> str | None:
        """The id of the step that awaits the customer's answer, if any."""
        return None if self.finished else self.step_id

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; :meth:`from_dict` reads it back."""
        return {
            "version": STATE_VERSION,
            "step_id": self.step_id,
            "variables": dict(self.variables),
            "routed_to": self.routed_to,
            "ended": self.ended,
        }

    @classmethod
    def from_dict(cls, data: object) -> FlowState:
        """Read a stored state back, refusing anything :meth:`to_dict` would not write."""
        try:
            stored = _StoredState.model_validate(data)
        except ValidationError as error:
            problems = [
                FlowProblem(detail["msg"], tuple(detail["loc"]))
                for detail in error.errors(include_url=False)
            ]
            raise FlowRuntimeError("stored flow state", problems) from None
        return cls(stored.step_id, stored.variables, stored.routed_to, stored.ended)


class _StoredState(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    version: Literal[1]
    step_id: str
    variables: dict[str, str]
    routed_to: str | None
    ended: bool


def _stop(flow: Flow, step_id: str, problem: str) -> FlowRuntimeError:
    position = flow.positions.get(step_id)
    path: tuple[str | int, ...] = () if position is None else ("steps", position)
    return FlowRuntimeError(f"flow {flow.name!r}", [FlowProblem(problem, path)])


def _say(text: str, at: datetime) -> MessagePosted:
    return MessagePosted(at=at, actor=FLOW, text=text)


def _options(options: Sequence[str]) -> str:
    return ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else options[0]


def _chosen(answer: str, options: Sequence[str]) -> str | None:
    """The option the answer picks, as the flow wrote it."""
    return next((option for option in options if same_answer(answer, option)), None)


def _following(flow: Flow, step: ContinuingStep) -> str:
    next_id = flow.next_id(step)
    if next_id is None:
        raise _stop(flow, step.id, f"step '{step.id}' is the last and neither routes nor ends")
    return next_id


def _case(step: BranchStep, variables: Mapping[str, str]) -> str:
    value = variables.get(step.var)
    if value is not None:
        for case, target in step.cases.items():
            if same_answer(value, case):
                return target
    return step.default


def _end(
    step: EndStep, variables: Mapping[str, str], at: datetime, events: list[Event]
) -> FlowState:
    # Typed EndStep, so a step type added without a case above fails type checking here.
    if step.text is not None:
        events.append(_say(step.text, at))
    return FlowState(step.id, variables, ended=True)


def _run(
    flow: Flow, step_id: str, variables: Mapping[str, str], at: datetime, events: list[Event]
) -> FlowState:
    """Run from ``step_id`` until the flow waits, routes or ends, appending its events."""
    ran: set[str] = set()
    while True:
        step = flow.step(step_id)
        if step is None:
            raise _stop(flow, step_id, f"there is no step '{step_id}'")
        if step_id in ran:
            raise _stop(flow, step_id, f"step '{step_id}' came round again without an answer")
        ran.add(step_id)
        match step:
            case SayStep():
                events.append(_say(step.text, at))
            case AskStep():
                events.append(_say(step.text, at))
                return FlowState(step_id, variables)
            case ConsentStep():
                events.append(ConsentAsked(at=at, actor=FLOW, question=step.question))
                return FlowState(step_id, variables)
            case BranchStep():
                step_id = _case(step, variables)
                continue
            case RecordStep():
                events.append(
                    RecordingRequested(
                        at=at,
                        actor=FLOW,
                        step_id=step.id,
                        reason=step.reason,
                        template=step.template,
                    )
                )
            case DiscardStep():
                events.append(Discarded(at=at, actor=FLOW))
            case RouteStep():
                return FlowState(step_id, variables, routed_to=step.queue)
            case _:
                return _end(step, variables, at, events)
        step_id = _following(flow, step)


def start_flow(flow: Flow, *, at: datetime) -> tuple[FlowState, list[Event]]:
    """Run the flow from its first step; the chat has just started."""
    require_utc(at)
    events: list[Event] = []
    return _run(flow, flow.steps[0].id, {}, at, events), events


def waiting_step(flow: Flow, state: FlowState) -> AskStep | ConsentStep | None:
    """The step awaiting the customer (for the widget's answer buttons), or ``None``."""
    if state.finished:
        return None
    step = flow.step(state.step_id)
    if not isinstance(step, AskStep | ConsentStep):
        raise _stop(
            flow,
            state.step_id,
            f"the stored state waits at '{state.step_id}', "
            "which is not an ask or consent step of this flow",
        )
    return step


def answer_flow(
    flow: Flow, state: FlowState, answer: str, *, at: datetime
) -> tuple[FlowState, list[Event]]:
    """Give the waiting step the customer's answer and run on.

    An answer that is not one of the step's choices (or an empty one) leaves the state as
    it is, with a message asking again.  Raises :class:`FlowRuntimeError` once the flow
    has finished: from then on the customer talks to the queue's agents, not the flow.
    """
    require_utc(at)
    step = waiting_step(flow, state)
    if step is None:
        raise _stop(flow, state.step_id, "the flow has finished and takes no more answers")
    events: list[Event] = []
    if isinstance(step, ConsentStep):
        value = _chosen(answer, [step.yes, step.no])
        if value is None:
            events.append(_say(f"Please answer {step.yes} or {step.no}. {step.question}", at))
            return state, events
        granted = value == step.yes
        events.append(
            ConsentAnswered(at=at, actor=CUSTOMER, question=step.question, granted=granted)
        )
    elif step.choices is not None:
        value = _chosen(answer, step.choices)
        if value is None:
            events.append(_say(f"Please answer {_options(step.choices)}. {step.text}", at))
            return state, events
    else:
        value = answer.strip()
        if not value:
            events.append(_say(f"Please type an answer. {step.text}", at))
            return state, events
    variables = {**state.variables, step.var: value}
    return _run(flow, _following(flow, step), variables, at, events), events
