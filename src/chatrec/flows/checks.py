"""Checks that need the whole flow, run when a flow is saved (R19).

Each step is valid on its own by then (:mod:`chatrec.flows.steps`); here the steps are
read as a graph, so that a saved flow can always be run to a ``route`` or an ``end``:

* ids are unique, and every ``next``, case and ``default`` names an existing step;
* a step that neither routes nor ends, and is last, must say where it goes;
* every step is reachable from the first: an unreachable one is almost always a typo
  in a reference, so it is refused rather than ignored;
* every step can still lead to a ``route`` or an ``end``;
* no loop runs without asking the customer something, since nothing could change the
  way it goes and it would never stop;
* a ``branch`` reads a variable that an ``ask`` or ``consent`` step has set on every
  way to it, and each case can match one of the answers that set it.

Every problem found is returned, each with its path into the flow's data.
"""

from __future__ import annotations

from collections.abc import Sequence

from chatrec.errors import FlowProblem
from chatrec.flows.steps import (
    AskStep,
    BranchStep,
    ConsentStep,
    EndStep,
    RouteStep,
    Step,
    following_id,
    same_answer,
)

Path = tuple[str | int, ...]


def _names(ids: Sequence[str]) -> str:
    return ", ".join(f"'{step_id}'" for step_id in ids)


def _references(step: Step, position: int, steps: Sequence[Step]) -> list[tuple[Path, str | None]]:
    """Where the step can go, with the path of the key that says so."""
    here: Path = ("steps", position)
    if isinstance(step, BranchStep):
        cases: list[tuple[Path, str | None]] = [
            ((*here, "cases", case), target) for case, target in step.cases.items()
        ]
        return [*cases, ((*here, "default"), step.default)]
    if isinstance(step, RouteStep | EndStep):
        return []
    if step.next is not None:
        return [((*here, "next"), step.next)]
    return [(here, following_id(steps, position))]


def _graph(steps: Sequence[Step]) -> tuple[list[list[int]], list[FlowProblem]]:
    """Each step's successors by position, or the problems that prevent knowing them."""
    problems: list[FlowProblem] = []
    positions: dict[str, int] = {}
    for position, step in enumerate(steps):
        if step.id in positions:
            problems.append(
                FlowProblem(
                    f"step id '{step.id}' is already used by steps[{positions[step.id]}]; "
                    "ids must be unique",
                    ("steps", position, "id"),
                )
            )
        else:
            positions[step.id] = position
    successors: list[list[int]] = []
    for position, step in enumerate(steps):
        targets: list[int] = []
        for path, target in _references(step, position, steps):
            if target is None:
                problems.append(
                    FlowProblem(
                        f"the last step '{step.id}' must be a route or an end step, "
                        "or name the step that comes next with 'next'",
                        path,
                    )
                )
            elif target not in positions:
                problems.append(
                    FlowProblem(
                        f"there is no step '{target}'; the steps are {_names(list(positions))}",
                        path,
                    )
                )
            else:
                targets.append(positions[target])
        successors.append(targets)
    return successors, problems


def _reach(successors: Sequence[Sequence[int]], starts: Sequence[int]) -> set[int]:
    """The positions reachable from ``starts`` in one step or more."""
    seen: set[int] = set()
    todo = [target for start in starts for target in successors[start]]
    while todo:
        position = todo.pop()
        if position not in seen:
            seen.add(position)
            todo.extend(successors[position])
    return seen


def _unreachable(steps: Sequence[Step], reachable: set[int]) -> list[FlowProblem]:
    return [
        FlowProblem(
            f"step '{step.id}' is never reached from the first step '{steps[0].id}'; "
            "link it with next, a case or a default, or remove it",
            ("steps", position),
        )
        for position, step in enumerate(steps)
        if position not in reachable
    ]


def _stuck(
    steps: Sequence[Step], successors: Sequence[Sequence[int]], reachable: set[int]
) -> list[FlowProblem]:
    """Steps from which no route or end can be reached: the chat would stay in the flow."""
    predecessors: list[list[int]] = [[] for _ in steps]
    for position, targets in enumerate(successors):
        for target in targets:
            predecessors[target].append(position)
    exits = [i for i, step in enumerate(steps) if isinstance(step, RouteStep | EndStep)]
    leading_out = set(exits) | _reach(predecessors, exits)
    stuck = sorted(reachable - leading_out)
    if not stuck:
        return []
    return [
        FlowProblem(
            f"no way out: from {_names([steps[i].id for i in stuck])} the flow never reaches "
            "a route or an end step, so the chat would stay in the flow",
            ("steps", stuck[0]),
        )
    ]


