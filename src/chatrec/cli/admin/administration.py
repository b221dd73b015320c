"""How a command acts: as the command line's operator, through ``services.admin``.

A refusal prints ``error: ...`` and exits :data:`REFUSED`; an unknown id exits
:data:`NOT_FOUND`.  The store is opened only inside a command, so the command line starts
without it.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from chatrec.cli.admin.output import print_json
from chatrec.cli.database import command_config, store_of
from chatrec.config import Config
from chatrec.errors import ActionError, FlowError, NotFoundError, StoreError, TemplateError

if TYPE_CHECKING:
    from chatrec.services.access import Principal
    from chatrec.services.admin import Administration
    from chatrec.services.revocation import Revocations

NOT_FOUND = 1
"""Unknown id (or another company's), a failed Test connection, a database failure."""
REFUSED = 2
"""Bad input or a refused change: nothing was applied."""
SHOWN_COMPANIES = 10
"""How many company ids a refusal lists when ``--company`` is needed."""


def principal() -> Principal:
    """The command line's operator, ``cli:<os user>`` in the audit trail."""
    from chatrec.services.access import Principal

    try:
        who = getpass.getuser()
    except (OSError, KeyError):
        who = "unknown"
    return Principal.command_line(who)


def company_of(admin: Administration, acting: Principal, given: str | None) -> str:
    """The company a command acts on: ``--company`` (checked), else the only one there is.

    Commands that name a login or a flow take its company instead, and check it against
    ``--company`` when both are given.
    """
    if given is not None:
        return admin.companies.get(acting, given).company_id
    companies = [company.company_id for company in admin.companies.list_companies(acting)]
    if not companies:
        fail("there is no company yet: create one with `chatrec admin company create`")
    if len(companies) > 1:
        shown = ", ".join(companies[:SHOWN_COMPANIES]) + (
            ", ..." if len(companies) > SHOWN_COMPANIES else ""
        )
        fail(f"there are several companies ({shown}): say which with --company COMPANY_ID")
    return companies[0]


def company_scope(admin: Administration, acting: Principal, given: str | None) -> str | None:
    """``--company`` checked as :func:`company_of` checks it, or ``None`` when left out: for
    commands that act in the company of the login or flow they name."""
    return None if given is None else company_of(admin, acting, given)


def fail(message: str, code: int = REFUSED, *details: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    for line in details:
        typer.echo(line, err=True)
    raise typer.Exit(code)


def fail_template(error: TemplateError) -> NoReturn:
    """Refuse a filename template, with a caret under the position of its problem (R6)."""
    caret = " " * error.position
    fail(
        f"{error.problem} (position {error.position})",
        REFUSED,
        f"  {error.template}",
        f"  {caret}^",
    )


def refuse_json(value: object) -> NoReturn:
    """With ``--json``, a refusal is printed as a value, and still exits :data:`REFUSED`."""
    print_json(value)
    raise typer.Exit(REFUSED) from None


@contextmanager
def refusals(file: str = "flow") -> Iterator[None]:
    """Print chatrec's refusals as ``error: ...`` and exit with their code."""
    try:
        yield
    except NotFoundError as error:
        fail(str(error), NOT_FOUND)
    except TemplateError as error:
        fail_template(error)
    except FlowError as error:
        problems = [f"  {file}: {problem}" for problem in error.problems]
        fail(f"{file}: {error.headline}:", REFUSED, *problems)
    except ActionError as error:
        fail(str(error), REFUSED)
    except StoreError as error:
        fail(str(error), NOT_FOUND)


@contextmanager
def administration(
    data_dir: Path | None, database_url: str | None, *, file: str = "flow"
) -> Iterator[Administration]:
    """The administration on the store, its refusals printed (``file`` names a flow's)."""
    # The store comes from the same helper as every other command's, so it is configured
    # (database, secrets) the same way.
    from chatrec.services.admin import Administration
    from chatrec.store.transactions import utc_now

    with refusals(file):
        config = command_config(data_dir=data_dir, database_url=database_url)
        store = store_of(config)
        try:
            yield Administration(store, utc_now, revocations=command_revocations(config))
        finally:
            store.close()


def command_revocations(config: Config) -> Revocations | None:
    """With the servers' Redis, a login disabled or given another role here closes its
    open sockets at once; without, the servers' sweep finds it (R18, R20)."""
    if not config.redis_url:
        return None
    from chatrec.live.redis_fanout import CommandFanout
    from chatrec.services.revocation import Revocations

    return Revocations(CommandFanout(config.redis_url, config.redis_prefix))
