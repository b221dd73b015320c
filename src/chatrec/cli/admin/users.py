"""``chatrec admin user`` and ``operator``: logins and their recording settings (R4, R7, R12a).

A password generated here is printed once and never again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from chatrec.cli.admin.administration import (
    administration,
    company_of,
    company_scope,
    fail,
    principal,
)
from chatrec.cli.admin.options import (
    AsJson,
    Company,
    DatabaseUrl,
    DataDir,
    PasswordStdin,
    read_password,
)
from chatrec.cli.admin.output import print_result, yes
from chatrec.cli.admin.tables import Column, Table, add_list_command, print_table
from chatrec.cli.help import App

if TYPE_CHECKING:
    from chatrec.store.records import UserRecord

user_app = App(
    help="Create and change a company's logins and whether each is recorded (R4, R7, R12a)."
)
operator_app = App(help="Create system operators' logins: they create and provision companies.")


class CompanyRole(StrEnum):
    """The choices of ``--role``: the login roles of ``domain.roles.COMPANY_ROLES``, as the
    enum of its own that typer needs for a choice."""

    ADMINISTRATOR = "administrator"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


Login = Annotated[
    str,
    typer.Argument(
        metavar="LOGIN",
        help="The login name, unique over every company: letters, digits, '.', '_', '@', '-'.",
    ),
]
PersonName = Annotated[
    str, typer.Option("--name", metavar="NAME", help="The person's name, as colleagues see it.")
]
_PERCENTAGE = (
    "The share of the agent's chats recorded, 0 to 100, drawn once as they join each chat (R7)."
)
_CAPACITY = "How many chats the agent takes at once, 1 to 50."
_PERMIT = "Whether this login permits recordings; unticked, no chat they join is recorded (R12a)."
_RECORD_CHATS = (
    "Whether the agent's own recording starts in the chats they handle; off, only the flow's "
    "recordings remain (R4)."
)
_UNCHANGED = " Left out: unchanged."
RoleOption = Annotated[
    CompanyRole,
    typer.Option(
        "--role",
        metavar="ROLE",
        case_sensitive=False,
        help="The login's role: administrator, supervisor or agent.",
    ),
]


def user_view(user: UserRecord) -> dict[str, object]:
    return {
        "user_id": user.user_id,
        "company_id": user.company_id,
        "login": user.login,
        "name": user.name,
        "role": user.role,
        "disabled": user.disabled,
        "locked": user.locked_until is not None,
        "permit_recordings": user.permit_recordings,
        "record_chats": user.record_chats,
        "record_percentage": user.record_percentage,
        "capacity": user.capacity,
    }


def _state(user: UserRecord) -> str:
    return "disabled" if user.disabled else "locked" if user.locked_until else "enabled"


_USERS = Table(
    view=user_view,
    columns=(
        Column("ID", lambda user: user.user_id),
        Column("LOGIN", lambda user: user.login),
        Column("ROLE", lambda user: user.role),
        Column("PERMIT", lambda user: yes(user.permit_recordings), state=True),
        Column("RECORD", lambda user: yes(user.record_chats), state=True),
        Column("PCT", lambda user: user.record_percentage, number=True),
        Column("CAP", lambda user: user.capacity, number=True),
        Column("STATE", _state, state=True),
        Column("NAME", lambda user: user.name),
    ),
    empty="no users",
)


def _print_login(user: UserRecord, password: str | None, as_json: bool, done: str) -> None:
    """What was done to the login, and its password when generated here: shown once."""
    shown = [] if password is None else [f"password (shown once): {password}"]
    print_result(as_json, {"user": user_view(user), "password": password}, done, *shown)


def _created(user: UserRecord) -> str:
    return f"created {user.role} {user.login} ({user.user_id}) of company {user.company_id}"


add_list_command(
    user_app,
    lambda admin: admin.users.list_users,
    _USERS,
    help="List the company's logins with their recording settings.",
)


@user_app.command("create")
def user_create(
    login: Login,
    name: PersonName,
    role: RoleOption,
    company: Company = None,
    password_stdin: PasswordStdin = False,
    permit_recordings: Annotated[
        bool, typer.Option("--permit-recordings/--no-permit-recordings", help=_PERMIT)
    ] = True,
    record_chats: Annotated[
        bool, typer.Option("--record-chats/--no-record-chats", help=_RECORD_CHATS)
    ] = True,
    record_percentage: Annotated[
        int, typer.Option("--record-percentage", metavar="0-100", help=_PERCENTAGE)
    ] = 100,
    capacity: Annotated[int, typer.Option("--capacity", metavar="CHATS", help=_CAPACITY)] = 3,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a login; its first password is generated and printed once unless given."""
    from chatrec.services.admin.users import UserChanges

    password = read_password(password_stdin)
    changes = UserChanges(
        permit_recordings=permit_recordings,
        record_chats=record_chats,
        record_percentage=record_percentage,
        capacity=capacity,
    )
    with administration(data_dir, database_url) as admin:
        acting = principal()
        user, initial = admin.users.create(
            acting,
            login,
            name,
            role.value,
            company_id=company_of(admin, acting, company),
            password=password,
            changes=changes,
        )
    _print_login(user, None if password_stdin else initial, as_json, _created(user))


