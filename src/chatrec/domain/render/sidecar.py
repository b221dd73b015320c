"""The metadata sidecar ``<base>.meta.json`` beside each recording (R15).

QA platforms index an SFTP drop by these small files: who, what, why and when, and for
each recording file, and each file sent in the chat while it was recorded (R23), its
name, size and SHA-256, so a platform can check that what it received is exactly what
was rendered, and sent.  Built from the recording document, so it can
say nothing the recording files may not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatrec.domain.render.files import RenderedFile
from chatrec.domain.render.json_format import dump_json

MEDIA_TYPE = "application/json"
SCHEMA_ID = "https://chatrec.example/schemas/recording-sidecar/1"
SCHEMA_VERSION = 1

_COPIED = (
    "chat_id",
    "recording_id",
    "company",
    "service",
    "queue",
    "origin",
    "reason",
    "recording_agent",
    "primary_agent",
    "started_at",
    "ended_at",
    "wrap_up",
)


def build_sidecar(
    document: dict[str, Any],
    files: Sequence[RenderedFile],
    attachments: Sequence[RenderedFile] = (),
) -> dict[str, Any]:
    """The sidecar's data: the document's identifying fields, its flags, the files, and
    the files sent in the chat while it was recorded (R23)."""
    sent = {e["file"]: e for e in document["events"] if e["type"] == "attachment"}
    listed = [
        {
            "name": file.name,
            "sent_as": sent[file.name]["name"],
            "media_type": file.media_type,
            "size": file.size,
            "sha256": file.sha256,
        }
        for file in attachments
    ]
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "recording_schema": document["schema"],
        **{key: document[key] for key in _COPIED},
        "flags": document["outcome"],
        "files": [
            {
                "name": file.name,
                "format": file.format,
                "media_type": file.media_type,
                "size": file.size,
                "sha256": file.sha256,
            }
            for file in files
        ],
        # Only where there are any: sidecars of chats without attachments stay as they were.
        **({"attachments": listed} if listed else {}),
    }


def render_sidecar(
    document: dict[str, Any],
    files: Sequence[RenderedFile],
    attachments: Sequence[RenderedFile] = (),
) -> bytes:
    return dump_json(build_sidecar(document, files, attachments))
