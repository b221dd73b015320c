"""The options several ``chatrec`` commands share, and how their values are read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from chatrec.cli.admin.administration import fail

DataDir = Annotated[
    Path | None,
    typer.Option(
        metavar="FOLDER",
        help="The folder of the SQLite database, the secret key and the demo platform. "
        "Left out: CHATREC_DATA_DIR, else ./var.",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        help="The database, as an SQLAlchemy URL such as postgresql+psycopg://host/chatrec. "
        "Left out: CHATREC_DATABASE_URL, else SQLite in the data folder.",
    ),
]
RedisUrl = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        help="Redis, as redis://host:port/0, for notices between several servers on one "
        "PostgreSQL database (R20). Left out: CHATREC_REDIS_URL, else one server alone.",
    ),
]
Company = Annotated[
    str | None,
    typer.Option(
        "--company",
        metavar="COMPANY_ID",
        help="The company to act on, by its id. Left out: the company of the login or flow "
        "the command names, else the only company there is.",
    ),
]
"""Read with :func:`~chatrec.cli.admin.administration.company_of`, the same in every command."""
AsJson = Annotated[
    bool,
    typer.Option("--json", help="Print JSON for scripts instead of text for people."),
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input. Left out: one is "
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
