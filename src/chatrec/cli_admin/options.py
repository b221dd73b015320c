"""The options several ``chatrec admin`` commands share, and how their values are read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from chatrec.cli_admin.administration import fail

DataDir = Annotated[
    Path | None, typer.Option(help="Folder for the SQLite file, spool and demo platform.")
]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="SQLAlchemy URL; default: SQLite in the data dir.")
]
Company = Annotated[
    str, typer.Option("--company", help="The company to act on (its id).", show_default=False)
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input; otherwise one is "
        "generated and printed once.",
    ),
]


def read_text(file: str) -> str:
    """The text of ``file``, or of standard input for ``-``."""
    if file == "-":
        return sys.stdin.read()
    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {file}: {getattr(error, 'strerror', None) or error}")


def file_label(file: str) -> str:
    """How problems name ``file``: standard input as ``<stdin>``."""
    return "<stdin>" if file == "-" else file


def read_password(password_stdin: bool) -> str | None:
    """With ``--password-stdin``, the first line of standard input; else None (generate one)."""
    if not password_stdin:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("no password on the first line of standard input")
    return password
