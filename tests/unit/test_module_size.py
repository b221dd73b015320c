"""Small modules (docs/architecture.md): one over about 400 lines says at its top why.

The sentence starts with "Its length" or "It is long" in the module's docstring, so a
reader meeting a long module learns first what holds it together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "chatrec"
LONGEST_WITHOUT_REASON = 420
REASONS = ("Its length", "It is long")


def unexplained(source: str) -> bool:
    """Whether a module's source is too long and its docstring says nothing of why."""
    if source.count("\n") <= LONGEST_WITHOUT_REASON:
        return False
    docstring = ast.get_docstring(ast.parse(source)) or ""
    return not any(reason in docstring for reason in REASONS)


def test_every_long_module_says_why_at_its_top() -> None:
    long_and_silent = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if unexplained(path.read_text(encoding="utf-8"))
    ]
    assert long_and_silent == []


@pytest.mark.parametrize(
    ("docstring", "lines", "blamed"),
    [
        ("A module.", 10, False),
        ("A module.", 500, True),
        ("A module.\n\nIts length is one rule's.", 500, False),
        ("A module.\n\nIt is long because ...", 500, False),
    ],
)
def test_the_check_blames_only_a_long_module_without_a_reason(
    docstring: str, lines: int, blamed: bool
) -> None:
    source = f'"""{docstring}"""\n' + "x = 1\n" * lines
    assert unexplained(source) is blamed
