"""Canned responses: a shortcut name, a text, and the placeholders filled when inserted.

A placeholder is a known name in braces, ``{customer_name}``; only those in
:data:`PLACEHOLDERS` are allowed, so a typo is refused on save rather than sent to a
customer.  Braces around anything that is not a name (``{ }``, ``{1}``, a lone ``{``)
are plain text.  Filling leaves no known placeholder behind, even one that a value
forms with the text around it (``{{agent_name}_name}``): braces are dropped from the
values, and placeholders are filled until none is left, which ends as each fill takes
two braces away and adds none.

The customer's name is unknown until a chat has pre-chat details, so
``{customer_name}`` then reads :data:`UNKNOWN_CUSTOMER` ("Hello there").  Inserted
text is a draft the agent may still edit, and is masked when sent like any message
(R22).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from chatrec.errors import CannedResponseError

PLACEHOLDERS = ("customer_name", "agent_name", "company_name")
UNKNOWN_CUSTOMER = "there"
"""What ``{customer_name}`` reads while the customer's name is unknown."""
MAX_TEXT = 4000
"""The message limit: a response is at most one message."""
MAX_NAME = 40
MAX_COMPANY_WIDE = 200
MAX_PERSONAL = 100
"""Per login."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"[^\W_][\w.-]*")


@dataclass(frozen=True, slots=True)
class CannedText:
    """A response's name and text, checked: what the store keeps."""

    name: str
    text: str


def placeholders_in(text: str) -> list[str]:
    """The placeholder names in ``text``, known or not, each once, in order."""
    return list(dict.fromkeys(match.group(1) for match in _PLACEHOLDER.finditer(text)))


def check_canned(name: str, text: str) -> CannedText:
    """The response as kept (name trimmed), or :class:`CannedResponseError` saying why not."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME or not _NAME.fullmatch(name):
        raise CannedResponseError(
            f"a canned response's name is its shortcut: 1 to {MAX_NAME} letters, digits, "
            f"'-', '_' or '.', starting with a letter or digit, without spaces; not {name!r}"
        )
    if not text.strip():
        raise CannedResponseError("a canned response needs a text")
    if len(text) > MAX_TEXT:
        raise CannedResponseError(
            f"a canned response's text has at most {MAX_TEXT} characters, as a message; "
            f"this one has {len(text)}"
        )
    unknown = [found for found in placeholders_in(text) if found not in PLACEHOLDERS]
    if unknown:
        known = ", ".join(f"{{{each}}}" for each in PLACEHOLDERS)
        named = ", ".join(f"{{{each}}}" for each in unknown)
        raise CannedResponseError(
            f"unknown placeholder{'s' if len(unknown) > 1 else ''} {named}; "
            f"the known ones are {known}"
        )
    return CannedText(name, text)


def placeholder_values(
    *, agent_name: str, company_name: str, customer_name: str | None = None
) -> dict[str, str]:
    """What each placeholder reads for this agent, company and (when known) customer."""
    return {
        "customer_name": customer_name or UNKNOWN_CUSTOMER,
        "agent_name": agent_name,
        "company_name": company_name,
    }


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each placeholder of ``values`` replaced (the values without braces);
    anything else is kept."""
    plain = {name: value.replace("{", "").replace("}", "") for name, value in values.items()}

    def value(match: re.Match[str]) -> str:
        return plain.get(match.group(1), match.group(0))

    filled, count = _PLACEHOLDER.subn(value, text)
    while count and any(found in plain for found in placeholders_in(filled)):
        filled, count = _PLACEHOLDER.subn(value, filled)
    return filled
