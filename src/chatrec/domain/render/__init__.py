"""Rendering a produced recording into its files (R8, R15, R15a).

:func:`render_recording` builds the recording document once
(:mod:`chatrec.domain.render.document`, the allow-list of R15a), renders it in every
format the company chose, in a fixed order, and adds the metadata sidecar with the
size and SHA-256 of each file.  Pure and deterministic: the same inputs give the same
bytes, so delivering a recording twice delivers the same file twice (R16).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chatrec.domain.attachments import attachment_path
from chatrec.domain.decision import Verdict
from chatrec.domain.journal import AttachmentSent, Journal
from chatrec.domain.render import html, json_format, sidecar, text, vcon
from chatrec.domain.render.document import (
    SCHEMA_ID,
    SCHEMA_VERSION,
    build_document,
    recorded_events,
)
from chatrec.domain.render.files import RecordingFiles, RenderedFile
from chatrec.domain.settings import CompanySettings, RecordingFormat

__all__ = [
    "ATTACHMENT_FORMAT",
    "EXTENSIONS",
    "MEDIA_TYPES",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "SIDECAR_EXTENSION",
    "RecordingFiles",
    "RenderedFile",
    "build_document",
    "render_recording",
]

EXTENSIONS: dict[RecordingFormat, str] = {
    RecordingFormat.JSON: ".json",
    RecordingFormat.VCON: ".vcon.json",
    RecordingFormat.TEXT: ".txt",
    RecordingFormat.HTML: ".html",
}
SIDECAR_EXTENSION = ".meta.json"
ATTACHMENT_FORMAT = "attachment"

MEDIA_TYPES: dict[RecordingFormat, str] = {
    RecordingFormat.JSON: json_format.MEDIA_TYPE,
    RecordingFormat.VCON: vcon.MEDIA_TYPE,
    RecordingFormat.TEXT: text.MEDIA_TYPE,
    RecordingFormat.HTML: html.MEDIA_TYPE,
}

# vCon files are rendered for the company's draft (``vcon.render_vcon``).
_RENDERERS: dict[RecordingFormat, Callable[[dict[str, Any]], bytes]] = {
    RecordingFormat.JSON: json_format.render_json,
    RecordingFormat.TEXT: text.render_text,
    RecordingFormat.HTML: html.render_html,
}


def _render(fmt: RecordingFormat, document: dict[str, Any], company: CompanySettings) -> bytes:
    if fmt is RecordingFormat.VCON:
        return vcon.render_vcon(document, company.vcon_draft)
    return _RENDERERS[fmt](document)


def _check_base_name(base_name: str) -> None:
    """A base must be a relative POSIX path the filename rules made (R6)."""
    segments = base_name.split("/")
    if base_name.startswith("/") or any(s in {"", ".", ".."} for s in segments):
        raise ValueError(f"base name {base_name!r} must be a relative path without empty parts")


def recorded_attachments(
    journal: Journal, base_name: str, contents: Mapping[str, bytes]
) -> dict[str, RenderedFile]:
    """The files sent while the chat was recorded, by id, under their names beside the
    recording (R23); none sent while paused (R8), and none whose bytes are not given."""
    sent = [e for e in recorded_events(journal) if isinstance(e, AttachmentSent)]
    return {
        event.attachment_id: RenderedFile(
            path=attachment_path(base_name, number, event.name),
            format=ATTACHMENT_FORMAT,
            media_type=event.media_type,
            content=contents[event.attachment_id],
        )
        for number, event in enumerate(sent, start=1)
        if event.attachment_id in contents
    }


def render_recording(
    company: CompanySettings,
    journal: Journal,
    verdict: Verdict,
    explanation: Sequence[str],
    base_name: str,
    attachments: Mapping[str, bytes] | None = None,
) -> RecordingFiles:
    """Every file of one produced recording of an ended chat, and beside them the files
    sent in it while it was recorded (``attachments``: their bytes by id, R23).

    ``explanation`` is the chat's R14 explanation, kept in the files so a reviewer sees
    why the recording exists.  Raises :class:`~chatrec.errors.JournalError` for a chat
    that has not ended or a recording that was not produced.
    """
    _check_base_name(base_name)
    sent = recorded_attachments(journal, base_name, attachments or {})
    document = build_document(
        company, journal, verdict, explanation, {key: file.name for key, file in sent.items()}
    )
    files = tuple(
        RenderedFile(
            path=base_name + EXTENSIONS[fmt],
            format=fmt.value,
            media_type=MEDIA_TYPES[fmt],
            content=_render(fmt, document, company),
        )
        for fmt in RecordingFormat
        if fmt in company.formats
    )
    delivered = tuple(sent.values())
    meta = RenderedFile(
        path=base_name + SIDECAR_EXTENSION,
        format="sidecar",
        media_type=sidecar.MEDIA_TYPE,
        content=sidecar.render_sidecar(document, files, delivered),
    )
    return RecordingFiles(
        recording_id=verdict.recording.recording_id,
        base_name=base_name,
        files=files,
        sidecar=meta,
        attachments=delivered,
    )
