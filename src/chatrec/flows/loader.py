"""Turn an administrator's YAML or JSON into a :class:`Flow`, or say what is wrong and where.

Every problem is reported at once, each with the line of the text it is about, so an
editor can point at it (R19).  The YAML dialect is deliberately small:

* every value is text, or nothing (``null``, ``~`` or no value at all): a flow has no
  numbers or booleans, and reading ``yes:`` and ``no:`` (the keys of a consent step),
  ``Yes``, ``No`` or ``1`` as anything but text would only surprise;
* aliases (``*name``) and tags (``!!int``) are refused: a flow is small, and an alias
  can make a few bytes expand into gigabytes;
* nesting is limited, duplicate keys are refused rather than the last one winning, and
  the text is at most :data:`MAX_FLOW_BYTES`.

JSON is YAML, so the same function reads both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from yaml.composer import ComposerError
from yaml.reader import ReaderError

from chatrec.domain.queues import R3_REASON, is_recording_key
from chatrec.errors import FlowError, FlowProblem
from chatrec.flows.schema import Flow
from chatrec.flows.steps import STEP_TYPES

MAX_FLOW_BYTES = 100_000
MAX_DEPTH = 32

_NULL_TAG = "tag:yaml.org,2002:null"
_TYPES = ", ".join(STEP_TYPES)
_FLOW_KEYS = ", ".join(Flow.model_fields)


class LimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases or tags, nested at most :data:`MAX_DEPTH` deep:
    the limits on every document an administrator hands in (a flow, an import), so a few
    bytes never expand into gigabytes nor recurse into a crash."""

    document = "document"
    """How refusals name what is read: "flow", "import"."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.check_event()  # makes the next event current without consuming it
        event = self.current_event
        mark = event.start_mark
        a = "an" if self.document[0] in "aeiou" else "a"
        if isinstance(event, yaml.AliasEvent):
            problem = f"aliases (*name) are not allowed in {a} {self.document}"
            raise ComposerError(None, None, problem, mark)
        if getattr(event, "tag", None) not in (None, "!"):
            problem = f"tags (such as !!str) are not allowed in {a} {self.document}"
            raise ComposerError(None, None, problem, mark)
        if self._depth >= MAX_DEPTH:
            problem = f"the {self.document} is nested deeper than {MAX_DEPTH} levels"
            raise ComposerError(None, None, problem, mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_limited(text: str, loader: type[LimitedLoader]) -> Any:
    """The one document of ``text`` read with ``loader``; ``yaml.YAMLError`` if refused."""
    reader = loader(text)
    try:
        return reader.get_single_data()
    finally:
        reader.dispose()


class _FlowLoader(LimitedLoader):
    """Reads only text, null, lists and mappings (see the module's dialect)."""

    document = "flow"


_FlowLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag == _NULL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _by_line(problem: FlowProblem) -> int:
    return problem.line or 0


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _parse(text: str, source: str) -> tuple[yaml.Node, object]:
    try:
        loader = _FlowLoader(text)  # refuses unprintable characters at once
    except ReaderError as error:
        problem = FlowProblem(
            f"character U+{error.character:04X} is not allowed in YAML",
            line=_line_of(text, error.position),
        )
        raise FlowError(source, [problem]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise FlowError(source, [FlowProblem("the flow is empty", line=1)])
        return node, loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = " ".join(part for part in (error.context, error.problem) if part)
        line, column = (None, None) if mark is None else (mark.line + 1, mark.column + 1)
        raise FlowError(source, [FlowProblem(message, line=line, column=column)]) from None
    finally:
        loader.dispose()


def _duplicate_keys(root: yaml.Node) -> list[FlowProblem]:
    problems: list[FlowProblem] = []
    todo = [root]
    while todo:
        node = todo.pop()
        if isinstance(node, yaml.MappingNode):
            first_line: dict[object, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                if key.value in first_line:
                    problems.append(
                        FlowProblem(
                            f"key '{key.value}' appears twice in one mapping "
                            f"(first on line {first_line[key.value]})",
                            line=line,
                        )
                    )
                else:
                    first_line[key.value] = line
                todo.append(value)
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
    return sorted(problems, key=_by_line)


def _line(root: yaml.Node | None, path: Sequence[str | int]) -> int | None:
    """The line the path points at: a key's own line, else the item that holds it."""
    if root is None:
        return None
    node, marked = root, root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    node, marked = value, key
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = marked = node.value[part]
    return int(marked.start_mark.line) + 1


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The line of ``text``, a flow that loads, that ``path`` points at (checks made later)."""
    root, _ = _parse(text, "flow")
    return _line(root, path)


def _step_type(loc: Sequence[str | int]) -> str | None:
    """The step type pydantic puts after a step's index in the locations of its errors."""
    if len(loc) > 2 and loc[0] == "steps" and isinstance(loc[1], int) and loc[2] in STEP_TYPES:
        return str(loc[2])
    return None


def _explain(error: ErrorDetails, path: tuple[str | int, ...], kind: str | None) -> str:
    """An administrator's words for one pydantic error."""
    ctx: Mapping[str, Any] = error.get("ctx", {})
    owner = f"a {kind} step" if kind else "a flow"
    match error["type"]:
        case "missing":
            return f"{owner} needs '{path[-1]}'"
        case "extra_forbidden" if is_recording_key(path[-1]):
            return f"'{path[-1]}' is not allowed. {R3_REASON}"
        case "extra_forbidden":
            keys = STEP_TYPES[kind].model_fields if kind else Flow.model_fields
            return f"unknown key '{path[-1]}'; {owner} takes {', '.join(keys)}"
        case "union_tag_invalid":
            return f"unknown step type '{ctx['tag']}'; the step types are {_TYPES}"
        case "union_tag_not_found":
            return f"every step needs a 'type', one of {_TYPES}"
        case "model_type" if not path:
            return f"a flow must be a mapping with {_FLOW_KEYS}"
        case "model_attributes_type" | "model_type" | "dict_type":
            return "must be a mapping of keys to values"
        case "string_type":
            return "must be text"
        case "list_type":
            return "must be a list"
        case "string_too_short":
            return "must not be empty"
        case "string_too_long":
            return f"must be at most {ctx['max_length']} characters"
        case "too_short":
            return f"must have at least {ctx['min_length']} item(s)"
        case "too_long":
            return f"can have at most {ctx['max_length']} items"
        case "value_error":
            return str(ctx["error"])
        case _:
            return error["msg"]


def _problems(error: ValidationError, root: yaml.Node | None) -> list[FlowProblem]:
    problems: list[FlowProblem] = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, FlowError):
            problems += [
                FlowProblem(p.message, p.path, _line(root, p.path)) for p in cause.problems
            ]
            continue
        kind = _step_type(loc)
        if kind is not None:
            loc = loc[:2] + loc[3:]
        # "[key]" ends the location of a mapping key's own error; the key is the place.
        path = tuple(part for part in loc if part != "[key]")
        message = _explain(detail, path, kind)
        shown = path[:-1] if detail["type"] == "missing" else path
        # An unknown step type is marked at its 'type' line, where the typo is.
        marked = (*loc, "type") if detail["type"] == "union_tag_invalid" else loc
        problems.append(FlowProblem(message, shown, _line(root, marked)))
    return sorted(problems, key=_by_line)


def _validate(data: object, source: str, root: yaml.Node | None) -> Flow:
    try:
        return Flow.model_validate(data)
    except ValidationError as error:
        raise FlowError(source, _problems(error, root)) from None


def validate_flow(data: object, *, source: str = "flow") -> Flow:
    """Validate already parsed data (a JSON body, say); problems carry paths, not lines."""
    return _validate(data, source, None)


def load_flow(text: str, *, source: str = "flow.yaml") -> Flow:
    """Parse and validate a flow; :class:`FlowError` lists every problem with its line."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_FLOW_BYTES:
        problem = FlowProblem(f"the flow is {size} bytes; at most {MAX_FLOW_BYTES} are accepted")
        raise FlowError(source, [problem])
    root, data = _parse(text, source)
    if not isinstance(data, dict):
        problem = FlowProblem(
            f"a flow must be a mapping with {_FLOW_KEYS}, not {type(data).__name__}",
            line=root.start_mark.line + 1,
        )
        raise FlowError(source, [problem])
    duplicates = _duplicate_keys(root)
    try:
        flow = _validate(data, source, root)
    except FlowError as error:
        raise FlowError(source, sorted([*duplicates, *error.problems], key=_by_line)) from None
    if duplicates:
        raise FlowError(source, duplicates)
    return flow
