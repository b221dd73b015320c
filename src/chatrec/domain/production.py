"""From a decision to the files of each produced recording (R6, R15).

The one place that ties the decision, the filename templates and the renderers
together, so the live server, the CLI and the tests produce the same bytes under the
same names for the same chat.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from chatrec.domain.attachments import unambiguous_base
from chatrec.domain.decision import Decision, Verdict
from chatrec.domain.filenames import (
    FilenameContext,
    FilenameTemplate,
    assign_unique_names,
    render_filename,
)
from chatrec.domain.journal import AgentAssigned, Journal
from chatrec.domain.participants import primary_agent
from chatrec.domain.render import RecordingFiles, render_recording
from chatrec.domain.settings import CompanySettings
from chatrec.errors import TemplateError

# Multi-part extensions of the formats: a base ending in one of these would let
# "<base>.json" equal another recording's "<base'>.vcon.json" or sidecar.
_AMBIGUOUS_ENDINGS = (".vcon", ".meta")


def _unambiguous(base: str) -> str:
    base = unambiguous_base(base)
    for ending in _AMBIGUOUS_ENDINGS:
        if base.casefold().endswith(ending):
            return f"{base[: -len(ending)]}_{ending[1:]}"
    return base


def _template_of(company: CompanySettings, verdict: Verdict) -> FilenameTemplate:
    """The flow step's template, or the company default (R6).

    Flow templates are validated when the flow is saved; one that no longer parses
    falls back to the default rather than lose the recording (R19).
    """
    source = verdict.recording.template
    if source:
        try:
            return FilenameTemplate.parse(source)
        except TemplateError:
            pass
    return company.default_template


def filename_context(
    company: CompanySettings, journal: Journal, verdict: Verdict
) -> FilenameContext:
    """The values of a recording's filename tokens (R6).

    ``{agent}`` and ``{agent_id}`` name the recording's own agent for an agent recording
    (R5a), and the chat's primary agent, who handled it longest, for a flow (R5b) or an
    abusive (R13) recording: the agent a QA reviewer files the chat under.
    ``{customer_name}`` and ``{customer_email}`` are the pre-chat details (R23), ``none``
    when the customer gave none.
    """
    recording = verdict.recording
    queues = [join.queue for join in journal.of_type(AgentAssigned) if join.queue]
    agent = recording.agent or primary_agent(journal)
    customer = journal.start.customer
    return FilenameContext(
        started_at=journal.start.at,
        company=company.name,
        service=journal.start.service,
        chat_id=journal.chat_id,
        recording_id=recording.recording_id,
        reason=recording.reason,
        origin=recording.origin.value,
        queue=queues[0] if queues else None,
        agent=agent.name if agent else None,
        agent_id=agent.user_id if agent else None,
        customer_name=customer.name or None if customer else None,
        customer_email=customer.email or None if customer else None,
    )


def recording_bases(
    company: CompanySettings, journal: Journal, decision: Decision, taken: Collection[str] = ()
) -> dict[str, str]:
    """Each produced recording's base path, unique within the chat and against ``taken``.

    ``taken`` holds the bases already used by other chats (the store supplies those of
    the same second), so no recording ever overwrites another (R6).
    """
    candidates = []
    for verdict in decision.produced:
        template = _template_of(company, verdict)
        base = render_filename(template, filename_context(company, journal, verdict))
        candidates.append((verdict.recording.recording_id, _unambiguous(base)))
    return assign_unique_names(candidates, taken)


def produce_files(
    company: CompanySettings,
    journal: Journal,
    decision: Decision,
    taken: Collection[str] = (),
    *,
    bases: Mapping[str, str] | None = None,
    attachments: Mapping[str, bytes] | None = None,
) -> list[RecordingFiles]:
    """Render every produced recording of the chat in each of the company's formats,
    under ``bases`` when they were chosen already, else under names not ``taken``, each
    with the files sent in the chat while it was recorded (``attachments``, by id, R23)."""
    if bases is None:
        bases = recording_bases(company, journal, decision, taken)
    explanation = decision.sentences()
    return [
        render_recording(
            company,
            journal,
            verdict,
            explanation,
            bases[verdict.recording.recording_id],
            attachments,
        )
        for verdict in decision.produced
    ]
