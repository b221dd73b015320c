"""The settings that the recording rules read (R1, R4, R6, R7, R12a, R15, R22).

The rules never read a login's settings live: :meth:`UserLogin.snapshot` copies them into
the journal when the login joins a chat (:class:`chatrec.domain.journal.StaffSnapshot`),
because they apply as they were at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chatrec.domain.attachments import AttachmentPolicy
from chatrec.domain.filenames import FilenameTemplate
from chatrec.domain.journal import StaffSnapshot
from chatrec.domain.masking import Masking
from chatrec.domain.roles import LoginRole


class Product(StrEnum):
    CALL_RECORDING = "call_recording"
    WEBCHAT = "webchat"


RECORDING_PRODUCTS = frozenset({Product.CALL_RECORDING, Product.WEBCHAT})


@dataclass(frozen=True, slots=True)
class UserLogin:
    """A staff login with its recording settings (defaults as SPEC's "Words" table)."""

    user_id: str
    name: str
    role: LoginRole
    permit_recordings: bool = True
    record_chats: bool = True
    record_percentage: int = 100

    def snapshot(self) -> StaffSnapshot:
        """The settings as they stand now, to be journaled when the login joins a chat."""
        return StaffSnapshot(
            permit_recordings=self.permit_recordings,
            record_chats=self.record_chats,
            record_percentage=self.record_percentage,
        )


class RecordingFormat(StrEnum):
    """A file format a company can choose for its recordings (R15)."""

    JSON = "json"
    VCON = "vcon"
    TEXT = "text"
    HTML = "html"


class VconDraft(StrEnum):
    """Which vCon draft a company's ``vcon`` files follow (R15).

    ``core``, the default, is the working group's current draft.  ``container`` is for
    QA platforms built on the earlier container drafts, as the vCon project's own Python
    library (``vcon`` 0.3 on PyPI) still reads them.
    """

    CORE = "core"
    CONTAINER = "container"


# Card numbers masked, no patterns of the company's own: every company's start (R22).
DEFAULT_MASKING = Masking()

# Attachments on, up to 10 MB, of every type chatrec recognises (R23).
DEFAULT_ATTACHMENTS = AttachmentPolicy()

DEFAULT_TEMPLATE = "{date}/{company}_{chat_id}_{origin}_{recording_id}"


@dataclass(frozen=True, slots=True)
class CompanySettings:
    """A company as the decision and the renderers see it."""

    company_id: str
    name: str
    products: frozenset[Product]
    default_template: FilenameTemplate
    formats: frozenset[RecordingFormat] = frozenset({RecordingFormat.JSON})
    done_marker: bool = False
    vcon_draft: VconDraft = VconDraft.CORE
    masking: Masking = DEFAULT_MASKING
    # R23: agents see the customer's draft as it is typed, masked (R22), never recorded.
    typing_preview: bool = False
    # R23: staff's internal notes are in recordings, marked internal, unless left out.
    record_internal_notes: bool = True
    # R23: the company's wrap-up codes, and whether an agent must choose one to end.
    wrap_up_codes: tuple[str, ...] = ()
    wrap_up_required: bool = False
    # R23: whether files may be sent in chats, how large, of which sniffed types.
    attachments: AttachmentPolicy = DEFAULT_ATTACHMENTS

    def __post_init__(self) -> None:
        if not self.formats:
            raise ValueError("a company needs at least one recording format")

    @property
    def missing_products(self) -> frozenset[Product]:
        """The products whose absence means nothing is recorded (R1)."""
        return RECORDING_PRODUCTS - self.products

    @property
    def records(self) -> bool:
        return not self.missing_products
