"""The store: records in, records out, one transaction per call.

Each method opens its own session, so a :class:`Store` is shared by every thread.
Reads return ``None`` for an unknown id; writes refuse with
:class:`~chatrec.errors.NotFoundError` (a missing company, user or flow) or a
:class:`~chatrec.errors.StoreConflictError` (a taken id or unique name) and change
nothing.  Live chats change only through :meth:`Store.apply`, which the
:class:`~chatrec.store.writer.GroupCommitter` calls with many changes at once.

:class:`Store` composes one part per aggregate (``companies``, ``access``, ``catalog``,
``canned``, ``chats``, ``attachments``, ``audit``, ``deliveries``, ``nodes``, ``routing``,
``signing_keys``, ``starts``) over one engine; a service
declares the few methods it needs as a port (``chatrec.services.ports``), which a fake
can fill.
"""

from __future__ import annotations

from sqlalchemy import text

from chatrec.store import logins, outbox, signing_keys
from chatrec.store.access import AccessStore
from chatrec.store.attachments import AttachmentStore
from chatrec.store.audit import AuditStore
from chatrec.store.canned import CannedStore
from chatrec.store.catalog import CatalogStore
from chatrec.store.chats import ChatStore
from chatrec.store.companies import CompanyStore
from chatrec.store.dashboard import DashboardStore
from chatrec.store.database import SCHEMA_REVISION, revision_of
from chatrec.store.deliveries import DeliveryStore
from chatrec.store.nodes import NodeStore
from chatrec.store.routing import RoutingStore
from chatrec.store.signing_keys import SigningKeyStore
from chatrec.store.starts import StartStore


class Store(
    CompanyStore,
    AccessStore,
    AttachmentStore,
    CatalogStore,
    CannedStore,
    ChatStore,
    DashboardStore,
    AuditStore,
    DeliveryStore,
    NodeStore,
    RoutingStore,
    SigningKeyStore,
    StartStore,
):
    """chatrec's whole database: every part over one engine, and its migrations."""

    def migrate(self, *, forget_unreadable_secrets: bool = False) -> list[str]:
        """Create or upgrade the schema to the newest migration, then encrypt old secrets.

        No secret stays in plain text or under an older key (see
        :meth:`encrypt_legacy_secrets`).  A secret that the key does not open stops the
        migration with :class:`~chatrec.errors.SecretKeyError` after the schema is
        upgraded, unless ``forget_unreadable_secrets`` (the key is lost): then such
        secrets are dropped and their destinations blocked until they are entered again.
        Returns the companies whose secrets were forgotten.
        """
        if revision_of(self.engine) != SCHEMA_REVISION:
            # Alembic is imported only to change a schema: every start of a server on a
            # database already at the newest migration, a worker, the CLI skip its cost.
            from chatrec.store.migrations import upgrade

            upgrade(self.engine)
        forgotten: list[str] = []
        if forget_unreadable_secrets:
            with self._write() as session:
                forgotten = outbox.forget_unreadable_secrets(session, self._secrets, self._clock())
                signing_keys.forget_unreadable_signing_keys(session, self._secrets, self._clock())
        self.encrypt_legacy_secrets()
        with self._write() as session:  # companies made before signing keys (R21)
            signing_keys.ensure_signing_keys(session, self._secrets, self._clock())
        return forgotten

    def encrypt_legacy_secrets(self) -> int:
        """Encrypt, with the first key, secrets in plain text or under an older key
        (SFTP secrets), and TOTP secrets under an older key.

        How many values changed.  On SQLite the old values are also wiped from the file
        (``secure_delete``, then a checkpoint that empties the WAL), so a copy of the
        database file taken afterwards holds no secret in the clear.
        """
        sqlite = self.engine.dialect.name == "sqlite"
        with self._write() as session:
            if sqlite:
                wiping = session.scalar(text("PRAGMA secure_delete"))
                session.execute(text("PRAGMA secure_delete = ON"))
            changed = outbox.encrypt_legacy_secrets(session, self._secrets)
            changed += logins.reencrypt_totp_secrets(session, self._secrets)
            changed += signing_keys.reencrypt_signing_keys(session, self._secrets)
            if sqlite:
                session.flush()  # the old values are overwritten now, while wiping is on
                session.execute(text(f"PRAGMA secure_delete = {int(wiping)}"))
        if sqlite and changed:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return changed
