"""Owner-only files and folders under the data folder, whatever the umask (R18)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatrec.files import private_dir, secure_data_dir, tighten, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_R18_folders_and_files_written_are_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "platform" / "chat" / "rec" / "sub" / "file.json"
    (tmp_path / "platform" / "chat" / "rec" / "sub").mkdir(parents=True)
    (tmp_path / "platform" / "chat" / "rec" / "sub" / ".file.json.tmp").write_bytes(b"old")
    private_dir(tmp_path / "platform" / "other" / "deep")
    write_private(target, b"{}")

    assert target.read_bytes() == b"{}"
    assert mode(target) == 0o600
    assert mode(tmp_path / "platform" / "other") == 0o700
    assert mode(tmp_path / "platform" / "other" / "deep") == 0o700


def test_R18_a_loose_data_folder_is_tightened_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "var"
    (data / "platform" / "c1").mkdir(parents=True)
    (data / "chatrec.db").write_text("")
    (data / "platform" / "c1" / "r.json").write_text("{}")
    (data / "owner-only").write_text("")
    (data / "owner-only").chmod(0o600)
    outside = tmp_path / "outside.txt"
    outside.write_text("")
    (data / "link").symlink_to(outside)

    with caplog.at_level(logging.WARNING, logger="chatrec.files"):
        secure_data_dir(data)

    assert {mode(p) for p in data.rglob("*") if not p.is_symlink()} <= {0o600, 0o700}
    assert mode(data) == 0o700
    assert mode(outside) == 0o644  # a link is not followed out of the data folder
    assert "held 5 files or folders others could read" in caplog.text
    assert tighten(data) == 0  # nothing left to do, and nothing said next time
