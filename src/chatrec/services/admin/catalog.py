"""Services, queues and chat flows of a company (R3, R5b, R6, R10).

Queues carry no recording settings: a request that tries is refused whole, quoting R3.
Flows are validated before they are kept (every problem with its line), each save is
a new version, and a chat runs, and is explained by, the version it started on.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from chatrec.domain.customer import check_form
from chatrec.domain.hours import check_closed_message, parse_hours
from chatrec.domain.journal import (
    ConsentAnswered,
    ConsentAsked,
    Discarded,
    Event,
    MessagePosted,
    RecordingRequested,
)
from chatrec.domain.queues import R3_REASON, recording_keys
from chatrec.domain.roles import LoginRole
from chatrec.errors import ActionError, FlowError, FlowProblem, NotFoundError, RecordingOnQueueError
from chatrec.flows import Flow, FlowState, answer_flow, load_flow, start_flow
from chatrec.flows.loader import line_of
from chatrec.flows.steps import RouteStep
from chatrec.services.access import Principal, company_for, require_own
from chatrec.services.admin.audit import audit_line
from chatrec.services.admin.ports import CatalogAdminStore
from chatrec.store.records import FlowVersionRecord, QueueRecord, ServiceRecord

PREVIEW_AT = datetime(2024, 3, 14, 9, 26, 53, tzinfo=UTC)
MAX_PREVIEW_ANSWERS = 50


def refuse_recording_on_queue(keys: Iterable[object]) -> None:
    """Refuse a queue request naming any recording setting, before anything is applied (R3)."""
    refused = recording_keys(keys)
    if refused:
        raise RecordingOnQueueError(
            f"{R3_REASON} Refused: {', '.join(repr(key) for key in refused)}; "
            "nothing in this request was applied."
        )


@dataclass(frozen=True, slots=True)
class FlowPreview:
    """A dry run of a flow: what the customer would read, and what the flow would do."""

    lines: list[str] = field(default_factory=list)
    waiting_for: str | None = None
    routed_to: str | None = None
    ended: bool = False
    recordings: list[str] = field(default_factory=list)


def _line(event: Event) -> str | None:
    match event:
        case MessagePosted(text=text):
            return f"flow: {text}"
        case RecordingRequested(reason=reason, template=template):
            return f"[records: reason {reason!r}, template {template or 'company default'}]"
        case ConsentAsked(question=question):
            return f"[asks consent: {question}]"
        case ConsentAnswered(granted=granted):
            return f"[consent {'given' if granted else 'refused'}]"
        case Discarded():
            return "[discards every recording of the chat (R12c)]"
    return None


def preview_flow(flow: Flow, answers: Sequence[str]) -> FlowPreview:
    """Run ``flow`` on the customer's ``answers`` without a chat, store or clock."""
    if len(answers) > MAX_PREVIEW_ANSWERS:
        raise ActionError(f"a preview takes at most {MAX_PREVIEW_ANSWERS} answers")
    preview = FlowPreview()
    state, events = start_flow(flow, at=PREVIEW_AT)
    _note(preview, events)
    for answer in answers:
        if state.finished:
            preview.lines.append(f"(the flow has finished; answer {answer!r} goes to the agent)")
            break
        preview.lines.append(f"customer: {answer}")
        state, events = answer_flow(flow, state, answer, at=PREVIEW_AT)
        _note(preview, events)
    return _finish(preview, state)


def _note(preview: FlowPreview, events: Sequence[Event]) -> None:
    for event in events:
        line = _line(event)
        if line is not None:
            preview.lines.append(line)
        if isinstance(event, RecordingRequested):
            preview.recordings.append(event.reason)


def _finish(preview: FlowPreview, state: FlowState) -> FlowPreview:
    if state.routed_to is not None:
        preview.lines.append(f"[routes the chat to queue {state.routed_to!r}]")
    elif state.ended:
        preview.lines.append("[ends the chat]")
    return replace(
        preview, waiting_for=state.waiting_for, routed_to=state.routed_to, ended=state.ended
    )


def _check_routes(flow: Flow, queues: Sequence[QueueRecord], text: str) -> None:
    names = {queue.name for queue in queues}
    problems = [
        FlowProblem(
            f"queue {step.queue!r} does not exist; create it first or route to one of "
            f"{sorted(names)}",
            ("steps", index, "queue"),
            line_of(text, ("steps", index, "queue")),
        )
        for index, step in enumerate(flow.steps)
        if isinstance(step, RouteStep) and step.queue not in names
    ]
    if problems:
        raise FlowError("flow", problems)


def _label(text: str, what: str) -> str:
    cleaned = " ".join(text.split())
    if not 1 <= len(cleaned) <= 100:
        raise ActionError(f"a {what} name must have 1 to 100 characters")
    return cleaned


