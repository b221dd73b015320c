"""When files appear under their final names in a folder tree, seen from the server's side.

The end-to-file benchmark times a recording from the chat's end to the moment its file
is in place on the platform.  :class:`Arrivals` watches the platform's folder with
Linux ``inotify`` (through ``ctypes``: no extra package) and stamps each final name with
``time.monotonic()`` as the kernel reports it: a rename into place (``.part`` → final,
as chatrec's uploader does) or a file written under its own name and closed.  Hidden
names (the ``.part`` temporaries) never count.  Where ``inotify`` is missing, the tree
is scanned every few milliseconds instead, and the stamps are that much coarser.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import struct
import threading
import time
from pathlib import Path

IN_CLOSE_WRITE = 0x008
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_ISDIR = 0x40000000
IN_Q_OVERFLOW = 0x4000
IN_CLOEXEC = 0o2000000
WATCHED = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then the name, NUL-padded
SCAN_SECONDS = 0.003


class Arrivals:
    """Final names under ``root`` (relative paths) and when each first appeared."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: dict[str, float] = {}
        self.method = "inotify"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._folders: dict[int, Path] = {}
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = -1
        with contextlib.suppress(AttributeError):  # a C library without inotify
            self._fd = self._libc.inotify_init1(IN_CLOEXEC)
        if self._fd < 0:
            self.method = f"scan every {SCAN_SECONDS * 1000:g} ms"
        else:
            self._watch(root)
        self._thread = threading.Thread(target=self._run, name="arrivals", daemon=True)
        self._thread.start()

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self.seen)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._fd >= 0:
            os.close(self._fd)

    def _note(self, path: Path, at: float) -> None:
        if path.name.startswith("."):
            return
        name = path.relative_to(self.root).as_posix()
        with self._lock:
            self.seen.setdefault(name, at)

    def _watch(self, folder: Path) -> None:
        """Watch a folder, then take what arrived before the watch held."""
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(folder), WATCHED)
        if wd >= 0:
            self._folders[wd] = folder
        at = time.monotonic()
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False):
                self._watch(Path(entry.path))
            else:
                self._note(Path(entry.path), at)

    def _run(self) -> None:
        if self._fd < 0:
            self._scan_forever()
            return
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(50):
                continue
            data = os.read(self._fd, 1 << 16)
            at = time.monotonic()
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, length = EVENT.unpack_from(data, offset)
                raw = data[offset + EVENT.size : offset + EVENT.size + length]
                offset += EVENT.size + length
                if mask & IN_Q_OVERFLOW:
                    raise RuntimeError("inotify queue overflowed: arrivals were lost")
                folder = self._folders.get(wd)
                if folder is None:
                    continue
                path = folder / os.fsdecode(raw.rstrip(b"\0"))
                if mask & IN_ISDIR:
                    if mask & IN_CREATE:
                        self._watch(path)
                elif mask & (IN_MOVED_TO | IN_CLOSE_WRITE):
                    self._note(path, at)

    def _scan_forever(self) -> None:
        while not self._stop.is_set():
            at = time.monotonic()
            for folder, _, names in os.walk(self.root):
                for name in names:
                    self._note(Path(folder) / name, at)
            time.sleep(SCAN_SECONDS)
