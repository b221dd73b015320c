"""The end of a chat: decide, render, spool, and hand the records to the commit (R12-R15).

Files are written to the spool and fsynced *before* the chat's end is committed, so a
committed recording always has its bytes on disk; a crash between the two leaves only
an orphan spool folder, never a recording row without its file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from chatrec.domain.decision import Decision, decide_recordings
from chatrec.domain.journal import Journal
from chatrec.domain.production import produce_files, recording_bases
from chatrec.domain.render import RecordingFiles
from chatrec.domain.settings import CompanySettings
from chatrec.store.records import RecordingFileRecord, RecordingRecord

TakenNames = Callable[[Sequence[str]], Collection[str]]


def _write_durably(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def _spool(spool_dir: Path, chat_id: str, files: RecordingFiles) -> list[RecordingFileRecord]:
    folder = spool_dir / chat_id / files.recording_id
    records = []
    for file in files.all_files:
        target = folder / file.path
        _write_durably(target, file.content)
        records.append(
            RecordingFileRecord(
                path=file.path,
                format=file.format,
                media_type=file.media_type,
                size=file.size,
                sha256=file.sha256,
                spool_path=str(target),
            )
        )
    return records


def settle_recordings(
    company: CompanySettings,
    journal: Journal,
    spool_dir: Path,
    taken_names: TakenNames,
) -> tuple[Decision, list[RecordingRecord]]:
    """Decide the ended chat and spool its produced files; one record per recording."""
    decision = decide_recordings(company, journal)
    taken = taken_names(list(recording_bases(company, journal, decision).values()))
    produced = {
        files.recording_id: files for files in produce_files(company, journal, decision, taken)
    }
    records: list[RecordingRecord] = []
    for verdict in decision.verdicts:
        recording = verdict.recording
        files = produced.get(recording.recording_id)
        records.append(
            RecordingRecord(
                recording_id=recording.recording_id,
                chat_id=journal.chat_id,
                company_id=company.company_id,
                origin=recording.origin.value,
                reason=recording.reason,
                outcome=verdict.outcome.value,
                rule=verdict.rule,
                explanation=verdict.sentence(),
                base_name=files.base_name if files else None,
                files=tuple(_spool(spool_dir, journal.chat_id, files)) if files else (),
            )
        )
    return decision, records
