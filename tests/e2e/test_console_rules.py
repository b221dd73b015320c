"""Rules in people's words, and the demo company's own names, in Chromium (R5b, R14).

Wherever a person reads an explanation it names the rule in plain words first, its id
as a tag; the console lists every rule that way.  One server for the module: the tests
read what the demo company's first chat left behind, and change nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from chatrec.domain.rules import RULES
from tests.e2e.conftest import seeded_server
from tests.e2e.test_chat_pages import widget_in
from tests.e2e.test_console import log_in, open_section
from tests.integration.server import SeededDemo, ServerProcess

NewPage = Callable[[], Page]
GREETING = "Hello and welcome to Demo Insurance support!"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, seeded_demo: SeededDemo
) -> Iterator[ServerProcess]:
    with seeded_server(tmp_path_factory.mktemp("rules"), seeded_demo) as process:
        yield process


def test_R5b_R14_the_customer_is_greeted_by_the_demo_company_and_the_chat_page_names_the_rule(
    server: ServerProcess, new_page: NewPage
) -> None:
    customer = new_page()
    customer.goto(f"{server.url}/widget/demo?service=demo-support")
    widget = widget_in(customer)
    widget.get_by_role("button", name="Chat with us").click()
    widget.get_by_role("button", name="Start chat").click()
    expect(widget.get_by_text(GREETING)).to_be_visible()
    expect(widget).not_to_contain_text("Acme")
    widget.get_by_role("button", name="Billing").click()  # the flow records (R5b), then queues
    expect(widget.get_by_text("An agent will be with you shortly.")).to_be_visible()
    widget.get_by_role("button", name="End chat").click()
    widget.get_by_role("button", name="Yes, end the chat").click()
    expect(widget.get_by_role("status")).to_have_text("This chat has ended.")

    admin = new_page()
    log_in(admin, server, "ada", "/console")
    open_section(admin, "Chats")
    admin.locator("#chats-body a").click()
    explanation = admin.locator("#explanation")
    sentence = explanation.locator(".sentences li")
    expect(sentence).to_have_count(1)
    expect(sentence).to_have_text(
        re.compile(r"^Flow recording \(R5b\): recording \w+-r1 \(flow recording \(step quality, ")
    )
    rule = explanation.get_by_role("row", name=re.compile("-r1")).locator("td").nth(3)
    expect(rule).to_have_text("Flow recording (R5b)")
    rule.get_by_role("link", name="Flow recording").click()
    expect(admin).to_have_url(f"{server.url}/console/rules#R5b")
    row = admin.get_by_role("row", name=re.compile("^Flow recording"))
    expect(row).to_contain_text("Each record step the chat flow runs starts a recording")
    expect(row).to_contain_text("Chat flows (record steps).")


def test_R14_the_rules_page_lists_every_rule_in_plain_words_for_operators_too(
    server: ServerProcess, new_page: NewPage
) -> None:
    admin = new_page()
    log_in(admin, server, "ada", "/console")
    open_section(admin, "Rules")
    rows = admin.locator("#rules tbody tr")
    expect(rows).to_have_count(len(RULES))
    for rule in RULES:
        cells = admin.locator(f"#rules tr[data-rule='{rule.rule_id}'] > *")
        expect(cells).to_have_text([rule.name, rule.rule_id, rule.summary, rule.acts])
    veto = admin.get_by_role("row", name=re.compile(r"^Permit Recordings veto R12a\b"))
    expect(veto).to_contain_text("Permit Recordings off when they joined")

    operator = new_page()  # no company chosen yet: the rules are the same for every company
    log_in(operator, server, "olga", "/console/companies")
    open_section(operator, "Rules")
    expect(operator.locator("#rules tbody tr")).to_have_count(len(RULES))
