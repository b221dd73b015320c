"""The widget's catalogues: every language says everything English says, with the same
placeholders, so no customer meets a missing sentence or a raw ``{name}``."""

from __future__ import annotations

import re

import pytest

from chatrec.web.widget_texts import SOURCE_LANGUAGE, Sentence, asked_language, catalogues

PLACEHOLDER = re.compile(r"\{(\w+)\}")
PLURAL_FORMS = {"zero", "one", "two", "few", "many", "other"}  # Intl.PluralRules' names
SOURCE = catalogues()[SOURCE_LANGUAGE]
OTHERS = sorted(set(catalogues()) - {SOURCE_LANGUAGE})


def placeholders(sentence: Sentence) -> set[str]:
    forms = [sentence] if isinstance(sentence, str) else list(sentence.values())
    return {name for form in forms for name in PLACEHOLDER.findall(form)}


def test_english_and_at_least_one_other_language_are_there() -> None:
    assert SOURCE
    assert OTHERS


@pytest.mark.parametrize("language", OTHERS)
def test_every_language_has_exactly_the_english_keys(language: str) -> None:
    catalogue = catalogues()[language]
    assert sorted(set(SOURCE) - set(catalogue)) == [], "missing"
    assert sorted(set(catalogue) - set(SOURCE)) == [], "not in English"


@pytest.mark.parametrize("language", OTHERS)
def test_every_sentence_has_the_english_placeholders_and_plurality(language: str) -> None:
    catalogue = catalogues()[language]
    for key, source in SOURCE.items():
        assert placeholders(catalogue[key]) == placeholders(source), key
        assert isinstance(catalogue[key], str) == isinstance(source, str), key


@pytest.mark.parametrize("language", [SOURCE_LANGUAGE, *OTHERS])
def test_sentences_are_text_and_plural_forms_are_named_as_the_browser_names_them(
    language: str,
) -> None:
    for key, sentence in catalogues()[language].items():
        if isinstance(sentence, str):
            assert sentence.strip(), key
        else:
            assert "other" in sentence, key
            assert set(sentence) <= PLURAL_FORMS, key
            assert all(isinstance(form, str) and form.strip() for form in sentence.values()), key
            assert "count" in placeholders(sentence), key


@pytest.mark.parametrize(
    ("asked", "language"),
    [
        (None, ""),  # the site chose none: the browser's languages choose
        ("", ""),
        ("de", "de"),
        ("DE-at", "de"),
        ("de_CH", "de"),
        ("en-GB", "en"),
        ("xx", "en"),  # one the widget does not speak is English, never an error
        ('"><script>', "en"),
    ],
)
def test_a_site_choice_of_language_is_one_the_widget_speaks_or_english(
    asked: str | None, language: str
) -> None:
    assert asked_language(asked) == language
