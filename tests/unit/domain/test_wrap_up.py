"""A company's wrap-up codes (R23): checked on save, chosen by name."""

from __future__ import annotations

import pytest

from chatrec.domain.wrap_up import MAX_CODES, check_wrap_up_codes, chosen_code
from chatrec.errors import InvalidRequestError


def test_R23_codes_are_kept_as_typed_but_for_spaces() -> None:
    assert check_wrap_up_codes(["  Billing  question ", "Claim"], True) == (
        "Billing question",
        "Claim",
    )
    assert check_wrap_up_codes([], False) == ()


@pytest.mark.parametrize(
    ("codes", "required", "message"),
    [
        (["Claim", " claim"], False, "'claim' is in the list twice"),
        (["ok", "   "], False, "cannot be empty"),
        (["x" * 61], False, "61 characters; at most 60"),
        (["esc\x1b[31mred"], False, "control character"),
        ([], True, "cannot be required while the list is empty"),
        ([f"c{n}" for n in range(MAX_CODES + 1)], False, "at most 50"),
    ],
)
def test_R19_R23_a_bad_list_is_refused_with_what_to_change(
    codes: list[str], required: bool, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        check_wrap_up_codes(codes, required)


def test_R23_a_code_is_chosen_by_name_whatever_its_case_and_spacing() -> None:
    codes = ("Billing question", "Claim")
    assert chosen_code(codes, "billing   QUESTION") == "Billing question"
    with pytest.raises(InvalidRequestError, match=r"'Refund' is not one of .*'Claim'"):
        chosen_code(codes, "Refund")
    with pytest.raises(InvalidRequestError, match="none: an administrator adds them"):
        chosen_code((), "Claim")
