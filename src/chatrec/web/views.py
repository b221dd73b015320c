"""How a chat is summarised for the portal and the widget (R11a, R18)."""

from __future__ import annotations

from typing import Any

from chatrec.flows import ConsentStep, load_flow, waiting_step
from chatrec.live.registry import LiveChat


def asks_consent(flow_source: str) -> bool:
    """Whether a flow has a consent step (R10), so the widget's intro promises no recording
    before the chat starts, only that it depends on the customer's answer."""
    steps = load_flow(flow_source).steps
    return any(isinstance(step, ConsentStep) for step in steps)


def choices(chat: LiveChat) -> list[str] | None:
    """The answers the flow waits for, so the widget can offer them as buttons."""
    if chat.flow is None or chat.flow_state is None or chat.flow_state.finished:
        return None
    step = waiting_step(chat.flow, chat.flow_state)
    if isinstance(step, ConsentStep):
        return [step.yes, step.no]
    return list(step.choices) if step is not None and step.choices else None


def chat_summary(chat: LiveChat, *, staff: bool) -> dict[str, Any]:
    """The chat's state as one object; customers get no internals (R15a)."""
    summary: dict[str, Any] = {
        "chat_id": chat.chat_id,
        "status": chat.record.status.value,
        "recording": chat.recording_state.value,
        "service": chat.start.service,
        "started_at": chat.record.started_at.isoformat(),
        "last_seq": chat.record.last_seq,
        "choices": choices(chat),
        # R23: whether agents see the customer's draft; the widget says so.
        "typing_preview": chat.company.typing_preview,
    }
    if staff:
        present = chat.present()
        summary |= {
            "queue_id": chat.record.queue_id,
            "deletion_requested": chat.deletion_requested,
            "wrap_up": chat.wrap_up,  # R23: the code chosen last, None until one is
            "wrap_up_required": chat.company.wrap_up_required,
            "abusive": chat.abusive,
            "participants": [
                {"user_id": uid, "name": actor.name, "role": actor.role.value}
                for uid, actor in present.items()
            ],
            "ever": sorted({s.actor.user_id for s in chat.stints() if s.actor.user_id}),
        }
    return summary


def ended_summary(chat_id: str) -> dict[str, Any]:
    return {"chat_id": chat_id, "status": "ended", "recording": None, "choices": None}
