"""Canned responses: names are shortcuts, texts are one message, placeholders are known
ones, and filling them in never fails (R23; issue 15)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrec.domain.canned import (
    MAX_NAME,
    MAX_TEXT,
    PLACEHOLDERS,
    UNKNOWN_CUSTOMER,
    CannedText,
    check_canned,
    fill_placeholders,
    placeholder_values,
    placeholders_in,
)
from chatrec.errors import CannedResponseError

VALUES = placeholder_values(agent_name="Alice", company_name="Demo Insurance")


@pytest.mark.parametrize(
    ("name", "text", "kept"),
    [
        ("greet", "Hello {customer_name}!", CannedText("greet", "Hello {customer_name}!")),
        (
            "  refund-policy.v2 ",
            "See our policy.",
            CannedText("refund-policy.v2", "See our policy."),
        ),
        ("büro_1", "Guten Tag", CannedText("büro_1", "Guten Tag")),
        ("x" * MAX_NAME, "t" * MAX_TEXT, CannedText("x" * MAX_NAME, "t" * MAX_TEXT)),
        # Braces around what is no name are text, not placeholders.
        (
            "json",
            'Send {"id": 1} or { } or {1}',
            CannedText("json", 'Send {"id": 1} or { } or {1}'),
        ),
    ],
)
def test_R23_a_canned_response_is_kept_as_written(name: str, text: str, kept: CannedText) -> None:
    assert check_canned(name, text) == kept


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("", "Hi", "name is its shortcut"),
        ("two words", "Hi", "without spaces"),
        ("-dash", "Hi", "starting with a letter or digit"),
        ("x" * (MAX_NAME + 1), "Hi", f"1 to {MAX_NAME}"),
        ("greet", "  \n", "needs a text"),
        ("greet", "t" * (MAX_TEXT + 1), f"at most {MAX_TEXT} characters"),
        ("greet", "Hi {customer}", "unknown placeholder {customer}; the known ones are "),
        ("greet", "{a} {b} {a}", "unknown placeholders {a}, {b};"),
    ],
)
def test_R19_a_canned_response_that_cannot_be_used_is_refused_saying_why(
    name: str, text: str, says: str
) -> None:
    with pytest.raises(CannedResponseError, match=None) as refused:
        check_canned(name, text)
    assert says in str(refused.value)


def test_R23_an_unknown_placeholder_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(CannedResponseError) as refused:
        check_canned("greet", "Dear {custommer_name}")
    message = str(refused.value)
    assert "{custommer_name}" in message
    assert all(f"{{{known}}}" in message for known in PLACEHOLDERS)


@pytest.mark.parametrize(
    ("text", "values", "filled"),
    [
        ("Hello {customer_name}, I'm {agent_name}.", VALUES, "Hello there, I'm Alice."),
        (
            "Thanks for contacting {company_name}, {customer_name}.",
            placeholder_values(agent_name="A", company_name="Acme", customer_name="Zoë"),
            "Thanks for contacting Acme, Zoë.",
        ),
        ("No placeholders {here", VALUES, "No placeholders {here"),
        ("{unknown} stays", VALUES, "{unknown} stays"),
        # A value's braces are dropped: it is never filled in turn.
        (
            "{customer_name} and {agent_name}",
            placeholder_values(agent_name="B", company_name="C", customer_name="{agent_name}"),
            "agent_name and B",
        ),
        # A placeholder a value forms with the text around it is filled too.
        (
            "{{agent_name}_name}",
            placeholder_values(agent_name="customer", company_name="C"),
            "there",
        ),
        ("{{agent_name}company_name}", placeholder_values(agent_name="", company_name="C"), "C"),
    ],
)
def test_R23_placeholders_are_filled_when_a_response_is_inserted(
    text: str, values: dict[str, str], filled: str
) -> None:
    assert fill_placeholders(text, values) == filled


def test_R23_an_unknown_customer_is_greeted_with_a_neutral_word() -> None:
    assert placeholder_values(agent_name="A", company_name="C")["customer_name"] == "there"
    assert UNKNOWN_CUSTOMER == "there"


def test_placeholders_in_names_each_once_in_order() -> None:
    assert placeholders_in("{b} {a} {b} {1} { c }") == ["b", "a"]


names = st.text(max_size=30) | st.sampled_from(["", "customer", "{agent_name}", "company"])


@given(
    text=st.text(max_size=300)
    | st.lists(st.sampled_from([*(f"{{{p}}}" for p in PLACEHOLDERS), "{", "}", "_name", "x"])).map(
        "".join
    ),
    agent=names,
    company=names,
    customer=st.none() | names,
)
def test_R23_filling_never_raises_and_never_leaves_a_known_placeholder(
    text: str, agent: str, company: str, customer: str | None
) -> None:
    values = placeholder_values(agent_name=agent, company_name=company, customer_name=customer)
    filled = fill_placeholders(text, values)
    assert not [found for found in placeholders_in(filled) if found in PLACEHOLDERS]
