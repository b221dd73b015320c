"""Chat flows: the script that greets and routes each chat, as data (R3, R5b, R10, R12c).

An administrator writes a flow in YAML or JSON (:func:`load_flow` validates it on save);
the server runs it with :func:`start_flow` and :func:`answer_flow`, which return the
journal events to append and the :class:`FlowState` to store.  See ``docs/flows.md``.
"""

from chatrec.domain.queues import R3_REASON
from chatrec.flows.interpreter import FlowState, answer_flow, start_flow, waiting_step
from chatrec.flows.loader import load_flow, validate_flow
from chatrec.flows.schema import Flow
from chatrec.flows.steps import (
    AskStep,
    BranchStep,
    ConsentStep,
    DiscardStep,
    EndStep,
    RecordStep,
    RouteStep,
    SayStep,
    Step,
)

__all__ = [
    "R3_REASON",
    "AskStep",
    "BranchStep",
    "ConsentStep",
    "DiscardStep",
    "EndStep",
    "Flow",
    "FlowState",
    "RecordStep",
    "RouteStep",
    "SayStep",
    "Step",
    "answer_flow",
    "load_flow",
    "start_flow",
    "validate_flow",
    "waiting_step",
]
