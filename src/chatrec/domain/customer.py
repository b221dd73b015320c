"""A service's pre-chat form and the customer's answers to it (R23; issue 15).

An administrator defines the form per service: the customer's ``name`` and ``email``
and custom fields, each optional or required.  The form is checked when it is saved
(:func:`check_form`), so a chat start never meets a form it cannot use; the answers are
checked when the chat starts (:func:`check_answers`), which is the authority whatever
the widget checked before: a refused answer starts no chat and names the field to fix.

The answers and the page the chat started on are personal data: kept in the journal's
``ChatStarted`` (masked as messages are, R22), in the recording's metadata, in a
filename only through a token the administrator wrote, and purged with the chat's texts
(R17).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from chatrec.domain.journal import Answer, CustomerDetails
from chatrec.errors import InvalidRequestError

MAX_FIELDS = 20
MAX_LABEL = 100
MAX_OPTIONS = 30
MAX_ANSWER = 500
MAX_EMAIL = 254
MAX_PAGE = 2000
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Deliberately loose: one @, a dot in the domain, no spaces.  Whether the address
# exists only a message to it could tell.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FieldType(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    SELECT = "select"


NAME, EMAIL = "name", "email"
_BUILT_IN = {NAME: FieldType.TEXT, EMAIL: FieldType.EMAIL}
"""The fields the desk knows by key: the customer's name and e-mail (which finds their
earlier chats), each of its one type."""


@dataclass(frozen=True, slots=True)
class FormField:
    """One field of a pre-chat form; ``options`` only for a ``select``."""

    key: str
    label: str
    type: FieldType = FieldType.TEXT
    required: bool = False
    options: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "type": self.type.value,
            "required": self.required,
            "options": list(self.options),
        }


def _label(text: str, what: str) -> str:
    kept = " ".join(str(text).split())
    if not kept:
        raise InvalidRequestError(f"{what} needs a label")
    if len(kept) > MAX_LABEL:
        raise InvalidRequestError(f"{what}: {len(kept)} characters; at most {MAX_LABEL}")
    return kept


def _field(data: Mapping[str, Any], number: int) -> FormField:
    key = str(data.get("key", "")).strip()
    if not _KEY.match(key):
        raise InvalidRequestError(
            f"field {number}: key {key!r} must be lower-case letters, digits and _, "
            "starting with a letter (at most 32), such as order_number"
        )
    try:
        kind = FieldType(data.get("type", FieldType.TEXT.value))
    except ValueError:
        raise InvalidRequestError(
            f"field {key!r}: type is text, email or select, not {data.get('type')!r}"
        ) from None
    if key in _BUILT_IN and kind is not _BUILT_IN[key]:
        raise InvalidRequestError(f"field {key!r} is always of type {_BUILT_IN[key].value}")
    options = tuple(
        _label(option, f"an option of field {key!r}") for option in data.get("options") or ()
    )
    if kind is FieldType.SELECT and not options:
        raise InvalidRequestError(f"field {key!r} is a select: give it its options")
    if kind is not FieldType.SELECT and options:
        raise InvalidRequestError(f"field {key!r} has options, which only a select may have")
    if len(options) > MAX_OPTIONS or len(set(options)) != len(options):
        raise InvalidRequestError(f"field {key!r}: at most {MAX_OPTIONS} options, each once")
    return FormField(
        key=key,
        label=_label(data.get("label", ""), f"field {key!r}"),
        type=kind,
        required=bool(data.get("required", False)),
        options=options,
    )


def check_form(fields: Iterable[Mapping[str, Any]]) -> tuple[FormField, ...]:
    """The form as kept; :class:`InvalidRequestError` naming the field to change.  No
    fields: the service has no form and chats start at once."""
    form = tuple(_field(data, number) for number, data in enumerate(fields, start=1))
    if len(form) > MAX_FIELDS:
        raise InvalidRequestError(f"a form has at most {MAX_FIELDS} fields, not {len(form)}")
    keys = [field.key for field in form]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise InvalidRequestError(f"field {twice[0]!r} is in the form twice")
    return form


def check_page(page: str) -> str:
    """The page the chat started on, as the widget gave it: an http(s) address of at most
    :data:`MAX_PAGE` characters, or ``""`` for none."""
    page = page.strip()
    if not page:
        return ""
    if len(page) > MAX_PAGE:
        raise InvalidRequestError(
            f"the page address has {len(page)} characters; at most {MAX_PAGE}"
        )
    parts = urlsplit(page)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidRequestError("the page must be an http or https address")
    return page


def _answer(field: FormField, given: str, mask: Callable[[str], str]) -> str:
    value = " ".join(given.split())
    if not value:
        if field.required:
            raise InvalidRequestError(f"{field.key!r} ({field.label}) is required")
        return ""
    if field.type is FieldType.EMAIL:
        if len(value) > MAX_EMAIL or not _EMAIL.match(value):
            raise InvalidRequestError(
                f"{field.key!r} ({field.label}) must be an e-mail address, such as name@example.com"
            )
        return value.lower()  # one customer's address, however they typed it
    if field.type is FieldType.SELECT:
        if value not in field.options:
            raise InvalidRequestError(
                f"{field.key!r} ({field.label}) must be one of: {', '.join(field.options)}"
            )
        return value
    if len(value) > MAX_ANSWER:
        raise InvalidRequestError(
            f"{field.key!r} ({field.label}) has {len(value)} characters; at most {MAX_ANSWER}"
        )
    return mask(value)  # free text is masked as a message is (R22)


def check_answers(
    form: tuple[FormField, ...],
    answers: Mapping[str, str],
    page: str,
    mask: Callable[[str], str],
) -> CustomerDetails | None:
    """The customer's details as the journal keeps them, or ``None`` for none at all.

    Refuses, naming the field, a required field left empty, an e-mail that is not one,
    a select's value not among its options, and an answer to a field the form lacks.
    """
    keys = {field.key for field in form}
    unknown = sorted(set(answers) - keys)
    if unknown:
        raise InvalidRequestError(f"the form has no field {unknown[0]!r}")
    values = {field.key: _answer(field, answers.get(field.key, ""), mask) for field in form}
    details = CustomerDetails(
        name=values.pop(NAME, ""),
        email=values.pop(EMAIL, ""),
        answers=tuple(
            Answer(field.key, field.label, values[field.key])
            for field in form
            if values.get(field.key)
        ),
        page=mask(check_page(page)),
    )
    return details if details != CustomerDetails() else None
