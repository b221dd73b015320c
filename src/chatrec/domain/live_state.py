"""What everyone in a live chat is shown about its recording (R11a).

Derived from the journal on every change, never stored, so the state survives
transfers, reconnects and restarts exactly as the pause does (R8).
"""

from __future__ import annotations

from enum import StrEnum

from chatrec.domain.decision import decide_recordings, suppressing_facts
from chatrec.domain.journal import (
    AgentAssigned,
    ConsentAnswered,
    ConsentAsked,
    Event,
    Journal,
    RecordingPaused,
    RecordingResumed,
)
from chatrec.domain.settings import CompanySettings


class RecordingState(StrEnum):
    RECORDING = "recording"
    PAUSED = "paused"
    NOT_RECORDED = "not_recorded"
    AWAITING_CONSENT = "awaiting_consent"


def _last_is(journal: Journal, on: type[Event], off: type[Event]) -> bool:
    """Whether the last event of the two types is an ``on`` (``False`` with neither)."""
    state = False
    for event in journal.events:
        if isinstance(event, on):
            state = True
        elif isinstance(event, off):
            state = False
    return state


def is_paused(journal: Journal) -> bool:
    """Whether the chat's recordings are paused now (R8): the last pause or resume wins."""
    return _last_is(journal, RecordingPaused, RecordingResumed)


def awaits_consent(journal: Journal) -> bool:
    """Whether the flow's last consent question is still unanswered (R10)."""
    return _last_is(journal, ConsentAsked, ConsentAnswered)


def recording_state(company: CompanySettings, journal: Journal) -> RecordingState:
    """What the chat's recording is now, as it would be decided if the chat ended now.

    Before any agent joins, a chat of a recording company shows Recording: the flow and
    the agent to come record it unless a rule says otherwise.  Once any R12 condition
    holds (a discard, R12c), every recording to come is suppressed, so it shows Not
    recorded at once, unless the chat is flagged abusive (R13).  While the
    flow's consent question is open, the chat is neither promised as recorded nor as
    not: recording waits for the customer's answer (R10); the answer by itself changes
    nothing, only the ``discard`` a flow may run on "No" does.
    """
    if not company.records:
        return RecordingState.NOT_RECORDED
    decision = decide_recordings(company, journal)
    if decision.verdicts and not decision.produced:
        return RecordingState.NOT_RECORDED
    # No recording yet, but an agent joined without one, or an R12 condition already
    # holds (a discard, a participant without Permit Recordings): none will be produced.
    if not decision.verdicts and (journal.of_type(AgentAssigned) or suppressing_facts(journal)):
        return RecordingState.NOT_RECORDED
    if awaits_consent(journal):
        return RecordingState.AWAITING_CONSENT
    return RecordingState.PAUSED if is_paused(journal) else RecordingState.RECORDING
