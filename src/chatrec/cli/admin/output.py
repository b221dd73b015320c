"""How ``chatrec`` prints: for people by default, JSON with ``--json``.

Tables go through Rich: aligned, states in colour on a terminal (``NO_COLOR`` and
``FORCE_COLOR`` are honoured), and never folded when the output goes to a file or a pipe.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.console import Console, RenderableType

WIDE = 100_000
"""The width of output that is not a terminal: lines are as long as they need to be."""

STATE_COLOURS = {
    "yes": "green",
    "enabled": "green",
    "delivered": "green",
    "pending": "cyan",
    "delivering": "cyan",
    "locked": "yellow",
    "no": "red",
    "disabled": "red",
    "blocked": "bold red",
}
"""The colour of each state a table shows: green is well, red needs someone."""


def print_json(value: object) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def print_rich(renderable: RenderableType) -> None:
    """``renderable`` on standard output, without the spaces Rich pads lines with."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = WIDE
    with console.capture() as captured:
        console.print(renderable)
    lines = [line.rstrip() for line in captured.get().splitlines()]
    typer.echo("\n".join(lines), color=console.is_terminal)


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
