"""Files sent in a chat (R23): their type read from their bytes, the company's limits,
and their names beside a recording.

The type a client claims (its ``Content-Type``, the file's extension) is never
trusted: :func:`sniff_media_type` reads the first bytes, and a company takes only the
types it allows, up to the size it allows.  A file sent while recording is paused is in
no recording (R8); the others are delivered beside each recording of their chat as
``<base>.att<n>-<name>``, ``n`` counting the recorded attachments from 1.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from chatrec.domain.filenames import sanitise_segment
from chatrec.errors import (
    AttachmentTooLargeError,
    AttachmentTypeError,
    ChatFullError,
    InvalidRequestError,
)

PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
PDF = "application/pdf"
TEXT = "text/plain"

KNOWN_TYPES = (PNG, JPEG, GIF, WEBP, PDF, TEXT)
"""Every type chatrec recognises, and so every type a company can allow."""
IMAGE_TYPES = frozenset({PNG, JPEG, GIF, WEBP})
"""Shown inline as previews; every other type is only downloaded."""

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
"""The most any company may take: the upload route's body limit."""
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_PER_CHAT = 20
"""Files one chat may hold: each may be as large as the company takes (R19)."""
MAX_NAME_LENGTH = 120
MAX_FILE_NAME = 250
"""Bytes of a delivered file name (all ASCII): 255 is the common limit of file systems."""

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"%PDF-", PDF),
)
# Text is UTF-8 without controls but tab, line breaks and form feed: anything else is
# a binary format chatrec does not know (an executable, an archive).
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# A base that holds ``.att<n>-`` could end like another base's attachment (R6).
_ATTACHMENT_MARK = re.compile(r"\.(att\d+-)")


def sniff_media_type(data: bytes) -> str | None:
    """The file's type as its bytes say, or ``None`` for a type chatrec does not know."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return TEXT if text and not _NOT_TEXT.search(text) else None


def describe_size(size: int) -> str:
    """Bytes as people read them: ``10 MB``, ``512 KB``, ``300 bytes``."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def check_attachment_types(types: Iterable[str]) -> frozenset[str]:
    """The types a company takes, each one chatrec knows; else what to change."""
    kept = frozenset(types)
    unknown = sorted(kept - set(KNOWN_TYPES))
    if unknown:
        raise InvalidRequestError(
            f"unknown attachment types {', '.join(unknown)}; choose from {', '.join(KNOWN_TYPES)}"
        )
    return kept


def check_attachment_max_bytes(max_bytes: int) -> int:
    if not 1 <= max_bytes <= MAX_ATTACHMENT_BYTES:
        raise InvalidRequestError(
            f"the attachment size limit must be 1 to {MAX_ATTACHMENT_BYTES} bytes "
            f"({describe_size(MAX_ATTACHMENT_BYTES)}), not {max_bytes}"
        )
    return max_bytes


@dataclass(frozen=True, slots=True)
class AttachmentPolicy:
    """What a company takes: on or off, how large, which types (R23)."""

    enabled: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES
    types: frozenset[str] = field(default_factory=lambda: frozenset(KNOWN_TYPES))

    def __post_init__(self) -> None:
        check_attachment_max_bytes(self.max_bytes)
        check_attachment_types(self.types)


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """An upload the company takes: its safe name, sniffed type, size and SHA-256."""

    name: str
    media_type: str
    size: int
    sha256: str


def _shortened(name: str, room: int) -> str:
    """``name`` in at most ``room`` characters, its extension kept."""
    if len(name) <= room:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and len(extension) < min(10, room - 1):
        return stem[: room - len(extension) - 1] + "." + extension
    return name[:room]


def attachment_name(name: str) -> str:
    """The client's file name made safe for any file system and SFTP server."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Shortened before too: the sanitiser cuts long names without regard to extensions.
    return _shortened(sanitise_segment(_shortened(last, MAX_NAME_LENGTH)), MAX_NAME_LENGTH)


def check_attachment(policy: AttachmentPolicy, name: str, data: bytes) -> CheckedFile:
    """The upload as kept, or the reason the company refuses it, naming its limit."""
    if not policy.enabled:
        raise InvalidRequestError("this company does not take attachments in its chats")
    if not data:
        raise InvalidRequestError("the file is empty")
    if len(data) > policy.max_bytes:
        raise AttachmentTooLargeError(
            f"the file has {len(data)} bytes; this company takes attachments of at most "
            f"{describe_size(policy.max_bytes)} ({policy.max_bytes} bytes)"
        )
    media_type = sniff_media_type(data)
    if media_type is None or media_type not in policy.types:
        found = media_type or "of a type chatrec does not recognise"
        taken = ", ".join(t for t in KNOWN_TYPES if t in policy.types) or "no files"
        raise AttachmentTypeError(
            f"the file's content is {found} (read from its bytes, not its name); "
            f"this company takes {taken}"
        )
    return CheckedFile(
        attachment_name(name), media_type, len(data), hashlib.sha256(data).hexdigest()
    )


def check_room_for_attachment(held: int) -> None:
    """Refuse a file beyond the most a chat holds (R19), saying so."""
    if held >= MAX_PER_CHAT:
        raise ChatFullError(f"this chat holds {held} files, the most a chat may; send no more")


def unambiguous_base(base: str) -> str:
    """A base whose own name holds ``.att<n>-`` gets ``_att<n>-``: none of its files can
    then be another recording's attachment (R6)."""
    return _ATTACHMENT_MARK.sub(r"_\1", base)


def attachment_path(base_name: str, number: int, name: str) -> str:
    """Where the recording's ``number``-th attachment goes: beside its files, its name
    shortened so that the whole fits in one file name of ``MAX_FILE_NAME`` bytes."""
    head = f"{base_name}.att{number}-"
    room = max(MAX_FILE_NAME - len(head.rsplit("/", 1)[-1]), 8)
    return head + _shortened(name, room)
