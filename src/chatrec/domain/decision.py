"""Which recordings a chat had, and whether each is produced (R1, R4, R5, R7, R12-R14).

This module is the one home of the decision.  :func:`decide_recordings` is a pure
function of the company's settings and the chat's journal; every outcome carries the
rule that decided it and the facts behind it, as data, so the same decision renders as
R14's explanation, feeds the recording files and can be replayed at any time.

Order of the rules, evaluated once over the whole journal:

1. R1   the company lacks ``call_recording`` or ``webchat``: nothing exists at all.
2. R5   recordings that existed: one per agent account that handled the chat with
        ``record chats`` on (R4) and sampled in (R7), one per flow ``record`` step.
3. R13  flagged abusive: every recording is produced, overriding R12; with none,
        one recording with reason ``abusive`` is produced.
4. R12  otherwise any of R12a (a participant without Permit Recordings), R12b (Delete
        pressed) or R12c (flow discard) suppresses every recording.

The sentences a person reads name each rule in plain words first, its id as a tag
(``domain/rules.py``); the ``rule`` fields keep the bare id for code and the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chatrec.domain.journal import (
    Actor,
    AgentAssigned,
    ChatRole,
    ConsentAnswered,
    DeletePressed,
    Discarded,
    Event,
    FlaggedAbusive,
    Journal,
    RecordingRequested,
)
from chatrec.domain.participants import involved_staff
from chatrec.domain.rules import rule_label
from chatrec.domain.settings import CompanySettings


class Origin(StrEnum):
    """Why a recording exists (R5a, R5b, R13); also the ``{origin}`` filename token."""

    AGENT = "agent"
    FLOW = "flow"
    ABUSIVE = "abusive"


class Outcome(StrEnum):
    PRODUCED = "produced"
    SUPPRESSED = "suppressed"


ABUSIVE_REASON = "abusive"
AGENT_REASON = "agent"


def _clock(at: datetime) -> str:
    return at.strftime("%H:%M:%S")


def _who(actor: Actor) -> str:
    return (
        f"{actor.role.value} {actor.name}"
        if actor.role is not ChatRole.CUSTOMER
        else "the customer"
    )


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing that happened and the rule that reads it; renders as a clause of R14."""

    rule: str
    text: str
    at: datetime | None = None
    actor: Actor | None = None

    def clause(self) -> str:
        return f"{rule_label(self.rule)}: {self.text}"


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording the chat had, before the verdict (R5).

    ``template`` ``None`` means the company default (R6).  ``agent`` is set for agent
    recordings only.
    """

    recording_id: str
    origin: Origin
    reason: str
    started_at: datetime
    template: str | None = None
    agent: Actor | None = None
    step_id: str | None = None

    @property
    def origin_rule(self) -> str:
        return {Origin.AGENT: "R5a", Origin.FLOW: "R5b", Origin.ABUSIVE: "R13"}[self.origin]

    def describe(self) -> str:
        if self.origin is Origin.AGENT and self.agent is not None:
            return f"agent recording of {self.agent.name}"
        if self.origin is Origin.FLOW:
            return f"flow recording (step {self.step_id}, reason {self.reason!r})"
        return "abusive-chat recording"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A recording's outcome: ``rule`` decided it, ``facts`` are why (R14)."""

    recording: Recording
    outcome: Outcome
    rule: str
    facts: tuple[Fact, ...]

    @property
    def produced(self) -> bool:
        return self.outcome is Outcome.PRODUCED

    def sentence(self) -> str:
        """The deciding rule first; the facts of other rules each under their own name."""
        recording = self.recording
        why = "; ".join(
            fact.text if fact.rule == self.rule else fact.clause() for fact in self.facts
        )
        what = f"recording {recording.recording_id} ({recording.describe()})"
        return f"{rule_label(self.rule)}: {what} was {self.outcome}: {why}."


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything decided for one chat.

    ``verdicts`` holds the recordings that existed; ``not_started`` the facts of agent
    recordings that never existed (R4 off, R7 sampled out) and, when the company does not
    record, the R1 fact, so that the explanation covers every agent, not only the
    recordings.
    """

    chat_id: str
    verdicts: tuple[Verdict, ...]
    not_started: tuple[Fact, ...]

    @property
    def produced(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.produced)

    def sentences(self) -> list[str]:
        """R14's explanation: one sentence per recording, then one per recording not started."""
        lines = [verdict.sentence() for verdict in self.verdicts]
        lines += [
            f"{rule_label(fact.rule)}: no recording: {fact.text}." for fact in self.not_started
        ]
        if not lines:
            lines.append(
                f"{rule_label('R5')}: no recording: no agent handled the chat with recording "
                "on and the flow requested none."
            )
        return lines


