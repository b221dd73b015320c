"""Words shared by the readable transcripts, so text and HTML say the same thing.

Everything here reads the recording document, returns plain (unescaped) text, and
leaves escaping to the format that needs it.
"""

from __future__ import annotations

import re

from chatrec.domain.render.document import Json
from chatrec.domain.rules import rule_label

# C0 and C1 controls but tab and newline: a terminal or browser could act on them.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

LABELS = {
    "abusive": "Flagged abusive",
    "deletion_requested_by_customer": "Deletion requested by customer",
    "delete_pressed": "Delete recording pressed",
    "discarded": "Discarded by the chat flow",
    "consent": "Consent to record",
    "paused_spans": "Paused spans",
    "masked_card_numbers": "Card numbers masked",
    "masked_other_values": "Other values masked",
}
CONSENT = {
    "granted": "granted",
    "declined": "declined",
    "unanswered": "asked, not answered",
    "not_asked": "not asked",
}


def clean(text: str) -> str:
    """Text with line breaks normalised and control characters made harmless."""
    return _CONTROLS.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(text: str) -> str:
    """A value that must stay on its line (names, reasons): breaks become spaces."""
    return clean(text).replace("\n", " ")


def who(actor: Json) -> str:
    return f"{one_line(actor['name'])} ({actor['role']})"


def note_label(entry: Json) -> str:
    """How an internal note is headed in a transcript: never mistaken for a message the
    customer read (R23)."""
    return "internal note for the transfer" if entry.get("with_transfer") else "internal note"


def clock(at: str, day: str) -> str:
    """``HH:MM:SS``, with the date in front when it is not the chat's first day."""
    return at[11:19] if at[:10] == day else f"{at[:10]} {at[11:19]}"


def marker_head(entry: Json) -> str:
    """Who paused or resumed the recording: the marker of R8 without its time."""
    verb = "paused" if entry["type"] == "paused" else "resumed"
    return f"Recording {verb} by {who(entry['by'])}"


def marker(entry: Json, day: str) -> str:
    """The gap marker of R8: who paused or resumed the recording, and when."""
    return f"{marker_head(entry)} at {clock(entry['at'], day)}"


def action(entry: Json) -> str:
    """What a non-message, non-marker event did, as a sentence without a final stop."""
    by = who(entry["by"])
    match entry["type"]:
        case "joined":
            if entry["by_transfer"]:
                how = " by transfer"
            elif entry["queue"] is not None:
                how = f" from queue {one_line(entry['queue'])}"
            else:
                how = ""
            return f"{by} joined the chat{how}"
        case "left":
            return f"{by} left the chat"
        case "transferred":
            target = entry["to_agent"]
            to = who(target) if target else f"queue {one_line(entry['to_queue'])}"
            return f"{by} transferred the chat to {to}"
        case "consent_asked":
            return f"{by} asked for consent to record: {one_line(entry['question'])}"
        case "consent_answered":
            return f"{by} {entry['answer']} consent to record"
        case "recording_requested":
            step, reason = one_line(entry["step"]), one_line(entry["reason"])
            return f"{by} requested a recording (step {step}, reason {reason})"
        case "discarded":
            return f"{by} discarded the chat's recordings"
        case "deletion_requested":
            return f"{by} asked for the recording to be deleted"
        case "delete_pressed":
            return f"{by} pressed Delete recording"
        case "flagged_abusive":
            return f"{by} flagged the chat as abusive"
        case "attachment":
            where = f", delivered as {entry['file']}" if entry["file"] else ", not delivered"
            return (
                f"{by} sent the file {one_line(entry['name'])} ({entry['media_type']}, "
                f"{entry['size']} bytes, SHA-256 {entry['sha256']}{where})"
            )
        case _:
            return f"{by} ended the chat ({one_line(entry['reason'])})"


def flag_values(document: Json) -> list[tuple[str, str]]:
    """The outcome flags as label and readable value, in a fixed order."""
    outcome = document["outcome"]
    values: list[tuple[str, str]] = []
    for key, label in LABELS.items():
        value = outcome[key]
        if key == "consent":
            values.append((label, CONSENT[value]))
        elif isinstance(value, bool):
            values.append((label, "yes" if value else "no"))
        else:
            values.append((label, str(value)))
    return values


def recording_line(document: Json) -> str:
    """The recording's id with why it exists: origin, reason, and whose or which step."""
    parts = [f"origin {document['origin']}", f"reason {one_line(document['reason'])}"]
    if document["recording_agent"] is not None:
        parts.append(f"agent {one_line(document['recording_agent']['name'])}")
    if document["flow_step"] is not None:
        parts.append(f"flow step {one_line(document['flow_step'])}")
    return f"{document['recording_id']} ({', '.join(parts)})"


def staff_label(actor: Json | None) -> str:
    """An actor with their login id, or ``none``."""
    if actor is None:
        return "none"
    login = f", {actor['user_id']}" if actor["user_id"] else ""
    return f"{one_line(actor['name'])} ({actor['role']}{login})"


def decided_by(document: Json) -> str:
    """The rule that kept the recording, in plain words with its id as a tag (R14)."""
    return rule_label(document["decision"]["rule"])


def detail_fields(document: Json) -> list[tuple[str, str]]:
    """The recording's facts as (label, value) pairs, shared by the text and HTML headers."""
    company = document["company"]
    queue = document["queue"]
    return [
        ("Company", f"{one_line(company['name'])} ({company['id']})"),
        ("Service", one_line(document["service"])),
        ("Queue", one_line(queue) if queue is not None else "none"),
        ("Chat", document["chat_id"]),
        ("Recording", recording_line(document)),
        ("Started", document["started_at"]),
        ("Ended", f"{document['ended_at']} ({one_line(document['end_reason'])})"),
        ("Primary agent", staff_label(document["primary_agent"])),
        ("Wrap-up", wrap_up_line(document["wrap_up"])),
        *customer_fields(document.get("customer")),
    ]


def customer_fields(customer: Json | None) -> list[tuple[str, str]]:
    """The customer's pre-chat details (R23) as header lines: only what they gave."""
    if customer is None:
        return []
    given = [
        ("Customer", customer["name"]),
        ("E-mail", customer["email"]),
        *((field["label"], field["value"]) for field in customer["fields"]),
        ("Started on page", customer["page"]),
    ]
    return [(one_line(label), one_line(value)) for label, value in given if value]


def wrap_up_line(wrap_up: Json | None) -> str:
    """The chat's wrap-up code and who chose it (R23), or that none was."""
    if wrap_up is None:
        return "none chosen"
    return f"{one_line(wrap_up['code'])} (chosen by {who(wrap_up['by'])})"
