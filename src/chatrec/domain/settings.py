"""The company settings that the recording rules read (R1, R6, R15).

Per-login settings (Permit Recordings, record chats, record percentage) are not here:
they are snapshotted into the journal when each participant joins
(:class:`chatrec.domain.journal.StaffSnapshot`), because the rules read them as they
were at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chatrec.domain.filenames import FilenameTemplate


class Product(StrEnum):
    CALL_RECORDING = "call_recording"
    WEBCHAT = "webchat"


RECORDING_PRODUCTS = frozenset({Product.CALL_RECORDING, Product.WEBCHAT})


class RecordingFormat(StrEnum):
    """A file format a company can choose for its recordings (R15)."""

    JSON = "json"
    VCON = "vcon"
    TEXT = "text"
    HTML = "html"


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
