"""The rules of SPEC.md in people's words: one plain name and one sentence per rule id.

Rule ids are for tests, code and the audit trail; wherever a person reads an
explanation, it names the rule in plain words first with its id as a tag, "Permit
Recordings veto (R12a): …" (:func:`rule_label`).  This table is the one place those
words live, so the decision's sentences, the transcripts, ``chatrec explain`` and the
console's rules page always say the same.

The table holds the rules chatrec enforces today, R1 to R19 with their lettered parts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of SPEC.md: ``acts`` says where in chatrec a person meets it."""

    rule_id: str
    name: str
    summary: str
    acts: str


RULES: tuple[Rule, ...] = (
    Rule(
        "R1",
        "Company provisioned to record",
        "A chat is recorded automatically only in a company provisioned with both "
        "call_recording and webchat; any other company records nothing, and says so.",
        "Company products, set by a system operator; the console's overview says when "
        "nothing is recorded.",
    ),
    Rule(
        "R2",
        "No start button for agents",
        "Agents cannot start a recording: there is no such button and no such API.",
        "The agent portal and the API.",
    ),
    Rule(
        "R3",
        "No recording settings on queues",
        "A queue has no recording settings; any attempt to set one is refused with the "
        "reason, and nothing in the request is applied.",
        "Queues in the console, the API, the command line, imports and chat flows.",
    ),
    Rule(
        "R4",
        "Record chats switch",
        "An administrator turns an agent's own recordings off or on; the flow's "
        "recordings are not affected.",
        "Users page (record chats); read when the agent joins a chat.",
    ),
    Rule(
        "R5",
        "Recordings a chat has",
        "A chat has, side by side, one recording per recorded agent and one per record "
        "step its flow runs, with no limit.",
        "Every chat, from the moment an agent joins or a record step runs.",
    ),
    Rule(
        "R5a",
        "Agent recording",
        "Each agent who handles the chat, with record chats on and sampled in, has a "
        "recording of their own, one per account however often they rejoin.",
        "When an agent takes the chat from a queue or by transfer.",
    ),
    Rule(
        "R5b",
        "Flow recording",
        "Each record step the chat flow runs starts a recording with its own reason and "
        "filename template.",
        "Chat flows (record steps).",
    ),
    Rule(
        "R6",
        "Filename templates",
        "Recording files are named from the administrator's templates, made safe for any "
        "SFTP server, and two recordings never overwrite each other.",
        "Recording settings (default template) and flow record steps; checked on save.",
    ),
    Rule(
        "R7",
        "Record percentage",
        "Only the set share of an agent's chats is recorded, drawn once and reproducibly "
        "when the agent joins the chat.",
        "Users page (record percentage); the draw is in the chat's journal.",
    ),
    Rule(
        "R8",
        "Pause and resume",
        "Staff in a chat can pause all its recordings: what is said while paused is in no "
        "file, which marks the gap with who paused and resumed, and when.",
        "The agent portal's Pause and Resume buttons; the recording files.",
    ),
    Rule(
        "R9",
        "Deletion request",
        "The customer can ask that the recording be deleted; the agent has a Delete "
        "recording button, and pressing it is audited.",
        "The customer's widget and the agent portal.",
    ),
    Rule(
        "R10",
        "Consent to record",
        "A chat flow can ask the customer's consent to record; the flow decides what a No does.",
        "Chat flows (consent and discard steps); the customer's widget.",
    ),
    Rule(
        "R11",
        "Abusive flag",
        "Any agent or supervisor in the chat can flag it abusive; agents cannot remove the "
        "flag, and who set it is audited.",
        "The agent portal's Flag abusive button.",
    ),
    Rule(
        "R11a",
        "Recording state shown",
        "Everyone in a chat sees at all times whether it is recorded, paused or not recorded.",
        "The agent portal and the customer's widget.",
    ),
    Rule(
        "R12",
        "Nothing produced",
        "No recording of the chat is produced when someone without Permit Recordings took "
        "part, Delete recording was pressed, or the flow discarded the recordings.",
        "When the chat ends.",
    ),
    Rule(
        "R12a",
        "Permit Recordings veto",
        "If anyone on the staff side who took part had Permit Recordings off when they "
        "joined, no recording of the chat is produced.",
        "Users page (Permit Recordings); applied when the chat ends.",
    ),
    Rule(
        "R12b",
        "Delete recording pressed",
        "If an agent pressed Delete recording, no recording of the chat is produced.",
        "The agent portal's Delete recording button; applied when the chat ends.",
    ),
    Rule(
        "R12c",
        "Discarded by the chat flow",
        "If the chat flow discarded the chat's recordings, after the customer declined "
        "consent, none is produced.",
        "Chat flows (discard step); applied when the chat ends.",
    ),
    Rule(
        "R13",
        "Abusive chats always recorded",
        "A chat flagged abusive produces its recordings whatever the vetoes say; if it had "
        "none, one is made with reason abusive.",
        "When the chat ends, in a company that records.",
    ),
    Rule(
        "R14",
        "Every decision explained",
        "For each chat, the audit trail says which recordings existed, which were produced "
        "or suppressed, and the rule that decided.",
        "Chats page, chatrec explain, the audit trail and the recording files.",
    ),
    Rule(
        "R15",
        "Recording files",
        "A produced recording is a file of the chat's details and events, in JSON, vCon, "
        "text or HTML, with a small sidecar beside it.",
        "Recording settings (formats); the files on the recording platform.",
    ),
    Rule(
        "R15a",
        "Only allowed fields recorded",
        "Only listed kinds of events and fields reach a recording; no internal secret ever "
        "does, and times are UTC.",
        "The recording files.",
    ),
    Rule(
        "R16",
        "Safe SFTP delivery",
        "Recording files reach the company's recording platform over SFTP, complete and "
        "checked, retried until delivered, never lost.",
        "Recording platform and Deliveries pages.",
    ),
    Rule(
        "R17",
        "Message text retention",
        "Once a chat's recordings are delivered or suppressed, its message text is purged "
        "after the company's retention period.",
        "Recording settings (keep message text); the chat's journal.",
    ),
    Rule(
        "R18",
        "Everyone sees only their own",
        "Users see only their own company, customers only their own chat; passwords are "
        "hashed and SFTP secrets encrypted.",
        "Every page, API call and login.",
    ),
    Rule(
        "R19",
        "Bad input refused",
        "Bad input gets a clear error and changes nothing; it never crashes the server or "
        "loses a chat or a recording.",
        "Every form, API call, flow and template.",
    ),
    Rule(
        "R20",
        "Several nodes, one truth",
        "Any number of chatrec servers share one database and Redis: a chat's events are "
        "numbered without gap or duplicate and each accepted message is applied once, on "
        "whichever server its sender is connected to.",
        "Every chat, when chatrec runs on several servers.",
    ),
    Rule(
        "R22",
        "Card numbers masked",
        "Payment card numbers (13 to 19 digits passing the Luhn check) in any message are "
        "masked to their last four digits before the message is stored, shown or recorded, "
        "unless an administrator turns it off (audited), with patterns of the company's own "
        "added; a backstop for a forgotten pause, never a replacement for it.",
        "Every message, the customer's own included, and every recording.",
    ),
)

_BY_ID = {rule.rule_id: rule for rule in RULES}


def rule_of(rule_id: str) -> Rule:
    """The rule with this id; :class:`KeyError` for an id SPEC.md does not have."""
    try:
        return _BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"no rule {rule_id!r} in the rules table") from None


def rule_label(rule_id: str) -> str:
    """How an explanation names a rule: its plain name, then its id as a tag."""
    return f"{rule_of(rule_id).name} ({rule_id})"