def _existing_recordings(chat_id: str, journal: Journal) -> tuple[list[Recording], list[Fact]]:
    """The recordings R5 starts, in journal order, and the agent recordings not started."""
    recordings: list[Recording] = []
    not_started: list[Fact] = []
    seen_agents: set[str] = set()

    def next_id() -> str:
        return f"{chat_id}-r{len(recordings) + 1}"

    for event in journal.events:
        if isinstance(event, AgentAssigned):
            agent_id = event.actor.user_id or event.actor.name
            if agent_id in seen_agents:
                continue  # one agent recording per account, not per leg
            seen_agents.add(agent_id)
            if not event.settings.record_chats:
                not_started.append(
                    Fact(
                        "R4",
                        f"record chats was off for agent {event.actor.name} "
                        f"when they joined at {_clock(event.at)}",
                        event.at,
                        event.actor,
                    )
                )
            elif not event.draw.sampled_in:
                not_started.append(
                    Fact(
                        "R7",
                        f"agent {event.actor.name} was not sampled in "
                        f"(draw {event.draw.fraction:.4f} against "
                        f"{event.draw.percentage}%) at {_clock(event.at)}",
                        event.at,
                        event.actor,
                    )
                )
            else:
                recordings.append(
                    Recording(next_id(), Origin.AGENT, AGENT_REASON, event.at, agent=event.actor)
                )
        elif isinstance(event, RecordingRequested):
            recordings.append(
                Recording(
                    next_id(),
                    Origin.FLOW,
                    event.reason,
                    event.at,
                    template=event.template,
                    step_id=event.step_id,
                )
            )
    return recordings, not_started


def _start_facts(recording: Recording) -> tuple[Fact, ...]:
    """Why the recording existed at all (R5a, R5b); none for R13's own recording."""
    if recording.origin is Origin.AGENT and recording.agent is not None:
        text = (
            f"agent {recording.agent.name} handled the chat from "
            f"{_clock(recording.started_at)} with recording on and was sampled in"
        )
        return (Fact("R5a", text, recording.started_at, recording.agent),)
    if recording.origin is Origin.FLOW:
        text = f"the flow requested it at {_clock(recording.started_at)}"
        return (Fact("R5b", text, recording.started_at),)
    return ()


def suppressing_facts(journal: Journal) -> list[Fact]:
    """Every R12 condition met by the chat, in journal order; also read live (R11a)."""
    facts: list[Fact] = []
    declined: ConsentAnswered | None = None
    for event in journal.events:
        if isinstance(event, ConsentAnswered):
            declined = None if event.granted else event
        elif isinstance(event, Discarded):
            text = f"the chat flow discarded the recordings at {_clock(event.at)}"
            if declined is not None:
                text += f" after the customer declined consent at {_clock(declined.at)}"
            facts.append(Fact("R12c", text, event.at, event.actor))
        elif isinstance(event, DeletePressed):
            facts.append(
                Fact(
                    "R12b",
                    f"{_who(event.actor)} pressed Delete recording at {_clock(event.at)}",
                    event.at,
                    event.actor,
                )
            )
    for join in involved_staff(journal):
        if not join.settings.permit_recordings:
            facts.append(
                Fact(
                    "R12a",
                    f"{_who(join.actor)} (Permit Recordings off) joined at {_clock(join.at)}",
                    join.at,
                    join.actor,
                )
            )
    return sorted(facts, key=lambda fact: fact.rule)


def _abusive_fact(flag: Event) -> Fact:
    return Fact(
        "R13",
        f"{_who(flag.actor)} flagged the chat abusive at {_clock(flag.at)}",
        flag.at,
        flag.actor,
    )


def decide_recordings(company: CompanySettings, journal: Journal) -> Decision:
    """Decide, once, which recordings of the chat are produced and why (R1-R14)."""
    chat_id = journal.chat_id
    if not company.records:
        missing = " and ".join(sorted(product.value for product in company.missing_products))
        fact = Fact("R1", f"company {company.name} is not provisioned with {missing}")
        return Decision(chat_id, (), (fact,))

    recordings, not_started = _existing_recordings(chat_id, journal)
    flags = journal.of_type(FlaggedAbusive)
    suppressing = suppressing_facts(journal)

    if flags:
        abusive = _abusive_fact(flags[0])
        if not recordings:
            recordings.append(
                Recording(f"{chat_id}-r1", Origin.ABUSIVE, ABUSIVE_REASON, flags[0].at)
            )
        overridden = tuple(
            Fact(fact.rule, f"overridden: {fact.text}", fact.at, fact.actor) for fact in suppressing
        )
        verdicts = tuple(
            Verdict(
                recording, Outcome.PRODUCED, "R13", (abusive, *_start_facts(recording), *overridden)
            )
            for recording in recordings
        )
    elif suppressing:
        verdicts = tuple(
            Verdict(recording, Outcome.SUPPRESSED, suppressing[0].rule, tuple(suppressing))
            for recording in recordings
        )
    else:
        verdicts = tuple(
            Verdict(recording, Outcome.PRODUCED, recording.origin_rule, _start_facts(recording))
            for recording in recordings
        )
    return Decision(chat_id, verdicts, tuple(not_started))
