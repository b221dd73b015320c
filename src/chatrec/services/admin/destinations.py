"""The company's recording platform: settings, secrets kept back, and Test connection (R16, R18).

Secrets are written, never shown again: reads say only whether a password or key is
set.  A save that leaves a secret out keeps the stored one, so editing the folder does
not mean pasting the key again; but only for the server it was given for.  When the
host, port or user change, the stored secret is not sent there (neither by Test
connection nor by later deliveries): it must be entered again (issue 16.2).  Saving
unblocks the destination (it is how a person fixes one), and its waiting deliveries go
at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from chatrec.delivery.readiness import Prober
from chatrec.delivery.sftp import ProbeStep, check_credentials
from chatrec.delivery.worker import destination_of
from chatrec.domain.roles import LoginRole
from chatrec.errors import ActionError, DeliveryError, NotFoundError, PlatformUnreachableError
from chatrec.services.access import Principal, company_for
from chatrec.services.admin.audit import REDACTED, audit_line
from chatrec.services.admin.ports import DestinationAdminStore
from chatrec.store.records import DestinationRecord


@dataclass(frozen=True, slots=True)
class DestinationSettings:
    """What an administrator sets; ``None`` secrets keep the stored ones, for the same
    host, port and user only.

    A new password replaces a stored key and the other way round: one way to log in.
    """

    host: str
    port: int
    username: str
    folder: str
    host_key: str = ""
    password: str | None = None
    private_key: str | None = None
    done_marker: bool = False
    verify_after_rename: bool = True


def destination_view(record: DestinationRecord | None) -> dict[str, object]:
    """The audited and shown fields: secrets only as whether they are set."""
    if record is None:
        return {}
    return {
        "host": record.host,
        "port": record.port,
        "username": record.username,
        "folder": record.folder,
        "host_key": record.host_key,
        "password": REDACTED if record.password else None,
        "private_key": REDACTED if record.private_key else None,
        "done_marker": record.done_marker,
        "verify_after_rename": record.verify_after_rename,
    }


def _checked(
    company_id: str, settings: DestinationSettings, current: DestinationRecord | None
) -> DestinationRecord:
    host = settings.host.strip()
    if not host or len(host) > 255 or any(c.isspace() for c in host):
        raise ActionError("the host must be a name or address, without spaces")
    if not 1 <= settings.port <= 65535:
        raise ActionError(f"the port must be 1 to 65535, not {settings.port}")
    if not settings.username.strip() or len(settings.username) > 100:
        raise ActionError("the user name must have 1 to 100 characters")
    if not settings.folder.strip() or "\0" in settings.folder:
        raise ActionError("the folder must be a path on the server, such as 'incoming'")
    password, private_key = (None, None)
    if current is not None and _same_server(current, host, settings.port, settings.username):
        password, private_key = current.password, current.private_key
    if settings.password is not None:
        password, private_key = settings.password, None
    if settings.private_key is not None:
        password, private_key = None, settings.private_key.strip() + "\n"
    if not password and not private_key:
        if current is not None and (current.password or current.private_key):
            raise ActionError(
                "the host, port or user changed: enter the password or private key again; "
                "the stored one is only ever sent to the server it was given for"
            )
        raise ActionError("give a password or a private key for the platform to accept")
    try:
        check_credentials(settings.host_key, private_key)
    except DeliveryError as error:
        raise ActionError(error.reason) from error
    base = current or DestinationRecord(
        company_id, host, settings.port, settings.username, settings.folder, ""
    )
    return replace(
        base,
        host=host,
        port=settings.port,
        username=settings.username.strip(),
        folder=settings.folder.strip(),
        host_key=settings.host_key.strip(),
        password=password or None,
        private_key=private_key,
        done_marker=settings.done_marker,
        verify_after_rename=settings.verify_after_rename,
    )


def _same_server(current: DestinationRecord, host: str, port: int, username: str) -> bool:
    """Whether the stored secret was given for this server and user (names of hosts are
    compared as DNS does, without case)."""
    return (
        current.host.lower() == host.lower()
        and current.port == port
        and current.username == username.strip()
    )


class DestinationAdmin:
    def __init__(self, store: DestinationAdminStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self._clock = clock

    def get(self, principal: Principal, company_id: str | None = None) -> DestinationRecord | None:
        return self.store.get_destination(
            company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        )

    def set(
        self, principal: Principal, settings: DestinationSettings, company_id: str | None = None
    ) -> DestinationRecord:
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        if self.store.get_company(company) is None:
            raise NotFoundError(f"no company {company!r}")
        current = self.store.get_destination(company)
        record = _checked(company, settings, current)
        before, after = destination_view(current), destination_view(record)
        if settings.password is not None or settings.private_key is not None:
            # The values are never audited; that they changed is.
            before["secret"], after["secret"] = "old", "new"
        line = audit_line(
            principal,
            company,
            "destination.saved",
            self._clock(),
            target=company,
            before=before,
            after=after,
        )
        self.store.set_destination(record, audit=[line])
        return self.store.get_destination(company) or record

    async def test(
        self,
        principal: Principal,
        prober: Prober,
        settings: DestinationSettings | None = None,
        company_id: str | None = None,
        *,
        within: float | None = None,
    ) -> list[ProbeStep]:
        """Connect, check the host key, log in, write, rename and delete a probe file.

        With ``settings``, the unsaved form is tested (its left-out secrets from the
        stored destination, for the same server only); without, the stored destination.

        ``within`` (seconds) bounds a company administrator's test, each network step
        and the whole; and a test that reached no SFTP server answers only once the
        connection's time is up, so a refused port cannot be told from a filtered one
        by how soon it answers (issue 16.3).
        """
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        current = self.store.get_destination(company)
        if settings is None:
            if current is None:
                raise NotFoundError("no recording platform is set up yet; save one first")
            record = current
        else:
            record = _checked(company, settings, current)
        destination = destination_of(record)
        if within is not None:
            destination = replace(
                destination, timeout_seconds=min(destination.timeout_seconds, within)
            )
        started = time.monotonic()
        steps = await prober.probe(destination, write=True, within=within)
        failed = next((step for step in steps if not step.ok), None)
        if (
            within is not None
            and failed is not None
            and isinstance(failed.error, PlatformUnreachableError)
        ):
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, destination.timeout_seconds - elapsed))
        line = audit_line(
            principal,
            company,
            "destination.tested",
            self._clock(),
            target=company,
            after={
                "host": record.host,
                "port": record.port,
                "result": "ok" if failed is None else f"{failed.name} failed: {failed.detail}",
            },
        )
        self.store.add_audit([line])
        return steps
