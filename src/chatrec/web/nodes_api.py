"""The servers serving this database, for operators (R20): what `chatrec nodes` lists."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from chatrec.web.guard import GuardedRoute, Operator, Services

router = APIRouter(prefix="/api/admin", route_class=GuardedRoute)


class NodeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    node_id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    connections: int


@router.get("/nodes", operation_id="listNodes", tags=["system"])
async def list_nodes(principal: Operator, services: Services) -> list[NodeRead]:
    """The servers heard from within ``CHATREC_NODE_LEASE_SECONDS``, oldest first, with
    their open WebSocket connections as of their last heartbeat."""
    live = await asyncio.to_thread(services.node.live)
    return [NodeRead.model_validate(node) for node in live]
