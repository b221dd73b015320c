"""The JSON recording format: the document itself, as deterministic UTF-8 bytes (R15).

Keys keep the document's order (not sorted) so a person reading the file meets the
metadata before the events; the same document always gives the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

MEDIA_TYPE = "application/json"


def utf8(text: str) -> bytes:
    """Encode, replacing lone surrogates: a malformed character never loses a file (R19)."""
    return text.encode("utf-8", errors="replace")


def dump_json(data: Any) -> bytes:
    """Pretty, deterministic JSON with a final newline; non-ASCII text stays readable."""
    return utf8(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


def render_json(document: dict[str, Any]) -> bytes:
    """The recording in the documented JSON format, schema ``recording/1``."""
    return dump_json(document)
