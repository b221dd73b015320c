"""Company and login look-ups the live services need, as domain settings.

The store holds records; the rules read :class:`CompanySettings` and
:class:`UserLogin`.  This is the one translation between the two.
"""

from __future__ import annotations

from chatrec.domain.filenames import FilenameTemplate
from chatrec.domain.settings import (
    CompanySettings,
    Product,
    RecordingFormat,
    UserLogin,
    VconDraft,
)
from chatrec.store.records import CompanyRecord, UserRecord


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
    )


def user_login(record: UserRecord) -> UserLogin:
    return UserLogin(
        user_id=record.user_id,
        name=record.name,
        role=record.role,
        permit_recordings=record.permit_recordings,
        record_chats=record.record_chats,
        record_percentage=record.record_percentage,
    )
