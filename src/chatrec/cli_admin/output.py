"""How ``chatrec admin`` prints: for people by default, JSON with ``--json``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer


def print_json(value: object) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def print_result(as_json: bool, view: object, *lines: str) -> None:
    """``view`` as JSON with ``--json``; otherwise the lines for people."""
    if as_json:
        print_json(view)
        return
    for line in lines:
        typer.echo(line)


def format_fields(title: str, fields: list[tuple[str, object]]) -> str:
    """A title over its labelled values, the values lined up."""
    width = max(len(label) for label, _ in fields) + 2
    return "\n".join([title, *(f"  {label + ':':{width}}{value}" for label, value in fields)])


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def yes(value: bool) -> str:
    return "yes" if value else "no"
