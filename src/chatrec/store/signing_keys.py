"""Companies' signing keys (R21): made with the company, rotated, never lost.

The private key is kept encrypted like the SFTP secrets (R18); one a lost secrets key
no longer opens is forgotten by ``chatrec migrate --forget-unreadable-secrets``: its
validity ends, its public part stays published, and the company gets a new key.  A
rotation ends the
current key's validity and starts a new key's at the same instant; old keys stay, so
a recording is signed by the key valid when its chat ended and every delivered
recording keeps verifying with a key that is still published.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from chatrec.domain.manifest import PublicKey, SigningKey, key_id_of, new_private_key
from chatrec.errors import NotFoundError
from chatrec.store.models import CompanyRow, SigningKeyRow
from chatrec.store.records import SYSTEM_COMPANY_ID, AuditRecord
from chatrec.store.secrets import SecretBox
from chatrec.store.tables import SIGNING_KEYS
from chatrec.store.transactions import StorePart, add_audit_rows


def _public(row: Any) -> PublicKey:
    """``row``: a :class:`SigningKeyRow` or a plain row of its columns."""
    return PublicKey(row.company_id, bytes(row.public_key), row.valid_from, row.valid_until)


def _signing(row: Any, box: SecretBox) -> SigningKey:
    opened = _opened(box, row.company_id, row.private_key, row.valid_from)
    return replace(opened, public=_public(row))


@lru_cache(maxsize=1024)
def _opened(box: SecretBox, company_id: str, ciphertext: str, valid_from: datetime) -> SigningKey:
    """A stored key decrypted once per process, not at every chat's end: keyed by its
    ciphertext, so a key rotated or re-encrypted since is read afresh (R21)."""
    private = base64.b64decode(box.decrypt(ciphertext))
    return SigningKey.of(company_id, private, valid_from)


_KEYS_OF_COMPANY = (
    select(SIGNING_KEYS)
    .where(SIGNING_KEYS.c.company_id == bindparam("company_id"))
    .order_by(SIGNING_KEYS.c.valid_from, SIGNING_KEYS.c.key_id)
)
"""The company's keys, oldest first, as plain rows: read at every recorded chat's end."""


def add_signing_key(
    session: Session, box: SecretBox, company_id: str, at: datetime, private: bytes | None = None
) -> PublicKey:
    """A new key for the company (``private``, or a fresh one), valid from ``at``; the
    caller ends the current one."""
    private = private or new_private_key()
    public = SigningKey.of(company_id, private, at).public
    session.add(
        SigningKeyRow(
            key_id=key_id_of(public.public_key),
            company_id=company_id,
            public_key=public.public_key,
            private_key=box.encrypt(base64.b64encode(private).decode("ascii")),
            valid_from=at,
            valid_until=None,
        )
    )
    return public


def ensure_signing_keys(session: Session, box: SecretBox, at: datetime) -> int:
    """Give every company without a current key one (companies made before keys)."""
    keyed = select(SigningKeyRow.company_id).where(SigningKeyRow.valid_until.is_(None))
    bare = session.scalars(
        select(CompanyRow.company_id).where(
            CompanyRow.company_id != SYSTEM_COMPANY_ID, CompanyRow.company_id.not_in(keyed)
        )
    ).all()
    for company_id in bare:
        add_signing_key(session, box, company_id, at)
    return len(bare)


def forget_unreadable_signing_keys(session: Session, box: SecretBox, now: datetime) -> list[str]:
    """Keys no key of ``box`` opens: their validity ends now and their private part goes
    (their public part stays published, so what they signed still verifies); whose."""
    forgotten = []
    for row in session.scalars(select(SigningKeyRow).where(SigningKeyRow.private_key != "")):
        if box.can_decrypt(row.private_key):
            continue
        row.private_key = ""
        if row.valid_until is None or row.valid_until > now:
            row.valid_until = now
        forgotten.append(row.company_id)
    return forgotten


def reencrypt_signing_keys(session: Session, box: SecretBox) -> int:
    """Private keys under an older secrets key, encrypted again with the first."""
    changed = 0
    for row in session.scalars(select(SigningKeyRow).where(SigningKeyRow.private_key != "")):
        if not box.is_current(row.private_key):
            row.private_key = box.encrypt(box.decrypt(row.private_key))
            changed += 1
    return changed


class SigningKeyStore(StorePart):
    def _key_rows(self, company_id: str) -> list[Any]:
        """The company's keys, oldest first, as plain rows (read at the driver)."""
        return self._plain_rows(_KEYS_OF_COMPANY, {"company_id": company_id})

    def signing_keys(self, company_id: str) -> list[PublicKey]:
        """Every key of the company, oldest first, with its validity: what is published."""
        return [_public(row) for row in self._key_rows(company_id)]

    def signing_at(
        self, company_id: str, at: datetime
    ) -> tuple[SigningKey | None, list[PublicKey]]:
        """What a chat ending at ``at`` is signed with, in one read: the key valid at
        ``at``, else the current one (a time before the company's first key), ``None``
        for a company without keys; and every key of :meth:`signing_keys`."""
        rows = self._key_rows(company_id)
        usable = [row for row in rows if row.private_key != ""]
        valid = [
            row
            for row in usable
            if row.valid_from <= at and (row.valid_until is None or at < row.valid_until)
        ]
        chosen = valid or [row for row in usable if row.valid_until is None]
        key = _signing(chosen[-1], self._secrets) if chosen else None
        return key, [_public(row) for row in rows]

    def rotate_signing_key(
        self, company_id: str, private: bytes, *, audit: Sequence[AuditRecord] = ()
    ) -> PublicKey:
        """End the current key's validity now and start ``private``'s: the new key."""
        now = self._clock()
        with self._write() as session:
            company = session.get(CompanyRow, company_id, with_for_update=True)
            if company is None or company_id == SYSTEM_COMPANY_ID:
                raise NotFoundError(f"no company {company_id!r}")
            for row in session.scalars(
                select(SigningKeyRow).where(
                    SigningKeyRow.company_id == company_id, SigningKeyRow.valid_until.is_(None)
                )
            ):
                row.valid_until = now
            key = add_signing_key(session, self._secrets, company_id, now, private)
            add_audit_rows(session, audit)
            return key
