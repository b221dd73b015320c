"""Card numbers masked to their last four digits before anything keeps them (R22)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrec.domain.cards import luhn_valid, mask_card_numbers

WIDE = str.maketrans("0123456789", "".join(chr(0xFF10 + n) for n in range(10)))
"""Full-width digits, as some keyboards type them."""


@pytest.mark.parametrize(
    ("text", "kept", "count"),
    [
        ("card 4111 1111 1111 1111 exp 12/28", "card **** **** **** 1111 exp 12/28", 1),
        ("4111-1111-1111-1111", "****-****-****-1111", 1),
        ("4111111111111111", "************1111", 1),
        ("amex 378282246310005.", "amex ***********0005.", 1),  # 15 digits
        ("378282246310005 and 5555555555554444", "***********0005 and ************4444", 2),
        # A number before the card in the same run of digits does not hide it.
        ("order 12 4111 1111 1111 1111", "order 12 **** **** **** 1111", 1),
        # Full-width digits, as some keyboards type them.
        ("4111 1111 1111 1111".translate(WIDE), "**** **** **** " + "1111".translate(WIDE), 1),
        ("4111 1111 1111 1112", "4111 1111 1111 1112", 0),  # fails the Luhn check
        ("call 0207 946 0958", "call 0207 946 0958", 0),  # too short
        ("4111111111111111000000", "4111111111111111000000", 0),  # 22 digits: no card
        ("4111  1111 1111 1111", "4111  1111 1111 1111", 0),  # two spaces: two numbers
        ("", "", 0),
    ],
)
def test_R22_card_numbers_are_masked_to_their_last_four_digits(
    text: str, kept: str, count: int
) -> None:
    masked = mask_card_numbers(text)
    assert (masked.text, masked.count) == (kept, count)


def test_R22_the_luhn_check() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def _luhn_complete(body: str) -> str:
    """``body`` with the check digit that makes it pass."""
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


cards = st.integers(12, 18).flatmap(
    lambda n: st.text("0123456789", min_size=n, max_size=n).map(_luhn_complete)
)
separators = st.sampled_from(["", " ", "-"])
words = st.text(st.characters(blacklist_categories=["Nd"]), max_size=12)


@given(words, cards, separators, words)
def test_R22_property_a_card_in_any_text_keeps_only_its_last_four_digits(
    before: str, card: str, separator: str, after: str
) -> None:
    written = separator.join(card[i : i + 4] for i in range(0, len(card), 4))
    masked = mask_card_numbers(f"{before} {written} {after}")
    assert masked.count == 1
    start, end = len(before) + 1, len(before) + 1 + len(written)
    assert masked.text[:start] == f"{before} "
    assert masked.text[end:] == f" {after}"
    shown = masked.text[start:end]
    assert "".join(c for c in shown if c.isdigit()) == card[-4:]
    for kept, original in zip(shown, written, strict=True):  # the shape stays
        assert kept == original or (original.isdigit() and kept == "*")


@given(st.text(max_size=200))
def test_R22_property_masking_is_idempotent_and_keeps_the_length(text: str) -> None:
    once = mask_card_numbers(text)
    assert len(once.text) == len(text)
    assert mask_card_numbers(once.text).count == 0