class CatalogAdmin:
    def __init__(self, store: CatalogAdminStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self._clock = clock

    # -- queues (R3) ------------------------------------------------------------------

    def list_queues(self, principal: Principal, company_id: str | None = None) -> list[QueueRecord]:
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR, LoginRole.SUPERVISOR)
        return self.store.list_queues(company)

    def create_queue(
        self, principal: Principal, name: str, *, company_id: str | None = None
    ) -> QueueRecord:
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        queue = QueueRecord(f"q_{secrets.token_hex(6)}", company, _label(name, "queue"))
        line = audit_line(
            principal,
            company,
            "queue.created",
            self._clock(),
            target=queue.queue_id,
            after={"name": queue.name},
        )
        self.store.create_queue(queue, audit=[line])
        return queue

    def rename_queue(self, principal: Principal, queue_id: str, name: str) -> QueueRecord:
        before = self.store.get_queue(queue_id)
        if before is None:
            raise NotFoundError(f"no queue {queue_id!r}")
        require_own(principal, before.company_id, f"queue {queue_id!r}")
        company_for(principal, before.company_id, LoginRole.ADMINISTRATOR)
        after = replace(before, name=_label(name, "queue"))
        line = audit_line(
            principal,
            after.company_id,
            "queue.renamed",
            self._clock(),
            target=queue_id,
            before={"name": before.name},
            after={"name": after.name},
        )
        self.store.update_queue(after, audit=[line])
        return after

    # -- services ---------------------------------------------------------------------

    def list_services(
        self, principal: Principal, company_id: str | None = None
    ) -> list[ServiceRecord]:
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR, LoginRole.SUPERVISOR)
        return self.store.list_services(company)

    def create_service(
        self, principal: Principal, name: str, flow_id: str | None, *, company_id: str | None = None
    ) -> ServiceRecord:
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        service = ServiceRecord(
            f"s_{secrets.token_hex(6)}", company, _label(name, "service"), flow_id
        )
        line = audit_line(
            principal,
            company,
            "service.created",
            self._clock(),
            target=service.service_id,
            after={"name": service.name, "flow_id": flow_id},
        )
        self.store.create_service(service, audit=[line])
        return service

    def update_service(
        self,
        principal: Principal,
        service_id: str,
        *,
        name: str | None = None,
        flow_id: str | None = None,
        clear_flow: bool = False,
        hours: str | None = None,
        timezone: str | None = None,
        closed_message: str | None = None,
        pre_chat_form: Sequence[Mapping[str, Any]] | None = None,
    ) -> ServiceRecord:
        """Rename the service, give it a flow, business hours or a pre-chat form (issue
        15): checked here, so that a chat start never meets hours or a form it cannot
        read."""
        before = self.store.get_service(service_id)
        if before is None:
            raise NotFoundError(f"no service {service_id!r}")
        require_own(principal, before.company_id, f"service {service_id!r}")
        company_for(principal, before.company_id, LoginRole.ADMINISTRATOR)
        after = before
        if name is not None:
            after = replace(after, name=_label(name, "service"))
        if flow_id is not None or clear_flow:
            after = replace(after, flow_id=None if clear_flow else flow_id)
        if hours is not None or timezone is not None:
            after = replace(after, hours=hours if hours is not None else after.hours)
            after = replace(after, timezone=timezone or after.timezone)
            parse_hours(after.hours, after.timezone)
        if closed_message is not None:
            after = replace(after, closed_message=check_closed_message(closed_message))
        if pre_chat_form is not None:
            form = check_form(pre_chat_form)
            after = replace(after, pre_chat_form=[field.to_dict() for field in form])
        if after != before:
            line = audit_line(
                principal,
                after.company_id,
                "service.updated",
                self._clock(),
                target=service_id,
                before=_service_view(before),
                after=_service_view(after),
            )
            self.store.update_service(after, audit=[line])
        return after

    # -- flows (R3, R5b, R10) ---------------------------------------------------------

    def list_flows(
        self, principal: Principal, company_id: str | None = None
    ) -> list[FlowVersionRecord]:
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        return self.store.list_flows(company)

    def get_flow(
        self, principal: Principal, flow_id: str, version: int | None = None
    ) -> FlowVersionRecord:
        found = self.store.get_flow(flow_id, version)
        if found is None:
            what = f"flow {flow_id!r}" + ("" if version is None else f" version {version}")
            raise NotFoundError(f"no {what}")
        require_own(principal, found.company_id, f"flow {flow_id!r}")
        company_for(principal, found.company_id, LoginRole.ADMINISTRATOR)
        return found

    def flow_versions(self, principal: Principal, flow_id: str) -> list[FlowVersionRecord]:
        self.get_flow(principal, flow_id)
        return self.store.list_flow_versions(flow_id)

    def check_flow(
        self,
        principal: Principal,
        source: str,
        company_id: str | None = None,
        *,
        planned_queues: Iterable[str] = (),
    ) -> Flow:
        """The flow, validated as a save would; :class:`FlowError` lists every problem.

        ``planned_queues`` names queues to be created with the flow (an import), which
        it may route to.
        """
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        flow = load_flow(source, source="flow")
        queues = self.store.list_queues(company)
        queues += [QueueRecord("", company, name) for name in planned_queues]
        _check_routes(flow, queues, source)
        return flow

    def save_flow(
        self,
        principal: Principal,
        source: str,
        *,
        flow_id: str | None = None,
        company_id: str | None = None,
    ) -> FlowVersionRecord:
        """Validate and keep ``source`` as a new version (of a new flow without ``flow_id``)."""
        version = 1
        if flow_id is not None:
            current = self.get_flow(principal, flow_id)
            company, version = current.company_id, current.version + 1
        else:
            company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
            flow_id = f"f_{secrets.token_hex(6)}"
        flow = self.check_flow(principal, source, company)
        line = audit_line(
            principal,
            company,
            "flow.saved",
            self._clock(),
            target=flow_id,
            after={"name": flow.name, "version": version},
        )
        return self.store.save_flow(company, flow_id, flow.name, source, audit=[line])

    def preview(
        self,
        principal: Principal,
        source: str,
        answers: Sequence[str],
        company_id: str | None = None,
    ) -> FlowPreview:
        return preview_flow(self.check_flow(principal, source, company_id), answers)


def _service_view(service: ServiceRecord) -> dict[str, object]:
    return {
        "name": service.name,
        "flow_id": service.flow_id,
        "hours": service.hours,
        "timezone": service.timezone,
        "closed_message": service.closed_message,
        "pre_chat_form": service.pre_chat_form,
    }
