"""A company's masking: card numbers unless turned off, and patterns of its own (R22)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrec.domain.masking import (
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS,
    Masking,
    MaskPattern,
    check_patterns,
)
from chatrec.errors import MaskPatternError

NATIONAL_ID = MaskPattern("National ID", r"\b[A-Z]{2}\d{6}[A-D]\b")
POLICY = MaskPattern("Policy", r"POL-\d{4,8}")
CARD = "4111 1111 1111 1111"


@pytest.mark.parametrize(
    ("masking", "text", "kept", "cards", "others"),
    [
        (Masking(), f"card {CARD}, id AB123456C", "card **** **** **** 1111, id AB123456C", 1, 0),
        (Masking(False), f"card {CARD}", f"card {CARD}", 0, 0),  # turned off: kept
        (
            Masking(patterns=(NATIONAL_ID, POLICY)),
            f"é {CARD}, AB123456C, POL-2231 and POL-77",
            "é **** **** **** 1111, *********, ***-**** and POL-77",
            1,
            2,
        ),
        # Non-ASCII text before a match: positions are characters, not bytes.
        (
            Masking(False, (NATIONAL_ID,)),
            "Zoë\u2019s ID: ZZ999999D.",
            "Zoë\u2019s ID: *********.",
            0,
            1,
        ),
        (Masking(False, (NATIONAL_ID,)), "no id here", "no id here", 0, 0),
        # A pattern that may also match nothing masks only what it does match.
        (Masking(False, (MaskPattern("Boundary", r"\bQ?"),)), "Qx ab Q", "*x ab *", 0, 2),
    ],
)
def test_R22_a_company_masks_card_numbers_unless_turned_off_and_values_of_its_own(
    masking: Masking, text: str, kept: str, cards: int, others: int
) -> None:
    masked = masking.mask(text)
    assert (masked.text, masked.card_numbers, masked.other_values) == (kept, cards, others)


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        (MaskPattern("Twice", r"(\d)\1"), "invalid escape sequence"),  # a back-reference
        (MaskPattern("Ahead", r"\d+(?=X)"), "invalid perl operator"),  # look-around
        (MaskPattern("Open", r"([A-Z]"), "missing \\)"),
        (MaskPattern("Anything", r"\d*"), "matches an empty text"),
        (MaskPattern("Long", "a" * (MAX_PATTERN_LENGTH + 1)), "1 to 300 characters"),
        (MaskPattern("   ", r"\d+"), "a name of 1 to 60"),
    ],
)
def test_R22_a_pattern_that_could_run_for_ever_or_mask_nothing_is_refused_and_says_why(
    pattern: MaskPattern, problem: str
) -> None:
    with pytest.raises(MaskPatternError, match=problem) as refused:
        check_patterns((NATIONAL_ID, pattern))
    assert refused.value.name == pattern.name


def test_R22_patterns_are_few_and_each_named_once() -> None:
    with pytest.raises(MaskPatternError, match="two patterns have this name"):
        check_patterns((NATIONAL_ID, MaskPattern(" national id", "x+")))
    many = tuple(MaskPattern(f"p{n}", f"x{n}") for n in range(MAX_PATTERNS + 1))
    with pytest.raises(MaskPatternError, match=f"at most {MAX_PATTERNS}"):
        check_patterns(many)
    assert check_patterns(many[:MAX_PATTERNS]) == many[:MAX_PATTERNS]


def test_R22_a_pattern_that_backtracks_without_end_in_other_engines_finishes() -> None:
    """Python's ``re`` takes longer than the universe's age on this; RE2 is linear."""
    nested = Masking(False, (MaskPattern("Nested", r"(a+)+b"),))
    text = "a" * 50_000 + "!"
    assert nested.mask(text).text == text


@given(st.text(max_size=200))
def test_R22_masking_changes_letters_and_digits_into_stars_and_nothing_else(text: str) -> None:
    masked = Masking(patterns=(NATIONAL_ID, MaskPattern("Words", r"[a-z]{3,}"))).mask(text)
    assert len(masked.text) == len(text)
    for before, after in zip(text, masked.text, strict=True):
        assert after == before or (after == "*" and before.isalnum())
