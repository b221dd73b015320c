"""The customer widget's texts, one catalogue per language, and the language a frame shows.

The catalogues are JSON files, ``static/i18n/<language>.json``, English (``en.json``) the
source: a translator edits one flat file of keys and sentences, and a test reads them all
to prove every language has exactly English's keys and placeholders.  The frame page
carries the catalogues in a JSON data block (``widget_frame.html``), so the widget draws
its first screen in the customer's language with no request of its own and no flash of
English, and the Content-Security-Policy stays as strict as it is: a data block is no
script.  The frame's script picks the language: the site's ``data-lang``, which reaches
the frame as ``?lang=`` and is checked here, else the browser's languages, else English.

A sentence is a string with ``{name}`` placeholders, or, where a count appears, an object
of plural forms named as ``Intl.PluralRules`` names them (``one``, ``other``, …), of
which ``other`` is always present.  Only the widget's own words are here: what the
server sends (the company's flow messages, refusals' messages) is shown as it is sent.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

CATALOGUES = Path(__file__).parent / "static" / "i18n"
SOURCE_LANGUAGE = "en"

Sentence = str | dict[str, str]


@cache
def catalogues() -> dict[str, dict[str, Sentence]]:
    """Every language's catalogue, by language code: read once, then served from memory."""
    found: dict[str, dict[str, Sentence]] = {}
    for path in sorted(CATALOGUES.glob("*.json")):
        found[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return found


def asked_language(asked: str | None) -> str:
    """The language a site asked for (``data-lang``) if the widget speaks it, as its code;
    English for one it does not speak; "" when the site asked for none, which leaves the
    choice to the browser's languages.  A region or case does not matter (``de-AT``)."""
    if asked is None or not asked.strip():
        return ""
    language = asked.strip().lower().replace("_", "-").split("-", 1)[0]
    return language if language in catalogues() else SOURCE_LANGUAGE
