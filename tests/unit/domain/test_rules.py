"""Every rule a person meets in an explanation has a plain name (R14; SPEC's interpretations)."""

from __future__ import annotations

import inspect
import re

import pytest
from hypothesis import given

from chatrec.domain import decision
from chatrec.domain.decision import decide_recordings
from chatrec.domain.journal import Journal
from chatrec.domain.rules import RULES, rule_label, rule_of
from tests.unit.domain.builders import company
from tests.unit.domain.strategies import journals

RULE_ID = re.compile(r"""["'](R\d+[a-z]?)["']""")


def test_R14_every_rule_id_the_decision_can_give_has_a_plain_name() -> None:
    """Read from the decision's source, so a rule added there without a name fails here."""
    used = set(RULE_ID.findall(inspect.getsource(decision)))
    assert {"R1", "R4", "R5", "R5a", "R5b", "R7", "R12a", "R12b", "R12c", "R13"} <= used
    for rule_id in sorted(used):
        assert rule_of(rule_id).name, rule_id


@given(journals())
def test_R14_every_rule_of_a_decision_is_named_in_plain_words(journal: Journal) -> None:
    for settings in (company(), company(products=frozenset())):
        decided = decide_recordings(settings, journal)
        facts = [fact for verdict in decided.verdicts for fact in verdict.facts]
        for rule_id in {v.rule for v in decided.verdicts} | {f.rule for f in facts}:
            assert rule_label(rule_id) in " ".join(decided.sentences())
        for fact in decided.not_started:
            assert any(s.startswith(f"{rule_label(fact.rule)}: ") for s in decided.sentences())


def test_R14_a_label_is_the_plain_name_with_the_id_as_a_tag() -> None:
    assert rule_label("R12a") == "Permit Recordings veto (R12a)"


def test_the_table_has_each_rule_once_with_a_name_a_sentence_and_where_it_acts() -> None:
    ids = [rule.rule_id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert {f"R{n}" for n in range(1, 20)} <= set(ids)
    for rule in RULES:
        assert RULE_ID.fullmatch(f"'{rule.rule_id}'")
        assert rule.name[:1].isupper(), rule.rule_id
        assert not rule.name.endswith("."), rule.rule_id
        assert rule.summary.endswith("."), rule.rule_id
        assert ". " not in rule.summary, rule.rule_id  # one sentence
        assert rule.acts.endswith("."), rule.rule_id


def test_an_unknown_rule_id_is_refused_by_name() -> None:
    with pytest.raises(KeyError, match="no rule 'R99'"):
        rule_of("R99")
