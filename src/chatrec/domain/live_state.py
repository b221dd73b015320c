"""What everyone in a live chat is shown about its recording (R11a).

Derived from the journal on every change, never stored, so the state survives
transfers, reconnects and restarts exactly as the pause does (R8).
"""

from __future__ import annotations

from enum import StrEnum

from chatrec.domain.decision import decide_recordings
from chatrec.domain.journal import AgentAssigned, Journal, RecordingPaused, RecordingResumed
from chatrec.domain.settings import CompanySettings


class RecordingState(StrEnum):
    RECORDING = "recording"
    PAUSED = "paused"
    NOT_RECORDED = "not_recorded"


def is_paused(journal: Journal) -> bool:
    """Whether the chat's recordings are paused now (R8): the last pause or resume wins."""
    paused = False
    for event in journal.events:
        if isinstance(event, RecordingPaused):
            paused = True
        elif isinstance(event, RecordingResumed):
            paused = False
    return paused


def recording_state(company: CompanySettings, journal: Journal) -> RecordingState:
    """Recording, Paused or Not recorded, as the chat would be decided if it ended now.

    Before any agent joins, a chat of a recording company shows Recording: the flow and
    the agent to come record it unless a rule says otherwise.
    """
    if not company.records:
        return RecordingState.NOT_RECORDED
    decision = decide_recordings(company, journal)
    if decision.verdicts and not decision.produced:
        return RecordingState.NOT_RECORDED
    if not decision.verdicts and journal.of_type(AgentAssigned):
        return RecordingState.NOT_RECORDED
    return RecordingState.PAUSED if is_paused(journal) else RecordingState.RECORDING
