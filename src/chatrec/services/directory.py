"""Company and login look-ups the live services need, as domain settings.

The store holds records; the rules read :class:`CompanySettings` and
:class:`UserLogin`.  This is the one translation between the two.
"""

from __future__ import annotations

import logging

from chatrec.domain.attachments import KNOWN_TYPES, MAX_ATTACHMENT_BYTES, AttachmentPolicy
from chatrec.domain.filenames import FilenameTemplate
from chatrec.domain.journal import Actor, ChatRole
from chatrec.domain.masking import Masking, compile_pattern
from chatrec.domain.roles import DESK_ROLES
from chatrec.domain.settings import (
    CompanySettings,
    Product,
    RecordingFormat,
    UserLogin,
    VconDraft,
)
from chatrec.errors import MaskPatternError, PermissionDeniedError
from chatrec.store.records import CompanyRecord, UserRecord

log = logging.getLogger(__name__)


def company_settings(record: CompanyRecord) -> CompanySettings:
    """The company as the recording rules read it (R1, R6, R15).

    Unknown product or format names (written by a newer version) are ignored rather
    than stopping every chat of the company.
    """
    products = frozenset(Product(p) for p in record.products if p in Product.__members__.values())
    formats = frozenset(
        RecordingFormat(f) for f in record.formats if f in RecordingFormat.__members__.values()
    )
    return CompanySettings(
        company_id=record.company_id,
        name=record.name,
        products=products,
        default_template=FilenameTemplate.parse(record.default_template),
        formats=formats or frozenset({RecordingFormat.JSON}),
        done_marker=record.done_marker,
        # A name written by a newer version falls back to the default draft, as above.
        vcon_draft=VconDraft(record.vcon_draft)
        if record.vcon_draft in VconDraft.__members__.values()
        else VconDraft.CORE,
        masking=_masking(record),
        typing_preview=record.typing_preview,
        record_internal_notes=record.record_internal_notes,
        wrap_up_codes=record.wrap_up_codes,
        wrap_up_required=record.wrap_up_required,
        attachments=_attachments(record),
    )


def _attachments(record: CompanyRecord) -> AttachmentPolicy:
    """What the company takes in its chats (R23); a type a newer version knows is left
    out, and a size beyond what this version takes is cut to it, rather than stopping
    every chat of the company."""
    return AttachmentPolicy(
        enabled=record.attachments_enabled,
        max_bytes=min(max(record.attachment_max_bytes, 1), MAX_ATTACHMENT_BYTES),
        types=frozenset(record.attachment_types) & frozenset(KNOWN_TYPES),
    )


def _masking(record: CompanyRecord) -> Masking:
    """The company's masking (R22).  Patterns are checked on save; one that a newer RE2
    refuses is left out and logged rather than stopping every chat of the company."""
    patterns = []
    for pattern in record.masking_patterns:
        try:
            compile_pattern(pattern)
        except MaskPatternError as error:
            log.error("company %s: %s; it masks nothing until corrected", record.company_id, error)
            continue
        patterns.append(pattern)
    return Masking(record.mask_card_numbers, tuple(patterns))


def user_login(record: UserRecord) -> UserLogin:
    return UserLogin(
        user_id=record.user_id,
        name=record.name,
        role=record.role,
        permit_recordings=record.permit_recordings,
        record_chats=record.record_chats,
        record_percentage=record.record_percentage,
    )


def sampling_key(company: CompanyRecord) -> bytes:
    """The company's sampling key (R7); its id only for a company created without one."""
    return company.sampling_key or company.company_id.encode()


def staff_actor(user: UserRecord) -> Actor:
    """The login as it acts in a chat: a desk role has the chat role of the same name."""
    if user.role not in DESK_ROLES:
        raise PermissionDeniedError(f"a {user.role} login does not take part in chats")
    return Actor(ChatRole(user.role.value), user.name, user.user_id)
