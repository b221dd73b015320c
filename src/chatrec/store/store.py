"""The store: records in, records out, one transaction per call.

Each method opens its own session, so a :class:`Store` is shared by every thread.
Reads return ``None`` for an unknown id; writes refuse with
:class:`~chatrec.errors.NotFoundError` (a missing company, user or flow) or a
:class:`~chatrec.errors.StoreConflictError` (a taken id or unique name) and change
nothing.  Live chats change only through :meth:`Store.apply`, which the
:class:`~chatrec.store.writer.GroupCommitter` calls with many changes at once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, and_, delete, func, or_, select, text, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from chatrec.domain.filenames import CONTINUES, name_key
from chatrec.domain.journal import Event
from chatrec.errors import ActionError, ChatrecError, DuplicateError, NotFoundError, StoreError
from chatrec.store import logins, outbox, retention, tokens
from chatrec.store.changes import (
    BatchMismatchError,
    explain_conflict,
    write_batch,
    write_change,
)
from chatrec.store.database import make_engine, writing
from chatrec.store.failures import store_failure
from chatrec.store.mapping import (
    audit_record,
    chat_record,
    company_record,
    company_values,
    event_of,
    flow_version_record,
    login_key,
    record_of,
    recording_record,
    user_record,
    user_values,
    values_of,
)
from chatrec.store.models import (
    AuditRow,
    ChatEventRow,
    ChatRow,
    CompanyRow,
    FlowRow,
    FlowVersionRow,
    PresenceRow,
    QueueRow,
    RecordingFileRow,
    RecordingRow,
    ServiceRow,
    SessionRow,
    UserRow,
)
from chatrec.store.records import (
    SYSTEM_COMPANY_ID,
    ApiTokenRecord,
    AuditRecord,
    ChatChange,
    ChatRecord,
    ChatStatus,
    CompanyRecord,
    DeliveryRecord,
    DeliveryState,
    DeliveryStats,
    DestinationRecord,
    FlowVersionRecord,
    Pending,
    PresenceCause,
    PresenceRecord,
    QueueRecord,
    RecordingDelivery,
    RecordingRecord,
    ServiceRecord,
    SessionRecord,
    SpooledChat,
    UserRecord,
)
from chatrec.store.secrets import SecretBox

Clock = Callable[[], datetime]
Audit = Sequence[AuditRecord]

# Candidates per query in taken_base_names: SQLite limits the depth of an expression.
_NAMES_PER_QUERY = 100


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """chatrec's database at ``database`` (a URL, or an engine made by :func:`make_engine`).

    ``secrets`` encrypts the SFTP secrets the store keeps (R18).  It has no default, so
    no caller can store them under a key nobody else holds: every process sharing the
    database gets the same box from its configuration (``bootstrap``, ``cli``).  The
    store owns its engine: :meth:`close` disposes of it.
    """

    def __init__(
        self, database: str | Engine, *, secrets: SecretBox, clock: Clock = utc_now
    ) -> None:
        self.engine = make_engine(database) if isinstance(database, str) else database
        self._secrets = secrets
        self._clock = clock
        self._reading = sessionmaker(self.engine, expire_on_commit=False)
        self._writing = sessionmaker(writing(self.engine), expire_on_commit=False)

    def migrate(self, *, forget_unreadable_secrets: bool = False) -> list[str]:
        """Create or upgrade the schema to the newest migration, then encrypt old secrets.

        No secret stays in plain text or under an older key (see
        :meth:`encrypt_legacy_secrets`).  A secret that the key does not open stops the
        migration with :class:`~chatrec.errors.SecretKeyError` after the schema is
        upgraded, unless ``forget_unreadable_secrets`` (the key is lost): then such
        secrets are dropped and their destinations blocked until they are entered again.
        Returns the companies whose secrets were forgotten.
        """
        # Alembic is imported only here: every other start (worker, CLI) skips its cost.
        from chatrec.store.migrations import upgrade

        upgrade(self.engine)
        forgotten: list[str] = []
        if forget_unreadable_secrets:
            with self._write() as session:
                forgotten = outbox.forget_unreadable_secrets(session, self._secrets, self._clock())
        self.encrypt_legacy_secrets()
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
            if sqlite:
                session.flush()  # the old values are overwritten now, while wiping is on
                session.execute(text(f"PRAGMA secure_delete = {int(wiping)}"))
        if sqlite and changed:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return changed

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """One transaction, committed when the block ends; a late clash is a conflict."""
        try:
            with self._writing.begin() as session:
                yield session
        except IntegrityError as error:
            raise DuplicateError(f"the write clashes with stored data: {error.orig}") from error
        except DataError as error:
            raise _refused_value(error) from error
        except DBAPIError as error:
            raise _failed("write", error) from error

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """One read; a failure of the database itself is a :class:`StoreError`, as a
        failed write's is, so every caller can answer "try again" (R19)."""
        try:
            with self._reading() as session:
                yield session
        except (IntegrityError, DataError):
            raise
        except DBAPIError as error:
            raise _failed("read", error) from error

    # -- companies and logins ---------------------------------------------------------

    def create_company(self, company: CompanyRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            if session.get(CompanyRow, company.company_id):
                raise DuplicateError(f"company {company.company_id!r} already exists")
            session.add(CompanyRow(**company_values(company)))
            session.flush()
            _add_audit(session, audit)

    def update_company(self, company: CompanyRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            row = _require(session, CompanyRow, company.company_id, "company")
            for name, value in company_values(company).items():
                setattr(row, name, value)
            _add_audit(session, audit)

    def get_company(self, company_id: str) -> CompanyRecord | None:
        with self._read() as session:
            row = session.get(CompanyRow, company_id)
            return None if row is None else company_record(row)

    def list_companies(self) -> list[CompanyRecord]:
        """Every tenant company, without the operators' own."""
        with self._read() as session:
            rows = session.scalars(
                select(CompanyRow)
                .where(CompanyRow.company_id != SYSTEM_COMPANY_ID)
                .order_by(CompanyRow.company_id)
            )
            return [company_record(row) for row in rows]

    def create_user(self, user: UserRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            _require(session, CompanyRow, user.company_id, "company")
            if session.get(UserRow, user.user_id):
                raise DuplicateError(f"user {user.user_id!r} already exists")
            _refuse_login_taken(session, user)
            session.add(UserRow(**user_values(user)))
            _add_audit(session, audit)

    def update_user(self, user: UserRecord, *, audit: Audit = ()) -> None:
        """Store every field of the login; its id and company never change."""
        self.update_users([user], audit=audit)

    def update_users(self, users: Sequence[UserRecord], *, audit: Audit = ()) -> None:
        """Store every field of each login, all or none (bulk edits)."""
        with self._write() as session:
            for user in users:
                row = _require(session, UserRow, user.user_id, "user")
                if row.company_id != user.company_id:
                    raise NotFoundError(f"no user {user.user_id!r} in company {user.company_id!r}")
                _refuse_login_taken(session, user)
                for name, value in user_values(user).items():
                    setattr(row, name, value)
            _add_audit(session, audit)

    def get_user(self, user_id: str) -> UserRecord | None:
        with self._read() as session:
            row = session.get(UserRow, user_id)
            return None if row is None else user_record(row)

    def find_users_by_login(self, login: str, company_id: str | None = None) -> list[UserRecord]:
        """The users whose login matches, whatever its case: of ``company_id``, or of
        every company (logins are unique only within a company)."""
        with self._read() as session:
            query = select(UserRow).where(UserRow.login_key == login_key(login))
            if company_id is not None:
                query = query.where(UserRow.company_id == company_id)
            rows = session.scalars(query.order_by(UserRow.company_id))
            return [user_record(row) for row in rows]

    def find_user_by_login(self, login: str, company_id: str | None = None) -> UserRecord | None:
        """The one user whose login matches, whatever its case, of ``company_id`` or of
        any company; ``None`` when none does, or when several companies have it."""
        found = self.find_users_by_login(login, company_id)
        return found[0] if len(found) == 1 else None

    def list_users(self, company_id: str) -> list[UserRecord]:
        with self._read() as session:
            rows = session.scalars(
                select(UserRow).where(UserRow.company_id == company_id).order_by(UserRow.login)
            )
            return [user_record(row) for row in rows]

    # -- queues, flows, services ------------------------------------------------------

    def create_queue(self, queue: QueueRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            _require(session, CompanyRow, queue.company_id, "company")
            if session.get(QueueRow, queue.queue_id):
                raise DuplicateError(f"queue {queue.queue_id!r} already exists")
            if _find_queue(session, queue.company_id, queue.name):
                raise DuplicateError(f"the company already has a queue named {queue.name!r}")
            session.add(QueueRow(**values_of(queue)))
            _add_audit(session, audit)

    def update_queue(self, queue: QueueRecord, *, audit: Audit = ()) -> None:
        """Rename the queue; flows route to it by name, so they follow the new name."""
        with self._write() as session:
            row = _require(session, QueueRow, queue.queue_id, "queue")
            if row.company_id != queue.company_id:
                raise NotFoundError(f"no queue {queue.queue_id!r} in this company")
            clash = _find_queue(session, queue.company_id, queue.name)
            if clash is not None and clash.queue_id != queue.queue_id:
                raise DuplicateError(f"the company already has a queue named {queue.name!r}")
            row.name = queue.name
            _add_audit(session, audit)

    def get_queue(self, queue_id: str) -> QueueRecord | None:
        with self._read() as session:
            row = session.get(QueueRow, queue_id)
            return None if row is None else record_of(QueueRecord, row)

    def find_queue(self, company_id: str, name: str) -> QueueRecord | None:
        with self._read() as session:
            row = _find_queue(session, company_id, name)
            return None if row is None else record_of(QueueRecord, row)

    def list_queues(self, company_id: str) -> list[QueueRecord]:
        with self._read() as session:
            rows = session.scalars(
                select(QueueRow).where(QueueRow.company_id == company_id).order_by(QueueRow.name)
            )
            return [record_of(QueueRecord, row) for row in rows]

    def save_flow(
        self, company_id: str, flow_id: str, name: str, source: str, *, audit: Audit = ()
    ) -> FlowVersionRecord:
        """Keep ``source`` as the flow's next version (1 for a new flow) and rename it.

        The store does not read the flow: callers validate it first (``flows.load_flow``).
        """
        with self._write() as session:
            _require(session, CompanyRow, company_id, "company")
            flow = session.get(FlowRow, flow_id)
            if flow is None:
                flow = FlowRow(flow_id=flow_id, company_id=company_id, name=name)
                session.add(flow)
            elif flow.company_id != company_id:
                raise NotFoundError(f"no flow {flow_id!r} in company {company_id!r}")
            flow.name = name
            latest = session.scalar(
                select(func.max(FlowVersionRow.version)).where(FlowVersionRow.flow_id == flow_id)
            )
            version = FlowVersionRow(
                flow_id=flow_id, version=(latest or 0) + 1, source=source, created_at=self._clock()
            )
            session.add(version)
            session.flush()
            _add_audit(session, audit)
            return flow_version_record(flow, version)

    def get_flow(self, flow_id: str, version: int | None = None) -> FlowVersionRecord | None:
        """The given version of the flow, or its newest when ``version`` is ``None``."""
        with self._read() as session:
            flow = session.get(FlowRow, flow_id)
            if flow is None:
                return None
            query = select(FlowVersionRow).where(FlowVersionRow.flow_id == flow_id)
            if version is None:
                query = query.order_by(FlowVersionRow.version.desc()).limit(1)
            else:
                query = query.where(FlowVersionRow.version == version)
            row = session.scalar(query)
            return None if row is None else flow_version_record(flow, row)

    def list_flow_versions(self, flow_id: str) -> list[FlowVersionRecord]:
        """Every saved version of the flow, newest first."""
        with self._read() as session:
            flow = session.get(FlowRow, flow_id)
            if flow is None:
                return []
            rows = session.scalars(
                select(FlowVersionRow)
                .where(FlowVersionRow.flow_id == flow_id)
                .order_by(FlowVersionRow.version.desc())
            )
            return [flow_version_record(flow, row) for row in rows]

    def list_flows(self, company_id: str) -> list[FlowVersionRecord]:
        """The newest version of each of the company's flows, by name."""
        with self._read() as session:
            newest = (
                select(FlowVersionRow.flow_id, func.max(FlowVersionRow.version).label("version"))
                .group_by(FlowVersionRow.flow_id)
                .subquery()
            )
            rows = session.execute(
                select(FlowRow, FlowVersionRow)
                .join(newest, newest.c.flow_id == FlowRow.flow_id)
                .join(
                    FlowVersionRow,
                    (FlowVersionRow.flow_id == newest.c.flow_id)
                    & (FlowVersionRow.version == newest.c.version),
                )
                .where(FlowRow.company_id == company_id)
                .order_by(FlowRow.name, FlowRow.flow_id)
            )
            return [flow_version_record(flow, version) for flow, version in rows]

    def create_service(self, service: ServiceRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            _require(session, CompanyRow, service.company_id, "company")
            _require_flow_of(session, service)
            if session.get(ServiceRow, service.service_id):
                raise DuplicateError(f"service {service.service_id!r} already exists")
            session.add(ServiceRow(**values_of(service)))
            _add_audit(session, audit)

    def update_service(self, service: ServiceRecord, *, audit: Audit = ()) -> None:
        """Rename the service or give it another flow; its company never changes."""
        with self._write() as session:
            row = _require(session, ServiceRow, service.service_id, "service")
            if row.company_id != service.company_id:
                raise NotFoundError(f"no service {service.service_id!r} in this company")
            _require_flow_of(session, service)
            row.name = service.name
            row.flow_id = service.flow_id
            _add_audit(session, audit)

    def get_service(self, service_id: str) -> ServiceRecord | None:
        with self._read() as session:
            row = session.get(ServiceRow, service_id)
            return None if row is None else record_of(ServiceRecord, row)

    def list_services(self, company_id: str) -> list[ServiceRecord]:
        with self._read() as session:
            rows = session.scalars(
                select(ServiceRow)
                .where(ServiceRow.company_id == company_id)
                .order_by(ServiceRow.name)
            )
            return [record_of(ServiceRecord, row) for row in rows]

    # -- agents' presence ---------------------------------------------------------------

    def get_presence(self, user_id: str) -> PresenceRecord | None:
        """The agent's chosen presence; ``None`` if they never chose one (Away)."""
        with self._read() as session:
            row = session.get(PresenceRow, user_id)
            return None if row is None else _presence_record(row)

    def set_presence(self, presence: PresenceRecord) -> None:
        with self._write() as session:
            _require(session, UserRow, presence.user_id, "user")
            session.merge(PresenceRow(**values_of(presence)))

    def available_agents(self) -> list[PresenceRecord]:
        """Every agent whose chosen presence is Available, connected or not."""
        with self._read() as session:
            rows = session.scalars(select(PresenceRow).where(PresenceRow.available))
            return [_presence_record(row) for row in rows]

    # -- sign-in: sessions, wrong sign-ins, the second factor; see ``logins`` -------------

    def create_session(self, login_session: SessionRecord) -> None:
        with self._write() as session:
            _require(session, UserRow, login_session.user_id, "user")
            session.add(SessionRow(**values_of(login_session)))

    def get_session(self, token_hash: str) -> SessionRecord | None:
        """The session, expired or not: the caller compares its times with its clock."""
        with self._read() as session:
            row = session.get(SessionRow, token_hash)
            return None if row is None else logins.session_record(row)

    def set_session_pending(self, token_hash: str, pending: Pending | None) -> None:
        with self._write() as session:
            row = _require(session, SessionRow, token_hash, "session")
            row.pending = None if pending is None else pending.value

    def touch_session(self, token_hash: str, now: datetime, every: timedelta) -> None:
        """Note the session's use, at most once per ``every``."""
        with self._write() as session:
            logins.touch_session(session, token_hash, now, every)

    def delete_session(self, token_hash: str) -> None:
        with self._write() as session:
            session.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash))

    def end_sessions(self, user_id: str, *, keep: str | None = None, audit: Audit = ()) -> int:
        """End every session of the login but the one hashed ``keep``; how many ended."""
        with self._write() as session:
            ended = logins.end_sessions(session, user_id, keep=keep)
            _add_audit(session, audit)
            return ended

    def delete_expired_sessions(self, now: datetime, idle_since: datetime | None = None) -> int:
        """Forget sessions that expired by ``now`` or were idle since ``idle_since``; how
        many were deleted."""
        with self._write() as session:
            return logins.delete_stale_sessions(session, now, idle_since)

    def replace_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> bool:
        """Store the login's password hashed anew, at another cost (sign-in's rehash), unless
        its hash changed meanwhile (a reset wins); whether it was replaced."""
        statement = (
            update(UserRow)
            .where(UserRow.user_id == user_id, UserRow.password_hash == old_hash)
            .values(password_hash=new_hash)
            .execution_options(synchronize_session=False)
        )
        with self._write() as session:
            return bool(cast(CursorResult[Any], session.execute(statement)).rowcount)

    def change_password(
        self,
        user: UserRecord,
        keep: str | None,
        pending: Pending | None = None,
        *,
        audit: Audit = (),
    ) -> int:
        """Store the login with its new password and end its other sessions (all but the
        one hashed ``keep``, which is left ``pending``), in one transaction; how many
        ended."""
        with self._write() as session:
            row = _require(session, UserRow, user.user_id, "user")
            for name, value in user_values(user).items():
                setattr(row, name, value)
            ended = logins.end_sessions(session, user.user_id, keep=keep)
            if keep is not None and (kept := session.get(SessionRow, keep)) is not None:
                kept.pending = None if pending is None else pending.value
            _add_audit(session, audit)
            return ended

    def login_lock(self, lock_key: str, address: str) -> datetime | None:
        """Until when ``address`` may not sign in to ``lock_key``; ``None``: never locked."""
        with self._read() as session:
            return logins.lock_of(session, lock_key, address)

    def count_login_failure(
        self,
        lock_key: str,
        address: str,
        now: datetime,
        lock_after: logins.LockAfter,
        *,
        audit: Callable[[datetime], Audit] = lambda until: (),
    ) -> datetime | None:
        """Count a wrong sign-in; until when it locked ``address`` out of ``lock_key``
        (then ``audit(until)`` is written too), or ``None``."""
        with self._write() as session:
            until = logins.count_failure(session, lock_key, address, now, lock_after)
            if until is not None:
                _add_audit(session, audit(until))
            return until

    def clear_login_failures(self, lock_key: str, address: str | None = None) -> None:
        """Forget the wrong sign-ins of ``lock_key`` from ``address`` (a success), or from
        every address (an administrator unlocks)."""
        with self._write() as session:
            logins.clear_failures(session, lock_key, address)
            if address is None and (row := session.get(UserRow, lock_key)) is not None:
                row.locked_until = None

    def forget_login_failures(self, now: datetime, before: datetime) -> int:
        with self._write() as session:
            return logins.forget_failures(session, now, before)

    def set_totp(
        self, user_id: str, secret: str | None, *, enabled: bool, audit: Audit = ()
    ) -> None:
        with self._write() as session:
            logins.set_totp(session, self._secrets, user_id, secret, enabled=enabled)
            _add_audit(session, audit)

    def enable_totp(
        self, user_id: str, step: int, code_hashes: list[str], *, audit: Audit = ()
    ) -> None:
        """Turn the enrolled secret on, its confirming code spent, with new recovery codes."""
        with self._write() as session:
            row = _require(session, UserRow, user_id, "user")
            row.totp_enabled = True
            row.totp_last_step = step
            logins.replace_recovery_codes(session, user_id, code_hashes)
            _add_audit(session, audit)

    def totp_secret(self, user_id: str) -> str | None:
        """The login's TOTP secret in plain text (enrolled or on), else ``None``."""
        with self._read() as session:
            return logins.totp_secret(session, self._secrets, user_id)

    def accept_totp_step(self, user_id: str, step: int) -> bool:
        with self._write() as session:
            return logins.accept_totp_step(session, user_id, step)

    def use_recovery_code(self, user_id: str, code_hash: str, now: datetime) -> bool:
        with self._write() as session:
            return logins.use_recovery_code(session, user_id, code_hash, now)

    def unused_recovery_codes(self, user_id: str) -> int:
        with self._read() as session:
            return logins.unused_recovery_codes(session, user_id)

    # -- API tokens: see ``tokens`` -------------------------------------------------------

    def create_api_token(
        self, token: ApiTokenRecord, *, live_limit: int | None = None, audit: Audit = ()
    ) -> None:
        """Add the token, unless its login has ``live_limit`` live ones (``None``: no limit)."""
        with self._write() as session:
            tokens.add_api_token(session, token, live_limit)
            _add_audit(session, audit)

    def find_api_token(self, token_hash: str) -> ApiTokenRecord | None:
        """The token, revoked or expired or not: the caller decides with its clock."""
        with self._read() as session:
            return tokens.find_api_token(session, token_hash)

    def get_api_token(self, token_id: str) -> ApiTokenRecord | None:
        with self._read() as session:
            return tokens.get_api_token(session, token_id)

    def list_api_tokens(self, user_id: str) -> list[ApiTokenRecord]:
        """The login's tokens, revoked and expired ones too, oldest first."""
        with self._read() as session:
            return tokens.list_api_tokens(session, user_id)

    def revoke_api_token(
        self, token_id: str, now: datetime, *, audit: Audit = ()
    ) -> list[ApiTokenRecord]:
        """Revoke the token and those made with it: the token first, then those."""
        with self._write() as session:
            revoked = tokens.revoke_api_token(session, token_id, now)
            _add_audit(session, audit)
            return revoked

    def reset_credentials(self, user: UserRecord, now: datetime, *, audit: Audit = ()) -> None:
        """Store the login with its new password and shut out every holder of the old one:
        its sessions end, its API tokens are revoked and every address's sign-in lock
        is lifted, all in one transaction."""
        with self._write() as session:
            row = _require(session, UserRow, user.user_id, "user")
            if row.company_id != user.company_id:
                raise NotFoundError(f"no user {user.user_id!r} in company {user.company_id!r}")
            for name, value in user_values(user).items():
                setattr(row, name, value)
            logins.end_sessions(session, user.user_id)
            logins.clear_failures(session, user.user_id)
            tokens.revoke_user_tokens(session, user.user_id, now)
            _add_audit(session, audit)

    def touch_api_token(self, token_hash: str, now: datetime, every: timedelta) -> None:
        """Note the token's use, at most once per ``every``."""
        with self._write() as session:
            tokens.touch_api_token(session, token_hash, now, every)

    # -- chats ------------------------------------------------------------------------

    def get_chat(self, chat_id: str) -> ChatRecord | None:
        with self._read() as session:
            row = session.get(ChatRow, chat_id)
            return None if row is None else chat_record(row)

    def find_chat_by_token(self, token_hash: str) -> ChatRecord | None:
        with self._read() as session:
            row = session.scalar(select(ChatRow).where(ChatRow.token_hash == token_hash))
            return None if row is None else chat_record(row)

    def open_chats(self) -> list[ChatRecord]:
        """Every chat not ended, of every company: what a starting node takes over."""
        with self._read() as session:
            rows = session.scalars(
                select(ChatRow)
                .where(ChatRow.status != ChatStatus.ENDED.value)
                .order_by(ChatRow.started_at, ChatRow.chat_id)
            )
            return [chat_record(row) for row in rows]

    def list_chats(
        self,
        company_id: str,
        statuses: Sequence[ChatStatus] | None = None,
        limit: int = 100,
        *,
        after: tuple[datetime, str] | None = None,
    ) -> list[ChatRecord]:
        """The company's newest chats first, optionally only those in ``statuses``.

        ``after`` is the (``started_at``, ``chat_id``) of the last chat of a page: the
        next page starts after it.
        """
        with self._read() as session:
            query = select(ChatRow).where(ChatRow.company_id == company_id)
            if statuses is not None:
                query = query.where(ChatRow.status.in_([status.value for status in statuses]))
            if after is not None:
                started, chat_id = after
                query = query.where(
                    or_(
                        ChatRow.started_at < started,
                        and_(ChatRow.started_at == started, ChatRow.chat_id > chat_id),
                    )
                )
            rows = session.scalars(
                query.order_by(ChatRow.started_at.desc(), ChatRow.chat_id).limit(limit)
            )
            return [chat_record(row) for row in rows]

    def load_journal(self, chat_id: str, after_seq: int = 0) -> list[tuple[int, Event]]:
        """The chat's events numbered above ``after_seq``, in order (a reconnect's resync)."""
        with self._read() as session:
            rows = session.scalars(
                select(ChatEventRow)
                .where(ChatEventRow.chat_id == chat_id, ChatEventRow.seq > after_seq)
                .order_by(ChatEventRow.seq)
            )
            return [event_of(row) for row in rows]

    def get_recordings(self, chat_id: str) -> list[RecordingRecord]:
        """The chat's recordings with their verdicts, and files for those produced."""
        with self._read() as session:
            rows = session.scalars(
                select(RecordingRow)
                .where(RecordingRow.chat_id == chat_id)
                .order_by(RecordingRow.recording_id)
            ).all()
            files: dict[str, list[RecordingFileRow]] = {row.recording_id: [] for row in rows}
            for file in session.scalars(
                select(RecordingFileRow)
                .where(RecordingFileRow.recording_id.in_(files))
                .order_by(RecordingFileRow.file_id)
            ):
                files[file.recording_id].append(file)
            return [recording_record(row, files[row.recording_id]) for row in rows]

    def taken_base_names(self, company_id: str, candidates: Sequence[str]) -> set[str]:
        """Stored base names equal to a candidate or continuing it with ``-`` (R6).

        Compared by :func:`~chatrec.domain.filenames.name_key`, as names are chosen;
        returned as stored.
        """
        keys = sorted({name_key(candidate) for candidate in candidates})
        taken: set[str] = set()
        with self._read() as session:
            for start in range(0, len(keys), _NAMES_PER_QUERY):
                chunk = keys[start : start + _NAMES_PER_QUERY]
                column = RecordingRow.base_name_key
                matches = [column.in_(chunk)] + [
                    column.startswith(key + CONTINUES, autoescape=True) for key in chunk
                ]
                names = session.scalars(
                    select(RecordingRow.base_name).where(
                        RecordingRow.company_id == company_id, or_(*matches)
                    )
                )
                taken.update(name for name in names if name is not None)
        return taken

    # -- audit ------------------------------------------------------------------------

    def add_audit(self, entries: Sequence[AuditRecord]) -> None:
        """Audit lines of actions that change nothing else (a refused login, a probe)."""
        with self._write() as session:
            _add_audit(session, entries)

    def list_audit(
        self,
        company_id: str,
        chat_id: str | None = None,
        *,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """The company's audit trail in order, or only the lines about one chat (R14).

        With ``limit``, the newest ``limit`` lines (still oldest first).
        """
        with self._read() as session:
            query = select(AuditRow).where(AuditRow.company_id == company_id)
            if chat_id is not None:
                query = query.where(AuditRow.chat_id == chat_id)
            if since is not None:
                query = query.where(AuditRow.at >= since)
            if limit is None:
                rows = list(session.scalars(query.order_by(AuditRow.at, AuditRow.id)))
            else:
                newest = query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
                rows = list(reversed(session.scalars(newest).all()))
            return [audit_record(row) for row in rows]

    def page_audit(
        self,
        company_id: str,
        chat_id: str | None = None,
        *,
        since: datetime | None = None,
        before: tuple[datetime, int] | None = None,
        limit: int = 100,
    ) -> list[tuple[int, AuditRecord]]:
        """The company's audit lines newest first, each with its id, from ``before`` on.

        ``before`` is the (``at``, id) of the last line of a page: the next page holds the
        lines older than it.
        """
        with self._read() as session:
            query = select(AuditRow).where(AuditRow.company_id == company_id)
            if chat_id is not None:
                query = query.where(AuditRow.chat_id == chat_id)
            if since is not None:
                query = query.where(AuditRow.at >= since)
            if before is not None:
                at, line = before
                query = query.where(
                    or_(AuditRow.at < at, and_(AuditRow.at == at, AuditRow.id < line))
                )
            rows = session.scalars(
                query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
            )
            return [(row.id, audit_record(row)) for row in rows]

    def page_audit_forward(
        self,
        company_id: str,
        chat_id: str | None = None,
        *,
        since: datetime | None = None,
        after: tuple[datetime, int] | None = None,
        limit: int,
    ) -> list[tuple[int, AuditRecord]]:
        """The company's audit lines oldest first, each with its id, after ``after`` (the
        (``at``, id) of the last line of the previous page): an export reads the whole
        trail this way, one page in memory at a time."""
        with self._read() as session:
            query = select(AuditRow).where(AuditRow.company_id == company_id)
            if chat_id is not None:
                query = query.where(AuditRow.chat_id == chat_id)
            if since is not None:
                query = query.where(AuditRow.at >= since)
            if after is not None:
                at, line = after
                query = query.where(
                    or_(AuditRow.at > at, and_(AuditRow.at == at, AuditRow.id > line))
                )
            rows = session.scalars(query.order_by(AuditRow.at, AuditRow.id).limit(limit))
            return [(row.id, audit_record(row)) for row in rows]

    # -- delivery (R16) and purge (R17): see ``outbox`` and ``retention`` -------------

    def set_destination(self, destination: DestinationRecord, *, audit: Audit = ()) -> None:
        """Create or replace the company's recording platform; its deliveries go again.

        Changing a destination is how an administrator fixes a blocked one, so it is
        unblocked, and its waiting deliveries are due at once.
        """
        with self._write() as session:
            outbox.set_destination(session, destination, self._clock(), self._secrets)
            _add_audit(session, audit)

    def get_destination(self, company_id: str) -> DestinationRecord | None:
        """The destination, secrets decrypted; :class:`~chatrec.errors.SecretKeyError`
        if they were saved with another key."""
        with self._read() as session:
            return outbox.get_destination(session, company_id, self._secrets)

    def list_destinations(self) -> list[DestinationRecord]:
        with self._read() as session:
            return outbox.list_destinations(session, self._secrets)

    def block_destination(self, company_id: str, reason: str, now: datetime) -> int:
        """Stop the company's deliveries with ``reason`` until fixed; how many were blocked."""
        with self._write() as session:
            return outbox.block_destination(session, company_id, reason, now)

    def unblock_destination(self, company_id: str, now: datetime | None = None) -> int:
        """Let the company's deliveries go again at once; how many were waiting."""
        with self._write() as session:
            return outbox.unblock_destination(session, company_id, now or self._clock())

    def claim_deliveries(
        self, worker_id: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[DeliveryRecord]:
        """Lease due deliveries to ``worker_id``; see :func:`chatrec.store.outbox.claim`."""
        with self._read() as session:
            if not outbox.any_due(session, now):
                return []
        with self._write() as session:
            return outbox.claim(session, worker_id, now, lease_seconds, limit)

    def mark_delivered(self, ids: Sequence[int], worker_id: str, now: datetime) -> list[int]:
        """Confirm deliveries still leased to ``worker_id``; the ids confirmed."""
        with self._write() as session:
            return outbox.mark_delivered(session, ids, worker_id, now)

    def spooled_chats(self, chat_ids: Collection[str]) -> dict[str, SpooledChat]:
        """What the store holds of the chats with spool folders; unknown ids are left out."""
        with self._read() as session:
            return outbox.spooled_chats(session, chat_ids)

    def mark_retry(
        self, delivery_id: int, worker_id: str, error: str, next_attempt_at: datetime
    ) -> bool:
        """Put a delivery leased to ``worker_id`` back to wait; ``False`` if not ours."""
        with self._write() as session:
            return outbox.mark_retry(session, delivery_id, worker_id, error, next_attempt_at)

    def retry_deliveries(
        self,
        ids: Sequence[int] | None,
        *,
        company_id: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Make the deliveries (``None``: all) due now and unblock their destinations."""
        with self._write() as session:
            return outbox.retry(session, ids, company_id, now or self._clock())

    def list_deliveries(
        self,
        state: DeliveryState | None = None,
        company_id: str | None = None,
        limit: int = 100,
    ) -> list[DeliveryRecord]:
        with self._read() as session:
            return outbox.list_deliveries(session, state, company_id, limit)

    def recording_deliveries(
        self,
        company_id: str,
        *,
        state: DeliveryState | None = None,
        before: int | None = None,
        limit: int | None = None,
        recording_ids: Collection[str] | None = None,
    ) -> list[RecordingDelivery]:
        """The company's recordings with their files' deliveries, newest first."""
        with self._read() as session:
            return outbox.recording_deliveries(
                session,
                company_id,
                state=state,
                before=before,
                limit=limit,
                recording_ids=recording_ids,
            )

    def get_delivery(
        self, delivery_id: int, company_id: str | None = None
    ) -> DeliveryRecord | None:
        """The delivery, or ``None`` if unknown or of another company than ``company_id``."""
        with self._read() as session:
            return outbox.get_delivery(session, delivery_id, company_id)

    def delivery_stats(self) -> DeliveryStats:
        with self._read() as session:
            return outbox.delivery_stats(session)

    def chats_due_for_purge(self, now: datetime, limit: int = 100) -> list[str]:
        with self._read() as session:
            return retention.chats_due_for_purge(session, now, limit)

    def purge_message_bodies(self, chat_id: str, now: datetime | None = None) -> int:
        """Empty an ended chat's message texts (R17); how many messages had text."""
        with self._write() as session:
            return retention.purge_message_bodies(session, chat_id, now or self._clock())

    # -- live changes -----------------------------------------------------------------

    def apply(self, changes: Sequence[ChatChange]) -> list[BaseException | None]:
        """Commit many chat changes in one transaction, each in its own SAVEPOINT.

        A change that is refused (a clash, an unknown chat, a value the database will
        not take) is rolled back alone and its error returned in its slot; the others
        commit together.  A failure of the database itself (unreachable, locked)
        raises, and then nothing of the batch is committed.
        """
        now = self._clock()
        if len(changes) > 1:
            try:
                with self._writing.begin() as session:
                    write_batch(session, changes, now)
                return [None] * len(changes)
            except (IntegrityError, DataError, BatchMismatchError):
                pass  # some change is refused: find which, each in its own savepoint
            except DBAPIError:
                raise  # the database itself failed: the whole batch with it
            except (StatementError, ChatrecError, ValueError):
                pass
        results: list[BaseException | None] = []
        with self._writing.begin() as session:
            for change in changes:
                results.append(_apply_one(session, change, now))
        return results


def _apply_one(session: Session, change: ChatChange, now: datetime) -> BaseException | None:
    try:
        with session.begin_nested():
            write_change(session, change, now)
    except IntegrityError as error:
        return explain_conflict(session, change, error)
    except DataError as error:
        return _refused_value(error)
    except DBAPIError:
        raise  # the database itself failed: the whole batch with it
    except (StatementError, ChatrecError, ValueError) as error:
        return error
    return None


def _failed(what: str, error: DBAPIError) -> StoreError:
    # The cause goes to the operator's log alone, described without the data (R18).
    return store_failure(f"the database failed a {what}; nothing changed; try again", error)


def _refused_value(error: DataError) -> ActionError:
    # A value SQLite keeps but PostgreSQL cannot (a NUL character in text): bad input (R19).
    return ActionError(f"the database cannot keep a value: {error.orig}")


def _presence_record(row: PresenceRow) -> PresenceRecord:
    return record_of(PresenceRecord, row, changed_by=PresenceCause(row.changed_by))


def _add_audit(session: Session, entries: Sequence[AuditRecord]) -> None:
    """Audit lines go in the transaction of the change they describe, or not at all."""
    for entry in entries:
        session.add(AuditRow(**values_of(entry)))


def _require(session: Session, model: type[Any], key: str, what: str) -> Any:
    row = session.get(model, key)
    if row is None:
        raise NotFoundError(f"no {what} {key!r}")
    return row


def _refuse_login_taken(session: Session, user: UserRecord) -> None:
    """Within the login's own company only: another company's logins are none of its
    administrators' business (R18)."""
    holder = session.scalar(
        select(UserRow.user_id).where(
            UserRow.company_id == user.company_id,
            UserRow.login_key == login_key(user.login),
            UserRow.user_id != user.user_id,
        )
    )
    if holder is not None:
        raise DuplicateError(f"the login {user.login!r} is taken in this company")


def _find_queue(session: Session, company_id: str, name: str) -> QueueRow | None:
    return session.scalar(
        select(QueueRow).where(QueueRow.company_id == company_id, QueueRow.name == name)
    )


def _require_flow_of(session: Session, service: ServiceRecord) -> None:
    if service.flow_id is None:
        return
    flow = session.get(FlowRow, service.flow_id)
    if flow is None or flow.company_id != service.company_id:
        raise NotFoundError(f"no flow {service.flow_id!r} in company {service.company_id!r}")
