"""The files one produced recording becomes, as bytes with their names (R15).

Rendering stops at bytes: the delivery layer writes them under ``path`` beside each
other on the recording platform, and the sidecar's checksums are computed from the
very same bytes, so what a QA platform verifies is what was rendered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """One file of a recording: relative POSIX ``path`` (base name + extension)."""

    path: str
    format: str
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def name(self) -> str:
        """The last segment of ``path``: how the sidecar beside the file refers to it."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class RecordingFiles:
    """Every file of one recording: one per company format, in a fixed order, and the sidecar."""

    recording_id: str
    base_name: str
    files: tuple[RenderedFile, ...]
    sidecar: RenderedFile
    # The signed manifest and the company's public keys, once signed (R21): delivered
    # with the files, before the sidecar.
    signed: tuple[RenderedFile, ...] = ()
    # The files sent in the chat while it was recorded, their bytes as sent (R23).
    attachments: tuple[RenderedFile, ...] = ()

    @property
    def all_files(self) -> tuple[RenderedFile, ...]:
        """The recording files, its attachments, the manifest and keys, then the
        sidecar: the order to upload them in."""
        return (*self.files, *self.attachments, *self.signed, self.sidecar)
