"""Participants, involvement (R12a) and the primary agent (R15 metadata)."""

from __future__ import annotations

from chatrec.domain.journal import CUSTOMER, AgentAssigned, SupervisorJoined
from chatrec.domain.participants import (
    involved_staff,
    present_agent_ids,
    present_staff,
    primary_agent,
    stints,
)
from tests.unit.domain.builders import ChatBuilder, agent, supervisor

ALICE, BOB, SAM = agent("alice"), agent("bob"), supervisor("sam")


def test_stints_close_on_leave_and_on_transfer_away() -> None:
    journal = (
        ChatBuilder().assign(ALICE).transfer(ALICE, BOB).supervisor_joins(SAM).leaves(SAM).end()
    ).journal()
    found = {(s.actor.name, s.left_at is None) for s in stints(journal)}
    assert found == {("Customer", True), ("Alice", False), ("Bob", True), ("Sam", False)}


def test_R20_present_staff_are_those_with_an_open_stint_and_agents_among_them_count() -> None:
    carol = agent("carol")
    journal = (
        ChatBuilder()
        .assign(ALICE)
        .assign(carol)
        .supervisor_joins(SAM)
        .transfer(ALICE, BOB)
        .leaves(carol)
        .journal()
    )
    assert present_staff(stints(journal)) == {"bob": BOB, "sam": SAM}  # never the customer
    assert present_agent_ids(journal) == ("bob",)  # the supervisor takes no agent's slot


def test_a_rejoin_while_still_present_does_not_open_a_second_stint() -> None:
    journal = ChatBuilder().assign(ALICE).assign(ALICE).end().journal()
    assert [s.actor for s in stints(journal)] == [CUSTOMER, ALICE]


def test_R12a_involved_staff_are_agents_who_handled_and_supervisors_who_joined() -> None:
    journal = ChatBuilder().assign(ALICE).transfer(ALICE, BOB).supervisor_joins(SAM).journal()
    joins = involved_staff(journal)
    assert [type(j) for j in joins] == [AgentAssigned, AgentAssigned, SupervisorJoined]
    assert [j.actor for j in joins] == [ALICE, BOB, SAM]


def test_primary_agent_handled_the_chat_longest_over_all_legs() -> None:
    builder = ChatBuilder().assign(ALICE).transfer(ALICE, BOB)
    for n in range(5):
        builder.says(BOB, f"message {n}")
    journal = builder.transfer(BOB, ALICE).end().journal()
    assert primary_agent(journal) == BOB


def test_primary_agent_tie_goes_to_who_joined_first() -> None:
    journal = ChatBuilder().assign(ALICE).transfer(ALICE, BOB).end().journal()
    # Alice: assign..transfer = 1 s; Bob: join..end = 1 s.
    assert primary_agent(journal) == ALICE


def test_no_agent_means_no_primary_agent_even_in_an_open_chat() -> None:
    assert primary_agent(ChatBuilder().supervisor_joins(SAM).journal()) is None


def test_leaving_without_having_joined_changes_nothing() -> None:
    journal = ChatBuilder().leaves(SAM).assign(ALICE).end().journal()
    assert [s.actor for s in stints(journal)] == [CUSTOMER, ALICE]
