"""A login's role and a chat's role are two vocabularies that meet at the desk."""

from __future__ import annotations

from chatrec.cli.admin.users import CompanyRole
from chatrec.domain.journal import STAFF_CHAT_ROLES, ChatRole
from chatrec.domain.roles import COMPANY_ROLES, DESK_ROLES, LoginRole


def test_the_desk_roles_act_under_the_staff_chat_role_of_the_same_name() -> None:
    assert {ChatRole(role.value) for role in DESK_ROLES} == STAFF_CHAT_ROLES


def test_the_desk_is_worked_by_company_logins_only() -> None:
    assert DESK_ROLES < COMPANY_ROLES
    assert LoginRole.OPERATOR not in COMPANY_ROLES


def test_the_command_line_offers_the_company_roles() -> None:
    assert {LoginRole(role.value) for role in CompanyRole} == COMPANY_ROLES
