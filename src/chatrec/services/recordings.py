"""The end of a chat: decide, render, and hand the records to the commit (R12-R15).

The rendered bytes go into the records, and so into the same transaction as the end:
a committed recording always has its bytes in the database, for any worker on any
machine (R20), and a crash before the commit leaves nothing at all behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence

from chatrec.domain.decision import Decision, decide_recordings
from chatrec.domain.journal import Journal
from chatrec.domain.manifest import sign_recording
from chatrec.domain.production import produce_files, recording_bases
from chatrec.domain.render import RecordingFiles
from chatrec.domain.settings import CompanySettings
from chatrec.services.ports import SigningKeys
from chatrec.store.records import RecordingFileRecord, RecordingRecord

log = logging.getLogger(__name__)

TakenNames = Callable[[Sequence[str]], Collection[str]]


def _file_records(files: RecordingFiles) -> list[RecordingFileRecord]:
    return [
        RecordingFileRecord(
            path=file.path,
            format=file.format,
            media_type=file.media_type,
            size=file.size,
            sha256=file.sha256,
            content=file.content,
        )
        for file in files.all_files
    ]


class NameReservations:
    """Base names chosen for chats still ending, not yet committed, per company (R6).

    Choosing a chat's names must see those of every chat ending beside it; the store
    knows only committed ones.  Held from the choice until the commit, so that only the
    choice itself is serialised, not rendering and commit.
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


def sign_recordings(
    keys: SigningKeys,
    journal: Journal,
    decision: Decision,
    produced: Sequence[RecordingFiles],
    head: bytes,
    journal_problems: Sequence[str] = (),
) -> list[RecordingFiles]:
    """Each recording with its manifest signed by the company's key valid when the chat
    ended, and the company's public keys beside it (R21).

    A company without a key (a database ``chatrec migrate`` has not brought up to date)
    gets its recordings unsigned, with an error logged, rather than lose them.
    """
    ended = journal.ended
    assert ended is not None
    company_id = journal.start.company_id
    key, published = keys.signing_at(company_id, ended.at)
    if key is None:
        log.error("company %s has no signing key: its recordings are not signed", company_id)
        return list(produced)
    verdicts = {verdict.recording.recording_id: verdict for verdict in decision.produced}
    signed_at = max(ended.at, key.public.valid_from)
    return [
        sign_recording(
            files,
            verdicts[files.recording_id],
            company_id=company_id,
            chat_id=journal.chat_id,
            journal_events=len(journal.events),
            journal_head=head,
            key=key,
            published=published,
            signed_at=signed_at,
            journal_problems=journal_problems,
        )
        for files in produced
    ]


def name_recordings(
    company: CompanySettings, journal: Journal, taken_names: TakenNames
) -> tuple[Decision, dict[str, str]]:
    """Decide the ended chat and name each produced recording: a base nobody holds."""
    decision = decide_recordings(company, journal)
    bases = recording_bases(company, journal, decision)
    taken = taken_names(list(bases.values()))
    # Nothing taken, as at most ends: the names are the ones just chosen.
    return decision, recording_bases(company, journal, decision, taken) if taken else bases


def render_recordings(
    company: CompanySettings,
    journal: Journal,
    decision: Decision,
    bases: dict[str, str],
    attachments: Mapping[str, bytes] | None = None,
) -> list[RecordingFiles]:
    """The produced recordings' files under the names chosen for them, with the files
    sent in the chat while recorded beside each (``attachments``: bytes by id, R23)."""
    return produce_files(company, journal, decision, bases=bases, attachments=attachments)


def recording_records(
    company: CompanySettings,
    journal: Journal,
    decision: Decision,
    produced: Sequence[RecordingFiles],
) -> list[RecordingRecord]:
    """One record per recording decided, with the produced files' bytes, to commit."""
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
                files=tuple(_file_records(files)) if files else (),
            )
        )
    return records
