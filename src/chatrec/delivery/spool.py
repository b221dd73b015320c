"""What a starting worker or server may remove from the spool, beside delivered copies.

A chat's end writes its files to ``<spool>/<chat>/<recording>/…`` and fsyncs them before
the end commits (``services/recordings.py``).  A crash between the two leaves files no
committed recording names: orphans (R16, R17).  They are judged only where that is
certain: a chat the store does not know at all, and an ended chat (it ends once, so no
end of it can be in flight), whose folders of uncommitted recordings and files its
committed recordings do not name are left over from an earlier attempt.  An open chat's
folder is never touched: its end may be committing right now in another process.
Files directly in a chat's folder are not an end's and stay.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Mapping
from pathlib import Path

from chatrec.store.records import SpooledChat


def spool_orphans(
    spool_dir: Path, chat_ids: Collection[str], known: Mapping[str, SpooledChat]
) -> list[Path]:
    """Folders and files under ``spool_dir`` that no committed recording will ever need."""
    orphans: list[Path] = []
    for chat_id in sorted(chat_ids):
        folder = spool_dir / chat_id
        chat = known.get(chat_id)
        if chat is None:
            orphans.append(folder)
        elif chat.ended:
            named = {Path(path).resolve() for path in chat.files}
            for recording in sorted(p for p in folder.iterdir() if p.is_dir()):
                if recording.name not in chat.recordings:
                    orphans.append(recording)
                    continue
                orphans += sorted(
                    path
                    for path in recording.rglob("*")
                    if path.is_file() and path.resolve() not in named
                )
    return orphans


def remove_orphans(spool_dir: Path, orphans: Collection[Path]) -> int:
    """Remove the orphans (within the spool only); how many folders and files."""
    root = spool_dir.resolve()
    removed = 0
    for orphan in orphans:
        path = orphan.resolve()
        if path == root or not path.is_relative_to(root) or not path.exists():
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed += 1
    return removed
