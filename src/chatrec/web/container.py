"""What the web layer needs from the composition root, as one typed object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from chatrec.config import Config
from chatrec.delivery.readiness import Prober
from chatrec.delivery.runner import DeliveryRunner
from chatrec.delivery.worker import DeliveryWorker
from chatrec.live.bus import NodeBus
from chatrec.live.company_notices import CompanyNotices
from chatrec.live.loop_watch import LoopWatch
from chatrec.live.staff_sockets import StaffSockets
from chatrec.services.account import AccountService
from chatrec.services.admin import Administration
from chatrec.services.auth import AuthService
from chatrec.services.chats import ChatService
from chatrec.services.nodes import NodeHeartbeat
from chatrec.services.revocation import Revocations
from chatrec.services.tokens import ApiTokens
from chatrec.store.store import Store
from chatrec.store.writer import GroupCommitter
from chatrec.web.connection_tests import ConnectionTestLimiter
from chatrec.web.connections import ConnectionLimiter
from chatrec.web.ratelimit import AttemptLimit


class ClosingProber(Prober, Protocol):
    async def close(self) -> None: ...


@dataclass
class Container:
    config: Config
    store: Store
    committer: GroupCommitter
    fanout: NodeBus
    chats: ChatService
    auth: AuthService
    worker: DeliveryWorker
    admin: Administration
    tokens: ApiTokens
    login_limiter: AttemptLimit
    revocations: Revocations
    """Ends open access taken away: ``end_access`` (``services.revocation``)."""
    staff_sockets: StaffSockets
    account: AccountService
    connection_tests: ConnectionTestLimiter
    chat_start_limiter: AttemptLimit
    upload_limiter: AttemptLimit
    """Files customers send, per address: each may be as large as the company takes."""
    connections: ConnectionLimiter
    delivery: DeliveryRunner
    """The worker's loop, when this server delivers (``CHATREC_DELIVERY_IN_SERVER``)."""
    new_prober: Callable[[], ClosingProber]
    """A fresh prober for one Test connection; its caller closes it."""
    node: NodeHeartbeat
    """This server among the nodes of the database (R20): joined before any chat."""
    company_notices: CompanyNotices
    """Each company's notices to the staff sockets of this node they may concern."""
    loop_watch: LoopWatch = field(default_factory=LoopWatch)
    """How late the event loop runs what is due (``/metrics``)."""