@user_app.command("set")
def user_set(
    user_ids: Annotated[
        list[str],
        typer.Argument(
            metavar="USER",
            help="The logins to change, each by login name or id; several are one bulk edit, "
            "applied to all or to none.",
        ),
    ],
    permit_recordings: Annotated[
        bool | None,
        typer.Option("--permit-recordings/--no-permit-recordings", help=_PERMIT + _UNCHANGED),
    ] = None,
    record_chats: Annotated[
        bool | None,
        typer.Option("--record-chats/--no-record-chats", help=_RECORD_CHATS + _UNCHANGED),
    ] = None,
    record_percentage: Annotated[
        int | None,
        typer.Option("--record-percentage", metavar="0-100", help=_PERCENTAGE + _UNCHANGED),
    ] = None,
    role: Annotated[
        CompanyRole | None,
        typer.Option(
            "--role",
            metavar="ROLE",
            case_sensitive=False,
            help="The login's new role: administrator, supervisor or agent." + _UNCHANGED,
        ),
    ] = None,
    disabled: Annotated[
        bool | None,
        typer.Option(
            "--disable/--enable",
            help="Whether the login is disabled: a disabled login cannot log in." + _UNCHANGED,
        ),
    ] = None,
    capacity: Annotated[
        int | None, typer.Option("--capacity", metavar="CHATS", help=_CAPACITY + _UNCHANGED)
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", metavar="NAME", help="The person's new name, for one login." + _UNCHANGED
        ),
    ] = None,
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Change logins, each named by login name or id; several are one bulk edit, all or none.

    Permit Recordings and the percentage apply to chats joined afterwards (R7, R12a).
    """
    from chatrec.services.admin.users import UserChanges

    if name is not None and len(user_ids) > 1:
        fail("--name changes one login; name one user")
    changes = UserChanges(
        name=name,
        role=None if role is None else role.value,
        disabled=disabled,
        permit_recordings=permit_recordings,
        record_chats=record_chats,
        record_percentage=record_percentage,
        capacity=capacity,
    )
    if not changes.given():
        fail("nothing to change: give at least one option (see --help)")
    with administration(data_dir, database_url) as admin:
        acting = principal()
        scope = company_scope(admin, acting, company)
        found = [admin.users.find(acting, ref, scope).user_id for ref in user_ids]
        users = admin.users.update_many(acting, found, changes)
    print_table(users, as_json, _USERS)


@user_app.command("reset-password")
def user_reset_password(
    user_id: Annotated[
        str,
        typer.Argument(
            metavar="USER", help="The login to give a new password, by login name or id."
        ),
    ],
    password_stdin: PasswordStdin = False,
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Give a login a new password; unlocks it, ends its sessions, and has its user choose
    their own at next sign-in."""
    password = read_password(password_stdin)
    with administration(data_dir, database_url) as admin:
        acting = principal()
        found = admin.users.find(acting, user_id, company_scope(admin, acting, company))
        user, new = admin.users.reset_password(acting, found.user_id, password)
    done = f"new password for {user.login} ({user.user_id}); its sessions are ended"
    _print_login(user, None if password_stdin else new, as_json, done)


@operator_app.command("create")
def operator_create(
    login: Login,
    name: PersonName,
    password_stdin: PasswordStdin = False,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a system operator's login (company `system`), for the console and the API."""
    password = read_password(password_stdin)
    with administration(data_dir, database_url) as admin:
        user, initial = admin.users.create_operator(principal(), login, name, password=password)
    _print_login(user, None if password_stdin else initial, as_json, _created(user))
