"""Company settings as the rules read them (R1, R15)."""

from __future__ import annotations

import pytest

from chatrec.domain.filenames import FilenameTemplate
from chatrec.domain.journal import StaffSnapshot
from chatrec.domain.roles import LoginRole
from chatrec.domain.settings import (
    DEFAULT_TEMPLATE,
    CompanySettings,
    Product,
    UserLogin,
)


def test_R1_records_only_with_both_products() -> None:
    template = FilenameTemplate.parse(DEFAULT_TEMPLATE)
    both = CompanySettings("acme", "Acme", frozenset(Product), template)
    assert both.records
    assert both.missing_products == frozenset()
    webchat_only = CompanySettings("acme", "Acme", frozenset({Product.WEBCHAT}), template)
    assert not webchat_only.records
    assert webchat_only.missing_products == {Product.CALL_RECORDING}


def test_R15_a_company_needs_at_least_one_format() -> None:
    template = FilenameTemplate.parse(DEFAULT_TEMPLATE)
    with pytest.raises(ValueError, match="at least one recording format"):
        CompanySettings("acme", "Acme", frozenset(Product), template, formats=frozenset())


def test_R12a_R4_R7_a_login_snapshot_copies_its_recording_settings() -> None:
    login = UserLogin("u1", "Bob", LoginRole.AGENT, False, False, 30)
    assert login.snapshot() == StaffSnapshot(
        permit_recordings=False, record_chats=False, record_percentage=30
    )
    default = UserLogin("u2", "Ann", LoginRole.SUPERVISOR).snapshot()
    assert default == StaffSnapshot(
        permit_recordings=True, record_chats=True, record_percentage=100
    )
