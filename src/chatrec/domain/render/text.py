"""The plain-text transcript: what a QA reviewer reads in any viewer (R15).

A header says whose chat this is, when, with whom, and why it was kept; then one line
per event.  Continuation lines of a message are indented, so no text a participant
types can pass for a line of the transcript itself (a forged pause marker, say).
"""

from __future__ import annotations

from typing import Any

from chatrec.domain.render.describe import (
    action,
    clean,
    clock,
    decided_by,
    detail_fields,
    flag_values,
    marker,
    note_label,
    one_line,
    staff_label,
    who,
)
from chatrec.domain.render.json_format import utf8

MEDIA_TYPE = "text/plain; charset=utf-8"

_INDENT = "    "


def _header(document: dict[str, Any]) -> list[str]:
    fields = [
        *detail_fields(document),
        ("Participants", "; ".join(staff_label(p) for p in document["participants"])),
        *flag_values(document),
    ]
    width = max(len(label) for label, _ in fields) + 2
    lines = [f"Chat transcript: chat {document['chat_id']}, recording {document['recording_id']}"]
    lines += [f"{label + ':':<{width}}{value}" for label, value in fields]
    lines += ["", f"Why this recording was kept: {decided_by(document)}."]
    lines += [f"  - {one_line(sentence)}" for sentence in document["decision"]["explanation"]]
    lines += ["", "Times are UTC.", ""]
    return lines


def _event_lines(entry: dict[str, Any], day: str) -> list[str]:
    if entry["type"] in {"paused", "resumed"}:
        return [f"--- {marker(entry, day)} ---"]
    stamp = f"[{clock(entry['at'], day)}]"
    if entry["type"] == "note":  # R23: marked, so no reader takes it for what was said
        first, *rest = clean(entry["text"]).split("\n")
        head = f"{stamp} [{note_label(entry).upper()}] {who(entry['by'])}: {first}"
        return [head, *(_INDENT + line for line in rest)]
    if entry["type"] != "message":
        return [f"{stamp} * {action(entry)}"]
    first, *rest = clean(entry["text"]).split("\n")
    return [f"{stamp} {who(entry['by'])}: {first}", *(_INDENT + line for line in rest)]


def render_text(document: dict[str, Any]) -> bytes:
    """The transcript as UTF-8 text with ``\\n`` line ends and a final newline."""
    day = document["started_at"][:10]
    lines = _header(document)
    for entry in document["events"]:
        lines += _event_lines(entry, day)
    return utf8("\n".join(lines) + "\n")
