"""The one translation of stored companies into the settings the rules read (R22)."""

from __future__ import annotations

import logging

import pytest

from chatrec.domain.masking import MaskPattern
from chatrec.services.directory import company_settings
from chatrec.store.records import CompanyRecord

NATIONAL_ID = MaskPattern("National ID", r"\b[A-Z]{2}\d{6}[A-D]\b")


def test_R22_a_stored_pattern_a_newer_engine_refuses_is_left_out_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = CompanyRecord(
        company_id="acme",
        name="Acme",
        products=frozenset(),
        default_template="{chat_id}",
        formats=frozenset({"json"}),
        masking_patterns=(MaskPattern("Old", r"(x)\1"), NATIONAL_ID),
    )
    with caplog.at_level(logging.ERROR):
        masking = company_settings(record).masking
    assert masking.patterns == (NATIONAL_ID,)
    assert masking.card_numbers
    assert "masking pattern 'Old'" in caplog.text
