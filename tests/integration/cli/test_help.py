"""Every ``--help`` of the command line, as a person reads it (no database).

Each command and each parameter says in a sentence what it does; a rule id is only a
tag after the words (the explanation rule at the end of SPEC.md).  A parameter shows
what it takes in words (``--company COMPANY_ID``), never a Python type (``<bool>``,
``<list[str]>``), and an option that may be left out says what leaving it out does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer import Context
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from chatrec.cli import app

RULE_TAG = re.compile(r"\s*\((?:R\d+[a-z]?(?:, |-)?)+\)")
PYTHON_TYPES = re.compile(r"<(?:bool|str|int|float|path|list\[[^\]]*\]|int range|float range)>")


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    yield " ".join(path), command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _shown(command: Any, ctx: Context) -> list[Any]:
    return [p for p in command.get_params(ctx) if not p.hidden]


def _sentence_problem(text: str | None) -> str | None:
    """Why ``text`` is not a sentence in words with an optional rule tag, or None."""
    if not text:
        return "no help"
    first = text.strip().split("\n\n")[0]
    words = RULE_TAG.sub("", first)
    if not words[:1].isupper():
        return f"does not start as a sentence: {first!r}"
    if not first.rstrip().endswith((".", ".)")):
        return f"does not end as a sentence: {first!r}"
    if len(words.split()) < 3 or re.fullmatch(r"[\s\W]*(R\d+[a-z]?[\s\W]*)+", words):
        return f"says too little in words: {first!r}"
    return None


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p or "chatrec" for p, _ in COMMANDS])
def test_help_names_each_rule_in_plain_words_first_with_its_id_as_a_tag(
    path: str, command: Any
) -> None:
    ctx = Context(command, info_name=path or "chatrec")
    problems = []
    if (problem := _sentence_problem(command.help)) is not None:
        problems.append(f"the command: {problem}")
    for param in _shown(command, ctx):
        name = param.name
        shown = param.display_type_rich(ctx)
        if shown is not None and shown.startswith("<"):
            problems.append(f"{name}: shows the Python type {shown}")
        if isinstance(param, TyperArgument) and not (param.metavar or "").isupper():
            problems.append(f"{name}: an argument named in capitals says what it takes")
        if (problem := _sentence_problem(param.help)) is not None:
            problems.append(f"{name}: {problem}")
        optional = isinstance(param, TyperOption) and not param.is_flag and not param.required
        if optional and param.default is None:
            said = (param.help or "").lower()
            if "left out" not in said and "default" not in said:
                problems.append(f"{name}: does not say what leaving it out does")
    assert problems == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            ["admin", "user", "set"],
            [
                "--permit-recordings",
                "Whether this login permits recordings; unticked, no chat they join is",
                "--company",
                "COMPANY_ID",
                "--record-percentage",
                "0-100",
            ],
        ),
        (["admin", "company", "set"], ["--format", "FORMAT", "repeat the option"]),
        (["deliveries", "list"], ["--limit", "COUNT", "[default: 50]", "--json"]),
        (["simulate"], ["--agents", "LOGINS", "comma-separated", "[default: alice,carol]"]),
    ],
)
def test_help_shows_what_each_option_takes_and_its_default(
    command: list[str], expected: list[str]
) -> None:
    shown = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert PYTHON_TYPES.findall(shown.stdout) == []
    for text in expected:
        assert text in shown.stdout


def test_R18_company_is_one_option_with_one_meaning_in_every_admin_command() -> None:
    admin = dict(COMMANDS)["admin"]
    shown = {
        (param.metavar, param.help)
        for path, command in _commands(admin)
        for param in command.params
        if "--company" in getattr(param, "opts", [])
    }
    assert len(shown) == 1, shown
    ((metavar, help),) = shown
    assert metavar == "COMPANY_ID"
    assert "Left out: the company of the login or flow the command names" in help


LISTS = [
    path
    for path, _ in COMMANDS
    if path.endswith(" list") or path in {"admin audit", "admin flow versions", "admin user set"}
]


def test_every_list_prints_json_for_scripts() -> None:
    without = [
        path
        for path, command in COMMANDS
        if path in LISTS and not any("--json" in getattr(p, "opts", []) for p in command.params)
    ]
    assert len(LISTS) == 10
    assert without == []
