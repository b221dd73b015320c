"""The one composition root: the CLI, the server and the tests wire chatrec here."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta
from importlib.metadata import version as package_version
from typing import TYPE_CHECKING

from fastapi import FastAPI

from chatrec.config import Config
from chatrec.delivery.model import Uploader
from chatrec.delivery.runner import DeliveryRunner
from chatrec.delivery.worker import DeliveryWorker
from chatrec.files import secure_data_dir
from chatrec.live.bus import DELIVERIES_TOPIC, InProcessFanout, NodeBus
from chatrec.live.company_notices import CompanyNotices
from chatrec.live.staff_sockets import StaffSockets
from chatrec.services import passwords
from chatrec.services.account import AccountService
from chatrec.services.admin import Administration
from chatrec.services.auth import AuthService
from chatrec.services.chats import ChatService
from chatrec.services.nodes import NodeHeartbeat
from chatrec.services.open_chats import ChatLimits
from chatrec.services.revocation import Revocations
from chatrec.services.tokens import ApiTokens
from chatrec.store.store import Store
from chatrec.store.transactions import utc_now
from chatrec.store.writer import GroupCommitter
from chatrec.web.app import create_app, prepare_routes
from chatrec.web.connection_tests import ConnectionTestLimiter
from chatrec.web.connections import ConnectionLimiter
from chatrec.web.container import Container
from chatrec.web.ratelimit import AddressLimiter, AttemptLimit, NodeAttemptLimit

if TYPE_CHECKING:
    from chatrec.delivery.sftp import SftpUploader


def build_store(config: Config) -> Store:
    """The store on the configured database and secrets key; the passwords it is given are
    hashed at the configured cost (sign-in, the demo's seed, ``chatrec admin``)."""
    passwords.configure_from(config)
    return Store(config.effective_database_url, secrets=config.load_secret_box())


def build_uploader(config: Config) -> SftpUploader:
    """The SFTP uploader, to the addresses the operator's egress policy allows."""
    # Imported here: asyncssh is loaded only by the processes that deliver.
    from chatrec.delivery.sftp import SftpUploader

    return SftpUploader(egress=config.egress_policy)


def build_prober(config: Config) -> SftpUploader:
    """A fresh uploader for one Test connection, closed by its caller: a probe never shares
    the deliveries' pool, and the egress policy holds for it as for them."""
    return build_uploader(config)


def worker_id() -> str:
    """Unique to this process among every worker sharing the database (it names leases)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def build_worker(config: Config, store: Store, uploader: Uploader) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        uploader,
        worker_id=worker_id(),
        lease_seconds=config.delivery_lease_seconds,
        poll_seconds=config.delivery_poll_seconds,
    )


def build_delivery(config: Config) -> DeliveryRunner:
    """``chatrec worker``: the worker alone on its store, without the chat service."""
    secure_data_dir(config.data_dir)
    store = build_store(config)
    return DeliveryRunner(build_worker(config, store, build_uploader(config)), store)


def build(config: Config, *, uploader: Uploader | None = None) -> Container:
    """Every long-lived part, connected; nothing is started yet (see ``web.app``).

    ``uploader`` replaces the SFTP uploader (tests of the worker's wiring).
    """
    secure_data_dir(config.data_dir)
    store = build_store(config)
    committer = GroupCommitter(store)
    fanout = build_bus(config)
    if uploader is None:
        sftp = build_uploader(config)
        # At start the server says which platforms it cannot reach; a replaced uploader
        # (tests) has no platforms to reach.
        delivery = DeliveryRunner(build_worker(config, store, sftp), store, prober=sftp)
    else:
        delivery = DeliveryRunner(build_worker(config, store, uploader), store)
    worker = delivery.worker
    wake_on_commits(fanout, worker)
    idle = config.presence_idle_timeout_seconds
    connections = ConnectionLimiter(config.max_connections, config.max_connections_per_address)
    node = build_node(config, store, connections)
    chats = ChatService(
        store,
        committer,
        fanout,
        presences=store,
        inactivity_timeout=timedelta(seconds=config.inactivity_timeout_seconds),
        idle_timeout=timedelta(seconds=idle) if idle else None,
        on_recordings=lambda: fanout.publish(DELIVERIES_TOPIC, {}),
        limits=ChatLimits(
            open_chats_per_company=config.max_open_chats_per_company,
            events_per_chat=config.max_chat_events,
            bytes_per_chat=config.max_chat_bytes,
            token_grace=timedelta(seconds=config.chat_token_grace_seconds),
        ),
        node_id=node.node_id,
        node_lease=node.lease,
    )
    idle_minutes = config.session_idle_minutes
    revocations = Revocations(fanout)
    auth = AuthService(
        store,
        session_length=timedelta(hours=config.session_hours),
        idle_timeout=timedelta(minutes=idle_minutes) if idle_minutes else None,
        max_failures=config.login_max_failures,
        lockout=timedelta(minutes=config.login_lockout_minutes),
        lockout_cap=timedelta(minutes=config.login_lockout_max_minutes),
        revocations=revocations,
    )
    account = AccountService(store, auth, revocations=revocations)
    admin = Administration(store, utc_now, revocations=revocations)
    tokens = ApiTokens(
        store,
        utc_now,
        max_days=config.api_token_max_days,
        max_live=config.api_token_max_per_user,
        revocations=revocations,
    )
    login_limiter = build_limit(config, "logins", config.login_attempts_per_minute)
    connection_tests = ConnectionTestLimiter(
        config.connection_tests_per_minute,
        config.connection_tests_at_once,
        config.connection_test_seconds,
    )
    return Container(
        config,
        store,
        committer,
        fanout,
        chats,
        auth,
        worker,
        admin,
        tokens,
        login_limiter,
        revocations,
        StaffSockets(fanout),
        account,
        connection_tests,
        chat_start_limiter=build_limit(config, "chat-starts", config.chat_starts_per_minute),
        upload_limiter=build_limit(config, "uploads", config.customer_uploads_per_minute),
        connections=connections,
        delivery=delivery,
        new_prober=lambda: build_prober(config),
        node=node,
        company_notices=CompanyNotices(fanout, chats.find),
    )


def build_bus(config: Config) -> NodeBus:
    """Notices in process for one server; over Redis between several (R20)."""
    if config.redis_url:
        from chatrec.live.redis_fanout import RedisFanout

        return RedisFanout(config.redis_url, prefix=config.redis_prefix)
    return InProcessFanout()


def build_limit(config: Config, name: str, per_minute: float) -> AttemptLimit:
    """A per-address limit of this node, or of every node sharing Redis (R19, R20)."""
    own = AddressLimiter(per_minute)
    if config.redis_url:
        from chatrec.live.redis_limits import SharedAddressLimiter

        return SharedAddressLimiter(
            config.redis_url, name, per_minute, own, prefix=config.redis_prefix
        )
    return NodeAttemptLimit(own)


def wake_on_commits(bus: NodeBus, worker: DeliveryWorker) -> None:
    """The worker looks for deliveries as soon as any node commits some (R16, R20), and
    when notices between nodes come back after a loss, in case one was missed."""
    bus.subscribe(DELIVERIES_TOPIC, lambda _topic, _notice: worker.notify())


def build_node(
    config: Config, store: Store, connections: ConnectionLimiter | None = None
) -> NodeHeartbeat:
    """This process as a node of the database (R20); not joined yet."""
    return NodeHeartbeat(
        store,
        version=package_version("chatrec"),
        interval=timedelta(seconds=config.node_heartbeat_seconds),
        lease=timedelta(seconds=config.node_lease_seconds),
        connections=(lambda: connections.count) if connections is not None else (lambda: 0),
    )


def build_app(config: Config) -> FastAPI:
    """``chatrec serve`` and ``chatrec demo``: the web application over :func:`build`,
    its routes built for serving (:func:`prepare_routes`)."""
    app = create_app(build(config))
    prepare_routes(app)
    return app
