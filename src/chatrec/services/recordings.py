"""The end of a chat: decide, render, spool, and hand the records to the commit (R12-R15).

Files are written to the spool and fsynced *before* the chat's end is committed, so a
committed recording always has its bytes on disk; a crash between the two leaves only
an orphan spool folder, never a recording row without its file.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from chatrec.domain.decision import Decision, decide_recordings
from chatrec.domain.journal import Journal
from chatrec.domain.production import produce_files, recording_bases
from chatrec.domain.render import RecordingFiles
from chatrec.domain.settings import CompanySettings
from chatrec.files import write_private
from chatrec.store.records import RecordingFileRecord, RecordingRecord

TakenNames = Callable[[Sequence[str]], Collection[str]]


def _spool(spool_dir: Path, chat_id: str, files: RecordingFiles) -> list[RecordingFileRecord]:
    folder = spool_dir / chat_id / files.recording_id
    records = []
    for file in files.all_files:
        target = folder / file.path
        write_private(target, file.content)
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


class NameReservations:
    """Base names chosen for chats still ending, not yet committed, per company (R6).

    Choosing a chat's names must see those of every chat ending beside it; the store
    knows only committed ones.  Held from the choice until the commit, so that only the
    choice itself is serialised, not rendering, spooling and commit.
    """

    def __init__(self) -> None:
        self._names: dict[str, set[str]] = {}

    def held(self, company_id: str) -> frozenset[str]:
        """A copy of the company's reserved names, for a thread to read while the event
        loop reserves and releases.  Names are reserved only under the company's lock,
        so a copy taken under it misses none; one released since is only kept longer."""
        return frozenset(self._names.get(company_id, ()))

    def reserve(self, company_id: str, names: Collection[str]) -> None:
        self._names.setdefault(company_id, set()).update(names)

    def release(self, company_id: str, names: Collection[str]) -> None:
        held = self._names.get(company_id, set())
        held.difference_update(names)
        if not held:
            self._names.pop(company_id, None)


def plan_recordings(
    company: CompanySettings, journal: Journal, taken_names: TakenNames
) -> tuple[Decision, list[RecordingFiles]]:
    """Decide the ended chat and render its produced files under names nobody holds."""
    decision = decide_recordings(company, journal)
    taken = taken_names(list(recording_bases(company, journal, decision).values()))
    return decision, list(produce_files(company, journal, decision, taken))


def spool_recordings(
    company: CompanySettings,
    journal: Journal,
    decision: Decision,
    produced: Sequence[RecordingFiles],
    spool_dir: Path,
) -> list[RecordingRecord]:
    """Write the produced files durably to the spool; one record per recording decided."""
    by_id = {files.recording_id: files for files in produced}
    records: list[RecordingRecord] = []
    for verdict in decision.verdicts:
        recording = verdict.recording
        files = by_id.get(recording.recording_id)
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
    return records


def unspool(records: Sequence[RecordingRecord]) -> None:
    """Remove spooled files whose end was not committed: the end spools them anew."""
    for record in records:
        for file in record.files:
            Path(file.spool_path).unlink(missing_ok=True)