def _silent_loops(steps: Sequence[Step], successors: Sequence[Sequence[int]]) -> list[FlowProblem]:
    """Loops without an ask or consent step: nothing can change their way, so they never end."""
    silent = [
        [] if isinstance(step, AskStep | ConsentStep) else targets
        for step, targets in zip(steps, successors, strict=True)
    ]
    reach = [_reach(silent, [position]) for position in range(len(steps))]
    looping = [position for position in range(len(steps)) if position in reach[position]]
    problems: list[FlowProblem] = []
    reported: set[int] = set()
    for position in looping:
        if position in reported:
            continue
        loop = [other for other in looping if other in reach[position] and position in reach[other]]
        reported.update(loop)
        problems.append(
            FlowProblem(
                f"the flow loops through {_names([steps[i].id for i in loop])} without asking "
                "the customer anything, so it would never leave; put an ask or consent step in "
                "the loop or break it",
                ("steps", position),
            )
        )
    return problems


def _setting(step: Step) -> str | None:
    return step.var if isinstance(step, AskStep | ConsentStep) else None


def _surely_set(
    steps: Sequence[Step], successors: Sequence[Sequence[int]], reachable: set[int]
) -> list[frozenset[str]]:
    """For each step, the variables set on every way from the first step to it."""
    every = frozenset(var for step in steps if (var := _setting(step)) is not None)
    before = [frozenset[str]() if i == 0 else every for i in range(len(steps))]
    changed = True
    while changed:
        changed = False
        for position in sorted(reachable):
            var = _setting(steps[position])
            after = before[position] if var is None else before[position] | {var}
            for target in successors[position]:
                narrowed = before[target] & after
                if target != 0 and narrowed != before[target]:
                    before[target] = narrowed
                    changed = True
    return before


def _answers(steps: Sequence[Step], var: str) -> list[str] | None:
    """Every answer that can be stored in ``var``, or ``None`` when free text can be."""
    answers: list[str] = []
    for step in steps:
        if isinstance(step, ConsentStep) and step.var == var:
            answers += [step.yes, step.no]
        elif isinstance(step, AskStep) and step.var == var:
            if step.choices is None:
                return None
            answers += step.choices
    return answers


def _branches(
    steps: Sequence[Step], successors: Sequence[Sequence[int]], reachable: set[int]
) -> list[FlowProblem]:
    problems: list[FlowProblem] = []
    surely_set = _surely_set(steps, successors, reachable)
    for position, step in enumerate(steps):
        if not isinstance(step, BranchStep):
            continue
        answers = _answers(steps, step.var)
        if answers == []:
            problems.append(
                FlowProblem(
                    f"no ask or consent step sets '{step.var}', so this branch cannot read it",
                    ("steps", position, "var"),
                )
            )
            continue
        if step.var not in surely_set[position]:
            problems.append(
                FlowProblem(
                    f"'{step.var}' is not set by an ask or consent step on every way to "
                    f"branch '{step.id}'; ask it earlier",
                    ("steps", position, "var"),
                )
            )
        for case in step.cases:
            if answers is not None and not any(same_answer(case, a) for a in answers):
                problems.append(
                    FlowProblem(
                        f"case '{case}' can never match: '{step.var}' is always one of "
                        f"{', '.join(answers)}",
                        ("steps", position, "cases", case),
                    )
                )
    return problems


def check_steps(steps: Sequence[Step]) -> list[FlowProblem]:
    """Every problem of the flow as a whole; an empty list means it can be saved."""
    successors, problems = _graph(steps)
    if problems:
        return problems
    reachable = {0} | _reach(successors, [0])
    return [
        *_unreachable(steps, reachable),
        *_stuck(steps, successors, reachable),
        *_silent_loops(steps, successors),
        *_branches(steps, successors, reachable),
    ]
