"""Files chatrec writes under its data folder: its owner's alone, whatever the umask (R18).

The data folder holds chat text (the SQLite database and its ``-wal``), password and token
hashes, whole recordings (the demo platform) and the key of the SFTP secrets.
Files are created ``0600`` and folders ``0700`` by the code that writes them, and a data
folder found looser (an older chatrec, a copy, a restore) is tightened when a server,
worker or migration starts.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
# The bits nobody but the owner may hold on anything under the data folder.
_OTHERS = 0o077


def private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents owner-only (``mkdir -p`` gives parents the
    umask's mode, so each level is made here)."""
    missing = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # made meanwhile by another thread or process
        folder.chmod(PRIVATE_DIR)  # mkdir's mode is masked; this one is not


def create_private(path: Path) -> None:
    """Create an empty owner-only file at ``path`` unless one exists (SQLite then gives
    its ``-wal`` and ``-shm`` the database file's mode)."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    os.close(descriptor)


def write_private(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` whole and durably (a temporary name, fsync, rename),
    owner-only: a reader never sees half a file, a crash never leaves one."""
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)  # an older temporary file keeps its mode otherwise
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def tighten(folder: Path) -> int:
    """Take group and other permissions off ``folder`` and everything in it; how many
    files and folders were looser.  Symbolic links are neither followed nor changed."""
    if not folder.is_dir() or folder.is_symlink():
        return 0
    changed = _tighten_one(folder)
    for root, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            changed += _tighten_one(Path(root) / name)
    return changed


def _tighten_one(path: Path) -> int:
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not stat.S_IMODE(mode) & _OTHERS:
            return 0
        path.chmod(stat.S_IMODE(mode) & ~_OTHERS)
    except FileNotFoundError:
        return 0  # removed meanwhile
    return 1


def secure_data_dir(data_dir: Path) -> None:
    """Create the data folder owner-only, or tighten the one found, saying so in the log."""
    private_dir(data_dir)
    changed = tighten(data_dir)
    if changed:
        log.warning(
            "the data folder %s held %d files or folders others could read: made them "
            "owner-only (0600 files, 0700 folders); they hold chat text and recordings",
            data_dir,
            changed,
        )
