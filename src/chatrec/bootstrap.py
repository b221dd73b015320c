"""The one composition root: the CLI, the server and the tests wire chatrec here."""

from __future__ import annotations

from datetime import timedelta

from chatrec.config import Config
from chatrec.live.bus import InProcessFanout
from chatrec.services.auth import AuthService
from chatrec.services.chats import ChatService
from chatrec.store.store import Store
from chatrec.store.writer import GroupCommitter
from chatrec.web.container import Container


def build(config: Config) -> Container:
    """Every long-lived part, connected; nothing is started yet (see ``web.app``)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(config.effective_database_url)
    committer = GroupCommitter(store)
    fanout = InProcessFanout()
    chats = ChatService(
        store,
        committer,
        fanout,
        spool_dir=config.spool_dir,
        inactivity_timeout=timedelta(seconds=config.inactivity_timeout_seconds),
    )
    auth = AuthService(store, session_length=timedelta(hours=config.session_hours))
    return Container(config, store, committer, fanout, chats, auth)
