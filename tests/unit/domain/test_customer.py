"""A service's pre-chat form and the customer's answers (domain/customer.py; R23, issue
15): the form is checked on save, the answers at the chat's start, each refusal naming
the field to fix; free text is masked (R22); purge empties the details (R17)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrec.domain.codec import decode_event, emptied_by_purge, encode_event, purged_payload
from chatrec.domain.customer import MAX_FIELDS, FieldType, FormField, check_answers, check_form
from chatrec.domain.journal import Answer, ChatStarted, CustomerDetails
from chatrec.errors import InvalidRequestError
from tests.unit.domain.builders import ChatBuilder

FORM = check_form(
    [
        {"key": "name", "label": "Your name", "required": True},
        {"key": "email", "label": "E-mail", "type": "email"},
        {"key": "topic", "label": "Topic", "type": "select", "options": ["Sales", "Billing"]},
        {"key": "order", "label": "Order number"},
    ]
)


def _keep(text: str) -> str:
    return text


def _mask(text: str) -> str:
    return text.replace("4111", "####")


def test_R23_a_form_is_kept_as_checked_and_reads_back_as_stored() -> None:
    assert FORM[0] == FormField("name", "Your name", FieldType.TEXT, True)
    assert FORM[2].options == ("Sales", "Billing")
    stored = [field.to_dict() for field in FORM]
    assert check_form(stored) == FORM
    assert check_form([]) == ()


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ([{"key": "Name", "label": "x"}], "lower-case letters"),
        ([{"key": "", "label": "x"}], "lower-case letters"),
        ([{"key": "a", "label": "x", "type": "date"}], "type is text, email or select"),
        ([{"key": "email", "label": "x", "type": "text"}], "always of type email"),
        ([{"key": "name", "label": "x", "type": "email"}], "always of type text"),
        ([{"key": "a", "label": "x", "type": "select"}], "give it its options"),
        ([{"key": "a", "label": "x", "options": ["b"]}], "only a select may have"),
        ([{"key": "a", "label": "x", "type": "select", "options": ["b", "b"]}], "each once"),
        ([{"key": "a", "label": "x", "type": "select", "options": [" "]}], "needs a label"),
        ([{"key": "a", "label": "  "}], "field 'a' needs a label"),
        ([{"key": "a", "label": "x" * 101}], "at most 100"),
        ([{"key": "a", "label": "x"}, {"key": "a", "label": "y"}], "'a' is in the form twice"),
        ([{"key": f"f{n}", "label": "x"} for n in range(MAX_FIELDS + 1)], "at most 20 fields"),
    ],
)
def test_R23_a_form_that_cannot_be_used_is_refused_on_save_naming_the_field(
    fields: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(InvalidRequestError, match=problem):
        check_form(fields)


def test_R23_answers_become_the_customer_details_with_free_text_masked_R22() -> None:
    details = check_answers(
        FORM,
        {"name": " Kim  4111 ", "email": "Kim@Example.COM", "topic": "Billing", "order": "4111-7"},
        " https://shop.example/cart?card=4111 ",
        _mask,
    )
    assert details == CustomerDetails(
        name="Kim ####",
        email="kim@example.com",
        answers=(Answer("topic", "Topic", "Billing"), Answer("order", "Order number", "####-7")),
        page="https://shop.example/cart?card=####",
    )


def test_R23_no_form_and_no_page_is_no_details_and_optional_fields_may_stay_empty() -> None:
    assert check_answers((), {}, "", _keep) is None
    only_name = check_answers(FORM, {"name": "Kim", "order": "  "}, "", _keep)
    assert only_name == CustomerDetails(name="Kim")


@pytest.mark.parametrize(
    ("answers", "page", "problem"),
    [
        ({}, "", "'name' \\(Your name\\) is required"),
        ({"name": "Kim", "email": "kim at example"}, "", "'email' \\(E-mail\\) must be an e-mail"),
        ({"name": "Kim", "email": "k@" + "x" * 250 + ".com"}, "", "must be an e-mail"),
        ({"name": "Kim", "topic": "Other"}, "", "must be one of: Sales, Billing"),
        ({"name": "Kim", "order": "9" * 501}, "", "has 501 characters; at most 500"),
        ({"name": "Kim", "shoe_size": "44"}, "", "the form has no field 'shoe_size'"),
        ({"name": "Kim"}, "javascript:alert(1)", "http or https"),
        ({"name": "Kim"}, "https://", "http or https"),
        ({"name": "Kim"}, "https://x.example/" + "a" * 2000, "at most 2000"),
    ],
)
def test_R23_answers_the_form_does_not_accept_are_refused_naming_the_field(
    answers: dict[str, str], page: str, problem: str
) -> None:
    with pytest.raises(InvalidRequestError, match=problem):
        check_answers(FORM, answers, page, _keep)


DETAILS = CustomerDetails(
    name="Kim", email="kim@example.com", answers=(Answer("order", "Order", "7"),), page=""
)


def test_R21_a_journal_without_details_encodes_and_hashes_as_before() -> None:
    start = ChatBuilder().journal().start
    assert "customer" not in encode_event(start)


@given(st.sampled_from([None, DETAILS, CustomerDetails(page="https://a.example/")]))
def test_R23_details_round_trip_through_the_journals_json(details: CustomerDetails | None) -> None:
    start = ChatBuilder(customer=details).journal().start
    assert decode_event(encode_event(start)) == start


def test_R17_a_purge_empties_the_details_and_the_texts_and_keeps_all_else() -> None:
    started = encode_event(ChatBuilder(customer=DETAILS).journal().start)
    purged = purged_payload("chat_started", started)
    assert purged == {**started, "customer": {}}
    assert emptied_by_purge("chat_started", purged)
    assert not emptied_by_purge("chat_started", started)
    decoded = decode_event(purged)
    assert isinstance(decoded, ChatStarted)
    assert decoded.customer == CustomerDetails()  # decodable, with nothing personal left
    assert purged_payload("chat_started", encode_event(ChatBuilder().journal().start)) is None
    assert purged_payload("message_posted", {"text": "hi"}) == {"text": ""}
    assert purged_payload("message_posted", {"text": ""}) is None
    assert emptied_by_purge("note_added", {"text": ""})
